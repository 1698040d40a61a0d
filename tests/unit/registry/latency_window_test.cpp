// File: latency_window_test.cpp
// The profile API's latency windows: the newest N values kept, 0 clearing, and Commons Math's LEGACY
// percentiles (p/100·(n+1), clamped to min and max).
#include "registry/latency_window.hpp"

#include <gtest/gtest.h>

namespace modelrelay::registry {
namespace {

TEST(latency_window, keeps_the_newest_values_and_zero_clears) {
    latency_window w;
    EXPECT_FALSE(w.summarize());
    for (double v : {5.0, 1.0, 3.0, 2.0}) {
        w.add(v, 3);
    }
    auto s = w.summarize();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->count, 3u);  // 5 fell out
    EXPECT_DOUBLE_EQ(s->min, 1.0);
    EXPECT_DOUBLE_EQ(s->max, 3.0);
    EXPECT_DOUBLE_EQ(s->average, 2.0);
    // A larger window keeps what it has; a smaller one keeps the newest.
    w.add(4.0, 10);
    EXPECT_EQ(w.summarize()->count, 4u);
    w.add(7.0, 2);
    auto small = w.summarize();
    ASSERT_TRUE(small);
    EXPECT_EQ(small->count, 2u);
    EXPECT_DOUBLE_EQ(small->min, 4.0);
    EXPECT_DOUBLE_EQ(small->max, 7.0);
    // The ring wraps: after many values only the newest two remain.
    for (int i = 0; i < 25; ++i) {
        w.add(100.0 + i, 2);
    }
    EXPECT_DOUBLE_EQ(w.summarize()->min, 123.0);
    EXPECT_DOUBLE_EQ(w.summarize()->max, 124.0);
    w.add(9.0, 0);
    EXPECT_FALSE(w.summarize());
}

TEST(latency_window, percentiles_follow_commons_math_legacy) {
    latency_window w;
    for (int i = 1; i <= 10; ++i) {
        w.add(i, 100);
    }
    auto s = w.summarize();
    ASSERT_TRUE(s);
    EXPECT_DOUBLE_EQ(s->p50, 5.5);   // pos 5.5: between 5 and 6
    EXPECT_DOUBLE_EQ(s->p90, 9.9);   // pos 9.9: between 9 and 10
    EXPECT_DOUBLE_EQ(s->p99, 10.0);  // pos 10.89 >= n: the maximum
    latency_window two;
    two.add(5.402, 100);
    two.add(89.978681, 100);
    auto t = two.summarize();
    ASSERT_TRUE(t);
    EXPECT_DOUBLE_EQ(t->p50, 47.6903405);
    EXPECT_DOUBLE_EQ(t->p90, 89.978681);  // LEGACY: pos 2.7 >= n
    const auto j = to_json(*t);
    EXPECT_EQ(j.at("count").as_uint64(), 2u);
    EXPECT_TRUE(j.contains("p99"));
}

}  // namespace
}  // namespace modelrelay::registry
