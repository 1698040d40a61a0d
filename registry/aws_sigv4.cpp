// File: aws_sigv4.cpp
#include "registry/aws_sigv4.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>

#include <boost/url/encode.hpp>
#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "registry/ascii.hpp"

namespace modelrelay::registry {

namespace {

using digest = std::array<unsigned char, 32>;

digest sha256(std::string_view data) {
    digest d{};
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d.data());
    return d;
}

digest hmac(std::string_view key, std::string_view data) {
    digest d{};
    unsigned int len = 0;
    HMAC(
        EVP_sha256(),
        key.data(),
        static_cast<int>(key.size()),
        reinterpret_cast<const unsigned char*>(data.data()),
        data.size(),
        d.data(),
        &len
    );
    return d;
}

std::string_view as_text(const digest& d) {
    return {reinterpret_cast<const char*>(d.data()), d.size()};
}

std::string hex(const digest& d) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(64);
    for (const unsigned char c : d) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 15]);
    }
    return out;
}

// RFC 3986 encoding as SigV4 wants it: upper-case hex, only the unreserved characters kept (and '/' in
// a path).
constexpr auto path_chars = boost::urls::unreserved_chars + '/';

std::string uri_encoded(std::string_view s) {
    return boost::urls::encode(s, boost::urls::unreserved_chars);
}

// Query parameters decoded, re-encoded strictly and sorted by name, then value. The target comes from a
// URL that was parsed already; a query Boost.URL cannot read is signed as it is.
std::string canonical_query(std::string_view query) {
    if (!boost::urls::parse_query(query)) {
        return std::string(query);
    }
    std::vector<std::pair<std::string, std::string>> params;
    // '+' is a plus sign here, not a space: the AWS SDK signs it as %2B.
    for (const auto& p : boost::urls::params_view(query, boost::urls::encoding_opts(false, false, false))) {
        if (p.key.empty() && !p.has_value) {
            continue;  // `a=1&&b=2`
        }
        params.emplace_back(uri_encoded(p.key), uri_encoded(p.value));
    }
    std::sort(params.begin(), params.end());
    std::string out;
    for (const auto& [name, value] : params) {
        if (!out.empty()) {
            out.push_back('&');
        }
        out.append(name).append("=").append(value);
    }
    return out;
}

// Trimmed, with every run of blanks inside folded to one space.
std::string canonical_value(std::string_view v) {
    std::string out;
    bool blank = false;
    for (const char c : v) {
        if (c == ' ' || c == '\t') {
            blank = !out.empty();
            continue;
        }
        if (blank) {
            out.push_back(' ');
            blank = false;
        }
        out.push_back(c);
    }
    return out;
}

bool signed_header(std::string_view lower_name) {
    return lower_name != "content-length" && lower_name != "transfer-encoding" &&
           lower_name != "connection" && lower_name != "user-agent" && lower_name != "host" &&
           lower_name != "expect" && lower_name != "x-amzn-trace-id";
}

// 20150830T123600Z and 20150830.
std::pair<std::string, std::string> amz_time(std::chrono::system_clock::time_point now) {
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm utc{};
    gmtime_r(&t, &utc);
    char stamp[17];
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
    return {std::string(stamp), std::string(stamp, 8)};
}

const std::string* find(const param_map& m, std::string_view key) {
    return find_param(m, key);
}

}  // namespace

result<void> check_aws_connector(
    const param_map& parameters, const std::vector<std::pair<std::string, std::string>>& credential
) {
    const auto has = [&](std::string_view key) {
        return std::any_of(credential.begin(), credential.end(), [&](const auto& kv) {
            return kv.first == key;
        });
    };
    if (!has("access_key") || !has("secret_key")) {
        return illegal_argument("Missing credential");
    }
    if (!has("service_name") && find(parameters, "service_name") == nullptr) {
        return illegal_argument("Missing service name");
    }
    if (!has("region") && find(parameters, "region") == nullptr) {
        return illegal_argument("Missing region");
    }
    return {};
}

