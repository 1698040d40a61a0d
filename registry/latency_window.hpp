// File: latency_window.hpp
// The last N durations of a deployed model (ml-commons' MLModelCache queues behind the profile API's
// `model_inference_stats` and `predict_request_stats`): a bounded window, summarised as count, max, min,
// average and the p50 / p90 / p99 of Apache Commons Math's default (LEGACY) percentile, in milliseconds.
// Thread-safe; add() takes a short lock. A window allocates its ring on first use, so thousands of deployed
// models that are never called cost no memory for it.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include <boost/json/object.hpp>

namespace modelrelay::registry {

class latency_window {
public:
    // Keeps the newest `capacity` values (plugins.ml_commons.monitoring_request_count); 0 clears it and
    // keeps nothing, as ml-commons does.
    void add(double ms, std::size_t capacity);

    struct summary {
        std::size_t count = 0;
        double max = 0, min = 0, average = 0, p50 = 0, p90 = 0, p99 = 0;
    };
    std::optional<summary> summarize() const;  // nullopt when empty

private:
    std::deque<double> ordered() const;  // oldest first; REQUIRES: mu_ held

    mutable std::mutex mu_;
    std::vector<double> ring_;  // `capacity` slots once used
    std::size_t next_ = 0;      // the slot the next value goes to
    std::size_t size_ = 0;      // values held
};

// Adds the time from its construction to its destruction to a window (a whole request, whatever path it
// leaves by).
class scoped_latency {
public:
    scoped_latency(latency_window& w, std::size_t capacity)
        : window_(w), capacity_(capacity), start_(std::chrono::steady_clock::now()) {}
    ~scoped_latency() { window_.add(elapsed_ms(start_), capacity_); }
    scoped_latency(const scoped_latency&) = delete;
    scoped_latency& operator=(const scoped_latency&) = delete;

    static double elapsed_ms(std::chrono::steady_clock::time_point since) {
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
    }

private:
    latency_window& window_;
    std::size_t capacity_;
    std::chrono::steady_clock::time_point start_;
};

// Commons Math Percentile (LEGACY) of sorted values: pos = p/100·(n+1); below 1 the minimum, from n on the
// maximum, otherwise linear between the neighbours. REQUIRES: !sorted.empty().
double legacy_percentile(const std::deque<double>& sorted, double p);

// {"count":..,"max":..,"min":..,"average":..,"p50":..,"p90":..,"p99":..}
boost::json::object to_json(const latency_window::summary& s);

}  // namespace modelrelay::registry
