// File: authz.cpp
// The authorization core declared in authz.hpp: tables (actions, routes, built-in roles), the permission
// matcher, decide() and the ACL-field validators. Message texts are copied from ml-commons, the
// Security plugin and Elasticsearch (spec security.md §1.2–§1.4, §3, §4; ml-commons.md §1.1–§1.3).
#include "registry/authz.hpp"

#include <algorithm>
#include <array>

#include <re2/re2.h>

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

constexpr std::string_view ml = "cluster:admin/opensearch/ml/";

// Indexed by the enum value; the static_assert below keeps the two in step.
constexpr std::array<action_info, 38> actions{{
    {action::cluster_main, "cluster:monitor/main", false},
    {action::cluster_health, "cluster:monitor/health", false},
    {action::settings_get, "cluster:monitor/state", false},
    {action::settings_update, "cluster:admin/settings/update", false},
    {action::connector_create, "cluster:admin/opensearch/ml/create_connector", true},
    {action::connector_get, "cluster:admin/opensearch/ml/connectors/get", true},
    {action::connector_search, "cluster:admin/opensearch/ml/connectors/search", true},
    {action::connector_update, "cluster:admin/opensearch/ml/connectors/update", true},
    {action::connector_delete, "cluster:admin/opensearch/ml/connectors/delete", true},
    {action::model_group_register, "cluster:admin/opensearch/ml/register_model_group", true},
    {action::model_group_get, "cluster:admin/opensearch/ml/model_groups/get", true},
    {action::model_group_search, "cluster:admin/opensearch/ml/model_groups/search", true},
    {action::model_group_update, "cluster:admin/opensearch/ml/update_model_group", true},
    {action::model_group_delete, "cluster:admin/opensearch/ml/model_groups/delete", true},
    {action::model_register, "cluster:admin/opensearch/ml/register_model", true},
    {action::model_get, "cluster:admin/opensearch/ml/models/get", true},
    {action::model_search, "cluster:admin/opensearch/ml/models/search", true},
    {action::model_update, "cluster:admin/opensearch/ml/models/update", true},
    {action::model_delete, "cluster:admin/opensearch/ml/models/delete", true},
    {action::model_deploy, "cluster:admin/opensearch/ml/deploy_model", true},
    {action::model_undeploy, "cluster:admin/opensearch/ml/undeploy_models", true},
    {action::model_predict, "cluster:admin/opensearch/ml/predict", true},
    {action::model_predict_stream, "cluster:admin/opensearch/ml/predict/stream", true},
    {action::task_get, "cluster:admin/opensearch/ml/tasks/get", true},
    {action::task_search, "cluster:admin/opensearch/ml/tasks/search", true},
    {action::task_delete, "cluster:admin/opensearch/ml/tasks/delete", true},
    {action::inference_run, "cluster:monitor/xpack/inference", true},
    {action::inference_get, "cluster:monitor/xpack/inference/get", true},
    {action::inference_put, "cluster:admin/xpack/inference/put", true},
    {action::inference_update, "cluster:admin/xpack/inference/update", true},
    {action::inference_delete, "cluster:admin/xpack/inference/delete", true},
    {action::kek_rotate, "cluster:admin/modelrelay/kek/rotate", false},
    {action::controller_create, "cluster:admin/opensearch/ml/controllers/create", true},
    {action::controller_get, "cluster:admin/opensearch/ml/controllers/get", true},
    {action::controller_update, "cluster:admin/opensearch/ml/controllers/update", true},
    {action::controller_delete, "cluster:admin/opensearch/ml/controllers/delete", true},
    {action::profile, "cluster:admin/opensearch/ml/profile/nodes", false},
    {action::stats, "cluster:admin/opensearch/ml/stats/nodes", false},
}};
static_assert(actions.size() == static_cast<std::size_t>(action::stats) + 1);

