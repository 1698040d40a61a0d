// File: model_interface_test.cpp
// A model's `interface` against the real binary and the fake upstream: an input that breaks the input
// schema is refused with ml-commons' 400 before anything is sent, an answer that breaks the output schema
// is refused after the call, a broken schema is refused when stored, and an update of a deployed model
// applies at once and after a restart.
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

// The schemas as JSON text inside the register body (ml-commons stores them as strings).
constexpr const char* messages_required =
    R"({\"type\":\"object\",\"properties\":{\"parameters\":{\"type\":\"object\",\"properties\":{\"messages\":{\"type\":\"array\"}},\"required\":[\"messages\"]}},\"required\":[\"parameters\"]})";
constexpr const char* answer_has_choices =
    R"({\"type\":\"object\",\"properties\":{\"inference_results\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"output\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"dataAsMap\":{\"type\":\"object\",\"required\":[\"choices\"]}}}}}}}}})";

const std::string input_prefix =
    "Error validating input schema, if you think this is expected, please update your 'input' field in the "
    "'interface' field for this model: Validation failed: [";

class model_interface : public one_model_test {
protected:
    void SetUp() override {
        start(
            "typed",
            std::string(R"("interface": {"input": ")") + messages_required + R"(", "output": ")" +
                answer_has_choices + R"("})"
        );
    }
    http_result predict(std::string_view params) {
        return client_->post(
            "/_plugins/_ml/models/" + model_ + "/_predict", R"({"parameters":)" + std::string(params) + "}"
        );
    }
};

TEST_F(model_interface, an_input_that_breaks_the_schema_is_refused_before_anything_is_sent) {
    auto ok = predict(R"({"messages":[{"role":"user","content":"hi"}]})");
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(up_.request_count(), 1u);

    auto missing = predict(R"({"prompt":"hi"})");
    EXPECT_EQ(missing.status, 400) << missing.body;
    const auto e = missing.json().at("error");
    EXPECT_EQ(e.at("type"), "status_exception");
    const std::string reason(e.at("reason").as_string());
    EXPECT_TRUE(reason.starts_with(input_prefix + "$.parameters.messages: is missing but it is required]"))
        << reason;
    auto wrong_type = predict(R"({"messages":"just text"})");
    EXPECT_EQ(wrong_type.status, 400) << wrong_type.body;
    EXPECT_NE(wrong_type.body.find("$.parameters.messages: string found, array expected"), std::string::npos);
    EXPECT_EQ(up_.request_count(), 1u);  // nothing was sent for the refused ones
}

TEST_F(model_interface, an_answer_that_breaks_the_output_schema_is_refused) {
    up_.route("/v1/chat/completions", fake_reply::json(200, R"({"result":"no choices here"})"));
    auto r = predict(R"({"messages":[{"role":"user","content":"hi"}]})");
    EXPECT_EQ(r.status, 400) << r.body;
    const std::string reason(r.json().at("error").at("reason").as_string());
    EXPECT_TRUE(
        reason.starts_with("Error validating output schema, if you think this is expected, please update "
                           "your 'output' field in the "
                           "'interface' field for this model: Validation failed: "
                           "[$.inference_results[0].output[0].dataAsMap.choices: "
                           "is missing but it is required]")
    ) << reason;
    EXPECT_EQ(up_.request_count(), 1u);
}

TEST_F(model_interface, broken_schemas_are_refused_when_stored_and_updates_apply_at_once) {
    auto bad_update = client_->put("/_plugins/_ml/models/" + model_, R"({"interface":{"input":"{oops"}})");
    EXPECT_EQ(bad_update.status, 400) << bad_update.body;
    EXPECT_EQ(predict(R"({"prompt":"hi"})").status, 400);  // the old schema still applies

    auto relaxed =
        client_->put("/_plugins/_ml/models/" + model_, R"({"interface":{"input":"{\"type\":\"object\"}"}})");
    ASSERT_EQ(relaxed.status, 200) << relaxed.body;
    EXPECT_EQ(predict(R"({"prompt":"hi","messages":[]})").status, 200);
    server_->restart();
    client_ = std::make_unique<http_client>(server_->port());
    EXPECT_EQ(predict(R"({"prompt":"hi","messages":[]})").status, 200);
}

TEST_F(model_interface, the_input_is_checked_before_deploy_on_first_use_as_in_ml_commons) {
    // A second model with the same schema, not deployed and with auto-deploy off: the schema answers
    // first, then the deploy refusal.
    const std::string idle = register_model(
        *client_,
        chat_connector(up_),
        "typed-idle",
        false,
        std::string(R"("deploy_setting": {"is_auto_deploy_enabled": false}, "interface": {"input": ")") +
            messages_required + R"("})"
    );
    ASSERT_FALSE(idle.empty());
    auto bad =
        client_->post("/_plugins/_ml/models/" + idle + "/_predict", R"({"parameters":{"prompt":"hi"}})");
    EXPECT_EQ(bad.status, 400) << bad.body;
    EXPECT_TRUE(std::string(bad.json().at("error").at("reason").as_string()).starts_with(input_prefix))
        << bad.body;
    auto good = client_->post(
        "/_plugins/_ml/models/" + idle + "/_predict",
        R"({"parameters":{"messages":[{"role":"user","content":"hi"}]}})"
    );
    EXPECT_EQ(good.status, 400) << good.body;
    EXPECT_EQ(
        good.json().at("error").at("reason").as_string(),
        "Auto deployment disabled for this model, please deploy model first Model ID: " + idle
    );
}

}  // namespace
}  // namespace modelrelay::test
