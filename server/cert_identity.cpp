// File: cert_identity.cpp
// A small RFC 4514 DN parser and the clientcert mapping rules. Hand-written because OpenSSL only prints
// names (it has no parser for the text form an operator writes in --tls-admin-dn) and the rules that
// matter here are LdapName's: unescaping, trimming and case-insensitive equality.
#include "server/cert_identity.hpp"

#include <algorithm>
#include <cctype>

#include "registry/ascii.hpp"

namespace modelrelay::server {

namespace {

using registry::ascii_upper;
using registry::iequals_ascii;

bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals_ascii(s.substr(0, prefix.size()), prefix);
}

bool is_space(char c) {
    return c == ' ';
}

class dn_parser {
public:
    explicit dn_parser(std::string_view s) : s_(s) {}

    std::optional<std::vector<dn_rdn>> parse() {
        std::vector<dn_rdn> out;
        skip_spaces();
        if (at_end()) {
            return out;
        }
        for (;;) {
            dn_rdn rdn;
            for (;;) {
                auto ava = attribute();
                if (!ava) {
                    return std::nullopt;
                }
                rdn.push_back(std::move(*ava));
                if (!at_end() && peek() == '+') {
                    ++i_;
                    continue;
                }
                break;
            }
            out.push_back(std::move(rdn));
            if (at_end()) {
                return out;
            }
            if (peek() != ',' && peek() != ';') {
                return std::nullopt;
            }
            ++i_;
        }
    }

private:
    bool at_end() const { return i_ >= s_.size(); }
    char peek() const { return s_[i_]; }
    void skip_spaces() {
        while (!at_end() && is_space(peek())) {
            ++i_;
        }
    }

    std::optional<std::string> type() {
        const auto start = i_;
        if (at_end()) {
            return std::nullopt;
        }
        if (std::isalpha(static_cast<unsigned char>(peek()))) {
            while (!at_end() && (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '-')) {
                ++i_;
            }
        } else if (std::isdigit(static_cast<unsigned char>(peek()))) {
            while (!at_end() && (std::isdigit(static_cast<unsigned char>(peek())) || peek() == '.')) {
                ++i_;
            }
        } else {
            return std::nullopt;
        }
        std::string t(s_.substr(start, i_ - start));
        if (istarts_with(t, "oid.")) {
            // RFC 1779's "OID.2.5.4.3" spelling.
            if (at_end() || !std::isdigit(static_cast<unsigned char>(peek()))) {
                return std::nullopt;
            }
            const auto oid_start = i_;
            while (!at_end() && (std::isdigit(static_cast<unsigned char>(peek())) || peek() == '.')) {
                ++i_;
            }
            t = std::string(s_.substr(oid_start, i_ - oid_start));
        }
        return t;
    }

    // `\` followed by two hex digits (one byte) or by any other character (that character).
    bool escape(std::string& out) {
        ++i_;  // the backslash
        if (at_end()) {
            return false;
        }
        if (i_ + 1 < s_.size() && registry::hex_digit_value(s_[i_]) >= 0 &&
            registry::hex_digit_value(s_[i_ + 1]) >= 0) {
            out += static_cast<char>(
                registry::hex_digit_value(s_[i_]) * 16 + registry::hex_digit_value(s_[i_ + 1])
            );
            i_ += 2;
            return true;
        }
        out += s_[i_++];
        return true;
    }