constexpr route_action routes[] = {
    {"GET", "/", action::cluster_main},
    {"HEAD", "/", action::cluster_main},
    {"GET", "/_cluster/health", action::cluster_health},
    // OpenSearch asks cluster:monitor/nodes/info and cluster:monitor/state here; the probe is read-only and
    // names no data, so it rides on the privilege GET / needs.
    {"GET", "/_cat/plugins", action::cluster_main},
    {"GET", "/_cluster/settings", action::settings_get},
    {"PUT", "/_cluster/settings", action::settings_update},

    {"POST", "/_plugins/_ml/connectors/_create", action::connector_create},
    {"GET", "/_plugins/_ml/connectors/_search", action::connector_search},
    {"POST", "/_plugins/_ml/connectors/_search", action::connector_search},
    {"GET", "/_plugins/_ml/connectors/{connector_id}", action::connector_get},
    {"PUT", "/_plugins/_ml/connectors/{connector_id}", action::connector_update},
    {"DELETE", "/_plugins/_ml/connectors/{connector_id}", action::connector_delete},

    {"POST", "/_plugins/_ml/model_groups/_register", action::model_group_register},
    {"GET", "/_plugins/_ml/model_groups/_search", action::model_group_search},
    {"POST", "/_plugins/_ml/model_groups/_search", action::model_group_search},
    {"GET", "/_plugins/_ml/model_groups/{model_group_id}", action::model_group_get},
    {"PUT", "/_plugins/_ml/model_groups/{model_group_id}", action::model_group_update},
    {"DELETE", "/_plugins/_ml/model_groups/{model_group_id}", action::model_group_delete},

    {"POST", "/_plugins/_ml/models/_register", action::model_register},
    {"POST", "/_plugins/_ml/models/_upload", action::model_register},
    {"POST", "/_plugins/_ml/models/{model_id}/{version}/_register", action::model_register},
    {"POST", "/_plugins/_ml/models/{model_id}/{version}/_upload", action::model_register},
    {"GET", "/_plugins/_ml/models/_search", action::model_search},
    {"POST", "/_plugins/_ml/models/_search", action::model_search},
    {"POST", "/_plugins/_ml/models/_undeploy", action::model_undeploy},
    {"POST", "/_plugins/_ml/models/_unload", action::model_undeploy},
    {"GET", "/_plugins/_ml/models/{model_id}", action::model_get},
    {"PUT", "/_plugins/_ml/models/{model_id}", action::model_update},
    {"DELETE", "/_plugins/_ml/models/{model_id}", action::model_delete},
    {"POST", "/_plugins/_ml/models/{model_id}/_deploy", action::model_deploy},
    {"POST", "/_plugins/_ml/models/{model_id}/_load", action::model_deploy},
    {"POST", "/_plugins/_ml/models/{model_id}/_undeploy", action::model_undeploy},
    {"POST", "/_plugins/_ml/models/{model_id}/_unload", action::model_undeploy},
    {"POST", "/_plugins/_ml/models/{model_id}/_predict", action::model_predict},
    {"POST", "/_plugins/_ml/models/{model_id}/_predict/stream", action::model_predict_stream},
    {"POST", "/_plugins/_ml/_predict/{algorithm}/{model_id}", action::model_predict},

    {"GET", "/_plugins/_ml/tasks/_search", action::task_search},
    {"POST", "/_plugins/_ml/tasks/_search", action::task_search},
    {"GET", "/_plugins/_ml/tasks/{task_id}", action::task_get},
    {"DELETE", "/_plugins/_ml/tasks/{task_id}", action::task_delete},

    {"GET", "/_inference", action::inference_get},
    {"GET", "/_inference/_all", action::inference_get},
    {"GET", "/_inference/{inference_id}", action::inference_get},
    {"GET", "/_inference/{task_type}/{inference_id}", action::inference_get},
    {"PUT", "/_inference/{inference_id}", action::inference_put},
    {"PUT", "/_inference/{task_type}/{inference_id}", action::inference_put},
    {"PUT", "/_inference/{inference_id}/_update", action::inference_update},
    {"PUT", "/_inference/{task_type}/{inference_id}/_update", action::inference_update},
    {"DELETE", "/_inference/{inference_id}", action::inference_delete},
    {"DELETE", "/_inference/{task_type}/{inference_id}", action::inference_delete},
    {"POST", "/_inference/{inference_id}", action::inference_run},
    {"POST", "/_inference/{task_type}/{inference_id}", action::inference_run},
    {"POST", "/_inference/{task_type}/{inference_id}/_stream", action::inference_run},
    {"POST", "/_inference/{inference_id}/_stream", action::inference_run},
    {"POST", "/_inference/{task_type}/{inference_id}/_unified", action::inference_run},
    {"POST", "/_inference/{inference_id}/_update", action::inference_update},
    {"POST", "/_inference/{task_type}/{inference_id}/_update", action::inference_update},
    {"POST", "/_inference/chat_completion/{inference_id}/_stream", action::inference_run},

    {"POST", "/v1/chat/completions", action::model_predict},
    {"POST", "/v1/completions", action::model_predict},
    {"POST", "/v1/embeddings", action::model_predict},
    {"GET", "/v1/models", action::model_search},
    {"GET", "/v1/models/{model}", action::model_get},
    {"GET", "/v1/models/{m1}/{m2}", action::model_get},  // model names with slashes (routes.cpp)
    {"GET", "/v1/models/{m1}/{m2}/{m3}", action::model_get},
    {"GET", "/v1/models/{m1}/{m2}/{m3}/{m4}", action::model_get},

    {"POST", "/_plugins/_modelrelay/_rotate_kek", action::kek_rotate},
    {"POST", "/_plugins/_modelrelay/_rotate_data_keys", action::kek_rotate},

    {"POST", "/_plugins/_ml/controllers/{model_id}", action::controller_create},
    {"GET", "/_plugins/_ml/controllers/{model_id}", action::controller_get},
    {"PUT", "/_plugins/_ml/controllers/{model_id}", action::controller_update},
    {"DELETE", "/_plugins/_ml/controllers/{model_id}", action::controller_delete},

    {"GET", "/_plugins/_ml/stats", action::stats},
    {"GET", "/_plugins/_ml/stats/{stat}", action::stats},
    {"GET", "/_plugins/_ml/{node_id}/stats", action::stats},
    {"GET", "/_plugins/_ml/{node_id}/stats/{stat}", action::stats},
    {"GET", "/_plugins/_ml/profile", action::profile},
    {"GET", "/_plugins/_ml/profile/models", action::profile},
    {"GET", "/_plugins/_ml/profile/models/{model_id}", action::profile},
    {"GET", "/_plugins/_ml/profile/tasks", action::profile},
    {"GET", "/_plugins/_ml/profile/tasks/{task_id}", action::profile},
};

