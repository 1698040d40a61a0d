// File: content_coding.cpp
#include "server/content_coding.hpp"

#include <string_view>
#include <zlib.h>

#include "registry/ascii.hpp"

namespace modelrelay::server {

namespace {

// zlib, with gzip and zlib headers detected (windowBits 15 + 32); concatenated gzip members are read on.
std::optional<coding_refusal> inflate_into(std::string_view in, std::string& out, std::size_t max_bytes) {
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 32) != Z_OK) {
        return coding_refusal{500, "Failed to decompress the request body: zlib could not start"};
    }
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    std::optional<coding_refusal> refused;
    char chunk[16384];
    for (;;) {
        zs.next_out = reinterpret_cast<Bytef*>(chunk);
        zs.avail_out = sizeof chunk;
        const int rc = inflate(&zs, Z_NO_FLUSH);
        const std::size_t produced = sizeof chunk - zs.avail_out;
        if (out.size() + produced > max_bytes) {
            refused = coding_refusal{
                413, "Request body is too large: the limit is " + std::to_string(max_bytes) + " bytes"};
            break;
        }
        out.append(chunk, produced);
        if (rc == Z_STREAM_END) {
            if (zs.avail_in == 0) {
                break;
            }
            inflateReset(&zs);
            continue;
        }
        if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
            refused = coding_refusal{400, "Failed to decompress the request body: unexpected end of data"};
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            refused = coding_refusal{
                400,
                std::string("Failed to decompress the request body: ") +
                    (zs.msg != nullptr ? zs.msg : "invalid compressed data")};
            break;
        }
    }
    inflateEnd(&zs);
    return refused;
}

}  // namespace

std::optional<coding_refusal> decode_request_body(http_request& req, std::size_t max_bytes) {
    const auto it = req.find(http::field::content_encoding);
    if (it == req.end()) {
        return std::nullopt;
    }
    const std::string_view coding = registry::trim_ows(it->value());
    if (coding.empty() || registry::iequals_ascii(coding, "identity")) {
        req.erase(http::field::content_encoding);
        return std::nullopt;
    }
    if (!registry::iequals_ascii(coding, "gzip") && !registry::iequals_ascii(coding, "x-gzip") &&
        !registry::iequals_ascii(coding, "deflate")) {
        return coding_refusal{415, "Unsupported Content-Encoding [" + std::string(coding) + "]"};
    }
    std::string plain;
    if (auto refused = inflate_into(req.body(), plain, max_bytes)) {
        return refused;
    }
    req.body() = std::move(plain);
    req.erase(http::field::content_encoding);
    return std::nullopt;
}

}  // namespace modelrelay::server
