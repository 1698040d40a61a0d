// File: predict_test.cpp
// The sans-io predict path (spec ml-commons.md §1.4, §3, §4, §8.1): body parsers, planning of the upstream
// requests (parameter map, escaping, built-in pre-process functions, chunking, body/URL/header rules) and
// the shaping of upstream answers into `inference_results`. Connectors are built the way deploy builds
// them, with compile_connector from a connector document and its credentials.
#include "registry/predict.hpp"

#include <string>
#include <string_view>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "registry/compiled_connector.hpp"
#include "registry/json_text.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;
using registry::errc;
using registry::predict_input_kind;

// ---------------------------------------------------------------------------------------------------
// Helpers

constexpr std::string_view credential = "sk-test-0123456789";

// A one-action http connector; `action` fields override the defaults (POST to an https URL with a bearer
// header bound from the credential).
json::object connector_doc(const json::object& action, const json::object& params = {}) {
    json::object a{
        {"action_type", "PREDICT"},
        {"method", "POST"},
        {"url", "https://api.example.com/v1/predict"},
        {"headers", json::object{{"Authorization", "Bearer ${credential.key}"}}},
    };
    for (const auto& kv : action) {
        a.insert_or_assign(kv.key(), kv.value());
    }
    return json::object{
        {"name", "test"},
        {"version", "1"},
        {"protocol", "http"},
        {"parameters", params},
        {"credential", json::object{{"key", credential}}},
        {"actions", json::array{a}},
    };
}

registry::compiled_connector compile(const json::object& doc) {
    auto c = registry::compile_connector(doc, registry::param_map{{"key", std::string(credential)}});
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().reason);
    return c ? std::move(*c) : registry::compiled_connector{};
}

registry::compiled_connector connector(const json::object& action, const json::object& params = {}) {
    return compile(connector_doc(action, params));
}

registry::predict_request request(std::string_view body, std::string_view algorithm = "") {
    auto r = registry::parse_predict_body(json::parse(body), algorithm);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().reason);
    return r ? std::move(*r) : registry::predict_request{};
}

registry::error request_error(std::string_view body, std::string_view algorithm = "") {
    auto r = registry::parse_predict_body(json::parse(body), algorithm);
    EXPECT_FALSE(r.has_value());
    return r ? registry::error{} : r.error();
}

registry::predict_plan plan(
    const registry::compiled_connector& c, std::string_view body, std::string_view algorithm = ""
) {
    auto p = registry::plan_predict(c, request(body, algorithm));
    EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().reason);
    return p ? std::move(*p) : registry::predict_plan{};
}

registry::error plan_error(
    const registry::compiled_connector& c, std::string_view body, std::string_view algorithm = ""
) {
    auto p = registry::plan_predict(c, request(body, algorithm));
    EXPECT_FALSE(p.has_value()) << (p && !p->calls.empty() ? p->calls[0].body : "");
    return p ? registry::error{} : p.error();
}

// The body of the only upstream call.
std::string only_body(
    const registry::compiled_connector& c, std::string_view body, std::string_view algorithm = ""
) {
    auto p = plan(c, body, algorithm);
    EXPECT_EQ(p.calls.size(), 1u);
    return p.calls.empty() ? std::string() : p.calls[0].body;
}

std::string finish(
    const registry::predict_plan& p, unsigned status, std::string_view body, long long max = 100'000'000
) {
    auto r = registry::finish_call(p, 0, status, body, max);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().reason);
    // The handler's printer, with or without the tree, must give the bytes of this tree printed.
    std::string printed = "[";
    auto appended = registry::append_call_element(printed, p, 0, status, body, max);
    EXPECT_TRUE(appended.has_value());
    if (r) {
        std::string expected = "[";
        registry::append_compact_json(expected, *r);
        EXPECT_EQ(printed, expected);
    }
    // Built in an arena (as /v1 does), the element is the same.
    json::monotonic_resource arena;
    auto in_arena = registry::finish_call(p, 0, status, body, max, &arena);
    EXPECT_TRUE(in_arena.has_value());
    if (r && in_arena) {
        EXPECT_EQ(json::serialize(*in_arena), json::serialize(*r));
    }
    return r ? json::serialize(*r) : std::string();
}

registry::error finish_error(
    const registry::predict_plan& p, unsigned status, std::string_view body, long long max = 100'000'000
) {
    auto r = registry::finish_call(p, 0, status, body, max);
    EXPECT_FALSE(r.has_value()) << (r ? json::serialize(*r) : "");
    std::string printed = "[";
    auto appended = registry::append_call_element(printed, p, 0, status, body, max);
    EXPECT_FALSE(appended.has_value());
    EXPECT_EQ(printed, "[");  // nothing half-written
    json::monotonic_resource arena;
    auto in_arena = registry::finish_call(p, 0, status, body, max, &arena);
    EXPECT_FALSE(in_arena.has_value());
    if (!r && !in_arena) {
        EXPECT_EQ(in_arena.error().reason, r.error().reason);
    }
    if (!r && !appended) {
        EXPECT_EQ(appended.error().code, r.error().code);
        EXPECT_EQ(appended.error().reason, r.error().reason);
        EXPECT_EQ(appended.error().status, r.error().status);
    }
    return r ? registry::error{} : r.error();
}

const json::object chat_action{
    {"request_body",
     R"({"model":"${parameters.model}","messages":[{"role":"user","content":"${parameters.prompt}"}]})"}};
const json::object chat_params{{"model", "gpt-4o"}};

// ---------------------------------------------------------------------------------------------------
// Seed 001: the Ollama (OpenAI-compatible) chat blueprint, step 3 connector and step 5 predict body.

constexpr std::string_view seed_connector = R"({
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

constexpr std::string_view seed_predict = R"({
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

TEST(predict, seed_001_upstream_request) {
    auto c = registry::compile_connector(
        json::parse(seed_connector).as_object(), registry::param_map{{"openAI_key", std::string(credential)}}
    );
    ASSERT_TRUE(c.has_value());
    auto p = plan(*c, seed_predict);
    ASSERT_EQ(p.calls.size(), 1u);
    const auto& call = p.calls[0];
    EXPECT_EQ(call.method, "POST");
    EXPECT_EQ(call.url, "https://127.0.0.1:11434/v1/chat/completions");
    EXPECT_EQ(
        call.body,
        R"({ "model": "qwen3:4b", "messages": [{"role":"system","content":"You are a helpful assistant."},)"
        R"({"role":"user","content":"Why is the sky blue"}] })"
    );
    const registry::header_list expected{
        {"Authorization", "Bearer " + std::string(credential)},
        {"Content-Type", "application/json"},
    };
    EXPECT_EQ(call.headers, expected);
    EXPECT_EQ(p.action, &c->actions[0]);
    EXPECT_EQ(p.action_type, "PREDICT");
}

TEST(predict, seed_001_response_is_wrapped_as_data_as_map) {
    auto c = registry::compile_connector(json::parse(seed_connector).as_object(), {});
    ASSERT_TRUE(c.has_value());
    auto p = plan(*c, seed_predict);
    constexpr std::string_view upstream =
        R"({"choices":[{"finish_reason":"stop","index":0,"message":{"role":"assistant","content":"Rayleigh."}}],)"
        R"("created":1757369906,"model":"qwen3:4b","object":"chat.completion",)"
        R"("usage":{"completion_tokens":264,"prompt_tokens":563,"total_tokens":827}})";
    std::string text(registry::inference_results_open);
    ASSERT_TRUE(registry::append_call_element(text, p, 0, 200, upstream, 100'000'000).has_value());
    text.append(registry::inference_results_close);
    EXPECT_EQ(
        text,
        std::string(R"({"inference_results":[{"output":[{"name":"response","dataAsMap":)") +
            std::string(upstream) + R"(}],"status_code":200}]})"
    );
}

// ---------------------------------------------------------------------------------------------------
// §3.1 parameter map and escaping

