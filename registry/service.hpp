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
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "registry/connector.hpp"
#include "registry/crypto.hpp"
#include "registry/error.hpp"
#include "registry/snapshot.hpp"
#include "registry/store.hpp"

namespace modelrelay::registry {

struct service_options {
    std::filesystem::path data_dir;
    durability sync = durability::normal;
    std::function<std::int64_t()> clock_ms;  // defaults to the system clock
    boost::json::object node_settings;       // node-scope settings (e.g. multi_tenancy_enabled) from flags
};

// Who is asking; filled by the server (security work adds users and roles).
struct caller {
    std::string tenant_id;
};

class service {
public:
    static result<std::unique_ptr<service>> open(service_options opts);

    std::shared_ptr<const snapshot> current() const {
        std::lock_guard lock(snap_mutex_);
        return snap_;
    }
    std::int64_t now_ms() const { return clock_(); }
    // Stable across restarts of the same data directory.
    const std::string& cluster_uuid() const { return cluster_uuid_; }

    // --- cluster settings ---
    result<boost::json::object> put_settings(const boost::json::value& body, bool flat);

    // --- connectors ---
    result<boost::json::object> create_connector(const boost::json::object& body, const caller& who);
    result<boost::json::object> update_connector(
        std::string_view id, const boost::json::object& body, const caller& who
    );
    result<boost::json::object> delete_connector(std::string_view id, const caller& who);

    // Test seam: fail store statements on demand.
    store& underlying_store() { return *store_; }

private:
    service(service_options opts, std::unique_ptr<store> st, cipher c, secret_key key);
    result<void> load();
    void publish(std::shared_ptr<const snapshot> s) {
        std::lock_guard lock(snap_mutex_);
        snap_.swap(s);
    }

    // Encrypts a credential list into the JSON object stored in the document.
    boost::json::object encrypt_credentials(const credential_list& plain, std::string_view resource_id) const;
    // A stored row for a resource, with its next version and seq_no.
    stored_row make_row(kind k, const resource& r) const;

    service_options opts_;
    std::unique_ptr<store> store_;
    cipher cipher_;
    secret_key key_;
    std::function<std::int64_t()> clock_;
    // libstdc++ 12's std::atomic<std::shared_ptr> corrupted reference counts under load in our tests; a
    // mutex held for one pointer copy is just as cheap here and obviously correct.
    mutable std::mutex snap_mutex_;
    std::shared_ptr<const snapshot> snap_;
    std::string cluster_uuid_;
};

// OpenSearch UpdateResponse / DeleteResponse bodies for the system index of `k`.
boost::json::object write_response(kind k, const resource& r, std::string_view result_word);

}  // namespace modelrelay::registry
