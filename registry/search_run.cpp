// File: search_run.cpp
// run_search(): evaluates a parsed search_request over in-memory documents and renders OpenSearch's
// SearchResponse. Three steps: bind (resolve every query field against the mapping and pre-parse query
// values once, which is also where value errors surface, as OpenSearch raises them when it builds the Lucene
// query), match+score every candidate, then sort, page and render hits with `_source` filtering.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <string>
#include <unordered_map>
#include <utility>

#include <boost/json/serialize.hpp>

#include "registry/search.hpp"
#include "registry/search_text.hpp"

namespace modelrelay::registry {
namespace {

namespace json = boost::json;
using search_detail::analyze;

std::string cat(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (auto p : parts) {
        out += p;
    }
    return out;
}

// ---- Field resolution ----

// How a field compares: by mapping, or `dynamic` (decided per document value like a dynamic mapping would).
enum class sem : std::uint8_t { text, keyword, integer, floating, boolean, date, id, dynamic, none };

struct bound_field {
    sem kind = sem::dynamic;
    std::string_view path;    // where the values are read (`.keyword` stripped)
    std::string_view nested;  // the nested mapping path covering `path`, "" when none
    bool flat_root = false;   // a flat_object root: every leaf below counts
};

const field_mapping* find_mapping(index_mapping m, std::string_view path) {
    for (const auto& f : m) {
        if (f.path == path) {
            return &f;
        }
    }
    return nullptr;
}

bool under(std::string_view path, std::string_view root) {
    return path.size() > root.size() && path.substr(0, root.size()) == root && path[root.size()] == '.';
}

bool under_flat_object(index_mapping m, std::string_view path) {
    return std::any_of(m.begin(), m.end(), [&](const field_mapping& f) {
        return f.type == field_type::flat_object && under(path, f.path);
    });
}

sem sem_of(field_type t) {
    switch (t) {
        case field_type::text:
            return sem::text;
        case field_type::keyword:
        case field_type::flat_object:
            return sem::keyword;
        case field_type::integer:
            return sem::integer;
        case field_type::floating:
            return sem::floating;
        case field_type::boolean:
            return sem::boolean;
        case field_type::date:
            return sem::date;
        case field_type::nested:
            return sem::none;
    }
    return sem::dynamic;
}

bound_field resolve(std::string_view field, index_mapping m, std::span<const std::string_view> hidden) {
    bound_field f;
    f.path = field;
    for (std::string_view h : hidden) {
        if (field == h || under(field, h)) {
            f.kind = sem::none;  // as if unmapped: matches nothing, sorts as missing
            return f;
        }
    }
    if (field == "_id") {
        f.kind = sem::id;
        return f;
    }
    if (const auto* fm = find_mapping(m, field)) {
        f.kind = sem_of(fm->type);
        f.flat_root = fm->type == field_type::flat_object;
    } else if (under_flat_object(m, field)) {
        f.kind = sem::keyword;
    } else if (field.size() > 8 && field.substr(field.size() - 8) == ".keyword") {
        std::string_view base = field.substr(0, field.size() - 8);
        const auto* bm = find_mapping(m, base);
        if (bm == nullptr || (bm->type == field_type::text && bm->keyword_subfield)) {
            f.kind = sem::keyword;  // the keyword sub-field, mapped or dynamic
            f.path = base;
        } else {
            f.kind = sem::none;  // `<field>.keyword` of a field without one: unmapped, matches nothing
        }
    }
    for (const auto& n : m) {
        if (n.type == field_type::nested && under(f.path, n.path) && n.path.size() > f.nested.size()) {
            f.nested = n.path;
        }
    }
    return f;
}

std::string_view type_name(sem s) {
    switch (s) {
        case sem::integer:
            return "long";
        case sem::floating:
            return "float";
        case sem::boolean:
            return "boolean";
        case sem::date:
            return "date";
        default:
            return "object";
    }
}

// ---- Document values ----

// One scalar of a document (or the document id).
struct scalar {
    enum class type : std::uint8_t { string, integer, floating, boolean } t = type::string;
    std::string_view str;
    std::int64_t i = 0;
    double d = 0;
    bool b = false;
};

std::optional<scalar> to_scalar(const json::value& v) {
    scalar s;
    switch (v.kind()) {
        case json::kind::string:
            s.t = scalar::type::string;
            s.str = v.get_string();
            return s;
        case json::kind::int64:
            s.t = scalar::type::integer;
            s.i = v.get_int64();
            s.d = static_cast<double>(s.i);
            return s;
        case json::kind::uint64:
            s.t = scalar::type::floating;
            s.d = static_cast<double>(v.get_uint64());
            return s;
        case json::kind::double_:
            s.t = scalar::type::floating;
            s.d = v.get_double();
            return s;
        case json::kind::bool_:
            s.t = scalar::type::boolean;
            s.b = v.get_bool();
            return s;
        default:
            return std::nullopt;
    }
}

std::string double_text(double d) {
    std::array<char, 32> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), d);
    std::string s(buf.data(), end);
    if (s.find_first_of(".e") == std::string::npos) {
        s += ".0";
    }
    return s;
}

// The value as an indexed keyword would hold it.
std::string_view scalar_string(const scalar& s, std::string& buf) {
    switch (s.t) {
        case scalar::type::string:
            return s.str;
        case scalar::type::integer:
            buf = std::to_string(s.i);
            return buf;
        case scalar::type::floating:
            buf = double_text(s.d);
            return buf;
        case scalar::type::boolean:
            return s.b ? "true" : "false";
    }
    return {};
}

std::optional<double> parse_double(std::string_view s) {
    double d = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) {
        return std::nullopt;
    }
    return d;
}

std::optional<double> scalar_number(const scalar& s) {
    switch (s.t) {
        case scalar::type::integer:
        case scalar::type::floating:
            return s.d;
        case scalar::type::string:
            return parse_double(s.str);
        case scalar::type::boolean:
            return std::nullopt;
    }
    return std::nullopt;
}

std::optional<bool> scalar_bool(const scalar& s) {
    if (s.t == scalar::type::boolean) {
        return s.b;
    }
    if (s.t == scalar::type::string && (s.str == "true" || s.str == "false")) {
        return s.str == "true";
    }
    return std::nullopt;
}

