// File: key_scope.hpp
// What an API key restricts on the routes that call models (security.md R12, R16, R17): `/v1`, `_inference`
// and the ml-commons `_predict` routes ask here, after parsing the request and before any upstream call,
// whether the key may see the model and whether its limits admit one more call. Keys are looked up in the
// current identity state by the id authentication put on the principal.
//
// The allow-list rule (R16): a key created without a `modelrelay` object is a plain Elasticsearch API key
// and acts with its owner's privileges, so every model. A key with the object may call only the models its
// `models` list names: ["*"] means every model, an empty or absent list means none. (POST /_security/api_key
// gives a key without the object of a tenant-bound owner the object with ["*"], which is the same thing.)
// An entry names a model by id or by name, an inference endpoint by id. A model outside the list is
// answered exactly like a model that does not exist, so the list is never disclosed.
//
// Typical use in a handler:
//   const auto key = key_of(ctx);
//   if (!key_allows(key, model_id, model_name)) co_return <the door's not-found>;
//   auto admitted = admit_key(ctx, key, key_door::openai, estimate);
//   if (auto* refused = std::get_if<http_response>(&admitted)) co_return std::move(*refused);
//   auto& permit = std::get<key_permit>(admitted);
//   ... upstream call; permit.add_usage(tokens); permit.set_succeeded(); ...
//   permit.finish(); permit.add_headers(res);   // or let the destructor finish (errors, streams)
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "registry/error.hpp"
#include "registry/identity.hpp"
#include "registry/key_limiter.hpp"
#include "server/router.hpp"

namespace modelrelay::server {
class key_gate;
}

namespace modelrelay::server::handlers {

// The API key a request authenticated with; empty when security is off or no key was used.
struct request_key {
    std::shared_ptr<const registry::identity_state> identity;  // keeps *key alive
    const registry::api_key* key = nullptr;
    explicit operator bool() const { return key != nullptr; }
};
request_key key_of(const request_context& ctx);

// R16 (rule above). Always true without a key.
bool key_allows(const request_key& k, std::string_view id, std::string_view name = {});

// Which envelope a refusal uses.
enum class key_door { openai, inference, inference_stream, ml };

// One admitted call of a limited key. Move-only; finishing (explicitly or on destruction: errors, the end or
// cancellation of a stream) frees the parallel slot and charges the tokens. An empty permit (no key, or a
// key without limits) does nothing.
class key_permit {
public:
    key_permit() = default;
    key_permit(key_permit&& o) noexcept { *this = std::move(o); }
    key_permit& operator=(key_permit&& o) noexcept;
    key_permit(const key_permit&) = delete;
    key_permit& operator=(const key_permit&) = delete;
    ~key_permit() { finish(); }

    // Is the upstream's `usage` worth reading (the key has a tpm or a budget)?
    bool counts_tokens() const;
    // Usage of one more upstream call (embeddings in several calls add up).
    void add_usage(std::int64_t total_tokens);
    // The latest usage a stream reported (providers may repeat a running total).
    void set_usage(std::int64_t total_tokens);
    // The upstream answered 2xx.
    void set_succeeded() { succeeded_ = true; }
    void finish();

    // x-ratelimit-{limit,remaining}-{requests,tokens} as of now (after finish(): including the charge);
    // empty for a key with neither rpm nor tpm.
    std::vector<std::pair<std::string, std::string>> headers() const;
    void add_headers(http_response& res) const;

private:
    friend std::variant<key_permit, http_response> admit_key(
        request_context& ctx, const request_key& k, key_door door, std::int64_t estimated_tokens
    );

    key_gate* gate_ = nullptr;
    std::string key_id_;
    registry::key_limits limits_;
    std::int64_t created_ms_ = 0;
    std::int64_t estimate_ = 0;
    std::optional<std::int64_t> used_;
    bool succeeded_ = false;
    bool finished_ = true;
    registry::key_rate_state rate_;
};

// R17: admits one call of the key or answers 429 in the door's envelope with Retry-After and the
// x-ratelimit-* headers: /v1 `rate_limit_exceeded` (rpm, tpm, parallel) or `insufficient_quota` (budget);
// _inference an Elasticsearch 429 status_exception (an SSE error event on stream routes); ml-commons routes
// `Request is throttled at user level. ...` (ml-commons.md §8.2). Call it before the upstream call and after
// the allow-list check.
std::variant<key_permit, http_response> admit_key(
    request_context& ctx, const request_key& k, key_door door, std::int64_t estimated_tokens
);

// The name of the caller's model `model_id` ("" when there is none), for key_allows on ml-commons routes.
std::string model_name_of(const request_context& ctx, std::string_view model_id);

// Adds `"stream_options":{"include_usage":true}` to a JSON-object upstream body that has none: the stream
// then ends with a usage chunk (a client that asked for usage, or a key charged by tokens).
void add_stream_usage_option(std::string& body);

// The prompt-token estimate of a request body (registry::estimate_prompt_tokens); 0 when `k` is empty, so
// callers without a key pay nothing.
std::int64_t key_estimate(const request_key& k, const boost::json::value& body);
std::int64_t key_estimate(const request_key& k, const boost::json::object& body);

}  // namespace modelrelay::server::handlers
