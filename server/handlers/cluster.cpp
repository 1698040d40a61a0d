// File: cluster.cpp
// GET /, GET /_cluster/health and _cluster/settings: the OpenSearch surface tools probe before anything else.
#include <initializer_list>
#include <optional>
#include <string_view>

#include "registry/setting_value.hpp"
#include "schemas/validate.hpp"
#include "server/app.hpp"
#include "server/handlers/handlers.hpp"

namespace modelrelay::server::handlers {

namespace json = boost::json;

awaitable<http_response> handle_root(request_context& ctx) {
    const auto& cfg = ctx.app.cfg;
    json::object version{
        {"distribution", "opensearch"},
        {"number", "3.3.0"},
        {"build_type", "modelrelay"},
        {"build_hash", "modelrelay-" MODELRELAY_VERSION},
        {"build_date", "2026-01-01T00:00:00.000Z"},
        {"build_snapshot", false},
        {"lucene_version", "10.3.1"},
        {"minimum_wire_compatibility_version", "2.19.0"},
        {"minimum_index_compatibility_version", "2.0.0"},
    };
    auto res =
        ok(ctx,
           json::object{
               {"name", cfg.node_name},
               {"cluster_name", cfg.cluster_name},
               {"cluster_uuid", ctx.app.cluster_uuid},
               {"version", std::move(version)},
               {"tagline", "The OpenSearch Project: https://opensearch.org/"},
           });
    // Elasticsearch clients refuse any answer without it (clients.md §0).
    res.set("X-Elastic-Product", "Elasticsearch");
    co_return res;
}

// OpenSearch Dashboards reads the `component` values to decide which plugin screens to show for a data
// source (clients.md §2.5); the ML screens need `opensearch-ml`.
awaitable<http_response> handle_cat_plugins(request_context& ctx) {
    const std::string_view node = ctx.app.cfg.node_name;
    constexpr std::string_view component = "opensearch-ml";
    constexpr std::string_view version = "3.3.0.0";
    const auto format = ctx.query_param("format");
    if (format && (*format == "json" || *format == "JSON")) {
        co_return ok(
            ctx, json::array{json::object{{"name", node}, {"component", component}, {"version", version}}}
        );
    }
    // The text table: columns padded to their widest cell, a header row only with `v`.
    const std::size_t w0 = std::max<std::size_t>(node.size(), 4);
    const std::size_t w1 = component.size();
    std::string text;
    const auto row = [&](std::string_view a, std::string_view b, std::string_view c) {
        text.append(a).append(w0 - a.size() + 1, ' ').append(b).append(w1 - b.size() + 1, ' ').append(c);
        text.push_back('\n');
    };
    if (ctx.query_flag("v")) {
        row("name", "component", "version");
    }
    row(node, component, version);
    http_response res{http::status::ok, 11};
    res.set(http::field::content_type, "text/plain; charset=UTF-8");
    res.body() = std::move(text);
    res.prepare_payload();
    co_return res;
}

awaitable<http_response> handle_cluster_health(request_context& ctx) {
    co_return ok(
        ctx,
        json::object{
            {"cluster_name", ctx.app.cfg.cluster_name},
            {"status", "green"},
            {"timed_out", false},
            {"number_of_nodes", 1},
            {"number_of_data_nodes", 1},
            {"discovered_master", true},
            {"discovered_cluster_manager", true},
            {"active_primary_shards", 0},
            {"active_shards", 0},
            {"relocating_shards", 0},
            {"initializing_shards", 0},
            {"unassigned_shards", 0},
            {"delayed_unassigned_shards", 0},
            {"number_of_pending_tasks", 0},
            {"number_of_in_flight_fetch", 0},
            {"task_max_waiting_in_queue_millis", 0},
            {"active_shards_percent_as_number", 100.0},
        }
    );
}

namespace {

// RestRequest.paramAsTime of each of `names` that the request gives (its value is not used: one node
// answers at once).
std::optional<registry::error> check_time_params(
    const request_context& ctx, std::initializer_list<std::string_view> names
) {
    for (std::string_view name : names) {
        if (const auto v = ctx.query_param(name)) {
            if (auto r = registry::check_time_value(*v, name); !r) {
                return r.error();
            }
        }
    }
    return std::nullopt;
}

// BaseRestHandler.parseDeprecatedMasterTimeoutParameter: the deprecated name may not come with the new one;
// it runs after cluster_manager_timeout is read and before master_timeout's value is.
std::optional<registry::error> check_cluster_manager_timeouts(const request_context& ctx, bool with_timeout) {
    if (with_timeout) {
        if (auto bad = check_time_params(ctx, {"timeout"})) {
            return bad;
        }
    }
    if (auto bad = check_time_params(ctx, {"cluster_manager_timeout"})) {
        return bad;
    }
    if (ctx.query_param("master_timeout") && ctx.query_param("cluster_manager_timeout")) {
        return registry::make_error(
            registry::errc::parse_failed,
            "Please only use one of the request parameters [master_timeout, cluster_manager_timeout]."
        );
    }
    return check_time_params(ctx, {"master_timeout"});
}

}  // namespace

awaitable<http_response> handle_cluster_settings_get(request_context& ctx) {
    // RestClusterGetSettingsAction's order: include_defaults, local, the timeouts; flat_settings when the
    // answer is written.
    const auto defaults = ctx.query_bool("include_defaults");
    if (!defaults) {
        co_return fail(ctx, defaults.error());
    }
    if (const auto local = ctx.query_bool("local"); !local) {
        co_return fail(ctx, local.error());
    }
    if (auto bad = check_cluster_manager_timeouts(ctx, false)) {
        co_return fail(ctx, *bad);
    }
    const auto flat = ctx.query_bool("flat_settings");
    if (!flat) {
        co_return fail(ctx, flat.error());
    }
    const auto snap = ctx.app.registry->current();
    co_return ok(ctx, snap->settings->render(*flat, *defaults));
}

awaitable<http_response> handle_cluster_settings_put(request_context& ctx) {
    const auto flat = ctx.query_bool("flat_settings");
    if (!flat) {
        co_return fail(ctx, flat.error());
    }
    if (auto bad = check_cluster_manager_timeouts(ctx, true)) {
        co_return fail(ctx, *bad);
    }
    auto body = parse_body(ctx);
    if (!body) {
        co_return fail(ctx, body.error());
    }
    if (!body->is_null() && !body->is_object()) {
        // RestClusterUpdateSettingsAction reads the body with parser.map(), which finds no fields in an
        // array or a scalar: the request then has no settings to update.
        *body = json::object();
    }
    if (!body->is_null()) {
        if (auto v = schemas::validate(schemas::schema_id::cluster_settings_put, *body); !v) {
            co_return fail(ctx, v.error());
        }
    }
    auto& reg = *ctx.app.registry;
    // The audit line names the keys that were set (values can be long regex lists; none is a secret).
    std::string keys;
    if (body->is_object()) {
        for (const auto& scope : body->get_object()) {
            if (const auto* o = scope.value().if_object()) {
                for (const auto& kv : *o) {
                    keys.append(keys.empty() ? "" : ",").append(scope.key()).append(":").append(kv.key());
                }
            }
        }
    }
    auto op = [&reg, b = std::move(*body), flat = *flat] {
        return reg.put_settings(b, flat);
    };
    auto res = co_await store_write(ctx, std::move(op));
    if (res.result_int() == 200) {
        audit_change(ctx, "cluster:admin/settings/update", keys);
    }
    co_return res;
}

}  // namespace modelrelay::server::handlers
