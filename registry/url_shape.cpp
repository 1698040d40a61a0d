// File: url_shape.cpp
#include "registry/url_shape.hpp"

#include <string>

#include <boost/url/parse.hpp>

namespace modelrelay::registry {

namespace {

// Percent-encoded names are decoded differently by different parsers (`%31%32%37.0.0.1`). Numeric
// spellings (`127.1`, `2130706433`) are left to the address checks after resolution, which refuse them with
// ml-commons' `Remote inference host name has private ip address` text (R18, R20).
bool canonical_name(std::string_view host) {
    return !host.empty() && host.find('%') == std::string_view::npos;
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
    if (origin != nullptr) {
        const auto o = u->encoded_origin();
        *origin = std::string_view(o.data(), o.size());
    }
    return {};
}

}  // namespace modelrelay::registry
