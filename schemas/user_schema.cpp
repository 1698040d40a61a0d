// File: user_schema.cpp
// Valijson does the validation; user_schema_rewrite.cpp first refuses what would crash or hang it and
// takes `pattern`, `patternProperties` and `format` out of its sight. They come back here as Valijson
// "poly" constraints matched with RE2, on the same subschemas, so they still combine with anyOf, oneOf,
// not and the rest as JSON Schema says.
#include "schemas/user_schema.hpp"

#include <algorithm>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include <boost/json/parse.hpp>
#include <re2/re2.h>
// g++ 12 sees an impossible overlapping memcpy in Valijson's json_pointer string replace (-Wrestrict, a
// known false positive of that release's inliner).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wrestrict"
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/constraint_builder.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validation_visitor.hpp>
#include <valijson/validator.hpp>
#pragma GCC diagnostic pop

#include "schemas/json_type.hpp"
#include "schemas/user_schema_rewrite.hpp"

// Without it Valijson reports a malformed schema with std::abort() (CMakeLists.txt defines it for every
// file of mr_schemas, as the One Definition Rule requires of a macro that changes Valijson's inline code).
#if !VALIJSON_USE_EXCEPTIONS
#error "VALIJSON_USE_EXCEPTIONS must be 1"
#endif

namespace modelrelay::schemas {

namespace json = boost::json;

namespace {

using valijson::Subschema;
using valijson::ValidationResults;
using valijson::adapters::Adapter;
using valijson::adapters::BoostJsonAdapter;
using valijson::constraints::Constraint;
using context_type = std::vector<std::string>;

// The clone plumbing Valijson asks of every PolyConstraint (it copies constraints into the schema).
template <class Derived>
class poly_constraint : public valijson::constraints::PolyConstraint {
private:
    Constraint* cloneInto(void* where) const override {
        return new (where) Derived(static_cast<const Derived&>(*this));
    }
    std::size_t sizeOf() const override { return sizeof(Derived); }
};

// Valijson's visitors take a std::regex cache by reference. The rewritten schemas hold no constraint
// that would fill it, so one empty map per thread serves the visitors created here.
std::unordered_map<std::string, std::regex>& unused_regex_cache() {
    thread_local std::unordered_map<std::string, std::regex> cache;
    return cache;
}

// `pattern`: a search, as in JSON Schema (not anchored unless the pattern says so). networknt's message.
class pattern_constraint final : public poly_constraint<pattern_constraint> {
public:
    explicit pattern_constraint(detail::user_regex regex) : regex_(std::move(regex)) {}

    bool validate(const Adapter& target, const context_type& context, ValidationResults* results)
        const override {
        std::string s;
        if (!target.isString() || !target.getString(s) || RE2::PartialMatch(s, *regex_.re)) {
            return true;
        }
        if (results != nullptr) {
            results->pushError(context, "does not match the regex pattern " + regex_.source);
        }
        return false;
    }

private:
    detail::user_regex regex_;
};

// Valijson's date-range check (validation_visitor.hpp validate_date_range): February has at most 29
// days, the other months 30 or 31.
bool valid_day(int month, int day) {
    if (month == 2) {
        return day <= 29;
    }
    const bool short_month = month <= 7 ? month % 2 == 0 : month % 2 != 0;
    return day <= (short_month ? 30 : 31);
}

// Valijson's three format checks with its own expressions, matched by RE2 instead of std::regex (whose
// recursion per character overflows the stack on a long digit string). One fix: Valijson's offset sign
// class `[\+|\-]` also accepted `|`.
bool matches_format(std::string_view format, const std::string& s) {
    static const RE2 date(R"(([0-9]+)-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01]))");
    static const RE2 time(
        R"(([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9]|60)(\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))"
    );
    static const RE2 date_time(
        R"(([0-9]+)-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])[Tt])"
        R"(([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9]|60)(\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))"
    );
    int month = 0;
    int day = 0;
    if (format == "date") {
        return RE2::FullMatch(s, date, nullptr, &month, &day) && valid_day(month, day);
    }
    if (format == "time") {
        return RE2::FullMatch(s, time);
    }
    if (format == "date-time") {
        return RE2::FullMatch(s, date_time, nullptr, &month, &day) && valid_day(month, day);
    }
    return true;
}

class format_constraint final : public poly_constraint<format_constraint> {
public:
    explicit format_constraint(std::string format) : format_(std::move(format)) {}

