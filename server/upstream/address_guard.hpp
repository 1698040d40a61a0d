// File: address_guard.hpp
// The SSRF guard for outbound connector calls (ml-commons.md §5.2, security.md §6 and R18-R20). Pure: no
// sockets, no DNS. The client calls it twice per connection: on every address a host name resolves to
// (before any connect), and on the address actually connected to. Classification is by binary address,
// never by string, after unwrapping every IPv6 form that embeds an IPv4 address.
//
// Two tiers of "not public":
//   - private_network: opened by `connector.private_ip_enabled` - exactly RFC 1918, loopback 127/8 and
//     ::1, and IPv6 ULA fc00::/7 (security.md R19), what a self-hosted LLM lives on;
//   - always_blocked: refused even when private IPs are enabled (R19): 0/8 and ::, link-local
//     169.254/16 and fe80::/10 (cloud metadata), CGNAT 100.64/10, old site-local fec0::/10, multicast,
//     broadcast, 240/4, documentation, benchmarking and IETF ranges, NAT64 local-use, anything outside
//     2000::/3 that is not listed, the known metadata addresses (100.100.100.200, 168.63.129.16,
//     fd00:ec2::254) and modelrelay's own listeners.
// ml-commons itself, with private IPs enabled, allows everything; modelrelay is deliberately stricter.
//
// Host spellings: IPv4 literals are parsed the way glibc inet_aton (and so getaddrinfo) would, so
// `2130706433`, `0177.0.0.1`, `0x7f.1`, `127.1` are all 127.0.0.1; one trailing dot is dropped; a host
// whose last label is numeric but that is not a valid inet_aton address (`1.2.3.4.5`, `0x7g.1`,
// `256.1.1.1`) is refused outright as an invalid endpoint, like the WHATWG URL parser does.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "registry/error.hpp"
#include "registry/ipv4_spelling.hpp"

namespace modelrelay::server::upstream {

using registry::address_kind;

// What the outbound policy allows for one request. Built per request by the caller from the cluster
// settings; cheap to copy when the callbacks are empty.
struct guard_policy {
    // plugins.ml_commons.connector.private_ip_enabled
    bool private_ip_enabled = false;
    // plugins.ml_commons.connector.restricted_ip_patterns: called with the textual IP of every resolved
    // address; true → `Remote inference host name has restricted ip address: <host>`.
    std::function<bool(std::string_view ip)> is_restricted_ip;
    // plugins.ml_commons.trusted_connector_private_endpoints_regex: consulted only when a private address
    // is reached with private IPs enabled; false → `Connector URL is not matching the trusted connector
    // private endpoint regex`. Empty function = no allowlist configured.
    std::function<bool(std::string_view url)> private_endpoint_trusted;
    // modelrelay's own listeners (never call ourselves). Not owned: must outlive the request. IPv4-mapped
    // forms match their IPv4 address; an unspecified listener address (0.0.0.0 / ::) matches any loopback
    // address with that port, and (after connect, check_connected) any address of this host.
    std::span<const boost::asio::ip::tcp::endpoint> self_endpoints;
};

// Message texts (ml-commons).
inline constexpr std::string_view private_ip_message = "Remote inference host name has private ip address: ";
inline constexpr std::string_view restricted_ip_message =
    "Remote inference host name has restricted ip address: ";
inline constexpr std::string_view private_endpoint_message =
    "Connector URL is not matching the trusted connector private endpoint regex";

// Classifies one address. IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96),
// 6to4 (2002::/16), Teredo (2001::/32, both server and client addresses) and ISATAP interface ids are
// decoded and the embedded IPv4 address classified; the worst verdict wins. IPv6 zone ids are ignored.
address_kind classify(const boost::asio::ip::address& a);

// Parses a URL host as an IP literal: `[v6]` or bare v6, or any IPv4 spelling inet_aton accepts (1 to 4
// parts, each decimal, 0-prefixed octal or 0x-prefixed hex, the last part filling the remaining bytes).
// One trailing dot is ignored. Returns nullopt for anything that is not an IP literal.
std::optional<boost::asio::ip::address> parse_ip_literal(std::string_view host);

// True when `host` must not be handed to DNS because it looks numeric but is not a valid address
// (WHATWG "ends in a number" rule), e.g. `1.2.3.4.5`, `0x7g.1`, `256.1.1.1`, `1.2.3.08`.
bool is_malformed_numeric_host(std::string_view host);

// Names refused before any DNS lookup. `localhost`, `*.localhost` (RFC 6761: always loopback) are
// private_network; cloud metadata names are always_blocked; other names are public_address (their
// resolved addresses are checked later). Case-insensitive, one trailing dot ignored.
address_kind classify_host_name(std::string_view host);

// The whole per-address decision. `host` is the URL host as written (used in the message), `url` the full
// URL (given to the private-endpoint allowlist). Errors are 400 illegal_argument with the ml-commons texts.
registry::result<void> check_address(
    std::string_view host,
    std::string_view url,
    const boost::asio::ip::address& a,
    unsigned short port,
    const guard_policy& policy
);

// The decision on the address a socket actually connected to: check_address, plus the own-listener check
// that needs the socket's local address (a listener on 0.0.0.0 / :: is reached through any address of
// this host; the peer being our own local address on a listener port means we called ourselves).
registry::result<void> check_connected(
    std::string_view host,
    std::string_view url,
    const boost::asio::ip::tcp::endpoint& remote,
    const boost::asio::ip::tcp::endpoint& local,
    const guard_policy& policy
);

// The decision for a host name before resolution (see classify_host_name).
registry::result<void> check_host_name(std::string_view host, const guard_policy& policy);

}  // namespace modelrelay::server::upstream
