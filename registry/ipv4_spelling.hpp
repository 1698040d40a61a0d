// File: ipv4_spelling.hpp
// IPv4 addresses as hosts are written in URLs, and the tiers of the outbound address policy for them
// (security.md §6.1, §6.2, R19). Shared by the URL shape check that runs at connector create and at every
// call (registry/url_shape) and by the SSRF guard on resolved addresses (server/upstream/address_guard), so
// that both read `127.1` as the same address and put it in the same tier.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace modelrelay::registry {

enum class address_kind {
    public_address,   // globally routable
    private_network,  // allowed only with private_ip_enabled
    always_blocked,   // never allowed
};

// The tier of one IPv4 address (host byte order), by the table in security.md §6.1.
address_kind classify_ipv4(std::uint32_t address);

// `host` without one trailing dot (`localhost.` → `localhost`).
std::string_view strip_trailing_dot(std::string_view host);

// Any IPv4 spelling glibc inet_aton (and so getaddrinfo) accepts: 1 to 4 parts, each decimal, 0-prefixed
// octal or 0x-prefixed hex, the last part filling the remaining bytes (`127.1`, `2130706433`, `0x7f.1`,
// `0177.0.0.1`). No trailing dot. Host byte order.
std::optional<std::uint32_t> parse_ipv4_spelling(std::string_view host);

// The WHATWG URL rule "ends in a number": the last label (after one trailing dot is dropped) is all digits
// or 0x-hex. Such a host is an IPv4 spelling or malformed, never a name for DNS.
bool ends_in_number(std::string_view host);

}  // namespace modelrelay::registry
