// File: openai_test.cpp
// The OpenAI-compatible /v1 front door against the real binary and a fake OpenAI upstream: chat
// completions (plain and streamed), embeddings (float and base64), the model list, every error shape, and
// the exact requests Kibana's OpenAI connector (provider "Other") sends.
#include <cstring>
#include <set>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "tests/support/fake_upstream.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/model_setup.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/sse_client.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using headers = std::vector<std::pair<std::string, std::string>>;

// Kibana's OpenAI connector, provider "Other": the axios request headers (clients.md §2.2).
const headers kibana_headers{
    {"Authorization", "Bearer kibana-placeholder-key"},
    {"content-type", "application/json"},
    {"Accept", "application/json, text/plain, */*"},
    {"User-Agent", "axios/1.8.4"},
    {"Accept-Encoding", "gzip, compress, deflate, br"},
    {"X-Tenant", "team-a"},
};

// The openai SDK's headers (clients.md §3.3), as Kibana's invokeAsyncIterator path sends them.
const headers sdk_headers{
    {"authorization", "Bearer sk-anything"},
    {"user-agent", "OpenAI/JS 6.49.0"},
    {"accept", "application/json"},
    {"content-type", "application/json"},
    {"x-stainless-lang", "js"},
    {"x-stainless-package-version", "6.49.0"},
    {"x-stainless-os", "Linux"},
    {"x-stainless-arch", "x64"},
    {"x-stainless-runtime", "node"},
    {"x-stainless-runtime-version", "v20.20.2"},
    {"x-stainless-retry-count", "0"},
    {"accept-language", "*"},
    {"sec-fetch-mode", "cors"},
    {"accept-encoding", "gzip, deflate"},
};

std::vector<float> decode_floats(std::string_view b64) {
    std::string bytes(b64.size() / 4 * 3 + 1, '\0');
    int n = EVP_DecodeBlock(
        reinterpret_cast<unsigned char*>(bytes.data()),
        reinterpret_cast<const unsigned char*>(b64.data()),
        static_cast<int>(b64.size())
    );
    for (auto it = b64.rbegin(); it != b64.rend() && *it == '='; ++it) {
        --n;
    }
    std::vector<float> out(static_cast<std::size_t>(n) / 4);
    for (std::size_t i = 0; i < out.size(); ++i) {
        std::uint32_t bits = 0;
        for (int b = 0; b < 4; ++b) {
            bits |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i * 4 + b])) << (8 * b);
        }
        std::memcpy(&out[i], &bits, 4);
    }
    return out;
}

const std::string chat_answer =
    R"({"id":"chatcmpl-r","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,)"
    R"("message":{"role":"assistant","content":"routed"},"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})";

// A chat connector for `url` (any path of the fake upstream) with `request_body` as the template.
std::string connector_at(
    const std::string& url,
    std::string_view request_body,
    json::object parameters = json::object{{"model", "gpt-upstream"}}
) {
    json::object action{
        {"action_type", "predict"},
        {"method", "POST"},
        {"url", url},
        {"headers", json::object{{"Authorization", "Bearer ${credential.openAI_key}"}}},
        {"request_body", request_body}};
    return json::serialize(json::object{
        {"name", "chat connector"},
        {"version", "1"},
        {"protocol", "http"},
        {"parameters", std::move(parameters)},
        {"credential", json::object{{"openAI_key", test_api_key}}},
        {"actions", json::array{std::move(action)}}});
}

class openai_api : public ::testing::Test {
protected:
    void SetUp() override {
        server_ = std::make_unique<server_process>(tmp_.path() / "data");
        server_->start();
        client_ = std::make_unique<http_client>(server_->port());
        open_cluster_settings(c(), false);  // /v1 streams without plugins.ml_commons.stream_enabled
        chat_id_ = register_model(c(), chat_connector(up_), "chat-model");
    }
    http_client& c() { return *client_; }
    // A model named "native" on Ollama's native /api/chat, whose template asks for no stream, answering
    // `answer`.
    void native_model(std::string_view answer) {
        up_.route("/api/chat", fake_reply::json(200, std::string(answer)));
        register_model(
            c(),
            connector_at(
                up_.url("/api/chat"),
                R"({ "model": "${parameters.model}", "messages": ${parameters.messages}, "stream": false })"
            ),
            "native"
        );
    }
    http_result chat(std::string_view body, const headers& h = {}) {
        return c().request("POST", "/v1/chat/completions", body, h);
    }
    // A streamed chat call to chat-model with no messages.
    sse_client empty_chat_stream() {
        return sse_client(
            server_->port(),
            "POST",
            "/v1/chat/completions",
            R"({"model":"chat-model","messages":[],"stream":true})"
        );
    }
    // The error body must be exactly {"error":{"message","type","param","code"}}.
    void expect_error(
        const http_result& r,
        unsigned status,
        std::string_view type,
        std::string_view message_prefix,
        std::optional<std::string> code = std::nullopt,
        std::optional<std::string> param = std::nullopt
    ) {
        EXPECT_EQ(r.status, status) << r.body;
        EXPECT_EQ(r.header("content-type").rfind("application/json", 0), 0U) << r.header("content-type");
        auto j = r.json().as_object();
        ASSERT_EQ(j.size(), 1U) << r.body;
        const auto& e = j.at("error").as_object();
        EXPECT_EQ(e.size(), 4U) << r.body;
        EXPECT_EQ(e.at("type").as_string(), type) << r.body;
        const std::string message(e.at("message").as_string());
        EXPECT_EQ(message.substr(0, message_prefix.size()), message_prefix) << r.body;
        EXPECT_EQ(e.at("code"), code ? json::value(*code) : json::value(nullptr)) << r.body;
        if (param) {
            EXPECT_EQ(e.at("param"), json::value(*param)) << r.body;
        } else {
            EXPECT_TRUE(e.contains("param"));
        }
    }

    temp_dir tmp_;
    fake_upstream up_;
    std::unique_ptr<server_process> server_;
    std::unique_ptr<http_client> client_;
    std::string chat_id_;
};

TEST_F(openai_api, chat_completion_by_model_id_and_by_name) {
    for (const std::string& model : {chat_id_, std::string("chat-model")}) {
        auto r = chat(R"({"model":")" + model + R"(","messages":[{"role":"user","content":"Say hi"}]})");
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(r.header("content-type").rfind("application/json", 0), 0U);
        auto j = r.json().as_object();
        EXPECT_EQ(j.at("object").as_string(), "chat.completion");
        EXPECT_EQ(j.at("choices").at(0).at("message").at("role").as_string(), "assistant");
        EXPECT_EQ(j.at("choices").at(0).at("message").at("content").as_string(), default_completion_text);
        EXPECT_EQ(j.at("usage").at("total_tokens").as_int64(), 7);  // 2 prompt words + 5 completion words
        // The connector's template, model and credential were used.
        auto seen = up_.last_request();
        ASSERT_TRUE(seen);
        EXPECT_EQ(seen->header("authorization"), "Bearer " + std::string(test_api_key));
        EXPECT_EQ(
            json::parse(seen->body),
            json::parse(R"({"model":"gpt-upstream","messages":[{"role":"user","content":"Say hi"}]})")
        );
    }
}

