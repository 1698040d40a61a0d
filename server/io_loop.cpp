// File: io_loop.cpp
#include "server/io_loop.hpp"

#include <sched.h>

namespace modelrelay::server {

namespace {

thread_local std::size_t connections_on_this_thread = 0;

}  // namespace

thread_connection::thread_connection() noexcept {
    ++connections_on_this_thread;
}

thread_connection::~thread_connection() {
    --connections_on_this_thread;
}

std::size_t thread_connection::count() noexcept {
    return connections_on_this_thread;
}

void run_io(boost::asio::io_context& ioc, std::chrono::microseconds busy_poll, std::size_t poll_below) {
    if (busy_poll.count() <= 0) {
        ioc.run();
        return;
    }
    using clock = std::chrono::steady_clock;
    while (!ioc.stopped()) {
        if (ioc.poll() > 0) {
            continue;
        }
        bool woke = false;
        if (connections_on_this_thread <= poll_below) {
            const auto until = clock::now() + busy_poll;
            while (!ioc.stopped() && clock::now() < until) {
                sched_yield();
                if (ioc.poll() > 0) {
                    woke = true;
                    break;
                }
            }
        }
        if (!woke && !ioc.stopped()) {
            ioc.run_one();  // sleeps until the next event
        }
    }
}

}  // namespace modelrelay::server
