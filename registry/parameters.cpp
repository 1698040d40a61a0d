// File: parameters.cpp
// Stringification, escaping and merging of ml-commons parameters (see parameters.hpp for the rules and the
// ml-commons functions each one mirrors).
#include "registry/parameters.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <system_error>
#include <unordered_set>
#include <vector>

#include <boost/container/small_vector.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value.hpp>

#include "registry/utf8.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

constexpr char upper_hex[] = "0123456789ABCDEF";
constexpr char lower_hex[] = "0123456789abcdef";

void append_u_escape(std::string& out, std::uint32_t unit, const char* hex) {
    const char buf[6] = {
        '\\', 'u', hex[(unit >> 12) & 15], hex[(unit >> 8) & 15], hex[(unit >> 4) & 15], hex[unit & 15]};
    out.append(buf, 6);
}

// Bytes escape_json must look at; everything else is copied in runs. ESCAPE_JSON's unicode escaper is
// JavaUnicodeEscaper.outsideOf(32, 0x7f): DEL itself goes through as it is.
constexpr bool needs_json_escape(unsigned char c) {
    return c < 0x20 || c > 0x7F || c == '"' || c == '\\' || c == '/';
}

// ---------------------------------------------------------------------------------------------------
// Java Double.toString

// d1.d2d3... × 10^exp10 in decimal notation, whole numbers with `.0` (`100.0`, `0.001`, `12.5`).
void append_decimal(std::string& out, std::string_view digits, int exp10) {
    if (exp10 >= 0) {
        const auto int_len = static_cast<std::size_t>(exp10) + 1;
        if (digits.size() <= int_len) {
            out.append(digits);
            out.append(int_len - digits.size(), '0');
            out.append(".0");
        } else {
            out.append(digits.substr(0, int_len));
            out.push_back('.');
            out.append(digits.substr(int_len));
        }
    } else {
        out.append("0.");
        out.append(static_cast<std::size_t>(-exp10 - 1), '0');
        out.append(digits);
    }
}

std::string format_java_double(bool negative, std::string_view digits, int exp10) {
    // value = 0.d1d2d3... is not the convention here: value = d1.d2d3... × 10^exp10.
    std::string out;
    out.reserve(digits.size() + 8);
    if (negative) {
        out.push_back('-');
    }
    if (exp10 >= -3 && exp10 < 7) {
        append_decimal(out, digits, exp10);
        return out;
    }
    out.push_back(digits[0]);
    out.push_back('.');
    if (digits.size() > 1) {
        out.append(digits.substr(1));
    } else {
        out.push_back('0');
    }
    out.push_back('E');
    char buf[8];
    auto r = std::to_chars(buf, buf + sizeof buf, exp10);
    out.append(buf, r.ptr);
    return out;
}

// Splits std::to_chars scientific output "d.ddde±xx" into significant digits and the exponent.
void split_scientific(std::string_view s, std::string& digits, int& exp10) {
    const auto e = s.find('e');
    digits.clear();
    for (char c : s.substr(0, e)) {
        if (c != '.') {
            digits.push_back(c);
        }
    }
    const auto exp_text = s.substr(e + 1);
    const char* first = exp_text.data();
    if (*first == '+') {
        ++first;
    }
    std::from_chars(first, exp_text.data() + exp_text.size(), exp10);
    while (digits.size() > 1 && digits.back() == '0') {
        digits.pop_back();
    }
}

// ---------------------------------------------------------------------------------------------------
// gson writer

std::int32_t java_string_hash(std::string_view utf8) {
    std::uint32_t h = 0;
    std::size_t i = 0;
    while (i < utf8.size()) {
        const char32_t cp = utf8::decode(utf8, i);
        if (cp > 0xFFFF) {
            const auto v = static_cast<std::uint32_t>(cp - 0x10000);
            h = 31 * h + (0xD800 + (v >> 10));
            h = 31 * h + (0xDC00 + (v & 0x3FF));
        } else {
            h = 31 * h + static_cast<std::uint32_t>(cp);
        }
    }
    return static_cast<std::int32_t>(h);
}