    bool validate(const Adapter& target, const context_type& context, ValidationResults* results)
        const override {
        std::string s;
        if (!target.isString() || !target.getString(s) || matches_format(format_, s)) {
            return true;
        }
        if (results != nullptr) {
            results->pushError(context, "String should be a valid " + format_);
        }
        return false;
    }

private:
    std::string format_;
};

// A `patternProperties` rule and the subschemas Valijson parsed for it (the patterns' in order, then
// `additionalProperties`'), linked after parsing. Shared by the constraint's copies; immutable once the
// schema is compiled.
struct pattern_group {
    detail::pattern_properties_rule rule;
    std::vector<const Subschema*> subschemas;
    bool used = false;  // Valijson built a constraint for it

    bool linked() const { return subschemas.size() == rule.patterns.size() + (rule.has_additional ? 1 : 0); }
};

// `patternProperties` with the `additionalProperties` beside it, as Valijson's PropertiesConstraint does
// them (`properties` stays with Valijson): a member is checked against every pattern that matches its name,
// and against `additionalProperties` when no name in `properties` and no pattern matched it.
class pattern_properties_constraint final : public poly_constraint<pattern_properties_constraint> {
public:
    explicit pattern_properties_constraint(std::shared_ptr<const pattern_group> group)
        : group_(std::move(group)) {}

    bool validate(const Adapter& target, const context_type& context, ValidationResults* results)
        const override {
        if (!target.isObject()) {
            return true;
        }
        // The instance is always a Boost.JSON tree (user_schema::check); a property name, the only other
        // adapter Valijson makes, is a string.
        const auto* object = dynamic_cast<const BoostJsonAdapter*>(&target);
        if (object == nullptr || !group_->linked()) {
            throw std::logic_error("patternProperties: unexpected adapter or unlinked subschemas");
        }
        const auto& rule = group_->rule;
        bool valid = true;
        for (const auto& member : object->asObject()) {
            const std::string& name = member.first;
            context_type inner = context;
            inner.push_back("[" + name + "]");
            auto passes = [&](const Subschema& schema) {
                valijson::ValidationVisitor<BoostJsonAdapter> visitor(
                    member.second, inner, true, results, unused_regex_cache()
                );
                return visitor.validateSchema(schema);
            };
            bool matched = std::binary_search(rule.named.begin(), rule.named.end(), name);
            for (std::size_t i = 0; i < rule.patterns.size(); ++i) {
                if (!RE2::PartialMatch(name, *rule.patterns[i].re)) {
                    continue;
                }
                matched = true;
                const std::size_t errors = results != nullptr ? results->numErrors() : 0;
                if (!passes(*group_->subschemas[i])) {
                    if (results == nullptr) {
                        return false;
                    }
                    if (results->numErrors() == errors) {  // `false`: nothing says why
                        results->pushError(
                            inner,
                            "Failed to validate against schema associated with pattern '" +
                                rule.patterns[i].source + "'."
                        );
                    }
                    valid = false;
                }
            }
            if (matched || !rule.has_additional) {
                continue;
            }
            const std::size_t errors = results != nullptr ? results->numErrors() : 0;
            if (!passes(*group_->subschemas.back())) {
                if (results == nullptr) {
                    return false;
                }
                if (results->numErrors() == errors) {
                    results->pushError(
                        context,
                        "Object contains a property that could not be validated using 'properties' or "
                        "'additionalProperties' constraints: '" +
                            name + "'."
                    );
                }
                valid = false;
            }
        }
        return valid;
    }

private:
    std::shared_ptr<const pattern_group> group_;
};

// Marks the carrier (user_schema_rewrite.hpp): never evaluated, since the carrier sits under `if: false`.
class carrier_marker final : public poly_constraint<carrier_marker> {
public:
    explicit carrier_marker(std::size_t group) : group_(group) {}

    bool validate(const Adapter&, const context_type&, ValidationResults*) const override { return true; }
    std::size_t group() const { return group_; }

private:
    std::size_t group_;
};

// Builds the constraint for one private keyword, whose value is an index into the rewrite's tables.
template <class Make>
class index_builder final : public valijson::ConstraintBuilder {
public:
    index_builder(std::size_t count, Make make) : count_(count), make_(std::move(make)) {}

    Constraint* make(const Adapter& value) const override {
        std::int64_t i = -1;
        if (!value.getInteger(i) || i < 0 || static_cast<std::size_t>(i) >= count_) {
            throw std::logic_error("a private keyword holds no valid index");
        }
        return make_(static_cast<std::size_t>(i));
    }

private:
    std::size_t count_;
    Make make_;
};

template <class Make>
void add_builder(valijson::SchemaParser& parser, std::string_view key, std::size_t count, Make make) {
    parser.addConstraintBuilder(std::string(key), new index_builder<Make>(count, std::move(make)));
}

// Visits every subschema of a parsed schema once; where a subschema holds a carrier marker, the subschemas
// of its `allOf` are the marked pattern group's.
class carrier_finder final : public valijson::constraints::ConstraintVisitor {
public:
    void link(const Subschema& root, std::vector<std::shared_ptr<pattern_group>>& groups) {
        add(&root);
        valijson::Subschema::ApplyFunction visit_one = [this](const Constraint& c) {
            return c.accept(*this);
        };
        while (!todo_.empty()) {
            const Subschema* s = todo_.back();
            todo_.pop_back();
            marker_.reset();
            all_of_.clear();
            s->apply(visit_one);
            if (marker_ && *marker_ < groups.size() && groups[*marker_]->subschemas.empty()) {
                groups[*marker_]->subschemas = all_of_;
            }
        }
    }

private:
    void add(const Subschema* s) {
        if (s != nullptr && seen_.insert(s).second) {
            todo_.push_back(s);
        }
    }
    template <class C>
    void add_all(const C& c) {
        c.applyToSubschemas([this](unsigned, const Subschema* s) {
            add(s);
            return true;
        });
    }

