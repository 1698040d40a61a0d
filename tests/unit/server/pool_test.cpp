// File: pool_test.cpp
// The upstream pool's two-part acquire (try_acquire, then await_slot only when the key is full): a free
// slot is handed over at once, a full key queues the caller, a freed slot passes to the oldest waiter, and
// a waiter that times out gets the 429 text and leaves the queue.
#include "server/upstream/pool.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <variant>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace modelrelay::test {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;
using server::upstream::pool;
using server::upstream::pool_key;

pool_key key() {
    return pool_key{false, "127.0.0.1", 8080, false, 0};
}

// Runs await_slot(t) to completion on `io` and returns what it gave.
registry::result<pool::lease> await_on(
    net::io_context& io,
    pool& p,
    pool::ticket t,
    std::chrono::milliseconds timeout,
    std::function<void()> meanwhile
) {
    std::optional<registry::result<pool::lease>> got;
    net::co_spawn(
        io,
        [&p, &got, t = std::move(t), timeout]() mutable -> net::awaitable<void> {
            auto r = co_await p.await_slot(std::move(t), timeout);
            got.emplace(std::move(r));
        },
        net::detached
    );
    io.poll();
    meanwhile();
    io.run();
    io.restart();
    EXPECT_TRUE(got.has_value());
    return std::move(*got);
}

TEST(upstream_pool, a_free_slot_is_handed_over_at_once) {
    net::io_context io;
    pool p(60s);
    auto first = p.try_acquire(key(), 2, io.get_executor());
    ASSERT_TRUE(std::holds_alternative<pool::lease>(first));
    EXPECT_EQ(std::get<pool::lease>(first).get(), nullptr);  // a slot to connect with
    EXPECT_FALSE(std::get<pool::lease>(first).reused());
    auto second = p.try_acquire(key(), 2, io.get_executor());
    ASSERT_TRUE(std::holds_alternative<pool::lease>(second));
    EXPECT_EQ(p.stats().in_use, 2u);
    EXPECT_EQ(p.stats().waiting, 0u);
}

TEST(upstream_pool, a_full_key_queues_the_caller_until_a_slot_is_freed) {
    net::io_context io;
    pool p(60s);
    auto held = p.try_acquire(key(), 1, io.get_executor());
    ASSERT_TRUE(std::holds_alternative<pool::lease>(held));
    auto queued = p.try_acquire(key(), 1, io.get_executor());
    ASSERT_TRUE(std::holds_alternative<pool::ticket>(queued));
    EXPECT_EQ(p.stats().waiting, 1u);
    auto granted = await_on(io, p, std::move(std::get<pool::ticket>(queued)), 10s, [&] {
        std::get<pool::lease>(held).discard();  // the slot passes to the waiter
    });
    ASSERT_TRUE(granted) << granted.error().reason;
    EXPECT_EQ(p.stats().in_use, 1u);
    EXPECT_EQ(p.stats().waiting, 0u);
    // A different key has slots of its own.
    auto other = p.try_acquire(pool_key{false, "127.0.0.2", 8080, false, 0}, 1, io.get_executor());
    EXPECT_TRUE(std::holds_alternative<pool::lease>(other));
}

TEST(upstream_pool, a_waiter_that_times_out_gets_the_429_and_leaves_the_queue) {
    net::io_context io;
    pool p(60s);
    auto held = p.try_acquire(key(), 1, io.get_executor());
    ASSERT_TRUE(std::holds_alternative<pool::lease>(held));
    auto queued = p.try_acquire(key(), 1, io.get_executor());
    ASSERT_TRUE(std::holds_alternative<pool::ticket>(queued));
    auto refused = await_on(io, p, std::move(std::get<pool::ticket>(queued)), 20ms, [] {});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, registry::errc::too_many_requests);
    EXPECT_EQ(refused.error().reason, server::upstream::acquire_timeout_message);
    EXPECT_EQ(p.stats().waiting, 0u);
    EXPECT_EQ(p.stats().in_use, 1u);
    // The slot freed now is not given to the waiter that left: the next caller gets it at once.
    std::get<pool::lease>(held).discard();
    EXPECT_TRUE(std::holds_alternative<pool::lease>(p.try_acquire(key(), 1, io.get_executor())));
}

// max_connection bounds each scope's (model's) leases: one model at its limit neither blocks another on
// the same host nor is served by the other's freed lease.
TEST(upstream_pool, each_scope_has_its_own_limit_on_one_host) {
    net::io_context io;
    pool p(60s);
    auto scoped = [](std::uint64_t scope) {
        auto k = key();
        k.scope = scope;
        return k;
    };
    auto a = p.try_acquire(scoped(1), 1, io.get_executor());
    ASSERT_TRUE(std::holds_alternative<pool::lease>(a));
    auto b = p.try_acquire(scoped(2), 1, io.get_executor());
    ASSERT_TRUE(std::holds_alternative<pool::lease>(b));  // not queued behind scope 1
    auto a_again = p.try_acquire(scoped(1), 1, io.get_executor());
    ASSERT_TRUE(std::holds_alternative<pool::ticket>(a_again));
    auto refused = await_on(io, p, std::move(std::get<pool::ticket>(a_again)), 20ms, [&] {
        std::get<pool::lease>(b).discard();  // scope 2's lease ends: nothing for scope 1
    });
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, registry::errc::too_many_requests);
    std::get<pool::lease>(a).discard();
    EXPECT_TRUE(std::holds_alternative<pool::lease>(p.try_acquire(scoped(1), 1, io.get_executor())));
}

}  // namespace
}  // namespace modelrelay::test
