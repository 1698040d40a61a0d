// File: predict.hpp
// The predict hot path without I/O (spec ml-commons.md §1.4, §3, §4, §8.1). Three pure steps that the
// predict handler chains around the upstream client:
//   1. parse_predict_body: the request body as the `/models/{id}/_predict` or `/_predict/{algorithm}/{id}`
//      parser of ml-commons reads it;
//   2. plan_predict: everything ml-commons does before the HTTP call (RemoteConnectorExecutor and
//      ConnectorUtils): parameter map, built-in pre-process functions, text_docs chunking, body, URL,
//      headers, method checks. One upstream_call per upstream request (text_docs may need several);
//   3. finish_call / append_call_element: one upstream answer → one `inference_results` element, or the
//      ml-commons error for it (MLSdkAsyncHttpResponseHandler, ConnectorUtils.processOutput).
// Response-side code lives in post_process.cpp.
//
// Deliberate differences from ml-commons (all documented in docs, none changes a working connector):
//  - Custom (non built-in) pre/post_process_functions run in the Painless subset of registry/painless.hpp;
//    one that does not compile fails with 400 at plan time, before anything is sent upstream (connector
//    create/update refuse it already). A pre-process script runs for text_docs / text_similarity input;
//    on `parameters` input with `pre_process_function.process_remote_inference_input=true` it fails with
//    400 (not implemented). `input_processors` / `output_processors` chains are refused.
//  - `stream` parameter on the non-stream path: ml-commons routes any request that merely contains a
//    `stream` key into its streaming branch, where it fails. modelrelay ignores the key there: the request
//    is planned and answered like any other (the key still works as an ordinary template parameter).
//    Pass predict_options{.streaming = true} from the streaming handler to get the `"stream":true` body
//    injection of §3.2.5.
//  - Post-processing failures (built-in function validation, a response_filter that matches nothing, a
//    JSON scalar body, a Painless script that fails at run time or returns bad ModelTensor JSON) are reported
//    as 400 illegal_argument with the real cause text (for example `Post process function input is not a
//    List.`), where ml-commons wraps them into a 500 m_l_exception `Fail to execute PREDICT in aws connector`
//    and puts the cause in `caused_by` (issue #4170).
//  - A response_filter that matches nothing is such an error (400 `No results for path: <filter>`); it is
//    never silently replaced by the whole body.
//  - The `charset` parameter accepts UTF-8, US-ASCII and ISO-8859-1 (and their usual aliases); any other
//    value fails with 400 `Unsupported charset: <name>` where Java would accept every JVM charset.
//  - Invalid UTF-8 in an upstream body is replaced by U+FFFD before parsing (Java decodes the same way);
//    JSON nesting deeper than 1000 levels is refused as invalid JSON (Jackson's default limit).
//
// @par Object lifetimes
// A predict_plan points into the compiled_connector it was planned from (`action`): the caller keeps that
// connector alive (it holds the deployed model's shared_ptr) until the last finish_call for the plan
// returned. Nothing else is shared: requests, plans and results own their data.
//
// @par Thread safety
// All functions are pure and reentrant; a compiled_connector may be planned against concurrently.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "registry/compiled_connector.hpp"
#include "registry/error.hpp"
#include "registry/json_path.hpp"
#include "registry/painless.hpp"
#include "registry/parameters.hpp"
#include "registry/template.hpp"