struct gson_style {
    bool html_safe = true;
    bool serialize_nulls = false;
    key_order order = key_order::java_hash_map;
};

void write_gson(std::string& out, const json::value& v, const gson_style& style);

void write_gson_string(std::string& out, std::string_view s, const gson_style& style) {
    out.push_back('"');
    append_gson_escaped(out, s, style.html_safe);
    out.push_back('"');
}

void write_gson_object(std::string& out, const json::object& obj, const gson_style& style) {
    out.push_back('{');
    bool first = true;
    auto write_member = [&](const json::key_value_pair& kv) {
        if (kv.value().is_null() && !style.serialize_nulls) {
            return;  // gson's default serializeNulls=false drops the member
        }
        if (!first) {
            out.push_back(',');
        }
        first = false;
        write_gson_string(out, kv.key(), style);
        out.push_back(':');
        write_gson(out, kv.value(), style);
    };
    if (style.order == key_order::insertion || obj.size() < 2) {
        for (const auto& kv : obj) {
            write_member(kv);
        }
    } else {
        // java.util.HashMap iteration: by bucket index for the final table size, insertion order inside
        // a bucket (resizes split buckets without reordering).
        std::size_t capacity = 16;
        while (obj.size() > capacity / 4 * 3) {
            capacity *= 2;
        }
        // Small objects (chat messages: role, content) stay on the stack and are insertion-sorted, which is
        // stable like std::stable_sort but needs neither its buffer nor a vector.
        boost::container::small_vector<std::pair<std::size_t, const json::key_value_pair*>, 8> entries;
        entries.reserve(obj.size());
        for (const auto& kv : obj) {
            const auto h = static_cast<std::uint32_t>(java_string_hash(kv.key()));
            entries.emplace_back((h ^ (h >> 16)) & (capacity - 1), &kv);
        }
        const auto by_bucket = [](const auto& a, const auto& b) {
            return a.first < b.first;
        };
        if (entries.size() <= 16) {
            for (std::size_t i = 1; i < entries.size(); ++i) {
                for (std::size_t j = i; j > 0 && by_bucket(entries[j], entries[j - 1]); --j) {
                    std::swap(entries[j], entries[j - 1]);
                }
            }
        } else {
            std::stable_sort(entries.begin(), entries.end(), by_bucket);
        }
        for (const auto& e : entries) {
            write_member(*e.second);
        }
    }
    out.push_back('}');
}

void write_gson(std::string& out, const json::value& v, const gson_style& style) {
    switch (v.kind()) {
        case json::kind::null:
            out.append("null");
            return;
        case json::kind::bool_:
            out.append(v.get_bool() ? "true" : "false");
            return;
        case json::kind::int64: {
            char buf[24];
            auto r = std::to_chars(buf, buf + sizeof buf, v.get_int64());
            out.append(buf, r.ptr);
            return;
        }
        case json::kind::uint64: {
            char buf[24];
            auto r = std::to_chars(buf, buf + sizeof buf, v.get_uint64());
            out.append(buf, r.ptr);
            return;
        }
        case json::kind::double_:
            out.append(java_double_to_string(v.get_double()));
            return;
        case json::kind::string:
            write_gson_string(out, v.get_string(), style);
            return;
        case json::kind::array: {
            out.push_back('[');
            bool first = true;
            for (const auto& e : v.get_array()) {
                if (!first) {
                    out.push_back(',');
                }
                first = false;
                write_gson(out, e, style);
            }
            out.push_back(']');
            return;
        }
        case json::kind::object:
            write_gson_object(out, v.get_object(), style);
            return;
    }
}

// ---------------------------------------------------------------------------------------------------
// Validation-only JSON parser: a Boost.JSON basic_parser handler that builds nothing and records whether
// the document's root is a container.

