// The one-pass scan of upstream OpenAI events (_predict/stream) against the tree path it replaces: the same
// chunks and the same relay step for every event, and the scan really answering for the usual shapes.
#include "server/handlers/ml_stream_events.hpp"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

using modelrelay::server::relay_step;
using modelrelay::server::handlers::on_openai_event;
using modelrelay::server::handlers::on_openai_event_tree;
using modelrelay::server::handlers::openai_event_scan;
using modelrelay::server::handlers::scan_openai_event;
using verdict = openai_event_scan::verdict;

struct outcome {
    relay_step step;
    std::string out;
};

outcome fast(const std::string& data) {
    outcome o{relay_step::more, "prefix|"};
    o.step = on_openai_event(data, o.out);
    return o;
}

outcome tree(const std::string& data) {
    outcome o{relay_step::more, "prefix|"};
    o.step = on_openai_event_tree(data, o.out);
    return o;
}

void expect_same(const std::string& data) {
    const auto a = fast(data);
    const auto b = tree(data);
    EXPECT_EQ(a.step, b.step) << data;
    EXPECT_EQ(a.out, b.out) << data;
}

std::string chunk(const std::string& delta, const std::string& finish = "null") {
    return R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":)" +
           delta + R"(,"finish_reason":)" + finish + "}]}";
}

TEST(ml_stream_events, the_usual_events_are_read_without_the_tree) {
    const auto content = scan_openai_event(chunk(R"({"content":"tok0 "})"));
    EXPECT_EQ(content.outcome, verdict::read);
    ASSERT_TRUE(content.content.has_value());
    EXPECT_EQ(*content.content, "tok0 ");
    EXPECT_FALSE(content.finish_stop);

    const auto role = scan_openai_event(chunk(R"({"role":"assistant","content":""})"));
    EXPECT_EQ(role.outcome, verdict::read);
    EXPECT_EQ(role.content, std::optional<std::string>(""));

    const auto last = scan_openai_event(chunk("{}", R"("stop")"));
    EXPECT_EQ(last.outcome, verdict::read);
    EXPECT_TRUE(last.finish_stop);

    const auto usage = scan_openai_event(R"({"id":"c","choices":[],"usage":{"total_tokens":9}})");
    EXPECT_EQ(usage.outcome, verdict::read);
    EXPECT_FALSE(usage.content.has_value());

    // What the relay sends for them.
    auto o = fast(chunk(R"({"content":"tok0 "})"));
    EXPECT_EQ(o.step, relay_step::more);
    EXPECT_EQ(
        o.out,
        "prefix|data: "
        R"({"inference_results":[{"output":[{"name":"response","dataAsMap":{"content":"tok0 ","is_last":false}}]}]})"
        "\n\n"
    );
    EXPECT_EQ(fast(chunk("{}", R"("stop")")).step, relay_step::done);
    EXPECT_EQ(fast("[DONE]").step, relay_step::done);
}

TEST(ml_stream_events, errors_tool_calls_and_repeated_keys_are_left_to_the_tree) {
    EXPECT_EQ(scan_openai_event(R"({"error":{"message":"boom"}})").outcome, verdict::needs_tree);
    EXPECT_EQ(scan_openai_event(R"({"error":"boom"})").outcome, verdict::needs_tree);
    EXPECT_EQ(scan_openai_event(R"({"error":null,"choices":[]})").outcome, verdict::read);
    EXPECT_EQ(
        scan_openai_event(chunk(R"({"tool_calls":[{"index":0,"function":{"name":"f"}}]})")).outcome,
        verdict::needs_tree
    );
    EXPECT_EQ(scan_openai_event(chunk(R"({"content":"a","content":"b"})")).outcome, verdict::needs_tree);
    EXPECT_EQ(scan_openai_event(R"({"choices":[],"choices":[]})").outcome, verdict::needs_tree);
    // A repeated key nobody reads is no reason for the tree.
    EXPECT_EQ(scan_openai_event(R"({"id":"a","id":"b","choices":[]})").outcome, verdict::read);

    auto o = fast(R"({"error":{"message":"boom"}})");
    EXPECT_EQ(o.step, relay_step::stop);
    EXPECT_EQ(o.out, "prefix|data: {\"error\": \"Error from remote service: boom\"}\n\n");
}

