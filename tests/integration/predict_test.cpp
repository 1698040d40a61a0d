// File: predict_test.cpp
// Models, tasks and _predict against the real binary and a fake OpenAI-compatible upstream over real
// sockets (HTTPS with a test CA, as in seed 001, whose connector URL is https://${parameters.endpoint}).
#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "registry/aws_sigv4.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_ca.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;

constexpr const char* trust_all =
    R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"]}})";
constexpr const char* private_on =
    R"({"persistent":{"plugins.ml_commons.connector.private_ip_enabled":true}})";

// Seed 001 step 5, as written.
constexpr const char* seed_predict = R"({
  "parameters": {
    "messages": [
      {
        "role": "system",
        "content": "You are a helpful assistant."
      },
      {
        "role": "user",
        "content": "Why is the sky blue"
      }
    ]
  }
})";

std::string seed_connector(const std::string& endpoint, std::string_view extra = "") {
    return std::string(R"({
  "name": "Local LLM connector",
  "description": "Ollama",
  "version": "1",
  "protocol": "http",
  "parameters": {
    "endpoint": ")") +
           endpoint + R"(",
    "model": "qwen3:4b"
  },
  "credential": {
    "openAI_key": "sk-predict-sentinel-42"
  },
  )" + std::string(extra) +
           R"(
  "actions": [
    {
      "action_type": "predict",
      "method": "POST",
      "url": "https://${parameters.endpoint}/v1/chat/completions",
      "headers": {
        "Authorization": "Bearer ${credential.openAI_key}"
      },
      "request_body": "{ \"model\": \"${parameters.model}\", \"messages\": ${parameters.messages} }"
    }
  ]
})";
}

class predict : public ::testing::Test {
protected:
    void SetUp() override {
        upstream_ = std::make_unique<fake_upstream>(fake_upstream_options::https());
        server_ = std::make_unique<server_process>(
            tmp_.path() / "data",
            std::map<std::string, std::string>{{"MODELRELAY_UPSTREAM_CA_FILE", test_ca::instance().ca_file()}}
        );
        server_->start();
        client_ = std::make_unique<http_client>(server_->port());
        endpoint_ = "127.0.0.1:" + std::to_string(upstream_->port());
    }
    http_client& c() { return *client_; }

    std::string create_connector(std::string_view extra = "") {
        auto r = c().post("/_plugins/_ml/connectors/_create", seed_connector(endpoint_, extra));
        EXPECT_EQ(r.status, 200) << r.body;
        return std::string(r.json().at("connector_id").as_string());
    }
    std::string register_model(const std::string& connector_id, bool deploy, std::string_view extra = "") {
        auto r = c().post(
            deploy ? "/_plugins/_ml/models/_register?deploy=true" : "/_plugins/_ml/models/_register",
            R"({"name": "Local LLM Model", "function_name": "remote", "description": "Ollama model", )" +
                std::string(extra) + R"("connector_id": ")" + connector_id + R"("})"
        );
        EXPECT_EQ(r.status, 200) << r.body;
        auto j = r.json();
        EXPECT_EQ(j.at("status").as_string(), "CREATED");
        return std::string(j.at("model_id").as_string());
    }
    std::string ready_model(std::string_view connector_extra = "", std::string_view model_extra = "") {
        EXPECT_EQ(c().put("/_cluster/settings", trust_all).status, 200);
        EXPECT_EQ(c().put("/_cluster/settings", private_on).status, 200);
        return register_model(create_connector(connector_extra), true, model_extra);
    }
    http_result predict_on(const std::string& model_id, std::string_view body = seed_predict) {
        return c().post("/_plugins/_ml/models/" + model_id + "/_predict", body);
    }
    void expect_error(const http_result& r, unsigned status, std::string_view reason_prefix) {
        EXPECT_EQ(r.status, status) << r.body;
        auto j = r.json();
        const std::string reason(j.at("error").at("reason").as_string());
        EXPECT_EQ(reason.substr(0, reason_prefix.size()), reason_prefix) << r.body;
    }

    temp_dir tmp_;
    std::unique_ptr<fake_upstream> upstream_;
    std::unique_ptr<server_process> server_;
    std::unique_ptr<http_client> client_;
    std::string endpoint_;
};

TEST_F(predict, seed_001_end_to_end_register_then_deploy) {
    ASSERT_EQ(c().put("/_cluster/settings", trust_all).status, 200);
    ASSERT_EQ(c().put("/_cluster/settings", private_on).status, 200);
    const auto connector_id = create_connector();
    const auto model_id = register_model(connector_id, false);
    auto model = c().get("/_plugins/_ml/models/" + model_id);
    ASSERT_EQ(model.status, 200);
    EXPECT_EQ(model.json().at("model_state").as_string(), "REGISTERED");
    EXPECT_FALSE(model.json().as_object().contains("model_id"));
    // A body that is not an object is refused and deploys nothing.
    for (const auto& [bad, token] : std::vector<std::pair<std::string, std::string>>{
             {"[1,2]", "START_ARRAY"},
             {"\"str\"", "VALUE_STRING"},
             {"123", "VALUE_NUMBER"},
             {"null", "VALUE_NULL"}}) {
        auto r = c().post("/_plugins/_ml/models/" + model_id + "/_deploy", bad);
        EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
        EXPECT_EQ(
            r.json().at("error").at("reason").as_string(),
            "Failed to parse object: expecting token of type [START_OBJECT] but found [" + token + "]"
        );
    }
    EXPECT_EQ(c().get("/_plugins/_ml/models/" + model_id).json().at("model_state").as_string(), "REGISTERED");
    auto deploy = c().post("/_plugins/_ml/models/" + model_id + "/_deploy", "");
    ASSERT_EQ(deploy.status, 200) << deploy.body;
    EXPECT_EQ(deploy.json().at("status").as_string(), "COMPLETED");
    EXPECT_EQ(deploy.json().at("task_type").as_string(), "DEPLOY_MODEL");
    auto task = c().get("/_plugins/_ml/tasks/" + std::string(deploy.json().at("task_id").as_string()));
    ASSERT_EQ(task.status, 200);
    EXPECT_EQ(task.json().at("state").as_string(), "COMPLETED");
    EXPECT_EQ(c().get("/_plugins/_ml/models/" + model_id).json().at("model_state").as_string(), "DEPLOYED");

    upstream_->enqueue(fake_reply::json(
        200,
        R"({"id":"chatcmpl-1","object":"chat.completion","created":1757369906,"model":"qwen3:4b","choices":[{"index":0,"message":{"role":"assistant","content":"Rayleigh scattering."},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}})"
    ));
    auto p = predict_on(model_id);
    ASSERT_EQ(p.status, 200) << p.body;
    EXPECT_EQ(
        p.body,
        R"({"inference_results":[{"output":[{"name":"response","dataAsMap":{"id":"chatcmpl-1","object":"chat.completion","created":1757369906,"model":"qwen3:4b","choices":[{"index":0,"message":{"role":"assistant","content":"Rayleigh scattering."},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}}],"status_code":200}]})"
    );
    auto seen = upstream_->last_request();
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->method, "POST");
    EXPECT_EQ(seen->path(), "/v1/chat/completions");
    EXPECT_EQ(seen->header("authorization"), "Bearer sk-predict-sentinel-42");
    EXPECT_EQ(seen->header("content-type"), "application/json");
    EXPECT_EQ(
        json::parse(seen->body),
        json::parse(
            R"({"model":"qwen3:4b","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Why is the sky blue"}]})"
        )
    );
    // The credential reaches the upstream only: never a response or the log.
    EXPECT_EQ(c().get("/_plugins/_ml/models/" + model_id).body.find("sk-predict"), std::string::npos);
    EXPECT_EQ(server_->log().find("sk-predict"), std::string::npos);
}

TEST_F(predict, seed_001_register_with_deploy_true_then_predict) {
    const auto model_id = ready_model();
    auto model = c().get("/_plugins/_ml/models/" + model_id).json();
    EXPECT_EQ(model.at("model_state").as_string(), "DEPLOYED");
    EXPECT_EQ(model.at("algorithm").as_string(), "REMOTE");
    EXPECT_EQ(model.at("model_version").as_string(), "1");
    auto group = c().get("/_plugins/_ml/model_groups/" + std::string(model.at("model_group_id").as_string()));
    ASSERT_EQ(group.status, 200);
    EXPECT_EQ(group.json().at("latest_version").to_number<int>(), 1);
    auto p = predict_on(model_id);
    ASSERT_EQ(p.status, 200) << p.body;
    EXPECT_EQ(p.json().at("inference_results").at(0).at("output").at(0).at("name").as_string(), "response");
    EXPECT_EQ(upstream_->request_count(), 1U);
}

TEST_F(predict, user_content_is_escaped_exactly_once) {
    const auto model_id = ready_model();
    const std::string tricky = "He said \"hi\" \\ back\nslash / tab\t unicode é 漢字 😀 </script>";
    json::object body{
        {"parameters",
         json::object{{"messages", json::array{json::object{{"role", "user"}, {"content", tricky}}}}}}};
    auto p = predict_on(model_id, json::serialize(body));
    ASSERT_EQ(p.status, 200) << p.body;
    auto seen = upstream_->last_request();
    ASSERT_TRUE(seen);
    auto sent = json::parse(seen->body);
    EXPECT_EQ(sent.at("messages").at(0).at("content").as_string(), tricky);
}

