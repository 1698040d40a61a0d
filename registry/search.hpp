// File: search.hpp
// The `_search` endpoints of ml-commons (connectors, model groups, models, tasks) answer OpenSearch search
// DSL. modelrelay keeps those documents in an immutable in-memory snapshot, so instead of an index there is
// an evaluator: parse_search() turns the request body into a search_request once (every syntax error surfaces
// here, with OpenSearch's wording), and run_search() filters, scores, sorts, pages and renders the OpenSearch
// SearchResponse over the candidate documents. No I/O and no shared state; run_search() only reads the clock
// (for `took`, and for date-math `now` unless search_options::now_ms is set).
//
// Supported: `query` with match_all, match_none, ids, term, terms, match, match_phrase, prefix, wildcard,
// exists, range, bool, nested, constant_score; `post_filter`, `size`, `from`, `sort`, `_source`,
// `track_total_hits`, `track_scores`, `min_score`, `version`, `seq_no_primary_term`; `timeout`, `explain`,
// `profile`, `stats`, `terminate_after` and `include_named_queries_score` are accepted and ignored. Every
// other search feature OpenSearch knows (aggregations, highlight, query_string, ...) fails with a clear 400.
//
// Scoring follows Lucene's shape: BM25 (k1 1.2, b 0.75, statistics over the candidate documents) for term,
// match and match_phrase; constant `boost` for the other leaves; bool sums its scoring clauses (filter and
// must_not score nothing); nested aggregates its children by `score_mode`.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include "registry/error.hpp"
#include "registry/search_mappings.hpp"

