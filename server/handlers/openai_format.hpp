// File: openai_format.hpp
// The OpenAI wire format of the `/v1` front door as pure functions (no I/O, unit-tested): error bodies,
// the chat.completion / chat.completion.chunk shapes that Kibana's OpenAI connector and the openai SDK
// accept (spec clients.md §0.4, §2.3, §3.3), embedding vectors found in whatever an ml-commons embedding
// connector answers, and base64 little-endian float32 encoding.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "registry/error.hpp"
#include "registry/parameters.hpp"
#include "server/sse_relay.hpp"

namespace modelrelay::server::openai {

// ---------------------------------------------------------------------------------------------------
// Errors: {"error":{"message","type","param","code"}}

struct api_error {
    unsigned status = 500;
    std::string message;
    std::string type = "server_error";
    std::optional<std::string> param;
    std::optional<std::string> code;
    // Response headers to send with it (the upstream's `retry-after` / `retry-after-ms`).
    std::vector<std::pair<std::string, std::string>> headers{};
};

// A modelrelay / ml-commons error → OpenAI status and type: 400 invalid_request_error, 401
// authentication_error, 403 permission_error, 404 not_found_error, 429 rate_limit_error
// (code rate_limit_exceeded), 5xx server_error. Failures to reach the upstream (`Error communicating with
// remote model: ...`) and upstream 5xx answers become 502.
api_error from_error(const registry::error& e);

// An upstream 2xx answer that could not be read (`Invalid JSON format: ...`, `Unsupported response type`,
// a response_filter or built-in post-process path that finds nothing, the model interface's output
// schema): 502 server_error with ml-commons' text. The client's request was fine, so a 400 would tell the
// SDKs not to retry and to blame the caller.
api_error from_broken_answer(const registry::error& e);

// An upstream non-2xx answer. When its body is an OpenAI error object, its message, type, param and code
// are kept; otherwise the message is ml-commons' `Error from remote service: <body>`. 4xx statuses pass
// through, 5xx become 502 (the failing server is the upstream, not modelrelay).
api_error from_upstream(unsigned status, std::string_view body);

boost::json::object error_body(const api_error& e);

// The error as one SSE frame, `data: {"error":{...}}` (the openai SDK and Kibana throw on it).
std::string error_frame(const api_error& e);

// ---------------------------------------------------------------------------------------------------
// Chat completions

struct reply_defaults {
    std::string id;            // used when the upstream gave none: "chatcmpl-<random>"
    std::int64_t created = 0;  // seconds since the epoch
    std::string model;         // the model the client asked for
};

// `{"prompt_tokens":p,"completion_tokens":c,"total_tokens":t}` with every missing or non-integer member
// 0 (total_tokens defaults to p + c).
boost::json::object complete_usage(const boost::json::value* usage, boost::json::storage_ptr sp = {});

// The non-stream reply from the model's predict output (the `dataAsMap` of its response tensor, or the
// wrapped value). An OpenAI chat.completion passes through with `object`, `id`, `created`, `model`,
// `choices[].message.role` and a complete `usage` filled in when missing; anything else becomes the
// assistant message content: `{"response": "<text>"}` or `{"message":{"content": "<text>"}}` give the
// text, other JSON is serialised.
// `raw_answer`, the upstream's answer as it came, gives the token counts when the shaped value has no
// `usage` (a response_filter kept only the text, or the upstream names them otherwise: chat_usage_of).
boost::json::object chat_completion(
    boost::json::value upstream, const reply_defaults& d, std::string_view raw_answer = {}
);

// The token counts of an upstream chat answer as OpenAI's complete `usage`: OpenAI's `usage`, Anthropic's
// `usage.input_tokens` / `output_tokens`, Bedrock Converse's `usage.inputTokens` / `outputTokens` /
// `totalTokens`, Ollama's native `prompt_eval_count` / `eval_count`, Cohere's `meta.billed_units`,
// Gemini's `usageMetadata`; nullopt when the answer has none of them.
std::optional<boost::json::object> chat_usage_of(std::string_view answer);

// Turns the upstream's OpenAI chunk stream into the client's, one upstream event at a time.
//  - `[DONE]` ends the answer; the closing frames are the usage chunk (when include_usage and the upstream
//    sent none: zeros) and `data: [DONE]`;
//  - every chunk gets `"object":"chat.completion.chunk"` (Kibana drops chunks without it) and the
//    defaults for a missing id / created / model;
//  - usage: relayed when include_usage, else removed (a usage-only chunk is dropped);
//  - an event with an `error` member is relayed as an OpenAI error frame and ends the stream;
//  - anything that is not a JSON object with `choices` or `usage` is skipped.
class chunk_relay {
public:
    chunk_relay(reply_defaults d, bool include_usage) : d_(std::move(d)), include_usage_(include_usage) {}

