// File: time_value_test.cpp
// Elasticsearch's TimeValue text, as `_inference` timeouts print it.
#include <gtest/gtest.h>

#include "server/handlers/inference_support.hpp"

namespace modelrelay::server::handlers::es {
namespace {

using std::chrono::milliseconds;

TEST(time_value_text, largest_unit_one_fraction_digit) {
    EXPECT_EQ(time_value_text(milliseconds(0)), "0s");
    EXPECT_EQ(time_value_text(milliseconds(1)), "1ms");
    EXPECT_EQ(time_value_text(milliseconds(999)), "999ms");
    EXPECT_EQ(time_value_text(milliseconds(1000)), "1s");
    EXPECT_EQ(time_value_text(milliseconds(1500)), "1.5s");
    EXPECT_EQ(time_value_text(milliseconds(30'000)), "30s");
    EXPECT_EQ(time_value_text(milliseconds(90'000)), "1.5m");
    EXPECT_EQ(time_value_text(milliseconds(3'600'000)), "1h");
    EXPECT_EQ(time_value_text(milliseconds(2 * 86'400'000LL)), "2d");
}

}  // namespace
}  // namespace modelrelay::server::handlers::es
