// File: controllers.cpp
// /_plugins/_ml/controllers/{model_id}: ml-commons' model controllers (per-user rate limiters), gated by
// plugins.ml_commons.controller_enabled like the plugin's REST handlers, then the registry
// (service_controllers.cpp).
#include "server/handlers/handlers.hpp"

namespace modelrelay::server::handlers {

namespace {

// RestMLCreateControllerAction and its siblings check the switch before anything else.
std::optional<registry::error> controllers_disabled(const request_context& ctx) {
    if (ctx.app.registry->current()->settings->controller_enabled()) {
        return std::nullopt;
    }
    return registry::error{
        registry::errc::illegal_state,
        "Controller is currently disabled. To enable it, update the setting "
        "\"plugins.ml_commons.controller_enabled\" to true."};
}

// The create / update body: a JSON object (an empty body is `empty_text`, OpenSearchParseException).
registry::result<boost::json::object> controller_body(
    const request_context& ctx, std::string_view empty_text
) {
    auto body = parse_body(ctx);
    if (!body) {
        return body.error();
    }
    if (body->is_null()) {
        return registry::error{registry::errc::parse_failed, std::string(empty_text)};
    }
    if (!body->is_object()) {
        return registry::illegal_argument("request body must be a JSON object");
    }
    return std::move(body->get_object());
}

template <class Write>
awaitable<http_response> controller_write(request_context& ctx, std::string_view empty_text, Write write) {
    if (auto off = controllers_disabled(ctx)) {
        co_return fail(ctx, *off);
    }
    auto body = controller_body(ctx, empty_text);
    if (!body) {
        co_return fail(ctx, body.error());
    }
    auto& reg = *ctx.app.registry;
    auto op = [&reg, write, id = std::string(ctx.param("model_id")), b = std::move(*body), w = ctx.who] {
        return (reg.*write)(id, b, w);
    };
    co_return co_await store_write(ctx, std::move(op));
}

}  // namespace

awaitable<http_response> handle_controller_create(request_context& ctx) {
    co_return co_await controller_write(
        ctx, "Create model controller request has empty body", &registry::service::create_controller
    );
}

awaitable<http_response> handle_controller_update(request_context& ctx) {
    co_return co_await controller_write(
        ctx, "Update model controller request has empty body", &registry::service::update_controller
    );
}

awaitable<http_response> handle_controller_get(request_context& ctx) {
    if (auto off = controllers_disabled(ctx)) {
        co_return fail(ctx, *off);
    }
    auto found = ctx.app.registry->get_controller(ctx.param("model_id"), ctx.who);
    co_return found ? ok(ctx, *found) : fail(ctx, found.error());
}

awaitable<http_response> handle_controller_delete(request_context& ctx) {
    if (auto off = controllers_disabled(ctx)) {
        co_return fail(ctx, *off);
    }
    auto& reg = *ctx.app.registry;
    auto op = [&reg, id = std::string(ctx.param("model_id")), w = ctx.who] {
        return reg.delete_controller(id, w);
    };
    co_return co_await store_write(ctx, std::move(op));
}

}  // namespace modelrelay::server::handlers
