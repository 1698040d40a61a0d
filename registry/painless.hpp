// File: painless.hpp
// A small interpreter for the subset of Painless that ml-commons connector blueprints use in
// `post_process_function` (spec ml-commons.md §4, §8.1; docs/api.md lists the subset). No C++ Painless
// exists, and the JVM is not an option, so the scripts are tokenized and parsed once into a tree that a
// tree-walking evaluator runs per upstream answer.
//
// Semantics follow what the scripts see in ml-commons: `params` is the upstream JSON as gson reads it into
// a Map (every JSON number is a Double, objects keep their member order); the script's value must be a
// String or null (TemplateScript.execute); `escape(x)` is ml-commons' injected DEFAULT_ESCAPE_FUNCTION
// unless the script defines its own `escape`. Strings concatenate with Java's String.valueOf rendering
// (`Double.toString`, `[a, b]` for lists, `{k=v}` for maps).
//
// Deliberate limits: every statement, loop iteration and call costs a step, and so does work that grows
// with the data (one per element visited or copied, one per 64 bytes of text); a run stops with an error
// after max_steps; strings and builders are capped at max_text bytes, containers at max_elements, user
// function calls nest at most max_call_depth deep. Maps keep insertion order (Java's HashMap order for
// `[:]`/`new HashMap()` is not reproduced). Arrays (`new def[n]`) are lists of fixed initial size.
//
// @par Thread safety
// A compiled script is immutable and may be run concurrently; each run owns its values.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "registry/error.hpp"

namespace modelrelay::registry::painless {

inline constexpr std::size_t max_steps = 1'000'000;
inline constexpr std::size_t max_text = 16u << 20;  // bytes of one string or StringBuilder
inline constexpr std::size_t max_elements = 1'000'000;
inline constexpr std::size_t max_call_depth = 64;
inline constexpr std::size_t max_source = 64u << 10;

class script;  // opaque: the parsed program

// Parses `source`. Errors are 400 illegal_argument naming the construct and its line:column, e.g.
// `Painless script: unsupported syntax 'lambda (->)' at 3:14` (never the script's string literals).
result<std::shared_ptr<const script>> compile(std::string_view source);

// compile() through a small process-wide cache keyed by the source text, for scripts that are only known
// per request (a `${parameters.x}` in the function string).
result<std::shared_ptr<const script>> compile_cached(std::string_view source);

// Runs `s` with `params` = `input` (an object; see file comment for number typing). The script's String
// result, or nullopt for null. Run-time failures (null dereference, bad cast, index out of range, the step
// limit ...) are errc::illegal_argument with a reason that names the failure and its line:column.
result<std::optional<std::string>> run(const script& s, const boost::json::value& input);

// True when a connector's pre/post_process_function text is a script: not empty, not a built-in function
// name and not any other `connector.` name (those keep their built-in handling and errors).
bool is_painless_function(std::string_view function);

// What create/update compile to check a function: each `${parameters.x}`, which predict replaces with a
// JSON-quoted string, becomes the empty string literal `""`.
std::string with_placeholder_literals(std::string_view function);

// ml-commons' injected escape(def) (StringUtils.DEFAULT_ESCAPE_FUNCTION), exactly: `\`→`\\`, `"`→`\"`,
// CR→`\r`, the two characters `\t`→`\\\t`, LF→`\n`, BS→`\b`, FF→`\f`, in that order. A TAB character is
// left as it is, as in ml-commons.
std::string ml_commons_escape(std::string_view input);

}  // namespace modelrelay::registry::painless