namespace modelrelay::registry {

// ---------------------------------------------------------------------------------------------------
// Request parsing

// Which ml-commons input data set the body produced.
enum class predict_input_kind {
    parameters,       // remote parser: RemoteInferenceInputDataSet ({"parameters":{...}})
    text_docs,        // text_embedding / sparse_encoding / sparse_tokenize: TextDocsInputDataSet
    text_similarity,  // text_similarity: TextSimilarityInputDataSet (query_text + text_docs)
    none,             // any other ml-commons function name: no data set a remote connector can use
};

// The `{}` let callers name only the members they set without -Wmissing-field-initializers.
struct predict_request {
    predict_input_kind kind = predict_input_kind::parameters;
    // Remote parser: the request `parameters` as sent (stringified and escaped by plan_predict), in the
    // body's storage: a request parsed into an arena must not outlive it.
    boost::json::object parameters{};
    // text_embedding / sparse_* parser: the `parameters` object read as ml-commons'
    // AsymmetricTextEmbeddingParameters and written back as strings (`content_type`: QUERY|PASSAGE when
    // given, `sparse_embedding_format`: WORD|TOKEN_ID, default WORD). Never escaped. Request parameters
    // other than these two are dropped, as in ml-commons (issue #4105).
    param_map algorithm_parameters{};
    std::vector<std::optional<std::string>> text_docs{};  // nullopt: a JSON null element
    std::optional<std::string> query_text{};
    std::string action_type = "PREDICT";  // upper case; remote parser `action_type`
};

// `algorithm` is "" for /models/{id}/_predict (the model's own function: remote), else the {algorithm}
// segment of /_predict/{algorithm}/{id}, matched case-insensitively against ml-commons' FunctionName.
// Errors (400 unless noted): null body → parse_exception `request body is required`; unknown algorithm →
// `Wrong function name`; `Wrong Action Type of <x>`; text_docs not an array → parsing_exception
// `Failed to parse object: expecting token of type [START_ARRAY] but found [<token>]`; an object/array
// element → 500 illegal_state `Can't get text on a START_OBJECT`; text_embedding without docs →
// `empty docs`; text_similarity → `No text documents were provided` / `No query text was provided`;
// bad `content_type` / `sparse_embedding_format` → `No enum constant ...` (the Java text).
// `parameters` is moved out of `body` (no copy when both share the arena), so `body` is spent afterwards.
result<predict_request> parse_predict_body(boost::json::value&& body, std::string_view algorithm);

// ---------------------------------------------------------------------------------------------------
// Planning

struct upstream_call {
    std::string method;   // upper case: POST, GET, PUT or DELETE
    std::string url;      // fully rendered; absolute http(s) URL with a host (trusted-regex check: caller)
    header_list headers;  // connector headers (rendered, in connector order), then Content-Type if absent.
                          // No Host / Content-Length: the outbound client computes framing.
    std::string body;     // encoded in the `charset` parameter; may be empty except for POST
    // aws_sigv4 connectors: the outbound client signs the request as it will be sent (null otherwise).
    std::shared_ptr<const aws_signing> aws;
    // The connector's credential values, scrubbed from the answer by the outbound client (null: none).
    std::shared_ptr<const secret_list> secrets;
};

struct predict_options {
    // The streaming handler sets this: with `stream` and `_llm_interface=openai/v1/chat/completions` in the
    // parameter map, `"stream":true` is set in the body (§3.2.5). The plain predict path leaves it false.
    bool streaming = false;
    // The OpenAI door sets this: values that came from the request (and what a built-in pre-process made
    // of them) are made opaque (make_placeholders_opaque), so text the user wrote is never substituted.
    bool opaque_request_values = false;
};

struct predict_plan {
    const compiled_action* action = nullptr;  // into the compiled_connector (see Object lifetimes)
    std::string action_type;                  // "PREDICT", ...
    std::vector<upstream_call> calls;         // one inference_results element each, in this order
    // Response shaping, decided once at plan time (templates and JsonPaths are never re-parsed).
    const builtin_post_process* post_process = nullptr;  // built-in post_process_function, or null
    // Built-in: the effective path (the built-in ones are compiled once per process and shared); else the
    // response_filter parameter, compiled for this request. Null: no filter.
    std::shared_ptr<const json_path> response_filter;
    std::string_view data_type = "FLOAT32";  // built-in: from a `.FLOAT32`/`.INT8`/... filter suffix
    // A Painless post_process_function (then post_process is null), compiled once per script text.
    std::shared_ptr<const painless::script> post_script;
};

// Errors, in ml-commons order (all 400 illegal_argument unless noted): `no <ACTION> action found`;
// unsupported Painless / processor chains (see file comment); `Invalid parameter:
// input_docs_processed_step_size. It must be positive integer.` / `For input string: "<v>"`;
// `This pre_process_function can only support TextDocsInputDataSet` (or TextSimilarityInputDataSet);
// `No input text or image provided`; `pre_process_function not defined in connector`; body errors of
// render_body (`Invalid payload: ...`, `Some parameter placeholder not filled in payload: ...`, 500
// `Infinite loop in property interpolation ...`); `unsupported http method`; `Unsupported charset: <c>`;
// `Content length is 0. Aborting request to remote model` (POST with an empty body); `Encountered error
// when trying to create uri from endpoint in ml connector. Please update the endpoint in connection
// configuration: ` (not an absolute URI with a host) / `Protocol is not http or https: <scheme>`; header
// errors of render_header / check_total_header_size; `Invalid JSON path: <filter>`.
result<predict_plan> plan_predict(
    const compiled_connector& connector, const predict_request& request, predict_options options = {}
);

// Whether plan_predict may run a Painless pre_process_function for this request, so the caller can run it
// away from an I/O thread; the post-process side is `plan.post_script`. Conservative: true for any
// pre_process_function that is not a built-in name, on the inputs that run scripts.
bool plan_may_run_script(const compiled_connector& connector, const predict_request& request);

// ---------------------------------------------------------------------------------------------------
// Response shaping

// One upstream answer → {"output":[tensor...],"status_code":<status>} ("output" omitted when empty), or:
//  - status outside 200..300 → errc::upstream_status with error::status = `status` and
//    `Error from remote service: <body>`, or `Remote service returned error status <status> with empty
//    body` when the body is blank;
//  - blank 2xx body → 502 bad_gateway `Remote service returned empty response body`;
//  - body longer than max_json_size bytes (when max_json_size >= 0) → 400
//    `JSON string size exceeds maximum allowed size (<max_json_size> bytes)`;
//  - not JSON → 400 `Invalid JSON format: <parser message>`; JSON scalar without filter → 400
//    `Unsupported response type`; post-process validation errors → 400 with the §8.1 texts.
// Tensors: built-in embedding functions give `{"name":"sentence_embedding","data_type":"FLOAT32",
// "shape":[n],"data":[...]}` (one per embedding; rerank: `similarity`); otherwise one
// `{"name":"response","dataAsMap":{...}}` where an object becomes dataAsMap itself and anything else is
// wrapped as {"response": v}. Upstream numbers keep their Boost.JSON kind (int64/uint64/double).
// The element is built in `sp` (an arena must outlive it).
// REQUIRES: call_index < plan.calls.size() (the plan's calls may have been moved from).
result<boost::json::object> finish_call(
    const predict_plan& plan,
    std::size_t call_index,
    unsigned status,
    std::string_view body,
    long long max_json_size,
    boost::json::storage_ptr sp = {}
);

// Appends the compact JSON of finish_call's element (byte for byte what append_compact_json prints for
// it) or returns finish_call's error, leaving `out` as it was. A 2xx object answer with no post-process
// function or response filter is rewritten from its text without a tree.
result<void> append_call_element(
    std::string& out,
    const predict_plan& plan,
    std::size_t call_index,
    unsigned status,
    std::string_view body,
    long long max_json_size
);

// The answer to an error status that AWS marks as throttling (`x-amzn-ErrorType: ThrottlingException...`):
// ml-commons' RemoteConnectorThrottlingException, with the upstream status.
error remote_throttled(unsigned status);

// {"inference_results":[elements...]} is printed as open + elements joined by ',' + close.
inline constexpr std::string_view inference_results_open = R"({"inference_results":[)";
inline constexpr std::string_view inference_results_close = "]}";

}  // namespace modelrelay::registry
