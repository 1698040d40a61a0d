// File: utf8.hpp
// A tiny UTF-8 decoder shared by the escaping code. ml-commons works on Java (UTF-16) strings; we keep
// UTF-8 and decode only where a rule is defined on code points (escapeJson's `\uXXXX`, String.hashCode).
#pragma once

#include <string>
#include <string_view>

namespace modelrelay::registry::utf8 {

inline constexpr char32_t replacement_char = 0xFFFD;

// Decodes the code point starting at s[i] and advances i past it. Invalid input never fails: a maximal
// invalid subsequence (Unicode "substitution of maximal subparts") yields U+FFFD and is skipped.
// REQUIRES: i < s.size().
inline char32_t decode(std::string_view s, std::size_t& i) {
    const auto byte = [&](std::size_t k) {
        return static_cast<unsigned char>(s[k]);
    };
    const unsigned char b0 = byte(i);
    if (b0 < 0x80) {
        ++i;
        return b0;
    }
    std::size_t len = 0;
    char32_t cp = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
        cp = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3;
        cp = b0 & 0x0F;
        if (b0 == 0xE0) {
            lo = 0xA0;
        } else if (b0 == 0xED) {
            hi = 0x9F;  // no UTF-16 surrogates
        }
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4;
        cp = b0 & 0x07;
        if (b0 == 0xF0) {
            lo = 0x90;
        } else if (b0 == 0xF4) {
            hi = 0x8F;
        }
    } else {
        ++i;
        return replacement_char;
    }
    for (std::size_t k = 1; k < len; ++k) {
        if (i + k >= s.size()) {
            i += k;
            return replacement_char;
        }
        const unsigned char b = byte(i + k);
        if (b < lo || b > hi) {
            i += k;
            return replacement_char;
        }
        lo = 0x80;
        hi = 0xBF;
        cp = (cp << 6) | (b & 0x3F);
    }
    i += len;
    return cp;
}

// Copies `s` into `out` with every invalid UTF-8 subsequence replaced by U+FFFD (what Java's UTF-8
// decoder does) and returns true; returns false and leaves `out` untouched when `s` is already valid.
bool sanitize(std::string_view s, std::string& out);

}  // namespace modelrelay::registry::utf8