    bool visit(const AllOfConstraint& c) override {
        c.applyToSubschemas([this](unsigned, const Subschema* s) {
            all_of_.push_back(s);
            add(s);
            return true;
        });
        return true;
    }
    bool visit(const AnyOfConstraint& c) override {
        add_all(c);
        return true;
    }
    bool visit(const OneOfConstraint& c) override {
        add_all(c);
        return true;
    }
    bool visit(const ConditionalConstraint& c) override {
        add(c.getIfSubschema());
        add(c.getThenSubschema());
        add(c.getElseSubschema());
        return true;
    }
    bool visit(const ContainsConstraint& c) override {
        add(c.getSubschema());
        return true;
    }
    bool visit(const NotConstraint& c) override {
        add(c.getSubschema());
        return true;
    }
    bool visit(const PropertyNamesConstraint& c) override {
        add(c.getSubschema());
        return true;
    }
    bool visit(const SingularItemsConstraint& c) override {
        add(c.getItemsSubschema());
        return true;
    }
    bool visit(const LinearItemsConstraint& c) override {
        c.applyToItemSubschemas([this](unsigned, const Subschema* s) {
            add(s);
            return true;
        });
        add(c.getAdditionalItemsSubschema());
        return true;
    }
    bool visit(const DependenciesConstraint& c) override {
        c.applyToSchemaDependencies([this](const auto&, const Subschema* s) {
            add(s);
            return true;
        });
        return true;
    }
    bool visit(const PropertiesConstraint& c) override {
        auto each = [this](const auto&, const Subschema* s) {
            add(s);
            return true;
        };
        c.applyToProperties(each);
        c.applyToPatternProperties(each);
        add(c.getAdditionalPropertiesSubschema());
        return true;
    }
    bool visit(const PolyConstraint& c) override {
        if (const auto* marker = dynamic_cast<const carrier_marker*>(&c)) {
            marker_ = marker->group();
        }
        return true;
    }
    bool visit(const ConstConstraint&) override { return true; }
    bool visit(const EnumConstraint&) override { return true; }
    bool visit(const FormatConstraint&) override { return true; }
    bool visit(const MaximumConstraint&) override { return true; }
    bool visit(const MaxItemsConstraint&) override { return true; }
    bool visit(const MaxLengthConstraint&) override { return true; }
    bool visit(const MaxPropertiesConstraint&) override { return true; }
    bool visit(const MinimumConstraint&) override { return true; }
    bool visit(const MinItemsConstraint&) override { return true; }
    bool visit(const MinLengthConstraint&) override { return true; }
    bool visit(const MinPropertiesConstraint&) override { return true; }
    bool visit(const MultipleOfDoubleConstraint&) override { return true; }
    bool visit(const MultipleOfIntConstraint&) override { return true; }
    bool visit(const PatternConstraint&) override { return true; }
    bool visit(const RequiredConstraint&) override { return true; }
    bool visit(const TypeConstraint&) override { return true; }  // draft-3 schema types only
    bool visit(const UniqueItemsConstraint&) override { return true; }

