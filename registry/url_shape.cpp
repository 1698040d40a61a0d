// File: url_shape.cpp
#include "registry/url_shape.hpp"

#include <string>

#include <boost/url/parse.hpp>

#include "registry/ipv4_spelling.hpp"

namespace modelrelay::registry {

namespace {

// Percent-encoded names are decoded differently by different parsers (`%31%32%37.0.0.1`).
bool canonical_name(std::string_view host) {
    return !host.empty() && host.find('%') == std::string_view::npos;
}

// A name that ends in a number is an IPv4 address in a spelling other than dotted decimal (`127.1`,
// `2130706433`, `0x7f.1`, `127.0.0.1.`) or a malformed one (`1.2.3.4.5`); Boost.URL reads only the
// canonical form as an address. One that names a refused address gets the R18 text, which is what the
// address check after resolution would have said; any other is refused for its spelling alone (R19), even
// where the address itself would be allowed, so that every allowed address has one spelling.
result<void> check_numeric_name(std::string_view host) {
    if (!ends_in_number(host)) {
        return {};
    }
    const auto address = parse_ipv4_spelling(strip_trailing_dot(host));
    if (address && classify_ipv4(*address) != address_kind::public_address) {
        return illegal_argument("Remote inference host name has private ip address: " + std::string(host));
    }
    return illegal_argument("Connector URL host is not canonical: " + std::string(host));
}

}  // namespace

result<void> check_url_shape(std::string_view url, std::string_view* origin) {
    auto u = boost::urls::parse_uri(url);
    if (!u) {
        return {};
    }
    if (u->has_userinfo()) {
        return illegal_argument("Connector URL must not contain user info");
    }
    if (u->has_fragment()) {
        return illegal_argument("Connector URL must not contain a fragment");
    }
    const auto type = u->host_type();
    if (type == boost::urls::host_type::ipvfuture ||
        (type == boost::urls::host_type::name && !canonical_name(u->encoded_host()))) {
        return illegal_argument("Connector URL host is not canonical: " + std::string(u->encoded_host()));
    }
    if (type == boost::urls::host_type::name) {
        if (auto numeric = check_numeric_name(u->encoded_host()); !numeric) {
            return numeric;
        }
    }
    // Boost.URL 1.81 ends an IPv4 host at its fourth number and starts the path there
    // (`http://127.0.0.1.:80/x` → host 127.0.0.1, path `.:80/x`). RFC 3986 wants such a path to start
    // with "/", and every connect refuses it; the host as written decides the text.
    const auto path = u->encoded_path();
    if (u->has_authority() && !path.empty() && path.front() != '/') {
        const auto rest = std::string_view(path.data(), path.size());
        const std::string written =
            std::string(u->encoded_host()) + std::string(rest.substr(0, rest.find_first_of(":/?")));
        if (auto numeric = check_numeric_name(written); !numeric) {
            return numeric;
        }
        return illegal_argument(std::string(invalid_uri_text));
    }
    if (origin != nullptr) {
        const auto o = u->encoded_origin();
        *origin = std::string_view(o.data(), o.size());
    }
    return {};
}

}  // namespace modelrelay::registry
