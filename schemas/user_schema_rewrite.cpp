// File: user_schema_rewrite.cpp
// The pass of user_schema_rewrite.hpp: a walk that mirrors how Valijson's draft-7 parser reaches
// subschemas, checks on the graph it builds, then the copy for Valijson.
//
// The walk must reach at least every subschema Valijson parses, or a `pattern` would reach std::regex. It
// follows the same keywords as valijson::SchemaParser::populateSchema (`then`/`else` only beside `if`,
// `additionalItems` only beside an array `items`, `definitions` only through a `$ref`, the siblings of a
// `$ref` not at all) and refuses the values Valijson would read leniently (an empty array as `{}`), so
// that nothing Valijson parses escapes it. The copy holds only what the walk reached.
#include "schemas/user_schema_rewrite.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <unordered_map>

#include <re2/re2.h>

#include "registry/ascii.hpp"
#include "registry/json_util.hpp"

namespace modelrelay::schemas::detail {

namespace json = boost::json;

namespace {

// How an edge applies its target: to the same instance value (`$ref`, applicators, `dependencies`), or to
// a value one level down (a member, an item, a property name). Only the first kind can loop forever.
enum class edge_kind { ref, in_place, descending };

// Which part of the instance a descending edge leads to: with it check_shape tells apart edges that can
// reach the same child (a member named in `properties` and matched by a pattern) from edges that cannot
// (`items[0]` and `additionalItems`).
enum class descent {
    none,
    property,
    pattern,
    additional_property,
    all_items,
    item,
    additional_items,
    contains,
    name
};

struct edge {
    edge_kind kind;
    std::size_t to;
    descent via = descent::none;
    std::string_view property;  // descent::property: the name
    std::size_t index = 0;      // descent::item: the position; descent::pattern: the regex's index
    bool carried = false;       // Valijson reaches it through the carrier (patternProperties)
};

struct schema_node {
    const json::value* value = nullptr;
    bool is_ref = false;                            // a `$ref` object: Valijson ignores its other members
    std::vector<edge> edges;                        // in the order Valijson's parser follows them
    std::optional<std::size_t> pattern;             // index in rewritten_schema::patterns
    std::optional<std::size_t> format;              // index in rewritten_schema::formats
    std::optional<std::size_t> pattern_properties;  // index in rewritten_schema::pattern_properties
};

// Request bodies parse with max_depth 256 (server/handlers/common.cpp) and the predict input instance wraps
// them in one more object; no instance value lies deeper, so no schema walk goes further down.
constexpr std::size_t instance_levels = 258;

// The formats Valijson checks (validation_visitor.hpp visit(FormatConstraint)); it ignores the others.
bool checked_format(std::string_view f) {
    return f == "date" || f == "time" || f == "date-time";
}

bool is_private_key(std::string_view k) {
    return k.starts_with("\x01modelrelay:");
}

bool is_schema(const json::value& v) {
    return v.is_object() || v.is_bool();
}

// The UTF-16 unit of a `\uXXXX` escape at p[i], or -1.
long utf16_escape(std::string_view p, std::size_t i) {
    if (i + 5 >= p.size() || p[i] != '\\' || p[i + 1] != 'u') {
        return -1;
    }
    long unit = 0;
    for (std::size_t k = i + 2; k < i + 6; ++k) {
        if (std::isxdigit(static_cast<unsigned char>(p[k])) == 0) {
            return -1;
        }
        const char c = static_cast<char>(p[k] | 0x20);  // lower case
        unit = unit * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return unit;
}

// ECMA-262 and Java write a code point as `\uXXXX` (a surrogate pair as two); RE2 as `\x{XXXX}`. Every
// other escape is passed on whole, so `\\u0041` stays a backslash followed by `u0041`.
std::string to_re2_syntax(std::string_view p) {
    std::string out;
    out.reserve(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
        if (p[i] != '\\' || i + 1 == p.size()) {
            out += p[i];
            continue;
        }
        if (long unit = utf16_escape(p, i); unit >= 0) {
            i += 5;
            if (const long low = utf16_escape(p, i + 1);
                unit >= 0xD800 && unit <= 0xDBFF && low >= 0xDC00 && low <= 0xDFFF) {
                unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                i += 6;
            }
            char hex[16];
            std::snprintf(hex, sizeof hex, "\\x{%lX}", unit);
            out += hex;
            continue;
        }
        out += p.substr(i, 2);
        ++i;
    }
    return out;
}

// A reference token as Valijson decodes it (internal/json_pointer.hpp): `~1`, then `~0`, then `%XX`.
// Malformed percent-escapes, which Valijson would decode to arbitrary bytes, are refused.
std::optional<std::string> decode_token(std::string_view raw) {
    std::string t(raw);
    for (auto [from, to] : {std::pair<std::string_view, char>{"~1", '/'}, {"~0", '~'}}) {
        for (std::size_t at = t.find(from); at != std::string::npos; at = t.find(from, at + 1)) {
            t.replace(at, 2, 1, to);
        }
    }
    std::string out;
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (t[i] != '%') {
            out += t[i];
            continue;
        }
        if (i + 2 >= t.size() || registry::hex_digit_value(t[i + 1]) < 0 ||
            registry::hex_digit_value(t[i + 2]) < 0) {
            return std::nullopt;
        }
        out +=
            static_cast<char>(registry::hex_digit_value(t[i + 1]) * 16 + registry::hex_digit_value(t[i + 2]));
        i += 2;
    }
    return out;
}

// The private keywords' values: Valijson's adapter reads only int64 as an integer (a std::size_t would
// make a uint64).
std::int64_t as_int64(std::size_t i) {
    return static_cast<std::int64_t>(i);
}

registry::error refused(std::string reason) {
    return registry::illegal_argument(std::move(reason));
}

class schema_graph {
public:
    explicit schema_graph(const json::value& root) : root_(root) { index_parents(); }

