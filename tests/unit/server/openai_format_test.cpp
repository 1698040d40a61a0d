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
    EXPECT_EQ(bare.at("id").as_string(), "cmpl-default");
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

// OpenAI and Ollama name text completions `cmpl-`: a chat answer's `chatcmpl-` id is renamed, whole and
// streamed; other ids are the upstream's own.
TEST(openai_format, legacy_completion_ids_start_with_cmpl) {
    EXPECT_EQ(legacy_completion_id("chatcmpl-abc"), "cmpl-abc");
    EXPECT_EQ(legacy_completion_id("chatcmpl-"), "cmpl-");
    EXPECT_EQ(legacy_completion_id("cmpl-9"), "cmpl-9");
    EXPECT_EQ(legacy_completion_id("chatcmpl"), "chatcmpl");
    EXPECT_EQ(legacy_completion_id("gen-chatcmpl-1"), "gen-chatcmpl-1");
    EXPECT_EQ(legacy_completion_id(""), "");

    const auto answer = [](std::string_view id) {
        return json::parse(
            R"({"id":")" + std::string(id) +
            R"(","object":"chat.completion","created":2,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]})"
        );
    };
    EXPECT_EQ(text_completion(answer("chatcmpl-7"), defaults).at("id").as_string(), "cmpl-7");
    EXPECT_EQ(text_completion(answer("resp_1"), defaults).at("id").as_string(), "resp_1");

    chunk_relay relay(defaults, true);
    std::string chat;
    relay.on_event(R"({"id":"chatcmpl-s","choices":[{"index":0,"delta":{"content":"he"}}]})", chat);
    relay.on_event(R"({"id":"chatcmpl-s","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})", chat);
    relay.on_finish(chat);  // adds a usage chunk with the stream's id
    const auto f = frames(text_completion_frames(chat));
    ASSERT_EQ(f.size(), 4U) << chat;
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(f[i].at("id").as_string(), "cmpl-s") << i;
    }
    EXPECT_TRUE(f[2].as_object().contains("usage"));
}

TEST(openai_format, upstreams_that_speak_openai_chat) {
    for (const char* url :
         {"https://api.openai.com/v1/chat/completions",
          "https://r.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
          "http://127.0.0.1:11434/v1/chat/completions",
          "http://vllm:8000/v1/chat/completions/",
          "http://llama:8080/chat/completions#x"}) {
        EXPECT_TRUE(speaks_openai_chat(url, nullptr)) << url;
    }
    for (const char* url :
         {"http://127.0.0.1:11434/api/chat",
          "https://api.openai.com/v1/completions",
          "https://api.openai.com/v1/chat/completions-proxy",
          "https://proxy/forward?to=/v1/chat/completions",
          "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse",
          "https://chat/completions"}) {
        EXPECT_FALSE(speaks_openai_chat(url, nullptr)) << url;
    }
    // The connector may say so itself, as ml-commons compares `_llm_interface`.
    const std::string chat_interface = " OpenAI/v1/chat/completions ";
    const std::string converse = "bedrock/converse/claude";
    EXPECT_TRUE(speaks_openai_chat("http://gateway/generate", &chat_interface));
    EXPECT_FALSE(speaks_openai_chat("http://gateway/generate", &converse));
}

TEST(openai_format, references_are_placeholders_of_that_exact_name) {
    EXPECT_TRUE(references_parameter(R"({"t": ${parameters.temperature}})", "temperature"));
    EXPECT_TRUE(references_parameter(R"({"t": ${parameters.temperature:-0.7}})", "temperature"));
    EXPECT_TRUE(references_parameter(R"({"t": "${parameters.temperature.toString()}"})", "temperature"));
    EXPECT_TRUE(references_parameter("${parameters.stop} ${parameters.tools}", "tools"));
    EXPECT_FALSE(references_parameter(R"({"t": ${parameters.temperature_max}})", "temperature"));
    EXPECT_FALSE(references_parameter(R"({"t": ${parameters.temp}})", "temperature"));
    EXPECT_FALSE(references_parameter(R"({"temperature": 0})", "temperature"));
    EXPECT_FALSE(references_parameter("", "temperature"));
}