// --- matching --------------------------------------------------------------------------------------------

// Iterative glob with backtracking to the last `*`: linear in practice, no recursion.
bool glob_match(std::string_view p, std::string_view s) {
    std::size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
    while (si < s.size()) {
        if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
            ++pi;
            ++si;
        } else if (pi < p.size() && p[pi] == '*') {
            star = pi++;
            mark = si;
        } else if (star != std::string_view::npos) {
            pi = star + 1;
            si = ++mark;
        } else {
            return false;
        }
    }
    while (pi < p.size() && p[pi] == '*') {
        ++pi;
    }
    return pi == p.size();
}

// OpenSearch static action groups that can appear in cluster_permissions and matter to modelrelay.
std::string_view expand_action_group(std::string_view pattern) {
    if (pattern == "cluster_all") {
        return "cluster:*";
    }
    if (pattern == "cluster_monitor") {
        return "cluster:monitor/*";
    }
    return pattern;
}

bool contains(std::span<const std::string> list, std::string_view item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

bool shares_any(std::span<const std::string> a, std::span<const std::string> b) {
    return std::any_of(a.begin(), a.end(), [&](const std::string& x) { return contains(b, x); });
}

bool subset_of(std::span<const std::string> part, std::span<const std::string> whole) {
    return std::all_of(part.begin(), part.end(), [&](const std::string& x) { return contains(whole, x); });
}

std::string join(std::span<const std::string> items, std::string_view sep) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) {
            out += sep;
        }
        out += items[i];
    }
    return out;
}

// --- denials ---------------------------------------------------------------------------------------------

error no_tenant_access() {
    return {errc::forbidden, "You don't have permission to access this resource"};
}

bool is_es_action(std::string_view name) {
    return name.starts_with("cluster:monitor/xpack/") || name.starts_with("cluster:admin/xpack/");
}