    registry::result<void> walk();
    registry::result<void> check_shape() const;
    rewritten_schema rewrite();

private:
    struct link {
        const json::value* parent = nullptr;
        std::string_view key;  // empty for an array element
        std::size_t index = 0;
    };
    struct descent_weight {
        std::size_t to;
        std::array<std::uint64_t, 3> into;  // a member, an item, a property name
    };

    void index_parents();
    std::string location(const json::value* v) const;
    std::size_t target(std::size_t id) const;

    std::size_t add(const json::value& v);
    registry::result<void> visit(std::size_t id);
    registry::result<const json::value*> resolve(std::string_view ref, const json::value& at) const;
    registry::result<std::size_t> regex(std::string_view pattern, const json::value& at);

    std::size_t parse_depth() const;
    std::vector<std::vector<descent_weight>> descent_weights() const;

    json::object row_ref(const json::value& v) const;
    json::value row(const schema_node& n) const;

    const json::value& root_;
    std::unordered_map<const json::value*, link> parents_;
    std::vector<schema_node> nodes_;
    std::unordered_map<const json::value*, std::size_t> ids_;
    std::map<std::string, std::size_t, std::less<>> regex_ids_;
    rewritten_schema out_;
};

void schema_graph::index_parents() {
    std::vector<const json::value*> todo{&root_};
    while (!todo.empty()) {
        const json::value* v = todo.back();
        todo.pop_back();
        if (const auto* o = v->if_object()) {
            for (const auto& kv : *o) {
                parents_[&kv.value()] = link{v, kv.key(), 0};
                todo.push_back(&kv.value());
            }
        } else if (const auto* a = v->if_array()) {
            for (std::size_t i = 0; i < a->size(); ++i) {
                parents_[&(*a)[i]] = link{v, {}, i};
                todo.push_back(&(*a)[i]);
            }
        }
    }
}

// Where a value is in the user's document, for messages: `#/properties/a`.
std::string schema_graph::location(const json::value* v) const {
    std::vector<std::string> tokens;
    for (auto it = parents_.find(v); it != parents_.end(); it = parents_.find(it->second.parent)) {
        const link& l = it->second;
        tokens.push_back(
            l.parent->is_array() ? std::to_string(l.index) : registry::json_pointer_token(l.key)
        );
    }
    std::string out = "#";
    for (auto t = tokens.rbegin(); t != tokens.rend(); ++t) {
        out += "/" + *t;
    }
    return out;
}

// The subschema a node stands for: itself, or the end of its `$ref` chain (valid once check_shape found
// no reference cycle).
std::size_t schema_graph::target(std::size_t id) const {
    while (nodes_[id].is_ref) {
        id = nodes_[id].edges.front().to;
    }
    return id;
}

std::size_t schema_graph::add(const json::value& v) {
    auto [it, added] = ids_.emplace(&v, nodes_.size());
    if (added) {
        nodes_.push_back(schema_node{&v});
    }
    return it->second;
}

registry::result<const json::value*> schema_graph::resolve(std::string_view ref, const json::value& at)
    const {
    std::string problem;
    const json::value* v = resolve_local_reference(root_, ref, &problem);
    if (v == nullptr) {
        return refused(location(&at) + ": $ref \"" + std::string(ref) + "\" " + problem);
    }
    if (!is_schema(*v)) {
        return refused(
            location(&at) + ": $ref \"" + std::string(ref) +
            "\" does not point to a schema (an object or a boolean)"
        );
    }
    return v;
}

registry::result<std::size_t> schema_graph::regex(std::string_view pattern, const json::value& at) {
    if (auto it = regex_ids_.find(pattern); it != regex_ids_.end()) {
        return it->second;
    }
    auto compiled = compile_user_regex(pattern);
    if (!compiled) {
        return refused(location(&at) + ": " + compiled.error().reason);
    }
    if (out_.patterns.size() == max_regexes) {
        return refused(
            location(&at) + ": more than " + std::to_string(max_regexes) + " distinct regular expressions"
        );
    }
    out_.patterns.push_back(std::move(*compiled));
    regex_ids_.emplace(std::string(pattern), out_.patterns.size() - 1);
    return out_.patterns.size() - 1;
}

registry::result<void> schema_graph::walk() {
    add(root_);
    for (std::size_t id = 0; id < nodes_.size(); ++id) {
        if (auto r = visit(id); !r) {
            return r;
        }
    }
    return {};
}

// Records the node's edges, in the order Valijson's populateSchema follows the keywords of the copy, and
// checks the keyword values Valijson trusts or would read leniently.
registry::result<void> schema_graph::visit(std::size_t id) {
    const json::value& v = *nodes_[id].value;
    const json::object* o = v.if_object();
    if (o == nullptr) {
        return {};  // true or false
    }
    std::vector<edge> edges;
    auto child = [&](const json::value& c,
                     edge_kind kind,
                     std::string_view what,
                     descent via = descent::none,
                     std::string_view property = {},
                     std::size_t index = 0) -> registry::result<void> {
        if (!is_schema(c)) {
            return refused(
                location(&c) + ": " + std::string(what) + " must be a schema (an object or a boolean)"
            );
        }
        edges.push_back(edge{kind, add(c), via, property, index});
        return {};
    };
    auto down = [&](const json::value& c,
                    std::string_view what,
                    descent via,
                    std::string_view property = {},
                    std::size_t index = 0) {
        return child(c, edge_kind::descending, what, via, property, index);
    };
    auto list = [&](std::string_view k) -> registry::result<void> {
        if (const auto* l = o->if_contains(k)) {
            if (!l->is_array()) {
                return refused(location(l) + ": " + std::string(k) + " must be an array of schemas");
            }
            for (const auto& c : l->get_array()) {
                if (auto r = child(c, edge_kind::in_place, "an element of " + std::string(k)); !r) {
                    return r;
                }
            }
        }
        return {};
    };
    auto one = [&](std::string_view k) -> registry::result<void> {
        if (const auto* c = o->if_contains(k)) {
            return child(*c, edge_kind::in_place, k);
        }
        return {};
    };

    if (const auto* ref = o->if_contains("$ref")) {
        if (!ref->is_string()) {
            return refused(location(ref) + ": $ref must be a string");
        }
        auto to = resolve(ref->get_string(), *ref);
        if (!to) {
            return to.error();
        }
        nodes_[id].is_ref = true;
        edges.push_back(edge{edge_kind::ref, add(**to)});
        nodes_[id].edges = std::move(edges);
        return {};
    }
    for (std::string_view k : {"properties", "patternProperties"}) {
        if (const auto* members = o->if_contains(k); members != nullptr && !members->is_object()) {
            return refused(location(members) + ": " + std::string(k) + " must be an object of schemas");
        }
    }

    if (auto r = list("allOf"); !r) {
        return r;
    }
    // patternProperties and the additionalProperties beside it: parsed through the carrier, in allOf.
    const auto* patterns = o->if_contains("patternProperties");
    if (patterns != nullptr) {
        pattern_properties_rule rule;
        for (const auto& kv : patterns->get_object()) {
            auto re = regex(kv.key(), *patterns);
            if (!re) {
                return re.error();
            }
            if (auto r = down(kv.value(), "a member of patternProperties", descent::pattern, {}, *re); !r) {
                return r;
            }
            rule.patterns.push_back(out_.patterns[*re]);
        }
        if (const auto* more = o->if_contains("additionalProperties")) {
            if (auto r = down(*more, "additionalProperties", descent::additional_property); !r) {
                return r;
            }
        }
        for (auto& e : edges) {
            e.carried = e.via == descent::pattern || e.via == descent::additional_property;
        }
        if (const auto* named = o->if_contains("properties")) {
            for (const auto& kv : named->get_object()) {
                rule.named.emplace_back(kv.key());
            }
            std::sort(rule.named.begin(), rule.named.end());
        }
        rule.has_additional = o->contains("additionalProperties");
        out_.pattern_properties.push_back(std::move(rule));
        nodes_[id].pattern_properties = out_.pattern_properties.size() - 1;
    }
    if (auto r = list("anyOf"); !r) {
        return r;
    }
    if (const auto* c = o->if_contains("contains")) {
        if (auto r = down(*c, "contains", descent::contains); !r) {
            return r;
        }
    }
    if (const auto* deps = o->if_contains("dependencies")) {
        if (!deps->is_object()) {
            return refused(location(deps) + ": dependencies must be an object");
        }
        for (const auto& kv : deps->get_object()) {
            if (kv.value().is_array()) {
                continue;  // property names; Valijson checks they are strings
            }
            if (auto r = child(kv.value(), edge_kind::in_place, "a dependency"); !r) {
                return r;
            }
        }
    }
    if (const auto* items = o->if_contains("items")) {
        if (const auto* tuple = items->if_array()) {
            if (const auto* more = o->if_contains("additionalItems")) {
                if (auto r = down(*more, "additionalItems", descent::additional_items); !r) {
                    return r;
                }
            }
            for (std::size_t i = 0; i < tuple->size(); ++i) {
                if (auto r = down((*tuple)[i], "an element of items", descent::item, {}, i); !r) {
                    return r;
                }
            }
        } else if (auto r = down(*items, "items", descent::all_items); !r) {
            return r;
        }
    }
    if (o->contains("if")) {
        for (std::string_view k : {"if", "then", "else"}) {
            if (auto r = one(k); !r) {
                return r;
            }
        }
    }
    for (std::string_view k : {"not"}) {
        if (auto r = one(k); !r) {
            return r;
        }
    }
    if (auto r = list("oneOf"); !r) {
        return r;
    }
    if (const auto* named = o->if_contains("properties")) {
        for (const auto& kv : named->get_object()) {
            if (auto r = down(kv.value(), "a member of properties", descent::property, kv.key()); !r) {
                return r;
            }
        }
    }
    if (const auto* more = o->if_contains("additionalProperties"); more != nullptr && patterns == nullptr) {
        if (auto r = down(*more, "additionalProperties", descent::additional_property); !r) {
            return r;
        }
    }
    if (const auto* c = o->if_contains("propertyNames")) {
        if (auto r = down(*c, "propertyNames", descent::name); !r) {
            return r;
        }
    }

    if (const auto* p = o->if_contains("pattern")) {
        if (!p->is_string()) {
            return refused(location(p) + ": pattern must be a string");
        }
        auto r = regex(p->get_string(), *p);
        if (!r) {
            return r.error();
        }
        nodes_[id].pattern = *r;
    }
    if (const auto* f = o->if_contains("format")) {
        if (!f->is_string() || f->get_string().empty()) {
            return refused(location(f) + ": format must be a non-empty string");
        }
        if (checked_format(f->get_string())) {
            const std::string name(f->get_string());
            auto it = std::find(out_.formats.begin(), out_.formats.end(), name);
            if (it == out_.formats.end()) {
                it = out_.formats.insert(out_.formats.end(), name);
            }
            nodes_[id].format = static_cast<std::size_t>(it - out_.formats.begin());
        }
    }
    if (const auto* m = o->if_contains("multipleOf")) {
        // Valijson divides by it: an integer 0 is SIGFPE, 0.0 or a negative number nonsense.
        const bool positive = (m->is_int64() && m->get_int64() > 0) || m->is_uint64() ||
                              (m->is_double() && std::isfinite(m->get_double()) && m->get_double() > 0);
        if (!positive) {
            return refused(location(m) + ": multipleOf must be a number greater than 0");
        }
    }
    nodes_[id].edges = std::move(edges);
    return {};
}

// How deep Valijson's parser recurses on the copy: depth first from the root, in keyword order, each row
// entered once (its cache key is set before its keywords are parsed), the root row once more when a
// `$ref` leads back to it (the root is parsed without a key). A subschema reached through a carrier costs
// two more levels (the carrier and its `then`).
std::size_t schema_graph::parse_depth() const {
    std::vector<bool> entered(nodes_.size(), false);
    std::vector<std::pair<std::size_t, std::size_t>> path{{target(0), 0}};  // row, next edge
    std::vector<std::size_t> cost{1};
    std::size_t depth = 1;
    std::size_t deepest = 1;
    while (!path.empty()) {
        auto& [at, next] = path.back();
        const auto& edges = nodes_[at].edges;
        if (next == edges.size()) {
            depth -= cost.back();
            cost.pop_back();
            path.pop_back();
            continue;
        }
        const edge& e = edges[next++];
        const std::size_t to = target(e.to);
        if (entered[to]) {
            continue;
        }
        entered[to] = true;
        cost.push_back(e.carried ? 3 : 1);
        depth += cost.back();
        deepest = std::max(deepest, depth);
        path.emplace_back(to, 0);
    }
    return deepest;
}

registry::result<void> schema_graph::check_shape() const {
    const std::size_t n = nodes_.size();
    auto same_instance = [](const edge& e) {
        return e.kind != edge_kind::descending;
    };
    // Depth-first over the same-instance edges: a back edge is a cycle; the finishing order is a
    // topological order of what remains (targets before sources).
    std::vector<int> state(n, 0);  // 0 unseen, 1 on the path, 2 done
    std::vector<std::size_t> finished;
    std::vector<std::pair<std::size_t, std::size_t>> path;  // node, next edge
    for (std::size_t start = 0; start < n; ++start) {
        if (state[start] != 0) {
            continue;
        }
        state[start] = 1;
        path.emplace_back(start, 0);
        while (!path.empty()) {
            auto& [at, next] = path.back();
            const auto& edges = nodes_[at].edges;
            while (next < edges.size() && !same_instance(edges[next])) {
                ++next;
            }
            if (next == edges.size()) {
                state[at] = 2;
                finished.push_back(at);
                path.pop_back();
                continue;
            }
            const std::size_t to = edges[next++].to;
            if (state[to] == 1) {
                std::string cycle;
                auto from =
                    std::find_if(path.begin(), path.end(), [&](const auto& p) { return p.first == to; });
                for (auto it = from; it != path.end(); ++it) {
                    cycle += location(nodes_[it->first].value) + " -> ";
                }
                cycle += location(nodes_[to].value);
                return refused(
                    location(nodes_[to].value) +
                    ": subschemas refer to each other without descending into the instance (" + cycle +
                    "), through $ref, allOf, anyOf, oneOf, not, if/then/else or dependencies; the validator "
                    "would recurse forever"
                );
            }
            if (state[to] == 0) {
                state[to] = 1;
                path.emplace_back(to, 0);
            }
        }
    }

    if (parse_depth() > max_parse_depth) {
        return refused(
            "the schema's subschemas chain more than " + std::to_string(max_parse_depth) +
            " deep (through their keywords and $refs); the parser would recurse too deep"
        );
    }

    // How deep same-instance subschemas nest (a `$ref` costs Valijson no stack at predict: it links the
    // target directly).
    std::vector<std::size_t> depth(n, 0);
    for (std::size_t v : finished) {
        for (const edge& e : nodes_[v].edges) {
            if (same_instance(e)) {
                depth[v] = std::max(depth[v], depth[e.to] + (e.kind == edge_kind::ref ? 0 : 1));
            }
        }
        if (depth[v] > max_in_place_depth) {
            return refused(
                location(nodes_[v].value) + ": subschemas nest more than " +
                std::to_string(max_in_place_depth) +
                " deep through allOf, anyOf, oneOf, not, if/then/else or dependencies"
            );
        }
    }

    // How many subschemas one instance value can meet, level by level down the instance: an upper bound
    // on the walks from the root that take `level` descending edges and end at the same instance value.
    // Counts saturate just above the limit.
    const std::uint64_t cap = max_evaluations_per_level + 1;
    const auto weights = descent_weights();
    std::vector<std::uint64_t> here(n, 0);
    std::array<std::vector<std::uint64_t>, 3> below;  // into a member, an item, a property name
    here[0] = 1;
    for (std::size_t level = 0; level < instance_levels; ++level) {
        for (auto& b : below) {
            b.assign(n, 0);
        }
        std::uint64_t total = 0;
        bool any_below = false;
        for (auto it = finished.rbegin(); it != finished.rend(); ++it) {  // sources before targets
            const std::size_t v = *it;
            if (here[v] == 0) {
                continue;
            }
            if (!nodes_[v].is_ref) {
                total = std::min(cap, total + here[v]);
            }
            for (const edge& e : nodes_[v].edges) {
                if (same_instance(e)) {
                    here[e.to] = std::min(cap, here[e.to] + here[v]);
                }
            }
            for (const descent_weight& w : weights[v]) {
                for (std::size_t kind = 0; kind < 3; ++kind) {
                    below[kind][w.to] = std::min(cap, below[kind][w.to] + here[v] * w.into[kind]);
                }
                any_below = true;
            }
        }
        if (total > max_evaluations_per_level) {
            return refused(
                "one value of the instance would be checked against more than " +
                std::to_string(max_evaluations_per_level) +
                " subschemas (allOf, anyOf or oneOf that repeat the same $ref, or items and contains that "
                "lead to the same subschema, multiply the work at each level)"
            );
        }
        if (!any_below) {
            break;
        }
        // The child is a member, an item or a name: the most of the three bounds each count.
        for (std::size_t w = 0; w < n; ++w) {
            here[w] = std::max({below[0][w], below[1][w], below[2][w]});
        }
    }
    return {};
}

// For each node, per descending target, how many of its edges one child can follow: a member follows
// its name's `properties` entry and the patterns that match the name, or (unnamed) the patterns or
// `additionalProperties`; an item follows `items`, `contains`, and its `items` position or
// `additionalItems`; a property name follows `propertyNames`.
std::vector<std::vector<schema_graph::descent_weight>> schema_graph::descent_weights() const {
    std::vector<std::vector<descent_weight>> out(nodes_.size());
    for (std::size_t v = 0; v < nodes_.size(); ++v) {
        // Two `$ref`s to one subschema are one target.
        std::map<std::size_t, std::vector<const edge*>> by_target;
        for (const edge& e : nodes_[v].edges) {
            if (e.kind == edge_kind::descending) {
                by_target[target(e.to)].push_back(&e);
            }
        }
        for (const auto& [to, edges] : by_target) {
            std::array<std::uint64_t, 9> count{};  // by descent
            std::vector<const edge*> patterns;
            for (const edge* e : edges) {
                ++count[static_cast<std::size_t>(e->via)];
                if (e->via == descent::pattern) {
                    patterns.push_back(e);
                }
            }
            auto of = [&](descent via) {
                return count[static_cast<std::size_t>(via)];
            };
            // Unnamed: the patterns that match, or else additionalProperties. Named: its entry and the
            // patterns that match the name (at most 100 patterns: max_regexes).
            std::uint64_t member = std::max(of(descent::pattern), of(descent::additional_property));
            for (const edge* e : edges) {
                if (e->via != descent::property) {
                    continue;
                }
                const re2::StringPiece name(e->property.data(), e->property.size());
                std::uint64_t named = 1;
                for (const edge* p : patterns) {
                    named += RE2::PartialMatch(name, *out_.patterns[p->index].re) ? 1 : 0;
                }
                member = std::max(member, named);
            }
            const std::uint64_t position =
                std::max<std::uint64_t>(of(descent::additional_items), of(descent::item) > 0 ? 1 : 0);
            const std::uint64_t item = of(descent::all_items) + of(descent::contains) + position;
            out[v].push_back(descent_weight{to, {member, item, of(descent::name)}});
        }
    }
    return out;
}

// `{"$ref":"#/<key_nodes>/<row>"}` for the subschema `v`.
json::object schema_graph::row_ref(const json::value& v) const {
    std::string ref = "#/";
    ref += key_nodes;
    ref += "/";
    ref += std::to_string(target(ids_.at(&v)));
    return json::object{{"$ref", std::move(ref)}};
}

// A node's row: its keywords, with `$ref`s for subschemas and the private keywords (user_schema_rewrite.hpp).
json::value schema_graph::row(const schema_node& n) const {
    const json::object* o = n.value->if_object();
    if (o == nullptr) {
        return *n.value;
    }
    const bool has_if = o->contains("if");
    const bool tuple = o->contains("items") && o->at("items").is_array();
    const bool patterned = n.pattern_properties.has_value();
    auto refs = [&](const json::array& list) {
        json::array out;
        for (const auto& c : list) {
            out.push_back(row_ref(c));
        }
        return out;
    };
    json::object out;
    for (const auto& kv : *o) {
        const std::string_view k = kv.key();
        const json::value& v = kv.value();
        if (is_private_key(k) || k == "definitions" || k == "$defs" || (k == "id" && v.is_string())) {
            continue;
        }
        if (k == "allOf" || k == "anyOf" || k == "oneOf") {
            out[k] = refs(v.get_array());
        } else if (k == "not" || k == "contains" || k == "propertyNames") {
            out[k] = row_ref(v);
        } else if (k == "if" || k == "then" || k == "else") {
            if (has_if) {
                out[k] = row_ref(v);
            }
        } else if (k == "items") {
            out[k] = tuple ? json::value(refs(v.get_array())) : json::value(row_ref(v));
        } else if (k == "additionalItems") {
            if (tuple) {
                out[k] = row_ref(v);
            }
        } else if (k == "dependencies") {
            json::object deps;
            for (const auto& d : v.get_object()) {
                deps[d.key()] = d.value().is_array() ? d.value() : json::value(row_ref(d.value()));
            }
            out[k] = std::move(deps);
        } else if (k == "properties") {
            json::object members;
            for (const auto& m : v.get_object()) {
                members[m.key()] = row_ref(m.value());
            }
            out[k] = std::move(members);
        } else if (k == "patternProperties") {
            out[key_pattern_properties] = as_int64(*n.pattern_properties);
        } else if (k == "additionalProperties") {
            if (!patterned) {
                out[k] = row_ref(v);
            }
        } else if (k == "pattern") {
            out[key_pattern] = as_int64(*n.pattern);
        } else if (k == "format") {
            if (n.format) {
                out[key_format] = as_int64(*n.format);
            }
        } else {
            out[k] = v;
        }
    }
    if (patterned) {
        json::array carried;
        for (const auto& m : o->at("patternProperties").get_object()) {
            carried.push_back(row_ref(m.value()));
        }
        if (const auto* more = o->if_contains("additionalProperties")) {
            carried.push_back(row_ref(*more));
        }
        json::array all_of = out.contains("allOf") ? out["allOf"].as_array() : json::array{};
        all_of.push_back(json::object{
            {"if", false},
            {"then",
             json::object{{key_carrier, as_int64(*n.pattern_properties)}, {"allOf", std::move(carried)}}}});
        out["allOf"] = std::move(all_of);
    }
    return out;
}

rewritten_schema schema_graph::rewrite() {
    json::array rows(nodes_.size());  // a `$ref` node's row stays null: every reference skips it
    for (std::size_t id = 0; id < nodes_.size(); ++id) {
        if (!nodes_[id].is_ref) {
            rows[id] = row(nodes_[id]);
        }
    }
    json::object copy = row_ref(root_);
    copy[key_nodes] = std::move(rows);
    out_.for_valijson = std::move(copy);
    return std::move(out_);
}

}  // namespace

const json::value* resolve_local_reference(
    const json::value& root, std::string_view ref, std::string* problem
) {
    auto fail = [&](std::string why) -> const json::value* {
        if (problem != nullptr) {
            *problem = std::move(why);
        }
        return nullptr;
    };
    if (!ref.starts_with('#')) {
        return fail("is not a local reference; only references within the schema (\"#/...\") are supported");
    }
    const std::string_view pointer = ref.substr(1);
    if (!pointer.empty() && pointer.front() != '/') {
        return fail("is not a JSON pointer (\"#/...\"); anchors are not supported");
    }
    const json::value* v = &root;
    for (std::size_t pos = 0; pos < pointer.size();) {
        const std::size_t next = std::min(pointer.find('/', pos + 1), pointer.size());
        const auto token = decode_token(pointer.substr(pos + 1, next - pos - 1));
        pos = next;
        if (!token) {
            return fail("has a malformed %-escape");
        }
        if (token->empty()) {
            continue;  // as Valijson does
        }
        const json::value* child = nullptr;
        if (const auto* a = v->if_array()) {
            if (token->size() <= 9 &&
                std::all_of(token->begin(), token->end(), [](char c) { return c >= '0' && c <= '9'; })) {
                const std::size_t i = std::stoul(*token);
                child = i < a->size() ? &(*a)[i] : nullptr;
            }
        } else if (const auto* o = v->if_object()) {
            child = o->if_contains(*token);
        }
        if (child == nullptr) {
            return fail("does not resolve: nothing at \"" + *token + "\"");
        }
        v = child;
    }
    return v;
}

registry::result<user_regex> compile_user_regex(std::string_view pattern) {
    RE2::Options options;
    options.set_log_errors(false);
    // RE2's default is 8 MiB per expression, most of it a lazily filled DFA cache; a schema may hold
    // max_regexes of them. Past the budget RE2 falls back to its NFA: slower, still linear.
    options.set_max_mem(1 << 20);
    auto re = std::make_shared<const re2::RE2>(to_re2_syntax(pattern), options);
    if (!re->ok()) {
        return refused(
            "pattern \"" + std::string(pattern) + "\" is not a valid RE2 regular expression: " + re->error() +
            " (patterns use RE2 syntax: no lookaround, no backreferences)"
        );
    }
    return user_regex{std::string(pattern), std::move(re)};
}

registry::result<rewritten_schema> rewrite_user_schema(const json::value& doc) {
    schema_graph graph(doc);
    if (auto r = graph.walk(); !r) {
        return r.error();
    }
    if (auto r = graph.check_shape(); !r) {
        return r.error();
    }
    return graph.rewrite();
}

}  // namespace modelrelay::schemas::detail
