// File: io_loop_test.cpp
// run_io with a busy-poll window must behave like io_context::run(): run every handler, including ones
// that become ready after the window has expired and the thread went to sleep, and return once the
// context runs out of work or is stopped.
#include "server/io_loop.hpp"

#include <chrono>
#include <ctime>
#include <thread>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

namespace modelrelay::test {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;

std::chrono::nanoseconds thread_cpu() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

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

TEST(io_loop, connections_are_counted_per_thread) {
    EXPECT_EQ(server::thread_connection::count(), 0u);
    {
        const server::thread_connection a;
        const server::thread_connection b;
        EXPECT_EQ(server::thread_connection::count(), 2u);
        std::size_t elsewhere = 99;
        std::thread([&] { elsewhere = server::thread_connection::count(); }).join();
        EXPECT_EQ(elsewhere, 0u);
    }
    EXPECT_EQ(server::thread_connection::count(), 0u);
}

TEST(io_loop, a_busy_thread_sleeps_instead_of_polling) {
    // Above the connection threshold run_io must not poll: with poll_below = 0 and one counted connection,
    // waiting 50 ms for a timer costs the thread (almost) no CPU, where polling would burn the 50 ms.
    const server::thread_connection counted;
    net::io_context ioc(1);
    int ran = 0;
    net::steady_timer late(ioc, 50ms);
    late.async_wait([&](auto) { ++ran; });
    const auto cpu_before = thread_cpu();
    server::run_io(ioc, 1s, 0);
    EXPECT_EQ(ran, 1);
    EXPECT_LT(thread_cpu() - cpu_before, 10ms) << "the thread polled instead of sleeping";
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
