// File: address_guard.cpp
// The IPv6 range table and the per-address decisions of the SSRF guard. The IPv6 table follows the IANA
// special-purpose registry as summarised in security.md §6.1; IPv4 ranges and spellings are in
// registry/ipv4_spelling (the URL shape check at connector create shares them).
#include "server/upstream/address_guard.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

#include "registry/ipv4_spelling.hpp"

namespace modelrelay::server::upstream {

namespace ip = boost::asio::ip;
using registry::strip_trailing_dot;

namespace {

address_kind worst(address_kind a, address_kind b) {
    return static_cast<int>(a) > static_cast<int>(b) ? a : b;
}

using v6_bytes = ip::address_v6::bytes_type;

std::uint32_t read_u32(const v6_bytes& b, int at) {
    return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) | (std::uint32_t{b[at + 2]} << 8) |
           std::uint32_t{b[at + 3]};
}

bool all_zero(const v6_bytes& b, int from, int to) {
    return std::all_of(b.begin() + from, b.begin() + to, [](unsigned char c) { return c == 0; });
}

// Prefix match on the first `bits` bits.
bool in_prefix(const v6_bytes& b, const v6_bytes& base, int bits) {
    int i = 0;
    for (; bits >= 8; bits -= 8, ++i) {
        if (b[i] != base[i]) {
            return false;
        }
    }
    if (bits == 0) {
        return true;
    }
    const unsigned char mask = static_cast<unsigned char>(0xFF << (8 - bits));
    return (b[i] & mask) == (base[i] & mask);
}

v6_bytes v6_base(std::string_view text) {
    return ip::make_address_v6(text).to_bytes();
}

address_kind classify_v6(const ip::address_v6& a6) {
    const v6_bytes b = a6.to_bytes();
    if (a6.is_unspecified()) {
        return address_kind::always_blocked;
    }
    if (a6.is_loopback()) {
        return address_kind::private_network;
    }
    // ::ffff:a.b.c.d (mapped): the IPv4 rules apply. ::a.b.c.d (compatible, deprecated) lies outside
    // 2000::/3, which is always blocked, and the worst verdict wins.
    if (a6.is_v4_mapped()) {
        return registry::classify_ipv4(read_u32(b, 12));
    }
    if (all_zero(b, 0, 12)) {
        return address_kind::always_blocked;
    }
    static const v6_bytes nat64 = v6_base("64:ff9b::");
    static const v6_bytes nat64_local = v6_base("64:ff9b:1::");
    static const v6_bytes discard = v6_base("100::");
    static const v6_bytes ietf = v6_base("2001::");
    static const v6_bytes doc = v6_base("2001:db8::");
    static const v6_bytes doc2 = v6_base("3fff::");
    static const v6_bytes six_to_four = v6_base("2002::");
    static const v6_bytes ula = v6_base("fc00::");
    static const v6_bytes ec2_metadata = v6_base("fd00:ec2::254");
    static const v6_bytes link_local = v6_base("fe80::");
    static const v6_bytes site_local = v6_base("fec0::");
    static const v6_bytes multicast = v6_base("ff00::");
    static const v6_bytes global_unicast = v6_base("2000::");

    if (in_prefix(b, nat64, 96)) {
        return registry::classify_ipv4(read_u32(b, 12)
        );  // well-known NAT64 prefix reaches the embedded IPv4 address
    }
    if (in_prefix(b, nat64_local, 48) || in_prefix(b, discard, 64)) {
        return address_kind::always_blocked;
    }
    if (b == ec2_metadata) {
        return address_kind::always_blocked;
    }
    if (in_prefix(b, ula, 7)) {
        return address_kind::private_network;
    }
    if (in_prefix(b, link_local, 10) || in_prefix(b, site_local, 10) || in_prefix(b, multicast, 8)) {
        return address_kind::always_blocked;  // fec0::/10: deprecated site-local, not opened by R19
    }
    // Teredo (2001::/32) sits inside the IETF block 2001::/23, always blocked whatever IPv4 addresses it
    // embeds (server in bits 32-63, client NOT(low 32)): the worst verdict wins.
    if (in_prefix(b, ietf, 23) || in_prefix(b, doc, 32) || in_prefix(b, doc2, 20)) {
        return address_kind::always_blocked;
    }
    if (!in_prefix(b, global_unicast, 3)) {
        return address_kind::always_blocked;  // unallocated space
    }
    address_kind kind = address_kind::public_address;
    if (in_prefix(b, six_to_four, 16)) {
        kind = worst(kind, registry::classify_ipv4(read_u32(b, 2)));  // 6to4: IPv4 in bits 16-47
    }
    // ISATAP interface identifiers ::0:5efe:a.b.c.d and ::200:5efe:a.b.c.d embed an IPv4 address.
    if ((b[8] == 0x00 || b[8] == 0x02) && b[9] == 0x00 && b[10] == 0x5e && b[11] == 0xfe) {
        kind = worst(kind, registry::classify_ipv4(read_u32(b, 12)));
    }
    return kind;
}

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    });
    return out;
}

// ::ffff:a.b.c.d reaches an IPv4 listener on a dual-stack socket: compare it as a.b.c.d.
ip::address unmapped(const ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) {
        return ip::make_address_v4(ip::v4_mapped, a.to_v6());
    }
    if (a.is_v6() && a.to_v6().scope_id() != 0) {
        auto v6 = a.to_v6();
        v6.scope_id(0);
        return v6;
    }
    return a;
}

