// File: painless_test.cpp
// Connectors whose post_process_function is a Painless script, against the real binary and a fake upstream:
// the llm_judgment ollama blueprint as published, ModelTensor JSON from a script, `${parameters.x}` in a
// script, the /v1 door on such a model, and scripts refused when a connector is written.
#include <atomic>
#include <fstream>
#include <future>
#include <sstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/support/fake_upstream.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/model_setup.hpp"
#include "tests/support/server_process.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;

// docs/remote_inference_blueprints/llm_judgment/ollama_chat_blueprint.md step 3, as published; only the
// endpoint parameter points at the fake upstream.
std::string ollama_judgment_blueprint(const fake_upstream& up) {
    const std::string endpoint = up.base_url().substr(std::string_view("http://").size());
    return R"({
  "name": "Local OpenAI-compatible Chat",
  "description": "Local OpenAI-compatible LLM connector for SRW LLM judgments",
  "version": "1",
  "protocol": "http",
  "parameters": {
    "endpoint": ")" +
           endpoint + R"(",
    "model": "qwen3:4b"
  },
  "credential": {
    "openAI_key": "sk-painless-sentinel-31"
  },
  "client_config": {
    "max_retry_times": 3,
    "retry_backoff_policy": "exponential_full_jitter"
  },
  "actions": [
    {
      "action_type": "predict",
      "method": "POST",
      "url": "http://${parameters.endpoint}/v1/chat/completions",
      "headers": {
        "Content-Type": "application/json",
        "Authorization": "Bearer ${credential.openAI_key}"
      },
      "request_body": "{ \"model\": \"${parameters.model}\", \"messages\": ${parameters.messages} }",
      "post_process_function": "def text = params.choices[0].message.content; return '{\"name\":\"response\",\"dataAsMap\":{\"response\":\"' + escape(text) + '\"}}'"
    }
  ]
})";
}

// Step 6 of the same blueprint.
constexpr std::string_view judgment_predict = R"({
  "parameters": {
    "messages": [
      {
        "role": "system",
        "content": "You are a relevance rater. Reply with strict JSON only."
      },
      {
        "role": "user",
        "content": "Rate the relevance of {\"id\":\"001\",\"text\":\"banana smoothie\"} to query banana on a 0.0-1.0 scale."
      }
    ]
  }
})";

std::string completion_with(std::string_view content_json) {
    return R"({"id":"chatcmpl-9","object":"chat.completion","created":1757369906,"model":"qwen3:4b","choices":[{"index":0,"message":{"role":"assistant","content":)" +
           std::string(content_json) +
           R"(},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}})";
}

