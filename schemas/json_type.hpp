// File: json_type.hpp
// JSON Schema's name for a value's type, as the validation messages print it.
#pragma once

#include <array>
#include <string_view>

#include <boost/json/value.hpp>

namespace modelrelay::schemas {

// The seven type names a schema's "type" may use (type_check.cpp keeps one bit per entry, in this order).
inline constexpr std::array<std::string_view, 7> json_type_names = {
    "object", "array", "string", "number", "integer", "boolean", "null"};

// object, array, string, boolean, null, and for numbers "number", or with `integers` "integer" for a
// value without a fraction part (networknt says "integer" where draft-07 messages say "number").
inline std::string_view json_type_name(const boost::json::value& v, bool integers) {
    switch (v.kind()) {
        case boost::json::kind::object:
            return "object";
        case boost::json::kind::array:
            return "array";
        case boost::json::kind::string:
            return "string";
        case boost::json::kind::bool_:
            return "boolean";
        case boost::json::kind::null:
            return "null";
        case boost::json::kind::double_:
            return "number";
        default:
            return integers ? "integer" : "number";
    }
}

}  // namespace modelrelay::schemas
