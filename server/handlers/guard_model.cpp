// File: guard_model.cpp
// ModelGuardrail.validate, as ml-commons does it: a predict on the guard model with the parameters
// {"question": <text>, "response_filter": <filter>}, then the JSON text of the first tensor's
// dataAsMap.response fully matched against response_validation_regex. When the guard model cannot be asked
// (missing, not deployed, refused, an upstream failure) ml-commons logs it and lets the text through;
// modelrelay does the same and logs a warning. The guard model's own guardrails are not applied (no
// recursion).
#include "server/handlers/guard_model.hpp"

#include <boost/json/serialize.hpp>

#include "registry/guardrails.hpp"
#include "registry/parameters.hpp"
#include "server/handlers/model_access.hpp"
#include "server/log.hpp"
#include "server/outbound.hpp"
#include "server/upstream/client.hpp"

namespace modelrelay::server::handlers {

namespace json = boost::json;

namespace {

// The guard model's answer for `question` as JSON text, or nullopt when it could not be asked.
awaitable<std::optional<std::string>> ask_guard(
    request_context& ctx, const registry::guardrails::model_check& check, std::string question
) {
    auto give_up = [&](std::string_view why) -> std::optional<std::string> {
        log::warn(
            "guardrail model not asked; the text passes",
            {{"guard_model_id", check.model_id}, {"reason", why}}
        );
        return std::nullopt;
    };
    auto ready = co_await prepare_model(ctx, ctx.who, check.model_id);
    if (!ready) {
        co_return give_up(ready.error().reason);
    }
    registry::predict_request req;
    req.parameters["question"] = std::move(question);
    if (!check.response_filter.empty()) {
        req.parameters["response_filter"] = check.response_filter;
    }
    // Scripts run on the script pool; co_await results are named (gcc 12, see predict.cpp).
    const auto& connector = *ready->connector;
    std::optional<registry::result<registry::predict_plan>> planned;
    if (registry::plan_may_run_script(connector, req)) {
        auto off_io = co_await on_scripts(ctx.app, [&] { return registry::plan_predict(connector, req); });
        planned.emplace(std::move(off_io));
    } else {
        planned.emplace(registry::plan_predict(connector, req));
    }
    auto& plan = *planned;
    if (!plan || plan->calls.size() != 1) {
        co_return give_up(
            plan ? "the guard model's connector makes more than one call" : plan.error().reason
        );
    }
    if (auto throttled = charge_rate_limiters(ctx.who, *ready, 1)) {
        co_return give_up(throttled->reason);
    }
    const auto& settings = *ready->snap->settings;
    auto& call = plan->calls.front();
    if (auto t = settings.check_trusted_endpoint(call.url); !t) {
        co_return give_up(t.error().reason);
    }
    auto out = to_request(call);
    out.caller = ctx.caller;
    auto res = co_await ctx.app.upstream->send(
        out,
        options_of(*ready->connector, settings.max_json_size(), ready->deployed->model_id),
        guard_of(ctx.app, settings, ctx.who.tenant_id)
    );
    if (!res && upstream::is_caller_gone(res.error())) {
        co_return std::nullopt;  // the client left: nothing passes anywhere, the request is dropped
    }
    if (!res) {
        co_return give_up(res.error().reason);
    }
    if (res->status < 200 || res->status > 299) {
        co_return give_up("status " + std::to_string(res->status));
    }
    const auto finish = [&] {
        return registry::finish_call(*plan, 0, res->status, res->body, settings.max_json_size());
    };
    std::optional<registry::result<json::object>> finished;
    if (plan->post_script) {
        auto off_io = co_await on_scripts(ctx.app, finish);
        finished.emplace(std::move(off_io));
    } else {
        finished.emplace(finish());
    }
    auto& element = *finished;
    if (!element) {
        co_return give_up(element.error().reason);
    }
    // gson.toJson(tensor.getDataAsMap().get("response")): "null" when there is none.
    const json::value* response = nullptr;
    if (const auto* output = element->if_contains("output"); output != nullptr && output->is_array()) {
        const auto& tensors = output->get_array();
        if (!tensors.empty() && tensors[0].is_object()) {
            if (const auto* map = tensors[0].get_object().if_contains("dataAsMap");
                map != nullptr && map->is_object()) {
                response = map->get_object().if_contains("response");
            }
        }
    }
    co_return response != nullptr
        ? registry::to_gson_json(*response, true, false, registry::key_order::java_hash_map)
        : std::string("null");
}

awaitable<std::optional<registry::error>> judge(
    request_context& ctx,
    const registry::guardrails::model_check& check,
    std::string text,
    std::string_view refusal
) {
    auto answer = co_await ask_guard(ctx, check, std::move(text));
    if (answer && !check.accepts(*answer)) {
        co_return registry::illegal_argument(std::string(refusal));
    }
    co_return std::nullopt;
}

}  // namespace

bool judges_input(const registry::deployed_model& model) {
    return model.guard && model.guard->input_model() != nullptr;
}

bool judges_output(const registry::deployed_model& model) {
    return model.guard && model.guard->output_model() != nullptr;
}

awaitable<std::optional<registry::error>> model_guard_input(
    request_context& ctx, const registry::deployed_model& model, const registry::predict_request& request
) {
    const auto* check = model.guard ? model.guard->input_model() : nullptr;
    if (check == nullptr) {
        co_return std::nullopt;
    }
    const auto* question = request.parameters.if_contains("question");
    std::string text = question != nullptr ? registry::stringify_parameter(*question) : std::string();
    if (text.empty()) {
        co_return std::nullopt;  // ModelGuardrail: "Guardrail request is empty." passes
    }
    co_return co_await judge(ctx, *check, std::move(text), "guardrails triggered for user input");
}

awaitable<std::optional<registry::error>> model_guard_output(
    request_context& ctx, const registry::deployed_model& model, std::string body
) {
    const auto* check = model.guard ? model.guard->output_model() : nullptr;
    if (check == nullptr || body.empty()) {
        co_return std::nullopt;
    }
    // StringUtils.processTextDoc: the answer as the inside of a gson JSON string.
    std::string text =
        registry::to_gson_json(json::value(body), true, false, registry::key_order::java_hash_map);
    text = text.substr(1, text.size() - 2);
    co_return co_await judge(ctx, *check, std::move(text), "guardrails triggered for LLM output");
}

}  // namespace modelrelay::server::handlers
