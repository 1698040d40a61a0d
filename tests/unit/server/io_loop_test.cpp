// File: io_loop_test.cpp
// run_io with a busy-poll window must behave like io_context::run(): run every handler, including ones
// that become ready after the window has expired and the thread went to sleep, and return once the
// context runs out of work or is stopped.
#include "server/io_loop.hpp"

#include <atomic>
#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

namespace modelrelay::test {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;

// Times this thread blocked (slept) so far. A polling thread never blocks: sched_yield leaves it runnable,
// which Linux counts as an involuntary switch. Unlike CPU time, this does not depend on how busy the
// machine is.
long thread_sleeps() {
    rusage ru{};
    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_nvcsw;
}

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
        const std::atomic<bool> finished{false};
        server::run_io(ioc, {window, 0us}, finished);
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
    const std::atomic<bool> finished{false};
    server::run_io(ioc, {1s, 1s}, finished, 0);
    EXPECT_EQ(ran, 1);
    EXPECT_LT(thread_cpu() - cpu_before, 10ms) << "the thread polled instead of sleeping";
}

TEST(io_loop, a_thread_awaiting_an_upstream_head_polls_for_the_longer_window) {
    // A 50 ms timer with a 10 µs idle window: the thread goes to sleep until the timer. With an upstream
    // head awaited and a 1 s upstream window it polls through the 50 ms instead and never sleeps. Counted
    // as the thread's voluntary context switches, not as CPU time: a yielding thread on a loaded machine
    // gets little CPU, but it still never blocks.
    for (bool awaiting : {false, true}) {
        std::optional<server::awaiting_upstream> waiting;
        if (awaiting) {
            waiting.emplace();
        }
        net::io_context ioc(1);
        int ran = 0;
        net::steady_timer late(ioc, 50ms);
        late.async_wait([&](auto) { ++ran; });
        const std::atomic<bool> finished{false};
        const auto sleeps_before = thread_sleeps();
        server::run_io(ioc, {10us, 1s}, finished);
        const auto slept = thread_sleeps() - sleeps_before;
        EXPECT_EQ(ran, 1);
        if (awaiting) {
            EXPECT_EQ(slept, 0) << "the thread slept while an upstream head was awaited";
        } else {
            EXPECT_GE(slept, 1) << "the thread polled past its idle window";
        }
    }
}

TEST(io_loop, stop_from_another_thread_ends_the_loop_polling_or_not) {
    // poll_below 4 with no connection: the polling loop; poll_below 0 with one: the plain run().
    for (std::size_t poll_below : {4u, 0u}) {
        const server::thread_connection counted;
        net::io_context ioc(1);
        auto guard = net::make_work_guard(ioc);
        std::atomic<bool> finished{false};
        std::thread stopper([&] {
            std::this_thread::sleep_for(20ms);
            finished = true;
            ioc.stop();
        });
        server::run_io(ioc, {100us, 0us}, finished, poll_below);
        stopper.join();
        EXPECT_TRUE(ioc.stopped()) << poll_below;
    }
}

TEST(io_loop, a_thread_goes_back_to_polling_when_its_connections_drop_to_the_threshold) {
    // Two connections (above poll_below = 1) put the thread in run(); closing one must end that run() and
    // the loop must go on (handlers after it still run) until the final stop.
    net::io_context ioc(1);
    auto guard = net::make_work_guard(ioc);
    std::atomic<bool> finished{false};
    std::optional<server::thread_connection> a;
    std::optional<server::thread_connection> b;
    std::vector<std::string> ran;
    net::post(ioc, [&] {
        a.emplace();
        b.emplace();
        ran.emplace_back("open");
    });
    net::steady_timer close_one(ioc, 20ms);
    close_one.async_wait([&](auto) {
        b.reset();
        ran.emplace_back("close");
    });
    net::steady_timer after(ioc, 40ms);
    after.async_wait([&](auto) {
        ran.emplace_back("after");
        a.reset();
        finished = true;
        ioc.stop();
    });
    server::run_io(ioc, {100us, 0us}, finished, 1);
    EXPECT_EQ(ran, (std::vector<std::string>{"open", "close", "after"}));
    EXPECT_EQ(server::thread_connection::count(), 0u);
}

TEST(io_loop, a_final_stop_that_meets_a_return_to_polling_still_ends_the_loop) {
    // The connection that brings the thread back to its threshold closes in the handler that also stops
    // the loop for good: run_io must return, not restart the context and wait forever.
    net::io_context ioc(1);
    auto guard = net::make_work_guard(ioc);
    std::atomic<bool> finished{false};
    std::optional<server::thread_connection> a;
    net::post(ioc, [&] { a.emplace(); });
    net::steady_timer t(ioc, 10ms);
    t.async_wait([&](auto) {
        finished = true;
        ioc.stop();
        a.reset();
    });
    server::run_io(ioc, {100us, 0us}, finished, 0);
    EXPECT_TRUE(finished);
}

}  // namespace
}  // namespace modelrelay::test
