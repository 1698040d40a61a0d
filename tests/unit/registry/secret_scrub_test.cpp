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
    EXPECT_EQ(s->values(), std::vector<std::u32string>{U"sk-abcdef12"});
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

TEST(secret_scrub, every_spelling_an_encoder_writes_is_replaced) {
    auto s = list_of({"sk/live+key<1>é😀"});
    ASSERT_NE(s, nullptr);
    const std::vector<std::string> spellings = {
        "sk/live+key<1>é😀",                                       // as is
        R"(sk\/live+key<1>é😀)",                                   // PHP's slash
        R"(sk/live+key\u003c1\u003e\u00e9\ud83d\ude00)",          // Go, Python's ensure_ascii
        R"(sk\/live+key\u003C1\u003E\u00E9\uD83D\uDE00)",         // upper-case hex
        R"(sk\\\/live+key\\u003c1\\u003e\\u00e9\\ud83d\\ude00)",  // a JSON text quoted in another
        "sk%2Flive%2Bkey%3C1%3E\xC3\xA9\xF0\x9F\x98\x80",         // a URL
    };
    for (const auto& spelling : spellings) {
        std::string text = "{\"echo\":\"Bearer " + spelling + "\",\"n\":1}";
        EXPECT_TRUE(scrub_secrets(text, *s)) << spelling;
        EXPECT_EQ(text, R"({"echo":"Bearer __SENSITIVE__","n":1})") << spelling;
    }
    // Near misses stay as they are.
    for (std::string text : {std::string(R"(sk\/live+key\u003c2\u003e)"), std::string("sk/live+key<1>e")}) {
        const std::string before = text;
        EXPECT_FALSE(scrub_secrets(text, *s));
        EXPECT_EQ(text, before);
    }
}

TEST(secret_scrub, backslashes_of_a_value_are_found_at_any_quoting_depth) {
    auto s = list_of({R"(ab\\cd\ef)"});  // two backslashes, then one
    ASSERT_NE(s, nullptr);
    for (std::string text :
         {std::string(R"(x ab\\cd\ef y)"),
          std::string(R"("x ab\\\\cd\\ef y")"),
          std::string(R"("x ab\\\\\\\\cd\\\\ef y")")}) {
        EXPECT_TRUE(scrub_secrets(text, *s)) << text;
        EXPECT_NE(text.find("x __SENSITIVE__ y"), std::string::npos) << text;
    }
    // A value that ends in a backslash leaves no stray escape behind it in JSON.
    auto t = list_of({R"(secret-key\)"});
    std::string json = R"({"k":"secret-key\\"})";
    EXPECT_TRUE(scrub_secrets(json, *t));
    EXPECT_EQ(json, R"({"k":"__SENSITIVE__"})");
    // ... nor one that ends in `%` at the very end of the text.
    auto u = list_of({"secret-key%"});
    std::string tail = "k=secret-key%";
    EXPECT_TRUE(scrub_secrets(tail, *u));
    EXPECT_EQ(tail, "k=__SENSITIVE__");
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
    // Escaped spellings cut anywhere, an escape included, are held back too.
    EXPECT_EQ(secret_prefix_suffix(R"(x sk-relay\u002)", *s), 13U);
    EXPECT_EQ(secret_prefix_suffix(R"(x sk-relay\u002dsenti)", *s), 19U);
    EXPECT_EQ(secret_prefix_suffix(R"(x sk%2)", *s), 4U);
    EXPECT_EQ(secret_prefix_suffix("x \\\\", *s), 2U);
    EXPECT_EQ(secret_prefix_suffix(R"(x sk-relay\q)", *s), 0U);
}

}  // namespace
}  // namespace modelrelay::registry
