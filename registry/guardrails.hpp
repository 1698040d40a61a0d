// File: guardrails.hpp
// A model's `guardrails` (ml-commons.md §8.3), checked on every call of the model: the rendered request
// payload before it is sent (400 `guardrails triggered for user input`) and a 2xx upstream body before it
// is parsed (400 `guardrails triggered for LLM output`). Type `local_regex`: a text passes when none of the
// regexes matches the whole of it (Java `Matcher.matches()`), compiled once per deployment with RE2.
//
// `stop_words` name OpenSearch indices searched with a percolate query; modelrelay has no indices, and
// ml-commons lets a text pass when that search fails (a missing index), so stop words never block here:
// they are kept and shown, and docs/api.md says so. Type `model` (a second model judges each
// text) is refused when the model is registered or updated, rather than stored and not enforced.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "registry/error.hpp"

namespace re2 {
class RE2;
}

namespace modelrelay::registry {

class guardrails {
public:
    ~guardrails();
    guardrails(const guardrails&) = delete;
    guardrails& operator=(const guardrails&) = delete;

    // The `guardrails` object of a model. Errors (400 illegal_argument_exception): a missing or unknown
    // `type` is ml-commons' `The type of guardrails is required, can not be null.`; `model` is refused (see
    // above); a regex RE2 cannot compile is `Invalid guardrails regex: <r>`; a field of the wrong type names
    // the field.
    static result<std::shared_ptr<const guardrails>> compile(const boost::json::value& spec);

    bool input_passes(std::string_view payload) const;
    bool output_passes(std::string_view body) const;
    // Whether stop words were configured (they never block; see above).
    bool has_stop_words() const { return stop_words_; }

private:
    guardrails() = default;
    using pattern_list = std::vector<std::unique_ptr<const re2::RE2>>;
    static bool passes(const pattern_list& patterns, std::string_view text);

    pattern_list input_;
    pattern_list output_;
    bool stop_words_ = false;
};

// The checks every caller of a model makes (`_predict`, `_predict/stream`, `/v1`). `g` may be null (no
// guardrails); `broken` (stored guardrails that no longer compile) refuses every text.
std::optional<error> guard_user_input(const guardrails* g, bool broken, std::string_view payload);
std::optional<error> guard_llm_output(const guardrails* g, bool broken, std::string_view body);

}  // namespace modelrelay::registry
