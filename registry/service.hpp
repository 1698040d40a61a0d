// File: service.hpp
// The registry façade the handlers call. Reads come from `current()`, an immutable snapshot, from any
// thread. Writes (every method that changes state) must run on the single store executor: each validates
// against the current snapshot, commits one SQLite transaction, then publishes a new snapshot, so a 200
// always means committed and a rejected request changes nothing.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "registry/access.hpp"
#include "registry/bulk_load.hpp"
#include "registry/caller.hpp"
#include "registry/connector.hpp"
#include "registry/connector_tls.hpp"
#include "registry/crypto.hpp"
#include "registry/dir_lock.hpp"
#include "registry/error.hpp"
#include "registry/keyring.hpp"
#include "registry/snapshot.hpp"
#include "registry/store.hpp"

namespace modelrelay::registry {

class changeset;

namespace inference {
struct endpoint_draft;
enum class task_type;
}  // namespace inference

struct service_options {
    std::filesystem::path data_dir;
    std::filesystem::path kek_file;  // the key-encryption key; empty: data_dir/kek.key (keyring.hpp)
    durability sync = durability::normal;
    std::function<std::int64_t()> clock_ms;  // defaults to the system clock
    boost::json::object node_settings;       // node-scope settings (e.g. multi_tenancy_enabled) from flags
    // Builds the per-connector TLS context of `client_config.tls` at deploy. Unset: deploying such a
    // connector fails (500) rather than calling its upstream without the configured identity.
    tls_context_factory tls_contexts;
    // Start-up events worth an info log line (KEK created, secrets migrated, rotation completed). Never
    // called with key material. May be empty.
    std::function<void(const std::string&)> notice;
    bool strict_write_acl = true;  // security.md R9 (--strict-write-acl)
    // Threads for start-up's parsing and redeploying (bulk_load.hpp, redeploy_all); 0: one per core, up to
    // 8. The result does not depend on it.
    unsigned load_threads = 0;
};

class service {
public:
    static result<std::unique_ptr<service>> open(service_options opts);

    std::shared_ptr<const snapshot> current() const {
        if (in_open_group()) {
            return staged_;
        }
        std::lock_guard lock(snap_mutex_);
        return snap_;
    }

    // Group commit, on the store executor: the writes between begin_writes() and end_writes() share one
    // SQLite transaction (store.hpp). Each still validates, and fails, on its own; what the successful ones
    // publish is seen by the later writes of the group but by nobody else until end_writes() has committed.
    // When the COMMIT fails, end_writes() returns its error, and the group's snapshots and the data keys
    // created for it are dropped: the group's writes all fail and change nothing.
    result<void> begin_writes();
    result<void> end_writes();
    std::int64_t now_ms() const { return clock_(); }
    // Stable across restarts of the same data directory.
    const std::string& cluster_uuid() const { return cluster_uuid_; }

    // The access-control switches of one request against snapshot `s` (registry/access.hpp).
    decide_options access_options(const snapshot& s, const caller& who) const;

    // --- reads (any thread; tenancy and ACL applied: 404 / 403 with the ml-commons texts) ---
    result<boost::json::object> get_connector(std::string_view id, const caller& who) const;
    result<boost::json::object> get_model_group(std::string_view id, const caller& who) const;
    result<boost::json::object> get_model(std::string_view id, const caller& who) const;
    result<boost::json::object> get_task(std::string_view id, const caller& who) const;

    // --- cluster settings ---
    result<boost::json::object> put_settings(const boost::json::value& body, bool flat);

    // --- connectors ---
    result<boost::json::object> create_connector(const boost::json::object& body, const caller& who);
    result<boost::json::object> update_connector(
        std::string_view id, const boost::json::object& body, const caller& who
    );
    result<boost::json::object> delete_connector(std::string_view id, const caller& who);

    // --- model groups ---
    result<boost::json::object> register_model_group(const boost::json::object& body, const caller& who);
    result<boost::json::object> update_model_group(
        std::string_view id, const boost::json::object& body, const caller& who
    );
    result<boost::json::object> delete_model_group(std::string_view id, const caller& who);