    // A chunk that chunk_passes_through (openai_passthrough.hpp) goes out as the upstream wrote it;
    // any other through on_event_tree.
    relay_step on_event(std::string_view data, std::string& out);
    // Every event through its tree: the reference on_event must agree with.
    relay_step on_event_tree(std::string_view data, std::string& out);
    void on_finish(std::string& out);
    // The upstream answered with one JSON chat.completion instead of a stream: the same content as chunks.
    relay_step on_completion(std::string_view body, std::string& out);

private:
    // One event's payload (trimmed, not `[DONE]`) through its tree.
    relay_step relay_tree(std::string_view data, std::string& out);
    void add_defaults(boost::json::object& chunk) const;
    reply_defaults d_;
    bool include_usage_;
    bool saw_usage_ = false;
    // While a usage chunk may still have to be added: the last chunk relayed, whose id, created and model
    // the added one repeats (every chunk of an OpenAI stream carries the same ones).
    std::string last_chunk_;
};

// ---------------------------------------------------------------------------------------------------
// Request members an OpenAI chat upstream gets as the client sent them

// The connector side of the decision: what it sends and where.
struct chat_upstream {
    std::string_view url;  // the rendered upstream URL
    // The connector's `_llm_interface` parameter (null when it has none). Not the request's: the stream
    // path sets one itself, and a client does not get to say what the upstream speaks.
    const std::string* llm_interface = nullptr;
    std::string_view request_template;  // the action's request_body source
    // The connector's parameters: a value there may route a member (`"opts": "{\"t\": ${parameters.t}}"`).
    const registry::param_map* connector_parameters = nullptr;
};

// Whether the upstream speaks OpenAI chat completions: the URL's path (query and fragment dropped, one
// trailing `/` ignored) ends with `/chat/completions` (OpenAI, Azure OpenAI deployments, Ollama's, vLLM's
// and llama.cpp's OpenAI routes), or `llm_interface` names `openai/v1/chat/completions`.
bool speaks_openai_chat(std::string_view url, const std::string* llm_interface);

// Whether `text` names the parameter `name` as `${parameters.<name>}`, `${parameters.<name>:-...}` or
// `${parameters.<name>.toString()}`.
bool references_parameter(std::string_view text, std::string_view name);

// Which endpoint the request came through: the legacy one has members of its own, and embeddings pass
// on only `dimensions` and `user` (the members OpenAI's embeddings API has besides the input).
enum class chat_door { chat, legacy_completions, embeddings };

// Whether the upstream speaks OpenAI embeddings: the URL's path (query and fragment dropped, one trailing
// `/` ignored) ends with `/embeddings` (OpenAI, Azure OpenAI deployments, Ollama's, vLLM's and
// llama.cpp's OpenAI routes).
bool speaks_openai_embeddings(std::string_view url);

// Adds to the rendered upstream `body` the members of the client's chat `request` (the predict
// parameters the body members became) that its template would otherwise drop, so `temperature`, `top_p`,
// `max_tokens`, `stop`, `seed`, `tools`, `response_format`, ... reach an OpenAI-compatible upstream even
// through the blueprint template `{"model": ..., "messages": ${parameters.messages}}`. A member is added
// when all of these hold:
//  - the upstream speaks_openai_chat (for the embeddings door: speaks_openai_embeddings, and the member is
//    `dimensions` or `user`) and `body` is one JSON object;
//  - it is not `model`, `stream`, `stream_options`, `prompt` or `_llm_interface` (handled by the door or
//    set by it), nor, from the legacy endpoint, `echo`, `suffix`, `best_of` or `logprobs` (no chat
//    meaning, or another one: chat's `logprobs` is a boolean), and its value is not null;
//  - neither the template nor a connector parameter references it (references_parameter): a template
//    that puts `temperature` elsewhere (Ollama's native `options.temperature`) keeps control of it;
//  - `body` has no top-level member of that name: a hard-coded `"temperature": 0` stays.
// Added members go at the end of the top-level object as `"name":<value>` (compact, doubles printed
// plainly), the body's own text untouched. Returns whether anything was added. Without a candidate member
// (the usual request of `model` and `messages`), `body` is not parsed.
bool add_request_members(
    std::string& body, const boost::json::object& request, const chat_upstream& up, chat_door door
);

// ---------------------------------------------------------------------------------------------------
// Legacy completions (/v1/completions), served by the same models as chat

// A text completion's id from its chat answer's: `chatcmpl-x` becomes `cmpl-x` (OpenAI and Ollama name
// text completions `cmpl-`); any other id is kept.
std::string legacy_completion_id(std::string_view chat_id);

// The non-stream reply as a `text_completion`: chat_completion's answer with each choice turned into
// `{"text","index","logprobs","finish_reason"}` and its id through legacy_completion_id. The text is the
// choice's own `text` (an upstream that is itself a completions server), else its message's string
// content, else "".
boost::json::object text_completion(
    boost::json::value upstream, const reply_defaults& d, std::string_view raw_answer = {}
);

// chunk_relay's output (SSE frames of chat.completion.chunk) as the legacy stream: each chunk becomes a
// `text_completion` chunk (id through legacy_completion_id) with `choices[].text` from `delta.content`
// (`logprobs` null); a chunk that carries neither text, nor a finish_reason, nor usage (the role-only
// first chunk) is dropped; error frames and `[DONE]` pass as they are.
std::string text_completion_frames(std::string_view chat_frames);

// ---------------------------------------------------------------------------------------------------
// Embeddings

struct embedding_batch {
    std::vector<std::vector<double>> vectors;
    std::int64_t prompt_tokens = 0;
    std::int64_t total_tokens = 0;
};

// The vectors in one predict `inference_results` element, in order: `sentence_embedding` tensors (built-in
// post-process functions), or inside a `dataAsMap`: OpenAI `data[].embedding` (sorted by `index`; base64
// strings decoded), `embeddings` (arrays, or `{"float":[...]}`), a single `embedding`, or `response`
// (what a response_filter extracted). Usage from `usage.prompt_tokens` / `usage.total_tokens`.
// 502 bad_gateway `The model's answer contains no embeddings` when nothing fits.
registry::result<embedding_batch> embeddings_of(const boost::json::object& element);

struct embedding_usage {
    std::int64_t prompt_tokens = 0;
    std::int64_t total_tokens = 0;
};

// `usage` of one upstream embedding answer as the upstream wrote it (a built-in post-process function
// keeps only the vectors): `prompt_tokens`, and `total_tokens` (prompt_tokens when missing); nullopt when
// the answer has no `usage` object with either.
std::optional<embedding_usage> embedding_usage_of(std::string_view answer);

// What the raw upstream embedding answer says that a built-in post-process function drops, from one
// parse: its usage (as embedding_usage_of), and where each vector belongs: `data[k].index` for every k,
// when `data` holds objects whose integer `index` members are a permutation of 0..n-1, else empty
// (OpenAI documents no order, only the index).
struct raw_embedding_facts {
    std::optional<embedding_usage> usage;
    std::vector<std::size_t> order;
};
raw_embedding_facts raw_embedding_facts_of(std::string_view answer);

// The vector as little-endian IEEE-754 float32 bytes, base64 (what `encoding_format:"base64"` means).
std::string base64_float32(const std::vector<double>& v);
// The inverse; nullopt for invalid base64 or a length that is not a multiple of 4.
std::optional<std::vector<double>> decode_base64_float32(std::string_view b64);

}  // namespace modelrelay::server::openai