std::optional<std::int64_t> scalar_date(const scalar& s) {
    if (s.t == scalar::type::integer) {
        return s.i;
    }
    if (s.t == scalar::type::floating) {
        return static_cast<std::int64_t>(s.d);
    }
    if (s.t == scalar::type::string) {
        return search_detail::parse_date_millis(s.str, 0, false);
    }
    return std::nullopt;
}

// Visits every non-null value reached by the dotted `path` below `v`; arrays are flattened and keys that
// themselves contain dots are honoured, as OpenSearch's source lookup does.
template <class F>
void collect(const json::value& v, std::string_view path, F& emit);

template <class F>
void collect_object(const json::object& o, std::string_view path, F& emit) {
    for (const auto& [key, val] : o) {
        std::string_view k = key;
        if (path == k) {
            collect(val, {}, emit);
        } else if (under(path, k)) {
            collect(val, path.substr(k.size() + 1), emit);
        }
    }
}

template <class F>
void collect(const json::value& v, std::string_view path, F& emit) {
    if (v.is_array()) {
        for (const auto& e : v.get_array()) {
            collect(e, path, emit);
        }
    } else if (path.empty()) {
        if (!v.is_null()) {
            emit(v);
        }
    } else if (v.is_object()) {
        collect_object(v.get_object(), path, emit);
    }
}

template <class F>
void collect_leaves(const json::value& v, F& emit) {
    if (v.is_object()) {
        for (const auto& [k, val] : v.get_object()) {
            collect_leaves(val, emit);
        }
    } else if (v.is_array()) {
        for (const auto& e : v.get_array()) {
            collect_leaves(e, emit);
        }
    } else if (!v.is_null()) {
        emit(v);
    }
}

// The nested object a `nested` query is looking at.
struct scope {
    std::string_view path;
    const json::object* object = nullptr;
};

// Visits the scalars of `f` in `doc` as seen from `sc`. Fields below a nested mapping are only visible
// inside a `nested` query on that path (OpenSearch keeps nested objects as separate hidden documents).
template <class F>
void for_each_scalar(
    const search_doc& doc, const bound_field& f, const scope& sc, bool ignore_nesting, F&& fn
) {
    if (f.kind == sem::none) {
        return;
    }
    if (f.kind == sem::id) {
        scalar s;
        s.str = doc.id;
        fn(s);
        return;
    }
    auto emit_scalar = [&](const json::value& v) {
        if (auto s = to_scalar(v)) {
            fn(*s);
        }
    };
    auto emit = [&](const json::value& v) {
        if (f.flat_root) {
            collect_leaves(v, emit_scalar);
        } else {
            emit_scalar(v);
        }
    };
    if (!ignore_nesting && !f.nested.empty()) {
        if (sc.object == nullptr || sc.path != f.nested) {
            return;
        }
        collect_object(*sc.object, f.path.substr(f.nested.size() + 1), emit);
        return;
    }
    if (!ignore_nesting && sc.object != nullptr && under(f.path, sc.path)) {
        collect_object(*sc.object, f.path.substr(sc.path.size() + 1), emit);
        return;
    }
    collect_object(*doc.source, f.path, emit);
}

// Tokens of a field in one document, with Lucene positions (a gap of 100 between array values).
void field_tokens(
    const search_doc& doc,
    const bound_field& f,
    const scope& sc,
    bool ignore_nesting,
    std::vector<std::string>& tokens,
    std::vector<std::uint32_t>& positions
) {
    tokens.clear();
    positions.clear();
    const bool analyzed = f.kind == sem::text || f.kind == sem::dynamic;
    std::uint32_t next = 0;
    std::string buf;
    for_each_scalar(doc, f, sc, ignore_nesting, [&](const scalar& s) {
        std::string_view text = scalar_string(s, buf);
        std::size_t before = tokens.size();
        if (analyzed) {
            analyze(text, tokens);
        } else {
            tokens.emplace_back(text);
        }
        for (std::size_t i = before; i < tokens.size(); ++i) {
            positions.push_back(next++);
        }
        next += 100;
    });
}

// ---- Query values, parsed once ----

struct query_value {
    std::string text;  // parser.text()
    std::optional<double> number;
    std::optional<bool> boolean;
    std::optional<std::int64_t> date_ms;
};

std::string json_text(const json::value& v) {
    if (v.is_string()) {
        return std::string(v.get_string());
    }
    if (v.is_bool()) {
        return v.get_bool() ? "true" : "false";
    }
    if (v.is_int64()) {
        return std::to_string(v.get_int64());
    }
    if (v.is_uint64()) {
        return std::to_string(v.get_uint64());
    }
    if (v.is_double()) {
        return double_text(v.get_double());
    }
    return json::serialize(v);
}

query_value make_value(const json::value& v, std::int64_t now_ms, bool round_up) {
    query_value q;
    q.text = json_text(v);
    if (v.is_number()) {
        q.number = v.to_number<double>();
        q.date_ms = static_cast<std::int64_t>(*q.number);
    } else if (v.is_string()) {
        q.number = parse_double(q.text);
        q.date_ms = search_detail::parse_date_millis(q.text, now_ms, round_up);
    }
    if (v.is_bool()) {
        q.boolean = v.get_bool();
    } else if (q.text == "true" || q.text == "false") {
        q.boolean = q.text == "true";
    }
    return q;
}

// The error OpenSearch raises when a mapped field cannot hold the query value.
std::optional<error> check_value(const bound_field& f, const query_value& q) {
    switch (f.kind) {
        case sem::integer:
        case sem::floating:
            if (!q.number) {
                // Numbers.toLong throws its own IllegalArgumentException; a double field's Double.parseDouble
                // throws a NumberFormatException. Same text.
                return error(
                    f.kind == sem::integer ? errc::illegal_argument : errc::number_format,
                    cat({"For input string: \"", q.text, "\""})
                );
            }
            break;
        case sem::boolean:
            if (!q.boolean) {
                return error(
                    errc::illegal_argument,
                    cat({"Can't parse boolean value [", q.text, "], expected [true] or [false]"})
                );
            }
            break;
        case sem::date:
            if (!q.date_ms) {
                return error(
                    errc::parse_failed,
                    // JavaDateMathParser wraps JavaDateFormatter's message in its own.
                    cat(
                        {"failed to parse date field [",
                         q.text,
                         "] with format [strict_date_time||epoch_millis]: [failed to parse date field [",
                         q.text,
                         "] with format [strict_date_time||epoch_millis]]"}
                    )
                );
            }
            break;
        default:
            break;
    }
    return std::nullopt;
}

