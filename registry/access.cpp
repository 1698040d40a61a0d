// File: access.cpp
// Stored resources → resource_acl, request → decide_options, and the _search candidate filter (access.hpp).
#include "registry/access.hpp"

#include <algorithm>

#include "registry/json_util.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

json::object owner_snapshot(const principal& who) {
    json::array backend_roles;
    for (const auto& r : who.backend_roles) {
        backend_roles.emplace_back(r);
    }
    json::array roles;
    for (const auto& r : who.roles) {
        roles.emplace_back(r);
    }
    return json::object{
        {"name", who.name},
        {"backend_roles", std::move(backend_roles)},
        {"roles", std::move(roles)},
        {"custom_attribute_names", json::array{}},
        {"user_requested_tenant",
         who.requested_tenant ? json::value(*who.requested_tenant) : json::value(nullptr)},
        // User.toXContent of OpenSearch 3.x: the Dashboards tenant's access, WRITE when no tenant is asked
        // for.
        {"user_requested_tenant_access", "WRITE"},
    };
}

std::string owner_key(const principal& who) {
    return who.realm + ":" + who.name;
}

acl_fields acl_fields_of(const json::object& body) {
    acl_fields f;
    if (auto mode = string_field(body, "access_mode")) {
        f.access = parse_access_mode(*mode);
    }
    if (const auto* roles = field(body, "backend_roles"); roles != nullptr && roles->is_array()) {
        std::vector<std::string> out;
        for (const auto& r : roles->get_array()) {
            if (r.is_string()) {
                out.emplace_back(r.get_string());
            }
        }
        f.backend_roles = std::move(out);
    }
    f.add_all_backend_roles = bool_field(body, "add_all_backend_roles");
    return f;
}

bool has_acl_fields(const json::object& body) {
    return field(body, "backend_roles") != nullptr || field(body, "access_mode") != nullptr ||
           field(body, "add_all_backend_roles") != nullptr;
}

json::object with_acl_fields(
    const json::object& doc, std::string_view after, const acl_grant& grant, const json::object* owner
) {
    json::object acl;
    if (grant.access == access_mode::restricted || !grant.backend_roles.empty()) {
        json::array roles;
        for (const auto& r : grant.backend_roles) {
            roles.emplace_back(r);
        }
        acl["backend_roles"] = std::move(roles);
    }
    if (owner != nullptr) {
        acl["owner"] = *owner;
    }
    if (grant.access != access_mode::unset) {
        acl["access"] = to_string(grant.access);
    }
    json::object out;
    bool placed = false;
    auto place = [&] {
        for (const auto& kv : acl) {
            if (!doc.contains(kv.key())) {
                out[kv.key()] = kv.value();
            }
        }
        placed = true;
    };
    for (const auto& kv : doc) {
        if (const auto* v = acl.if_contains(kv.key())) {
            out[kv.key()] = *v;
        } else if (kv.key() == "backend_roles" && grant.backend_roles.empty()) {
            continue;  // roles cleared (a non-restricted mode keeps none)
        } else {
            out[kv.key()] = kv.value();
        }
        if (!placed && kv.key() == after) {
            place();
        }
    }
    if (!placed) {
        place();
    }
    return out;
}

decide_options access_options(const cluster_settings& settings, const caller& who, bool strict_writes) {
    decide_options o;
    o.connector_acl = settings.connector_access_control_enabled();
    o.model_acl = settings.model_access_control_enabled();
    o.strict_writes = strict_writes;
    o.multi_tenancy = settings.multi_tenancy_enabled();
    o.tenant = who.tenant_id;
    o.privileges_checked = true;
    return o;
}

bool in_scope(const resource& r, const caller& who, const decide_options& opts) {
    return opts.multi_tenancy || r.tenant_id == who.tenant_id;
}

bool owner_shown(kind k, const decide_options& opts) {
    switch (k) {
        case kind::connector:
            return opts.connector_acl;
        case kind::model_group:
            return opts.model_acl;
        default:
            return true;
    }
}

namespace {

// The realm half of owner_key when the key names the document's owner; "" otherwise (names alone decide).
void set_owner_realm(resource_acl& acl, const resource& r) {
    if (!acl.owner || r.owner_key.empty()) {
        return;
    }
    const std::string& key = r.owner_key;
    const std::string& name = acl.owner->name;
    if (key.size() > name.size() && key.ends_with(name) && key[key.size() - name.size() - 1] == ':') {
        acl.owner->realm = key.substr(0, key.size() - name.size() - 1);
    }
}

resource_acl stored_acl(acl_kind k, const resource& r) {
    resource_acl acl = acl_from_doc(k, r.id, r.tenant_id, r.doc());
    set_owner_realm(acl, r);
    return acl;
}

}  // namespace

resource_acl connector_acl(const resource& connector) {
    return stored_acl(acl_kind::connector, connector);
}

resource_acl model_group_acl(const resource& group) {
    return stored_acl(acl_kind::model_group, group);
}

resource_acl model_acl(const resource& model, const resource* group) {
    resource_acl acl =
        model_acl_from_docs(model.id, model.tenant_id, model.doc(), group ? &group->doc() : nullptr);
    if (group != nullptr) {
        set_owner_realm(acl, *group);
    }
    return acl;
}

resource_acl model_acl(const snapshot& s, const resource& model) {
    const resource* group = nullptr;
    if (auto gid = string_field(model.doc(), "model_group_id")) {
        group = s.find(kind::model_group, *gid);
    }
    return model_acl(model, group);
}

resource_acl task_acl(const resource& task) {
    resource_acl acl;
    acl.id = task.id;
    acl.tenant_id = task.tenant_id;
    return acl;
}

decision authorize(const caller& who, action act, const resource_acl& acl, const decide_options& opts) {
    return decide(who.user.get(), act, &acl, opts);
}

std::vector<search_doc> search_candidates(
    const snapshot& s, kind k, const caller& who, const decide_options& opts
) {
    std::vector<search_doc> docs;
    docs.reserve(s.of(k).size());
    const principal* user = who.user.get();
    s.of(k).for_each([&](const std::string&, const resource& r) {
        if (r.tenant_id != who.tenant_id) {
            return;  // tenancy on or off: a search never crosses tenants (R13)
        }
        // Security off and tenancy handled above: the ACL cannot hide anything.
        if (user != nullptr) {
            resource_acl acl;
            switch (k) {
                case kind::connector:
                    acl = connector_acl(r);
                    break;
                case kind::model_group:
                    acl = model_group_acl(r);
                    break;
                case kind::model:
                    acl = model_acl(s, r);
                    break;
                default:
                    acl = task_acl(r);
                    break;
            }
            if (!search_visible(user, acl, opts)) {
                return;
            }
        }
        docs.push_back({r.id, &r.doc(), r.version, r.seq_no, 1});
    });
    // Index order: the order documents were written in.
    std::sort(docs.begin(), docs.end(), [](const auto& a, const auto& b) { return a.seq_no < b.seq_no; });
    return docs;
}

}  // namespace modelrelay::registry