    // --- models ---
    result<boost::json::object> register_model(
        const boost::json::object& body, bool deploy, const caller& who
    );
    result<boost::json::object> update_model(
        std::string_view id, const boost::json::object& body, const caller& who
    );
    result<boost::json::object> delete_model(std::string_view id, const caller& who);
    // `node_ids`: the `_deploy` body's target nodes (allow_custom_deployment_plan), null when not given. This
    // process is the only node: a list without its id is 400 `no eligible node found`, and a list with it
    // deploys with deploy_to_all_nodes false (TransportDeployModelAction).
    result<boost::json::object> deploy_model(
        std::string_view id, const caller& who, const std::vector<std::string>* node_ids = nullptr
    );
    result<boost::json::object> undeploy_models(const std::vector<std::string>& ids, const caller& who);
    // Undeploys models idle for longer than their deploy_setting.model_ttl_minutes; returns how many.
    std::size_t undeploy_idle(std::int64_t now_ms);

    // --- model controllers (service_controllers.cpp, registry/controller.hpp) ---
    result<boost::json::object> create_controller(
        std::string_view model_id, const boost::json::object& body, const caller& who
    );
    result<boost::json::object> update_controller(
        std::string_view model_id, const boost::json::object& body, const caller& who
    );
    result<boost::json::object> get_controller(std::string_view model_id, const caller& who) const;
    result<boost::json::object> delete_controller(std::string_view model_id, const caller& who);

    // --- tasks ---
    result<boost::json::object> delete_task(std::string_view id, const caller& who);

    // --- Elasticsearch _inference endpoints (service_inference.cpp, registry/inference_endpoint.hpp) ---
    // Stores a prepared draft, api_key encrypted; 400 resource_already_exists_exception when the id is taken.
    result<boost::json::object> put_inference_endpoint(
        const inference::endpoint_draft& draft, const caller& who
    );
    // Stores an update draft (prepare_update of the stored document); a draft without api_key keeps the key.
    result<boost::json::object> update_inference_endpoint(
        const inference::endpoint_draft& draft, const caller& who
    );
    // {"acknowledged":true,"pipelines":[]}; `task` any matches every type; dry_run changes nothing.
    result<boost::json::object> delete_inference_endpoint(
        std::string_view id, inference::task_type task, bool dry_run, const caller& who
    );
    // The plain api_key of a stored endpoint, for the upstream call (the caller wipes it). Any thread.
    result<std::string> inference_api_key(const resource& endpoint) const;

    // --- secrets (service_secrets.cpp, registry/keyring.hpp) ---
    // POST /_plugins/_modelrelay/_rotate_kek: a new KEK (generated, or read from `source`, an operator's
    // 32-byte file of mode 0400) wraps every data key in one transaction, each unwrap is verified before
    // the commit, then the new KEK file replaces the old one, which stays as `<kek file>.retired-<id>`.
    // Returns {"rewrapped":N}. Bad input (400) and failures before the commit change nothing.
    result<boost::json::object> rotate_kek(const std::optional<std::filesystem::path>& source);
    // POST /_plugins/_modelrelay/_rotate_data_keys (security.md §7 step 5, "on compromise also rotate DEKs"):
    // a new data key for every tenant that has one, every stored secret re-encrypted under it, the old keys'
    // rows deleted, all in one transaction. Answers {"data_keys":N,"reencrypted":M}.
    result<boost::json::object> rotate_data_keys();
    std::string active_kek_id() const { return keys_->active_kek_id(); }
    const std::filesystem::path& kek_file() const { return kek_file_; }

    // The single node this process plays in ml-commons responses (worker_node, undeploy stats).
    const std::string& node_id() const { return node_id_; }

    // Test seam: fail store statements on demand.
    store& underlying_store() { return *store_; }

private:
    service(service_options opts, dir_lock lock, std::unique_ptr<store> st);
    result<void> load();
    void publish(std::shared_ptr<const snapshot> s) {
        if (in_open_group()) {
            staged_ = std::move(s);
            return;
        }
        std::lock_guard lock(snap_mutex_);
        snap_.swap(s);
    }