namespace members {

constexpr std::string_view chat_url = "https://api.openai.com/v1/chat/completions";
constexpr std::string_view blueprint =
    R"({ "model": "${parameters.model}", "messages": ${parameters.messages} })";

chat_upstream upstream(
    std::string_view url, std::string_view tmpl, const registry::param_map* params = nullptr
) {
    return chat_upstream{
        .url = url, .llm_interface = nullptr, .request_template = tmpl, .connector_parameters = params};
}

}  // namespace members

// The blueprint template names only model and messages: what Kibana and the SDKs send besides is added
// as sent, after the template's own members; what the door handles itself and nulls are not.
TEST(openai_format, members_the_template_leaves_out_are_added_as_sent) {
    const auto request =
        json::parse(
            R"({"model":"my-model","messages":[{"role":"user","content":"hi"}],"temperature":0.25,)"
            R"("top_p":1,"max_tokens":5,"stop":["\n"],"seed":7,"frequency_penalty":0.0001,)"
            R"("tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],)"
            R"("response_format":{"type":"json_object"},"user":null,"stream":"true",)"
            R"("stream_options":{"include_usage":true},"_llm_interface":"openai/v1/chat/completions"})"
        )
            .as_object();
    std::string body = R"({ "model": "gpt", "messages": [{"role":"user","content":"hi"}] })";
    ASSERT_TRUE(add_request_members(
        body, request, members::upstream(members::chat_url, members::blueprint), chat_door::chat
    ));
    EXPECT_EQ(
        body,
        R"({ "model": "gpt", "messages": [{"role":"user","content":"hi"}],"temperature":0.25,"top_p":1,)"
        R"("max_tokens":5,"stop":["\n"],"seed":7,"frequency_penalty":0.0001,)"
        R"("tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],)"
        R"("response_format":{"type":"json_object"} })"
    );

    // The usual SDK request has nothing to add: the body is left as it is.
    const auto plain = json::parse(R"({"model":"m","messages":[]})").as_object();
    std::string same = R"({ "model": "gpt", "messages": [] })";
    EXPECT_FALSE(add_request_members(
        same, plain, members::upstream(members::chat_url, members::blueprint), chat_door::chat
    ));
    EXPECT_EQ(same, R"({ "model": "gpt", "messages": [] })");

    // An empty template object gets every member, with no leading comma.
    const auto two = json::parse(R"({"messages":[],"n":2})").as_object();
    std::string empty = "{ }";
    ASSERT_TRUE(add_request_members(empty, two, members::upstream(members::chat_url, "{ }"), chat_door::chat)
    );
    EXPECT_EQ(empty, R"({"messages":[],"n":2 })");
}

// The connector keeps control of what it places or fixes itself.
TEST(openai_format, the_connector_template_has_the_last_word) {
    const auto request =
        json::parse(R"({"model":"m","messages":[],"temperature":0.9,"top_p":0.5,"seed":3})").as_object();
    // Placed inside another object (Ollama's native `options`): no top-level duplicate.
    const std::string nested_template =
        R"({ "model": "x", "messages": ${parameters.messages}, "options": {"temperature": ${parameters.temperature:-0.7}} })";
    std::string nested = R"({ "model": "x", "messages": [], "options": {"temperature": 0.9} })";
    ASSERT_TRUE(add_request_members(
        nested, request, members::upstream(members::chat_url, nested_template), chat_door::chat
    ));
    EXPECT_EQ(
        nested, R"({ "model": "x", "messages": [], "options": {"temperature": 0.9},"top_p":0.5,"seed":3 })"
    );

    // Hard-coded at the top level: the template's value stays.
    std::string fixed = R"({"model":"x","messages":[],"temperature":0,"top_p":1,"seed":1})";
    EXPECT_FALSE(add_request_members(
        fixed,
        request,
        members::upstream(
            members::chat_url,
            R"({"model":"x","messages":${parameters.messages},"temperature":0,"top_p":1,"seed":1})"
        ),
        chat_door::chat
    ));
    EXPECT_EQ(fixed, R"({"model":"x","messages":[],"temperature":0,"top_p":1,"seed":1})");

    // Routed through a connector parameter the template uses.
    const registry::param_map params{{"sampling", R"({"temperature": ${parameters.temperature}})"}};
    std::string routed = R"({"messages":[],"sampling":{"temperature": 0.9}})";
    ASSERT_TRUE(add_request_members(
        routed,
        request,
        members::upstream(
            members::chat_url,
            R"({"messages":${parameters.messages},"sampling":${parameters.sampling}})",
            &params
        ),
        chat_door::chat
    ));
    EXPECT_EQ(routed, R"({"messages":[],"sampling":{"temperature": 0.9},"top_p":0.5,"seed":3})");
}

