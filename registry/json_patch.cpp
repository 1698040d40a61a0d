// File: json_patch.cpp
#include "registry/json_patch.hpp"

#include <algorithm>
#include <charconv>
#include <climits>
#include <optional>

#include <boost/json/parse.hpp>

#include "registry/identity.hpp"
#include "registry/json_parse.hpp"
#include "registry/json_text.hpp"
#include "registry/json_util.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

error bad_request(std::string message) {
    return security_status(400, "BAD_REQUEST", std::move(message));
}

// Jackson's JsonNode.asText(): what the plugin compares against the supported operations.
std::string as_text(const json::value& v) {
    switch (v.kind()) {
        case json::kind::string:
            return std::string(v.get_string());
        case json::kind::null:
            return "null";
        case json::kind::bool_:
            return v.get_bool() ? "true" : "false";
        case json::kind::object:
        case json::kind::array:
            return "";
        default:
            return compact_json_text(v, number_style::java);  // Jackson's text: `1.5`, not `1.5E0`
    }
}

constexpr int last_index = INT_MIN;  // "-": past the end of an array

struct ref_token {
    std::string field;  // decoded
    std::optional<int> index;

    // RFC 6901 form, as zjsonpatch prints a token in its messages.
    std::string encoded() const { return json_pointer_token(field); }
};

ref_token make_token(std::string raw) {
    ref_token t;
    // zjsonpatch: "-", "0" or a number without leading zero that fits an int is an array index.
    if (raw == "-") {
        t.index = last_index;
    } else if (raw == "0" || (!raw.empty() && raw[0] >= '1' && raw[0] <= '9' && std::all_of(raw.begin(), raw.end(), [](char c) {
                   return c >= '0' && c <= '9';
               }))) {
        int n = 0;
        const auto [p, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), n);
        if (ec == std::errc() && p == raw.data() + raw.size()) {
            t.index = n;
        }
    }
    t.field = std::move(raw);
    return t;
}

result<std::vector<ref_token>> parse_pointer(std::string_view path) {
    std::vector<ref_token> tokens;
    if (path.empty()) {
        return tokens;
    }
    if (path[0] != '/') {
        return error{errc::illegal_argument, "Missing leading slash"};
    }
    std::string current;
    for (std::size_t i = 1; i < path.size(); ++i) {
        const char c = path[i];
        if (c == '~') {
            const char next = i + 1 < path.size() ? path[i + 1] : '\0';
            if (next != '0' && next != '1') {
                return error{
                    errc::illegal_argument,
                    "Invalid escape sequence ~" + (next == '\0' ? std::string() : std::string(1, next)) +
                        " at index " + std::to_string(i + 1)};
            }
            current += next == '0' ? '~' : '/';
            ++i;
        } else if (c == '/') {
            tokens.push_back(make_token(std::move(current)));
            current.clear();
        } else {
            current += c;
        }
    }
    tokens.push_back(make_token(std::move(current)));
    return tokens;
}

std::string index_text(const ref_token& t) {
    return *t.index == last_index ? std::string("-") : std::to_string(*t.index);
}

// JsonPointer.evaluate over the first `count` tokens.
result<json::value*> evaluate(json::value& doc, const std::vector<ref_token>& tokens, std::size_t count) {
    json::value* current = &doc;
    for (std::size_t i = 0; i < count; ++i) {
        const ref_token& t = tokens[i];
        if (current->is_array()) {
            auto& a = current->get_array();
            if (!t.index) {
                return bad_request("Can't reference field \"" + t.field + "\" on array");
            }
            if (*t.index == last_index || static_cast<std::size_t>(*t.index) >= a.size()) {
                return bad_request("Array index " + t.encoded() + " is out of bounds");
            }
            current = &a[static_cast<std::size_t>(*t.index)];
        } else if (current->is_object()) {
            auto* next = current->get_object().if_contains(t.field);
            if (next == nullptr) {
                return bad_request("Missing field \"" + t.field + "\"");
            }
            current = next;
        } else {
            return bad_request("Can't reference past scalar value");
        }
    }
    return current;
}

// zjsonpatch reads an array position from a token that is not a number as a bug (IllegalStateException);
// here it is a 400 with its text.
error object_operation_on_array() {
    return error{errc::illegal_argument, "Object operation on array index target"};
}

result<void> op_add(json::value& doc, const std::vector<ref_token>& path, json::value value) {
    if (path.empty()) {
        doc = std::move(value);
        return {};
    }
    auto parent = evaluate(doc, path, path.size() - 1);
    if (!parent) {
        return parent.error();
    }
    const ref_token& last = path.back();
    if ((*parent)->is_object()) {
        (*parent)->get_object().insert_or_assign(last.field, std::move(value));
        return {};
    }
    if (!(*parent)->is_array()) {
        return bad_request("Cannot reference past scalar value");
    }
    auto& a = (*parent)->get_array();
    if (!last.index) {
        return object_operation_on_array();
    }
    if (*last.index == last_index) {
        a.push_back(std::move(value));
        return {};
    }
    if (static_cast<std::size_t>(*last.index) > a.size()) {
        return bad_request("Array index " + index_text(last) + " out of bounds");
    }
    a.insert(a.begin() + *last.index, std::move(value));
    return {};
}