// Security plugin (security.md §1.4) or, for `_inference`, Elasticsearch (§4) wording.
error missing_privilege(const principal& who, std::string_view name) {
    if (!is_es_action(name)) {
        return {
            missing_privilege_code,
            "no permissions for [" + std::string(name) + "] and User [name=" + who.name +
                ", backend_roles=[" + join(who.backend_roles, ", ") +
                "], requestedTenant=" + who.requested_tenant.value_or("null") + "]"};
    }
    std::string subject = who.api_key_id.empty()
                              ? "user [" + who.name + "] with effective roles [" + join(who.roles, ",") + "]"
                              : "API key id [" + who.api_key_id + "] of user [" + who.name + "]";
    // ES lists the privileges that grant the action, least privileged first.
    const std::string_view granted = name.starts_with("cluster:monitor/")
                                         ? "monitor_inference,manage_inference,monitor,manage,all"
                                         : "manage_inference,manage,all";
    return {
        missing_privilege_code,
        "action [" + std::string(name) + "] is unauthorized for " + subject +
            ", this action is granted by the cluster privileges [" + std::string(granted) + "]"};
}

const std::string model_denied = "User doesn't have privilege to perform this operation on this model";

// The route's ml-commons denial (security.md §1.2 table, ml-commons.md §1.1–§1.3).
error acl_denial(action act, const resource_acl& r, const decide_options& opts) {
    switch (act) {
        case action::connector_get:
        case action::connector_search:
            return {errc::forbidden, "You don't have permission to access this connector"};
        case action::connector_update:
            return {
                errc::illegal_argument,
                "You don't have permission to update the connector, connector id: " + r.id};
        case action::connector_delete:
            return {errc::ml_validation, "You are not allowed to delete this connector"};
        case action::model_group_get:
        case action::model_group_search:
            return {
                errc::forbidden, "User doesn't have privilege to perform this operation on this model group"};
        case action::model_group_update:
            return {errc::illegal_argument, "You don't have permission to update this model group."};
        case action::model_group_delete:
            return {errc::ml_validation, "User doesn't have privilege to delete this model group"};
        case action::model_register:
            if (r.kind == acl_kind::connector) {
                return {
                    errc::illegal_argument,
                    "You don't have permission to use the connector provided, connector id: " + r.id};
            }
            if (opts.group_found_by_name) {
                return {
                    errc::illegal_argument,
                    "The name {" + r.name + "} you provided is unavailable because it is used by another " +
                        "model group with id {" + r.id +
                        "} to which you do not have access. Please provide a different name."};
            }
            return {
                errc::illegal_argument,
                "You don't have permissions to perform this operation on this model."};
        case action::model_update:
            if (r.kind == acl_kind::model_group) {
                return {
                    errc::forbidden,
                    "User Doesn't have privilege to re-link this model to the target model group due to "
                    "no access to the target model group with model group ID " +
                        r.id};
            }
            return {errc::forbidden, model_denied + ", model ID " + r.id};
        case action::model_undeploy:
            return {errc::illegal_argument, "No permission to undeploy model " + r.id};
        case action::controller_create:
        case action::controller_get:
        case action::controller_update:
        case action::controller_delete:
            return {
                errc::forbidden,
                "User doesn't have privilege to perform this operation on this model controller. Model ID: " +
                    r.id};
        default:
            return {errc::forbidden, model_denied};
    }
}

// --- the predicate ---------------------------------------------------------------------------------------

bool is_owner(const principal& who, const resource_acl& r) {
    if (!r.owner || r.owner->name != who.name) {
        return false;
    }
    return r.owner->realm.empty() || who.realm.empty() || r.owner->realm == who.realm;
}

// security.md §1.2, with R8: owner-less resources never pass, and an owned resource without `access`
// behaves as private.
bool acl_allows(const principal& who, const resource_acl& r) {
    if (!r.owner) {
        return false;
    }
    switch (r.access) {
        case access_mode::public_:
            return true;
        case access_mode::restricted:
            return shares_any(r.backend_roles, who.backend_roles);
        case access_mode::private_:
        case access_mode::unset:
            return is_owner(who, r);
    }
    return false;
}

bool acl_switch(acl_kind k, const decide_options& opts) {
    switch (k) {
        case acl_kind::connector:
            return opts.connector_acl;
        case acl_kind::model_group:
        case acl_kind::model:
            return opts.model_acl;
        case acl_kind::none:
            return false;
    }
    return false;
}

