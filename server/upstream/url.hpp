// File: url.hpp
// Turns a fully rendered connector URL into what the outbound client needs (scheme, host, port, request
// target), with the ml-commons checks and messages that run before any DNS lookup: scheme, port, and a
// URI that has a host. Parsing is Boost.URL's (RFC 3986), so parser differentials are limited to what
// RFC 3986 allows; userinfo and non-ASCII hosts are refused (security.md §6.2).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>

#include "registry/error.hpp"
#include "registry/url_shape.hpp"

namespace modelrelay::server::upstream {

struct parsed_url {
    bool tls = false;         // https
    std::string host;         // as written in the URL, percent-decoded, IPv6 with brackets ("[::1]")
    std::string canonical;    // lower-case name, or the canonical text of an IP literal (no brackets)
    unsigned short port = 0;  // explicit or the scheme default
    std::string target;       // origin-form request target: path (at least "/") and "?query"
    std::string host_header;  // value for the Host header: host[:port] (port only when explicit)
    std::optional<boost::asio::ip::address> literal;  // set when the host is an IP literal (any spelling)
};

// Errors (all 400 illegal_argument):
//   `Protocol is not http or https: <scheme>`, `Port out of range: <port>`,
//   `Encountered error when trying to create uri from endpoint in ml connector. Please update the
//   endpoint in connection configuration: <url>` for anything else that is not an absolute http(s) URI
//   with a plain host.
registry::result<parsed_url> parse_url(std::string_view url);

inline constexpr std::string_view invalid_uri_message = registry::invalid_uri_text;

}  // namespace modelrelay::server::upstream
