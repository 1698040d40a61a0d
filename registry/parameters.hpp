// File: parameters.hpp
// Connector and predict parameters as ml-commons sees them: a flat string→string map. This file holds
// the conversions that decide what text a placeholder finally receives (spec ml-commons.md §2.1, §3.1):
//  - stringify_parameter: a JSON value → the string ml-commons stores (gson rules, see below);
//  - escape_json: commons-text StringEscapeUtils.escapeJson, applied once to request values;
//  - is_json_container: ml-commons StringUtils.isJson (a complete JSON object or array);
//  - merge_request_parameters: connector parameters + escaped request parameters, request wins.
// Everything here is pure and allocation-conscious: it runs on every predict call.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/json/fwd.hpp>

#include "registry/string_hash.hpp"

namespace modelrelay::registry {

// Flat parameter map. Keys are flat: "a.b" is one key, never a path. Unordered: nothing in ml-commons
// depends on the iteration order of the parameter map itself (every order-sensitive output, such as the
// missing-placeholder list, follows the template text instead).
using param_map = std::unordered_map<std::string, std::string, string_hash, std::equal_to<>>;

// Returns the value for `key`, or nullptr.
inline const std::string* find_param(const param_map& m, std::string_view key) {
    auto it = m.find(key);
    return it == m.end() ? nullptr : &it->second;
}

// Key order used when an object nested inside a parameter value is written back as text.
//  - java_hash_map (default): ml-commons parses parameters with OpenSearch XContent `parser.map()`, which
//    builds java.util.HashMap objects, so gson writes nested keys in HashMap iteration order (bucket order
//    of String.hashCode). Reproducing it keeps GET/predict output byte-identical to ml-commons. Not
//    reproduced: the treeified-bucket order that only appears with 8+ colliding keys in one bucket.
//  - insertion: the order of the input document.
enum class key_order { java_hash_map, insertion };

// ml-commons `StringUtils.getParameterMap` for one value (spec §2.1, §3.1 step 1):
//  - string → the raw string (no quotes, no escaping);
//  - integer → decimal (`7` → `7`); a number with a fraction or exponent is a Java double, printed as
//    `Double.toString` (`7.0` → `7.0`, `0.5` → `0.5`, `1e-4` → `1.0E-4`, `1e21` → `1.0E21`, `1e2` → `100.0`);
//  - true/false; null → `null`;
//  - array/object → compact gson JSON: strings HTML-safe escaped (`<`,`>`,`&`,`=`,`'` → `\u003c`...),
//    object members whose value is null dropped (gson's serializeNulls=false), array nulls kept.
// Differences from ml-commons, all on inputs no real client sends: integers beyond 64 bits arrive here as
// doubles (Boost.JSON) so they print as `1.2345678901234568E23` where Jackson kept a BigInteger. A number
// beyond a double's range (`1e999`) never gets here: the request body is refused (parse_request_json).
std::string stringify_parameter(const boost::json::value& v, key_order order = key_order::java_hash_map);

// gson JSON text for any value. `new Gson().toJson(x)` is html_safe=true, serialize_nulls=false (what
// stringify_parameter uses); gson `JsonElement.toString()` is html_safe=false, serialize_nulls=true.
// Doubles print as Java Double.toString.
std::string to_gson_json(const boost::json::value& v, bool html_safe, bool serialize_nulls, key_order order);

// Java `Double.toString(d)` (JDK 19+ shortest-repr algorithm): `1.0`, `0.001`, `1.0E7`, `1.0E-4`, `NaN`.
std::string java_double_to_string(double d);

// Java `Float.toString(f)` (shortest float digits, Double.toString's layout): `0.1`, `3.0`, `1.0E-7`.
std::string java_float_to_string(float f);

// The shortest text that reads back as `d`, as OpenAI-compatible servers print floats: decimal from 1e-6
// up to 1e21 (`0.5`, `0.00042`, `1.0`, `123.25`), exponent form outside (`1e-7`, `1.5e+21`); whole
// numbers keep `.0`. Non-finite values as java_double_to_string.
std::string plain_double_to_string(double d);

// commons-text `StringEscapeUtils.escapeJson`, exactly: `"`→`\"`, `\`→`\\`, `/`→`\/`, `\b \f \n \r \t`,
// every other code point outside [0x20, 0x7E] (so DEL and everything from U+0080 up) → `\uXXXX` with
// upper-case hex, astral code points as a UTF-16 surrogate pair (`\uD83D\uDE00`): commons-text's
// ESCAPE_JSON ends with `JavaUnicodeEscaper.outsideOf(32, 0x7e)`. No surrounding quotes are added.
// Input is UTF-8. Invalid UTF-8 (impossible for text that came from a parsed JSON document) does not
// crash: each maximal invalid subsequence becomes `\uFFFD`, the replacement character.
std::string escape_json(std::string_view utf8);
void append_escape_json(std::string& out, std::string_view utf8);

// gson string escaping without the surrounding quotes (what `gson.toJson(str)` puts between them):
// `"`, `\`, `\b \f \n \r \t`, other control chars as lower-case `\u00xx`, U+2028/U+2029 as `\u2028`
// /`\u2029`, and with html_safe (gson's default) also `<`,`>`,`&`,`=`,`'`. Other characters stay raw.
// Used for `.toString()` synthetic keys (ml-commons `processTextDoc`) and for nested strings.
void append_gson_escaped(std::string& out, std::string_view utf8, bool html_safe = true);

// ml-commons `StringUtils.isJson`: the whole text is one JSON object or array (surrounding whitespace
// allowed). Checked with a strict RFC 8259 parser; org.json/gson leniencies (single quotes, unquoted keys,
// comments, NaN) are rejected. Does not allocate.
bool is_json_container(std::string_view text);

// The request key that lists, comma-separated, request parameters that must not be escaped.
inline constexpr std::string_view no_escape_params_key = "no_escape_params";

// Each request parameter value stringified (stringify_parameter), nothing escaped yet.
param_map stringify_parameters(const boost::json::object& params, key_order order = key_order::java_hash_map);

// ml-commons `ConnectorUtils.escapeRemoteInferenceInputData` (spec §3.1 step 2): every value that is not a
// complete JSON object/array (is_json_container) and whose key is not listed in the map's own
// `no_escape_params` entry (split on ',', each name trimmed) is passed through escape_json, once.
param_map escape_request_parameters(const param_map& stringified);

// escape_request_parameters(stringify_parameters(request_params, order)) laid over `into` (request wins),
// without the intermediate maps, and without re-parsing the text of object and array values.
void overlay_request_parameters(
    param_map& into, const boost::json::object& request_params, key_order order = key_order::java_hash_map
);

// Spec §3.1 steps 1-3 without the model-function/pre-process layers: connector parameters (never escaped)
// overlaid by the stringified-and-escaped request parameters (request wins). If the caller adds more layers
// (algorithm parameters, pre-process output), it should re-apply escape_request_parameters' output last,
// as ml-commons does ("request always wins").
param_map merge_request_parameters(
    const param_map& connector_params, const boost::json::object& request_params
);

}  // namespace modelrelay::registry