std::string fixture(std::string_view name) {
    std::ifstream in(
        std::filesystem::path(MODELRELAY_SOURCE_DIR) / "tests/fixtures/painless" /
            (std::string(name) + ".painless"),
        std::ios::binary
    );
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A chat connector for `up` whose action has `post_process_function` = `script` (JSON-encoded here).
std::string connector_with_script(
    const fake_upstream& up, std::string_view script, std::string_view path = "/v1/chat/completions"
) {
    json::object c{
        {"name", "scripted"},
        {"version", "1"},
        {"protocol", "http"},
        {"parameters", {{"model", "m"}, {"suffix", "!"}}},
        {"credential", {{"key", "sk-unused-credential-77"}}},
        {"actions",
         json::array{json::object{
             {"action_type", "predict"},
             {"method", "POST"},
             {"url", up.url(path)},
             {"request_body", R"({ "model": "${parameters.model}", "messages": ${parameters.messages} })"},
             {"post_process_function", script}}}}};
    return json::serialize(c);
}

constexpr std::string_view plain_predict = R"({"parameters":{"messages":[{"role":"user","content":"hi"}]}})";

class painless_connectors : public ::testing::Test {
protected:
    void SetUp() override {
        server_ = std::make_unique<server_process>(tmp_.path() / "data");
        server_->start();
        client_ = std::make_unique<http_client>(server_->port());
        open_cluster_settings(c(), false);
    }
    http_client& c() { return *client_; }
    http_result predict_on(const std::string& model_id, std::string_view body) {
        return c().post("/_plugins/_ml/models/" + model_id + "/_predict", body);
    }
    std::size_t stored_connectors() {
        auto r = c().post("/_plugins/_ml/connectors/_search", R"({"query":{"match_all":{}}})");
        EXPECT_EQ(r.status, 200) << r.body;
        return r.json().at("hits").at("hits").as_array().size();
    }

    temp_dir tmp_;
    fake_upstream up_;
    std::unique_ptr<server_process> server_;
    std::unique_ptr<http_client> client_;
};

TEST_F(painless_connectors, ollama_llm_judgment_blueprint_end_to_end) {
    const auto model_id =
        register_model(c(), ollama_judgment_blueprint(up_), "Local OpenAI-compatible model");
    up_.enqueue(
        fake_reply::json(200, completion_with(R"("{\"ratings\":[{\"id\":\"001\",\"rating_score\":0.9}]}")"))
    );
    auto p = predict_on(model_id, judgment_predict);
    ASSERT_EQ(p.status, 200) << p.body;
    // The blueprint's documented sample response.
    EXPECT_EQ(
        p.body,
        R"({"inference_results":[{"output":[{"name":"response","dataAsMap":{"response":"{\"ratings\":[{\"id\":\"001\",\"rating_score\":0.9}]}"}}],"status_code":200}]})"
    );
    auto seen = up_.last_request();
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->path(), "/v1/chat/completions");
    EXPECT_EQ(seen->header("authorization"), "Bearer sk-painless-sentinel-31");

    // Newlines, quotes and backslashes survive escape() and come back as the same text.
    up_.enqueue(fake_reply::json(200, completion_with(R"("a \"b\"\nc\\d")")));
    p = predict_on(model_id, judgment_predict);
    ASSERT_EQ(p.status, 200) << p.body;
    EXPECT_EQ(
        p.body,
        R"({"inference_results":[{"output":[{"name":"response","dataAsMap":{"response":"a \"b\"\nc\\d"}}],"status_code":200}]})"
    );

    // The /v1 door reads the script's `response` as the assistant's text.
    up_.enqueue(fake_reply::json(200, completion_with(R"("judged")")));
    auto v1 = c().post(
        "/v1/chat/completions",
        R"({"model":")" + model_id + R"(","messages":[{"role":"user","content":"x"}]})"
    );
    ASSERT_EQ(v1.status, 200) << v1.body;
    EXPECT_EQ(v1.json().at("choices").at(0).at("message").at("content").as_string(), "judged");

    // A run-time failure (no choices) is a 400 with the script's position, and no credential in it.
    up_.enqueue(fake_reply::json(200, R"({"choices":[]})"));
    p = predict_on(model_id, judgment_predict);
    EXPECT_EQ(p.status, 400) << p.body;
    EXPECT_EQ(
        p.json().at("error").at("reason").as_string(),
        "Painless script: index 0 out of bounds for length 0 at 1:26"
    );
    EXPECT_EQ(p.body.find("sk-painless"), std::string::npos);
    EXPECT_EQ(server_->log().find("sk-painless"), std::string::npos);
}

TEST_F(painless_connectors, a_script_returning_model_tensors_over_an_array_answer) {
    const auto model_id = register_model(
        c(), connector_with_script(up_, fixture("sagemaker_cross_encoder_post"), "/rerank"), "rerank"
    );
    up_.enqueue(
        "/rerank",
        fake_reply::json(
            200,
            R"([{"label":"LABEL_0","score":0.054037678986787796},{"label":"LABEL_0","score":0.5877784490585327}])"
        )
    );
    auto p = predict_on(model_id, plain_predict);
    ASSERT_EQ(p.status, 200) << p.body;
    // The cross-encoder tutorial's documented output.
    EXPECT_EQ(
        p.body,
        R"({"inference_results":[{"output":[{"name":"similarity","data_type":"FLOAT32","shape":[1],"data":[0.054037678986787796]},{"name":"similarity","data_type":"FLOAT32","shape":[1],"data":[0.5877784490585327]}],"status_code":200}]})"
    );
}