TEST_F(openai_api, replies_always_carry_usage_and_non_openai_answers_become_messages) {
    up_.enqueue(fake_reply::json(
        200,
        R"({"id":"x","object":"chat.completion","created":5,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"no usage"},"finish_reason":"stop"}]})"
    ));
    auto r = chat(R"({"model":"chat-model","messages":[]})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(
        r.json().at("usage"), json::parse(R"({"prompt_tokens":0,"completion_tokens":0,"total_tokens":0})")
    );
    EXPECT_EQ(r.json().at("id").as_string(), "x");

    // A connector whose response_filter extracts the text: the reply is still a chat.completion.
    const auto filtered = register_model(
        c(), chat_connector(up_, R"("response_filter": "$.choices[0].message.content")"), "filtered"
    );
    auto f = chat(R"({"model":"filtered","messages":[]})");
    ASSERT_EQ(f.status, 200) << f.body;
    auto j = f.json().as_object();
    EXPECT_EQ(j.at("object").as_string(), "chat.completion");
    EXPECT_EQ(j.at("model").as_string(), "filtered");
    EXPECT_TRUE(j.at("id").as_string().starts_with("chatcmpl-"));
    EXPECT_EQ(j.at("choices").at(0).at("message").at("content").as_string(), default_completion_text);
    EXPECT_EQ(j.at("choices").at(0).at("finish_reason").as_string(), "stop");
    // The filter kept only the text; the counts come from the upstream's answer (1 prompt word, 5 words).
    EXPECT_EQ(j.at("usage"), json::parse(R"({"prompt_tokens":1,"completion_tokens":5,"total_tokens":6})"));

    // Ollama's native answer names its counts otherwise.
    native_model(
        R"({"model":"llama3","message":{"role":"assistant","content":"native"},"done":true,"prompt_eval_count":7,"eval_count":3})"
    );
    auto n = chat(R"({"model":"native","messages":[]})");
    ASSERT_EQ(n.status, 200) << n.body;
    EXPECT_EQ(n.json().at("choices").at(0).at("message").at("content").as_string(), "native");
    EXPECT_EQ(
        n.json().at("usage"), json::parse(R"({"prompt_tokens":7,"completion_tokens":3,"total_tokens":10})")
    );
}

// An answer that is already a complete chat.completion goes to the client byte for byte (the upstream's
// number forms and escapes kept), ?pretty still prints the same values, and one that is not complete is
// completed as before.
TEST_F(openai_api, a_complete_answer_is_relayed_as_the_upstream_wrote_it) {
    const std::string answer =
        R"({"id":"c7","object":"chat.completion","created":1700000000,"model":"m","choices":[{"index":0,)"
        R"("message":{"role":"assistant","content":"caf\u00e9 \/ <b>"},"logprobs":{"content":[{"token":"x",)"
        R"("logprob":-0.0001,"top_logprobs":[]}]},"finish_reason":"stop"}],)"
        R"("usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}})";
    up_.enqueue(fake_reply::json(200, answer + "\n"));
    auto r = chat(R"({"model":"chat-model","messages":[]})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("content-type").rfind("application/json", 0), 0U);
    EXPECT_EQ(r.body, answer);

    up_.enqueue(fake_reply::json(200, answer));
    auto pretty =
        c().request("POST", "/v1/chat/completions?pretty", R"({"model":"chat-model","messages":[]})");
    ASSERT_EQ(pretty.status, 200) << pretty.body;
    EXPECT_NE(pretty.body.find('\n'), std::string::npos);
    EXPECT_EQ(pretty.json(), json::parse(answer));

    std::string no_role = answer;
    no_role.replace(no_role.find(R"("role":"assistant",)"), 19, "");
    up_.enqueue(fake_reply::json(200, no_role));
    auto completed = chat(R"({"model":"chat-model","messages":[]})");
    ASSERT_EQ(completed.status, 200) << completed.body;
    EXPECT_EQ(completed.json().at("choices").at(0).at("message").at("role").as_string(), "assistant");
    EXPECT_EQ(completed.json().at("choices").at(0).at("message").at("content").as_string(), "café / <b>");
}

TEST_F(openai_api, body_fields_become_predict_parameters) {
    // The template uses temperature and, with no `model` connector parameter, the client's model name;
    // `n`, which it does not use, is added for the OpenAI chat upstream.
    const std::string connector = R"({"name": "t", "version": "1", "protocol": "http", "parameters": {},
      "credential": {"key": "unused"}, "actions": [{"action_type": "predict", "method": "POST", "url": ")" +
                                  up_.url("/v1/chat/completions") + R"(",
        "request_body": "{ \"model\": \"${parameters.model}\", \"messages\": ${parameters.messages}, \"temperature\": ${parameters.temperature:-1} }"}]})";
    const auto id = register_model(c(), connector, "templated");
    auto r = chat(
        R"({"model":"templated","messages":[{"role":"user","content":"x \"quoted\""}],"temperature":0.25,"n":1})"
    );
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(
        json::parse(up_.last_request()->body),
        json::parse(
            R"({"model":"templated","messages":[{"role":"user","content":"x \"quoted\""}],"temperature":0.25,"n":1})"
        )
    );
    // A template placeholder nobody fills is the connector's error, in the OpenAI shape.
    const std::string strict = R"({"name": "s", "version": "1", "protocol": "http", "parameters": {},
      "credential": {"key": "unused"}, "actions": [{"action_type": "predict", "method": "POST", "url": ")" +
                               up_.url("/v1/chat/completions") + R"(",
        "request_body": "{ \"messages\": ${parameters.messages}, \"x\": \"${parameters.needed}\" }"}]})";
    register_model(c(), strict, "strict");
    expect_error(
        chat(R"({"model":"strict","messages":[]})"),
        400,
        "invalid_request_error",
        "Some parameter placeholder not filled in payload: needed"
    );
}

// What a user writes is content, never a template: connector parameters do not leak into the prompt, and
// prompts that quote ml-commons placeholders are sent as written (plain, streamed, legacy, embeddings).
TEST_F(openai_api, placeholders_in_user_text_are_sent_as_written) {
    const std::string connector = R"({"name": "t", "version": "1", "protocol": "http",
      "parameters": {"secret_route": "internal-route-7"},
      "credential": {"key": "unused"}, "actions": [{"action_type": "predict", "method": "POST", "url": ")" +
                                  up_.url("/v1/chat/completions") + R"(",
        "request_body": "{ \"model\": \"${parameters.model}\", \"messages\": ${parameters.messages} }"}]})";
    register_model(c(), connector, "templated");
    const std::vector<std::string> prompts{
        "Explain ${parameters.secret_route}",
        "In ml-commons you write ${parameters.input} in the request_body",
        "Explain the template syntax ${parameters.messages}",
        "cost is $$5 and ${parameters.x:-none}, escaped $${parameters.model} $",
    };
    for (const auto& prompt : prompts) {
        const json::object body{
            {"model", "templated"},
            {"messages", json::array{json::object{{"role", "user"}, {"content", prompt}}}}};
        auto r = chat(json::serialize(body));
        ASSERT_EQ(r.status, 200) << r.body;
        const auto seen = json::parse(up_.last_request()->body);
        EXPECT_EQ(seen.at("messages").at(0).at("content").as_string(), prompt);
        EXPECT_EQ(up_.last_request()->body.find("internal-route-7"), std::string::npos);
    }
    auto legacy = c().request(
        "POST",
        "/v1/completions",
        R"({"model":"templated","prompt":"What does ${parameters.secret_route} mean?"})"
    );
    ASSERT_EQ(legacy.status, 200) << legacy.body;
    EXPECT_EQ(
        json::parse(up_.last_request()->body).at("messages").at(0).at("content").as_string(),
        "What does ${parameters.secret_route} mean?"
    );
    sse_client s(
        server_->port(),
        "POST",
        "/v1/chat/completions",
        R"({"model":"templated","stream":true,"messages":[{"role":"user","content":"${parameters.messages}"}]})"
    );
    ASSERT_EQ(s.status(), 200U) << s.body();
    s.read_all();
    EXPECT_TRUE(s.complete());
    EXPECT_EQ(
        json::parse(up_.last_request()->body).at("messages").at(0).at("content").as_string(),
        "${parameters.messages}"
    );

    register_model(c(), embedding_connector(up_), "embed-model");
    auto e = c().post("/v1/embeddings", R"({"model":"embed-model","input":["uses ${parameters.model}"]})");
    ASSERT_EQ(e.status, 200) << e.body;
    EXPECT_EQ(
        json::parse(up_.last_request()->body).at("input").at(0).as_string(), "uses ${parameters.model}"
    );

    // The same text on _predict is substituted, as ml-commons does it.
    const auto id = register_model(c(), connector, "templated-predict");
    auto p = c().request(
        "POST",
        "/_plugins/_ml/models/" + id + "/_predict",
        R"({"parameters":{"model":"m","messages":[{"role":"user","content":"Explain ${parameters.secret_route}"}]}})"
    );
    ASSERT_EQ(p.status, 200) << p.body;
    EXPECT_EQ(
        json::parse(up_.last_request()->body).at("messages").at(0).at("content").as_string(),
        "Explain internal-route-7"
    );
}

