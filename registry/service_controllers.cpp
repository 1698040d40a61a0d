// File: service_controllers.cpp
// Model controllers (ml-commons.md §8.2, registry/controller.hpp): create, update, get and delete the
// per-user rate limiters of a model, with ml-commons' order of checks and texts. A controller write on a
// deployed model rebuilds the model's runtime in the same commit, so the limits apply to the next call.
#include "registry/access.hpp"
#include "registry/changeset.hpp"
#include "registry/controller.hpp"
#include "registry/json_util.hpp"
#include "registry/service.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

constexpr std::string_view model_missing_create =
    "Failed to find model to create the corresponding model controller with the provided model ID";
constexpr std::string_view model_missing_get =
    "Failed to find model to get the corresponding model controller with the provided model ID";

// The controller's model, in scope and allowed for `act`; `missing` is the not-found text of the route.
result<const resource*> controller_model(
    const snapshot& s,
    std::string_view model_id,
    const caller& who,
    const decide_options& opts,
    action act,
    std::string_view missing
) {
    const resource* m = s.find(kind::model, model_id);
    if (m == nullptr || !in_scope(*m, who, opts)) {
        return not_found(std::string(missing));
    }
    if (auto a = authorize(who, act, model_acl(s, *m), opts); !a) {
        return a.error();
    }
    return m;
}

}  // namespace

// A deployed model's runtime rebuilt from `view` (its connector slot is kept: nothing to recompile), so a
// controller change applies at once.
void service::redeploy_runtime(changeset& c, std::string_view model_id) const {
    const auto* deployed = c.view().deployed.find(model_id);
    const resource* model = c.view().find(kind::model, model_id);
    if (deployed == nullptr || model == nullptr) {
        return;
    }
    c.set_deployed(deployment_of(c.view(), *model, deployed->connector_id, deployed->connector, now_ms()));
}

result<json::object> service::create_controller(
    std::string_view model_id, const json::object& body, const caller& who
) {
    auto cur = current();
    const auto opts = access_options(*cur, who);
    auto found = controller_model(*cur, model_id, who, opts, action::controller_create, model_missing_create);
    if (!found) {
        return found.error();
    }
    const resource* m = *found;
    if (string_field(m->doc(), "model_state").value_or("") == "DEPLOYING") {
        return error{
            errc::conflict,
            "Creating a model controller during its corresponding model in DEPLOYING state is not allowed, "
            "please "
            "either create the model controller after it is deployed or before deploying it. Model ID: " +
                std::string(model_id)};
    }
    auto limits = parse_user_rate_limiter(body);
    if (!limits) {
        return limits.error();
    }
    changeset c(*this, cur);
    const resource* existing = cur->find(kind::controller, model_id);
    resource ctl = existing != nullptr ? *existing : resource{};
    ctl.id = std::string(model_id);
    ctl.tenant_id = m->tenant_id;
    ctl.doc() = controller_doc(model_id, *limits);
    c.put(kind::controller, std::move(ctl), existing == nullptr);
    if (existing == nullptr) {
        resource model = *m;
        model.doc()["is_controller_enabled"] = true;
        c.put(kind::model, std::move(model), false);
    }
    redeploy_runtime(c, model_id);
    if (auto r = c.commit(); !r) {
        return r.error();
    }
    return json::object{{"model_id", model_id}, {"status", existing == nullptr ? "CREATED" : "UPDATED"}};
}

result<json::object> service::update_controller(
    std::string_view model_id, const json::object& body, const caller& who
) {
    auto cur = current();
    const auto opts = access_options(*cur, who);
    // ml-commons reuses the create text.
    auto found = controller_model(*cur, model_id, who, opts, action::controller_update, model_missing_create);
    if (!found) {
        return found.error();
    }
    const resource* m = *found;
    const resource* existing = cur->find(kind::controller, model_id);
    if (existing == nullptr) {
        const auto* enabled = m->doc().if_contains("is_controller_enabled");
        if (enabled == nullptr || !enabled->is_bool() || !enabled->get_bool()) {
            return error{
                errc::conflict,
                "Model controller haven't been created for the model. Consider calling create model "
                "controller "
                "api instead. Model ID: " +
                    std::string(model_id)};
        }
        return not_found("Failed to find model controller");
    }
    auto update = parse_user_rate_limiter(body);
    if (!update) {
        return update.error();
    }
    auto limits = limits_of_doc(existing->doc());
    if (!merge_limits(limits, *update)) {
        return write_response(kind::controller, *existing, "noop");
    }
    changeset c(*this, cur);
    resource ctl = *existing;
    ctl.doc() = controller_doc(model_id, limits);
    auto stored = c.put(kind::controller, std::move(ctl), false);
    redeploy_runtime(c, model_id);
    if (auto r = c.commit(); !r) {
        return r.error();
    }
    return write_response(kind::controller, *stored, "updated");
}

result<json::object> service::get_controller(std::string_view model_id, const caller& who) const {
    auto cur = current();
    const auto opts = access_options(*cur, who);
    const resource* ctl = cur->find(kind::controller, model_id);
    if (ctl == nullptr || !in_scope(*ctl, who, opts)) {
        return not_found("Failed to find model controller with the provided model ID");
    }
    if (auto found = controller_model(*cur, model_id, who, opts, action::controller_get, model_missing_get);
        !found) {
        return found.error();
    }
    return ctl->doc();
}

result<json::object> service::delete_controller(std::string_view model_id, const caller& who) {
    auto cur = current();
    const auto opts = access_options(*cur, who);
    const resource* m = cur->find(kind::model, model_id);
    if (m != nullptr && !in_scope(*m, who, opts)) {
        m = nullptr;
    }
    if (m != nullptr) {
        if (auto a = authorize(who, action::controller_delete, model_acl(*cur, *m), opts); !a) {
            return a.error();
        }
    }
    const resource* ctl = cur->find(kind::controller, model_id);
    if (ctl == nullptr || !in_scope(*ctl, who, opts)) {
        return not_found("Failed to find model controller");
    }
    changeset c(*this, cur);
    auto gone = c.erase(kind::controller, *ctl);
    if (m != nullptr) {
        resource model = *m;
        model.doc()["is_controller_enabled"] = false;
        c.put(kind::model, std::move(model), false);
    }
    redeploy_runtime(c, model_id);
    if (auto r = c.commit(); !r) {
        return r.error();
    }
    return write_response(kind::controller, gone, "deleted");
}

}  // namespace modelrelay::registry
