// File: validate.cpp
// Compiles the embedded JSON Schemas with Valijson and turns Valijson's findings into one short client
// message (format in validate.hpp).
//
// Why the extra work around Valijson: its messages are generic ("Value type not permitted by 'type'
// constraint.") and its error order follows the schema, not the request. So Valijson decides validity and
// where the problems are; this file picks the first problem in document order and phrases it from the
// subschema at that place. To keep that phrasing always possible, the schemas are limited to a small
// keyword set (checked at compile time, see `allowed_keywords`), and every `$ref` is inlined before
// compiling, which also sidesteps cache-key collisions Valijson 1.0 has with refs into other documents.
#include "schemas/validate.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "schemas/embedded.hpp"
#include "schemas/json_type.hpp"
#include "schemas/type_check.hpp"

namespace modelrelay::schemas {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 7> file_names = {
    "connector_create.schema.json",
    "connector_update.schema.json",
    "cluster_settings_put.schema.json",
    "model_register.schema.json",
    "model_update.schema.json",
    "model_group.schema.json",
    "predict.schema.json",
};

// The keywords a schema may use: enough for "types and field names", and each one either needs no
// message (annotations) or has a phrasing in `describe`.
constexpr std::array<std::string_view, 10> allowed_keywords = {
    "$schema",
    "title",
    "description",
    "type",
    "properties",
    "additionalProperties",
    "items",
    "minimum",
    "maximum",
    "definitions",  // only as $ref targets; removed when refs are inlined
};
constexpr std::size_t max_name_bytes = 100;
constexpr int max_ref_depth = 32;

[[noreturn]] void schema_bug(std::string_view file, const std::string& what) {
    throw std::logic_error("schema " + std::string(file) + ": " + what);
}

// ---- loading: parse, inline $refs, check keywords ---------------------------------------------------

class loader {
public:
    // The schema `file` with every $ref replaced by (a copy of) its target.
    json::value load_inlined(std::string_view file) {
        const json::value& doc = document(file);
        json::value out = inline_refs(doc, file, 0);
        if (auto* obj = out.if_object()) {
            obj->erase("definitions");
        }
        return out;
    }

private:
    const json::value& document(std::string_view file) {
        auto it = docs_.find(file);
        if (it != docs_.end()) {
            return it->second;
        }
        auto text = find_embedded_schema(file);
        if (!text) {
            schema_bug(file, "not embedded (is the file name right?)");
        }
        json::error_code ec;
        json::value v = json::parse(*text, ec);
        if (ec) {
            schema_bug(file, "invalid JSON: " + ec.message());
        }
        if (!v.is_object()) {
            schema_bug(file, "the root must be an object");
        }
        return docs_.emplace(std::string(file), std::move(v)).first->second;
    }

    // Draft-07: a schema with "$ref" is replaced by the target; sibling keywords are ignored.
    json::value inline_refs(const json::value& node, std::string_view file, int depth) {
        if (depth > max_ref_depth) {
            schema_bug(file, "$ref nesting too deep (a cycle?)");
        }
        if (const auto* arr = node.if_array()) {
            json::array out;
            for (const auto& v : *arr) {
                out.push_back(inline_refs(v, file, depth));
            }
            return out;
        }
        const auto* obj = node.if_object();
        if (!obj) {
            return node;
        }
        if (const auto* ref = obj->if_contains("$ref")) {
            if (!ref->is_string()) {
                schema_bug(file, "$ref must be a string");
            }
            std::string_view r = ref->get_string();
            auto hash = r.find('#');
            std::string_view target_file = r.substr(0, hash);
            std::string_view pointer =
                hash == std::string_view::npos ? std::string_view() : r.substr(hash + 1);
            if (target_file.empty()) {
                target_file = file;
            }
            const std::string target_name(target_file);
            const json::value& target_doc = document(target_name);
            json::error_code ec;
            const json::value* target = target_doc.find_pointer(pointer, ec);
            if (!target) {
                schema_bug(file, "unresolvable $ref " + std::string(r));
            }
            return inline_refs(*target, target_name, depth + 1);
        }
        json::object out;
        for (const auto& kv : *obj) {
            out.emplace(kv.key(), inline_refs(kv.value(), file, depth));
        }
        return out;
    }