TEST_F(openai_api, streamed_chat_is_openai_chunks_ending_with_done) {
    sse_client s(
        server_->port(),
        "POST",
        "/v1/chat/completions",
        R"({"model":"chat-model","messages":[],"stream":true})",
        sdk_headers
    );
    ASSERT_EQ(s.status(), 200U);
    EXPECT_EQ(s.header("content-type"), "text/event-stream");
    EXPECT_EQ(s.header("x-accel-buffering"), "no");
    auto events = s.read_all();
    EXPECT_TRUE(s.complete());
    ASSERT_GE(events.size(), 3U) << s.body();
    EXPECT_EQ(events.back().data, "[DONE]");
    std::string text;
    for (std::size_t i = 0; i + 1 < events.size(); ++i) {
        auto chunk = json::parse(events[i].data).as_object();
        EXPECT_EQ(chunk.at("object").as_string(), "chat.completion.chunk") << events[i].data;
        EXPECT_FALSE(chunk.contains("usage")) << events[i].data;
        const auto& delta = chunk.at("choices").at(0).at("delta").as_object();
        if (const auto* content = delta.if_contains("content")) {
            text += std::string(content->as_string());
        }
    }
    EXPECT_EQ(text, default_completion_text);
    auto sent = json::parse(up_.last_request()->body).as_object();
    EXPECT_EQ(sent.at("stream"), json::value(true));
    EXPECT_FALSE(sent.contains("stream_options"));
}

// The legacy /v1/completions (seed 004 lists it) on the same models: the prompt goes up as one user
// message, the chat answer comes back as a text_completion, plain or streamed.
TEST_F(openai_api, legacy_completions_ride_on_the_chat_models) {
    auto r =
        c().request("POST", "/v1/completions", R"({"model":"chat-model","prompt":"Say hi","max_tokens":5})");
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = r.json().as_object();
    EXPECT_EQ(j.at("object").as_string(), "text_completion");
    // The upstream's own id, named as a text completion (OpenAI and Ollama use `cmpl-` there).
    EXPECT_EQ(j.at("id").as_string(), "cmpl-fake");
    const auto& choice = j.at("choices").at(0).as_object();
    EXPECT_EQ(choice.at("text").as_string(), default_completion_text);
    EXPECT_EQ(choice.at("index").as_int64(), 0);
    EXPECT_TRUE(choice.at("logprobs").is_null());
    EXPECT_EQ(choice.at("finish_reason").as_string(), "stop");
    EXPECT_FALSE(choice.contains("message"));
    EXPECT_EQ(j.at("usage").at("total_tokens").as_int64(), 7);
    auto sent = json::parse(up_.last_request()->body).as_object();
    EXPECT_EQ(sent.at("messages"), json::parse(R"([{"role":"user","content":"Say hi"}])"));
    EXPECT_EQ(sent.at("max_tokens"), json::value(5));  // passed through like a chat member
    EXPECT_FALSE(sent.contains("prompt"));

    // Members a chat request has no place for stay behind; the others go up as on chat.
    auto legacy = c().request(
        "POST",
        "/v1/completions",
        R"({"model":"chat-model","prompt":"Say hi","temperature":0,"echo":true,"best_of":2,"logprobs":3,"suffix":"!"})"
    );
    ASSERT_EQ(legacy.status, 200) << legacy.body;
    EXPECT_EQ(
        json::parse(up_.last_request()->body),
        json::parse(
            R"({"model":"gpt-upstream","messages":[{"role":"user","content":"Say hi"}],"temperature":0})"
        )
    );

    // An id that is not a chat one is kept as the upstream wrote it.
    up_.enqueue(fake_reply::json(
        200,
        R"({"id":"gen-42","object":"chat.completion","created":3,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":"stop"}]})"
    ));
    auto other = c().request("POST", "/v1/completions", R"({"model":"chat-model","prompt":"Say hi"})");
    ASSERT_EQ(other.status, 200) << other.body;
    EXPECT_EQ(other.json().at("id").as_string(), "gen-42");

    // An upstream that is itself a completions server: its text is kept.
    up_.enqueue(fake_reply::json(
        200,
        R"({"id":"cmpl-9","object":"text_completion","created":3,"model":"m","choices":[{"text":"raw","index":0,"logprobs":null,"finish_reason":"length"}]})"
    ));
    auto raw = c().request("POST", "/v1/completions", R"({"model":"chat-model","prompt":["Say hi"]})");
    ASSERT_EQ(raw.status, 200) << raw.body;
    EXPECT_EQ(raw.json().at("id").as_string(), "cmpl-9");
    EXPECT_EQ(raw.json().at("choices").at(0).at("text").as_string(), "raw");
    EXPECT_EQ(raw.json().at("choices").at(0).at("finish_reason").as_string(), "length");

    // Streamed: text_completion chunks, no role-only chunk, then [DONE].
    sse_client st(
        server_->port(),
        "POST",
        "/v1/completions",
        R"({"model":"chat-model","prompt":"Say hi","stream":true})",
        sdk_headers
    );
    ASSERT_EQ(st.status(), 200U);
    auto events = st.read_all();
    ASSERT_GE(events.size(), 2U) << st.body();
    EXPECT_EQ(events.back().data, "[DONE]");
    std::string text;
    for (std::size_t i = 0; i + 1 < events.size(); ++i) {
        auto chunk = json::parse(events[i].data).as_object();
        EXPECT_EQ(chunk.at("object").as_string(), "text_completion") << events[i].data;
        EXPECT_EQ(chunk.at("id").as_string(), "cmpl-fake") << events[i].data;
        const auto& c0 = chunk.at("choices").at(0).as_object();
        EXPECT_FALSE(c0.contains("delta")) << events[i].data;
        EXPECT_TRUE(!c0.at("text").as_string().empty() || !c0.at("finish_reason").is_null())
            << events[i].data;
        text += std::string(c0.at("text").as_string());
    }
    EXPECT_EQ(text, default_completion_text);

    // Bad prompts are OpenAI errors, and nothing is sent upstream.
    const auto sent_before = up_.request_count();
    expect_error(
        c().request("POST", "/v1/completions", R"({"model":"chat-model"})"),
        400,
        "invalid_request_error",
        "Missing required parameter: 'prompt'.",
        std::nullopt,
        "prompt"
    );
    expect_error(
        c().request("POST", "/v1/completions", R"({"model":"chat-model","prompt":["a","b"]})"),
        400,
        "invalid_request_error",
        "'prompt' must be a string or an array holding one string.",
        std::nullopt,
        "prompt"
    );
    EXPECT_EQ(up_.request_count(), sent_before);
}

TEST_F(openai_api, include_usage_is_honoured) {
    auto with_usage = [&] {
        sse_client s(
            server_->port(),
            "POST",
            "/v1/chat/completions",
            R"({"model":"chat-model","messages":[{"role":"user","content":"a b c"}],"stream":true,"stream_options":{"include_usage":true}})"
        );
        return s.read_all();
    };
    // The upstream is asked for usage and its usage chunk is relayed just before [DONE].
    auto events = with_usage();
    ASSERT_GE(events.size(), 2U);
    EXPECT_EQ(events.back().data, "[DONE]");
    auto usage = json::parse(events[events.size() - 2].data).as_object();
    EXPECT_EQ(usage.at("object").as_string(), "chat.completion.chunk");
    EXPECT_TRUE(usage.at("choices").as_array().empty());
    EXPECT_EQ(usage.at("usage").at("prompt_tokens").as_int64(), 3);
    EXPECT_EQ(
        json::parse(up_.last_request()->body).at("stream_options"), json::parse(R"({"include_usage":true})")
    );
    // An upstream that sends no usage: a zero usage chunk is added.
    up_.enqueue(fake_reply::openai_stream({"x"}));
    events = with_usage();
    ASSERT_GE(events.size(), 2U);
    EXPECT_EQ(
        json::parse(events[events.size() - 2].data).at("usage"),
        json::parse(R"({"prompt_tokens":0,"completion_tokens":0,"total_tokens":0})")
    );
}