result<void> op_replace(json::value& doc, const std::vector<ref_token>& path, json::value value) {
    if (path.empty()) {
        doc = std::move(value);
        return {};
    }
    auto parent = evaluate(doc, path, path.size() - 1);
    if (!parent) {
        return parent.error();
    }
    const ref_token& last = path.back();
    if ((*parent)->is_object()) {
        auto& o = (*parent)->get_object();
        if (!o.contains(last.field)) {
            return bad_request("Missing field \"" + last.field + "\"");
        }
        o[last.field] = std::move(value);
        return {};
    }
    if (!(*parent)->is_array()) {
        return bad_request("Can't reference past scalar value");
    }
    auto& a = (*parent)->get_array();
    if (!last.index) {
        return object_operation_on_array();
    }
    if (*last.index == last_index || static_cast<std::size_t>(*last.index) >= a.size()) {
        return bad_request("Array index " + index_text(last) + " out of bounds");
    }
    a[static_cast<std::size_t>(*last.index)] = std::move(value);
    return {};
}

result<void> op_remove(json::value& doc, const std::vector<ref_token>& path) {
    if (path.empty()) {
        return bad_request("Cannot remove document root");
    }
    auto parent = evaluate(doc, path, path.size() - 1);
    if (!parent) {
        return parent.error();
    }
    const ref_token& last = path.back();
    if ((*parent)->is_object()) {
        (*parent)->get_object().erase(last.field);  // a missing member is not an error (zjsonpatch 0.4)
        return {};
    }
    if (!(*parent)->is_array()) {
        return bad_request("Cannot reference past scalar value");
    }
    auto& a = (*parent)->get_array();
    if (!last.index) {
        return object_operation_on_array();
    }
    if (*last.index == last_index) {
        return {};  // Jackson's ArrayNode.remove ignores an index outside the array
    }
    if (static_cast<std::size_t>(*last.index) >= a.size()) {
        return bad_request("Array index " + index_text(last) + " out of bounds");
    }
    a.erase(a.begin() + *last.index);
    return {};
}

error invalid_payload(std::string_view what) {
    return bad_request("Invalid JSON Patch payload (" + std::string(what) + ")");
}

}  // namespace

result<json::array> parse_security_patch(std::string_view body) {
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
        return bad_request("Wrong request body");  // Jackson reads nothing as a missing node
    }
    boost::system::error_code ec;
    json::value v = parse_json(body, ec);
    if (ec) {
        return bad_request("Error in JSON patch: " + ec.message());
    }
    if (!v.is_array()) {
        return bad_request("Wrong request body");
    }
    // The plugin collects the distinct `op` texts of the elements that have one, in order.
    std::vector<std::string> ops;
    for (const auto& e : v.get_array()) {
        if (const auto* o = e.if_object()) {
            if (const auto* op = o->if_contains("op")) {
                std::string text = as_text(*op);
                if (std::find(ops.begin(), ops.end(), text) == ops.end()) {
                    ops.push_back(std::move(text));
                }
            }
        }
    }
    if (ops.empty()) {
        return bad_request("Wrong request body");
    }
    for (const auto& op : ops) {
        if (op != "add" && op != "replace" && op != "remove") {
            return bad_request("Unsupported patch operation: " + op + ". Supported are: add,replace,remove");
        }
    }
    return std::move(v.get_array());
}

result<json::value> apply_json_patch(const json::array& ops, json::value target) {
    for (const auto& e : ops) {
        const auto* o = e.if_object();
        if (o == nullptr) {
            return invalid_payload("not an object");
        }
        const auto* op = o->if_contains("op");
        if (op == nullptr) {
            return invalid_payload("missing 'op' field");
        }
        const auto* path_v = o->if_contains("path");
        if (path_v == nullptr) {
            return invalid_payload("missing 'path' field");
        }
        if (!path_v->is_string()) {
            return invalid_payload("'path' is not a string");
        }
        auto path = parse_pointer(path_v->get_string());
        if (!path) {
            return path.error();
        }
        const std::string name = as_text(*op);
        result<void> r;
        if (name == "remove") {
            r = op_remove(target, *path);
        } else {
            const auto* value = o->if_contains("value");
            if (value == nullptr) {
                return invalid_payload("missing 'value' field");
            }
            json::value copy(*value, target.storage());
            r = name == "add" ? op_add(target, *path, std::move(copy))
                              : op_replace(target, *path, std::move(copy));
        }
        if (!r) {
            return r.error();
        }
    }
    return target;
}

patched_entities patch_entity_names(const json::array& ops) {
    patched_entities out;
    for (const auto& e : ops) {
        const auto* o = e.if_object();
        const auto* p = o != nullptr ? o->if_contains("path") : nullptr;
        if (p == nullptr || !p->is_string()) {
            continue;
        }
        auto tokens = parse_pointer(p->get_string());
        if (!tokens) {
            continue;
        }
        if (tokens->empty()) {
            out.whole = true;
            continue;
        }
        std::string& name = tokens->front().field;
        if (std::find(out.names.begin(), out.names.end(), name) == out.names.end()) {
            out.names.push_back(std::move(name));
        }
    }
    return out;
}

}  // namespace modelrelay::registry