    // Start-up: finds the KEK, unwraps the data keys and migrates v0 secrets in `all` (the parsed rows,
    // not yet published) to v1 in one transaction.
    using loaded = loaded_resource;
    result<void> open_keys(std::vector<loaded>& all);
    // The tenant's data key id, creating and committing one first if the tenant has none.
    result<std::string> tenant_dek(std::string_view tenant);
    // One secret into its stored v1 value (store executor only: may create a data key).
    result<std::string> seal_secret(std::string_view plaintext, const secret_site& site);
    // Encrypts a credential list into the JSON object stored in the document; each value's field is
    // `field_prefix` + its key. Wipes the plaintexts.
    result<boost::json::object> encrypt_credentials(
        credential_list& plain,
        std::string_view tenant,
        kind k,
        std::string_view resource_id,
        std::string_view field_prefix
    );
    void notify(const std::string& message) const {
        if (opts_.notice) {
            opts_.notice(message);
        }
    }
    // The `credential` object to store for a connector draft: the new credentials (encrypted) or the
    // stored ones, plus the client_config.tls private key as the draft says (new, kept or dropped).
    // Wipes the draft's plaintext. nullopt: the document has no `credential`.
    result<std::optional<boost::json::object>> connector_credential(
        connector_draft& draft,
        const boost::json::object* stored_credential,
        std::string_view tenant,
        kind k,
        std::string_view resource_id,
        std::string_view field_prefix
    );

    service_options opts_;
    dir_lock lock_;  // released after the store closes
    std::unique_ptr<store> store_;
    std::filesystem::path kek_file_;
    std::shared_ptr<keyring> keys_;  // shared with deployments restored at start-up (connector_slot)
    std::function<std::int64_t()> clock_;
    // libstdc++ 12's std::atomic<std::shared_ptr> corrupted reference counts under load in our tests; a
    // mutex held for one pointer copy is just as cheap here and obviously correct.
    mutable std::mutex snap_mutex_;
    std::shared_ptr<const snapshot> snap_;
    // Whether the caller is the thread of the open write group (its reads and publications are staged).
    bool in_open_group() const {
        return grouping_.load(std::memory_order_relaxed) &&
               std::this_thread::get_id() == group_thread_.load(std::memory_order_relaxed);
    }
    // The open write group (begin_writes): its thread, its latest snapshot, the data keys it created.
    std::atomic<bool> grouping_{false};
    std::atomic<std::thread::id> group_thread_;
    std::shared_ptr<const snapshot> staged_;
    std::vector<std::string> group_deks_;
    // Start-up only: models stored as deployed that redeploy_all did not restore
    // (fail_unrestored_deployments).
    std::vector<std::string> unrestored_;
    std::string cluster_uuid_;
    std::string node_id_;

    friend class changeset;
    // Builds the deployed form of a model (decrypts credentials, compiles templates).
    result<std::shared_ptr<const deployed_model>> prepare_deployment(const snapshot& s, const resource& model)
        const;
    // The model's own part (ACL, TTL, rate limiter) around its connector.
    std::shared_ptr<const deployed_model> deployment_of(
        const snapshot& s,
        const resource& model,
        std::string connector_id,
        std::shared_ptr<const connector_slot> connector,
        std::int64_t now
    ) const;
    // Rebuilds a deployed model's runtime in `c` from its view (controller changes apply at once).
    void redeploy_runtime(changeset& c, std::string_view model_id) const;
    // Deploys every model whose stored state is DEPLOYED (start-up; connectors compile on first use),
    // unless plugins.ml_commons.model_auto_redeploy.enable is false; the stored-as-deployed models it
    // leaves out are kept in unrestored_.
    void redeploy_all(snapshot& s);
    // After start-up: a model stored as deployed that did not come back (auto-redeploy off, connector gone)
    // is written as DEPLOY_FAILED, as ml-commons' sync-up job does for a model no node serves.
    result<void> fail_unrestored_deployments();
    // Decrypts every _inference api_key into s.inference_keys (start-up).
    void bind_inference_keys(snapshot& s) const;
    result<std::string> decrypt_api_key(const resource& endpoint) const;
};

// A stored row for a resource (denormalised columns filled from its document).
stored_row make_row(kind k, const resource& r);

// OpenSearch UpdateResponse / DeleteResponse bodies for the system index of `k`.
boost::json::object write_response(kind k, const resource& r, std::string_view result_word);

}  // namespace modelrelay::registry