TEST_F(openai_api, an_upstream_that_cannot_stream_is_converted_to_chunks) {
    up_.enqueue(fake_reply::json(
        200,
        R"({"id":"c9","object":"chat.completion","created":9,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"whole answer"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}})"
    ));
    sse_client s = empty_chat_stream();
    auto events = s.read_all();
    ASSERT_EQ(events.size(), 2U) << s.body();
    auto chunk = json::parse(events[0].data).as_object();
    EXPECT_EQ(chunk.at("object").as_string(), "chat.completion.chunk");
    EXPECT_EQ(chunk.at("choices").at(0).at("delta").at("content").as_string(), "whole answer");
    EXPECT_EQ(chunk.at("choices").at(0).at("finish_reason").as_string(), "stop");
    EXPECT_EQ(events[1].data, "[DONE]");
}

// A stream asked of a model whose upstream does not speak OpenAI's chat API: the upstream gets exactly what
// its template renders (no "stream":true it would answer with NDJSON or refuse), and its whole answer
// reaches the client as the chunks of a stream, with its token counts.
TEST_F(openai_api, a_stream_from_an_upstream_that_is_not_openai_chat_is_its_whole_answer_as_chunks) {
    native_model(
        R"({"model":"llama3","message":{"role":"assistant","content":"Hello from ollama"},"done":true,"prompt_eval_count":5,"eval_count":3})"
    );
    sse_client s(
        server_->port(),
        "POST",
        "/v1/chat/completions",
        R"({"model":"native","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}})"
    );
    auto events = s.read_all();
    EXPECT_EQ(s.status(), 200);
    EXPECT_EQ(s.header("content-type"), "text/event-stream");
    ASSERT_EQ(events.size(), 3U) << s.body();
    auto chunk = json::parse(events[0].data).as_object();
    EXPECT_EQ(chunk.at("object").as_string(), "chat.completion.chunk");
    EXPECT_EQ(chunk.at("model").as_string(), "native");
    EXPECT_EQ(chunk.at("choices").at(0).at("delta").at("content").as_string(), "Hello from ollama");
    EXPECT_EQ(chunk.at("choices").at(0).at("finish_reason").as_string(), "stop");
    EXPECT_EQ(
        json::parse(events[1].data).at("usage"),
        json::parse(R"({"prompt_tokens":5,"completion_tokens":3,"total_tokens":8})")
    );
    EXPECT_EQ(events[2].data, "[DONE]");
    EXPECT_EQ(up_.last_request()->path(), "/api/chat");
    EXPECT_EQ(
        json::parse(up_.last_request()->body),
        json::parse(R"({"model":"gpt-upstream","messages":[{"role":"user","content":"hi"}],"stream":false})")
    );

    // A template without a stream member: none is added (Bedrock's Converse refuses unknown members).
    up_.route(
        "/model/m/converse",
        fake_reply::json(
            200,
            R"({"output":{"message":{"role":"assistant","content":[{"text":"conversed"}]}},"usage":{"inputTokens":4,"outputTokens":2,"totalTokens":6}})"
        )
    );
    register_model(
        c(),
        connector_at(
            up_.url("/model/m/converse"),
            R"({"messages": ${parameters.messages}})",
            json::object{{"model", "m"}, {"response_filter", "$.output.message.content[0].text"}}
        ),
        "converse"
    );
    sse_client b(
        server_->port(),
        "POST",
        "/v1/chat/completions",
        R"({"model":"converse","messages":[],"stream":true,"stream_options":{"include_usage":true}})"
    );
    auto converse = b.read_all();
    ASSERT_EQ(converse.size(), 3U) << b.body();
    EXPECT_EQ(
        json::parse(converse[0].data).at("choices").at(0).at("delta").at("content").as_string(), "conversed"
    );
    EXPECT_EQ(
        json::parse(converse[1].data).at("usage"),
        json::parse(R"({"prompt_tokens":4,"completion_tokens":2,"total_tokens":6})")
    );
    EXPECT_EQ(json::parse(up_.last_request()->body), json::parse(R"({"messages":[]})"));

    // An OpenAI chat upstream still streams.
    sse_client o = empty_chat_stream();
    auto streamed = o.read_all();
    EXPECT_GT(streamed.size(), 3U) << o.body();
    EXPECT_EQ(json::parse(up_.last_request()->body).at("stream"), json::value(true));
}

// A 2xx answer the relay cannot read is the non-stream path's 502, as an error event: a JSON answer that
// does not parse, and a body without a single event (an HTML page), are not completions.
TEST_F(openai_api, an_unreadable_answer_to_a_stream_is_an_error_event) {
    // The one event the client gets: a server_error whose message starts with `message`.
    const auto expect_one_error_event = [&](fake_reply reply, std::string_view message) {
        up_.enqueue(std::move(reply));
        sse_client s = empty_chat_stream();
        auto events = s.read_all();
        ASSERT_EQ(events.size(), 1U) << s.body();
        auto err = json::parse(events[0].data).as_object();
        ASSERT_TRUE(err.contains("error")) << events[0].data;
        EXPECT_EQ(err.at("error").at("type").as_string(), "server_error");
        EXPECT_TRUE(err.at("error").at("message").as_string().starts_with(message)) << events[0].data;
    };
    expect_one_error_event(fake_reply::json(200, R"({"id": "x", "choices": [)"), "Invalid JSON format: ");
    expect_one_error_event(
        fake_reply::text(200, "<html><body>maintenance</body></html>", "text/html"),
        "Remote service answer is not a server-sent event stream"
    );
    // An upstream redirect is not followed and reaches the client as the gateway's failure.
    up_.enqueue(fake_reply::json(302, R"({"error":{"message":"moved"}})").with_header("Location", "http://x/")
    );
    auto moved = chat(R"({"model":"chat-model","messages":[]})");
    EXPECT_EQ(moved.status, 502) << moved.body;
    EXPECT_EQ(moved.json().at("error").at("type").as_string(), "server_error") << moved.body;
}

TEST_F(openai_api, failures_mid_stream_are_openai_error_events) {
    up_.enqueue(fake_reply::openai_stream({"a", "b", "c", "d"}, 20ms)
                    .with_fault(fake_reply::fault::reset_mid_response));
    sse_client s = empty_chat_stream();
    auto events = s.read_all();
    EXPECT_TRUE(s.complete());
    ASSERT_FALSE(events.empty());
    auto err = json::parse(events.back().data).as_object();
    ASSERT_TRUE(err.contains("error")) << events.back().data;
    EXPECT_EQ(err.at("error").at("type").as_string(), "server_error");
    EXPECT_TRUE(err.at("error").at("message").as_string().starts_with("Error communicating with remote model")
    );
    // An error event from the upstream itself is relayed the same way.
    up_.enqueue(fake_reply::sse(
        {R"(data: {"error":{"message":"overloaded","type":"server_error","param":null,"code":"busy"}})"
         "\n\n"}
    ));
    sse_client s2 = empty_chat_stream();
    auto e2 = s2.read_all();
    ASSERT_EQ(e2.size(), 1U);
    EXPECT_EQ(
        json::parse(e2[0].data),
        json::parse(R"({"error":{"message":"overloaded","type":"server_error","param":null,"code":"busy"}})")
    );
}