struct bound_node {
    bound_field field;
    std::vector<query_value> values;  // term, terms, ids; prefix/wildcard pattern in values[0].text
    std::vector<std::string> tokens;  // match / match_phrase, analysed like the field
    std::optional<query_value> lower;
    std::optional<query_value> upper;
    int required = 1;  // match: how many tokens must be present
};

// ---- BM25 over the candidate set ----

struct field_stats {
    double doc_count = 0;
    double total_length = 0;
    std::unordered_map<std::string, double> doc_freq;
};

constexpr double bm25_k1 = 1.2;
constexpr double bm25_b = 0.75;

class runner {
public:
    runner(const search_request& req, std::span<const search_doc> docs, const search_options& opts)
        : req_(req), docs_(docs), opts_(opts) {}

    result<void> bind();
    std::optional<float> eval(std::uint32_t n, const search_doc& doc, const scope& sc);
    const bound_node& bound(std::uint32_t n) const { return bound_[n]; }
    std::int64_t now_ms() const { return now_ms_; }

private:
    result<void> bind_node(std::uint32_t n);
    bool is_token_sem(const bound_field& f) const {
        return f.kind == sem::text || f.kind == sem::keyword || f.kind == sem::id || f.kind == sem::dynamic;
    }
    bool scalar_equals(const bound_field& f, const scalar& s, const query_value& q, bool ci, std::string& buf)
        const;
    bool in_range(const bound_node& b, const query_node& q, const scalar& s, std::string& buf) const;
    const field_stats& stats(const bound_field& f);
    float bm25(const bound_field& f, const std::string& token, double tf, double doc_length, float boost);

    std::optional<float> eval_term(
        const query_node& q, const bound_node& b, const search_doc& doc, const scope& sc
    );
    std::optional<float> eval_match(
        const query_node& q, const bound_node& b, const search_doc& doc, const scope& sc
    );
    std::optional<float> eval_phrase(
        const query_node& q, const bound_node& b, const search_doc& doc, const scope& sc
    );
    std::optional<float> eval_bool(const query_node& q, const search_doc& doc, const scope& sc);
    std::optional<float> eval_nested(const query_node& q, const search_doc& doc, const scope& sc);

    const search_request& req_;
    std::span<const search_doc> docs_;
    const search_options& opts_;
    std::int64_t now_ms_ = 0;
    std::vector<bound_node> bound_;
    std::unordered_map<std::string, field_stats> stats_;
    std::vector<std::string> tokens_;
    std::vector<std::uint32_t> positions_;
};

result<void> runner::bind() {
    now_ms_ = opts_.now_ms.value_or(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch()
    )
                                        .count());
    bound_.resize(req_.nodes.size());
    for (std::uint32_t n = 0; n < req_.nodes.size(); ++n) {
        if (auto r = bind_node(n); !r) {
            return r;
        }
    }
    return {};
}

result<void> runner::bind_node(std::uint32_t n) {
    const query_node& q = req_.nodes[n];
    bound_node& b = bound_[n];
    switch (q.kind) {
        case query_kind::term:
        case query_kind::terms:
        case query_kind::match:
        case query_kind::match_phrase:
        case query_kind::prefix:
        case query_kind::wildcard:
        case query_kind::exists:
        case query_kind::range:
            b.field = resolve(q.field, opts_.mapping, opts_.unsearchable);
            break;
        default:
            break;
    }
    auto add_checked = [&](const json::value& v) -> result<void> {
        b.values.push_back(make_value(v, now_ms_, false));
        if (auto e = check_value(b.field, b.values.back())) {
            return *e;
        }
        return {};
    };
    switch (q.kind) {
        case query_kind::ids:
            for (const auto* v : q.values) {
                b.values.push_back(make_value(*v, now_ms_, false));
            }
            break;
        case query_kind::term:
            if (auto r = add_checked(*q.value); !r) {
                return r;
            }
            break;
        case query_kind::terms:
            for (const auto* v : q.values) {
                if (auto r = add_checked(*v); !r) {
                    return r;
                }
            }
            break;
        case query_kind::match:
        case query_kind::match_phrase: {
            if (!is_token_sem(b.field) && b.field.kind != sem::none) {
                return add_checked(*q.value);  // numbers, booleans, dates: a term query on the value
            }
            query_value text = make_value(*q.value, now_ms_, false);
            if (b.field.kind == sem::text || b.field.kind == sem::dynamic) {
                analyze(text.text, b.tokens);
            } else {
                b.tokens.push_back(text.text);  // keyword analyzer: the whole value
            }
            int count = static_cast<int>(b.tokens.size());
            b.required = q.operator_and ? count : 1;
            if (q.minimum_should_match != nullptr && !q.operator_and) {
                auto m = search_detail::min_should_match(count, json_text(*q.minimum_should_match));
                if (!m) {
                    return m.error();
                }
                b.required = std::max(*m, 1);
            }
            break;
        }
        case query_kind::prefix:
        case query_kind::wildcard: {
            if (!is_token_sem(b.field) && b.field.kind != sem::none) {
                return error(
                    errc::illegal_argument,
                    cat(
                        {"Can only use ",
                         q.kind == query_kind::prefix ? "prefix" : "wildcard",
                         " queries on keyword, text and wildcard fields - not on [",
                         q.field,
                         "] which is of type [",
                         type_name(b.field.kind),
                         "]"}
                    )
                );
            }
            query_value pattern = make_value(*q.value, now_ms_, false);
            if (q.kind == query_kind::wildcard && b.field.kind == sem::text) {
                pattern.text = search_detail::ascii_lower(pattern.text);  // normalised by the search analyzer
            }
            b.values.push_back(std::move(pattern));
            break;
        }
        case query_kind::range:
            // Date math rounds a lower bound up for `gt` and an upper bound up for `lte`, like OpenSearch.
            if (q.lower != nullptr) {
                b.lower = make_value(*q.lower, now_ms_, !q.include_lower);
                if (auto e = check_value(b.field, *b.lower)) {
                    return *e;
                }
            }
            if (q.upper != nullptr) {
                b.upper = make_value(*q.upper, now_ms_, q.include_upper);
                if (auto e = check_value(b.field, *b.upper)) {
                    return *e;
                }
            }
            break;
        default:
            break;
    }
    return {};
}