TEST(predict, user_content_reaches_the_body_escaped_once_and_decodes_identically) {
    const std::string prompt =
        "He said \"hi\" \\ back\nline2\ttab\r\x01 caf\xC3\xA9 \xF0\x9F\x98\x80 "
        "</script><script>alert(1)</script> {}[]";
    json::object body{{"parameters", json::object{{"prompt", prompt}}}};
    const auto c = connector(chat_action, chat_params);
    const std::string sent = only_body(c, json::serialize(body));
    // Valid JSON whose string decodes back to exactly what the user sent.
    boost::system::error_code ec;
    const auto parsed = json::parse(sent, ec);
    ASSERT_FALSE(ec) << sent;
    EXPECT_EQ(parsed.at("messages").at(0).at("content").as_string(), prompt);
    EXPECT_EQ(parsed.at("model").as_string(), "gpt-4o");
    // commons-text escapeJson: `/` escaped, non-ASCII as upper-case \u escapes, surrogate pairs.
    EXPECT_NE(sent.find(R"(<\/script>)"), std::string::npos) << sent;
    EXPECT_NE(sent.find(R"(caf\u00E9 \uD83D\uDE00)"), std::string::npos) << sent;
    EXPECT_NE(sent.find(R"(\"hi\" \\ back\nline2\ttab\r\u0001)"), std::string::npos) << sent;
}

TEST(predict, non_string_parameters_are_stringified_and_containers_inserted_raw) {
    const auto c = connector(
        {{"request_body",
          R"({"n":${parameters.n},"f":${parameters.f},"b":${parameters.b},"o":${parameters.o},"s":"${parameters.s}"})"}}
    );
    const std::string sent =
        only_body(c, R"({"parameters":{"n":7,"f":0.5,"b":true,"o":{"k":"v<"},"s":"a"}})");
    // Numbers keep their Java text, the object is gson text (HTML-safe) inserted raw.
    EXPECT_EQ(sent, R"({"n":7,"f":0.5,"b":true,"o":{"k":"v\u003c"},"s":"a"})");
    // A string that is itself a whole JSON object is not escaped either (ml-commons #5070), so inside a
    // quoted placeholder it breaks the payload, exactly as in ml-commons.
    auto e = plan_error(c, R"({"parameters":{"n":1,"f":1,"b":1,"o":1,"s":"{\"a\":1}"}})");
    EXPECT_EQ(e.reason, R"(Invalid payload: {"n":1,"f":1,"b":1,"o":1,"s":"{"a":1}"})");
}

TEST(predict, no_escape_params_and_request_overrides_connector) {
    const auto c = connector(
        {{"request_body",
          R"({"model":"${parameters.model}","raw":"${parameters.raw}","esc":"${parameters.esc}"})"}},
        chat_params
    );
    const std::string sent = only_body(
        c, R"({"parameters":{"model":"mine","raw":"a\\\"b","esc":"a\"b","no_escape_params":"raw, other"}})"
    );
    EXPECT_EQ(sent, R"({"model":"mine","raw":"a\"b","esc":"a\"b"})");
}

// The OpenAI door's option: what the request wrote is never substituted (connector parameters still are),
// and it still decodes to the same text; _predict (option off) substitutes it, as ml-commons does.
TEST(predict, opaque_request_values_keep_user_text_as_written) {
    const auto c = connector(
        {{"request_body",
          R"({"model":"${parameters.model}","messages":${parameters.messages},"u":"${parameters.user}${parameters.tail:-}"})"}},
        {{"model", "${parameters.base}-mini"}, {"base", "gpt-4o"}, {"endpoint", "10.0.0.1"}}
    );
    const std::string content =
        "Explain ${parameters.endpoint}, ${parameters.messages}, $${parameters.x} $5 $";
    const json::object body{
        {"parameters",
         json::object{
             {"messages", json::array{json::object{{"role", "user"}, {"content", content}}}},
             {"user", "pays $"},
             {"tail", "${parameters.endpoint}"}}}};
    auto p = registry::plan_predict(
        c, request(json::serialize(body)), registry::predict_options{.opaque_request_values = true}
    );
    ASSERT_TRUE(p.has_value()) << p.error().reason;
    const auto sent = json::parse(p->calls.at(0).body);
    EXPECT_EQ(sent.at("messages").at(0).at("content").as_string(), content) << p->calls[0].body;
    EXPECT_EQ(sent.at("u").as_string(), "pays $${parameters.endpoint}") << p->calls[0].body;
    EXPECT_EQ(sent.at("model").as_string(), "gpt-4o-mini");  // the connector's own chain still resolves
    EXPECT_EQ(p->calls[0].body.find("10.0.0.1"), std::string::npos);

    // Without the option (the _predict path): ml-commons' recursive substitution of request values.
    auto e = plan_error(c, json::serialize(body));
    EXPECT_EQ(e.code, errc::illegal_state);
    EXPECT_EQ(e.reason.rfind("Infinite loop in property interpolation of ", 0), 0U) << e.reason;
}

TEST(predict, opaque_request_values_cover_pre_processed_text_docs) {
    const auto c =
        connector({{"request_body", R"({"input": ${parameters.input}, "user": "${parameters.user}"})"}});
    registry::predict_request r = request(R"({"text_docs":["a ${parameters.user}"]})", "TEXT_EMBEDDING");
    r.algorithm_parameters.emplace("user", "${parameters.input}");
    auto p = registry::plan_predict(c, r, registry::predict_options{.opaque_request_values = true});
    ASSERT_TRUE(p.has_value()) << p.error().reason;
    EXPECT_EQ(
        p->calls.at(0).body, R"({"input": ["a \u0024{parameters.user}"], "user": "\u0024{parameters.input}"})"
    );
    EXPECT_EQ(json::parse(p->calls[0].body).at("input").at(0).as_string(), "a ${parameters.user}");
}

TEST(predict, connector_parameters_are_never_escaped) {
    const auto c =
        connector({{"request_body", R"({"p":"${parameters.prefix}${parameters.q}"})"}}, {{"prefix", "\\\""}});
    EXPECT_EQ(only_body(c, R"({"parameters":{"q":"\""}})"), R"({"p":"\"\""})");
}

// ---------------------------------------------------------------------------------------------------
// §3.2 body rules and missing parameters

TEST(predict, missing_parameter_messages) {
    const auto c = connector(chat_action, chat_params);
    auto e = plan_error(c, R"({"parameters":{}})");
    EXPECT_EQ(e.code, errc::illegal_argument);
    EXPECT_EQ(e.reason, "Some parameter placeholder not filled in payload: prompt");

    // Unquoted missing placeholder: the payload is not JSON, so that is what is reported first.
    const auto unquoted = connector({{"request_body", R"({"messages": ${parameters.messages}})"}});
    e = plan_error(unquoted, R"({"parameters":{}})");
    EXPECT_EQ(e.reason, R"(Invalid payload: {"messages": ${parameters.messages}})");

    // Skipping the check lets the placeholder through untouched.
    const std::string sent = only_body(c, R"({"parameters":{"skip_validating_missing_parameters":"true"}})");
    EXPECT_EQ(sent, R"({"model":"gpt-4o","messages":[{"role":"user","content":"${parameters.prompt}"}]})");

    // `"${parameters.k:-null}"` becomes a bare null.
    const auto nullable = connector({{"request_body", R"({"stop":"${parameters.stop:-null}"})"}});
    EXPECT_EQ(only_body(nullable, R"({"parameters":{}})"), R"({"stop":null})");
}

TEST(predict, absent_request_body_sends_http_body_raw) {
    const auto c = connector({});
    EXPECT_EQ(only_body(c, R"({"parameters":{"http_body":"{\"raw\":\"a\\\"b\"}"}})"), R"({"raw":"a\"b"})");
    // No http_body either: a POST with nothing to send is refused.
    auto e = plan_error(c, R"({"parameters":{}})");
    EXPECT_EQ(e.reason, "Content length is 0. Aborting request to remote model");
    // The missing-parameter check applies to the raw body too.
    e = plan_error(c, R"({"parameters":{"http_body":"{\"a\":\"${parameters.zz}\"}"}})");
    EXPECT_EQ(e.reason, "Some parameter placeholder not filled in payload: zz");
}

