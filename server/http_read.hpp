// File: http_read.hpp
// Beast's http::async_read_some without the composed operation. Beast's version runs a state machine of
// its own around every read and, when the buffer already holds what the parser needs (a request that
// came in the same segment as the previous one's last byte, or the first read of a request), completes
// through a posted handler: a trip through the scheduler that showed in the _predict profile. This one
// parses what the buffer holds and reads from the stream only when the parser needs more.
#pragma once

#include <cstddef>
#include <optional>
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

// The parts of one step that need no I/O, so that a caller whose request or answer is already buffered
// (the usual case) takes no coroutine frame for it; read_some_direct() composes them.
//
// Parses what `buffer` holds. Returns the step's outcome when no read is needed, nullopt when the parser
// needs more bytes than are buffered.
template <bool is_request>
std::optional<boost::beast::error_code> parse_buffered(
    boost::beast::flat_buffer& buffer, boost::beast::http::basic_parser<is_request>& parser
) {
    if (buffer.size() == 0) {
        return std::nullopt;
    }
    boost::beast::error_code ec;
    buffer.consume(parser.put(buffer.data(), ec));
    if (ec == boost::beast::http::error::need_more) {
        return std::nullopt;
    }
    return ec;
}

// Room for the next read in `space`; http::error::buffer_overflow when `buffer` is full.
inline boost::beast::error_code prepare_read(
    boost::beast::flat_buffer& buffer, boost::beast::flat_buffer::mutable_buffers_type& space
) {
    const std::size_t size = boost::beast::read_size(buffer, 65536);
    if (size == 0) {
        return boost::beast::http::error::buffer_overflow;
    }
    try {
        space = buffer.prepare(size);
    } catch (const std::length_error&) {
        return boost::beast::http::error::buffer_overflow;
    }
    return {};
}

// Commits a read of `n` bytes that ended with `read_ec` and parses what it brought.
template <bool is_request>
boost::beast::error_code after_read(
    boost::beast::flat_buffer& buffer,
    boost::beast::http::basic_parser<is_request>& parser,
    const boost::system::error_code& read_ec,
    std::size_t n
) {
    namespace http = boost::beast::http;
    boost::beast::error_code ec;
    buffer.commit(n);
    if (read_ec == boost::asio::error::eof) {
        if (!parser.got_some()) {
            return http::error::end_of_stream;
        }
        parser.put_eof(ec);  // partial_message unless the body was delimited by the close
        return ec;
    }
    if (read_ec) {
        return read_ec;
    }
    buffer.consume(parser.put(buffer.data(), ec));
    if (ec == http::error::need_more) {
        ec = {};  // the bytes are buffered; the next step parses them with what follows
    }
    return ec;
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
    if (auto done = parse_buffered(buffer, parser)) {
        co_return *done;
    }
    boost::beast::flat_buffer::mutable_buffers_type space;
    if (auto full = prepare_read(buffer, space)) {
        co_return full;
    }
    on_read();
    auto [read_ec, n] = co_await read_some_from(stream, space);
    co_return after_read(buffer, parser, read_ec, n);
}

}  // namespace modelrelay::server
