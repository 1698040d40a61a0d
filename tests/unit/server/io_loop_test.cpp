// File: io_loop_test.cpp
// run_io with a busy-poll window must behave like io_context::run(): run every handler, including ones
// that become ready after the window has expired and the thread went to sleep, and return once the
// context runs out of work or is stopped.
#include "server/io_loop.hpp"

#include <chrono>
#include <thread>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

namespace modelrelay::test {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;

TEST(io_loop, busy_poll_runs_early_and_late_handlers_then_returns) {
    for (auto window : {0us, 200us}) {
        net::io_context ioc(1);
        int ran = 0;
        net::post(ioc, [&] { ++ran; });
        net::steady_timer soon(ioc, 50us);  // inside the window
        soon.async_wait([&](auto) { ++ran; });
        net::steady_timer late(ioc, 20ms);  // long after it: the thread must have slept and woken
        late.async_wait([&](auto) { ++ran; });
        server::run_io(ioc, window);
        EXPECT_EQ(ran, 3) << window.count();
        EXPECT_TRUE(ioc.stopped());
    }
}

TEST(io_loop, stop_from_another_thread_ends_the_loop) {
    net::io_context ioc(1);
    auto guard = net::make_work_guard(ioc);
    std::thread stopper([&] {
        std::this_thread::sleep_for(20ms);
        ioc.stop();
    });
    server::run_io(ioc, 100us);
    stopper.join();
    EXPECT_TRUE(ioc.stopped());
}

}  // namespace
}  // namespace modelrelay::test