bool runner::scalar_equals(
    const bound_field& f, const scalar& s, const query_value& q, bool ci, std::string& buf
) const {
    auto text_equal = [&](std::string_view a) {
        return ci ? search_detail::ascii_lower(a) == search_detail::ascii_lower(q.text) : a == q.text;
    };
    switch (f.kind) {
        case sem::keyword:
        case sem::id:
            return text_equal(scalar_string(s, buf));
        case sem::integer:
        case sem::floating: {
            auto d = scalar_number(s);
            return d && q.number && *d == *q.number;
        }
        case sem::boolean: {
            auto b = scalar_bool(s);
            return b && q.boolean && *b == *q.boolean;
        }
        case sem::date: {
            auto ms = scalar_date(s);
            return ms && q.date_ms && *ms == *q.date_ms;
        }
        case sem::text:
        case sem::dynamic: {
            if (f.kind == sem::dynamic && s.t != scalar::type::string) {
                if (s.t == scalar::type::boolean) {
                    return q.boolean && *q.boolean == s.b;
                }
                return q.number && *q.number == s.d;
            }
            std::vector<std::string> toks;
            analyze(scalar_string(s, buf), toks);
            return std::any_of(toks.begin(), toks.end(), [&](const std::string& t) { return text_equal(t); });
        }
        case sem::none:
            return false;
    }
    return false;
}

bool runner::in_range(const bound_node& b, const query_node& q, const scalar& s, std::string& buf) const {
    auto check = [&](auto value, auto lower, auto upper) {
        if (lower && (q.include_lower ? value < *lower : value <= *lower)) {
            return false;
        }
        if (upper && (q.include_upper ? value > *upper : value >= *upper)) {
            return false;
        }
        return true;
    };
    auto bound_text = [](const std::optional<query_value>& v) {
        return v ? std::optional<std::string_view>(v->text) : std::nullopt;
    };
    auto bound_number = [](const std::optional<query_value>& v) {
        return v ? v->number : std::nullopt;
    };
    sem kind = b.field.kind;
    if (kind == sem::dynamic) {
        kind = s.t == scalar::type::string ? sem::text : sem::floating;
    }
    switch (kind) {
        case sem::keyword:
        case sem::id:
            return check(scalar_string(s, buf), bound_text(b.lower), bound_text(b.upper));
        case sem::text: {
            std::vector<std::string> toks;
            analyze(scalar_string(s, buf), toks);
            return std::any_of(toks.begin(), toks.end(), [&](const std::string& t) {
                return check(std::string_view(t), bound_text(b.lower), bound_text(b.upper));
            });
        }
        case sem::integer:
        case sem::floating: {
            auto d = scalar_number(s);
            if (!d || (b.lower && !b.lower->number) || (b.upper && !b.upper->number)) {
                return false;
            }
            return check(*d, bound_number(b.lower), bound_number(b.upper));
        }
        case sem::boolean: {
            auto v = scalar_bool(s);
            auto lb = b.lower ? b.lower->boolean : std::nullopt;
            auto ub = b.upper ? b.upper->boolean : std::nullopt;
            return v && check(*v, lb, ub);
        }
        case sem::date: {
            auto ms = scalar_date(s);
            auto lb = b.lower ? b.lower->date_ms : std::nullopt;
            auto ub = b.upper ? b.upper->date_ms : std::nullopt;
            return ms && check(*ms, lb, ub);
        }
        default:
            return false;
    }
}

const field_stats& runner::stats(const bound_field& f) {
    std::string key(f.path);
    key += '#';
    key += static_cast<char>('0' + static_cast<int>(f.kind));
    auto it = stats_.find(key);
    if (it != stats_.end()) {
        return it->second;
    }
    field_stats st;
    std::vector<std::string> toks;
    std::vector<std::uint32_t> pos;
    for (const auto& doc : docs_) {
        field_tokens(doc, f, {}, true, toks, pos);
        if (toks.empty()) {
            continue;
        }
        st.doc_count += 1;
        st.total_length += static_cast<double>(toks.size());
        std::sort(toks.begin(), toks.end());
        toks.erase(std::unique(toks.begin(), toks.end()), toks.end());
        for (auto& t : toks) {
            st.doc_freq[std::move(t)] += 1;
        }
    }
    return stats_.emplace(std::move(key), std::move(st)).first->second;
}

float runner::bm25(
    const bound_field& f, const std::string& token, double tf, double doc_length, float boost
) {
    const field_stats& st = stats(f);
    auto it = st.doc_freq.find(token);
    double n = it == st.doc_freq.end() ? 0 : it->second;
    double big_n = std::max(st.doc_count, 1.0);
    double idf = std::log(1 + (big_n - n + 0.5) / (n + 0.5));
    double avg = st.doc_count > 0 ? st.total_length / st.doc_count : 1.0;
    double norm = bm25_k1 * (1 - bm25_b + bm25_b * doc_length / avg);
    return static_cast<float>(boost * idf * (tf / (tf + norm)));
}

std::optional<float> runner::eval_term(
    const query_node& q, const bound_node& b, const search_doc& doc, const scope& sc
) {
    std::string buf;
    bool hit = false;
    const query_value& v = b.values.front();
    for_each_scalar(doc, b.field, sc, false, [&](const scalar& s) {
        hit = hit || scalar_equals(b.field, s, v, q.case_insensitive, buf);
    });
    if (!hit) {
        return std::nullopt;
    }
    if (!is_token_sem(b.field) || q.kind != query_kind::term) {
        return q.boost;  // numeric/boolean/date term queries score as a constant
    }
    field_tokens(doc, b.field, sc, false, tokens_, positions_);
    double tf = static_cast<double>(std::count(tokens_.begin(), tokens_.end(), v.text));
    return bm25(b.field, v.text, std::max(tf, 1.0), static_cast<double>(tokens_.size()), q.boost);
}