TEST(predict, methods) {
    auto get = plan(connector({{"method", "get"}}), R"({"parameters":{}})");
    ASSERT_EQ(get.calls.size(), 1u);
    EXPECT_EQ(get.calls[0].method, "GET");
    EXPECT_EQ(get.calls[0].body, "");

    auto e = plan_error(connector({{"method", "PATCH"}}), R"({"parameters":{"http_body":"{}"}})");
    EXPECT_EQ(e.code, errc::illegal_argument);
    EXPECT_EQ(e.reason, "unsupported http method");

    auto put = plan(connector({{"method", "put"}, {"request_body", "{}"}}), R"({"parameters":{}})");
    EXPECT_EQ(put.calls.at(0).method, "PUT");
    EXPECT_EQ(put.calls.at(0).body, "{}");
}

TEST(predict, stream_parameter_is_ignored_on_the_plain_path) {
    const auto c = connector(chat_action, chat_params);
    const std::string body =
        R"({"parameters":{"prompt":"hi","stream":"true","_llm_interface":"openai/v1/chat/completions"}})";
    EXPECT_EQ(only_body(c, body), R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]})");
    // The streaming handler asks for the flag explicitly.
    auto p = registry::plan_predict(c, request(body), registry::predict_options{.streaming = true});
    ASSERT_TRUE(p.has_value()) << p.error().reason;
    EXPECT_EQ(
        p->calls.at(0).body, R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true})"
    );
}

TEST(predict, charset_parameter) {
    const auto c = connector(chat_action, chat_params);
    auto p = plan(c, R"({"parameters":{"prompt":"x","charset":"ISO-8859-1"}})");
    EXPECT_EQ(p.calls.at(0).body, R"({"model":"gpt-4o","messages":[{"role":"user","content":"x"}]})");
    // Raw (unescaped) non-ASCII text is transcoded; what Latin-1 cannot hold becomes '?'.
    const auto raw =
        connector({{"request_body", R"({"t":"${parameters.t}"})"}}, {{"t", "\xC3\xA9\xE2\x82\xAC"}});
    p = plan(raw, R"({"parameters":{"charset":"latin1"}})");
    EXPECT_EQ(p.calls.at(0).body, "{\"t\":\"\xE9?\"}");
    auto e = plan_error(c, R"({"parameters":{"prompt":"x","charset":"EBCDIC-XYZ"}})");
    EXPECT_EQ(e.reason, "Unsupported charset: EBCDIC-XYZ");
}

// ---------------------------------------------------------------------------------------------------
// §3.3 URL, §3.5 headers

TEST(predict, url_must_be_absolute_http_with_a_host) {
    const std::string invalid =
        "Encountered error when trying to create uri from endpoint in ml connector. Please update the "
        "endpoint in "
        "connection configuration: ";
    auto e = plan_error(
        connector({{"url", "https://${parameters.host}/v1"}, {"request_body", "{}"}}), R"({"parameters":{}})"
    );
    EXPECT_EQ(e.code, errc::illegal_argument);
    EXPECT_EQ(e.reason, invalid);
    e = plan_error(connector({{"url", "invalid-endpoint"}, {"request_body", "{}"}}), R"({"parameters":{}})");
    EXPECT_EQ(e.reason, invalid);
    e = plan_error(
        connector({{"url", "ftp://files.example.com/x"}, {"request_body", "{}"}}), R"({"parameters":{}})"
    );
    EXPECT_EQ(e.reason, "Protocol is not http or https: ftp");
    // A request parameter may complete the URL (it is escaped like everything else).
    auto p = plan(
        connector({{"url", "http://${parameters.host}:8080/v1/${parameters.path}"}, {"request_body", "{}"}}),
        R"({"parameters":{"host":"10.0.0.5","path":"embed"}})"
    );
    EXPECT_EQ(p.calls.at(0).url, "http://10.0.0.5:8080/v1/embed");
}

TEST(predict, headers) {
    const auto c = connector(
        {{"request_body", "{}"},
         {"headers",
          json::object{
              {"Authorization", "Bearer ${credential.key}"},
              {"content-type", "application/json; charset=utf-8"},
              {"X-Tenant", "${parameters.tenant}"}}}}
    );
    auto p = plan(c, R"({"parameters":{"tenant":"acme"}})");
    const registry::header_list expected{
        {"Authorization", "Bearer " + std::string(credential)},
        {"content-type", "application/json; charset=utf-8"},
        {"X-Tenant", "acme"},
    };
    EXPECT_EQ(p.calls.at(0).headers, expected);  // no second Content-Type
    auto e = plan_error(c, R"({"parameters":{}})");
    EXPECT_EQ(e.reason, "Header 'X-Tenant' contains unresolved placeholder. Required parameter is missing.");
    // Request values are escaped (a control character becomes `\u0007` text) unless told otherwise.
    EXPECT_EQ(
        plan(c, R"({"parameters":{"tenant":"a\u0007b"}})").calls.at(0).headers.at(2).second, R"(a\u0007b)"
    );
    e = plan_error(c, R"({"parameters":{"tenant":"a\u0007b","no_escape_params":"tenant"}})");
    EXPECT_EQ(e.reason, "Header value contains invalid control character");
}

// ---------------------------------------------------------------------------------------------------
// Actions, Painless, processor chains

TEST(predict, unsupported_features_fail_clearly_before_any_call) {
    const auto c = connector(chat_action, chat_params);
    auto e = plan_error(c, R"({"parameters":{"prompt":"x"},"action_type":"execute"})");
    EXPECT_EQ(e.reason, "no EXECUTE action found");

    // A Painless post-process script is planned (it runs on the answer, see painless_post_process below);
    // one outside the supported subset fails here, before any call.
    const auto painless_post =
        connector({{"request_body", "{}"}, {"post_process_function", "def x = params.result; return x;"}});
    EXPECT_TRUE(plan(painless_post, R"({"parameters":{}})").post_script);
    const auto lambda_post =
        connector({{"request_body", "{}"}, {"post_process_function", "return params.l.stream().map(x -> x);"}}
        );
    e = plan_error(lambda_post, R"({"parameters":{}})");
    EXPECT_EQ(e.code, errc::illegal_argument);
    EXPECT_EQ(
        e.reason, "Invalid post_process_function: Painless script: unsupported syntax 'lambda (->)' at 1:32"
    );

    // A Painless pre-process function is ignored for `parameters` input, as in ml-commons (#2986) ...
    const auto painless_pre = connector({{"request_body", "{}"}, {"pre_process_function", "return params;"}});
    EXPECT_EQ(only_body(painless_pre, R"({"parameters":{}})"), "{}");
    // ... unless asked to run, which modelrelay does not support; for text_docs it runs (see
    // painless_pre_process below), and this one returns a Map where a String is due.
    e = plan_error(
        painless_pre, R"({"parameters":{"pre_process_function.process_remote_inference_input":"true"}})"
    );
    EXPECT_EQ(
        e.reason,
        "A Painless pre_process_function on parameters input "
        "(pre_process_function.process_remote_inference_input=true) is not supported by modelrelay"
    );
    e = plan_error(painless_pre, R"({"text_docs":["a"]})", "text_embedding");
    EXPECT_EQ(
        e.reason,
        "Painless script: cannot cast java.util.HashMap to java.lang.String (the script must return a String)"
    );

    e = plan_error(c, R"({"parameters":{"prompt":"x","output_processors":[{"type":"to_string"}]}})");
    EXPECT_NE(e.reason.find("not supported by modelrelay"), std::string::npos) << e.reason;
}

