// File: model_setup.cpp
#include "tests/support/model_setup.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace modelrelay::test {

void open_cluster_settings(http_client& c, bool stream_enabled) {
    const std::string body =
        std::string(R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"],)") +
        R"("plugins.ml_commons.connector.private_ip_enabled":true,"plugins.ml_commons.stream_enabled":)" +
        (stream_enabled ? "true" : "false") + "}}";
    auto r = c.put("/_cluster/settings", body);
    EXPECT_EQ(r.status, 200) << r.body;
}

std::string host_parameter_connector(std::string_view api_key) {
    return R"({"name": "host from parameters", "version": "1", "protocol": "http",
  "parameters": {"model": "m", "host": "api.openai.com", "_llm_interface": "openai/v1/chat/completions"},
  "credential": {"openAI_key": ")" +
           std::string(api_key) + R"("},
  "actions": [{"action_type": "predict", "method": "POST", "url": "http://${parameters.host}/v1/chat/completions",
    "headers": {"Authorization": "Bearer ${credential.openAI_key}"},
    "request_body": "{ \"model\": \"${parameters.model}\", \"messages\": ${parameters.messages} }"}]})";
}

std::string host_predict_body(const std::string& host) {
    boost::json::object params{
        {"host", host},
        {"messages", boost::json::array{boost::json::object{{"role", "user"}, {"content", "x"}}}}};
    return boost::json::serialize(boost::json::object{{"parameters", std::move(params)}});
}

std::string chat_connector(
    const fake_upstream& up, std::string_view extra_parameters, std::string_view request_body
) {
    std::string params = R"("model": "gpt-upstream")";
    if (!extra_parameters.empty()) {
        params += ", " + std::string(extra_parameters);
    }
    return R"({"name": "OpenAI chat", "description": "fake upstream", "version": "1", "protocol": "http",
  "parameters": {)" +
           params +
           R"(},
  "credential": {"openAI_key": ")" +
           std::string(test_api_key) + R"("},
  "actions": [{"action_type": "predict", "method": "POST", "url": ")" +
           up.url("/v1/chat/completions") + R"(",
    "headers": {"Authorization": "Bearer ${credential.openAI_key}"},
    "request_body": ")" +
           std::string(request_body) + R"("}]})";
}

std::string embedding_connector(const fake_upstream& up, bool builtin_functions) {
    const std::string functions = builtin_functions ? R"(,
    "pre_process_function": "connector.pre_process.openai.embedding",
    "post_process_function": "connector.post_process.openai.embedding")"
                                                    : "";
    return R"({"name": "OpenAI embedding", "description": "fake upstream", "version": "1", "protocol": "http",
  "parameters": {"model": "text-embedding-3-small"},
  "credential": {"openAI_key": ")" +
           std::string(test_api_key) + R"("},
  "actions": [{"action_type": "predict", "method": "POST", "url": ")" +
           up.url("/v1/embeddings") + R"(",
    "headers": {"Authorization": "Bearer ${credential.openAI_key}"},
    "request_body": "{ \"input\": ${parameters.input}, \"model\": \"${parameters.model}\" }")" +
           functions + "}]}";
}

std::string register_model(
    http_client& c,
    const std::string& connector_body,
    std::string_view name,
    bool deploy,
    std::string_view model_extra
) {
    auto conn = c.post("/_plugins/_ml/connectors/_create", connector_body);
    EXPECT_EQ(conn.status, 200) << conn.body;
    if (conn.status != 200) {
        return {};
    }
    const std::string connector_id(conn.json().at("connector_id").as_string());
    std::string body = R"({"name": ")" + std::string(name) + R"(", "function_name": "remote", )";
    if (!model_extra.empty()) {
        body += std::string(model_extra) + ", ";
    }
    body += R"("connector_id": ")" + connector_id + R"("})";
    auto r = c.post(
        deploy ? "/_plugins/_ml/models/_register?deploy=true" : "/_plugins/_ml/models/_register", body
    );
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) {
        return {};
    }
    return std::string(r.json().at("model_id").as_string());
}

}  // namespace modelrelay::test