// HttpStreamingHandler accumulates the tool-call deltas and, at finish_reason "tool_calls", sends the
// whole call: as a content chunk, then as the response tensor.
TEST(ml_stream_events, tool_call_deltas_are_joined_at_their_finish) {
    modelrelay::server::handlers::tool_call_accumulator calls;
    std::string out;
    EXPECT_EQ(
        on_openai_event(chunk(R"({"role":"assistant","content":null})"), out, &calls), relay_step::more
    );
    EXPECT_EQ(out, "");
    for (const char* delta :
         {R"({"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_w","arguments":""}}]})",
          R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]})",
          R"({"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]})"}) {
        EXPECT_EQ(on_openai_event(chunk(delta), out, &calls), relay_step::more);
    }
    EXPECT_TRUE(calls.in_progress);
    EXPECT_EQ(calls.arguments, R"({"city":"Paris"})");
    out.clear();
    EXPECT_EQ(on_openai_event(chunk("{}", R"("tool_calls")"), out, &calls), relay_step::more);
    const std::string whole =
        R"({"choices":[{"message":{"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_w","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"tool_calls"}]})";
    EXPECT_EQ(
        out,
        modelrelay::server::handlers::stream_chunk(whole, false) +
            R"(data: {"inference_results":[{"output":[{"name":"response","dataAsMap":)" + whole + "}]}]}\n\n"
    );
    EXPECT_FALSE(calls.in_progress);
    // Without an accumulator (and for a stop), nothing changes.
    std::string plain;
    EXPECT_EQ(on_openai_event(chunk("{}", R"("tool_calls")"), plain), relay_step::more);
    EXPECT_EQ(plain, "");
}

TEST(ml_stream_events, what_is_not_a_json_object_is_skipped) {
    for (const std::string bad :
         {"", "not json", "[1,2]", "\"s\"", "12", "null", "{\"choices\":[", "{} x", "{},"}) {
        EXPECT_EQ(scan_openai_event(bad).outcome, verdict::skip) << bad;
        const auto o = fast(bad);
        EXPECT_EQ(o.step, relay_step::more) << bad;
        EXPECT_EQ(o.out, "prefix|") << bad;
    }
}

TEST(ml_stream_events, a_fixed_set_of_events_relays_as_the_tree_does) {
    std::vector<std::string> cases = {
        chunk(R"({"content":"tok0 "})"),
        chunk(R"({"content":"line\nbreak \"quoted\" \u00e9 \ud83d\ude00 \\ \/"})"),
        chunk(R"({"content":""})"),
        chunk(R"({"content":null})"),
        chunk(R"({"content":12})"),
        chunk(R"({"content":{"text":"x"}})"),
        chunk(R"({"content":["x"]})"),
        chunk(R"({"content":"done too"})", R"("stop")"),
        chunk(R"({"content":"cut"})", R"("length")"),
        chunk(R"({"content":"x"})", "7"),
        chunk(R"("not an object")"),
        chunk("null"),
        chunk(R"({"tool_calls":null,"content":"t"})"),
        chunk(R"({"tool_calls":{"a":1},"content":"t"})"),
        chunk(R"({"tool_calls":[{"index":0,"id":"call_1","function":{"name":"f","arguments":"{\"a\":1}"}}]})"
        ),
        R"({"choices":[]})",
        R"({"choices":{}})",
        R"({"choices":null})",
        R"({"choices":[null,{"delta":{"content":"second"}}]})",
        R"({"choices":[[{"delta":{"content":"nested"}}]]})",
        R"({"choices":[{"delta":{"content":"first"}},{"delta":{"content":"second"}}]})",
        R"({"choices":[{"delta":{"content":"a"},"delta":{"content":"b"}}]})",
        R"({"choices":[{"finish_reason":"stop","finish_reason":null}]})",
        R"({"x":{"choices":[{"delta":{"content":"not at the root"}}]},"choices":[]})",
        R"({"x":[{"error":"not at the root"}],"choices":[{"delta":{"content":"ok"}}]})",
        R"({"error":null,"error":"boom"})",
        R"({"error":"boom"})",
        R"({"error":false})",
        R"({"error":0})",
        R"({"error":[]})",
        R"({"error":{"message":"boom","code":1}})",
        R"({"error":{"message":7}})",
        R"({"error":{"code":"x"}})",
        R"({"error":"boom",)",
        R"(  {"choices":[{"delta":{"content":"spaces"}}]}  )",
        R"({"choices":[{"delta":{"content":"x"}}]} {})",
        R"({"choices":[{"delta":{"content":"big"}}],"n":1e400})",
        R"({"choices":[{"delta":{"content":"neg"}}],"n":-12,"u":18446744073709551615,"d":0.5,"b":true})",
        R"({"choices":[{"delta":{"content":"bad utf8 )" + std::string("\xff") + R"("}}]})",
        R"({"choices":[{"delta":{"content":"ctrl )" + std::string("\x01") + R"("}}]})",
    };
    // Depth at and past the parser's limit (32).
    std::string deep = chunk(R"({"content":"deep"})");
    for (int d : {29, 31, 33}) {
        std::string nest(d, '[');
        nest += std::string(d, ']');
        cases.push_back(R"({"choices":[{"delta":{"content":"d"}}],"n":)" + nest + "}");
    }
    // Long keys and strings with escapes: the parser hands them over in parts.
    std::string long_content;
    for (int i = 0; i < 20000; ++i) {
        long_content += i % 3 == 0 ? "\\n" : i % 3 == 1 ? "\\u00e9" : "ab";
    }
    cases.push_back(chunk(R"({"content":")" + long_content + R"("})"));
    cases.push_back(chunk(R"({"content":")" + long_content + R"("})", R"("st\u006fp")"));
    std::string long_key = "\\u0063ontent";  // "content", escaped
    cases.push_back(chunk(R"({")" + long_key + R"(":"escaped key"})"));
    cases.push_back(R"({"choices":[{"delta":{")" + long_content + R"(":1,"content":"after a long key"}}]})");
    for (const auto& c : cases) {
        expect_same(c);
    }
    EXPECT_EQ(fast(cases[1]).out, tree(cases[1]).out);
    EXPECT_EQ(scan_openai_event(cases.back()).outcome, verdict::read);
}