// ---------------------------------------------------------------------------------------------------
// Painless post-process scripts (ConnectorUtils.processOutput, AbstractConnector.parseResponse)

registry::predict_plan script_plan(std::string_view script, std::string_view body = R"({"parameters":{}})") {
    static std::vector<std::unique_ptr<registry::compiled_connector>> keep;  // plans point into them
    keep.push_back(std::make_unique<registry::compiled_connector>(
        connector({{"request_body", "{}"}, {"post_process_function", json::string(script)}})
    ));
    return plan(*keep.back(), body);
}

TEST(painless_post_process, model_tensor_json_is_read_as_ml_commons_reads_it) {
    // Fields in ModelTensor's order whatever the script's order; unknown fields dropped; shape as longs.
    auto p = script_plan(
        R"(return '{"dataAsMap":{"k":[1,"s"]},"extra":1,"result":"r","data":[1,2],"shape":["2", 1.9],'
                  + '"data_type":"INT32","name":"t"}';)"
    );
    EXPECT_EQ(
        finish(p, 200, R"({"a":1})"),
        R"({"output":[{"name":"t","data_type":"INT32","shape":[2,1],"data":[1,2],"result":"r","dataAsMap":{"k":[1,"s"]}}],"status_code":200})"
    );
    // `data` without a data_type is dropped; a list of tensors gives one output each; a byte_buffer is
    // read and dropped, as ModelTensor.parser never hands it to the builder.
    p = script_plan(R"(return '[{"name":"a","data":[1]},{"name":null,"byte_buffer":{"array":"AAE="}}]';)");
    EXPECT_EQ(finish(p, 200, R"({"a":1})"), R"({"output":[{"name":"a"},{"name":"null"}],"status_code":200})");
    p = script_plan(R"(return '{"name":"a","data_type":"FLOAT99"}';)");
    EXPECT_EQ(
        finish_error(p, 200, "{}").reason,
        "No enum constant org.opensearch.ml.common.output.model.MLResultDataType.FLOAT99"
    );
    p = script_plan(R"(return '[1]';)");
    EXPECT_EQ(
        finish_error(p, 200, "{}").reason,
        "Failed to parse object: expecting token of type [START_OBJECT] but found [VALUE_NUMBER]"
    );
    p = script_plan(R"(return '{"name":"a","data_type":"FLOAT32","data":["x"]}';)");
    EXPECT_EQ(finish_error(p, 200, "{}").code, errc::illegal_argument);
}

TEST(painless_post_process, strings_nulls_arrays_and_filters) {
    // Any other String is the `response`.
    auto p = script_plan("return 'plain ' + params.n;");
    EXPECT_EQ(
        finish(p, 200, R"({"n":3})"),
        R"({"output":[{"name":"response","dataAsMap":{"response":"plain 3.0"}}],"status_code":200})"
    );
    // An array answer is {"result": [...]} for the script.
    p = script_plan("return '' + params.result.size();");
    EXPECT_EQ(
        finish(p, 200, "[1,2,3]"),
        R"({"output":[{"name":"response","dataAsMap":{"response":"3"}}],"status_code":200})"
    );
    // null: the answer is wrapped as if there were no script, response_filter included.
    p = script_plan("return null;", R"({"parameters":{"response_filter":"$.a"}})");
    EXPECT_EQ(
        finish(p, 200, R"({"a":{"b":1}})"),
        R"({"output":[{"name":"response","dataAsMap":{"b":1}}],"status_code":200})"
    );
    // A response_filter reads the script's String: a JSON scalar/object is wrapped, ModelTensor JSON must
    // be a String at the path.
    p = script_plan(R"(return '{"x":{"y":2}}';)", R"({"parameters":{"response_filter":"$.x"}})");
    EXPECT_EQ(
        finish_error(p, 200, "{}").reason,
        "The response_filter must select a String holding ModelTensor JSON from the post_process_function "
        "result, "
        "not START_OBJECT"
    );
    p = script_plan(
        R"(return '{"x":"{\\"name\\":\\"t\\"}"}';)", R"({"parameters":{"response_filter":"$.x"}})"
    );
    EXPECT_EQ(finish(p, 200, "{}"), R"({"output":[{"name":"t"}],"status_code":200})");
    p = script_plan("return 'not json';", R"({"parameters":{"response_filter":"$.x"}})");
    EXPECT_EQ(finish_error(p, 200, "{}").reason.substr(0, 20), "Invalid JSON format:");
    // A scalar answer never reaches the script.
    p = script_plan("return 'x';");
    EXPECT_EQ(finish_error(p, 200, "42").reason, "Unsupported response type");
    // Run-time failures are the script's message (never the answer's text).
    p = script_plan("return params.secret.foo();");
    const auto e = finish_error(p, 200, R"({"secret":"do-not-echo"})");
    EXPECT_EQ(e.code, errc::illegal_argument);
    EXPECT_EQ(e.reason, "Painless script: no method foo/0 on java.lang.String at 1:22");
}

// ml-commons' escape() leaves a TAB as it is, so an answer holding one gives almost-JSON: it is read with the
// control characters escaped (ml-commons fails on it), not returned as the script's raw text.
TEST(painless_post_process, an_escaped_answer_with_a_tab_is_still_a_model_tensor) {
    auto p = script_plan(
        R"(def text = params.choices[0].message.content; return '{"name":"response","dataAsMap":{"response":"' + escape(text) + '"}}')"
    );
    EXPECT_EQ(
        finish(p, 200, R"({"choices":[{"message":{"content":"col1\tcol2 \"q\"\u0001"}}]})"),
        R"({"output":[{"name":"response","dataAsMap":{"response":"col1\tcol2 \"q\"\u0001"}}],"status_code":200})"
    );
    // Text that is not JSON with or without the escapes stays a plain `response`.
    p = script_plan(R"(return '{"a":"' + params.t;)");
    EXPECT_EQ(
        finish(p, 200, R"({"t":"x\ty"})"),
        R"({"output":[{"name":"response","dataAsMap":{"response":"{\"a\":\"x\ty"}}],"status_code":200})"
    );
}

TEST(painless_post_process, parameters_are_substituted_before_the_script_compiles) {
    const auto c = connector(
        {{"request_body", "{}"},
         {"post_process_function", "return params.a + ${parameters.sep} + params.b;"}},
        json::object{{"sep", "-"}}
    );
    EXPECT_FALSE(c.actions.at(0).post_script);  // rendered per request
    auto p = plan(c, R"({"parameters":{}})");
    ASSERT_TRUE(p.post_script);
    EXPECT_EQ(
        finish(p, 200, R"({"a":"x","b":"y"})"),
        R"({"output":[{"name":"response","dataAsMap":{"response":"x-y"}}],"status_code":200})"
    );
    p = plan(c, R"({"parameters":{"sep":"+"}})");
    EXPECT_EQ(
        finish(p, 200, R"({"a":"x","b":"y"})"),
        R"({"output":[{"name":"response","dataAsMap":{"response":"x+y"}}],"status_code":200})"
    );
    // Without placeholders the script is parsed once, when the connector is compiled.
    const auto fixed = connector({{"request_body", "{}"}, {"post_process_function", "return 'a';"}});
    ASSERT_TRUE(fixed.actions.at(0).post_script);
    EXPECT_EQ(plan(fixed, R"({"parameters":{}})").post_script.get(), fixed.actions.at(0).post_script.get());
}

