// File: url.cpp
// Boost.URL based parsing of connector endpoints, plus the checks ml-commons runs on the URI before the
// request leaves (MLValidatableAsyncHttpClient: scheme, then port).
#include "server/upstream/url.hpp"

#include <algorithm>
#include <charconv>

#include <boost/url/parse.hpp>

#include "server/upstream/address_guard.hpp"

namespace modelrelay::server::upstream {

namespace {

registry::error invalid(std::string_view url) {
    return registry::illegal_argument(std::string(invalid_uri_message) + std::string(url));
}

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    });
    return out;
}

// Host names modelrelay hands to DNS: LDH labels, underscores tolerated (some internal names use them).
bool is_plain_host_name(std::string_view h) {
    return !h.empty() && std::all_of(h.begin(), h.end(), [](unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '.' || c == '_';
    });
}

}  // namespace

registry::result<parsed_url> parse_url(std::string_view url) {
    auto u = boost::urls::parse_uri(url);
    if (!u) {
        return invalid(url);
    }
    parsed_url out;
    const std::string scheme = ascii_lower(u->scheme());
    if (scheme == "https") {
        out.tls = true;
    } else if (scheme != "http") {
        return registry::illegal_argument("Protocol is not http or https: " + std::string(u->scheme()));
    }
    if (!u->has_authority() || u->has_userinfo()) {
        return invalid(url);
    }
    // Boost.URL 1.81 ends the authority after a leading IPv4 address and puts the rest of the host into
    // the path ("http://127.0.0.1.nip.io/x" → host 127.0.0.1, path ".nip.io/x"). RFC 3986 requires the
    // path after an authority to be empty or start with "/", so such URLs are refused, never re-routed.
    if (!u->encoded_path().empty() && u->encoded_path().front() != '/') {
        return invalid(url);
    }

    out.port = out.tls ? 443 : 80;
    bool explicit_port = false;
    if (u->has_port() && !u->port().empty()) {
        const std::string_view p = u->port();
        unsigned long value = 0;
        const auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
        if (ec != std::errc() || ptr != p.data() + p.size() || value == 0 || value > 65535) {
            return registry::illegal_argument("Port out of range: " + std::string(p));
        }
        out.port = static_cast<unsigned short>(value);
        explicit_port = true;
    }

    switch (u->host_type()) {
        case boost::urls::host_type::ipv4:
        case boost::urls::host_type::ipv6:
            out.host = std::string(u->encoded_host());
            break;
        case boost::urls::host_type::name:
            out.host = u->host_name();  // percent-decoded
            break;
        default:  // none, ipvfuture
            return invalid(url);
    }
    if (out.host.empty()) {
        return invalid(url);
    }

    out.literal = parse_ip_literal(out.host);
    if (out.literal) {
        out.canonical = out.literal->to_string();
    } else {
        if (!is_plain_host_name(out.host) || is_malformed_numeric_host(out.host)) {
            return invalid(url);
        }
        std::string_view name = out.host;
        if (name.size() > 1 && name.back() == '.') {
            name.remove_suffix(1);
        }
        out.canonical = ascii_lower(name);
    }

    out.target = std::string(u->encoded_path());
    if (out.target.empty()) {
        out.target = "/";
    }
    if (u->has_query()) {
        out.target += '?';
        out.target += std::string(u->encoded_query());
    }
    out.host_header = std::string(u->encoded_host());
    if (explicit_port) {
        out.host_header += ':';
        out.host_header += std::to_string(out.port);
    }
    return out;
}

}  // namespace modelrelay::server::upstream