// An action with `supports_structured_output:true` (the OpenAI chat blueprint's) takes `_<field>_json` and
// `_<field>_additions_json` into the body it sends; an action without it sends its template as rendered.
TEST_F(predict, structured_output_parameters_reach_the_upstream_body) {
    EXPECT_EQ(c().put("/_cluster/settings", trust_all).status, 200);
    EXPECT_EQ(c().put("/_cluster/settings", private_on).status, 200);
    std::string flagged = seed_connector(endpoint_);
    const std::string action = R"("action_type": "predict",)";
    ASSERT_NE(flagged.find(action), std::string::npos);
    flagged.replace(flagged.find(action), action.size(), action + R"( "supports_structured_output": true,)");
    auto conn = c().post("/_plugins/_ml/connectors/_create", flagged);
    ASSERT_EQ(conn.status, 200) << conn.body;
    const std::string connector_id(conn.json().at("connector_id").as_string());
    EXPECT_TRUE(c().get("/_plugins/_ml/connectors/" + connector_id)
                    .json()
                    .at("actions")
                    .at(0)
                    .at("supports_structured_output")
                    .as_bool());
    const auto structured = register_model(connector_id, true);
    const auto plain = ready_model();

    // A string holding a JSON object is taken raw (ml-commons' #5070), an object as its JSON text.
    const std::string body =
        R"({"parameters":{"messages":[{"role":"user","content":"hi"}],)"
        R"("_response_format_json":"{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"a\"}}",)"
        R"("_response_format_additions_json":{"strict":true}}})";
    auto p = predict_on(structured, body);
    ASSERT_EQ(p.status, 200) << p.body;
    auto seen = upstream_->last_request();
    ASSERT_TRUE(seen);
    EXPECT_EQ(
        json::parse(seen->body),
        json::parse(R"({"model":"qwen3:4b","messages":[{"role":"user","content":"hi"}],)"
                    R"("response_format":{"type":"json_schema","json_schema":{"name":"a"},"strict":true}})")
    ) << seen->body;

    p = predict_on(plain, body);
    ASSERT_EQ(p.status, 200) << p.body;
    EXPECT_FALSE(json::parse(upstream_->last_request()->body).as_object().contains("response_format"));

    // A value that is not a JSON object is refused before anything is sent.
    const auto sent = upstream_->request_count();
    auto bad = predict_on(
        structured,
        R"({"parameters":{"messages":[{"role":"user","content":"hi"}],"_toolConfig_json":"auto"}})"
    );
    expect_error(bad, 400, "Invalid JSON object in parameter _toolConfig_json: auto");
    EXPECT_EQ(upstream_->request_count(), sent);
}

// ml-commons reads `parameters` with XContent's parser.map(): a value token is an empty map, so the
// answer is the one for a body without parameters (and nothing is sent); an array is refused.
TEST_F(predict, a_scalar_parameters_member_reads_as_no_parameters) {
    const auto model_id = ready_model();
    const auto sent = upstream_->request_count();
    // The seed template is left with its `${parameters.messages}` in place: ml-commons' `Invalid payload`.
    auto none = predict_on(model_id, "{}");
    ASSERT_EQ(none.status, 400) << none.body;
    EXPECT_EQ(none.json().at("error").at("reason").as_string().find("Invalid payload: "), 0U) << none.body;
    for (const std::string bad : {R"({"parameters":"x"})", R"({"parameters":7})", R"({"parameters":true})"}) {
        auto p = predict_on(model_id, bad);
        EXPECT_EQ(p.status, 400) << bad << ": " << p.body;
        EXPECT_EQ(p.body, none.body) << bad;
    }
    auto array = predict_on(model_id, R"({"parameters":["x"]})");
    EXPECT_EQ(array.status, 400) << array.body;
    EXPECT_EQ(
        array.json().at("error").at("reason").as_string(),
        "[parameters] expected object or string or number or boolean or null but got array"
    );
    EXPECT_EQ(upstream_->request_count(), sent);
}

// A number beyond a double's range would reach the upstream as `Infinity`, which is not JSON: refused as
// unparsable on every door, before anything is sent or stored.
TEST_F(predict, a_number_beyond_a_double_is_refused_before_anything_is_sent) {
    const auto model_id = ready_model();
    const auto sent = upstream_->request_count();
    const std::string reason =
        "Failed to parse request body: a number is out of the range of a double (beyond "
        "1.7976931348623157E308)";
    for (const std::string bad :
         {R"({"parameters":{"messages":[{"role":"user","content":"x"}],"temperature":1e400}})",
          R"({"parameters":{"messages":[{"role":"user","content":"x"}],"n":-1E999}})"}) {
        auto p = predict_on(model_id, bad);
        EXPECT_EQ(p.status, 400) << p.body;
        EXPECT_EQ(p.json().at("error").at("type").as_string(), "json_parse_exception") << p.body;
        EXPECT_EQ(p.json().at("error").at("reason").as_string(), reason) << p.body;
    }
    // Exact, finite extremes still go through.
    auto fine = predict_on(
        model_id, R"({"parameters":{"messages":[{"role":"user","content":"x"}],"temperature":1.5e308}})"
    );
    EXPECT_EQ(fine.status, 200) << fine.body;
    EXPECT_EQ(upstream_->request_count(), sent + 1);

    const auto before = c().get("/_plugins/_ml/models/" + model_id).body;
    auto update = c().put("/_plugins/_ml/models/" + model_id, R"({"description":"x","rate":1e400})");
    EXPECT_EQ(update.status, 400) << update.body;
    EXPECT_EQ(update.json().at("error").at("reason").as_string(), reason);
    EXPECT_EQ(c().get("/_plugins/_ml/models/" + model_id).body, before);

    auto v1 = c().post(
        "/v1/chat/completions",
        R"({"model":")" + model_id + R"(","messages":[{"role":"user","content":"x"}],"temperature":1e400})"
    );
    EXPECT_EQ(v1.status, 400) << v1.body;
    EXPECT_NE(v1.body.find("out of the range of a double"), std::string::npos) << v1.body;
    EXPECT_EQ(upstream_->request_count(), sent + 1);
}

// A response_filter with a Jayway filter and a function, end to end; a filter that cannot compile is
// refused before anything is sent.
TEST_F(predict, response_filter_takes_jayway_filters_and_functions) {
    const auto model_id = ready_model();
    const std::string reply =
        R"({"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok","tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"t2","type":"custom"}]},"finish_reason":"tool_calls"}]})";
    const auto with_filter = [](std::string_view filter) {
        json::object body{
            {"parameters",
             json::object{
                 {"messages", json::array{json::object{{"role", "user"}, {"content", "hi"}}}},
                 {"response_filter", filter}}}};
        return json::serialize(body);
    };
    upstream_->enqueue(fake_reply::json(200, reply));
    auto picked =
        predict_on(model_id, with_filter("$.choices[0].message.tool_calls[?(@.type == 'function')].id"));
    ASSERT_EQ(picked.status, 200) << picked.body;
    EXPECT_EQ(
        json::serialize(picked.json().at("inference_results").at(0).at("output").at(0).at("dataAsMap")),
        R"({"response":["t1"]})"
    );
    upstream_->enqueue(fake_reply::json(200, reply));
    auto counted = predict_on(model_id, with_filter("$.choices[0].message.tool_calls.length()"));
    ASSERT_EQ(counted.status, 200) << counted.body;
    EXPECT_EQ(
        json::serialize(counted.json().at("inference_results").at(0).at("output").at(0).at("dataAsMap")),
        R"({"response":2})"
    );
    const auto sent = upstream_->request_count();
    auto bad = predict_on(model_id, with_filter("$.choices[?(@.x ~~ 1)]"));
    EXPECT_EQ(bad.status, 400) << bad.body;
    EXPECT_EQ(bad.json().at("error").at("reason").as_string(), "Invalid JSON path: $.choices[?(@.x ~~ 1)]");
    EXPECT_EQ(upstream_->request_count(), sent);
}

TEST_F(predict, numbers_pass_through_exactly_both_ways) {
    // 16- and 17-digit doubles (llama.cpp timings, float64 embeddings) must not move by one unit in the
    // last place on the way in or out, as they did with Boost.JSON's own number conversion.
    const auto model_id = ready_model();
    upstream_->enqueue(fake_reply::json(
        200,
        R"({"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"timings":{"prompt_per_second":1918.1106439809487,"predicted_ms":9.439076314285715E7}})"
    ));
    auto p = predict_on(
        model_id,
        R"({"parameters":{"messages":[{"role":"user","content":"hi","weight":1918.1106439809487}]}})"
    );
    ASSERT_EQ(p.status, 200) << p.body;
    EXPECT_NE(
        p.body.find(R"("timings":{"prompt_per_second":1918.1106439809487,"predicted_ms":9.439076314285715E7})"
        ),
        std::string::npos
    ) << p.body;
    auto seen = upstream_->last_request();
    ASSERT_TRUE(seen);
    EXPECT_NE(seen->body.find(R"("weight":1918.1106439809487)"), std::string::npos) << seen->body;
}

TEST_F(predict, aws_sigv4_connectors_are_checked_and_every_call_is_signed_as_sent) {
    ASSERT_EQ(c().put("/_cluster/settings", trust_all).status, 200);
    ASSERT_EQ(c().put("/_cluster/settings", private_on).status, 200);
    const auto body = [&](std::string_view credential, std::string_view parameters) {
        return R"({"name":"bedrock","version":1,"protocol":"aws_sigv4","credential":)" +
               std::string(credential) + R"(,"parameters":)" + std::string(parameters) +
               R"(,"actions":[{"action_type":"predict","method":"POST","url":"https://)" + endpoint_ +
               R"(/model/${parameters.model}/invoke","headers":{"content-type":"application/json","x-amz-content-sha256":"required"},"request_body":"{\"inputText\":\"${parameters.inputText}\"}"}]})";
    };
    const auto before = c().post("/_plugins/_ml/connectors/_search", R"({"query":{"match_all":{}}})").body;
    const auto refused = [&](std::string_view credential, std::string_view parameters, std::string_view reason
                         ) {
        auto r = c().post("/_plugins/_ml/connectors/_create", body(credential, parameters));
        expect_error(r, 400, reason);
        EXPECT_EQ(r.json().at("error").at("type").as_string(), "illegal_argument_exception");
    };
    refused(
        R"({"access_key":"AKID"})", R"({"region":"us-east-1","service_name":"bedrock"})", "Missing credential"
    );
    refused(
        R"({"access_key":"AKID","secret_key":"SECRET"})", R"({"region":"us-east-1"})", "Missing service name"
    );
    refused(
        R"({"access_key":"AKID","secret_key":"SECRET"})", R"({"service_name":"bedrock"})", "Missing region"
    );
    EXPECT_EQ(c().post("/_plugins/_ml/connectors/_search", R"({"query":{"match_all":{}}})").body, before);

    auto created = c().post(
        "/_plugins/_ml/connectors/_create",
        body(
            R"({"access_key":"AKID","secret_key":"sigv4-secret-sentinel","session_token":"tok"})",
            R"({"region":"us-east-1","service_name":"bedrock","model":"amazon.titan-embed-text-v1"})"
        )
    );
    ASSERT_EQ(created.status, 200) << created.body;
    const auto model_id = register_model(std::string(created.json().at("connector_id").as_string()), true);
    upstream_->enqueue(fake_reply::json(200, R"({"embedding":[0.5],"inputTextTokenCount":1})"));
    auto p = predict_on(model_id, R"({"parameters":{"inputText":"hello"}})");
    ASSERT_EQ(p.status, 200) << p.body;
    auto seen = upstream_->last_request();
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->path(), "/model/amazon.titan-embed-text-v1/invoke");
    EXPECT_EQ(seen->body, R"({"inputText":"hello"})");
    const std::string date(seen->header("x-amz-date"));
    ASSERT_EQ(date.size(), 16U) << date;
    EXPECT_EQ(seen->header("x-amz-security-token"), "tok");
    const std::string auth(seen->header("authorization"));
    EXPECT_EQ(
        auth.rfind(
            "AWS4-HMAC-SHA256 Credential=AKID/" + date.substr(0, 8) + "/us-east-1/bedrock/aws4_request, ", 0
        ),
        0U
    ) << auth;
    // Re-signing exactly what arrived (host, target, connector headers, body, time) gives the same
    // signature: nothing was changed after signing.
    std::tm tm{};
    strptime(date.c_str(), "%Y%m%dT%H%M%SZ", &tm);
    const auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
    std::vector<std::pair<std::string, std::string>> sent{
        {"content-type", std::string(seen->header("content-type"))}, {"x-amz-content-sha256", "required"}};
    const registry::aws_signing key{"AKID", "sigv4-secret-sentinel", "tok", "us-east-1", "bedrock"};
    const auto again =
        registry::sign_sigv4(key, "POST", seen->header("host"), seen->target, sent, seen->body, when);
    EXPECT_EQ(seen->header("x-amz-content-sha256"), sent[1].second);
    EXPECT_EQ(again.back().second, auth);
    // The secret never leaves: not in the response, the connector, or the log.
    EXPECT_EQ(p.body.find("sigv4-secret"), std::string::npos);
    EXPECT_EQ(server_->log().find("sigv4-secret"), std::string::npos);
}

