// File: ipv4_spelling.cpp
// The IPv4 range table follows the IANA special-purpose registry as summarised in security.md §6.1; each
// entry says which tier it belongs to and why.
#include "registry/ipv4_spelling.hpp"

#include <algorithm>
#include <array>

namespace modelrelay::registry {

namespace {

struct v4_range {
    std::uint32_t base;
    int prefix;
    address_kind kind;
};

constexpr std::uint32_t v4(unsigned a, unsigned b, unsigned c, unsigned d) {
    return (a << 24) | (b << 16) | (c << 8) | d;
}

// Most specific entries first: the first match wins.
constexpr std::array<v4_range, 22> v4_table{{
    // Known metadata endpoints that sit inside otherwise-classified ranges, or in public space.
    {v4(100, 100, 100, 200), 32, address_kind::always_blocked},  // Alibaba Cloud metadata (inside CGNAT)
    {v4(168, 63, 129, 16), 32, address_kind::always_blocked},    // Azure WireServer (public address)
    {v4(255, 255, 255, 255), 32, address_kind::always_blocked},  // limited broadcast
    // What a self-hosted model server lives on.
    {v4(10, 0, 0, 0), 8, address_kind::private_network},      // RFC 1918
    {v4(172, 16, 0, 0), 12, address_kind::private_network},   // RFC 1918
    {v4(192, 168, 0, 0), 16, address_kind::private_network},  // RFC 1918
    {v4(127, 0, 0, 0), 8, address_kind::private_network},     // loopback
    // Never a legitimate model endpoint.
    {v4(100, 64, 0, 0), 10, address_kind::always_blocked},    // CGNAT: the carrier's, not ours (R19)
    {v4(0, 0, 0, 0), 8, address_kind::always_blocked},        // "this network"; 0.0.0.0 reaches loopback
    {v4(169, 254, 0, 0), 16, address_kind::always_blocked},   // link-local, IMDS 169.254.169.254
    {v4(192, 0, 0, 0), 24, address_kind::always_blocked},     // IETF protocol assignments
    {v4(192, 0, 2, 0), 24, address_kind::always_blocked},     // TEST-NET-1
    {v4(198, 51, 100, 0), 24, address_kind::always_blocked},  // TEST-NET-2
    {v4(203, 0, 113, 0), 24, address_kind::always_blocked},   // TEST-NET-3
    {v4(192, 88, 99, 0), 24, address_kind::always_blocked},   // 6to4 relay anycast (deprecated)
    {v4(198, 18, 0, 0), 15, address_kind::always_blocked},    // benchmarking
    {v4(192, 31, 196, 0), 24, address_kind::always_blocked},  // AS112
    {v4(192, 52, 193, 0), 24, address_kind::always_blocked},  // AMT
    {v4(192, 175, 48, 0), 24, address_kind::always_blocked},  // AS112 direct delegation
    {v4(224, 0, 0, 0), 4, address_kind::always_blocked},      // multicast
    {v4(240, 0, 0, 0), 4, address_kind::always_blocked},      // reserved (incl. broadcast)
    {v4(0, 0, 0, 0), 0, address_kind::public_address},        // everything else
}};

address_kind classify_v4(std::uint32_t a) {
    for (const auto& r : v4_table) {
        const std::uint32_t mask = r.prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - r.prefix);
        if ((a & mask) == (r.base & mask)) {
            return r.kind;
        }
    }
    return address_kind::public_address;
}

// One inet_aton part: 0x/0X hex, leading-0 octal, else decimal. Values above 2^32 are rejected early.
std::optional<std::uint64_t> parse_aton_part(std::string_view p) {
    if (p.empty()) {
        return std::nullopt;
    }
    unsigned base = 10;
    if (p.size() >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p.remove_prefix(2);
        if (p.empty()) {
            return std::nullopt;  // glibc refuses a bare "0x"
        }
    } else if (p.size() >= 2 && p[0] == '0') {
        base = 8;
        p.remove_prefix(1);
    }
    std::uint64_t v = 0;
    for (char c : p) {
        unsigned d = 0;
        if (c >= '0' && c <= '9') {
            d = static_cast<unsigned>(c - '0');
        } else if (base == 16 && c >= 'a' && c <= 'f') {
            d = static_cast<unsigned>(c - 'a' + 10);
        } else if (base == 16 && c >= 'A' && c <= 'F') {
            d = static_cast<unsigned>(c - 'A' + 10);
        } else {
            return std::nullopt;
        }
        if (d >= base) {
            return std::nullopt;
        }
        v = v * base + d;
        if (v > 0xFFFFFFFFull) {
            return std::nullopt;
        }
    }
    return v;
}

std::optional<std::uint32_t> parse_aton(std::string_view host) {
    std::array<std::uint64_t, 4> parts{};
    std::size_t n = 0;
    while (true) {
        const auto dot = host.find('.');
        if (n == 4) {
            return std::nullopt;
        }
        auto part = parse_aton_part(host.substr(0, dot));
        if (!part) {
            return std::nullopt;
        }
        parts[n++] = *part;
        if (dot == std::string_view::npos) {
            break;
        }
        host.remove_prefix(dot + 1);
    }
    // Every part but the last is one byte; the last fills the remaining bytes.
    std::uint64_t value = 0;
    for (std::size_t i = 0; i + 1 < n; ++i) {
        if (parts[i] > 0xFF) {
            return std::nullopt;
        }
        value |= parts[i] << (8 * (3 - i));
    }
    const int last_bits = 8 * static_cast<int>(5 - n);
    if (last_bits < 64 && parts[n - 1] >= (std::uint64_t{1} << last_bits)) {
        return std::nullopt;
    }
    value |= parts[n - 1];
    return static_cast<std::uint32_t>(value);
}

bool is_numeric_label(std::string_view label) {
    if (label.empty()) {
        return false;
    }
    if (std::all_of(label.begin(), label.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return true;
    }
    return label.size() >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X') &&
           std::all_of(label.begin() + 2, label.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
           });
}

}  // namespace

std::string_view strip_trailing_dot(std::string_view host) {
    if (host.size() > 1 && host.back() == '.') {
        host.remove_suffix(1);
    }
    return host;
}

address_kind classify_ipv4(std::uint32_t address) {
    return classify_v4(address);
}

std::optional<std::uint32_t> parse_ipv4_spelling(std::string_view host) {
    return parse_aton(host);
}

bool ends_in_number(std::string_view host) {
    if (host.empty() || host.front() == '[' || host.find(':') != std::string_view::npos) {
        return false;
    }
    host = strip_trailing_dot(host);
    const auto last_dot = host.rfind('.');
    return is_numeric_label(last_dot == std::string_view::npos ? host : host.substr(last_dot + 1));
}

}  // namespace modelrelay::registry
