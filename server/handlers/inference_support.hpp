// File: inference_support.hpp
// What the Elasticsearch `_inference` handlers share: the Elasticsearch flavour of responses (every one
// carries `X-Elastic-Product: Elasticsearch`, which @elastic/elasticsearch checks on each 2xx, clients.md
// §0.1; errors may carry `caused_by`; SSE error events), the `timeout` parameter, and one upstream exchange
// for an endpoint under the same trusted-endpoint regex and SSRF guard as predict (server/outbound.hpp).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include "registry/error.hpp"
#include "registry/inference_call.hpp"
#include "registry/settings.hpp"
#include "server/router.hpp"
#include "server/upstream/client.hpp"

namespace modelrelay::server::handlers::es {

inline constexpr std::string_view product_header = "X-Elastic-Product";
inline constexpr std::string_view product_name = "Elasticsearch";

http_response ok(const request_context& ctx, const boost::json::value& body);
// A body already serialised (text_embedding vectors are printed by hand).
http_response ok_text(const request_context& ctx, std::string body);
// The Elasticsearch error envelope; with `caused_by`, the cause is also the root cause (as in Elasticsearch,
// whose root_cause is the deepest exception).
http_response fail(
    const request_context& ctx, const registry::error& e, const registry::error* caused_by = nullptr
);
std::string error_json(const registry::error& e, const registry::error* caused_by = nullptr);

// `event: message` / `event: error` frames (clients.md §1.4; the optional BOM is left out).
std::string message_frame(std::string_view data);
std::string done_frame();
std::string error_frame(const registry::error& e);
// A failure before the first event: the error event alone, with the error's HTTP status and the SSE type.
http_response sse_fail(const request_context& ctx, const registry::error& e);

// The `{task_type}` path segment, when the route has one.
std::optional<std::string_view> url_task(const request_context& ctx);

// Elasticsearch's `?timeout=` (TimeValue: `30s`, `500ms`, `2m`, `-1` = none); `def` when absent.
registry::result<std::chrono::milliseconds> timeout_param(
    const request_context& ctx, std::chrono::milliseconds def
);

// Elasticsearch's TimeValue.toString(): the largest unit that fits, one fraction digit at most ("30s",
// "1.5m", "1ms").
std::string time_value_text(std::chrono::milliseconds duration);

// The x-ratelimit-* headers of an upstream answer, as upstream_failure quotes them on a 429.
registry::inference::rate_limit_headers rate_limits_of(const upstream::header_list& headers);

// One buffered upstream exchange for an endpoint: the remote-inference switch (cluster_settings::
// remote_inference_refusal), the trusted-endpoint regex on the URL, then the SSRF guard
// on every address. The call's headers (the api_key) are wiped when it returns. A non-2xx status is a result;
// an expired `timeout` is Elasticsearch's 408 status_exception `Request timed out after [<t>]`.
boost::asio::awaitable<registry::result<upstream::response>> send_call(
    request_context& ctx,
    const registry::cluster_settings& settings,
    registry::inference::upstream_call call,
    std::chrono::milliseconds timeout
);

}  // namespace modelrelay::server::handlers::es
