// File: search.cpp
// parse_search(): OpenSearch's SearchSourceBuilder.parseXContent and the query builders' fromXContent, ported
// to Boost.JSON values. The structure (which key is checked first, which parser wraps which error) follows
// the Java code because clients see the error reasons verbatim. Evaluation lives in search_run.cpp.
#include "registry/search.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <string>

#include "registry/json_util.hpp"
#include "registry/search_text.hpp"

namespace modelrelay::registry {
namespace {

namespace json = boost::json;
using search_detail::did_you_mean;

// OpenSearch answers these with `parsing_exception` and `x_content_parse_exception` (both 400).
constexpr errc parsing_exception_code = errc::parsing;
constexpr errc x_content_parse_code = errc::x_content_parse;

error parsing(std::string reason) {
    return {parsing_exception_code, std::move(reason)};
}
error xcontent(std::string reason) {
    return {x_content_parse_code, std::move(reason)};
}
error illegal(std::string reason) {
    return {errc::illegal_argument, std::move(reason)};
}

std::string cat(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (auto p : parts) {
        out += p;
    }
    return out;
}

// Token.isValue(): strings, numbers and booleans (not null).
bool is_value(const json::value& v) {
    return v.is_string() || v.is_number() || v.is_bool();
}

// Every query OpenSearch core registers (SearchModule.registerQueryParsers): the candidates of "did you
// mean".
constexpr std::array<std::string_view, 44> opensearch_queries = {
    "match",
    "match_phrase",
    "match_phrase_prefix",
    "multi_match",
    "nested",
    "dis_max",
    "ids",
    "match_all",
    "query_string",
    "boosting",
    "bool",
    "term",
    "terms",
    "fuzzy",
    "regexp",
    "range",
    "prefix",
    "wildcard",
    "constant_score",
    "span_term",
    "span_not",
    "span_within",
    "span_containing",
    "span_field_masking",
    "field_masking_span",
    "span_first",
    "span_near",
    "span_gap",
    "span_or",
    "more_like_this",
    "wrapper",
    "common",
    "span_multi",
    "function_score",
    "script_score",
    "simple_query_string",
    "script",
    "geo_distance",
    "geo_bounding_box",
    "geo_polygon",
    "exists",
    "match_none",
    "terms_set",
    "intervals",
};
constexpr std::array<std::string_view, 3> more_opensearch_queries = {
    "distance_feature", "match_bool_prefix", "geo_shape"};

constexpr std::string_view supported_queries =
    "[bool, constant_score, exists, ids, match, match_all, match_none, match_phrase, nested, prefix, range, "
    "term, terms, wildcard]";

// ---- Scalar readers, as AbstractXContentParser coerces them ----

std::string number_text(const json::value& v) {
    if (v.is_int64()) {
        return std::to_string(v.get_int64());
    }
    if (v.is_uint64()) {
        return std::to_string(v.get_uint64());
    }
    std::array<char, 32> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v.get_double());
    std::string s(buf.data(), end);
    if (s.find_first_of(".e") == std::string::npos) {
        s += ".0";  // Java's Double.toString always shows a fraction
    }
    return s;
}

// parser.text() of a value token.
std::string scalar_text(const json::value& v) {
    if (v.is_string()) {
        return std::string(v.get_string());
    }
    if (v.is_bool()) {
        return v.get_bool() ? "true" : "false";
    }
    return number_text(v);
}

result<std::int64_t> int_value(const json::value& v) {
    constexpr double lo = INT32_MIN;
    constexpr double hi = INT32_MAX;
    if (v.is_string()) {
        std::string_view s = v.get_string();
        double d = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
        if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) {
            return error(errc::number_format, cat({"For input string: \"", s, "\""}));
        }
        if (d < lo || d > hi) {
            return illegal(cat({"Value [", s, "] is out of range for an integer"}));
        }
        return static_cast<std::int64_t>(d);
    }
    if (v.is_number()) {
        double d = v.is_double() ? v.get_double() : v.to_number<double>();
        if (d < lo || d > hi) {
            return xcontent(
                cat({"Numeric value (", number_text(v), ") out of range of int (-2147483648 - 2147483647)"})
            );
        }
        if (v.is_int64()) {
            return v.get_int64();
        }
        return static_cast<std::int64_t>(d);
    }
    return xcontent(
        cat({"Current token (", token_name(v), ") not numeric, can not use numeric value accessors"})
    );
}

result<float> float_value(const json::value& v) {
    if (v.is_string()) {
        std::string_view s = v.get_string();
        double d = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
        if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) {
            return error(errc::number_format, cat({"For input string: \"", s, "\""}));
        }
        return static_cast<float>(d);
    }
    if (v.is_number()) {
        return static_cast<float>(v.to_number<double>());
    }
    return xcontent(
        cat({"Current token (", token_name(v), ") not numeric, can not use numeric value accessors"})
    );
}

result<bool> bool_value(const json::value& v) {
    if (v.is_bool()) {
        return v.get_bool();
    }
    if (v.is_string()) {
        std::string_view s = v.get_string();
        if (s == "true") {
            return true;
        }
        if (s == "false") {
            return false;
        }
        return illegal(cat({"Failed to parse value [", s, "] as only [true] or [false] are allowed."}));
    }
    return xcontent(cat({"Current token (", token_name(v), ") not of boolean type"}));
}

