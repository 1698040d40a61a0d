// File: parallel.hpp
// Start-up work (parsing stored documents, compiling connectors) is a few tens of thousands of independent
// items; splitting them over the machine's cores is what brings a large registry's start-up down. This is
// the one helper for that: no pool survives start-up, so plain threads joined before returning suffice.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <sched.h>
#include <system_error>
#include <thread>
#include <vector>

namespace modelrelay::registry {

// The cores this process may run on (its CPU affinity: taskset, cpusets), which can be fewer than the
// machine's.
inline unsigned available_cores() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        return static_cast<unsigned>(CPU_COUNT(&set));
    }
    return std::thread::hardware_concurrency();
}

// How many threads start-up work should use: `requested`, or when 0 one per available core up to 8 (past
// that the single SQLite reader is the limit), at least 1.
inline unsigned worker_count(unsigned requested) {
    const unsigned n = requested != 0 ? requested : std::min(8U, available_cores());
    return std::max(1U, n);
}

// Calls f(i) for every i in [0, count) on up to `threads` threads (the caller's included), handing out
// chunks of `grain` indices from a shared counter so uneven items still balance. Returns when every call
// has returned. f must be safe to call concurrently for different indices. An exception (a bug: expected
// failures are results) stops the hand-out and is rethrown here after every thread has joined.
template <class F>
void parallel_for(std::size_t count, unsigned threads, F&& f, std::size_t grain = 64) {
    grain = std::max<std::size_t>(grain, 1);
    const std::size_t chunks = (count + grain - 1) / grain;
    const auto n = static_cast<unsigned>(std::min<std::size_t>(std::max(1U, threads), chunks));
    if (n <= 1) {
        for (std::size_t i = 0; i < count; ++i) {
            f(i);
        }
        return;
    }
    std::atomic<std::size_t> next{0};
    std::mutex failure_mu;
    std::exception_ptr failure;
    auto work = [&] {
        try {
            for (;;) {
                const std::size_t begin = next.fetch_add(grain);
                if (begin >= count) {
                    return;
                }
                const std::size_t end = std::min(count, begin + grain);
                for (std::size_t i = begin; i < end; ++i) {
                    f(i);
                }
            }
        } catch (...) {
            next.store(count);
            std::lock_guard lock(failure_mu);
            if (!failure) {
                failure = std::current_exception();
            }
        }
    };
    std::vector<std::thread> helpers;
    helpers.reserve(n - 1);
    for (unsigned t = 1; t < n; ++t) {
        try {
            helpers.emplace_back(work);
        } catch (const std::system_error&) {
            break;  // no thread to be had: fewer threads do the same work
        }
    }
    work();
    for (auto& h : helpers) {
        h.join();
    }
    if (failure) {
        std::rethrow_exception(failure);
    }
}

}  // namespace modelrelay::registry