struct container_probe {
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);

    bool started = false;
    bool root_is_container = false;

    void first(bool container) {
        if (!started) {
            started = true;
            root_is_container = container;
        }
    }
    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }
    bool on_object_begin(boost::system::error_code&) { return first(true), true; }
    bool on_object_end(std::size_t, boost::system::error_code&) { return true; }
    bool on_array_begin(boost::system::error_code&) { return first(true), true; }
    bool on_array_end(std::size_t, boost::system::error_code&) { return true; }
    bool on_key_part(json::string_view, std::size_t, boost::system::error_code&) { return true; }
    bool on_key(json::string_view, std::size_t, boost::system::error_code&) { return true; }
    bool on_string_part(json::string_view, std::size_t, boost::system::error_code&) {
        return first(false), true;
    }
    bool on_string(json::string_view, std::size_t, boost::system::error_code&) { return first(false), true; }
    bool on_number_part(json::string_view, boost::system::error_code&) { return first(false), true; }
    bool on_int64(std::int64_t, json::string_view, boost::system::error_code&) { return first(false), true; }
    bool on_uint64(std::uint64_t, json::string_view, boost::system::error_code&) {
        return first(false), true;
    }
    bool on_double(double, json::string_view, boost::system::error_code&) { return first(false), true; }
    bool on_bool(bool, boost::system::error_code&) { return first(false), true; }
    bool on_null(boost::system::error_code&) { return first(false), true; }
    bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_comment(json::string_view, boost::system::error_code&) { return true; }
};

// Deep enough for any real payload, shallow enough to keep the recursive parser off the end of the stack.
constexpr std::size_t max_json_depth = 1000;

// Java String.trim(): strips every char <= U+0020 from both ends.
std::string_view java_trim(std::string_view s) {
    while (!s.empty() && static_cast<unsigned char>(s.front()) <= 0x20) {
        s.remove_prefix(1);
    }
    while (!s.empty() && static_cast<unsigned char>(s.back()) <= 0x20) {
        s.remove_suffix(1);
    }
    return s;
}

}  // namespace

// -------------------------------------------------------------------------------------------------------

std::string java_double_to_string(double d) {
    if (std::isnan(d)) {
        return "NaN";
    }
    if (std::isinf(d)) {
        return d > 0 ? "Infinity" : "-Infinity";
    }
    if (d == 0) {
        return std::signbit(d) ? "-0.0" : "0.0";
    }
    const bool negative = d < 0;
    const double a = std::fabs(d);
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, a, std::chars_format::scientific);
    std::string digits;
    int exp10 = 0;
    split_scientific(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)), digits, exp10);
    if (digits.size() == 1) {
        // JDK 19+: when one digit suffices, Java still picks the closest two-digit decimal (this only
        // differs for subnormals, e.g. Double.MIN_VALUE prints 4.9E-324, not 5.0E-324).
        r = std::to_chars(buf, buf + sizeof buf, a, std::chars_format::scientific, 1);
        split_scientific(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)), digits, exp10);
    }
    return format_java_double(negative, digits, exp10);
}

std::string java_float_to_string(float f) {
    if (!std::isfinite(f) || f == 0) {
        return java_double_to_string(f);
    }
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, std::fabs(f), std::chars_format::scientific);
    std::string digits;
    int exp10 = 0;
    split_scientific(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)), digits, exp10);
    return format_java_double(f < 0, digits, exp10);
}

// Shortest round-trip digits laid out as JSON.stringify does (decimal from 1e-6 up to 1e21, else
// `1e-7` / `1.5e+21`), plus `.0` on whole numbers: a double the upstream printed as `1.0` must not come
// back to an OpenAI client as the integer `1`.
std::string plain_double_to_string(double d) {
    if (!std::isfinite(d)) {
        return java_double_to_string(d);
    }
    if (d == 0) {
        return std::signbit(d) ? "-0.0" : "0.0";
    }
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, std::fabs(d), std::chars_format::scientific);
    std::string digits;
    int exp10 = 0;
    split_scientific(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)), digits, exp10);
    std::string out;
    out.reserve(digits.size() + 10);
    if (d < 0) {
        out.push_back('-');
    }
    if (exp10 >= -6 && exp10 < 21) {
        append_decimal(out, digits, exp10);
        return out;
    }
    out.push_back(digits[0]);
    if (digits.size() > 1) {
        out.push_back('.');
        out.append(digits, 1);
    }
    out.push_back('e');
    out.push_back(exp10 < 0 ? '-' : '+');
    const auto e = std::to_chars(buf, buf + sizeof buf, exp10 < 0 ? -exp10 : exp10);
    out.append(buf, e.ptr);
    return out;
}

