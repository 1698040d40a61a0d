// File: retry_policy_test.cpp
// Backoff arithmetic of the three ml-commons policies, the retry budget, and Retry-After parsing.
#include "server/upstream/retry_policy.hpp"

#include <gtest/gtest.h>

namespace modelrelay::server::upstream {
namespace {

using std::chrono::milliseconds;

TEST(backoff_policy, names) {
    EXPECT_EQ(parse_backoff_policy("constant"), backoff_policy::constant);
    EXPECT_EQ(parse_backoff_policy("exponential_equal_jitter"), backoff_policy::exponential_equal_jitter);
    EXPECT_EQ(parse_backoff_policy("exponential_full_jitter"), backoff_policy::exponential_full_jitter);
    EXPECT_FALSE(parse_backoff_policy("CONSTANT"));
    EXPECT_FALSE(parse_backoff_policy("linear"));
}

TEST(backoff_delay, constant_is_the_base) {
    std::mt19937_64 rng(1);
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(
            backoff_delay(backoff_policy::constant, milliseconds(200), milliseconds(30000), i, rng),
            milliseconds(200)
        );
    }
}

TEST(backoff_delay, equal_jitter_stays_in_the_upper_half_and_is_capped) {
    std::mt19937_64 rng(2);
    for (int retry = 0; retry < 40; ++retry) {
        const std::int64_t e = std::min<std::int64_t>((std::int64_t{1} << std::min(retry, 30)) * 100, 5000);
        for (int k = 0; k < 50; ++k) {
            const auto d = backoff_delay(
                backoff_policy::exponential_equal_jitter, milliseconds(100), milliseconds(5000), retry, rng
            );
            EXPECT_GE(d.count(), e / 2) << retry;
            EXPECT_LE(d.count(), e / 2 + e / 2) << retry;
        }
    }
}

TEST(backoff_delay, full_jitter_is_between_one_and_the_exponential) {
    std::mt19937_64 rng(3);
    bool saw_small = false;
    for (int retry = 0; retry < 8; ++retry) {
        const std::int64_t c = (std::int64_t{1} << retry) * 100;
        for (int k = 0; k < 200; ++k) {
            const auto d = backoff_delay(
                backoff_policy::exponential_full_jitter, milliseconds(100), milliseconds(0), retry, rng
            );
            EXPECT_GE(d.count(), 1);
            EXPECT_LE(d.count(), c);
            saw_small = saw_small || d.count() < c / 4;
        }
    }
    EXPECT_TRUE(saw_small);  // jitter reaches the bottom of the range
}

TEST(retry_schedule, none_by_default_and_counts_retries) {
    retry_schedule none(backoff_policy::constant, 0, milliseconds(10), milliseconds(30000), 1);
    EXPECT_FALSE(none.next(milliseconds(0)));

    retry_schedule three(backoff_policy::constant, 3, milliseconds(10), milliseconds(30000), 1);
    EXPECT_EQ(three.next(milliseconds(0)), milliseconds(10));
    EXPECT_EQ(three.next(milliseconds(20)), milliseconds(10));
    EXPECT_EQ(three.next(milliseconds(40)), milliseconds(10));
    EXPECT_FALSE(three.next(milliseconds(60)));
    EXPECT_EQ(three.retries_done(), 3);
}

TEST(retry_schedule, unlimited_is_bounded_by_the_budget) {
    retry_schedule s(backoff_policy::constant, -1, milliseconds(100), milliseconds(1000), 1);
    int n = 0;
    milliseconds elapsed{0};
    while (auto d = s.next(elapsed)) {
        elapsed += *d + milliseconds(5);  // the attempt itself takes 5 ms
        ++n;
    }
    EXPECT_EQ(n, 9);  // 9 * 105 = 945; a 10th wait would end past 1000 ms
}

TEST(retry_schedule, retry_after_extends_the_wait_but_not_the_budget) {
    retry_schedule s(backoff_policy::constant, 5, milliseconds(10), milliseconds(5000), 1);
    EXPECT_EQ(s.next(milliseconds(0), milliseconds(2000)), milliseconds(2000));
    EXPECT_EQ(
        s.next(milliseconds(2000), milliseconds(1)), milliseconds(10)
    );                                                              // shorter than backoff: backoff wins
    EXPECT_FALSE(s.next(milliseconds(2100), milliseconds(60000)));  // would overrun the budget
}

TEST(parse_retry_after, seconds_and_dates) {
    const auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
    EXPECT_EQ(parse_retry_after("0", now), milliseconds(0));
    EXPECT_EQ(parse_retry_after("  3 ", now), milliseconds(3000));
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), milliseconds(10000));
    EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:50:37 GMT", now), milliseconds(60000));
    EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:39 1994", now), milliseconds(2000));
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), milliseconds(0));  // in the past
    EXPECT_FALSE(parse_retry_after("", now));
    EXPECT_FALSE(parse_retry_after("-1", now));
    EXPECT_FALSE(parse_retry_after("1.5", now));
    EXPECT_FALSE(parse_retry_after("soon", now));
    EXPECT_GT(parse_retry_after("99999999999999999999999", now)->count(), 1'000'000'000);
}

}  // namespace
}  // namespace modelrelay::server::upstream