TEST_F(predict, private_addresses_are_refused_before_any_byte_is_sent) {
    ASSERT_EQ(c().put("/_cluster/settings", trust_all).status, 200);
    const auto model_id = register_model(create_connector(), true);
    const std::string port = std::to_string(upstream_->port());
    for (const std::string host :
         {"127.0.0.1",
          "localhost",
          "[::1]",
          "0.0.0.0",
          "[::ffff:127.0.0.1]",
          "2130706433",
          "0177.0.0.1",
          "0x7f.0.0.1",
          "127.1"}) {
        json::object body{
            {"parameters", json::object{{"endpoint", host + ":" + port}, {"messages", json::array{}}}}};
        auto p = predict_on(model_id, json::serialize(body));
        EXPECT_EQ(p.status, 400) << host << " " << p.body;
        EXPECT_NE(p.body.find("private ip address"), std::string::npos) << host << " " << p.body;
    }
    EXPECT_EQ(upstream_->request_count(), 0U);
    EXPECT_EQ(upstream_->connection_count(), 0U);
}

TEST_F(predict, upstream_faults_map_to_documented_errors_and_the_server_keeps_serving) {
    const auto model_id = ready_model(R"("client_config": {"read_timeout": 1, "connection_timeout": 2},)");
    upstream_->enqueue(fake_reply::json(401, R"({"error":"bad key"})"));
    expect_error(predict_on(model_id), 401, R"(Error from remote service: {"error":"bad key"})");
    upstream_->enqueue(fake_reply::server_error(503));
    EXPECT_EQ(predict_on(model_id).status, 503);
    upstream_->enqueue(fake_reply::too_many_requests("1"));
    EXPECT_EQ(predict_on(model_id).status, 429);
    upstream_->enqueue(fake_reply::empty(200));
    expect_error(predict_on(model_id), 502, "Remote service returned empty response body");
    upstream_->enqueue(fake_reply::not_json(200));
    EXPECT_EQ(predict_on(model_id).status, 400);
    fake_reply slow = fake_reply::json(200, "{}");
    slow.delay_before_headers = std::chrono::milliseconds(2500);
    upstream_->enqueue(slow);
    expect_error(predict_on(model_id), 500, "Error communicating with remote model:");
    upstream_->enqueue(fake_reply::reset_mid_response());
    expect_error(predict_on(model_id), 500, "Error communicating with remote model:");
    ASSERT_EQ(
        c().put("/_cluster/settings", R"({"transient":{"plugins.ml_commons.max_json_size":1000}})").status,
        200
    );
    upstream_->enqueue(fake_reply::oversized(5000));
    expect_error(predict_on(model_id), 400, "JSON string size exceeds maximum allowed size (1000 bytes)");
    ASSERT_EQ(
        c().put("/_cluster/settings", R"({"transient":{"plugins.ml_commons.max_json_size":null}})").status,
        200
    );
    // After every fault the pool and the server still work.
    auto ok = predict_on(model_id);
    EXPECT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(c().get("/").status, 200);
}

// MLSdkAsyncHttpResponseHandler.handleThrottlingInHeader: an error answer marked ThrottlingException by
// AWS is reported with ml-commons' text and its status, and retried like a 429 when the connector asks.
TEST_F(predict, aws_throttling_header_is_reported_and_retried) {
    const auto model_id =
        ready_model(R"("client_config": {"max_retry_times": 1, "retry_backoff_millis": 10},)");
    const auto throttled = [] {
        return fake_reply::json(400, R"({"message":"Rate exceeded"})")
            .with_header("x-amzn-ErrorType", "ThrottlingException:http://internal.amazon.com/coral/");
    };
    upstream_->enqueue(throttled());
    upstream_->enqueue(throttled());
    const auto before = upstream_->requests().size();
    auto r = predict_on(model_id);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(
        r.json().at("error").at("reason").as_string(),
        "Error from remote service: The request was denied due to remote server throttling. To change the "
        "retry policy and behavior, please update the connector client_config."
    );
    EXPECT_EQ(r.json().at("error").at("type").as_string(), "status_exception");
    EXPECT_EQ(upstream_->requests().size() - before, 2u);  // the first answer and one retry
    // Retried into a success.
    upstream_->enqueue(throttled());
    auto ok = predict_on(model_id);
    EXPECT_EQ(ok.status, 200) << ok.body;
    // Another error type is an ordinary upstream error, not retried.
    upstream_->enqueue(
        fake_reply::json(400, R"({"message":"bad"})").with_header("x-amzn-ErrorType", "ValidationException")
    );
    const auto mark = upstream_->requests().size();
    expect_error(predict_on(model_id), 400, R"(Error from remote service: {"message":"bad"})");
    EXPECT_EQ(upstream_->requests().size() - mark, 1u);
}

// max_connection bounds each model's own calls in flight (ml-commons: a client per model): a model never
// waits for another model's calls to the same host, and idle connections never take it past its limit.
TEST_F(predict, each_model_has_its_own_connection_pool) {
    const std::string one_slot = R"("client_config": {"max_connection": 1, "connection_timeout": 1},)";
    const auto a = ready_model(one_slot);
    const auto b = register_model(create_connector(one_slot), true);
    ASSERT_EQ(predict_on(b).status, 200);  // b's pool now holds an idle connection
    fake_reply slow = fake_reply::json(
        200,
        R"({"id":"s","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"slow"},"finish_reason":"stop"}]})"
    );
    slow.delay_before_headers = std::chrono::milliseconds(2000);
    upstream_->enqueue(slow);
    std::thread busy([&] {
        http_client other(server_->port());
        auto r = other.post("/_plugins/_ml/models/" + a + "/_predict", seed_predict);
        EXPECT_EQ(r.status, 200) << r.body;
    });
    ASSERT_TRUE(upstream_->wait_for_requests(2));  // a's slow call is at the upstream
    auto other_model = predict_on(b);
    EXPECT_EQ(other_model.status, 200) << other_model.body;
    // a has its one call in flight; an idle connection left by b does not raise that: a second call to a
    // waits out connection_timeout (1 s).
    auto same_model = predict_on(a);
    EXPECT_EQ(same_model.status, 429) << same_model.body;
    busy.join();
}