// Kibana's OpenAI connector and the SDKs send sampling options, stop sequences and tools; the blueprint
// template names only model and messages, so the rest is added for an OpenAI chat upstream as the client
// sent it, plain and streamed.
TEST_F(openai_api, members_the_template_leaves_out_reach_an_openai_chat_upstream) {
    const std::string members =
        R"("temperature":0.25,"top_p":0.5,"max_tokens":50,"stop":["\n\nHuman:"],"seed":7,)"
        R"("tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{}}}}],)"
        R"("tool_choice":"auto","response_format":{"type":"json_object"},"frequency_penalty":0.0001)";
    auto r = chat(
        R"({"model":"chat-model","messages":[{"role":"user","content":"hi"}],"stream":false,"user":null,)" +
        members + "}"
    );
    ASSERT_EQ(r.status, 200) << r.body;
    const std::string sent = up_.last_request()->body;
    EXPECT_EQ(
        json::parse(sent),
        json::parse(R"({"model":"gpt-upstream","messages":[{"role":"user","content":"hi"}],)" + members + "}")
    );
    // As written: plain numbers, not Boost.JSON's `2.5E-1` or Java's `1.0E-4`.
    EXPECT_NE(sent.find(R"("temperature":0.25)"), std::string::npos) << sent;
    EXPECT_NE(sent.find(R"("frequency_penalty":0.0001)"), std::string::npos) << sent;

    sse_client s(
        server_->port(),
        "POST",
        "/v1/chat/completions",
        R"({"model":"chat-model","messages":[{"role":"user","content":"hi"}],"stream":true,)"
        R"("stream_options":{"include_usage":true},"temperature":0.25,"max_tokens":50,"seed":7})",
        sdk_headers
    );
    ASSERT_EQ(s.status(), 200U) << s.body();
    auto events = s.read_all();
    EXPECT_TRUE(s.complete());
    ASSERT_GE(events.size(), 2U);
    EXPECT_EQ(events.back().data, "[DONE]");
    EXPECT_EQ(
        json::parse(up_.last_request()->body),
        json::parse(R"({"model":"gpt-upstream","messages":[{"role":"user","content":"hi"}],"stream":true,)"
                    R"("temperature":0.25,"max_tokens":50,"seed":7,"stream_options":{"include_usage":true}})")
    );
}

// What the connector's template places or fixes stays the connector's; upstreams that do not speak
// OpenAI chat get exactly what the template renders.
TEST_F(openai_api, the_connector_template_keeps_control_of_the_members_it_places) {
    constexpr std::string_view blueprint =
        R"({ "model": "${parameters.model}", "messages": ${parameters.messages} })";
    const std::string sampling = R"(,"messages":[],"temperature":0.3,"top_p":0.9,"seed":1})";
    const auto sent = [&](std::string_view model) {
        auto r = chat(R"({"model":")" + std::string(model) + "\"" + sampling);
        EXPECT_EQ(r.status, 200) << r.body;
        return json::parse(up_.last_request()->body);
    };

    // Placed inside another object: no top-level duplicate.
    register_model(
        c(),
        connector_at(
            up_.url("/v1/chat/completions"),
            R"({ "model": "${parameters.model}", "messages": ${parameters.messages}, "options": { "temperature": ${parameters.temperature:-0.7} } })"
        ),
        "nested"
    );
    EXPECT_EQ(
        sent("nested"),
        json::parse(
            R"({"model":"gpt-upstream","messages":[],"options":{"temperature":0.3},"top_p":0.9,"seed":1})"
        )
    );

    // Hard-coded at the top level: not overridden.
    register_model(
        c(),
        connector_at(
            up_.url("/v1/chat/completions"),
            R"({ "model": "${parameters.model}", "messages": ${parameters.messages}, "temperature": 0 })"
        ),
        "fixed"
    );
    EXPECT_EQ(
        sent("fixed"),
        json::parse(R"({"model":"gpt-upstream","messages":[],"temperature":0,"top_p":0.9,"seed":1})")
    );

    // Ollama's native API (no `_llm_interface`): nothing is added.
    native_model(
        R"({"model":"llama3","created_at":"2024-01-01T00:00:00Z","message":{"role":"assistant","content":"native"},"done":true})"
    );
    auto native = chat(R"({"model":"native")" + sampling);
    ASSERT_EQ(native.status, 200) << native.body;
    EXPECT_EQ(native.json().at("choices").at(0).at("message").at("content").as_string(), "native");
    EXPECT_EQ(up_.last_request()->path(), "/api/chat");
    EXPECT_EQ(
        json::parse(up_.last_request()->body),
        json::parse(R"({"model":"gpt-upstream","messages":[],"stream":false})")
    );

    // Azure OpenAI: a deployment's chat/completions path with its api-version query.
    up_.route("/openai/deployments/gpt-4o/chat/completions", fake_reply::json(200, chat_answer));
    register_model(
        c(),
        connector_at(
            up_.url("/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"), blueprint
        ),
        "azure"
    );
    EXPECT_EQ(
        sent("azure"),
        json::parse(R"({"model":"gpt-upstream","messages":[],"temperature":0.3,"top_p":0.9,"seed":1})")
    );

    // Any other URL whose connector declares the OpenAI chat interface.
    up_.route("/gateway/generate", fake_reply::json(200, chat_answer));
    register_model(
        c(),
        connector_at(
            up_.url("/gateway/generate"),
            blueprint,
            json::object{{"model", "gpt-upstream"}, {"_llm_interface", "openai/v1/chat/completions"}}
        ),
        "declared"
    );
    EXPECT_EQ(
        sent("declared"),
        json::parse(R"({"model":"gpt-upstream","messages":[],"temperature":0.3,"top_p":0.9,"seed":1})")
    );
}

// The upstream's `usage` is reported even when a built-in post-process function keeps only the vectors,
// summed over the upstream calls of one request; 0 only when the upstream reports none.
TEST_F(openai_api, embeddings_report_the_upstream_usage) {
    register_model(c(), embedding_connector(up_), "embed-model");
    // The fake counts one token per word: 2 + 1.
    auto r = c().post("/v1/embeddings", R"({"model":"embed-model","input":["first text","second"]})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json().at("usage"), json::parse(R"({"prompt_tokens":3,"total_tokens":3})"));

    // One input per upstream call: three calls, 2 + 1 + 3 tokens.
    std::string split = embedding_connector(up_);
    const std::string model_param = R"("model": "text-embedding-3-small")";
    split.replace(
        split.find(model_param),
        model_param.size(),
        model_param + R"(, "input_docs_processed_step_size": "1")"
    );
    register_model(c(), split, "embed-split");
    const auto before = up_.request_count();
    auto three = c().post("/v1/embeddings", R"({"model":"embed-split","input":["a b","c","d e f"]})");
    ASSERT_EQ(three.status, 200) << three.body;
    EXPECT_EQ(up_.request_count(), before + 3);
    EXPECT_EQ(three.json().at("data").as_array().size(), 3U);
    EXPECT_EQ(three.json().at("usage"), json::parse(R"({"prompt_tokens":6,"total_tokens":6})"));

    // An upstream that reports no usage.
    up_.enqueue(fake_reply::json(
        200,
        R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,1.5]}],"model":"e"})"
    ));
    auto none = c().post("/v1/embeddings", R"({"model":"embed-model","input":"x y"})");
    ASSERT_EQ(none.status, 200) << none.body;
    EXPECT_EQ(none.json().at("usage"), json::parse(R"({"prompt_tokens":0,"total_tokens":0})"));
}

