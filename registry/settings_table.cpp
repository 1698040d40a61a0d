// File: settings_table.cpp
// The rows, transcribed from ml-commons `MLCommonsSettings.java` (plus the remote-metadata SDK key names and
// the memory-retention settings, whose defaults and ranges come from the ml-commons documentation). The
// helpers mirror the Java factory methods, so each row reads like its `Setting.xxxSetting(...)` original.
// Scope: every ml-commons setting is NodeScope; `dynamic` rows also carry Property.Dynamic.
#include "registry/settings_table.hpp"

#include <algorithm>
#include <array>
#include <climits>

#include "registry/regex_guard.hpp"

namespace modelrelay::registry {

namespace {

using scope = setting_scope;

constexpr setting_def bool_setting(std::string_view key, bool def, scope s = scope::dynamic) {
    setting_def d;
    d.key = key;
    d.type = setting_type::boolean;
    d.scope = s;
    d.default_text = def ? "true" : "false";
    return d;
}

constexpr setting_def int_setting(
    std::string_view key,
    std::string_view def,
    long long min,
    long long max = INT_MAX,
    scope s = scope::dynamic
) {
    setting_def d;
    d.key = key;
    d.type = setting_type::integer;
    d.scope = s;
    d.default_text = def;
    d.min_int = min;
    d.max_int = max;
    return d;
}

constexpr setting_def long_setting(std::string_view key, std::string_view def, long long min, long long max) {
    setting_def d = int_setting(key, def, min, max);
    d.type = setting_type::long_integer;
    return d;
}

constexpr setting_def float_setting(std::string_view key, std::string_view def, float min, float max) {
    setting_def d;
    d.key = key;
    d.type = setting_type::floating;
    d.default_text = def;
    d.min_float = min;
    d.max_float = max;
    return d;
}

constexpr setting_def string_setting(
    std::string_view key, std::string_view def = "", scope s = scope::dynamic
) {
    setting_def d;
    d.key = key;
    d.type = setting_type::string;
    d.scope = s;
    d.default_text = def;
    return d;
}

constexpr setting_def list_setting(
    std::string_view key,
    std::span<const std::string_view> def,
    list_validator validator = nullptr,
    scope s = scope::dynamic
) {
    setting_def d;
    d.key = key;
    d.type = setting_type::list;
    d.scope = s;
    d.default_list = def;
    d.validate_list = validator;
    return d;
}

constexpr setting_def byte_size_setting(std::string_view key, std::string_view def) {
    setting_def d;
    d.key = key;
    d.type = setting_type::byte_size;
    d.default_text = def;
    return d;
}

// ml-commons' default trusted endpoints (Java regex, full match). Order as in MLCommonsSettings.
constexpr std::array<std::string_view, 12> default_trusted_endpoints{
    R"re(^https://runtime\.sagemaker\..*[a-z0-9-]\.amazonaws\.com/.*$)re",
    R"re(^https://api\.sagemaker\..*[a-z0-9-]\.amazonaws\.com/.*$)re",
    R"re(^https://api\.openai\.com/.*$)re",
    R"re(^https://api\.cohere\.ai/.*$)re",
    R"re(^https://api\.deepseek\.com/.*$)re",
    R"re(^https://generativelanguage\.googleapis\.com/.*$)re",
    R"re(^https://bedrock-runtime\..*[a-z0-9-]\.amazonaws\.com/.*$)re",
    R"re(^https://bedrock-agent-runtime\..*[a-z0-9-]\.amazonaws\.com/.*$)re",
    R"re(^https://bedrock\..*[a-z0-9-]\.amazonaws\.com/.*$)re",
    R"re(^https://textract\..*[a-z0-9-]\.amazonaws\.com$)re",
    R"re(^https://comprehend\..*[a-z0-9-]\.amazonaws\.com$)re",
    R"re(^https://rekognition(-fips)?\..*[a-z0-9-]\.amazonaws\.com$)re",
};
constexpr std::array<std::string_view, 2> default_node_roles{"data", "ml"};
constexpr std::array<std::string_view, 3> default_remote_job_status_field{
    "status", "Status", "TransformJobStatus"};
constexpr std::span<const std::string_view> empty_list{};

#define MR_KEY(suffix) "plugins.ml_commons." suffix

// clang-format off
constexpr std::array rows{
    // Task dispatch and per-node limits (local models mostly; recognised for tooling).
    string_setting(MR_KEY("task_dispatch_policy"), "round_robin"),
    int_setting(MR_KEY("max_model_on_node"), "10", 0, 10000),
    int_setting(MR_KEY("max_register_model_tasks_per_node"), "10", 0, 10),
    int_setting(MR_KEY("max_deploy_model_tasks_per_node"), "10", 0, 10),
    int_setting(MR_KEY("max_ml_task_per_node"), "10", 0, 10000),
    int_setting(MR_KEY("max_batch_inference_tasks"), "100", 0, 10000),
    int_setting(MR_KEY("max_batch_ingestion_tasks"), "100", 0, 10000),
    int_setting(MR_KEY("batch_ingestion_bulk_size"), "500", 100, 100000),
    bool_setting(MR_KEY("only_run_on_ml_node"), true),
    bool_setting(MR_KEY("enable_inhouse_python_model"), false),
    int_setting(MR_KEY("sync_up_job_interval_in_seconds"), "10", 0, 86400),
    int_setting(MR_KEY("ml_task_timeout_in_seconds"), "600", 1, 86400),
    long_setting(MR_KEY("monitoring_request_count"), "100", 0, 10000000),
    string_setting(MR_KEY("trusted_url_regex"),
                   R"(^(https?|ftp|file)://[-a-zA-Z0-9+&@#/%?=~_|!:,.;]*[-a-zA-Z0-9+&@#/%=~_|])"),
    int_setting(MR_KEY("native_memory_threshold"), "90", 0, 100),
    int_setting(MR_KEY("jvm_heap_memory_threshold"), "85", 0, 100),
    byte_size_setting(MR_KEY("disk_free_space_threshold"), "5gb"),
    string_setting(MR_KEY("exclude_nodes._name")),
    bool_setting(MR_KEY("allow_custom_deployment_plan"), false),
    bool_setting(MR_KEY("model_auto_deploy.enable"), true),
    bool_setting(MR_KEY("model_auto_redeploy.enable"), true),
    int_setting(MR_KEY("model_auto_redeploy.lifetime_retry_times"), "3", INT_MIN, INT_MAX),
    float_setting(MR_KEY("model_auto_redeploy_success_ratio"), "0.8", 0.0F, 1.0F),
    bool_setting(MR_KEY("allow_registering_model_via_url"), false),
    bool_setting(MR_KEY("allow_registering_model_via_local_file"), false),
    // Feature switches.
    bool_setting(MR_KEY("remote_inference.enabled"), true),
    bool_setting(MR_KEY("local_model.enabled"), true),
    bool_setting(MR_KEY("model_access_control_enabled"), false),
    bool_setting(MR_KEY("connector_access_control_enabled"), false),
    bool_setting(MR_KEY("offline_batch_ingestion_enabled"), true),
    bool_setting(MR_KEY("offline_batch_inference_enabled"), true),
    bool_setting(MR_KEY("index_insight_feature_enabled"), false),
    bool_setting(MR_KEY("memory_feature_enabled"), true),
    bool_setting(MR_KEY("mcp_connector_enabled"), false),
    bool_setting(MR_KEY("mcp_server_enabled"), false),
    bool_setting(MR_KEY("rag_pipeline_feature_enabled"), true),
    bool_setting(MR_KEY("agent_framework_enabled"), true),
    bool_setting(MR_KEY("execute_tools_enabled"), true),
    bool_setting(MR_KEY("controller_enabled"), true),
    bool_setting(MR_KEY("safe_delete_model"), false),
    bool_setting(MR_KEY("metrics_static_collection_enabled"), false),
    bool_setting(MR_KEY("agentic_memory_enabled"), true),
    bool_setting(MR_KEY("remote_agentic_memory_enabled"), false),
    bool_setting(MR_KEY("agentic_search_enabled"), false),
    bool_setting(MR_KEY("unified_agent_api_enabled"), true),
    bool_setting(MR_KEY("stream_enabled"), false),
    bool_setting(MR_KEY("ag_ui_enabled"), false),
    int_setting(MR_KEY("max_json_size"), "100000000", -1),
    int_setting(MR_KEY("master_key_cache_ttl_minutes"), "5", 1, 1440, scope::node_only),  // static (spec §7)
    // Connector security (ml-commons.md §5.1, §5.2).
    list_setting(MR_KEY("trusted_connector_endpoints_regex"), default_trusted_endpoints,
                 &validate_regex_list),
    list_setting(MR_KEY("trusted_connector_private_endpoints_regex"), empty_list, &validate_regex_list),
    bool_setting(MR_KEY("connector.private_ip_enabled"), false),
    // modelrelay extension (security.md R19): under multi-tenancy, the tenants private_ip_enabled applies to
    // (empty: every tenant, ml-commons' behaviour).
    list_setting(MR_KEY("connector.private_ip_enabled_tenants"), empty_list),
    list_setting(MR_KEY("connector.restricted_ip_patterns"), empty_list, &validate_regex_list,
                 scope::final_only),
    // Node roles and batch job status parsing.
    list_setting(MR_KEY("task_dispatcher.eligible_node_role.remote_model"), default_node_roles),
    list_setting(MR_KEY("task_dispatcher.eligible_node_role.local_model"), default_node_roles),
    list_setting(MR_KEY("remote_job.status_field"), default_remote_job_status_field),
    string_setting(MR_KEY("remote_job.status_regex.completed"), "(complete|completed|partiallyCompleted)"),
    string_setting(MR_KEY("remote_job.status_regex.cancelled"), "(stopped|cancelled)"),
    string_setting(MR_KEY("remote_job.status_regex.cancelling"), "(stopping|cancelling)"),
    string_setting(MR_KEY("remote_job.status_regex.expired"), "(expired|timeout)"),
    string_setting(MR_KEY("remote_job.status_regex.failed"), "(failed)"),
    // Agentic memory retention (3.8).
    bool_setting(MR_KEY("memory.retention_enabled"), false),
    int_setting(MR_KEY("memory.retention_job_throttle_seconds"), "5", 1, 60),
    int_setting(MR_KEY("memory.retention_job_interval_hours"), "24", 1, 168, scope::node_only),
    int_setting(MR_KEY("memory.default_session_retention_days"), "-1", -1, 3650),
    int_setting(MR_KEY("memory.default_session_max_count"), "-1", -1, 1000000),
    int_setting(MR_KEY("memory.default_long_term_max_count"), "-1", -1, 1000000),
    int_setting(MR_KEY("memory.default_history_max_count"), "-1", -1, 10000000),
    int_setting(MR_KEY("memory.working_memory_ttl_days"), "-1", -1, 365),
    int_setting(MR_KEY("memory.orphan_ttl_days"), "7", 1, 365),
    // Static: set at node start only (modelrelay: command-line flags via with_node_settings).
    bool_setting(MR_KEY("multi_tenancy_enabled"), false, scope::node_only),
    bool_setting(MR_KEY("metrics_collection_enabled"), false, scope::final_only),
    string_setting(MR_KEY("remote_metadata_type"), "", scope::final_only),
    string_setting(MR_KEY("remote_metadata_endpoint"), "", scope::final_only),
    string_setting(MR_KEY("remote_metadata_region"), "", scope::final_only),
    string_setting(MR_KEY("remote_metadata_service_name"), "", scope::final_only),
    string_setting(MR_KEY("global_tenant_id"), "", scope::final_only),
    string_setting(MR_KEY("remote_metadata_global_resource_cache_ttl"), "", scope::final_only),
};
// clang-format on

#undef MR_KEY

std::array<setting_def, rows.size()> sorted_rows() {
    auto out = rows;
    std::sort(out.begin(), out.end(), [](const setting_def& a, const setting_def& b) {
        return a.key < b.key;
    });
    return out;
}

const std::array<setting_def, rows.size()>& table() {
    static const auto sorted = sorted_rows();
    return sorted;
}

}  // namespace

std::span<const setting_def> setting_table() {
    return table();
}

const setting_def* find_setting(std::string_view key) {
    const auto& t = table();
    const auto it = std::lower_bound(t.begin(), t.end(), key, [](const setting_def& d, std::string_view k) {
        return d.key < k;
    });
    return it != t.end() && it->key == key ? &*it : nullptr;
}

}  // namespace modelrelay::registry