TEST_F(predict, two_hundred_concurrent_predicts_all_succeed) {
    const auto model_id = ready_model();
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 20; ++t) {
        threads.emplace_back([&] {
            http_client w(server_->port());
            for (int i = 0; i < 10; ++i) {
                if (w.post("/_plugins/_ml/models/" + model_id + "/_predict", seed_predict).status == 200) {
                    ++ok;
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(ok.load(), 200);
}

TEST_F(predict, deployed_models_come_back_after_restart) {
    const auto model_id = ready_model();
    ASSERT_EQ(predict_on(model_id).status, 200);
    server_->restart();
    client_ = std::make_unique<http_client>(server_->port());
    EXPECT_EQ(c().get("/_plugins/_ml/models/" + model_id).json().at("model_state").as_string(), "DEPLOYED");
    auto p = predict_on(model_id);
    ASSERT_EQ(p.status, 200) << p.body;
    EXPECT_EQ(upstream_->last_request()->header("authorization"), "Bearer sk-predict-sentinel-42");
}

TEST_F(predict, with_auto_redeploy_off_a_restart_leaves_models_deploy_failed_until_used) {
    const auto model_id = ready_model();
    ASSERT_EQ(
        c().put(
               "/_cluster/settings",
               R"({"persistent":{"plugins.ml_commons.model_auto_redeploy.enable":false}})"
        )
            .status,
        200
    );
    server_->restart();
    client_ = std::make_unique<http_client>(server_->port());
    auto m = c().get("/_plugins/_ml/models/" + model_id).json();
    EXPECT_EQ(m.at("model_state").as_string(), "DEPLOY_FAILED");
    EXPECT_EQ(m.at("current_worker_node_count").to_number<int>(), 0);
    // Not served until deployed again: with auto-deploy off the predict is refused, and nothing is sent.
    ASSERT_EQ(
        c().put(
               "/_cluster/settings", R"({"transient":{"plugins.ml_commons.model_auto_deploy.enable":false}})"
        )
            .status,
        200
    );
    const auto sent = upstream_->request_count();
    expect_error(predict_on(model_id), 400, "Model not ready yet. Please deploy the model first.");
    EXPECT_EQ(upstream_->request_count(), sent);
    // The state survives another restart (it was written), and the first predict deploys it again.
    server_->restart();
    client_ = std::make_unique<http_client>(server_->port());
    EXPECT_EQ(
        c().get("/_plugins/_ml/models/" + model_id).json().at("model_state").as_string(), "DEPLOY_FAILED"
    );
    auto p = predict_on(model_id);
    ASSERT_EQ(p.status, 200) << p.body;
    EXPECT_EQ(c().get("/_plugins/_ml/models/" + model_id).json().at("model_state").as_string(), "DEPLOYED");
}

// MLModelAutoReDeployer redeploys a model only while its auto_redeploy_retry_times is below
// lifetime_retry_times (a successful deploy writes it back to 0): 0 redeploys nothing.
TEST_F(predict, lifetime_retry_times_bounds_the_redeploy_at_restart) {
    const auto model_id = ready_model();
    const auto state = [&] {
        return std::string(c().get("/_plugins/_ml/models/" + model_id).json().at("model_state").as_string());
    };
    const auto set_lifetime = [&](int n) {
        ASSERT_EQ(
            c().put(
                   "/_cluster/settings",
                   R"({"persistent":{"plugins.ml_commons.model_auto_redeploy.lifetime_retry_times":)" +
                       std::to_string(n) + "}}"
            )
                .status,
            200
        );
    };
    set_lifetime(1);  // the stored count is 0: still redeployed
    server_->restart();
    client_ = std::make_unique<http_client>(server_->port());
    EXPECT_EQ(state(), "DEPLOYED");
    EXPECT_EQ(c().get("/_plugins/_ml/models/" + model_id).json().at("auto_redeploy_retry_times"), 0);
    set_lifetime(0);
    server_->restart();
    client_ = std::make_unique<http_client>(server_->port());
    EXPECT_EQ(state(), "DEPLOY_FAILED");
}

TEST_F(predict, lifecycle_guards_undeploy_auto_deploy_and_delete) {
    ASSERT_EQ(c().put("/_cluster/settings", trust_all).status, 200);
    ASSERT_EQ(c().put("/_cluster/settings", private_on).status, 200);
    const auto connector_id = create_connector();
    const auto model_id = register_model(connector_id, true);
    expect_error(
        c().put("/_plugins/_ml/connectors/" + connector_id, R"({"description":"x"})"),
        400,
        "1 models are still using this connector, please undeploy the models first: [" + model_id + "]"
    );
    expect_error(
        c().del("/_plugins/_ml/connectors/" + connector_id),
        409,
        "1 models are still using this connector, please delete or update the models first: [" + model_id +
            "]"
    );
    expect_error(
        c().del("/_plugins/_ml/models/" + model_id),
        400,
        "Model cannot be deleted in deploying or deployed state. Try undeploy model first then delete"
    );
    auto u = c().post("/_plugins/_ml/models/" + model_id + "/_undeploy", "");
    ASSERT_EQ(u.status, 200) << u.body;
    auto stats = u.json().as_object().begin()->value();
    EXPECT_EQ(stats.at("stats").at(model_id).as_string(), "UNDEPLOYED");
    EXPECT_EQ(c().get("/_plugins/_ml/models/" + model_id).json().at("model_state").as_string(), "UNDEPLOYED");
    // Connector updates are allowed again, and the first predict deploys the model automatically.
    EXPECT_EQ(c().put("/_plugins/_ml/connectors/" + connector_id, R"({"description":"x"})").status, 200);
    EXPECT_EQ(predict_on(model_id).status, 200);
    EXPECT_EQ(c().get("/_plugins/_ml/models/" + model_id).json().at("model_state").as_string(), "DEPLOYED");
    // With auto-deploy off globally, an undeployed model must be deployed first.
    ASSERT_EQ(c().post("/_plugins/_ml/models/" + model_id + "/_undeploy", "").status, 200);
    ASSERT_EQ(
        c().put(
               "/_cluster/settings", R"({"transient":{"plugins.ml_commons.model_auto_deploy.enable":false}})"
        )
            .status,
        200
    );
    expect_error(predict_on(model_id), 400, "Model not ready yet. Please deploy the model first.");
    auto d = c().del("/_plugins/_ml/models/" + model_id);
    ASSERT_EQ(d.status, 200) << d.body;
    EXPECT_EQ(d.json().at("result").as_string(), "deleted");
    expect_error(predict_on(model_id), 404, "Failed to find model with the provided model id: " + model_id);
    EXPECT_EQ(c().del("/_plugins/_ml/connectors/" + connector_id).status, 200);
}

TEST_F(predict, disabled_models_and_rate_limits) {
    const auto model_id =
        ready_model("", R"("is_enabled": false, "rate_limiter": {"limit": "2", "unit": "MINUTES"}, )");
    expect_error(predict_on(model_id), 403, "Model is disabled.");
    ASSERT_EQ(c().put("/_plugins/_ml/models/" + model_id, R"({"is_enabled": true})").status, 200);
    EXPECT_EQ(predict_on(model_id).status, 200);
    EXPECT_EQ(predict_on(model_id).status, 200);
    expect_error(predict_on(model_id), 429, "Request is throttled at model level.");
}

// UpdateConnectorTransportAction validates the merged connector before it looks for deployed models that
// use it: an untrusted URL is refused as such even while a model is deployed on the connector.
TEST_F(predict, a_connector_update_checks_its_urls_before_its_deployed_models) {
    const auto model_id = ready_model();
    const std::string connector_id(
        c().get("/_plugins/_ml/models/" + model_id).json().at("connector_id").as_string()
    );
    ASSERT_EQ(
        c().put(
               "/_cluster/settings",
               R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":["^https://127[.]0[.]0[.]1:.*$"]}})"
        )
            .status,
        200
    );
    const auto before = c().get("/_plugins/_ml/connectors/" + connector_id).body;
    expect_error(
        c().put(
            "/_plugins/_ml/connectors/" + connector_id,
            R"({"actions":[{"action_type":"predict","method":"POST","url":"http://evil.example/x"}]})"
        ),
        400,
        "Connector URL is not matching the trusted connector endpoint regex"
    );
    expect_error(
        c().put("/_plugins/_ml/connectors/" + connector_id, R"({"description":"d"})"),
        400,
        "1 models are still using this connector, please undeploy the models first: [" + model_id + "]"
    );
    EXPECT_EQ(c().get("/_plugins/_ml/connectors/" + connector_id).body, before);
}

// ml-commons charges the limiter in RemoteConnectorExecutor.preparePayloadAndInvoke: per upstream call,
// after the payload is built and checked. A refused payload costs nothing; a split text_docs request costs
// one token per call, and one throttled call fails the request before anything of it is sent.
TEST_F(predict, rate_limits_are_charged_per_upstream_call_after_the_payload_is_checked) {
    const auto model_id = ready_model("", R"("rate_limiter": {"limit": "2", "unit": "MINUTES"}, )");
    for (int i = 0; i < 3; ++i) {
        expect_error(predict_on(model_id, R"({"parameters":{}})"), 400, "Invalid payload: ");
    }
    EXPECT_EQ(predict_on(model_id).status, 200);
    EXPECT_EQ(predict_on(model_id).status, 200);
    expect_error(predict_on(model_id), 429, "Request is throttled at model level.");

    // One call per document with the bedrock embedding pre-process.
    auto cr = c().post(
        "/_plugins/_ml/connectors/_create",
        R"({"name":"split","version":"1","protocol":"http","parameters":{"endpoint":")" + endpoint_ +
            R"("},"credential":{"k":"v"},"actions":[{"action_type":"predict","method":"POST",)"
            R"("url":"https://${parameters.endpoint}/model/titan/invoke",)"
            R"("pre_process_function":"connector.pre_process.bedrock.embedding",)"
            R"("request_body":"{ \"inputText\": \"${parameters.inputText}\" }"}]})"
    );
    ASSERT_EQ(cr.status, 200) << cr.body;
    const auto split = c().post(
        "/_plugins/_ml/models/_register?deploy=true",
        R"({"name":"split","function_name":"remote","rate_limiter":{"limit":"3","unit":"MINUTES"},)"
        R"("connector_id":")" +
            std::string(cr.json().at("connector_id").as_string()) + R"("})"
    );
    ASSERT_EQ(split.status, 200) << split.body;
    const std::string split_id(split.json().at("model_id").as_string());
    const auto embed = [&](std::string_view docs) {
        return c().post("/_plugins/_ml/_predict/text_embedding/" + split_id, docs);
    };
    upstream_->clear_requests();
    for (int i = 0; i < 2; ++i) {
        upstream_->enqueue(fake_reply::json(200, R"({"embedding":[0.5],"inputTextTokenCount":1})"));
    }
    // A number doc is its text (TextDocsInputDataSet reads docs with parser.text()).
    const auto two = embed(R"({"text_docs":["a",2]})");
    ASSERT_EQ(two.status, 200) << two.body;
    EXPECT_EQ(two.json().at("inference_results").as_array().size(), 2U);
    EXPECT_EQ(upstream_->request_count(), 2U);
    EXPECT_EQ(upstream_->requests().at(1).body, R"({ "inputText": "2" })");
    // One token left for two calls: refused, and neither call is sent.
    expect_error(embed(R"({"text_docs":["c","d"]})"), 429, "Request is throttled at model level.");
    expect_error(embed(R"({"text_docs":["e"]})"), 429, "Request is throttled at model level.");
    EXPECT_EQ(upstream_->request_count(), 2U);
}

