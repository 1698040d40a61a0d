// File: deployed_model.hpp
// What the predict hot path needs about a deployed model, prepared once at deploy time: the compiled
// connector (templates compiled, credentials bound), model switches, and a small mutable runtime part
// (last access for TTL undeploy, the model-level token bucket) shared by all snapshots that hold it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "registry/authz.hpp"
#include "registry/compiled_connector.hpp"

namespace modelrelay::registry {

// ml-commons' model-level rate limiter: a token bucket of rate limit/unit with a burst of max(limit, 1).
class token_bucket {
public:
    token_bucket(double limit, std::int64_t unit_ns);
    // True when a request may pass now (and consumes a token).
    bool try_acquire(std::int64_t now_ns);

private:
    std::mutex mu_;
    double rate_per_ns_;
    double capacity_;
    double tokens_;
    std::int64_t last_ns_ = -1;
};

struct model_runtime {
    std::atomic<std::int64_t> last_access_ms{0};
    std::unique_ptr<token_bucket> limiter;  // null: no rate limiter
};

struct deployed_model {
    std::string model_id;
    std::string tenant_id;
    std::string connector_id;  // "" for an inline connector
    std::shared_ptr<const compiled_connector> connector;
    std::int64_t ttl_minutes = -1;  // deploy_setting.model_ttl_minutes
    std::shared_ptr<model_runtime> runtime;
    // The model's ACL (its group's owner/access/roles), built at deploy time and refreshed when the group
    // changes, so the predict path decides without reading documents.
    std::shared_ptr<const resource_acl> acl;
};

// Java TimeUnit names → nanoseconds; 0 for an unknown unit.
std::int64_t time_unit_ns(std::string_view unit);

}  // namespace modelrelay::registry
