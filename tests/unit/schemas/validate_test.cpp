// File: validate_test.cpp
// The embedded JSON Schemas and the one-line messages built from Valijson's findings: real request
// bodies pass (the Ollama blueprint connector, MCP and AWS connectors, settings, register, predict), and
// every wrong type and unknown field is reported at the right place, first problem in document order.
#include "schemas/validate.hpp"

#include <string>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "schemas/embedded.hpp"

namespace modelrelay::test {
namespace {

using schemas::schema_id;

// Connector body of step 3 of the Ollama (OpenAI-compatible) chat blueprint.
constexpr std::string_view ollama_connector = R"({
  "name": "<YOUR CONNECTOR NAME>",
  "description": "<YOUR CONNECTOR DESCRIPTION>",
  "version": "<YOUR CONNECTOR VERSION>",
  "protocol": "http",
  "parameters": {
    "endpoint": "127.0.0.1:11434",
    "model": "qwen3:4b"
  },
  "credential": {
    "openAI_key": "<YOUR API KEY HERE IF NEEDED>"
  },
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

// "" when the body is valid, else the error reason (and the error must be a 400 illegal_argument).
std::string check(schema_id id, std::string_view body) {
    auto r = schemas::validate(id, boost::json::parse(body));
    if (r) {
        return "";
    }
    EXPECT_EQ(r.error().code, registry::errc::illegal_argument);
    return r.error().reason;
}

// The Ollama connector with `path` (a top-level key or "actions/0/<key>") set to `value`.
std::string ollama_with(std::string_view key, std::string_view value_json, bool in_action = false) {
    auto v = boost::json::parse(ollama_connector);
    auto& target = in_action ? v.at("actions").at(0).as_object() : v.as_object();
    target[key] = boost::json::parse(value_json);
    return boost::json::serialize(v);
}

TEST(schemas_embedded, every_schema_file_is_embedded_and_compiles) {
    EXPECT_NO_THROW(schemas::init());
    for (auto id :
         {schema_id::connector_create,
          schema_id::connector_update,
          schema_id::cluster_settings_put,
          schema_id::model_register,
          schema_id::model_update,
          schema_id::model_group,
          schema_id::predict}) {
        auto text = schemas::find_embedded_schema(schemas::file_name(id));
        ASSERT_TRUE(text) << schemas::file_name(id);
        auto parsed = boost::json::parse(*text);
        EXPECT_EQ(parsed.at("$schema"), "http://json-schema.org/draft-07/schema#");
    }
    EXPECT_GE(schemas::embedded_schema_files().size(), 7u);
    EXPECT_FALSE(schemas::find_embedded_schema("nope.schema.json"));
}

// ---- connectors -------------------------------------------------------------------------------------

TEST(schemas_connector, seed_blueprint_connector_is_valid) {
    EXPECT_EQ(check(schema_id::connector_create, ollama_connector), "");
    EXPECT_EQ(check(schema_id::connector_update, ollama_connector), "");
}

TEST(schemas_connector, all_known_fields_accepted) {
    constexpr std::string_view full = R"({
      "name": "n", "description": "d", "version": 1, "protocol": "http",
      "parameters": {"s": "x", "n": 7, "f": 0.5, "b": true, "a": [1, {"k": null}], "o": {"x": 1}, "z": null},
      "credential": {"k": "v"},
      "actions": [{"action_type": "PREDICT", "method": "POST", "url": "https://api.openai.com/v1/x",
                   "headers": {"h": "v"}, "request_body": "{}", "pre_process_function": "p",
                   "post_process_function": "q", "name": "chat", "supports_structured_output": true}],
      "client_config": {"max_connection": 30, "connection_timeout": 30, "read_timeout": 30,
                        "retry_backoff_policy": "constant", "max_retry_times": -1, "retry_backoff_millis": 200,
                        "retry_timeout_seconds": 30, "skip_ssl_verification": false, "mutual_tls_enabled": false,
                        "tls": {"verification_mode": "full", "ca_data": "...", "certificate_data": "...",
                                "private_key_data": "..."}},
      "backend_roles": ["a", "b"], "access_mode": "restricted", "add_all_backend_roles": false,
      "dry_run": true, "provisioned_by": "me", "connector_id": "my-connector", "tenant_id": null,
      "url": "https://mcp.example.com/mcp", "headers": {"x": "y"}
    })";
    EXPECT_EQ(check(schema_id::connector_create, full), "");
    EXPECT_EQ(check(schema_id::connector_update, full), "");
    // Required fields are checked in code, with ml-commons' messages, not by the schema.
    EXPECT_EQ(check(schema_id::connector_create, "{}"), "");
    EXPECT_EQ(check(schema_id::connector_update, R"({"description": "only this"})"), "");
}

