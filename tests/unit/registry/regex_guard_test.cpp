// File: regex_guard_test.cpp
// The ReDoS guard and regex compilation for the trusted-endpoint lists. Cases mirror ml-commons'
// MLCommonsSettingsTests (accepted and rejected shapes) plus the Java-vs-RE2 differences.
#include "registry/regex_guard.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace modelrelay::registry {
namespace {

std::string reason_of(std::string_view pattern) {
    auto r = validate_regex(pattern);
    return r ? std::string() : r.error().reason;
}

TEST(regex_guard, accepts_the_shapes_ml_commons_accepts) {
    for (const char* p : {
             R"(^https://api\.openai\.com/.*$)",
             R"(^https?://api\.example\.com(:\d+)?/.*$)",
             R"(^https?://api\.example\.com(:\d{1,5})?/.*$)",
             R"(^https://.*\.amazonaws\.com/.*$)",
             R"(^https://rekognition(-fips)?\..*[a-z0-9-]\.amazonaws\.com$)",
             R"(^http://localhost:11434/.*$)",
             ".*$",
             R"((ab?)+)",        // the inner '?' cannot repeat
             R"((?:a|b){2}c+)",  // a counted group with nothing repeating inside
             R"([(a+)+]x)",      // parentheses inside a class are literals
             R"(\(a+\)+)",       // escaped parentheses are literals
             R"(\Q(a+)+\E)",     // quoted text is literal
             R"(a++b)",          // possessive modifier is not a second quantifier (RE2 rejects it later)
         }) {
        EXPECT_FALSE(has_redos_shape(p)) << p;
    }
}

TEST(regex_guard, flags_nested_quantifiers_and_backreferences) {
    for (const char* p : {
             "(a+)+b",
             R"(^https://host(:\d+)*/.*$)",
             "^https://host(a+){1,1000}/.*$",
             "^https://host(a+){1,}/.*$",
             "(a+){2}",
             "((a+)b)+",
             "(?:a*)*",
             "(a|b+)+",
             R"((\w+)\1)",
             R"((?<x>a)\k<x>)",
             R"(a\2)",
         }) {
        EXPECT_TRUE(has_redos_shape(p)) << p;
    }
}

TEST(regex_guard, messages_are_exact) {
    EXPECT_EQ(
        reason_of("(a+)+b"),
        "Regex pattern contains nested quantifiers or backreferences that may cause ReDoS: (a+)+b"
    );
    EXPECT_EQ(
        reason_of(R"((\w+)\1)"),
        R"(Regex pattern contains nested quantifiers or backreferences that may cause ReDoS: (\w+)\1)"
    );
    EXPECT_EQ(reason_of("[unclosed"), "Invalid regex pattern: [unclosed");
    const std::string too_long(257, 'a');
    EXPECT_EQ(reason_of(too_long), "Regex pattern too long (max 256 chars): " + too_long);
    EXPECT_EQ(reason_of(std::string(256, 'a')), "");
    EXPECT_EQ(validate_regex("(a+)+b").error().code, errc::illegal_argument);
}

TEST(regex_guard, length_is_counted_in_utf16_units) {
    // 200 two-byte characters are 400 UTF-8 bytes but 200 Java chars: accepted; 257 chars are not.
    std::string s;
    for (int i = 0; i < 200; ++i) {
        s += "\xC3\xA9";  // é
    }
    EXPECT_EQ(reason_of(s), "");
    s += std::string(57, 'a');
    EXPECT_EQ(reason_of(s), "Regex pattern too long (max 256 chars): " + s);
}

TEST(regex_guard, java_constructs_re2_lacks_are_invalid) {
    for (const char* p : {"^a(?=b).*$", "^a(?!b).*$", "(?<=a)b", "(?>ab)c", "a*+b"}) {
        EXPECT_EQ(reason_of(p), "Invalid regex pattern: " + std::string(p)) << p;
    }
}

TEST(regex_guard, braces_follow_java) {
    for (const char* p : {"^a{1", "a{x}", "{abc}", "a{,5}"}) {
        EXPECT_EQ(reason_of(p), "Invalid regex pattern: " + std::string(p)) << p;
    }
    for (const char* p :
         {R"(a\{x)", "[{]", "a{2}", "a{2,}", "a{0,3}b", "x}", R"(\Q{\E)", R"(^\p{L}+$)", R"(\x{41})"}) {
        EXPECT_EQ(reason_of(p), "") << p;
    }
}

TEST(regex_guard, list_reports_the_first_bad_pattern) {
    auto r = validate_regex_list({R"(^https://valid\.com$)", "(a+)+b", "[x"});
    ASSERT_FALSE(r);
    EXPECT_EQ(
        r.error().reason,
        "Regex pattern contains nested quantifiers or backreferences that may cause ReDoS: (a+)+b"
    );
    EXPECT_TRUE(validate_regex_list({}));
}

TEST(regex_guard, full_match_semantics) {
    auto list =
        regex_list::compile({R"(^https://api\.openai\.com/.*$)", R"(^http://127\.0\.0\.1:11434/.*$)"});
    ASSERT_TRUE(list) << list.error().reason;
    EXPECT_EQ(list->size(), 2U);
    EXPECT_TRUE(list->full_match_any("https://api.openai.com/v1/chat/completions"));
    EXPECT_TRUE(list->full_match_any("http://127.0.0.1:11434/v1/chat/completions"));
    EXPECT_FALSE(list->full_match_any("https://api.openai.com.evil.com/x"));
    EXPECT_FALSE(list->full_match_any("xhttps://api.openai.com/v1"));
    EXPECT_FALSE(list->full_match_any("https://api.openai.com/v1\n"));

    // Without anchors the whole text must still match (Matcher.matches(), not find()).
    auto partial = regex_list::compile({"api"});
    ASSERT_TRUE(partial);
    EXPECT_FALSE(partial->full_match_any("https://api.openai.com/"));
    EXPECT_TRUE(partial->full_match_any("api"));

    auto empty = regex_list::compile({});
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->empty());
    EXPECT_FALSE(empty->full_match_any("anything"));
}

