// File: openai_passthrough_test.cpp
// The /v1 stream relay's pass-through: which upstream chunks go out as they came, and that for every
// event, generated or fixed, chunk_relay::on_event sends the same JSON as the tree path.
#include "server/handlers/openai_passthrough.hpp"

#include <random>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "server/handlers/openai_format.hpp"
#include "tests/unit/server/sse_frames.hpp"

namespace modelrelay::server::openai {
namespace {

namespace json = boost::json;

constexpr std::string_view typical =
    R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m",)"
    R"("choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]})";

TEST(openai_passthrough, the_usual_chunk_passes_through) {
    EXPECT_TRUE(chunk_passes_through(typical, false));
    // Member order, spacing, escapes in keys and values, a null error and unread members do not matter.
    EXPECT_TRUE(chunk_passes_through(
        R"( { "choices" : [ ] , "model":"m", "created": 1.5, "id":"", "system_fingerprint":null,)"
        R"( "obj\u0065ct":"chat.completion\u002echunk", "error": null, "x": {"usage": 1, "error": {}} })",
        false
    ));
    // A null usage goes through as it is to a client that asked for usage (the tree keeps it), not to
    // one that did not (the tree removes it).
    constexpr std::string_view null_usage =
        R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":null})";
    EXPECT_TRUE(chunk_passes_through(null_usage, true));
    EXPECT_FALSE(chunk_passes_through(null_usage, false));
    EXPECT_FALSE(chunk_passes_through(
        R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{}})", true
    ));
}

TEST(openai_passthrough, what_the_tree_would_change_does_not) {
    const std::vector<std::string> refused = {
        // a member missing or of the wrong kind: the tree fills in the default
        R"({"id":"c","created":1,"model":"m","choices":[]})",
        R"({"id":"c","object":"chat.completion","created":1,"model":"m","choices":[]})",
        R"({"id":1,"object":"chat.completion.chunk","created":1,"model":"m","choices":[]})",
        R"({"id":"c","object":"chat.completion.chunk","created":"1","model":"m","choices":[]})",
        R"({"id":"c","object":"chat.completion.chunk","created":1,"choices":[]})",
        R"({"id":"c","object":"chat.completion.chunk","created":1,"model":null,"choices":[]})",
        R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":{}})",
        R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m"})",
        // usage in any form is completed, kept or removed by the tree
        R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":null})",
        R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{}})",
        // an error ends the stream
        R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"error":{}})",
        R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"error":"x"})",
        // a repeated member: the tree keeps one
        R"({"id":"c","id":"d","object":"chat.completion.chunk","created":1,"model":"m","choices":[]})",
        // not one line of one JSON object
        "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\n\"created\":1,\"model\":\"m\",\"choices\":[]}",
        R"([{"id":"c"}])",
        R"("chat.completion.chunk")",
        "",
        "not json",
        R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[]} x)",
        R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[)",
    };
    for (const auto& e : refused) {
        EXPECT_FALSE(chunk_passes_through(e, false)) << e;
    }
}

// --- on_event against on_event_tree ---------------------------------------------------------------

const reply_defaults defaults{"chatcmpl-default", 1700000000, "my-model"};

// Same step, same frames (as JSON values: the pass-through keeps the upstream's spelling).
bool expect_same(const std::string& e, bool include_usage) {
    chunk_relay fast(defaults, include_usage);
    chunk_relay tree(defaults, include_usage);
    std::string a;
    std::string b;
    EXPECT_EQ(fast.on_event(e, a), tree.on_event_tree(e, b)) << e;
    fast.on_finish(a);
    tree.on_finish(b);
    EXPECT_EQ(frames(a), frames(b)) << e << "\nfast: " << a << "\ntree: " << b;
    return chunk_passes_through(e, include_usage);
}

TEST(openai_passthrough, fixed_events_relay_as_the_tree_does) {
    expect_same(std::string(typical), false);
    expect_same(std::string(typical), true);
    expect_same(
        R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":null})",
        false
    );
    expect_same(
        R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":null})",
        true
    );
    expect_same(
        R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"delta":{"content":"\u00e9\/"},)"
        R"("logprobs":{"content":[{"token":"x","logprob":-0.31725305,"top_logprobs":[]}]}}]})",
        false
    );
}

// The members in a random order, as one JSON object; `loose` puts blanks around some commas.
std::string object_of(std::vector<std::string> members, std::mt19937& rng, bool loose) {
    std::shuffle(members.begin(), members.end(), rng);
    std::string s = "{";
    for (std::size_t i = 0; i < members.size(); ++i) {
        if (i > 0) {
            s += loose && std::uniform_int_distribution<int>(0, 7)(rng) == 0 ? " , " : ",";
        }
        s += members[i];
    }
    return s + "}";
}

// Random events around the real shape: each root member present, missing, of another kind or repeated.
class chunk_maker {
public:
    explicit chunk_maker(unsigned seed) : rng_(seed) {}