    std::map<std::string, json::value, std::less<>> docs_;
};

bool is_allowed_keyword(std::string_view k) {
    return std::find(allowed_keywords.begin(), allowed_keywords.end(), k) != allowed_keywords.end();
}

bool is_json_type(const json::value& v) {
    return v.is_string() &&
           std::find(json_type_names.begin(), json_type_names.end(), v.get_string()) != json_type_names.end();
}

void check_keywords(const json::value& schema, std::string_view file, const std::string& at) {
    const auto* obj = schema.if_object();
    if (!obj) {
        schema_bug(file, at + ": a schema must be an object");
    }
    for (const auto& kv : *obj) {
        const std::string_view k = kv.key();
        const json::value& v = kv.value();
        const std::string here = at + "/" + std::string(k);
        if (!is_allowed_keyword(k)) {
            schema_bug(file, here + ": keyword not supported by schemas/validate.cpp");
        }
        if (k == "type") {
            bool ok = is_json_type(v);
            if (const auto* types = v.if_array()) {
                ok = !types->empty() && std::all_of(types->begin(), types->end(), is_json_type);
            }
            if (!ok) {
                schema_bug(file, here + ": bad type");
            }
        } else if (k == "properties") {
            if (!v.is_object()) {
                schema_bug(file, here + ": must be an object");
            }
            for (const auto& p : v.get_object()) {
                check_keywords(p.value(), file, here + "/" + std::string(p.key()));
            }
        } else if (k == "additionalProperties") {
            if (!v.is_bool()) {
                check_keywords(v, file, here);
            }
        } else if (k == "items") {
            check_keywords(v, file, here);
        } else if ((k == "minimum" || k == "maximum") && !v.is_number()) {
            schema_bug(file, here + ": must be a number");
        }
    }
}

// ---- compiled schemas -------------------------------------------------------------------------------

struct compiled_schema {
    json::value doc;  // the inlined schema: Valijson's source, and what messages are phrased from
    valijson::Schema schema;
    std::optional<type_check> fast;  // says "valid" without Valijson (type_check.hpp)
    std::string label;               // names the body in messages (the schema's "title")
};

class schema_set {
public:
    schema_set() {
        loader l;
        for (std::size_t i = 0; i < file_names.size(); ++i) {
            auto cs = std::make_unique<compiled_schema>();
            cs->doc = l.load_inlined(file_names[i]);
            check_keywords(cs->doc, file_names[i], "");
            const auto* title = cs->doc.get_object().if_contains("title");
            if (!title || !title->is_string() || title->get_string().empty()) {
                schema_bug(file_names[i], "needs a \"title\" (it names the body in error messages)");
            }
            cs->label = std::string(title->get_string());
            cs->fast.emplace(cs->doc);
            valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
            valijson::adapters::BoostJsonAdapter adapter(cs->doc);
            try {
                parser.populateSchema(adapter, cs->schema);
            } catch (const std::exception& e) {
                schema_bug(file_names[i], std::string("Valijson: ") + e.what());
            }
            compiled_[i] = std::move(cs);
        }
    }

    const compiled_schema& get(schema_id id) const { return *compiled_.at(static_cast<std::size_t>(id)); }

private:
    std::array<std::unique_ptr<compiled_schema>, file_names.size()> compiled_;
};

const schema_set& schemas() {
    static const schema_set set;  // C++11 guarantees one thread-safe initialization
    return set;
}

// ---- phrasing the first problem ---------------------------------------------------------------------

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
std::string shorten(std::string_view s, std::size_t max = max_name_bytes) {
    if (s.size() <= max) {
        return std::string(s);
    }
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) {
        --n;
    }
    return std::string(s.substr(0, n)) + "...";
}

void append_pointer_segment(std::string& ptr, std::string_view seg) {
    if (!ptr.empty()) {
        ptr += '/';
    }
    for (char c : shorten(seg)) {
        if (c == '~') {
            ptr += "~0";
        } else if (c == '/') {
            ptr += "~1";
        } else {
            ptr += c;
        }
    }
}

// The place Valijson reported, found again in the body and in the schema.
struct location {
    const json::value* value = nullptr;
    const json::object* schema = nullptr;  // null if no subschema applies (then messages fall back)
    std::vector<std::size_t> order;        // positions along the path: sorts problems in document order
    std::string pointer;
};

const json::object* child_schema(const json::object* schema, std::string_view key) {
    if (!schema) {
        return nullptr;
    }
    if (const auto* props = schema->if_contains("properties")) {
        if (const auto* p = props->get_object().if_contains(key)) {
            return &p->get_object();
        }
    }
    if (const auto* extra = schema->if_contains("additionalProperties"); extra && extra->is_object()) {
        return &extra->get_object();
    }
    return nullptr;
}

// Valijson's context is {"<root>", "[key]", "[0]", ...}; whether "[0]" is a key or an index follows from
// the body itself, so walking both together is unambiguous.
std::optional<location> locate(
    const compiled_schema& cs, const json::value& body, const std::vector<std::string>& context
) {
    location loc{&body, &cs.doc.get_object(), {}, {}};
    for (std::size_t i = 1; i < context.size(); ++i) {
        const std::string& c = context[i];
        if (c.size() < 2 || c.front() != '[' || c.back() != ']') {
            return std::nullopt;
        }
        const std::string_view seg = std::string_view(c).substr(1, c.size() - 2);
        if (const auto* obj = loc.value->if_object()) {
            std::size_t pos = 0;
            const json::value* found = nullptr;
            for (const auto& kv : *obj) {
                if (kv.key() == seg) {
                    found = &kv.value();
                    break;
                }
                ++pos;
            }
            if (!found) {
                return std::nullopt;
            }
            loc.order.push_back(pos);
            append_pointer_segment(loc.pointer, seg);
            loc.value = found;
            loc.schema = child_schema(loc.schema, seg);
        } else if (const auto* arr = loc.value->if_array()) {
            std::size_t idx = 0;
            auto [p, ec] = std::from_chars(seg.data(), seg.data() + seg.size(), idx);
            if (ec != std::errc() || p != seg.data() + seg.size() || idx >= arr->size()) {
                return std::nullopt;
            }
            loc.order.push_back(idx);
            append_pointer_segment(loc.pointer, seg);
            loc.value = &(*arr)[idx];
            const auto* items = loc.schema ? loc.schema->if_contains("items") : nullptr;
            loc.schema = items ? &items->get_object() : nullptr;
        } else {
            return std::nullopt;
        }
    }
    return loc;
}

