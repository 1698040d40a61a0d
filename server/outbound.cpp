// File: outbound.cpp
#include "server/outbound.hpp"

#include <chrono>
#include <cstdint>
#include <string_view>

#include "server/app.hpp"

namespace modelrelay::server {

namespace json = boost::json;

upstream::client_options options_of(const json::object& cc, long long max_json_size) {
    upstream::client_options o;
    // One pass over the small canonical object: six lookups by key were 1 % of a _predict's instructions.
    for (const auto& kv : cc) {
        const std::string_view key = kv.key();
        const json::value& v = kv.value();
        if (key == "retry_backoff_policy") {
            if (v.is_string()) {
                if (auto policy = upstream::parse_backoff_policy(v.get_string())) {
                    o.retry_backoff_policy = *policy;
                }
            }
        } else if (key == "skip_ssl_verification") {
            if (v.is_bool()) {
                o.skip_ssl_verification = v.get_bool();
            }
        } else if (v.is_number()) {
            const auto n = v.to_number<std::int64_t>();
            if (key == "max_connection") {
                o.max_connection = static_cast<int>(n);
            } else if (key == "connection_timeout") {
                o.connect_timeout = std::chrono::seconds(n);
            } else if (key == "read_timeout") {
                o.read_timeout = std::chrono::seconds(n);
            } else if (key == "max_retry_times") {
                o.max_retry_times = static_cast<int>(n);
            } else if (key == "retry_backoff_millis") {
                o.retry_backoff = std::chrono::milliseconds(n);
            } else if (key == "retry_timeout_seconds") {
                o.retry_timeout = std::chrono::seconds(n);
            }
        }
    }
    o.max_response_bytes = max_json_size < 0 ? 0 : static_cast<std::size_t>(max_json_size);
    // The whole-call bound (a modelrelay extension against an upstream that trickles forever) never cuts
    // a call the connector's own timeouts allow: a slow local model given read_timeout 900 gets its 900 s.
    o.total_timeout =
        std::max<std::chrono::milliseconds>(o.total_timeout, o.connect_timeout + 2 * o.read_timeout);
    return o;
}

upstream::client_options options_of(
    const registry::compiled_connector& connector, long long max_json_size, std::string_view model_id
) {
    auto o = options_of(connector.client_config, max_json_size);
    o.pool_scope = std::hash<std::string_view>{}(model_id);
    // The server's factory (upstream::make_tls_context_factory) is the only producer of these contexts.
    o.tls = std::dynamic_pointer_cast<const upstream::tls_identity>(connector.tls);
    return o;
}

upstream::guard_policy guard_of(
    const app& a, const registry::cluster_settings& settings, std::string_view tenant
) {
    upstream::guard_policy guard;
    guard.private_ip_enabled = settings.private_ip_enabled_for(tenant);
    // Only with patterns configured: the check needs the address as text, and formatting it twice per
    // call showed in the predict profile.
    if (settings.has_restricted_ips()) {
        guard.is_restricted_ip = [&settings](std::string_view ip) {
            return settings.is_restricted_ip(ip);
        };
    }
    if (settings.has_trusted_private_endpoints()) {
        guard.private_endpoint_trusted = [&settings](std::string_view url) {
            return static_cast<bool>(settings.check_trusted_private_endpoint(url));
        };
    }
    guard.self_endpoints = a.self_endpoints;
    return guard;
}

upstream::request to_request(registry::upstream_call& call) {
    upstream::request req;
    req.method = boost::beast::http::string_to_verb(call.method);
    req.url = std::move(call.url);
    req.headers = std::move(call.headers);
    req.body = std::move(call.body);
    req.aws = std::move(call.aws);
    req.secrets = std::move(call.secrets);
    return req;
}

}  // namespace modelrelay::server