// `limit` is what Double.parseDouble reads, finite and not negative: anything else is the spec's 400 at
// register and at update, so no stored model carries a limit its deploy cannot use.
TEST_F(predict, a_rate_limit_that_is_not_a_finite_number_is_refused_where_it_is_given) {
    const auto model_id = ready_model("", R"("rate_limiter": {"limit": "2", "unit": "MINUTES"}, )");
    const auto connector_id =
        std::string(c().get("/_plugins/_ml/models/" + model_id).json().at("connector_id").as_string());
    const auto models = [&] {
        return c()
            .post("/_plugins/_ml/models/_search", R"({"query":{"match_all":{}},"size":100})")
            .json()
            .at("hits")
            .at("total")
            .at("value");
    };
    const auto before_count = models();
    const auto before = c().get("/_plugins/_ml/models/" + model_id).body;
    for (const std::string limit : {"1e400", "NaN", "Infinity", "0x10", "-1", "", "ten"}) {
        for (const std::string path :
             {"/_plugins/_ml/models/_register", "/_plugins/_ml/models/_register?deploy=true"}) {
            auto r = c().post(
                path,
                R"({"name":"rl","function_name":"remote","connector_id":")" + connector_id +
                    R"(","rate_limiter":{"limit":")" + limit + R"(","unit":"SECONDS"}})"
            );
            EXPECT_EQ(r.status, 400) << limit << ": " << r.body;
            EXPECT_EQ(r.json().at("error").at("reason").as_string(), "Limit field must be a positive number.")
                << r.body;
        }
        auto u =
            c().put("/_plugins/_ml/models/" + model_id, R"({"rate_limiter":{"limit":")" + limit + R"("}})");
        EXPECT_EQ(u.status, 400) << limit << ": " << u.body;
    }
    EXPECT_EQ(models(), before_count);
    EXPECT_EQ(c().get("/_plugins/_ml/models/" + model_id).body, before);
    // Java's other spellings of a number are taken.
    auto ok = c().put("/_plugins/_ml/models/" + model_id, R"({"rate_limiter":{"limit":" 3.0d "}})");
    EXPECT_EQ(ok.status, 200) << ok.body;
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(predict_on(model_id).status, 200);
    }
    expect_error(predict_on(model_id), 429, "Request is throttled at model level.");
}

// ml-commons writes a model update as a partial document, which OpenSearch merges into the stored one
// object by object: members an update leaves out are kept (MLRateLimiter.update does the same by hand).
TEST_F(predict, model_updates_merge_into_stored_objects) {
    const auto model_id = ready_model(
        "",
        R"("rate_limiter": {"limit": "1", "unit": "MINUTES"},
           "deploy_setting": {"is_auto_deploy_enabled": false, "model_ttl_minutes": 5},
           "interface": {"input": "{\"type\":\"object\"}", "output": "{\"type\":\"object\"}"},
           "guardrails": {"type": "local_regex", "input_guardrail": {"regex": [".*rob a bank.*"]},
                          "output_guardrail": {"regex": [".*forbidden answer.*"]}}, )"
    );
    const auto doc = [&] {
        return c().get("/_plugins/_ml/models/" + model_id).json();
    };
    const auto put = [&](std::string_view body) {
        auto r = c().put("/_plugins/_ml/models/" + model_id, body);
        EXPECT_EQ(r.status, 200) << r.body;
    };
    put(R"({"rate_limiter": {"limit": "2"}})");
    EXPECT_EQ(doc().at("rate_limiter"), json::parse(R"({"limit":"2","unit":"MINUTES"})"));
    put(R"({"rate_limiter": {}})");  // MLRateLimiter.updateValidityPreCheck: nothing to change
    EXPECT_EQ(doc().at("rate_limiter"), json::parse(R"({"limit":"2","unit":"MINUTES"})"));
    EXPECT_EQ(predict_on(model_id).status, 200);
    EXPECT_EQ(predict_on(model_id).status, 200);
    expect_error(predict_on(model_id), 429, "Request is throttled at model level.");

    put(R"({"deploy_setting": {"model_ttl_minutes": 7}})");
    EXPECT_EQ(
        doc().at("deploy_setting"), json::parse(R"({"is_auto_deploy_enabled":false,"model_ttl_minutes":7})")
    );
    // MLDeploySetting writes a TTL it was not given as -1, so that one does change.
    put(R"({"deploy_setting": {"is_auto_deploy_enabled": true}})");
    EXPECT_EQ(
        doc().at("deploy_setting"), json::parse(R"({"is_auto_deploy_enabled":true,"model_ttl_minutes":-1})")
    );

    put(R"({"interface": {"input": "{\"type\":\"object\",\"required\":[\"parameters\"]}"}})");
    EXPECT_EQ(
        doc().at("interface"),
        json::parse(
            R"({"input":"{\"type\":\"object\",\"required\":[\"parameters\"]}","output":"{\"type\":\"object\"}"})"
        )
    );

    put(R"({"guardrails": {"type": "local_regex", "input_guardrail": {"regex": [".*bread.*"]}}})");
    EXPECT_EQ(
        doc().at("guardrails").at("output_guardrail"), json::parse(R"({"regex":[".*forbidden answer.*"]})")
    );
    EXPECT_EQ(doc().at("guardrails").at("input_guardrail"), json::parse(R"({"regex":[".*bread.*"]})"));
}

TEST_F(predict, idle_models_are_undeployed_after_their_ttl) {
    const auto state_of = [&](const std::string& id) {
        return std::string(c().get("/_plugins/_ml/models/" + id).json().at("model_state").as_string());
    };
    const auto set_interval = [&](int seconds) {
        ASSERT_EQ(
            c().put(
                   "/_cluster/settings",
                   R"({"persistent":{"plugins.ml_commons.sync_up_job_interval_in_seconds":)" +
                       std::to_string(seconds) + "}}"
            )
                .status,
            200
        );
    };
    // An interval of 0 stops the sync-up job: nothing expires, not even a TTL of 0.
    set_interval(0);
    ASSERT_EQ(c().put("/_cluster/settings", trust_all).status, 200);
    ASSERT_EQ(c().put("/_cluster/settings", private_on).status, 200);
    const auto connector_id = create_connector();
    const auto deployed = [&](std::string_view name, int ttl) {
        auto r = c().post(
            "/_plugins/_ml/models/_register?deploy=true",
            R"({"name":")" + std::string(name) + R"(","function_name":"remote","connector_id":")" +
                connector_id + R"(","deploy_setting":{"model_ttl_minutes":)" + std::to_string(ttl) + "}}"
        );
        EXPECT_EQ(r.status, 200) << r.body;
        return std::string(r.json().at("model_id").as_string());
    };
    // Polls up to 10 s for the model to be undeployed.
    const auto undeployed_soon = [&](const std::string& id) {
        for (int i = 0; i < 100 && state_of(id) != "UNDEPLOYED"; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return state_of(id) == "UNDEPLOYED";
    };
    const auto zero = deployed("ttl zero", 0);
    const auto never = deployed("ttl never", -1);
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    EXPECT_EQ(state_of(zero), "DEPLOYED");
    // MLModelCacheHelper.getExpiredModels: only a negative TTL never expires; 0 expires at the next run.
    set_interval(1);
    EXPECT_TRUE(undeployed_soon(zero));
    EXPECT_EQ(state_of(never), "DEPLOYED");

    // A new interval counts from when it is set, as ml-commons restarts its cron: lowering it from 600 s
    // takes effect at once, not after the old interval has run out.
    set_interval(600);
    const auto later = deployed("ttl zero later", 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    EXPECT_EQ(state_of(later), "DEPLOYED");
    set_interval(1);
    EXPECT_TRUE(undeployed_soon(later));
}

TEST_F(predict, models_groups_and_tasks_are_searchable) {
    const auto model_id = ready_model();
    auto m = c().post("/_plugins/_ml/models/_search", R"({"query":{"term":{"_id":")" + model_id + R"("}}})");
    ASSERT_EQ(m.status, 200) << m.body;
    EXPECT_EQ(m.json().at("hits").at("total").at("value").to_number<int>(), 1);
    auto t =
        c().post("/_plugins/_ml/tasks/_search", R"({"query":{"term":{"model_id":")" + model_id + R"("}}})");
    ASSERT_EQ(t.status, 200) << t.body;
    EXPECT_EQ(t.json().at("hits").at("total").at("value").to_number<int>(), 2);  // register + deploy
    auto g = c().post("/_plugins/_ml/model_groups/_search", R"({"query":{"match_all":{}}})");
    EXPECT_EQ(g.json().at("hits").at("total").at("value").to_number<int>(), 1);
    // Every model is stored with is_hidden (false unless the super-admin registered it), as ml-commons
    // stores it, so it can be searched for.
    auto visible = c().post("/_plugins/_ml/models/_search", R"({"query":{"term":{"is_hidden":false}}})");
    ASSERT_EQ(visible.status, 200) << visible.body;
    EXPECT_EQ(visible.json().at("hits").at("total").at("value").to_number<int>(), 1) << visible.body;
    // `_source` excludes as one string, on every search (it once crashed the server).
    for (const char* kind : {"connectors", "model_groups", "models", "tasks"}) {
        auto r = c().post(
            std::string("/_plugins/_ml/") + kind + "/_search", R"({"_source":{"excludes":"description"}})"
        );
        ASSERT_EQ(r.status, 200) << kind << ": " << r.body;
        EXPECT_EQ(r.body.find("\"description\""), std::string::npos) << kind << ": " << r.body;
    }
}

TEST_F(predict, bad_model_inputs_change_nothing) {
    ASSERT_EQ(c().put("/_cluster/settings", trust_all).status, 200);
    const auto connector_id = create_connector();
    auto all_models = [&] {
        return json::serialize(
            c().post("/_plugins/_ml/models/_search", R"({"query":{"match_all":{}}})").json().at("hits")
        );
    };
    const auto before = all_models();
    expect_error(
        c().post("/_plugins/_ml/models/_register", R"({"function_name":"remote","connector_id":"x"})"),
        400,
        "model name is null"
    );
    expect_error(
        c().post(
            "/_plugins/_ml/models/_register", R"({"name":"m","connector_id":")" + connector_id + R"("})"
        ),
        400,
        "model format is null"
    );
    // A pretrained model (the API specification's stories register one): said plainly.
    expect_error(
        c().post(
            "/_plugins/_ml/models/_register",
            R"({"name":"huggingface/sentence-transformers/msmarco-distilbert-base-tas-b","version":"1.0.2","model_format":"TORCH_SCRIPT"})"
        ),
        400,
        "modelrelay serves remote models only: local and pretrained models (model_format, function_name "
        "other "
        "than remote) cannot be registered"
    );
    expect_error(
        c().post(
            "/_plugins/_ml/models/_register", R"({"name":"m","function_name":"remote","connector_id":"nope"})"
        ),
        404,
        "Failed to find connector:nope"
    );
    expect_error(
        c().post("/_plugins/_ml/models/_register", R"({"name":"m","function_name":"remote"})"),
        400,
        "You must provide connector content when creating a remote model without connector id!"
    );
    for (const char* actions : {"", R"(,"actions":[])"}) {
        expect_error(
            c().post(
                "/_plugins/_ml/models/_register",
                std::string(
                    R"({"name":"m","function_name":"remote","connector":{"name":"c","version":"1","protocol":"http","credential":{"k":"v"})"
                ) + actions +
                    "}}"
            ),
            400,
            "Connector endpoint is required when creating a remote model without connector id!"
        );
    }
    expect_error(
        c().post("/_plugins/_ml/models/nope/_deploy", ""),
        404,
        "Failed to find model with the provided model id: nope"
    );
    EXPECT_EQ(all_models(), before);
}

// MLRegisterModelInput's parse order and blank ids, the path-named register route, model_config, and the
// unknown fields ml-commons' update and group parsers skip.
TEST_F(predict, register_and_update_read_bodies_as_ml_commons_parses_them) {
    ASSERT_EQ(c().put("/_cluster/settings", trust_all).status, 200);
    const auto connector_id = create_connector();
    auto everything = [&] {
        std::string out;
        for (const char* index : {"models", "model_groups"}) {
            out += json::serialize(c().post(
                                          std::string("/_plugins/_ml/") + index + "/_search",
                                          R"({"query":{"match_all":{}},"seq_no_primary_term":true})"
            )
                                       .json()
                                       .at("hits"));
        }
        return out;
    };
    // Group first: the group named here is missing, so its error wins over the connector's.
    const auto g = c().post("/_plugins/_ml/model_groups/_register", R"({"name":"first group"})");
    ASSERT_EQ(g.status, 200) << g.body;
    const auto before = everything();
    expect_error(
        c().post(
            "/_plugins/_ml/models/_register",
            R"({"name":"m","function_name":"remote","connector_id":"nope","model_group_id":"nogroup"})"
        ),
        500,
        "Model Group Response is empty for nogroup"
    );
    expect_error(c().post("/_plugins/_ml/models/_register", "{}"), 400, "model name is null");
    expect_error(
        c().post("/_plugins/_ml/models/_register", R"({"connector_id":"x"})"), 400, "model name is null"
    );
    expect_error(
        c().post("/_plugins/_ml/models/_register", R"({"name":"m","function_name":"bogus"})"),
        400,
        "Wrong function name"
    );
    // A blank connector_id is no id: the inline connector is missing.
    expect_error(
        c().post(
            "/_plugins/_ml/models/_register", R"({"name":"m","function_name":"remote","connector_id":" "})"
        ),
        400,
        "You must provide connector content when creating a remote model without connector id!"
    );
    // The path-named route reads no connector fields.
    expect_error(
        c().post(
            "/_plugins/_ml/models/pathname/1/_register",
            R"({"function_name":"remote","connector_id":")" + connector_id + R"("})"
        ),
        400,
        "You must provide connector content when creating a remote model without connector id!"
    );
    expect_error(
        c().post("/_plugins/_ml/models/pathname/1/_upload", R"({"name":"x"})"), 400, "model format is null"
    );
    EXPECT_EQ(everything(), before);

    // An empty model_group_id is no group: the model gets one named after it, with its description.
    const auto m = c().post(
        "/_plugins/_ml/models/_register",
        R"({"name":"auto named","function_name":"remote","connector_id":")" + connector_id +
            R"(","model_group_id":"","description":"carried over","model_config":{"model_type":"bert","embedding_dimension":768}})"
    );
    ASSERT_EQ(m.status, 200) << m.body;
    const std::string model_id(m.json().at("model_id").as_string());
    auto doc = c().get("/_plugins/_ml/models/" + model_id).json().as_object();
    EXPECT_EQ(json::serialize(doc.at("model_config")), R"({"model_type":"bert","embedding_dimension":768})");
    const std::string group_id(doc.at("model_group_id").as_string());
    auto group = c().get("/_plugins/_ml/model_groups/" + group_id).json().as_object();
    EXPECT_EQ(group.at("name").as_string(), "auto named");
    EXPECT_EQ(group.at("description").as_string(), "carried over");

    // Update: model_config is merged into the stored one (a partial document); unknown fields (the docs'
    // `connectors` among them) are skipped.
    auto u = c().put(
        "/_plugins/_ml/models/" + model_id,
        R"({"model_config":{"model_type":"gpt","additional_config":{"space_type":"l2"}},"foo":1,"connectors":{"credential":{"k":"v"}}})"
    );
    ASSERT_EQ(u.status, 200) << u.body;
    doc = c().get("/_plugins/_ml/models/" + model_id).json().as_object();
    EXPECT_EQ(
        json::serialize(doc.at("model_config")),
        R"({"model_type":"gpt","embedding_dimension":768,"additional_config":{"space_type":"l2"}})"
    );
    EXPECT_FALSE(doc.contains("foo"));
    EXPECT_FALSE(doc.contains("connectors"));
    auto gu = c().put("/_plugins/_ml/model_groups/" + group_id, R"({"description":"d2","tags":["x"]})");
    ASSERT_EQ(gu.status, 200) << gu.body;
    group = c().get("/_plugins/_ml/model_groups/" + group_id).json().as_object();
    EXPECT_EQ(group.at("description").as_string(), "d2");
    EXPECT_FALSE(group.contains("tags"));
    auto gr = c().post("/_plugins/_ml/model_groups/_register", R"({"name":"with extra","extra":{"a":1}})");
    ASSERT_EQ(gr.status, 200) << gr.body;
}