// ---- ObjectParser emulation (bool, ids, match_all, match_none, field/score sort) ----

// The value types ObjectParser.ValueType accepts for a declared field.
enum class accepts : std::uint8_t { string, number, boolean, string_array, object_array_or_null, value };

bool token_ok(accepts a, const json::value& v) {
    switch (a) {
        case accepts::string:
            return v.is_string();
        case accepts::number:
            return v.is_number() || v.is_string();
        case accepts::boolean:
            return v.is_bool() || v.is_string();
        case accepts::string_array:
            return v.is_array() || v.is_string();
        case accepts::object_array_or_null:
            return v.is_object() || v.is_array() || v.is_null();
        case accepts::value:
            return is_value(v) || v.is_null();
    }
    return false;
}

struct declared_field {
    std::string_view name;
    accepts type;
};

// Checks `key` against an ObjectParser's declared fields; an unknown key or a wrong token fails the way
// ObjectParser does. Returns the field's index.
result<std::size_t> object_parser_field(
    std::string_view parser_name,
    std::span<const declared_field> fields,
    std::string_view key,
    const json::value& v
) {
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (fields[i].name == key) {
            if (!token_ok(fields[i].type, v)) {
                return xcontent(
                    cat({"[", parser_name, "] ", key, " doesn't support values of type: ", token_name(v)})
                );
            }
            return i;
        }
    }
    std::vector<std::string_view> names;
    names.reserve(fields.size());
    for (const auto& f : fields) {
        names.push_back(f.name);
    }
    return xcontent(cat({"[", parser_name, "] unknown field [", key, "]", did_you_mean(key, names)}));
}

// ObjectParser.parseValue wraps whatever a field parser throws.
error failed_field(std::string_view parser_name, std::string_view key) {
    return xcontent(cat({"[", parser_name, "] failed to parse field [", key, "]"}));
}

// A sort given by name only: `_score` (descending), `_doc`, or a field (ascending).
sort_spec field_or_score(std::string_view name) {
    sort_spec s;
    if (name == "_score") {
        s.target = sort_target::score;
        s.descending = true;
    } else if (name == "_doc") {
        s.target = sort_target::doc;
    } else {
        s.field = name;
    }
    return s;
}

class parser {
public:
    explicit parser(search_request& req) : req_(req) {}

    result<void> parse_source(const json::object& body);

private:
    result<std::uint32_t> inner_query(const json::value& v, int depth);
    result<std::uint32_t> named_query(std::string_view name, const json::object& body, int depth);

    result<std::uint32_t> match_all_or_none(std::string_view name, const json::object& body, query_kind kind);
    result<std::uint32_t> ids(const json::object& body);
    result<std::uint32_t> term(const json::object& body);
    result<std::uint32_t> terms(const json::object& body);
    result<std::uint32_t> match(std::string_view name, const json::object& body, query_kind kind);
    result<std::uint32_t> prefix_or_wildcard(
        std::string_view name, const json::object& body, query_kind kind
    );
    result<std::uint32_t> exists(const json::object& body);
    result<std::uint32_t> range(const json::object& body);
    result<std::uint32_t> bool_query(const json::object& body, int depth);
    result<std::uint32_t> nested(const json::object& body, int depth);
    result<std::uint32_t> constant_score(const json::object& body, int depth);

    result<void> parse_sort(const json::value& v);
    result<void> compound_sort(const json::object& o);
    result<void> parse_fetch_source(const json::value& v);
    result<void> parse_source_array(
        const json::array& a,
        std::string_view key,
        std::vector<std::string_view>& out,
        const std::vector<std::string_view>& opposite
    );

    std::uint32_t add(query_node node) {
        req_.nodes.push_back(std::move(node));
        return static_cast<std::uint32_t>(req_.nodes.size() - 1);
    }

    search_request& req_;
};

// ---- Top level ----

