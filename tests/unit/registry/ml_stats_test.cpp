// File: ml_stats_test.cpp
// predict_accounting: one request and at most one tracked failure per predict, whichever path reports it
// (a stream reports its failure before the end is written and again when the relay returns).
#include "registry/ml_stats.hpp"

#include <gtest/gtest.h>

namespace modelrelay::registry {
namespace {

TEST(predict_accounting, counts_one_request_and_at_most_one_failure) {
    ml_stats stats;
    {
        predict_accounting counted(stats, nullptr, "m1");
        EXPECT_EQ(stats.executing_count(), 1);
        counted.fail(500);
        counted.fail(500);
        counted.fail(502);
    }
    EXPECT_EQ(stats.executing_count(), 0);
    EXPECT_EQ(stats.request_count(), 1);
    EXPECT_EQ(stats.failure_count(), 1);
    EXPECT_EQ(
        stats.algorithms_json().at("remote").at("predict").at("ml_action_failure_count").to_number<int>(), 1
    );
}

TEST(predict_accounting, a_400_is_not_a_failure_and_does_not_hide_a_later_one) {
    ml_stats stats;
    {
        predict_accounting counted(stats, nullptr, "m1");
        counted.fail(400);
        EXPECT_EQ(stats.failure_count(), 0);
        counted.fail(503);
    }
    EXPECT_EQ(stats.request_count(), 1);
    EXPECT_EQ(stats.failure_count(), 1);
}

}  // namespace
}  // namespace modelrelay::registry