    std::vector<const Subschema*> todo_;
    std::unordered_set<const Subschema*> seen_;
    std::optional<std::size_t> marker_;
    std::vector<const Subschema*> all_of_;
};

// Parses the rewritten document into `schema`, with the private keywords' constraints. Throws what
// Valijson throws for a schema it refuses.
void populate(detail::rewritten_schema& rw, valijson::Schema& schema) {
    std::vector<std::shared_ptr<pattern_group>> groups;
    for (auto& rule : rw.pattern_properties) {
        groups.push_back(std::make_shared<pattern_group>(pattern_group{std::move(rule), {}}));
    }
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    add_builder(parser, detail::key_pattern, rw.patterns.size(), [&rw](std::size_t i) -> Constraint* {
        return new pattern_constraint(rw.patterns[i]);
    });
    add_builder(parser, detail::key_format, rw.formats.size(), [&rw](std::size_t i) -> Constraint* {
        return new format_constraint(rw.formats[i]);
    });
    add_builder(
        parser,
        detail::key_pattern_properties,
        groups.size(),
        [&groups](std::size_t i) -> Constraint* {
            groups[i]->used = true;
            return new pattern_properties_constraint(groups[i]);
        }
    );
    add_builder(parser, detail::key_carrier, groups.size(), [](std::size_t i) -> Constraint* {
        return new carrier_marker(i);
    });
    valijson::adapters::BoostJsonAdapter adapter(rw.for_valijson);
    parser.populateSchema(adapter, schema);
    carrier_finder().link(schema, groups);
    for (const auto& g : groups) {
        if (g->used && !g->linked()) {
            throw std::logic_error("patternProperties: the subschemas were not found after parsing");
        }
    }
}

}  // namespace

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
    const std::string invalid = std::string(what) + " is not a valid JSON Schema: ";
    auto p = std::make_unique<impl>();
    p->text = std::string(text);
    boost::system::error_code ec;
    p->doc = json::parse(text, ec);
    if (ec) {
        return registry::illegal_argument(invalid + ec.message());
    }
    if (!p->doc.is_object() && !p->doc.is_bool()) {
        return registry::illegal_argument(invalid + "not an object");
    }
    auto rewritten = detail::rewrite_user_schema(p->doc);
    if (!rewritten) {
        return registry::illegal_argument(invalid + rewritten.error().reason);
    }
    try {
        populate(*rewritten, p->schema);
    } catch (const std::exception& e) {
        return registry::illegal_argument(invalid + e.what());
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

// The subschema of the first `patternProperties` entry whose pattern matches `key`, else
// `additionalProperties`' (the patterns compiled when the schema did; this runs only for a message).
const json::object* by_pattern(const json::object* schema, const std::string& key) {
    const auto* patterns = schema != nullptr ? schema->if_contains("patternProperties") : nullptr;
    if (patterns != nullptr && patterns->is_object()) {
        for (const auto& kv : patterns->get_object()) {
            auto re = detail::compile_user_regex(kv.key());
            if (re && RE2::PartialMatch(key, *re->re)) {
                return kv.value().if_object();
            }
        }
    }
    return sub_schema(schema, "additionalProperties", "");
}

// `schema` or, when it is a `$ref`, what the reference leads to (compile refused reference cycles; the
// bound is belt and braces).
const json::object* followed(const json::value& root, const json::object* schema) {
    for (int hops = 0; schema != nullptr && hops < 64; ++hops) {
        const auto* ref = schema->if_contains("$ref");
        if (ref == nullptr || !ref->is_string()) {
            return schema;
        }
        const auto* target = detail::resolve_local_reference(root, ref->get_string());
        schema = target != nullptr ? target->if_object() : nullptr;
    }
    return nullptr;
}

location locate(
    const std::vector<std::string>& context, const json::value& instance, const json::value& schema
) {
    location at;
    at.value = &instance;
    at.schema = followed(schema, schema.if_object());
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
            at.schema = named != nullptr ? named : by_pattern(at.schema, key);
        }
        at.schema = followed(schema, at.schema);
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

namespace {

// Validation recurses per level of the instance (and per same-instance nesting of the schema, at most 16):
// about 1.5 MB of stack at 256 levels, measured. Request bodies may nest 1000 deep, so a deeper instance
// is refused here instead of being walked.
constexpr std::size_t max_checked_depth = 256;

bool deeper_than(const json::value& root, std::size_t limit) {
    std::vector<std::pair<const json::value*, std::size_t>> todo{{&root, 1}};
    while (!todo.empty()) {
        const auto [v, d] = todo.back();
        todo.pop_back();
        if (d > limit && v->is_structured()) {  // levels of arrays and objects
            return true;
        }
        if (const auto* a = v->if_array()) {
            for (const auto& e : *a) {
                todo.emplace_back(&e, d + 1);
            }
        } else if (const auto* o = v->if_object()) {
            for (const auto& kv : *o) {
                todo.emplace_back(&kv.value(), d + 1);
            }
        }
    }
    return false;
}

}  // namespace

std::optional<std::string> user_schema::check(const json::value& instance) const {
    if (deeper_than(instance, max_checked_depth)) {
        return "[$: nested deeper than " + std::to_string(max_checked_depth) + " levels]";
    }
    try {
        return check_with_valijson(instance);
    } catch (const std::exception& e) {
        // Not expected (compile refuses what Valijson would throw on), but a throw must not escape a
        // predict: the instance is refused instead.
        return "[$: the schema could not be applied: " + std::string(e.what()) + "]";
    }
}

std::optional<std::string> user_schema::check_with_valijson(const json::value& instance) const {
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
