// File: guardrails.hpp
// A model's `guardrails` (ml-commons.md §8.3), checked on every call of the model: the rendered request
// payload before it is sent (400 `guardrails triggered for user input`) and a 2xx upstream body before it
// is parsed (400 `guardrails triggered for LLM output`). Type `local_regex`: a text passes when none of the
// regexes matches the whole of it (Java `Matcher.matches()`), compiled once per deployment with RE2.
//
// `stop_words` name OpenSearch indices searched with a percolate query; modelrelay has no indices, and
// ml-commons lets a text pass when that search fails (a missing index), so stop words never block here:
// they are kept and shown, and docs/api.md says so.
//
// Type `model` (ModelGuardrail): a second, deployed model judges the text. Its side names `model_id`,
// `response_filter` and `response_validation_regex`; the guard model is asked with the parameters
// {"question": <text>, "response_filter": <filter>} and the text passes when the JSON text of its answer's
// `response` matches the regex as a whole. The input text is the request's `question` parameter (no
// `question`, no check), the output text the upstream body. The call itself is I/O and lives in the server
// (handlers/guard_model.cpp); this holds what it needs.
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
    // `type` is ml-commons' `The type of guardrails is required, can not be null.`; a regex RE2 cannot
    // compile is `Invalid guardrails regex: <r>`; a model side without `model_id` or
    // `response_validation_regex`, or a field of the wrong type, names the field.
    static result<std::shared_ptr<const guardrails>> compile(const boost::json::value& spec);

    // local_regex: whether a text passes (always true for type `model`).
    bool input_passes(std::string_view payload) const;
    bool output_passes(std::string_view body) const;

    // Type `model`: one side's guard model and how its answer is judged.
    struct model_check {
        std::string model_id;
        std::string response_filter;  // "" when not set
        std::unique_ptr<const re2::RE2> accept;
        // Whether the guard model's answer (its `response`, as JSON text) is accepted.
        bool accepts(std::string_view response_json) const;
    };
    const model_check* input_model() const { return input_model_ ? &*input_model_ : nullptr; }
    const model_check* output_model() const { return output_model_ ? &*output_model_ : nullptr; }
    // Whether stop words were configured (they never block; see above).
    bool has_stop_words() const { return stop_words_; }

private:
    guardrails() = default;
    using pattern_list = std::vector<std::unique_ptr<const re2::RE2>>;
    static bool passes(const pattern_list& patterns, std::string_view text);

    pattern_list input_;
    pattern_list output_;
    bool stop_words_ = false;
    std::optional<model_check> input_model_;
    std::optional<model_check> output_model_;
};

// The checks every caller of a model makes (`_predict`, `_predict/stream`, `/v1`). `g` may be null (no
// guardrails); `broken` (stored guardrails that no longer compile) refuses every text.
std::optional<error> guard_user_input(const guardrails* g, bool broken, std::string_view payload);
std::optional<error> guard_llm_output(const guardrails* g, bool broken, std::string_view body);

}  // namespace modelrelay::registry
