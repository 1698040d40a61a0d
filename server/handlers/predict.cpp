// File: predict.cpp
// POST /_plugins/_ml/models/{id}/_predict and /_plugins/_ml/_predict/{algorithm}/{id}: the hot path.
// Everything comes from the snapshot (compiled connector, bound credentials); the only I/O is the
// upstream call. Planning and response shaping are pure (registry/predict.hpp).
#include "registry/predict.hpp"

#include <chrono>

#include "server/handlers/handlers.hpp"
#include "server/upstream/client.hpp"

namespace modelrelay::server::handlers {

namespace json = boost::json;
using registry::errc;

namespace {

std::int64_t int_of(const json::object& o, std::string_view key, std::int64_t def) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_number() ? v->to_number<std::int64_t>() : def;
}

// The connector's client_config (ml-commons §2.3) as outbound client options.
upstream::client_options options_of(const json::object& cc, long long max_json_size) {
    upstream::client_options o;
    o.max_connection = static_cast<int>(int_of(cc, "max_connection", 30));
    o.connect_timeout = std::chrono::seconds(int_of(cc, "connection_timeout", 30));
    o.read_timeout = std::chrono::seconds(int_of(cc, "read_timeout", 30));
    o.max_retry_times = static_cast<int>(int_of(cc, "max_retry_times", 0));
    o.retry_backoff = std::chrono::milliseconds(int_of(cc, "retry_backoff_millis", 200));
    o.retry_timeout = std::chrono::seconds(int_of(cc, "retry_timeout_seconds", 30));
    if (const auto* p = cc.if_contains("retry_backoff_policy"); p != nullptr && p->is_string()) {
        if (auto policy = upstream::parse_backoff_policy(p->get_string())) {
            o.retry_backoff_policy = *policy;
        }
    }
    if (const auto* s = cc.if_contains("skip_ssl_verification"); s != nullptr && s->is_bool()) {
        o.skip_ssl_verification = s->get_bool();
    }
    o.max_response_bytes = max_json_size < 0 ? 0 : static_cast<std::size_t>(max_json_size);
    return o;
}

std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch()
    )
        .count();
}

awaitable<http_response> run_predict(request_context& ctx, std::string model_id, std::string algorithm) {
    auto who = caller_of(ctx);
    if (!who) {
        co_return fail(ctx, who.error());
    }
    auto body = parse_body(ctx);
    if (!body) {
        co_return fail(ctx, body.error());
    }
    if (!body->is_null()) {
        if (auto v = schemas::validate(schemas::schema_id::predict, *body); !v) {
            co_return fail(ctx, v.error());
        }
    }
    auto input = registry::parse_predict_body(*body, algorithm);
    if (!input) {
        co_return fail(ctx, input.error());
    }
    auto snap = ctx.app.registry->current();
    const registry::resource* model = snap->find(registry::kind::model, model_id);
    if (model == nullptr || model->tenant_id != who->tenant_id) {
        co_return fail(
            ctx, registry::not_found("Failed to find model with the provided model id: " + model_id)
        );
    }
    if (const auto* en = model->doc.if_contains("is_enabled");
        en != nullptr && en->is_bool() && !en->get_bool()) {
        co_return fail(ctx, {errc::forbidden, "Model is disabled."});
    }
    if (!snap->settings->remote_inference_enabled()) {
        co_return fail(
            ctx,
            {errc::bad_request,
             "Remote Inference is currently disabled. To enable it, update the setting "
             "\"plugins.ml_commons.remote_inference_enabled\" to true."}
        );
    }
    auto deployed = snap->deployed.find_ptr(model_id);
    if (!deployed) {
        // Auto-deploy on first predict (spec §6.3), unless switched off globally or for this model.
        bool per_model = true;
        if (const auto* ds = model->doc.if_contains("deploy_setting"); ds != nullptr && ds->is_object()) {
            if (const auto* a = ds->get_object().if_contains("is_auto_deploy_enabled");
                a != nullptr && a->is_bool()) {
                per_model = a->get_bool();
            }
        }
        if (!snap->settings->model_auto_deploy_enabled()) {
            co_return fail(ctx, {errc::bad_request, "Model not ready yet. Please deploy the model first."});
        }
        if (!per_model) {
            co_return fail(
                ctx,
                {errc::bad_request,
                 "Auto deployment disabled for this model, please deploy model first Model ID: " + model_id}
            );
        }
        auto& reg = *ctx.app.registry;
        auto op = [&reg, id = model_id, w = *who] {
            return reg.deploy_model(id, w);
        };
        auto r = co_await on_store(ctx.app, std::move(op));
        if (!r) {
            co_return fail(ctx, r.error());
        }
        snap = ctx.app.registry->current();
        deployed = snap->deployed.find_ptr(model_id);
        if (!deployed) {
            co_return fail(ctx, {errc::bad_request, "Model not ready yet. Please deploy the model first."});
        }
    }
    auto& runtime = *deployed->runtime;
    if (runtime.limiter && !runtime.limiter->try_acquire(steady_ns())) {
        co_return fail(ctx, {errc::too_many_requests, "Request is throttled at model level."});
    }
    runtime.last_access_ms.store(ctx.app.registry->now_ms(), std::memory_order_relaxed);

    auto plan = registry::plan_predict(*deployed->connector, *input);
    if (!plan) {
        co_return fail(ctx, plan.error());
    }
    const auto& settings = *snap->settings;
    const auto options = options_of(deployed->connector->client_config, settings.max_json_size());
    upstream::guard_policy guard;
    guard.private_ip_enabled = settings.private_ip_enabled();
    guard.is_restricted_ip = [&settings](std::string_view ip) {
        return settings.is_restricted_ip(ip);
    };
    if (settings.has_trusted_private_endpoints()) {
        guard.private_endpoint_trusted = [&settings](std::string_view url) {
            return static_cast<bool>(settings.check_trusted_private_endpoint(url));
        };
    }
    guard.self_endpoints = ctx.app.self_endpoints;
    std::vector<json::object> elements;
    elements.reserve(plan->calls.size());
    for (std::size_t i = 0; i < plan->calls.size(); ++i) {
        auto& call = plan->calls[i];
        // Every outbound call is checked against the trusted list with its fully rendered URL.
        if (auto t = settings.check_trusted_endpoint(call.url); !t) {
            co_return fail(ctx, t.error());
        }
        upstream::request req;
        req.method = http::string_to_verb(call.method);
        req.url = std::move(call.url);
        req.headers = std::move(call.headers);
        req.body = std::move(call.body);
        auto res = co_await ctx.app.upstream->send(req, options, guard);
        if (!res) {
            co_return fail(ctx, res.error());
        }
        auto element = registry::finish_call(*plan, i, res->status, res->body, settings.max_json_size());
        if (!element) {
            co_return fail(ctx, element.error());
        }
        elements.push_back(std::move(*element));
    }
    co_return ok(ctx, registry::wrap_inference_results(std::move(elements)));
}

}  // namespace

awaitable<http_response> handle_model_predict(request_context& ctx) {
    co_return co_await run_predict(ctx, std::string(ctx.param("model_id")), "");
}

awaitable<http_response> handle_algorithm_predict(request_context& ctx) {
    co_return co_await run_predict(
        ctx, std::string(ctx.param("model_id")), std::string(ctx.param("algorithm"))
    );
}

}  // namespace modelrelay::server::handlers
