// File: foundation_test.cpp
// The foundation against the real binary: OpenSearch surface, _cluster/settings, connectors, durability
// and secrets on disk. Seed 001 steps 1-3 are sent as the walkthrough writes them (host and port aside,
// `<...>` placeholders filled in as a user would).
#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/support/http_client.hpp"
#include "tests/support/server_process.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;

constexpr const char* seed_step1 = R"({
    "persistent": {
        "plugins.ml_commons.trusted_connector_endpoints_regex": [
            ".*$"
        ]
    }
})";

constexpr const char* seed_step2 = R"({
    "persistent": {
      "plugins.ml_commons.connector.private_ip_enabled": true
    }
})";

constexpr const char* seed_step3 = R"({
  "name": "Local LLM connector",
  "description": "Ollama chat via the OpenAI API",
  "version": "1",
  "protocol": "http",
  "parameters": {
    "endpoint": "127.0.0.1:11434",
    "model": "qwen3:4b"
  },
  "credential": {
    "openAI_key": "sk-sentinel-7f3a9c1e5b"
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

class foundation : public ::testing::Test {
protected:
    void SetUp() override {
        data_ = tmp_.path() / "data";
        server_ = std::make_unique<server_process>(data_);
        server_->start();
        client_ = std::make_unique<http_client>(server_->port());
    }
    void restart() {
        server_->restart();
        client_ = std::make_unique<http_client>(server_->port());
    }
    http_client& c() { return *client_; }

    // Seed 001's settings and connector, and a model with the same connector inline.
    void connector_and_inline_model() {
        ASSERT_EQ(c().put("/_cluster/settings", seed_step1).status, 200);
        ASSERT_EQ(c().post("/_plugins/_ml/connectors/_create", seed_step3).status, 200);
        json::value inline_model = json::parse(R"({"name":"m","function_name":"remote"})");
        inline_model.as_object()["connector"] = json::parse(seed_step3);
        ASSERT_EQ(c().post("/_plugins/_ml/models/_register", json::serialize(inline_model)).status, 200);
    }

    // The complete visible state: settings and every connector.
    std::string state() {
        auto s = c().get("/_cluster/settings?flat_settings=true");
        auto q = c().post(
            "/_plugins/_ml/connectors/_search",
            R"({"query":{"match_all":{}},"size":1000,"sort":[{"created_time":"asc"}]})"
        );
        auto hits = q.json().at("hits").at("hits");
        return s.body + json::serialize(hits);
    }

    void expect_error(const http_result& r, unsigned status, std::string_view type, std::string_view reason) {
        EXPECT_EQ(r.status, status) << r.body;
        auto j = r.json();
        EXPECT_EQ(j.at("status").to_number<unsigned>(), status);
        EXPECT_EQ(j.at("error").at("type").as_string(), type) << r.body;
        EXPECT_EQ(j.at("error").at("reason").as_string(), reason) << r.body;
        EXPECT_EQ(j.at("error").at("root_cause").at(0).at("reason").as_string(), reason);
    }

    temp_dir tmp_;
    std::filesystem::path data_;
    std::unique_ptr<server_process> server_;
    std::unique_ptr<http_client> client_;
};

TEST_F(foundation, root_and_health_look_like_opensearch) {
    auto r = c().get("/");
    ASSERT_EQ(r.status, 200);
    auto j = r.json();
    EXPECT_EQ(j.at("version").at("distribution").as_string(), "opensearch");
    EXPECT_TRUE(j.as_object().contains("cluster_uuid"));
    EXPECT_TRUE(j.as_object().contains("tagline"));
    EXPECT_EQ(r.header("content-type"), "application/json; charset=UTF-8");
    auto h = c().get("/_cluster/health");
    ASSERT_EQ(h.status, 200);
    EXPECT_EQ(h.json().at("status").as_string(), "green");
    auto pretty = c().get("/?pretty");
    EXPECT_NE(pretty.body.find("\n  \""), std::string::npos);
}

// clients.md §2.5: OpenSearch Dashboards lists the plugins of a data source to decide which screens to show.
TEST_F(foundation, cat_plugins_lists_the_ml_plugin) {
    auto j = c().get("/_cat/plugins?format=JSON&v=true");
    ASSERT_EQ(j.status, 200) << j.body;
    const auto rows = j.json().as_array();
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows.at(0).at("component").as_string(), "opensearch-ml");
    EXPECT_FALSE(rows.at(0).at("name").as_string().empty());
    EXPECT_FALSE(rows.at(0).at("version").as_string().empty());
    auto text = c().get("/_cat/plugins?v");
    ASSERT_EQ(text.status, 200);
    EXPECT_TRUE(text.body.starts_with("name")) << text.body;
    EXPECT_NE(text.body.find("opensearch-ml"), std::string::npos);
    EXPECT_EQ(c().get("/_cat/plugins?bogus=1").status, 400);
}

TEST_F(foundation, routing_errors_have_opensearch_shapes) {
    auto r = c().get("/_plugins/_ml/nothing_here");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(
        r.body,
        R"({"error":"no handler found for uri [/_plugins/_ml/nothing_here] and method [GET]","status":400})"
    );
    // The text names the path without its query string (RestController.handleBadRequest).
    EXPECT_EQ(
        c().get("/_plugins/_ml/nothing_here?x=1").body,
        R"({"error":"no handler found for uri [/_plugins/_ml/nothing_here] and method [GET]","status":400})"
    );
    auto bodiless = c().post("/_plugins/_ml/connectors/_search", "");
    EXPECT_EQ(bodiless.status, 400);
    EXPECT_EQ(bodiless.json().at("error").at("type").as_string(), "parse_exception") << bodiless.body;
    auto m = c().request("PATCH", "/_plugins/_ml/connectors/_create");
    EXPECT_EQ(m.status, 405);
    EXPECT_EQ(
        m.body,
        R"({"error":"Incorrect HTTP method for uri [/_plugins/_ml/connectors/_create] and method [PATCH], allowed: [POST]","status":405})"
    );
    auto p = c().get("/_cluster/settings?flat_setting=true");
    expect_error(
        p,
        400,
        "illegal_argument_exception",
        "request [/_cluster/settings] contains unrecognized parameter: [flat_setting] -> did you mean "
        "[flat_settings]?"
    );
    auto ok = c().get("/_cluster/settings?error_trace=true&human=true&filter_path=x");
    EXPECT_EQ(ok.status, 200);
    // error_trace is read as a boolean before any handler is looked for.
    expect_error(
        c().get("/_plugins/_ml/nothing_here?error_trace=abc"),
        400,
        "illegal_argument_exception",
        "Failed to parse value [abc] as only [true] or [false] are allowed."
    );
    // So are pretty and human, by the REST channel (AbstractRestChannel); format is accepted everywhere.
    for (const char* bad : {"/_cluster/settings?pretty=abc", "/_cluster/settings?human=abc"}) {
        expect_error(
            c().get(bad),
            400,
            "illegal_argument_exception",
            "Failed to parse value [abc] as only [true] or [false] are allowed."
        );
    }
    EXPECT_EQ(c().get("/_cluster/settings?format=json&pretty=false&human").status, 200);
    // Suggestions come from every consumed parameter: the channel's and the path's too.
    expect_error(
        c().get("/_cluster/settings?prety=true"),
        400,
        "illegal_argument_exception",
        "request [/_cluster/settings] contains unrecognized parameter: [prety] -> did you mean [pretty]?"
    );
    expect_error(
        c().get("/_plugins/_ml/connectors/abc?connector_i=1"),
        400,
        "illegal_argument_exception",
        "request [/_plugins/_ml/connectors/abc] contains unrecognized parameter: [connector_i] -> did you "
        "mean "
        "[connector_id]?"
    );
    // The caller's X-Opaque-Id comes back on the answer, errors included.
    const auto opaque =
        c().request("GET", "/_plugins/_ml/connectors/missing", "", {{"X-Opaque-Id", "trace-42"}});
    EXPECT_EQ(opaque.status, 404);
    EXPECT_EQ(opaque.header("x-opaque-id"), "trace-42");
    EXPECT_EQ(c().get("/").header("x-opaque-id"), "");
    // handleBadRequest prints java.net.URI's decoded path, or a fixed text for a target URI refuses.
    EXPECT_EQ(
        c().get("/_plugins/_ml/no%20such").body,
        R"({"error":"no handler found for uri [/_plugins/_ml/no such] and method [GET]","status":400})"
    );
    EXPECT_EQ(
        c().get("/_plugins/_ml/no{such}").body, R"({"error":"invalid uri has been requested","status":400})"
    );
    // A placeholder pasted as it is reaches its handler, as in OpenSearch (the URI check above is only for
    // the no-handler text).
    auto pasted = c().post("/_plugins/_ml/models/<MODEL_ID>/_predict", R"({"parameters":{}})");
    EXPECT_EQ(pasted.status, 404) << pasted.body;
    EXPECT_NE(pasted.body.find("<MODEL_ID>"), std::string::npos) << pasted.body;
}

// BaseRestHandler: a handler that does not read the body refuses a request that has one, after the query
// parameters were checked and before anything else (a missing id is not looked up).
TEST_F(foundation, a_body_on_a_route_that_reads_none_is_refused) {
    const auto with_body = [&](std::string_view method, const std::string& target) {
        return c().request(method, target, R"({"x":1})", {{"Content-Type", "application/json"}});
    };
    ASSERT_EQ(c().put("/_cluster/settings", seed_step1).status, 200);
    auto created = c().post("/_plugins/_ml/connectors/_create", seed_step3);
    ASSERT_EQ(created.status, 200) << created.body;
    const std::string target =
        "/_plugins/_ml/connectors/" + std::string(created.json().at("connector_id").as_string());
    const auto before = c().get(target).body;
    for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
             {"GET", target},
             {"DELETE", target},
             {"GET", "/_plugins/_ml/models/nope"},
             {"GET", "/_cluster/settings"},
             {"GET", "/"},
             {"GET", "/_plugins/_ml/tasks/nope"}}) {
        expect_error(
            with_body(method, path),
            400,
            "illegal_argument_exception",
            "request [" + method + " " + path + "] does not support having a body"
        );
    }
    EXPECT_EQ(c().get(target).body, before);  // the DELETE deleted nothing
    // Unknown parameters are reported first, as BaseRestHandler checks them first.
    expect_error(
        with_body("GET", "/_cluster/settings?bogus=1"),
        400,
        "illegal_argument_exception",
        "request [/_cluster/settings] contains unrecognized parameter: [bogus]"
    );
    // Routes that read a body still take one.
    EXPECT_EQ(
        c().request("GET", "/_plugins/_ml/connectors/_search", R"({"query":{"match_all":{}}})").status, 200
    );
    EXPECT_EQ(c().request("GET", "/_plugins/_ml/profile", R"({"return_all_models":true})").status, 200);
}