TEST(painless_pre_process, text_docs_scripts_build_the_parameters_one_doc_per_call) {
    // The Bedrock Titan blueprint's script: the doc reaches the script gson-escaped, the script's
    // parameters are escaped again as any pre-process output, so the body carries the doc once escaped.
    const std::string titan = R"(
    StringBuilder builder = new StringBuilder();
    builder.append("\"");
    String first = params.text_docs[0];
    builder.append(first);
    builder.append("\"");
    def parameters = "{" +"\"inputText\":" + builder + "}";
    return  "{" +"\"parameters\":" + parameters + "}";)";
    const auto c = connector(
        {{"request_body", R"({ "inputText": "${parameters.inputText}" })"}, {"pre_process_function", titan}}
    );
    ASSERT_TRUE(c.actions.at(0).pre_script);
    auto p = plan(c, R"({"text_docs":["a \"quoted\" <doc>","second"]})", "text_embedding");
    ASSERT_EQ(p.calls.size(), 2u);  // custom scripts take one doc per call
    EXPECT_EQ(p.calls[0].body, R"({ "inputText": "a \"quoted\" <doc>" })");
    EXPECT_EQ(p.calls[1].body, R"({ "inputText": "second" })");

    // Non-String values are written as gson writes them (numbers as Doubles); text similarity sees
    // query_text too.
    const auto sim = connector(
        {{"request_body", R"({ "q": "${parameters.q}", "n": ${parameters.n}, "docs": ${parameters.docs} })"},
         {"pre_process_function",
          R"(return '{"parameters":{"q":"' + params.query_text + '","n":' + params.text_docs.length + ',"docs":["' + params.text_docs[0] + '"]}}';)"}}
    );
    p = plan(sim, R"({"query_text":"what?","text_docs":["d1","d2"]})", "text_similarity");
    ASSERT_EQ(p.calls.size(), 1u);
    EXPECT_EQ(p.calls[0].body, R"({ "q": "what?", "n": 2.0, "docs": ["d1"] })");

    // A null result and a result that is not a JSON object are errors.
    const auto null_pre = connector({{"request_body", "{}"}, {"pre_process_function", "return null;"}});
    EXPECT_EQ(
        plan_error(null_pre, R"({"text_docs":["a"]})", "text_embedding").reason,
        "Preprocess function output is null"
    );
    const auto text_pre = connector({{"request_body", "{}"}, {"pre_process_function", "return 'x';"}});
    EXPECT_EQ(
        plan_error(text_pre, R"({"text_docs":["a"]})", "text_embedding").reason,
        "The pre_process_function result is not a JSON object"
    );
}

// ---------------------------------------------------------------------------------------------------
// Embeddings: built-in pre/post functions, text_docs and parameters input, chunking

const json::object openai_embedding_action{
    {"url", "https://api.openai.com/v1/embeddings"},
    {"request_body", R"({ "input": ${parameters.input}, "model": "${parameters.model}" })"},
    {"pre_process_function", "connector.pre_process.openai.embedding"},
    {"post_process_function", "connector.post_process.openai.embedding"},
};
const json::object embedding_params{{"model", "text-embedding-3-small"}};

constexpr std::string_view openai_embedding_response = R"({
  "object": "list",
  "data": [
    {"object": "embedding", "index": 0, "embedding": [0.0023064255, -0.009327292, 1]},
    {"object": "embedding", "index": 1, "embedding": [-0.5, 2.5E-7, 3]}
  ],
  "model": "text-embedding-3-small",
  "usage": {"prompt_tokens": 8, "total_tokens": 8}
})";

TEST(predict, openai_embedding_with_text_docs) {
    const auto c = connector(openai_embedding_action, embedding_params);
    auto p = plan(c, R"({"text_docs":["hello", "say \"hi\" <b>"]})", "text_embedding");
    ASSERT_EQ(p.calls.size(), 1u);
    // gson (HTML-safe) array of the docs, inserted raw.
    EXPECT_EQ(
        p.calls[0].body,
        R"({ "input": ["hello","say \"hi\" \u003cb\u003e"], "model": "text-embedding-3-small" })"
    );
    EXPECT_EQ(p.calls[0].url, "https://api.openai.com/v1/embeddings");
    EXPECT_EQ(
        finish(p, 200, openai_embedding_response),
        R"({"output":[)"
        R"({"name":"sentence_embedding","data_type":"FLOAT32","shape":[3],"data":[2.3064255E-3,-9.327292E-3,1]},)"
        R"({"name":"sentence_embedding","data_type":"FLOAT32","shape":[3],"data":[-5E-1,2.5E-7,3]}],)"
        R"("status_code":200})"
    );
}

TEST(predict, openai_embedding_with_parameters_input) {
    const auto c = connector(openai_embedding_action, embedding_params);
    auto p = plan(c, R"({"parameters":{"input":["hello","world"]}})");
    ASSERT_EQ(p.calls.size(), 1u);
    EXPECT_EQ(p.calls[0].body, R"({ "input": ["hello","world"], "model": "text-embedding-3-small" })");
    const std::string out = finish(p, 200, openai_embedding_response);
    EXPECT_EQ(json::parse(out).at("output").as_array().size(), 2u);
}

TEST(predict, text_docs_without_pre_process_function_imply_default_embedding) {
    const auto c = connector({{"request_body", R"({"input": ${parameters.input}})"}});
    EXPECT_EQ(only_body(c, R"({"text_docs":["a","b"]})", "TEXT_EMBEDDING"), R"({"input": ["a","b"]})");
}

TEST(predict, step_size_splits_docs_into_calls_in_order) {
    const auto c =
        connector(openai_embedding_action, {{"model", "m"}, {"input_docs_processed_step_size", "2"}});
    auto p = plan(c, R"({"text_docs":["a","b","c"]})", "text_embedding");
    ASSERT_EQ(p.calls.size(), 2u);
    EXPECT_EQ(p.calls[0].body, R"({ "input": ["a","b"], "model": "m" })");
    EXPECT_EQ(p.calls[1].body, R"({ "input": ["c"], "model": "m" })");

    auto zero = connector(openai_embedding_action, {{"input_docs_processed_step_size", "0"}});
    auto e = plan_error(zero, R"({"text_docs":["a"]})", "text_embedding");
    EXPECT_EQ(e.reason, "Invalid parameter: input_docs_processed_step_size. It must be positive integer.");
    auto junk = connector(openai_embedding_action, {{"input_docs_processed_step_size", "two"}});
    e = plan_error(junk, R"({"text_docs":["a"]})", "text_embedding");
    EXPECT_EQ(e.reason, R"(For input string: "two")");
    EXPECT_EQ(e.code, errc::number_format);  // Integer.parseInt's NumberFormatException
}

TEST(predict, bedrock_embedding_makes_one_call_per_doc) {
    const auto c = connector({
        {"request_body", R"({ "inputText": "${parameters.inputText}" })"},
        {"pre_process_function", "connector.pre_process.bedrock.embedding"},
        {"post_process_function", "connector.post_process.bedrock.embedding"},
    });
    auto p = plan(c, R"({"text_docs":["first \"doc\"","second"]})", "text_embedding");
    ASSERT_EQ(p.calls.size(), 2u);
    EXPECT_EQ(p.calls[0].body, R"({ "inputText": "first \"doc\"" })");
    EXPECT_EQ(p.calls[1].body, R"({ "inputText": "second" })");
    EXPECT_EQ(
        finish(p, 200, R"({"embedding":[1.5,2],"inputTextTokenCount":2})"),
        R"({"output":[{"name":"sentence_embedding","data_type":"FLOAT32","shape":[2],"data":[1.5E0,2]}],"status_code":200})"
    );
}

