// File: models.cpp
// /_plugins/_ml/model_groups, /models (register, get, update, delete, search, deploy, undeploy), /tasks.
#include <algorithm>

#include <boost/json/parse.hpp>

#include "registry/connector.hpp"
#include "registry/json_parse.hpp"
#include "registry/json_util.hpp"
#include "server/handlers/handlers.hpp"

namespace modelrelay::server::handlers {

namespace json = boost::json;
using registry::errc;
using registry::kind;

namespace {

http_response answer(request_context& ctx, const registry::result<json::object>& r) {
    return r ? ok(ctx, *r) : fail(ctx, r.error());
}

// The stats API's counters for a model action that reached the registry: its request, and a failure
// ml-commons tracks (a server-side one: not a 4xx).
void count_model_action(
    request_context& ctx, registry::ml_action a, std::string_view model_id, const http_response& res
) {
    ctx.app.stats.request(a, model_id);
    if (res.result_int() >= 500) {
        ctx.app.stats.failure(a, model_id);
    }
}

registry::error expecting(const char* expected, const json::value& found) {
    return registry::error{
        registry::errc::parsing,
        std::string("Failed to parse object: expecting token of type [") + expected + "] but found [" +
            std::string(registry::token_name(found)) + "]"};
}

}  // namespace

// ---- model groups ----

awaitable<http_response> handle_model_group_register(request_context& ctx) {
    auto body = object_body(
        ctx,
        schemas::schema_id::model_group,
        registry::error{errc::parse_failed, "Model group request has empty body"}
    );
    if (!body) {
        co_return fail(ctx, body.error());
    }
    auto& reg = *ctx.app.registry;
    auto op = [&reg, b = std::move(*body), w = ctx.who] {
        return reg.register_model_group(b, w);
    };
    co_return co_await store_write(ctx, std::move(op));
}

awaitable<http_response> handle_model_group_get(request_context& ctx) {
    co_return answer(ctx, ctx.app.registry->get_model_group(ctx.param("model_group_id"), ctx.who));
}

awaitable<http_response> handle_model_group_update(request_context& ctx) {
    auto body = object_body(
        ctx,
        schemas::schema_id::model_group,
        registry::error{errc::io_error, "Model group request has empty body"}
    );
    if (!body) {
        co_return fail(ctx, body.error());
    }
    auto& reg = *ctx.app.registry;
    auto op = [&reg, id = std::string(ctx.param("model_group_id")), b = std::move(*body), w = ctx.who] {
        return reg.update_model_group(id, b, w);
    };
    co_return co_await store_write(ctx, std::move(op));
}

awaitable<http_response> handle_model_group_delete(request_context& ctx) {
    auto& reg = *ctx.app.registry;
    auto op = [&reg, id = std::string(ctx.param("model_group_id")), w = ctx.who] {
        return reg.delete_model_group(id, w);
    };
    co_return co_await store_write(ctx, std::move(op));
}

awaitable<http_response> handle_model_group_search(request_context& ctx) {
    co_return search_resources(ctx, kind::model_group, ctx.who);
}

// ---- models ----

awaitable<http_response> handle_model_register(request_context& ctx) {
    // Read before the body, as RestMLRegisterModelAction does.
    const auto deploy_flag = ctx.query_bool("deploy");
    if (!deploy_flag) {
        co_return fail(ctx, deploy_flag.error());
    }
    // RestMLRegisterModelAction goes straight to request.contentParser(), which refuses no body with
    // OpenSearch core's text.
    auto body = object_body(
        ctx,
        schemas::schema_id::model_register,
        registry::error{errc::parse_failed, "request body is required"}
    );
    if (!body) {
        co_return fail(ctx, body.error());
    }
    if (const auto path_name = ctx.param("model_id"); !path_name.empty()) {
        // `/models/{model_id}/{version}/_register`: MLRegisterModelInput.parse(parser, modelName, version,
        // deploy) names the model after the path and reads only these fields, so a remote model registered
        // here has no connector.
        json::object named;
        named["name"] = path_name;
        for (const char* k : {"function_name", "description", "model_config"}) {
            if (const auto* v = body->if_contains(k)) {
                named[k] = *v;
            }
        }
        *body = std::move(named);
    }
    auto& reg = *ctx.app.registry;
    const bool deploy = *deploy_flag;
    auto op = [&reg, b = std::move(*body), deploy, w = ctx.who] {
        return reg.register_model(b, deploy, w);
    };
    auto res = co_await store_write(ctx, std::move(op));
    count_model_action(ctx, registry::ml_action::register_, "", res);
    if (deploy && res.result_int() == 200) {
        boost::system::error_code ec;
        const auto answer = registry::parse_json(res.body(), ec);
        if (!ec && answer.is_object()) {
            if (const auto* id = answer.get_object().if_contains("model_id");
                id != nullptr && id->is_string()) {
                count_model_action(ctx, registry::ml_action::deploy, id->get_string(), res);
            }
        }
    }
    co_return res;
}

awaitable<http_response> handle_model_get(request_context& ctx) {
    co_return answer(ctx, ctx.app.registry->get_model(ctx.param("model_id"), ctx.who));
}

awaitable<http_response> handle_model_update(request_context& ctx) {
    auto body = object_body(
        ctx,
        schemas::schema_id::model_update,
        registry::error{errc::parse_failed, "Update model request has empty body"}
    );
    if (!body) {
        co_return fail(ctx, body.error());
    }
    auto& reg = *ctx.app.registry;
    auto op = [&reg, id = std::string(ctx.param("model_id")), b = std::move(*body), w = ctx.who] {
        return reg.update_model(id, b, w);
    };
    co_return co_await store_write(ctx, std::move(op));
}

awaitable<http_response> handle_model_delete(request_context& ctx) {
    auto& reg = *ctx.app.registry;
    auto op = [&reg, id = std::string(ctx.param("model_id")), w = ctx.who] {
        return reg.delete_model(id, w);
    };
    co_return co_await store_write(ctx, std::move(op));
}

awaitable<http_response> handle_model_search(request_context& ctx) {
    co_return search_resources(ctx, kind::model, ctx.who);
}

awaitable<http_response> handle_model_deploy(request_context& ctx) {
    auto body = parse_body(ctx);
    if (!body) {
        co_return fail(ctx, body.error());
    }
    // MLDeployModelInput.parse expects an object; anything else is refused before the model is touched.
    if (!body->is_object() && !(body->is_null() && ctx.req.body().empty())) {
        co_return fail(ctx, expecting("START_OBJECT", *body));
    }
    std::optional<std::vector<std::string>> node_ids;
    if (const auto* list = body->is_object() ? body->get_object().if_contains("node_ids") : nullptr) {
        if (!list->is_array()) {
            co_return fail(ctx, expecting("START_ARRAY", *list));
        }
        // TransportDeployModelAction: no ids or an empty list deploys to all nodes, which needs no
        // custom-plan permission.
        if (!list->get_array().empty()) {
            if (!ctx.app.registry->current()->settings->get_bool(
                    "plugins.ml_commons.allow_custom_deployment_plan"
                )) {
                co_return fail(ctx, registry::illegal_argument("Don't allow custom deployment plan"));
            }
            node_ids.emplace();
            for (const auto& n : list->get_array()) {
                if (n.is_string()) {
                    node_ids->emplace_back(n.get_string());
                }
            }
        }
    }
    auto& reg = *ctx.app.registry;
    auto op = [&reg, id = std::string(ctx.param("model_id")), w = ctx.who, node_ids = std::move(node_ids)] {
        return reg.deploy_model(id, w, node_ids ? &*node_ids : nullptr);
    };
    auto res = co_await store_write(ctx, std::move(op));
    // A model that does not exist has no counters (ml-commons counts in the model manager, once the model
    // is found); counting every id asked for let the stats grow without bound.
    if (res.result_int() != 404) {
        count_model_action(ctx, registry::ml_action::deploy, ctx.param("model_id"), res);
    }
    co_return res;
}

namespace {

// The string array MLUndeployModelInput.parse reads (each element's text).
registry::result<std::vector<std::string>> id_list(const json::value& v) {
    if (!v.is_array()) {
        return expecting("START_ARRAY", v);
    }
    std::vector<std::string> out;
    for (const auto& e : v.get_array()) {
        if (e.is_string()) {
            out.emplace_back(e.get_string());
        } else if (e.is_object() || e.is_array()) {
            return expecting("VALUE_STRING", e);
        } else {
            out.push_back(registry::scalar_text(e).value_or(""));
        }
    }
    return out;
}

struct undeploy_target {
    std::vector<std::string> model_ids;
    bool this_node = true;  // false: the body's node_ids leave this node out
};

// RestMLUndeployModelAction.getRequest: a body, when there is one, is an object whose `model_ids`
// replace the path's id and whose `node_ids` need allow_custom_deployment_plan; all of it is checked
// before any model is touched.
registry::result<undeploy_target> undeploy_request(request_context& ctx, std::string_view path_id) {
    undeploy_target t;
    if (!path_id.empty()) {
        t.model_ids.emplace_back(path_id);
    }
    if (ctx.req.body().empty()) {
        return t;
    }
    auto body = parse_body(ctx);
    if (!body) {
        return body.error();
    }
    if (body->is_null()) {
        return t;  // whitespace only
    }
    if (!body->is_object()) {
        return expecting("START_OBJECT", *body);
    }
    std::vector<std::string> node_ids;
    std::vector<std::string> model_ids;
    for (const auto& kv : body->get_object()) {
        if (kv.key() == "node_ids" || kv.key() == "model_ids") {
            auto list = id_list(kv.value());
            if (!list) {
                return list.error();
            }
            (kv.key() == "node_ids" ? node_ids : model_ids) = std::move(*list);
        }
    }
    if (!node_ids.empty()) {
        const auto& settings = *ctx.app.registry->current()->settings;
        if (!settings.get_bool("plugins.ml_commons.allow_custom_deployment_plan")) {
            return registry::illegal_argument("Don't allow custom deployment plan");
        }
        t.this_node =
            std::find(node_ids.begin(), node_ids.end(), ctx.app.registry->node_id()) != node_ids.end();
    }
    if (!model_ids.empty()) {
        t.model_ids = std::move(model_ids);
    }
    return t;
}

awaitable<http_response> undeploy(request_context& ctx, std::string_view path_id) {
    auto target = undeploy_request(ctx, path_id);
    if (!target) {
        co_return fail(ctx, target.error());
    }
    if (!target->this_node) {
        // The nodes response of a plan that names only other nodes: nothing here is undeployed.
        co_return ok(ctx, json::object{});
    }
    auto& reg = *ctx.app.registry;
    auto op = [&reg, ids = std::move(target->model_ids), w = ctx.who] {
        return reg.undeploy_models(ids, w);
    };
    co_return co_await store_write(ctx, std::move(op));
}

}  // namespace

awaitable<http_response> handle_model_undeploy(request_context& ctx) {
    auto res = co_await undeploy(ctx, ctx.param("model_id"));
    count_model_action(ctx, registry::ml_action::undeploy, ctx.param("model_id"), res);
    co_return res;
}

awaitable<http_response> handle_models_undeploy(request_context& ctx) {
    co_return co_await undeploy(ctx, {});
}

// ---- tasks ----

awaitable<http_response> handle_task_get(request_context& ctx) {
    co_return answer(ctx, ctx.app.registry->get_task(ctx.param("task_id"), ctx.who));
}

awaitable<http_response> handle_task_delete(request_context& ctx) {
    auto& reg = *ctx.app.registry;
    auto op = [&reg, id = std::string(ctx.param("task_id")), w = ctx.who] {
        return reg.delete_task(id, w);
    };
    co_return co_await store_write(ctx, std::move(op));
}

awaitable<http_response> handle_task_search(request_context& ctx) {
    co_return search_resources(ctx, kind::task, ctx.who);
}

}  // namespace modelrelay::server::handlers