TEST_F(painless_connectors, plain_text_results_parameters_and_null_results) {
    // `${parameters.suffix}` is substituted (JSON-quoted) before the script is compiled.
    const auto model_id = register_model(
        c(),
        connector_with_script(up_, "return params.choices[0].message.content + ${parameters.suffix};"),
        "text"
    );
    up_.enqueue(fake_reply::json(200, completion_with(R"("hello")")));
    auto p = predict_on(model_id, plain_predict);
    ASSERT_EQ(p.status, 200) << p.body;
    EXPECT_EQ(
        p.body,
        R"({"inference_results":[{"output":[{"name":"response","dataAsMap":{"response":"hello!"}}],"status_code":200}]})"
    );
    // A request parameter changes the rendered script.
    up_.enqueue(fake_reply::json(200, completion_with(R"("hello")")));
    p = predict_on(model_id, R"({"parameters":{"suffix":"?","messages":[{"role":"user","content":"hi"}]}})");
    ASSERT_EQ(p.status, 200) << p.body;
    EXPECT_EQ(
        p.body,
        R"({"inference_results":[{"output":[{"name":"response","dataAsMap":{"response":"hello?"}}],"status_code":200}]})"
    );

    // A script that returns null leaves the answer to the usual wrapping (and response_filter).
    const auto null_id = register_model(
        c(), connector_with_script(up_, "if (params.x == null) { return null; } return 'x';"), "null"
    );
    up_.enqueue(fake_reply::json(200, R"({"a":{"b":1}})"));
    p = predict_on(null_id, R"({"parameters":{"response_filter":"$.a","messages":[]}})");
    ASSERT_EQ(p.status, 200) << p.body;
    EXPECT_EQ(
        p.body,
        R"({"inference_results":[{"output":[{"name":"response","dataAsMap":{"b":1}}],"status_code":200}]})"
    );
}

TEST_F(painless_connectors, bedrock_titan_embedding_scripts_on_text_docs) {
    // The Bedrock Titan embedding blueprint's pre and post scripts (protocol http here, not aws_sigv4).
    json::object conn{
        {"name", "titan"},
        {"version", "1"},
        {"protocol", "http"},
        {"parameters", json::object{}},
        {"credential", {{"key", "sk-unused-credential-77"}}},
        {"actions",
         json::array{json::object{
             {"action_type", "predict"},
             {"method", "POST"},
             {"url", up_.url("/model/amazon.titan-embed-text-v1/invoke")},
             {"request_body", R"({ "inputText": "${parameters.inputText}" })"},
             {"pre_process_function", fixture("bedrock_titan_embedding_pre")},
             {"post_process_function", fixture("bedrock_titan_embedding_post")}}}}};
    const auto model_id = register_model(c(), json::serialize(conn), "titan");
    up_.enqueue(fake_reply::json(200, R"({"embedding":[0.25,-1],"inputTextTokenCount":2})"));
    up_.enqueue(fake_reply::json(200, R"({"embedding":[0.5,1e-5],"inputTextTokenCount":2})"));
    auto p = c().post(
        "/_plugins/_ml/_predict/text_embedding/" + model_id, R"({"text_docs":["say \"hi\"","second"]})"
    );
    ASSERT_EQ(p.status, 200) << p.body;
    EXPECT_EQ(
        p.body,
        R"({"inference_results":[{"output":[{"name":"sentence_embedding","data_type":"FLOAT32","shape":[2],"data":[0.25,-1.0]}],"status_code":200},{"output":[{"name":"sentence_embedding","data_type":"FLOAT32","shape":[2],"data":[0.5,1.0E-5]}],"status_code":200}]})"
    );
    // One call per doc; the doc is escaped once in the body.
    const auto seen = up_.requests();
    ASSERT_EQ(seen.size(), 2U);
    EXPECT_EQ(seen[0].body, R"({ "inputText": "say \"hi\"" })");
    EXPECT_EQ(seen[1].body, R"({ "inputText": "second" })");
}

