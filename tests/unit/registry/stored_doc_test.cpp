// File: stored_doc_test.cpp
// A document kept as text until first read: the check accepts exactly the texts that json::parse turns into
// an object (fixed cases and many generated ones, valid and damaged), the tree built later equals the one
// an eager parse builds, threads reading it for the first time at once all get the one tree, and copies and
// moves keep what they promise.
#include "registry/stored_doc.hpp"

#include <atomic>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "registry/json_parse.hpp"

namespace modelrelay::registry {
namespace {

namespace json = boost::json;

// What the eager path did: parse, and accept only an object.
bool eager_accepts(std::string_view text) {
    boost::system::error_code ec;
    const json::value v = registry::parse_json(text, ec);
    return !ec && v.is_object();
}

void expect_same_verdict(std::string_view text) {
    const auto lazy = stored_doc::from_text(text);
    ASSERT_EQ(lazy.has_value(), eager_accepts(text)) << text;
    if (lazy) {
        EXPECT_FALSE(lazy->is_parsed());
        EXPECT_EQ(json::serialize(lazy->get()), json::serialize(registry::parse_json(text))) << text;
        EXPECT_TRUE(lazy->is_parsed());
    }
}

std::string nested(int depth) {
    std::string s;
    for (int i = 0; i < depth; ++i) {
        s += i == 0 ? "{\"a\":" : "[";
    }
    s += "1";
    for (int i = depth - 1; i >= 0; --i) {
        s += i == 0 ? "}" : "]";
    }
    return s;
}

TEST(stored_doc, the_check_accepts_what_the_parse_turns_into_an_object) {
    const std::vector<std::string> cases = {
        "{}",
        " {} ",
        "{}\n\t ",
        R"({"a":1,"b":[true,false,null],"c":{"d":"e\u00e9\n"},"n":-1.5e300,"u":18446744073709551615})",
        R"({"dup":1,"dup":2})",
        R"({"k":"\ud83d\ude00"})",
        "[]",
        "[{}]",
        "\"text\"",
        "42",
        "null",
        "",
        " ",
        "{",
        "{}}",
        "{} {}",
        "{}x",
        "{\"a\":1,}",
        "{'a':1}",
        "{\"a\":01}",
        "{\"a\":NaN}",
        "{/* c */}",
        "{\"a\":\"\x01\"}",
        "{\"a\":\"\xff\"}",
        "{\"a\":\"\xc3\"}",
        "{\"a\":\"\\ud800\"}",
        std::string("{\"a\":\"x\0y\"}", 11),
        std::string("{}\0", 3),
        nested(31),
        nested(32),
        nested(33),
        nested(200),
    };
    for (const auto& c : cases) {
        expect_same_verdict(c);
    }
}

TEST(stored_doc, generated_documents_and_their_damaged_copies_get_the_same_verdict) {
    std::mt19937 rng(20261123);
    auto pick = [&](int n) {
        return static_cast<int>(rng() % static_cast<unsigned>(n));
    };
    std::function<json::value(int)> value = [&](int depth) -> json::value {
        switch (depth > 4 ? pick(5) : pick(7)) {
            case 0:
                return nullptr;
            case 1:
                return pick(2) == 0;
            case 2:
                return static_cast<std::int64_t>(rng()) - (1LL << 31);
            case 3:
                return static_cast<double>(rng()) / 7.0;
            case 4: {
                std::string s;
                for (int i = pick(20); i > 0; --i) {
                    s.push_back(static_cast<char>(" az\"\\\n\x7f"[pick(8)]));
                }
                return json::string(s);
            }
            case 5: {
                json::array a;
                for (int i = pick(4); i > 0; --i) {
                    a.push_back(value(depth + 1));
                }
                return a;
            }
            default: {
                json::object o;
                for (int i = pick(5); i > 0; --i) {
                    o[std::string(1, static_cast<char>('a' + pick(6)))] = value(depth + 1);
                }
                return o;
            }
        }
    };
    int accepted = 0;
    int refused = 0;
    for (int i = 0; i < 3000; ++i) {
        json::object root;
        for (int k = pick(6); k > 0; --k) {
            root[std::string(1, static_cast<char>('a' + pick(20)))] = value(1);
        }
        const std::string text = json::serialize(root);
        expect_same_verdict(text);
        // The same text with one byte changed, dropped or cut short: often invalid, sometimes not.
        std::string damaged = text;
        const auto at = static_cast<std::size_t>(pick(static_cast<int>(text.size())));
        switch (pick(3)) {
            case 0:
                damaged[at] = "{}[],:\"\\x0 "[pick(12)];
                break;
            case 1:
                damaged.erase(at, 1);
                break;
            default:
                damaged.resize(at);
                break;
        }
        expect_same_verdict(damaged);
        (eager_accepts(damaged) ? accepted : refused) += 1;
    }
    // Both verdicts were exercised on the damaged texts.
    EXPECT_GT(accepted, 50);
    EXPECT_GT(refused, 1000);
}

bool sealed(std::string_view s) noexcept {
    return s.starts_with("v1:");
}

TEST(stored_doc, a_text_is_parsed_at_once_when_the_watched_members_fail_the_rule) {
    const stored_doc::keep_text_if rule{"credential", &sealed};
    // Kept as text: every member of the top-level "credential" object is a string the rule takes.
    for (const std::string& text : std::vector<std::string>{
             R"({})",
             R"({"credential":{}})",
             R"({"credential":{"a":"v1:x","b":"v1:"}})",
             R"({"name":"c","credential":{"a":"v1:x"},"parameters":{"credential":{"a":"plain"}}})",
             R"({"other":{"credential":{"a":1}},"credential":"plain"})",
             R"({"credential":["plain"]})",
             R"({"list":[{"credential":{"a":"plain"}}],"x":"plain"})",
         }) {
        const auto d = stored_doc::from_text(text, &rule);
        ASSERT_TRUE(d) << text;
        EXPECT_FALSE(d->is_parsed()) << text;
    }
    // Parsed now: a member that is not such a string, wherever it sits among the members, and whatever
    // follows it; a repeated "credential" is checked each time.
    const std::string long_plain(5000, 'p');
    for (const std::string& text : std::vector<std::string>{
             R"({"credential":{"a":"plain"}})",
             R"({"credential":{"a":"v1:x","b":"v1x"}})",
             R"({"credential":{"a":"v1:x","b":1}})",
             R"({"credential":{"a":null}})",
             R"({"credential":{"a":true}})",
             R"({"credential":{"a":1.5}})",
             R"({"credential":{"a":{"b":"v1:x"}},"c":"v1:x"})",
             R"({"credential":{"a":["v1:x"]}})",
             R"({"x":1,"credential":{"a":"v1:x","b":"no"},"y":[1]})",
             R"({"credential":{"a":"no"},"credential":{"a":"v1:x"}})",
             R"({"credential":{"a":")" + long_plain + R"("}})",
             R"({"credential":{"a":"plain"}})",
         }) {
        const auto d = stored_doc::from_text(text, &rule);
        ASSERT_TRUE(d) << text;
        EXPECT_TRUE(d->is_parsed()) << text;
        EXPECT_EQ(json::serialize(d->get()), json::serialize(json::parse(text))) << text;
    }
    // A long sealed value arrives in parts and is still judged whole.
    const auto long_sealed =
        stored_doc::from_text(R"({"credential":{"a":"v1:)" + long_plain + R"("}})", &rule);
    ASSERT_TRUE(long_sealed);
    EXPECT_FALSE(long_sealed->is_parsed());
    // Without a rule nothing is parsed at once.
    EXPECT_FALSE(stored_doc::from_text(R"({"credential":{"a":"plain"}})")->is_parsed());
}

TEST(stored_doc, threads_reading_it_first_at_once_all_get_the_one_tree) {
    std::string text = R"({"list":[)";
    for (int i = 0; i < 2000; ++i) {
        text += (i == 0 ? "" : ",") + std::string(R"({"i":)") + std::to_string(i) + "}";
    }
    text += "]}";
    for (int round = 0; round < 20; ++round) {
        const auto doc = stored_doc::from_text(text);
        ASSERT_TRUE(doc);
        std::atomic<bool> go{false};
        std::vector<const json::object*> seen(8, nullptr);
        std::vector<std::size_t> sizes(8, 0);
        std::vector<std::thread> threads;
        for (std::size_t t = 0; t < seen.size(); ++t) {
            threads.emplace_back([&, t] {
                while (!go.load()) {
                }
                const json::object& o = doc->get();
                seen[t] = &o;
                sizes[t] = o.at("list").as_array().size();
            });
        }
        go.store(true);
        for (auto& th : threads) {
            th.join();
        }
        for (std::size_t t = 0; t < seen.size(); ++t) {
            EXPECT_EQ(seen[t], seen[0]);
            EXPECT_EQ(sizes[t], 2000U);
        }
    }
}

TEST(stored_doc, copies_are_trees_moves_keep_the_text_and_a_tree_is_used_as_given) {
    const auto text = stored_doc::from_text(R"({"a":[1,2]})");
    ASSERT_TRUE(text);

    stored_doc moved = stored_doc(*text);  // a copy parses its source's text...
    EXPECT_TRUE(moved.is_parsed());
    EXPECT_TRUE(text->is_parsed());

    auto fresh = stored_doc::from_text(R"({"b":true})");
    ASSERT_TRUE(fresh);
    stored_doc target(std::move(*fresh));  // ...a move does not
    EXPECT_FALSE(target.is_parsed());
    EXPECT_EQ(json::serialize(target.get()), R"({"b":true})");

    auto other = stored_doc::from_text(R"({"c":null})");
    ASSERT_TRUE(other);
    target = std::move(*other);
    EXPECT_FALSE(target.is_parsed());
    target.get_mut()["d"] = 1;
    EXPECT_EQ(json::serialize(target.get()), R"({"c":null,"d":1})");

    target = *text;
    EXPECT_EQ(json::serialize(target.get()), R"({"a":[1,2]})");

    const stored_doc tree(json::object{{"x", 1}});
    EXPECT_TRUE(tree.is_parsed());
    EXPECT_EQ(json::serialize(tree.get()), R"({"x":1})");
    EXPECT_TRUE(stored_doc().get().empty());
}

}  // namespace
}  // namespace modelrelay::registry
