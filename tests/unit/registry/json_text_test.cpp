// File: json_text_test.cpp
// The tree-less rewriter must print exactly what the tree printer prints for every object it accepts,
// and hand everything the tree has to decide back untouched.
#include "registry/json_text.hpp"

#include <random>
#include <string>
#include <string_view>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <gtest/gtest.h>

#include "registry/json_parse.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;

std::string tree_printed(std::string_view text) {
    std::string out;
    json::parse_options opt;
    opt.max_depth = 1000;  // as the upstream parser
    registry::append_compact_json(out, registry::parse_json(text, {}, opt));
    return out;
}

// Rewrites after a prefix, so a give-up has something to leave alone.
std::string rewritten(std::string_view text, bool& accepted) {
    std::string out = "prefix";
    accepted = registry::append_compact_object_text(out, text);
    if (!accepted) {
        EXPECT_EQ(out, "prefix") << text;
        return {};
    }
    EXPECT_EQ(out.substr(0, 6), "prefix");
    return out.substr(6);
}

void expect_same_as_tree(std::string_view text) {
    bool accepted = false;
    const auto out = rewritten(text, accepted);
    ASSERT_TRUE(accepted) << text;
    EXPECT_EQ(out, tree_printed(text)) << text;
}

void expect_given_up(std::string_view text) {
    bool accepted = true;
    rewritten(text, accepted);
    EXPECT_FALSE(accepted) << text;
}

TEST(json_text, rewrites_an_openai_answer_as_the_tree_prints_it) {
    expect_same_as_tree(
        R"( {"id":"chatcmpl-1", "object" : "chat.completion","created":1757369906,)"
        R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hi \"there\"\n\u00e9\u2028\/"},)"
        R"("logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"total_tokens":12},)"
        R"("x":[1.5,-0.0,1e2,1E-7,0.1,-9223372036854775808,18446744073709551615,true,false,null,[],{}]} )"
    );
}

TEST(json_text, doubles_print_java_style_or_plain) {
    const auto v = json::parse(R"({"a":[0.5,1.0,-0.00042,1e-7,2e21,7,-0.0]})");
    std::string java;
    registry::append_compact_json(java, v);
    EXPECT_EQ(java, R"({"a":[0.5,1.0,-4.2E-4,1.0E-7,2.0E21,7,-0.0]})");
    EXPECT_EQ(
        registry::compact_json_text(v, registry::number_style::plain),
        R"({"a":[0.5,1.0,-0.00042,1e-7,2e+21,7,-0.0]})"
    );
}

TEST(json_text, escapes_every_control_character_and_keeps_utf8) {
    std::string text = R"({"k\u0000\u001f":")";
    for (int c = 1; c < 0x20; ++c) {
        char esc[8];
        std::snprintf(esc, sizeof esc, "\\u%04x", c);
        text += esc;
    }
    text += "\xc3\xa9\xf0\x9f\x98\x80\\\\\\\"\"}";
    expect_same_as_tree(text);
}

TEST(json_text, strings_escape_as_boost_json_at_every_offset) {
    // The escaper skips 8 clean bytes at a time: put each special byte at every offset of every length.
    const std::string specials[] = {
        "\"", "\\", std::string(1, '\0'), "\x01", "\x1f", " ", "\x7f", "\xc3\xa9", "!"};
    for (std::size_t len = 0; len <= 40; ++len) {
        for (std::size_t pos = 0; pos <= len; ++pos) {
            for (const auto& sp : specials) {
                std::string text(len, 'a');
                text.insert(pos, sp);
                std::string out;
                registry::append_json_string(out, text);
                ASSERT_EQ(out, json::serialize(json::string(text))) << len << " " << pos;
            }
        }
    }
}