// ml-commons' request validation of names and descriptions (StringUtils.validateFields, every failure
// listed, in the labels' HashMap order) and OpenSearch's strict boolean query parameters.
TEST_F(predict, names_and_boolean_flags_are_validated_before_anything_is_stored) {
    ASSERT_EQ(c().put("/_cluster/settings", trust_all).status, 200);
    const auto connector_id = create_connector();
    const auto group = c().post("/_plugins/_ml/model_groups/_register", R"({"name":"kept group"})");
    ASSERT_EQ(group.status, 200) << group.body;
    const std::string group_id(group.json().at("model_group_id").as_string());
    const auto model = c().post(
        "/_plugins/_ml/models/_register",
        R"({"name":"kept model","function_name":"remote","connector_id":")" + connector_id + R"("})"
    );
    ASSERT_EQ(model.status, 200) << model.body;
    const std::string model_id(model.json().at("model_id").as_string());
    const auto everything = [&] {
        const std::string all = R"({"query":{"match_all":{}},"size":100})";
        return json::serialize(c().post("/_plugins/_ml/models/_search", all).json().at("hits")) +
               json::serialize(c().post("/_plugins/_ml/model_groups/_search", all).json().at("hits"));
    };
    const auto before = everything();
    const std::string unsafe =
        " can only contain letters, numbers, spaces, and basic punctuation (.,!?():@-_'/\");";
    const auto validation = [&](const http_result& r, const std::string& reason) {
        expect_error(r, 400, reason);
        EXPECT_EQ(r.json().at("error").at("type").as_string(), "action_request_validation_exception")
            << r.body;
    };
    const auto reg = [&](const std::string& fields) {
        return c().post(
            "/_plugins/_ml/models/_register",
            R"({"function_name":"remote","connector_id":")" + connector_id + R"(",)" + fields + "}"
        );
    };
    validation(reg(R"("name":"bad<model>")"), "Validation Failed: 1: Model name" + unsafe);
    validation(
        reg(R"("name":"  ","description":"<d>")"),
        "Validation Failed: 1: Model description" + unsafe +
            "2: Model name is required and cannot be null or blank;"
    );
    validation(
        c().put("/_plugins/_ml/models/" + model_id, R"({"name":"still<bad>","description":"<d>"})"),
        "Validation Failed: 1: Model Description" + unsafe + "2: Model Name" + unsafe
    );
    validation(
        c().post("/_plugins/_ml/model_groups/_register", R"({"name":"bad<name>"})"),
        "Validation Failed: 1: Model group name" + unsafe
    );
    validation(
        c().post("/_plugins/_ml/model_groups/_register", R"({"description":"x"})"),
        "Validation Failed: 1: Model group name is required and cannot be null or blank;"
    );
    validation(
        c().put("/_plugins/_ml/model_groups/" + group_id, R"({"description":"a|b"})"),
        "Validation Failed: 1: Model group description" + unsafe
    );
    const std::string bad_flag = "Failed to parse value [no] as only [true] or [false] are allowed.";
    expect_error(c().post("/_plugins/_ml/models/_register?deploy=no", R"({"name":"x"})"), 400, bad_flag);
    expect_error(c().get("/_cluster/settings?flat_settings=no"), 400, bad_flag);
    expect_error(c().get("/_cluster/settings?include_defaults=no"), 400, bad_flag);
    expect_error(c().get("/_cluster/settings?local=no"), 400, bad_flag);
    // The timeouts are TimeValues (RestRequest.paramAsTime), though one node never waits.
    expect_error(
        c().get("/_cluster/settings?cluster_manager_timeout=abc"),
        400,
        "failed to parse setting [cluster_manager_timeout] with value [abc] as a time value: unit is missing "
        "or "
        "unrecognized"
    );
    expect_error(
        c().put(
            "/_cluster/settings?timeout=-5s", R"({"persistent":{"plugins.ml_commons.stream_enabled":true}})"
        ),
        400,
        "failed to parse setting [timeout] with value [-5s] as a time value: negative durations are not "
        "supported"
    );
    // BaseRestHandler.parseDeprecatedMasterTimeoutParameter refuses the old name next to the new one.
    const auto both = c().put(
        "/_cluster/settings?master_timeout=3s&cluster_manager_timeout=1h",
        R"({"persistent":{"plugins.ml_commons.stream_enabled":true}})"
    );
    expect_error(
        both, 400, "Please only use one of the request parameters [master_timeout, cluster_manager_timeout]."
    );
    EXPECT_NE(both.body.find(R"("type":"parse_exception")"), std::string::npos) << both.body;
    expect_error(
        c().get("/_cluster/settings?cluster_manager_timeout=1h&master_timeout=3s"),
        400,
        "Please only use one of the request parameters [master_timeout, cluster_manager_timeout]."
    );
    EXPECT_EQ(everything(), before);
    EXPECT_EQ(c().get("/_cluster/settings?master_timeout=3s").status, 200);
    EXPECT_EQ(c().get("/_cluster/settings?local=true&cluster_manager_timeout=30s").status, 200);

    // A blank name on a group update is ignored, as ml-commons applies only a non-blank one.
    ASSERT_EQ(c().put("/_plugins/_ml/model_groups/" + group_id, R"({"name":"  "})").status, 200);
    EXPECT_EQ(c().get("/_plugins/_ml/model_groups/" + group_id).json().at("name").as_string(), "kept group");
    // `?deploy` with no value means true.
    const auto deployed = reg(R"("name":"deployed at once")");
    ASSERT_EQ(deployed.status, 200);
    const auto flagged = c().post(
        "/_plugins/_ml/models/_register?deploy",
        R"({"name":"flag","function_name":"remote","connector_id":")" + connector_id + R"("})"
    );
    ASSERT_EQ(flagged.status, 200) << flagged.body;
    const std::string flagged_id(flagged.json().at("model_id").as_string());
    EXPECT_EQ(c().get("/_plugins/_ml/models/" + flagged_id).json().at("model_state").as_string(), "DEPLOYED");
}

