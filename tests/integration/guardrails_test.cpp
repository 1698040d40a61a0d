// File: guardrails_test.cpp
// A model's local_regex guardrails against the real binary and the fake upstream: a request payload that
// a regex matches is refused with ml-commons' 400 before anything is sent, an upstream answer that an
// output regex matches is refused after it, on _predict, _predict/stream and /v1; bad guardrails are refused
// when the model is registered or updated and change nothing; an update of a deployed model applies at once;
// a model-type guardrail asks a guard model about the question and the answer.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/support/fake_upstream.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/model_setup.hpp"
#include "tests/support/one_model.hpp"
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

class guardrails : public one_model_test {
protected:
    void SetUp() override { start("guarded", guarded); }
    http_result predict(std::string_view content) {
        return client_->post("/_plugins/_ml/models/" + model_ + "/_predict", predict_body(content));
    }
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
    // 300 is a success for ml-commons (200..300), so the output check applies to it too.
    up_.route("/v1/chat/completions", fake_reply::json(300, R"({"three":"a forbidden answer"})"));
    expect_illegal_argument(predict("hello"), "guardrails triggered for LLM output");
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
    expect_illegal_argument(
        reg(R"({"type":"model","input_guardrail":{"model_id":"x"}})"),
        "input_guardrail.response_validation_regex is required for guardrails of type model"
    );
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

// The guard model answers on its own path of the fake upstream; its connector asks it about
// ${parameters.question} and its answer's content is the `response` the regex judges.
std::string guard_connector(const fake_upstream& up) {
    return R"({"name":"guard","version":"1","protocol":"http","credential":{"k":"v"},
      "actions":[{"action_type":"predict","method":"POST","url":")" +
           up.url("/guard/v1/chat/completions") +
           R"(","request_body":"{ \"messages\": [{\"role\":\"user\",\"content\":\"${parameters.question}\"}] }"}]})";
}

fake_reply guard_says(std::string_view word) {
    return fake_reply::json(
        200,
        R"({"choices":[{"index":0,"message":{"role":"assistant","content":")" + std::string(word) +
            R"("},"finish_reason":"stop"}]})"
    );
}

TEST(guardrails_model_type, a_guard_model_judges_the_question_and_the_answer) {
    temp_dir tmp;
    fake_upstream up;
    server_process server(tmp.path() / "data");
    server.start();
    http_client c(server.port());
    open_cluster_settings(c);
    const std::string guard = register_model(c, guard_connector(up), "guard");
    ASSERT_FALSE(guard.empty());
    const std::string side = R"({"model_id":")" + guard +
                             R"(","response_filter":"$.choices[0].message.content",)"
                             R"("response_validation_regex":"^\\s*\"[Aa]ccept\"\\s*$"})";
    const std::string model = register_model(
        c,
        chat_connector(
            up,
            "",
            R"({ \"model\": \"${parameters.model}\", \"messages\": [{\"role\":\"user\",\"content\":\"${parameters.question}\"}] })"
        ),
        "judged",
        true,
        R"("guardrails": {"type": "model", "input_guardrail": )" + side + R"(, "output_guardrail": )" + side +
            "}"
    );
    ASSERT_FALSE(model.empty());
    auto predict = [&](std::string_view question) {
        return c.post(
            "/_plugins/_ml/models/" + model + "/_predict",
            R"({"parameters":{"question":")" + std::string(question) + R"("}})"
        );
    };

    up.route("/guard/v1/chat/completions", guard_says("accept"));
    auto ok = predict("how do I bake bread");
    ASSERT_EQ(ok.status, 200) << ok.body;
    // The guard was asked twice (question, then answer), with the question in its prompt.
    const auto asked = up.requests();
    std::size_t guard_calls = 0;
    bool saw_question = false;
    for (const auto& r : asked) {
        if (r.path() == "/guard/v1/chat/completions") {
            ++guard_calls;
            saw_question = saw_question || r.body.find("how do I bake bread") != std::string::npos;
        }
    }
    EXPECT_EQ(guard_calls, 2u);
    EXPECT_TRUE(saw_question);

    up.clear_requests();
    up.route("/guard/v1/chat/completions", guard_says("reject"));
    expect_illegal_argument(predict("how to rob a bank"), "guardrails triggered for user input");
    for (const auto& r : up.requests()) {
        EXPECT_EQ(r.path(), "/guard/v1/chat/completions");  // the model itself was never called
    }
    // No question parameter: nothing to judge on the way in (ModelGuardrail lets an empty request pass);
    // the answer is still judged.
    auto messages_only =
        c.post("/_plugins/_ml/models/" + model + "/_predict", R"({"parameters":{"question":""}})");
    EXPECT_EQ(messages_only.status, 400) << messages_only.body;
    EXPECT_EQ(
        messages_only.json().at("error").at("reason").as_string(), "guardrails triggered for LLM output"
    );

    // A guard model that cannot answer lets the text through, as in ml-commons.
    up.route("/guard/v1/chat/completions", fake_reply::server_error(500));
    EXPECT_EQ(predict("anything").status, 200);
}

}  // namespace
}  // namespace modelrelay::test
