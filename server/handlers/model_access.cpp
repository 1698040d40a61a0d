// File: model_access.cpp
#include "server/handlers/model_access.hpp"

#include <chrono>

#include "registry/model_interface.hpp"
#include "server/app.hpp"

namespace modelrelay::server::handlers {

using registry::errc;

namespace {

std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch()
    )
        .count();
}

registry::error model_not_found(const std::string& model_id) {
    return registry::not_found("Failed to find model with the provided model id: " + model_id);
}

}  // namespace

namespace {

// The checks before a deploy on first use, in ml-commons order: found and in scope, the ACL, enabled, the
// interface's input schema, remote inference on. Fills `out` (snapshot, model, deployment if any).
std::optional<registry::error> check_model(
    request_context& ctx,
    const registry::caller& who,
    const std::string& model_id,
    registry::action act,
    const registry::predict_request* input,
    ready_model& out
) {
    out.snap = ctx.app.registry->current();
    out.model = out.snap->find(registry::kind::model, model_id);
    const auto opts = ctx.app.registry->access_options(*out.snap, who);
    if (out.model == nullptr || !registry::in_scope(*out.model, who, opts)) {
        return model_not_found(model_id);
    }
    out.deployed = out.snap->deployed.find_ptr(model_id);
    // Tenancy and the model ACL come first (R10). Security off without tenancy cannot refuse anything; a
    // deployed model carries its ACL pre-built, so the hot path reads no document.
    if (who.user != nullptr || opts.multi_tenancy) {
        const auto decided =
            out.deployed && out.deployed->acl
                ? registry::decide(who.user.get(), act, out.deployed->acl.get(), opts)
                : registry::authorize(who, act, registry::model_acl(*out.snap, *out.model), opts);
        if (!decided) {
            return decided.error();
        }
    }
    if (const auto* en = out.model->doc().if_contains("is_enabled");
        en != nullptr && en->is_bool() && !en->get_bool()) {
        return registry::error{errc::forbidden, "Model is disabled."};
    }
    if (input != nullptr) {
        // A deployed model has its interface compiled; one not deployed yet is compiled from its document
        // here (the auto-deploy path, once).
        std::optional<registry::error> bad;
        if (out.deployed) {
            bad = registry::check_interface_input(
                out.deployed->iface.get(), out.deployed->iface_broken, *input
            );
        } else if (const auto* i = out.model->doc().if_contains("interface");
                   i != nullptr && i->is_object()) {
            auto compiled = registry::compile_interface(*i);
            bad = registry::check_interface_input(compiled ? compiled->get() : nullptr, !compiled, *input);
        }
        if (bad) {
            return bad;
        }
    }
    if (auto off = out.snap->settings->remote_inference_refusal()) {
        return off;
    }
    return std::nullopt;
}

// What follows the deployment: its compiled connector.
registry::result<ready_model> finish_ready(request_context& ctx, ready_model out) {
    auto connector = out.deployed->connector->get();
    if (!connector) {
        return connector.error();
    }
    out.connector = *connector;
    out.deployed->runtime->last_access_ms.store(ctx.app.registry->now_ms(), std::memory_order_relaxed);
    return out;
}

}  // namespace

std::optional<registry::error> charge_rate_limiters(
    const registry::caller& who, const ready_model& ready, std::size_t calls, std::int64_t* wait_ns
) {
    auto& runtime = *ready.deployed->runtime;
    // The model controller's limiter of this user (by name; none without security, as without a user).
    registry::token_bucket* user_limiter = nullptr;
    if (who.user && !runtime.user_limiters.empty()) {
        const auto it = runtime.user_limiters.find(who.user->name);
        if (it != runtime.user_limiters.end()) {
            user_limiter = it->second.get();
        }
    }
    if (!runtime.limiter && user_limiter == nullptr) {
        return std::nullopt;
    }
    const auto now_ns = steady_ns();
    for (std::size_t i = 0; i < calls; ++i) {
        if (runtime.limiter && !runtime.limiter->try_acquire(now_ns)) {
            if (wait_ns != nullptr) {
                *wait_ns = runtime.limiter->wait_ns(now_ns);
            }
            return registry::error{errc::too_many_requests, "Request is throttled at model level."};
        }
        if (user_limiter != nullptr && !user_limiter->try_acquire(now_ns)) {
            if (wait_ns != nullptr) {
                *wait_ns = user_limiter->wait_ns(now_ns);
            }
            return registry::error{
                errc::too_many_requests,
                "Request is throttled at user level. If you think there's an issue, please contact your "
                "cluster admin."};
        }
    }
    return std::nullopt;
}

std::optional<registry::result<ready_model>> prepare_model_now(
    request_context& ctx,
    const registry::caller& who,
    const std::string& model_id,
    registry::action act,
    const registry::predict_request* input
) {
    ready_model out;
    if (auto refused = check_model(ctx, who, model_id, act, input, out)) {
        return registry::result<ready_model>(std::move(*refused));
    }
    if (!out.deployed) {
        return std::nullopt;
    }
    return finish_ready(ctx, std::move(out));
}

boost::asio::awaitable<registry::result<ready_model>> prepare_model(
    request_context& ctx,
    const registry::caller& who,
    std::string model_id,
    registry::action act,
    const registry::predict_request* input
) {
    ready_model out;
    if (auto refused = check_model(ctx, who, model_id, act, input, out)) {
        co_return std::move(*refused);
    }
    if (!out.deployed) {
        // Auto-deploy on first use, unless switched off globally or for this model.
        bool per_model = true;
        if (const auto* ds = out.model->doc().if_contains("deploy_setting");
            ds != nullptr && ds->is_object()) {
            if (const auto* a = ds->get_object().if_contains("is_auto_deploy_enabled");
                a != nullptr && a->is_bool()) {
                per_model = a->get_bool();
            }
        }
        if (!out.snap->settings->model_auto_deploy_enabled()) {
            co_return registry::error{
                errc::bad_request, "Model not ready yet. Please deploy the model first."};
        }
        if (!per_model) {
            co_return registry::error{
                errc::bad_request,
                "Auto deployment disabled for this model, please deploy model first Model ID: " + model_id};
        }
        auto& reg = *ctx.app.registry;
        auto op = [&reg, id = model_id, w = who] {
            return reg.deploy_model(id, w);
        };
        auto r = co_await on_store(ctx.app, std::move(op));
        if (!r) {
            co_return r.error();
        }
        out.snap = ctx.app.registry->current();
        out.model = out.snap->find(registry::kind::model, model_id);
        out.deployed = out.snap->deployed.find_ptr(model_id);
        if (out.model == nullptr || !out.deployed) {
            co_return registry::error{
                errc::bad_request, "Model not ready yet. Please deploy the model first."};
        }
    }
    co_return finish_ready(ctx, std::move(out));
}

}  // namespace modelrelay::server::handlers
