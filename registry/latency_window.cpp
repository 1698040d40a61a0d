// File: latency_window.cpp
#include "registry/latency_window.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace modelrelay::registry {

void latency_window::add(double ms, std::size_t capacity) {
    std::lock_guard lock(mu_);
    if (capacity == 0) {
        values_.clear();
        return;
    }
    while (values_.size() >= capacity) {
        values_.pop_front();
    }
    values_.push_back(ms);
}

double legacy_percentile(const std::deque<double>& sorted, double p) {
    const auto n = static_cast<double>(sorted.size());
    const double pos = p / 100.0 * (n + 1.0);
    if (pos < 1.0) {
        return sorted.front();
    }
    if (pos >= n) {
        return sorted.back();
    }
    const double lower_pos = std::floor(pos);
    const double lower = sorted[static_cast<std::size_t>(lower_pos) - 1];
    const double upper = sorted[static_cast<std::size_t>(lower_pos)];
    return lower + (pos - lower_pos) * (upper - lower);
}

std::optional<latency_window::summary> latency_window::summarize() const {
    std::deque<double> sorted;
    {
        std::lock_guard lock(mu_);
        if (values_.empty()) {
            return std::nullopt;
        }
        sorted = values_;
    }
    std::sort(sorted.begin(), sorted.end());
    summary s;
    s.count = sorted.size();
    s.min = sorted.front();
    s.max = sorted.back();
    s.average = std::accumulate(sorted.begin(), sorted.end(), 0.0) / static_cast<double>(s.count);
    s.p50 = legacy_percentile(sorted, 50);
    s.p90 = legacy_percentile(sorted, 90);
    s.p99 = legacy_percentile(sorted, 99);
    return s;
}

boost::json::object to_json(const latency_window::summary& s) {
    return boost::json::object{
        {"count", s.count},
        {"max", s.max},
        {"min", s.min},
        {"average", s.average},
        {"p50", s.p50},
        {"p90", s.p90},
        {"p99", s.p99},
    };
}

}  // namespace modelrelay::registry