// A Cohere blueprint connector: the built-in functions shape the call and keep only the vectors; the
// tokens Cohere bills are the usage.
TEST_F(openai_api, embeddings_report_cohere_billed_units) {
    const std::string cohere = R"({"name": "Cohere embed", "version": "1", "protocol": "http",
  "parameters": {"model": "embed-english-v3.0", "input_type": "search_document", "truncate": "END"},
  "credential": {"cohere_key": "k"},
  "actions": [{"action_type": "predict", "method": "POST", "url": ")" +
                               up_.url("/v1/embed") + R"(",
    "headers": {"Authorization": "Bearer ${credential.cohere_key}"},
    "request_body": "{ \"texts\": ${parameters.texts}, \"truncate\": \"${parameters.truncate}\", \"model\": \"${parameters.model}\", \"input_type\": \"${parameters.input_type}\" }",
    "pre_process_function": "connector.pre_process.cohere.embedding",
    "post_process_function": "connector.post_process.cohere.embedding"}]})";
    register_model(c(), cohere, "embed-cohere");
    up_.enqueue(fake_reply::json(
        200,
        R"({"id":"e1","texts":["a b","c"],"embeddings":[[0.5,1.5],[2.5,3.5]],"meta":{"api_version":{"version":"1"},"billed_units":{"input_tokens":4}},"response_type":"embeddings_floats"})"
    ));
    auto r = c().post("/v1/embeddings", R"({"model":"embed-cohere","input":["a b","c"]})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(up_.last_request()->body).at("texts"), json::parse(R"(["a b","c"])"));
    EXPECT_EQ(r.json().at("data").as_array().size(), 2U);
    EXPECT_EQ(r.json().at("usage"), json::parse(R"({"prompt_tokens":4,"total_tokens":4})"));
}

// `dimensions` and `user` reach an OpenAI embeddings upstream through the blueprint templates that leave
// them out; a template that places one keeps control of it; vectors are placed by `data[].index` even
// when a built-in post-process function drops it; an unreadable 2xx answer is the upstream's fault (502).
TEST_F(openai_api, embeddings_members_order_and_broken_answers) {
    register_model(c(), embedding_connector(up_), "embed-legacy");
    register_model(c(), embedding_connector(up_, false), "embed-std");
    for (const std::string model : {"embed-legacy", "embed-std"}) {
        auto r = c().post(
            "/v1/embeddings",
            R"({"model":")" + model +
                R"(","input":["how big"],"dimensions":2,"user":"u9","encoding_format":"base64"})"
        );
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(
            json::parse(up_.last_request()->body),
            json::parse(R"({"input":["how big"],"model":"text-embedding-3-small","dimensions":2,"user":"u9"})"
            )
        ) << model;
    }
    // Out of order, through the built-in post-process function and without it.
    for (const std::string model : {"embed-legacy", "embed-std"}) {
        up_.enqueue(fake_reply::json(
            200,
            R"({"object":"list","data":[{"object":"embedding","index":1,"embedding":[2,2]},{"object":"embedding","index":0,"embedding":[1,1]}],"model":"e"})"
        ));
        auto r = c().post("/v1/embeddings", R"({"model":")" + model + R"(","input":["a","b"]})");
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(r.json().at("data").at(0).at("embedding"), json::parse("[1.0,1.0]")) << model << r.body;
        EXPECT_EQ(r.json().at("data").at(1).at("embedding"), json::parse("[2.0,2.0]")) << model << r.body;
    }
    // Broken 2xx answers: 502 server_error with ml-commons' text, for chat and embeddings.
    register_model(c(), chat_connector(up_), "chat-broken");
    up_.enqueue(fake_reply::json(200, "not json"));
    auto chat = c().post(
        "/v1/chat/completions", R"({"model":"chat-broken","messages":[{"role":"user","content":"x"}]})"
    );
    EXPECT_EQ(chat.status, 502) << chat.body;
    EXPECT_EQ(chat.json().at("error").at("type").as_string(), "server_error");
    EXPECT_TRUE(chat.json().at("error").at("message").as_string().starts_with("Invalid JSON format"))
        << chat.body;
    up_.enqueue(fake_reply::json(200, R"({"unexpected":true})"));
    auto emb = c().post("/v1/embeddings", R"({"model":"embed-legacy","input":"x"})");
    EXPECT_EQ(emb.status, 502) << emb.body;
    EXPECT_EQ(emb.json().at("error").at("type").as_string(), "server_error");
}

TEST_F(openai_api, embeddings_float_and_base64) {
    const auto id = register_model(c(), embedding_connector(up_), "embed-model");
    auto f = c().post(
        "/v1/embeddings",
        R"({"model":"embed-model","input":["first text","second"],"encoding_format":"float"})"
    );
    ASSERT_EQ(f.status, 200) << f.body;
    auto fj = f.json().as_object();
    EXPECT_EQ(fj.at("object").as_string(), "list");
    EXPECT_EQ(fj.at("model").as_string(), "embed-model");
    ASSERT_EQ(fj.at("data").as_array().size(), 2U);
    EXPECT_TRUE(fj.at("usage").as_object().contains("prompt_tokens"));
    EXPECT_TRUE(fj.at("usage").as_object().contains("total_tokens"));
    // The upstream got the blueprint body: the texts as `input`, the connector's model.
    EXPECT_EQ(
        json::parse(up_.last_request()->body),
        json::parse(R"({"input":["first text","second"],"model":"text-embedding-3-small"})")
    );
    // The same vectors as the upstream computes them.
    http_client direct(up_.port());
    auto raw = direct.post("/v1/embeddings", R"({"input":["first text","second"]})").json();
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& got = fj.at("data").at(i).as_object();
        EXPECT_EQ(got.at("object").as_string(), "embedding");
        EXPECT_EQ(got.at("index").as_int64(), static_cast<std::int64_t>(i));
        const auto& want = raw.at("data").at(i).at("embedding").as_array();
        const auto& vec = got.at("embedding").as_array();
        ASSERT_EQ(vec.size(), want.size());
        for (std::size_t k = 0; k < vec.size(); ++k) {
            EXPECT_DOUBLE_EQ(vec[k].to_number<double>(), want[k].to_number<double>());
        }
    }
    // base64 (what the openai SDK asks for by default): little-endian float32 of the same vectors.
    auto b = c().post(
        "/v1/embeddings",
        R"({"model":")" + id + R"(","input":["first text","second"],"encoding_format":"base64"})"
    );
    ASSERT_EQ(b.status, 200) << b.body;
    for (std::size_t i = 0; i < 2; ++i) {
        const auto floats = decode_floats(b.json().at("data").at(i).at("embedding").as_string());
        const auto& want = raw.at("data").at(i).at("embedding").as_array();
        ASSERT_EQ(floats.size(), want.size());
        for (std::size_t k = 0; k < floats.size(); ++k) {
            EXPECT_EQ(floats[k], static_cast<float>(want[k].to_number<double>()));
        }
    }
    // The "standard" blueprint (no pre/post-process functions) and a single string input.
    register_model(c(), embedding_connector(up_, false), "embed-standard");
    auto s = c().post("/v1/embeddings", R"({"model":"embed-standard","input":"first text"})");
    ASSERT_EQ(s.status, 200) << s.body;
    EXPECT_EQ(s.json().at("data").as_array().size(), 1U);
    EXPECT_EQ(s.json().at("usage").at("prompt_tokens").as_int64(), 2);  // relayed from the upstream
    EXPECT_EQ(s.json().at("data").at(0).at("embedding"), raw.at("data").at(0).at("embedding"));
}

