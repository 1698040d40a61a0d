// File: guardrails.cpp
#include "registry/guardrails.hpp"

#include <re2/re2.h>

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

error bad(std::string reason) {
    return error{errc::illegal_argument, std::move(reason)};
}

std::unique_ptr<const re2::RE2> compile_full(std::string_view text) {
    re2::RE2::Options opts;
    opts.set_log_errors(false);
    opts.set_never_capture(true);  // only match / no match is asked
    return std::make_unique<const re2::RE2>(re2::StringPiece(text.data(), text.size()), opts);
}

result<guardrails::model_check> model_side(const json::object& side_obj, std::string_view side) {
    guardrails::model_check check;
    const auto* id = side_obj.if_contains("model_id");
    if (id == nullptr || !id->is_string() || id->get_string().empty()) {
        return bad(std::string(side) + ".model_id is required for guardrails of type model");
    }
    check.model_id = std::string(id->get_string());
    if (const auto* f = side_obj.if_contains("response_filter"); f != nullptr && !f->is_null()) {
        if (!f->is_string()) {
            return bad(std::string(side) + ".response_filter must be a string");
        }
        check.response_filter = std::string(f->get_string());
    }
    const auto* re = side_obj.if_contains("response_validation_regex");
    if (re == nullptr || !re->is_string()) {
        return bad(std::string(side) + ".response_validation_regex is required for guardrails of type model");
    }
    check.accept = compile_full(re->get_string());
    if (!check.accept->ok()) {
        return bad("Invalid guardrails regex: " + std::string(re->get_string()));
    }
    return check;
}

}  // namespace

guardrails::~guardrails() = default;

bool guardrails::model_check::accepts(std::string_view response_json) const {
    return re2::RE2::FullMatch(re2::StringPiece(response_json.data(), response_json.size()), *accept);
}

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
    const bool model_type = type->get_string() == "model";
    std::shared_ptr<guardrails> g(new guardrails());
    for (const std::string_view side : {"input_guardrail", "output_guardrail"}) {
        const auto* v = o->if_contains(side);
        if (v == nullptr || v->is_null()) {
            continue;
        }
        if (!v->is_object()) {
            return bad(std::string(side) + " must be an object");
        }
        if (model_type) {
            if (v->get_object().empty()) {
                continue;  // ml-commons: an empty side is no guardrail
            }
            auto check = model_side(v->get_object(), side);
            if (!check) {
                return check.error();
            }
            (side == "input_guardrail" ? g->input_model_ : g->output_model_) = std::move(*check);
            continue;
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
                const std::string_view text = r.get_string();
                auto re = compile_full(text);
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
