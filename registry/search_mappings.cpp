// File: search_mappings.cpp
// The tables behind search_mappings.hpp. ml-commons schema versions: connector 3, model group 2, model 14,
// task 3. Fields not listed are dynamically mapped by OpenSearch; the evaluator treats them the same way.
#include "registry/search_mappings.hpp"

namespace modelrelay::registry {
namespace {

using ft = field_type;

// The `user`/`owner` placeholder (placeholders/user.json) is repeated inline: nested, members text + keyword.
constexpr field_mapping connector_fields[] = {
    {"name", ft::text, true},
    {"version", ft::keyword},
    {"description", ft::text},
    {"protocol", ft::keyword},
    {"parameters", ft::flat_object},
    {"credential", ft::flat_object},
    {"client_config", ft::flat_object},
    {"actions", ft::flat_object},
    {"backend_roles", ft::text, true},
    {"access", ft::keyword},
    {"owner", ft::nested},
    {"owner.name", ft::text, true},
    {"owner.backend_roles", ft::text, true},
    {"owner.roles", ft::text, true},
    {"owner.custom_attribute_names", ft::text, true},
    {"created_time", ft::date},
    {"last_updated_time", ft::date},
};

constexpr field_mapping model_group_fields[] = {
    {"name", ft::text, true},
    {"description", ft::text},
    {"latest_version", ft::integer},
    {"model_group_id", ft::keyword},
    {"backend_roles", ft::text, true},
    {"access", ft::keyword},
    {"owner", ft::nested},
    {"owner.name", ft::text, true},
    {"owner.backend_roles", ft::text, true},
    {"owner.roles", ft::text, true},
    {"owner.custom_attribute_names", ft::text, true},
    {"created_time", ft::date},
    {"last_updated_time", ft::date},
};

constexpr field_mapping model_fields[] = {
    {"algorithm", ft::keyword},
    {"name", ft::text, true},
    {"version", ft::integer},
    {"model_version", ft::keyword},
    {"model_group_id", ft::keyword},
    {"chunk_number", ft::integer},
    {"total_chunks", ft::integer},
    {"model_id", ft::keyword},
    {"description", ft::text},
    {"model_format", ft::keyword},
    {"model_state", ft::keyword},
    {"model_content_size_in_bytes", ft::integer},
    {"planning_worker_node_count", ft::integer},
    {"current_worker_node_count", ft::integer},
    {"planning_worker_nodes", ft::keyword},
    {"deploy_to_all_nodes", ft::boolean},
    {"is_hidden", ft::boolean},
    {"tenant_id", ft::keyword},
    {"provisioned_by", ft::keyword},
    {"model_config.model_type", ft::keyword},
    {"model_config.embedding_dimension", ft::integer},
    {"model_config.framework_type", ft::keyword},
    {"model_config.pooling_mode", ft::keyword},
    {"model_config.normalize_result", ft::boolean},
    {"model_config.model_max_length", ft::integer},
    {"model_config.all_config", ft::text},
    {"model_config.additional_config", ft::flat_object},
    {"deploy_setting", ft::flat_object},
    {"is_enabled", ft::boolean},
    {"is_controller_enabled", ft::boolean},
    {"rate_limiter", ft::flat_object},
    {"model_content_hash_value", ft::keyword},
    {"auto_redeploy_retry_times", ft::integer},
    {"created_time", ft::date},
    {"last_updated_time", ft::date},
    {"last_registered_time", ft::date},
    {"last_deployed_time", ft::date},
    {"last_undeployed_time", ft::date},
    {"interface", ft::flat_object},
    {"guardrails.input_guardrail.regex", ft::text},
    {"guardrails.input_guardrail.stop_words.index_name", ft::text},
    {"guardrails.input_guardrail.stop_words.source_fields", ft::text},
    {"guardrails.output_guardrail.regex", ft::text},
    {"guardrails.output_guardrail.stop_words.index_name", ft::text},
    {"guardrails.output_guardrail.stop_words.source_fields", ft::text},
    {"connector.name", ft::text, true},
    {"connector.version", ft::keyword},
    {"connector.description", ft::text},
    {"connector.protocol", ft::keyword},
    {"connector.parameters", ft::flat_object},
    {"connector.credential", ft::flat_object},
    {"connector.client_config", ft::flat_object},
    {"connector.actions", ft::flat_object},
    {"user", ft::nested},
    {"user.name", ft::text, true},
    {"user.backend_roles", ft::text, true},
    {"user.roles", ft::text, true},
    {"user.custom_attribute_names", ft::text, true},
};

constexpr field_mapping task_fields[] = {
    {"model_id", ft::keyword},
    {"task_type", ft::keyword},
    {"function_name", ft::keyword},
    {"state", ft::keyword},
    {"input_type", ft::keyword},
    {"progress", ft::floating},
    {"output_index", ft::keyword},
    {"worker_node", ft::keyword},
    {"create_time", ft::date},
    {"last_update_time", ft::date},
    {"error", ft::text},
    {"is_async", ft::boolean},
    {"remote_job", ft::flat_object},
    {"user", ft::nested},
    {"user.name", ft::text, true},
    {"user.backend_roles", ft::text, true},
    {"user.roles", ft::text, true},
    {"user.custom_attribute_names", ft::text, true},
};

}  // namespace

index_mapping connector_index_mapping() {
    return connector_fields;
}
index_mapping model_group_index_mapping() {
    return model_group_fields;
}
index_mapping model_index_mapping() {
    return model_fields;
}
index_mapping task_index_mapping() {
    return task_fields;
}

}  // namespace modelrelay::registry
