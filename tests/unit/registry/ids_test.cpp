// File: ids_test.cpp
// Generated ids (shape, alphabet, uniqueness) and every caller-id message of ml-commons'
// MLResourceIdUtils, including which check wins when several apply.
#include "registry/ids.hpp"

#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace modelrelay::test {
namespace {

using registry::errc;
using registry::validate_caller_id;

// The reason of the failed check, or "" when the id is accepted.
std::string reason(std::string_view id, std::string_view label = "model id") {
    auto r = validate_caller_id(id, label);
    if (r) {
        return "";
    }
    EXPECT_EQ(r.error().code, errc::illegal_argument);
    return r.error().reason;
}

const std::string pattern_message =
    "model id must contain only letters, digits, underscores, and hyphens, and must start with a letter or "
    "digit";

TEST(ids_generate, twenty_url_safe_characters) {
    for (int i = 0; i < 1000; ++i) {
        auto id = registry::generate_id();
        ASSERT_EQ(id.size(), 20u);
        for (char c : id) {
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_';
            ASSERT_TRUE(ok) << "bad character in " << id;
        }
    }
}

TEST(ids_generate, unique) {
    std::set<std::string> seen;
    for (int i = 0; i < 20000; ++i) {
        seen.insert(registry::generate_id());
    }
    EXPECT_EQ(seen.size(), 20000u);
}

TEST(ids_generate, unique_across_threads) {
    // Each thread draws its ids from its own block of random bytes: no two threads may hand out the
    // same bytes, and no block may be handed out twice (20 ids per thread spans two refills).
    constexpr int threads = 4;
    constexpr int per_thread = 2000;
    std::vector<std::vector<std::string>> made(threads);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&made, t] {
            for (int i = 0; i < per_thread; ++i) {
                made[t].push_back(registry::generate_id());
            }
        });
    }
    for (auto& w : workers) {
        w.join();
    }
    std::set<std::string> seen;
    for (const auto& ids : made) {
        seen.insert(ids.begin(), ids.end());
    }
    seen.insert(registry::generate_id());
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(threads * per_thread + 1));
}

TEST(ids_generate, uses_the_whole_alphabet) {
    // 15 random bytes = 120 bits = exactly 20 full characters, so over many ids every one of the 64
    // characters shows up (a constant or badly mapped generator would miss some).
    std::set<char> chars;
    for (int i = 0; i < 2000; ++i) {
        for (char c : registry::generate_id()) {
            chars.insert(c);
        }
    }
    EXPECT_EQ(chars.size(), 64u);
}

TEST(ids_validate, accepts_valid_ids) {
    EXPECT_EQ(reason("a"), "");
    EXPECT_EQ(reason("0"), "");
    EXPECT_EQ(reason("a1eMb4kBJ1eYAeTMAljY"), "");
    EXPECT_EQ(reason("my_model-2"), "");
    EXPECT_EQ(reason("a__--"), "");
    EXPECT_EQ(reason(std::string(512, 'a')), "");
    EXPECT_TRUE(validate_caller_id(registry::generate_id().replace(0, 1, "x"), "connector id"));
}

TEST(ids_validate, blank_is_invalid) {
    EXPECT_EQ(reason(""), "model id is invalid");
    EXPECT_EQ(reason(" "), "model id is invalid");
    EXPECT_EQ(reason(" \t\r\n\v\f"), "model id is invalid");
    EXPECT_EQ(reason("\x1c\x1f"), "model id is invalid");
    EXPECT_EQ(reason("\u3000\u2003\u2028"), "model id is invalid");  // Java whitespace beyond ASCII
    EXPECT_EQ(reason("", "connector id"), "connector id is invalid");
    EXPECT_EQ(reason("", "model group id"), "model group id is invalid");
}

TEST(ids_validate, no_break_spaces_are_not_blank_in_java) {
    EXPECT_EQ(reason("\u00a0"), pattern_message);
    EXPECT_EQ(reason("\u2007"), pattern_message);
    EXPECT_EQ(reason("\u202f"), pattern_message);
}

TEST(ids_validate, leading_underscore_or_hyphen) {
    EXPECT_EQ(reason("_abc"), "model id must not start with '_'");
    EXPECT_EQ(reason("_"), "model id must not start with '_'");
    EXPECT_EQ(reason("-abc"), "model id must not start with '-'");
    EXPECT_EQ(reason("-"), "model id must not start with '-'");
    // The prefix checks come before the length check.
    EXPECT_EQ(reason("_" + std::string(600, 'a')), "model id must not start with '_'");
    EXPECT_EQ(reason("-" + std::string(600, 'a')), "model id must not start with '-'");
}

TEST(ids_validate, too_long_counts_utf8_bytes) {
    EXPECT_EQ(reason(std::string(513, 'a')), "model id is too long, max length is 512");
    // The length check comes before the pattern check.
    EXPECT_EQ(reason(std::string(600, '!')), "model id is too long, max length is 512");
    // 300 two-byte characters = 600 bytes: too long, although only 300 characters.
    std::string e_acute;
    for (int i = 0; i < 300; ++i) {
        e_acute += "\u00e9";
    }
    EXPECT_EQ(reason(e_acute), "model id is too long, max length is 512");
    EXPECT_EQ(reason(e_acute.substr(0, 400)), pattern_message);
}

TEST(ids_validate, pattern) {
    EXPECT_EQ(reason("a b"), pattern_message);
    EXPECT_EQ(reason(" a"), pattern_message);  // not blank, so the pattern decides
    EXPECT_EQ(reason("a."), pattern_message);
    EXPECT_EQ(reason("model/1"), pattern_message);
    EXPECT_EQ(reason("abc!"), pattern_message);
    EXPECT_EQ(reason("caf\u00e9"), pattern_message);
    EXPECT_EQ(reason(std::string("a\0b", 3)), pattern_message);
    EXPECT_EQ(reason("\xff\xfe"), pattern_message);  // malformed UTF-8 is not blank
}

}  // namespace
}  // namespace modelrelay::test
