// File: identity_patch.cpp
#include "registry/identity_patch.hpp"

#include <algorithm>

#include "registry/authz.hpp"
#include "registry/json_patch.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

void put_strings(json::object& o, std::string_view key, const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) {
        a.emplace_back(s);
    }
    o[key] = std::move(a);
}

void put_flag(json::object& o, std::string_view key, bool v) {
    if (v) {
        o[key] = true;
    }
}

struct entity_flags {
    bool exists = false;
    bool reserved = false;
    bool hidden = false;
    bool is_static = false;
};

entity_flags flags_of(const identity_state& s, identity_kind kind, std::string_view name) {
    switch (kind) {
        case identity_kind::user:
            if (const auto* u = s.find_user(name)) {
                return {true, u->reserved, u->hidden, false};
            }
            break;
        case identity_kind::role:
            if (builtin_roles().find(name) != nullptr) {
                return {true, true, false, true};
            }
            if (const auto it = s.roles.find(name); it != s.roles.end()) {
                return {true, it->second.reserved, it->second.hidden, false};
            }
            break;
        case identity_kind::mapping:
            if (const auto it = s.mappings.find(name); it != s.mappings.end()) {
                return {true, it->second.reserved, it->second.hidden, false};
            }
            break;
    }
    return {};
}

// The collection as the plugin's PATCH sees it: every entity, hidden and static ones included.
json::object collection_view(const identity_state& s, identity_kind kind) {
    json::object out;
    switch (kind) {
        case identity_kind::user:
            for (const auto& [n, u] : s.users) {
                out[n] = user_patch_view(u);
            }
            break;
        case identity_kind::role:
            for (const auto& r : builtin_role_definitions()) {
                out[r.name] = role_patch_view(r);
            }
            for (const auto& [n, r] : s.roles) {
                out[n] = role_patch_view(r);
            }
            break;
        case identity_kind::mapping:
            for (const auto& [n, m] : s.mappings) {
                out[n] = mapping_patch_view(m);
            }
            break;
    }
    return out;
}

json::object entity_view(const identity_state& s, identity_kind kind, std::string_view name) {
    switch (kind) {
        case identity_kind::user:
            return user_patch_view(*s.find_user(name));
        case identity_kind::role:
            if (builtin_roles().find(name) == nullptr) {
                return role_patch_view(s.roles.find(name)->second);
            }
            for (const auto& r : builtin_role_definitions()) {
                if (r.name == name) {
                    return role_patch_view(r);
                }
            }
            break;
        case identity_kind::mapping:
            return mapping_patch_view(s.mappings.find(name)->second);
    }
    return {};
}

// `reserved` and `hidden` of a patched form: the super-admin's to set (PUT keeps them; PATCH writes the
// patched form as it is, like the plugin). For anyone else they stay in the body and are refused there.
struct taken_flags {
    bool reserved = false;
    bool hidden = false;
};

result<taken_flags> take_flags(json::object& body, bool super_admin) {
    taken_flags f;
    if (!super_admin) {
        return f;
    }
    for (std::string_view key : {"reserved", "hidden"}) {
        if (const auto* v = body.if_contains(key)) {
            if (!v->is_bool()) {
                return security_validation("Wrong datatype", json::object{{key, "boolean expected"}});
            }
            (key == "reserved" ? f.reserved : f.hidden) = v->get_bool();
            body.erase(key);
        }
    }
    return f;
}

}  // namespace

std::string_view identity_word(identity_kind k) {
    switch (k) {
        case identity_kind::user:
            return "user";
        case identity_kind::role:
            return "role";
        case identity_kind::mapping:
            return "rolesmapping";
    }
    return "user";
}

json::object user_patch_view(const internal_user& u) {
    json::object o;
    if (!u.hash.empty()) {
        o["hash"] = u.hash;
    }
    put_flag(o, "reserved", u.reserved);
    put_flag(o, "hidden", u.hidden);
    put_strings(o, "backend_roles", u.backend_roles);
    json::object attrs;
    for (const auto& [k, v] : u.attributes) {
        attrs[k] = v;
    }
    o["attributes"] = std::move(attrs);
    o["description"] = u.description;
    put_strings(o, "opendistro_security_roles", u.security_roles);
    return o;
}

json::object role_patch_view(const role_definition& r) {
    json::object o;
    put_flag(o, "reserved", r.reserved);
    put_flag(o, "hidden", r.hidden);
    o["description"] = r.description;
    put_strings(o, "cluster_permissions", r.cluster_permissions);
    o["index_permissions"] = r.index_permissions;
    o["tenant_permissions"] = r.tenant_permissions;
    put_flag(o, "static", r.static_);
    return o;
}

json::object mapping_patch_view(const role_mapping& m) {
    json::object o;
    put_flag(o, "reserved", m.reserved);
    put_flag(o, "hidden", m.hidden);
    put_strings(o, "backend_roles", m.backend_roles);
    put_strings(o, "hosts", m.hosts);
    put_strings(o, "users", m.users);
    put_strings(o, "and_backend_roles", m.and_backend_roles);
    o["description"] = m.description;
    return o;
}