aws_signing aws_signing_of(const param_map& parameters, const param_map& credential) {
    const auto pick = [&](std::string_view key) -> std::string {
        if (const auto* p = find(parameters, key)) {
            return *p;
        }
        if (const auto* c = find(credential, key)) {
            return *c;
        }
        return {};
    };
    aws_signing s;
    if (const auto* v = find(credential, "access_key")) {
        s.access_key = *v;
    }
    if (const auto* v = find(credential, "secret_key")) {
        s.secret_key = *v;
    }
    if (const auto* v = find(credential, "session_token")) {
        s.session_token = *v;
    }
    s.region = pick("region");
    s.service = pick("service_name");
    return s;
}

sigv4_headers sign_sigv4(
    const aws_signing& key,
    std::string_view method,
    std::string_view host,
    std::string_view target,
    std::vector<std::pair<std::string, std::string>>& headers,
    std::string_view body,
    std::chrono::system_clock::time_point now
) {
    const auto [stamp, date] = amz_time(now);
    const std::string payload_hash = hex(sha256(body));

    // Lower-cased names; a name given twice is signed as its values joined by commas, in order.
    std::vector<std::pair<std::string, std::string>> canon;
    canon.reserve(headers.size() + 3);
    canon.emplace_back("host", canonical_value(host));
    canon.emplace_back("x-amz-date", stamp);
    if (!key.session_token.empty()) {
        canon.emplace_back("x-amz-security-token", key.session_token);
    }
    for (auto& [name, value] : headers) {
        std::string lower = ascii_lower_copy(name);
        if (lower == "x-amz-content-sha256") {
            value = payload_hash;
        }
        if (lower == "host") {
            canon.front().second = canonical_value(value);  // the connector's Host is the one sent
            continue;
        }
        if (!signed_header(lower) || lower == "x-amz-date" || lower == "x-amz-security-token" ||
            lower == "authorization") {
            continue;
        }
        canon.emplace_back(std::move(lower), canonical_value(value));
    }
    std::stable_sort(canon.begin(), canon.end(), [](const auto& a, const auto& b) {
        return a.first < b.first;
    });
    std::string canonical_headers;
    std::string signed_names;
    for (std::size_t i = 0; i < canon.size(); ++i) {
        if (i > 0 && canon[i].first == canon[i - 1].first) {
            canonical_headers.pop_back();  // the '\n' of the same name's line
            canonical_headers.append(",").append(canon[i].second).append("\n");
            continue;
        }
        canonical_headers.append(canon[i].first).append(":").append(canon[i].second).append("\n");
        if (!signed_names.empty()) {
            signed_names.push_back(';');
        }
        signed_names.append(canon[i].first);
    }

    const auto q = target.find('?');
    const std::string_view path = target.substr(0, q);
    std::string canonical_request(method);
    canonical_request.push_back('\n');
    if (path.empty()) {
        canonical_request.push_back('/');
    } else {
        canonical_request.append(boost::urls::encode(path, path_chars));
    }
    canonical_request.push_back('\n');
    if (q != std::string_view::npos) {
        canonical_request.append(canonical_query(target.substr(q + 1)));
    }
    canonical_request.push_back('\n');
    canonical_request.append(canonical_headers).append("\n");
    canonical_request.append(signed_names).append("\n");
    canonical_request.append(payload_hash);

    const std::string scope = date + "/" + key.region + "/" + key.service + "/aws4_request";
    std::string to_sign = "AWS4-HMAC-SHA256\n";
    to_sign.append(stamp).append("\n").append(scope).append("\n").append(hex(sha256(canonical_request)));

    const digest k_date = hmac("AWS4" + key.secret_key, date);
    const digest k_region = hmac(as_text(k_date), key.region);
    const digest k_service = hmac(as_text(k_region), key.service);
    const digest k_signing = hmac(as_text(k_service), "aws4_request");
    const std::string signature = hex(hmac(as_text(k_signing), to_sign));

    sigv4_headers out;
    out.emplace_back("X-Amz-Date", stamp);
    if (!key.session_token.empty()) {
        out.emplace_back("X-Amz-Security-Token", key.session_token);
    }
    out.emplace_back(
        "Authorization",
        "AWS4-HMAC-SHA256 Credential=" + key.access_key + "/" + scope + ", SignedHeaders=" + signed_names +
            ", Signature=" + signature
    );
    return out;
}

}  // namespace modelrelay::registry
