// File: url_shape.hpp
// The shape an outbound URL must have before any pattern is matched against it (security.md §6.2, R19):
// parsers disagree on URLs with user info, fragments and non-canonical hosts, so such URLs are refused
// outright instead of being matched as text and then connected to somewhere else.
#pragma once

#include <string_view>

#include "registry/error.hpp"

namespace modelrelay::registry {

// ml-commons' text for an endpoint it cannot turn into a URI, exactly: nothing follows the colon
// (ConnectorUtils.buildSdkRequest puts the URISyntaxException in the cause, not the message).
inline constexpr std::string_view invalid_uri_text =
    "Encountered error when trying to create uri from endpoint in ml connector. "
    "Please update the endpoint in connection configuration: ";

// `url` parsed with Boost.URL. Refused (errc::illegal_argument):
//   `Connector URL must not contain user info` (`https://api.openai.com@evil/`),
//   `Connector URL must not contain a fragment` (`https://a.example#.amazonaws.com/`),
//   `Connector URL host is not canonical: <host>` for percent-encoded and IPvFuture hosts, and for names
//   that end in a number (`1.2.3.4.5`, `134744072`),
//   `Remote inference host name has private ip address: <host>` (R18's text) for IPv4 spellings other
//   than dotted decimal that name a private or blocked address (`127.1`, `2130706433`, `0x7f.1`),
//   whatever `private_ip_enabled` says: one spelling per allowed address (R19, R20).
//   `Encountered error when trying to create uri ...: ` when Boost.URL 1.81 ends an IPv4 host early
//   and moves the rest of the authority into the path (`http://127.0.0.1.nip.io/x`), as every connect
//   would (server/upstream/url.cpp); with the host as written checked first (`127.0.0.1.` is numeric).
// On success `origin` (when given) is the URL's own `scheme://authority` prefix. A URL Boost.URL cannot
// parse passes with an empty origin: the caller's later URI check refuses it with ml-commons' message.
result<void> check_url_shape(std::string_view url, std::string_view* origin = nullptr);

}  // namespace modelrelay::registry
