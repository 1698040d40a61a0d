// File: guardrails_test.cpp
// A model's local_regex guardrails against the real binary and the fake upstream: a request payload that
// a regex matches is refused with ml-commons' 400 before anything is sent, an upstream answer that an
// output regex matches is refused after it, on _predict, _predict/stream and /v1; bad guardrails are refused
// when the model is registered or updated and change nothing; an update of a deployed model applies at once.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/support/fake_upstream.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/model_setup.hpp"
#include "tests/support/server_process.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;

// The ml-commons tutorial's shape: full-match regexes over the rendered payload / the raw answer.
constexpr const char* guarded = R"("guardrails": {
    "type": "local_regex",
    "input_guardrail": {"stop_words": [{"index_name": "words0", "source_fields": ["title"]}],
                        "regex": [".*rob a bank.*", ".*secret-\\d+.*"]},
    "output_guardrail": {"regex": [".*forbidden answer.*"]}
})";

std::string predict_body(std::string_view content) {
    return R"({"parameters":{"messages":[{"role":"user","content":")" + std::string(content) + R"("}]}})";
}

void expect_illegal_argument(const http_result& r, std::string_view reason) {
    EXPECT_EQ(r.status, 400) << r.body;
    const auto j = r.json();
    EXPECT_EQ(j.at("error").at("type"), "illegal_argument_exception") << r.body;
    EXPECT_EQ(j.at("error").at("reason").as_string(), reason) << r.body;
}

class guardrails : public ::testing::Test {
protected:
    void SetUp() override {
        server_ = std::make_unique<server_process>(tmp_.path() / "data");
        server_->start();
        client_ = std::make_unique<http_client>(server_->port());
        open_cluster_settings(*client_);
        model_ = register_model(*client_, chat_connector(up_), "guarded", true, guarded);
        ASSERT_FALSE(model_.empty());
    }
    http_result predict(std::string_view content) {
        return client_->post("/_plugins/_ml/models/" + model_ + "/_predict", predict_body(content));
    }

    temp_dir tmp_;
    fake_upstream up_;
    std::unique_ptr<server_process> server_;
    std::unique_ptr<http_client> client_;
    std::string model_;
};

TEST_F(guardrails, input_that_a_regex_matches_is_refused_before_anything_is_sent) {
    auto ok = predict("how do I bake bread");
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(up_.request_count(), 1u);

    expect_illegal_argument(predict("how to rob a bank"), "guardrails triggered for user input");
    expect_illegal_argument(predict("my key is secret-12345"), "guardrails triggered for user input");
    EXPECT_EQ(up_.request_count(), 1u);  // nothing reached the upstream

    // /v1 and the stream route check the same payload.
    auto chat = client_->post(
        "/v1/chat/completions",
        R"({"model":")" + model_ + R"(","messages":[{"role":"user","content":"rob a bank now"}]})"
    );
    EXPECT_EQ(chat.status, 400) << chat.body;
    EXPECT_EQ(chat.json().at("error").at("message"), "guardrails triggered for user input");
    auto stream = client_->post(
        "/_plugins/_ml/models/" + model_ + "/_predict/stream",
        R"({"parameters":{"_llm_interface":"openai/v1/chat/completions","messages":[{"role":"user","content":"rob a bank"}]}})"
    );
    expect_illegal_argument(stream, "guardrails triggered for user input");
    EXPECT_EQ(up_.request_count(), 1u);
}

TEST_F(guardrails, an_answer_that_an_output_regex_matches_is_refused) {
    up_.route(
        "/v1/chat/completions",
        fake_reply::json(
            200,
            R"({"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"a forbidden answer"},"finish_reason":"stop"}]})"
        )
    );
    expect_illegal_argument(predict("hello"), "guardrails triggered for LLM output");
    EXPECT_EQ(up_.request_count(), 1u);  // the call was made; its answer is withheld
    auto chat = client_->post(
        "/v1/chat/completions", R"({"model":")" + model_ + R"(","messages":[{"role":"user","content":"hi"}]})"
    );
    EXPECT_EQ(chat.status, 400) << chat.body;
    EXPECT_EQ(chat.json().at("error").at("message"), "guardrails triggered for LLM output");
    EXPECT_EQ(chat.body.find("forbidden answer"), std::string::npos);
}

TEST_F(guardrails, bad_guardrails_are_refused_at_register_and_update_and_change_nothing) {
    const std::string connector = chat_connector(up_);
    auto conn = client_->post("/_plugins/_ml/connectors/_create", connector);
    ASSERT_EQ(conn.status, 200);
    const std::string cid(conn.json().at("connector_id").as_string());
    auto reg = [&](std::string_view g) {
        return client_->post(
            "/_plugins/_ml/models/_register",
            R"({"name":"bad","function_name":"remote","connector_id":")" + cid + R"(","guardrails":)" +
                std::string(g) + "}"
        );
    };
    const auto models_before = client_->post("/_plugins/_ml/models/_search", R"({"query":{"match_all":{}}})");
    expect_illegal_argument(
        reg(R"({"input_guardrail":{"regex":["a"]}})"), "The type of guardrails is required, can not be null."
    );
    expect_illegal_argument(
        reg(R"({"type":"regexes","input_guardrail":{"regex":["a"]}})"),
        "The type of guardrails is required, can not be null."
    );
    expect_illegal_argument(
        reg(R"({"type":"local_regex","input_guardrail":{"regex":["(unclosed"]}})"),
        "Invalid guardrails regex: (unclosed"
    );
    auto model_type =
        reg(R"({"type":"model","input_guardrail":{"model_id":"x","response_validation_regex":"^accept$"}})");
    EXPECT_EQ(model_type.status, 400) << model_type.body;
    const auto models_after = client_->post("/_plugins/_ml/models/_search", R"({"query":{"match_all":{}}})");
    EXPECT_EQ(
        models_after.json().at("hits").at("total").at("value"),
        models_before.json().at("hits").at("total").at("value")
    );

    // Update of the deployed model: a bad one is refused and the old guardrails still apply ...
    auto bad_update = client_->put(
        "/_plugins/_ml/models/" + model_,
        R"({"guardrails":{"type":"local_regex","input_guardrail":{"regex":["("]}}})"
    );
    EXPECT_EQ(bad_update.status, 400) << bad_update.body;
    expect_illegal_argument(predict("rob a bank"), "guardrails triggered for user input");
    // ... a good one takes effect at once, without a redeploy.
    auto update = client_->put(
        "/_plugins/_ml/models/" + model_,
        R"({"guardrails":{"type":"local_regex","input_guardrail":{"regex":[".*bread.*"]}}})"
    );
    ASSERT_EQ(update.status, 200) << update.body;
    EXPECT_EQ(predict("rob a bank").status, 200);
    expect_illegal_argument(predict("bake bread"), "guardrails triggered for user input");
    // And after a restart.
    server_->restart();
    client_ = std::make_unique<http_client>(server_->port());
    expect_illegal_argument(predict("bake bread"), "guardrails triggered for user input");
    EXPECT_EQ(predict("rob a bank").status, 200);
}

}  // namespace
}  // namespace modelrelay::test