// An OpenAI client gets floats as OpenAI-compatible servers print them, whole and streamed, while
// `_predict` on the same model keeps OpenSearch's Java-style doubles.
TEST_F(openai_api, floats_read_as_the_upstream_printed_them) {
    const std::string logprobs =
        R"("logprobs":{"content":[{"token":"Hi","logprob":-0.31725305,"top_logprobs":[{"token":"x","logprob":-0.0001}]}]})";
    const std::string answer =
        R"({"id":"c1","object":"chat.completion","created":1700000000,"model":"m","choices":[{"index":0,)"
        R"("message":{"role":"assistant","content":"Hi"},)" +
        logprobs +
        R"(,"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})";
    up_.enqueue(fake_reply::json(200, answer));
    auto r = chat(R"({"model":"chat-model","messages":[{"role":"user","content":"hi"}]})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find(logprobs), std::string::npos) << r.body;

    up_.enqueue(fake_reply::sse({
        R"(data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},)" +
            logprobs + "}]}\n\n",
        "data: [DONE]\n\n",
    }));
    sse_client s(
        server_->port(),
        "POST",
        "/v1/chat/completions",
        R"({"model":"chat-model","messages":[{"role":"user","content":"hi"}],"stream":true})",
        sdk_headers
    );
    ASSERT_EQ(s.status(), 200U);
    auto events = s.read_all();
    ASSERT_GE(events.size(), 2U) << s.body();
    EXPECT_NE(events[0].data.find(logprobs), std::string::npos) << events[0].data;

    up_.enqueue(fake_reply::json(200, answer));
    auto p = c().post(
        "/_plugins/_ml/models/" + chat_id_ + "/_predict",
        R"({"parameters":{"messages":[{"role":"user","content":"hi"}]}})"
    );
    ASSERT_EQ(p.status, 200) << p.body;
    EXPECT_NE(p.body.find(R"("logprob":-1.0E-4})"), std::string::npos) << p.body;

    register_model(c(), embedding_connector(up_, false), "embed-standard");
    up_.enqueue(fake_reply::json(
        200,
        R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,-0.00042,1.0,1e-7,123.25]}],)"
        R"("model":"e","usage":{"prompt_tokens":2,"total_tokens":2}})"
    ));
    auto e = c().post("/v1/embeddings", R"({"model":"embed-standard","input":"hi"})");
    ASSERT_EQ(e.status, 200) << e.body;
    EXPECT_NE(e.body.find(R"("embedding":[0.5,-0.00042,1.0,1e-7,123.25])"), std::string::npos) << e.body;
}

TEST_F(openai_api, model_list_and_retrieve) {
    const auto undeployed = register_model(c(), chat_connector(up_), "not-deployed", false);
    auto r = c().get("/v1/models");
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = r.json().as_object();
    EXPECT_EQ(j.at("object").as_string(), "list");
    std::set<std::string> ids;
    for (const auto& m : j.at("data").as_array()) {
        EXPECT_EQ(m.at("object").as_string(), "model");
        EXPECT_EQ(m.at("owned_by").as_string(), "modelrelay");
        EXPECT_TRUE(m.at("created").is_int64());
        ids.insert(std::string(m.at("id").as_string()));
    }
    EXPECT_EQ(ids, (std::set<std::string>{chat_id_, "chat-model"}));
    auto one = c().get("/v1/models/chat-model");
    ASSERT_EQ(one.status, 200) << one.body;
    EXPECT_EQ(one.json().at("id").as_string(), "chat-model");
    EXPECT_EQ(c().get("/v1/models/" + undeployed).status, 200);
    expect_error(
        c().get("/v1/models/nope"),
        404,
        "invalid_request_error",
        "The model `nope` does not exist",
        "model_not_found"
    );
    // The undeployed model is deployed on first use and then listed.
    ASSERT_EQ(chat(R"({"model":"not-deployed","messages":[]})").status, 200);
    EXPECT_NE(c().get("/v1/models").body.find(undeployed), std::string::npos);

    // Hugging Face / Ollama-style names with slashes, as written or percent-encoded.
    for (const std::string name : {"meta-llama/Llama-3.1-8B", "hf.co/org/model:Q4_K_M"}) {
        register_model(c(), chat_connector(up_), name);
        std::string encoded = name;
        for (std::size_t at = encoded.find('/'); at != std::string::npos; at = encoded.find('/', at)) {
            encoded.replace(at, 1, "%2F");
        }
        for (const auto& path : {"/v1/models/" + name, "/v1/models/" + encoded}) {
            auto got = c().get(path);
            ASSERT_EQ(got.status, 200) << path << " " << got.body;
            EXPECT_EQ(got.json().at("id").as_string(), name);
        }
    }
    expect_error(
        c().get("/v1/models/meta-llama/nope"),
        404,
        "invalid_request_error",
        "The model `meta-llama/nope` does not exist",
        "model_not_found"
    );
}

// An upstream's back-off advice on a refusal reaches the client (the SDKs wait as told), plain or streamed.
TEST_F(openai_api, upstream_back_off_advice_reaches_the_client) {
    const std::string body = R"({"model":"chat-model","messages":[{"role":"user","content":"hi"}]})";
    for (const bool stream : {false, true}) {
        auto limited = fake_reply::too_many_requests("7");
        limited.headers.emplace_back("retry-after-ms", "7000");
        up_.enqueue(limited);
        std::string b = body;
        if (stream) {
            b.insert(b.size() - 1, R"(,"stream":true)");
        }
        auto r = chat(b);
        EXPECT_EQ(r.status, 429) << r.body;
        EXPECT_EQ(r.header("retry-after"), "7") << stream;
        EXPECT_EQ(r.header("retry-after-ms"), "7000") << stream;
        EXPECT_EQ(r.json().at("error").at("message").as_string(), "Rate limit reached for requests");
    }
    // Nothing to pass on: no header.
    up_.enqueue(fake_reply::too_many_requests());
    auto bare = chat(body);
    EXPECT_EQ(bare.status, 429);
    EXPECT_EQ(bare.header("retry-after"), "");
}

// OpenAI-compatible servers ignore query parameters they do not know (Azure-style clients send
// `api-version`; the SDKs' defaultQuery can add anything).
TEST_F(openai_api, unknown_query_parameters_are_ignored) {
    auto r = c().post(
        "/v1/chat/completions?api-version=2024-10-21",
        R"({"model":"chat-model","messages":[{"role":"user","content":"hi"}]})"
    );
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(c().get("/v1/models?key=x&limit=5").status, 200);
    EXPECT_EQ(c().get("/v1/models/chat-model?api-version=1").status, 200);
    // OpenSearch routes keep OpenSearch's check.
    EXPECT_EQ(c().get("/_plugins/_ml/connectors/x?api-version=1").status, 400);
}

// Seed 004: a base URL without `/v1`, or with it twice, is "a frequent cause of 404s". The SDKs map the
// status to NotFoundError; OpenSearch paths keep OpenSearch's own routing errors.
// Any Content-Type: `curl -d` sends a form type, and OpenAI-compatible servers read the body as JSON.
TEST_F(openai_api, bodies_are_json_whatever_their_content_type) {
    for (const char* type : {"application/x-www-form-urlencoded", "text/plain", ""}) {
        auto r = c().request(
            "POST",
            "/v1/chat/completions",
            R"({"model":"chat-model","messages":[]})",
            {{"Content-Type", type}}
        );
        EXPECT_EQ(r.status, 200) << type << ": " << r.body;
    }
    expect_error(
        c().request(
            "POST",
            "/v1/chat/completions",
            "model=chat-model",
            {{"Content-Type", "application/x-www-form-urlencoded"}}
        ),
        400,
        "invalid_request_error",
        "We could not parse the JSON body of your request."
    );
}

TEST_F(openai_api, wrong_base_urls_get_openai_404s) {
    const std::string body = R"({"model":"chat-model","messages":[{"role":"user","content":"hi"}]})";
    const auto calls_before = up_.request_count();
    auto doubled = c().post("/v1/v1/chat/completions", body);
    EXPECT_EQ(doubled.status, 404);
    EXPECT_EQ(
        doubled.body,
        R"x({"error":{"message":"Invalid URL (POST /v1/v1/chat/completions)","type":"invalid_request_error","param":null,"code":null}})x"
    );
    for (const char* path : {"/chat/completions", "/completions", "/embeddings"}) {
        auto r = c().post(path, body);
        EXPECT_EQ(r.status, 404) << path;
        EXPECT_EQ(
            r.json().at("error").at("message").as_string(), std::string("Invalid URL (POST ") + path + ")"
        );
    }
    EXPECT_EQ(c().get("/models").status, 404);
    EXPECT_EQ(c().get("/v1/unknown").status, 404);
    // Nothing reached the upstream, and OpenSearch's namespace answers as before.
    EXPECT_EQ(up_.request_count(), calls_before);
    auto other = c().post("/chat", body);
    EXPECT_EQ(other.status, 400);
    EXPECT_EQ(other.body, R"({"error":"no handler found for uri [/chat] and method [POST]","status":400})");
}

