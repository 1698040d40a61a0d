// File: guardrails.cpp
#include "registry/guardrails.hpp"

#include <re2/re2.h>

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

error bad(std::string reason) {
    return error{errc::illegal_argument, std::move(reason)};
}

}  // namespace

guardrails::~guardrails() = default;

result<std::shared_ptr<const guardrails>> guardrails::compile(const json::value& spec) {
    const auto* o = spec.if_object();
    if (o == nullptr) {
        return bad("guardrails must be an object");
    }
    const auto* type = o->if_contains("type");
    if (type == nullptr || !type->is_string() ||
        (type->get_string() != "local_regex" && type->get_string() != "model")) {
        return bad("The type of guardrails is required, can not be null.");
    }
    if (type->get_string() == "model") {
        return bad(
            "Guardrails of type model (a second model judging each text) are not supported by modelrelay; "
            "use "
            "local_regex"
        );
    }
    std::shared_ptr<guardrails> g(new guardrails());
    for (const std::string_view side : {"input_guardrail", "output_guardrail"}) {
        const auto* v = o->if_contains(side);
        if (v == nullptr || v->is_null()) {
            continue;
        }
        if (!v->is_object()) {
            return bad(std::string(side) + " must be an object");
        }
        pattern_list& into = side == "input_guardrail" ? g->input_ : g->output_;
        if (const auto* regex = v->get_object().if_contains("regex"); regex != nullptr && !regex->is_null()) {
            if (!regex->is_array()) {
                return bad(std::string(side) + ".regex must be an array of strings");
            }
            for (const auto& r : regex->get_array()) {
                if (!r.is_string()) {
                    return bad(std::string(side) + ".regex must be an array of strings");
                }
                re2::RE2::Options opts;
                opts.set_log_errors(false);
                opts.set_never_capture(true);  // only match / no match is asked
                const std::string_view text = r.get_string();
                auto re = std::make_unique<const re2::RE2>(re2::StringPiece(text.data(), text.size()), opts);
                if (!re->ok()) {
                    return bad("Invalid guardrails regex: " + std::string(text));
                }
                into.push_back(std::move(re));
            }
        }
        if (const auto* words = v->get_object().if_contains("stop_words");
            words != nullptr && words->is_array() && !words->get_array().empty()) {
            g->stop_words_ = true;
        }
    }
    return std::shared_ptr<const guardrails>(std::move(g));
}

bool guardrails::passes(const pattern_list& patterns, std::string_view text) {
    const re2::StringPiece piece(text.data(), text.size());
    for (const auto& re : patterns) {
        if (re2::RE2::FullMatch(piece, *re)) {
            return false;
        }
    }
    return true;
}

bool guardrails::input_passes(std::string_view payload) const {
    return passes(input_, payload);
}

bool guardrails::output_passes(std::string_view body) const {
    return passes(output_, body);
}

namespace {

error broken_guardrails() {
    return error{
        errc::illegal_state, "The guardrails stored with this model no longer compile; update the model"};
}

}  // namespace

std::optional<error> guard_user_input(const guardrails* g, bool broken, std::string_view payload) {
    if (broken) {
        return broken_guardrails();
    }
    if (g != nullptr && !g->input_passes(payload)) {
        return bad("guardrails triggered for user input");
    }
    return std::nullopt;
}

std::optional<error> guard_llm_output(const guardrails* g, bool broken, std::string_view body) {
    if (broken) {
        return broken_guardrails();
    }
    if (g != nullptr && !g->output_passes(body)) {
        return bad("guardrails triggered for LLM output");
    }
    return std::nullopt;
}

}  // namespace modelrelay::registry
