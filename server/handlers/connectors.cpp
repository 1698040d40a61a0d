// File: connectors.cpp
// /_plugins/_ml/connectors: create, get, update, delete, search.
#include "registry/connector.hpp"
#include "server/handlers/handlers.hpp"

namespace modelrelay::server::handlers {

namespace json = boost::json;
using registry::errc;

awaitable<http_response> handle_connector_create(request_context& ctx) {
    // An empty body is an IOException in ml-commons, hence 500 i_o_exception.
    auto body = object_body(
        ctx,
        schemas::schema_id::connector_create,
        registry::error{errc::io_error, "Create Connector request has empty body"}
    );
    if (!body) {
        co_return fail(ctx, body.error());
    }
    auto& reg = *ctx.app.registry;
    auto op = [&reg, b = std::move(*body), w = ctx.who] {
        return reg.create_connector(b, w);
    };
    co_return co_await store_write(ctx, std::move(op));
}

awaitable<http_response> handle_connector_get(request_context& ctx) {
    auto r = ctx.app.registry->get_connector(ctx.param("connector_id"), ctx.who);
    if (!r) {
        co_return fail(ctx, r.error());
    }
    co_return ok(ctx, *r);
}

awaitable<http_response> handle_connector_update(request_context& ctx) {
    const registry::error empty{errc::parse_failed, "Failed to update connector: Request body is empty"};
    auto body = object_body(ctx, schemas::schema_id::connector_update, empty);
    if (!body) {
        co_return fail(ctx, body.error());
    }
    // `{}` has content, so RestMLUpdateConnectorAction lets it through: an update that changes nothing
    // but last_updated_time (and still meets the deployed-model and trusted-endpoint checks).
    auto& reg = *ctx.app.registry;
    auto op = [&reg, id = std::string(ctx.param("connector_id")), b = std::move(*body), w = ctx.who] {
        return reg.update_connector(id, b, w);
    };
    co_return co_await store_write(ctx, std::move(op));
}

awaitable<http_response> handle_connector_delete(request_context& ctx) {
    auto& reg = *ctx.app.registry;
    auto op = [&reg, id = std::string(ctx.param("connector_id")), w = ctx.who] {
        return reg.delete_connector(id, w);
    };
    co_return co_await store_write(ctx, std::move(op));
}

awaitable<http_response> handle_connector_search(request_context& ctx) {
    co_return search_resources(ctx, registry::kind::connector, ctx.who);
}

}  // namespace modelrelay::server::handlers
