// File: utf8.cpp
#include "registry/utf8.hpp"

#include <cstdint>
#include <cstring>
#include <string>

namespace modelrelay::registry::utf8 {

bool sanitize(std::string_view s, std::string& out) {
    static constexpr std::string_view encoded_replacement = "\xEF\xBF\xBD";
    const auto valid_at = [&](std::size_t& i) {
        const std::size_t start = i;
        const char32_t cp = decode(s, i);
        return cp != replacement_char || s.substr(start, i - start) == encoded_replacement;
    };
    std::size_t i = 0;
    while (i < s.size()) {
        // Upstream JSON is nearly all ASCII: eight bytes per step until a byte with the high bit set.
        std::uint64_t word = 0;
        if (i + sizeof word <= s.size()) {
            std::memcpy(&word, s.data() + i, sizeof word);
            if ((word & 0x8080808080808080ULL) == 0) {
                i += sizeof word;
                continue;
            }
        }
        if (static_cast<unsigned char>(s[i]) < 0x80) {
            ++i;
            continue;
        }
        const std::size_t start = i;
        if (!valid_at(i)) {
            i = start;
            break;
        }
    }
    if (i >= s.size()) {
        return false;
    }
    std::string fixed;
    fixed.reserve(s.size() + 8);
    fixed.append(s.substr(0, i));
    while (i < s.size()) {
        const std::size_t start = i;
        if (valid_at(i)) {
            fixed.append(s.substr(start, i - start));
        } else {
            fixed.append(encoded_replacement);
        }
    }
    out = std::move(fixed);
    return true;
}

}  // namespace modelrelay::registry::utf8