// The multimodal built-ins take the docs as they are (an image is a base64 text doc), all in one call.
TEST(predict, multimodal_pre_process_functions_place_the_docs) {
    const auto titan = connector({
        {"request_body",
         R"({ "inputText": "${parameters.inputText}", "inputImage": "${parameters.inputImage}" })"},
        {"pre_process_function", "connector.pre_process.bedrock.multimodal_embedding"},
        {"post_process_function", "connector.post_process.bedrock.embedding"},
    });
    auto p = plan(titan, R"({"text_docs":["a \"cat\"","iVBORw0KGgo="]})", "text_embedding");
    ASSERT_EQ(p.calls.size(), 1u);
    EXPECT_EQ(p.calls[0].body, R"({ "inputText": "a \"cat\"", "inputImage": "iVBORw0KGgo=" })");
    EXPECT_EQ(
        plan_error(titan, R"({"text_docs":[null]})", "text_embedding").reason,
        "No input text or image provided"
    );
    // Text alone: no inputImage, so a template that needs one is the missing-placeholder error.
    const auto text_only = connector({
        {"request_body", R"({ "inputText": "${parameters.inputText}" })"},
        {"pre_process_function", "connector.pre_process.bedrock.multimodal_embedding"},
    });
    EXPECT_EQ(
        plan(text_only, R"({"text_docs":["only text"]})", "text_embedding").calls[0].body,
        R"({ "inputText": "only text" })"
    );

    const auto cohere = connector({
        {"request_body", R"({ "images": ["${parameters.images}"], "input_type": "image" })"},
        {"pre_process_function", "connector.pre_process.cohere.multimodal_embedding"},
    });
    EXPECT_EQ(
        plan(cohere, R"({"text_docs":["data:image/png;base64,AAAA"]})", "text_embedding").calls[0].body,
        // escapeRemoteInferenceInputData escapes `/` as escapeJson does.
        R"({ "images": ["data:image\/png;base64,AAAA"], "input_type": "image" })"
    );
    EXPECT_EQ(plan_error(cohere, R"({"text_docs":[null]})", "text_embedding").reason, "No image provided");

    for (const auto& [function, name] : std::vector<std::pair<std::string, std::string>>{
             {"connector.pre_process.bedrock.nova.image_embedding", "inputImage"},
             {"connector.pre_process.bedrock.nova.video_embedding", "inputVideo"},
             {"connector.pre_process.bedrock.nova.audio_embedding", "inputAudio"},
         }) {
        const auto nova = connector({
            {"request_body", "{ \"bytes\": \"${parameters." + name + "}\" }"},
            {"pre_process_function", function},
        });
        auto n = plan(nova, R"({"text_docs":["QUJD"]})", "text_embedding");
        ASSERT_EQ(n.calls.size(), 1u) << function;
        EXPECT_EQ(n.calls[0].body, R"({ "bytes": "QUJD" })") << function;
    }
}

TEST(predict, cohere_embedding_and_data_type_from_filter) {
    const auto c = connector({
        {"request_body", R"({ "texts": ${parameters.texts}, "embedding_types": ["int8"] })"},
        {"pre_process_function", "connector.pre_process.cohere.embedding"},
        {"post_process_function", "connector.post_process.cohere_v2.embedding.int8"},
    });
    auto p = plan(c, R"({"text_docs":["x"]})", "text_embedding");
    EXPECT_EQ(p.calls.at(0).body, R"({ "texts": ["x"], "embedding_types": ["int8"] })");
    EXPECT_EQ(p.data_type, "INT8");
    EXPECT_EQ(
        finish(p, 200, R"({"embeddings":{"int8":[[-3,7]]}})"),
        R"({"output":[{"name":"sentence_embedding","data_type":"INT8","shape":[2],"data":[-3,7]}],"status_code":200})"
    );
}

TEST(predict, embedding_post_process_validation_texts) {
    const auto c = connector(openai_embedding_action, embedding_params);
    auto p = plan(c, R"({"text_docs":["x"]})", "text_embedding");
    auto e = finish_error(p, 200, R"({"data":[{"embedding":"oops"}]})");
    EXPECT_EQ(e.code, errc::illegal_argument);
    EXPECT_EQ(e.reason, "The embedding should be a non-empty List containing List of Float values.");
    e = finish_error(p, 200, R"({"data":[{"embedding":["a"]}]})");
    EXPECT_EQ(e.reason, "The embedding should be a non-empty List containing Float values.");
    e = finish_error(p, 200, R"({"data":[{"embedding":[]}]})");
    EXPECT_EQ(e.reason, "The embedding should be a non-empty List containing Float values.");
    e = finish_error(p, 200, R"({"error":"no data"})");
    EXPECT_EQ(e.reason, "No results for path: $.data[*].embedding");
    // response_filter overrides the built-in path.
    auto p2 = plan(c, R"({"parameters":{"input":["x"],"response_filter":"$.model"}})");
    EXPECT_EQ(p2.response_filter->source(), "$.model");
    e = finish_error(p2, 200, openai_embedding_response);
    EXPECT_EQ(e.reason, "Post process function input is not a List.");
}

TEST(predict, empty_embedding_list_gives_an_element_without_output) {
    const auto c = connector(openai_embedding_action, embedding_params);
    auto p = plan(c, R"({"text_docs":["x"]})", "text_embedding");
    EXPECT_EQ(finish(p, 200, R"({"data":[]})"), R"({"status_code":200})");
}

TEST(predict, text_docs_pre_process_needs_text_docs) {
    const auto c = connector(openai_embedding_action, embedding_params);
    auto e = plan_error(c, R"({"query_text":"q","text_docs":["a"]})", "text_similarity");
    EXPECT_EQ(e.reason, "This pre_process_function can only support TextDocsInputDataSet");
    e = plan_error(c, R"({"text_docs":[null]})", "text_embedding");
    EXPECT_EQ(e.reason, "No input text or image provided");
    const auto plain = connector(chat_action, chat_params);
    e = plan_error(plain, R"({"query_text":"q","text_docs":["a"]})", "text_similarity");
    EXPECT_EQ(e.reason, "pre_process_function not defined in connector");
}

TEST(predict, rerank_with_text_similarity) {
    const auto c = connector({
        {"url", "https://api.cohere.ai/v1/rerank"},
        {"request_body",
         R"({ "documents": ${parameters.documents}, "query": "${parameters.query}", "top_n": ${parameters.top_n} })"},
        {"pre_process_function", "connector.pre_process.cohere.rerank"},
        {"post_process_function", "connector.post_process.cohere.rerank"},
    });
    auto p = plan(c, R"({"query_text":"what is \"x\"?","text_docs":["doc a","doc b"]})", "text_similarity");
    ASSERT_EQ(p.calls.size(), 1u);
    EXPECT_EQ(
        p.calls[0].body, R"({ "documents": ["doc a","doc b"], "query": "what is \"x\"?", "top_n": 2 })"
    );
    EXPECT_EQ(
        finish(
            p, 200, R"({"results":[{"index":1,"relevance_score":0.9},{"index":0,"relevance_score":0.25}]})"
        ),
        R"({"output":[{"name":"similarity","data_type":"FLOAT32","shape":[1],"data":[2.5E-1]},)"
        R"({"name":"similarity","data_type":"FLOAT32","shape":[1],"data":[9E-1]}],"status_code":200})"
    );
}

TEST(predict, builtin_filters_are_compiled_once_and_shared) {
    const auto c = connector(openai_embedding_action, embedding_params);
    auto a = plan(c, R"({"text_docs":["x"]})", "text_embedding");
    auto b = plan(c, R"({"parameters":{"input":["y"]}})");
    ASSERT_TRUE(a.response_filter && b.response_filter);
    EXPECT_EQ(a.response_filter.get(), b.response_filter.get());
    EXPECT_EQ(a.post_process, b.post_process);
}