std::string stringify_parameter(const json::value& v, key_order order) {
    if (v.is_string()) {
        const auto& s = v.get_string();
        return std::string(s.data(), s.size());
    }
    std::string out;
    out.reserve(256);  // a chat transcript; growing from empty reallocated it four times
    write_gson(out, v, gson_style{true, false, order});
    return out;
}

std::string to_gson_json(const json::value& v, bool html_safe, bool serialize_nulls, key_order order) {
    std::string out;
    write_gson(out, v, gson_style{html_safe, serialize_nulls, order});
    return out;
}

void append_escape_json(std::string& out, std::string_view in) {
    std::size_t run = 0;  // start of the pending run of bytes copied verbatim
    std::size_t i = 0;
    while (i < in.size()) {
        const auto c = static_cast<unsigned char>(in[i]);
        if (!needs_json_escape(c)) {
            ++i;
            continue;
        }
        out.append(in.data() + run, i - run);
        switch (c) {
            case '"':
                out.append("\\\"");
                ++i;
                break;
            case '\\':
                out.append("\\\\");
                ++i;
                break;
            case '/':
                out.append("\\/");
                ++i;
                break;
            case '\b':
                out.append("\\b");
                ++i;
                break;
            case '\f':
                out.append("\\f");
                ++i;
                break;
            case '\n':
                out.append("\\n");
                ++i;
                break;
            case '\r':
                out.append("\\r");
                ++i;
                break;
            case '\t':
                out.append("\\t");
                ++i;
                break;
            default: {
                const char32_t cp = utf8::decode(in, i);  // advances i
                if (cp > 0xFFFF) {
                    const auto v = static_cast<std::uint32_t>(cp - 0x10000);
                    append_u_escape(out, 0xD800 + (v >> 10), upper_hex);
                    append_u_escape(out, 0xDC00 + (v & 0x3FF), upper_hex);
                } else {
                    append_u_escape(out, static_cast<std::uint32_t>(cp), upper_hex);
                }
            }
        }
        run = i;
    }
    out.append(in.data() + run, in.size() - run);
}

std::string escape_json(std::string_view in) {
    std::string out;
    out.reserve(in.size() + in.size() / 8 + 8);
    append_escape_json(out, in);
    return out;
}