std::optional<float> runner::eval_match(
    const query_node& q, const bound_node& b, const search_doc& doc, const scope& sc
) {
    if (b.field.kind == sem::none) {
        return std::nullopt;
    }
    if (!is_token_sem(b.field)) {
        return eval_term(q, b, doc, sc);
    }
    if (b.tokens.empty()) {
        return q.zero_terms_all ? std::optional<float>(q.boost) : std::nullopt;
    }
    field_tokens(doc, b.field, sc, false, tokens_, positions_);
    // One SHOULD clause per query token (duplicates included), as Lucene's match query builds it.
    int matched = 0;
    float score = 0;
    const double length = static_cast<double>(tokens_.size());
    for (const auto& t : b.tokens) {
        double tf = static_cast<double>(std::count(tokens_.begin(), tokens_.end(), t));
        if (tf > 0) {
            ++matched;
            score += bm25(b.field, t, tf, length, q.boost);
        }
    }
    if (matched == 0 || matched < b.required) {
        return std::nullopt;
    }
    return score;
}

std::optional<float> runner::eval_phrase(
    const query_node& q, const bound_node& b, const search_doc& doc, const scope& sc
) {
    if (b.field.kind == sem::none) {
        return std::nullopt;
    }
    if (!is_token_sem(b.field)) {
        return eval_term(q, b, doc, sc);
    }
    if (b.tokens.empty()) {
        return q.zero_terms_all ? std::optional<float>(q.boost) : std::nullopt;
    }
    field_tokens(doc, b.field, sc, false, tokens_, positions_);
    // Ordered occurrences whose extra distance (sum of gaps) stays within `slop`.
    double freq = 0;
    for (std::size_t start = 0; start < tokens_.size(); ++start) {
        if (tokens_[start] != b.tokens[0]) {
            continue;
        }
        std::uint32_t last = positions_[start];
        std::int64_t spent = 0;
        std::size_t k = start;
        bool ok = true;
        for (std::size_t t = 1; t < b.tokens.size() && ok; ++t) {
            ok = false;
            for (std::size_t j = k + 1; j < tokens_.size(); ++j) {
                std::int64_t gap = static_cast<std::int64_t>(positions_[j]) - last - 1;
                if (spent + gap > q.slop) {
                    break;
                }
                if (tokens_[j] == b.tokens[t]) {
                    spent += gap;
                    last = positions_[j];
                    k = j;
                    ok = true;
                    break;
                }
            }
        }
        if (ok) {
            freq += 1.0 / (1.0 + static_cast<double>(spent));
        }
    }
    if (freq == 0) {
        return std::nullopt;
    }
    float score = 0;
    for (const auto& t : b.tokens) {
        score += bm25(b.field, t, freq, static_cast<double>(tokens_.size()), q.boost);
    }
    return score;
}

std::optional<float> runner::eval_bool(const query_node& q, const search_doc& doc, const scope& sc) {
    if (q.must.empty() && q.filter.empty() && q.should.empty() && q.must_not.empty()) {
        return q.boost;  // an empty bool is match_all
    }
    float score = 0;
    for (auto c : q.must) {
        auto s = eval(c, doc, sc);
        if (!s) {
            return std::nullopt;
        }
        score += *s;
    }
    for (auto c : q.filter) {
        if (!eval(c, doc, sc)) {
            return std::nullopt;
        }
    }
    for (auto c : q.must_not) {
        if (eval(c, doc, sc)) {
            return std::nullopt;
        }
    }
    int required = q.must.empty() && q.filter.empty() && !q.should.empty() ? 1 : 0;
    if (q.minimum_should_match != nullptr) {
        auto m = search_detail::min_should_match(
            static_cast<int>(q.should.size()), json_text(*q.minimum_should_match)
        );
        required = m ? *m : required;  // validated when the request was bound
    }
    int matched = 0;
    for (auto c : q.should) {
        if (auto s = eval(c, doc, sc)) {
            ++matched;
            score += *s;
        }
    }
    if (matched < required) {
        return std::nullopt;
    }
    if (q.must.empty() && q.filter.empty() && q.should.empty()) {
        score = 1.0F;  // only must_not: Lucene adds a match_all clause
    }
    return score * q.boost;
}

std::optional<float> runner::eval_nested(const query_node& q, const search_doc& doc, const scope& sc) {
    std::optional<float> best;
    float sum = 0;
    int count = 0;
    auto visit = [&](const json::value& v) {
        if (!v.is_object()) {
            return;
        }
        auto s = eval(q.child, doc, scope{q.field, &v.get_object()});
        if (!s) {
            return;
        }
        ++count;
        sum += *s;
        if (!best) {
            best = *s;
        } else if (q.score_mode == nested_score_mode::min) {
            best = std::min(*best, *s);
        } else {
            best = std::max(*best, *s);
        }
    };
    if (sc.object != nullptr && under(q.field, sc.path)) {
        collect_object(*sc.object, q.field.substr(sc.path.size() + 1), visit);
    } else {
        collect_object(*doc.source, q.field, visit);
    }
    if (count == 0) {
        return std::nullopt;
    }
    float s = 0;
    switch (q.score_mode) {
        case nested_score_mode::avg:
            s = sum / static_cast<float>(count);
            break;
        case nested_score_mode::sum:
            s = sum;
            break;
        case nested_score_mode::min:
        case nested_score_mode::max:
            s = *best;
            break;
        case nested_score_mode::none:
            s = 0;
            break;
    }
    return s * q.boost;
}