TEST(predict, bedrock_rerank_and_batch_and_passthrough_post_processing) {
    const auto rerank = connector({
        {"request_body",
         R"({"queries": ${parameters.queries}, "sources": ${parameters.sources}, "n": ${parameters.numberOfResults}})"},
        {"pre_process_function", "connector.pre_process.bedrock.rerank"},
        {"post_process_function", "connector.post_process.bedrock.rerank"},
    });
    auto p = plan(rerank, R"({"query_text":"q","text_docs":["d"]})", "text_similarity");
    EXPECT_EQ(
        p.calls.at(0).body,
        R"({"queries": [{"textQuery":{"text":"q"},"type":"TEXT"}], "sources": )"
        R"([{"inlineDocumentSource":{"textDocument":{"text":"d"},"type":"TEXT"},"type":"INLINE"}], "n": 1})"
    );
    EXPECT_EQ(
        finish(p, 200, R"({"results":[{"index":0,"relevanceScore":0.5}]})"),
        R"({"output":[{"name":"similarity","data_type":"FLOAT32","shape":[1],"data":[5E-1]}],"status_code":200})"
    );
    EXPECT_EQ(
        finish_error(p, 200, R"({"results":[{"index":0}]})").reason,
        "The rerank result should contain index and relevanceScore."
    );

    const auto batch = connector(
        {{"request_body", "{}"}, {"post_process_function", "connector.post_process.bedrock.batch_job_arn"}}
    );
    p = plan(batch, R"({"parameters":{}})");
    EXPECT_EQ(
        finish(p, 200, R"({"jobArn":"arn:aws:bedrock:us-east-1:1:job/abc"})"),
        R"({"output":[{"name":"response","dataAsMap":{"jobArn":"arn:aws:bedrock:us-east-1:1:job/abc",)"
        R"("processedJobArn":"arn:aws:bedrock:us-east-1:1:job%2Fabc"}}],"status_code":200})"
    );
    EXPECT_EQ(finish_error(p, 200, R"({"id":1})").reason, "job arn is missing.");

    const auto passthrough = connector(
        {{"request_body", "{}"}, {"post_process_function", "connector.post_process.mlcommons.passthrough"}}
    );
    p = plan(passthrough, R"({"parameters":{}})");
    EXPECT_EQ(
        finish(
            p,
            200,
            R"({"inference_results":[{"output":[{"name":"output","dataAsMap":{"response":[{"a":0.5}]}},)"
            R"({"name":"sentence_embedding","data_type":"FLOAT32","shape":[2],"data":[1,2]}],"status_code":200}]})"
        ),
        R"({"output":[{"name":"output","dataAsMap":{"response":[{"a":5E-1}]}},)"
        R"({"name":"sentence_embedding","data_type":"FLOAT32","shape":[2],"data":[1,2]}],"status_code":200})"
    );
    EXPECT_EQ(
        finish(p, 200, R"({"plain":true})"),
        R"({"output":[{"name":"response","dataAsMap":{"plain":true}}],"status_code":200})"
    );
}

// ---------------------------------------------------------------------------------------------------
// §4 response wrapping and upstream failures

TEST(predict, response_filter_and_wrapping) {
    const auto c = connector(chat_action, chat_params);
    constexpr std::string_view chat_response =
        R"({"choices":[{"message":{"role":"assistant","content":"Hello!"}}],"usage":{"total_tokens":3},)"
        R"("tool":"{\"a\":[1,2]}"})";
    auto p = plan(c, R"({"parameters":{"prompt":"x","response_filter":"$.choices[0].message.content"}})");
    EXPECT_EQ(
        finish(p, 200, chat_response),
        R"({"output":[{"name":"response","dataAsMap":{"response":"Hello!"}}],"status_code":200})"
    );
    p = plan(c, R"({"parameters":{"prompt":"x","response_filter":"$.usage"}})");
    EXPECT_EQ(
        finish(p, 200, chat_response),
        R"({"output":[{"name":"response","dataAsMap":{"total_tokens":3}}],"status_code":200})"
    );
    // A string holding a JSON object is parsed.
    p = plan(c, R"({"parameters":{"prompt":"x","response_filter":"$.tool"}})");
    EXPECT_EQ(
        finish(p, 200, chat_response),
        R"({"output":[{"name":"response","dataAsMap":{"a":[1,2]}}],"status_code":200})"
    );
    // Indefinite paths give a list.
    p = plan(c, R"({"parameters":{"prompt":"x","response_filter":"$.choices[*].message.role"}})");
    EXPECT_EQ(
        finish(p, 200, chat_response),
        R"({"output":[{"name":"response","dataAsMap":{"response":["assistant"]}}],"status_code":200})"
    );
    // A miss is an error, never the whole body.
    p = plan(c, R"({"parameters":{"prompt":"x","response_filter":"$.nope"}})");
    auto e = finish_error(p, 200, chat_response);
    EXPECT_EQ(e.code, errc::illegal_argument);
    EXPECT_EQ(e.reason, "No results for path: $.nope");
    // A bad filter is refused before the call.
    e = plan_error(c, R"x({"parameters":{"prompt":"x","response_filter":"$[?(@.a ~~ 1)]"}})x");
    EXPECT_EQ(e.code, errc::illegal_argument);
    EXPECT_EQ(e.reason, "Invalid JSON path: $[?(@.a ~~ 1)]");
    // Filters and functions (Jayway's): the assistant choices' contents, the number of choices.
    p = plan(
        c,
        R"x({"parameters":{"prompt":"x","response_filter":"$.choices[?(@.message.role == 'assistant')].message.content"}})x"
    );
    EXPECT_EQ(
        finish(p, 200, chat_response),
        R"({"output":[{"name":"response","dataAsMap":{"response":["Hello!"]}}],"status_code":200})"
    );
    p = plan(c, R"x({"parameters":{"prompt":"x","response_filter":"$.choices.length()"}})x");
    EXPECT_EQ(
        finish(p, 200, chat_response),
        R"({"output":[{"name":"response","dataAsMap":{"response":1}}],"status_code":200})"
    );
    p = plan(c, R"x({"parameters":{"prompt":"x","response_filter":"$.choices.sum()"}})x");
    e = finish_error(p, 200, chat_response);
    EXPECT_EQ(e.reason, "Aggregation function attempted to calculate value using empty array");
}

TEST(predict, element_is_built_in_the_given_storage) {
    // /v1 hands finish_call its request arena: the element, its tensor and the upstream's object under
    // dataAsMap all live there (a copy into the default heap anywhere on the way would show up here).
    const auto c = connector(chat_action, chat_params);
    const auto p = plan(c, R"({"parameters":{"prompt":"x"}})");
    json::monotonic_resource arena;
    auto e = registry::finish_call(
        p, 0, 200, R"({"choices":[{"index":0}],"usage":{"total_tokens":3}})", -1, &arena
    );
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->storage().get(), &arena);
    const auto& tensor = e->at("output").get_array().at(0).get_object();
    EXPECT_EQ(tensor.storage().get(), &arena);
    const auto& map = tensor.at("dataAsMap").get_object();
    EXPECT_EQ(map.storage().get(), &arena);
    EXPECT_EQ(map.at("usage").get_object().storage().get(), &arena);
    // Without one, the default heap, as before.
    auto d = registry::finish_call(p, 0, 200, R"({"choices":[]})", -1);
    ASSERT_TRUE(d.has_value());
    EXPECT_NE(d->storage().get(), &arena);
}

TEST(predict, array_and_scalar_bodies) {
    const auto c = connector(chat_action, chat_params);
    auto p = plan(c, R"({"parameters":{"prompt":"x"}})");
    EXPECT_EQ(
        finish(p, 200, R"([1,"two",{"3":null}])"),
        R"({"output":[{"name":"response","dataAsMap":{"response":[1,"two",{"3":null}]}}],"status_code":200})"
    );
    auto e = finish_error(p, 200, "42");
    EXPECT_EQ(e.code, errc::illegal_argument);
    EXPECT_EQ(e.reason, "Unsupported response type");
    e = finish_error(p, 200, R"("just text")");
    EXPECT_EQ(e.reason, "Unsupported response type");
    // A filter may select a scalar: it is wrapped.
    p = plan(c, R"({"parameters":{"prompt":"x","response_filter":"$.n"}})");
    EXPECT_EQ(
        finish(p, 200, R"({"n":12345678901234})"),
        R"({"output":[{"name":"response","dataAsMap":{"response":12345678901234}}],"status_code":200})"
    );
    // status_code is the upstream status; 300 still counts as success.
    p = plan(c, R"({"parameters":{"prompt":"x"}})");
    EXPECT_EQ(
        finish(p, 201, R"({"ok":true})"),
        R"({"output":[{"name":"response","dataAsMap":{"ok":true}}],"status_code":201})"
    );
    EXPECT_EQ(
        finish(p, 300, R"({"ok":true})"),
        R"({"output":[{"name":"response","dataAsMap":{"ok":true}}],"status_code":300})"
    );
}

