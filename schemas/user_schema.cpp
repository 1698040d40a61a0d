// File: user_schema.cpp
#include "schemas/user_schema.hpp"

#include <boost/json/parse.hpp>
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "schemas/json_type.hpp"

namespace modelrelay::schemas {

namespace json = boost::json;

struct user_schema::impl {
    std::string text;
    json::value doc;
    valijson::Schema schema;
};

user_schema::user_schema(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
user_schema::~user_schema() = default;

registry::result<std::shared_ptr<const user_schema>> user_schema::compile(
    std::string_view text, std::string_view what
) {
    auto p = std::make_unique<impl>();
    p->text = std::string(text);
    boost::system::error_code ec;
    p->doc = json::parse(text, ec);
    if (ec) {
        return registry::illegal_argument(std::string(what) + " is not a valid JSON Schema: " + ec.message());
    }
    if (!p->doc.is_object() && !p->doc.is_bool()) {
        return registry::illegal_argument(std::string(what) + " is not a valid JSON Schema: not an object");
    }
    try {
        valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
        valijson::adapters::BoostJsonAdapter adapter(p->doc);
        parser.populateSchema(adapter, p->schema);
    } catch (const std::exception& e) {
        return registry::illegal_argument(std::string(what) + " is not a valid JSON Schema: " + e.what());
    }
    return std::shared_ptr<const user_schema>(new user_schema(std::move(p)));
}

namespace {

// Where a Valijson error points: networknt's path (`$.parameters[0]`), the instance value there and the
// schema that applies to it (followed through `properties`, `additionalProperties` and `items`). Valijson's
// context is {"<root>", "[parameters]", "[0]"}; whether "[0]" is a key or an index is read from the
// instance.
struct location {
    std::string path = "$";
    const json::value* value = nullptr;
    const json::object* schema = nullptr;
};

const json::object* sub_schema(const json::object* schema, std::string_view member, std::string_view key) {
    if (schema == nullptr) {
        return nullptr;
    }
    const auto* v = schema->if_contains(member);
    if (v == nullptr) {
        return nullptr;
    }
    if (!key.empty()) {
        const auto* props = v->if_object();
        v = props != nullptr ? props->if_contains(key) : nullptr;
    }
    return v != nullptr ? v->if_object() : nullptr;
}

location locate(
    const std::vector<std::string>& context, const json::value& instance, const json::value& schema
) {
    location at;
    at.value = &instance;
    at.schema = schema.if_object();
    for (std::size_t i = 1; i < context.size(); ++i) {
        const std::string& c = context[i];
        if (c.size() < 2 || c.front() != '[' || c.back() != ']') {
            continue;
        }
        const std::string key = c.substr(1, c.size() - 2);
        if (at.value != nullptr && at.value->is_array()) {
            at.path += "[" + key + "]";
            const auto n = static_cast<std::size_t>(std::strtoul(key.c_str(), nullptr, 10));
            at.value = n < at.value->get_array().size() ? &at.value->get_array()[n] : nullptr;
            at.schema = sub_schema(at.schema, "items", "");
        } else {
            at.path += "." + key;
            at.value = at.value != nullptr && at.value->is_object() ? at.value->get_object().if_contains(key)
                                                                    : nullptr;
            const auto* named = sub_schema(at.schema, "properties", key);
            at.schema = named != nullptr ? named : sub_schema(at.schema, "additionalProperties", "");
        }
    }
    return at;
}

// networknt's wording for the two problems nearly every interface schema meets; Valijson's otherwise.
std::string describe(
    const valijson::ValidationResults::Error& err, const json::value& instance, const json::value& schema
) {
    const location at = locate(err.context, instance, schema);
    const std::string& d = err.description;
    const std::string_view required_prefix = "Missing required property '";
    if (d.rfind(required_prefix, 0) == 0 && d.size() > required_prefix.size() + 2) {
        const std::string name = d.substr(required_prefix.size(), d.size() - required_prefix.size() - 2);
        return at.path + "." + name + ": is missing but it is required";
    }
    if (d.rfind("Value type not permitted by 'type' constraint", 0) == 0 && at.value != nullptr &&
        at.schema != nullptr) {
        if (const auto* type = at.schema->if_contains("type")) {
            std::string expected;
            if (type->is_string()) {
                expected = std::string(type->get_string());
            } else if (type->is_array()) {
                for (const auto& t : type->get_array()) {
                    if (t.is_string()) {
                        expected += (expected.empty() ? "" : ", ") + std::string(t.get_string());
                    }
                }
                expected = "[" + expected + "]";
            }
            if (!expected.empty()) {
                return at.path + ": " + std::string(json_type_name(*at.value, true)) + " found, " + expected +
                       " expected";
            }
        }
    }
    return at.path + ": " + d;
}

}  // namespace

std::optional<std::string> user_schema::check(const json::value& instance) const {
    valijson::adapters::BoostJsonAdapter target(instance);
    {
        valijson::Validator fast(valijson::Validator::kStrongTypes);
        if (fast.validate(impl_->schema, target, nullptr)) {
            return std::nullopt;
        }
    }
    valijson::Validator validator(valijson::Validator::kStrongTypes);
    valijson::ValidationResults results;
    validator.validate(impl_->schema, target, &results);
    std::string out = "[";
    bool first = true;
    for (const auto& err : results) {
        // Valijson also reports the enclosing "failed to validate" wrappers; the leaves say what is wrong.
        if (err.description.find("Failed to validate against schema associated with property") == 0 ||
            err.description.find("Failed to validate item #") == 0) {
            continue;
        }
        out += first ? "" : ", ";
        first = false;
        out += describe(err, instance, impl_->doc);
    }
    if (first) {
        out += "$: does not match the schema";
    }
    return out + "]";
}

const json::value& user_schema::document() const {
    return impl_->doc;
}

const std::string& user_schema::text() const {
    return impl_->text;
}

}  // namespace modelrelay::schemas