TEST(schemas_connector, top_level_wrong_types) {
    struct tc {
        std::string_view key, value, message;
    };
    const tc cases[] = {
        {"name", "7", "[name] expected string but got number"},
        {"name", "null", "[name] expected string but got null"},
        {"description", "[]", "[description] expected string but got array"},
        {"version", "{}", "[version] expected string or number but got object"},
        {"version", "true", "[version] expected string or number but got boolean"},
        {"protocol", "1", "[protocol] expected string but got number"},
        {"parameters", "\"x\"", "[parameters] expected object but got string"},
        {"credential", "[\"k\"]", "[credential] expected object but got array"},
        {"credential", R"({"openAI_key": 5})", "[credential/openAI_key] expected string but got number"},
        {"actions", "{}", "[actions] expected array but got object"},
        {"actions", "[\"predict\"]", "[actions/0] expected object but got string"},
        {"client_config", "30", "[client_config] expected object but got number"},
        {"backend_roles", "\"admin\"", "[backend_roles] expected array but got string"},
        {"backend_roles", "[\"a\", 1]", "[backend_roles/1] expected string but got number"},
        {"access_mode", "false", "[access_mode] expected string but got boolean"},
        {"add_all_backend_roles", "\"true\"", "[add_all_backend_roles] expected boolean but got string"},
        {"dry_run", "1", "[dry_run] expected boolean but got number"},
        {"provisioned_by", "{}", "[provisioned_by] expected string but got object"},
        {"connector_id", "12", "[connector_id] expected string but got number"},
        {"tenant_id", "3", "[tenant_id] expected string or null but got number"},
        {"url", "[]", "[url] expected string or null but got array"},
        {"headers", R"({"a": ["b"]})", "[headers/a] expected string but got array"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(check(schema_id::connector_create, ollama_with(c.key, c.value)), c.message)
            << c.key << "=" << c.value;
        EXPECT_EQ(check(schema_id::connector_update, ollama_with(c.key, c.value)), c.message)
            << c.key << "=" << c.value;
    }
}

TEST(schemas_connector, action_wrong_types) {
    struct tc {
        std::string_view key, value, message;
    };
    const tc cases[] = {
        {"action_type", "1", "[actions/0/action_type] expected string but got number"},
        {"method", "null", "[actions/0/method] expected string but got null"},
        {"url", "42", "[actions/0/url] expected string but got number"},
        {"headers", "\"h\"", "[actions/0/headers] expected object but got string"},
        {"headers",
         R"({"Authorization": true})",
         "[actions/0/headers/Authorization] expected string but got boolean"},
        {"request_body", R"({"model": "x"})", "[actions/0/request_body] expected string but got object"},
        {"pre_process_function", "[]", "[actions/0/pre_process_function] expected string but got array"},
        {"post_process_function", "0", "[actions/0/post_process_function] expected string but got number"},
        {"name", "false", "[actions/0/name] expected string but got boolean"},
        {"supports_structured_output",
         "\"yes\"",
         "[actions/0/supports_structured_output] expected boolean but got string"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(check(schema_id::connector_create, ollama_with(c.key, c.value, true)), c.message) << c.key;
    }
}

TEST(schemas_connector, client_config_wrong_types_and_ranges) {
    struct tc {
        std::string_view value, message;
    };
    const tc cases[] = {
        {R"({"max_connection": "30"})", "[client_config/max_connection] expected integer but got string"},
        {R"({"connection_timeout": 1.5})",
         "[client_config/connection_timeout] expected integer but got number"},
        {R"({"read_timeout": 2147483648})", "[client_config/read_timeout] must be <= 2147483647"},
        {R"({"max_retry_times": -2147483649})", "[client_config/max_retry_times] must be >= -2147483648"},
        {R"({"retry_backoff_millis": null})",
         "[client_config/retry_backoff_millis] expected integer but got null"},
        {R"({"retry_timeout_seconds": true})",
         "[client_config/retry_timeout_seconds] expected integer but got boolean"},
        {R"({"retry_backoff_policy": 1})",
         "[client_config/retry_backoff_policy] expected string but got number"},
        {R"({"skip_ssl_verification": "false"})",
         "[client_config/skip_ssl_verification] expected boolean but got string"},
        {R"({"mutual_tls_enabled": 0})",
         "[client_config/mutual_tls_enabled] expected boolean but got number"},
        {R"({"tls": true})", "[client_config/tls] expected object but got boolean"},
        {R"({"tls": {"ca_pem": "x"}})", "[client_config/tls] unknown field [ca_pem]"},
        {R"({"tls": {"verification_mode": false}})",
         "[client_config/tls/verification_mode] expected string but got boolean"},
        {R"({"read_timeout": 30, "timeout": 5})", "[client_config] unknown field [timeout]"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(check(schema_id::connector_create, ollama_with("client_config", c.value)), c.message)
            << c.value;
    }
    EXPECT_EQ(
        check(schema_id::connector_create, ollama_with("client_config", R"({"read_timeout": 2147483647})")),
        ""
    );
}

TEST(schemas_connector, unknown_fields) {
    EXPECT_EQ(check(schema_id::connector_create, ollama_with("foo", "1")), "[connector] unknown field [foo]");
    EXPECT_EQ(check(schema_id::connector_update, ollama_with("foo", "1")), "[connector] unknown field [foo]");
    // Stored-only fields of GET output are not request fields.
    EXPECT_EQ(
        check(schema_id::connector_create, ollama_with("access", "\"public\"")),
        "[connector] unknown field [access]"
    );
    EXPECT_EQ(
        check(schema_id::connector_create, ollama_with("request-body", "\"{}\"", true)),
        "[actions/0] unknown field [request-body]"
    );
    // Names are cut in messages; values are never echoed.
    const std::string long_name(300, 'n');
    auto msg = check(schema_id::connector_create, ollama_with(long_name, "\"sk-secret\""));
    EXPECT_EQ(msg, "[connector] unknown field [" + std::string(100, 'n') + "...]");
}

TEST(schemas_connector, json_pointer_escaping) {
    EXPECT_EQ(
        check(schema_id::connector_create, ollama_with("credential", R"({"a/b~c": 1})")),
        "[credential/a~1b~0c] expected string but got number"
    );
}

TEST(schemas_connector, first_problem_in_document_order) {
    // Three problems: the reported one is the first in the body, whatever order the schema lists fields in.
    EXPECT_EQ(
        check(schema_id::connector_create, R"({"zzz": 1, "name": 2, "actions": [{"url": 3}]})"),
        "[connector] unknown field [zzz]"
    );
    EXPECT_EQ(
        check(schema_id::connector_create, R"({"name": 2, "zzz": 1, "actions": [{"url": 3}]})"),
        "[name] expected string but got number"
    );
    EXPECT_EQ(
        check(
            schema_id::connector_create, R"({"actions": [{"method": "POST"}, {"url": 3, "x": 1}], "name": 2})"
        ),
        "[actions/1/url] expected string but got number"
    );
    EXPECT_EQ(
        check(schema_id::connector_create, R"({"actions": [{"y": 1, "url": 3}]})"),
        "[actions/0] unknown field [y]"
    );
}

TEST(schemas_connector, body_must_be_an_object) {
    EXPECT_EQ(check(schema_id::connector_create, "[]"), "[connector] expected object but got array");
    EXPECT_EQ(check(schema_id::connector_create, "\"x\""), "[connector] expected object but got string");
    EXPECT_EQ(check(schema_id::cluster_settings_put, "null"), "[settings] expected object but got null");
    EXPECT_EQ(check(schema_id::model_register, "1"), "[model] expected object but got number");
    EXPECT_EQ(check(schema_id::model_group, "true"), "[model_group] expected object but got boolean");
    EXPECT_EQ(check(schema_id::predict, "[]"), "[predict] expected object but got array");
}

TEST(schemas_connector, mcp_and_aws_blueprints_are_valid) {
    EXPECT_EQ(
        check(schema_id::connector_create, R"({
      "name": "mcp", "version": "1", "protocol": "mcp_streamable_http",
      "url": "https://mcp.example.com", "headers": {"api_key": "${credential.key}"},
      "credential": {"key": "k"}, "parameters": {"endpoint": "/mcp"},
      "client_config": {"max_connection": 30, "connection_timeout": 30000, "read_timeout": 30000}
    })"),
        ""
    );
    EXPECT_EQ(
        check(schema_id::connector_create, R"({
      "name": "DJL Sagemaker Connector", "version": "1", "protocol": "aws_sigv4",
      "credential": {"access_key": "a", "secret_key": "s", "session_token": "t"},
      "parameters": {"region": "us-east-1", "service_name": "sagemaker",
                     "DataProcessing": {"InputFilter": "$.content"}, "TransformResources": {"InstanceCount": 1}},
      "actions": [
        {"action_type": "predict", "method": "POST", "headers": {"content-type": "application/json"},
         "url": "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/x/invocations",
         "request_body": "${parameters.input}",
         "pre_process_function": "connector.pre_process.default.embedding",
         "post_process_function": "connector.post_process.default.embedding"},
        {"action_type": "batch_predict", "method": "POST", "headers": {"content-type": "application/json"},
         "url": "https://api.sagemaker.us-east-1.amazonaws.com/CreateTransformJob", "request_body": "{}"}
      ]
    })"),
        ""
    );
}

// ---- cluster settings -------------------------------------------------------------------------------

TEST(schemas_settings, put_bodies) {
    const auto id = schema_id::cluster_settings_put;
    EXPECT_EQ(
        check(id, R"({"persistent": {"plugins.ml_commons.trusted_connector_endpoints_regex": [".*$"]}})"), ""
    );
    EXPECT_EQ(check(id, R"({"persistent": {"plugins.ml_commons.connector.private_ip_enabled": true}})"), "");
    EXPECT_EQ(check(id, R"({"transient": {"plugins": {"ml_commons": {"stream_enabled": "true"}}}})"), "");
    EXPECT_EQ(check(id, R"({"persistent": null, "transient": {"plugins.ml_commons.*": null}})"), "");
    EXPECT_EQ(check(id, R"({"other": 1, "persistent": {}})"), "");  // other top-level keys are ignored
    EXPECT_EQ(check(id, "{}"), "");  // "no settings to update" is checked in code
    EXPECT_EQ(check(id, R"({"persistent": "x"})"), "[persistent] expected object or null but got string");
    EXPECT_EQ(check(id, R"({"transient": [1]})"), "[transient] expected object or null but got array");
}

// ---- models, model groups, predict ------------------------------------------------------------------

TEST(schemas_model, register_bodies) {
    const auto id = schema_id::model_register;
    EXPECT_EQ(
        check(id, R"({"name": "Local LLM Model", "function_name": "remote", "description": "Ollama model",
                            "connector_id": "Keq5FpkB72uHgF272LWj"})"),
        ""
    );
    // Unknown fields are ignored by ml-commons, so they pass, also inside the inline connector.
    EXPECT_EQ(
        check(
            id, R"({"name": "m", "function_name": "remote", "something_new": {"x": 1},
                            "connector": {"name": "c", "version": 1, "protocol": "http", "owner": {"name": "a"},
                                          "created_time": 1700000000000, "future_field": 1,
                                          "actions": [{"action_type": "predict", "method": "POST", "url": "u"}]},
                            "rate_limiter": {"limit": "4", "unit": "MINUTES"},
                            "deploy_setting": {"is_auto_deploy_enabled": true, "model_ttl_minutes": 10},
                            "interface": {"input": {"type": "object"}, "output": "{}"},
                            "guardrails": {"type": "local_regex"}, "model_node_ids": ["n1"], "model_id": "m-1"})"
        ),
        ""
    );
    EXPECT_EQ(check(id, R"({"name": 1})"), "[name] expected string but got number");
    EXPECT_EQ(check(id, R"({"is_enabled": "true"})"), "[is_enabled] expected boolean but got string");
    EXPECT_EQ(
        check(id, R"({"connector": {"credential": {"k": 1}}})"),
        "[connector/credential/k] expected string but got number"
    );
    EXPECT_EQ(
        check(id, R"({"connector": {"actions": [{"url": []}]}})"),
        "[connector/actions/0/url] expected string but got array"
    );
    EXPECT_EQ(
        check(id, R"({"connector": {"actions": [{"urll": "x"}]}})"),
        "[connector/actions/0] unknown field [urll]"
    );
    EXPECT_EQ(
        check(id, R"({"rate_limiter": {"limit": true}})"),
        "[rate_limiter/limit] expected string or number but got boolean"
    );
    EXPECT_EQ(
        check(id, R"({"deploy_setting": {"model_ttl_minutes": "10"}})"),
        "[deploy_setting/model_ttl_minutes] expected integer but got string"
    );
    EXPECT_EQ(
        check(id, R"({"interface": {"input": 1}})"),
        "[interface/input] expected object or string but got number"
    );
    EXPECT_EQ(check(id, R"({"model_node_ids": [1]})"), "[model_node_ids/0] expected string but got number");
}

