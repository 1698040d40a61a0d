// File: identity.hpp
// Who can log in and what they are: internal users, custom roles, role mappings and API keys (security.md
// §2.2–§2.4, §4, R5, R11, R15), as one immutable state readers take without locks on the request path. The
// Security plugin's REST shapes and validation texts live here too, so the handlers stay thin and every text
// can be tested without sockets. Persistence is identity_registry (identity_registry.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "registry/authz.hpp"
#include "registry/error.hpp"
#include "registry/principal.hpp"

namespace modelrelay::registry {

struct internal_user {
    std::string name;
    std::string hash;  // bcrypt ($2y$12$...), never returned
    std::vector<std::string> backend_roles;
    std::map<std::string, std::string> attributes;
    std::string description;
    std::vector<std::string> security_roles;  // opendistro_security_roles
    bool reserved = false;
    bool hidden = false;
};

struct role_definition {
    std::string name;
    std::vector<std::string> cluster_permissions;
    boost::json::array index_permissions;
    boost::json::array tenant_permissions;
    std::string description;
    bool reserved = false;
    bool hidden = false;
    bool static_ = false;  // built-in roles: listed, never writable
};

struct role_mapping {
    std::string name;  // the security role it maps to
    std::vector<std::string> backend_roles;
    std::vector<std::string> and_backend_roles;
    std::vector<std::string> hosts;
    std::vector<std::string> users;
    std::string description;
    bool reserved = false;
    bool hidden = false;
};

// The `modelrelay` extension of an API key (R15–R17). Limits of 0 mean "no limit"; an empty model list
// means no model at all (R16), only ["*"] means every model.
struct key_limits {
    std::string tenant;
    std::vector<std::string> models;
    std::int64_t rpm = 0;
    std::int64_t tpm = 0;
    std::int64_t max_parallel = 0;
    std::int64_t token_budget = 0;
    std::string budget_period;  // "" (for ever), "1h", "1d", "30d", ...
    std::int64_t budget_period_ms = 0;
};

struct api_key {
    std::string id;
    std::string name;
    std::string secret_hash;  // base64(HMAC-SHA-256(pepper, secret)); the secret itself is never stored
    std::int64_t creation = 0;
    std::optional<std::int64_t> expiration;
    bool invalidated = false;
    std::optional<std::int64_t> invalidation;
    std::string username;  // the owner: the key acts as this user
    std::string realm;     // the owner's realm ("default_native" in ES responses for internal users)
    boost::json::object metadata;
    bool has_limits = false;  // the request carried a `modelrelay` object
    key_limits limits;
};

// OpenSearch API tokens (security.md §2.4): `Authorization: ApiKey os_...`, principal `token:<name>`, the
// token's own cluster permissions. Stored as base64(SHA-256(token)).
struct api_token {
    std::string id;
    std::string name;
    std::string token_hash;
    std::int64_t iat = 0;
    std::optional<std::int64_t> expires_at;
    std::vector<std::string> cluster_permissions;
    boost::json::array index_permissions;
    std::optional<std::int64_t> revoked_at;
    std::string created_by;
};
// The synthetic role a token's principal holds (its permissions, registered in identity_state::permissions).
std::string token_role(std::string_view token_id);
std::string token_hash(std::string_view token);
boost::json::object token_to_doc(const api_token& t);
api_token token_from_doc(std::string_view id, const boost::json::object& doc);
boost::json::object token_to_json(const api_token& t);  // the GET listing entry (no hash)
principal principal_for_token(const api_token& t);

// Everything identity, immutable once published.
struct identity_state {
    std::map<std::string, internal_user, std::less<>> users;
    std::map<std::string, role_definition, std::less<>> roles;  // custom roles only
    std::map<std::string, role_mapping, std::less<>> mappings;
    std::map<std::string, api_key, std::less<>> api_keys;       // by id
    std::map<std::string, api_token, std::less<>> api_tokens;   // by id
    std::map<std::string, std::string, std::less<>> token_ids;  // token hash → id
    role_table permissions;                                     // built-in + custom roles
    std::uint64_t generation = 0;  // bumped by every write (credential cache key)