// Model and group details from ml-commons' code: error types, defaults, member order, re-linking.
TEST_F(predict, model_lifecycle_details_follow_ml_commons) {
    ASSERT_EQ(c().put("/_cluster/settings", trust_all).status, 200);
    const auto connector_id = create_connector();
    const auto reg = [&](const std::string& name, const std::string& extra, const std::string& query = "") {
        auto r = c().post(
            "/_plugins/_ml/models/_register" + query,
            R"({"name":")" + name + R"(","function_name":"remote","connector_id":")" + connector_id + "\"" +
                extra + "}"
        );
        EXPECT_EQ(r.status, 200) << r.body;
        return std::string(r.json().at("model_id").as_string());
    };
    // deploy_setting: an absent TTL is written as -1.
    const auto m1 = reg("m1", R"(,"deploy_setting":{"is_auto_deploy_enabled":false})");
    EXPECT_EQ(
        c().get("/_plugins/_ml/models/" + m1).json().at("deploy_setting"),
        json::parse(R"({"is_auto_deploy_enabled":false,"model_ttl_minutes":-1})")
    );
    // Error types.
    const auto deployed = reg("m2", "", "?deploy=true");
    auto del = c().del("/_plugins/_ml/models/" + deployed);
    EXPECT_EQ(del.status, 400) << del.body;
    EXPECT_EQ(del.json().at("error").at("type").as_string(), "status_exception") << del.body;
    auto empty = c().put("/_plugins/_ml/models/" + m1, "");
    EXPECT_EQ(empty.status, 400) << empty.body;
    EXPECT_EQ(empty.json().at("error").at("type").as_string(), "parse_exception") << empty.body;
    EXPECT_EQ(empty.json().at("error").at("reason").as_string(), "Update model request has empty body");
    // `{}` has content: RestMLUpdateModelAction parses it as an update of nothing, which succeeds.
    const auto before_noop = c().get("/_plugins/_ml/models/" + m1).json().at("last_updated_time").as_int64();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const auto noop = c().put("/_plugins/_ml/models/" + m1, "{}");
    EXPECT_EQ(noop.status, 200) << noop.body;
    EXPECT_EQ(noop.json().at("result").as_string(), "updated") << noop.body;
    EXPECT_GT(c().get("/_plugins/_ml/models/" + m1).json().at("last_updated_time").as_int64(), before_noop);
    // The update refusals ml-commons raises as OpenSearchStatusException(BAD_REQUEST).
    const auto inline_model = c().post(
        "/_plugins/_ml/models/_register",
        R"({"name":"inline","function_name":"remote","connector":)" + seed_connector(endpoint_, "") + "}"
    );
    ASSERT_EQ(inline_model.status, 200) << inline_model.body;
    const std::string inline_id(inline_model.json().at("model_id").as_string());
    const auto stored_models = [&] {
        return c().get("/_plugins/_ml/models/" + m1).body + c().get("/_plugins/_ml/models/" + inline_id).body;
    };
    const auto models_before = stored_models();
    const auto expect_status_exception =
        [&](const std::string& id, const std::string& body, std::string_view reason) {
            const auto r = c().put("/_plugins/_ml/models/" + id, body);
            EXPECT_EQ(r.status, 400) << r.body;
            EXPECT_EQ(r.json().at("error").at("type").as_string(), "status_exception") << r.body;
            EXPECT_EQ(r.json().at("error").at("reason").as_string(), reason) << r.body;
        };
    expect_status_exception(
        m1,
        R"({"connector_id":")" + connector_id + R"(","connector":{"name":"x"}})",
        "Model cannot have both stand-alone connector and internal connector. Please check your update input "
        "body."
    );
    expect_status_exception(
        m1,
        R"({"connector":{"name":"x"}})",
        "Cannot update connector settings for this model. The model was created with a connector_id and does "
        "not "
        "have an inline connector."
    );
    expect_status_exception(
        inline_id,
        R"({"connector_id":")" + connector_id + R"("})",
        "This remote does not have a connector_id field, maybe it uses an internal connector."
    );
    EXPECT_EQ(stored_models(), models_before);
    // No body on _register: OpenSearch core's contentParser() text.
    const auto no_body = c().post("/_plugins/_ml/models/_register", "");
    EXPECT_EQ(no_body.status, 400) << no_body.body;
    EXPECT_EQ(no_body.json().at("error").at("type").as_string(), "parse_exception") << no_body.body;
    EXPECT_EQ(no_body.json().at("error").at("reason").as_string(), "request body is required")
        << no_body.body;
    // A model read back shows is_hidden (MLModel.parse defaults it to false), after deploy_to_all_nodes and
    // before connector_id.
    std::vector<std::string> model_keys;
    const auto model_view = c().get("/_plugins/_ml/models/" + m1).json();
    for (const auto& kv : model_view.as_object()) {
        model_keys.emplace_back(kv.key());
    }
    const auto hidden_at = std::find(model_keys.begin(), model_keys.end(), "is_hidden");
    ASSERT_NE(hidden_at, model_keys.end());
    EXPECT_EQ(*(hidden_at + 1), "connector_id");
    EXPECT_EQ(model_view.at("is_hidden"), json::value(false));
    // A group keeps MLModelGroup.toXContent's member order after an update adds a description.
    const auto g = c().post("/_plugins/_ml/model_groups/_register", R"({"name":"target group"})");
    ASSERT_EQ(g.status, 200) << g.body;
    const std::string group_id(g.json().at("model_group_id").as_string());
    ASSERT_EQ(c().put("/_plugins/_ml/model_groups/" + group_id, R"({"description":"d"})").status, 200);
    std::vector<std::string> keys;
    const auto group = c().get("/_plugins/_ml/model_groups/" + group_id).json();
    for (const auto& kv : group.as_object()) {
        keys.emplace_back(kv.key());
    }
    ASSERT_GE(keys.size(), 3U);
    EXPECT_EQ(keys[2], "description") << json::serialize(group);
    // Re-linking a model makes it the target's next version and touches the target's last_updated_time.
    const auto before = group.at("last_updated_time").as_int64();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(
        c().put("/_plugins/_ml/models/" + m1, R"({"model_group_id":")" + group_id + R"("})").status, 200
    );
    const auto after = c().get("/_plugins/_ml/model_groups/" + group_id).json();
    EXPECT_EQ(after.at("latest_version").as_int64(), 1);
    EXPECT_GT(after.at("last_updated_time").as_int64(), before);
    expect_error(
        c().put("/_plugins/_ml/models/" + m1, R"({"model_group_id":"nope"})"),
        404,
        "Failed to find the model group with the provided model group id in the update model input, "
        "MODEL_GROUP_ID: nope"
    );
}

// `_deploy {"node_ids":[...]}`: refused unless allow_custom_deployment_plan; ids without this node's are
// `no eligible node found` (nothing changes); with it, the model is deployed to that node only.
TEST_F(predict, deploy_with_node_ids) {
    ASSERT_EQ(c().put("/_cluster/settings", trust_all).status, 200);
    const auto connector_id = create_connector();
    auto reg = c().post(
        "/_plugins/_ml/models/_register",
        R"({"name":"n","function_name":"remote","connector_id":")" + connector_id + R"("})"
    );
    ASSERT_EQ(reg.status, 200) << reg.body;
    const std::string id(reg.json().at("model_id").as_string());
    const std::string deploy = "/_plugins/_ml/models/" + id + "/_deploy";
    expect_error(c().post(deploy, R"({"node_ids":["bogus"]})"), 400, "Don't allow custom deployment plan");
    expect_error(
        c().post(deploy, R"({"node_ids":"bogus"})"),
        400,
        "Failed to parse object: expecting token of type [START_ARRAY] but found [VALUE_STRING]"
    );
    EXPECT_EQ(c().get("/_plugins/_ml/models/" + id).json().at("model_state").as_string(), "REGISTERED");
    // An empty list deploys to all nodes, as no list does (TransportDeployModelAction), setting or not.
    auto to_all = c().post(deploy, R"({"node_ids":[]})");
    ASSERT_EQ(to_all.status, 200) << to_all.body;
    EXPECT_EQ(c().get("/_plugins/_ml/models/" + id).json().at("model_state").as_string(), "DEPLOYED");
    ASSERT_EQ(c().post("/_plugins/_ml/models/" + id + "/_undeploy", "").status, 200);
    ASSERT_EQ(
        c().put(
               "/_cluster/settings",
               R"({"transient":{"plugins.ml_commons.allow_custom_deployment_plan":true}})"
        )
            .status,
        200
    );
    expect_error(c().post(deploy, R"({"node_ids":["bogus"]})"), 400, "no eligible node found");
    EXPECT_EQ(c().get("/_plugins/_ml/models/" + id).json().at("model_state").as_string(), "UNDEPLOYED");
    // Learn this node's id from a plain deploy, then deploy to it by id.
    ASSERT_EQ(c().post(deploy, "").status, 200);
    auto plain = c().get("/_plugins/_ml/models/" + id).json().as_object();
    EXPECT_EQ(plain.at("deploy_to_all_nodes"), json::value(true));
    const std::string node(plain.at("planning_worker_nodes").at(0).as_string());
    ASSERT_EQ(c().post("/_plugins/_ml/models/" + id + "/_undeploy", "").status, 200);
    auto targeted = c().post(deploy, R"({"node_ids":[")" + node + R"("]})");
    ASSERT_EQ(targeted.status, 200) << targeted.body;
    auto after = c().get("/_plugins/_ml/models/" + id).json().as_object();
    EXPECT_EQ(after.at("model_state").as_string(), "DEPLOYED");
    EXPECT_FALSE(after.contains("deploy_to_all_nodes")) << json::serialize(after);
}

