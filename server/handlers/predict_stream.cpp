// File: predict_stream.cpp
// POST /_plugins/_ml/models/{model_id}/_predict/stream (ml-commons 3.3+, spec ml-commons.md §1.4
// "Streaming"): the predict pre-flight of _predict, then the upstream's OpenAI chat stream relayed as
// ml-commons chunks (ml_stream_events.hpp says how each event becomes them). Failures after the head:
// `data: {"error": "<msg>"}`.
//
// Differences from ml-commons (documented in docs/api.md): errors found before anything is streamed
// (model lookup, planning, trusted endpoint, SSRF guard, upstream non-2xx) are ordinary JSON error
// responses with their status, where ml-commons has already sent `200 text/event-stream`; a missing
// `_llm_interface` is a 400 (ml-commons fails with a NullPointerException); an upstream event carrying an
// `error` member is relayed as an error chunk (ml-commons skips it).
#include <boost/json/monotonic_resource.hpp>

#include "registry/ascii.hpp"
#include "registry/deployed_model.hpp"
#include "registry/guardrails.hpp"
#include "registry/key_limiter.hpp"
#include "registry/ml_stats.hpp"
#include "registry/model_interface.hpp"
#include "registry/predict.hpp"
#include "server/handlers/guard_model.hpp"
#include "server/handlers/handlers.hpp"
#include "server/handlers/key_scope.hpp"
#include "server/handlers/ml_stream_events.hpp"
#include "server/handlers/model_access.hpp"
#include "server/handlers/predict_admission.hpp"
#include "server/outbound.hpp"
#include "server/sse_relay.hpp"