// A script that runs until the step limit stops it holds a script-pool thread, not the I/O thread: with one
// I/O thread, other requests are answered meanwhile. Before the pool, not one GET was answered between the
// upstream's answer and the end of the script (4 in a run before the pool, thousands after): the count, not
// a time, is what is checked.
TEST_F(painless_connectors, a_runaway_script_does_not_hold_the_io_thread) {
    server_process one_thread(tmp_.path() / "data1", {}, {"--threads", "1"});
    one_thread.start();
    http_client admin(one_thread.port());
    open_cluster_settings(admin, false);
    const std::string runaway = "def n = 0; while (true) { n = n + 1; } return 'never';";
    const auto post_model = register_model(admin, connector_with_script(up_, runaway), "runaway post");
    json::value with_pre = json::parse(connector_with_script(up_, "return 'ok';", "/v1/embeddings"));
    with_pre.at("actions").at(0).as_object()["pre_process_function"] = runaway;
    with_pre.at("actions").at(0).as_object()["request_body"] = R"({"input": ${parameters.input}})";
    const auto pre_model = register_model(admin, json::serialize(with_pre), "runaway pre");

    std::atomic<bool> answered{false};
    up_.set_handler([&](const recorded_request&) -> std::optional<fake_reply> {
        answered = true;
        return fake_reply::json(200, completion_with(R"("fine")"));
    });
    // GETs answered on the one I/O thread until the predict ends; then the predict's refusal.
    const auto served_while = [&](std::future<http_result>& predict) {
        int served = 0;
        while (predict.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
            EXPECT_EQ(admin.get("/").status, 200);
            ++served;
        }
        auto p = predict.get();
        EXPECT_EQ(p.status, 400) << p.body;
        EXPECT_NE(p.body.find("stopped after 1000000 steps"), std::string::npos) << p.body;
        return served;
    };
    // Post-process: the script starts once the upstream has answered.
    {
        auto predict = std::async(std::launch::async, [&] {
            http_client other(one_thread.port());
            return other.post("/_plugins/_ml/models/" + post_model + "/_predict", plain_predict);
        });
        ASSERT_TRUE(up_.wait_for_requests(1, 10s));
        while (!answered) {
            std::this_thread::yield();
        }
        EXPECT_GE(served_while(predict), 100);
    }
    // Pre-process: text_docs input runs the script before anything is sent upstream.
    {
        const std::size_t sent_before = up_.request_count();
        std::atomic<bool> started{false};
        auto predict = std::async(std::launch::async, [&] {
            http_client other(one_thread.port());
            started = true;
            return other.post("/_plugins/_ml/_predict/text_embedding/" + pre_model, R"({"text_docs":["a"]})");
        });
        while (!started) {
            std::this_thread::yield();
        }
        EXPECT_GE(served_while(predict), 100);
        EXPECT_EQ(up_.request_count(), sent_before);
    }
}

TEST_F(painless_connectors, unsupported_scripts_are_refused_when_the_connector_is_written) {
    auto r = c().post(
        "/_plugins/_ml/connectors/_create",
        connector_with_script(
            up_, "return params.data.stream().map(x -> x.embedding).collect(Collectors.toList());"
        )
    );
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(r.json().at("error").at("type").as_string(), "illegal_argument_exception");
    EXPECT_EQ(
        r.json().at("error").at("reason").as_string(),
        "Invalid post_process_function: Painless script: unsupported syntax 'lambda (->)' at 1:35"
    );
    EXPECT_EQ(stored_connectors(), 0U);

    // An update with such a script is refused and the stored function stays.
    auto created = c().post("/_plugins/_ml/connectors/_create", connector_with_script(up_, "return 'ok';"));
    ASSERT_EQ(created.status, 200) << created.body;
    const std::string id(created.json().at("connector_id").as_string());
    auto update = c().put(
        "/_plugins/_ml/connectors/" + id,
        R"({"actions":[{"action_type":"predict","method":"POST","url":")" + up_.url("/v1/chat/completions") +
            R"(","post_process_function":"try { return 'x'; } catch (Exception e) { return 'y'; }"}]})"
    );
    EXPECT_EQ(update.status, 400) << update.body;
    EXPECT_EQ(
        update.json().at("error").at("reason").as_string(),
        "Invalid post_process_function: Painless script: unsupported syntax 'try' at 1:1"
    );
    auto stored = c().get("/_plugins/_ml/connectors/" + id);
    EXPECT_EQ(stored.json().at("actions").at(0).at("post_process_function").as_string(), "return 'ok';");
    EXPECT_EQ(stored_connectors(), 1U);

    // pre_process_function scripts are checked the same way.
    json::value with_pre = json::parse(connector_with_script(up_, "return 'ok';"));
    with_pre.at("actions").at(0).as_object()["pre_process_function"] = "def f = x -> x;";
    auto pre = c().post("/_plugins/_ml/connectors/_create", json::serialize(with_pre));
    EXPECT_EQ(pre.status, 400) << pre.body;
    EXPECT_EQ(
        pre.json().at("error").at("reason").as_string(),
        "Invalid pre_process_function: Painless script: unsupported syntax 'lambda (->)' at 1:11"
    );
    EXPECT_EQ(stored_connectors(), 1U);

    // Built-in names keep their own path: an unknown one is not parsed as a script.
    auto builtin = c().post(
        "/_plugins/_ml/connectors/_create",
        connector_with_script(up_, "connector.post_process.openai.embedding")
    );
    EXPECT_EQ(builtin.status, 200) << builtin.body;
}

}  // namespace
}  // namespace modelrelay::test