std::optional<float> runner::eval(std::uint32_t n, const search_doc& doc, const scope& sc) {
    const query_node& q = req_.nodes[n];
    const bound_node& b = bound_[n];
    std::string buf;
    switch (q.kind) {
        case query_kind::match_all:
            return q.boost;
        case query_kind::match_none:
            return std::nullopt;
        case query_kind::ids: {
            bool hit = std::any_of(b.values.begin(), b.values.end(), [&](const query_value& v) {
                return v.text == doc.id;
            });
            return hit ? std::optional<float>(q.boost) : std::nullopt;
        }
        case query_kind::term:
            return eval_term(q, b, doc, sc);
        case query_kind::terms: {
            bool hit = false;
            for_each_scalar(doc, b.field, sc, false, [&](const scalar& s) {
                for (const auto& v : b.values) {
                    if (hit || scalar_equals(b.field, s, v, false, buf)) {
                        hit = true;
                        return;
                    }
                }
            });
            return hit ? std::optional<float>(q.boost) : std::nullopt;
        }
        case query_kind::match:
            return eval_match(q, b, doc, sc);
        case query_kind::match_phrase:
            return eval_phrase(q, b, doc, sc);
        case query_kind::prefix:
        case query_kind::wildcard: {
            const std::string& pattern = b.values.front().text;
            const bool analyzed = b.field.kind == sem::text || b.field.kind == sem::dynamic;
            bool hit = false;
            std::vector<std::string> toks;
            auto test = [&](std::string_view t) {
                return q.kind == query_kind::prefix
                           ? search_detail::has_prefix(t, pattern, q.case_insensitive)
                           : search_detail::wildcard_match(pattern, t, q.case_insensitive);
            };
            for_each_scalar(doc, b.field, sc, false, [&](const scalar& s) {
                if (hit) {
                    return;
                }
                std::string_view text = scalar_string(s, buf);
                if (!analyzed) {
                    hit = test(text);
                    return;
                }
                toks.clear();
                analyze(text, toks);
                hit = std::any_of(toks.begin(), toks.end(), [&](const std::string& t) { return test(t); });
            });
            return hit ? std::optional<float>(q.boost) : std::nullopt;
        }
        case query_kind::exists: {
            // An object field exists when any leaf below it does.
            bool hit = false;
            bound_field leaves = b.field;
            leaves.flat_root = true;
            for_each_scalar(doc, leaves, sc, false, [&](const scalar&) { hit = true; });
            return hit ? std::optional<float>(q.boost) : std::nullopt;
        }
        case query_kind::range: {
            bool hit = false;
            for_each_scalar(doc, b.field, sc, false, [&](const scalar& s) {
                hit = hit || in_range(b, q, s, buf);
            });
            return hit ? std::optional<float>(q.boost) : std::nullopt;
        }
        case query_kind::bool_query:
            return eval_bool(q, doc, sc);
        case query_kind::nested:
            return eval_nested(q, doc, sc);
        case query_kind::constant_score:
            return eval(q.child, doc, sc) ? std::optional<float>(q.boost) : std::nullopt;
    }
    return std::nullopt;
}

// ---- Sorting ----

struct sort_key {
    enum class type : std::uint8_t { missing, number, string } t = type::missing;
    double number = 0;
    bool integral = false;
    std::string string;
};