result<void> parser::parse_source(const json::object& body) {
    for (const auto& [key, v] : body) {
        if (is_value(v)) {
            if (key == "from" || key == "size") {
                auto n = int_value(v);
                if (!n) {
                    return n.error();
                }
                if (*n < 0) {
                    return illegal(
                        cat({"[", key, "] parameter cannot be negative, found [", std::to_string(*n), "]"})
                    );
                }
                (key == "from" ? req_.from : req_.size) = *n;
            } else if (key == "timeout" || key == "stats") {
                // Accepted; nothing here runs long enough to time out.
            } else if (key == "terminate_after") {
                if (auto n = int_value(v); !n) {
                    return n.error();
                }
            } else if (key == "min_score") {
                auto f = float_value(v);
                if (!f) {
                    return f.error();
                }
                req_.min_score = *f;
            } else if (key == "version" || key == "seq_no_primary_term" || key == "explain" || key == "track_scores" ||
                       key == "include_named_queries_score" || key == "profile") {
                auto b = bool_value(v);
                if (!b) {
                    return b.error();
                }
                if (key == "version") {
                    req_.version = *b;
                } else if (key == "seq_no_primary_term") {
                    req_.seq_no_primary_term = *b;
                } else if (key == "track_scores") {
                    req_.track_scores = *b;
                }
            } else if (key == "track_total_hits") {
                if (v.is_bool() ||
                    (v.is_string() && (v.get_string() == "true" || v.get_string() == "false"))) {
                    bool on = v.is_bool() ? v.get_bool() : v.get_string() == "true";
                    req_.track_total_hits = on ? track_total_hits_accurate : track_total_hits_disabled;
                } else {
                    auto n = int_value(v);
                    if (!n) {
                        return n.error();
                    }
                    if (*n < track_total_hits_disabled) {
                        return illegal(
                            "[track_total_hits] parameter must be positive or equals to -1, got " +
                            std::to_string(*n)
                        );
                    }
                    req_.track_total_hits = *n;
                }
            } else if (key == "_source") {
                if (auto r = parse_fetch_source(v); !r) {
                    return r;
                }
            } else if (key == "sort") {
                // sort(parser.text()): any value token names a field, even a number.
                if (!v.is_string()) {
                    req_.owned_text.push_back(scalar_text(v));
                    req_.sort.push_back(field_or_score(req_.owned_text.back()));
                } else if (auto r = parse_sort(v); !r) {
                    return r;
                }
            } else if (key == "stored_fields" || key == "search_pipeline" || key == "verbose_pipeline") {
                return illegal(cat({"[", key, "] is not supported by modelrelay"}));
            } else {
                return parsing(cat({"Unknown key for a ", token_name(v), " in [", key, "]."}));
            }
        } else if (v.is_object()) {
            if (key == "query" || key == "post_filter") {
                auto root = inner_query(v, 0);
                if (!root) {
                    return root.error();
                }
                (key == "query" ? req_.query : req_.post_filter) = *root;
            } else if (key == "_source") {
                if (auto r = parse_fetch_source(v); !r) {
                    return r;
                }
            } else if (key == "sort") {
                if (auto r = parse_sort(v); !r) {
                    return r;
                }
            } else if (key == "aggregations" || key == "aggs" || key == "highlight" || key == "suggest" ||
                       key == "script_fields" || key == "indices_boost" || key == "rescore" || key == "ext" ||
                       key == "slice" || key == "collapse" || key == "pit" || key == "search_pipeline" ||
                       key == "derived") {
                return illegal(cat({"[", key, "] is not supported by modelrelay"}));
            } else {
                return parsing(cat({"Unknown key for a START_OBJECT in [", key, "]."}));
            }
        } else if (v.is_array()) {
            if (key == "sort") {
                if (auto r = parse_sort(v); !r) {
                    return r;
                }
            } else if (key == "_source") {
                if (auto r = parse_fetch_source(v); !r) {
                    return r;
                }
            } else if (key == "stats") {
                for (const auto& s : v.get_array()) {
                    if (!s.is_string()) {
                        return parsing(
                            cat({"Expected [VALUE_STRING] in [stats] but found [", token_name(s), "]"})
                        );
                    }
                }
            } else if (key == "stored_fields" || key == "docvalue_fields" || key == "fields" || key == "indices_boost" ||
                       key == "rescore" || key == "search_after") {
                return illegal(cat({"[", key, "] is not supported by modelrelay"}));
            } else {
                return parsing(cat({"Unknown key for a START_ARRAY in [", key, "]."}));
            }
        } else {
            return parsing(cat({"Unknown key for a ", token_name(v), " in [", key, "]."}));
        }
    }
    return {};
}

// ---- Queries ----

result<std::uint32_t> parser::inner_query(const json::value& v, int depth) {
    if (depth > 64) {
        return parsing("query is nested too deeply");
    }
    if (!v.is_object()) {
        return parsing("[_na] query malformed, must start with start_object");
    }
    const auto& o = v.get_object();
    if (o.empty()) {
        return illegal("query malformed, empty clause found");
    }
    const auto& [name, body] = *o.begin();
    if (!body.is_object()) {
        return parsing(cat({"[", name, "] query malformed, no start_object after query name"}));
    }
    auto node = named_query(name, body.get_object(), depth);
    if (!node) {
        return node;
    }
    if (o.size() > 1) {
        return parsing(cat({"[", name, "] malformed query, expected [END_OBJECT] but found [FIELD_NAME]"}));
    }
    return node;
}

result<std::uint32_t> parser::named_query(std::string_view name, const json::object& body, int depth) {
    if (name == "match_all") {
        return match_all_or_none(name, body, query_kind::match_all);
    }
    if (name == "match_none") {
        return match_all_or_none(name, body, query_kind::match_none);
    }
    if (name == "ids") {
        return ids(body);
    }
    if (name == "term") {
        return term(body);
    }
    if (name == "terms") {
        return terms(body);
    }
    if (name == "match") {
        return match(name, body, query_kind::match);
    }
    if (name == "match_phrase") {
        return match(name, body, query_kind::match_phrase);
    }
    if (name == "prefix") {
        return prefix_or_wildcard(name, body, query_kind::prefix);
    }
    if (name == "wildcard") {
        return prefix_or_wildcard(name, body, query_kind::wildcard);
    }
    if (name == "exists") {
        return exists(body);
    }
    if (name == "range") {
        return range(body);
    }
    if (name == "bool") {
        return bool_query(body, depth);
    }
    if (name == "nested") {
        return nested(body, depth);
    }
    if (name == "constant_score") {
        return constant_score(body, depth);
    }
    auto known = [&](auto const& list) {
        return std::find(list.begin(), list.end(), name) != list.end();
    };
    if (known(opensearch_queries) || known(more_opensearch_queries)) {
        return illegal(cat(
            {"[",
             name,
             "] queries are not supported by modelrelay; supported queries are ",
             supported_queries}
        ));
    }
    std::vector<std::string_view> candidates(opensearch_queries.begin(), opensearch_queries.end());
    candidates.insert(candidates.end(), more_opensearch_queries.begin(), more_opensearch_queries.end());
    return parsing(cat({"unknown query [", name, "]", did_you_mean(name, candidates)}));
}