    std::optional<std::string> value() {
        std::string v;
        if (!at_end() && peek() == '#') {
            const auto start = i_++;
            while (!at_end() && registry::hex_digit_value(peek()) >= 0) {
                ++i_;
            }
            const auto digits = i_ - start - 1;
            if (digits == 0 || digits % 2 != 0) {
                return std::nullopt;
            }
            v = std::string(s_.substr(start, i_ - start));
            skip_spaces();
            return v;
        }
        if (!at_end() && peek() == '"') {
            ++i_;
            for (;;) {
                if (at_end()) {
                    return std::nullopt;
                }
                if (peek() == '"') {
                    ++i_;
                    break;
                }
                if (peek() == '\\') {
                    if (!escape(v)) {
                        return std::nullopt;
                    }
                    continue;
                }
                v += s_[i_++];
            }
            skip_spaces();
            return v;
        }
        // Unquoted: unescaped trailing spaces are not part of the value, escaped ones are.
        std::size_t keep = 0;
        while (!at_end() && peek() != ',' && peek() != ';' && peek() != '+') {
            if (peek() == '\\') {
                if (!escape(v)) {
                    return std::nullopt;
                }
                keep = v.size();
                continue;
            }
            const char c = s_[i_++];
            v += c;
            if (!is_space(c)) {
                keep = v.size();
            }
        }
        v.resize(keep);
        return v;
    }

