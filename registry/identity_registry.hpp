// File: identity_registry.hpp
// Persistence of identity (users, roles, role mappings, API keys) in its own SQLite file,
// `DATA_DIR/security.db`, next to the resource registry: nothing in it is needed to serve a resource, and a
// registry backup can be restored without resurrecting revoked keys or old passwords. Same pattern as
// registry::service: reads take an immutable identity_state from any thread; writes run on the single store
// executor, commit, then publish a new state, so a 200 always means committed.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "registry/crypto.hpp"
#include "registry/identity.hpp"
#include "registry/identity_patch.hpp"
#include "registry/store.hpp"

namespace modelrelay::registry {

struct created_api_key {
    api_key key;
    std::string secret;  // shown once; the caller wipes it after answering
};

struct invalidation_result {
    std::vector<std::string> invalidated;
    std::vector<std::string> previously_invalidated;
};

class identity_registry {
public:
    static result<std::unique_ptr<identity_registry>> open(
        const std::filesystem::path& file, durability d, std::function<std::int64_t()> clock_ms
    );

    std::shared_ptr<const identity_state> current() const {
        std::lock_guard lock(mutex_);
        return state_;
    }
    std::int64_t now_ms() const { return clock_(); }

    // First start with security on: creates the reserved `admin` user (backend role `admin`) and the
    // reserved mapping of backend role `admin` to `all_access`. Returns false (and changes nothing) when
    // users already exist.
    result<bool> bootstrap_admin(std::string_view password);

    // true when created, false when replaced.
    result<bool> put_user(internal_user u);
    result<bool> delete_user(std::string_view name);  // false: not found; its API keys are invalidated
    result<bool> put_role(role_definition r);
    result<bool> delete_role(std::string_view name);
    result<bool> put_mapping(role_mapping m);
    result<bool> delete_mapping(std::string_view name);
    // A PATCH (identity_patch.hpp): its removals and writes in one transaction, refused with errc::conflict
    // when anything was written since the state of `generation` it was planned on.
    result<void> apply_changes(const identity_changes& c, std::uint64_t generation);

    result<created_api_key> create_api_key(const api_key_request& req, const principal& owner);
    result<invalidation_result> invalidate_api_keys(const std::vector<std::string>& ids);

    struct created_token {
        api_token token;
        std::string secret;  // "os_..." shown once
    };
    // OpenSearch API tokens (§2.4). `duration_ms` nullopt: no expiry.
    result<created_token> create_api_token(
        std::string name,
        std::vector<std::string> cluster_permissions,
        boost::json::array index_permissions,
        std::optional<std::int64_t> duration_ms,
        std::string created_by
    );
    result<bool> revoke_api_token(std::string_view id);  // false: not found or already revoked

    // base64(HMAC-SHA-256(pepper, secret)): what is stored and compared for an API key secret.
    std::string key_hash(std::string_view secret) const;

private:
    identity_registry(std::unique_ptr<store> st, std::function<std::int64_t()> clock, secret_key pepper);
    result<void> load();
    result<void> commit(const batch& b, std::shared_ptr<identity_state> next);
    std::shared_ptr<identity_state> copy() const;

    std::unique_ptr<store> store_;
    std::function<std::int64_t()> clock_;
    secret_key pepper_;
    mutable std::mutex mutex_;
    std::shared_ptr<const identity_state> state_;
};

// Rebuilds `permissions` from the built-in and custom roles.
void refresh_permissions(identity_state& s);

}  // namespace modelrelay::registry
