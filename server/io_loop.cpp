// File: io_loop.cpp
#include "server/io_loop.hpp"

#include <algorithm>
#include <sched.h>

namespace modelrelay::server {

namespace {

thread_local std::size_t connections_on_this_thread = 0;
thread_local std::size_t upstream_waits_on_this_thread = 0;
// While the thread sits in io_context::run() because it serves more than `blocking_threshold`
// connections: its io_context, so the connection that brings it back to the threshold can end run().
thread_local boost::asio::io_context* blocking_ioc = nullptr;
thread_local std::size_t blocking_threshold = 0;
thread_local bool leave_requested = false;

}  // namespace

thread_connection::thread_connection() noexcept {
    ++connections_on_this_thread;
}

thread_connection::~thread_connection() {
    --connections_on_this_thread;
    if (blocking_ioc != nullptr && !leave_requested && connections_on_this_thread <= blocking_threshold) {
        leave_requested = true;
        blocking_ioc->stop();  // run() returns after this handler; run_io goes back to polling
    }
}

std::size_t thread_connection::count() noexcept {
    return connections_on_this_thread;
}

awaiting_upstream::awaiting_upstream() noexcept {
    ++upstream_waits_on_this_thread;
}

awaiting_upstream::~awaiting_upstream() {
    --upstream_waits_on_this_thread;
}

void run_io(
    boost::asio::io_context& ioc,
    poll_windows windows,
    const std::atomic<bool>& finished,
    std::size_t poll_below
) {
    if (windows.idle.count() <= 0) {
        ioc.run();
        return;
    }
    using clock = std::chrono::steady_clock;
    while (!finished.load(std::memory_order_acquire)) {
        if (connections_on_this_thread > poll_below) {
            // A busy thread runs the plain loop: one long run() keeps Asio's per-thread state (its
            // recycled handler and coroutine-frame memory) and makes no extra non-blocking epoll_wait
            // per wake-up, which poll() + run_one() cost (about 10 % of c=32 throughput, measured).
            blocking_threshold = poll_below;
            blocking_ioc = &ioc;
            ioc.run();
            blocking_ioc = nullptr;
            const bool ours = leave_requested;
            leave_requested = false;
            if (!ours) {
                return;  // stopped for shutdown
            }
            ioc.restart();
            // A shutdown stop() that came before restart() was undone by it; `finished` is set first.
            if (finished.load(std::memory_order_acquire)) {
                return;
            }
            continue;
        }
        if (ioc.stopped()) {
            return;
        }
        if (ioc.poll() > 0) {
            continue;
        }
        bool woke = false;
        const auto window =
            upstream_waits_on_this_thread > 0 ? std::max(windows.upstream, windows.idle) : windows.idle;
        const auto until = clock::now() + window;
        while (!ioc.stopped() && clock::now() < until) {
            sched_yield();
            if (ioc.poll() > 0) {
                woke = true;
                break;
            }
        }
        if (!woke && !ioc.stopped()) {
            ioc.run_one();  // sleeps until the next event
        }
    }
}

}  // namespace modelrelay::server