TEST(openai_format, other_upstreams_and_bodies_get_nothing) {
    const auto request = json::parse(R"({"model":"m","messages":[],"temperature":0.9})").as_object();
    const auto unchanged = [&](std::string body, std::string_view url, std::string_view tmpl) {
        const std::string before = body;
        EXPECT_FALSE(add_request_members(body, request, members::upstream(url, tmpl), chat_door::chat))
            << body;
        EXPECT_EQ(body, before);
    };
    // Ollama's native API: its own member names.
    unchanged(
        R"({"model":"x","messages":[],"stream":false})",
        "http://127.0.0.1:11434/api/chat",
        R"({"model":"x","messages":${parameters.messages},"stream":false})"
    );
    // Not one JSON object.
    unchanged(R"([{"messages":[]}])", members::chat_url, R"([{"messages":${parameters.messages}}])");
    unchanged("{\"a\":1}\n{\"b\":2}\n", members::chat_url, "{\"a\":1}\n{\"b\":2}\n");
    // The connector's `_llm_interface` makes any URL an OpenAI chat one.
    const std::string iface = "openai/v1/chat/completions";
    std::string body = R"({"messages":[]})";
    ASSERT_TRUE(add_request_members(
        body,
        request,
        chat_upstream{
            .url = "http://gateway/generate",
            .llm_interface = &iface,
            .request_template = R"({"messages":${parameters.messages}})"},
        chat_door::chat
    ));
    EXPECT_EQ(body, R"({"messages":[],"temperature":0.9})");
}

// /v1/completions: `prompt` became `messages`; members with no chat meaning stay behind.
TEST(openai_format, legacy_members_without_a_chat_meaning_are_not_added) {
    const auto request =
        json::parse(R"({"model":"m","prompt":"p","messages":[{"role":"user","content":"p"}],"max_tokens":5,)"
                    R"("echo":true,"best_of":2,"logprobs":3,"suffix":"s","temperature":0})")
            .as_object();
    std::string body = R"({ "model": "gpt", "messages": [{"role":"user","content":"p"}] })";
    ASSERT_TRUE(add_request_members(
        body, request, members::upstream(members::chat_url, members::blueprint), chat_door::legacy_completions
    ));
    EXPECT_EQ(
        body,
        R"({ "model": "gpt", "messages": [{"role":"user","content":"p"}],"max_tokens":5,"temperature":0 })"
    );
    // Chat's own `logprobs` (a boolean) is an ordinary member there.
    const auto chat = json::parse(R"({"messages":[],"logprobs":true,"top_logprobs":2})").as_object();
    std::string chat_body = R"({"messages":[]})";
    ASSERT_TRUE(add_request_members(
        chat_body, chat, members::upstream(members::chat_url, members::blueprint), chat_door::chat
    ));
    EXPECT_EQ(chat_body, R"({"messages":[],"logprobs":true,"top_logprobs":2})");
}