int compare_keys(const sort_key& a, const sort_key& b) {
    if (a.t != b.t) {
        return a.t < b.t ? -1 : 1;
    }
    if (a.t == sort_key::type::number) {
        return a.number < b.number ? -1 : (a.number > b.number ? 1 : 0);
    }
    if (a.t == sort_key::type::string) {
        int c = a.string.compare(b.string);
        return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    return 0;
}

struct hit {
    std::size_t doc = 0;
    float score = 0;
    std::vector<sort_key> keys;
};

sort_key key_of(const scalar& s, sem kind, std::string& buf) {
    sort_key k;
    auto number = [&](double d, bool integral) {
        k.t = sort_key::type::number;
        k.number = d;
        k.integral = integral;
    };
    switch (kind) {
        case sem::integer:
        case sem::floating:
            if (auto d = scalar_number(s)) {
                number(*d, kind == sem::integer || s.t == scalar::type::integer);
            }
            return k;
        case sem::date:
            if (auto ms = scalar_date(s)) {
                number(static_cast<double>(*ms), true);
            }
            return k;
        case sem::boolean:
            if (auto b = scalar_bool(s)) {
                number(*b ? 1 : 0, true);
            }
            return k;
        case sem::keyword:
        case sem::id:
            k.t = sort_key::type::string;
            k.string = std::string(scalar_string(s, buf));
            return k;
        default:
            if (s.t == scalar::type::string) {
                k.t = sort_key::type::string;
                k.string = std::string(s.str);
            } else if (s.t == scalar::type::boolean) {
                number(s.b ? 1 : 0, true);
            } else {
                number(s.d, s.t == scalar::type::integer);
            }
            return k;
    }
}

sort_key field_key(const search_doc& doc, const sort_spec& spec, const bound_field& f) {
    std::string buf;
    std::vector<sort_key> keys;
    for_each_scalar(doc, f, {}, true, [&](const scalar& s) {
        sort_key k = key_of(s, f.kind, buf);
        if (k.t != sort_key::type::missing) {
            keys.push_back(std::move(k));
        }
    });
    if (keys.empty()) {
        if (spec.missing_value != nullptr) {
            if (auto s = to_scalar(*spec.missing_value)) {
                return key_of(*s, f.kind, buf);
            }
        }
        return {};
    }
    std::sort(keys.begin(), keys.end(), [](const sort_key& a, const sort_key& b) {
        return compare_keys(a, b) < 0;
    });
    sort_mode mode = spec.mode;
    if (mode == sort_mode::automatic) {
        mode = spec.descending ? sort_mode::max : sort_mode::min;
    }
    const bool numeric = keys.front().t == sort_key::type::number && keys.back().t == sort_key::type::number;
    switch (mode) {
        case sort_mode::max:
            return keys.back();
        case sort_mode::sum:
        case sort_mode::avg:
            if (numeric) {
                sort_key k = keys.front();
                k.number = 0;
                for (const auto& x : keys) {
                    k.number += x.number;
                }
                if (mode == sort_mode::avg) {
                    k.number /= static_cast<double>(keys.size());
                }
                return k;
            }
            return keys.front();
        case sort_mode::median:
            if (numeric) {
                sort_key k = keys[keys.size() / 2];
                if (keys.size() % 2 == 0) {
                    k.number = (keys[keys.size() / 2 - 1].number + keys[keys.size() / 2].number) / 2;
                }
                return k;
            }
            return keys.front();
        default:
            return keys.front();
    }
}

json::value key_json(const sort_key& k, json::storage_ptr sp) {
    switch (k.t) {
        case sort_key::type::number:
            if (k.integral) {
                return json::value(static_cast<std::int64_t>(k.number), sp);
            }
            return json::value(k.number, sp);
        case sort_key::type::string:
            return json::value(json::string(k.string, sp), sp);
        default:
            return json::value(nullptr, sp);
    }
}

// ---- _source filtering (XContentMapValues.filter) ----

class source_filterer {
public:
    source_filterer(search_detail::path_patterns includes, search_detail::path_patterns excludes)
        : includes_(std::move(includes)), excludes_(std::move(excludes)) {}

    json::object filter(const json::object& source, json::storage_ptr sp) {
        path_.clear();
        return filter_object(source, includes_.empty(), sp);
    }

private:
    bool inc_accept(std::string_view p) const { return includes_.accepts(p); }
    bool inc_alive(std::string_view p) const { return includes_.alive(p); }
    bool exc_accept(std::string_view p) const { return !excludes_.empty() && excludes_.accepts(p); }
    bool exc_alive(std::string_view p) const { return !excludes_.empty() && excludes_.alive(p); }

    json::object filter_object(const json::object& o, bool include_all, const json::storage_ptr& sp) {
        json::object out(sp);
        const std::size_t base = path_.size();
        for (const auto& [key, value] : o) {
            path_.resize(base);
            path_ += key;
            const std::string path = path_;
            if (!include_all && !inc_alive(path)) {
                continue;
            }
            if (exc_accept(path)) {
                continue;
            }
            const bool accepted = include_all || inc_accept(path);
            bool sub_all = include_all;
            if (accepted) {
                if (!exc_alive(path + ".")) {
                    out.emplace(key, json::value(value, sp));
                    continue;
                }
                sub_all = true;
            }
            if (value.is_object()) {
                if (!sub_all && !inc_alive(path + ".")) {
                    continue;
                }
                path_ = path + ".";
                json::object inner = filter_object(value.get_object(), sub_all, sp);
                if (accepted || !inner.empty()) {
                    out.emplace(key, std::move(inner));
                }
            } else if (value.is_array()) {
                json::array inner = filter_array(value.get_array(), path, sub_all, sp);
                if (!inner.empty()) {
                    out.emplace(key, std::move(inner));
                }
            } else if (accepted) {
                out.emplace(key, json::value(value, sp));
            }
        }
        path_.resize(base);
        return out;
    }

    json::array filter_array(
        const json::array& a, const std::string& path, bool include_all, const json::storage_ptr& sp
    ) {
        json::array out(sp);
        const bool accepted = include_all || inc_accept(path);
        for (const auto& value : a) {
            if (value.is_object()) {
                path_ = path + ".";
                json::object inner = filter_object(value.get_object(), include_all, sp);
                if (!inner.empty()) {
                    out.emplace_back(std::move(inner));
                }
            } else if (value.is_array()) {
                json::array inner = filter_array(value.get_array(), path, include_all, sp);
                if (!inner.empty()) {
                    out.emplace_back(std::move(inner));
                }
            } else if (accepted) {
                out.emplace_back(json::value(value, sp));
            }
        }
        return out;
    }

    search_detail::path_patterns includes_;
    search_detail::path_patterns excludes_;
    std::string path_;
};

// Whether the index would have a mapping for a field that is not in the declared mapping: ml-commons'
// indices map new fields dynamically, so a field is mapped once some document has held a value for it
// (a string for the `.keyword` sub-field). Only the candidate documents are looked at.
bool dynamically_mapped(const bound_field& f, bool keyword_subfield, std::span<const search_doc> docs) {
    for (const auto& doc : docs) {
        bool seen = false;
        for_each_scalar(doc, f, {}, true, [&](const scalar& v) {
            seen = seen || !keyword_subfield || v.t == scalar::type::string;
        });
        if (seen) {
            return true;
        }
    }
    return false;
}

// The sort checks of FieldSortBuilder.build: a field without a mapping (unless `unmapped_type` is given),
// and text fields, which have no field data.
std::optional<error> check_sort(
    const search_request& req, std::span<const search_doc> docs, const search_options& opts
) {
    for (const auto& s : req.sort) {
        if (s.target != sort_target::field) {
            continue;
        }
        bound_field f = resolve(s.field, opts.mapping, opts.unsearchable);
        const bool dynamic_keyword =
            f.kind == sem::keyword && f.path != s.field && find_mapping(opts.mapping, f.path) == nullptr;
        // Metadata fields (`_seq_no`, `_index`, ...) are not document fields: they keep sorting as missing.
        const bool metadata = !s.field.empty() && s.field.front() == '_';
        if (!s.unmapped_type && !metadata && (f.kind == sem::dynamic || dynamic_keyword) &&
            !dynamically_mapped(f, dynamic_keyword, docs)) {
            return error(
                errc::query_shard, cat({"No mapping found for [", s.field, "] in order to sort on"})
            );
        }
        if (f.kind == sem::text) {
            return error(
                errc::illegal_argument,
                cat(
                    {"Text fields are not optimised for operations that require per-document field data like "
                     "aggregations and sorting, so these operations are disabled by default. Please use a "
                     "keyword "
                     "field instead. Alternatively, set fielddata=true on [",
                     s.field,
                     "] in order to load field data by uninverting the inverted index. Note that this can "
                     "use "
                     "significant memory."}
                )
            );
        }
    }
    return std::nullopt;
}

}  // namespace

