// File: setting_value.cpp
// Re-implementations of the small Java parsers OpenSearch uses for setting values. They follow the JDK
// grammars (Integer.parseInt, Long.parseLong, Float.parseFloat, ByteSizeValue.parseBytesSizeValue) closely
// enough that the same inputs are accepted and the same error texts come out; hexadecimal floats and
// non-ASCII digits, which the JDK also accepts, are refused here.
#include "registry/setting_value.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <boost/json/string.hpp>

#include "registry/ascii.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

bool is_java_whitespace(char c) {
    return static_cast<unsigned char>(c) <= ' ';
}

}  // namespace

std::optional<long long> parse_java_integer(std::string_view s, long long lo, long long hi) {
    if (s.empty()) {
        return std::nullopt;
    }
    std::size_t i = 0;
    bool negative = false;
    if (s[0] == '-' || s[0] == '+') {
        negative = s[0] == '-';
        i = 1;
        if (s.size() == 1) {
            return std::nullopt;
        }
    }
    // Accumulate negatively so that LLONG_MIN is representable.
    long long acc = 0;
    for (; i < s.size(); ++i) {
        if (s[i] < '0' || s[i] > '9') {
            return std::nullopt;
        }
        const int digit = s[i] - '0';
        if (acc < (LLONG_MIN + digit) / 10) {
            return std::nullopt;
        }
        acc = acc * 10 - digit;
    }
    if (!negative) {
        if (acc == LLONG_MIN) {
            return std::nullopt;
        }
        acc = -acc;
    }
    if (acc < lo || acc > hi) {
        return std::nullopt;
    }
    return acc;
}

namespace {

// Float.parseFloat / Double.parseDouble: trims, optional sign, decimal digits with optional fraction and
// exponent, optional f/F/d/D suffix, or NaN / Infinity. (Java's hexadecimal floats are not taken.)
template <class T>
std::optional<T> parse_java_floating(std::string_view s) {
    while (!s.empty() && is_java_whitespace(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_java_whitespace(s.back())) {
        s.remove_suffix(1);
    }
    bool negative = false;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        negative = s[0] == '-';
        s.remove_prefix(1);
    }
    if (s == "NaN") {
        return std::numeric_limits<T>::quiet_NaN();
    }
    if (s == "Infinity") {
        return negative ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
    }
    if (!s.empty() && (s.back() == 'f' || s.back() == 'F' || s.back() == 'd' || s.back() == 'D')) {
        s.remove_suffix(1);
    }
    // Validate the grammar ourselves: from_chars also accepts "inf"/"nan" spellings Java does not.
    std::size_t i = 0;
    std::size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        ++i;
        ++digits;
    }
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            ++i;
            ++digits;
        }
    }
    if (digits == 0) {
        return std::nullopt;
    }
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
            ++i;
        }
        const std::size_t exp_start = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            ++i;
        }
        if (i == exp_start) {
            return std::nullopt;
        }
    }
    if (i != s.size()) {
        return std::nullopt;
    }
    T value = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec == std::errc::result_out_of_range) {
        // Java rounds to infinity or zero instead of failing.
        const bool tiny = s.find_first_of("eE") != std::string_view::npos &&
                          s.find('-', s.find_first_of("eE")) != std::string_view::npos;
        value = tiny ? T(0) : std::numeric_limits<T>::infinity();
    } else if (ec != std::errc() || ptr != s.data() + s.size()) {
        return std::nullopt;
    }
    return negative ? -value : value;
}

std::optional<float> parse_java_float(std::string_view s) {
    return parse_java_floating<float>(s);
}

std::string failed_to_parse(std::string_view value, std::string_view key) {
    return "Failed to parse value [" + std::string(value) + "] for setting [" + std::string(key) + "]";
}

// Java's NumberFormatException.forInputString text.
std::string for_input_string(std::string_view s) {
    return "For input string: \"" + std::string(s) + "\"";
}

