// File: store_test.cpp
// The store against a real SQLite file: migrations, round trips, and the fault matrix (fail every
// statement of a batch in turn; nothing of a failed batch may remain).
#include "registry/store.hpp"

#include <chrono>
#include <filesystem>
#include <thread>
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
        EXPECT_EQ(s->schema_version(), 2);
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
    base.meta_puts.emplace_back("gone", "x");
    ASSERT_TRUE(s->apply(base));

    batch b;
    b.puts.push_back(row("x1", 1));
    b.puts.push_back(row("x2", 2));
    b.erases.emplace_back("connector", "keep");
    b.meta_puts.emplace_back("m", "1");
    b.meta_erases.emplace_back("gone");
    b.key_puts.push_back({"d1", "", "k1", "wrapped", 5});
    // begin + 2 puts + 1 erase + 1 meta put + 1 meta erase + 1 key + commit = 8 statement steps.
    int failures_seen = 0;
    for (int n = 1; n <= 8; ++n) {
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
        EXPECT_TRUE(s->get_meta("gone").has_value());
        EXPECT_TRUE(s->load_data_keys().empty());
    }
    EXPECT_EQ(failures_seen, 8);
    // Without faults the same batch lands whole.
    ASSERT_TRUE(s->apply(b));
    auto rows = s->load_all();
    ASSERT_EQ(rows.size(), 2U);
    EXPECT_EQ(s->get_meta("m").value_or(""), "1");
    EXPECT_FALSE(s->get_meta("gone").has_value());
    ASSERT_EQ(s->load_data_keys().size(), 1U);
}

// Inside a group each batch is a savepoint: failing any statement of one batch (savepoint + 2 puts + 1 meta
// put + release = 5 steps) leaves nothing of it, the group's other batches still land with the COMMIT, and
// nothing of the group is on disk before it.
TEST_F(store_test, a_failed_batch_inside_a_group_leaves_the_rest_of_the_group) {
    for (int n = 1; n <= 5; ++n) {
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        auto s = open();
        ASSERT_TRUE(s->begin_group());
        EXPECT_TRUE(s->in_group());
        batch first;
        first.puts.push_back(row("first", 0));
        ASSERT_TRUE(s->apply(first));
        batch bad;
        bad.puts.push_back(row("bad1", 1));
        bad.puts.push_back(row("bad2", 2));
        bad.meta_puts.emplace_back("bad", "1");
        int count = 0;
        s->set_fault_injector([&count, n] { return ++count == n; });
        EXPECT_FALSE(s->apply(bad)) << "statement " << n;
        s->set_fault_injector(nullptr);
        batch last;
        last.puts.push_back(row("last", 3));
        ASSERT_TRUE(s->apply(last));
        {
            auto other = store::open(dir_ / "db.sqlite");  // another connection sees only committed data
            ASSERT_TRUE(other);
            EXPECT_TRUE((*other)->load_all().empty()) << "statement " << n;
        }
        ASSERT_TRUE(s->commit_group());
        EXPECT_FALSE(s->in_group());
        s.reset();
        auto again = open();
        const auto rows = again->load_all();
        ASSERT_EQ(rows.size(), 2U) << "statement " << n;
        EXPECT_EQ(rows[0].id, "first");
        EXPECT_EQ(rows[1].id, "last");
        EXPECT_FALSE(again->get_meta("bad").has_value());
    }
}

// A group whose COMMIT fails is rolled back whole, and the store works normally afterwards.
TEST_F(store_test, a_failed_group_commit_leaves_nothing_of_the_group) {
    auto s = open();
    ASSERT_TRUE(s->begin_group());
    EXPECT_FALSE(s->begin_group());  // no nesting
    batch a;
    a.puts.push_back(row("a", 0));
    ASSERT_TRUE(s->apply(a));
    s->set_fault_injector([] { return true; });
    EXPECT_FALSE(s->commit_group());
    s->set_fault_injector(nullptr);
    EXPECT_FALSE(s->in_group());
    EXPECT_TRUE(s->load_all().empty());
    batch b;
    b.puts.push_back(row("b", 1));
    ASSERT_TRUE(s->apply(b));
    ASSERT_EQ(s->load_all().size(), 1U);
    EXPECT_FALSE(s->commit_group());  // none open
}

// Checkpoints run on the store's own thread once the WAL passes 1,000 pages, not inside the COMMIT that
// crossed the mark, and what they copy is the committed data (read back after the store closed).
TEST_F(store_test, checkpoints_run_in_the_background_once_the_wal_is_large) {
    const std::string big_doc = R"({"pad":")" + std::string(6000, 'x') + R"("})";  // two pages a row
    {
        auto s = open();
        EXPECT_EQ(s->background_checkpoints(), 0U);
        for (int i = 0; i < 600; ++i) {
            batch b;
            auto r = row("r" + std::to_string(i), i);
            r.doc = big_doc;
            b.puts.push_back(std::move(r));
            ASSERT_TRUE(s->apply(b));
        }
        for (int i = 0; i < 500 && s->background_checkpoints() == 0; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        EXPECT_GE(s->background_checkpoints(), 1U);
        EXPECT_EQ(s->load_all().size(), 600U);
    }
    auto s = open();
    const auto rows = s->load_all();
    ASSERT_EQ(rows.size(), 600U);
    EXPECT_EQ(rows[0].doc, big_doc);
}

TEST_F(store_test, data_keys_round_trip_and_replace_by_id) {
    {
        auto s = open();
        batch b;
        b.key_puts.push_back({"d2", "globex", "k1", "w2", 20});
        b.key_puts.push_back({"d1", "acme", "k1", "w1", 10});
        ASSERT_TRUE(s->apply(b));
    }
    auto s = open();
    auto keys = s->load_data_keys();
    ASSERT_EQ(keys.size(), 2U);
    EXPECT_EQ(keys[0].dek_id, "d1");  // oldest first
    EXPECT_EQ(keys[0].tenant_id, "acme");
    EXPECT_EQ(keys[0].kek_id, "k1");
    EXPECT_EQ(keys[0].wrapped, "w1");
    EXPECT_EQ(keys[0].created_time, 10);
    batch rewrap;
    rewrap.key_puts.push_back({"d1", "acme", "k2", "w1b", 10});
    ASSERT_TRUE(s->apply(rewrap));
    keys = s->load_data_keys();
    ASSERT_EQ(keys.size(), 2U);
    EXPECT_EQ(keys[0].kek_id, "k2");
    EXPECT_EQ(keys[0].wrapped, "w1b");
    EXPECT_TRUE(s->checkpoint());
}

// The verification hook sees the uncommitted rows, and its failure rolls the whole batch back.
TEST_F(store_test, before_commit_sees_the_batch_and_can_veto_it) {
    auto s = open();
    batch b;
    b.key_puts.push_back({"d1", "", "k2", "w", 1});
    b.meta_puts.emplace_back("kek_id", "k2");
    std::size_t seen = 0;
    b.before_commit = [&]() -> result<void> {
        seen = s->load_data_keys().size();
        return error{errc::illegal_state, "veto"};
    };
    auto r = s->apply(b);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, "veto");
    EXPECT_EQ(seen, 1U);
    EXPECT_TRUE(s->load_data_keys().empty());
    EXPECT_FALSE(s->get_meta("kek_id"));
    b.before_commit = [&]() -> result<void> {
        return {};
    };
    ASSERT_TRUE(s->apply(b));
    EXPECT_EQ(s->load_data_keys().size(), 1U);
    EXPECT_EQ(s->get_meta("kek_id").value_or(""), "k2");
}

}  // namespace
}  // namespace modelrelay::registry