void append_gson_escaped(std::string& out, std::string_view in, bool html_safe) {
    // 1: always looked at (controls, quote, backslash, the lead byte of U+2028/2029); 2: only when html_safe.
    static constexpr auto special = [] {
        std::array<unsigned char, 256> t{};
        for (int c = 0; c < 0x20; ++c) {
            t[c] = 1;
        }
        t['"'] = t['\\'] = t[0xE2] = 1;
        t['<'] = t['>'] = t['&'] = t['='] = t['\''] = 2;
        return t;
    }();
    std::size_t run = 0;
    for (std::size_t i = 0; i < in.size(); ++i) {
        const auto c = static_cast<unsigned char>(in[i]);
        const auto kind = special[c];
        if (kind == 0 || (kind == 2 && !html_safe)) {
            continue;
        }
        const char* rep = nullptr;
        std::size_t skip = 1;
        char ubuf[7];
        if (c < 0x20 || c == '"' || c == '\\') {
            switch (c) {
                case '"':
                    rep = "\\\"";
                    break;
                case '\\':
                    rep = "\\\\";
                    break;
                case '\t':
                    rep = "\\t";
                    break;
                case '\b':
                    rep = "\\b";
                    break;
                case '\n':
                    rep = "\\n";
                    break;
                case '\r':
                    rep = "\\r";
                    break;
                case '\f':
                    rep = "\\f";
                    break;
                default:
                    ubuf[0] = '\\';
                    ubuf[1] = 'u';
                    ubuf[2] = '0';
                    ubuf[3] = '0';
                    ubuf[4] = lower_hex[c >> 4];
                    ubuf[5] = lower_hex[c & 15];
                    ubuf[6] = 0;
                    rep = ubuf;
            }
        } else if (html_safe && (c == '<' || c == '>' || c == '&' || c == '=' || c == '\'')) {
            rep = c == '<'   ? "\\u003c"
                  : c == '>' ? "\\u003e"
                  : c == '&' ? "\\u0026"
                  : c == '=' ? "\\u003d"
                             : "\\u0027";
        } else if (c == 0xE2 && i + 2 < in.size() && static_cast<unsigned char>(in[i + 1]) == 0x80 && (static_cast<unsigned char>(in[i + 2]) == 0xA8 || static_cast<unsigned char>(in[i + 2]) == 0xA9)) {
            rep = static_cast<unsigned char>(in[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029";
            skip = 3;
        }
        if (rep != nullptr) {
            out.append(in.data() + run, i - run);
            out.append(rep);
            i += skip - 1;
            run = i + 1;
        }
    }
    out.append(in.data() + run, in.size() - run);
}

bool is_json_container(std::string_view text) {
    json::parse_options opt;
    opt.max_depth = max_json_depth;
    json::basic_parser<container_probe> parser(opt);
    boost::system::error_code ec;
    const auto n = parser.write_some(false, text.data(), text.size(), ec);
    return !ec && n == text.size() && parser.done() && parser.handler().root_is_container;
}

param_map stringify_parameters(const json::object& params, key_order order) {
    param_map out;
    out.reserve(params.size());
    for (const auto& kv : params) {
        out.insert_or_assign(std::string(kv.key()), stringify_parameter(kv.value(), order));
    }
    return out;
}

namespace {

// no_escape_params: Java `split(",")` then trim; trailing empty names vanish in split but an empty name
// can never match a key that is worth escaping differently, so keeping them is harmless.
std::vector<std::string_view> split_no_escape(std::string_view list) {
    std::vector<std::string_view> names;
    if (list.empty()) {
        return names;
    }
    while (true) {
        const auto comma = list.find(',');
        names.push_back(java_trim(list.substr(0, comma)));
        if (comma == std::string_view::npos) {
            return names;
        }
        list.remove_prefix(comma + 1);
    }
}

bool listed(const std::vector<std::string_view>& names, std::string_view key) {
    return std::find(names.begin(), names.end(), key) != names.end();
}

}  // namespace

param_map escape_request_parameters(const param_map& in) {
    const auto* list = find_param(in, no_escape_params_key);
    const auto no_escape = split_no_escape(list != nullptr ? std::string_view(*list) : std::string_view());
    param_map out;
    out.reserve(in.size());
    for (const auto& [key, value] : in) {
        const bool raw = is_json_container(value) || listed(no_escape, key);
        out.emplace(key, raw ? value : escape_json(value));
    }
    return out;
}

void overlay_request_parameters(param_map& into, const json::object& request_params, key_order order) {
    std::string list;
    if (const auto* v = request_params.if_contains(no_escape_params_key)) {
        list = stringify_parameter(*v, order);
    }
    const auto no_escape = split_no_escape(list);
    for (const auto& kv : request_params) {
        std::string text = stringify_parameter(kv.value(), order);
        // An object or array stringifies to a complete JSON container: no need to parse it to know.
        const bool raw = kv.value().is_structured() || is_json_container(text) || listed(no_escape, kv.key());
        into.insert_or_assign(std::string(kv.key()), raw ? std::move(text) : escape_json(text));
    }
}

param_map merge_request_parameters(const param_map& connector_params, const json::object& request_params) {
    param_map merged = connector_params;
    merged.reserve(merged.size() + request_params.size());
    overlay_request_parameters(merged, request_params);
    return merged;
}

}  // namespace modelrelay::registry
