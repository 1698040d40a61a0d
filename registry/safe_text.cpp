// File: safe_text.cpp
#include "registry/safe_text.hpp"

#include <algorithm>

#include <re2/re2.h>

namespace modelrelay::registry {

namespace {

const RE2& safe_text_pattern() {
    // Java's \s is [ \t\n\x0B\f\r]; RE2's \s lacks \x0B, so the class is spelled out.
    static const RE2 re(R"(^[\p{L}\p{N}\t\n\x0B\f\r .,!?():@\-_/'"]*$)");
    return re;
}

}  // namespace

bool is_safe_text(std::string_view text) {
    return RE2::FullMatch(text, safe_text_pattern());
}

bool is_blank(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](unsigned char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
    });
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
