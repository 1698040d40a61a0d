// File: authz.hpp
// Who may call what, for which tenant, on which resource: one pure decide() that every route runs before
// any other work (spec security.md R6, R10), plus the pieces handlers need around it: the action-name
// table, the built-in roles, tenant resolution, the search-visibility predicate and the ACL-field
// validation texts of create/register/update. Nothing here does I/O or reads settings; callers pass the
// switches in decide_options, so every answer can be tested as a table.
//
// What a denial looks like: a registry::error whose code fixes status and `type`, and whose reason is the
// exact ml-commons / Security plugin / Elasticsearch text for that route.
//
// Where modelrelay deliberately differs from ml-commons (security.md §8; each is a "differs" row in
// docs/api.md):
//  1. R8, owner-less resources: ml-commons lets anyone use a connector or model group without `owner`
//     (`previouslyPublicConnector`, quirk 2). Here they are admin-only once the ACL switch is on, and a
//     model without a model group (imported data) is treated the same way. Search hides them too.
//  2. R8, `access` missing but an owner recorded (connectors created with ACL off, which ml-commons stores
//     without either): treated as `private`, so turning the ACL on later opens nothing.
//  3. R9, strict writes (decide_options::strict_writes, default on): update and delete (connectors,
//     model groups, models) and model controller writes need the owner or an admin. A caller the ml-commons
//     predicate would let through gets the route's ml-commons text with status 403 (errc::forbidden). Callers
//     the predicate itself refuses keep ml-commons' exact status and type (400 / 403 / 500) so R7 stays
//     byte-exact. Off restores quirk 1 (readers of a public connector may rewrite or delete it).
//  4. R14, tenancy does not switch model-group ACL off (ml-commons quirk 5), and the connector admin
//     shortcut is not skipped under tenancy: tenancy and ACL are ANDed.
//  5. R12, the tenant is bound to the principal: a non-admin's x-tenant-id must equal its tenant
//     (ml-commons trusts the header as-is). `all_access` and the super-admin pick any tenant with the
//     header, and then only see that tenant: crossing is explicit, never implicit.
//  6. Owners match by name, and also by realm when both sides know it (R8 `realm:name`), so an internal
//     user and a certificate with the same CN are different owners. ml-commons compares names only.
//  7. The super-admin is a principal with `super_admin` set rather than a null user: it bypasses
//     privileges and ACLs like in OpenSearch, but it is an admin for the ACL-field validation (ml-commons
//     would reject its access_mode as "access control ... disabled") and it still has a tenant.
//  8. A null principal means security is off: everything is allowed, except that tenancy, when on, still
//     scopes by the x-tenant-id header exactly like ml-commons.
//  9. Built-in roles: `ml_full_access` also carries `cluster:admin/xpack/inference/*` and
//     `ml_read_access` `cluster:monitor/xpack/inference/get`, so the `_inference` front door is usable
//     with the ml roles (OpenSearch has no such API). `ml_readonly_access` is an alias of
//     `ml_read_access` (the name the docs use, DOC≠CODE).
// 10. A stored restricted group without roles answers "no shared role" instead of ml-commons' 500
//     `Backend roles shouldn't be null`; modelrelay's validation cannot produce one.
// 11. With model ACL off, a group update carrying `"backend_roles":[]` leaves the group alone (ml-commons
//     passes the ACL-off check and then turns the group `restricted` with no roles).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "registry/error.hpp"
#include "registry/principal.hpp"

