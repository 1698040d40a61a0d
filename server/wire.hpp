// File: wire.hpp
// HTTP/1.1 heads written straight into one contiguous buffer. Beast's serializer walks a concatenated
// view of every field as a separate buffer; on the predict path that iteration cost more instructions than
// routing, planning and JSON together (docs/benchmarks.md, profile). A head is a few hundred bytes, so it
// is cheaper to copy it once and hand the socket one or two buffers.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace modelrelay::server::wire {

namespace http = boost::beast::http;

// Appends "<digits>" of `n`.
void append_uint(std::string& out, std::size_t n);

// Appends the status line and every field of `h` in order, then the blank line. When `h` carries neither
// Content-Length nor chunked Transfer-Encoding and the status may have a body, `Content-Length: body_size`
// is added so the peer can always find the end of the message, unless `add_length` is false (a body that
// the connection's close ends).
void append_response_head(
    std::string& out, const http::response_header<>& h, std::size_t body_size, bool add_length = true
);

// Bodies up to this size are copied behind the head: one buffer, one TLS record, one iovec.
inline constexpr std::size_t inline_body_limit = 16 * 1024;

// Serialises `res` into `scratch` (cleared first; its capacity is reused across requests on a connection)
// and returns the buffers to write: the head with a small body inline, or head + body. The buffers point
// into `scratch` and `res`, which must outlive the write.
std::array<boost::asio::const_buffer, 2> frame_response(
    const http::response<http::string_body>& res, std::string& scratch
);

}  // namespace modelrelay::server::wire