    std::optional<dn_attribute> attribute() {
        skip_spaces();
        auto t = type();
        if (!t) {
            return std::nullopt;
        }
        skip_spaces();
        if (at_end() || peek() != '=') {
            return std::nullopt;
        }
        ++i_;
        skip_spaces();
        auto v = value();
        if (!v) {
            return std::nullopt;
        }
        return dn_attribute{std::move(*t), std::move(*v)};
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

// A string that is equal for two DNs exactly when same_dn() holds: length-prefixed upper-cased parts, so
// no value can imitate a separator.
std::optional<std::string> canonical_key(std::string_view dn) {
    auto rdns = parse_dn(dn);
    if (!rdns) {
        return std::nullopt;
    }
    std::string key;
    for (const auto& rdn : *rdns) {
        std::vector<std::string> parts;
        for (const auto& a : rdn) {
            const auto t = registry::ascii_upper_copy(a.type);
            const auto v = registry::ascii_upper_copy(a.value);
            parts.push_back(std::to_string(t.size()) + ":" + t + std::to_string(v.size()) + ":" + v);
        }
        std::sort(parts.begin(), parts.end());
        key += std::to_string(parts.size()) + "[";
        for (const auto& p : parts) {
            key += p;
        }
        key += "]";
    }
    return key;
}

// Case-insensitive glob with `*` only (OpenSearch's matchesGlobCI).
bool glob_matches(std::string_view value, std::string_view pattern) {
    std::size_t v = 0;
    std::size_t p = 0;
    std::size_t star = std::string_view::npos;
    std::size_t resume = 0;
    while (v < value.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = v;
        } else if (p < pattern.size() && ascii_upper(pattern[p]) == ascii_upper(value[v])) {
            ++p;
            ++v;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            v = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') {
        ++p;
    }
    return p == pattern.size();
}

constexpr std::size_t max_san_matches = 16;
constexpr std::size_t max_san_value_length = 8192;

std::vector<std::string> values_of(
    const cert_attribute& attr, const std::vector<dn_rdn>& rdns, const std::vector<subject_alt_name>& sans
) {
    std::vector<std::string> out;
    switch (attr.from) {
        case cert_attribute::source::none:
            break;
        case cert_attribute::source::dn:
            for (const auto& rdn : rdns) {
                for (const auto& a : rdn) {
                    if (iequals_ascii(a.type, attr.name) && !a.value.empty()) {
                        out.push_back(a.value);
                    }
                }
            }
            break;
        case cert_attribute::source::san:
            for (const auto& san : sans) {
                if (san.type != attr.san || san.value.empty()) {
                    continue;
                }
                const std::string_view v =
                    std::string_view(san.value).substr(0, std::min(san.value.size(), max_san_value_length));
                if (attr.glob.empty() || glob_matches(v, attr.glob)) {
                    out.emplace_back(v);
                    if (out.size() == max_san_matches) {
                        break;
                    }
                }
            }
            break;
    }
    return out;
}

bool valid_attribute_name(std::string_view n) {
    if (n.empty()) {
        return false;
    }
    if (std::isalpha(static_cast<unsigned char>(n.front()))) {
        return std::all_of(n.begin(), n.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
        });
    }
    return std::all_of(n.begin(), n.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
    });
}

std::optional<san_type> san_kind(std::string_view token) {
    if (iequals_ascii(token, "email") || iequals_ascii(token, "rfc822name")) {
        return san_type::email;
    }
    if (iequals_ascii(token, "dns") || iequals_ascii(token, "dnsname")) {
        return san_type::dns;
    }
    if (iequals_ascii(token, "uri") || iequals_ascii(token, "uniformresourceidentifier")) {
        return san_type::uri;
    }
    if (iequals_ascii(token, "ip") || iequals_ascii(token, "ipaddress") ||
        iequals_ascii(token, "ip_address")) {
        return san_type::ip;
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::vector<dn_rdn>> parse_dn(std::string_view dn) {
    return dn_parser(dn).parse();
}

bool same_dn(std::string_view a, std::string_view b) {
    const auto ka = canonical_key(a);
    const auto kb = canonical_key(b);
    return ka && kb && *ka == *kb;
}

registry::result<cert_attribute> parse_cert_attribute(std::string_view setting) {
    while (!setting.empty() && std::isspace(static_cast<unsigned char>(setting.front()))) {
        setting.remove_prefix(1);
    }
    while (!setting.empty() && std::isspace(static_cast<unsigned char>(setting.back()))) {
        setting.remove_suffix(1);
    }
    cert_attribute out;
    if (setting.empty()) {
        return out;
    }
    if (istarts_with(setting, "san:")) {
        const auto rest = setting.substr(4);
        const auto colon = rest.find(':');
        const auto kind = san_kind(rest.substr(0, colon));
        if (!kind) {
            return registry::illegal_argument(
                "unsupported subjectAltName kind [" + std::string(rest.substr(0, colon)) + "] in [" +
                std::string(setting) + "]: use EMAIL, DNS, URI or IP"
            );
        }
        out.from = cert_attribute::source::san;
        out.san = *kind;
        if (colon != std::string_view::npos) {
            out.glob = std::string(rest.substr(colon + 1));
        }
        return out;
    }
    const auto name = istarts_with(setting, "dn:") ? setting.substr(3) : setting;
    if (!valid_attribute_name(name)) {
        std::string reason = "[";
        reason.append(setting).append(
            "] is not an attribute: use a DN attribute type (cn, dn:cn) or san:KIND[:glob]"
        );
        return registry::illegal_argument(std::move(reason));
    }
    return cert_attribute::dn_attribute(std::string(name));
}

bool cert_mapping::add_admin_dn(std::string_view dn) {
    auto key = canonical_key(dn);
    if (!key || key->empty()) {
        return false;
    }
    admin_dns_.emplace_back(dn);
    admin_keys_.push_back(std::move(*key));
    return true;
}

void cert_mapping::clear_admin_dns() {
    admin_dns_.clear();
    admin_keys_.clear();
}

bool cert_mapping::is_admin_dn(std::string_view dn) const {
    if (admin_keys_.empty()) {
        return false;
    }
    const auto key = canonical_key(dn);
    return key && !key->empty() &&
           std::find(admin_keys_.begin(), admin_keys_.end(), *key) != admin_keys_.end();
}

std::optional<cert_identity> cert_mapping::map(
    std::string_view subject_dn, const std::vector<subject_alt_name>& sans
) const {
    const auto rdns = parse_dn(subject_dn);
    if (!rdns) {
        return std::nullopt;
    }
    cert_identity id;
    auto names = values_of(username_attribute, *rdns, sans);
    id.username = names.empty() ? std::string(subject_dn) : std::move(names.front());
    if (id.username.empty()) {
        return std::nullopt;  // an empty subject and no matching SAN: nobody to log in as
    }
    id.backend_roles = values_of(roles_attribute, *rdns, sans);
    return id;
}

std::optional<cert_identity> cert_mapping::map(const peer_info& peer) const {
    if (!peer.client_cert) {
        return std::nullopt;
    }
    return map(peer.subject_dn, peer.subject_alt_names);
}

}  // namespace modelrelay::server
