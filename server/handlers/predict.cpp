// File: predict.cpp
// POST /_plugins/_ml/models/{id}/_predict and /_plugins/_ml/_predict/{algorithm}/{id}: the hot path.
// Everything comes from the snapshot (compiled connector, bound credentials); the only I/O is the
// upstream call. Planning and response shaping are pure (registry/predict.hpp).
#include "registry/predict.hpp"

#include <boost/json/monotonic_resource.hpp>

#include "registry/deployed_model.hpp"
#include "registry/guardrails.hpp"
#include "registry/key_limiter.hpp"
#include "registry/ml_stats.hpp"
#include "registry/model_interface.hpp"
#include "server/handlers/guard_model.hpp"
#include "server/handlers/handlers.hpp"
#include "server/handlers/key_scope.hpp"
#include "server/handlers/model_access.hpp"
#include "server/handlers/predict_admission.hpp"
#include "server/outbound.hpp"
#include "server/upstream/client.hpp"
#include "server/upstream/retry_policy.hpp"

namespace modelrelay::server::handlers {

namespace json = boost::json;

namespace {

awaitable<http_response> run_predict(request_context& ctx, std::string model_id, std::string algorithm) {
    // The request's JSON (and the parameters moved out of it) in one arena: one allocation, and nothing
    // to walk when it is freed. Declared first, so it outlives everything that points into it.
    json::monotonic_resource arena;
    auto admission = admit_predict(ctx, arena, model_id, algorithm);
    if (auto* refused = std::get_if<http_response>(&admission)) {
        co_return std::move(*refused);
    }
    auto& input = std::get<predict_admission>(admission).input;
    auto& permit = std::get<predict_admission>(admission).permit;
    // The deployed model is ready without waiting for anything almost always; prepare_model (a coroutine)
    // only for a deploy on first use.
    auto prepared = prepare_model_now(ctx, ctx.who, model_id, registry::action::model_predict, &input);
    if (!prepared) {
        // Named, not a temporary inside the co_await expression (gcc 12 destroys such temporaries twice).
        auto deployed_now = co_await prepare_model(
            ctx, ctx.who, std::move(model_id), registry::action::model_predict, &input
        );
        prepared.emplace(std::move(deployed_now));
    }
    auto& ready = *prepared;
    if (!ready) {
        co_return fail(ctx, ready.error());
    }
    // The stats API counts a predict once its model is ready (ml-commons: when it reaches the task
    // runner), and its failure unless it is a 400.
    registry::predict_accounting counted(ctx.app.stats, ready->deployed, ready->deployed->model_id);
    const auto refuse = [&](const registry::error& e) {
        return fail_counted(ctx, counted, e);
    };
    const auto& settings = *ready->snap->settings;
    auto& runtime = *ready->deployed->runtime;
    const auto window = static_cast<std::size_t>(std::max(0LL, settings.monitoring_request_count()));
    // predict_request_stats: from here (the model found, allowed, enabled and admitted) to the answer.
    const registry::scoped_latency whole_request(runtime.requests, window);
    // Work that may run a connector's Painless script goes to the script pool (app::script_executor).
    // (Results of co_await are named and moved: gcc 12 destroys temporaries in co_await expressions twice.)
    const auto& connector = *ready->connector;
    std::optional<registry::result<registry::predict_plan>> planned;
    if (registry::plan_may_run_script(connector, input)) {
        auto off_io = co_await on_scripts(ctx.app, [&] { return registry::plan_predict(connector, input); });
        planned.emplace(std::move(off_io));
    } else {
        planned.emplace(registry::plan_predict(connector, input));
    }
    auto& plan = *planned;
    if (!plan) {
        co_return refuse(plan.error());
    }
    if (auto throttled = charge_rate_limiters(ctx.who, *ready, plan->calls.size())) {
        co_return refuse(*throttled);
    }
    if (judges_input(*ready->deployed)) {
        if (auto judged = co_await model_guard_input(ctx, *ready->deployed, input)) {
            co_return refuse(*judged);
        }
    }
    const auto options = options_of(*ready->connector, settings.max_json_size(), ready->deployed->model_id);
    const auto guard = guard_of(ctx.app, settings, ctx.who.tenant_id);
    std::string text(registry::inference_results_open);
    for (std::size_t i = 0; i < plan->calls.size(); ++i) {
        auto& call = plan->calls[i];
        const auto& deployed = *ready->deployed;
        if (auto g = registry::guard_user_input(deployed.guard.get(), deployed.guard_broken, call.body)) {
            co_return refuse(*g);
        }
        // Every outbound call is checked against the trusted list with its fully rendered URL.
        if (auto t = settings.check_trusted_endpoint(call.url); !t) {
            co_return refuse(t.error());
        }
        auto req = to_request(call);
        req.caller = ctx.caller;
        const auto sent_at = std::chrono::steady_clock::now();
        auto res = co_await ctx.app.upstream->send(req, options, guard);
        if (!res) {
            co_return refuse(res.error());
        }
        if (upstream::is_aws_throttled(res->status, res->header("x-amzn-ErrorType"))) {
            co_return refuse(registry::remote_throttled(res->status));
        }
        // Success is 200..300 inclusive, as for the answer's shaping.
        if (res->status >= 200 && res->status <= 300) {
            runtime.inference.add(registry::scoped_latency::elapsed_ms(sent_at), window);
            if (auto g = registry::guard_llm_output(deployed.guard.get(), deployed.guard_broken, res->body)) {
                co_return refuse(*g);
            }
            if (judges_output(deployed)) {
                std::string answer = res->body;
                if (auto judged = co_await model_guard_output(ctx, deployed, std::move(answer))) {
                    co_return refuse(*judged);
                }
            }
            permit.set_succeeded();
            if (permit.counts_tokens()) {
                if (auto used = registry::usage_total_tokens_of(res->body)) {
                    permit.add_usage(*used);
                }
            }
        }
        if (i != 0) {
            text.push_back(',');
        }
        const auto append = [&] {
            return registry::append_call_element(
                text, *plan, i, res->status, res->body, settings.max_json_size()
            );
        };
        std::optional<registry::result<void>> appended;
        if (plan->post_script) {
            auto off_io = co_await on_scripts(ctx.app, append);
            appended.emplace(off_io);
        } else {
            appended.emplace(append());
        }
        if (!*appended) {
            co_return refuse(appended->error());
        }
    }
    text.append(registry::inference_results_close);
    if (auto bad = registry::check_interface_output(ready->deployed->iface.get(), text)) {
        co_return refuse(*bad);
    }
    auto out = json_text_response(200, std::move(text), ctx.pretty);
    permit.finish();
    permit.add_headers(out);
    co_return out;
}

}  // namespace

// Not coroutines themselves: run_predict's frame takes the strings, and the caller awaits it directly (one
// coroutine frame less per request).
awaitable<http_response> handle_model_predict(request_context& ctx) {
    return run_predict(ctx, std::string(ctx.param("model_id")), "");
}

awaitable<http_response> handle_algorithm_predict(request_context& ctx) {
    return run_predict(ctx, std::string(ctx.param("model_id")), std::string(ctx.param("algorithm")));
}

}  // namespace modelrelay::server::handlers
