// File: controller_test.cpp
// Model controller bodies without sockets: ml-commons' parsing (limits kept as text, TimeUnit names, empty
// users dropped), PUT's per-user merge, and which users get a bucket.
#include "registry/controller.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace modelrelay::registry {
namespace {

namespace json = boost::json;

user_rate_limits parsed(std::string_view body) {
    auto r = parse_user_rate_limiter(json::parse(body).as_object());
    EXPECT_TRUE(r) << body << ": " << (r ? "" : r.error().reason);
    return r ? *r : user_rate_limits{};
}

TEST(controller, limits_are_kept_as_text_and_units_must_be_java_names) {
    const auto l = parsed(
        R"({"model_id":"ignored","user_rate_limiter":{"a":{"limit":4,"unit":"MINUTES"},"b":{"limit":2.5},"c":{}}})"
    );
    ASSERT_EQ(l.size(), 2u);  // an empty user object is dropped
    EXPECT_EQ(l.at("a").limit, "4");
    EXPECT_EQ(l.at("a").unit, "MINUTES");
    EXPECT_EQ(l.at("b").limit, "2.5");
    EXPECT_FALSE(l.at("b").unit);
    EXPECT_EQ(
        controller_doc("m1", l),
        json::parse(
            R"({"model_id":"m1","user_rate_limiter":{"a":{"limit":"4","unit":"MINUTES"},"b":{"limit":"2.5"}}})"
        )
    );
    EXPECT_EQ(limits_of_doc(controller_doc("m1", l)).at("a").limit, "4");
    EXPECT_TRUE(parsed("{}").empty());

    auto bad =
        parse_user_rate_limiter(json::parse(R"({"user_rate_limiter":{"a":{"unit":"Minutes"}}})").as_object());
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().reason, "No enum constant java.util.concurrent.TimeUnit.Minutes");
    EXPECT_FALSE(parse_user_rate_limiter(json::parse(R"({"user_rate_limiter":{"a":"4"}})").as_object()));
    EXPECT_FALSE(parse_user_rate_limiter(json::parse(R"({"user_rate_limiter":[1]})").as_object()));
}

TEST(controller, update_merges_per_user_and_never_removes) {
    auto stored = parsed(
        R"({"user_rate_limiter":{"a":{"limit":"4","unit":"MINUTES"},"b":{"limit":"1","unit":"SECONDS"}}})"
    );
    EXPECT_FALSE(merge_limits(stored, parsed(R"({"user_rate_limiter":{"a":{"limit":"4"}}})"))
    );  // nothing new
    EXPECT_TRUE(
        merge_limits(stored, parsed(R"({"user_rate_limiter":{"a":{"unit":"HOURS"},"c":{"limit":"9"}}})"))
    );
    EXPECT_EQ(stored.at("a").limit, "4");
    EXPECT_EQ(stored.at("a").unit, "HOURS");
    EXPECT_EQ(stored.at("b").limit, "1");
    EXPECT_EQ(stored.at("c").limit, "9");
}

TEST(controller, only_complete_usable_limits_get_a_bucket) {
    const auto buckets = user_buckets(
        parsed(R"({"user_rate_limiter":{"ok":{"limit":"2","unit":"MINUTES"},"no_unit":{"limit":"2"},)"
               R"("zero":{"limit":"0","unit":"SECONDS"},"text":{"limit":"abc","unit":"SECONDS"}}})")
    );
    ASSERT_EQ(buckets.size(), 1u);
    auto& b = *buckets.at("ok");
    // A burst of max(limit, 1) = 2, then one per 30 s.
    EXPECT_TRUE(b.try_acquire(0));
    EXPECT_TRUE(b.try_acquire(1));
    EXPECT_FALSE(b.try_acquire(2));
    EXPECT_FALSE(b.try_acquire(29'000'000'000));
    EXPECT_TRUE(b.try_acquire(30'000'000'002));
}

}  // namespace
}  // namespace modelrelay::registry