constexpr declared_field standard_fields[] = {{"boost", accepts::number}, {"_name", accepts::string}};

// Reads `boost` / `_name` of an ObjectParser-based query.
result<void> standard_field(
    std::string_view parser_name, std::size_t index, const json::value& v, query_node& node
) {
    if (index == 0) {
        auto f = float_value(v);
        if (!f) {
            return failed_field(parser_name, "boost");
        }
        node.boost = *f;
    }
    return {};
}

result<std::uint32_t> parser::match_all_or_none(
    std::string_view name, const json::object& body, query_kind kind
) {
    query_node node;
    node.kind = kind;
    for (const auto& [key, v] : body) {
        auto i = object_parser_field(name, standard_fields, key, v);
        if (!i) {
            return i.error();
        }
        if (auto r = standard_field(name, *i, v, node); !r) {
            return r.error();
        }
    }
    return add(std::move(node));
}

result<std::uint32_t> parser::ids(const json::object& body) {
    constexpr declared_field fields[] = {
        {"boost", accepts::number},
        {"_name", accepts::string},
        {"values", accepts::string_array},
    };
    query_node node;
    node.kind = query_kind::ids;
    for (const auto& [key, v] : body) {
        auto i = object_parser_field("ids", fields, key, v);
        if (!i) {
            return i.error();
        }
        if (*i < 2) {
            if (auto r = standard_field("ids", *i, v, node); !r) {
                return r.error();
            }
            continue;
        }
        if (v.is_string()) {
            node.values.push_back(&v);
            continue;
        }
        for (const auto& id : v.get_array()) {
            if (!is_value(id)) {
                return failed_field("ids", key);
            }
            node.values.push_back(&id);
        }
    }
    return add(std::move(node));
}

result<std::uint32_t> parser::term(const json::object& body) {
    query_node node;
    node.kind = query_kind::term;
    bool have_field = false;
    for (const auto& [key, v] : body) {
        if (v.is_object()) {
            if (have_field) {
                return parsing(cat(
                    {"[term] query doesn't support multiple fields, found [", node.field, "] and [", key, "]"}
                ));
            }
            have_field = true;
            node.field = key;
            for (const auto& [k, p] : v.get_object()) {
                if (k == "term" || k == "value") {
                    node.value = p.is_null() ? nullptr : &p;
                } else if (k == "_name") {
                    continue;
                } else if (k == "boost") {
                    auto f = float_value(p);
                    if (!f) {
                        return f.error();
                    }
                    node.boost = *f;
                } else if (k == "case_insensitive") {
                    auto b = bool_value(p);
                    if (!b) {
                        return b.error();
                    }
                    node.case_insensitive = *b;
                } else {
                    return parsing(cat({"[term] query does not support [", k, "]"}));
                }
            }
        } else if (is_value(v)) {
            if (have_field) {
                return parsing(cat(
                    {"[term] query doesn't support multiple fields, found [", node.field, "] and [", key, "]"}
                ));
            }
            have_field = true;
            node.field = key;
            node.value = &v;
        } else if (v.is_array()) {
            return parsing("[term] query does not support array of values");
        }
    }
    if (node.field.empty()) {
        return illegal("field name is null or empty");
    }
    if (node.value == nullptr) {
        return illegal("value cannot be null");
    }
    return add(std::move(node));
}

result<std::uint32_t> parser::terms(const json::object& body) {
    query_node node;
    node.kind = query_kind::terms;
    bool have_field = false;
    for (const auto& [key, v] : body) {
        if (v.is_array()) {
            if (have_field) {
                return parsing("[terms] query does not support multiple fields");
            }
            have_field = true;
            node.field = key;
            for (const auto& t : v.get_array()) {
                if (t.is_null()) {
                    return parsing("No value specified for terms query");
                }
                node.values.push_back(&t);
            }
        } else if (v.is_object()) {
            if (have_field) {
                return parsing(cat(
                    {"[terms] query does not support more than one field. Already got: [",
                     node.field,
                     "] but also found [",
                     key,
                     "]"}
                ));
            }
            return illegal("[terms] lookup is not supported by modelrelay");
        } else if (is_value(v)) {
            if (key == "boost") {
                auto f = float_value(v);
                if (!f) {
                    return f.error();
                }
                node.boost = *f;
            } else if (key == "_name") {
                continue;
            } else if (key == "value_type") {
                if (!v.is_string() || v.get_string() != "default") {
                    return illegal(
                        cat({"[terms] value_type [", scalar_text(v), "] is not supported by modelrelay"})
                    );
                }
            } else {
                return parsing(cat({"[terms] query does not support [", key, "]"}));
            }
        } else {
            return parsing(cat({"[terms] unknown token [", token_name(v), "] after [", key, "]"}));
        }
    }
    if (!have_field) {
        return parsing(
            "[terms] query requires a field name, followed by array of terms or a document lookup "
            "specification"
        );
    }
    if (node.field.empty()) {
        return illegal("field name cannot be null.");
    }
    return add(std::move(node));
}

