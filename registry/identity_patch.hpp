// File: identity_patch.hpp
// PATCH on the Security plugin's internal users, roles and role mappings (security.md §2.2–§2.3): one
// entity (`PATCH …/internalusers/alice`, paths inside the entity) or the whole collection (`PATCH
// …/internalusers`, paths start with the entity name, so one request can create, change and remove several
// entities). Every entity the patch creates or changes then passes the PUT rules, and the whole patch is
// written in one transaction or not at all. Planning and validation are pure; the commit is
// identity_registry::apply_changes.
//
// Differs on purpose: the plugin patches the stored form with default values left out (Jackson
// NON_DEFAULT), so `replace /opendistro_security_roles` or `add /backend_roles/-` fails with `Missing field`
// on a user that has none, although OpenSearch's own documentation shows such patches. Here the view has
// every field (empty lists, strings and maps included; `reserved` and `hidden` only when set), so every
// patch the plugin accepts is accepted, and those succeed too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "registry/error.hpp"
#include "registry/identity.hpp"

namespace modelrelay::registry {

enum class identity_kind { user, role, mapping };

// "user", "role", "rolesmapping": the word of the plugin's not-found texts.
std::string_view identity_word(identity_kind k);

// The entity as PATCH sees it: every field, `reserved` / `hidden` / `static` only when set, a user's hash.
boost::json::object user_patch_view(const internal_user& u);
boost::json::object role_patch_view(const role_definition& r);
boost::json::object mapping_patch_view(const role_mapping& m);

struct identity_patch_plan {
    identity_kind kind = identity_kind::user;
    std::string entity;  // the single patched entity; empty for a collection patch
    std::vector<std::pair<std::string, boost::json::object>> changed;  // created or changed, patched form
    std::vector<std::string> removed;
    std::uint64_t generation = 0;  // of the state it was planned on
};

// Applies `ops` (from parse_security_patch) to one entity (`entity` non-empty) or to the collection, with
// the plugin's guards: a hidden entity is 404 `Resource '<n>' is not available.`, a static one 403 `Resource
// '<n>' is static.`, a reserved one 403 `Resource '<n>' is reserved.` unless `super_admin`; a missing single
// entity is 404 `<word> '<n>' not found.`. A patched value that is not an object is refused like a PUT body.
result<identity_patch_plan> plan_identity_patch(
    const identity_state& s,
    identity_kind kind,
    std::string_view entity,
    const boost::json::array& ops,
    bool super_admin
);

// The entities to store: every changed one through the PUT rules (user_from_body, role_from_body,
// mapping_from_body; a new name must be valid). `reserved` and `hidden` come from the patched form and
// only the super-admin may carry them (others get the plugin's `Invalid configuration`). Slow when a
// patch sets a password (bcrypt): run it on the hashing pool.
struct identity_changes {
    identity_kind kind = identity_kind::user;
    std::vector<internal_user> users;
    std::vector<role_definition> roles;
    std::vector<role_mapping> mappings;
    std::vector<std::string> removed;
};
result<identity_changes> validate_identity_patch(
    const identity_state& s, identity_patch_plan plan, bool super_admin, const password_policy& policy
);

// The write guards shared by PUT, DELETE and PATCH (see plan_identity_patch).
std::optional<error> entity_write_guard(
    std::string_view name, bool reserved, bool hidden, bool is_static, bool super_admin
);
// 400 `Invalid name '<n>': names must match ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$` for a name that cannot be
// stored.
std::optional<error> entity_name_error(std::string_view name);
// 404 `Role '<n>' is not available for role-mapping.` unless `name` is a built-in or custom role.
std::optional<error> mapping_role_error(const identity_state& s, std::string_view name);

}  // namespace modelrelay::registry
