// File: store_test.cpp
// The store against a real SQLite file: migrations, round trips, and the fault matrix (fail every
// statement of a batch in turn; nothing of a failed batch may remain).
#include "registry/store.hpp"

#include <filesystem>
#include <unistd.h>

#include <gtest/gtest.h>

namespace modelrelay::registry {
namespace {

class store_test : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("store-test-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::unique_ptr<store> open() {
        auto s = store::open(dir_ / "db.sqlite");
        EXPECT_TRUE(s.has_value());
        return std::move(*s);
    }
    static stored_row row(std::string id, int seq) {
        return {"connector", std::move(id), "", 1, seq, R"({"name":"c"})", "alice", "[\"r\"]", 10, 20};
    }
    std::filesystem::path dir_;
};

TEST_F(store_test, migrates_and_round_trips) {
    {
        auto s = open();
        EXPECT_EQ(s->schema_version(), 1);
        batch b;
        b.puts.push_back(row("a", 0));
        b.meta_puts.emplace_back("k", "v");
        ASSERT_TRUE(s->apply(b));
    }
    auto s = open();
    auto rows = s->load_all();
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0].id, "a");
    EXPECT_EQ(rows[0].owner, "alice");
    EXPECT_EQ(rows[0].backend_roles, "[\"r\"]");
    EXPECT_EQ(rows[0].created_time, 10);
    EXPECT_EQ(rows[0].updated_time, 20);
    EXPECT_EQ(s->get_meta("k").value_or(""), "v");
    batch del;
    del.erases.emplace_back("connector", "a");
    ASSERT_TRUE(s->apply(del));
    EXPECT_TRUE(s->load_all().empty());
}

TEST_F(store_test, a_failed_statement_leaves_nothing_of_its_batch) {
    auto s = open();
    batch base;
    base.puts.push_back(row("keep", 0));
    ASSERT_TRUE(s->apply(base));

    batch b;
    b.puts.push_back(row("x1", 1));
    b.puts.push_back(row("x2", 2));
    b.erases.emplace_back("connector", "keep");
    b.meta_puts.emplace_back("m", "1");
    // begin + 2 puts + 1 erase + 1 meta + commit = 6 statement steps.
    int failures_seen = 0;
    for (int n = 1; n <= 6; ++n) {
        int count = 0;
        s->set_fault_injector([&count, n] { return ++count == n; });
        auto r = s->apply(b);
        s->set_fault_injector(nullptr);
        EXPECT_FALSE(r) << "statement " << n << " should have failed";
        ++failures_seen;
        auto rows = s->load_all();
        ASSERT_EQ(rows.size(), 1U) << "after failing statement " << n;
        EXPECT_EQ(rows[0].id, "keep");
        EXPECT_FALSE(s->get_meta("m").has_value());
    }
    EXPECT_EQ(failures_seen, 6);
    // Without faults the same batch lands whole.
    ASSERT_TRUE(s->apply(b));
    auto rows = s->load_all();
    ASSERT_EQ(rows.size(), 2U);
    EXPECT_EQ(s->get_meta("m").value_or(""), "1");
}

}  // namespace
}  // namespace modelrelay::registry