result<std::uint32_t> parser::match(std::string_view name, const json::object& body, query_kind kind) {
    const bool phrase = kind == query_kind::match_phrase;
    query_node node;
    node.kind = kind;
    bool have_field = false;
    for (const auto& [key, v] : body) {
        if (v.is_object()) {
            if (have_field) {
                return parsing(cat(
                    {"[",
                     name,
                     "] query doesn't support multiple fields, found [",
                     node.field,
                     "] and [",
                     key,
                     "]"}
                ));
            }
            have_field = true;
            node.field = key;
            for (const auto& [k, p] : v.get_object()) {
                if (!is_value(p)) {
                    return parsing(cat({"[", name, "] unknown token [", token_name(p), "] after [", k, "]"}));
                }
                if (k == "query") {
                    node.value = &p;
                } else if (k == "analyzer") {
                    if (scalar_text(p) != "standard" && scalar_text(p) != "default") {
                        return illegal(cat(
                            {"[", name, "] analyzer [", scalar_text(p), "] is not supported by modelrelay"}
                        ));
                    }
                } else if (k == "boost") {
                    auto f = float_value(p);
                    if (!f) {
                        return f.error();
                    }
                    node.boost = *f;
                } else if (k == "_name") {
                    continue;
                } else if (k == "zero_terms_query") {
                    std::string z = search_detail::ascii_lower(scalar_text(p));
                    if (z != "none" && z != "all") {
                        return parsing(cat({"Unsupported zero_terms_query value [", scalar_text(p), "]"}));
                    }
                    node.zero_terms_all = z == "all";
                } else if (phrase && k == "slop") {
                    auto n = int_value(p);
                    if (!n) {
                        return n.error();
                    }
                    node.slop = static_cast<std::int32_t>(*n);
                } else if (!phrase && k == "operator") {
                    std::string op = search_detail::ascii_lower(scalar_text(p));
                    if (op != "or" && op != "and") {
                        std::string upper = scalar_text(p);
                        std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) {
                            return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
                        });
                        return illegal("No enum constant org.opensearch.index.query.Operator." + upper);
                    }
                    node.operator_and = op == "and";
                } else if (!phrase && k == "minimum_should_match") {
                    node.minimum_should_match = &p;
                } else if (!phrase && k == "fuzziness") {
                    return illegal("[match] fuzziness is not supported by modelrelay");
                } else if (!phrase && (k == "prefix_length" || k == "max_expansions" || k == "cutoff_frequency")) {
                    if (auto n = float_value(p); !n) {
                        return n.error();
                    }
                } else if (!phrase && (k == "fuzzy_transpositions" || k == "lenient" || k == "auto_generate_synonyms_phrase_query")) {
                    if (auto b = bool_value(p); !b) {
                        return b.error();
                    }
                } else if (!phrase && k == "fuzzy_rewrite") {
                    continue;
                } else {
                    return parsing(cat({"[", name, "] query does not support [", k, "]"}));
                }
            }
        } else {
            if (have_field) {
                return parsing(cat(
                    {"[",
                     name,
                     "] query doesn't support multiple fields, found [",
                     node.field,
                     "] and [",
                     key,
                     "]"}
                ));
            }
            if (v.is_array()) {
                return parsing(cat({"[", name, "] unknown token [START_ARRAY] after [", key, "]"}));
            }
            have_field = true;
            node.field = key;
            node.value = v.is_null() ? nullptr : &v;
        }
    }
    if (!phrase) {
        if (node.value == nullptr) {
            return parsing("No text specified for text query");
        }
        return add(std::move(node));
    }
    if (node.field.empty()) {
        return illegal("[match_phrase] requires fieldName");
    }
    if (node.value == nullptr) {
        return illegal("[match_phrase] requires query value");
    }
    return add(std::move(node));
}

result<std::uint32_t> parser::prefix_or_wildcard(
    std::string_view name, const json::object& body, query_kind kind
) {
    query_node node;
    node.kind = kind;
    bool have_field = false;
    for (const auto& [key, v] : body) {
        if (have_field) {
            return parsing(cat(
                {"[",
                 name,
                 "] query doesn't support multiple fields, found [",
                 node.field,
                 "] and [",
                 key,
                 "]"}
            ));
        }
        have_field = true;
        node.field = key;
        if (!v.is_object()) {
            node.value = is_value(v) ? &v : nullptr;
            continue;
        }
        for (const auto& [k, p] : v.get_object()) {
            if (k == "value" || k == name) {
                node.value = is_value(p) ? &p : nullptr;
            } else if (k == "boost") {
                auto f = float_value(p);
                if (!f) {
                    return f.error();
                }
                node.boost = *f;
            } else if (k == "case_insensitive") {
                auto b = bool_value(p);
                if (!b) {
                    return b.error();
                }
                node.case_insensitive = *b;
            } else if (k == "_name" || k == "rewrite") {
                continue;
            } else {
                return parsing(cat({"[", name, "] query does not support [", k, "]"}));
            }
        }
    }
    if (node.field.empty()) {
        return illegal("field name is null or empty");
    }
    if (node.value == nullptr) {
        return illegal("value cannot be null");
    }
    return add(std::move(node));
}

