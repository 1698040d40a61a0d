// File: template.hpp
// Connector templates (request_body, url, header values) compiled once, when the connector is written,
// and rendered on every predict call.
//
// The engine reproduces Apache commons-text `StringSubstitutor(map, "${parameters.", "}")` as ml-commons uses
// it (spec ml-commons.md §3), including its corner cases:
//  - `${parameters.k}` → the value of key "k"; keys are flat (`${parameters.a.b}` looks up "a.b");
//  - `${parameters.k:-text}` → "text" when k is absent; the variable ends at the FIRST `}`, so a default
//    cannot contain `}`; a `${parameters.` inside the name stops the `:-` search (no default then);
//  - unknown variables (no value, no default) are left untouched, text and all;
//  - values are resolved recursively: a value containing `${parameters.x}` is itself substituted, in
//    isolation (a placeholder never spans a value boundary); a cycle fails with commons-text's
//    `Infinite loop in property interpolation of <template>: a->b` (errc::illegal_state, HTTP 500; the
//    template text as commons-text held it: escapes before the first variable already removed);
//  - `$${parameters.k}` is an escape: the first `$` is dropped and the placeholder is kept as text. As in
//    commons-text, a substituted value that ends with `$` escapes a placeholder that directly follows it;
//  - an unterminated `${parameters.` (no `}` after it) stops substitution for the rest of the text.
// Compilation splits the text into literal and placeholder segments with that exact scanning algorithm, so
// rendering is a walk over the segments: no regex and no re-parsing of the template; values are scanned
// (one substring search) only to find nested placeholders.
//
// @par Thread safety
// A compiled_template is immutable after compile(); render functions only read it, so one template may be
// rendered concurrently from many threads.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "registry/error.hpp"
#include "registry/parameters.hpp"

namespace modelrelay::registry {

inline constexpr std::string_view parameters_prefix = "${parameters.";
inline constexpr std::string_view credential_prefix = "${credential.";

// Upper bounds that turn pathological inputs into a 400 instead of a crash or an OOM (ml-commons has none:
// the JVM fails with StackOverflowError/OutOfMemoryError). Depth = length of a value→value substitution
// chain; bytes = size of one rendered text.
inline constexpr std::size_t max_substitution_depth = 1000;
inline constexpr std::size_t max_rendered_bytes = 100'000'000;
// Values that expand to values can grow a render exponentially (40 parameters each naming the previous
// twice took 12 s to reach max_rendered_bytes): nested expansions are counted too.
inline constexpr std::size_t max_nested_substitutions = 100'000;

class compiled_template {
public:
    // An empty template ("" with no placeholders).
    compiled_template() = default;

    // Compiles `source` for variables that start with `prefix` (parameters_prefix or credential_prefix)
    // and end with `}`. Never fails: any text is a valid template.
    static compiled_template compile(std::string_view source, std::string_view prefix = parameters_prefix);

    bool empty() const { return source_.empty(); }
    const std::string& source() const { return source_; }
    const std::string& prefix() const { return prefix_; }
    // True when at least one complete placeholder was found.
    bool has_placeholders() const { return has_variables_; }
    // True when the text contains the prefix at all (complete placeholder or not).
    bool mentions_prefix() const { return mentions_prefix_; }

    // StringSubstitutor.replace(source): appends the substituted text to `out`. Lookups try `extras`
    // first (see to_string_extras), then `params`. Fails only on a cycle or the limits above.
    result<void> render_into(std::string& out, const param_map& params, const param_map* extras = nullptr)
        const;
    result<std::string> render(const param_map& params, const param_map* extras = nullptr) const;

private:
    friend struct template_access;

    struct segment {
        std::size_t off = 0;  // literal: its text; variable: the raw "${prefix...}" text
        std::size_t len = 0;
        std::size_t name_off = 0;
        std::size_t name_len = 0;
        std::size_t default_off = 0;
        std::size_t default_len = 0;
        int escaped_alt = -1;  // index into escaped_alts_, -1 when the raw text has no nested prefix
        bool variable = false;
        bool has_default = false;
        // Body rule §3.2.1: this variable is `${parameters.k:-null}` written between double quotes; the
        // quotes belong to this segment (removed from the neighbouring literals).
        bool quoted_null = false;
        // Found while scanning inside the text of an escaped `$${...}` placeholder (commons-text resumes
        // the scan there); editing its text would change that escape, so quoted-null folding avoids it.
        bool inside_escape = false;
    };

