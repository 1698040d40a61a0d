// File: routes.cpp
// The route table. Query parameters listed per route are the ones OpenSearch accepts there; anything else
// is rejected by the router with "contains unrecognized parameter".
#include "server/handlers/handlers.hpp"

namespace modelrelay::server::handlers {

namespace {
using v = http::verb;
// ml-commons reads the whole search from the body (or the global `source` parameter).
constexpr std::string_view search_params = "";
constexpr std::string_view health_params =
    "level,local,timeout,wait_for_status,cluster_manager_timeout,master_timeout,wait_for_nodes,"
    "wait_for_active_shards,wait_for_no_relocating_shards,wait_for_no_initializing_shards,wait_for_events";
constexpr std::string_view cat_params = "format,v,h,help,s,local,cluster_manager_timeout,master_timeout";
}  // namespace

namespace {

// OpenSearch's and Elasticsearch's BaseRestHandler refuse a body that the handler did not read: `request
// [GET /_plugins/_ml/connectors/x] does not support having a body`. Every GET, HEAD and DELETE route here
// reads none, except the searches and the profile, which read their query from it; the Security plugin's
// REST API reads (and ignores) every body, and /v1 is OpenAI's API.
bool refuses_body(const route& r) {
    if (r.verb != v::get && r.verb != v::head && r.verb != v::delete_) {
        return false;
    }
    const std::string_view p = r.pattern;
    return !p.ends_with("/_search") && !p.starts_with("/_plugins/_ml/profile") &&
           !p.starts_with("/_plugins/_security") && !p.starts_with("/_opendistro/_security") &&
           !p.starts_with("/_security") && !p.starts_with("/v1/") && p != "/v1";
}

std::vector<route> route_table();

}  // namespace

std::vector<route> all_routes() {
    auto routes = route_table();
    for (auto& r : routes) {
        r.refuses_body = refuses_body(r);
    }
    return routes;
}

namespace {

std::vector<route> route_table() {
    return {
        {v::get, "/", handle_root, ""},
        {v::head, "/", handle_root, ""},
        {v::get, "/_cluster/health", handle_cluster_health, health_params},
        {v::get, "/_cat/plugins", handle_cat_plugins, cat_params},
        {v::get,
         "/_cluster/settings",
         handle_cluster_settings_get,
         "flat_settings,include_defaults,local,cluster_manager_timeout,master_timeout"},
        {v::put,
         "/_cluster/settings",
         handle_cluster_settings_put,
         "flat_settings,cluster_manager_timeout,master_timeout,timeout"},

        {v::post, "/_plugins/_ml/connectors/_create", handle_connector_create, ""},
        {v::get, "/_plugins/_ml/connectors/_search", handle_connector_search, search_params},
        {v::post, "/_plugins/_ml/connectors/_search", handle_connector_search, search_params},
        {v::get, "/_plugins/_ml/connectors/{connector_id}", handle_connector_get, ""},
        {v::put, "/_plugins/_ml/connectors/{connector_id}", handle_connector_update, ""},
        {v::delete_, "/_plugins/_ml/connectors/{connector_id}", handle_connector_delete, ""},

        {v::post, "/_plugins/_ml/model_groups/_register", handle_model_group_register, ""},
        {v::get, "/_plugins/_ml/model_groups/_search", handle_model_group_search, search_params},
        {v::post, "/_plugins/_ml/model_groups/_search", handle_model_group_search, search_params},
        {v::get, "/_plugins/_ml/model_groups/{model_group_id}", handle_model_group_get, ""},
        {v::put, "/_plugins/_ml/model_groups/{model_group_id}", handle_model_group_update, ""},
        {v::delete_, "/_plugins/_ml/model_groups/{model_group_id}", handle_model_group_delete, ""},

        {v::post, "/_plugins/_ml/models/_register", handle_model_register, "deploy"},
        {v::post, "/_plugins/_ml/models/_upload", handle_model_register, "deploy"},
        {v::post, "/_plugins/_ml/models/{model_id}/{version}/_register", handle_model_register, "deploy"},
        {v::post, "/_plugins/_ml/models/{model_id}/{version}/_upload", handle_model_register, "deploy"},
        {v::get, "/_plugins/_ml/models/_search", handle_model_search, search_params},
        {v::post, "/_plugins/_ml/models/_search", handle_model_search, search_params},
        {v::post, "/_plugins/_ml/models/_undeploy", handle_models_undeploy, ""},
        {v::post, "/_plugins/_ml/models/_unload", handle_models_undeploy, ""},
        {v::get, "/_plugins/_ml/models/{model_id}", handle_model_get, ""},
        {v::put, "/_plugins/_ml/models/{model_id}", handle_model_update, ""},
        {v::delete_, "/_plugins/_ml/models/{model_id}", handle_model_delete, ""},
        {v::post, "/_plugins/_ml/models/{model_id}/_deploy", handle_model_deploy, ""},
        {v::post, "/_plugins/_ml/models/{model_id}/_load", handle_model_deploy, ""},
        {v::post, "/_plugins/_ml/models/{model_id}/_undeploy", handle_model_undeploy, ""},
        {v::post, "/_plugins/_ml/models/{model_id}/_unload", handle_model_undeploy, ""},
        {v::post, "/_plugins/_ml/models/{model_id}/_predict", handle_model_predict, ""},
        {v::post, "/_plugins/_ml/_predict/{algorithm}/{model_id}", handle_algorithm_predict, ""},
        {v::post, "/_plugins/_ml/models/{model_id}/_predict/stream", handle_model_predict_stream, ""},

        {v::get, "/_plugins/_ml/stats", handle_stats, ""},
        {v::get, "/_plugins/_ml/stats/{stat}", handle_stats, ""},
        {v::get, "/_plugins/_ml/{node_id}/stats", handle_stats, ""},
        {v::get, "/_plugins/_ml/{node_id}/stats/{stat}", handle_stats, ""},
        {v::get, "/_plugins/_ml/profile", handle_profile, "view"},
        {v::get, "/_plugins/_ml/profile/models", handle_profile, "view"},
        {v::get, "/_plugins/_ml/profile/models/{model_id}", handle_profile, "view"},
        {v::get, "/_plugins/_ml/profile/tasks", handle_profile, "view"},
        {v::get, "/_plugins/_ml/profile/tasks/{task_id}", handle_profile, "view"},

        {v::post, "/_plugins/_ml/controllers/{model_id}", handle_controller_create, ""},
        {v::get, "/_plugins/_ml/controllers/{model_id}", handle_controller_get, ""},
        {v::put, "/_plugins/_ml/controllers/{model_id}", handle_controller_update, ""},
        {v::delete_, "/_plugins/_ml/controllers/{model_id}", handle_controller_delete, ""},

        {v::get, "/_plugins/_ml/tasks/_search", handle_task_search, search_params},
        {v::post, "/_plugins/_ml/tasks/_search", handle_task_search, search_params},
        {v::get, "/_plugins/_ml/tasks/{task_id}", handle_task_get, ""},
        {v::delete_, "/_plugins/_ml/tasks/{task_id}", handle_task_delete, ""},

        // Security plugin REST API (security_api.cpp): only with security on.
        {v::get, "/_plugins/_security/authinfo", handle_security_authinfo, "verbose,auth_type"},
        {v::post, "/_plugins/_security/authinfo", handle_security_authinfo, "verbose,auth_type"},
        {v::get, "/_opendistro/_security/authinfo", handle_security_authinfo, "verbose,auth_type"},
        {v::post, "/_opendistro/_security/authinfo", handle_security_authinfo, "verbose,auth_type"},
        {v::get, "/_plugins/_security/api/account", handle_security_account, ""},
        {v::put, "/_plugins/_security/api/account", handle_security_account_put, ""},
        {v::get, "/_plugins/_security/api/internalusers", handle_security_users_get, ""},
        {v::get, "/_plugins/_security/api/internalusers/{name}", handle_security_users_get, ""},
        {v::put, "/_plugins/_security/api/internalusers/{name}", handle_security_user_put, ""},
        {v::delete_, "/_plugins/_security/api/internalusers/{name}", handle_security_user_delete, ""},
        {v::patch, "/_plugins/_security/api/internalusers", handle_security_users_patch, ""},
        {v::patch, "/_plugins/_security/api/internalusers/{name}", handle_security_users_patch, ""},
        {v::get, "/_plugins/_security/api/user", handle_security_users_get, ""},
        {v::get, "/_plugins/_security/api/user/{name}", handle_security_users_get, ""},
        {v::put, "/_plugins/_security/api/user/{name}", handle_security_user_put, ""},
        {v::delete_, "/_plugins/_security/api/user/{name}", handle_security_user_delete, ""},
        {v::get, "/_plugins/_security/api/roles", handle_security_roles_get, ""},
        {v::get, "/_plugins/_security/api/roles/{name}", handle_security_roles_get, ""},
        {v::put, "/_plugins/_security/api/roles/{name}", handle_security_role_put, ""},
        {v::delete_, "/_plugins/_security/api/roles/{name}", handle_security_role_delete, ""},
        {v::patch, "/_plugins/_security/api/roles", handle_security_roles_patch, ""},
        {v::patch, "/_plugins/_security/api/roles/{name}", handle_security_roles_patch, ""},
        {v::get, "/_plugins/_security/api/rolesmapping", handle_security_mappings_get, ""},
        {v::get, "/_plugins/_security/api/rolesmapping/{name}", handle_security_mappings_get, ""},
        {v::put, "/_plugins/_security/api/rolesmapping/{name}", handle_security_mapping_put, ""},
        {v::delete_, "/_plugins/_security/api/rolesmapping/{name}", handle_security_mapping_delete, ""},
        {v::patch, "/_plugins/_security/api/rolesmapping", handle_security_mappings_patch, ""},
        {v::patch, "/_plugins/_security/api/rolesmapping/{name}", handle_security_mappings_patch, ""},

        {v::post, "/_plugins/_security/api/apitokens", handle_api_tokens_create, ""},
        {v::get, "/_plugins/_security/api/apitokens", handle_api_tokens_get, ""},
        {v::delete_, "/_plugins/_security/api/apitokens/{id}", handle_api_tokens_delete, ""},

        // Elasticsearch security: API keys for /v1 and _inference (api_keys.cpp).
        {v::post, "/_security/api_key", handle_api_key_create, "refresh"},
        {v::put, "/_security/api_key", handle_api_key_create, "refresh"},
        {v::get,
         "/_security/api_key",
         handle_api_key_get,
         "id,name,username,realm_name,owner,with_limited_by,active_only,with_profile_uid"},
        {v::delete_, "/_security/api_key", handle_api_key_invalidate, ""},
        {v::get, "/_security/_authenticate", handle_security_authenticate, ""},

        // OpenAI-compatible front door (openai.cpp).
        {v::post, "/v1/chat/completions", handle_openai_chat_completions, any_params},
        {v::post, "/v1/completions", handle_openai_completions, any_params},
        {v::post, "/v1/embeddings", handle_openai_embeddings, any_params},
        {v::get, "/v1/models", handle_openai_models, any_params},
        {v::get, "/v1/models/{model}", handle_openai_model_get, any_params},
        // Model names with slashes (`meta-llama/Llama-3.1-8B`, `hf.co/org/model:tag`), sent as written or
        // with `%2F` (openai-node's encodeURIComponent): the handler reads the name from the whole path.
        {v::get, "/v1/models/{m1}/{m2}", handle_openai_model_get, any_params},
        {v::get, "/v1/models/{m1}/{m2}/{m3}", handle_openai_model_get, any_params},
        {v::get, "/v1/models/{m1}/{m2}/{m3}/{m4}", handle_openai_model_get, any_params},

        // Elasticsearch _inference front door (inference.cpp, inference_infer.cpp). A literal segment beats a
        // parameter, so `{id}/_update` and `{id}/_stream` win over `{task_type}/{id}`.
        {v::get, "/_inference", handle_inference_get, ""},
        {v::get, "/_inference/{inference_id}", handle_inference_get, ""},
        {v::get, "/_inference/{task_type}/{inference_id}", handle_inference_get, ""},
        {v::put, "/_inference/{inference_id}", handle_inference_put, "timeout"},
        {v::put, "/_inference/{task_type}/{inference_id}", handle_inference_put, "timeout"},
        {v::put, "/_inference/{inference_id}/_update", handle_inference_update, "timeout"},
        {v::post, "/_inference/{inference_id}/_update", handle_inference_update, "timeout"},
        {v::put, "/_inference/{task_type}/{inference_id}/_update", handle_inference_update, "timeout"},
        {v::post, "/_inference/{task_type}/{inference_id}/_update", handle_inference_update, "timeout"},
        {v::delete_,
         "/_inference/{inference_id}",
         handle_inference_delete,
         "force,dry_run,timeout,master_timeout"},
        {v::delete_,
         "/_inference/{task_type}/{inference_id}",
         handle_inference_delete,
         "force,dry_run,timeout,master_timeout"},
        {v::post, "/_inference/{inference_id}", handle_inference_infer, "timeout"},
        {v::post, "/_inference/{task_type}/{inference_id}", handle_inference_infer, "timeout"},
        {v::post, "/_inference/{inference_id}/_stream", handle_inference_stream, "timeout"},
        {v::post, "/_inference/{task_type}/{inference_id}/_stream", handle_inference_stream, "timeout"},
        {v::post, "/_inference/{task_type}/{inference_id}/_unified", handle_inference_stream, "timeout"},

        // Key management (kek.cpp), admin only.
        {v::post, "/_plugins/_modelrelay/_rotate_kek", handle_kek_rotate, ""},
        {v::post, "/_plugins/_modelrelay/_rotate_data_keys", handle_data_keys_rotate, ""},
    };
}

}  // namespace

}  // namespace modelrelay::server::handlers