// `_undeploy` reads its body as RestMLUndeployModelAction does: it must be an object, `node_ids` need the
// custom deployment plan setting, `model_ids` replace the path's id; a refused body undeploys nothing.
TEST_F(predict, undeploy_bodies_are_checked_before_anything_changes) {
    const auto id = ready_model();
    const auto state = [&](const std::string& model) {
        return std::string(c().get("/_plugins/_ml/models/" + model).json().at("model_state").as_string());
    };
    ASSERT_EQ(state(id), "DEPLOYED");
    const std::string path = "/_plugins/_ml/models/" + id + "/_undeploy";
    const auto version = c().get("/_plugins/_ml/models/" + id).json().at("model_version");
    EXPECT_EQ(c().post(path, "{x").json().at("error").at("type").as_string(), "json_parse_exception");
    expect_error(
        c().post(path, "[1]"),
        400,
        "Failed to parse object: expecting token of type [START_OBJECT] but found [START_ARRAY]"
    );
    expect_error(
        c().post(path, R"({"model_ids":"x"})"),
        400,
        "Failed to parse object: expecting token of type [START_ARRAY] but found [VALUE_STRING]"
    );
    expect_error(c().post(path, R"({"node_ids":["elsewhere"]})"), 400, "Don't allow custom deployment plan");
    expect_error(
        c().post(
            "/_plugins/_ml/models/_undeploy", R"({"model_ids":[")" + id + R"("],"node_ids":["elsewhere"]})"
        ),
        400,
        "Don't allow custom deployment plan"
    );
    EXPECT_EQ(state(id), "DEPLOYED");
    EXPECT_EQ(c().get("/_plugins/_ml/models/" + id).json().at("model_version"), version);
    EXPECT_EQ(predict_on(id).status, 200);

    // With the plan allowed, a list without this node undeploys nothing here.
    ASSERT_EQ(
        c().put(
               "/_cluster/settings",
               R"({"transient":{"plugins.ml_commons.allow_custom_deployment_plan":true}})"
        )
            .status,
        200
    );
    auto elsewhere = c().post(path, R"({"node_ids":["elsewhere"]})");
    EXPECT_EQ(elsewhere.status, 200) << elsewhere.body;
    EXPECT_EQ(elsewhere.body, "{}");
    EXPECT_EQ(state(id), "DEPLOYED");
    // `model_ids` in the body name the models, the path's id aside.
    auto by_body =
        c().post("/_plugins/_ml/models/not-this-one/_undeploy", R"({"model_ids":[")" + id + R"("]})");
    EXPECT_EQ(by_body.status, 200) << by_body.body;
    EXPECT_EQ(state(id), "UNDEPLOYED");
}

TEST_F(predict, algorithm_route_and_per_model_auto_deploy_switch) {
    const auto model_id = ready_model("", R"("deploy_setting": {"is_auto_deploy_enabled": false}, )");
    auto p = c().post("/_plugins/_ml/_predict/remote/" + model_id, seed_predict);
    EXPECT_EQ(p.status, 200) << p.body;
    expect_error(
        c().post("/_plugins/_ml/_predict/bogus/" + model_id, seed_predict), 400, "Wrong function name"
    );
    ASSERT_EQ(c().post("/_plugins/_ml/models/" + model_id + "/_undeploy", "").status, 200);
    expect_error(
        predict_on(model_id),
        400,
        "Auto deployment disabled for this model, please deploy model first Model ID: " + model_id
    );
}

TEST_F(predict, inline_connector_credentials_rotate_on_a_deployed_model) {
    ASSERT_EQ(c().put("/_cluster/settings", trust_all).status, 200);
    ASSERT_EQ(c().put("/_cluster/settings", private_on).status, 200);
    const std::string body =
        R"({"name": "inline", "function_name": "remote", "connector": )" + seed_connector(endpoint_) + "}";
    auto r = c().post("/_plugins/_ml/models/_register?deploy=true", body);
    ASSERT_EQ(r.status, 200) << r.body;
    const std::string model_id(r.json().at("model_id").as_string());
    auto got = c().get("/_plugins/_ml/models/" + model_id);
    EXPECT_EQ(got.body.find("sk-predict"), std::string::npos);
    EXPECT_FALSE(got.json().at("connector").as_object().contains("credential"));
    ASSERT_EQ(predict_on(model_id).status, 200);
    EXPECT_EQ(upstream_->last_request()->header("authorization"), "Bearer sk-predict-sentinel-42");
    auto u = c().put(
        "/_plugins/_ml/models/" + model_id, R"({"connector": {"credential": {"openAI_key": "sk-rotated"}}})"
    );
    ASSERT_EQ(u.status, 200) << u.body;
    EXPECT_EQ(u.json().at("result").as_string(), "updated");
    ASSERT_EQ(predict_on(model_id).status, 200);
    EXPECT_EQ(upstream_->last_request()->header("authorization"), "Bearer sk-rotated");
}

TEST_F(predict, model_groups_and_tasks_lifecycle) {
    auto g = c().post("/_plugins/_ml/model_groups/_register", R"({"name": "group one", "description": "d"})");
    ASSERT_EQ(g.status, 200) << g.body;
    EXPECT_EQ(g.json().at("status").as_string(), "CREATED");
    const std::string group_id(g.json().at("model_group_id").as_string());
    expect_error(
        c().post("/_plugins/_ml/model_groups/_register", R"({"name": "group one"})"),
        400,
        "The name you provided is already being used by a model group with ID: " + group_id + "."
    );
    ASSERT_EQ(c().put("/_cluster/settings", trust_all).status, 200);
    const auto connector_id = create_connector();
    auto m = c().post(
        "/_plugins/_ml/models/_register",
        R"({"name":"m1","function_name":"remote","model_group_id":")" + group_id + R"(","connector_id":")" +
            connector_id + R"("})"
    );
    ASSERT_EQ(m.status, 200) << m.body;
    const std::string model_id(m.json().at("model_id").as_string());
    const std::string task_id(m.json().at("task_id").as_string());
    auto task = c().get("/_plugins/_ml/tasks/" + task_id).json();
    EXPECT_EQ(task.at("task_type").as_string(), "REGISTER_MODEL");
    EXPECT_EQ(task.at("state").as_string(), "COMPLETED");
    EXPECT_EQ(task.at("model_id").as_string(), model_id);
    EXPECT_EQ(
        c().get("/_plugins/_ml/model_groups/" + group_id).json().at("latest_version").to_number<int>(), 1
    );
    expect_error(
        c().del("/_plugins/_ml/model_groups/" + group_id),
        409,
        "Cannot delete the model group when it has associated model versions"
    );
    auto upd = c().put("/_plugins/_ml/model_groups/" + group_id, R"({"description": "new"})");
    EXPECT_EQ(upd.body, R"({"status":"Updated"})");
    auto dt = c().del("/_plugins/_ml/tasks/" + task_id);
    EXPECT_EQ(dt.json().at("result").as_string(), "deleted");
    expect_error(c().get("/_plugins/_ml/tasks/" + task_id), 404, "Failed to find task");
    ASSERT_EQ(c().del("/_plugins/_ml/models/" + model_id).status, 200);
    EXPECT_EQ(c().del("/_plugins/_ml/model_groups/" + group_id).json().at("result").as_string(), "deleted");
}

// The system trust store is loaded lazily (at the first HTTPS connection), but an extra CA file that
// cannot be read is still refused before the server listens.
TEST(predict_trust, an_unreadable_upstream_ca_file_is_a_startup_error) {
    temp_dir tmp;
    const auto garbage = tmp.path() / "garbage.pem";
    std::ofstream(garbage) << "not a certificate\n";
    for (const auto& file : {garbage, tmp.path() / "missing.pem"}) {
        server_process s(tmp.path() / "data", {{"MODELRELAY_UPSTREAM_CA_FILE", file.string()}});
        EXPECT_NE(s.start_expect_failure(), 0);
        EXPECT_NE(s.log().find("cannot set up the upstream client"), std::string::npos) << s.log();
        EXPECT_NE(s.log().find("cannot load CA file " + file.string()), std::string::npos) << s.log();
    }
}

// The HTTPS connection made right after the port file appears installs the trust store itself when the
// warm-up has not finished: a burst of first calls on fresh processes all verify the upstream.
TEST(predict_trust, https_calls_right_after_start_up_verify_the_upstream) {
    fake_upstream upstream(fake_upstream_options::https());
    for (int round = 0; round < 3; ++round) {
        temp_dir tmp;
        server_process s(
            tmp.path() / "data", {{"MODELRELAY_UPSTREAM_CA_FILE", test_ca::instance().ca_file()}}
        );
        s.start();
        http_client c(s.port());
        ASSERT_EQ(
            c.put(
                 "/_cluster/settings",
                 R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[".*"],)"
                 R"("plugins.ml_commons.connector.private_ip_enabled":true}})"
            )
                .status,
            200
        );
        auto created = c.post(
            "/_plugins/_ml/connectors/_create", seed_connector("127.0.0.1:" + std::to_string(upstream.port()))
        );
        ASSERT_EQ(created.status, 200) << created.body;
        auto model = c.post(
            "/_plugins/_ml/models/_register?deploy=true",
            R"({"name":"m","function_name":"remote","connector_id":")" +
                std::string(created.json().at("connector_id").as_string()) + R"("})"
        );
        ASSERT_EQ(model.status, 200) << model.body;
        const std::string id(model.json().at("model_id").as_string());
        auto r = c.post(
            "/_plugins/_ml/models/" + id + "/_predict",
            R"({"parameters":{"messages":[{"role":"user","content":"hi"}]}})"
        );
        EXPECT_EQ(r.status, 200) << r.body;
    }
}

}  // namespace
}  // namespace modelrelay::test