    std::string source_;
    std::string prefix_ = std::string(parameters_prefix);
    std::vector<segment> segments_;
    // How the tail of a placeholder reads when a preceding value's trailing `$` escapes it at run time
    // (only needed when its raw text contains a nested prefix). Shared: compiled templates are copyable.
    std::vector<std::shared_ptr<const compiled_template>> escaped_alts_;
    std::size_t literal_bytes_ = 0;
    // Keys k of `"${parameters.k:-null}"` (ml-commons regex `\w+`), in order of first appearance.
    std::vector<std::string> null_keys_;
    // The quoted-null occurrences could not all be mapped onto segments (pathological nesting): render_body
    // then replays ml-commons' textual replacement and compiles the result per call.
    bool null_slow_path_ = false;
    bool has_variables_ = false;
    bool mentions_prefix_ = false;
};

// ---------------------------------------------------------------------------------------------------
// Request body (HttpConnector.createPayload + RemoteConnectorExecutor's missing-parameter check, §3.2)

inline constexpr std::string_view skip_validating_missing_parameters_key =
    "skip_validating_missing_parameters";

struct body_options {
    // Run the §3.2.8 leftover-placeholder check here (honouring skip_validating_missing_parameters).
    // Set false if something (an input_processors chain) must transform the payload first; then call
    // check_missing_parameters yourself.
    bool check_missing_parameters = true;
};

// Renders a connector `request_body` with the merged parameter map, in ml-commons order:
//  1. `"${parameters.k:-null}"` (with the quotes, k matching `\w+`) → bare `null` when k is absent;
//  2. `.toString()` synthetic keys are derived from the parameter VALUES (to_string_extras);
//  3. substitution (errors: cycle → illegal_state `Infinite loop in property interpolation of ...`);
//  4. the result must be JSON or NDJSON (is_json_or_ndjson) else 400 `Invalid payload: <payload>`;
//  5. leftover `${parameters` → 400 `Some parameter placeholder not filled in payload: a, b` (names in
//     payload order, duplicates kept) unless skip_validating_missing_parameters is "true" (any case).
// Because 4 runs before 5, an unquoted missing placeholder (`"messages": ${parameters.messages}`) reports
// `Invalid payload: ...`, exactly like ml-commons. Not done here (caller's business): the streaming
// `"stream":true` injection (wants_stream_flag/add_stream_flag), structured-output and input_processors.
result<std::string> render_body(
    const compiled_template& body, const param_map& params, body_options opt = {}
);
// Same, appending to `out` (lets the caller reuse a buffer); `out` is left unspecified on error.
result<void> render_body_into(
    std::string& out, const compiled_template& body, const param_map& params, body_options opt = {}
);

// ml-commons StringUtils.parseParameters: for every parameter value containing
// `${parameters.<p>.toString()}` (regex `\$\{parameters\.(.+?)\.toString\(\)\}`, leftmost-lazy, no line
// breaks) where <p> is a key, a synthetic key "<p>.toString()" → <p>'s value gson-escaped without quotes.
// Empty (no allocation) in the common case. render_body computes it itself; pass the same map to
// render_url/render_header to see what ml-commons sees (it mutates the shared map).
param_map to_string_extras(const param_map& params);

// The payload is one JSON object/array, or NDJSON: several lines, each blank or a JSON object/array.
bool is_json_or_ndjson(std::string_view payload);

// §3.2.8 on its own (see body_options).
result<void> check_missing_parameters(std::string_view payload, const param_map& params);

// An `_llm_interface` value that names `openai/v1/chat/completions` once trimmed, lower-cased and
// Java-unescaped, as ml-commons compares it.
bool names_openai_chat_interface(std::string_view llm_interface);
// §3.2.5: the merged map has a `stream` key and an `_llm_interface` that names_openai_chat_interface.
bool wants_stream_flag(const param_map& params);
// Re-serialises the payload object with `"stream":true` set (gson JsonObject.addProperty + toString: key
// order kept, strings re-escaped minimally). A non-object payload fails with illegal_state
// `Not a JSON Object: <payload>`.
result<std::string> add_stream_flag(std::string_view payload);
// §3.2.6, for an action with `supports_structured_output:true`: for each of `response_format`,
// `generationConfig` and `toolConfig`, a parameter `_<field>_json` (a JSON object) replaces the payload's
// top-level field and `_<field>_additions_json` (a JSON object) is merged into it member by member (the
// field is created when missing), replacement first. nullopt when no such parameter is present (the payload
// is sent as rendered); otherwise the payload re-serialised like add_stream_flag. Errors: a parameter that
// is not a JSON object → illegal_argument `Invalid JSON object in parameter <name>: <value>`; a payload that
// is not one JSON object → illegal_state `Not a JSON Object: <payload>`.
result<std::optional<std::string>> apply_structured_output(std::string_view payload, const param_map& params);

// Makes a request-supplied value opaque to the substitutor without changing what it says as JSON string
// content: every `$` that starts `${`, and a trailing `$` (which would escape a placeholder written right
// after it in the template), becomes the JSON escape `\u0024`. Meant for values that land inside JSON
// strings: escaped scalars, and JSON containers (where a `$` can only sit inside a string). The OpenAI
// door uses it so that a chat message quoting `${parameters.x}` reaches the upstream as written instead of
// being substituted (ml-commons' _predict substitutes it, and keeps doing so here).
void make_placeholders_opaque(std::string& value);

// ---------------------------------------------------------------------------------------------------
// Pre/post-process function strings (ConnectorUtils.fillProcessFunctionParameter, §3.6)

// When `function` (Painless source or a built-in name) contains `${parameters.`, substitutes it with every
// value JSON-quoted the gson way (`"..."`, HTML-safe escaping), so `${parameters.x}` becomes a Painless
// string literal. Otherwise returns `function` unchanged.
result<std::string> render_process_function(std::string_view function, const param_map& params);

// ---------------------------------------------------------------------------------------------------
// URL (AbstractConnector.getActionEndpoint, §3.3)

// Substitutes with the merged map; with an empty map the URL is returned as written (ml-commons skips
// the substitutor then, so even `$$` escapes stay). For the create-time trusted-endpoint check, pass the
// connector parameters only.
result<std::string> render_url(
    const compiled_template& url, const param_map& params, const param_map* extras = nullptr
);

// ---------------------------------------------------------------------------------------------------
// Credentials and headers (§3.4, §3.5)

// Binds `${credential.k}` in a header value once, at deploy time, from the decrypted credential map
// (StringSubstitutor(credentials, "${credential.", "}"): missing keys stay literal, `$${credential.k}`
// escapes). The result is compiled for `${parameters.*}`, ready for render_header. Credentials are never
// bound into url or body templates. Fails only on a credential cycle.
result<compiled_template> bind_credentials(
    const compiled_template& header_value, const param_map& credentials
);

// Headers whose value may not contain `${parameters.*}` (case-insensitive): Authorization,
// Proxy-Authorization, Cookie, X-API-Key, X-Auth-Token, X-Auth-Header, Host, X-Forwarded-Host,
// X-Forwarded-Server, X-Forwarded-For, Forwarded, X-Real-IP, X-Client-IP, CF-Connecting-IP,
// True-Client-IP, X-Originating-IP.
bool is_blocked_dynamic_header(std::string_view name);

// Create/update/register-time check of one raw header (before credential binding), when the value
// contains `${parameters.`: with `forbid_all` (MCP protocols) 400 `Header '<name>' cannot use
// ${parameters.*} placeholders in MCP connectors.`; else, for a blocked header, 400 `Header '<name>'
// cannot use ${parameters.*} placeholders for security reasons. Use ${credential.*} instead.`
result<void> check_header_placeholders(
    std::string_view name, std::string_view value_template, bool forbid_all = false
);

inline constexpr std::size_t max_header_bytes = 8192;
inline constexpr std::size_t max_total_header_bytes = 65536;

// Per-request header value. A value without `${parameters.` is returned as bound. A dynamic one is
// substituted from the merged map, then (400 illegal_argument, in this order):
//  `Header '<name>' contains unresolved placeholder. Required parameter is missing.` (still has
//  `${parameters.`), `Header value contains invalid control character` (byte < 0x20 other than TAB, or 0x7F),
//  `Header size (key + value) exceeds 8KB limit` (name + value bytes > 8192).
result<std::string> render_header(
    std::string_view name,
    const compiled_template& value,
    const param_map& params,
    const param_map* extras = nullptr
);

using header_list = std::vector<std::pair<std::string, std::string>>;

// 400 `Total headers size (key + value) exceeds 64KB limit` when the names and values add up past 65536
// bytes.
result<void> check_total_header_size(const header_list& headers);

// Case-insensitive presence test.
bool has_header(const header_list& headers, std::string_view name);

// Appends `Content-Type: application/json` unless a Content-Type header is present (§3.5).
void add_default_content_type(header_list& headers);

}  // namespace modelrelay::registry