TEST_F(openai_api, every_error_has_the_openai_shape) {
    expect_error(chat("{not json"), 400, "invalid_request_error", "We could not parse the JSON body");
    expect_error(chat("[1]"), 400, "invalid_request_error", "The request body must be a JSON object.");
    expect_error(
        chat(R"({"messages":[]})"),
        400,
        "invalid_request_error",
        "you must provide a model parameter",
        std::nullopt,
        "model"
    );
    expect_error(
        chat(R"({"model":"chat-model"})"),
        400,
        "invalid_request_error",
        "Missing required parameter: 'messages'.",
        std::nullopt,
        "messages"
    );
    expect_error(
        chat(R"({"model":"chat-model","messages":[],"stream":"yes"})"),
        400,
        "invalid_request_error",
        "'stream' must be a boolean."
    );
    expect_error(
        chat(R"({"model":"ghost","messages":[]})"),
        404,
        "invalid_request_error",
        "The model `ghost` does not exist",
        "model_not_found"
    );
    expect_error(
        c().post("/v1/embeddings", R"({"model":"chat-model","input":[1,2]})"),
        400,
        "invalid_request_error",
        "'input' must be",
        std::nullopt,
        "input"
    );
    expect_error(
        c().post("/v1/embeddings", R"({"model":"chat-model","input":"x","encoding_format":"int8"})"),
        400,
        "invalid_request_error",
        "'encoding_format' must be"
    );

    // Upstream statuses: 4xx pass through with the upstream's own OpenAI error; 5xx is a bad gateway.
    up_.enqueue(fake_reply::json(
        401,
        R"({"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}})"
    ));
    expect_error(
        chat(R"({"model":"chat-model","messages":[]})"),
        401,
        "invalid_request_error",
        "Incorrect API key provided",
        "invalid_api_key"
    );
    up_.enqueue(fake_reply::json(401, R"({"detail":"no"})"));
    expect_error(
        chat(R"({"model":"chat-model","messages":[]})"),
        401,
        "authentication_error",
        R"(Error from remote service: {"detail":"no"})"
    );
    up_.enqueue(fake_reply::too_many_requests());  // OpenAI's own 429 body: type "requests"
    expect_error(
        chat(R"({"model":"chat-model","messages":[]})"),
        429,
        "requests",
        "Rate limit reached",
        "rate_limit_exceeded"
    );
    up_.enqueue(fake_reply::server_error(503));
    expect_error(chat(R"({"model":"chat-model","messages":[],"stream":true})"), 502, "server_error", "");
    up_.enqueue(fake_reply::json(
        400,
        R"({"error":{"message":"bad messages","type":"invalid_request_error","param":"messages","code":null}})"
    ));
    expect_error(
        chat(R"({"model":"chat-model","messages":[],"stream":true})"),
        400,
        "invalid_request_error",
        "bad messages",
        std::nullopt,
        "messages"
    );

    // A connector pointing at a closed port: the upstream cannot be reached.
    std::string dead;
    {
        fake_upstream gone;
        dead = chat_connector(gone);
    }
    register_model(c(), dead, "dead");
    expect_error(
        chat(R"({"model":"dead","messages":[]})"),
        502,
        "server_error",
        "Error communicating with remote model"
    );

    // Model switches: disabled → 403, rate limited → 429, ambiguous name → 400.
    register_model(c(), chat_connector(up_), "off", true, R"("is_enabled": false)");
    expect_error(chat(R"({"model":"off","messages":[]})"), 403, "permission_error", "Model is disabled.");
    register_model(
        c(), chat_connector(up_), "slow", true, R"("rate_limiter": {"limit": "1", "unit": "MINUTES"})"
    );
    EXPECT_EQ(chat(R"({"model":"slow","messages":[]})").status, 200);
    const auto throttled = chat(R"({"model":"slow","messages":[]})");
    expect_error(
        throttled, 429, "rate_limit_error", "Request is throttled at model level.", "rate_limit_exceeded"
    );
    // The SDKs wait as told: the next token of a 1/minute bucket is about a minute away.
    const auto wait_ms = std::stoll(throttled.header("retry-after-ms"));
    EXPECT_GT(wait_ms, 50'000) << wait_ms;
    EXPECT_LE(wait_ms, 60'000) << wait_ms;
    EXPECT_EQ(throttled.header("retry-after"), std::to_string((wait_ms + 999) / 1000));
    register_model(c(), chat_connector(up_), "chat-model");
    expect_error(
        chat(R"({"model":"chat-model","messages":[]})"),
        400,
        "invalid_request_error",
        "The model name `chat-model` matches several models",
        std::nullopt,
        "model"
    );
    EXPECT_EQ(chat(R"({"model":")" + chat_id_ + R"(","messages":[]})").status, 200);
}

TEST_F(openai_api, kibana_openai_connector_test_and_stream_calls) {
    // Connector "Test" (subAction test = run): the default body, `stream` forced to false, defaultModel set.
    auto t = chat(
        R"({"model":"chat-model","messages":[{"role":"user","content":"Hello world"}],"stream":false})",
        kibana_headers
    );
    ASSERT_EQ(t.status, 200) << t.body;
    // RunActionResponseSchema: choices[].message.role and the three usage numbers.
    auto j = t.json().as_object();
    for (const auto& choice : j.at("choices").as_array()) {
        EXPECT_TRUE(choice.at("message").at("role").is_string());
    }
    for (const char* k : {"prompt_tokens", "completion_tokens", "total_tokens"}) {
        EXPECT_TRUE(j.at("usage").at(k).is_number()) << k;
    }
    // The custom connector header is not forwarded upstream (the connector's own headers are used).
    EXPECT_EQ(up_.last_request()->header("x-tenant"), "");

    // The stream subaction (inference plugin / AI assistants): stream forced to true, no stream_options,
    // tools and tool_choice with native function calling, temperature.
    const std::string streamed =
        R"({"stream":true,"temperature":0,"model":"chat-model","messages":[{"role":"system","content":"You are a helpful assistant"},{"role":"user","content":"Hello"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_1","content":"{\"ok\":true}"}],"tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{}}}}],"tool_choice":"auto","n":1,"stop":["\n\nHuman:"]})";
    sse_client s(server_->port(), "POST", "/v1/chat/completions", streamed, kibana_headers);
    ASSERT_EQ(s.status(), 200U);
    auto events = s.read_all();
    ASSERT_GE(events.size(), 2U);
    EXPECT_EQ(events.back().data, "[DONE]");
    for (std::size_t i = 0; i + 1 < events.size(); ++i) {
        // Kibana keeps only objects with object === "chat.completion.chunk".
        EXPECT_EQ(json::parse(events[i].data).at("object").as_string(), "chat.completion.chunk");
    }
    auto sent = json::parse(up_.last_request()->body).as_object();
    EXPECT_EQ(sent.at("stream"), json::value(true));
    EXPECT_EQ(sent.at("messages").as_array().size(), 4U);
    // The blueprint template names only model and messages; the rest reaches the model as Kibana sent it.
    const auto asked = json::parse(streamed).as_object();
    for (const char* k : {"temperature", "tools", "tool_choice", "n", "stop"}) {
        EXPECT_EQ(sent.at(k), asked.at(k)) << k;
    }
    EXPECT_EQ(sent.at("model").as_string(), "gpt-upstream");
    // invokeAsyncIterator: the openai SDK with its own headers, against the same URL.
    auto sdk = chat(
        R"({"model":"chat-model","messages":[{"role":"user","content":"Hello"}],"stream":false})", sdk_headers
    );
    EXPECT_EQ(sdk.status, 200) << sdk.body;
}

}  // namespace
}  // namespace modelrelay::test