// Setting.get wraps the parser's NumberFormatException: `Failed to parse value [...]` caused by it.
error number_format(std::string_view value, std::string_view key, std::string nfe_reason) {
    return with_cause(
        illegal_argument(failed_to_parse(value, key)), "number_format_exception", std::move(nfe_reason)
    );
}

// Float.parseFloat's NumberFormatException text: the input trimmed, `empty String` when nothing is left.
std::string float_format_reason(std::string_view s) {
    while (!s.empty() && is_java_whitespace(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_java_whitespace(s.back())) {
        s.remove_suffix(1);
    }
    return s.empty() ? std::string("empty String") : for_input_string(s);
}

result<long long> parse_integer_value(const setting_def& def, std::string_view s) {
    const bool is_int = def.type == setting_type::integer;
    const auto parsed = parse_java_integer(s, is_int ? INT_MIN : LLONG_MIN, is_int ? INT_MAX : LLONG_MAX);
    if (!parsed) {
        return number_format(s, def.key, for_input_string(s));
    }
    if (*parsed < def.min_int) {
        return illegal_argument(failed_to_parse(s, def.key) + " must be >= " + std::to_string(def.min_int));
    }
    if (*parsed > def.max_int) {
        return illegal_argument(failed_to_parse(s, def.key) + " must be <= " + std::to_string(def.max_int));
    }
    return *parsed;
}

result<float> parse_float_value(const setting_def& def, std::string_view s) {
    const auto parsed = parse_java_float(s);
    if (!parsed) {
        return number_format(s, def.key, float_format_reason(s));
    }
    // NaN passes both checks, as in Java.
    if (*parsed < def.min_float) {
        return illegal_argument(
            failed_to_parse(s, def.key) + " must be >= " + java_float_text(def.min_float)
        );
    }
    if (*parsed > def.max_float) {
        return illegal_argument(
            failed_to_parse(s, def.key) + " must be <= " + java_float_text(def.max_float)
        );
    }
    return *parsed;
}

// ByteSizeValue.parseBytesSizeValue. The unit suffixes are tried in the JDK code's order.
result<long long> parse_byte_size_value(const setting_def& def, std::string_view s) {
    std::string lower;
    lower.reserve(s.size());
    for (char c : s) {
        lower += static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
    }
    std::string_view norm = lower;
    while (!norm.empty() && is_java_whitespace(norm.front())) {
        norm.remove_prefix(1);
    }
    while (!norm.empty() && is_java_whitespace(norm.back())) {
        norm.remove_suffix(1);
    }
    struct unit {
        std::string_view suffix;
        long long bytes;
    };
    static constexpr std::array<unit, 11> units{{
        {"k", 1LL << 10},
        {"kb", 1LL << 10},
        {"m", 1LL << 20},
        {"mb", 1LL << 20},
        {"g", 1LL << 30},
        {"gb", 1LL << 30},
        {"t", 1LL << 40},
        {"tb", 1LL << 40},
        {"p", 1LL << 50},
        {"pb", 1LL << 50},
        {"b", 1},
    }};
    const std::string whole = "failed to parse setting [" + std::string(def.key) + "] with value [" +
                              std::string(s) + "] as a size in bytes";
    for (const auto& u : units) {
        if (!norm.ends_with(u.suffix)) {
            continue;
        }
        auto number = norm.substr(0, norm.size() - u.suffix.size());
        while (!number.empty() && is_java_whitespace(number.back())) {
            number.remove_suffix(1);
        }
        while (!number.empty() && is_java_whitespace(number.front())) {
            number.remove_prefix(1);
        }
        long long count = 0;
        if (auto n = parse_java_integer(number, LLONG_MIN, LLONG_MAX)) {
            count = *n;
        } else if (auto f = parse_java_float(number)) {
            // Fractional sizes are deprecated but accepted: truncated to whole bytes.
            const auto bytes = static_cast<long long>(static_cast<double>(*f) * static_cast<double>(u.bytes));
            if (bytes < -1) {
                return illegal_argument(whole);
            }
            return bytes;
        } else {
            // OpenSearchParseException caused by Long.parseLong's NumberFormatException, both wrapped by
            // Setting.get into an IllegalArgumentException with the same text.
            std::string text = "failed to parse [" + std::string(s) + "]";
            auto nfe = std::make_shared<const error_cause>(error_cause{
                "number_format_exception", for_input_string(number), nullptr});
            return with_cause(illegal_argument(text), "parse_exception", text, std::move(nfe));
        }
        if (count < -1 || (count == -1 && u.bytes != 1)) {
            return illegal_argument(whole);
        }
        if (count > 0 && count > LLONG_MAX / u.bytes) {
            return illegal_argument(whole);
        }
        return count * u.bytes;
    }
    if (norm == "-1") {
        return -1;
    }
    if (norm == "0") {
        return 0;
    }
    std::string text = whole + ": unit is missing or unrecognized";
    return with_cause(illegal_argument(text), "parse_exception", text);
}

[[noreturn]] void bad_read(const setting_def& def) {
    throw std::logic_error(
        "setting [" + std::string(def.key) + "] read with the wrong type or an unchecked value"
    );
}

}  // namespace