// Request bodies nest up to 1000 levels, OpenSearch XContent's limit; deeper is a parse error.
TEST_F(foundation, request_bodies_nest_up_to_a_thousand_levels) {
    const auto nested = [](int depth) {
        return std::string(static_cast<std::size_t>(depth), '[') +
               std::string(static_cast<std::size_t>(depth), ']');
    };
    auto deep =
        c().post("/_plugins/_ml/model_groups/_register", R"({"name":"g","description":)" + nested(999) + "}");
    EXPECT_EQ(deep.status, 400);
    EXPECT_EQ(
        deep.json().at("error").at("reason").as_string(), "[description] expected string but got array"
    );
    expect_error(
        c().post(
            "/_plugins/_ml/model_groups/_register", R"({"name":"g","description":)" + nested(1000) + "}"
        ),
        400,
        "json_parse_exception",
        "Failed to parse request body: too deep"
    );
}

// RestController.handleOptionsRequest and handleUnsupportedHttpMethod.
TEST_F(foundation, options_and_unknown_methods_answer_as_opensearch) {
    auto known = c().request("OPTIONS", "/_cluster/settings");
    EXPECT_EQ(known.status, 200);
    EXPECT_EQ(known.body, "");
    EXPECT_EQ(known.header("Allow"), "GET,PUT");
    EXPECT_EQ(known.header("Content-Type"), "text/plain; charset=UTF-8");
    auto unknown = c().request("OPTIONS", "/_plugins/_ml/nothing_here");
    EXPECT_EQ(unknown.status, 200);
    EXPECT_EQ(unknown.header("Allow"), "");
    auto odd = c().request("PROPFIND", "/_plugins/_ml/connectors/_search");
    EXPECT_EQ(odd.status, 405);
    EXPECT_EQ(odd.body, R"({"error":"Unexpected HTTP method, allowed: [GET, POST]","status":405})");
    EXPECT_EQ(odd.header("Allow"), "GET,POST");
    auto nowhere = c().request("PROPFIND", "/_plugins/_ml/nothing_here");
    EXPECT_EQ(nowhere.status, 405);
    EXPECT_EQ(nowhere.body, R"({"error":"Unexpected HTTP method","status":405})");
    EXPECT_EQ(c().request("PATCH", "/_cluster/settings").header("Allow"), "GET,PUT");
}

// The body of a `_search` wins over `source`; `source` alone needs `source_content_type`
// (RestRequest.contentOrSourceParam).
TEST_F(foundation, search_source_parameter_needs_its_content_type) {
    const std::string q = "/_plugins/_ml/connectors/_search?source=%7B%22size%22%3A0%7D";
    expect_error(
        c().get(q), 500, "illegal_state_exception", "source and source_content_type parameters are required"
    );
    expect_error(
        c().get(q + "&source_content_type=text/plain"),
        500,
        "illegal_state_exception",
        "Unknown value for source_content_type [text/plain]"
    );
    expect_error(
        c().get(q + "&source_content_type=garbage"),
        400,
        "illegal_argument_exception",
        "invalid Content-Type header [garbage]"
    );
    EXPECT_EQ(c().get(q + "&source_content_type=application/json").status, 200);
    auto body_wins = c().post("/_plugins/_ml/connectors/_search?source=not-json", R"({"size":0})");
    EXPECT_EQ(body_wins.status, 200) << body_wins.body;
}

// RestClusterUpdateSettingsAction reads the body as a map: an array or a scalar holds no settings.
TEST_F(foundation, settings_put_of_an_array_has_no_settings_to_update) {
    const std::string before = state();
    for (const char* body : {"[]", R"(["x"])", "5"}) {
        expect_error(
            c().put("/_cluster/settings", body),
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: no settings to update;"
        );
    }
    expect_error(
        c().get("/_cluster/settings?timeout=1s"),
        400,
        "illegal_argument_exception",
        "request [/_cluster/settings] contains unrecognized parameter: [timeout]"
    );
    EXPECT_EQ(state(), before);
}

// OpenSearch's RestController: media types compare without regard to case, parameters after ';' are
// ignored, anything else is a 406 before the handler runs.
TEST_F(foundation, content_type_is_checked_without_regard_to_case) {
    const std::string before = state();
    for (const char* ct : {"text/plain", "application/xml", "application/json-seq", "json"}) {
        auto r = c().request("PUT", "/_cluster/settings", seed_step1, {{"Content-Type", ct}});
        EXPECT_EQ(r.status, 406) << ct;
        EXPECT_EQ(
            r.body,
            std::string(R"({"error":"Content-Type header [)") + ct + R"(] is not supported","status":406})"
        );
    }
    // No header at all is read as JSON (OpenSearch: 406); an empty one is refused as OpenSearch does.
    auto missing = c().raw(
        "POST /_plugins/_ml/connectors/_search HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{\"size\":0}"
    );
    EXPECT_EQ(missing.status, 200) << missing.body;  // read as JSON (docs/api.md: deliberate)
    auto empty = c().request("PUT", "/_cluster/settings", seed_step1, {{"Content-Type", ""}});
    EXPECT_EQ(empty.status, 406);
    EXPECT_EQ(empty.body, R"({"error":"Content-Type header [] is not supported","status":406})");
    // The 406 comes once a handler has the path and method (RestController.dispatchRequest): a wrong path
    // or method is answered first, an unknown parameter after it.
    const std::vector<std::pair<std::string, std::string>> plain{{"Content-Type", "text/plain"}};
    EXPECT_EQ(c().request("POST", "/_plugins/_ml/nope", "x", plain).status, 400);
    EXPECT_EQ(c().request("GET", "/_plugins/_ml/models/x/_predict", "x", plain).status, 405);
    EXPECT_EQ(c().request("PUT", "/_cluster/settings?bogus=1", seed_step1, plain).status, 406);
    EXPECT_EQ(state(), before);
    for (const char* ct :
         {"application/json",
          "Application/JSON; charset=UTF-8",
          "APPLICATION/X-NDJSON",
          "application/vnd.opensearch+json;compatible-with=2",
          "Application/Vnd.Elasticsearch+Json ; compatible-with=8"}) {
        auto r = c().request("PUT", "/_cluster/settings", seed_step1, {{"Content-Type", ct}});
        EXPECT_EQ(r.status, 200) << ct << ": " << r.body;
    }
}

TEST_F(foundation, seed_001_steps_1_to_3) {
    auto s1 = c().put("/_cluster/settings", seed_step1);
    ASSERT_EQ(s1.status, 200) << s1.body;
    EXPECT_EQ(
        s1.body,
        R"({"acknowledged":true,"persistent":{"plugins":{"ml_commons":{"trusted_connector_endpoints_regex":[".*$"]}}},"transient":{}})"
    );
    auto s2 = c().put("/_cluster/settings", seed_step2);
    ASSERT_EQ(s2.status, 200) << s2.body;
    EXPECT_EQ(
        s2.body,
        R"({"acknowledged":true,"persistent":{"plugins":{"ml_commons":{"connector":{"private_ip_enabled":"true"}}}},"transient":{}})"
    );
    auto s3 = c().post("/_plugins/_ml/connectors/_create", seed_step3);
    ASSERT_EQ(s3.status, 200) << s3.body;
    const std::string id(s3.json().at("connector_id").as_string());
    EXPECT_EQ(id.size(), 20U);
    auto g = c().get("/_plugins/_ml/connectors/" + id);
    ASSERT_EQ(g.status, 200);
    auto doc = g.json().as_object();
    EXPECT_FALSE(doc.contains("credential"));
    EXPECT_EQ(g.body.find("sk-sentinel"), std::string::npos);
    EXPECT_EQ(doc.at("name").as_string(), "Local LLM connector");
    EXPECT_EQ(doc.at("version").as_string(), "1");
    EXPECT_EQ(doc.at("parameters").at("endpoint").as_string(), "127.0.0.1:11434");
    EXPECT_EQ(doc.at("actions").at(0).at("action_type").as_string(), "PREDICT");
    EXPECT_TRUE(doc.at("created_time").is_int64());
}

TEST_F(foundation, settings_get_put_reset_and_errors) {
    auto defaults = c().get("/_cluster/settings?include_defaults=true&flat_settings=true").json();
    EXPECT_EQ(
        defaults.at("defaults").at("plugins.ml_commons.connector.private_ip_enabled").as_string(), "false"
    );
    const std::string before = state();
    expect_error(
        c().put("/_cluster/settings", R"({"persistent":{"plugins.ml_commons.nope":1}})"),
        400,
        "illegal_argument_exception",
        "persistent setting [plugins.ml_commons.nope], not recognized"
    );
    expect_error(
        c().put(
            "/_cluster/settings",
            R"({"persistent":{"plugins.ml_commons.connector.private_ip_enabled":"abc"}})"
        ),
        400,
        "illegal_argument_exception",
        "Failed to parse value [abc] as only [true] or [false] are allowed."
    );
    expect_error(
        c().put("/_cluster/settings", "{}"),
        400,
        "action_request_validation_exception",
        "Validation Failed: 1: no settings to update;"
    );
    auto bad_regex = c().put(
        "/_cluster/settings",
        R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":["(a+)+$"]}})"
    );
    EXPECT_EQ(bad_regex.status, 400) << bad_regex.body;
    // A number that is not an int: OpenSearch's body, with the NumberFormatException as caused_by.
    auto not_int =
        c().put("/_cluster/settings", R"({"persistent":{"plugins.ml_commons.max_model_on_node":7.5}})");
    EXPECT_EQ(not_int.status, 400);
    EXPECT_EQ(
        not_int.json(),
        json::parse(
            R"({"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"Failed to parse value [7.5] for setting [plugins.ml_commons.max_model_on_node]"}],"type":"illegal_argument_exception","reason":"Failed to parse value [7.5] for setting [plugins.ml_commons.max_model_on_node]","caused_by":{"type":"number_format_exception","reason":"For input string: \"7.5\""}},"status":400})"
        )
    );
    auto malformed = c().put("/_cluster/settings", R"({"persistent":)");
    EXPECT_EQ(malformed.status, 400);
    EXPECT_EQ(malformed.json().at("error").at("type").as_string(), "json_parse_exception");
    EXPECT_EQ(state(), before);

    ASSERT_EQ(
        c().put("/_cluster/settings", R"({"transient":{"plugins.ml_commons.stream_enabled":true}})").status,
        200
    );
    auto flat = c().get("/_cluster/settings?flat_settings=true").json();
    EXPECT_EQ(flat.at("transient").at("plugins.ml_commons.stream_enabled").as_string(), "true");
    ASSERT_EQ(
        c().put(
               "/_cluster/settings",
               R"({"persistent":{"plugins":{"ml_commons":{"max_ml_task_per_node":20}}}})"
        )
            .status,
        200
    );
    ASSERT_EQ(
        c().put("/_cluster/settings", R"({"transient":{"plugins.ml_commons.stream_enabled":null}})").status,
        200
    );
    EXPECT_FALSE(c().get("/_cluster/settings?flat_settings=true")
                     .json()
                     .at("transient")
                     .as_object()
                     .contains("plugins.ml_commons.stream_enabled"));
}

