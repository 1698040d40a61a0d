// File: write_now.hpp
// The first attempt of a write, made synchronously on a non-blocking socket. A small HTTP message almost
// always fits in the socket's send buffer, and then an asynchronous write is pure overhead: a timer armed
// and cancelled (whose cancelled wait still runs as a handler), Beast's transfer operation, and the
// completion posted back through the scheduler to resume the coroutine. write_all() falls back to the
// asynchronous write, with its timeout, for whatever the socket did not take. Round 7 in
// docs/benchmarks.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <type_traits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/system/error_code.hpp>

#include "server/lazy_deadline.hpp"

namespace modelrelay::server {

// Plain TCP streams only: over TLS the bytes must go through the TLS engine.
template <class Stream>
inline constexpr bool writes_now = std::is_same_v<Stream, boost::beast::tcp_stream>;

// Writes what `socket` takes without blocking; returns the bytes written. `ec` is set only for a real
// error (not for a full send buffer). The socket is switched to non-blocking mode on first use, which
// Asio's asynchronous operations do not mind.
template <class ConstBuffers>
std::size_t write_now(
    boost::asio::ip::tcp::socket& socket, const ConstBuffers& buffers, boost::system::error_code& ec
) {
    if (!socket.non_blocking()) {
        socket.non_blocking(true, ec);
        if (ec) {
            return 0;
        }
    }
    const std::size_t n = socket.write_some(buffers, ec);
    if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) {
        ec = {};
    }
    return n;
}

// write_all() in two parts, so that a caller whose write the socket takes at once (the usual case) takes no
// coroutine frame for it. write_at_once() returns the outcome when the write is over (all of it taken, or a
// real error); nullopt when only `taken` bytes went (always 0 over TLS), and write_rest() must send the rest.
template <class Stream, class ConstBuffers>
std::optional<boost::system::error_code> write_at_once(
    Stream& stream, const ConstBuffers& buffers, std::size_t& taken
) {
    taken = 0;
    if constexpr (writes_now<Stream>) {
        boost::system::error_code ec;
        taken = write_now(stream.socket(), buffers, ec);
        if (ec || taken == boost::asio::buffer_size(buffers)) {
            return ec;
        }
    }
    return std::nullopt;
}

// The asynchronous write of what write_at_once() left, bounded by `deadline` (cleared afterwards) when one
// is given, else by the stream's own timeout. A deadline that passed reports beast::error::timeout.
template <class Stream, class ConstBuffers>
boost::asio::awaitable<boost::system::error_code> write_rest(
    Stream& stream,
    ConstBuffers buffers,
    std::size_t taken,
    lazy_deadline* deadline = nullptr,
    std::chrono::steady_clock::duration timeout = {}
) {
    boost::beast::buffers_suffix<ConstBuffers> rest(buffers);
    rest.consume(taken);
    if (deadline != nullptr) {
        deadline->expires_after(timeout);
    }
    auto [ec, n] =
        co_await boost::asio::async_write(stream, rest, boost::asio::as_tuple(boost::asio::use_awaitable));
    if (deadline != nullptr) {
        deadline->expires_never();
        if (ec && deadline->expired()) {
            ec = boost::beast::error::timeout;
        }
    }
    co_return ec;
}

// Writes all of `buffers` (which must stay valid until the write completes): write_at_once, then
// write_rest.
template <class Stream, class ConstBuffers>
boost::asio::awaitable<boost::system::error_code> write_all(
    Stream& stream,
    ConstBuffers buffers,
    lazy_deadline* deadline = nullptr,
    std::chrono::steady_clock::duration timeout = {}
) {
    std::size_t taken = 0;
    if (auto done = write_at_once(stream, buffers, taken)) {
        co_return *done;
    }
    co_return co_await write_rest(stream, buffers, taken, deadline, timeout);
}

}  // namespace modelrelay::server
