// File: ml_stats.hpp
// ml-commons' stats counters (ml-commons.md §1.6, MLStats): the node counters and, per action, the request
// and failure counts of the `remote` algorithm and of each model. In memory, reset by a restart, as in
// ml-commons; model counters outlive an undeploy. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

namespace modelrelay::registry {

enum class ml_action { register_, deploy, undeploy, predict };
std::string_view action_key(ml_action a);  // "register", "deploy", "undeploy", "predict"

class ml_stats {
public:
    // One request of `a` (model_id "" when it names no model): ml_request_count, algorithms.remote.<a> and,
    // for a model, models.<id>.<a>.
    void request(ml_action a, std::string_view model_id);
    // A failure ml-commons tracks (not a 400): ml_failure_count and algorithms.remote.<a>; the model's
    // failure counter appears but stays 0, as in ml-commons.
    void failure(ml_action a, std::string_view model_id);
    void executing(int delta) { executing_.fetch_add(delta, std::memory_order_relaxed); }

    std::int64_t request_count() const { return requests_.load(std::memory_order_relaxed); }
    std::int64_t failure_count() const { return failures_.load(std::memory_order_relaxed); }
    std::int64_t executing_count() const { return executing_.load(std::memory_order_relaxed); }
    // {"remote":{"<action>":{"ml_action_request_count":N[,"ml_action_failure_count":M]}}} and the same per
    // model id (with "is_hidden":false).
    boost::json::object algorithms_json() const;
    boost::json::object models_json() const;

private:
    struct counts {
        std::int64_t requests = 0;
        std::int64_t failures = 0;
        bool failure_seen = false;
    };
    using by_action = std::map<ml_action, counts>;
    static boost::json::object to_json(const by_action& a);

    std::atomic<std::int64_t> requests_{0};
    std::atomic<std::int64_t> failures_{0};
    std::atomic<std::int64_t> executing_{0};
    mutable std::mutex mu_;
    by_action algorithm_;
    std::map<std::string, by_action, std::less<>> models_;
};

// Counts one predict while it runs (ml_executing_task_count) and its request; fail() records a tracked
// failure, at most one per request. `model_id` must outlive it (callers pass the id inside the
// deployment they hold).
class predict_accounting {
public:
    predict_accounting(ml_stats& s, std::shared_ptr<const void> keep_alive, std::string_view model_id)
        : stats_(s), keep_alive_(std::move(keep_alive)), model_id_(model_id) {
        stats_.executing(1);
        stats_.request(ml_action::predict, model_id_);
    }
    ~predict_accounting() { stats_.executing(-1); }
    predict_accounting(const predict_accounting&) = delete;
    predict_accounting& operator=(const predict_accounting&) = delete;
    // ml-commons' shouldTrackRemoteFailure: everything but a 400.
    void fail(int http_status) {
        if (http_status != 400 && !failed_) {
            failed_ = true;
            stats_.failure(ml_action::predict, model_id_);
        }
    }

private:
    ml_stats& stats_;
    std::shared_ptr<const void> keep_alive_;  // what model_id_ points into
    std::string_view model_id_;
    bool failed_ = false;
};

}  // namespace modelrelay::registry
