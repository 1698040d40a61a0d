// File: openai_format_test.cpp
// The pure OpenAI wire-format helpers of the /v1 front door: error mapping, completion and chunk shaping,
// embedding extraction, base64 float32.
#include "server/handlers/openai_format.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/unit/server/sse_frames.hpp"

namespace modelrelay::server::openai {
namespace {

namespace json = boost::json;
using registry::errc;

const reply_defaults defaults{"chatcmpl-default", 1700000000, "my-model"};

TEST(openai_format, errors_map_to_openai_statuses_and_types) {
    auto e = from_error({errc::not_found, "Failed to find model"});
    EXPECT_EQ(e.status, 404U);
    EXPECT_EQ(e.type, "not_found_error");
    e = from_error({errc::too_many_requests, "Request is throttled at model level."});
    EXPECT_EQ(e.status, 429U);
    EXPECT_EQ(e.type, "rate_limit_error");
    EXPECT_EQ(e.code, "rate_limit_exceeded");
    e = from_error({errc::forbidden, "Model is disabled."});
    EXPECT_EQ(e.status, 403U);
    EXPECT_EQ(e.type, "permission_error");
    e = from_error({errc::upstream_status, "Error communicating with remote model: Connection refused", 500});
    EXPECT_EQ(e.status, 502U);
    EXPECT_EQ(e.type, "server_error");
    e = from_error({errc::illegal_argument, "Invalid payload"});
    EXPECT_EQ(e.status, 400U);
    EXPECT_EQ(e.type, "invalid_request_error");
    EXPECT_EQ(from_error({errc::internal, "x"}).status, 500U);
    EXPECT_EQ(
        json::serialize(error_body(e)),
        R"({"error":{"message":"Invalid payload","type":"invalid_request_error","param":null,"code":null}})"
    );
}

TEST(openai_format, upstream_errors_keep_the_upstream_openai_error) {
    auto e = from_upstream(
        401,
        R"({"error":{"message":"Incorrect API key","type":"invalid_request_error","param":null,"code":"invalid_api_key"}})"
    );
    EXPECT_EQ(e.status, 401U);
    EXPECT_EQ(e.message, "Incorrect API key");
    EXPECT_EQ(e.type, "invalid_request_error");
    EXPECT_EQ(e.code, "invalid_api_key");
    EXPECT_FALSE(e.param);
    e = from_upstream(401, "denied");
    EXPECT_EQ(e.type, "authentication_error");
    EXPECT_EQ(e.message, "Error from remote service: denied");
    e = from_upstream(503, "");
    EXPECT_EQ(e.status, 502U);
    EXPECT_EQ(e.message, "Remote service returned error status 503 with empty body");
    e = from_upstream(429, R"({"error":"slow down"})");
    EXPECT_EQ(e.message, "slow down");
    EXPECT_EQ(e.code, "rate_limit_exceeded");
}

TEST(openai_format, chat_completion_fills_what_kibana_requires) {
    auto c = chat_completion(
        json::parse(R"({"choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":3}})"), defaults
    );
    EXPECT_EQ(c.at("object").as_string(), "chat.completion");
    EXPECT_EQ(c.at("id").as_string(), "chatcmpl-default");
    EXPECT_EQ(c.at("created").as_int64(), 1700000000);
    EXPECT_EQ(c.at("model").as_string(), "my-model");
    EXPECT_EQ(c.at("choices").at(0).at("message").at("role").as_string(), "assistant");
    EXPECT_EQ(c.at("choices").at(0).at("index").to_number<int>(), 0);
    EXPECT_EQ(c.at("usage"), json::parse(R"({"prompt_tokens":3,"completion_tokens":0,"total_tokens":3})"));
    // Upstream values win.
    c = chat_completion(json::parse(R"({"id":"u","model":"up","created":7,"choices":[]})"), defaults);
    EXPECT_EQ(c.at("id").as_string(), "u");
    EXPECT_EQ(c.at("model").as_string(), "up");
    // Other shapes become the message content.
    EXPECT_EQ(
        chat_completion(json::parse(R"({"response":"plain"})"), defaults)
            .at("choices")
            .at(0)
            .at("message")
            .at("content"),
        json::value("plain")
    );
    EXPECT_EQ(
        chat_completion(json::parse(R"({"message":{"role":"assistant","content":"ollama"}})"), defaults)
            .at("choices")
            .at(0)
            .at("message")
            .at("content"),
        json::value("ollama")
    );
    EXPECT_EQ(
        chat_completion(json::parse(R"({"x":1})"), defaults).at("choices").at(0).at("message").at("content"),
        json::value(R"({"x":1})")
    );
}

TEST(openai_format, chunk_relay_normalises_chunks_and_honours_include_usage) {
    chunk_relay plain(defaults, false);
    std::string out;
    EXPECT_EQ(plain.on_event(R"({"choices":[{"index":0,"delta":{"content":"a"}}]})", out), relay_step::more);
    EXPECT_EQ(plain.on_event(R"({"choices":[],"usage":{"prompt_tokens":1}})", out), relay_step::more);
    EXPECT_EQ(plain.on_event(R"({"choices":[{"delta":{}}],"usage":null})", out), relay_step::more);
    EXPECT_EQ(plain.on_event("not json", out), relay_step::more);
    EXPECT_EQ(plain.on_event(R"({"other":true})", out), relay_step::more);
    EXPECT_EQ(plain.on_event("[DONE]", out), relay_step::done);
    plain.on_finish(out);
    auto f = frames(out);
    ASSERT_EQ(f.size(), 3U) << out;  // two chunks (the usage-only one dropped), [DONE]
    EXPECT_EQ(f[0].at("object").as_string(), "chat.completion.chunk");
    EXPECT_EQ(f[0].at("id").as_string(), "chatcmpl-default");
    EXPECT_FALSE(f[1].as_object().contains("usage"));
    EXPECT_EQ(f[2], json::value("[DONE]"));

    chunk_relay with_usage(defaults, true);
    out.clear();
    with_usage.on_event(
        R"({"id":"u","object":"chat.completion.chunk","choices":[{"delta":{"content":"x"}}]})", out
    );
    with_usage.on_finish(out);
    f = frames(out);
    ASSERT_EQ(f.size(), 3U);
    EXPECT_EQ(f[0].at("id").as_string(), "u");
    EXPECT_EQ(f[1].at("usage"), json::parse(R"({"prompt_tokens":0,"completion_tokens":0,"total_tokens":0})"));
    EXPECT_TRUE(f[1].at("choices").as_array().empty());
    // The added usage chunk repeats the stream's id, created and model, as every OpenAI chunk does.
    EXPECT_EQ(f[1].at("id").as_string(), "u");
    chunk_relay passed(defaults, true);
    out.clear();
    passed.on_event(
        R"({"id":"p","object":"chat.completion.chunk","created":7,"model":"up","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]})",
        out
    );
    passed.on_finish(out);
    f = frames(out);
    ASSERT_EQ(f.size(), 3U) << out;
    EXPECT_EQ(f[1].at("id").as_string(), "p");
    EXPECT_EQ(f[1].at("created").to_number<int>(), 7);
    EXPECT_EQ(f[1].at("model").as_string(), "up");

    chunk_relay err(defaults, false);
    out.clear();
    EXPECT_EQ(err.on_event(R"({"error":{"message":"boom","type":"server_error"}})", out), relay_step::stop);
    EXPECT_EQ(frames(out)[0].at("error").at("message").as_string(), "boom");
}

