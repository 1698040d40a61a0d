// File: io_loop.hpp
// How an I/O thread runs its io_context. Plain run() sleeps in epoll_wait whenever there is nothing to do.
// With a busy-poll window the thread first keeps polling for that long after its last event, calling
// sched_yield between polls so that any other runnable thread on the core goes first. On a virtual
// machine waking a sleeping vCPU costs tens of microseconds, paid twice per proxied request (the client's
// request, the upstream's answer); polling through the short gap between them halves the added latency at
// low load (docs/benchmarks.md). It only pays at low concurrency: the thread polls only while it serves at
// most `poll_below` connections. With more, the next event comes soon anyway, and the polling would take
// CPU from the processes sharing the machine (measured: about −10 % throughput at 32 connections), so a
// thread above the threshold runs a plain run() until its connection count comes back down.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>

#include <boost/asio/io_context.hpp>

namespace modelrelay::server {

// Connections served by the calling thread (sessions are confined to the thread that accepted them).
class thread_connection {
public:
    thread_connection() noexcept;
    ~thread_connection();
    thread_connection(const thread_connection&) = delete;
    thread_connection& operator=(const thread_connection&) = delete;
    static std::size_t count() noexcept;
};

// While alive, the calling thread is waiting for an upstream answer's head: the request is out and the
// answer is coming, so an idle thread polls for the longer `upstream_window` of run_io before it sleeps
// (the wake-up it saves is on the time to first token).
class awaiting_upstream {
public:
    awaiting_upstream() noexcept;
    ~awaiting_upstream();
    awaiting_upstream(const awaiting_upstream&) = delete;
    awaiting_upstream& operator=(const awaiting_upstream&) = delete;
};

inline constexpr std::size_t busy_poll_max_connections = 4;

struct poll_windows {
    std::chrono::microseconds idle{0};      // after the last event; 0: never poll
    std::chrono::microseconds upstream{0};  // instead, while an awaiting_upstream is alive on the thread
};

// Runs `ioc` until it is stopped with `finished` set (set it before calling stop(): a thread that leaves
// run() to go back to polling restarts its io_context, and checks `finished` to know a stop is final).
void run_io(
    boost::asio::io_context& ioc,
    poll_windows windows,
    const std::atomic<bool>& finished,
    std::size_t poll_below = busy_poll_max_connections
);

}  // namespace modelrelay::server