// One setting spelled twice in a body (nested and flat) is Settings.fromXContent's duplicate-key error, and
// nothing of the body is applied.
TEST_F(foundation, a_setting_spelled_twice_is_refused_whole) {
    const auto before = c().get("/_cluster/settings?flat_settings=true").body;
    for (const std::string body :
         {R"({"persistent":{"plugins":{"ml_commons":{"stream_enabled":true}},"plugins.ml_commons.stream_enabled":false}})",
          R"({"persistent":{"plugins.ml_commons.stream_enabled":false,"plugins.ml_commons":{"stream_enabled":true}}})"}) {
        auto r = c().put("/_cluster/settings", body);
        EXPECT_EQ(r.status, 400) << r.body;
        EXPECT_EQ(r.json().at("error").at("type").as_string(), "parse_exception") << r.body;
        EXPECT_EQ(
            r.json().at("error").at("reason").as_string().find(
                "duplicate settings key [plugins.ml_commons.stream_enabled] found, previous value ["
            ),
            0U
        ) << r.body;
    }
    auto lists = c().put(
        "/_cluster/settings",
        R"({"transient":{"plugins.ml_commons.trusted_connector_endpoints_regex":["a"],"plugins":{"ml_commons.trusted_connector_endpoints_regex":["b","c"]}}})"
    );
    EXPECT_EQ(lists.status, 400) << lists.body;
    EXPECT_EQ(
        lists.json().at("error").at("reason").as_string(),
        "duplicate settings key [plugins.ml_commons.trusted_connector_endpoints_regex] found, previous value "
        "[[a]], "
        "current value [[b, c]]"
    );
    EXPECT_EQ(c().get("/_cluster/settings?flat_settings=true").body, before);
}

TEST_F(foundation, persistent_settings_and_connectors_survive_restart_transient_do_not) {
    ASSERT_EQ(c().put("/_cluster/settings", seed_step1).status, 200);
    ASSERT_EQ(
        c().put("/_cluster/settings", R"({"transient":{"plugins.ml_commons.stream_enabled":true}})").status,
        200
    );
    ASSERT_EQ(c().put("/_cluster/settings", seed_step1).status, 200);
    auto created = c().post("/_plugins/_ml/connectors/_create", seed_step3);
    ASSERT_EQ(created.status, 200);
    const std::string id(created.json().at("connector_id").as_string());
    const auto before = c().get("/_plugins/_ml/connectors/" + id).body;
    restart();
    auto flat = c().get("/_cluster/settings?flat_settings=true").json();
    EXPECT_EQ(
        flat.at("persistent").at("plugins.ml_commons.trusted_connector_endpoints_regex").at(0).as_string(),
        ".*$"
    );
    EXPECT_TRUE(flat.at("transient").as_object().empty());
    EXPECT_EQ(c().get("/_plugins/_ml/connectors/" + id).body, before);
}

TEST_F(foundation, connector_bad_inputs_are_rejected_and_change_nothing) {
    ASSERT_EQ(c().put("/_cluster/settings", seed_step1).status, 200);
    ASSERT_EQ(c().post("/_plugins/_ml/connectors/_create", seed_step3).status, 200);
    const std::string before = state();
    auto with = [](std::string_view from, std::string_view to) {
        std::string s = seed_step3;
        const auto p = s.find(from);
        EXPECT_NE(p, std::string::npos) << from;
        s.replace(p, from.size(), to);
        return s;
    };
    const std::string create = "/_plugins/_ml/connectors/_create";
    expect_error(c().post(create, ""), 500, "i_o_exception", "Create Connector request has empty body");
    auto malformed = c().post(create, R"({"name": )");
    EXPECT_EQ(malformed.status, 400);
    EXPECT_EQ(malformed.json().at("error").at("type").as_string(), "json_parse_exception");
    // OpenSearch's parser refuses a key written twice in one object (at any depth) ...
    expect_error(
        c().post(create, with(R"("version": "1",)", R"("version": "1", "version": "2",)")),
        400,
        "json_parse_exception",
        "Duplicate field 'version'"
    );
    expect_error(
        c().post(create, with(R"("model": "qwen3:4b")", R"("model": "qwen3:4b", "model": "x")")),
        400,
        "json_parse_exception",
        "Duplicate field 'model'"
    );
    expect_error(
        c().put(
            "/_cluster/settings",
            R"({"transient":{"plugins.ml_commons.stream_enabled":true},"transient":{"plugins.ml_commons.safe_delete_model":true}})"
        ),
        400,
        "json_parse_exception",
        "Duplicate field 'transient'"
    );
    // ... and accepts comments; the same key in two objects is no duplicate.
    auto commented = c().post(
        "/_plugins/_ml/connectors/_search",
        "/* first */ {\"size\": 0, // none\n \"query\": {\"bool\": {\"filter\": [{\"term\": {\"name\": "
        "\"x\"}}, "
        "{\"term\": {\"name\": \"y\"}}]}}}"
    );
    EXPECT_EQ(commented.status, 200) << commented.body;
    expect_error(
        c().post(create, with(R"("name": "Local LLM connector",)", "")),
        400,
        "illegal_argument_exception",
        "Connector name is null"
    );
    expect_error(
        c().post(create, with(R"("version": "1",)", "")),
        400,
        "illegal_argument_exception",
        "Connector version is null"
    );
    expect_error(
        c().post(create, with(R"("protocol": "http",)", "")),
        400,
        "illegal_argument_exception",
        "Connector protocol is null"
    );
    expect_error(
        c().post(create, with(R"("openAI_key": "sk-sentinel-7f3a9c1e5b")", "")),
        400,
        "illegal_argument_exception",
        "Connector credential is null or empty list"
    );
    expect_error(
        c().post(create, with(R"("protocol": "http")", R"("protocol": "grpc")")),
        400,
        "illegal_argument_exception",
        "Unsupported connector protocol. Please use one of [aws_sigv4, http, mcp_sse, mcp_streamable_http]"
    );
    expect_error(
        c().post(create, with(R"("action_type": "predict")", R"("action_type": "guess")")),
        400,
        "illegal_argument_exception",
        "No enum constant org.opensearch.ml.common.connector.ConnectorAction.ActionType.GUESS"
    );
    expect_error(
        c().post(create, with(R"("name": "Local LLM connector")", R"("name": "<bad>")")),
        400,
        "action_request_validation_exception",
        "Validation Failed: 1: Model connector name can only contain letters, numbers, spaces, and basic "
        "punctuation (.,!?():@-_'/\");"
    );
    // The description is checked too (not required), before the name: HashMap order of the two labels.
    expect_error(
        c().post(
            create,
            with(
                R"("description": "Ollama chat via the OpenAI API")", R"("description": "<YOUR DESCRIPTION>")"
            )
        ),
        400,
        "action_request_validation_exception",
        "Validation Failed: 1: Model connector description can only contain letters, numbers, spaces, and "
        "basic punctuation (.,!?():@-_'/\");"
    );
    {
        std::string both =
            with(R"("description": "Ollama chat via the OpenAI API")", R"("description": "<D>")");
        both.replace(both.find("Local LLM connector"), 19, "<N>");
        expect_error(
            c().post(create, both),
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: Model connector description can only contain letters, numbers, spaces, "
            "and "
            "basic punctuation (.,!?():@-_'/\");2: Model connector name can only contain letters, numbers, "
            "spaces, and basic punctuation (.,!?():@-_'/\");"
        );
    }
    expect_error(
        c().post(
            create,
            with(
                R"("Authorization": "Bearer ${credential.openAI_key}")",
                R"("Authorization": "Bearer ${parameters.model}")"
            )
        ),
        400,
        "illegal_argument_exception",
        "Header 'Authorization' cannot use ${parameters.*} placeholders for security reasons. Use "
        "${credential.*} instead."
    );
    auto wrong_type = c().post(create, with(R"("version": "1")", R"("version": ["1"])"));
    EXPECT_EQ(wrong_type.status, 400) << wrong_type.body;
    EXPECT_NE(wrong_type.body.find("version"), std::string::npos) << wrong_type.body;
    auto unknown = c().post(create, with(R"("protocol": "http",)", R"("protocol": "http", "surprise": 1,)"));
    EXPECT_EQ(unknown.status, 400);
    EXPECT_NE(unknown.body.find("surprise"), std::string::npos) << unknown.body;
    // Untrusted URL once the list no longer matches.
    ASSERT_EQ(
        c().put(
               "/_cluster/settings",
               R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":["^https://api\\.openai\\.com/.*$"]}})"
        )
            .status,
        200
    );
    const std::string narrowed = state();
    expect_error(
        c().post(create, seed_step3),
        400,
        "illegal_argument_exception",
        "Connector URL is not matching the trusted connector endpoint regex"
    );
    EXPECT_EQ(state(), narrowed);
    ASSERT_EQ(c().put("/_cluster/settings", seed_step1).status, 200);
    EXPECT_EQ(state(), before);
}