    const internal_user* find_user(std::string_view name) const;
    const api_key* find_key(std::string_view id) const;
    const api_token* find_token_by_hash(std::string_view hash) const;
};

// Roles of a user: its opendistro_security_roles plus every mapping that names it or one of its backend
// roles (and all of and_backend_roles). Sorted, unique.
std::vector<std::string> mapped_roles(
    const identity_state& s, std::string_view user, const std::vector<std::string>& backend_roles
);
// The principal an internal user logs in as (realm "internal"; tenant = attributes.tenant).
principal principal_for_user(const identity_state& s, const internal_user& u);
// A client certificate's principal (realm "cert"): backend roles from the DN, roles from the mappings; an
// internal user of the same name lends its tenant attribute (R12 cert-mapping rule).
principal principal_for_cert(
    const identity_state& s, std::string username, std::vector<std::string> backend_roles, bool super_admin
);
// An API key's principal: its owner's current roles, tenant = the key's tenant when set (R12).
// nullopt when the owner no longer exists.
std::optional<principal> principal_for_key(const identity_state& s, const api_key& k);

// OpenSearch's `User [name=alice, backend_roles=[analyst], requestedTenant=null]`.
std::string user_to_string(const principal& p);

// --- names and validation (R11, §2.2) ---------------------------------------------------------------------

// ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$
bool valid_entity_name(std::string_view name);

// The Security plugin's validation envelope: 400 {"status":"error","reason":...,(extra)}. Carried as a
// registry::error whose reason is the whole JSON body (errc::security_api_status), so handlers send it as is.
error security_api_error(int status, boost::json::object body);
error security_validation(std::string reason, boost::json::object extra = {});
error security_status(int status, std::string_view status_word, std::string message);

struct password_policy {
    std::size_t min_length = 8;
    std::size_t max_length = 100;
    int min_score = 3;  // zxcvbn score (strong)
};
// nullopt: acceptable; otherwise the exact reason (`Password is too short`, `Weak password`, ...).
std::optional<std::string> check_password(
    std::string_view user, std::string_view password, const password_policy& policy
);

// bcrypt ($2y$, 12 rounds) via libxcrypt. Slow by design: never on an I/O thread.
std::string hash_password(std::string_view password);
bool verify_password(std::string_view password, std::string_view hash);

// PUT /internalusers/{name}: validates the body against the Security plugin's rules and returns the user to
// store (password hashed; absent password keeps `existing`'s hash). Errors are the §2.2 envelopes.
result<internal_user> user_from_body(
    std::string_view name,
    const boost::json::value& body,
    const internal_user* existing,
    const password_policy& policy
);
// PUT /_plugins/_security/api/account (the Security plugin's AccountApiAction): a user changes its own
// password. The body's shape and the new password's strength are checked first (no hashing), then, on the
// hashing pool, the current password against the stored hash. The secrets are wiped when this is destroyed.
struct account_password_change {
    std::string current_password;
    std::string password;  // "" when absent
    std::string hash;      // "" when absent; `password` wins when both are given
    account_password_change() = default;
    account_password_change(account_password_change&&) noexcept = default;
    account_password_change& operator=(account_password_change&&) noexcept = default;
    account_password_change(const account_password_change&) = delete;
    account_password_change& operator=(const account_password_change&) = delete;
    ~account_password_change();
};
// Keys: current_password (mandatory), password, hash (strings); otherwise the §2.2 validation envelopes.
result<account_password_change> account_change_from_body(
    std::string_view user, const boost::json::value& body, const password_policy& policy
);
// The hash to store: 400 `Could not validate your current password.` when `current_hash` does not verify,
// 400 `Both provided password and hash cannot be null/empty.` when neither is given. Slow (bcrypt).
result<std::string> account_new_hash(const account_password_change& change, std::string_view current_hash);

result<role_definition> role_from_body(std::string_view name, const boost::json::value& body);
result<role_mapping> mapping_from_body(std::string_view name, const boost::json::value& body);

boost::json::object user_to_json(const internal_user& u);  // hash always ""
boost::json::object role_to_json(const role_definition& r);
boost::json::object mapping_to_json(const role_mapping& m);

// Persisted documents (the store keeps these; hashes included).
boost::json::object user_to_doc(const internal_user& u);
internal_user user_from_doc(std::string_view name, const boost::json::object& doc);
boost::json::object role_to_doc(const role_definition& r);
role_definition role_from_doc(std::string_view name, const boost::json::object& doc);
boost::json::object mapping_to_doc(const role_mapping& m);
role_mapping mapping_from_doc(std::string_view name, const boost::json::object& doc);
boost::json::object key_to_doc(const api_key& k);
api_key key_from_doc(std::string_view id, const boost::json::object& doc);

// The built-in roles as role definitions (GET /roles lists them as static).
std::vector<role_definition> builtin_role_definitions();

// --- API keys (§4, R15)
// -------------------------------------------------------------------------------------

struct api_key_request {
    std::string name;
    std::optional<std::int64_t> expiration_ms;  // relative duration
    boost::json::object metadata;
    bool has_limits = false;
    key_limits limits;
};
// POST /_security/api_key body. Errors: ES-style 400 (errc::action_request_validation / x_content_parse).
result<api_key_request> parse_api_key_request(const boost::json::value& body);
// "1d", "12h", "30m", "45s", "100ms", "2w"... (Elasticsearch TimeValue) to milliseconds.
std::optional<std::int64_t> parse_time_value(std::string_view text);

}  // namespace modelrelay::registry