// `local` is the connected socket's own address when known: a listener on 0.0.0.0 / :: is reached
// through every address of this host, and a connection whose peer is its own local address is one.
bool is_self(
    const ip::address& a, unsigned short port, const guard_policy& policy, const ip::address* local = nullptr
) {
    const ip::address target = unmapped(a);
    for (const auto& ep : policy.self_endpoints) {
        if (ep.port() != port) {
            continue;
        }
        const ip::address listener = unmapped(ep.address());
        if (listener == target) {
            return true;
        }
        if (listener.is_unspecified() && (target.is_loopback() || target.is_unspecified() ||
                                          (local != nullptr && unmapped(*local) == target))) {
            return true;
        }
    }
    return false;
}

// How Java prints an IPv6 address (Inet6Address.getHostAddress): eight groups of lower-case hex without
// leading zeros and no `::`, which is the text ml-commons matches restricted_ip_patterns against.
std::string java_host_address(const ip::address_v6& a) {
    const auto bytes = a.to_bytes();
    std::string out;
    char group[8];
    for (std::size_t i = 0; i < 16; i += 2) {
        const unsigned v = (static_cast<unsigned>(bytes[i]) << 8) | bytes[i + 1];
        const int n = std::snprintf(group, sizeof group, i == 0 ? "%x" : ":%x", v);
        out.append(group, static_cast<std::size_t>(n));
    }
    return out;
}

}  // namespace

address_kind classify(const ip::address& a) {
    if (a.is_v4()) {
        return registry::classify_ipv4(a.to_v4().to_uint());
    }
    return classify_v6(a.to_v6());
}

std::optional<ip::address> parse_ip_literal(std::string_view host) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
        boost::system::error_code ec;
        auto a6 = ip::make_address_v6(std::string(host), ec);
        if (ec) {
            return std::nullopt;
        }
        return ip::address(a6);
    }
    if (host.find(':') != std::string_view::npos) {
        boost::system::error_code ec;
        auto a6 = ip::make_address_v6(std::string(host), ec);
        if (ec) {
            return std::nullopt;
        }
        return ip::address(a6);
    }
    if (auto a4 = registry::parse_ipv4_spelling(strip_trailing_dot(host))) {
        return ip::address(ip::address_v4(*a4));
    }
    return std::nullopt;
}

bool is_malformed_numeric_host(std::string_view host) {
    return registry::ends_in_number(host) && !registry::parse_ipv4_spelling(strip_trailing_dot(host));
}

address_kind classify_host_name(std::string_view host) {
    const std::string name = ascii_lower(strip_trailing_dot(host));
    if (name == "localhost" || (name.size() > 10 && name.ends_with(".localhost"))) {
        return address_kind::private_network;
    }
    if (name == "metadata.google.internal" || name == "metadata.goog" || name == "metadata.amazonaws.com" ||
        name == "instance-data" || name == "instance-data.ec2.internal") {
        return address_kind::always_blocked;
    }
    return address_kind::public_address;
}

registry::result<void> check_address(
    std::string_view host,
    std::string_view url,
    const ip::address& a,
    unsigned short port,
    const guard_policy& policy
) {
    // A pattern written for a.b.c.d also stops ::ffff:a.b.c.d, which reaches the same IPv4 host; one
    // written for an IPv6 address may use the short form (::1) or Java's, which ml-commons matches
    // (0:0:0:0:0:0:0:1).
    if (policy.is_restricted_ip) {
        const ip::address target = unmapped(a);
        if (policy.is_restricted_ip(a.to_string()) || policy.is_restricted_ip(target.to_string()) ||
            (target.is_v6() && policy.is_restricted_ip(java_host_address(target.to_v6())))) {
            return registry::illegal_argument(std::string(restricted_ip_message) + std::string(host));
        }
    }
    if (is_self(a, port, policy)) {
        return registry::illegal_argument(std::string(private_ip_message) + std::string(host));
    }
    switch (classify(a)) {
        case address_kind::public_address:
            return {};
        case address_kind::always_blocked:
            return registry::illegal_argument(std::string(private_ip_message) + std::string(host));
        case address_kind::private_network:
            break;
    }
    if (!policy.private_ip_enabled) {
        return registry::illegal_argument(std::string(private_ip_message) + std::string(host));
    }
    if (policy.private_endpoint_trusted && !policy.private_endpoint_trusted(url)) {
        return registry::illegal_argument(std::string(private_endpoint_message));
    }
    return {};
}

registry::result<void> check_connected(
    std::string_view host,
    std::string_view url,
    const ip::tcp::endpoint& remote,
    const ip::tcp::endpoint& local,
    const guard_policy& policy
) {
    const ip::address local_address = local.address();
    if (is_self(remote.address(), remote.port(), policy, &local_address)) {
        return registry::illegal_argument(std::string(private_ip_message) + std::string(host));
    }
    return check_address(host, url, remote.address(), remote.port(), policy);
}

registry::result<void> check_host_name(std::string_view host, const guard_policy& policy) {
    switch (classify_host_name(host)) {
        case address_kind::public_address:
            return {};
        case address_kind::private_network:
            if (policy.private_ip_enabled) {
                return {};
            }
            [[fallthrough]];
        case address_kind::always_blocked:
            break;
    }
    return registry::illegal_argument(std::string(private_ip_message) + std::string(host));
}

}  // namespace modelrelay::server::upstream