TEST(schemas_model, update_bodies) {
    const auto id = schema_id::model_update;
    EXPECT_EQ(
        check(
            id, R"({"name": "n", "is_enabled": false, "rate_limiter": {"limit": 4, "unit": "SECONDS"},
                            "connector": {"credential": {"openAI_key": "new"}}, "interface": {"input": "{}"}})"
        ),
        ""
    );
    // ml-commons skips what it does not know, the docs' `connectors` spelling among it.
    EXPECT_EQ(check(id, R"({"version": "2", "connectors": {"credential": {"k": "v"}}})"), "");
    EXPECT_EQ(
        check(id, R"({"connector": {"credential": {"k": "v"}, "bogus": 1}})"),
        "[connector] unknown field [bogus]"
    );
    EXPECT_EQ(
        check(id, R"({"connector": {"client_config": {"read_timeout": "1"}}})"),
        "[connector/client_config/read_timeout] expected integer but got string"
    );
    EXPECT_EQ(check(id, R"({"rate_limiter": {"limit": 1, "per": "s"}})"), "");
    EXPECT_EQ(check(id, R"({"model_config": "x"})"), "[model_config] expected object but got string");
    EXPECT_EQ(check(id, R"({"connector_id": 5})"), "[connector_id] expected string but got number");
}

