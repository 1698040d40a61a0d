// File: settings_table.hpp
// The declarative table of every `plugins.ml_commons.*` setting that ml-commons registers (DuckDB-style:
// one row per setting, no per-setting code). `_cluster/settings` recognises exactly these keys; the row
// says how a value is parsed, its default, its bounds and whether it may be changed at run time.
#pragma once

#include <climits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.hpp"

namespace modelrelay::registry {

// The Java Setting<T> flavours used by ml-commons.
enum class setting_type {
    boolean,       // Setting.boolSetting: "true" / "false" only
    integer,       // Setting.intSetting: Integer.parseInt + [min, max]
    long_integer,  // Setting.longSetting: Long.parseLong + [min, max]
    floating,      // Setting.floatSetting: Float.parseFloat + [min, max]
    string,        // Setting.simpleString: anything
    list,          // Setting.listSetting: JSON array, or a comma-separated string
    byte_size,     // Setting.byteSizeSetting: "5gb", "512mb", "-1", ...
};

// Setting.Property: NodeScope+Dynamic, NodeScope only, or Final.
enum class setting_scope {
    dynamic,     // changeable through PUT _cluster/settings
    node_only,   // node settings (opensearch.yml): "not dynamically updateable"
    final_only,  // Property.Final: "final ... not updateable"
};

// Extra validation of a list value (e.g. the ReDoS guard); nullptr when none.
using list_validator = result<void> (*)(const std::vector<std::string>& values);

struct setting_def {
    std::string_view key;
    setting_type type = setting_type::string;
    setting_scope scope = setting_scope::dynamic;
    std::string_view default_text;                   // scalars: the default as OpenSearch renders it
    std::span<const std::string_view> default_list;  // list settings
    long long min_int = LLONG_MIN;                   // integer / long_integer bounds
    long long max_int = LLONG_MAX;
    float min_float = 0;  // floating bounds
    float max_float = 0;
    list_validator validate_list = nullptr;
};

// Every registered setting, sorted by key.
std::span<const setting_def> setting_table();

// The row for `key`, or nullptr when the key is not registered.
const setting_def* find_setting(std::string_view key);

// Keys that modelrelay reads itself.
namespace setting_keys {
inline constexpr std::string_view trusted_connector_endpoints_regex =
    "plugins.ml_commons.trusted_connector_endpoints_regex";
inline constexpr std::string_view trusted_connector_private_endpoints_regex =
    "plugins.ml_commons.trusted_connector_private_endpoints_regex";
inline constexpr std::string_view connector_restricted_ip_patterns =
    "plugins.ml_commons.connector.restricted_ip_patterns";
inline constexpr std::string_view connector_private_ip_enabled =
    "plugins.ml_commons.connector.private_ip_enabled";
inline constexpr std::string_view remote_inference_enabled = "plugins.ml_commons.remote_inference.enabled";
inline constexpr std::string_view connector_access_control_enabled =
    "plugins.ml_commons.connector_access_control_enabled";
inline constexpr std::string_view model_access_control_enabled =
    "plugins.ml_commons.model_access_control_enabled";
inline constexpr std::string_view multi_tenancy_enabled = "plugins.ml_commons.multi_tenancy_enabled";
inline constexpr std::string_view model_auto_deploy_enable = "plugins.ml_commons.model_auto_deploy.enable";
inline constexpr std::string_view model_auto_redeploy_enable =
    "plugins.ml_commons.model_auto_redeploy.enable";
inline constexpr std::string_view model_auto_redeploy_lifetime_retry_times =
    "plugins.ml_commons.model_auto_redeploy.lifetime_retry_times";
inline constexpr std::string_view stream_enabled = "plugins.ml_commons.stream_enabled";
inline constexpr std::string_view controller_enabled = "plugins.ml_commons.controller_enabled";
inline constexpr std::string_view monitoring_request_count = "plugins.ml_commons.monitoring_request_count";
inline constexpr std::string_view max_json_size = "plugins.ml_commons.max_json_size";
inline constexpr std::string_view sync_up_job_interval_in_seconds =
    "plugins.ml_commons.sync_up_job_interval_in_seconds";
}  // namespace setting_keys

}  // namespace modelrelay::registry