TEST_F(foundation, oversized_body_gets_413) {
    std::string big = R"({"name":")" + std::string(11 * 1024 * 1024, 'a') + R"("})";
    auto r = c().post("/_plugins/_ml/connectors/_create", big);
    EXPECT_EQ(r.status, 413);
    EXPECT_EQ(r.json().at("status").to_number<int>(), 413);
}

// Request framing over a raw socket: the server parses what it has buffered before reading again, so
// pipelined requests, requests split across segments and a request cut short must all still be right.
class raw_socket {
public:
    explicit raw_socket(std::uint16_t port) : socket_(io_) {
        socket_.connect({boost::asio::ip::make_address("127.0.0.1"), port});
        socket_.set_option(boost::asio::ip::tcp::no_delay(true));
    }
    void send(std::string_view bytes) { boost::asio::write(socket_, boost::asio::buffer(bytes)); }
    void shutdown_send() { socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_send); }
    // One complete response, read with Beast; what follows it stays buffered for the next call. A server
    // that does not answer within 10 s fails the test (std::runtime_error) instead of hanging it.
    boost::beast::http::response<boost::beast::http::string_body> read() {
        boost::beast::http::response<boost::beast::http::string_body> res;
        boost::system::error_code ec = boost::asio::error::would_block;
        boost::beast::http::async_read(socket_, buffer_, res, [&](boost::system::error_code e, std::size_t) {
            ec = e;
        });
        io_.restart();
        io_.run_for(std::chrono::seconds(10));
        if (ec == boost::asio::error::would_block) {
            socket_.cancel();
            io_.run();
            throw std::runtime_error("no answer within 10 s");
        }
        if (ec) {
            throw boost::system::system_error(ec);
        }
        return res;
    }

private:
    boost::asio::io_context io_;
    boost::asio::ip::tcp::socket socket_;
    boost::beast::flat_buffer buffer_;
};

std::string get_request(std::string_view target) {
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n\r\n";
}

// A search of a kind nothing was ever stored for is ml-commons' answer for a missing system index; and
// `_source:false` still returns the source (RestActionUtils.getSourceContext).
TEST_F(foundation, searches_of_a_missing_index_and_source_false) {
    auto empty = c().post("/_plugins/_ml/tasks/_search", R"({"query":{"match_all":{}}})");
    ASSERT_EQ(empty.status, 200) << empty.body;
    EXPECT_EQ(
        empty.body,
        R"({"took":0,"timed_out":false,"_shards":{"total":0,"successful":0,"skipped":0,"failed":0},)"
        R"("hits":{"total":{"value":0,"relation":"eq"},"max_score":0.0,"hits":[]}})"
    );
    ASSERT_EQ(c().put("/_cluster/settings", seed_step1).status, 200);
    ASSERT_EQ(c().post("/_plugins/_ml/connectors/_create", seed_step3).status, 200);
    auto hit = c().post("/_plugins/_ml/connectors/_search", R"({"_source":false})");
    ASSERT_EQ(hit.status, 200) << hit.body;
    EXPECT_EQ(hit.json().at("_shards").at("total"), 1);
    EXPECT_TRUE(hit.json().at("hits").at("hits").at(0).as_object().contains("_source")) << hit.body;
}

// Chunk extensions and trailer sections count against a bound (Beast counts neither against the header
// limit): one that never ends is a 400, not a buffer that grows until the process runs out of memory.
TEST_F(foundation, endless_chunk_extensions_and_trailers_are_refused) {
    const std::string head =
        "POST /_plugins/_ml/connectors/_search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n";
    {
        raw_socket s(server_->port());
        s.send(head + "2\r\n{}\r\n0\r\n");
        for (int i = 0; i < 200; ++i) {
            s.send("X-T: " + std::string(1000, 'a') + "\r\n");
        }
        auto r = s.read();
        EXPECT_EQ(r.result_int(), 400U);
        EXPECT_EQ(
            r.body(), R"({"error":"Bad request: chunk size line or trailer section too large","status":400})"
        );
    }
    {
        raw_socket s(server_->port());
        s.send(head + "2;" + std::string(200 * 1000, 'e'));
        auto r = s.read();
        EXPECT_EQ(r.result_int(), 400U);
    }
    // A Transfer-Encoding that does not end in chunked: 400 and the connection closes, so its body is
    // never read as the next request (RFC 9112 §6.3).
    for (const char* te : {"chunked, gzip", "gzip", "identity"}) {
        raw_socket s(server_->port());
        s.send(
            std::string("POST /_plugins/_ml/connectors/_search HTTP/1.1\r\nHost: x\r\nContent-Type: "
                        "application/json\r\nTransfer-Encoding: ") +
            te + "\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
        );
        auto r = s.read();
        EXPECT_EQ(r.result_int(), 400U) << te;
        EXPECT_EQ(r.body(), R"({"error":"Bad request: unsupported transfer encoding","status":400})") << te;
        EXPECT_THROW(s.read(), std::exception) << te;  // closed: no answer for the smuggled request
    }
    EXPECT_EQ(server_->log().find("/smuggled"), std::string::npos);
    // Ordinary trailers and extensions still work.
    raw_socket ok(server_->port());
    ok.send(head + "2;ext=1\r\n{}\r\n0\r\nX-Trailer: yes\r\n\r\n");
    EXPECT_EQ(ok.read().result_int(), 200U);
}

