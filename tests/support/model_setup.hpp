// File: model_setup.hpp
// The ml-commons setup steps the streaming and /v1 integration tests share: cluster settings that let a
// connector reach the fake upstream on 127.0.0.1, blueprint-shaped connectors for it (OpenAI chat and
// embeddings), and register + deploy.
#pragma once

#include <string>
#include <string_view>

#include "tests/support/fake_upstream.hpp"
#include "tests/support/http_client.hpp"

namespace modelrelay::test {

inline constexpr std::string_view test_api_key = "sk-relay-sentinel-77";

// Trusts every endpoint, allows private addresses and, when asked, turns on
// plugins.ml_commons.stream_enabled. Fails the test on a non-200.
void open_cluster_settings(http_client& c, bool stream_enabled = true);

// An OpenAI chat connector for `up` (ollama / open_ai chat blueprints): url
// <base>/v1/chat/completions, `Authorization: Bearer ${credential.openAI_key}`, parameters `model`
// (upstream model name) plus `extra_parameters` (JSON members, e.g. `"_llm_interface": "..."`), and
// `request_body` as the template.
std::string chat_connector(
    const fake_upstream& up,
    std::string_view extra_parameters = "",
    std::string_view request_body =
        R"({ \"model\": \"${parameters.model}\", \"messages\": ${parameters.messages} })"
);

// An OpenAI chat connector whose URL host (with port) comes from the predict parameter `host`
// (`http://${parameters.host}/v1/chat/completions`), for the outbound-guard tests; `api_key` is its
// credential.
std::string host_parameter_connector(std::string_view api_key);

// `{"parameters":{"host":<host>,"messages":[{"role":"user","content":"x"}]}}`.
std::string host_predict_body(const std::string& host);

// The openai_connector_embedding_blueprint connector for `up` (built-in pre/post-process functions when
// `builtin_functions`, else the "standard" blueprint without them).
std::string embedding_connector(const fake_upstream& up, bool builtin_functions = true);

// Creates the connector, registers a model named `name` on it (deployed when `deploy`), returns its id.
std::string register_model(
    http_client& c,
    const std::string& connector_body,
    std::string_view name,
    bool deploy = true,
    std::string_view model_extra = ""
);

}  // namespace modelrelay::test
