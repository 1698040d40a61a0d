// File: model_interface_test.cpp
// A model's `interface` against the real binary and the fake upstream: an input that breaks the input
// schema is refused with ml-commons' 400 before anything is sent, an answer that breaks the output schema
// is refused after the call, a broken schema is refused when stored, and an update of a deployed model
// applies at once and after a restart. Schemas that once crashed or hung the server (a mistyped keyword, a
// `$ref` cycle, `multipleOf` 0, regexes std::regex could not handle) are refused when stored and leave
// nothing behind, and user patterns answer promptly on inputs that made std::regex backtrack or recurse.
#include <string>
#include <vector>

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

// `{"query":{"match_all":{}}}` hits under `/_plugins/_ml/<index>/_search`.
std::int64_t count_all(http_client& c, std::string_view index) {
    auto r = c.post("/_plugins/_ml/" + std::string(index) + "/_search", R"({"query":{"match_all":{}}})");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? r.json().at("hits").at("total").at("value").to_number<std::int64_t>() : -1;
}

// The `interface` member of a register or update body, with `schema` (JSON text) as its `side`.
std::string interface_member(std::string_view side, std::string_view schema) {
    return R"("interface":{")" + std::string(side) + R"(":)" + json::serialize(json::value(schema)) + "}";
}

TEST_F(model_interface, schemas_that_crashed_the_server_are_refused_and_leave_nothing_behind) {
    auto conn = client_->post("/_plugins/_ml/connectors/_create", chat_connector(up_));
    ASSERT_EQ(conn.status, 200) << conn.body;
    const std::string connector(conn.json().at("connector_id").as_string());
    const auto models = count_all(*client_, "models");
    const auto tasks = count_all(*client_, "tasks");
    const auto groups = count_all(*client_, "model_groups");

    const std::vector<std::string> schemas = {
        R"({"type":5})",  // Valijson aborted: exit 134
        R"({"required":5})",
        R"({"properties":[]})",
        R"({"$ref":"#/nope"})",
        R"({"$ref":"#"})",  // stack overflow: exit 139
        R"({"definitions":{"a":{"$ref":"#/definitions/a"}},"$ref":"#/definitions/a"})",
        R"({"anyOf":[{"$ref":"#"}]})",
        R"({"multipleOf":0})",  // SIGFPE at every predict
        R"({"pattern":"("})",   // threw at every predict: a 500
        R"x({"pattern":"(?=a)"})x",
        R"({"$ref":"http://example.com/schema.json"})",
    };
    int n = 0;
    for (const auto& schema : schemas) {
        for (std::string_view side : {"input", "output"}) {
            const std::string body = R"({"name":"m)" + std::to_string(++n) +
                                     R"(","function_name":"remote","connector_id":")" + connector + R"(",)" +
                                     interface_member(side, schema) + "}";
            for (std::string_view target :
                 {"/_plugins/_ml/models/_register", "/_plugins/_ml/models/_register?deploy=true"}) {
                auto r = client_->post(target, body);
                EXPECT_EQ(r.status, 400) << schema << " -> " << r.body;
                if (r.status == 400) {
                    const std::string reason(r.json().at("error").at("reason").as_string());
                    EXPECT_TRUE(
                        reason.starts_with("interface." + std::string(side) + " is not a valid JSON Schema: ")
                    ) << reason;
                }
            }
            auto update =
                client_->put("/_plugins/_ml/models/" + model_, "{" + interface_member(side, schema) + "}");
            EXPECT_EQ(update.status, 400) << schema << " -> " << update.body;
        }
    }
    ASSERT_TRUE(server_->running());
    EXPECT_EQ(count_all(*client_, "models"), models);
    EXPECT_EQ(count_all(*client_, "tasks"), tasks);
    EXPECT_EQ(count_all(*client_, "model_groups"), groups);
    // The stored schema is the one registered first, and it still applies.
    EXPECT_EQ(predict(R"({"prompt":"hi"})").status, 400);
    EXPECT_EQ(predict(R"({"messages":[{"role":"user","content":"hi"}]})").status, 200);
}

TEST_F(model_interface, user_patterns_and_formats_answer_promptly_on_hostile_inputs) {
    const std::string schema =
        R"({"type":"object","properties":{"parameters":{"type":"object","properties":{)"
        R"("q":{"type":"string","pattern":"^(a+)+$"},"d":{"type":"string","format":"date"}}}}})";
    const std::string hostile =
        register_model(*client_, chat_connector(up_), "hostile", true, interface_member("input", schema));
    ASSERT_FALSE(hostile.empty());
    auto predict_on = [&](const std::string& params) {
        return client_->post(
            "/_plugins/_ml/models/" + hostile + "/_predict", R"({"parameters":)" + params + "}"
        );
    };
    const std::string messages = R"("messages":[{"role":"user","content":"hi"}])";

    // Catastrophic backtracking for std::regex; RE2 answers at once.
    const std::string redos = std::string(40, 'a') + "b";
    auto refused = predict_on(R"({"q":")" + redos + R"(",)" + messages + "}");
    EXPECT_EQ(refused.status, 400) << refused.body;
    EXPECT_NE(
        refused.body.find(input_prefix + "$.parameters.q: does not match the regex pattern ^(a+)+$]"),
        std::string::npos
    ) << refused.body.substr(0, 500);
    auto matching = predict_on(R"({"q":")" + std::string(40, 'a') + R"(",)" + messages + "}");
    EXPECT_EQ(matching.status, 200) << matching.body;

    // A megabyte of digits: std::regex's recursion per character overflowed the stack.
    auto long_date = predict_on(R"({"d":")" + std::string(1 << 20, '7') + R"(",)" + messages + "}");
    EXPECT_EQ(long_date.status, 400) << long_date.body.substr(0, 500);
    EXPECT_NE(long_date.body.find("$.parameters.d: String should be a valid date"), std::string::npos);
    auto date = predict_on(R"({"d":"2024-02-29",)" + messages + "}");
    EXPECT_EQ(date.status, 200) << date.body;
    ASSERT_TRUE(server_->running());
    EXPECT_EQ(up_.request_count(), 2u);  // the two valid ones
}

}  // namespace
}  // namespace modelrelay::test