// A JSON log line stays UTF-8 whatever bytes the request path holds (log shippers drop invalid lines).
TEST(json_log, invalid_utf8_in_a_path_becomes_replacement_characters) {
    temp_dir tmp;
    server_process server(tmp.path() / "data", {}, {"--log-format", "json"});
    server.start();
    raw_socket s(server.port());
    s.send("GET /x\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(s.read().result_int(), 400U);
    server.stop();
    std::istringstream in(server.log());
    std::string line;
    bool seen = false;
    while (std::getline(in, line)) {
        boost::system::error_code ec;
        const auto v = boost::json::parse(line, ec);
        ASSERT_FALSE(ec) << line;
        if (const auto* p = v.as_object().if_contains("path")) {
            seen = seen || p->as_string() == "/x\xef\xbf\xbd\xef\xbf\xbd";
        }
    }
    EXPECT_TRUE(seen) << server.log();
}

TEST_F(foundation, pipelined_requests_are_answered_in_order) {
    raw_socket s(server_->port());
    const std::string put =
        "PUT /_cluster/settings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(std::string_view(seed_step1).size()) + "\r\n\r\n" + seed_step1;
    s.send(
        get_request("/") + put + get_request("/_cluster/settings?flat_settings=true") + get_request("/nope")
    );
    auto root = s.read();
    EXPECT_EQ(root.result_int(), 200);
    EXPECT_NE(root.body().find("\"tagline\""), std::string::npos) << root.body();
    auto put_res = s.read();
    EXPECT_EQ(put_res.result_int(), 200) << put_res.body();
    auto settings = s.read();
    EXPECT_EQ(settings.result_int(), 200);
    EXPECT_NE(settings.body().find("trusted_connector_endpoints_regex"), std::string::npos)
        << settings.body();
    auto missing = s.read();
    EXPECT_EQ(missing.result_int(), 400) << missing.body();
}

TEST_F(foundation, a_request_split_across_segments_is_read_whole) {
    raw_socket s(server_->port());
    const std::string body = seed_step1;
    const std::string head =
        "PUT /_cluster/settings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n";
    // Pieces: inside the request line, inside a header, the end of the head, half the body, the rest.
    const std::size_t cuts[] = {5, 40, head.size(), head.size() + body.size() / 2};
    const std::string all = head + body;
    std::size_t at = 0;
    for (std::size_t cut : cuts) {
        s.send(std::string_view(all).substr(at, cut - at));
        at = cut;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    s.send(std::string_view(all).substr(at));
    auto res = s.read();
    EXPECT_EQ(res.result_int(), 200) << res.body();
    EXPECT_NE(c().get("/_cluster/settings").body.find(".*$"), std::string::npos);
}

// `Expect: 100-continue` (curl sends it for bodies over 1 MiB and waits a second for the answer): the
// server says `100 Continue` once the head is in and the body has not come, then answers the request.
TEST_F(foundation, expect_100_continue_gets_an_interim_answer) {
    raw_socket s(server_->port());
    const std::string body = seed_step1;
    const std::string head =
        "PUT /_cluster/settings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: "
        "100-Continue\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n";
    s.send(head);
    auto interim = s.read();
    EXPECT_EQ(interim.result_int(), 100);
    s.send(body);
    auto res = s.read();
    EXPECT_EQ(res.result_int(), 200) << res.body();
    // A client that sends its body without waiting gets the final answer only.
    s.send(head + body + get_request("/_cluster/health"));
    EXPECT_EQ(s.read().result_int(), 200);
    EXPECT_EQ(s.read().result_int(), 200);
}

TEST_F(foundation, a_request_cut_short_gets_400_and_changes_nothing) {
    const auto before = state();
    raw_socket s(server_->port());
    const std::string body = seed_step1;
    s.send(
        "PUT /_cluster/settings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, body.size() / 2)
    );
    s.shutdown_send();
    auto res = s.read();
    EXPECT_EQ(res.result_int(), 400);
    EXPECT_NE(res.body().find("partial message"), std::string::npos) << res.body();
    EXPECT_EQ(state(), before);
}

TEST(request_timeout, a_request_that_stops_arriving_is_dropped_without_an_answer) {
    // The read timeout bounds a request once its first byte is in, also when the rest never comes.
    temp_dir tmp;
    server_process server(tmp.path() / "data", {}, {"--read-timeout-ms", "300"});
    server.start();
    raw_socket s(server.port());
    // A first request on the connection, so the stalled one waits under the idle timeout (120 s by
    // default) until its first byte, and under the read timeout after it.
    s.send(get_request("/"));
    EXPECT_EQ(s.read().result_int(), 200);
    s.send("PUT /_cluster/settings HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"per");
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    try {
        s.read();
        ADD_FAILURE() << "the stalled request was answered";
    } catch (const boost::system::system_error& e) {
        // Closed by the server (not our own 10 s receive limit running out), with nothing written.
        EXPECT_TRUE(
            e.code() == boost::beast::http::error::end_of_stream ||
            e.code() == boost::asio::error::connection_reset
        ) << e.code().message();
    }
    http_client fresh(server.port());
    EXPECT_EQ(fresh.get("/").status, 200);  // the server itself is fine
}

TEST(io_threads, a_thread_above_its_polling_threshold_serves_and_shuts_down) {
    // One I/O thread, more than the 4 connections it busy-polls for: it runs a plain run() until enough
    // of them close, then polls again; requests must be served in both modes and SIGTERM must end it.
    temp_dir tmp;
    server_process server(tmp.path() / "data", {}, {"--threads", "1"});
    server.start();
    std::vector<std::unique_ptr<http_client>> clients;
    for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < 8; ++i) {
            clients.push_back(std::make_unique<http_client>(server.port()));
            EXPECT_EQ(clients.back()->get("/").status, 200);
        }
        for (auto& c : clients) {
            EXPECT_EQ(c->get("/_cluster/settings").status, 200);
        }
        clients.resize(2);  // back under the threshold
        for (auto& c : clients) {
            EXPECT_EQ(c->get("/").status, 200);
        }
    }
    clients.resize(7);
    for (auto& c : clients) {
        if (!c) {
            c = std::make_unique<http_client>(server.port());
        }
        EXPECT_EQ(c->get("/").status, 200);
    }
    EXPECT_EQ(server.stop(), 0);  // with 7 connections open
}

TEST_F(foundation, connector_update_merges_and_delete_answers_opensearch_shapes) {
    ASSERT_EQ(c().put("/_cluster/settings", seed_step1).status, 200);
    const std::string id(
        c().post("/_plugins/_ml/connectors/_create", seed_step3).json().at("connector_id").as_string()
    );
    auto u = c().put(
        "/_plugins/_ml/connectors/" + id, R"({"description":"new","parameters":{"temperature":0.5}})"
    );
    ASSERT_EQ(u.status, 200) << u.body;
    auto uj = u.json();
    EXPECT_EQ(uj.at("_index").as_string(), ".plugins-ml-connector");
    EXPECT_EQ(uj.at("result").as_string(), "updated");
    EXPECT_EQ(uj.at("_version").to_number<int>(), 2);
    auto g = c().get("/_plugins/_ml/connectors/" + id).json();
    EXPECT_EQ(g.at("description").as_string(), "new");
    EXPECT_EQ(g.at("parameters").at("temperature").as_string(), "0.5");
    EXPECT_EQ(g.at("parameters").at("model").as_string(), "qwen3:4b");
    expect_error(
        c().put("/_plugins/_ml/connectors/" + id, ""),
        400,
        "parse_exception",
        "Failed to update connector: Request body is empty"
    );
    // `{}` is a body: an update that changes nothing but last_updated_time.
    const auto before = c().get("/_plugins/_ml/connectors/" + id).json();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    auto noop = c().put("/_plugins/_ml/connectors/" + id, "{}");
    ASSERT_EQ(noop.status, 200) << noop.body;
    EXPECT_EQ(noop.json().at("result").as_string(), "updated");
    EXPECT_EQ(noop.json().at("_version").to_number<int>(), 3);
    auto after = c().get("/_plugins/_ml/connectors/" + id).json();
    EXPECT_GT(
        after.at("last_updated_time").to_number<std::int64_t>(),
        before.at("last_updated_time").to_number<std::int64_t>()
    );
    after.as_object().erase("last_updated_time");
    auto before_obj = before.as_object();
    before_obj.erase("last_updated_time");
    EXPECT_EQ(after, json::value(before_obj));
    expect_error(
        c().get("/_plugins/_ml/connectors/nope"),
        404,
        "status_exception",
        "Failed to find connector with the provided connector id: nope"
    );
    auto d = c().del("/_plugins/_ml/connectors/" + id);
    ASSERT_EQ(d.status, 200);
    EXPECT_EQ(d.json().at("result").as_string(), "deleted");
    auto again = c().del("/_plugins/_ml/connectors/" + id);
    ASSERT_EQ(again.status, 200);
    EXPECT_EQ(again.json().at("result").as_string(), "not_found");
    EXPECT_EQ(c().get("/_plugins/_ml/connectors/" + id).status, 404);
}

// Spec §2.4 (HttpConnector.toXContent): GET and _search print a connector's members in one order, before
// and after an update, with no `credential` anywhere.
// An update is checked as the connector it leaves behind: switching to aws_sigv4 without the keys, service
// and region a create requires, or blanking the name, is refused and changes nothing.
TEST_F(foundation, an_update_cannot_store_a_connector_that_create_refuses) {
    ASSERT_EQ(c().put("/_cluster/settings", seed_step1).status, 200);
    std::string body = seed_step3;
    body.insert(1, R"("connector_id": "plain-http",)");
    ASSERT_EQ(c().post("/_plugins/_ml/connectors/_create", body).status, 200);
    const std::string before = state();
    const auto refused = [&](std::string_view update, std::string_view reason) {
        auto r = c().put("/_plugins/_ml/connectors/plain-http", update);
        EXPECT_EQ(r.status, 400) << update << ": " << r.body;
        EXPECT_NE(r.body.find(reason), std::string::npos) << r.body;
    };
    refused(R"({"protocol":"aws_sigv4"})", "Missing credential");
    refused(
        R"({"protocol":"aws_sigv4","credential":{"access_key":"AKIDEXAMPLE","secret_key":"wJalrXUtnFEMI"}})",
        "Missing service name"
    );
    refused(
        R"({"protocol":"aws_sigv4","credential":{"access_key":"AKIDEXAMPLE","secret_key":"wJalrXUtnFEMI"},
            "parameters":{"service_name":"bedrock"}})",
        "Missing region"
    );
    refused(R"({"name":""})", "Model connector name is required and cannot be null or blank");
    refused(R"({"name":"   "})", "Model connector name is required and cannot be null or blank");
    EXPECT_EQ(state(), before);
    // The complete switch is taken, and a later update that leaves the keys alone keeps them.
    auto full = c().put(
        "/_plugins/_ml/connectors/plain-http",
        R"({"protocol":"aws_sigv4","credential":{"access_key":"AKIDEXAMPLE","secret_key":"wJalrXUtnFEMI"},
            "parameters":{"service_name":"bedrock","region":"us-east-1"}})"
    );
    EXPECT_EQ(full.status, 200) << full.body;
    auto later = c().put("/_plugins/_ml/connectors/plain-http", R"({"description":"still signed"})");
    EXPECT_EQ(later.status, 200) << later.body;
}

TEST_F(foundation, connectors_print_their_members_in_ml_commons_order) {
    ASSERT_EQ(c().put("/_cluster/settings", seed_step1).status, 200);
    const std::string id(
        c().post("/_plugins/_ml/connectors/_create", seed_step3).json().at("connector_id").as_string()
    );
    const auto keys = [](const json::value& v) {
        std::vector<std::string> out;
        for (const auto& kv : v.as_object()) {
            out.emplace_back(kv.key());
        }
        return out;
    };
    std::vector<std::string> expected{
        "name",
        "version",
        "description",
        "protocol",
        "parameters",
        "actions",
        "created_time",
        "last_updated_time"};
    const auto check = [&] {
        EXPECT_EQ(keys(c().get("/_plugins/_ml/connectors/" + id).json()), expected);
        auto hits = c().post("/_plugins/_ml/connectors/_search", R"({"query":{"match_all":{}}})").json();
        EXPECT_EQ(keys(hits.at("hits").at("hits").at(0).at("_source")), expected);
    };
    check();
    ASSERT_EQ(
        c().put(
               "/_plugins/_ml/connectors/" + id, R"({"client_config":{"max_connection":7},"description":"x"})"
        )
            .status,
        200
    );
    expected.emplace_back("client_config");
    check();
}

// Spec §3 Get (MLModel.toXContent): a model's members in one order, whatever order the writes added them
// in (register, deploy, update, undeploy), and an inline connector in the connector order.
TEST_F(foundation, models_print_their_members_in_ml_commons_order) {
    ASSERT_EQ(c().put("/_cluster/settings", seed_step1).status, 200);
    const std::string cid(
        c().post("/_plugins/_ml/connectors/_create", seed_step3).json().at("connector_id").as_string()
    );
    auto reg = c().post(
        "/_plugins/_ml/models/_register?deploy=true",
        R"({"name":"m","function_name":"remote","connector_id":")" + cid + R"(","description":"d"})"
    );
    ASSERT_EQ(reg.status, 200) << reg.body;
    const std::string mid(reg.json().at("model_id").as_string());
    const auto keys = [](const json::value& v) {
        std::vector<std::string> out;
        for (const auto& kv : v.as_object()) {
            out.emplace_back(kv.key());
        }
        return out;
    };
    const auto get = [&] {
        auto r = c().get("/_plugins/_ml/models/" + mid);
        EXPECT_EQ(r.status, 200) << r.body;
        return r.json();
    };
    EXPECT_EQ(
        keys(get()),
        (std::vector<std::string>{
            "name",
            "model_group_id",
            "algorithm",
            "model_version",
            "description",
            "model_state",
            "created_time",
            "last_updated_time",
            "last_registered_time",
            "last_deployed_time",
            "auto_redeploy_retry_times",
            "planning_worker_node_count",
            "current_worker_node_count",
            "planning_worker_nodes",
            "deploy_to_all_nodes",
            "is_hidden",
            "connector_id"})
    );
    ASSERT_EQ(c().post("/_plugins/_ml/models/" + mid + "/_undeploy", "").status, 200);
    ASSERT_EQ(c().put("/_plugins/_ml/models/" + mid, R"({"is_enabled":true,"description":"e"})").status, 200);
    const auto after = keys(get());
    const auto pos = [&](const std::string& k) {
        return std::find(after.begin(), after.end(), k) - after.begin();
    };
    EXPECT_LT(pos("model_state"), pos("is_enabled"));
    EXPECT_LT(pos("is_enabled"), pos("created_time"));
    EXPECT_LT(pos("last_deployed_time"), pos("last_undeployed_time"));
    EXPECT_LT(pos("last_undeployed_time"), pos("auto_redeploy_retry_times"));
    EXPECT_EQ(after.back(), "connector_id");
    EXPECT_EQ(get().at("model_state").as_string(), "UNDEPLOYED");
}