// Writes R9 reserves to the owner: updates and deletes of the addressed resource. A model update that
// names a target group checks that group as a use, not as a write.
bool is_write(action act, const resource_acl& r) {
    switch (act) {
        case action::connector_update:
        case action::connector_delete:
        case action::model_group_update:
        case action::model_group_delete:
        case action::model_delete:
        // A controller limits every user of the model, its owner included: writing one changes the model.
        case action::controller_create:
        case action::controller_update:
        case action::controller_delete:
            return true;
        case action::model_update:
            return r.kind == acl_kind::model;
        default:
            return false;
    }
}

// TransportUpdateModelGroupAction.validateRequestForAccessControl, permission part: it has its own order
// and texts (owner check for ACL fields first, then the predicate, then the owner who lost the role).
decision decide_group_update(const principal& who, const resource_acl& r, const decide_options& opts) {
    const bool owner = is_owner(who, r);
    if (opts.changes_acl_fields && !owner) {
        return error{errc::illegal_argument, "Only owner or admin can update access control data."};
    }
    if (!owner && !acl_allows(who, r)) {
        return acl_denial(action::model_group_update, r, opts);
    }
    if (owner && r.access == access_mode::restricted && !shares_any(r.backend_roles, who.backend_roles)) {
        return error{
            errc::illegal_argument,
            "You don't have the specified backend role to update this model group. For more information, "
            "contact your administrator."};
    }
    if (opts.strict_writes && !owner) {
        return error{errc::forbidden, acl_denial(action::model_group_update, r, opts).reason};
    }
    return {};
}

void put_string_array(std::vector<std::string>& out, const json::value* v) {
    if (v == nullptr || !v->is_array()) {
        return;
    }
    for (const auto& e : v->get_array()) {
        if (e.is_string()) {
            out.emplace_back(e.get_string());
        }
    }
}

bool non_empty(const std::optional<std::vector<std::string>>& roles) {
    return roles && !roles->empty();
}

}  // namespace

// --- public API ------------------------------------------------------------------------------------------

bool is_admin(const principal& who) {
    return who.super_admin || contains(who.roles, "all_access");
}

const action_info& info(action a) {
    return actions[static_cast<std::size_t>(a)];
}

std::span<const route_action> route_actions() {
    return routes;
}

std::optional<action> action_for_route(std::string_view method, std::string_view path_template) {
    for (const auto& r : routes) {
        if (r.method == method && r.path == path_template) {
            return r.act;
        }
    }
    return std::nullopt;
}

bool permission_matches(std::string_view pattern, std::string_view action_name) {
    pattern = expand_action_group(pattern);
    if (pattern.size() > 1 && pattern.front() == '/' && pattern.back() == '/') {
        RE2::Options o;
        o.set_log_errors(false);
        const RE2 re(pattern.substr(1, pattern.size() - 2), o);
        return re.ok() && RE2::FullMatch(action_name, re);
    }
    if (pattern.find_first_of("*?") != std::string_view::npos) {
        return glob_match(pattern, action_name);
    }
    return pattern == action_name;
}

role_table::role_table() {
    // From the Security plugin's static_roles.yml / roles.yml (security.md §1.3), plus the `_inference`
    // permissions of authz.hpp difference 9.
    roles_["all_access"] = {"*"};
    roles_["ml_full_access"] = {std::string(ml) + "*", "cluster_monitor", "cluster:admin/xpack/inference/*"};
    std::vector<std::string> read;
    for (std::string_view p : {
             "config/get",
             "connectors/get",
             "connectors/search",
             "controllers/get",
             "memory/conversation/get",
             "memory/conversation/interaction/search",
             "memory/conversation/list",
             "memory/conversation/search",
             "memory/interaction/get",
             "memory/interaction/list",
             "memory/trace/get",
             "model_groups/get",
             "model_groups/search",
             "models/get",
             "models/search",
             "profile/nodes",
             "stats/nodes",
             "tasks/get",
             "tasks/search",
             "tools/get",
             "tools/list",
         }) {
        read.push_back(std::string(ml).append(p));
    }
    read.emplace_back("cluster:monitor/xpack/inference/get");
    roles_["ml_read_access"] = read;
    roles_["ml_readonly_access"] = std::move(read);
    // Grants nothing by itself: plugins.security.restapi.roles_enabled names it as a role that may use the
    // Security REST API (security_api.cpp), so it must exist to be mapped.
    roles_["security_rest_api_access"] = {};
}

