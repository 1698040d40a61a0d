// File: handlers.hpp
// Handler declarations and the helpers every handler shares. Handlers are thin: parse, validate, call the
// registry, respond.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <vector>

#include "registry/error.hpp"
#include "registry/service.hpp"
#include "server/router.hpp"

namespace modelrelay::server::handlers {

using boost::asio::awaitable;

// The full route table (server/routes.cpp).
std::vector<route> all_routes();

// Parses the request body as JSON. An empty body gives `null`.
registry::result<boost::json::value> parse_body(const request_context& ctx);

http_response ok(const request_context& ctx, const boost::json::value& body);
http_response fail(const request_context& ctx, const registry::error& e);

// General
awaitable<http_response> handle_root(request_context&);
awaitable<http_response> handle_cluster_health(request_context&);
awaitable<http_response> handle_cluster_settings_get(request_context&);
awaitable<http_response> handle_cluster_settings_put(request_context&);

// Connectors
awaitable<http_response> handle_connector_create(request_context&);
awaitable<http_response> handle_connector_get(request_context&);
awaitable<http_response> handle_connector_update(request_context&);
awaitable<http_response> handle_connector_delete(request_context&);
awaitable<http_response> handle_connector_search(request_context&);

}  // namespace modelrelay::server::handlers

namespace modelrelay::server::handlers {
// The body of every ml-commons _search endpoint.
http_response search_resources(request_context& ctx, registry::kind k, const registry::caller& who);
// Who is calling: with multi-tenancy on, the x-tenant-id header is required (spec §5.5).
registry::result<registry::caller> caller_of(const request_context& ctx);
}  // namespace modelrelay::server::handlers