namespace modelrelay::server::handlers {

namespace json = boost::json;
using registry::errc;

namespace {

constexpr std::string_view openai_chat_interface = "openai/v1/chat/completions";

std::string lower_trimmed(std::string_view s) {
    while (!s.empty() && static_cast<unsigned char>(s.front()) <= ' ') {
        s.remove_prefix(1);
    }
    while (!s.empty() && static_cast<unsigned char>(s.back()) <= ' ') {
        s.remove_suffix(1);
    }
    return registry::ascii_lower_copy(s);
}

// `_llm_interface` from the request parameters, else from the connector's.
std::optional<std::string> llm_interface_of(
    const registry::predict_request& in, const registry::compiled_connector& c
) {
    if (const auto* v = in.parameters.if_contains("_llm_interface"); v != nullptr && !v->is_null()) {
        return v->is_string() ? std::string(v->get_string()) : registry::stringify_parameter(*v);
    }
    if (const auto* p = registry::find_param(c.parameters, "_llm_interface")) {
        return *p;
    }
    return std::nullopt;
}

}  // namespace

awaitable<http_response> handle_model_predict_stream(request_context& ctx) {
    // As on _predict: the request's JSON in one arena that outlives everything pointing into it.
    json::monotonic_resource arena;
    if (!ctx.app.registry->current()->settings->stream_enabled()) {
        co_return fail(
            ctx,
            {errc::illegal_state,
             "Streaming is currently disabled. To enable it, update the setting "
             "\"plugins.ml_commons.stream_enabled\" to true."}
        );
    }
    std::string model_id(ctx.param("model_id"));
    auto admission = admit_predict(ctx, arena, model_id, "");
    if (auto* refused = std::get_if<http_response>(&admission)) {
        co_return std::move(*refused);
    }
    auto& input = std::get<predict_admission>(admission).input;
    auto& permit = std::get<predict_admission>(admission).permit;
    // As on _predict: a coroutine frame for prepare_model only when the model must be deployed first.
    auto prepared = prepare_model_now(ctx, ctx.who, model_id, registry::action::model_predict_stream, &input);
    if (!prepared) {
        auto deployed_now = co_await prepare_model(
            ctx, ctx.who, std::move(model_id), registry::action::model_predict_stream, &input
        );
        prepared.emplace(std::move(deployed_now));
    }
    auto& ready = *prepared;
    if (!ready) {
        co_return fail(ctx, ready.error());
    }
    // The stats API counts the request, and its failure unless it is a 400, as on _predict; a failure
    // after the head (an error frame) counts too.
    registry::predict_accounting counted(ctx.app.stats, ready->deployed, ready->deployed->model_id);
    const auto refuse = [&](const registry::error& e) {
        return fail_counted(ctx, counted, e);
    };
    bool failed_in_stream = false;
    const auto& connector = *ready->connector;
    const auto iface = llm_interface_of(input, connector);
    if (!iface) {
        co_return refuse(registry::illegal_argument(
            "Streaming requires the _llm_interface parameter; supported: " +
            std::string(openai_chat_interface)
        ));
    }
    if (lower_trimmed(*iface) != openai_chat_interface) {
        co_return refuse(registry::illegal_argument("Unsupported LLM interface: " + *iface));
    }
    // RestMLPredictionStreamAction puts stream:"true" into the parameters; with the OpenAI interface the
    // planner then sets "stream":true in the body (§3.2.5).
    input.parameters["stream"] = "true";
    auto plan = registry::plan_predict(connector, input, registry::predict_options{.streaming = true});
    if (!plan) {
        co_return refuse(plan.error());
    }
    if (plan->calls.size() != 1) {
        co_return refuse(registry::illegal_argument("Streaming supports exactly one upstream call"));
    }
    if (auto throttled = charge_rate_limiters(ctx.who, *ready, 1)) {
        co_return refuse(*throttled);
    }
    if (judges_input(*ready->deployed)) {
        if (auto judged = co_await model_guard_input(ctx, *ready->deployed, input)) {
            co_return refuse(*judged);
        }
    }
    auto& call = plan->calls.front();
    // The input guardrail as for _predict; the output one needs the whole answer, which a stream relays as
    // it comes, so it is not applied here (docs/api.md).
    if (auto g = registry::guard_user_input(
            ready->deployed->guard.get(), ready->deployed->guard_broken, call.body
        )) {
        co_return refuse(*g);
    }
    auto req = to_request(call);
    auto options = options_of(connector, ready->snap->settings->max_json_size(), ready->deployed->model_id);
    // ml-commons does not retry a stream (spec §2.3): one upstream call, whatever client_config says.
    options.max_retry_times = 0;
    // As ConnectorUtils.buildOKHttpStreamingRequest asks for the stream.
    if (upstream::find_header(req.headers, "accept").empty()) {
        req.headers.emplace_back("Accept", "text/event-stream");
    }
    if (upstream::find_header(req.headers, "cache-control").empty()) {
        req.headers.emplace_back("Cache-Control", "no-cache");
    }

    // A key charged by tokens needs the stream's usage (the ml chunks never show it).
    if (permit.counts_tokens()) {
        add_stream_usage_option(req.body);
    }
    sse_relay_hooks hooks;
    tool_call_accumulator tool_call;
    hooks.on_event =
        [&permit, &failed_in_stream, &tool_call](const upstream::sse_event& ev, std::string& out) {
            if (permit.counts_tokens()) {
                if (auto used = registry::usage_total_tokens_of(ev.data)) {
                    permit.set_usage(*used);
                }
            }
            const relay_step step = on_openai_event(ev.data, out, &tool_call);
            failed_in_stream = failed_in_stream || step == relay_step::stop;  // the upstream's error event
            return step;
        };
    hooks.on_finish = [](std::string& out) {
        out += stream_chunk("", true);
    };
    hooks.error_frame = [&failed_in_stream](const registry::error& e) {
        failed_in_stream = true;
        return error_chunk(e.reason);
    };
    // A 2xx JSON answer instead of a stream: a chat.completion is relayed as its chunks (docs/api.md);
    // anything else is an error frame (ml-commons' EventSource refuses the content type), never an
    // empty stream that looks successful.
    hooks.on_json_body = [&permit, &failed_in_stream](std::string_view b, std::string& out) {
        if (permit.counts_tokens()) {
            if (auto used = registry::usage_total_tokens_of(b)) {
                permit.set_usage(*used);
            }
        }
        const relay_step step = on_openai_completion(b, out);
        failed_in_stream = failed_in_stream || step == relay_step::stop;
        return step;
    };
    // The key's parallel slot is free, and a failure counted, before the client sees the end: a client
    // may ask again, or read the stats, at once.
    hooks.before_end = [&permit, &counted, &failed_in_stream] {
        if (failed_in_stream) {
            counted.fail(500);
        }
        permit.set_succeeded();
        permit.finish();
    };
    sse_relay_options opts;
    opts.extra_headers = permit.headers();
    auto failed = co_await relay_sse(ctx, std::move(req), options, std::move(hooks), std::move(opts));
    if (failed) {
        co_return refuse(failed->error);
    }
    if (failed_in_stream) {  // also when the client left before the end was written
        counted.fail(500);
    }
    permit.set_succeeded();  // charged when the handler returns (the permit's destructor)
    co_return streamed_response();
}

}  // namespace modelrelay::server::handlers