void role_table::put(std::string name, std::vector<std::string> cluster_permissions) {
    roles_[std::move(name)] = std::move(cluster_permissions);
}

const std::vector<std::string>* role_table::find(std::string_view name) const {
    auto it = roles_.find(name);
    return it == roles_.end() ? nullptr : &it->second;
}

bool role_table::permits(std::span<const std::string> role_names, std::string_view action_name) const {
    for (const auto& role : role_names) {
        if (const auto* perms = find(role)) {
            for (const auto& p : *perms) {
                if (permission_matches(p, action_name)) {
                    return true;
                }
            }
        }
    }
    return false;
}

const role_table& builtin_roles() {
    static const role_table table;
    return table;
}

std::optional<access_mode> parse_access_mode(std::string_view text) {
    if (text == "public") {
        return access_mode::public_;
    }
    if (text == "private") {
        return access_mode::private_;
    }
    if (text == "restricted") {
        return access_mode::restricted;
    }
    return std::nullopt;
}

std::string_view to_string(access_mode m) {
    switch (m) {
        case access_mode::public_:
            return "public";
        case access_mode::private_:
            return "private";
        case access_mode::restricted:
            return "restricted";
        case access_mode::unset:
            return "";
    }
    return "";
}

resource_acl acl_from_doc(
    acl_kind kind, std::string_view id, std::string_view tenant_id, const json::object& doc
) {
    resource_acl r;
    r.kind = kind;
    r.id = id;
    r.tenant_id = tenant_id;
    if (const auto* o = doc.if_contains("owner"); o != nullptr && o->is_object()) {
        if (const auto* n = o->get_object().if_contains("name"); n != nullptr && n->is_string()) {
            r.owner = owner_ref{std::string(n->get_string()), {}};
        }
    }
    if (const auto* a = doc.if_contains("access"); a != nullptr && a->is_string()) {
        r.access = parse_access_mode(a->get_string()).value_or(access_mode::unset);
    }
    put_string_array(r.backend_roles, doc.if_contains("backend_roles"));
    if (const auto* n = doc.if_contains("name"); n != nullptr && n->is_string()) {
        r.name = n->get_string();
    }
    if (const auto* h = doc.if_contains("is_hidden"); h != nullptr && h->is_bool()) {
        r.hidden = h->get_bool();
    }
    return r;
}

resource_acl model_acl_from_docs(
    std::string_view model_id,
    std::string_view tenant_id,
    const json::object& model_doc,
    const json::object* group_doc
) {
    resource_acl r = group_doc != nullptr
                         ? acl_from_doc(acl_kind::model, model_id, tenant_id, *group_doc)
                         : resource_acl{.kind = acl_kind::model, .id = std::string(model_id)};
    r.tenant_id = tenant_id;
    r.name.clear();
    r.hidden = false;
    if (const auto* h = model_doc.if_contains("is_hidden"); h != nullptr && h->is_bool()) {
        r.hidden = h->get_bool();
    }
    return r;
}