TEST(openai_format, legacy_completions_are_the_chat_answer_reshaped) {
    auto t = text_completion(
        json::parse(
            R"({"id":"c1","object":"chat.completion","created":2,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop","logprobs":null},{"index":1,"message":{"role":"assistant","content":null},"finish_reason":"length"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})"
        ),
        defaults
    );
    EXPECT_EQ(
        json::value(t),
        json::parse(
            R"({"id":"c1","object":"text_completion","created":2,"model":"m","choices":[{"text":"hi","index":0,"logprobs":null,"finish_reason":"stop"},{"text":"","index":1,"logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})"
        )
    );
    // A bare answer gets the defaults, like a chat reply.
    auto bare = text_completion(json::parse(R"({"response":"plain"})"), defaults);
    EXPECT_EQ(bare.at("id").as_string(), "chatcmpl-default");
    EXPECT_EQ(bare.at("choices").at(0).at("text").as_string(), "plain");

    chunk_relay relay(defaults, true);
    std::string chat;
    relay.on_event(R"({"id":"s","choices":[{"index":0,"delta":{"role":"assistant"}}]})", chat);
    relay.on_event(R"({"id":"s","choices":[{"index":0,"delta":{"content":"he"}}]})", chat);
    relay.on_event(R"({"id":"s","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})", chat);
    relay.on_event(R"({"error":{"message":"late","type":"server_error"}})", chat);
    relay.on_finish(chat);
    const auto f = frames(text_completion_frames(chat));
    ASSERT_EQ(f.size(), 5U) << chat;  // text, finish, error, usage, [DONE]: the role-only chunk is dropped
    EXPECT_EQ(f[0].at("object").as_string(), "text_completion");
    EXPECT_EQ(f[0].at("choices").at(0).at("text").as_string(), "he");
    EXPECT_FALSE(f[0].at("choices").at(0).as_object().contains("delta"));
    EXPECT_EQ(f[1].at("choices").at(0).at("finish_reason").as_string(), "stop");
    EXPECT_EQ(f[2].at("error").at("message").as_string(), "late");
    EXPECT_TRUE(f[3].as_object().contains("usage"));
    EXPECT_EQ(f[4], json::value("[DONE]"));
}