result<void> check_time_value(std::string_view value, std::string_view setting) {
    // TimeValue.parseTimeValue: lower-cased and String.trim()med, then the unit by suffix, in this order.
    const auto trim = [](std::string_view s) {
        while (!s.empty() && static_cast<unsigned char>(s.front()) <= ' ') {
            s.remove_prefix(1);
        }
        while (!s.empty() && static_cast<unsigned char>(s.back()) <= ' ') {
            s.remove_suffix(1);
        }
        return s;
    };
    const std::string lowered = ascii_lower_copy(value);
    const std::string_view norm = trim(lowered);
    const std::string whole = "failed to parse setting [" + std::string(setting) + "] with value [" +
                              std::string(value) + "] as a time value";
    for (std::string_view suffix : {"nanos", "micros", "ms", "s", "m", "h", "d"}) {
        if (!norm.ends_with(suffix)) {
            continue;
        }
        const std::string_view number = trim(norm.substr(0, norm.size() - suffix.size()));
        if (auto n = parse_java_integer(number, LLONG_MIN, LLONG_MAX)) {
            if (*n < -1) {
                return illegal_argument(whole + ": negative durations are not supported");
            }
            return {};
        }
        if (parse_java_double(number)) {
            return illegal_argument(
                "failed to parse [" + std::string(value) + "], fractional time values are not supported"
            );
        }
        return illegal_argument("failed to parse [" + std::string(value) + "]");
    }
    // `-0*1` is -1 and `0+` is zero, unit-less.
    const auto all_zeros = [](std::string_view s) {
        return !s.empty() && s.find_first_not_of('0') == std::string_view::npos;
    };
    if (all_zeros(norm) || (norm.size() >= 2 && norm.front() == '-' && norm.back() == '1' &&
                            (norm.size() == 2 || all_zeros(norm.substr(1, norm.size() - 2))))) {
        return {};
    }
    return illegal_argument(whole + ": unit is missing or unrecognized");
}

result<bool> parse_bool_value(std::string_view s) {
    if (s == "true") {
        return true;
    }
    if (s == "false") {
        return false;
    }
    return illegal_argument(
        "Failed to parse value [" + std::string(s) + "] as only [true] or [false] are allowed."
    );
}

json::value to_json(const setting_value& v) {
    if (const auto* s = std::get_if<std::string>(&v)) {
        return json::string(*s);
    }
    json::array a;
    for (const auto& item : std::get<std::vector<std::string>>(v)) {
        a.emplace_back(json::string(item));
    }
    return a;
}

std::string setting_text(const setting_value& v) {
    if (const auto* s = std::get_if<std::string>(&v)) {
        return *s;
    }
    std::string out = "[";
    const auto& items = std::get<std::vector<std::string>>(v);
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) {
            out += ", ";
        }
        out += items[i];
    }
    return out + "]";
}