decision decide(const principal* who, action act, const resource_acl* resource, const decide_options& opts) {
    const action_info& ai = info(act);

    // 1. The action name (R6). The super-admin and security-off skip it, as in OpenSearch.
    if (who != nullptr && !who->super_admin && !opts.privileges_checked) {
        const role_table& roles = opts.roles != nullptr ? *opts.roles : builtin_roles();
        if (!roles.permits(who->roles, ai.name)) {
            return missing_privilege(*who, ai.name);
        }
    }

    // 2. Tenancy (R12–R14): the caller must be in the request's tenant, and so must the resource.
    if (opts.multi_tenancy && ai.tenant_scoped) {
        if (who != nullptr && !is_admin(*who) && (who->tenant.empty() || who->tenant != opts.tenant)) {
            return no_tenant_access();
        }
        if (resource != nullptr && resource->tenant_id != opts.tenant) {
            return no_tenant_access();
        }
    }

    // 3. The resource ACL (§1.2, R8, R9).
    if (resource == nullptr || who == nullptr) {
        return {};
    }
    if (resource->hidden && !who->super_admin) {
        return act == action::model_update
                   ? error{errc::forbidden, model_denied + ", model ID " + resource->id}
                   : error{errc::forbidden, model_denied};
    }
    if (!acl_switch(resource->kind, opts) || is_admin(*who)) {
        return {};
    }
    if (act == action::model_group_update && resource->kind == acl_kind::model_group) {
        return decide_group_update(*who, *resource, opts);
    }
    if (!acl_allows(*who, *resource)) {
        return acl_denial(act, *resource, opts);
    }
    if (opts.strict_writes && is_write(act, *resource) && !is_owner(*who, *resource)) {
        return error{errc::forbidden, acl_denial(act, *resource, opts).reason};
    }
    return {};
}

bool search_visible(const principal* who, const resource_acl& r, const decide_options& opts) {
    if (opts.multi_tenancy && r.tenant_id != opts.tenant) {
        return false;
    }
    if (who == nullptr) {
        return true;
    }
    if (r.hidden && !who->super_admin) {
        return false;
    }
    if (!acl_switch(r.kind, opts) || is_admin(*who)) {
        return true;
    }
    if (!r.owner) {
        return false;  // R8
    }
    // The three `should` clauses of addUserBackendRolesFilter; the roles clause ignores `access`.
    return r.access == access_mode::public_ || shares_any(r.backend_roles, who->backend_roles) ||
           ((r.access == access_mode::private_ || r.access == access_mode::unset) && is_owner(*who, r));
}

result<std::string> resolve_tenant(
    const principal* who, std::optional<std::string_view> header, front_door door, bool multi_tenancy
) {
    if (!multi_tenancy) {
        return std::string();
    }
    const bool has_header = header.has_value() && !header->empty();
    const error missing{errc::forbidden, "Tenant ID header is missing or has no value"};
    if (who == nullptr || is_admin(*who)) {
        // Security off trusts the header as ml-commons does; admins choose their tenant with it.
        if (has_header) {
            return std::string(*header);
        }
        if (who != nullptr && door != front_door::ml && !who->tenant.empty()) {
            return who->tenant;
        }
        return missing;
    }
    if (door == front_door::ml && !has_header) {
        return missing;
    }
    if (who->tenant.empty() || (has_header && *header != who->tenant)) {
        return no_tenant_access();
    }
    return who->tenant;
}

result<acl_grant> validate_connector_acl(const principal* who, const acl_fields& f, bool connector_acl) {
    if (who == nullptr || !connector_acl) {
        if (f.access || f.add_all_backend_roles || non_empty(f.backend_roles)) {
            return illegal_argument(
                "You cannot specify connector access control parameters because the Security plugin or "
                "connector access control is disabled on your cluster."
            );
        }
        return acl_grant{};
    }
    const bool admin = is_admin(*who);
    const bool add_all = f.add_all_backend_roles.value_or(false);
    std::vector<std::string> roles = f.backend_roles.value_or(std::vector<std::string>{});
    if (admin && add_all) {
        return illegal_argument("Admin can't add all backend roles");
    }
    const access_mode access =
        f.access.value_or(!roles.empty() || add_all ? access_mode::restricted : access_mode::private_);
    if (access != access_mode::restricted) {
        if (!roles.empty() || add_all) {
            return illegal_argument(
                "You can specify backend roles only for a connector with the restricted access mode."
            );
        }
        return acl_grant{access, {}};
    }
    if (add_all) {
        if (!roles.empty()) {
            return illegal_argument(
                "You can't specify backend roles and add all backend roles to true at same time."
            );
        }
        if (who->backend_roles.empty()) {
            return illegal_argument("You must have at least one backend role to create a connector.");
        }
        return acl_grant{access, who->backend_roles};
    }
    if (roles.empty()) {
        return illegal_argument(
            "You must specify at least one backend role or make the connector public/private for registering "
            "it."
        );
    }
    if (!admin && !subset_of(roles, who->backend_roles)) {
        return illegal_argument("You don't have the backend roles specified.");
    }
    return acl_grant{access, std::move(roles)};
}