    std::string event() {
        std::vector<std::string> members;
        add(members, "id", {R"("chatcmpl-1")", R"("")", "7", "null"});
        add(members,
            "object",
            {R"("chat.completion.chunk")", R"("chat.completion")", R"("chat.completion\u002echunk")", "1"});
        add(members, "created", {"1700000000", "1.5", R"("1")", "-3"});
        add(members, "model", {R"("m")", R"("\u00e9")", "{}", "null"});
        add(members, "choices", {choices(), choices(), "[]", "{}"});
        if (pick(3) == 0) {
            add(members, "usage", {"null", R"({"prompt_tokens":1,"completion_tokens":2})", "[]"});
        }
        if (pick(4) == 0) {
            add(members, "error", {"null", R"({"message":"boom"})", R"("x")"});
        }
        if (pick(2) == 0) {
            members.push_back(R"("system_fingerprint":"fp")");
        }
        std::string s = pick(8) == 0 ? " " : "";
        if (pick(40) == 0) {
            s.append("\n");
        }
        s += object_of(std::move(members), rng_, true);
        if (pick(40) == 0) {
            s.pop_back();  // invalid
        }
        return s;
    }

private:
    int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

    // Mostly the right kind, sometimes another, sometimes missing, sometimes twice.
    void add(std::vector<std::string>& members, const char* key, std::vector<std::string> values) {
        const int roll = pick(10);
        if (roll == 0) {
            return;
        }
        const std::string k = std::string("\"") + key + "\":";
        members.push_back(
            k +
            (roll <= 6 ? values[0] : values[static_cast<std::size_t>(pick(static_cast<int>(values.size())))])
        );
        if (roll == 9 && pick(3) == 0) {
            members.push_back(k + values[0]);
        }
    }

    std::string choices() {
        static const char* deltas[] = {
            R"({"content":"Hi"})",
            R"({"role":"assistant","content":""})",
            R"({"content":"a\nb \"q\" \u00e9"})",
            R"({"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]})",
            "{}"};
        std::string s = R"([{"index":0,"delta":)";
        s += deltas[pick(5)];
        s += pick(2) ? R"(,"finish_reason":null)" : R"(,"finish_reason":"stop")";
        if (pick(4) == 0) {
            s += R"(,"logprobs":{"content":[{"token":"x","logprob":-0.0001,"bytes":[120]}]})";
        }
        return s + "}]";
    }

    std::mt19937 rng_;
};

TEST(openai_passthrough, random_events_relay_as_the_tree_does) {
    chunk_maker make(20261124);
    int passed = 0;
    for (int i = 0; i < 20000; ++i) {
        const std::string e = make.event();
        passed += expect_same(e, i % 2 == 0) ? 1 : 0;
        if (::testing::Test::HasFailure()) {
            break;
        }
    }
    // The generator reaches both paths often.
    EXPECT_GT(passed, 2000);
    EXPECT_LT(passed, 18000);
}

// --- whole chat.completion answers ---------------------------------------------------------------

constexpr std::string_view completion =
    R"({"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m","choices":[{"index":0,)"
    R"("message":{"role":"assistant","content":"Hi"},"logprobs":null,"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3},"system_fingerprint":"fp"})";

// What the non-stream /v1 reply is made of, through the tree: the answer's JSON as chat_completion
// shapes it.
json::value through_tree(std::string_view text) {
    return json::value(chat_completion(json::parse(text), defaults));
}

TEST(openai_passthrough, the_usual_completion_passes_through) {
    EXPECT_TRUE(completion_passes_through(completion));
    EXPECT_EQ(json::parse(completion), through_tree(completion));
    // Order, spacing, escapes, non-object choices, an error member and extra members do not matter.
    const std::string loose =
        R"({ "usage" : {"total_tokens":3, "x":[1], "completion_tokens":2,"prompt_tokens":1}, "choices": [ 7, )"
        R"({"message":{"content":null,"r\u006fle":"assistant","tool_calls":[{"id":"t"}]},"index":"0"} ],)"
        R"( "model":"\u00e9", "created":1.5, "obj\u0065ct":"chat.completion", "id":"", "error":{"x":1} })";
    EXPECT_TRUE(completion_passes_through(loose));
    EXPECT_EQ(json::parse(loose), through_tree(loose));
}

