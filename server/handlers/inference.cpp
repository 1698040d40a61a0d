// File: inference.cpp
// Elasticsearch `_inference` endpoint management (clients.md §1.1, §1.2): PUT, _update, GET, DELETE. Like
// Elasticsearch, PUT and a changing _update make one validation call to the upstream before anything is
// stored, which also learns the embedding size of text_embedding endpoints.
#include <algorithm>
#include <chrono>
#include <vector>

#include "registry/crypto.hpp"
#include "registry/inference_call.hpp"
#include "registry/inference_endpoint.hpp"
#include "server/app.hpp"
#include "server/handlers/handlers.hpp"
#include "server/handlers/inference_support.hpp"
#include "server/handlers/key_scope.hpp"

namespace modelrelay::server::handlers {

namespace json = boost::json;
namespace inference = registry::inference;
using registry::errc;

namespace {

using namespace std::chrono_literals;

// ModelValidator's test input (SimpleServiceIntegrationValidator).
constexpr std::string_view validation_input = "how big";

const registry::error validation_threw{
    errc::bad_request,
    "Could not complete inference endpoint creation as validation call to service threw an exception."};

// The validation call; returns the embedding size (0 for the chat task types).
awaitable<registry::result<std::size_t>> validate_endpoint(
    request_context& ctx,
    const registry::cluster_settings& settings,
    const inference::endpoint_draft& d,
    std::string api_key,
    std::chrono::milliseconds timeout
) {
    const std::vector<std::string> input{std::string(validation_input)};
    inference::upstream_call call;
    switch (d.task) {
        case inference::task_type::text_embedding:
            call = inference::plan_embeddings(d.doc, api_key, input, {});
            break;
        case inference::task_type::chat_completion: {
            const json::object request{
                {"messages", json::array{json::object{{"role", "user"}, {"content", validation_input}}}}};
            call = inference::plan_chat(d.doc, api_key, request, false);
            break;
        }
        default:
            call = inference::plan_completion(d.doc, api_key, input, {}, false);
    }
    registry::secure_wipe(api_key);
    const std::string url = call.url;
    auto res = co_await es::send_call(ctx, settings, std::move(call), timeout);
    if (!res) {
        co_return res.error();
    }
    if (res->status < 200 || res->status > 299) {
        co_return inference::upstream_failure(
            d.inference_id, url, res->status, res->body, es::rate_limits_of(res->headers)
        );
    }
    if (d.task == inference::task_type::text_embedding) {
        auto vectors = inference::embeddings_of(d.inference_id, res->body);
        if (!vectors) {
            co_return vectors.error();
        }
        if (vectors->empty() || vectors->front().empty()) {
            co_return registry::error{
                errc::bad_request,
                "Could not determine embedding size. Expected a result of size [1] but got [0]"};
        }
        co_return vectors->front().size();
    }
    auto body = inference::completion_body(d.inference_id, res->body);
    if (!body) {
        co_return body.error();
    }
    co_return std::size_t{0};
}

bool is_all(std::string_view id) {
    return id.empty() || id == "_all" || id == "*";
}

}  // namespace

awaitable<http_response> handle_inference_put(request_context& ctx) {
    auto who = caller_of(ctx);
    if (!who) {
        co_return es::fail(ctx, who.error());
    }
    const auto caller_key = key_of(ctx);
    auto body = parse_body(ctx);
    if (!body) {
        co_return es::fail(ctx, body.error());
    }
    auto timeout = es::timeout_param(ctx, 30s);
    if (!timeout) {
        co_return es::fail(ctx, timeout.error());
    }
    auto draft = inference::prepare_create(ctx.param("inference_id"), es::url_task(ctx), *body);
    if (!draft) {
        co_return es::fail(ctx, draft.error());
    }
    // Checked again by the store write; answering now saves the upstream a pointless validation call.
    const auto snap = ctx.app.registry->current();
    if (snap->find(registry::kind::inference_endpoint, draft->inference_id) != nullptr) {
        co_return es::fail(
            ctx, {errc::already_exists, "Inference endpoint [" + draft->inference_id + "] already exists"}
        );
    }
    if (auto off = snap->settings->remote_inference_refusal()) {
        co_return es::fail(ctx, *off);  // said plainly, not as a failed validation call
    }
    auto size = co_await validate_endpoint(ctx, *snap->settings, *draft, *draft->api_key, *timeout);
    if (!size) {
        const registry::error cause = size.error();
        co_return es::fail(ctx, validation_threw, &cause);
    }
    if (auto r = inference::apply_embedding_size(*draft, *size); !r) {
        co_return es::fail(ctx, r.error());
    }
    auto& reg = *ctx.app.registry;
    auto op = [&reg, d = std::move(*draft), w = *who] {
        return reg.put_inference_endpoint(d, w);
    };
    auto r = co_await on_store(ctx.app, std::move(op));
    if (!r) {
        co_return es::fail(ctx, r.error());
    }
    co_return es::ok(ctx, *r);
}

awaitable<http_response> handle_inference_update(request_context& ctx) {
    auto who = caller_of(ctx);
    if (!who) {
        co_return es::fail(ctx, who.error());
    }
    const auto caller_key = key_of(ctx);
    auto body = parse_body(ctx);
    if (!body) {
        co_return es::fail(ctx, body.error());
    }
    auto timeout = es::timeout_param(ctx, 30s);
    if (!timeout) {
        co_return es::fail(ctx, timeout.error());
    }
    const std::string id(ctx.param("inference_id"));
    const auto snap = ctx.app.registry->current();
    const registry::resource* existing = snap->find(registry::kind::inference_endpoint, id);
    if (existing == nullptr || existing->tenant_id != who->tenant_id || !key_allows(caller_key, id)) {
        co_return es::fail(
            ctx,
            {errc::resource_not_found,
             "The inference endpoint [" + id + "] does not exist and cannot be updated"}
        );
    }
    auto draft = inference::prepare_update(existing->doc(), es::url_task(ctx), *body);
    if (!draft) {
        co_return es::fail(ctx, draft.error());
    }
    if (draft->changed) {
        auto key = draft->api_key ? registry::result<std::string>(*draft->api_key)
                                  : ctx.app.registry->inference_api_key(*existing);
        if (!key) {
            co_return es::fail(ctx, key.error());
        }
        auto size = co_await validate_endpoint(ctx, *snap->settings, *draft, std::move(*key), *timeout);
        if (!size) {
            const registry::error cause = size.error();
            co_return es::fail(ctx, validation_threw, &cause);
        }
        if (auto r = inference::apply_embedding_size(*draft, *size); !r) {
            co_return es::fail(ctx, r.error());
        }
    }
    auto& reg = *ctx.app.registry;
    auto op = [&reg, d = std::move(*draft), w = *who] {
        return reg.update_inference_endpoint(d, w);
    };
    auto r = co_await on_store(ctx.app, std::move(op));
    if (!r) {
        co_return es::fail(ctx, r.error());
    }
    co_return es::ok(ctx, *r);
}

awaitable<http_response> handle_inference_get(request_context& ctx) {
    auto who = caller_of(ctx);
    if (!who) {
        co_return es::fail(ctx, who.error());
    }
    const auto caller_key = key_of(ctx);
    auto task = inference::task_type::any;
    if (auto t = es::url_task(ctx)) {
        auto parsed = inference::parse_task_type(*t);
        if (!parsed) {
            co_return es::fail(ctx, parsed.error());
        }
        task = *parsed;
    }
    const std::string_view id = ctx.param("inference_id");
    const auto snap = ctx.app.registry->current();
    json::array endpoints;
    if (is_all(id)) {
        std::vector<const registry::resource*> found;
        snap->of(registry::kind::inference_endpoint)
            .for_each([&](const std::string&, const registry::resource& r) {
                if (r.tenant_id == who->tenant_id && key_allows(caller_key, r.id) &&
                    inference::any_or_same(task, inference::stored_task(r.doc()))) {
                    found.push_back(&r);
                }
            });
        std::sort(found.begin(), found.end(), [](const auto* a, const auto* b) { return a->id < b->id; });
        for (const auto* r : found) {
            endpoints.push_back(inference::endpoint_info(r->doc()));
        }
    } else {
        const registry::resource* r = snap->find(registry::kind::inference_endpoint, id);
        if (r == nullptr || r->tenant_id != who->tenant_id || !key_allows(caller_key, id)) {
            co_return es::fail(ctx, inference::endpoint_not_found(id));
        }
        const auto stored = inference::stored_task(r->doc());
        if (!inference::any_or_same(task, stored)) {
            co_return es::fail(ctx, inference::requested_task_mismatch(task, stored));
        }
        endpoints.push_back(inference::endpoint_info(r->doc()));
    }
    co_return es::ok(ctx, json::object{{"endpoints", std::move(endpoints)}});
}

awaitable<http_response> handle_inference_delete(request_context& ctx) {
    auto who = caller_of(ctx);
    if (!who) {
        co_return es::fail(ctx, who.error());
    }
    const auto caller_key = key_of(ctx);
    auto task = inference::task_type::any;
    if (auto t = es::url_task(ctx)) {
        auto parsed = inference::parse_task_type(*t);
        if (!parsed) {
            co_return es::fail(ctx, parsed.error());
        }
        task = *parsed;
    }
    if (!key_allows(caller_key, ctx.param("inference_id"))) {
        co_return es::fail(ctx, inference::endpoint_not_found(ctx.param("inference_id")));
    }
    // `force` only matters for pipelines, which modelrelay has none of; it is still read as Elasticsearch
    // reads it (paramAsBoolean), so a malformed one deletes nothing.
    if (const auto force = ctx.query_bool("force"); !force) {
        co_return es::fail(ctx, force.error());
    }
    const auto dry_run = ctx.query_bool("dry_run");
    if (!dry_run) {
        co_return es::fail(ctx, dry_run.error());
    }
    auto& reg = *ctx.app.registry;
    auto op = [&reg, id = std::string(ctx.param("inference_id")), task, dry = *dry_run, w = *who] {
        return reg.delete_inference_endpoint(id, task, dry, w);
    };
    auto r = co_await on_store(ctx.app, std::move(op));
    if (!r) {
        co_return es::fail(ctx, r.error());
    }
    co_return es::ok(ctx, *r);
}

}  // namespace modelrelay::server::handlers