namespace {

const char* const model_acl_disabled =
    "You cannot specify model access control parameters because the Security plugin or model access control "
    "is disabled on your cluster.";
const char* const both_role_fields =
    "You cannot specify backend roles and add all backend roles at the same time.";
const char* const roles_need_restricted =
    "You can specify backend roles only for a model group with the restricted access mode.";
const char* const admin_add_all = "Admin users cannot add all backend roles to a model group.";
const char* const restricted_needs_roles =
    "You must specify one or more backend roles or add all backend roles to register a restricted model "
    "group.";
const char* const roles_not_held = "You don't have the backend roles specified.";

}  // namespace

result<acl_grant> validate_model_group_acl(const principal* who, const acl_fields& f, bool model_acl) {
    if (who == nullptr || !model_acl) {
        if (f.access || f.add_all_backend_roles || non_empty(f.backend_roles)) {
            return illegal_argument(model_acl_disabled);
        }
        return acl_grant{access_mode::public_, {}};
    }
    const bool admin = is_admin(*who);
    const bool add_all = f.add_all_backend_roles.value_or(false);
    const bool has_roles = non_empty(f.backend_roles);
    access_mode access = access_mode::private_;
    if (f.access) {
        access = *f.access;
    } else if (has_roles && add_all) {
        return illegal_argument(both_role_fields);
    } else if (has_roles || add_all) {
        access = access_mode::restricted;
    }
    if (access != access_mode::restricted) {
        if (has_roles || add_all) {
            return illegal_argument(roles_need_restricted);
        }
        return acl_grant{access, {}};
    }
    if (admin && add_all) {
        return illegal_argument(admin_add_all);
    }
    if (!admin && who->backend_roles.empty()) {
        return illegal_argument(
            "You must have at least one backend role to register a restricted model group."
        );
    }
    if (!has_roles && !add_all) {
        return illegal_argument(restricted_needs_roles);
    }
    if (has_roles && add_all) {
        return illegal_argument(both_role_fields);
    }
    if (!admin && !add_all && !subset_of(*f.backend_roles, who->backend_roles)) {
        return illegal_argument(roles_not_held);
    }
    return acl_grant{access, add_all ? who->backend_roles : *f.backend_roles};
}

result<acl_grant> validate_model_group_acl_update(
    const principal* who, const acl_fields& f, const acl_grant& current, bool model_acl
) {
    if (who == nullptr || !model_acl) {
        if (f.access || f.add_all_backend_roles || non_empty(f.backend_roles)) {
            return illegal_argument(model_acl_disabled);
        }
        return current;
    }
    const bool admin = is_admin(*who);
    const bool add_all = f.add_all_backend_roles.value_or(false);
    const bool has_roles = non_empty(f.backend_roles);
    if (f.access && *f.access != access_mode::restricted) {
        if (has_roles || add_all) {
            return illegal_argument(roles_need_restricted);
        }
    } else {
        if (admin && add_all) {
            return illegal_argument(admin_add_all);
        }
        if (add_all && who->backend_roles.empty()) {
            return illegal_argument("You don't have any backend roles.");
        }
        if (!has_roles && f.add_all_backend_roles == false) {
            return illegal_argument(
                "You have to specify backend roles when add all backend roles is set to false."
            );
        }
        if (has_roles && add_all) {
            return illegal_argument(both_role_fields);
        }
        if (f.access && !has_roles && !add_all) {
            return illegal_argument(restricted_needs_roles);
        }
        if (!admin && has_roles && !subset_of(*f.backend_roles, who->backend_roles)) {
            return illegal_argument(roles_not_held);
        }
    }
    // TransportUpdateModelGroupAction.updateModelGroup: the new access and roles.
    acl_grant next = current;
    if (f.access) {
        next.access = *f.access;
        if (next.access != access_mode::restricted) {
            next.backend_roles.clear();
        }
    } else if (f.backend_roles || add_all) {
        next.access = access_mode::restricted;
    }
    if (f.backend_roles) {
        next.backend_roles = *f.backend_roles;
    }
    if (add_all) {
        next.backend_roles = who->backend_roles;
    }
    return next;
}

}  // namespace modelrelay::registry
