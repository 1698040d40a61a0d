// File: deployed_model.cpp
#include "registry/deployed_model.hpp"

#include <algorithm>

namespace modelrelay::registry {

connector_slot::connector_slot(std::shared_ptr<const compiled_connector> ready) : ready_(std::move(ready)) {
    done_.store(true, std::memory_order_release);
}

connector_slot::connector_slot(compile_fn deferred) : compile_(std::move(deferred)) {}

result<const compiled_connector*> connector_slot::get() const {
    if (!done_.load(std::memory_order_acquire)) {
        std::lock_guard lock(mu_);
        if (!done_.load(std::memory_order_relaxed)) {
            auto made = compile_();
            if (made) {
                ready_ = std::move(*made);
            } else {
                failed_ = made.error();
            }
            compile_ = nullptr;
            done_.store(true, std::memory_order_release);
        }
    }
    if (failed_) {
        return *failed_;
    }
    return ready_.get();
}

token_bucket::token_bucket(double limit, std::int64_t unit_ns)
    : rate_per_ns_(unit_ns > 0 ? limit / static_cast<double>(unit_ns) : 0.0),
      capacity_(std::max(limit, 1.0)),
      tokens_(std::max(limit, 1.0)) {}

bool token_bucket::try_acquire(std::int64_t now_ns) {
    std::lock_guard lock(mu_);
    if (last_ns_ >= 0 && now_ns > last_ns_) {
        tokens_ = std::min(capacity_, tokens_ + static_cast<double>(now_ns - last_ns_) * rate_per_ns_);
    }
    last_ns_ = std::max(last_ns_, now_ns);
    if (tokens_ >= 1.0) {
        tokens_ -= 1.0;
        return true;
    }
    return false;
}

std::int64_t token_bucket::wait_ns(std::int64_t now_ns) {
    std::lock_guard lock(mu_);
    double tokens = tokens_;
    if (last_ns_ >= 0 && now_ns > last_ns_) {
        tokens = std::min(capacity_, tokens + static_cast<double>(now_ns - last_ns_) * rate_per_ns_);
    }
    if (tokens >= 1.0) {
        return 0;
    }
    if (rate_per_ns_ <= 0.0) {
        return std::numeric_limits<std::int64_t>::max();
    }
    const double wait = std::ceil((1.0 - tokens) / rate_per_ns_);
    return wait >= static_cast<double>(std::numeric_limits<std::int64_t>::max())
               ? std::numeric_limits<std::int64_t>::max()
               : static_cast<std::int64_t>(wait);
}

std::int64_t time_unit_ns(std::string_view unit) {
    if (unit == "NANOSECONDS") {
        return 1;
    }
    if (unit == "MICROSECONDS") {
        return 1'000;
    }
    if (unit == "MILLISECONDS") {
        return 1'000'000;
    }
    if (unit == "SECONDS") {
        return 1'000'000'000;
    }
    if (unit == "MINUTES") {
        return 60'000'000'000;
    }
    if (unit == "HOURS") {
        return 3'600'000'000'000;
    }
    if (unit == "DAYS") {
        return 86'400'000'000'000;
    }
    return 0;
}

}  // namespace modelrelay::registry
