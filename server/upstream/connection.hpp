// File: connection.hpp
// One keep-alive upstream connection. Each connection owns a strand, and every operation on it (connect,
// TLS handshake, write, read, the timeout timers, destruction) runs on that strand, whichever
// inbound session is using it. That is what lets pooled connections move between io threads safely.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "server/lazy_deadline.hpp"

namespace modelrelay::server::upstream {

struct connection {
    explicit connection(boost::asio::any_io_executor strand_executor)
        : strand(std::move(strand_executor)), deadline(strand) {}

    boost::asio::any_io_executor strand;  // all I/O of this connection runs here
    // Read and write timeouts once connected (connect and the TLS handshake use the tcp_stream's own).
    lazy_deadline deadline;
    std::optional<boost::beast::tcp_stream> plain;                          // http
    std::optional<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls;  // https
    boost::beast::flat_buffer buffer;  // bytes read past the end of a response stay here for the next one
    boost::asio::ip::tcp::endpoint remote;  // the vetted address actually connected to
    std::chrono::steady_clock::time_point idle_since{};
    std::uint64_t uses = 0;

    boost::beast::tcp_stream& tcp() { return tls ? boost::beast::get_lowest_layer(*tls) : *plain; }
};

// Destroys the connection on its own strand (closing the socket), so no stale timer handler of the
// tcp_stream can run concurrently with the close. Never blocks.
void close_on_strand(std::unique_ptr<connection> c);

}  // namespace modelrelay::server::upstream