TEST(schemas_model, group_bodies) {
    const auto id = schema_id::model_group;
    EXPECT_EQ(
        check(
            id, R"({"name": "g", "description": "d", "access_mode": "restricted",
                            "backend_roles": ["r"], "add_all_backend_roles": false, "model_group_id": "g-1"})"
        ),
        ""
    );
    EXPECT_EQ(check(id, R"({"name": "g", "access": "public", "tags": ["t"]})"), "");
    EXPECT_EQ(check(id, R"({"name": 5})"), "[name] expected string but got number");
    EXPECT_EQ(check(id, R"({"backend_roles": [true]})"), "[backend_roles/0] expected string but got boolean");
}

TEST(schemas_predict, bodies) {
    const auto id = schema_id::predict;
    EXPECT_EQ(
        check(
            id, R"({"parameters": {"messages": [{"role": "system", "content": "You are a helpful assistant."},
                                                        {"role": "user", "content": "Why is the sky blue"}]}})"
        ),
        ""
    );
    EXPECT_EQ(
        check(id, R"({"text_docs": ["a", null], "return_number": true, "target_response": ["x"]})"), ""
    );
    EXPECT_EQ(check(id, R"({"parameters": "x"})"), "");  // remote models read it as no parameters
    EXPECT_EQ(
        check(id, R"({"parameters": []})"),
        "[parameters] expected object or string or number or boolean or null but got array"
    );
    EXPECT_EQ(check(id, R"({"text_docs": "a"})"), "[text_docs] expected array but got string");
    // parser.text() reads a number or boolean doc as its text; an object or array is refused.
    EXPECT_EQ(check(id, R"({"text_docs": [1, true, 2.5]})"), "");
    EXPECT_EQ(
        check(id, R"({"text_docs": [{}]})"),
        "[text_docs/0] expected string or number or boolean or null but got object"
    );
}

TEST(schemas_validate, concurrent_use) {
    std::vector<std::thread> threads;
    std::vector<int> failures(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([t, &failures] {
            for (int i = 0; i < 200; ++i) {
                if (check(schema_id::connector_create, ollama_connector) != "" ||
                    check(schema_id::connector_create, ollama_with("url", "1", true)) !=
                        "[actions/0/url] expected string but got number") {
                    ++failures[t];
                }
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    for (int f : failures) {
        EXPECT_EQ(f, 0);
    }
}

}  // namespace
}  // namespace modelrelay::test