// MCP connectors (spec §2.1, §3.5; McpConnector): gated by mcp_connector_enabled, a top-level url checked
// against the trusted endpoints, headers without any parameter placeholder, no actions, and no models.
TEST_F(foundation, mcp_connectors_keep_url_and_headers) {
    const std::string body =
        R"({"name":"tools","version":1,"protocol":"mcp_sse","url":"https://mcp.example.com/sse",)"
        R"("credential":{"key":"mcp-secret-4711"},"headers":{"Authorization":"Bearer ${credential.key}"},)"
        R"("parameters":{"timeout":30}})";
    const auto create = [&](const std::string& b) {
        return c().post("/_plugins/_ml/connectors/_create", b);
    };
    std::string before = state();
    expect_error(
        create(body),
        403,
        "status_exception",
        "The MCP connector is not enabled. To enable, please update the setting "
        "plugins.ml_commons.mcp_connector_enabled"
    );
    EXPECT_EQ(state(), before);
    ASSERT_EQ(
        c().put(
               "/_cluster/settings",
               R"({"persistent":{"plugins.ml_commons.mcp_connector_enabled":true,)"
               R"("plugins.ml_commons.trusted_connector_endpoints_regex":["^https://mcp\\.example\\.com/.*$"]}})"
        )
            .status,
        200
    );
    before = state();
    expect_error(
        create(
            R"({"name":"t","version":1,"protocol":"mcp_streamable_http","url":"https://mcp.example.com/mcp",)"
            R"("headers":{"X-Tenant":"${parameters.tenant}"}})"
        ),
        400,
        "illegal_argument_exception",
        "Header 'X-Tenant' cannot use ${parameters.*} placeholders in MCP connectors."
    );
    expect_error(
        create(
            R"({"name":"t","version":1,"protocol":"mcp_streamable_http","url":"https://evil.example.org/mcp"})"
        ),
        400,
        "illegal_argument_exception",
        "Connector URL is not matching the trusted connector endpoint regex"
    );
    expect_error(
        create(R"({"name":"t","version":1,"protocol":"mcp_streamable_http"})"),
        400,
        "illegal_argument_exception",
        "url can't be null"
    );
    EXPECT_EQ(state(), before);

    auto made = create(body);
    ASSERT_EQ(made.status, 200) << made.body;
    const std::string id(made.json().at("connector_id").as_string());
    auto got = c().get("/_plugins/_ml/connectors/" + id);
    ASSERT_EQ(got.status, 200);
    std::vector<std::string> keys;
    const auto got_json = got.json();
    for (const auto& kv : got_json.as_object()) {
        keys.emplace_back(kv.key());
    }
    EXPECT_EQ(
        keys,
        (std::vector<std::string>{
            "name",
            "version",
            "protocol",
            "created_time",
            "last_updated_time",
            "url",
            "headers",
            "parameters"})
    );
    EXPECT_EQ(got.json().at("headers").at("Authorization").as_string(), "Bearer ${credential.key}");
    EXPECT_EQ(got.body.find("mcp-secret-4711"), std::string::npos);

    // Updates replace url and headers, and the url is checked again.
    ASSERT_EQ(
        c().put(
               "/_plugins/_ml/connectors/" + id, R"({"url":"https://mcp.example.com/v2","headers":{"a":"b"}})"
        )
            .status,
        200
    );
    before = state();
    expect_error(
        c().put("/_plugins/_ml/connectors/" + id, R"({"url":"http://169.254.169.254/"})"),
        400,
        "illegal_argument_exception",
        "Connector URL is not matching the trusted connector endpoint regex"
    );
    expect_error(
        c().post(
            "/_plugins/_ml/models/_register",
            R"({"name":"m","function_name":"remote","connector_id":")" + id + R"("})"
        ),
        400,
        "illegal_argument_exception",
        "Cannot Create a Model from MCP Connector: " + id
    );
    EXPECT_EQ(state(), before);
    auto after = c().get("/_plugins/_ml/connectors/" + id).json();
    EXPECT_EQ(after.at("url").as_string(), "https://mcp.example.com/v2");
    EXPECT_EQ(json::serialize(after.at("headers")), R"({"a":"b"})");
}

TEST_F(foundation, caller_supplied_ids_and_dry_run) {
    ASSERT_EQ(c().put("/_cluster/settings", seed_step1).status, 200);
    std::string body = seed_step3;
    body.insert(1, R"("connector_id": "my-connector_1",)");
    auto r = c().post("/_plugins/_ml/connectors/_create", body);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json().at("connector_id").as_string(), "my-connector_1");
    auto dup = c().post("/_plugins/_ml/connectors/_create", body);
    EXPECT_EQ(dup.status, 409) << dup.body;
    std::string dry = seed_step3;
    dry.insert(1, R"("dry_run": true,)");
    const std::string before = state();
    auto d = c().post("/_plugins/_ml/connectors/_create", dry);
    ASSERT_EQ(d.status, 200);
    EXPECT_EQ(d.body, R"({"connector_id":"dryRunConnector"})");
    EXPECT_EQ(state(), before);
}

// TransportCreateConnectorAction: a dry run is answered after the parse-time checks, before
// validateConnectorURL ("No actions", the trusted list) and the access-control parameters, which come in
// that order for a real create. An empty actions list has no URL to refuse.
TEST_F(foundation, connector_create_checks_in_ml_commons_order_and_a_dry_run_skips_the_url_checks) {
    const std::string create = "/_plugins/_ml/connectors/_create";
    const std::string before = state();
    // The default trusted list does not have the seed's local URL.
    std::string untrusted = seed_step3;
    untrusted.insert(1, R"("access_mode": "public",)");
    expect_error(
        c().post(create, untrusted),
        400,
        "illegal_argument_exception",
        "Connector URL is not matching the trusted connector endpoint regex"
    );
    const std::string no_actions =
        R"({"name":"a","version":"1","protocol":"http","credential":{"k":"v"},"access_mode":"public"})";
    expect_error(
        c().post(create, no_actions),
        400,
        "illegal_argument_exception",
        "No actions configured for this connector"
    );
    for (std::string dry : {untrusted, no_actions}) {
        dry.insert(1, R"("dry_run": true,)");
        auto r = c().post(create, dry);
        EXPECT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(r.body, R"({"connector_id":"dryRunConnector"})");
    }
    EXPECT_EQ(state(), before);
    ASSERT_EQ(c().put("/_cluster/settings", seed_step1).status, 200);
    const std::string trusted = state();
    expect_error(
        c().post(create, untrusted),
        400,
        "illegal_argument_exception",
        "You cannot specify connector access control parameters because the Security plugin or connector "
        "access control is disabled on your cluster."
    );
    EXPECT_EQ(state(), trusted);
    auto empty = c().post(
        create, R"({"name":"a","version":"1","protocol":"http","credential":{"k":"v"},"actions":[]})"
    );
    ASSERT_EQ(empty.status, 200) << empty.body;
    const auto got =
        c().get("/_plugins/_ml/connectors/" + std::string(empty.json().at("connector_id").as_string()));
    EXPECT_EQ(got.json().at("actions"), json::array()) << got.body;
}

// Routes match the path as sent and only a parameter's value is decoded (OpenSearch's RestController):
// `%2F` in an id stays in the id, so it can never reach, change or delete another resource; bytes that
// are not UTF-8 come back as U+FFFD, so the error stays valid JSON.
TEST_F(foundation, an_encoded_slash_stays_inside_its_id) {
    ASSERT_EQ(c().put("/_cluster/settings", seed_step1).status, 200);
    std::string body = seed_step3;
    body.insert(1, R"("connector_id": "slashdemo",)");
    ASSERT_EQ(c().post("/_plugins/_ml/connectors/_create", body).status, 200);
    const std::string before = state();

    auto get = c().get("/_plugins/_ml/connectors/slashdemo%2F");
    EXPECT_EQ(get.status, 404) << get.body;
    EXPECT_EQ(
        get.json().at("error").at("reason").as_string(),
        "Failed to find connector with the provided connector id: slashdemo/"
    );
    auto update =
        c().put("/_plugins/_ml/connectors/slashdemo%2F", R"({"description":"via an encoded slash"})");
    EXPECT_EQ(update.status, 404) << update.body;
    auto unknown = c().del("/_plugins/_ml/connectors/never-created");
    auto del = c().del("/_plugins/_ml/connectors/slashdemo%2F");
    EXPECT_EQ(del.status, unknown.status) << del.body;
    EXPECT_EQ(del.json().at("result"), unknown.json().at("result")) << del.body;
    EXPECT_EQ(del.json().at("_id").as_string(), "slashdemo/") << del.body;
    auto deploy = c().post("/_plugins/_ml/models/slashdemo%2F_deploy", "");
    EXPECT_EQ(deploy.status, 405) << deploy.body;
    auto walk = c().get("/_plugins/_ml/connectors/x%2F..%2Fslashdemo");
    EXPECT_EQ(walk.status, 404) << walk.body;
    EXPECT_EQ(state(), before);
    EXPECT_EQ(c().get("/_plugins/_ml/connectors/slashdemo").status, 200);

    auto latin = c().get("/_plugins/_ml/connectors/%ff");
    EXPECT_EQ(latin.status, 404) << latin.body;
    EXPECT_EQ(
        latin.json().at("error").at("reason").as_string(),
        "Failed to find connector with the provided connector id: \xEF\xBF\xBD"
    );
}

