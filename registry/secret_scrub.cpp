// File: secret_scrub.cpp
#include "registry/secret_scrub.hpp"

#include <algorithm>
#include <cstring>

#include "registry/crypto.hpp"

namespace modelrelay::registry {

namespace {

constexpr std::size_t min_secret_length = 8;

bool qualifies(std::string_view v) {
    return v.size() >= min_secret_length &&
           !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The value as it appears inside a JSON string (what an upstream that echoes a header into JSON writes).
std::string json_escaped(std::string_view v) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(v.size());
    for (const char ch : v) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(ch);
        } else if (c < 0x20) {
            out.append("\\u00");
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        } else {
            out.push_back(ch);
        }
    }
    return out;
}

}  // namespace

secret_list::~secret_list() {
    for (auto& n : needles_) {
        secure_wipe(n);
    }
}

std::size_t secret_list::longest() const {
    std::size_t n = 0;
    for (const auto& s : needles_) {
        n = std::max(n, s.size());
    }
    return n;
}

std::shared_ptr<const secret_list> make_secret_list(std::span<const std::string_view> values) {
    std::vector<std::string> needles;
    for (const auto v : values) {
        if (!qualifies(v)) {
            continue;
        }
        needles.emplace_back(v);
        if (auto escaped = json_escaped(v); escaped != v) {
            needles.push_back(std::move(escaped));
        }
    }
    if (needles.empty()) {
        return nullptr;
    }
    // Longest first, so a value that contains another is replaced whole.
    std::sort(needles.begin(), needles.end(), [](const auto& a, const auto& b) {
        return a.size() > b.size();
    });
    needles.erase(std::unique(needles.begin(), needles.end()), needles.end());
    return std::make_shared<const secret_list>(std::move(needles));
}

bool scrub_secrets(std::string& text, const secret_list& secrets) {
    bool replaced = false;
    for (const auto& needle : secrets.needles()) {
        std::size_t from = 0;
        while (from + needle.size() <= text.size()) {
            const void* hit = ::memmem(text.data() + from, text.size() - from, needle.data(), needle.size());
            if (hit == nullptr) {
                break;
            }
            const auto at = static_cast<std::size_t>(static_cast<const char*>(hit) - text.data());
            text.replace(at, needle.size(), sensitive_marker);
            from = at + sensitive_marker.size();
            replaced = true;
        }
    }
    return replaced;
}

std::size_t secret_prefix_suffix(std::string_view text, const secret_list& secrets) {
    std::size_t best = 0;
    for (const auto& needle : secrets.needles()) {
        const std::size_t max_len = std::min(needle.size() - 1, text.size());
        for (std::size_t len = max_len; len > best; --len) {
            if (text.substr(text.size() - len) == std::string_view(needle).substr(0, len)) {
                best = len;
                break;
            }
        }
    }
    return best;
}

}  // namespace modelrelay::registry