// A built-in post-process function keeps only the vectors, so /v1/embeddings reads usage from the answer
// the upstream wrote.
TEST(openai_format, chat_usage_in_every_provider_s_names) {
    const auto usage = [](std::string_view answer) {
        auto u = chat_usage_of(answer);
        return u ? json::value(*u) : json::value(nullptr);
    };
    const auto expect = [](std::string_view text) {
        return json::parse(text);
    };
    EXPECT_EQ(
        usage(R"({"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":3}})"),
        expect(R"({"prompt_tokens":2,"completion_tokens":3,"total_tokens":5})")
    );
    EXPECT_EQ(
        usage(R"({"content":[],"usage":{"input_tokens":4,"output_tokens":1}})"),
        expect(R"({"prompt_tokens":4,"completion_tokens":1,"total_tokens":5})")
    );
    EXPECT_EQ(
        usage(R"({"output":{},"usage":{"inputTokens":4,"outputTokens":2,"totalTokens":7}})"),
        expect(R"({"prompt_tokens":4,"completion_tokens":2,"total_tokens":7})")
    );
    EXPECT_EQ(
        usage(R"({"message":{"content":"x"},"prompt_eval_count":5,"eval_count":3})"),
        expect(R"({"prompt_tokens":5,"completion_tokens":3,"total_tokens":8})")
    );
    EXPECT_EQ(
        usage(R"({"text":"x","meta":{"billed_units":{"input_tokens":6,"output_tokens":2}}})"),
        expect(R"({"prompt_tokens":6,"completion_tokens":2,"total_tokens":8})")
    );
    EXPECT_EQ(
        usage(
            R"({"candidates":[],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":4,"totalTokenCount":9}})"
        ),
        expect(R"({"prompt_tokens":3,"completion_tokens":4,"total_tokens":9})")
    );
    EXPECT_EQ(usage(R"({"choices":[]})"), json::value(nullptr));
    EXPECT_EQ(usage(R"({"usage":"none"})"), json::value(nullptr));
    EXPECT_EQ(usage("not json \"usage\""), json::value(nullptr));

    // chat_completion takes them from the raw answer only when the shaped value has none.
    const auto filtered =
        chat_completion(json::value("text"), defaults, R"({"prompt_eval_count":5,"eval_count":3})");
    EXPECT_EQ(filtered.at("usage"), expect(R"({"prompt_tokens":5,"completion_tokens":3,"total_tokens":8})"));
    const auto own = chat_completion(
        json::parse(R"({"choices":[],"usage":{"prompt_tokens":1}})"), defaults, R"({"prompt_eval_count":5})"
    );
    EXPECT_EQ(own.at("usage"), expect(R"({"prompt_tokens":1,"completion_tokens":0,"total_tokens":1})"));
    EXPECT_EQ(
        chat_completion(json::value("text"), defaults).at("usage"),
        expect(R"({"prompt_tokens":0,"completion_tokens":0,"total_tokens":0})")
    );
}

TEST(openai_format, embedding_usage_from_the_raw_answer) {
    auto u =
        embedding_usage_of(R"({"object":"list","data":[],"usage":{"prompt_tokens":3,"total_tokens":3}})");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->prompt_tokens, 3);
    EXPECT_EQ(u->total_tokens, 3);
    u = embedding_usage_of(R"({"usage":{"prompt_tokens":4}})");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->total_tokens, 4);
    u = embedding_usage_of(R"({"usage":{"total_tokens":6}})");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->prompt_tokens, 0);
    EXPECT_EQ(u->total_tokens, 6);
    EXPECT_FALSE(embedding_usage_of(R"({"data":[{"embedding":[1]}]})"));
    EXPECT_FALSE(embedding_usage_of(R"({"usage":{}})"));
    EXPECT_FALSE(embedding_usage_of(R"({"meta":{"usage":{"prompt_tokens":1}}})"));
    EXPECT_FALSE(embedding_usage_of(R"({"usage": not json)"));
}

// Other providers count embedding tokens in their own members.
TEST(openai_format, embedding_usage_of_cohere_bedrock_and_ollama) {
    auto u = embedding_usage_of(
        R"({"id":"x","embeddings":{"float":[[0.1]]},"meta":{"api_version":{"version":"2"},"billed_units":{"input_tokens":7}}})"
    );
    ASSERT_TRUE(u);
    EXPECT_EQ(u->prompt_tokens, 7);
    EXPECT_EQ(u->total_tokens, 7);
    u = embedding_usage_of(R"({"embedding":[0.5,0.25],"inputTextTokenCount":5})");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->prompt_tokens, 5);
    EXPECT_EQ(u->total_tokens, 5);
    u = embedding_usage_of(R"({"model":"all-minilm","embeddings":[[0.1]],"prompt_eval_count":9})");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->total_tokens, 9);
    // An OpenAI usage object wins over anything else the answer has.
    u = embedding_usage_of(R"({"usage":{"prompt_tokens":2},"prompt_eval_count":9})");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->prompt_tokens, 2);
    EXPECT_FALSE(embedding_usage_of(R"({"meta":{"billed_units":{"images":1}}})"));
    EXPECT_FALSE(embedding_usage_of(R"({"inputTextTokenCount":"5"})"));
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
