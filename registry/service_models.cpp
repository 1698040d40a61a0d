// File: service_models.cpp
// Model groups, models, tasks and the deploy lifecycle (spec §1.2, §1.3, §1.5, §6). Like every service
// write, each method validates against the current snapshot, commits one SQLite batch, then publishes.
#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <unordered_map>
#include <utility>

#include <boost/json/serialize.hpp>

#include "registry/ascii.hpp"
#include "registry/changeset.hpp"
#include "registry/connector.hpp"
#include "registry/controller.hpp"
#include "registry/guardrails.hpp"
#include "registry/ids.hpp"
#include "registry/json_util.hpp"
#include "registry/model_interface.hpp"
#include "registry/parallel.hpp"
#include "registry/safe_text.hpp"
#include "registry/service.hpp"
#include "registry/setting_value.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

std::size_t idx(kind k) {
    return static_cast<std::size_t>(k);
}

bool deployed_state(std::string_view state) {
    return state == "DEPLOYED" || state == "DEPLOYING" || state == "PARTIALLY_DEPLOYED" ||
           state == "LOADED" || state == "PARTIALLY_LOADED";
}

std::string state_of(const resource& m) {
    return string_field(m.doc(), "model_state").value_or("");
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Tasks

namespace {

resource make_task(
    const std::string& node_id,
    std::string_view type,
    std::string_view model_id,
    bool is_async,
    std::int64_t now,
    const std::string& tenant,
    std::string_view state = "COMPLETED"
) {
    resource t;
    t.id = generate_id();
    t.tenant_id = tenant;
    json::object doc;
    doc["model_id"] = model_id;
    doc["task_type"] = type;
    doc["function_name"] = "REMOTE";
    doc["state"] = state;
    doc["worker_node"] = json::array{json::value(node_id)};
    doc["create_time"] = now;
    doc["last_update_time"] = now;
    doc["is_async"] = is_async;
    if (!tenant.empty()) {
        doc["tenant_id"] = tenant;
    }
    t.doc() = std::move(doc);
    return t;
}

}  // namespace

result<json::object> service::get_task(std::string_view id, const caller& who) const {
    auto cur = current();
    const auto opts = access_options(*cur, who);
    const resource* t = cur->find(kind::task, id);
    if (t == nullptr || !in_scope(*t, who, opts)) {
        return not_found("Failed to find task");
    }
    if (auto d = authorize(who, action::task_get, task_acl(*t), opts); !d) {
        return d.error();
    }
    return t->doc();
}

result<json::object> service::delete_task(std::string_view id, const caller& who) {
    auto cur = current();
    const auto opts = access_options(*cur, who);
    const resource* t = cur->find(kind::task, id);
    if (t == nullptr || !in_scope(*t, who, opts)) {
        return not_found("Failed to find task");
    }
    if (auto d = authorize(who, action::task_delete, task_acl(*t), opts); !d) {
        return d.error();
    }
    const auto state = string_field(t->doc(), "state").value_or("");
    if (state == "RUNNING" || state == "CREATED") {
        return error{errc::exception, "Task cannot be deleted in running state. Try after some time."};
    }
    changeset c(*this, cur);
    auto gone = c.erase(kind::task, *t);
    if (auto r = c.commit(); !r) {
        return r.error();
    }
    return write_response(kind::task, gone, "deleted");
}

// ---------------------------------------------------------------------------------------------------------
// Model groups

namespace {

// MLModelGroup.toXContent order: name, latest_version, description, backend_roles, owner, access, ...
resource new_group(
    std::string id,
    std::string name,
    std::optional<std::string> description,
    std::int64_t now,
    const caller& who,
    const acl_grant& grant
) {
    resource g;
    g.id = std::move(id);
    g.tenant_id = who.tenant_id;
    g.doc()["name"] = std::move(name);
    g.doc()["latest_version"] = 0;
    if (description) {
        g.doc()["description"] = *description;
    }
    // R8: the owner is recorded whenever there is a principal, even with the ACL switch off.
    std::optional<json::object> owner;
    if (who.user != nullptr) {
        owner = owner_snapshot(*who.user);
        g.owner_key = owner_key(*who.user);
    }
    g.doc() = with_acl_fields(g.doc(), "", grant, owner ? &*owner : nullptr);
    const std::string& tenant = who.tenant_id;
    g.doc()["created_time"] = now;
    g.doc()["last_updated_time"] = now;
    if (!tenant.empty()) {
        g.doc()["tenant_id"] = tenant;
    }
    return g;
}

// MLModelGroup.toXContent's order, restored after an update adds a member (a description, roles).
constexpr std::string_view group_order[] = {
    "name",
    "latest_version",
    "description",
    "backend_roles",
    "owner",
    "access",
    "created_time",
    "last_updated_time"};

}  // namespace

result<json::object> service::register_model_group(const json::object& body, const caller& who) {
    auto cur = current();
    auto name = string_field(body, "name");
    // HashMap order of the labels (String.hashCode buckets 6, 12).
    if (auto v = validate_text_fields(
            {{"Model group name", name, true}, {"Model group description", string_field(body, "description")}}
        );
        !v) {
        return v.error();
    }
    const auto opts = access_options(*cur, who);
    auto grant = validate_model_group_acl(who.user.get(), acl_fields_of(body), opts.model_acl);
    if (!grant) {
        return grant.error();
    }
    if (const auto* dup = cur->find_group_by_name(*name, who.tenant_id)) {
        return illegal_argument(
            "The name you provided is already being used by a model group with ID: " + dup->id + "."
        );
    }
    std::string id;
    if (auto requested = string_field(body, "model_group_id")) {
        if (auto r = validate_caller_id(*requested, "model group id"); !r) {
            return r.error();
        }
        if (cur->find(kind::model_group, *requested) != nullptr) {
            return error{errc::conflict, "model group id '" + *requested + "' already exists"};
        }
        id = *requested;
    } else {
        do {
            id = generate_id();
        } while (cur->find(kind::model_group, id) != nullptr);
    }
    changeset c(*this, cur);
    c.put(
        kind::model_group,
        new_group(id, *name, string_field(body, "description"), now_ms(), who, *grant),
        true
    );
    if (auto r = c.commit(); !r) {
        return r.error();
    }
    return json::object{{"model_group_id", id}, {"status", "CREATED"}};
}

result<json::object> service::update_model_group(
    std::string_view id, const json::object& body, const caller& who
) {
    auto cur = current();
    if (auto v = validate_text_fields(
            {{"Model group name", string_field(body, "name")},
             {"Model group description", string_field(body, "description")}}
        );
        !v) {
        return v.error();
    }
    auto opts = access_options(*cur, who);
    const resource* g = cur->find(kind::model_group, id);
    if (g == nullptr || !in_scope(*g, who, opts)) {
        return not_found("Failed to find model group with the provided model group id: " + std::string(id));
    }
    const auto group_acl = model_group_acl(*g);
    opts.changes_acl_fields = has_acl_fields(body);
    if (auto d = authorize(who, action::model_group_update, group_acl, opts); !d) {
        return d.error();
    }
    auto grant = validate_model_group_acl_update(
        who.user.get(),
        acl_fields_of(body),
        acl_grant{group_acl.access, group_acl.backend_roles},
        opts.model_acl
    );
    if (!grant) {
        return grant.error();
    }
    resource next = *g;
    if (opts.changes_acl_fields && who.user != nullptr && opts.model_acl) {
        next.doc() = with_acl_fields(next.doc(), "owner", *grant, nullptr);
    }
    // A blank name is left alone, as TransportUpdateModelGroupAction applies only a non-blank one.
    if (auto name = string_field(body, "name"); name && !is_blank(*name)) {
        const auto* dup = cur->find_group_by_name(*name, who.tenant_id);
        if (dup != nullptr && dup->id != g->id) {
            return illegal_argument(
                "The name you provided is already being used by another model with ID: " + dup->id +
                ". Please provide a different name"
            );
        }
        next.doc()["name"] = *name;
    }
    if (auto d = string_field(body, "description")) {
        next.doc()["description"] = *d;
    }
    next.doc()["last_updated_time"] = now_ms();
    put_in_order(next.doc(), group_order);
    changeset c(*this, cur);
    auto stored = c.put(kind::model_group, std::move(next), false);
    // Deployed models of this group carry a pre-built ACL for the predict path: refresh it.
    cur->deployed.for_each([&](const std::string& mid, const deployed_model& d) {
        const resource* m = cur->find(kind::model, mid);
        if (m != nullptr && string_field(m->doc(), "model_group_id").value_or("") == id) {
            auto copy = std::make_shared<deployed_model>(d);
            copy->acl = std::make_shared<const resource_acl>(model_acl(*m, stored.get()));
            c.set_deployed(std::move(copy));
        }
    });
    if (auto r = c.commit(); !r) {
        return r.error();
    }
    return json::object{{"status", "Updated"}};
}

result<json::object> service::get_model_group(std::string_view id, const caller& who) const {
    auto cur = current();
    const auto opts = access_options(*cur, who);
    const resource* g = cur->find(kind::model_group, id);
    if (g == nullptr && !cur->index_created[static_cast<std::size_t>(kind::model_group)]) {
        return not_found("Failed to find model group index");
    }
    if (g == nullptr || !in_scope(*g, who, opts)) {
        return not_found("Failed to find model group with the provided model group id: " + std::string(id));
    }
    if (auto d = authorize(who, action::model_group_get, model_group_acl(*g), opts); !d) {
        return d.error();
    }
    if (!owner_shown(kind::model_group, opts) && g->doc().contains("owner")) {
        json::object view = g->doc();
        view.stable_erase("owner");
        return view;
    }
    return g->doc();
}

result<json::object> service::delete_model_group(std::string_view id, const caller& who) {
    auto cur = current();
    const auto opts = access_options(*cur, who);
    const resource* g = cur->find(kind::model_group, id);
    if (g == nullptr || !in_scope(*g, who, opts)) {
        resource ghost{std::string(id), who.tenant_id, 1, cur->next_seq_no[idx(kind::model_group)], {}, {}};
        return write_response(kind::model_group, ghost, "not_found");
    }
    if (auto d = authorize(who, action::model_group_delete, model_group_acl(*g), opts); !d) {
        return d.error();
    }
    bool used = false;
    cur->of(kind::model).for_each([&](const std::string&, const resource& m) {
        const auto* gid = m.doc().if_contains("model_group_id");
        used = used || (gid != nullptr && gid->is_string() && gid->get_string() == id);
    });
    if (used) {
        return error{errc::conflict, "Cannot delete the model group when it has associated model versions"};
    }
    changeset c(*this, cur);
    auto gone = c.erase(kind::model_group, *g);
    if (auto r = c.commit(); !r) {
        return r.error();
    }
    return write_response(kind::model_group, gone, "deleted");
}

// ---------------------------------------------------------------------------------------------------------
// Deployment

namespace {

// Where a model's connector and its credentials live: the stored connector it names, or its own inline
// `connector` object. The credentials' AAD names the owner (service_secrets.cpp).
struct connector_source {
    const resource* owner = nullptr;  // the connector, or the model itself
    kind owner_kind = kind::model;
    std::string connector_id;  // "" for an inline connector
    // Set when the source outlives the call that found it (a compile deferred to the first predict).
    std::shared_ptr<const resource> keep;
    const json::object* doc() const {
        if (owner_kind == kind::connector) {
            return &owner->doc();
        }
        const auto* inl = field(owner->doc(), "connector");
        return inl != nullptr && inl->is_object() ? &inl->get_object() : nullptr;
    }
    std::string_view field_prefix() const {
        return owner_kind == kind::connector ? "credential." : "connector.credential.";
    }
};

result<connector_source> connector_source_of(const snapshot& s, const resource& model) {
    if (auto cid = string_field(model.doc(), "connector_id")) {
        const resource* c = s.find(kind::connector, *cid);
        if (c == nullptr) {
            return not_found("Failed to find connector with the provided connector id: " + *cid);
        }
        return connector_source{c, kind::connector, std::move(*cid), nullptr};
    }
    if (const auto* inl = field(model.doc(), "connector"); inl != nullptr && inl->is_object()) {
        return connector_source{&model, kind::model, {}, nullptr};
    }
    return illegal_argument(
        "This remote does not have a connector_id field, maybe it uses an internal connector."
    );
}

// Decrypts the credentials, compiles the templates with them bound, builds the TLS context. Any thread.
result<std::shared_ptr<const compiled_connector>> compile_source(
    const connector_source& src, const keyring& keys, const tls_context_factory& tls_contexts
) {
    const json::object* connector_doc = src.doc();
    if (connector_doc == nullptr) {
        return error{errc::internal, "the connector of model " + src.owner->id + " has no document"};
    }
    const resource& owner = *src.owner;
    param_map credentials;
    if (const auto* cred = field(*connector_doc, "credential"); cred != nullptr && cred->is_object()) {
        for (const auto& kv : cred->get_object()) {
            const std::string field_name = std::string(src.field_prefix()) + std::string(kv.key());
            const secret_site site{owner.tenant_id, kind_name(src.owner_kind), owner.id, field_name};
            auto plain =
                keys.decrypt(kv.value().is_string() ? std::string_view(kv.value().get_string()) : "", site);
            if (!plain) {
                for (auto& [k, v] : credentials) {
                    secure_wipe(v);
                }
                return error{errc::internal, "cannot decrypt the credentials of connector " + owner.id};
            }
            credentials.emplace(std::string(kv.key()), std::move(*plain));
        }
    }
    // The client_config.tls private key is for the TLS context only: no header template may bind it.
    std::string tls_key;
    if (auto it = credentials.find(tls_key_credential); it != credentials.end()) {
        tls_key = std::move(it->second);
        credentials.erase(it);
    }
    auto compiled = compile_connector(*connector_doc, credentials);
    for (auto& [k, v] : credentials) {
        secure_wipe(v);
    }
    if (!compiled) {
        secure_wipe(tls_key);
        return compiled.error();
    }
    if (const auto* tls = compiled->client_config.if_contains("tls"); tls != nullptr && tls->is_object()) {
        auto material = tls_material_of(tls->get_object(), std::move(tls_key));
        if (!material) {
            return material.error();
        }
        if (!tls_contexts) {
            return error{errc::internal, "client_config.tls is not supported by this process"};
        }
        auto context = tls_contexts(*material);
        if (!context) {
            return context.error();
        }
        compiled->tls = std::move(*context);
    }
    secure_wipe(tls_key);
    return std::make_shared<const compiled_connector>(std::move(*compiled));
}

}  // namespace

std::shared_ptr<const deployed_model> service::deployment_of(
    const snapshot& s,
    const resource& model,
    std::string connector_id,
    std::shared_ptr<const connector_slot> connector,
    std::int64_t now
) const {
    auto d = std::make_shared<deployed_model>();
    d->model_id = model.id;
    d->tenant_id = model.tenant_id;
    d->connector_id = std::move(connector_id);
    d->connector = std::move(connector);
    d->acl = std::make_shared<const resource_acl>(model_acl(s, model));
    d->runtime = std::make_shared<model_runtime>();
    d->runtime->last_access_ms.store(now);
    if (const auto* ds = field(model.doc(), "deploy_setting"); ds != nullptr && ds->is_object()) {
        if (const auto* ttl = field(ds->get_object(), "model_ttl_minutes");
            ttl != nullptr && ttl->is_number()) {
            d->ttl_minutes = ttl->to_number<std::int64_t>();
        }
    }
    if (const auto* g = field(model.doc(), "guardrails"); g != nullptr && !g->is_null()) {
        auto compiled = guardrails::compile(*g);
        // Checked when stored; a document that no longer compiles blocks every call rather than none.
        d->guard = compiled ? std::move(*compiled) : nullptr;
        d->guard_broken = !compiled;
    }
    if (const auto* i = field(model.doc(), "interface"); i != nullptr && i->is_object()) {
        auto compiled = compile_interface(*i);
        d->iface = compiled ? std::move(*compiled) : nullptr;
        d->iface_broken = !compiled;
    }
    if (const resource* ctl = s.find(kind::controller, model.id)) {
        d->runtime->user_limiters = user_buckets(limits_of_doc(ctl->doc()));
    }
    if (const auto* rl = field(model.doc(), "rate_limiter"); rl != nullptr && rl->is_object()) {
        const auto limit = string_field(rl->get_object(), "limit");
        const auto unit = string_field(rl->get_object(), "unit");
        // A value stored before register checked it as it does now, and that no bucket can use, limits
        // nothing rather than failing every deploy.
        const auto rate = limit ? parse_java_double(*limit) : std::nullopt;
        if (rate && std::isfinite(*rate) && *rate >= 0 && unit && time_unit_ns(*unit) > 0) {
            d->runtime->limiter = std::make_unique<token_bucket>(*rate, time_unit_ns(*unit));
        }
    }
    return d;
}

result<std::shared_ptr<const deployed_model>> service::prepare_deployment(
    const snapshot& s, const resource& model
) const {
    auto src = connector_source_of(s, model);
    if (!src) {
        return src.error();
    }
    auto compiled = compile_source(*src, *keys_, opts_.tls_contexts);
    if (!compiled) {
        return compiled.error();
    }
    return deployment_of(
        s,
        model,
        std::move(src->connector_id),
        std::make_shared<const connector_slot>(std::move(*compiled)),
        now_ms()
    );
}

void service::redeploy_all(snapshot& s) {
    // Every model stored as DEPLOYED is in the deployed set as soon as the snapshot is published, so a call
    // right after start-up finds it; its connector is compiled on that first call (connector_slot) rather
    // than here, where ten thousand of them made up half of the start-up time. What can be checked without
    // compiling is checked now, with the answers of a deploy: a model whose connector is gone stays out.
    // Models naming the same stored connector share one slot, so it is decrypted and compiled once.
    // With plugins.ml_commons.model_auto_redeploy.enable false nothing is restored, and every model stored
    // as deployed is left for fail_unrestored_deployments.
    struct pending {
        const std::string* id;
        const resource* model;
        std::optional<connector_source> source;  // none: not restored
        std::shared_ptr<const connector_slot> slot;
        bool stored_deployed = false;  // DEPLOYED, PARTIALLY_DEPLOYED or DEPLOYING on disk
    };
    std::vector<pending> models;
    models.reserve(s.of(kind::model).size());
    s.of(kind::model).for_each([&](const std::string& id, const resource& m) {
        models.push_back({&id, &m, std::nullopt, nullptr});
    });
    const unsigned threads = worker_count(opts_.load_threads);
    const bool restore = s.settings->model_auto_redeploy_enabled();
    // MLModelAutoReDeployer: only models redeployed fewer times than lifetime_retry_times in a row (a
    // successful deploy writes the count back to 0, so this stops models that keep failing, and 0 stops
    // every redeploy).
    const long long lifetime = s.settings->model_auto_redeploy_lifetime_retry_times();
    // 1. Which models are restored and where their connector lives (any thread: the snapshot is read-only).
    parallel_for(models.size(), threads, [&](std::size_t i) {
        auto& p = models[i];
        const auto* state = p.model->doc().if_contains("model_state");
        if (state == nullptr || !state->is_string()) {
            return;
        }
        const auto& st = state->get_string();
        p.stored_deployed = st == "DEPLOYED" || st == "PARTIALLY_DEPLOYED" || st == "DEPLOYING";
        if (!restore || st != "DEPLOYED") {
            return;
        }
        const auto* tries = p.model->doc().if_contains("auto_redeploy_retry_times");
        if ((tries != nullptr && tries->is_int64() ? tries->get_int64() : 0) >= lifetime) {
            return;
        }
        if (auto src = connector_source_of(s, *p.model)) {
            // The owner is the snapshot's own object (the connector, or the model itself): keep it alive.
            src->keep = src->owner_kind == kind::connector ? s.of(kind::connector).find_ptr(src->connector_id)
                                                           : s.of(kind::model).find_ptr(*p.id);
            p.source = std::move(*src);
        }  // else as a deploy would fail: the model stays out of the deployed set
    });
    // 2. One slot per stored connector (or inline connector).
    const auto keys = std::shared_ptr<const keyring>(keys_);
    const auto tls_contexts = std::make_shared<const tls_context_factory>(opts_.tls_contexts);
    std::unordered_map<const resource*, std::shared_ptr<const connector_slot>> slots;
    slots.reserve(models.size());
    for (auto& p : models) {
        if (!p.source) {
            continue;
        }
        auto& slot = slots[p.source->owner];
        if (!slot) {
            auto compile = [keys, tls_contexts, keep = p.source->keep, k = p.source->owner_kind] {
                return compile_source(connector_source{keep.get(), k, {}, nullptr}, *keys, *tls_contexts);
            };
            slot = std::make_shared<const connector_slot>(connector_slot::compile_fn(std::move(compile)));
        }
        p.slot = slot;
    }
    // 3. The rest (ACL, runtime state) per model, each thread filling its own shards of the deployed set.
    const auto now = now_ms();
    shard_map<deployed_model>::builder deployed;
    parallel_for(
        threads,
        threads,
        [&](std::size_t part) {
            for (auto& p : models) {
                if (p.source && shard_map<deployed_model>::shard_of(*p.id) % threads == part) {
                    deployed.put(
                        *p.id,
                        deployment_of(s, *p.model, std::move(p.source->connector_id), std::move(p.slot), now)
                    );
                }
            }
        },
        1
    );
    s.deployed = deployed.build();
    unrestored_.clear();
    for (const auto& p : models) {
        if (p.stored_deployed && !p.source) {
            unrestored_.push_back(*p.id);
        }
    }
}

result<void> service::fail_unrestored_deployments() {
    const auto ids = std::exchange(unrestored_, {});
    if (ids.empty()) {
        return {};
    }
    auto cur = current();
    changeset c(*this, cur);
    const auto now = now_ms();
    for (const auto& id : ids) {
        const resource* m = cur->find(kind::model, id);
        if (m == nullptr) {
            continue;
        }
        resource model = *m;
        // MLSyncUpCron.bulkUpdateModelState: the state, the time and the worker count, nothing else.
        model.doc()["model_state"] = "DEPLOY_FAILED";
        model.doc()["last_updated_time"] = now;
        model.doc()["current_worker_node_count"] = 0;
        c.put(kind::model, std::move(model), false);
    }
    return c.commit();
}

namespace {

void mark_deployed(json::object& doc, const std::string& node, std::int64_t now, bool to_all_nodes = true) {
    doc["model_state"] = "DEPLOYED";
    doc["last_deployed_time"] = now;
    doc["last_updated_time"] = now;
    doc["auto_redeploy_retry_times"] = 0;
    doc["planning_worker_node_count"] = 1;
    doc["current_worker_node_count"] = 1;
    doc["planning_worker_nodes"] = json::array{json::value(node)};
    if (to_all_nodes) {
        doc["deploy_to_all_nodes"] = true;
    } else {
        doc.erase("deploy_to_all_nodes");  // printed only when true
    }
}

void mark_undeployed(json::object& doc, std::int64_t now) {
    doc["model_state"] = "UNDEPLOYED";
    doc["last_undeployed_time"] = now;
    doc["last_updated_time"] = now;
    doc["current_worker_node_count"] = 0;
    doc.stable_erase("planning_worker_nodes");
    doc["planning_worker_node_count"] = 0;
}

}  // namespace

result<json::object> service::deploy_model(
    std::string_view id, const caller& who, const std::vector<std::string>* node_ids
) {
    auto cur = current();
    const auto opts = access_options(*cur, who);
    const resource* m = cur->find(kind::model, id);
    if (m == nullptr || !in_scope(*m, who, opts)) {
        return not_found("Failed to find model with the provided model id: " + std::string(id));
    }
    if (auto a = authorize(who, action::model_deploy, model_acl(*cur, *m), opts); !a) {
        return a.error();
    }
    if (auto off = cur->settings->remote_inference_refusal()) {
        return *off;
    }
    const bool to_all_nodes = node_ids == nullptr || node_ids->empty();
    if (!to_all_nodes && std::find(node_ids->begin(), node_ids->end(), node_id_) == node_ids->end()) {
        return illegal_argument("no eligible node found");
    }
    auto d = prepare_deployment(*cur, *m);
    const auto now = now_ms();
    changeset c(*this, cur);
    auto task =
        make_task(node_id_, "DEPLOY_MODEL", m->id, true, now, who.tenant_id, d ? "COMPLETED" : "FAILED");
    resource model = *m;
    if (d) {
        mark_deployed(model.doc(), node_id_, now, to_all_nodes);
        c.set_deployed(std::move(*d));
    } else {
        task.doc()["error"] = json::serialize(json::object{{node_id_, d.error().reason}});
        model.doc()["model_state"] = "DEPLOY_FAILED";
        model.doc()["last_updated_time"] = now;
    }
    const std::string task_id = task.id;
    c.put(kind::task, std::move(task), true);
    c.put(kind::model, std::move(model), false);
    if (auto r = c.commit(); !r) {
        return r.error();
    }
    if (!d) {
        return d.error();
    }
    return json::object{{"task_id", task_id}, {"task_type", "DEPLOY_MODEL"}, {"status", "COMPLETED"}};
}

result<json::object> service::undeploy_models(const std::vector<std::string>& ids, const caller& who) {
    auto cur = current();
    if (ids.empty()) {
        return illegal_argument("Must set specific model ids to undeploy");
    }
    // TransportUndeployModelsAction: with model access control on, one model per request.
    if (ids.size() > 1 && cur->settings->model_access_control_enabled()) {
        return illegal_argument("only support undeploy one model");
    }
    // Every model is checked before anything changes: one refusal undeploys nothing.
    const auto opts = access_options(*cur, who);
    for (const auto& id : ids) {
        const resource* m = cur->find(kind::model, id);
        if (m == nullptr || !in_scope(*m, who, opts)) {
            continue;
        }
        if (auto a = authorize(who, action::model_undeploy, model_acl(*cur, *m), opts); !a) {
            return a.error();
        }
    }
    changeset c(*this, cur);
    json::object stats;
    const auto now = now_ms();
    for (const auto& id : ids) {
        const resource* m = cur->find(kind::model, id);
        if (m == nullptr || !in_scope(*m, who, opts)) {
            stats[id] = "not_found";
            continue;
        }
        stats[id] = c.view().deployed.find(id) != nullptr ? "UNDEPLOYED" : "not_found";
        resource model = *m;
        mark_undeployed(model.doc(), now);
        c.clear_deployed(id);
        c.put(kind::model, std::move(model), false);
    }
    if (auto r = c.commit(); !r) {
        return r.error();
    }
    return json::object{{node_id_, json::object{{"stats", std::move(stats)}}}};
}

std::size_t service::undeploy_idle(std::int64_t now) {
    auto cur = current();
    std::vector<std::string> expired;
    cur->deployed.for_each([&](const std::string& id, const deployed_model& d) {
        // MLModelCacheHelper.getExpiredModels: a negative TTL never expires; 0 expires at the next run.
        // In whole minutes: ttl_minutes * 60,000 overflowed for TTLs near the long range.
        if (d.ttl_minutes >= 0 && (now - d.runtime->last_access_ms.load()) / 60'000 >= d.ttl_minutes) {
            expired.push_back(id);
        }
    });
    if (expired.empty()) {
        return 0;
    }
    changeset c(*this, cur);
    for (const auto& id : expired) {
        if (const resource* m = cur->find(kind::model, id)) {
            resource model = *m;
            mark_undeployed(model.doc(), now);
            c.put(kind::model, std::move(model), false);
        }
        c.clear_deployed(id);
    }
    return c.commit() ? expired.size() : 0;
}

// ---------------------------------------------------------------------------------------------------------
// Models

namespace {

// An object field of an update goes into the stored document as OpenSearch applies a partial document
// (XContentHelper.update, which ml-commons' model update relies on): members of two objects merge
// recursively, anything else replaces. So `{"rate_limiter":{"limit":"2"}}` keeps the stored unit, and
// `{"deploy_setting":{"model_ttl_minutes":7}}` keeps is_auto_deploy_enabled. On register `doc` has none.
void merge_partial(json::object& into, std::string_view key, json::object change) {
    auto* old = into.if_contains(key);
    if (old == nullptr || !old->is_object()) {
        into[key] = std::move(change);
        return;
    }
    auto& target = old->get_object();
    for (auto& kv : change) {
        if (kv.value().is_object()) {
            merge_partial(target, kv.key(), std::move(kv.value().get_object()));
        } else {
            target[kv.key()] = std::move(kv.value());
        }
    }
}

// Copies the register/update fields ml-commons keeps for remote models into `doc`.
result<void> copy_model_fields(const json::object& body, json::object& doc) {
    if (auto d = string_field(body, "description")) {
        doc["description"] = *d;
    }
    if (const auto* v = field(body, "is_enabled"); v != nullptr) {
        doc["is_enabled"] = v->is_bool() ? v->get_bool() : scalar_text(*v).value_or("") == "true";
    }
    if (const auto* rl = field(body, "rate_limiter"); rl != nullptr && rl->is_object()) {
        json::object out;
        if (const auto* limit = field(rl->get_object(), "limit")) {
            auto text = scalar_text(*limit).value_or("");
            // Double.parseDouble's forms (so `0x10` is refused as Java refuses it); NaN and infinity
            // (`1e400`) too, which no token bucket can use.
            const auto n = parse_java_double(text);
            if (!n || !std::isfinite(*n) || *n < 0) {
                return error{errc::parse_failed, "Limit field must be a positive number."};
            }
            out["limit"] = text;
        }
        if (auto unit = string_field(rl->get_object(), "unit")) {
            if (time_unit_ns(*unit) == 0) {
                return illegal_argument("No enum constant java.util.concurrent.TimeUnit." + *unit);
            }
            out["unit"] = *unit;
        }
        merge_partial(doc, "rate_limiter", std::move(out));
    }
    if (const auto* mc = field(body, "model_config"); mc != nullptr && mc->is_object()) {
        // RemoteModelConfig (model_type, embedding_dimension, additional_config, ...), kept as sent; an
        // update merges into it.
        merge_partial(doc, "model_config", mc->get_object());
    }
    if (const auto* ds = field(body, "deploy_setting"); ds != nullptr && ds->is_object()) {
        json::object out;
        if (const auto* a = field(ds->get_object(), "is_auto_deploy_enabled"); a != nullptr && a->is_bool()) {
            out["is_auto_deploy_enabled"] = a->get_bool();
        }
        // MLDeploySetting: an absent TTL is -1 (never), and toXContent writes it.
        std::int64_t ttl = -1;
        if (const auto* t = field(ds->get_object(), "model_ttl_minutes"); t != nullptr && t->is_number()) {
            ttl = t->to_number<std::int64_t>();
        }
        out["model_ttl_minutes"] = ttl;
        merge_partial(doc, "deploy_setting", std::move(out));
    }
    if (const auto* g = field(body, "guardrails"); g != nullptr && !g->is_null()) {
        // Compiled now so a bad one is the register / update answer, not a failure on every predict.
        if (auto compiled = guardrails::compile(*g); !compiled) {
            return compiled.error();
        }
        const auto* stored = doc.if_contains("guardrails");
        if (g->is_object() && stored != nullptr && stored->is_object()) {
            merge_partial(doc, "guardrails", g->get_object());
            // The merged guardrails are what predict will use: they must compile too.
            if (auto merged = guardrails::compile(doc.at("guardrails")); !merged) {
                return merged.error();
            }
        } else {
            doc["guardrails"] = *g;
        }
    }
    if (const auto* i = field(body, "interface"); i != nullptr && i->is_object()) {
        json::object out;
        for (const char* k : {"input", "output"}) {
            if (const auto* v = field(i->get_object(), k)) {
                out[k] = v->is_string() ? json::value(v->get_string()) : json::value(json::serialize(*v));
            }
        }
        merge_partial(doc, "interface", std::move(out));
        // Compiled now so a broken schema is the register / update answer, not a failure on every predict.
        if (auto compiled = compile_interface(doc.at("interface")); !compiled) {
            return compiled.error();
        }
    }
    return {};
}

}  // namespace

result<json::object> service::register_model(const json::object& body, bool deploy, const caller& who) {
    auto cur = current();
    const auto& settings = *cur->settings;
    // MLRegisterModelInput: FunctionName.from while parsing, then the constructor's name check, then the
    // model format that every function but REMOTE (the default is TEXT_EMBEDDING) needs.
    auto function_name = string_field(body, "function_name");
    const bool remote = function_name && ascii_lower_copy(*function_name) == "remote";
    if (function_name && !remote) {
        static const std::array<std::string_view, 6> known{
            "text_embedding",
            "sparse_encoding",
            "sparse_tokenize",
            "text_similarity",
            "question_answering",
            "agent"};
        if (std::find(known.begin(), known.end(), ascii_lower_copy(*function_name)) == known.end()) {
            return illegal_argument("Wrong function name");
        }
    }
    auto name = string_field(body, "name");
    if (!name) {
        return illegal_argument("model name is null");
    }
    if (!remote) {
        // Without a format, ml-commons' own text; with one, a local or pretrained model that ml-commons
        // would download and run on its ML nodes, which a remote-model gateway cannot.
        if (string_field(body, "model_format")) {
            return illegal_argument(
                "modelrelay serves remote models only: local and pretrained models (model_format, "
                "function_name "
                "other than remote) cannot be registered"
            );
        }
        return illegal_argument("model format is null");
    }
    if (auto off = settings.remote_inference_refusal()) {
        return *off;
    }
    // MLRegisterModelRequest.validate(); HashMap order of the labels (buckets 8, 13).
    if (auto v = validate_text_fields(
            {{"Model description", string_field(body, "description")}, {"Model name", name, true}}
        );
        !v) {
        return v.error();
    }
    const auto opts = access_options(*cur, who);
    const principal* user = who.user.get();
    // ACL fields only matter when this call creates the model group; off, they are refused at once.
    if (has_acl_fields(body) && (user == nullptr || !opts.model_acl)) {
        if (auto v = validate_model_group_acl(user, acl_fields_of(body), opts.model_acl); !v) {
            return v.error();
        }
    }
    std::string model_id;
    if (auto requested = string_field(body, "model_id")) {
        if (auto r = validate_caller_id(*requested, "model id"); !r) {
            return r.error();
        }
        if (cur->find(kind::model, *requested) != nullptr) {
            return error{errc::conflict, "model id '" + *requested + "' already exists"};
        }
        model_id = *requested;
    } else {
        do {
            model_id = generate_id();
        } while (cur->find(kind::model, model_id) != nullptr);
    }

    const auto now = now_ms();
    changeset c(*this, cur);
    // The group a new model version joins, with its latest_version bumped.
    const auto next_version_of = [&](const resource& g) {
        resource next = g;
        next.doc()["latest_version"] = next.doc().at("latest_version").to_number<std::int64_t>() + 1;
        next.doc()["last_updated_time"] = now;
        return next;
    };
    // Model group first (checkUserAccess runs before doRegister's connector checks): the given one, else the
    // group named after the model, else a new one.
    std::shared_ptr<const resource> group;
    // TransportRegisterModelAction tests StringUtils.isEmpty(modelGroupId): "" means no group.
    auto given_group = string_field(body, "model_group_id");
    if (given_group && given_group->empty()) {
        given_group.reset();
    }
    if (auto gid = given_group) {
        const resource* g = cur->find(kind::model_group, *gid);
        if (g == nullptr && !cur->index_created[static_cast<std::size_t>(kind::model_group)]) {
            return not_found("Model group not found");
        }
        if (g == nullptr || !in_scope(*g, who, opts)) {
            return error{errc::ml_resource_not_found, "Model Group Response is empty for " + *gid};
        }
        if (auto a = authorize(who, action::model_register, model_group_acl(*g), opts); !a) {
            return a.error();
        }
        group = c.put(kind::model_group, next_version_of(*g), false);
    } else if (const auto* existing = cur->find_group_by_name(*name, who.tenant_id)) {
        auto by_name = opts;
        by_name.group_found_by_name = true;
        if (auto a = authorize(who, action::model_register, model_group_acl(*existing), by_name); !a) {
            return a.error();
        }
        group = c.put(kind::model_group, next_version_of(*existing), false);
    } else {
        auto grant = validate_model_group_acl(user, acl_fields_of(body), opts.model_acl);
        if (!grant) {
            return grant.error();
        }
        std::string gid;
        do {
            gid = generate_id();
        } while (cur->find(kind::model_group, gid) != nullptr);
        // createRegisterModelGroupRequest copies the model's description into the new group.
        resource g = new_group(gid, *name, string_field(body, "description"), now, who, *grant);
        g.doc()["latest_version"] = 1;
        group = c.put(kind::model_group, std::move(g), true);
    }
    json::object doc;
    doc["name"] = *name;
    // Connector: a stored one by id, or an inline one kept inside the model document.
    std::optional<json::object> inline_connector;
    // doRegister tests Strings.isNotBlank(connectorId): a blank id means an inline connector.
    auto connector_id = string_field(body, "connector_id");
    if (connector_id && is_blank(*connector_id)) {
        connector_id.reset();
    }
    if (connector_id) {
        const resource* c = cur->find(kind::connector, *connector_id);
        if (c == nullptr || !in_scope(*c, who, opts)) {
            return not_found("Failed to find connector:" + *connector_id);
        }
        if (auto a = authorize(who, action::model_register, connector_acl(*c), opts); !a) {
            return a.error();
        }
        const auto protocol = string_field(c->doc(), "protocol").value_or("");
        if (protocol == "mcp_sse" || protocol == "mcp_streamable_http") {
            return illegal_argument("Cannot Create a Model from MCP Connector: " + *connector_id);
        }
    } else {
        const auto* inl = field(body, "connector");
        if (inl == nullptr || !inl->is_object()) {
            return illegal_argument(
                "You must provide connector content when creating a remote model without connector id!"
            );
        }
        // ml-commons parses an inline connector without the create API's checks, so a connector with no
        // actions fails validateInternalConnector's PREDICT endpoint check, not "No actions configured".
        const auto* given = inl->get_object().if_contains("actions");
        if (given == nullptr || (given->is_array() && given->get_array().empty())) {
            return illegal_argument(
                "Connector endpoint is required when creating a remote model without connector id!"
            );
        }
        auto draft = prepare_connector_create(inl->get_object(), connector_rules{settings, false, true});
        if (!draft) {
            return draft.error();
        }
        const auto* actions = draft->doc.if_contains("actions");
        bool has_predict = false;
        if (actions != nullptr && actions->is_array()) {
            for (const auto& a : actions->get_array()) {
                has_predict = has_predict || a.get_object().at("action_type").get_string() == "PREDICT";
            }
        }
        if (!has_predict) {
            return illegal_argument(
                "Connector endpoint is required when creating a remote model without connector id!"
            );
        }
        json::object connector = std::move(draft->doc);
        auto cred = connector_credential(
            *draft, nullptr, who.tenant_id, kind::model, model_id, "connector.credential."
        );
        if (!cred) {
            return cred.error();
        }
        if (*cred) {
            connector["credential"] = std::move(**cred);
        }
        inline_connector = std::move(connector);
    }

    doc["model_group_id"] = group->id;
    doc["algorithm"] = "REMOTE";
    doc["model_version"] = std::to_string(group->doc().at("latest_version").to_number<std::int64_t>());
    if (auto r = copy_model_fields(body, doc); !r) {
        return r.error();
    }
    // TransportRegisterModelAction.setIsHidden(isSuperAdmin), stored either way (a search for
    // `is_hidden:false` finds every ordinary model, as in ml-commons): what the super-admin registers only
    // the super-admin sees (decide() and search_visible honour it).
    doc["is_hidden"] = who.user && who.user->super_admin;
    doc["model_state"] = "REGISTERED";
    doc["created_time"] = now;
    doc["last_updated_time"] = now;
    doc["last_registered_time"] = now;
    if (inline_connector) {
        doc["connector"] = std::move(*inline_connector);
    } else {
        doc["connector_id"] = *connector_id;
    }
    if (auto p = string_field(body, "provisioned_by")) {
        doc["provisioned_by"] = *p;
    }
    if (!who.tenant_id.empty()) {
        doc["tenant_id"] = who.tenant_id;
    }
    // Models have no owner field in ml-commons (they inherit the group's ACL); the store still records who
    // registered it (R8).
    resource model{
        model_id, who.tenant_id, 1, 0, stored_doc(std::move(doc)), user != nullptr ? owner_key(*user) : ""};
    auto task = make_task(node_id_, "REGISTER_MODEL", model_id, false, now, who.tenant_id);
    const std::string task_id = task.id;
    c.put(kind::task, std::move(task), true);
    if (deploy) {
        // ml-commons fires the deploy asynchronously after answering; doing it in the same commit means a
        // predict sent right after the 200 already finds the model deployed.
        auto d = prepare_deployment(c.view(), model);
        auto dtask = make_task(
            node_id_, "DEPLOY_MODEL", model_id, true, now, who.tenant_id, d ? "COMPLETED" : "FAILED"
        );
        if (d) {
            mark_deployed(model.doc(), node_id_, now);
            c.set_deployed(std::move(*d));
        } else {
            dtask.doc()["error"] = json::serialize(json::object{{node_id_, d.error().reason}});
            model.doc()["model_state"] = "DEPLOY_FAILED";
        }
        c.put(kind::task, std::move(dtask), true);
    }
    c.put(kind::model, std::move(model), true);
    if (auto r = c.commit(); !r) {
        return r.error();
    }
    return json::object{{"task_id", task_id}, {"status", "CREATED"}, {"model_id", model_id}};
}

result<json::object> service::update_model(std::string_view id, const json::object& body, const caller& who) {
    auto cur = current();
    const auto& settings = *cur->settings;
    // No body is the handler's 400; `{}` has content, so ml-commons parses it as an update of nothing
    // (RestMLUpdateModelAction checks hasContent()) and answers `updated`.
    // MLUpdateModelRequest.validate(); HashMap order of the labels (buckets 2, 3).
    if (auto v = validate_text_fields(
            {{"Model Description", string_field(body, "description")},
             {"Model Name", string_field(body, "name")}}
        );
        !v) {
        return v.error();
    }
    const auto opts = access_options(*cur, who);
    const resource* m = cur->find(kind::model, id);
    if (m == nullptr || !in_scope(*m, who, opts)) {
        return not_found("Failed to find model to update with the provided model id: " + std::string(id));
    }
    if (auto a = authorize(who, action::model_update, model_acl(*cur, *m), opts); !a) {
        return a.error();
    }
    // The three refusals below are OpenSearchStatusExceptions with BAD_REQUEST in RestMLUpdateModelAction
    // and UpdateModelTransportAction: status_exception, not illegal_argument_exception.
    if (field(body, "connector_id") != nullptr && field(body, "connector") != nullptr) {
        return error{
            errc::bad_request,
            "Model cannot have both stand-alone connector and internal connector. Please check your update "
            "input body."};
    }
    if (state_of(*m) == "DEPLOYING") {
        return error{
            errc::conflict,
            "Model is deploying. Please wait for the model to complete deployment. model ID " +
                std::string(id)};
    }
    resource next = *m;
    if (auto n = string_field(body, "name")) {
        next.doc()["name"] = *n;
    }
    if (auto r = copy_model_fields(body, next.doc()); !r) {
        return r.error();
    }
    if (auto cid = string_field(body, "connector_id")) {
        if (!m->doc().contains("connector_id")) {
            return error{
                errc::bad_request,
                "This remote does not have a connector_id field, maybe it uses an internal connector."};
        }
        const resource* c = cur->find(kind::connector, *cid);
        if (c == nullptr || !in_scope(*c, who, opts)) {
            return not_found("Failed to find connector:" + *cid);
        }
        // Switching to another connector is a use of it (the predicate, as for register); ml-commons
        // words the refusal as an update of the connector, at 403.
        if (auto a = authorize(who, action::model_register, connector_acl(*c), opts); !a) {
            if (opts.multi_tenancy && c->tenant_id != opts.tenant) {
                return a.error();
            }
            return error{
                errc::forbidden, "You don't have permission to update the connector, connector id: " + *cid};
        }
        next.doc()["connector_id"] = *cid;
    }
    if (const auto* inl = field(body, "connector"); inl != nullptr && inl->is_object()) {
        const auto* existing = field(m->doc(), "connector");
        if (existing == nullptr || !existing->is_object()) {
            return error{
                errc::bad_request,
                "Cannot update connector settings for this model. The model was created with a connector_id "
                "and does not have an inline connector."};
        }
        auto draft = prepare_connector_update(
            existing->get_object(), inl->get_object(), connector_rules{settings, false, true}
        );
        if (!draft) {
            return draft.error();
        }
        json::object connector = std::move(draft->doc);
        const auto* stored = existing->get_object().if_contains("credential");
        auto cred = connector_credential(
            *draft,
            stored != nullptr && stored->is_object() ? &stored->get_object() : nullptr,
            m->tenant_id,
            kind::model,
            m->id,
            "connector.credential."
        );
        if (!cred) {
            return cred.error();
        }
        if (*cred) {
            connector["credential"] = std::move(**cred);
        } else {
            connector.stable_erase("credential");
        }
        next.doc()["connector"] = std::move(connector);
    }
    next.doc()["last_updated_time"] = now_ms();
    changeset c(*this, cur);
    if (auto gid = string_field(body, "model_group_id");
        gid && *gid != string_field(m->doc(), "model_group_id").value_or("")) {
        const resource* target = cur->find(kind::model_group, *gid);
        if (target == nullptr || !in_scope(*target, who, opts)) {
            return not_found(
                "Failed to find the model group with the provided model group id in the update model input, "
                "MODEL_GROUP_ID: " +
                *gid
            );
        }
        if (auto a = authorize(who, action::model_update, model_group_acl(*target), opts); !a) {
            return a.error();
        }
        // Re-linking makes the model the next version of the target group.
        resource g = *target;
        const auto v = g.doc().at("latest_version").to_number<std::int64_t>() + 1;
        g.doc()["latest_version"] = v;
        g.doc()["last_updated_time"] = now_ms();
        c.put(kind::model_group, std::move(g), false);
        next.doc()["model_group_id"] = *gid;
        next.doc()["model_version"] = std::to_string(v);
    }
    // A deployed model picks up connector, switches and limiter changes at once.
    if (cur->deployed.find(id) != nullptr) {
        auto d = prepare_deployment(c.view(), next);
        if (!d) {
            return d.error();
        }
        c.set_deployed(std::move(*d));
    }
    auto stored = c.put(kind::model, std::move(next), false);
    if (auto r = c.commit(); !r) {
        return r.error();
    }
    return write_response(kind::model, *stored, "updated");
}

result<json::object> service::get_model(std::string_view id, const caller& who) const {
    auto cur = current();
    const auto opts = access_options(*cur, who);
    const resource* m = cur->find(kind::model, id);
    if (m == nullptr && !cur->index_created[static_cast<std::size_t>(kind::model)]) {
        return not_found("Fail to find model");
    }
    if (m == nullptr || !in_scope(*m, who, opts)) {
        return not_found("Failed to find model with the provided model id: " + std::string(id));
    }
    if (auto a = authorize(who, action::model_get, model_acl(*cur, *m), opts); !a) {
        return a.error();
    }
    json::object view = m->doc();
    if (auto* c = view.if_contains("connector"); c != nullptr && c->is_object()) {
        c->get_object().stable_erase("credential");
        put_in_connector_order(c->get_object());
    }
    // MLModel.parse starts from `boolean isHidden = false` and toXContent prints the Boolean when it is not
    // null, so a model read back always shows `is_hidden`, false unless it was registered hidden.
    if (!view.contains("is_hidden")) {
        view["is_hidden"] = false;
    }
    // MLModel.toXContent's order (spec §3, Get).
    static constexpr std::array<std::string_view, 29> order{
        "name",
        "model_group_id",
        "algorithm",
        "model_version",
        "description",
        "model_format",
        "model_state",
        "model_config",
        "deploy_setting",
        "is_enabled",
        "is_controller_enabled",
        "rate_limiter",
        "created_time",
        "last_updated_time",
        "last_registered_time",
        "last_deployed_time",
        "last_undeployed_time",
        "auto_redeploy_retry_times",
        "planning_worker_node_count",
        "current_worker_node_count",
        "planning_worker_nodes",
        "deploy_to_all_nodes",
        "is_hidden",
        "connector",
        "connector_id",
        "guardrails",
        "interface",
        "tenant_id",
        "provisioned_by"};
    put_in_order(view, order);
    return view;
}

result<json::object> service::delete_model(std::string_view id, const caller& who) {
    auto cur = current();
    const auto opts = access_options(*cur, who);
    const resource* m = cur->find(kind::model, id);
    if (m == nullptr || !in_scope(*m, who, opts)) {
        return not_found("Failed to find model");
    }
    if (auto a = authorize(who, action::model_delete, model_acl(*cur, *m), opts); !a) {
        return a.error();
    }
    if (deployed_state(state_of(*m)) || cur->deployed.find(id) != nullptr) {
        return error{
            // OpenSearchStatusException(BAD_REQUEST) in DeleteModelTransportAction
            errc::bad_request,
            "Model cannot be deleted in deploying or deployed state. Try undeploy model first then delete"};
    }
    changeset c(*this, cur);
    auto gone = c.erase(kind::model, *m);
    // DeleteModelTransportAction also deletes the model's controller.
    if (const resource* ctl = cur->find(kind::controller, id)) {
        c.erase(kind::controller, *ctl);
    }
    if (auto r = c.commit(); !r) {
        return r.error();
    }
    return write_response(kind::model, gone, "deleted");
}

}  // namespace modelrelay::registry