// Every file in the data directory, WAL and journal included, and the log: no credential in clear.
TEST_F(foundation, credentials_never_reach_disk_or_log_in_clear) {
    ASSERT_EQ(c().put("/_cluster/settings", seed_step1).status, 200);
    for (int i = 0; i < 20; ++i) {
        ASSERT_EQ(c().post("/_plugins/_ml/connectors/_create", seed_step3).status, 200);
    }
    auto scan = [&] {
        for (const auto& e : std::filesystem::recursive_directory_iterator(data_)) {
            if (!e.is_regular_file()) {
                continue;
            }
            std::ifstream in(e.path(), std::ios::binary);
            std::stringstream ss;
            ss << in.rdbuf();
            EXPECT_EQ(ss.str().find("sk-sentinel-7f3a9c1e5b"), std::string::npos) << e.path();
        }
        EXPECT_EQ(server_->log().find("sk-sentinel"), std::string::npos);
    };
    scan();
    server_->stop();
    scan();
    // The key-encryption key is readable by its owner only, and nothing else holds key material.
    EXPECT_EQ(std::filesystem::status(data_ / "kek.key").permissions(), std::filesystem::perms::owner_read);
    EXPECT_FALSE(std::filesystem::exists(data_ / "master.key"));
}

// On a fresh data directory the "indices" do not exist yet: ml-commons' index-missing texts (spec §1.1-1.3).
TEST_F(foundation, index_missing_texts_on_a_fresh_data_directory) {
    expect_error(
        c().get("/_plugins/_ml/connectors/abc"), 404, "status_exception", "Failed to find connector"
    );
    expect_error(
        c().get("/_plugins/_ml/model_groups/abc"), 404, "status_exception", "Failed to find model group index"
    );
    expect_error(c().get("/_plugins/_ml/models/abc"), 404, "status_exception", "Fail to find model");
    ASSERT_EQ(c().put("/_cluster/settings", seed_step1).status, 200);
    ASSERT_EQ(c().post("/_plugins/_ml/connectors/_create", seed_step3).status, 200);
    restart();
    expect_error(
        c().get("/_plugins/_ml/connectors/abc"),
        404,
        "status_exception",
        "Failed to find connector with the provided connector id: abc"
    );
    expect_error(
        c().get("/_plugins/_ml/model_groups/abc"), 404, "status_exception", "Failed to find model group index"
    );
}