std::optional<error> entity_write_guard(
    std::string_view name, bool reserved, bool hidden, bool is_static, bool super_admin
) {
    if (hidden) {
        return security_status(404, "NOT_FOUND", "Resource '" + std::string(name) + "' is not available.");
    }
    if (is_static) {
        return security_status(403, "FORBIDDEN", "Resource '" + std::string(name) + "' is static.");
    }
    if (reserved && !super_admin) {
        return security_status(403, "FORBIDDEN", "Resource '" + std::string(name) + "' is reserved.");
    }
    return std::nullopt;
}

std::optional<error> entity_name_error(std::string_view name) {
    if (valid_entity_name(name)) {
        return std::nullopt;
    }
    return security_validation(
        "Invalid name '" + std::string(name) + "': names must match ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$"
    );
}

std::optional<error> mapping_role_error(const identity_state& s, std::string_view name) {
    if (builtin_roles().find(name) != nullptr || s.roles.contains(name)) {
        return std::nullopt;
    }
    return security_status(
        404, "NOT_FOUND", "Role '" + std::string(name) + "' is not available for role-mapping."
    );
}

result<identity_patch_plan> plan_identity_patch(
    const identity_state& s,
    identity_kind kind,
    std::string_view entity,
    const json::array& ops,
    bool super_admin
) {
    identity_patch_plan plan;
    plan.kind = kind;
    plan.entity = std::string(entity);
    plan.generation = s.generation;
    if (!entity.empty()) {
        const entity_flags f = flags_of(s, kind, entity);
        if (auto g = entity_write_guard(entity, f.reserved, f.hidden, f.is_static, super_admin)) {
            return *g;
        }
        if (!f.exists) {
            return security_status(
                404,
                "NOT_FOUND",
                std::string(identity_word(kind)) + " '" + std::string(entity) + "' not found."
            );
        }
        auto patched = apply_json_patch(ops, entity_view(s, kind, entity));
        if (!patched) {
            return patched.error();
        }
        if (!patched->is_object()) {
            return security_validation("Wrong datatype", json::object{{"body", "object expected"}});
        }
        plan.changed.emplace_back(std::string(entity), std::move(patched->get_object()));
        return plan;
    }

    const json::object before = collection_view(s, kind);
    auto patched = apply_json_patch(ops, before);
    if (!patched) {
        return patched.error();
    }
    if (!patched->is_object()) {
        return security_validation("Wrong datatype", json::object{{"body", "object expected"}});
    }
    json::object& after = patched->get_object();
    // A path at the root replaces the whole collection: every entity before and after is touched (the
    // plugin checks only the names in the paths, so a root replace would skip the reserved guards).
    auto touched = patch_entity_names(ops);
    if (touched.whole) {
        touched.names.clear();
        for (const json::object* side : {&before, static_cast<const json::object*>(&after)}) {
            for (const auto& kv : *side) {
                const std::string n(kv.key());
                if (std::find(touched.names.begin(), touched.names.end(), n) == touched.names.end()) {
                    touched.names.push_back(n);
                }
            }
        }
    }
    for (const auto& name : touched.names) {
        const auto* was = before.if_contains(name);
        const auto* now = after.if_contains(name);
        if (was != nullptr && (now == nullptr || *was != *now)) {
            const entity_flags f = flags_of(s, kind, name);
            if (auto g = entity_write_guard(name, f.reserved, f.hidden, f.is_static, super_admin)) {
                return *g;
            }
        }
        if (now == nullptr) {
            if (was != nullptr) {
                plan.removed.push_back(name);
            }
            continue;
        }
        if (was != nullptr && *was == *now) {
            continue;
        }
        if (!now->is_object()) {
            return security_validation("Wrong datatype", json::object{{"body", "object expected"}});
        }
        plan.changed.emplace_back(name, now->get_object());
    }
    return plan;
}

result<identity_changes> validate_identity_patch(
    const identity_state& s, identity_patch_plan plan, bool super_admin, const password_policy& policy
) {
    identity_changes out;
    out.kind = plan.kind;
    out.removed = std::move(plan.removed);
    for (auto& [name, body] : plan.changed) {
        const entity_flags f = flags_of(s, plan.kind, name);
        if (!f.exists) {
            if (auto bad = entity_name_error(name)) {
                return *bad;
            }
        }
        auto flags = take_flags(body, super_admin);
        if (!flags) {
            return flags.error();
        }
        const json::value as_value(std::move(body));
        switch (plan.kind) {
            case identity_kind::user: {
                auto u = user_from_body(name, as_value, s.find_user(name), policy);
                if (!u) {
                    return u.error();
                }
                u->reserved = flags->reserved;
                u->hidden = flags->hidden;
                out.users.push_back(std::move(*u));
                break;
            }
            case identity_kind::role: {
                auto r = role_from_body(name, as_value);
                if (!r) {
                    return r.error();
                }
                r->reserved = flags->reserved;
                r->hidden = flags->hidden;
                out.roles.push_back(std::move(*r));
                break;
            }
            case identity_kind::mapping: {
                if (auto missing = mapping_role_error(s, name)) {
                    return *missing;
                }
                auto m = mapping_from_body(name, as_value);
                if (!m) {
                    return m.error();
                }
                m->reserved = flags->reserved;
                m->hidden = flags->hidden;
                out.mappings.push_back(std::move(*m));
                break;
            }
        }
    }
    return out;
}

}  // namespace modelrelay::registry
