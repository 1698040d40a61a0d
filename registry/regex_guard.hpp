// File: regex_guard.hpp
// Validation and compilation of the operator-supplied regex lists in `_cluster/settings`
// (`trusted_connector_endpoints_regex`, `trusted_connector_private_endpoints_regex`,
// `connector.restricted_ip_patterns`).
//
// ml-commons validates these Java regexes with a ReDoS guard before accepting them; modelrelay keeps the
// same checks and messages, then compiles with RE2 (linear time, so the guard is belt and braces here).
// Java and RE2 syntax mostly agree. Where they do not, the pattern is refused at PUT time with
// `Invalid regex pattern: <r>`:
//   - lookaround `(?=` `(?!` `(?<=` `(?<!`, atomic groups `(?>`, possessive quantifiers `a*+`;
//   - `(?<name>...)` (RE2 of Debian 12 only knows `(?P<name>...)`), `\Z`, `\h`, `\R`, `\p{javaXxx}`.
// Backreferences are refused earlier by the ReDoS guard, with the ml-commons message. An unescaped `{`
// that opens no repetition (`a{x`, `^a{1`) is a literal for RE2 but an error in Java; it is refused too.
// Other Java-only syntax errors RE2 tolerates may still pass.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.hpp"

namespace re2 {
class RE2;
}

namespace modelrelay::registry {

// Longest accepted pattern, counted in UTF-16 code units like Java's String.length().
inline constexpr std::size_t max_regex_length = 256;

// True when a quantifier that can repeat more than once (`*`, `+`, `{n,}`, `{n,m}` with m > 1) applies to a
// group that itself contains such a quantifier (`(a+)+`, `(:\d+)*`, `(a+){1,1000}`, `((a+)b)+`), or when the
// pattern uses a backreference (`\1`..`\9`, `\k<name>`). An optional group with a repeating inside
// (`(:\d+)?`) is fine. Never fails: malformed patterns are left to the compiler.
bool has_redos_shape(std::string_view pattern);

// Length, ReDoS shape, then syntax (RE2). Errors are errc::illegal_argument with the ml-commons texts:
// `Regex pattern too long (max 256 chars): <r>`,
// `Regex pattern contains nested quantifiers or backreferences that may cause ReDoS: <r>`,
// `Invalid regex pattern: <r>`.
result<void> validate_regex(std::string_view pattern);

// validate_regex over every element; the first failure wins.
result<void> validate_regex_list(const std::vector<std::string>& patterns);

// A list of compiled patterns matched with Java `Matcher.matches()` semantics (the whole text must match).
// Immutable after compile(); matching is thread-safe (RE2 objects are).
class regex_list {
public:
    regex_list();
    ~regex_list();
    regex_list(regex_list&&) noexcept;
    regex_list& operator=(regex_list&&) noexcept;
    regex_list(const regex_list&) = delete;
    regex_list& operator=(const regex_list&) = delete;

    // Validates (validate_regex) and compiles every pattern.
    static result<regex_list> compile(const std::vector<std::string>& patterns);

    bool empty() const noexcept { return compiled_.empty(); }
    std::size_t size() const noexcept { return compiled_.size(); }
    const std::vector<std::string>& patterns() const noexcept { return patterns_; }
    // Unique per compiled list, never reused (0 when empty or moved from): a key for caches of results.
    std::uint64_t id() const noexcept { return id_; }

    // True when at least one pattern matches the whole of `text`.
    bool full_match_any(std::string_view text) const;

    // URL patterns, fenced: a pattern accepts `url` when it matches all of it and, when the pattern has an
    // origin part (its text up to the first `/` after `://` outside groups and classes, as in
    // `^https://api\.openai\.com/.*$`), that part also matches all of `origin`, the URL's own
    // `scheme://authority`. So a `.*` meant for the host cannot reach into the path or query:
    // `^https://runtime\.sagemaker\..*[a-z0-9-]\.amazonaws\.com/.*$` refuses
    // `https://runtime.sagemaker.attacker.example/x.amazonaws.com/` and
    // `https://runtime.sagemaker.attacker.example?x.amazonaws.com/` (security.md §6.4 gap 4). Patterns
    // without such a part (`.*`, top-level `|`) match the whole URL only.
    bool full_match_any_url(std::string_view url, std::string_view origin) const;

    // The origin part of a URL pattern, or empty when it has none (exposed for tests).
    static std::string origin_part(std::string_view pattern);

private:
    std::vector<std::string> patterns_;
    std::vector<std::unique_ptr<const re2::RE2>> compiled_;
    std::vector<std::unique_ptr<const re2::RE2>> origins_;  // per pattern; null when it has no origin part
    std::uint64_t id_ = 0;  // unique per compiled list (0: empty or moved from); keys the match cache
};

}  // namespace modelrelay::registry