// Search cannot see stored credentials: sorting on them returns no stored value, and no query (prefix,
// range, exists, term) can probe them, on connectors or on models with an inline connector.
TEST_F(foundation, search_cannot_read_or_probe_credentials) {
    ASSERT_NO_FATAL_FAILURE(connector_and_inline_model());
    for (const auto& [path, field] :
         {std::pair{"connectors", "credential.openAI_key"},
          std::pair{"models", "connector.credential.openAI_key"}}) {
        const std::string url = std::string("/_plugins/_ml/") + path + "/_search";
        auto sorted =
            c().post(url, std::string(R"({"query":{"match_all":{}},"sort":[{")") + field + R"(":"asc"}]})");
        ASSERT_EQ(sorted.status, 200) << sorted.body;
        EXPECT_EQ(sorted.body.find("v1:"), std::string::npos) << sorted.body;
        EXPECT_EQ(sorted.body.find("sk-sentinel"), std::string::npos) << sorted.body;
        for (const auto& query :
             {std::string(R"({"prefix":{")") + field + R"(":"v1:"}})",
              std::string(R"({"range":{")") + field + R"(":{"gte":""}}})",
              std::string(R"({"exists":{"field":")") + field + R"("}})",
              std::string(R"({"wildcard":{")") + field + R"(":"*"}})"}) {
            auto r = c().post(url, R"({"query":)" + query + "}");
            ASSERT_EQ(r.status, 200) << query << " " << r.body;
            EXPECT_EQ(r.json().at("hits").at("total").at("value").as_int64(), 0) << query << " " << r.body;
        }
    }
}

// Shard-level search failures keep OpenSearch's exception types: a sort on a field no document has is a
// query_shard_exception naming its index (index_uuid is stable across requests), a non-numeric `size` a
// number_format_exception. A model search without a query is ml-commons' filter-only query: scores 0.0.
TEST_F(foundation, search_errors_name_the_index_and_models_without_a_query_score_zero) {
    ASSERT_NO_FATAL_FAILURE(connector_and_inline_model());

    auto unmapped = c().post("/_plugins/_ml/connectors/_search", R"({"sort":[{"no_such_field":"asc"}]})");
    ASSERT_EQ(unmapped.status, 400) << unmapped.body;
    const json::value unmapped_body = unmapped.json();
    const auto& err = unmapped_body.at("error").as_object();
    EXPECT_EQ(err.at("type").as_string(), "query_shard_exception");
    EXPECT_EQ(err.at("reason").as_string(), "No mapping found for [no_such_field] in order to sort on");
    EXPECT_EQ(err.at("index").as_string(), ".plugins-ml-connector");
    const auto& root = err.at("root_cause").at(0).as_object();
    EXPECT_EQ(root.at("type").as_string(), "query_shard_exception");
    EXPECT_EQ(root.at("index_uuid"), err.at("index_uuid"));
    EXPECT_EQ(err.at("index_uuid").as_string().size(), 22U);
    auto again = c().post("/_plugins/_ml/connectors/_search", R"({"sort":"no_such_field"})");
    EXPECT_EQ(again.json().at("error").at("index_uuid"), err.at("index_uuid"));
    auto model_err = c().post("/_plugins/_ml/models/_search", R"({"sort":"no_such_field"})");
    EXPECT_EQ(model_err.json().at("error").at("index").as_string(), ".plugins-ml-model");
    EXPECT_NE(model_err.json().at("error").at("index_uuid"), err.at("index_uuid"));
    auto tolerated = c().post(
        "/_plugins/_ml/connectors/_search", R"({"sort":{"no_such_field":{"unmapped_type":"long"}}})"
    );
    EXPECT_EQ(tolerated.status, 200) << tolerated.body;

    auto size = c().post("/_plugins/_ml/connectors/_search", R"({"size":"ten"})");
    ASSERT_EQ(size.status, 400) << size.body;
    EXPECT_EQ(size.json().at("error").at("type").as_string(), "number_format_exception");
    EXPECT_EQ(size.json().at("error").at("reason").as_string(), "For input string: \"ten\"");

    auto no_query = c().post("/_plugins/_ml/models/_search", R"({"size":5})").json();
    EXPECT_EQ(no_query.at("hits").at("max_score").as_double(), 0.0);
    EXPECT_EQ(no_query.at("hits").at("hits").at(0).at("_score").as_double(), 0.0);
    auto match_all = c().post("/_plugins/_ml/models/_search", R"({"query":{"match_all":{}}})").json();
    EXPECT_EQ(match_all.at("hits").at("hits").at(0).at("_score").as_double(), 1.0);
    auto connectors = c().post("/_plugins/_ml/connectors/_search", R"({"size":5})").json();
    EXPECT_EQ(connectors.at("hits").at("hits").at(0).at("_score").as_double(), 1.0);
}

// Nothing in the data directory is readable by anyone but its owner: the database and its -wal / -shm
// files are created 0600, and a database an older build left 0644 is narrowed at the next start.
TEST_F(foundation, data_files_are_readable_by_their_owner_only) {
    namespace fs = std::filesystem;
    ASSERT_EQ(c().put("/_cluster/settings", seed_step1).status, 200);
    ASSERT_EQ(c().post("/_plugins/_ml/connectors/_create", seed_step3).status, 200);
    const auto others = fs::perms::group_all | fs::perms::others_all;
    const auto check_all = [&] {
        int seen = 0;
        for (const auto& e : fs::directory_iterator(data_)) {
            if (e.is_regular_file()) {
                ++seen;
                EXPECT_EQ(e.status().permissions() & others, fs::perms::none) << e.path();
            }
        }
        return seen;
    };
    EXPECT_GE(check_all(), 3);  // at least kek.key, modelrelay.db and its -wal
    EXPECT_EQ(
        fs::status(data_ / "modelrelay.db").permissions(), fs::perms::owner_read | fs::perms::owner_write
    );
    EXPECT_EQ(fs::status(data_).permissions() & others, fs::perms::none);
    server_->stop();
    fs::permissions(
        data_ / "modelrelay.db", fs::perms::group_read | fs::perms::others_read, fs::perm_options::add
    );
    server_->start();
    client_ = std::make_unique<http_client>(server_->port());
    ASSERT_EQ(c().post("/_plugins/_ml/connectors/_create", seed_step3).status, 200);
    EXPECT_GE(check_all(), 3);
}

TEST_F(foundation, wrong_kek_refuses_to_start_and_destroys_nothing) {
    ASSERT_EQ(c().put("/_cluster/settings", seed_step1).status, 200);
    ASSERT_EQ(c().post("/_plugins/_ml/connectors/_create", seed_step3).status, 200);
    server_->stop();
    const auto other = tmp_.path() / "other.kek";
    {
        std::ofstream out(other, std::ios::binary);
        out << std::string(32, 'A');
    }
    std::filesystem::permissions(other, std::filesystem::perms::owner_read);
    server_process wrong(data_, {{"MODELRELAY_KEK_FILE", other.string()}});
    EXPECT_NE(wrong.start_expect_failure(), 0);
    EXPECT_NE(wrong.log().find("key-encryption key"), std::string::npos) << wrong.log();
    server_->start();
    client_ = std::make_unique<http_client>(server_->port());
    auto q = c().post("/_plugins/_ml/connectors/_search", R"({"query":{"match_all":{}}})");
    EXPECT_EQ(q.json().at("hits").at("total").at("value").to_number<int>(), 1);
}

// Many writers at once share commits (group commit): every valid create answers 200 and is readable at
// once, every create the registry rejects (no name) answers its own 400 inside the same groups, and after a
// SIGKILL exactly the acknowledged connectors are stored.
TEST_F(foundation, concurrent_creates_commit_in_groups_and_each_answer_stands_alone) {
    ASSERT_EQ(c().put("/_cluster/settings", seed_step1).status, 200);
    std::string nameless = seed_step3;
    const std::string name_member = R"("name": "Local LLM connector",)";
    nameless.erase(nameless.find(name_member), name_member.size());
    constexpr int writers = 16;
    constexpr int per_writer = 24;
    std::mutex mu;
    std::vector<std::string> acked;
    std::vector<std::string> problems;
    std::vector<std::thread> threads;
    const auto port = server_->port();
    for (int t = 0; t < writers; ++t) {
        threads.emplace_back([&, port, t] {
            http_client w(port);
            for (int i = 0; i < per_writer; ++i) {
                const bool valid = (i + t) % 2 == 0;
                auto r =
                    w.post("/_plugins/_ml/connectors/_create", valid ? std::string(seed_step3) : nameless);
                std::lock_guard lock(mu);
                if (valid && r.status == 200) {
                    const std::string id(r.json().at("connector_id").as_string());
                    acked.push_back(id);
                    if (w.get("/_plugins/_ml/connectors/" + id).status != 200) {
                        problems.push_back("not readable after its 200: " + id);
                    }
                } else if (valid || r.status != 400 || r.body.find("Connector name is null") == std::string::npos) {
                    problems.push_back(std::to_string(r.status) + " " + r.body);
                }
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    EXPECT_TRUE(problems.empty()) << problems.front();
    ASSERT_EQ(acked.size(), static_cast<std::size_t>(writers * per_writer / 2));
    server_->kill_hard();
    server_->start();
    client_ = std::make_unique<http_client>(server_->port());
    for (const auto& id : acked) {
        EXPECT_EQ(c().get("/_plugins/_ml/connectors/" + id).status, 200) << id;
    }
    auto all = c().post("/_plugins/_ml/connectors/_search", R"({"query":{"match_all":{}},"size":1000})");
    EXPECT_EQ(all.json().at("hits").at("total").at("value").to_number<std::size_t>(), acked.size());
}

// Writers race a SIGKILL; every connector acknowledged with 200 must be there after restart.
TEST_F(foundation, kill_minus_9_loses_no_acknowledged_connector) {
    ASSERT_EQ(c().put("/_cluster/settings", seed_step1).status, 200);
    std::mutex mu;
    std::vector<std::string> acked;
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    const auto port = server_->port();
    for (int t = 0; t < 4; ++t) {
        writers.emplace_back([&, port] {
            try {
                http_client w(port);
                while (!stop.load()) {
                    auto r = w.post("/_plugins/_ml/connectors/_create", seed_step3);
                    if (r.status == 200) {
                        std::lock_guard lock(mu);
                        acked.emplace_back(r.json().at("connector_id").as_string());
                    }
                }
            } catch (const std::exception&) {
                // the server died under us: expected
            }
        });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    server_->kill_hard();
    stop = true;
    for (auto& w : writers) {
        w.join();
    }
    ASSERT_GT(acked.size(), 10U);
    server_->start();
    client_ = std::make_unique<http_client>(server_->port());
    for (const auto& id : acked) {
        EXPECT_EQ(c().get("/_plugins/_ml/connectors/" + id).status, 200) << id;
    }
}

// Two servers on one data directory would each serve their own snapshot and overwrite each other's
// writes: the second is refused at start-up and the first keeps serving, untouched. After a kill -9 the
// kernel has dropped the lock, so the restart is not blocked by a stale one.
TEST_F(foundation, a_second_server_on_the_same_data_dir_is_refused) {
    namespace fs = std::filesystem;
    ASSERT_EQ(c().put("/_cluster/settings", seed_step1).status, 200);
    ASSERT_EQ(c().put("/_cluster/settings", seed_step1).status, 200);
    auto created = c().post("/_plugins/_ml/connectors/_create", seed_step3);
    ASSERT_EQ(created.status, 200) << created.body;
    const std::string id(created.json().at("connector_id").as_string());

    server_process second(data_);
    EXPECT_EQ(second.start_expect_failure(), 1);
    EXPECT_NE(
        second.log().find("data directory " + data_.string() + " is in use by another modelrelay process"),
        std::string::npos
    ) << second.log();
    EXPECT_EQ(c().get("/_plugins/_ml/connectors/" + id).status, 200);
    EXPECT_EQ(c().post("/_plugins/_ml/connectors/_create", seed_step3).status, 200);

    server_->kill_hard();
    server_->start();
    client_ = std::make_unique<http_client>(server_->port());
    EXPECT_EQ(c().get("/_plugins/_ml/connectors/" + id).status, 200);

    // The port file names a port only while a server listens on it: a stale one is removed by the next
    // start before it listens (here it cannot: the port is taken), and a clean stop removes its own.
    const auto stale = tmp_.path() / "stale.port";
    std::ofstream(stale) << "1\n";
    server_process taken(
        tmp_.path() / "other",
        {},
        {"--listen", "127.0.0.1:" + std::to_string(server_->port()), "--port-file", stale.string()}
    );
    EXPECT_NE(taken.start_expect_failure(), 0);
    EXPECT_NE(taken.log().find("cannot listen"), std::string::npos) << taken.log();
    EXPECT_FALSE(fs::exists(stale));
    const auto port_file = data_.parent_path() / "data.port";
    ASSERT_TRUE(fs::exists(port_file));
    EXPECT_EQ(server_->stop(), 0);
    EXPECT_FALSE(fs::exists(port_file));
}

}  // namespace
}  // namespace modelrelay::test

namespace modelrelay::test {
namespace {

// With multi-tenancy on, every ml-commons route needs x-tenant-id and sees only its tenant's data.
TEST(multi_tenancy, tenant_header_is_required_and_scopes_everything) {
    temp_dir tmp;
    server_process server(tmp.path() / "data", {}, {"--multi-tenancy", "true"});
    server.start();
    http_client c(server.port());
    auto missing = c.post("/_plugins/_ml/connectors/_search", R"({"query":{"match_all":{}}})");
    EXPECT_EQ(missing.status, 403) << missing.body;
    EXPECT_EQ(
        missing.json().at("error").at("reason").as_string(), "Tenant ID header is missing or has no value"
    );
    ASSERT_EQ(c.put("/_cluster/settings", seed_step1).status, 200);
    const std::vector<std::pair<std::string, std::string>> a{{"x-tenant-id", "tenant-a"}};
    const std::vector<std::pair<std::string, std::string>> b{{"x-tenant-id", "tenant-b"}};
    auto created = c.request("POST", "/_plugins/_ml/connectors/_create", seed_step3, a);
    ASSERT_EQ(created.status, 200) << created.body;
    const std::string id(created.json().at("connector_id").as_string());
    EXPECT_EQ(c.request("GET", "/_plugins/_ml/connectors/" + id, "", a).status, 200);
    // Another tenant's resource answers ml-commons' 403 (TenantAwareHelper; security.md §3, R13).
    EXPECT_EQ(c.request("GET", "/_plugins/_ml/connectors/" + id, "", b).status, 403);
    EXPECT_EQ(c.request("PUT", "/_plugins/_ml/connectors/" + id, R"({"description":"x"})", b).status, 403);
    auto search_b = c.request("POST", "/_plugins/_ml/connectors/_search", R"({"query":{"match_all":{}}})", b);
    EXPECT_EQ(search_b.json().at("hits").at("total").at("value").to_number<int>(), 0);
    auto search_a = c.request("POST", "/_plugins/_ml/connectors/_search", R"({"query":{"match_all":{}}})", a);
    EXPECT_EQ(search_a.json().at("hits").at("total").at("value").to_number<int>(), 1);
    EXPECT_EQ(
        c.request("GET", "/_plugins/_ml/connectors/" + id, "", a).json().at("tenant_id").as_string(),
        "tenant-a"
    );
    // Deleting from the wrong tenant is refused and removes nothing.
    auto wrong = c.request("DELETE", "/_plugins/_ml/connectors/" + id, "", b);
    EXPECT_EQ(wrong.status, 403);
    EXPECT_EQ(
        wrong.json().at("error").at("reason").as_string(), "You don't have permission to access this resource"
    );
    EXPECT_EQ(c.request("GET", "/_plugins/_ml/connectors/" + id, "", a).status, 200);

    // Stats and profile read no tenant in ml-commons (security.md §3): no header needed, the whole
    // cluster without one, the named tenant's with one.
    auto stats = c.get("/_plugins/_ml/stats/ml_connector_count");
    ASSERT_EQ(stats.status, 200) << stats.body;
    EXPECT_EQ(stats.json().at("ml_connector_count"), 1);
    EXPECT_EQ(
        c.request("GET", "/_plugins/_ml/stats/ml_connector_count", "", b).json().at("ml_connector_count"), 0
    );
    EXPECT_EQ(
        c.request("GET", "/_plugins/_ml/stats/ml_connector_count", "", a).json().at("ml_connector_count"), 1
    );
    EXPECT_EQ(c.get("/_plugins/_ml/profile").status, 200);
    EXPECT_EQ(c.get("/_plugins/_ml/profile/models").status, 200);
}

// Connection management as HTTP/1.1 and 1.0 define it: an HTTP/1.1 answer kept alive carries no Connection
// field, `Connection: close` is answered with it and the connection ends, and an HTTP/1.0 client is kept
// alive only when it asks (`Connection: keep-alive`, echoed).
TEST_F(foundation, keep_alive_follows_the_request_version_and_connection_field) {
    {
        raw_socket s(server_->port());
        s.send(get_request("/"));
        auto kept = s.read();
        EXPECT_EQ(kept.result_int(), 200);
        EXPECT_EQ(kept.count(boost::beast::http::field::connection), 0u);
        EXPECT_TRUE(kept.keep_alive());
        s.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        auto closing = s.read();
        EXPECT_EQ(closing.result_int(), 200);
        EXPECT_EQ(closing[boost::beast::http::field::connection], "close");
        EXPECT_THROW(s.read(), std::exception);  // the server closed the connection
    }
    {
        raw_socket s(server_->port());
        s.send("GET / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n");
        auto kept = s.read();
        EXPECT_EQ(kept.result_int(), 200);
        EXPECT_EQ(kept.version(), 10u);
        EXPECT_EQ(kept[boost::beast::http::field::connection], "keep-alive");
        s.send("GET / HTTP/1.0\r\nHost: x\r\n\r\n");
        auto last = s.read();
        EXPECT_EQ(last.result_int(), 200);
        EXPECT_FALSE(last.keep_alive());
        EXPECT_THROW(s.read(), std::exception);
    }
}

}  // namespace
}  // namespace modelrelay::test