struct problem {
    std::vector<std::size_t> order;
    std::string message;
};

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

// Valijson reports a failure of a nested schema once per enclosing level; only the innermost says what
// is wrong.
bool is_wrapper(std::string_view description) {
    return starts_with(description, "Failed to validate") || starts_with(description, "Cannot validate");
}

std::string expected_types(const json::value& type) {
    if (type.is_string()) {
        return std::string(type.get_string());
    }
    std::string out;
    const auto& types = type.get_array();
    for (std::size_t i = 0; i < types.size(); ++i) {
        if (i > 0) {
            out += " or ";
        }
        out += types[i].get_string();
    }
    return out;
}

std::optional<problem> describe(
    const compiled_schema& cs, const json::value& body, const valijson::ValidationResults::Error& err
) {
    if (is_wrapper(err.description)) {
        return std::nullopt;
    }
    auto loc = locate(cs, body, err.context);
    if (!loc) {
        // Cannot happen with the supported keywords; keep a usable message rather than none.
        return problem{{}, "[" + cs.label + "] " + err.description};
    }
    const std::string where = "[" + (loc->pointer.empty() ? cs.label : loc->pointer) + "] ";
    const json::object* schema = loc->schema;
    const std::string_view d = err.description;

    if (starts_with(d, "Value type not permitted") && schema && schema->contains("type")) {
        return problem{
            loc->order,
            where + "expected " + expected_types(schema->at("type")) + " but got " +
                std::string(json_type_name(*loc->value, false))};
    }
    if (starts_with(d, "Object contains a property that could not be validated") && loc->value->is_object()) {
        const json::object* props = nullptr;
        if (schema) {
            if (const auto* p = schema->if_contains("properties")) {
                props = &p->get_object();
            }
        }
        std::size_t pos = 0;
        for (const auto& kv : loc->value->get_object()) {
            if (!props || !props->contains(kv.key())) {
                auto order = loc->order;
                order.push_back(pos);
                return problem{std::move(order), where + "unknown field [" + shorten(kv.key()) + "]"};
            }
            ++pos;
        }
    }
    if (starts_with(d, "Expected number less than") && schema && schema->contains("maximum")) {
        return problem{loc->order, where + "must be <= " + json::serialize(schema->at("maximum"))};
    }
    if (starts_with(d, "Expected number greater than") && schema && schema->contains("minimum")) {
        return problem{loc->order, where + "must be >= " + json::serialize(schema->at("minimum"))};
    }
    return problem{loc->order, where + err.description};
}

}  // namespace

std::string_view file_name(schema_id id) noexcept {
    return file_names.at(static_cast<std::size_t>(id));
}

void init() {
    (void)schemas();
}

namespace detail {

bool valijson_accepts(schema_id id, const json::value& body) {
    const compiled_schema& cs = schemas().get(id);
    valijson::adapters::BoostJsonAdapter target(body);
    valijson::Validator validator(valijson::Validator::kStrongTypes);
    return validator.validate(cs.schema, target, nullptr);
}

const json::value& inlined_schema(schema_id id) {
    return schemas().get(id).doc;
}

bool type_check_accepts(schema_id id, const json::value& body) {
    return schemas().get(id).fast->accepts(body);
}

}  // namespace detail

registry::result<void> validate(schema_id id, const json::value& body) {
    const compiled_schema& cs = schemas().get(id);
    // The type check only ever shortcuts an acceptance: whatever it refuses, Valijson decides.
    if (cs.fast->accepts(body) || detail::valijson_accepts(id, body)) {
        return {};
    }
    valijson::adapters::BoostJsonAdapter target(body);
    valijson::Validator validator(valijson::Validator::kStrongTypes);
    valijson::ValidationResults results;
    validator.validate(cs.schema, target, &results);

    std::optional<problem> first;
    for (const auto& err : results) {
        auto p = describe(cs, body, err);
        if (p && (!first || p->order < first->order)) {
            first = std::move(p);
        }
    }
    if (!first) {  // only wrappers reported: not expected, but never answer "valid" for an invalid body
        return registry::illegal_argument("[" + cs.label + "] does not match the schema");
    }
    return registry::illegal_argument(std::move(first->message));
}

}  // namespace modelrelay::schemas
