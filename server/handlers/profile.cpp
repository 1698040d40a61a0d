// File: profile.cpp
// GET /_plugins/_ml/profile[/models[/{model_id}]|/tasks[/{task_id}]] (ml-commons.md §1.6): the deployed
// models of this node with their latency windows (registry/latency_window.hpp), in ml-commons' node view or,
// with `?view=model`, its model view. Ids may be comma-separated; a body (`model_ids`, `task_ids`,
// `node_ids`, `return_all_models`, `return_all_tasks`) replaces what the path says. Nothing selected is
// `{}`. Tasks: modelrelay keeps no in-flight task list (a predict is not a task here), so none is listed.
#include <cstdint>
#include <cstdio>
#include <set>

#include "registry/deployed_model.hpp"
#include "registry/latency_window.hpp"
#include "server/handlers/handlers.hpp"

namespace modelrelay::server::handlers {

namespace json = boost::json;

namespace {

struct profile_input {
    std::set<std::string, std::less<>> model_ids;
    std::set<std::string, std::less<>> node_ids;
    bool all_models = false;
};

void split_ids(std::string_view list, std::set<std::string, std::less<>>& into) {
    while (!list.empty()) {
        const auto comma = list.find(',');
        if (auto id = list.substr(0, comma); !id.empty()) {
            into.emplace(id);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        list.remove_prefix(comma + 1);
    }
}

registry::result<void> read_ids(
    const json::object& body, std::string_view key, std::set<std::string, std::less<>>& into
) {
    const auto* v = body.if_contains(key);
    if (v == nullptr) {
        return {};
    }
    if (!v->is_array()) {
        return registry::error{
            registry::errc::parsing,
            "Failed to parse object: expecting token of type [START_ARRAY] but found [" +
                std::string(v->is_object() ? "START_OBJECT" : "VALUE") + "]"};
    }
    for (const auto& e : v->get_array()) {
        if (e.is_string()) {
            into.emplace(e.get_string());
        }
    }
    return {};
}

// createMLProfileInputFromRequestParams, or MLProfileInput.parse when there is a body.
registry::result<profile_input> input_of(const request_context& ctx) {
    profile_input in;
    auto body = parse_body(ctx);
    if (!body) {
        return body.error();
    }
    if (body->is_object()) {
        const auto& b = body->get_object();
        if (auto r = read_ids(b, "model_ids", in.model_ids); !r) {
            return r.error();
        }
        std::set<std::string, std::less<>> task_ids;
        if (auto r = read_ids(b, "task_ids", task_ids); !r) {
            return r.error();
        }
        if (auto r = read_ids(b, "node_ids", in.node_ids); !r) {
            return r.error();
        }
        if (const auto* v = b.if_contains("return_all_models"); v != nullptr && v->is_bool()) {
            in.all_models = v->get_bool();
        }
        return in;
    }
    const std::string_view path = ctx.path;
    const bool models = path.find("/models") != std::string_view::npos;
    const bool tasks = path.find("/tasks") != std::string_view::npos;
    if (const auto ids = ctx.param("model_id"); !ids.empty()) {
        split_ids(ids, in.model_ids);
    } else if (models || !tasks) {
        in.all_models = true;
    }
    return in;
}

// MLModelProfile for one deployment: state, predictor, the node lists, the two windows.
json::object model_profile(const registry::deployed_model& d, const std::string& node, bool with_nodes) {
    json::object p;
    p["model_state"] = "DEPLOYED";
    char hash[24];
    std::snprintf(
        hash, sizeof hash, "%x", static_cast<unsigned>(reinterpret_cast<std::uintptr_t>(d.runtime.get()) >> 4)
    );
    p["predictor"] = "org.opensearch.ml.engine.algorithms.remote.RemoteModel@" + std::string(hash);
    if (with_nodes) {
        p["target_worker_nodes"] = json::array{json::value(node)};
        p["worker_nodes"] = json::array{json::value(node)};
    }
    if (auto s = d.runtime->inference.summarize()) {
        p["model_inference_stats"] = registry::to_json(*s);
    }
    if (auto s = d.runtime->requests.summarize()) {
        p["predict_request_stats"] = registry::to_json(*s);
    }
    return p;
}

}  // namespace

awaitable<http_response> handle_profile(request_context& ctx) {
    auto in = input_of(ctx);
    if (!in) {
        co_return fail(ctx, in.error());
    }
    const auto snap = ctx.app.registry->current();
    const std::string& node = ctx.app.registry->node_id();
    const auto view = ctx.query_param("view").value_or("node");
    if ((view != "node" && view != "model") || (!in->node_ids.empty() && !in->node_ids.contains(node))) {
        co_return ok(ctx, json::object{});
    }
    const auto tenant = monitoring_tenant(ctx, snap->settings->multi_tenancy_enabled());
    json::object models;
    snap->deployed.for_each([&](const std::string& id, const registry::deployed_model& d) {
        if ((in->all_models || in->model_ids.contains(id)) && (!tenant || d.tenant_id == *tenant)) {
            if (view == "node") {
                models[id] = model_profile(d, node, true);
            } else {
                models[id] = json::object{
                    {"target_worker_nodes", json::array{json::value(node)}},
                    {"worker_nodes", json::array{json::value(node)}},
                    {"nodes", json::object{{node, model_profile(d, node, false)}}}};
            }
        }
    });
    if (models.empty()) {
        co_return ok(ctx, json::object{});
    }
    if (view == "model") {
        co_return ok(ctx, json::object{{"models", std::move(models)}});
    }
    co_return ok(
        ctx, json::object{{"nodes", json::object{{node, json::object{{"models", std::move(models)}}}}}}
    );
}

}  // namespace modelrelay::server::handlers
