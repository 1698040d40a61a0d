// File: http_read.hpp
// Beast's http::async_read_some without the composed operation. Beast's version runs a state machine of
// its own around every read and, when the buffer already holds what the parser needs (a request that
// came in the same segment as the previous one's last byte, or the first read of a request), completes
// through a posted handler: a trip through the scheduler that showed in the _predict profile. This one
// parses what the buffer holds and reads from the stream only when the parser needs more.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <type_traits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

namespace modelrelay::server {

// One read. On a plain tcp_stream it goes to the socket itself: Beast's transfer operation only serves its
// per-operation timer, which these streams leave off (their timeouts are lazy_deadline's).
template <class Stream>
auto read_some_from(Stream& stream, const boost::asio::mutable_buffer& into) {
    if constexpr (std::is_same_v<Stream, boost::beast::tcp_stream>) {
        return stream.socket().async_read_some(into, boost::asio::as_tuple(boost::asio::use_awaitable));
    } else {
        return stream.async_read_some(into, boost::asio::as_tuple(boost::asio::use_awaitable));
    }
}

// One step: parses buffered bytes and reads at most once; returns success after parsing progress or one
// read (callers loop until the parser is done), http::error::end_of_stream when the stream ends before a
// message starts, http::error::partial_message when it ends inside one, http::error::buffer_overflow when
// `buffer` is full, or the parser's or stream's error. `on_read` runs just before a read (to arm a timeout).
template <class Stream, bool is_request, class OnRead>
boost::asio::awaitable<boost::beast::error_code> read_some_direct(
    Stream& stream,
    boost::beast::flat_buffer& buffer,
    boost::beast::http::basic_parser<is_request>& parser,
    OnRead&& on_read
) {
    namespace http = boost::beast::http;
    boost::beast::error_code ec;
    if (buffer.size() > 0) {
        buffer.consume(parser.put(buffer.data(), ec));
        if (ec != http::error::need_more) {
            co_return ec;
        }
        ec = {};
    }
    const std::size_t size = boost::beast::read_size(buffer, 65536);
    if (size == 0) {
        co_return http::error::buffer_overflow;
    }
    boost::beast::flat_buffer::mutable_buffers_type space;
    try {
        space = buffer.prepare(size);
    } catch (const std::length_error&) {
        co_return http::error::buffer_overflow;
    }
    on_read();
    auto [read_ec, n] = co_await read_some_from(stream, space);
    buffer.commit(n);
    if (read_ec == boost::asio::error::eof) {
        if (!parser.got_some()) {
            co_return http::error::end_of_stream;
        }
        parser.put_eof(ec);  // partial_message unless the body was delimited by the close
        co_return ec;
    }
    if (read_ec) {
        co_return read_ec;
    }
    buffer.consume(parser.put(buffer.data(), ec));
    if (ec == http::error::need_more) {
        ec = {};  // the bytes are buffered; the next step parses them with what follows
    }
    co_return ec;
}

}  // namespace modelrelay::server
