// File: access.hpp
// Resource authorization over stored data: the bridge between the pure decide() of authz.hpp and the
// snapshot. It builds the ACL of stored connectors, model groups, models and tasks (owner realm from the
// store), the decide_options of one request, the owner snapshot written at create time (R8) and the set
// of documents a caller's _search may see (tenancy and ACL applied before the DSL runs, so hits.total
// counts only what the caller may see). Nothing here does I/O: the predict hot path uses it too.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "registry/authz.hpp"
#include "registry/caller.hpp"
#include "registry/search.hpp"
#include "registry/settings.hpp"
#include "registry/snapshot.hpp"

namespace modelrelay::registry {

// The owner snapshot stored in connector and model group documents (security.md §1.1; R8 records it
// whenever a principal exists, whatever the ACL switches say).
boost::json::object owner_snapshot(const principal& who);
// The store's `owner` column: "realm:name" (R8). The realm never contains ':'.
std::string owner_key(const principal& who);

// The ACL fields of a create/register/update body. Unknown `access_mode` strings are nullopt (ml-commons).
acl_fields acl_fields_of(const boost::json::object& body);
bool has_acl_fields(const boost::json::object& body);

// `doc` with the ACL fields of `grant` and the owner snapshot in ml-commons' field order (..., backend_roles,
// owner, access, ...): existing keys keep their place, new ones go right after `after` (at the end when
// absent). `backend_roles` is written for restricted grants or non-empty roles and removed otherwise; a
// null owner leaves the stored one alone; an unset access writes none.
boost::json::object with_acl_fields(
    const boost::json::object& doc,
    std::string_view after,
    const acl_grant& grant,
    const boost::json::object* owner
);

// The switches of one request: ACL settings and tenancy from the cluster settings, the tenant the gate
// resolved, R9 from the process configuration. The route gate has already matched the action name against
// the caller's roles (including custom roles), so resource decisions skip that step.
decide_options access_options(const cluster_settings& settings, const caller& who, bool strict_writes);

// Whether `r` is addressable by the caller at all. With tenancy on every resource is (decide() then
// answers 403 for another tenant's, as ml-commons does); with tenancy off a row stored under a tenant
// (data written while tenancy was on) stays invisible, as before.
bool in_scope(const resource& r, const caller& who, const decide_options& opts);

// Whether a connector's or model group's stored `owner` is shown (GET, `_search` `_source`) and
// searchable: only while that kind's access-control switch is on. ml-commons records no owner with the
// switch off, so its documents have none; modelrelay records one anyway (R8), for later, and keeps it
// out of sight until then.
bool owner_shown(kind k, const decide_options& opts);

// ACLs of stored resources. Models take their group's owner/access/roles (`group` null: owner-less).
resource_acl connector_acl(const resource& connector);
resource_acl model_group_acl(const resource& group);
resource_acl model_acl(const resource& model, const resource* group);
resource_acl model_acl(const snapshot& s, const resource& model);
resource_acl task_acl(const resource& task);  // tenancy only: tasks have no ACL of their own

// decide() for a stored resource: a shorthand that passes the caller's principal.
decision authorize(const caller& who, action act, const resource_acl& acl, const decide_options& opts);

// The documents of kind `k` a caller's _search runs over, in index (write) order: tenant-filtered and,
// for connectors, model groups and models, ACL-filtered by search_visible(). Pointers into `s`.
std::vector<search_doc> search_candidates(
    const snapshot& s, kind k, const caller& who, const decide_options& opts
);

}  // namespace modelrelay::registry
