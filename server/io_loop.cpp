// File: io_loop.cpp
#include "server/io_loop.hpp"

#include <sched.h>

namespace modelrelay::server {

void run_io(boost::asio::io_context& ioc, std::chrono::microseconds busy_poll) {
    if (busy_poll.count() <= 0) {
        ioc.run();
        return;
    }
    using clock = std::chrono::steady_clock;
    while (!ioc.stopped()) {
        if (ioc.poll() > 0) {
            continue;
        }
        const auto until = clock::now() + busy_poll;
        bool woke = false;
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
