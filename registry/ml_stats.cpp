// File: ml_stats.cpp
#include "registry/ml_stats.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

std::string_view action_key(ml_action a) {
    switch (a) {
        case ml_action::register_:
            return "register";
        case ml_action::deploy:
            return "deploy";
        case ml_action::undeploy:
            return "undeploy";
        case ml_action::predict:
            return "predict";
    }
    return "predict";
}

void ml_stats::request(ml_action a, std::string_view model_id) {
    requests_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(mu_);
    algorithm_[a].requests += 1;
    if (!model_id.empty()) {
        auto it = models_.find(model_id);
        if (it == models_.end()) {
            it = models_.emplace(std::string(model_id), by_action{}).first;
        }
        it->second[a].requests += 1;
    }
}

void ml_stats::failure(ml_action a, std::string_view model_id) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(mu_);
    auto& c = algorithm_[a];
    c.failures += 1;
    c.failure_seen = true;
    if (!model_id.empty()) {
        if (auto it = models_.find(model_id); it != models_.end()) {
            it->second[a].failure_seen = true;  // created, never incremented (ml-commons)
        }
    }
}

json::object ml_stats::to_json(const by_action& a) {
    json::object out;
    for (const auto& [action, c] : a) {
        json::object o{{"ml_action_request_count", c.requests}};
        if (c.failure_seen) {
            o["ml_action_failure_count"] = c.failures;
        }
        out[action_key(action)] = std::move(o);
    }
    return out;
}

json::object ml_stats::algorithms_json() const {
    std::lock_guard lock(mu_);
    if (algorithm_.empty()) {
        return {};
    }
    return json::object{{"remote", to_json(algorithm_)}};
}

json::object ml_stats::models_json() const {
    std::lock_guard lock(mu_);
    json::object out;
    for (const auto& [id, a] : models_) {
        out[id] = to_json(a);
    }
    return out;
}

}  // namespace modelrelay::registry