// Random events built from the keys that matter, at the places they matter and elsewhere.
class event_maker {
public:
    explicit event_maker(unsigned seed) : rng_(seed) {}

    std::string event() { return object(0, true, hint::root); }

private:
    enum class hint { none, root, choice, delta };

    int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

    // Half the time a key that belongs where the object sits, so the interesting paths come up often.
    std::string key_for(hint h) {
        if (pick(2) == 0) {
            switch (h) {
                case hint::root:
                    return pick(4) == 0 ? "error" : "choices";
                case hint::choice:
                    return pick(2) == 0 ? "delta" : "finish_reason";
                case hint::delta:
                    return pick(4) == 0 ? "tool_calls" : "content";
                case hint::none:
                    break;
            }
        }
        return key();
    }

    std::string key() {
        static const char* keys[] = {
            "error", "choices", "delta", "content", "finish_reason", "tool_calls", "message", "id", "x"};
        return keys[pick(9)];
    }
    std::string string() {
        static const char* values[] = {
            "", "stop", "length", "tok ", "a\\nb", "\\u00e9", "\\\"q\\\"", "stop "};
        return std::string("\"") + values[pick(8)] + "\"";
    }
    std::string value(int depth) {
        const int limit = depth > 4 ? 5 : 8;
        switch (pick(limit)) {
            case 0:
                return "null";
            case 1:
                return pick(2) ? "true" : "false";
            case 2:
                return std::to_string(pick(100) - 50);
            case 3:
            case 4:
                return string();
            case 5:
                return "1.5";
            case 6:
                return object(depth + 1, false, hint::none);
            default:
                return array(depth + 1);
        }
    }
    std::string array(int depth) {
        std::string s = "[";
        const int n = pick(4);
        for (int i = 0; i < n; ++i) {
            if (i > 0) {
                s += ',';
            }
            s += pick(2) ? object(depth + 1, false, hint::none) : value(depth + 1);
        }
        return s + "]";
    }
    std::string object(int depth, bool root, hint h) {
        std::string s = "{";
        const int n = pick(root ? 4 : 5);
        for (int i = 0; i < n; ++i) {
            const std::string k = key_for(h);
            std::string v;
            // Lean towards the real shape so the interesting paths come up often.
            if (k == "choices" && pick(3) != 0) {
                v = "[";
                v += object(depth + 1, false, hint::choice);
                if (pick(3) == 0) {
                    v += ',';
                    v += object(depth + 1, false, hint::choice);
                }
                v += ']';
            } else if (k == "delta" && pick(3) != 0) {
                v = object(depth + 1, false, hint::delta);
            } else if (k == "content" && pick(2) == 0) {
                v = string();
            } else {
                v = value(depth);
            }
            if (i > 0) {
                s += ',';
            }
            s.append("\"").append(k).append("\":").append(v);
        }
        return s + "}";
    }

    std::mt19937 rng_;
};

TEST(ml_stream_events, random_events_relay_as_the_tree_does) {
    event_maker make(20261123);
    int read = 0;
    int with_content = 0;
    for (int i = 0; i < 20000; ++i) {
        const std::string e = make.event();
        expect_same(e);
        const auto scan = scan_openai_event(e);
        read += scan.outcome == verdict::read ? 1 : 0;
        with_content += scan.outcome == verdict::read && scan.content && !scan.content->empty() ? 1 : 0;
        if (::testing::Test::HasFailure()) {
            break;
        }
    }
    // The generator reaches the scan's own answers, not only the tree's.
    EXPECT_GT(read, 2000);
    EXPECT_GT(with_content, 100);
}

}  // namespace
