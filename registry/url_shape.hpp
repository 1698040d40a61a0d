// File: url_shape.hpp
// The shape an outbound URL must have before any pattern is matched against it (security.md §6.2, R19):
// parsers disagree on URLs with user info, fragments and non-canonical hosts, so such URLs are refused
// outright instead of being matched as text and then connected to somewhere else.
#pragma once

#include <string_view>

#include "registry/error.hpp"

namespace modelrelay::registry {

// `url` parsed with Boost.URL. Refused (errc::illegal_argument):
//   `Connector URL must not contain user info` (`https://api.openai.com@evil/`),
//   `Connector URL must not contain a fragment` (`https://a.example#.amazonaws.com/`),
//   `Connector URL host is not canonical: <host>` for percent-encoded and IPvFuture hosts.
// Numeric spellings glibc reads as IPv4 (`127.1`, `2130706433`) pass here: every connect checks the
// resolved binary address, and refuses them with the R18 text when the policy does.
// On success `origin` (when given) is the URL's own `scheme://authority` prefix. A URL Boost.URL cannot
// parse passes with an empty origin: the caller's later URI check refuses it with ml-commons' message.
result<void> check_url_shape(std::string_view url, std::string_view* origin = nullptr);

}  // namespace modelrelay::registry
