// File: inference_endpoint.hpp
// Elasticsearch `_inference` endpoints (clients.md §1): task types, the `openai` service's settings parsed
// and shown the way Elasticsearch does (OpenAiService, ServiceUtils), and the create / update drafts the
// registry stores. Pure: no I/O. A draft carries the plain api_key only until the service encrypts it.
//
// Stored document (one `inference_endpoint` row, keys in display order):
//   {"inference_id", "task_type", "service", "service_settings": {model_id, url?, organization_id?,
//   similarity?,
//    dimensions?, max_input_tokens?, rate_limit: {requests_per_minute}}, "task_settings": {user?, headers?},
//    "chunking_settings"? (text_embedding), "dimensions_set_by_user"? (internal),
//    "secret_settings": {"api_key": <ciphertext>}, "created_time", "last_updated_time"}
// endpoint_info() is the public view (InferenceEndpointInfo): no secret, no internal field, no empty
// task_settings.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "registry/error.hpp"

namespace modelrelay::registry::inference {

enum class task_type {
    text_embedding,
    sparse_embedding,
    rerank,
    completion,
    chat_completion,
    embedding,
    any
};

std::string_view name_of(task_type t);
// Elasticsearch's TaskType.fromStringOrStatusException: 400 status_exception `Unknown task_type [x]`.
result<task_type> parse_task_type(std::string_view name);
// `any` (no task type in the URL) accepts every stored type.
inline bool any_or_same(task_type requested, task_type stored) {
    return requested == task_type::any || requested == stored;
}

inline constexpr std::string_view openai_service = "openai";

// PUT body after validation: the document to store (no secret, no timestamps) and the plain api_key.
struct endpoint_draft {
    std::string inference_id;
    task_type task = task_type::any;
    boost::json::object doc;
    std::optional<std::string> api_key;  // update: nullopt keeps the stored key
    bool changed = true;                 // update: false when the body changes nothing

    endpoint_draft() = default;
    endpoint_draft(const endpoint_draft&) = default;
    endpoint_draft(endpoint_draft&&) = default;
    endpoint_draft& operator=(const endpoint_draft&) = default;
    endpoint_draft& operator=(endpoint_draft&&) = default;
    ~endpoint_draft();
};

// `Invalid inference_id; '<id>' can contain lowercase alphanumeric (a-z and 0-9), hyphens or underscores;
// must start and end with alphanumeric` (action_request_validation_exception).
result<void> validate_inference_id(std::string_view id);

// PUT /_inference[/{task_type}]/{id}: `url_task` is the path segment (nullopt when absent). Errors, in
// Elasticsearch's order: unknown / conflicting / missing task_type, missing or unknown service, unsupported
// task type, `Missing required field [service_settings]`, validation_exception for bad settings (all problems
// of one scope in one message), unknown settings (`Configuration contains settings [{k=v}] unknown to the
// [openai] service`).
result<endpoint_draft> prepare_create(
    std::string_view id, std::optional<std::string_view> url_task, const boost::json::value& body
);

// PUT|POST .../_update: merges the partial body into `stored`. Updatable: service_settings.api_key and
// .rate_limit, task_settings (merged); other service settings are ignored like Elasticsearch does.
result<endpoint_draft> prepare_update(
    const boost::json::object& stored,
    std::optional<std::string_view> url_task,
    const boost::json::value& body
);

// After the validation call of a text_embedding endpoint: records the size the service returned and the
// default similarity. Error when the user set `dimensions` and the service disagrees.
result<void> apply_embedding_size(endpoint_draft& d, std::size_t size);

// InferenceEndpointInfo of a stored document.
boost::json::object endpoint_info(const boost::json::object& doc);
task_type stored_task(const boost::json::object& doc);
const boost::json::object& service_settings_of(const boost::json::object& doc);
const boost::json::object& task_settings_of(const boost::json::object& doc);
// The `task_settings` of an inference request, checked as at PUT (OpenAiChatCompletionRequestTaskSettings
// and OpenAiEmbeddingsRequestTaskSettings.fromMap: `user` a String, `headers` a map of Strings, else 400
// validation_exception), with the members that override the stored ones: a null or absent `user` or
// `headers` keeps the stored value; other keys are ignored, as Elasticsearch ignores them at request time.
result<boost::json::object> request_task_settings(const boost::json::object& given);

// Shared error texts.
error endpoint_not_found(std::string_view id);  // 404 resource_not_found_exception
// 400 `Requested task type [a] does not match the inference endpoint's task type [b]` (GET, DELETE).
error requested_task_mismatch(task_type requested, task_type stored);
// 400 `Incompatible task_type, the requested type [a] does not match the model type [b]` (inference).
error incompatible_task_type(task_type requested, task_type stored);

// Java's Map/List toString (`{a=1, b=[x, y]}`), used by Elasticsearch messages that echo settings.
std::string java_text(const boost::json::value& v);

}  // namespace modelrelay::registry::inference
