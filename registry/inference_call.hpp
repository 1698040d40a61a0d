// File: inference_call.hpp
// The sans-io half of an `_inference` call on an `openai` endpoint: parse the Elasticsearch request body,
// plan the OpenAI request Elasticsearch would send (clients.md §1.5), and turn the upstream answer (or each
// upstream SSE chunk) into the Elasticsearch response body (§1.3, §1.4). The server only performs the I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "registry/error.hpp"
#include "registry/inference_endpoint.hpp"
#include "registry/secret_scrub.hpp"

namespace modelrelay::registry::inference {

// InferenceAction.Request (completion, text_embedding): {input, input_type?, task_settings?, timeout?}.
struct infer_request {
    std::vector<std::string> input;
    std::optional<std::string> input_type;
    boost::json::object task_settings;
    // rerank's members (es-js sends them at the top level of every inference body, clients.md §1.3, §3.2):
    // read and type-checked so the task-type check can answer, unused by the task types served.
    std::optional<std::string> query;
    std::optional<std::int64_t> top_n;
    std::optional<bool> return_documents;
};

// `raw` is the request text (for the `[line:column]` of x_content_parse_exception messages). Errors:
// x_content_parse_exception `[1:2] [cluster:internal/xpack/inference] unknown field [x]` or `... failed to
// parse field [x]`; action_request_validation_exception `Field [input] cannot be null` / `... an empty array`
// / `Field [input_type] cannot be specified for task type [completion]`.
result<infer_request> parse_infer_request(
    std::string_view raw, const boost::json::value& body, task_type task
);

// The unified chat completion request (`chat_completion/{id}/_stream`): OpenAI-style, `messages` required.
result<boost::json::object> parse_chat_request(std::string_view raw, const boost::json::value& body);

struct upstream_call {
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;  // Authorization carries the plain api_key
    std::string body;
    std::shared_ptr<const secret_list> secrets;  // the api_key, scrubbed from the answer
    upstream_call() = default;
    upstream_call(const upstream_call&) = delete;
    upstream_call& operator=(const upstream_call&) = delete;
    upstream_call(upstream_call&&) = default;
    upstream_call& operator=(upstream_call&&) = default;
    ~upstream_call();  // wipes the headers (the key)
};

inline constexpr std::string_view default_chat_url = "https://api.openai.com/v1/chat/completions";
inline constexpr std::string_view default_embeddings_url = "https://api.openai.com/v1/embeddings";

// Elasticsearch's SingleInputSenderExecutableAction: an OpenAI completion takes one input (400
// status_exception `OpenAI chat completions only accepts 1 input`).
error single_input_only();

// `doc` is the stored endpoint document; request task settings override the stored ones.
upstream_call plan_completion(
    const boost::json::object& doc,
    std::string_view api_key,
    const std::vector<std::string>& input,
    const boost::json::object& task_settings,
    bool stream
);
upstream_call plan_embeddings(
    const boost::json::object& doc,
    std::string_view api_key,
    const std::vector<std::string>& input,
    const boost::json::object& task_settings
);
upstream_call plan_chat(
    const boost::json::object& doc, std::string_view api_key, const boost::json::object& request, bool stream
);

// OpenAI's rate-limit headers on a 429 answer, as Elasticsearch quotes them: "unknown" when absent.
struct rate_limit_headers {
    std::string token_limit = "unknown";         // x-ratelimit-limit-tokens
    std::string remaining_tokens = "unknown";    // x-ratelimit-remaining-tokens
    std::string request_limit = "unknown";       // x-ratelimit-limit-requests
    std::string remaining_requests = "unknown";  // x-ratelimit-remaining-requests
};

// A non-2xx upstream answer as Elasticsearch reports it (OpenAiResponseHandler.checkForFailureStatusCode,
// BaseResponseHandler.buildError): `<what> for request from inference entity id [id] status [s]` and
// `. Error message: [...]` when the body has an OpenAI error, <what> being by status: 500 and other 5xx
// `Received a server error status code`, 503 `Received a server busy error status code`, 429 `Received a
// rate limit status code. Token limit [..], remaining tokens [..]. Request limit [..], remaining requests
// [..]`, 413 (or a 400 saying `Please reduce your prompt; or completion length.`) `Received a content too
// large status code`, 401 `Received an authentication error status code`, 3xx `Unhandled redirection`, 422
// `Received an input validation error response`, 400 `Received a bad request status code`, 404 `Resource
// not found at [url]`, else `Received an unsuccessful status code`. The answer's status is the upstream's
// below 500 and 400 from 500 up (toRestStatus).
error upstream_failure(
    std::string_view inference_id,
    std::string_view url,
    unsigned status,
    std::string_view body,
    const rate_limit_headers& limits = {}
);

// 200 bodies. `completion` → `{"completion":[{"result":"..."}]}`.
result<std::string> completion_body(std::string_view inference_id, std::string_view upstream_body);
// The vectors of an OpenAI embeddings answer (float arrays or base64 little-endian float32), in `index`
// order.
result<std::vector<std::vector<float>>> embeddings_of(
    std::string_view inference_id, std::string_view upstream_body
);
// `{"text_embedding":[{"embedding":[...]}]}`, floats printed shortest-round-trip like Java's Float.toString.
std::string text_embedding_body(const std::vector<std::vector<float>>& vectors);

// Streaming: one upstream SSE `data` payload → the Elasticsearch event data, nullopt when there is nothing to
// send (role-only chunks, `[DONE]`, unparsable lines).
// completion: `{"completion":[{"delta":"..."}]}`.
std::optional<std::string> completion_delta(std::string_view upstream_data);
// chat_completion: the OpenAI chunk as Elasticsearch re-serialises it (id, choices, model, object, usage; no
// nulls, no `created`).
std::optional<std::string> chat_chunk(std::string_view upstream_data);
// A provider that answered a streaming request with one `chat.completion` JSON body: the same answer as a
// single chunk (choices' `message` becomes `delta`), shaped like chat_chunk.
std::optional<std::string> chat_chunk_of_completion(std::string_view upstream_body);
// An OpenAI in-stream `{"error":{...}}` payload as an error (nullopt when `upstream_data` is not one).
std::optional<error> stream_error_of(std::string_view inference_id, std::string_view upstream_data);

}  // namespace modelrelay::registry::inference
