// File: config_startup_test.cpp
// --startup-threads / MODELRELAY_STARTUP_THREADS: how many threads load the registry at start-up.
#include <chrono>
#include <cstdlib>

#include <gtest/gtest.h>

#include "server/config.hpp"
#include "tests/unit/server/config_args.hpp"

namespace modelrelay::server {
namespace {

using test_support::parse;

TEST(config_startup, threads_default_to_the_cores_and_take_a_count) {
    auto none = parse({});
    ASSERT_TRUE(none.cfg);
    EXPECT_EQ(none.cfg->startup_threads, 0U);
    auto three = parse({"--startup-threads", "3"});
    ASSERT_TRUE(three.cfg) << three.message;
    EXPECT_EQ(three.cfg->startup_threads, 3U);
    ::setenv("MODELRELAY_STARTUP_THREADS", "1", 1);
    auto from_env = parse({});
    ::unsetenv("MODELRELAY_STARTUP_THREADS");
    ASSERT_TRUE(from_env.cfg) << from_env.message;
    EXPECT_EQ(from_env.cfg->startup_threads, 1U);
}

TEST(config_startup, busy_poll_windows_default_and_parse) {
    auto none = parse({});
    ASSERT_TRUE(none.cfg);
    EXPECT_EQ(none.cfg->busy_poll, std::chrono::microseconds(30));
    EXPECT_EQ(none.cfg->busy_poll_upstream, std::chrono::microseconds(200));
    auto set = parse({"--busy-poll-us", "0", "--busy-poll-upstream-us", "500"});
    ASSERT_TRUE(set.cfg) << set.message;
    EXPECT_EQ(set.cfg->busy_poll, std::chrono::microseconds(0));
    EXPECT_EQ(set.cfg->busy_poll_upstream, std::chrono::microseconds(500));
    auto bad = parse({"--busy-poll-upstream-us", "x"});
    EXPECT_FALSE(bad.cfg);
    EXPECT_NE(bad.message.find("busy-poll-upstream-us"), std::string::npos) << bad.message;
}

TEST(config_startup, a_bad_count_is_refused) {
    for (const char* bad : {"x", "-1", "65"}) {
        auto out = parse({"--startup-threads", bad});
        EXPECT_FALSE(out.cfg) << bad;
        EXPECT_NE(out.exit_code, 0) << bad;
        EXPECT_NE(out.message.find("startup-threads"), std::string::npos) << out.message;
    }
}

}  // namespace
}  // namespace modelrelay::server