TEST(json_text, gives_what_only_the_tree_decides_back) {
    expect_given_up(R"({"a":1,"a":2})");              // repeated key
    expect_given_up(R"({"o":{"b":1,"c":2,"b":3}})");  // repeated in a nested object
    expect_given_up(R"([{"a":1}])");                  // array root
    expect_given_up(R"("text")");
    expect_given_up("42");
    expect_given_up("");
    expect_given_up("   ");
    expect_given_up(R"({"a":1} x)");  // extra data
    expect_given_up(R"({"a":1)");     // truncated
    expect_given_up(R"({"a":nul})");
    expect_given_up("{\"a\":\"\xff\"}");  // invalid UTF-8
    expect_given_up(R"({"a":1e400})");    // not a finite double
    expect_given_up(R"({"a":1} // c)");   // comments are not JSON
    std::string deep = R"({"a":)";
    for (int i = 0; i < 64; ++i) {
        deep += "[";
    }
    deep += std::string(64, ']') + "}";
    expect_given_up(deep);
}

TEST(json_text, output_longer_than_the_input_grows_the_string) {
    // `1e6` prints as `1000000.0`: three times the input, past the room the rewriter takes up front.
    std::string text = R"({"e":[)";
    for (int i = 0; i < 2000; ++i) {
        text += i == 0 ? "1e6" : ",1e6";
    }
    text += R"(],"s":"\u0001 after the growth"})";
    expect_same_as_tree(text);
}

TEST(json_text, same_key_in_sibling_objects_is_not_a_repeat) {
    expect_same_as_tree(R"({"a":{"k":1},"b":{"k":2},"c":[{"k":3},{"k":4}],"k":5})");
    std::string deep = R"({"a":)";
    for (int i = 0; i < 62; ++i) {
        deep += "[";
    }
    deep += std::string(62, ']') + "}";
    expect_same_as_tree(deep);
}

// Random documents: every shape the generator makes must come out as the tree prints it.
class doc_gen {
public:
    explicit doc_gen(unsigned seed) : rng_(seed) {}

    std::string object(int depth) {
        std::string s = "{";
        const int n = pick(0, depth > 3 ? 2 : 5);
        for (int i = 0; i < n; ++i) {
            if (i != 0) {
                s += pick(0, 3) == 0 ? " , " : ",";
            }
            s += string_literal("k" + std::to_string(i));
            s += pick(0, 3) == 0 ? " :\n" : ":";
            s += value(depth + 1);
        }
        return s + "}";
    }

private:
    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

    std::string string_literal(std::string base) {
        static const char* const pieces[] = {
            "",
            "a",
            "\\n",
            "\\\"",
            "\\\\",
            "\\/",
            "\\u0001",
            "\\u00e9",
            "\\ud83d\\ude00",
            "\xc3\xa9",
            " ",
            "\\t",
            "<>&='"};
        std::string s = "\"" + base;
        for (int i = pick(0, 4); i > 0; --i) {
            s += pieces[pick(0, std::size(pieces) - 1)];
        }
        return s + "\"";
    }

    std::string value(int depth) {
        static const char* const scalars[] = {
            "0",
            "-1",
            "42",
            "1.0",
            "0.5",
            "-2.5e-3",
            "1E10",
            "123456789012",
            "9223372036854775807",
            "18446744073709551615",
            "18446744073709551616",
            "true",
            "false",
            "null",
            "3.14159"};
        switch (depth > 5 ? 0 : pick(0, 3)) {
            case 0:
                return scalars[pick(0, std::size(scalars) - 1)];
            case 1:
                return string_literal("");
            case 2: {
                std::string s = "[";
                for (int i = pick(0, 4); i > 0; --i) {
                    s += value(depth + 1);
                    if (i != 1) {
                        s += ",";
                    }
                }
                return s + "]";
            }
            default:
                return object(depth);
        }
    }

    std::mt19937 rng_;
};

TEST(json_text, random_documents_print_as_the_tree_prints_them) {
    doc_gen gen(20261122);
    for (int i = 0; i < 3000; ++i) {
        expect_same_as_tree(gen.object(0));
    }
}

}  // namespace
}  // namespace modelrelay::test