TEST(predict, upstream_error_statuses_pass_through) {
    const auto c = connector(chat_action, chat_params);
    auto p = plan(c, R"({"parameters":{"prompt":"x"}})");
    struct status_case {
        unsigned status;
        std::string_view body;
        std::string_view reason;
    };
    for (const auto& t : {
             status_case{401, R"({"error":"bad key"})", R"(Error from remote service: {"error":"bad key"})"},
             status_case{404, "not found", "Error from remote service: not found"},
             status_case{
                 429, R"({"error":"slow down"})", R"(Error from remote service: {"error":"slow down"})"},
             status_case{503, "", "Remote service returned error status 503 with empty body"},
             status_case{500, " \r\n", "Remote service returned error status 500 with empty body"},
             status_case{301, "moved", "Error from remote service: moved"},
             status_case{199, "x", "Error from remote service: x"},
         }) {
        auto e = finish_error(p, t.status, t.body);
        EXPECT_EQ(e.code, errc::upstream_status) << t.status;
        EXPECT_EQ(e.status, static_cast<int>(t.status));
        EXPECT_EQ(e.reason, t.reason);
    }
    // Invalid UTF-8 in the upstream text is replaced, so the error body stays valid JSON.
    auto e = finish_error(p, 400, "bad \xFF byte");
    EXPECT_EQ(e.reason, "Error from remote service: bad \xEF\xBF\xBD byte");
}

TEST(predict, bad_successful_bodies) {
    const auto c = connector(chat_action, chat_params);
    auto p = plan(c, R"({"parameters":{"prompt":"x"}})");
    auto e = finish_error(p, 200, "");
    EXPECT_EQ(e.code, errc::bad_gateway);
    EXPECT_EQ(e.reason, "Remote service returned empty response body");
    e = finish_error(p, 204, "  \n");
    EXPECT_EQ(e.code, errc::bad_gateway);
    e = finish_error(p, 200, "<html>oops</html>");
    EXPECT_EQ(e.code, errc::illegal_argument);
    EXPECT_EQ(e.reason.rfind("Invalid JSON format: ", 0), 0u) << e.reason;
    e = finish_error(p, 200, R"({"a":1} trailing)");
    EXPECT_EQ(e.reason.rfind("Invalid JSON format: ", 0), 0u) << e.reason;
    e = finish_error(p, 200, R"({"a":"0123456789"})", 10);
    EXPECT_EQ(e.code, errc::illegal_argument);
    EXPECT_EQ(e.reason, "JSON string size exceeds maximum allowed size (10 bytes)");
    // Invalid UTF-8 in a successful body is decoded with replacement characters, as Java does.
    EXPECT_EQ(
        finish(p, 200, "{\"a\":\"x\xC3\"}"),
        "{\"output\":[{\"name\":\"response\",\"dataAsMap\":{\"a\":\"x\xEF\xBF\xBD\"}}],\"status_code\":200}"
    );
    // -1 means unlimited.
    EXPECT_EQ(
        finish(p, 200, R"({"a":"0123456789"})", -1),
        R"({"output":[{"name":"response","dataAsMap":{"a":"0123456789"}}],"status_code":200})"
    );
}

// ---------------------------------------------------------------------------------------------------
// Body parsers

TEST(predict, remote_parser) {
    auto r = request(R"({"parameters":{"a":1},"dlq":{"x":"y"},"other":[1]})");
    EXPECT_EQ(r.kind, predict_input_kind::parameters);
    EXPECT_EQ(json::serialize(r.parameters), R"({"a":1})");
    EXPECT_EQ(r.action_type, "PREDICT");
    EXPECT_EQ(request(R"({"action_type":"batch_predict"})", "Remote").action_type, "BATCH_PREDICT");
    EXPECT_TRUE(request("{}").parameters.empty());
    EXPECT_EQ(request_error(R"({"action_type":"bogus"})").reason, "Wrong Action Type of bogus");
    auto e = registry::parse_predict_body(json::value(nullptr), "");
    ASSERT_FALSE(e.has_value());
    EXPECT_EQ(e.error().code, errc::parse_failed);
    EXPECT_EQ(e.error().reason, "request body is required");
}

TEST(predict, bad_algorithm) {
    auto e = request_error(R"({"parameters":{}})", "nonsense");
    EXPECT_EQ(e.code, errc::illegal_argument);
    EXPECT_EQ(e.reason, "Wrong function name");
    // A real function name without a remote input format parses, but the connector cannot use it.
    auto r = request(R"({"input_data":{}})", "kmeans");
    EXPECT_EQ(r.kind, predict_input_kind::none);
    EXPECT_EQ(
        plan_error(connector(chat_action), R"({"input_data":{}})", "kmeans").reason,
        "pre_process_function not defined in connector"
    );
}

TEST(predict, text_embedding_parser) {
    auto r = request(
        R"({"text_docs":["a", 7, null],"parameters":{"content_type":"query","model":"ignored"}})",
        "text_embedding"
    );
    EXPECT_EQ(r.kind, predict_input_kind::text_docs);
    ASSERT_EQ(r.text_docs.size(), 3u);
    EXPECT_EQ(r.text_docs[0], "a");
    EXPECT_EQ(r.text_docs[1], "7");
    EXPECT_FALSE(r.text_docs[2].has_value());
    const registry::param_map expected{{"content_type", "QUERY"}, {"sparse_embedding_format", "WORD"}};
    EXPECT_EQ(r.algorithm_parameters, expected);
    EXPECT_TRUE(r.parameters.empty());

    EXPECT_EQ(request_error(R"({"text_docs":[]})", "text_embedding").reason, "empty docs");
    EXPECT_EQ(request_error(R"({})", "sparse_encoding").reason, "empty docs");
    auto e = request_error(R"({"text_docs":"a"})", "text_embedding");
    EXPECT_EQ(e.code, errc::parsing);
    EXPECT_EQ(
        e.reason, "Failed to parse object: expecting token of type [START_ARRAY] but found [VALUE_STRING]"
    );
    e = request_error(R"({"text_docs":["a"],"parameters":{"content_type":"both"}})", "text_embedding");
    EXPECT_EQ(
        e.reason,
        "No enum constant org.opensearch.ml.common.input.parameter.textembedding."
        "AsymmetricTextEmbeddingParameters.EmbeddingContentType.BOTH"
    );
    e = request_error(R"({"text_docs":[{"a":1}]})", "text_embedding");
    EXPECT_EQ(e.code, errc::illegal_state);

    // Algorithm parameters reach the template unescaped, request `parameters` do not exist for text docs.
    const auto c = connector(
        {{"request_body", R"({"input": ${parameters.input}, "type": "${parameters.content_type:-none}"})"}}
    );
    EXPECT_EQ(
        only_body(c, R"({"text_docs":["a"],"parameters":{"content_type":"passage"}})", "text_embedding"),
        R"({"input": ["a"], "type": "PASSAGE"})"
    );
}

TEST(predict, text_similarity_parser) {
    auto r = request(R"({"query_text":"q","text_docs":["a","b"]})", "text_similarity");
    EXPECT_EQ(r.kind, predict_input_kind::text_similarity);
    EXPECT_EQ(r.query_text, "q");
    EXPECT_EQ(r.text_docs.size(), 2u);
    EXPECT_EQ(
        request_error(R"({"query_text":"q"})", "text_similarity").reason, "No text documents were provided"
    );
    EXPECT_EQ(
        request_error(R"({"text_docs":["a"]})", "text_similarity").reason, "No query text was provided"
    );
}

}  // namespace
}  // namespace modelrelay::test
