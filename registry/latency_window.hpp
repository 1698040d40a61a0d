// File: latency_window.hpp
// The last N durations of a deployed model (ml-commons' MLModelCache queues behind the profile API's
// `model_inference_stats` and `predict_request_stats`): a bounded window, summarised as count, max, min,
// average and the p50 / p90 / p99 of Apache Commons Math's default (LEGACY) percentile, in milliseconds.
// Thread-safe; add() takes a short lock and allocates only when the window grows.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

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
    mutable std::mutex mu_;
    std::deque<double> values_;
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