std::vector<std::string> list_items(const setting_value& v) {
    if (const auto* items = std::get_if<std::vector<std::string>>(&v)) {
        return *items;
    }
    // Strings.splitStringByCommaToArray (String.split(",") drops trailing empty parts), then trim().
    const auto& s = std::get<std::string>(v);
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const auto comma = s.find(',', start);
        parts.push_back(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (comma == std::string::npos) {
            break;
        }
        start = comma + 1;
    }
    while (!parts.empty() && parts.back().empty()) {
        parts.pop_back();
    }
    for (auto& p : parts) {
        std::size_t b = 0;
        while (b < p.size() && is_java_whitespace(p[b])) {
            ++b;
        }
        std::size_t e = p.size();
        while (e > b && is_java_whitespace(p[e - 1])) {
            --e;
        }
        p = p.substr(b, e - b);
    }
    return parts;
}

setting_value default_value(const setting_def& def) {
    if (def.type == setting_type::list) {
        return std::vector<std::string>(def.default_list.begin(), def.default_list.end());
    }
    return std::string(def.default_text);
}

std::optional<std::string> json_scalar_text(const json::value& v) {
    switch (v.kind()) {
        case json::kind::string:
            return std::string(v.get_string());
        case json::kind::bool_:
            return v.get_bool() ? "true" : "false";
        case json::kind::int64:
            return std::to_string(v.get_int64());
        case json::kind::uint64:
            return std::to_string(v.get_uint64());
        case json::kind::double_: {
            std::array<char, 64> buf{};
            const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v.get_double());
            std::string out(buf.data(), ec == std::errc() ? end : buf.data());
            if (out.find_first_of(".eEn") == std::string::npos) {
                out += ".0";  // Jackson reports the source text, which for a double has a '.' or an exponent
            }
            return out;
        }
        default:
            return std::nullopt;
    }
}

std::string java_float_text(float f) {
    std::array<char, 32> buf{};
    const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), f);
    std::string out(buf.data(), ec == std::errc() ? end : buf.data());
    if (out.find_first_of(".en") == std::string::npos) {
        out += ".0";
    }
    return out;
}

result<void> validate_value(const setting_def& def, const setting_value& v) {
    switch (def.type) {
        case setting_type::boolean:
            if (auto r = parse_bool_value(setting_text(v)); !r) {
                return r.error();
            }
            return {};
        case setting_type::integer:
        case setting_type::long_integer:
            if (auto r = parse_integer_value(def, setting_text(v)); !r) {
                return r.error();
            }
            return {};
        case setting_type::floating:
            if (auto r = parse_float_value(def, setting_text(v)); !r) {
                return r.error();
            }
            return {};
        case setting_type::byte_size:
            if (auto r = parse_byte_size_value(def, setting_text(v)); !r) {
                return r.error();
            }
            return {};
        case setting_type::string:
            return {};
        case setting_type::list:
            if (def.validate_list != nullptr) {
                return def.validate_list(list_items(v));
            }
            return {};
    }
    return {};
}

bool read_bool(const setting_def& def, const setting_value& v) {
    auto r = def.type == setting_type::boolean ? parse_bool_value(setting_text(v)) : result<bool>(error{});
    if (!r) {
        bad_read(def);
    }
    return *r;
}

long long read_int(const setting_def& def, const setting_value& v) {
    const bool ok_type = def.type == setting_type::integer || def.type == setting_type::long_integer;
    auto r = ok_type ? parse_integer_value(def, setting_text(v)) : result<long long>(error{});
    if (!r) {
        bad_read(def);
    }
    return *r;
}

float read_float(const setting_def& def, const setting_value& v) {
    auto r =
        def.type == setting_type::floating ? parse_float_value(def, setting_text(v)) : result<float>(error{});
    if (!r) {
        bad_read(def);
    }
    return *r;
}

long long read_byte_size(const setting_def& def, const setting_value& v) {
    auto r = def.type == setting_type::byte_size ? parse_byte_size_value(def, setting_text(v))
                                                 : result<long long>(error{});
    if (!r) {
        bad_read(def);
    }
    return *r;
}

std::optional<double> parse_java_double(std::string_view s) {
    return parse_java_floating<double>(s);
}

}  // namespace modelrelay::registry