namespace modelrelay::registry {

// Admin for ACL purposes: the super-admin, or a principal holding the role named `all_access`.
bool is_admin(const principal& who);

// ---------------------------------------------------------------------------------------------------------
// Actions (security.md §1.3). /v1 uses the ml actions of what it does: chat, completions and embeddings
// are `predict` (`predict/stream` when streaming), /v1/models is `models/search`, /v1/models/{m}
// `models/get`. `_inference` uses Elasticsearch's action names.
enum class action : std::uint8_t {
    cluster_main,
    cluster_health,
    settings_get,
    settings_update,
    connector_create,
    connector_get,
    connector_search,
    connector_update,
    connector_delete,
    model_group_register,
    model_group_get,
    model_group_search,
    model_group_update,
    model_group_delete,
    model_register,
    model_get,
    model_search,
    model_update,
    model_delete,
    model_deploy,
    model_undeploy,
    model_predict,
    model_predict_stream,
    task_get,
    task_search,
    task_delete,
    inference_run,
    inference_get,
    inference_put,
    inference_update,
    inference_delete,
    kek_rotate,  // modelrelay's own: POST /_plugins/_modelrelay/_rotate_kek, all_access only
    controller_create,
    controller_get,
    controller_update,
    controller_delete,
    profile,
    stats,
};

// Which ACL switch governs the resources an ACL is built for.
enum class acl_kind : std::uint8_t { none, connector, model_group, model };

struct action_info {
    action act;
    std::string_view name;  // the transport action name privileges are matched against
    bool tenant_scoped;     // the route reads x-tenant-id under multi-tenancy (not settings, health, root)
};
const action_info& info(action a);
inline std::string_view action_name(action a) {
    return info(a).name;
}

// The REST routes modelrelay serves, by method and path template ({placeholders} as in the router).
struct route_action {
    std::string_view method;
    std::string_view path;
    action act;
};
std::span<const route_action> route_actions();
std::optional<action> action_for_route(std::string_view method, std::string_view path_template);

// ---------------------------------------------------------------------------------------------------------
// Roles: cluster permission patterns per role name, matched like OpenSearch's WildcardMatcher (`*` any
// run including `/`, `?` one character, `/regex/` a full-match regular expression, otherwise exact; case
// sensitive). The action groups `cluster_all` and `cluster_monitor` expand to `cluster:*` and
// `cluster:monitor/*`.
bool permission_matches(std::string_view pattern, std::string_view action_name);

class role_table {
public:
    // The built-in roles only: all_access, ml_full_access, ml_read_access, ml_readonly_access,
    // security_rest_api_access.
    role_table();
    // Adds or replaces a custom role (security.md §2.3 roles API).
    void put(std::string name, std::vector<std::string> cluster_permissions);
    const std::vector<std::string>* find(std::string_view name) const;
    bool permits(std::span<const std::string> role_names, std::string_view action_name) const;

private:
    std::map<std::string, std::vector<std::string>, std::less<>> roles_;
};
const role_table& builtin_roles();

// ---------------------------------------------------------------------------------------------------------
// The ACL of one resource, as decide() needs it. For models, pass the model's id with its group's ACL
// (models inherit it; model_acl_from_docs does that).
enum class access_mode : std::uint8_t { unset, public_, private_, restricted };
// "public" / "private" / "restricted"; anything else is nullopt (ml-commons AccessMode.from returns null).
std::optional<access_mode> parse_access_mode(std::string_view text);
std::string_view to_string(access_mode m);  // "" for unset

struct owner_ref {
    std::string name;
    std::string realm;  // "" when not recorded: then names alone decide
};

struct resource_acl {
    acl_kind kind = acl_kind::none;
    std::string id;                  // the addressed resource, for messages (model id for model actions)
    std::string name;                // model group name, for the register-by-name message
    std::string tenant_id;           // "" outside multi-tenancy
    std::optional<owner_ref> owner;  // nullopt: owner-less (admin-only under ACL, R8)
    access_mode access = access_mode::unset;
    std::vector<std::string> backend_roles;
    bool hidden = false;  // `is_hidden` models: super-admin only
};

// Reads `owner.name`, `access`, `backend_roles`, `name` and `is_hidden` from a stored document. The owner
// realm is not part of the document; set owner->realm from the store when it is recorded.
resource_acl acl_from_doc(
    acl_kind kind, std::string_view id, std::string_view tenant_id, const boost::json::object& doc
);
// A model's ACL: its group's owner/access/roles (group_doc null: owner-less), its own id and is_hidden.
resource_acl model_acl_from_docs(
    std::string_view model_id,
    std::string_view tenant_id,
    const boost::json::object& model_doc,
    const boost::json::object* group_doc
);

// ---------------------------------------------------------------------------------------------------------
// The decision.
struct decide_options {
    bool connector_acl = false;         // plugins.ml_commons.connector_access_control_enabled
    bool model_acl = false;             // plugins.ml_commons.model_access_control_enabled
    bool strict_writes = true;          // security.strict_write_acl (R9)
    bool multi_tenancy = false;         // plugins.ml_commons.multi_tenancy_enabled
    std::string_view tenant;            // the request's tenant, from resolve_tenant()
    bool changes_acl_fields = false;    // update body has access_mode / backend_roles / add_all_backend_roles
    bool group_found_by_name = false;   // model register matched an existing group by its name
    const role_table* roles = nullptr;  // nullptr: builtin_roles()
    // The route gate already matched the action name against the caller's roles (custom roles included):
    // resource checks then skip step 1 of decide().
    bool privileges_checked = false;
};

// The ES-style 403 for a missing privilege is `security_exception`; until error.hpp has a code for it,
// missing privileges use this one (status right, `type` status_exception instead of security_exception).
inline constexpr errc missing_privilege_code = errc::security_forbidden;

using decision = result<void>;

// In order: (1) the principal's roles must grant the action (R6; denial: Security plugin 403, or the ES
// text for `_inference`); (2) under multi-tenancy a non-admin's tenant must equal opts.tenant and the
// resource's tenant must equal opts.tenant (403 `You don't have permission to access this resource`);
// (3) the resource ACL (§1.2 predicate, R8, R9) with the route's ml-commons message. `resource` is null
// for create and for whole-collection checks (search before filtering).
//
// Which resource to pass: connector routes, the connector; model-group routes, the group; model routes,
// model_acl_from_docs(); model register, the connector (connector_id) and then the target group; model
// update that moves the model, the target group as well (acl_kind::model_group gives the re-link text).
decision decide(const principal* who, action act, const resource_acl* resource, const decide_options& opts);

// Whether a stored document is visible in _search (ml-commons addUserBackendRolesFilter: public OR
// backend_roles shared OR private-and-owner), ANDed with the tenant filter and R8. Callers still run
// decide() for the search action itself first. As in ml-commons the roles clause ignores `access`, so a
// connector switched from restricted to private while keeping its roles stays visible to role holders
// (GET still refuses them); clearing backend_roles on such an update avoids it.
bool search_visible(const principal* who, const resource_acl& resource, const decide_options& opts);

// ---------------------------------------------------------------------------------------------------------
// Tenancy (R12). `header` is x-tenant-id as sent (nullopt when absent). Returns the tenant the request
// runs in ("" when tenancy is off). ml routes require the header (403 `Tenant ID header is missing or has
// no value`); /v1 and _inference take the principal's tenant and only check a header that is present.
// A non-admin's header must equal its tenant (403 `You don't have permission to access this resource`).
enum class front_door : std::uint8_t { ml, inference, openai };
result<std::string> resolve_tenant(
    const principal* who, std::optional<std::string_view> header, front_door door, bool multi_tenancy
);

// ---------------------------------------------------------------------------------------------------------
// ACL fields of a create/register/update body. Absent fields are nullopt; an unknown access_mode string
// is nullopt too (ml-commons ignores it silently).
struct acl_fields {
    std::optional<access_mode> access;
    std::optional<std::vector<std::string>> backend_roles;
    std::optional<bool> add_all_backend_roles;
};

// What to store: the access mode and backend roles after defaults and add_all_backend_roles.
struct acl_grant {
    access_mode access = access_mode::unset;
    std::vector<std::string> backend_roles;
};

// Connector create (ml-commons.md §1.1). ACL off or security off: any ACL field → 400 and the grant is
// {unset, []}. ACL on: defaults (restricted if roles are given, else private) and the validation texts.
result<acl_grant> validate_connector_acl(const principal* who, const acl_fields& fields, bool connector_acl);
// Model group register, also for the group model register creates (ml-commons.md §1.2). ACL off: fields
// → 400 and the grant is {public, []}.
result<acl_grant> validate_model_group_acl(const principal* who, const acl_fields& fields, bool model_acl);
// Model group update, after decide(model_group_update) allowed it: the field texts of
// TransportUpdateModelGroupAction and the group's new access/roles (unchanged fields keep `current`).
result<acl_grant> validate_model_group_acl_update(
    const principal* who, const acl_fields& fields, const acl_grant& current, bool model_acl
);

}  // namespace modelrelay::registry
