// File: shard_map_test.cpp
// The copy-on-write map behind every snapshot: updates leave the maps they came from untouched and share
// every shard they did not change; sizes follow inserts, replacements and removals; the builder gives the
// same map as one update at a time.
#include "registry/shard_map.hpp"

#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace modelrelay::registry {
namespace {

using map = shard_map<std::string>;

std::shared_ptr<const std::string> v(std::string s) {
    return std::make_shared<const std::string>(std::move(s));
}

std::map<std::string, std::string> contents(const map& m) {
    std::map<std::string, std::string> out;
    m.for_each([&](const std::string& k, const std::string& value) { out.emplace(k, value); });
    return out;
}

TEST(shard_map, updates_leave_the_original_untouched) {
    const map empty;
    const map one = empty.with("a", v("1"));
    const map two = one.with("b", v("2"));
    const map replaced = two.with("a", v("1b"));
    const map removed = replaced.without("b");

    EXPECT_EQ(empty.size(), 0U);
    EXPECT_EQ(empty.find("a"), nullptr);
    EXPECT_EQ(one.size(), 1U);
    EXPECT_EQ(*one.find("a"), "1");
    EXPECT_EQ(one.find("b"), nullptr);
    EXPECT_EQ(two.size(), 2U);
    EXPECT_EQ(replaced.size(), 2U);  // a replacement is not an insert
    EXPECT_EQ(*replaced.find("a"), "1b");
    EXPECT_EQ(*two.find("a"), "1");
    EXPECT_EQ(removed.size(), 1U);
    EXPECT_EQ(removed.find("b"), nullptr);
    EXPECT_EQ(*replaced.find("b"), "2");
    EXPECT_EQ(removed.without("missing").size(), 1U);
    EXPECT_EQ(removed.find_ptr("a"), replaced.find_ptr("a"));  // the value itself is shared
}

TEST(shard_map, an_update_shares_every_value_it_did_not_touch) {
    map m;
    for (int i = 0; i < 1000; ++i) {
        m = m.with("id" + std::to_string(i), v("v" + std::to_string(i)));
    }
    const map next = m.with("new", v("n"));
    for (int i = 0; i < 1000; ++i) {
        const auto id = "id" + std::to_string(i);
        EXPECT_EQ(next.find_ptr(id), m.find_ptr(id)) << id;
    }
    EXPECT_EQ(next.size(), 1001U);
    EXPECT_EQ(m.size(), 1000U);
    EXPECT_EQ(m.find("new"), nullptr);
}

TEST(shard_map, the_builder_gives_the_same_map_as_single_updates) {
    map one_by_one;
    map::builder b;
    for (int i = 0; i < 500; ++i) {
        const auto id = "k" + std::to_string(i * 7919 % 1000);
        one_by_one = one_by_one.with(id, v(id + "!"));
        b.put(id, v(id + "!"));
    }
    const map built = b.build();
    EXPECT_EQ(built.size(), one_by_one.size());
    EXPECT_EQ(contents(built), contents(one_by_one));
    EXPECT_EQ(*built.with("extra", v("x")).find("extra"), "x");
    EXPECT_EQ(built.find("extra"), nullptr);
}

}  // namespace
}  // namespace modelrelay::registry
