// File: wire.cpp
#include "server/wire.hpp"

#include <charconv>

namespace modelrelay::server::wire {

void append_uint(std::string& out, std::size_t n) {
    char digits[24];
    const auto r = std::to_chars(digits, digits + sizeof digits, n);
    out.append(digits, r.ptr);
}

namespace {

bool status_has_body(unsigned status) {
    return !(status < 200 || status == 204 || status == 304);
}

}  // namespace

void append_response_head(
    std::string& out, const http::response_header<>& h, std::size_t body_size, bool add_length
) {
    out.append(h.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    append_uint(out, h.result_int());
    out.push_back(' ');
    const auto reason = h.reason();
    out.append(reason.data(), reason.size());
    out.append("\r\n");
    bool framed = false;
    for (const auto& f : h) {
        const auto name = f.name_string();
        const auto value = f.value();
        framed =
            framed || f.name() == http::field::content_length || f.name() == http::field::transfer_encoding;
        out.append(name.data(), name.size());
        out.append(": ");
        out.append(value.data(), value.size());
        out.append("\r\n");
    }
    if (!framed && add_length && status_has_body(h.result_int())) {
        out.append("Content-Length: ");
        append_uint(out, body_size);
        out.append("\r\n");
    }
    out.append("\r\n");
}

std::array<boost::asio::const_buffer, 2> frame_response(
    const http::response<http::string_body>& res, std::string& scratch
) {
    const std::string& body = res.body();
    scratch.clear();
    append_response_head(scratch, res.base(), body.size());
    if (body.size() <= inline_body_limit) {
        scratch.append(body);
        return {boost::asio::buffer(scratch), boost::asio::const_buffer()};
    }
    return {boost::asio::buffer(scratch), boost::asio::buffer(body)};
}

}  // namespace modelrelay::server::wire
