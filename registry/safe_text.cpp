// File: safe_text.cpp
#include "registry/safe_text.hpp"

#include <optional>

#include <re2/re2.h>

namespace modelrelay::registry {

namespace {

std::optional<char32_t> next_code_point(std::string_view s, std::size_t& i) {
    auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t len = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xE ? 3 : (b0 >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) {
        return std::nullopt;
    }
    char32_t cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1F) : len == 3 ? (b0 & 0x0F) : (b0 & 0x07);
    for (std::size_t k = 1; k < len; ++k) {
        auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xC0) != 0x80) {
            return std::nullopt;
        }
        cp = (cp << 6) | (b & 0x3F);
    }
    i += len;
    return cp;
}

// java.lang.Character.isWhitespace: Unicode space/line/paragraph separators except the no-break spaces
// (U+00A0, U+2007, U+202F), plus U+0009..U+000D and U+001C..U+001F.
bool is_java_whitespace(char32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x2006) || (c >= 0x2008 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x205F || c == 0x3000;
}

const RE2& safe_text_pattern() {
    // Java's \s is [ \t\n\x0B\f\r]; RE2's \s lacks \x0B, so the class is spelled out.
    static const RE2 re(R"(^[\p{L}\p{N}\t\n\x0B\f\r .,!?():@\-_/'"]*$)");
    return re;
}

}  // namespace

bool is_safe_text(std::string_view text) {
    return RE2::FullMatch(text, safe_text_pattern());
}

bool is_blank(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto cp = next_code_point(s, i);
        if (!cp || !is_java_whitespace(*cp)) {
            return false;
        }
    }
    return true;
}

result<void> validate_text_fields(std::initializer_list<text_field> fields) {
    std::string message;
    int n = 0;
    const auto add = [&](std::string_view label, std::string_view reason) {
        message.append(message.empty() ? "Validation Failed: " : "");
        message.append(std::to_string(++n)).append(": ").append(label).append(" ").append(reason).append(";");
    };
    for (const auto& f : fields) {
        const bool blank = !f.value || is_blank(*f.value);
        if (blank) {
            if (f.required) {
                add(f.label, "is required and cannot be null or blank");
            }
        } else if (!is_safe_text(*f.value)) {
            add(f.label, "can only contain letters, numbers, spaces, and basic punctuation (.,!?():@-_'/\")");
        }
    }
    if (n == 0) {
        return {};
    }
    return error{errc::validation_failed, std::move(message)};
}

}  // namespace modelrelay::registry
