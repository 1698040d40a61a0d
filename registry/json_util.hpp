// File: json_util.hpp
// Small accessors over Boost.JSON objects used by the request parsers.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace modelrelay::registry {

// A JSON Pointer reference token in RFC 6901 form: `~` as `~0`, `/` as `~1`.
inline std::string json_pointer_token(std::string_view token) {
    std::string out;
    for (char c : token) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out += c;
        }
    }
    return out;
}

// The value at `key` when it is present and not null.
inline const boost::json::value* field(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v == nullptr || v->is_null() ? nullptr : v;
}

inline std::optional<std::string> string_field(const boost::json::object& o, std::string_view key) {
    const auto* v = field(o, key);
    if (v == nullptr || !v->is_string()) {
        return std::nullopt;
    }
    return std::string(v->get_string());
}

inline std::optional<bool> bool_field(const boost::json::object& o, std::string_view key) {
    const auto* v = field(o, key);
    if (v == nullptr || !v->is_bool()) {
        return std::nullopt;
    }
    return v->get_bool();
}

// Scalars as the Java parsers read them with parser.text(): strings raw, numbers and booleans as text
// (doubles as plain_double_to_string: `10.5`, `0.0001`).
std::optional<std::string> scalar_text(const boost::json::value& v);

// The Jackson (XContent) token a value starts with, as OpenSearch's parser errors print it:
// START_OBJECT, START_ARRAY, VALUE_STRING, VALUE_NUMBER, VALUE_BOOLEAN, VALUE_NULL.
inline std::string_view token_name(const boost::json::value& v) {
    switch (v.kind()) {
        case boost::json::kind::object:
            return "START_OBJECT";
        case boost::json::kind::array:
            return "START_ARRAY";
        case boost::json::kind::string:
            return "VALUE_STRING";
        case boost::json::kind::bool_:
            return "VALUE_BOOLEAN";
        case boost::json::kind::null:
            return "VALUE_NULL";
        default:
            return "VALUE_NUMBER";
    }
}

// Moves `doc`'s members into `order` (a Java toXContent's field order); members not named there follow in
// their current order.
void put_in_order(boost::json::object& doc, std::span<const std::string_view> order);

}  // namespace modelrelay::registry
