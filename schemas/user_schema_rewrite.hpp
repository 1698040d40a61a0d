// File: user_schema_rewrite.hpp
// The checks a user schema (user_schema.hpp) passes before Valijson sees it, and the copy Valijson gets.
//
// Valijson 1.0 trusts a schema more than a user's schema deserves: it recurses without bound through a
// `$ref` or applicator cycle (a stack overflow), divides by `multipleOf` unchecked (SIGFPE on 0), and
// matches `pattern`, `patternProperties` and `format` with std::regex, which backtracks (`^(a+)+$` pins a
// thread) and recurses once per character of the subject (a long string overflows the stack). So this pass
// walks every subschema Valijson would parse (from the root through the draft-7 keywords that hold
// subschemas, and through local `$ref`s) and refuses, with a reason that names the place (`#/a/b: ...`):
//   - a subschema that is not an object or a boolean, a keyword that should hold subschemas and does not,
//     a `$ref` that is not a string;
//   - a `$ref` that is not local (`#...`; Valijson would fetch a document) or that resolves to nothing;
//   - a cycle of subschemas that never descends into the instance: edges are `$ref`, `allOf`, `anyOf`,
//     `oneOf`, `not`, `if`/`then`/`else` and `dependencies` (a dependency's schema applies to the same
//     object). A cycle through `properties`, `patternProperties`, `additionalProperties`, `items`,
//     `additionalItems`, `contains` or `propertyNames` is fine: each turn consumes a level of the
//     instance, whose depth the JSON parser bounds;
//   - same-instance subschemas nested deeper than max_in_place_depth (the validator's stack);
//   - schemas under which one instance value can meet more than max_evaluations_per_level subschemas
//     (`anyOf` of the same `$ref` twice, nested: time exponential in the depth);
//   - schemas along which Valijson's parser would recurse deeper than max_parse_depth (a chain of 5000
//     `definitions` overflowed the stack at register);
//   - `multipleOf` that is not a number > 0; `format` that is not a non-empty string;
//   - a `pattern` or `patternProperties` key that RE2 cannot compile (RE2 has no lookaround and no
//     backreferences), and more than max_regexes distinct patterns;
// then writes the copy for Valijson (rewritten_schema).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "registry/error.hpp"

namespace re2 {
class RE2;
}

namespace modelrelay::schemas::detail {

inline constexpr std::size_t max_in_place_depth = 16;
inline constexpr std::size_t max_evaluations_per_level = 10'000;
inline constexpr std::size_t max_parse_depth = 500;
inline constexpr std::size_t max_regexes = 100;

// A user regex: the schema's text and its RE2 form (ECMA `\uXXXX` escapes become RE2's `\x{XXXX}`).
// Matching is linear in the subject and uses no recursion; RE2 objects are thread-safe.
struct user_regex {
    std::string source;
    std::shared_ptr<const re2::RE2> re;
};

// One schema object's `patternProperties`, with the `properties` names and `additionalProperties` that
// decide which members are "additional" (a member matched by neither a name nor a pattern).
struct pattern_properties_rule {
    std::vector<user_regex> patterns;
    std::vector<std::string> named;  // sorted
    bool has_additional = false;
};

// The copy for Valijson is `{"$ref":"#/<key_nodes>/<root>","<key_nodes>":[...]}`: a table of every
// subschema the walk reached, where each keyword's subschemas are `$ref`s to their rows (a user `$ref`
// becomes one to the row of its target). Valijson then parses every subschema once, under one cache key
// (`/<key_nodes>/<n>`), which also keeps clear of its cache-key collisions (a `propertyNames` child is
// looked up under its parent's path, all of an object's `dependencies` under one path). In a row:
//   key_pattern: <i>             `pattern` patterns[i]
//   key_format: <i>              `format` formats[i] (only date, time and date-time, the formats Valijson
//                                checks; it ignores the others, and so does the copy)
//   key_pattern_properties: <i>  pattern_properties[i], standing for `patternProperties` and the
//                                `additionalProperties` beside it (Valijson could not tell which members
//                                the patterns matched)
// and, with key_pattern_properties, an element appended to the row's `allOf`, the carrier:
// `{"if":false,"then":{key_carrier:<i>,"allOf":[<$ref to each pattern's subschema>...,<$ref to
// additionalProperties'>]}}`. It always passes (`if` false, no `else`) and is never evaluated; it makes
// Valijson parse those subschemas, which user_schema.cpp then finds through the key_carrier constraint.
// `id` (Valijson's draft-3/4 resolution scope), `definitions`, `$defs` and keys that look like the private
// keywords are left out of the rows.
inline constexpr std::string_view key_nodes = "\x01modelrelay:nodes";
inline constexpr std::string_view key_pattern = "\x01modelrelay:pattern";
inline constexpr std::string_view key_format = "\x01modelrelay:format";
inline constexpr std::string_view key_pattern_properties = "\x01modelrelay:patternProperties";
inline constexpr std::string_view key_carrier = "\x01modelrelay:carrier";

struct rewritten_schema {
    boost::json::value for_valijson;
    std::vector<user_regex> patterns;
    std::vector<std::string> formats;
    std::vector<pattern_properties_rule> pattern_properties;
};

// RE2 for a user pattern; errors are the reason (`pattern "<p>" is not a valid RE2 regular expression:
// <why> ...`).
registry::result<user_regex> compile_user_regex(std::string_view pattern);

// The value a local `$ref` (`#/a/b`) names in `root`, its tokens decoded as Valijson decodes them
// (`~1`, `~0`, `%XX`; empty tokens skipped). Null when it names nothing, with the reason in `problem`
// (`is not a local reference; ...`).
const boost::json::value* resolve_local_reference(
    const boost::json::value& root, std::string_view ref, std::string* problem = nullptr
);

// `doc` is an object or a boolean. Errors: errc::illegal_argument whose reason is the problem alone
// (`#/properties/a: multipleOf must be a number greater than 0`); the caller adds what the schema is.
registry::result<rewritten_schema> rewrite_user_schema(const boost::json::value& doc);

}  // namespace modelrelay::schemas::detail
