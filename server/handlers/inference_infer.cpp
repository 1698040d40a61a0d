// File: inference_infer.cpp
// Elasticsearch `_inference` calls (clients.md §1.3, §1.4): `POST /_inference[/{task_type}]/{id}` for
// completion and text_embedding, and the SSE routes `.../_stream` (completion, chat_completion) relayed chunk
// by chunk through server/sse_relay.hpp. Request-parsing errors are plain JSON errors; anything that fails
// before the first event of a stream is one `event: error` with the error's status, as Elasticsearch does.
#include <chrono>

#include "registry/crypto.hpp"
#include "registry/inference_call.hpp"
#include "registry/inference_endpoint.hpp"
#include "registry/key_limiter.hpp"
#include "server/app.hpp"
#include "server/handlers/handlers.hpp"
#include "server/handlers/inference_support.hpp"
#include "server/handlers/key_scope.hpp"
#include "server/outbound.hpp"
#include "server/sse_relay.hpp"

namespace modelrelay::server::handlers {

namespace json = boost::json;
namespace inference = registry::inference;
using registry::errc;

namespace {

using namespace std::chrono_literals;

// The task type named in the URL (`any` without one).
registry::result<inference::task_type> requested_task(const request_context& ctx) {
    if (auto t = es::url_task(ctx)) {
        return inference::parse_task_type(*t);
    }
    return inference::task_type::any;
}

registry::error chat_needs_stream(std::string_view id) {
    return {
        errc::bad_request,
        "Inference entity [" + std::string(id) +
            "] does not support task type [chat_completion] for inference, the task type must be one of "
            "[text_embedding, completion]. The task type for the inference entity is chat_completion, please "
            "use "
            "the _inference/chat_completion/" +
            std::string(id) + "/_stream URL."};
}

// The stored endpoint of this caller, or the Elasticsearch error for the request's task type. An endpoint
// the API key may not call does not exist for it (security.md R16: the inference id is the model).
registry::result<const registry::resource*> find_endpoint(
    const registry::snapshot& snap,
    std::string_view id,
    const registry::caller& who,
    const request_key& caller_key,
    inference::task_type requested
) {
    const registry::resource* r = snap.find(registry::kind::inference_endpoint, id);
    if (r == nullptr || r->tenant_id != who.tenant_id || !key_allows(caller_key, id)) {
        return inference::endpoint_not_found(id);
    }
    const auto stored = inference::stored_task(r->doc());
    if (!inference::any_or_same(requested, stored)) {
        return inference::incompatible_task_type(requested, stored);
    }
    return r;
}

}  // namespace

awaitable<http_response> handle_inference_infer(request_context& ctx) {
    auto who = caller_of(ctx);
    if (!who) {
        co_return es::fail(ctx, who.error());
    }
    const auto caller_key = key_of(ctx);
    auto requested = requested_task(ctx);
    if (!requested) {
        co_return es::fail(ctx, requested.error());
    }
    auto timeout = es::timeout_param(ctx, 30s);
    if (!timeout) {
        co_return es::fail(ctx, timeout.error());
    }
    auto body = parse_body(ctx);
    if (!body) {
        co_return es::fail(ctx, body.error());
    }
    auto request = inference::parse_infer_request(ctx.req.body(), *body, *requested);
    if (!request) {
        co_return es::fail(ctx, request.error());
    }
    const std::string id(ctx.param("inference_id"));
    const auto snap = ctx.app.registry->current();
    auto endpoint = find_endpoint(*snap, id, *who, caller_key, *requested);
    if (!endpoint) {
        co_return es::fail(ctx, endpoint.error());
    }
    const auto& doc = (*endpoint)->doc();
    const auto task = inference::stored_task(doc);
    if (task == inference::task_type::chat_completion) {
        co_return es::fail(ctx, chat_needs_stream(id));
    }
    if (task == inference::task_type::completion && request->input.size() > 1) {
        co_return es::fail(ctx, inference::single_input_only());
    }
    // OpenAiService.doInfer: ServiceUtils.validateInputTypeIsUnspecifiedOrInternal.
    if (request->input_type && !request->input_type->starts_with("internal")) {
        co_return es::fail(
            ctx,
            {errc::validation,
             "Validation Failed: 1: Invalid input_type [" + *request->input_type +
                 "]. The input_type option is not supported by this service;"}
        );
    }
    if (auto checked = inference::request_task_settings(request->task_settings); !checked) {
        co_return es::fail(ctx, checked.error());
    } else {
        request->task_settings = std::move(*checked);
    }
    auto admitted = admit_key(ctx, caller_key, key_door::inference, key_estimate(caller_key, *body));
    if (auto* refused = std::get_if<http_response>(&admitted)) {
        co_return std::move(*refused);
    }
    auto& permit = std::get<key_permit>(admitted);
    auto key = ctx.app.registry->inference_api_key(**endpoint);
    if (!key) {
        co_return es::fail(ctx, key.error());
    }
    auto call = task == inference::task_type::text_embedding
                    ? inference::plan_embeddings(doc, *key, request->input, request->task_settings)
                    : inference::plan_completion(doc, *key, request->input, request->task_settings, false);
    registry::secure_wipe(*key);
    const std::string url = call.url;
    auto res = co_await es::send_call(ctx, *snap->settings, std::move(call), *timeout);
    if (!res) {
        co_return es::fail(ctx, res.error());
    }
    if (res->status < 200 || res->status > 299) {
        co_return es::fail(
            ctx,
            inference::upstream_failure(id, url, res->status, res->body, es::rate_limits_of(res->headers))
        );
    }
    permit.set_succeeded();
    if (permit.counts_tokens()) {
        if (auto used = registry::usage_total_tokens_of(res->body)) {
            permit.add_usage(*used);
        }
    }
    http_response out;
    if (task == inference::task_type::text_embedding) {
        auto vectors = inference::embeddings_of(id, res->body);
        if (!vectors) {
            co_return es::fail(ctx, vectors.error());
        }
        out = es::ok_text(ctx, inference::text_embedding_body(*vectors));
    } else {
        auto result = inference::completion_body(id, res->body);
        if (!result) {
            co_return es::fail(ctx, result.error());
        }
        out = es::ok_text(ctx, std::move(*result));
    }
    permit.finish();
    permit.add_headers(out);
    co_return out;
}

awaitable<http_response> handle_inference_stream(request_context& ctx) {
    auto who = caller_of(ctx);
    if (!who) {
        co_return es::fail(ctx, who.error());
    }
    const auto caller_key = key_of(ctx);
    auto requested = requested_task(ctx);
    if (!requested) {
        co_return es::fail(ctx, requested.error());
    }
    auto body = parse_body(ctx);
    if (!body) {
        co_return es::fail(ctx, body.error());
    }
    // chat_completion/{id}/_stream takes the unified (OpenAI-style) body; the others an inference request.
    const bool unified = *requested == inference::task_type::chat_completion;
    std::optional<json::object> chat_request;
    std::optional<inference::infer_request> request;
    if (unified) {
        auto parsed = inference::parse_chat_request(ctx.req.body(), *body);
        if (!parsed) {
            co_return es::fail(ctx, parsed.error());
        }
        chat_request = std::move(*parsed);
    } else {
        auto parsed = inference::parse_infer_request(ctx.req.body(), *body, *requested);
        if (!parsed) {
            co_return es::fail(ctx, parsed.error());
        }
        request = std::move(*parsed);
    }
    const std::string id(ctx.param("inference_id"));
    const auto snap = ctx.app.registry->current();
    auto endpoint = find_endpoint(*snap, id, *who, caller_key, *requested);
    if (!endpoint) {
        co_return es::sse_fail(ctx, endpoint.error());
    }
    const auto& doc = (*endpoint)->doc();
    const auto task = inference::stored_task(doc);
    if (task != inference::task_type::completion && task != inference::task_type::chat_completion) {
        co_return es::sse_fail(
            ctx,
            {errc::method_not_allowed,
             "Streaming is not allowed for service [openai] and task [" +
                 std::string(inference::name_of(*requested)) +
                 "]. Supported tasks: [completion,chat_completion]"}
        );
    }
    if (task == inference::task_type::chat_completion && !unified) {
        co_return es::sse_fail(ctx, chat_needs_stream(id));
    }
    if (!unified && request->input.size() > 1) {
        co_return es::sse_fail(ctx, inference::single_input_only());
    }
    if (!unified) {
        if (auto checked = inference::request_task_settings(request->task_settings); !checked) {
            co_return es::sse_fail(ctx, checked.error());
        } else {
            request->task_settings = std::move(*checked);
        }
    }
    auto admitted = admit_key(ctx, caller_key, key_door::inference_stream, key_estimate(caller_key, *body));
    if (auto* refused = std::get_if<http_response>(&admitted)) {
        co_return std::move(*refused);
    }
    auto& permit = std::get<key_permit>(admitted);
    auto key = ctx.app.registry->inference_api_key(**endpoint);
    if (!key) {
        co_return es::sse_fail(ctx, key.error());
    }
    auto call = unified ? inference::plan_chat(doc, *key, *chat_request, true)
                        : inference::plan_completion(doc, *key, request->input, request->task_settings, true);
    registry::secure_wipe(*key);
    if (auto off = snap->settings->remote_inference_refusal()) {
        co_return es::sse_fail(ctx, *off);
    }
    const std::string url = call.url;
    upstream::request req;
    req.method = http::verb::post;
    req.url = call.url;
    req.headers = std::move(call.headers);
    req.body = std::move(call.body);
    req.secrets = std::move(call.secrets);

    sse_relay_hooks hooks;
    hooks.on_event = [unified, &id, &permit](const upstream::sse_event& ev, std::string& out) {
        if (ev.data == "[DONE]") {
            return relay_step::done;
        }
        if (permit.counts_tokens()) {
            if (auto used = registry::usage_total_tokens_of(ev.data)) {
                permit.set_usage(*used);
            }
        }
        if (auto e = inference::stream_error_of(id, ev.data)) {
            out += es::error_frame(*e);
            return relay_step::stop;
        }
        if (auto data = unified ? inference::chat_chunk(ev.data) : inference::completion_delta(ev.data)) {
            out += es::message_frame(*data);
        }
        return relay_step::more;
    };
    hooks.on_finish = [](std::string& out) {
        out += es::done_frame();
    };
    hooks.error_frame = [](const registry::error& e) {
        return es::error_frame(e);
    };
    // A provider that cannot stream: the whole answer as one event, then [DONE] (clients.md §1.4).
    hooks.on_json_body = [unified, &id, &permit](std::string_view upstream_body, std::string& out) {
        if (permit.counts_tokens()) {
            if (auto used = registry::usage_total_tokens_of(upstream_body)) {
                permit.set_usage(*used);
            }
        }
        if (unified) {
            if (auto chunk = inference::chat_chunk_of_completion(upstream_body)) {
                out += es::message_frame(*chunk);
                return relay_step::done;
            }
        } else if (auto result = inference::completion_body(id, upstream_body)) {
            out += es::message_frame(*result);
            return relay_step::done;
        }
        out += es::error_frame(
            {errc::illegal_state, "Failed to parse the response from inference entity id [" + id + "]"}
        );
        return relay_step::stop;
    };
    // The key's parallel slot is free before the client sees the end (a client may ask again at once).
    hooks.before_end = [&permit] {
        permit.set_succeeded();
        permit.finish();
    };
    sse_relay_options opts;
    opts.extra_headers = permit.headers();
    opts.extra_headers.emplace_back(std::string(es::product_header), std::string(es::product_name));
    const auto options = options_of(json::object{}, snap->settings->max_json_size());
    auto failed = co_await relay_sse(ctx, std::move(req), options, std::move(hooks), std::move(opts));
    if (failed) {
        if (failed->upstream_status != 0) {
            co_return es::sse_fail(
                ctx,
                inference::upstream_failure(
                    id,
                    url,
                    failed->upstream_status,
                    failed->upstream_body,
                    es::rate_limits_of(failed->upstream_headers)
                )
            );
        }
        co_return es::sse_fail(ctx, failed->error);
    }
    permit.set_succeeded();  // charged when the handler returns (the permit's destructor)
    co_return streamed_response();
}

}  // namespace modelrelay::server::handlers