result<std::uint32_t> parser::exists(const json::object& body) {
    query_node node;
    node.kind = query_kind::exists;
    bool have_field = false;
    for (const auto& [key, v] : body) {
        if (!is_value(v)) {
            return parsing(cat({"[exists] unknown token [", token_name(v), "] after [", key, "]"}));
        }
        if (key == "field") {
            if (!v.is_string()) {
                return parsing("[exists] query does not support [field]");
            }
            node.field = v.get_string();
            have_field = true;
        } else if (key == "boost") {
            auto f = float_value(v);
            if (!f) {
                return f.error();
            }
            node.boost = *f;
        } else if (key != "_name") {
            return parsing(cat({"[exists] query does not support [", key, "]"}));
        }
    }
    if (!have_field) {
        return parsing("[exists] must be provided with a [field]");
    }
    if (node.field.empty()) {
        return illegal("field name is null or empty");
    }
    return add(std::move(node));
}

result<std::uint32_t> parser::range(const json::object& body) {
    query_node node;
    node.kind = query_kind::range;
    bool have_field = false;
    for (const auto& [key, v] : body) {
        if (v.is_object()) {
            if (have_field) {
                return parsing(cat(
                    {"[range] query doesn't support multiple fields, found [",
                     node.field,
                     "] and [",
                     key,
                     "]"}
                ));
            }
            have_field = true;
            node.field = key;
            for (const auto& [k, p] : v.get_object()) {
                const json::value* bound = p.is_null() ? nullptr : &p;
                if (k == "from") {
                    node.lower = bound;
                } else if (k == "to") {
                    node.upper = bound;
                } else if (k == "gt" || k == "gte") {
                    node.lower = bound;
                    node.include_lower = k == "gte";
                } else if (k == "lt" || k == "lte") {
                    node.upper = bound;
                    node.include_upper = k == "lte";
                } else if (k == "include_lower" || k == "include_upper") {
                    auto b = bool_value(p);
                    if (!b) {
                        return b.error();
                    }
                    (k == "include_lower" ? node.include_lower : node.include_upper) = *b;
                } else if (k == "boost") {
                    auto f = float_value(p);
                    if (!f) {
                        return f.error();
                    }
                    node.boost = *f;
                } else if (k == "time_zone") {
                    std::string tz = scalar_text(p);
                    if (tz != "UTC" && tz != "Z" && tz != "+00:00" && tz != "Etc/UTC" && tz != "GMT") {
                        return illegal(
                            cat({"[range] time_zone [", tz, "] is not supported by modelrelay (only UTC)"})
                        );
                    }
                } else if (k == "format" || k == "relation" || k == "_name") {
                    continue;
                } else {
                    return parsing(cat({"[range] query does not support [", k, "]"}));
                }
            }
        } else if (is_value(v)) {
            if (key == "boost") {
                auto f = float_value(v);
                if (!f) {
                    return f.error();
                }
                node.boost = *f;
            } else if (key != "_name") {
                return parsing(cat({"[range] query does not support [", key, "]"}));
            }
        }
    }
    if (node.field.empty()) {
        return illegal("field name is null or empty");
    }
    return add(std::move(node));
}

result<std::uint32_t> parser::bool_query(const json::object& body, int depth) {
    constexpr declared_field fields[] = {
        {"boost", accepts::number},
        {"_name", accepts::string},
        {"must", accepts::object_array_or_null},
        {"should", accepts::object_array_or_null},
        {"must_not", accepts::object_array_or_null},
        {"filter", accepts::object_array_or_null},
        {"adjust_pure_negative", accepts::boolean},
        {"minimum_should_match", accepts::value},
    };
    query_node node;
    node.kind = query_kind::bool_query;
    std::vector<std::uint32_t> clauses;
    for (const auto& [key, v] : body) {
        auto i = object_parser_field("bool", fields, key, v);
        if (!i) {
            return i.error();
        }
        if (*i < 2) {
            if (auto r = standard_field("bool", *i, v, node); !r) {
                return r.error();
            }
            continue;
        }
        if (*i == 6) {
            if (!bool_value(v)) {
                return failed_field("bool", key);
            }
            continue;
        }
        if (*i == 7) {
            node.minimum_should_match = v.is_null() ? nullptr : &v;
            continue;
        }
        clauses.clear();
        if (v.is_object()) {
            auto q = inner_query(v, depth + 1);
            if (!q) {
                return failed_field("bool", key);
            }
            clauses.push_back(*q);
        } else if (v.is_array()) {
            for (const auto& c : v.get_array()) {
                auto q = inner_query(c, depth + 1);
                if (!q) {
                    return failed_field("bool", key);
                }
                clauses.push_back(*q);
            }
        }
        auto& target = *i == 2 ? node.must : *i == 3 ? node.should : *i == 4 ? node.must_not : node.filter;
        target.insert(target.end(), clauses.begin(), clauses.end());
    }
    return add(std::move(node));
}

