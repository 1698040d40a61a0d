// File: outbound.cpp
#include "server/outbound.hpp"

#include <chrono>
#include <cstdint>
#include <string_view>

#include "server/app.hpp"

namespace modelrelay::server {

namespace json = boost::json;

namespace {

std::int64_t int_of(const json::object& o, std::string_view key, std::int64_t def) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_number() ? v->to_number<std::int64_t>() : def;
}

}  // namespace

upstream::client_options options_of(const json::object& cc, long long max_json_size) {
    upstream::client_options o;
    o.max_connection = static_cast<int>(int_of(cc, "max_connection", 30));
    o.connect_timeout = std::chrono::seconds(int_of(cc, "connection_timeout", 30));
    o.read_timeout = std::chrono::seconds(int_of(cc, "read_timeout", 30));
    o.max_retry_times = static_cast<int>(int_of(cc, "max_retry_times", 0));
    o.retry_backoff = std::chrono::milliseconds(int_of(cc, "retry_backoff_millis", 200));
    o.retry_timeout = std::chrono::seconds(int_of(cc, "retry_timeout_seconds", 30));
    if (const auto* p = cc.if_contains("retry_backoff_policy"); p != nullptr && p->is_string()) {
        if (auto policy = upstream::parse_backoff_policy(p->get_string())) {
            o.retry_backoff_policy = *policy;
        }
    }
    if (const auto* s = cc.if_contains("skip_ssl_verification"); s != nullptr && s->is_bool()) {
        o.skip_ssl_verification = s->get_bool();
    }
    o.max_response_bytes = max_json_size < 0 ? 0 : static_cast<std::size_t>(max_json_size);
    return o;
}

upstream::client_options options_of(const registry::compiled_connector& connector, long long max_json_size) {
    auto o = options_of(connector.client_config, max_json_size);
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

}  // namespace modelrelay::server