result<json::object> run_search(
    const search_request& req,
    std::span<const search_doc> docs,
    const search_options& opts,
    json::storage_ptr sp
) {
    const auto started = std::chrono::steady_clock::now();
    // OpenSearch's order on the shard: the query is built (SearchService.parseSource), then the sort, then
    // DefaultSearchContext.preProcess checks the result window.
    runner run(req, docs, opts);
    if (auto r = run.bind(); !r) {
        return r.error();
    }
    // minimum_should_match of bool queries is only checked here, once, like the match one in bind().
    for (const auto& n : req.nodes) {
        if (n.kind == query_kind::bool_query && n.minimum_should_match != nullptr) {
            auto m = search_detail::min_should_match(
                static_cast<int>(n.should.size()), json_text(*n.minimum_should_match)
            );
            if (!m) {
                return m.error();
            }
        }
    }

    if (auto e = check_sort(req, docs, opts)) {
        return *e;
    }
    if (req.from + req.size > max_result_window) {
        return error(
            errc::illegal_argument,
            "Result window is too large, from + size must be less than or equal to: [" +
                std::to_string(max_result_window) + "] but was [" + std::to_string(req.from + req.size) +
                "]. See the scroll api for a more efficient way to request large data sets. This limit can "
                "be set by "
                "changing the [index.max_result_window] index level setting."
        );
    }

    // Match and score.
    std::vector<hit> hits;
    for (std::size_t i = 0; i < docs.size(); ++i) {
        const search_doc& doc = docs[i];
        std::optional<float> score =
            req.query == no_query ? std::optional<float>(1.0F) : run.eval(req.query, doc, {});
        if (!score) {
            continue;
        }
        if (req.post_filter != no_query && !run.eval(req.post_filter, doc, {})) {
            continue;
        }
        if (req.min_score && *score < *req.min_score) {
            continue;
        }
        hits.push_back(hit{i, *score, {}});
    }

    // A lone `_score` descending sort is the natural order: OpenSearch drops it (no `sort` values).
    const bool sorted =
        !req.sort.empty() &&
        !(req.sort.size() == 1 && req.sort[0].target == sort_target::score && req.sort[0].descending);
    const bool scores_visible = !sorted || req.track_scores;
    float max_score = 0;
    for (const auto& h : hits) {
        max_score = std::max(max_score, h.score);
    }

    if (sorted) {
        std::vector<bound_field> fields;
        fields.reserve(req.sort.size());
        for (const auto& s : req.sort) {
            fields.push_back(resolve(s.field, opts.mapping, opts.unsearchable));
        }
        for (auto& h : hits) {
            for (std::size_t k = 0; k < req.sort.size(); ++k) {
                const sort_spec& s = req.sort[k];
                sort_key key;
                if (s.target == sort_target::score) {
                    key.t = sort_key::type::number;
                    key.number = h.score;
                } else if (s.target == sort_target::doc) {
                    key.t = sort_key::type::number;
                    key.number = static_cast<double>(h.doc);
                    key.integral = true;
                } else {
                    key = field_key(docs[h.doc], s, fields[k]);
                }
                h.keys.push_back(std::move(key));
            }
        }
        std::stable_sort(hits.begin(), hits.end(), [&](const hit& a, const hit& b) {
            for (std::size_t k = 0; k < req.sort.size(); ++k) {
                const sort_key& x = a.keys[k];
                const sort_key& y = b.keys[k];
                const bool xm = x.t == sort_key::type::missing;
                const bool ym = y.t == sort_key::type::missing;
                if (xm != ym) {
                    return req.sort[k].missing_first ? xm : ym;  // missing values go last unless asked first
                }
                int c = compare_keys(x, y);
                if (c != 0) {
                    return req.sort[k].descending ? c > 0 : c < 0;
                }
            }
            return a.doc < b.doc;
        });
    } else {
        std::stable_sort(hits.begin(), hits.end(), [](const hit& a, const hit& b) {
            return a.score > b.score;
        });
    }

    // Render.
    std::vector<std::string_view> excludes = req.source.excludes;
    excludes.insert(excludes.end(), opts.always_excluded.begin(), opts.always_excluded.end());
    source_filterer filterer{
        search_detail::path_patterns(req.source.includes), search_detail::path_patterns(excludes)};
    const bool with_version = opts.force_version_and_seq_no || req.version.value_or(false);
    const bool with_seq_no = opts.force_version_and_seq_no || req.seq_no_primary_term.value_or(false);

    json::array rendered(sp);
    const auto first =
        static_cast<std::size_t>(std::min<std::int64_t>(req.from, static_cast<std::int64_t>(hits.size())));
    const auto last = static_cast<std::size_t>(
        std::min<std::int64_t>(req.from + req.size, static_cast<std::int64_t>(hits.size()))
    );
    rendered.reserve(last - first);
    for (std::size_t i = first; i < last; ++i) {
        const hit& h = hits[i];
        const search_doc& doc = docs[h.doc];
        json::object o(sp);
        o.reserve(9);
        o.emplace("_index", opts.index_name);
        o.emplace("_id", doc.id);
        if (with_version) {
            o.emplace("_version", doc.version);
        }
        if (with_seq_no) {
            o.emplace("_seq_no", doc.seq_no);
            o.emplace("_primary_term", doc.primary_term);
        }
        if (scores_visible) {
            o.emplace("_score", static_cast<double>(h.score));
        } else {
            o.emplace("_score", nullptr);
        }
        if (req.source.fetch) {
            o.emplace("_source", filterer.filter(*doc.source, sp));
        }
        if (sorted) {
            json::array keys(sp);
            for (std::size_t k = 0; k < h.keys.size(); ++k) {
                if (req.sort[k].target == sort_target::score) {
                    keys.emplace_back(static_cast<double>(h.score));
                } else {
                    keys.push_back(key_json(h.keys[k], sp));
                }
            }
            o.emplace("sort", std::move(keys));
        }
        rendered.emplace_back(std::move(o));
    }

    json::object hits_obj(sp);
    if (req.track_total_hits != track_total_hits_disabled) {
        auto count = static_cast<std::int64_t>(hits.size());
        json::object total(sp);
        const bool capped = count > req.track_total_hits;
        total.emplace("value", capped ? req.track_total_hits : count);
        total.emplace("relation", capped ? "gte" : "eq");
        hits_obj.emplace("total", std::move(total));
    }
    if (scores_visible && !hits.empty() && req.size > 0) {  // size 0 collects no top docs: NaN, null
        hits_obj.emplace("max_score", static_cast<double>(max_score));
    } else {
        hits_obj.emplace("max_score", nullptr);
    }
    hits_obj.emplace("hits", std::move(rendered));

    json::object response(sp);
    const auto took =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
            .count();
    response.emplace("took", static_cast<std::int64_t>(took));
    response.emplace("timed_out", false);
    json::object shards(sp);
    shards.emplace("total", 1);
    shards.emplace("successful", 1);
    shards.emplace("skipped", 0);
    shards.emplace("failed", 0);
    response.emplace("_shards", std::move(shards));
    response.emplace("hits", std::move(hits_obj));
    return response;
}

}  // namespace modelrelay::registry
