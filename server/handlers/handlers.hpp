// File: handlers.hpp
// Handler declarations and the helpers every handler shares. Handlers are thin: parse, validate, call the
// registry, respond.
#pragma once

#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include "registry/error.hpp"
#include "registry/service.hpp"
#include "server/router.hpp"

namespace modelrelay::server::handlers {

using boost::asio::awaitable;

// The full route table (server/routes.cpp).
std::vector<route> all_routes();

// Parses the request body as JSON. An empty body gives `null`.
// The request body as JSON (null when blank), its tree allocated from `sp`.
registry::result<boost::json::value> parse_body(const request_context& ctx, boost::json::storage_ptr sp = {});

http_response ok(const request_context& ctx, const boost::json::value& body);
http_response fail(const request_context& ctx, const registry::error& e);

// General
awaitable<http_response> handle_root(request_context&);
awaitable<http_response> handle_cluster_health(request_context&);
awaitable<http_response> handle_cat_plugins(request_context&);
awaitable<http_response> handle_cluster_settings_get(request_context&);
awaitable<http_response> handle_cluster_settings_put(request_context&);

// Security plugin REST API (security_api.cpp) and Elasticsearch API keys (api_keys.cpp)
awaitable<http_response> handle_security_authinfo(request_context&);
awaitable<http_response> handle_security_account(request_context&);
awaitable<http_response> handle_security_account_put(request_context&);
awaitable<http_response> handle_security_users_get(request_context&);
awaitable<http_response> handle_security_user_put(request_context&);
awaitable<http_response> handle_security_user_delete(request_context&);
awaitable<http_response> handle_security_roles_get(request_context&);
awaitable<http_response> handle_security_role_put(request_context&);
awaitable<http_response> handle_security_role_delete(request_context&);
awaitable<http_response> handle_security_mappings_get(request_context&);
awaitable<http_response> handle_security_mapping_put(request_context&);
awaitable<http_response> handle_security_mapping_delete(request_context&);
awaitable<http_response> handle_security_users_patch(request_context&);
awaitable<http_response> handle_security_roles_patch(request_context&);
awaitable<http_response> handle_security_mappings_patch(request_context&);
awaitable<http_response> handle_api_key_create(request_context&);
awaitable<http_response> handle_api_key_get(request_context&);
awaitable<http_response> handle_api_key_invalidate(request_context&);
awaitable<http_response> handle_security_authenticate(request_context&);
awaitable<http_response> handle_api_tokens_create(request_context&);
awaitable<http_response> handle_api_tokens_get(request_context&);
awaitable<http_response> handle_api_tokens_delete(request_context&);

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
// Who is calling: the principal and tenant the gate resolved before the handler (gate.cpp).
registry::result<registry::caller> caller_of(const request_context& ctx);
// Whose resources the monitoring routes (stats, profile) count under multi-tenancy. ml-commons reads no
// tenant there (they answer for the whole cluster), so no x-tenant-id is required: a user bound to a
// tenant sees that tenant's, security off or an admin the named tenant's (x-tenant-id) or, without
// one, everything; nullopt means everything (also without multi-tenancy).
std::optional<std::string> monitoring_tenant(const request_context& ctx, bool multi_tenancy);
// The route-level authorization gate (action name, then tenant); fills ctx.who.tenant_id.
registry::result<void> authorize_route(request_context& ctx, const route& r);
// An error in the request's front-door envelope (OpenAI shape on /v1, OpenSearch/Elasticsearch otherwise).
http_response front_door_error(const request_context& ctx, const registry::error& e);
}  // namespace modelrelay::server::handlers

#include "schemas/validate.hpp"
#include "server/app.hpp"

namespace modelrelay::server::handlers {

// Runs a registry write on the store executor (group commit: write_queue.hpp) and answers 200 with its
// result or the error envelope. `op` must be a named object (gcc 12 mishandles capturing temporaries inside
// co_await expressions) and is called once.
template <class Op>
awaitable<http_response> store_write(request_context& ctx, Op op) {
    auto r = co_await on_store_write(ctx.app, std::move(op));
    if (!r) {
        co_return fail(ctx, r.error());
    }
    co_return ok(ctx, *r);
}

// The request body as an object validated against `schema`; `empty` is the error for a missing body
// (nullopt: an empty body is passed on as an empty object).
registry::result<boost::json::object> object_body(
    const request_context& ctx, schemas::schema_id schema, std::optional<registry::error> empty
);

// Model groups, models, tasks
awaitable<http_response> handle_model_group_register(request_context&);
awaitable<http_response> handle_model_group_get(request_context&);
awaitable<http_response> handle_model_group_update(request_context&);
awaitable<http_response> handle_model_group_delete(request_context&);
awaitable<http_response> handle_model_group_search(request_context&);
awaitable<http_response> handle_model_register(request_context&);
awaitable<http_response> handle_model_get(request_context&);
awaitable<http_response> handle_model_update(request_context&);
awaitable<http_response> handle_model_delete(request_context&);
awaitable<http_response> handle_model_search(request_context&);
awaitable<http_response> handle_model_deploy(request_context&);
awaitable<http_response> handle_model_undeploy(request_context&);
awaitable<http_response> handle_models_undeploy(request_context&);
// GET /_plugins/_ml/profile... (profile.cpp), GET /_plugins/_ml/stats... (stats.cpp)
awaitable<http_response> handle_profile(request_context&);
awaitable<http_response> handle_stats(request_context&);
// Model controllers (controllers.cpp)
awaitable<http_response> handle_controller_create(request_context&);
awaitable<http_response> handle_controller_get(request_context&);
awaitable<http_response> handle_controller_update(request_context&);
awaitable<http_response> handle_controller_delete(request_context&);
awaitable<http_response> handle_task_get(request_context&);
awaitable<http_response> handle_task_delete(request_context&);
awaitable<http_response> handle_task_search(request_context&);

// Predict
awaitable<http_response> handle_model_predict(request_context&);
awaitable<http_response> handle_algorithm_predict(request_context&);
awaitable<http_response> handle_model_predict_stream(request_context&);  // predict_stream.cpp

// OpenAI-compatible /v1 (openai.cpp)
awaitable<http_response> handle_openai_chat_completions(request_context&);
awaitable<http_response> handle_openai_completions(request_context&);
awaitable<http_response> handle_openai_embeddings(request_context&);
awaitable<http_response> handle_openai_models(request_context&);
awaitable<http_response> handle_openai_model_get(request_context&);

// Elasticsearch _inference (inference.cpp, inference_infer.cpp)
awaitable<http_response> handle_inference_put(request_context&);
awaitable<http_response> handle_inference_update(request_context&);
awaitable<http_response> handle_inference_get(request_context&);
awaitable<http_response> handle_inference_delete(request_context&);
awaitable<http_response> handle_inference_infer(request_context&);
awaitable<http_response> handle_inference_stream(request_context&);

// Key management (kek.cpp)
awaitable<http_response> handle_kek_rotate(request_context&);
awaitable<http_response> handle_data_keys_rotate(request_context&);

}  // namespace modelrelay::server::handlers

namespace modelrelay::server::handlers {
// R25: a committed change to settings or keys is always written to the audit log (security on only), with
// the action name and what changed. Credentials never reach `detail`.
void audit_change(request_context& ctx, std::string_view action, std::string_view detail = {});
}  // namespace modelrelay::server::handlers