namespace modelrelay::registry {

// One candidate document. The caller has already applied tenant/ACL filtering and removed hidden documents.
struct search_doc {
    std::string_view id;
    const boost::json::object* source = nullptr;  // never null
    std::int64_t version = 1;
    std::int64_t seq_no = 0;
    std::int64_t primary_term = 1;
};

// ---- The parsed request. Exposed so handlers can adjust it (e.g. ml-commons' `_source` quirks). ----

enum class query_kind : std::uint8_t {
    match_all,
    match_none,
    ids,
    term,
    terms,
    match,
    match_phrase,
    prefix,
    wildcard,
    exists,
    range,
    bool_query,
    nested,
    constant_score,
};

enum class nested_score_mode : std::uint8_t { avg, sum, max, min, none };

// One node of the query tree; children are indices into search_request::nodes.
struct query_node {
    query_kind kind = query_kind::match_all;
    float boost = 1.0F;
    std::string_view field;                         // field path; the path of `nested`
    const boost::json::value* value = nullptr;      // term value, match text, prefix, wildcard pattern
    std::vector<const boost::json::value*> values;  // terms values, ids
    const boost::json::value* minimum_should_match = nullptr;  // match and bool
    bool operator_and = false;                                 // match
    bool zero_terms_all = false;                               // match, match_phrase
    bool case_insensitive = false;                             // term, prefix, wildcard
    std::int32_t slop = 0;                                     // match_phrase
    const boost::json::value* lower = nullptr;                 // range
    const boost::json::value* upper = nullptr;
    bool include_lower = true;
    bool include_upper = true;
    std::vector<std::uint32_t> must, filter, should, must_not;  // bool
    std::uint32_t child = 0;                                    // nested, constant_score
    nested_score_mode score_mode = nested_score_mode::avg;
};

enum class sort_target : std::uint8_t { field, score, doc };
enum class sort_mode : std::uint8_t { automatic, min, max, sum, avg, median };

struct sort_spec {
    sort_target target = sort_target::field;
    std::string_view field;  // sort_target::field (may be `_id`)
    bool descending = false;
    bool missing_first = false;                         // `"missing":"_first"`
    const boost::json::value* missing_value = nullptr;  // `"missing":<value>` other than _first/_last
    sort_mode mode = sort_mode::automatic;              // automatic: min ascending, max descending
    bool unmapped_type = false;  // `unmapped_type` given: a field no document has sorts as missing
};

struct source_filter {
    bool fetch = true;
    std::vector<std::string_view> includes;
    std::vector<std::string_view> excludes;
};

inline constexpr std::uint32_t no_query = UINT32_MAX;
// OpenSearch's track_total_hits sentinels.
inline constexpr std::int64_t track_total_hits_accurate = INT32_MAX;
inline constexpr std::int64_t track_total_hits_disabled = -1;
inline constexpr std::int64_t default_track_total_hits = 10000;
inline constexpr std::int64_t max_result_window = 10000;  // index.max_result_window default

// @par Object lifetimes
// The request points into the parsed body (`std::string_view`s and `const boost::json::value*`): the body
// passed to parse_search() must outlive the request and must not be modified.
struct search_request {
    std::vector<query_node> nodes;
    std::uint32_t query = no_query;        // root of `query`; no_query means match_all
    std::uint32_t post_filter = no_query;  // root of `post_filter`
    std::int64_t from = 0;
    std::int64_t size = 10;
    std::vector<sort_spec> sort;  // empty: by score, then document order
    source_filter source;
    std::int64_t track_total_hits = default_track_total_hits;
    bool track_scores = false;
    std::optional<float> min_score;
    std::optional<bool> version;
    std::optional<bool> seq_no_primary_term;
    // Texts the body does not hold as strings (`"sort": 7` sorts on field "7"). A deque: moving the request
    // keeps these addresses, so views into them stay valid.
    std::deque<std::string> owned_text;
};

// Parses an OpenSearch search body (SearchSourceBuilder.parseXContent). `body` is null when the request had
// none: ml-commons then fails with `request body or source parameter is required` (the handler turns a
// `source` query parameter into `body` first). ml-commons reads no other search query parameters (`size`,
// `from`, `sort`, `q` are rejected as unrecognized by the router).
//
// Errors keep OpenSearch's reasons: parsing_exception / x_content_parse_exception texts come back as
// errc::parse_failed (see search.cpp: parsing_exception_code), illegal_argument_exception texts as
// errc::illegal_argument. Reasons carry no `[line:col]` location (Boost.JSON keeps none).
result<search_request> parse_search(const boost::json::value* body);

struct search_options {
    std::string_view index_name;  // `_index` of every hit, e.g. ".plugins-ml-connector"
    // Source fields never returned, whatever `_source` asks for (e.g. "credential", "connector.credential").
    std::span<const std::string_view> always_excluded;
    // Fields (and everything below them) that queries and sorts cannot see: they behave as unmapped, so
    // they match nothing, `exists` is false and they sort as missing. For the stored credentials, whose
    // ciphertext would otherwise come back in `hits[].sort` or be probed with `prefix`/`range`.
    std::span<const std::string_view> unsearchable;
    // How fields match (search_mappings.hpp); unmapped fields behave like OpenSearch dynamic mappings
    // (strings are text with a `.keyword` sub-field).
    index_mapping mapping;
    // ml-commons forces `version(true)` and `seqNoAndPrimaryTerm(true)` on every search.
    bool force_version_and_seq_no = true;
    // `now` of date math, epoch millis; nullopt reads the system clock once per run.
    std::optional<std::int64_t> now_ms;
};

// Evaluates `request` over `docs` (their order is the index order: ties and `_doc` sort follow it) and
// returns the SearchResponse:
// {"took":N,"timed_out":false,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0},
//  "hits":{"total":{"value":n,"relation":"eq"},"max_score":s|null,"hits":[{"_index":..,"_id":..,
//  "_version":..,"_seq_no":..,"_primary_term":..,"_score":..,"_source":{..},"sort":[..]}]}}
// Fails (errc::illegal_argument) on an oversized result window, sorting on a text field, or a query value the
// mapped field cannot hold; date values that do not parse fail with errc::parse_failed.
// Everything returned is allocated from `sp`; nothing in it points into `docs`.
result<boost::json::object> run_search(
    const search_request& request,
    std::span<const search_doc> docs,
    const search_options& options,
    boost::json::storage_ptr sp = {}
);

}  // namespace modelrelay::registry