result<std::uint32_t> parser::nested(const json::object& body, int depth) {
    query_node node;
    node.kind = query_kind::nested;
    bool have_query = false;
    bool have_path = false;
    for (const auto& [key, v] : body) {
        if (v.is_object()) {
            if (key == "query") {
                auto q = inner_query(v, depth + 1);
                if (!q) {
                    return q;
                }
                node.child = *q;
                have_query = true;
            } else if (key == "inner_hits") {
                return illegal("[nested] inner_hits is not supported by modelrelay");
            } else {
                return parsing(cat({"[nested] query does not support [", key, "]"}));
            }
        } else if (is_value(v)) {
            if (key == "path") {
                if (!v.is_string()) {
                    return parsing("[nested] query does not support [path]");
                }
                node.field = v.get_string();
                have_path = true;
            } else if (key == "boost") {
                auto f = float_value(v);
                if (!f) {
                    return f.error();
                }
                node.boost = *f;
            } else if (key == "ignore_unmapped") {
                if (auto b = bool_value(v); !b) {
                    return b.error();
                }
            } else if (key == "score_mode") {
                std::string m = scalar_text(v);
                if (m == "none") {
                    node.score_mode = nested_score_mode::none;
                } else if (m == "min") {
                    node.score_mode = nested_score_mode::min;
                } else if (m == "max") {
                    node.score_mode = nested_score_mode::max;
                } else if (m == "avg") {
                    node.score_mode = nested_score_mode::avg;
                } else if (m == "sum") {
                    node.score_mode = nested_score_mode::sum;
                } else {
                    return illegal(cat({"No score mode for child query [", m, "] found"}));
                }
            } else if (key != "_name") {
                return parsing(cat({"[nested] query does not support [", key, "]"}));
            }
        }
    }
    if (!have_path) {
        return illegal("[nested] requires 'path' field");
    }
    if (!have_query) {
        return illegal("[nested] requires 'query' field");
    }
    return add(std::move(node));
}

result<std::uint32_t> parser::constant_score(const json::object& body, int depth) {
    query_node node;
    node.kind = query_kind::constant_score;
    bool have_filter = false;
    for (const auto& [key, v] : body) {
        if (v.is_object()) {
            if (key != "filter") {
                return parsing(cat({"[constant_score] query does not support [", key, "]"}));
            }
            if (have_filter) {
                return parsing("[constant_score] accepts only one 'filter' element.");
            }
            auto q = inner_query(v, depth + 1);
            if (!q) {
                return q;
            }
            node.child = *q;
            have_filter = true;
        } else if (is_value(v)) {
            if (key == "boost") {
                auto f = float_value(v);
                if (!f) {
                    return f.error();
                }
                node.boost = *f;
            } else if (key != "_name") {
                return parsing(cat({"[constant_score] query does not support [", key, "]"}));
            }
        } else {
            return parsing(cat({"unexpected token [", token_name(v), "]"}));
        }
    }
    if (!have_filter) {
        return parsing("[constant_score] requires a 'filter' element");
    }
    return add(std::move(node));
}

// ---- sort (SortBuilder.fromXContent) ----

result<bool> sort_order(std::string_view text) {
    std::string lower = search_detail::ascii_lower(text);
    if (lower == "asc") {
        return false;
    }
    if (lower == "desc") {
        return true;
    }
    return illegal(cat({"Unknown SortOrder [", text, "]"}));
}

result<void> parser::parse_sort(const json::value& v) {
    if (v.is_string()) {
        req_.sort.push_back(field_or_score(v.get_string()));
        return {};
    }
    if (v.is_object()) {
        return compound_sort(v.get_object());
    }
    if (v.is_array()) {
        for (const auto& item : v.get_array()) {
            if (item.is_string()) {
                req_.sort.push_back(field_or_score(item.get_string()));
            } else if (item.is_object()) {
                if (auto r = compound_sort(item.get_object()); !r) {
                    return r;
                }
            } else {
                return illegal(
                    "malformed sort format, within the sort array, an object, or an actual string are allowed"
                );
            }
        }
        return {};
    }
    return illegal("malformed sort format, either start with array, object, or an actual string");
}