// A relayed chunk is re-printed from its tree: its floats must read as the upstream printed them, not as
// Boost.JSON's `-3.1725305E-1` or Java's `1.0E-4`.
TEST(openai_format, relayed_chunks_print_floats_plainly) {
    chunk_relay r(defaults, false);
    std::string out;
    r.on_event(
        R"({"id":"c","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":{"content":[{"token":"Hi",)"
        R"("logprob":-0.31725305,"top_logprobs":[{"token":"x","logprob":-0.0001}]}]}}]})",
        out
    );
    EXPECT_NE(out.find(R"("logprob":-0.31725305,)"), std::string::npos) << out;
    EXPECT_NE(out.find(R"("logprob":-0.0001})"), std::string::npos) << out;
    EXPECT_EQ(out.find('E'), std::string::npos) << out;
}

TEST(openai_format, a_whole_completion_becomes_chunks) {
    chunk_relay r(defaults, true);
    std::string out;
    EXPECT_EQ(
        r.on_completion(
            R"({"id":"c","created":2,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}})",
            out
        ),
        relay_step::done
    );
    r.on_finish(out);
    auto f = frames(out);
    ASSERT_EQ(f.size(), 3U) << out;
    EXPECT_EQ(f[0].at("choices").at(0).at("delta").at("tool_calls").at(0).at("index").to_number<int>(), 0);
    EXPECT_EQ(f[0].at("choices").at(0).at("finish_reason").as_string(), "tool_calls");
    EXPECT_EQ(f[1].at("usage").at("total_tokens").as_int64(), 3);
    EXPECT_EQ(f[2], json::value("[DONE]"));
}

TEST(openai_format, embeddings_from_every_connector_shape) {
    auto batch = embeddings_of(
        json::parse(
            R"({"output":[{"name":"sentence_embedding","data_type":"FLOAT32","shape":[2],"data":[0.5,-1]},{"name":"sentence_embedding","data":[1,2]}]})"
        )
            .as_object()
    );
    ASSERT_TRUE(batch);
    EXPECT_EQ(batch->vectors, (std::vector<std::vector<double>>{{0.5, -1}, {1, 2}}));
    batch = embeddings_of(
        json::parse(
            R"({"output":[{"name":"response","dataAsMap":{"data":[{"index":1,"embedding":[2]},{"index":0,"embedding":[1]}],"usage":{"prompt_tokens":4,"total_tokens":4}}}]})"
        )
            .as_object()
    );
    ASSERT_TRUE(batch);
    EXPECT_EQ(batch->vectors, (std::vector<std::vector<double>>{{1}, {2}}));
    EXPECT_EQ(batch->prompt_tokens, 4);
    for (const char* map :
         {R"({"embeddings":[[1,2]]})",
          R"({"embeddings":{"float":[[1,2]]}})",
          R"({"embedding":[1,2]})",
          R"({"response":[1,2]})"}) {
        json::object element{
            {"output", json::array{json::object{{"name", "response"}, {"dataAsMap", json::parse(map)}}}}};
        batch = embeddings_of(element);
        ASSERT_TRUE(batch) << map;
        EXPECT_EQ(batch->vectors, (std::vector<std::vector<double>>{{1, 2}})) << map;
    }
    auto none =
        embeddings_of(json::parse(R"({"output":[{"name":"response","dataAsMap":{"x":1}}]})").as_object());
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, errc::bad_gateway);
}

TEST(openai_format, base64_is_little_endian_float32) {
    // 1.0f = 0x3F800000 → bytes 00 00 80 3F; -2.0f = 0xC0000000 → 00 00 00 C0.
    EXPECT_EQ(base64_float32({1.0, -2.0}), "AACAPwAAAMA=");
    EXPECT_EQ(base64_float32({}), "");
    auto back = decode_base64_float32("AACAPwAAAMA=");
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, (std::vector<double>{1.0, -2.0}));
    const std::vector<double> v{0.25, -0.125, 3.5};
    EXPECT_EQ(*decode_base64_float32(base64_float32(v)), v);
    EXPECT_FALSE(decode_base64_float32("abc"));
    EXPECT_FALSE(decode_base64_float32("AAAA"));  // 3 bytes: not whole floats
}

}  // namespace
}  // namespace modelrelay::server::openai
