// File: latency_window.cpp
#include "registry/latency_window.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace modelrelay::registry {

std::deque<double> latency_window::ordered() const {
    std::deque<double> out;
    const std::size_t cap = ring_.size();
    for (std::size_t i = 0; i < size_; ++i) {
        out.push_back(ring_[(next_ + cap - size_ + i) % cap]);
    }
    return out;
}

void latency_window::add(double ms, std::size_t capacity) {
    std::lock_guard lock(mu_);
    if (capacity == 0) {
        ring_ = {};
        next_ = size_ = 0;
        return;
    }
    if (ring_.size() != capacity) {
        // The window setting changed (or this is the first value): keep the newest that still fit.
        auto kept = ordered();
        while (kept.size() > capacity) {
            kept.pop_front();
        }
        ring_.assign(capacity, 0.0);
        std::copy(kept.begin(), kept.end(), ring_.begin());
        size_ = kept.size();
        next_ = size_ % capacity;
    }
    ring_[next_] = ms;
    next_ = (next_ + 1) % capacity;
    size_ = std::min(size_ + 1, capacity);
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
        if (size_ == 0) {
            return std::nullopt;
        }
        sorted = ordered();
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
