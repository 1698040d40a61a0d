// File: deployed_model.hpp
// What the predict hot path needs about a deployed model, prepared once at deploy time (the connector of a
// deployment restored at start-up: on its first call): the compiled connector (templates compiled,
// credentials bound), model switches, and a small mutable runtime part (last access for TTL undeploy, the
// model-level token bucket) shared by all snapshots that hold it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "registry/authz.hpp"
#include "registry/compiled_connector.hpp"
#include "registry/error.hpp"
#include "registry/latency_window.hpp"

namespace modelrelay::registry {

class guardrails;
struct model_interface;

// ml-commons' model-level rate limiter: a token bucket of rate limit/unit with a burst of max(limit, 1).
class token_bucket {
public:
    token_bucket(double limit, std::int64_t unit_ns);
    // True when a request may pass now (and consumes a token).
    bool try_acquire(std::int64_t now_ns);
    // After a refusal: nanoseconds until the next token (what a 429's Retry-After advises).
    std::int64_t wait_ns(std::int64_t now_ns);

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
    // The model controller's per-user limiters (registry/controller.hpp), by user name; fixed for the
    // deployment (a controller write redeploys the model's runtime).
    std::map<std::string, std::unique_ptr<token_bucket>, std::less<>> user_limiters;
    // The profile API's windows: upstream calls that answered 2xx, and whole _predict requests.
    latency_window inference;
    latency_window requests;
};

// A deployed model's compiled connector. A deploy compiles it at once (a failure is the deploy's answer).
// Start-up restores thousands of deployments without compiling them: the slot then holds the recipe and
// compiles on the first call, once, whichever thread gets there first, and every later call reads the
// result without a lock (docs/benchmarks.md, "Start-up"). Models calling the same stored connector share
// one slot.
class connector_slot {
public:
    using compile_fn = std::function<result<std::shared_ptr<const compiled_connector>>()>;

    explicit connector_slot(std::shared_ptr<const compiled_connector> ready);
    explicit connector_slot(compile_fn deferred);
    connector_slot(const connector_slot&) = delete;
    connector_slot& operator=(const connector_slot&) = delete;

    // The compiled connector (alive as long as the slot), or the compile's error: the same answer every
    // time, since the stored connector cannot change while a model using it is deployed.
    result<const compiled_connector*> get() const;
    // Whether the compile has run.
    bool compiled() const { return done_.load(std::memory_order_acquire); }

private:
    mutable std::mutex mu_;
    mutable std::atomic<bool> done_{false};
    mutable compile_fn compile_;  // dropped once run
    mutable std::shared_ptr<const compiled_connector> ready_;
    mutable std::optional<error> failed_;
};

struct deployed_model {
    std::string model_id;
    std::string tenant_id;
    std::string connector_id;  // "" for an inline connector
    std::shared_ptr<const connector_slot> connector;
    std::int64_t ttl_minutes = -1;  // deploy_setting.model_ttl_minutes
    std::shared_ptr<model_runtime> runtime;
    // The model's ACL (its group's owner/access/roles), built at deploy time and refreshed when the group
    // changes, so the predict path decides without reading documents.
    std::shared_ptr<const resource_acl> acl;
    // The model's guardrails (null: none), compiled at deploy time.
    std::shared_ptr<const guardrails> guard;
    bool guard_broken = false;  // stored guardrails that no longer compile: every call is refused
    // The model's interface schemas (null: none), compiled at deploy time.
    std::shared_ptr<const model_interface> iface;
    bool iface_broken = false;  // a stored interface that no longer compiles: every call is refused
};

// Java TimeUnit names → nanoseconds; 0 for an unknown unit.
std::int64_t time_unit_ns(std::string_view unit);

}  // namespace modelrelay::registry
