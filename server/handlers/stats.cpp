// File: stats.cpp
// GET /_plugins/_ml[/{node_id}]/stats[/{stat}] (ml-commons.md §1.6): cluster stats at the top (index
// status and counts) and this node's counters under "nodes" (registry/ml_stats.hpp). `{stat}` is a
// comma-separated, case-insensitive list; an unknown name is ml-commons' 400 `Wrong ML cluster level stat`.
// `{node_id}` is a comma-separated list resolved as OpenSearch's DiscoveryNodes does for the one node
// there is (its id or name, `*` patterns, `_local`, `_all`, `_cluster_manager`, `_master`); when nothing
// names this node, "nodes" is left out, as ml-commons leaves out an empty node list. Under
// multi-tenancy counts and model entries are those of monitoring_tenant (no x-tenant-id required).
#include <algorithm>
#include <array>
#include <fstream>
#include <set>
#include <unistd.h>

#include "registry/ascii.hpp"
#include "registry/ml_stats.hpp"
#include "registry/search_text.hpp"
#include "registry/snapshot.hpp"
#include "server/handlers/handlers.hpp"

namespace modelrelay::server::handlers {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 7> cluster_stats{
    "ml_model_index_status",
    "ml_connector_index_status",
    "ml_config_index_status",
    "ml_task_index_status",
    "ml_controller_index_status",
    "ml_model_count",
    "ml_connector_count",
};
constexpr std::array<std::string_view, 6> node_stats{
    "ml_executing_task_count",
    "ml_request_count",
    "ml_failure_count",
    "ml_deployed_model_count",
    "ml_circuit_breaker_trigger_count",
    "ml_jvm_heap_usage",
};

// There is no JVM: the process's resident memory as a percentage of the machine's, the nearest meaning.
std::int64_t memory_usage_percent() {
    std::ifstream statm("/proc/self/statm");
    long long size = 0;
    long long resident = 0;
    statm >> size >> resident;
    const long pages = sysconf(_SC_PHYS_PAGES);
    return pages > 0 ? resident * 100 / pages : 0;
}

bool names_this_node(std::string_view list, std::string_view id, std::string_view name) {
    while (!list.empty()) {
        const auto comma = list.find(',');
        const auto one = list.substr(0, comma);
        if (one == id || one == "_local" || one == "_all" || one == "_cluster_manager" || one == "_master" ||
            registry::search_detail::wildcard_match(one, id, false) ||
            registry::search_detail::wildcard_match(one, name, false)) {
            return true;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        list.remove_prefix(comma + 1);
    }
    return false;
}

}  // namespace

awaitable<http_response> handle_stats(request_context& ctx) {
    std::set<std::string, std::less<>> wanted;
    std::string_view list = ctx.param("stat");
    while (!list.empty()) {
        const auto comma = list.find(',');
        std::string name = registry::ascii_lower_copy(list.substr(0, comma));
        const bool known =
            std::find(cluster_stats.begin(), cluster_stats.end(), name) != cluster_stats.end() ||
            std::find(node_stats.begin(), node_stats.end(), name) != node_stats.end();
        if (!known) {
            co_return fail(ctx, registry::illegal_argument("Wrong ML cluster level stat"));
        }
        wanted.insert(std::move(name));
        if (comma == std::string_view::npos) {
            break;
        }
        list.remove_prefix(comma + 1);
    }
    const auto pick = [&](std::string_view n) {
        return wanted.empty() || wanted.contains(n);
    };

    const auto snap = ctx.app.registry->current();
    const auto tenant = monitoring_tenant(ctx, snap->settings->multi_tenancy_enabled());
    const auto count = [&](registry::kind k) {
        std::int64_t n = 0;
        snap->of(k).for_each([&](const std::string&, const registry::resource& r) {
            n += !tenant || r.tenant_id == *tenant ? 1 : 0;
        });
        return n;
    };
    const auto status = [&](registry::kind k) {
        return count(k) > 0 ? "green" : "non-existent";
    };

    json::object out;
    bool any_cluster = false;
    bool any_node = false;
    for (auto n : cluster_stats) {
        if (!pick(n)) {
            continue;
        }
        any_cluster = true;
        if (n == "ml_model_index_status") {
            out[n] = status(registry::kind::model);
        } else if (n == "ml_connector_index_status") {
            out[n] = status(registry::kind::connector);
        } else if (n == "ml_config_index_status") {
            out[n] = "green";  // the configuration (settings, keys) always exists
        } else if (n == "ml_task_index_status") {
            out[n] = status(registry::kind::task);
        } else if (n == "ml_controller_index_status") {
            out[n] = status(registry::kind::controller);
        } else if (n == "ml_model_count") {
            out[n] = count(registry::kind::model);
        } else {
            out[n] = count(registry::kind::connector);
        }
    }
    json::object node;
    std::int64_t deployed = 0;
    snap->deployed.for_each([&](const std::string&, const registry::deployed_model& d) {
        deployed += !tenant || d.tenant_id == *tenant ? 1 : 0;
    });
    const auto& stats = ctx.app.stats;
    for (auto n : node_stats) {
        if (!pick(n)) {
            continue;
        }
        any_node = true;
        if (n == "ml_executing_task_count") {
            node[n] = stats.executing_count();
        } else if (n == "ml_request_count") {
            node[n] = stats.request_count();
        } else if (n == "ml_failure_count") {
            node[n] = stats.failure_count();
        } else if (n == "ml_deployed_model_count") {
            node[n] = deployed;
        } else if (n == "ml_circuit_breaker_trigger_count") {
            node[n] = 0;  // remote models never trip ml-commons' circuit breakers
        } else {
            node[n] = memory_usage_percent();
        }
    }
    const auto node_ids = ctx.param("node_id");
    const bool this_node =
        node_ids.empty() || names_this_node(node_ids, ctx.app.registry->node_id(), ctx.app.cfg.node_name);
    if (this_node && (any_node || !any_cluster)) {
        // Algorithm counters only when every stat is asked for (ml-commons collects them for its ALGORITHM
        // and ACTION levels, not for a node-stat request).
        node["algorithms"] = wanted.empty() ? stats.algorithms_json() : json::object{};
        json::object models;
        for (auto& kv : stats.models_json()) {
            const auto* m = snap->find(registry::kind::model, kv.key());
            if (tenant && (m == nullptr || m->tenant_id != *tenant)) {
                continue;
            }
            // MLModelStats prints `is_hidden` only for a hidden model, and then as true.
            if (m != nullptr) {
                if (const auto* h = m->doc().if_contains("is_hidden");
                    h != nullptr && h->is_bool() && h->get_bool()) {
                    kv.value().as_object()["is_hidden"] = true;
                }
            }
            models[kv.key()] = std::move(kv.value());
        }
        node["models"] = std::move(models);
        out["nodes"] = json::object{{ctx.app.registry->node_id(), std::move(node)}};
    }
    co_return ok(ctx, out);
}

}  // namespace modelrelay::server::handlers
