// File: sentinel_guard_test.cpp
// Makes R23's sentinel check part of every integration test process: after the tests of this process ran,
// any secret a test sent that came back in a response, a server log or a data-directory file fails the run.
#include "tests/support/sentinel_guard.hpp"

#include <gtest/gtest.h>

namespace modelrelay::test {
namespace {

class sentinel_environment : public ::testing::Environment {
public:
    void TearDown() override {
        for (const auto& v : sentinel_violations()) {
            ADD_FAILURE() << "secret leaked: " << v;
        }
    }
};

const auto* registered = ::testing::AddGlobalTestEnvironment(new sentinel_environment);

TEST(sentinel_guard, detects_a_leak_and_can_be_reset) {
    const auto before = sentinel_violations().size();
    scan_for_sentinels("self-test", "nothing secret here");
    EXPECT_EQ(sentinel_violations().size(), before);
    scan_for_sentinels("self-test", std::string("x ") + sentinels().front() + " y");
    const auto after = sentinel_violations();
    ASSERT_EQ(after.size(), before + 1);
    EXPECT_NE(after.back().find("self-test"), std::string::npos);
    // Forget only what this self-test added, so real leaks recorded earlier still fail the process.
    truncate_sentinel_violations(before);
    EXPECT_EQ(sentinel_violations().size(), before);
}

}  // namespace
}  // namespace modelrelay::test