TEST(regex_guard, an_accepted_text_is_remembered_per_list_only) {
    // Each thread remembers the last accepted text: another list, a moved-from list or a different
    // text must still be matched for real.
    auto wide = regex_list::compile({"^http://a/.*$"});
    auto narrow = regex_list::compile({"^http://b/.*$"});
    ASSERT_TRUE(wide && narrow);
    EXPECT_TRUE(wide->full_match_any("http://a/x"));
    EXPECT_TRUE(wide->full_match_any("http://a/x"));
    EXPECT_FALSE(narrow->full_match_any("http://a/x"));
    EXPECT_FALSE(wide->full_match_any("http://b/x"));
    regex_list moved_to = std::move(*wide);
    EXPECT_TRUE(moved_to.full_match_any("http://a/x"));
    EXPECT_FALSE(wide->full_match_any("http://a/x"));  // NOLINT(bugprone-use-after-move): emptied on purpose
    *wide = std::move(*narrow);
    EXPECT_FALSE(wide->full_match_any("http://a/x"));
    EXPECT_TRUE(wide->full_match_any("http://b/y"));
    EXPECT_FALSE(narrow->full_match_any("http://b/y"));  // NOLINT(bugprone-use-after-move)
}

TEST(regex_guard, compile_rejects_like_validate) {
    auto r = regex_list::compile({".*", "(a+)+"});
    ASSERT_FALSE(r);
    EXPECT_EQ(
        r.error().reason,
        "Regex pattern contains nested quantifiers or backreferences that may cause ReDoS: (a+)+"
    );
    auto bad = regex_list::compile({"(unclosed"});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().reason, "Invalid regex pattern: (unclosed");
}

TEST(regex_guard, origin_part_is_the_pattern_up_to_the_host) {
    EXPECT_EQ(regex_list::origin_part(R"(^https://api\.openai\.com/.*$)"), R"(^https://api\.openai\.com)");
    EXPECT_EQ(
        regex_list::origin_part(R"(^https://runtime\.sagemaker\..*[a-z0-9-]\.amazonaws\.com/.*$)"),
        R"(^https://runtime\.sagemaker\..*[a-z0-9-]\.amazonaws\.com)"
    );
    EXPECT_EQ(regex_list::origin_part(R"(^https:\/\/x\.com\/v1$)"), R"(^https:\/\/x\.com)");
    EXPECT_EQ(regex_list::origin_part(R"(^http://[^/]*\.corp(:\d+)?/.*$)"), R"(^http://[^/]*\.corp(:\d+)?)");
    EXPECT_EQ(regex_list::origin_part(R"(^https://x\.com(/.*)?$)"), "");  // the path is inside a group
    EXPECT_EQ(regex_list::origin_part(R"(^https://a\.com/.*|^https://b\.com/.*)"), "");
    EXPECT_EQ(regex_list::origin_part(".*"), "");
    EXPECT_EQ(regex_list::origin_part(R"(^https://x\.com$)"), "");  // no path: the whole URL is the origin
}

}  // namespace
}  // namespace modelrelay::registry