result<void> parser::compound_sort(const json::object& o) {
    constexpr declared_field field_sort_fields[] = {
        {"missing", accepts::value},
        {"order", accepts::string},
        {"mode", accepts::string},
        {"unmapped_type", accepts::string},
        {"numeric_type", accepts::string},
        {"format", accepts::string},
        {"nested", accepts::object_array_or_null},
        {"nested_path", accepts::string},
        {"nested_filter", accepts::object_array_or_null},
    };
    constexpr declared_field score_sort_fields[] = {{"order", accepts::string}};
    for (const auto& [name, v] : o) {
        sort_spec s = field_or_score(name);
        if (v.is_string()) {
            auto desc = sort_order(v.get_string());
            if (!desc) {
                return desc.error();
            }
            s.descending = *desc;
            req_.sort.push_back(s);
            continue;
        }
        const bool score = s.target == sort_target::score;
        std::string_view parser_name = score ? "_score" : "field_sort";
        if (!v.is_object()) {
            return xcontent(cat({"[", parser_name, "] Expected START_OBJECT but was: ", token_name(v)}));
        }
        for (const auto& [k, p] : v.get_object()) {
            auto i = score ? object_parser_field(parser_name, score_sort_fields, k, p)
                           : object_parser_field(parser_name, field_sort_fields, k, p);
            if (!i) {
                return i.error();
            }
            std::string_view field_name = score ? score_sort_fields[*i].name : field_sort_fields[*i].name;
            if (field_name == "order") {
                auto desc = sort_order(p.get_string());
                if (!desc) {
                    return failed_field(parser_name, k);
                }
                s.descending = *desc;
            } else if (field_name == "missing") {
                if (p.is_string() && p.get_string() == "_last") {
                    s.missing_first = false;
                } else if (p.is_string() && p.get_string() == "_first") {
                    s.missing_first = true;
                } else if (!p.is_null()) {
                    s.missing_value = &p;
                }
            } else if (field_name == "mode") {
                std::string m = search_detail::ascii_lower(p.get_string());
                if (m == "min") {
                    s.mode = sort_mode::min;
                } else if (m == "max") {
                    s.mode = sort_mode::max;
                } else if (m == "sum") {
                    s.mode = sort_mode::sum;
                } else if (m == "avg") {
                    s.mode = sort_mode::avg;
                } else if (m == "median") {
                    s.mode = sort_mode::median;
                } else {
                    return failed_field(parser_name, k);
                }
            } else if (field_name == "nested" || field_name == "nested_path" || field_name == "nested_filter") {
                return illegal(cat({"[", field_name, "] sort option is not supported by modelrelay"}));
            } else if (field_name == "unmapped_type") {
                s.unmapped_type = true;
            }
            // The type named by unmapped_type, numeric_type and format change nothing for in-memory values.
        }
        req_.sort.push_back(s);
    }
    return {};
}

// ---- _source (FetchSourceContext.fromXContent) ----

constexpr std::string_view ambiguous_source =
    "The same entry cannot be both included and excluded in _source.";

result<void> parser::parse_source_array(
    const json::array& a,
    std::string_view key,
    std::vector<std::string_view>& out,
    const std::vector<std::string_view>& opposite
) {
    out.clear();
    for (const auto& e : a) {
        if (!e.is_string()) {
            return parsing(cat({"Unknown key for a ", token_name(e), " in [", key, "]."}));
        }
        std::string_view entry = e.get_string();
        if (std::find(opposite.begin(), opposite.end(), entry) != opposite.end()) {
            // OpenSearch throws a bare OpenSearchException here: type `exception`, status 500.
            return error(errc::exception, std::string(ambiguous_source));
        }
        if (std::find(out.begin(), out.end(), entry) == out.end()) {
            out.push_back(entry);
        }
    }
    if (out.empty()) {
        std::string_view preferred =
            key == "include" || key == "includes" || key == "_source" ? "includes" : "excludes";
        return parsing(cat({"Expected at least one value for an array of [", preferred, "]"}));
    }
    return {};
}

result<void> parser::parse_fetch_source(const json::value& v) {
    source_filter& src = req_.source;
    src = source_filter{};
    if (v.is_bool()) {
        src.fetch = v.get_bool();
        return {};
    }
    if (v.is_string()) {
        src.includes.push_back(v.get_string());
        return {};
    }
    if (v.is_array()) {
        return parse_source_array(v.get_array(), "_source", src.includes, src.excludes);
    }
    if (!v.is_object()) {
        return parsing(cat(
            {"Expected one of [VALUE_BOOLEAN, VALUE_STRING, START_ARRAY, START_OBJECT] but found [",
             token_name(v),
             "]"}
        ));
    }
    for (const auto& [key, p] : v.get_object()) {
        const bool inc = key == "includes" || key == "include";
        const bool exc = key == "excludes" || key == "exclude";
        if (p.is_array() && (inc || exc)) {
            auto r = inc ? parse_source_array(p.get_array(), key, src.includes, src.excludes)
                         : parse_source_array(p.get_array(), key, src.excludes, src.includes);
            if (!r) {
                return r;
            }
        } else if (p.is_string() && (inc || exc)) {
            const auto& opposite = inc ? src.excludes : src.includes;
            if (std::find(opposite.begin(), opposite.end(), p.get_string()) != opposite.end()) {
                return error(errc::exception, std::string(ambiguous_source));
            }
            // Spelled out: gcc 12 at -O3 miscompiles `(c ? a : b) = {view}` into a garbage view here.
            const std::string_view text = p.get_string();
            auto& target = inc ? src.includes : src.excludes;
            target.assign(1, text);
        } else {
            return parsing(cat({"Unknown key for a ", token_name(p), " in [", key, "]."}));
        }
    }
    return {};
}

}  // namespace

result<search_request> parse_search(const json::value* body) {
    if (body == nullptr) {
        return error(errc::parse_failed, "request body or source parameter is required");
    }
    if (!body->is_object()) {
        return parsing(cat({"Expected [START_OBJECT] but found [", token_name(*body), "]"}));
    }
    search_request req;
    parser p(req);
    if (auto r = p.parse_source(body->get_object()); !r) {
        return r.error();
    }
    return req;
}

}  // namespace modelrelay::registry
