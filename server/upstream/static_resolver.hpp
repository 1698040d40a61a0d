// File: static_resolver.hpp
// A resolver test seam (client_config::resolver) driven by a text table, so end-to-end tests of the real
// binary can play DNS answers that change between lookups (rebinding) without a DNS server. The server
// installs it only when MODELRELAY_TEST_RESOLVE is set; every answer still goes through the SSRF guard.
//
// Format: `name=addr[,addr...][|addr[,addr...]...][;name=...]`. Each lookup of `name` returns the next
// `|`-separated answer set, cycling; names are matched case-insensitively without a trailing dot; a name
// that is not listed has no answer (`Unknown host`). Addresses are IPv4 or IPv6 literals.
//   rebind.test=8.8.8.8,127.0.0.1|127.0.0.1,8.8.8.8
//
// @par Thread safety
// The returned function may be called from any thread at once (one atomic counter per name).
#pragma once

#include <string_view>

#include "registry/error.hpp"
#include "server/upstream/client.hpp"

namespace modelrelay::server::upstream {

inline constexpr std::string_view test_resolve_env = "MODELRELAY_TEST_RESOLVE";

// Errors (illegal_argument) name the malformed part; the caller treats them as a startup error.
registry::result<resolve_function> parse_static_resolver(std::string_view spec);

}  // namespace modelrelay::server::upstream
