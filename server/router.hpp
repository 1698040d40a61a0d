// File: router.hpp
// The static route table: {verb, pattern, handler, accepted query parameters}. Dispatch tells "no handler"
// (400) apart from "wrong method" (405) exactly like OpenSearch's RestController, and rejects unknown query
// parameters with OpenSearch's "contains unrecognized parameter" error before any handler runs.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

#include "registry/authz.hpp"
#include "registry/caller.hpp"
#include "server/response.hpp"

namespace modelrelay::server {

struct app;
struct peer_info;
struct request_context;
class response_stream;
namespace upstream {
class caller_watch;
}

using http_request = http::request<http::string_body>;
using handler_fn = boost::asio::awaitable<http_response> (*)(request_context&);

// A route's `params` that accepts every query parameter: OpenAI-compatible servers ignore the ones they do
// not know (Azure-style clients send `api-version`, the SDKs' `defaultQuery` anything).
inline constexpr std::string_view any_params = "*";

struct route {
    http::verb verb;
    std::string_view pattern;  // "/_plugins/_ml/connectors/{connector_id}"
    handler_fn handler;
    std::string_view params;  // accepted query parameters, comma separated
    // The route's action name (registry::action_for_route), looked up once by the router, not per request.
    std::optional<registry::action> action = std::nullopt;
    // The handler never reads a body, so a request with one is refused (all_routes() sets it).
    bool refuses_body = false;
};

// Everything a handler needs about the request. Views point into the request, which outlives the handler.
// The `{}` let a session or test name only the members it sets without -Wmissing-field-initializers.
struct request_context {
    server::app& app;
    const http_request& req;
    std::string_view path{};  // decoded path, no query
    // The path as sent (escapes kept), which routes are matched on, as OpenSearch's RestController does:
    // `%2F` in an id stays inside its segment. Empty means the same as `path`.
    std::string_view raw_path{};
    std::vector<std::pair<std::string, std::string>> query{};  // decoded query parameters
    std::array<std::pair<std::string_view, std::string>, 3> route_params{};
    bool pretty = false;
    response_stream* stream = nullptr;  // set by the session; used by streaming handlers
    bool streamed = false;              // a handler that wrote through `stream` sets this
    registry::caller who{};             // resolved once before the handler on ml-commons routes (session.cpp)
    const peer_info* peer = nullptr;    // the connection's remote end (never null once the session runs)
    // The client, watched while an upstream call waits (server/disconnect_watch.hpp): handlers put it
    // into every upstream::request they send, so a client that leaves drops the call. Null: nobody to watch.
    upstream::caller_watch* caller = nullptr;

    // A path parameter by name ("" when absent).
    std::string_view param(std::string_view name) const;
    // A query parameter by name.
    std::optional<std::string_view> query_param(std::string_view name) const;
    // A boolean query parameter: absent → def; "" or "true" → true; "false" → false.
    bool query_flag(std::string_view name, bool def = false) const;
    // OpenSearch's RestRequest.paramAsBoolean: absent → `def`, empty (`?deploy`) → true, `true` / `false`,
    // anything else → 400 `Failed to parse value [<v>] as only [true] or [false] are allowed.`
    registry::result<bool> query_bool(std::string_view name, bool def = false) const;
};

struct dispatch_result {
    const route* matched = nullptr;  // null when the response below is final
    std::optional<http_response> early;
    // A route has the path and method, though `early` refuses its parameters: checks OpenSearch makes
    // once a handler is found, before the handler reads its parameters (the 406), come first.
    bool handler_found = false;
};

class router {
public:
    explicit router(std::vector<route> routes);

    // Matches ctx.path and verb; fills ctx.route_params. Returns the route or the routing error response.
    dispatch_result match(request_context& ctx) const;

private:
    struct compiled_route {
        route r;
        std::vector<std::string_view> segments;  // "{x}" marks a parameter
    };
    // The routes of one length with their rightmost literal segment: a path is compared in full only with
    // the routes whose rightmost literal it has at that position (a _predict path with 1 of the 25
    // five-segment routes; 20 of them end in a parameter, so the last segment alone does not narrow it).
    // A scan with a length check first is cheaper here than hashing every segment of the path.
    struct keyed_route {
        std::size_t position;
        std::string_view literal;
        std::size_t index;
    };
    struct length_index {
        std::vector<keyed_route> keyed;       // table order
        std::vector<std::size_t> all_params;  // routes without a literal segment (also "/")
    };
    std::vector<compiled_route> routes_;
    std::vector<length_index> by_length_;
};

// Whether java.net.URI parses a request target: RFC 2396 characters, non-ASCII bytes and well-formed
// escapes; spaces, controls and `"<>\\^`{|}[]` are refused.
bool java_uri_accepts(std::string_view target);

// Whether a media type (without parameters, compared without regard to case) is one of the JSON types the
// REST layer reads: application/json, the OpenSearch and Elasticsearch vendor types, application/x-ndjson.
bool is_json_media_type(std::string_view media);

// Splits "a%20b/c" style paths; returns false on bad percent-encoding. Beyond RFC 3986 it takes what
// OpenSearch takes (`<`, `{`, `|`, `"`, non-ASCII bytes): only controls, spaces and bad escapes fail.
bool decode_target(
    std::string_view target, std::string& path, std::vector<std::pair<std::string, std::string>>& query
);

}  // namespace modelrelay::server
