// File: type_check.cpp
#include "schemas/type_check.hpp"

#include <algorithm>
#include <string_view>

#include "schemas/json_type.hpp"

namespace modelrelay::schemas {

namespace json = boost::json;

namespace {

// One bit per entry of json_type_names, in its order.
enum type_bit : std::uint8_t {
    object_bit = 1,
    array_bit = 2,
    string_bit = 4,
    number_bit = 8,
    integer_bit = 16,
    boolean_bit = 32,
    null_bit = 64,
};

std::uint8_t bit_of(std::string_view name) {
    const auto at = std::find(json_type_names.begin(), json_type_names.end(), name);
    // The keyword check admits only these names.
    return static_cast<std::uint8_t>(1U << (at - json_type_names.begin()));
}

bool type_allowed(std::uint8_t types, const json::value& v) noexcept {
    if (types == 0) {
        return true;
    }
    switch (v.kind()) {
        case json::kind::object:
            return (types & object_bit) != 0;
        case json::kind::array:
            return (types & array_bit) != 0;
        case json::kind::string:
            return (types & string_bit) != 0;
        case json::kind::int64:
            return (types & (number_bit | integer_bit)) != 0;
        case json::kind::double_:
            return (types & number_bit) != 0;
        case json::kind::uint64:
            return false;  // Valijson's adapter counts only int64 and double as numbers
        case json::kind::bool_:
            return (types & boolean_bit) != 0;
        case json::kind::null:
            return (types & null_bit) != 0;
    }
    return false;
}

}  // namespace

type_check::type_check(const json::value& schema) : root_(compile(schema)) {}

type_check::node type_check::compile(const json::value& schema) {
    node n;
    const auto& obj = schema.get_object();
    if (const auto* t = obj.if_contains("type")) {
        if (const auto* list = t->if_array()) {
            for (const auto& name : *list) {
                n.types |= bit_of(name.get_string());
            }
        } else {
            n.types = bit_of(t->get_string());
        }
    }
    if (const auto* m = obj.if_contains("minimum")) {
        n.minimum = m->to_number<double>();
    }
    if (const auto* m = obj.if_contains("maximum")) {
        n.maximum = m->to_number<double>();
    }
    if (const auto* props = obj.if_contains("properties")) {
        for (const auto& kv : props->get_object()) {
            n.properties.emplace_back(std::string(kv.key()), compile(kv.value()));
        }
        std::sort(n.properties.begin(), n.properties.end(), [](const auto& a, const auto& b) {
            return a.first < b.first;
        });
    }
    if (const auto* extra = obj.if_contains("additionalProperties")) {
        if (extra->is_bool()) {
            n.additional_allowed = extra->get_bool();
        } else {
            n.additional = std::make_unique<node>(compile(*extra));
        }
    }
    if (const auto* items = obj.if_contains("items")) {
        n.items = std::make_unique<node>(compile(*items));
    }
    return n;
}

bool type_check::accepts(const json::value& v) const noexcept {
    return accepts(root_, v);
}

bool type_check::accepts(const node& n, const json::value& v) noexcept {
    if (!type_allowed(n.types, v)) {
        return false;
    }
    if ((v.is_int64() || v.is_double()) && (n.minimum || n.maximum)) {
        const double d = v.to_number<double>();
        if ((n.minimum && d < *n.minimum) || (n.maximum && d > *n.maximum)) {
            return false;
        }
    }
    if (const auto* obj = v.if_object()) {
        for (const auto& kv : *obj) {
            const std::string_view key = kv.key();
            const auto it = std::lower_bound(
                n.properties.begin(),
                n.properties.end(),
                key,
                [](const auto& p, std::string_view k) { return std::string_view(p.first) < k; }
            );
            if (it != n.properties.end() && it->first == key) {
                if (!accepts(it->second, kv.value())) {
                    return false;
                }
            } else if (n.additional) {
                if (!accepts(*n.additional, kv.value())) {
                    return false;
                }
            } else if (!n.additional_allowed) {
                return false;
            }
        }
    } else if (const auto* arr = v.if_array(); arr && n.items) {
        for (const auto& e : *arr) {
            if (!accepts(*n.items, e)) {
                return false;
            }
        }
    }
    return true;
}

}  // namespace modelrelay::schemas
