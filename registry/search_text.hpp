// File: search_text.hpp
// The text-level building blocks of the `_search` evaluator (registry/search.cpp, search_run.cpp): the
// standard-analyzer approximation, wildcard and `_source` pattern matching, the Lucene "did you mean"
// suggestion, minimum_should_match arithmetic, and date parsing with date math. Kept apart so each piece can
// be tested on its own and the evaluator reads as query semantics only. Internal to the registry.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.hpp"

namespace modelrelay::registry::search_detail {

// OpenSearch's `standard` analyzer closely enough for ml-commons documents: Unicode word boundaries (UAX#29)
// restricted to ASCII rules (letters, digits and `_` form words; `.` and `'` join letters, `:` joins letters,
// `.` `,` `;` `'` join digits), bytes >= 0x80 count as letters, then ASCII lower-casing. Tokens are appended
// to `out` in position order.
void analyze(std::string_view text, std::vector<std::string>& out);

// The `wildcard` query: `*` is any sequence, `?` any one character (UTF-8 aware), `\` escapes the next
// character. `case_insensitive` folds ASCII only.
bool wildcard_match(std::string_view pattern, std::string_view text, bool case_insensitive);

// `prefix` query on a string, optionally folding ASCII case.
bool has_prefix(std::string_view text, std::string_view prefix, bool case_insensitive);

// ASCII lower-case copy.
std::string ascii_lower(std::string_view s);

// `_source` include/exclude patterns (OpenSearch XContentMapValues.filter): a pattern `p` (only `*` is
// special, matching any run including dots) accepts a dotted path P when P matches `p` or `p.<anything>`.
class path_patterns {
public:
    path_patterns() = default;
    explicit path_patterns(std::vector<std::string_view> patterns) : patterns_(std::move(patterns)) {}

    bool empty() const { return patterns_.empty(); }
    // True when `path` itself is accepted.
    bool accepts(std::string_view path) const;
    // True when some accepted path starts with `path` (the automaton is not dead after reading it).
    bool alive(std::string_view path) const;

private:
    std::vector<std::string_view> patterns_;
};

// Lucene's LevenshteinDistance.getDistance: 1 - edits / max(length).
float similarity(std::string_view a, std::string_view b);

// OpenSearch's SuggestingErrorOnUnknown.suggest: "" or " did you mean [x]?" / " did you mean any of [x, y]?".
std::string did_you_mean(std::string_view unknown, std::span<const std::string_view> candidates);

// Queries.calculateMinShouldMatch: integers, negative integers, percentages and `n<spec` conditions.
// A malformed spec fails like Java's Integer.parseInt (`For input string: "x"`).
result<int> min_should_match(int optional_clauses, std::string_view spec);

// Java's Integer.parseInt for the pieces of a spec or a numeric request field.
std::optional<std::int64_t> parse_integer(std::string_view s);

// Dates of ml-commons' `strict_date_time||epoch_millis` fields. `text` is epoch millis, a strict date-time
// (`2024-05-01T10:00:00.000Z`, fraction optional, zone required), or date math: `now` or `<date>||` followed
// by `+1d`, `-2h`, `/d` ... (units y M w d h H m s). `round_up` rounds `/unit` to the unit's last millisecond
// (used for `gt` and `lte`, as OpenSearch does). nullopt when the text is not a date.
std::optional<std::int64_t> parse_date_millis(std::string_view text, std::int64_t now_ms, bool round_up);

}  // namespace modelrelay::registry::search_detail
