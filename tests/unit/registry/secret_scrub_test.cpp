// File: secret_scrub_test.cpp
#include "registry/secret_scrub.hpp"

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace modelrelay::registry {
namespace {

std::shared_ptr<const secret_list> list_of(std::vector<std::string_view> values) {
    return make_secret_list(values);
}

TEST(secret_scrub, placeholders_and_numbers_are_not_secrets) {
    EXPECT_EQ(list_of({"ollama", "", "x", "1234567890123", "none"}), nullptr);
    auto s = list_of({"ollama", "sk-abcdef12", "12345678"});
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->needles(), std::vector<std::string>{"sk-abcdef12"});
}

TEST(secret_scrub, every_occurrence_and_the_json_escaped_form_are_replaced) {
    auto s = list_of({"sk-live-\"quoted\\key"});
    ASSERT_NE(s, nullptr);
    std::string text =
        R"({"echo":"Bearer sk-live-\"quoted\\key","raw":sk-live-"quoted\key sk-live-"quoted\key})";
    EXPECT_TRUE(scrub_secrets(text, *s));
    EXPECT_EQ(text, R"({"echo":"Bearer __SENSITIVE__","raw":__SENSITIVE__ __SENSITIVE__})");
    std::string clean = "nothing to see";
    EXPECT_FALSE(scrub_secrets(clean, *s));
    EXPECT_EQ(clean, "nothing to see");
}

TEST(secret_scrub, a_value_that_contains_another_is_replaced_whole) {
    auto s = list_of({"sk-12345678", "sk-12345678-long-suffix"});
    ASSERT_NE(s, nullptr);
    std::string text = "a sk-12345678-long-suffix b sk-12345678 c";
    scrub_secrets(text, *s);
    EXPECT_EQ(text, "a __SENSITIVE__ b __SENSITIVE__ c");
}

TEST(secret_scrub, a_tail_that_may_begin_a_secret_is_reported) {
    auto s = list_of({"sk-relay-sentinel"});
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(secret_prefix_suffix("data: {\"x\":\"sk-rel", *s), 6U);
    EXPECT_EQ(secret_prefix_suffix("ends with s", *s), 1U);
    EXPECT_EQ(secret_prefix_suffix("data: done\n\n", *s), 0U);
    EXPECT_EQ(secret_prefix_suffix("", *s), 0U);
    // A whole secret is not a "prefix": scrub_secrets replaces it.
    EXPECT_EQ(secret_prefix_suffix("sk-relay-sentinel", *s), 0U);
}

}  // namespace
}  // namespace modelrelay::registry