TEST(openai_passthrough, completions_the_tree_would_change_do_not) {
    auto with = [](std::string_view from, std::string_view to) {
        std::string s(completion);
        const auto at = s.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        return s.replace(at, from.size(), to);
    };
    const std::vector<std::string> refused = {
        with(R"("object":"chat.completion",)", ""),
        with(R"("object":"chat.completion")", R"("object":"chat.completion.chunk")"),
        with(R"("id":"chatcmpl-1")", R"("id":1)"),
        with(R"("created":1700000000)", R"("created":"1")"),
        with(R"("model":"m")", R"("model":null)"),
        with(R"("index":0,)", ""),
        with(R"("role":"assistant",)", ""),
        with(R"("message":{"role":"assistant","content":"Hi"})", R"("message":"Hi")"),
        with(R"("message":{"role":"assistant","content":"Hi"},)", ""),
        with(R"("usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3},)", ""),
        with(R"("usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3})", R"("usage":null)"),
        with(R"("total_tokens":3)", R"("total_tokens":3.0)"),
        with(R"(,"total_tokens":3)", ""),
        with(R"("prompt_tokens":1)", R"("prompt_tokens":"1")"),
        with(R"("prompt_tokens":1)", R"("prompt_tokens":18446744073709551615)"),
        with(R"("choices":[)", R"("choices":{"a":[)") + "}",
        with(R"("id":"chatcmpl-1")", R"("id":"chatcmpl-1","id":"again")"),
        with(R"("index":0)", R"("index":0,"index":1)"),
        with(R"("role":"assistant")", R"("role":"assistant","role":"user")"),
        with(R"("total_tokens":3)", R"("total_tokens":3,"total_tokens":4)"),
        with(R"("model":"m",)", "\n\"model\":\"m\","),
        std::string(completion) + "x",
        std::string(completion.substr(0, completion.size() - 1)),
        "[" + std::string(completion) + "]",
        "",
    };
    for (const auto& e : refused) {
        EXPECT_FALSE(completion_passes_through(e)) << e;
    }
    EXPECT_EQ(trim_json_blanks(" \t\r\n{}\n "), "{}");
    EXPECT_EQ(trim_json_blanks(" \n"), "");
}

// Random answers around the real shape; whenever one passes, the tree must give the same JSON value.
class completion_maker {
public:
    explicit completion_maker(unsigned seed) : rng_(seed) {}

    std::string answer() {
        std::vector<std::string> members;
        add(members, "id", {R"("chatcmpl-1")", R"("")", "7"});
        add(members,
            "object",
            {R"("chat.completion")", R"("chat.completion.chunk")", R"("chat.completio\u006e")"});
        add(members, "created", {"1700000000", "1.5", R"("1")"});
        add(members, "model", {R"("m")", R"("\u00e9")", "null"});
        add(members, "choices", {choices(), choices(), "[]", "{}", "[1]"});
        add(members, "usage", {usage(), usage(), "null", "{}"});
        if (pick(4) == 0) {
            members.push_back(R"("error":null)");
        }
        return object_of(std::move(members), rng_, true);
    }

private:
    int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

    void add(std::vector<std::string>& members, const char* key, const std::vector<std::string>& values) {
        const int roll = pick(12);
        if (roll == 0) {
            return;
        }
        const std::string k = std::string("\"") + key + "\":";
        const std::size_t which =
            roll <= 8 ? 0 : static_cast<std::size_t>(pick(static_cast<int>(values.size())));
        members.push_back(k + values[which]);
        if (roll == 11 && pick(3) == 0) {
            members.push_back(k + values[0]);
        }
    }
    std::string choice() {
        std::vector<std::string> parts;
        if (pick(8) != 0) {
            parts.emplace_back(pick(4) == 0 ? R"("index":"0")" : R"("index":0)");
        }
        const int m = pick(10);
        if (m < 7) {
            parts.emplace_back(R"("message":{"role":"assistant","content":"a\nb \u00e9"})");
        } else if (m == 7) {
            parts.emplace_back(R"("message":{"content":"no role"})");
        } else if (m == 8) {
            parts.emplace_back(R"("message":"text")");
        }
        parts.emplace_back(R"("finish_reason":"stop")");
        if (pick(3) == 0) {
            parts.emplace_back(R"("logprobs":{"content":[{"token":"x","logprob":-0.0001,"top_logprobs":[]}]})"
            );
        }
        return object_of(std::move(parts), rng_, false);
    }
    std::string choices() {
        std::string s = "[" + choice();
        if (pick(4) == 0) {
            s += "," + choice();
        }
        return s + "]";
    }
    std::string usage() {
        std::vector<std::string> parts;
        const char* keys[] = {"prompt_tokens", "completion_tokens", "total_tokens"};
        for (const char* k : keys) {
            const int r = pick(14);
            if (r == 0) {
                continue;
            }
            parts.push_back(std::string("\"") + k + "\":" + (r == 1 ? "2.0" : r == 2 ? "null" : "3"));
        }
        if (pick(3) == 0) {
            parts.emplace_back(R"("prompt_tokens_details":{"cached_tokens":0})");
        }
        return object_of(std::move(parts), rng_, false);
    }

    std::mt19937 rng_;
};

TEST(openai_passthrough, random_completions_pass_only_when_the_tree_agrees) {
    completion_maker make(20261124);
    int passed = 0;
    for (int i = 0; i < 20000; ++i) {
        const std::string a = make.answer();
        if (completion_passes_through(a)) {
            ++passed;
            EXPECT_EQ(json::parse(a), through_tree(a)) << a;
        }
        if (::testing::Test::HasFailure()) {
            break;
        }
    }
    // The generator reaches both outcomes often.
    EXPECT_GT(passed, 1000);
    EXPECT_LT(passed, 18000);
}

}  // namespace
}  // namespace modelrelay::server::openai
