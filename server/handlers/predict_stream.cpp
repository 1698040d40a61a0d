// File: predict_stream.cpp
// POST /_plugins/_ml/models/{model_id}/_predict/stream (ml-commons 3.3+, spec ml-commons.md §1.4
// "Streaming"): the predict pre-flight of _predict, then the upstream's OpenAI chat stream relayed as
// ml-commons chunks, the way HttpStreamingHandler and RestMLPredictionStreamAction shape them (`data: ` +
// {"inference_results":[{"output":[{"name":"response","dataAsMap":{"content":"<d>","is_last":false}}]}]})
// one per non-empty `choices[0].delta.content` (tool-call deltas: their JSON as content), then one with
// `"content":"","is_last":true` at `finish_reason:"stop"`, `[DONE]` or the end of the upstream body. An
// upstream that answers one JSON chat.completion instead of a stream gives its message as one chunk.
// Failures after the head: `data: {"error": "<msg>"}`.
//
// Differences from ml-commons (documented in docs/api.md): errors found before anything is streamed
// (model lookup, planning, trusted endpoint, SSRF guard, upstream non-2xx) are ordinary JSON error
// responses with their status, where ml-commons has already sent `200 text/event-stream`; a missing
// `_llm_interface` is a 400 (ml-commons fails with a NullPointerException); an upstream event carrying an
// `error` member is relayed as an error chunk (ml-commons skips it).
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "registry/ascii.hpp"
#include "registry/deployed_model.hpp"
#include "registry/guardrails.hpp"
#include "registry/json_text.hpp"
#include "registry/key_limiter.hpp"
#include "registry/ml_stats.hpp"
#include "registry/model_interface.hpp"
#include "registry/predict.hpp"
#include "server/handlers/guard_model.hpp"
#include "server/handlers/handlers.hpp"
#include "server/handlers/key_scope.hpp"
#include "server/handlers/model_access.hpp"
#include "server/handlers/predict_admission.hpp"
#include "server/outbound.hpp"
#include "server/sse_relay.hpp"

namespace modelrelay::server::handlers {

namespace json = boost::json;
using registry::errc;

namespace {

constexpr std::string_view openai_chat_interface = "openai/v1/chat/completions";

// data: {"inference_results":[{"output":[{"name":"response","dataAsMap":{"content":…,"is_last":…}}]}]}
// written directly (one per relayed event: the tree and its serialisation were most of an event's cost).
std::string stream_chunk(std::string_view content, bool is_last) {
    constexpr std::string_view head =
        R"(data: {"inference_results":[{"output":[{"name":"response","dataAsMap":{"content":)";
    std::string out;
    out.reserve(head.size() + content.size() + 32);
    out.append(head);
    registry::append_json_string(out, content);
    out.append(is_last ? R"(,"is_last":true}}]}]})" : R"(,"is_last":false}}]}]})");
    out.append("\n\n");
    return out;
}

// RestMLPredictionStreamAction's error chunk (the space after the colon is theirs).
std::string error_chunk(std::string_view message) {
    return "data: {\"error\": " + json::serialize(json::string(message)) + "}\n\n";
}

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

// `$.choices[0]` of an upstream chunk, or null.
const json::object* first_choice(const json::object& chunk) {
    const auto* choices = chunk.if_contains("choices");
    if (choices == nullptr || !choices->is_array() || choices->get_array().empty()) {
        return nullptr;
    }
    return choices->get_array()[0].if_object();
}

// One upstream OpenAI chunk → ml-commons chunks (HttpStreamingHandler.onOpenAIEvent).
relay_step on_openai_event(const upstream::sse_event& ev, std::string& out) {
    if (ev.data == "[DONE]") {
        return relay_step::done;
    }
    // The event's tree lives on this stack frame: no heap allocation per event, nothing to free.
    unsigned char scratch[4096];
    json::monotonic_resource arena(scratch, sizeof scratch);
    boost::system::error_code ec;
    const json::value v = json::parse(ev.data, ec, &arena);
    if (ec || !v.is_object()) {
        return relay_step::more;  // ml-commons skips malformed chunks
    }
    const auto& chunk = v.get_object();
    if (const auto* err = chunk.if_contains("error"); err != nullptr && !err->is_null()) {
        std::string message = json::serialize(*err);
        if (err->is_string()) {
            message = std::string(err->get_string());
        } else if (const auto* m = err->is_object() ? err->get_object().if_contains("message") : nullptr;
                   m != nullptr && m->is_string()) {
            message = std::string(m->get_string());
        }
        out += error_chunk("Error from remote service: " + message);
        return relay_step::stop;
    }
    const json::object* choice = first_choice(chunk);
    if (choice == nullptr) {
        return relay_step::more;
    }
    if (const auto* fr = choice->if_contains("finish_reason");
        fr != nullptr && fr->is_string() && fr->get_string() == "stop") {
        return relay_step::done;
    }
    const auto* delta = choice->if_contains("delta");
    if (delta == nullptr || !delta->is_object()) {
        return relay_step::more;
    }
    if (const auto* content = delta->get_object().if_contains("content");
        content != nullptr && content->is_string() && !content->get_string().empty()) {
        out += stream_chunk(content->get_string(), false);
    }
    if (const auto* calls = delta->get_object().if_contains("tool_calls");
        calls != nullptr && calls->is_array()) {
        out +=
            stream_chunk(registry::to_gson_json(*calls, true, false, registry::key_order::insertion), false);
    }
    return relay_step::more;
}

// An upstream that answered one JSON chat.completion instead of a stream: its message as one chunk.
relay_step on_openai_completion(std::string_view body, std::string& out) {
    boost::system::error_code ec;
    const json::value v = json::parse(body, ec);
    const json::object* choice = !ec && v.is_object() ? first_choice(v.get_object()) : nullptr;
    const json::value* message = choice != nullptr ? choice->if_contains("message") : nullptr;
    if (message != nullptr && message->is_object()) {
        const auto& m = message->get_object();
        if (const auto* content = m.if_contains("content");
            content != nullptr && content->is_string() && !content->get_string().empty()) {
            out += stream_chunk(content->get_string(), false);
        }
        if (const auto* calls = m.if_contains("tool_calls"); calls != nullptr && calls->is_array()) {
            out += stream_chunk(
                registry::to_gson_json(*calls, true, false, registry::key_order::insertion), false
            );
        }
    }
    return relay_step::done;
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
    const auto options = options_of(connector, ready->snap->settings->max_json_size());

    // A key charged by tokens needs the stream's usage (the ml chunks never show it).
    if (permit.counts_tokens()) {
        add_stream_usage_option(req.body);
    }
    sse_relay_hooks hooks;
    hooks.on_event = [&permit, &failed_in_stream](const upstream::sse_event& ev, std::string& out) {
        if (permit.counts_tokens()) {
            if (auto used = registry::usage_total_tokens_of(ev.data)) {
                permit.set_usage(*used);
            }
        }
        const relay_step step = on_openai_event(ev, out);
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
    hooks.on_json_body = [&permit](std::string_view b, std::string& out) {
        if (permit.counts_tokens()) {
            if (auto used = registry::usage_total_tokens_of(b)) {
                permit.set_usage(*used);
            }
        }
        return on_openai_completion(b, out);
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
