// File: settings_test.cpp
// `_cluster/settings` as a pure value: GET rendering, PUT semantics and every error text of ml-commons.md
// §1.7, the defaults of §7, the trusted-endpoint checks of §5.1/§5.2, node settings and persistence.
#include "registry/settings.hpp"

#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "registry/setting_value.hpp"
#include "registry/url_shape.hpp"

namespace modelrelay::registry {
namespace {

namespace json = boost::json;

json::value parse(std::string_view text) {
    return json::parse(text);
}

// PUT that must succeed; returns the new settings and checks the response's shape.
cluster_settings put_ok(const cluster_settings& s, std::string_view body, bool flat = false) {
    auto r = s.apply_put(parse(body), flat);
    EXPECT_TRUE(r) << body << " -> " << (r ? "" : r.error().reason);
    if (!r) {
        return s;
    }
    EXPECT_EQ(r->response.at("acknowledged"), json::value(true));
    return r->settings;
}

// PUT that must fail; returns the reason and checks the code.
std::string put_error(const cluster_settings& s, std::string_view body, errc code = errc::illegal_argument) {
    auto r = s.apply_put(body.empty() ? json::value() : parse(body));
    EXPECT_FALSE(r) << body;
    if (r) {
        return {};
    }
    EXPECT_EQ(r.error().code, code) << r.error().reason;
    return r.error().reason;
}

std::string response_of(const cluster_settings& s, std::string_view body, bool flat = false) {
    auto r = s.apply_put(parse(body), flat);
    EXPECT_TRUE(r) << (r ? "" : r.error().reason);
    return r ? json::serialize(r->response) : std::string();
}

constexpr std::string_view ml = "plugins.ml_commons.";

// ---------------------------------------------------------------------------------------------------------
// Defaults and the table

// RestRequest.paramAsTime's TimeValue.parseTimeValue, as _cluster/settings reads its timeouts.
TEST(time_value, accepts_what_opensearch_accepts_with_its_error_texts) {
    for (std::string_view ok :
         {"30s",
          "500ms",
          "2m",
          "1h",
          "7d",
          "10nanos",
          "3micros",
          " 5S ",
          "-1",
          "0",
          "000",
          "-01",
          "-1s",
          "0ms",
          "+5s"}) {
        EXPECT_TRUE(check_time_value(ok, "timeout")) << ok;
    }
    const auto reason = [](std::string_view v) {
        auto r = check_time_value(v, "timeout");
        EXPECT_FALSE(r) << v;
        return r ? std::string() : r.error().reason;
    };
    EXPECT_EQ(
        reason("abc"),
        "failed to parse setting [timeout] with value [abc] as a time value: unit is missing or unrecognized"
    );
    EXPECT_EQ(
        reason("30"),
        "failed to parse setting [timeout] with value [30] as a time value: unit is missing or unrecognized"
    );
    EXPECT_EQ(
        reason("-5s"),
        "failed to parse setting [timeout] with value [-5s] as a time value: negative durations are not "
        "supported"
    );
    EXPECT_EQ(reason("1.5s"), "failed to parse [1.5s], fractional time values are not supported");
    EXPECT_EQ(reason("abcs"), "failed to parse [abcs]");
    EXPECT_EQ(check_time_value("x", "timeout").error().code, errc::illegal_argument);
}

TEST(settings_table, is_sorted_unique_and_defaults_validate) {
    const auto table = setting_table();
    ASSERT_GT(table.size(), 60U);
    for (std::size_t i = 0; i < table.size(); ++i) {
        EXPECT_TRUE(table[i].key.starts_with(ml)) << table[i].key;
        if (i > 0) {
            EXPECT_LT(table[i - 1].key, table[i].key);
        }
        EXPECT_TRUE(validate_value(table[i], default_value(table[i]))) << table[i].key;
        EXPECT_EQ(find_setting(table[i].key), &table[i]);
    }
    EXPECT_EQ(find_setting("plugins.ml_commons.nope"), nullptr);
}

TEST(settings, defaults_drive_the_cached_values) {
    const cluster_settings s;
    EXPECT_TRUE(s.remote_inference_enabled());
    EXPECT_FALSE(s.private_ip_enabled());
    EXPECT_FALSE(s.connector_access_control_enabled());
    EXPECT_FALSE(s.model_access_control_enabled());
    EXPECT_FALSE(s.multi_tenancy_enabled());
    EXPECT_TRUE(s.model_auto_deploy_enabled());
    EXPECT_FALSE(s.stream_enabled());
    EXPECT_EQ(s.max_json_size(), 100000000);
    EXPECT_EQ(s.sync_up_job_interval_seconds(), 10);
    EXPECT_EQ(s.trusted_endpoints().size(), 12U);
    EXPECT_EQ(s.trusted_endpoints()[2], R"(^https://api\.openai\.com/.*$)");
    EXPECT_FALSE(s.has_trusted_private_endpoints());
    EXPECT_EQ(s.version(), 0U);
}

TEST(settings, typed_getters_read_defaults) {
    const cluster_settings s;
    EXPECT_EQ(s.get_int("plugins.ml_commons.ml_task_timeout_in_seconds"), 600);
    EXPECT_EQ(s.get_int("plugins.ml_commons.monitoring_request_count"), 100);
    EXPECT_FLOAT_EQ(
        static_cast<float>(s.get_double("plugins.ml_commons.model_auto_redeploy_success_ratio")), 0.8F
    );
    EXPECT_EQ(s.get_bytes("plugins.ml_commons.disk_free_space_threshold"), 5LL << 30);
    EXPECT_EQ(s.get_string("plugins.ml_commons.task_dispatch_policy"), "round_robin");
    EXPECT_EQ(s.get_string("plugins.ml_commons.exclude_nodes._name"), "");
    EXPECT_EQ(
        s.get_list("plugins.ml_commons.task_dispatcher.eligible_node_role.remote_model"),
        (std::vector<std::string>{"data", "ml"})
    );
    EXPECT_TRUE(s.get_bool("plugins.ml_commons.only_run_on_ml_node"));
    // Misuse is a bug, not input: it throws.
    EXPECT_THROW((void)s.get_bool("plugins.ml_commons.nope"), std::logic_error);
    EXPECT_THROW((void)s.get_int("plugins.ml_commons.stream_enabled"), std::logic_error);
    EXPECT_THROW((void)s.get_list("plugins.ml_commons.stream_enabled"), std::logic_error);
}

// ---------------------------------------------------------------------------------------------------------
// GET rendering

TEST(settings_get, empty_cluster_renders_empty_sections) {
    const cluster_settings s;
    EXPECT_EQ(json::serialize(s.render()), R"({"persistent":{},"transient":{}})");
    EXPECT_EQ(json::serialize(s.render(true)), R"({"persistent":{},"transient":{}})");
}

TEST(settings_get, defaults_flat_and_nested) {
    const cluster_settings s;
    const auto flat = s.render(true, true);
    const auto& d = flat.at("defaults").as_object();
    EXPECT_EQ(d.size(), setting_table().size());
    EXPECT_EQ(d.at("plugins.ml_commons.stream_enabled"), json::value("false"));
    EXPECT_EQ(d.at("plugins.ml_commons.max_json_size"), json::value("100000000"));
    EXPECT_EQ(d.at("plugins.ml_commons.model_auto_redeploy_success_ratio"), json::value("0.8"));
    EXPECT_EQ(d.at("plugins.ml_commons.disk_free_space_threshold"), json::value("5gb"));
    EXPECT_EQ(d.at("plugins.ml_commons.multi_tenancy_enabled"), json::value("false"));
    EXPECT_EQ(d.at("plugins.ml_commons.trusted_connector_private_endpoints_regex"), json::array());
    const auto& trusted = d.at("plugins.ml_commons.trusted_connector_endpoints_regex").as_array();
    ASSERT_EQ(trusted.size(), 12U);
    EXPECT_EQ(trusted[5], json::value(R"(^https://generativelanguage\.googleapis\.com/.*$)"));
    EXPECT_EQ(trusted[11], json::value(R"(^https://rekognition(-fips)?\..*[a-z0-9-]\.amazonaws\.com$)"));

    const auto nested = s.render(false, true);
    const auto& m = nested.at("defaults").at("plugins").at("ml_commons");
    EXPECT_EQ(m.at("stream_enabled"), json::value("false"));
    EXPECT_EQ(m.at("connector").at("private_ip_enabled"), json::value("false"));
    EXPECT_EQ(m.at("connector").at("restricted_ip_patterns"), json::array());
    EXPECT_EQ(m.at("model_auto_deploy").at("enable"), json::value("true"));
    EXPECT_EQ(m.at("exclude_nodes").at("_name"), json::value(""));
    EXPECT_EQ(m.at("remote_job").at("status_regex").at("failed"), json::value("(failed)"));
}

TEST(settings_get, defaults_leave_out_set_keys_and_show_node_values) {
    auto node = cluster_settings().with_node_settings(
        parse(R"({"plugins.ml_commons.multi_tenancy_enabled": true})").as_object()
    );
    ASSERT_TRUE(node);
    auto s = put_ok(*node, R"({"persistent":{"plugins.ml_commons.stream_enabled":true}})");
    s = put_ok(s, R"({"transient":{"plugins.ml_commons.max_json_size":5}})");
    const auto flat = s.render(true, true);
    const auto& d = flat.at("defaults").as_object();
    EXPECT_FALSE(d.contains("plugins.ml_commons.stream_enabled"));
    EXPECT_FALSE(d.contains("plugins.ml_commons.max_json_size"));
    EXPECT_EQ(d.at("plugins.ml_commons.multi_tenancy_enabled"), json::value("true"));
    EXPECT_EQ(d.size(), setting_table().size() - 2);
    EXPECT_EQ(
        json::serialize(s.render()),
        R"({"persistent":{"plugins":{"ml_commons":{"stream_enabled":"true"}}},)"
        R"("transient":{"plugins":{"ml_commons":{"max_json_size":"5"}}}})"
    );
}

// ---------------------------------------------------------------------------------------------------------
// PUT

TEST(settings_put, flat_input_nested_response_by_default) {
    const cluster_settings s;
    EXPECT_EQ(
        response_of(s, R"({"persistent":{"plugins.ml_commons.connector.private_ip_enabled": true}})"),
        R"({"acknowledged":true,"persistent":{"plugins":{"ml_commons":{"connector":{"private_ip_enabled":"true"}}}},"transient":{}})"
    );
    EXPECT_EQ(
        response_of(s, R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"]}})"),
        R"({"acknowledged":true,"persistent":{"plugins":{"ml_commons":{"trusted_connector_endpoints_regex":[".*$"]}}},"transient":{}})"
    );
}

TEST(settings_put, flat_response_on_request) {
    const cluster_settings s;
    EXPECT_EQ(
        response_of(s, R"({"transient":{"plugins.ml_commons.stream_enabled": "true"}})", true),
        R"({"acknowledged":true,"persistent":{},"transient":{"plugins.ml_commons.stream_enabled":"true"}})"
    );
}

TEST(settings_put, nested_and_mixed_input) {
    const cluster_settings s;
    auto next = put_ok(
        s,
        R"({"persistent":{
              "plugins":{"ml_commons":{"stream_enabled":true,"connector":{"private_ip_enabled":"true"}}},
              "plugins.ml_commons.max_ml_task_per_node": 20,
              "plugins.ml_commons": {"model_auto_deploy.enable": false}
           }})"
    );
    EXPECT_TRUE(next.stream_enabled());
    EXPECT_TRUE(next.private_ip_enabled());
    EXPECT_FALSE(next.model_auto_deploy_enabled());
    EXPECT_EQ(next.get_int("plugins.ml_commons.max_ml_task_per_node"), 20);
    EXPECT_EQ(
        json::serialize(next.persistent_json()),
        R"({"plugins.ml_commons.connector.private_ip_enabled":"true","plugins.ml_commons.max_ml_task_per_node":"20",)"
        R"("plugins.ml_commons.model_auto_deploy.enable":"false","plugins.ml_commons.stream_enabled":"true"})"
    );
}

TEST(settings_put, values_are_kept_as_text_the_client_sent) {
    const cluster_settings s;
    auto next = put_ok(
        s,
        R"({"persistent":{
              "plugins.ml_commons.max_ml_task_per_node": "0020",
              "plugins.ml_commons.model_auto_redeploy_success_ratio": 0.5,
              "plugins.ml_commons.disk_free_space_threshold": "512MB",
              "plugins.ml_commons.task_dispatcher.eligible_node_role.remote_model": ["ml", 1, true]
           }})"
    );
    const auto flat = next.render(true).at("persistent").as_object();
    EXPECT_EQ(flat.at("plugins.ml_commons.max_ml_task_per_node"), json::value("0020"));
    EXPECT_EQ(flat.at("plugins.ml_commons.model_auto_redeploy_success_ratio"), json::value("0.5"));
    EXPECT_EQ(flat.at("plugins.ml_commons.disk_free_space_threshold"), json::value("512MB"));
    EXPECT_EQ(
        flat.at("plugins.ml_commons.task_dispatcher.eligible_node_role.remote_model"),
        parse(R"(["ml","1","true"])")
    );
    EXPECT_EQ(next.get_int("plugins.ml_commons.max_ml_task_per_node"), 20);
    EXPECT_EQ(next.get_bytes("plugins.ml_commons.disk_free_space_threshold"), 512LL << 20);
}

TEST(settings_put, list_given_as_comma_string_is_split_on_read) {
    auto next = put_ok(
        cluster_settings(),
        R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":"^http://a/.*$, ^http://b/.*$"}})"
    );
    // Rendered as sent (a string), read as a list.
    EXPECT_EQ(
        next.render(true).at("persistent").at("plugins.ml_commons.trusted_connector_endpoints_regex"),
        json::value("^http://a/.*$, ^http://b/.*$")
    );
    EXPECT_EQ(next.trusted_endpoints(), (std::vector<std::string>{"^http://a/.*$", "^http://b/.*$"}));
    EXPECT_TRUE(next.check_trusted_endpoint("http://b/x"));
}

TEST(settings_put, transient_wins_over_persistent_and_reset_falls_back) {
    auto s = put_ok(cluster_settings(), R"({"persistent":{"plugins.ml_commons.max_json_size":10}})");
    s = put_ok(s, R"({"transient":{"plugins.ml_commons.max_json_size":20}})");
    EXPECT_EQ(s.max_json_size(), 20);
    EXPECT_EQ(s.get_int(setting_keys::max_json_size), 20);
    s = put_ok(s, R"({"transient":{"plugins.ml_commons.max_json_size":null}})");
    EXPECT_EQ(s.max_json_size(), 10);
    s = put_ok(s, R"({"persistent":{"plugins.ml_commons.max_json_size":null}})");
    EXPECT_EQ(s.max_json_size(), 100000000);
    EXPECT_TRUE(s.persistent().empty());
}

TEST(settings_put, null_reset_is_not_listed_in_the_response) {
    auto s = put_ok(cluster_settings(), R"({"persistent":{"plugins.ml_commons.stream_enabled":true}})");
    EXPECT_EQ(
        response_of(s, R"({"persistent":{"plugins.ml_commons.stream_enabled":null}})"),
        R"({"acknowledged":true,"persistent":{},"transient":{}})"
    );
    // Resetting a key that is not set is accepted and changes nothing.
    auto again = put_ok(cluster_settings(), R"({"persistent":{"plugins.ml_commons.stream_enabled":null}})");
    EXPECT_TRUE(again.persistent().empty());
}

TEST(settings_put, wildcard_reset) {
    auto s = put_ok(
        cluster_settings(),
        R"({"persistent":{"plugins.ml_commons.stream_enabled":true,"plugins.ml_commons.max_json_size":5,
                          "plugins.ml_commons.connector.private_ip_enabled":true},
            "transient":{"plugins.ml_commons.stream_enabled":true}})"
    );
    auto partial = put_ok(s, R"({"persistent":{"plugins.ml_commons.connector.*":null}})");
    EXPECT_FALSE(partial.private_ip_enabled());
    EXPECT_EQ(partial.persistent().size(), 2U);

    auto all = put_ok(s, R"({"persistent":{"plugins.ml_commons.*":null}})");
    EXPECT_TRUE(all.persistent().empty());
    EXPECT_EQ(all.transient_values().size(), 1U);  // the other section is untouched
    EXPECT_TRUE(all.stream_enabled());

    // Deletes run before the section's new values.
    auto reset_and_set =
        put_ok(s, R"({"persistent":{"plugins.ml_commons.*":null,"plugins.ml_commons.max_json_size":7}})");
    EXPECT_EQ(reset_and_set.persistent().size(), 1U);
    EXPECT_EQ(reset_and_set.max_json_size(), 7);

    // A wildcard with a value is just an unknown key.
    EXPECT_EQ(
        put_error(s, R"({"persistent":{"plugins.ml_commons.*":true}})"),
        "persistent setting [plugins.ml_commons.*], not recognized"
    );
}

TEST(settings_put, old_value_is_untouched) {
    const cluster_settings before;
    auto after = put_ok(before, R"({"persistent":{"plugins.ml_commons.stream_enabled":true}})");
    EXPECT_FALSE(before.stream_enabled());
    EXPECT_TRUE(before.persistent().empty());
    EXPECT_TRUE(after.stream_enabled());
    EXPECT_EQ(after.version(), before.version() + 1);
}

TEST(settings_put, other_top_level_keys_are_ignored) {
    auto s = put_ok(
        cluster_settings(), R"({"persistent":{"plugins.ml_commons.stream_enabled":true},"whatever":{"x":1}})"
    );
    EXPECT_TRUE(s.stream_enabled());
    EXPECT_EQ(
        put_error(cluster_settings(), R"({"whatever":{"x":1}})", errc::validation_failed),
        "Validation Failed: 1: no settings to update;"
    );
}

// ---------------------------------------------------------------------------------------------------------
// PUT errors

TEST(settings_put_errors, no_settings_to_update) {
    const cluster_settings s;
    const std::string msg = "Validation Failed: 1: no settings to update;";
    EXPECT_EQ(put_error(s, "", errc::validation_failed), msg);
    EXPECT_EQ(put_error(s, "{}", errc::validation_failed), msg);
    EXPECT_EQ(put_error(s, R"({"persistent":{}})", errc::validation_failed), msg);
    EXPECT_EQ(put_error(s, R"({"persistent":{},"transient":{}})", errc::validation_failed), msg);
    EXPECT_EQ(put_error(s, R"({"persistent":{"plugins":{"ml_commons":{}}}})", errc::validation_failed), msg);
}

TEST(settings_put_errors, malformed_sections) {
    const cluster_settings s;
    EXPECT_EQ(
        put_error(s, R"({"persistent":"abc"})", errc::parse_failed),
        "[cluster_update_settings_request] persistent doesn't support values of type: VALUE_STRING"
    );
    EXPECT_EQ(
        put_error(s, R"({"transient":[1]})", errc::parse_failed),
        "[cluster_update_settings_request] transient doesn't support values of type: START_ARRAY"
    );
    EXPECT_EQ(
        put_error(s, R"([1])", errc::parse_failed),
        "[cluster_update_settings_request] Expected START_OBJECT but was: START_ARRAY"
    );
    EXPECT_EQ(
        put_error(
            s,
            R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[{"a":1}]}})",
            errc::illegal_state
        ),
        "only value lists are allowed in serialized settings"
    );
    EXPECT_EQ(
        put_error(
            s,
            R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[null]}})",
            errc::illegal_state
        ),
        "only value lists are allowed in serialized settings"
    );
}

TEST(settings_put_errors, not_recognized) {
    const cluster_settings s;
    EXPECT_EQ(
        put_error(s, R"({"persistent":{"plugins.ml_commons.nope":1}})"),
        "persistent setting [plugins.ml_commons.nope], not recognized"
    );
    EXPECT_EQ(
        put_error(s, R"({"transient":{"cluster":{"routing":{"x":true}}}})"),
        "transient setting [cluster.routing.x], not recognized"
    );
    EXPECT_EQ(
        put_error(s, R"({"persistent":{"plugins.ml_commons.nope":null}})"),
        "persistent setting [plugins.ml_commons.nope], not recognized"
    );
}

TEST(settings_put_errors, not_dynamically_updateable_and_final) {
    const cluster_settings s;
    EXPECT_EQ(
        put_error(s, R"({"persistent":{"plugins.ml_commons.multi_tenancy_enabled":true}})"),
        "persistent setting [plugins.ml_commons.multi_tenancy_enabled], not dynamically updateable"
    );
    // Static in the spec's table (§7): read from --setting at start only.
    EXPECT_EQ(
        put_error(s, R"({"persistent":{"plugins.ml_commons.master_key_cache_ttl_minutes":1440}})"),
        "persistent setting [plugins.ml_commons.master_key_cache_ttl_minutes], not dynamically updateable"
    );
    EXPECT_EQ(
        put_error(s, R"({"transient":{"plugins.ml_commons.multi_tenancy_enabled":null}})"),
        "transient setting [plugins.ml_commons.multi_tenancy_enabled], not dynamically updateable"
    );
    EXPECT_EQ(
        put_error(s, R"({"persistent":{"plugins.ml_commons.connector.restricted_ip_patterns":["10\\..*"]}})"),
        "final persistent setting [plugins.ml_commons.connector.restricted_ip_patterns], not updateable"
    );
    EXPECT_EQ(
        put_error(s, R"({"transient":{"plugins.ml_commons.remote_metadata_type":null}})"),
        "final transient setting [plugins.ml_commons.remote_metadata_type], not updateable"
    );
}

TEST(settings_put_errors, value_parse_and_bounds) {
    const cluster_settings s;
    const auto put1 = [&s](std::string_view key, std::string_view value_json) {
        return put_error(
            s,
            R"({"persistent":{")" + std::string(ml) + std::string(key) + R"(":)" + std::string(value_json) +
                "}}"
        );
    };
    EXPECT_EQ(
        put1("stream_enabled", R"("abc")"),
        "Failed to parse value [abc] as only [true] or [false] are allowed."
    );
    EXPECT_EQ(
        put1("stream_enabled", R"("TRUE")"),
        "Failed to parse value [TRUE] as only [true] or [false] are allowed."
    );
    EXPECT_EQ(
        put1("stream_enabled", "1"), "Failed to parse value [1] as only [true] or [false] are allowed."
    );
    EXPECT_EQ(
        put1("stream_enabled", R"("")"), "Failed to parse value [] as only [true] or [false] are allowed."
    );
    EXPECT_EQ(
        put1("stream_enabled", "[true]"),
        "Failed to parse value [[true]] as only [true] or [false] are allowed."
    );
    EXPECT_EQ(
        put1("max_deploy_model_tasks_per_node", "20"),
        "Failed to parse value [20] for setting [plugins.ml_commons.max_deploy_model_tasks_per_node] must be "
        "<= 10"
    );
    EXPECT_EQ(
        put1("max_deploy_model_tasks_per_node", "-1"),
        "Failed to parse value [-1] for setting [plugins.ml_commons.max_deploy_model_tasks_per_node] must be "
        ">= 0"
    );
    EXPECT_EQ(
        put1("ml_task_timeout_in_seconds", R"("abc")"),
        "Failed to parse value [abc] for setting [plugins.ml_commons.ml_task_timeout_in_seconds]"
    );
    EXPECT_EQ(
        put1("ml_task_timeout_in_seconds", "1.5"),
        "Failed to parse value [1.5] for setting [plugins.ml_commons.ml_task_timeout_in_seconds]"
    );
    EXPECT_EQ(
        put1("ml_task_timeout_in_seconds", "20.0"),
        "Failed to parse value [20.0] for setting [plugins.ml_commons.ml_task_timeout_in_seconds]"
    );
    EXPECT_EQ(
        put1("max_json_size", "2147483648"),  // int overflow is a format error, not a bound error
        "Failed to parse value [2147483648] for setting [plugins.ml_commons.max_json_size]"
    );
    EXPECT_EQ(
        put1("max_json_size", "-2"),
        "Failed to parse value [-2] for setting [plugins.ml_commons.max_json_size] must be >= -1"
    );
    EXPECT_EQ(
        put1("monitoring_request_count", "10000001"),
        "Failed to parse value [10000001] for setting [plugins.ml_commons.monitoring_request_count] must be "
        "<= 10000000"
    );
    EXPECT_EQ(
        put1("model_auto_redeploy_success_ratio", "1.5"),
        "Failed to parse value [1.5] for setting [plugins.ml_commons.model_auto_redeploy_success_ratio] must "
        "be <= 1.0"
    );
    EXPECT_EQ(
        put1("model_auto_redeploy_success_ratio", R"("-0.1")"),
        "Failed to parse value [-0.1] for setting [plugins.ml_commons.model_auto_redeploy_success_ratio] "
        "must be >= 0.0"
    );
    EXPECT_EQ(
        put1("model_auto_redeploy_success_ratio", R"("x")"),
        "Failed to parse value [x] for setting [plugins.ml_commons.model_auto_redeploy_success_ratio]"
    );
    EXPECT_EQ(
        put1("disk_free_space_threshold", R"("5")"),
        "failed to parse setting [plugins.ml_commons.disk_free_space_threshold] with value [5] as a size in "
        "bytes: "
        "unit is missing or unrecognized"
    );
    EXPECT_EQ(put1("disk_free_space_threshold", R"("xgb")"), "failed to parse [xgb]");
}

// Setting.get wraps a parser's exception as the IllegalArgumentException's cause: `caused_by` (only for
// the format errors; bound checks and boolean texts have no cause).
TEST(settings_put_errors, format_errors_carry_the_java_cause) {
    const cluster_settings s;
    const auto causes = [&s](std::string_view key, std::string_view value_json) {
        auto r = s.apply_put(parse(
            R"({"persistent":{"plugins.ml_commons.)" + std::string(key) + R"(":)" + std::string(value_json) +
            "}}"
        ));
        std::vector<std::pair<std::string, std::string>> out;
        EXPECT_FALSE(r);
        if (!r) {
            for (const auto* c = r.error().cause.get(); c != nullptr; c = c->caused_by.get()) {
                out.emplace_back(c->type, c->reason);
            }
        }
        return out;
    };
    using chain = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(
        causes("max_model_on_node", "7.5"), (chain{{"number_format_exception", R"(For input string: "7.5")"}})
    );
    EXPECT_EQ(
        causes("max_json_size", "2147483648"),
        (chain{{"number_format_exception", R"(For input string: "2147483648")"}})
    );
    EXPECT_EQ(
        causes("model_auto_redeploy_success_ratio", R"("x")"),
        (chain{{"number_format_exception", R"(For input string: "x")"}})
    );
    EXPECT_EQ(
        causes("model_auto_redeploy_success_ratio", R"(" ")"),
        (chain{{"number_format_exception", "empty String"}})
    );
    EXPECT_EQ(
        causes("disk_free_space_threshold", R"("xgb")"),
        (chain{
            {"parse_exception", "failed to parse [xgb]"},
            {"number_format_exception", R"(For input string: "x")"}})
    );
    EXPECT_EQ(
        causes("disk_free_space_threshold", R"("5")"),
        (chain{
            {"parse_exception",
             "failed to parse setting [plugins.ml_commons.disk_free_space_threshold] with value [5] as a "
             "size in bytes: "
             "unit is missing or unrecognized"}})
    );
    EXPECT_TRUE(causes("max_deploy_model_tasks_per_node", "20").empty());
    EXPECT_TRUE(causes("stream_enabled", R"("abc")").empty());
}

TEST(settings_put_errors, accepted_edge_values) {
    const cluster_settings s;
    for (const char* body : {
             R"({"persistent":{"plugins.ml_commons.max_deploy_model_tasks_per_node":10}})",
             R"({"persistent":{"plugins.ml_commons.max_deploy_model_tasks_per_node":"+0"}})",
             R"({"persistent":{"plugins.ml_commons.max_json_size":-1}})",
             R"({"persistent":{"plugins.ml_commons.model_auto_redeploy.lifetime_retry_times":-5}})",
             R"({"persistent":{"plugins.ml_commons.model_auto_redeploy_success_ratio":"1"}})",
             R"({"persistent":{"plugins.ml_commons.model_auto_redeploy_success_ratio":" 0.25f "}})",
             R"({"persistent":{"plugins.ml_commons.disk_free_space_threshold":"-1"}})",
             R"({"persistent":{"plugins.ml_commons.disk_free_space_threshold":"1.5gb"}})",
             R"({"persistent":{"plugins.ml_commons.task_dispatch_policy":"anything goes"}})",
         }) {
        put_ok(s, body);
    }
}

TEST(settings_put_errors, failing_second_key_changes_nothing) {
    const cluster_settings s;
    // Sorted order: connector_access_control_enabled (fine) is visited before stream_enabled (bad).
    const std::string reason = put_error(
        s,
        R"({"persistent":{"plugins.ml_commons.stream_enabled":"abc",
                          "plugins.ml_commons.connector_access_control_enabled":true}})"
    );
    EXPECT_EQ(reason, "Failed to parse value [abc] as only [true] or [false] are allowed.");
    EXPECT_FALSE(s.connector_access_control_enabled());
    EXPECT_TRUE(s.persistent().empty());
    EXPECT_EQ(s.version(), 0U);
}

TEST(settings_put_errors, transient_is_checked_before_persistent) {
    const cluster_settings s;
    EXPECT_EQ(
        put_error(s, R"({"persistent":{"plugins.ml_commons.a":1},"transient":{"plugins.ml_commons.b":1}})"),
        "transient setting [plugins.ml_commons.b], not recognized"
    );
}

TEST(settings_put_errors, regex_lists_are_guarded) {
    const cluster_settings s;
    const auto put_list = [&s](std::string_view key, std::string_view list_json) {
        return put_error(
            s,
            R"({"persistent":{"plugins.ml_commons.)" + std::string(key) + R"(":)" + std::string(list_json) +
                "}}"
        );
    };
    for (const char* key :
         {"trusted_connector_endpoints_regex", "trusted_connector_private_endpoints_regex"}) {
        EXPECT_EQ(
            put_list(key, R"(["^https://ok\\.com/.*$", "(a+)+$"])"),
            "Regex pattern contains nested quantifiers or backreferences that may cause ReDoS: (a+)+$"
        );
        EXPECT_EQ(
            put_list(key, R"(["(\\w+)\\1"])"),
            R"(Regex pattern contains nested quantifiers or backreferences that may cause ReDoS: (\w+)\1)"
        );
        EXPECT_EQ(put_list(key, R"(["[unclosed"])"), "Invalid regex pattern: [unclosed");
        EXPECT_EQ(put_list(key, R"(["^a(?=b)$"])"), "Invalid regex pattern: ^a(?=b)$");
        const std::string long_pattern(257, 'a');
        EXPECT_EQ(
            put_list(key, R"([")" + long_pattern + R"("])"),
            "Regex pattern too long (max 256 chars): " + long_pattern
        );
    }
    // A comma string is split first, so `{1,5}` breaks the pattern in two (as in OpenSearch).
    EXPECT_EQ(put_list("trusted_connector_endpoints_regex", R"("^a{1,5}$")"), "Invalid regex pattern: ^a{1");
}

// ---------------------------------------------------------------------------------------------------------
// Trusted endpoints

TEST(settings_endpoints, default_list_is_full_match) {
    const cluster_settings s;
    EXPECT_TRUE(s.check_trusted_endpoint("https://api.openai.com/v1/chat/completions"));
    EXPECT_TRUE(s.check_trusted_endpoint("https://bedrock-runtime.us-east-1.amazonaws.com/model/x/invoke"));
    EXPECT_TRUE(s.check_trusted_endpoint("https://rekognition-fips.us-east-1.amazonaws.com"));
    EXPECT_TRUE(s.check_trusted_endpoint("https://generativelanguage.googleapis.com/v1beta/models"));
    for (const char* url : {
             "https://api.openai.com.evil.com/x",
             "http://api.openai.com/v1",
             "https://api.openai.com",
             "http://127.0.0.1:11434/v1/chat/completions",
             "https://textract.us-east-1.amazonaws.com/extra",
         }) {
        auto r = s.check_trusted_endpoint(url);
        ASSERT_FALSE(r) << url;
        EXPECT_EQ(r.error().code, errc::illegal_argument);
        EXPECT_EQ(r.error().reason, "Connector URL is not matching the trusted connector endpoint regex");
    }
}

// security.md §6.2 / §6.4 gap 4 / R19: the default patterns put `.*` in the host position; a pattern's host
// part is matched against the URL's own origin, so text after the host cannot satisfy it, and URLs that
// parsers read differently are refused before any pattern.
TEST(settings_endpoints, host_patterns_cannot_be_satisfied_after_the_host) {
    const cluster_settings s;
    const auto reason = [&](const char* url) {
        auto r = s.check_trusted_endpoint(url);
        return r ? std::string("accepted") : r.error().reason;
    };
    const std::string no_match = "Connector URL is not matching the trusted connector endpoint regex";
    EXPECT_EQ(reason("https://runtime.sagemaker.attacker.example/x.amazonaws.com/"), no_match);
    EXPECT_EQ(reason("https://bedrock-runtime.attacker.example?x.amazonaws.com/model/m/invoke"), no_match);
    EXPECT_EQ(reason("https://bedrock-runtime.attacker.example/?x.amazonaws.com/model/m/invoke"), no_match);
    EXPECT_EQ(
        reason("https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/e/invocations"), "accepted"
    );
    EXPECT_EQ(
        reason("https://bedrock-runtime.attacker.example#x.amazonaws.com/model/m/invoke"),
        "Connector URL must not contain a fragment"
    );
    EXPECT_EQ(
        reason("https://api.openai.com@attacker.example/v1"), "Connector URL must not contain user info"
    );
    auto open = put_ok(
        cluster_settings(),
        R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[".*"]}})"
    );
    for (const char* host : {"%31%32%37.0.0.1", "api.openai.com%2e", "%6c%6f%63%61%6c%68%6f%73%74"}) {
        auto r = open.check_trusted_endpoint(std::string("http://") + host + "/v1");
        ASSERT_FALSE(r) << host;
        EXPECT_EQ(r.error().reason, std::string("Connector URL host is not canonical: ") + host);
    }
    EXPECT_TRUE(open.check_trusted_endpoint("http://127.0.0.1:8080/v1"));
    EXPECT_TRUE(open.check_trusted_endpoint("http://[::1]:8080/v1"));
    EXPECT_TRUE(open.check_trusted_endpoint("http://llm-1.internal.example:8080/v1"));
    // R19/R20: an address has one spelling. Others naming a refused address get the R18 text at create,
    // whatever private_ip_enabled says; others, and malformed numeric names, are not canonical.
    for (const char* host :
         {"127.1",
          "2130706433",
          "0x7f.1",
          "0177.0.0.1",
          "017700000001",
          "0x7f000001",
          "127.0.0.1.",
          "0",
          "169.254.169.254.",
          "0xa9fea9fe",
          "10.1",
          "100.100.100.200."}) {
        auto r = open.check_trusted_endpoint(std::string("http://") + host + ":11434/v1");
        ASSERT_FALSE(r) << host;
        EXPECT_EQ(r.error().code, errc::illegal_argument) << host;
        EXPECT_EQ(
            r.error().reason, std::string("Remote inference host name has private ip address: ") + host
        );
    }
    for (const char* host :
         {"134744072",
          "8.8.2056",
          "0x8.8.8.8",
          "1.2.3.4.5",
          "256.1.1.1",
          "0x7g.1x.1",
          "1.2.3.08",
          "api.openai.com.1"}) {
        auto r = open.check_trusted_endpoint(std::string("https://") + host + "/v1");
        ASSERT_FALSE(r) << host;
        EXPECT_EQ(r.error().reason, std::string("Connector URL host is not canonical: ") + host);
    }
    // Boost.URL 1.81 ends the host after a leading IPv4 address; every connect refuses such a URL, and
    // so does the check, with ml-commons' text.
    for (const char* url : {"http://10.0.0.1.nip.io/v1", "http://127.0.0.1x:8080/v1"}) {
        auto r = open.check_trusted_endpoint(url);
        ASSERT_FALSE(r) << url;
        EXPECT_EQ(r.error().reason, std::string(invalid_uri_text));
    }
    // Names that merely contain digits are names.
    for (const char* host : {"1a.example", "llm-2", "10-0-0-1.nip.io", "0x7f.example", "localhost."}) {
        EXPECT_TRUE(open.check_trusted_endpoint(std::string("http://") + host + "/v1")) << host;
    }
}

TEST(settings_endpoints, operator_lists) {
    auto seed = put_ok(
        cluster_settings(),
        R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"]}})"
    );
    EXPECT_TRUE(seed.check_trusted_endpoint("http://127.0.0.1:11434/v1/chat/completions"));
    EXPECT_TRUE(seed.check_trusted_endpoint("https://127.0.0.1:11434/v1/chat/completions"));

    auto openai = put_ok(
        seed,
        R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":["^https://api\\.openai\\.com/.*$"]}})"
    );
    EXPECT_TRUE(openai.check_trusted_endpoint("https://api.openai.com/v1/embeddings"));
    EXPECT_FALSE(openai.check_trusted_endpoint("https://api.openai.com.evil.com/x"));
    EXPECT_FALSE(openai.check_trusted_endpoint("http://127.0.0.1:11434/v1/chat/completions"));
    // The older value still answers with its own list.
    EXPECT_TRUE(seed.check_trusted_endpoint("http://127.0.0.1:11434/v1/chat/completions"));

    auto none = put_ok(seed, R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[]}})");
    auto r = none.check_trusted_endpoint("https://api.openai.com/v1/chat/completions");
    ASSERT_FALSE(r);
    EXPECT_EQ(
        r.error().reason,
        "Trusted connector endpoints regex is not configured. Please set "
        "plugins.ml_commons.trusted_connector_endpoints_regex."
    );
    // Resetting brings the defaults back.
    auto reset =
        put_ok(none, R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":null}})");
    EXPECT_TRUE(reset.check_trusted_endpoint("https://api.openai.com/v1/chat/completions"));
}

TEST(settings_endpoints, private_endpoint_allowlist) {
    const cluster_settings s;
    EXPECT_TRUE(s.check_trusted_private_endpoint("http://10.0.0.1/anything"));
    auto set = put_ok(
        s,
        R"({"persistent":{"plugins.ml_commons.connector.private_ip_enabled":true,
             "plugins.ml_commons.trusted_connector_private_endpoints_regex":["^http://localhost:11434/.*$"]}})"
    );
    EXPECT_TRUE(set.private_ip_enabled());
    EXPECT_TRUE(set.has_trusted_private_endpoints());
    EXPECT_TRUE(set.check_trusted_private_endpoint("http://localhost:11434/v1/chat/completions"));
    auto r = set.check_trusted_private_endpoint("http://localhost:8080/v1");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::illegal_argument);
    EXPECT_EQ(r.error().reason, "Connector URL is not matching the trusted connector private endpoint regex");
}

TEST(settings_endpoints, compiled_lists_are_shared_until_they_change) {
    auto a = put_ok(
        cluster_settings(),
        R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":["^x$"]}})"
    );
    auto b = put_ok(a, R"({"persistent":{"plugins.ml_commons.stream_enabled":true}})");
    // Same pattern vector object means the compiled list was carried over, not recompiled.
    EXPECT_EQ(&a.trusted_endpoints(), &b.trusted_endpoints());
    auto c = put_ok(b, R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":["^y$"]}})");
    EXPECT_NE(&b.trusted_endpoints(), &c.trusted_endpoints());
}

// ---------------------------------------------------------------------------------------------------------
// Node settings

TEST(settings_node, operator_can_enable_multi_tenancy) {
    auto s = cluster_settings().with_node_settings(
        parse(R"({"plugins":{"ml_commons":{"multi_tenancy_enabled":"true"}}})").as_object()
    );
    ASSERT_TRUE(s) << s.error().reason;
    EXPECT_TRUE(s->multi_tenancy_enabled());
    EXPECT_TRUE(s->render().at("persistent").as_object().empty());
}

TEST(settings_node, final_settings_come_from_the_node_layer) {
    auto s = cluster_settings().with_node_settings(
        parse(R"({"plugins.ml_commons.connector.restricted_ip_patterns":["10\\..*","192\\.168\\..*"]})")
            .as_object()
    );
    ASSERT_TRUE(s) << s.error().reason;
    EXPECT_TRUE(s->is_restricted_ip("10.1.2.3"));
    EXPECT_TRUE(s->is_restricted_ip("192.168.0.1"));
    EXPECT_FALSE(s->is_restricted_ip("8.8.8.8"));
    EXPECT_FALSE(cluster_settings().is_restricted_ip("10.1.2.3"));
    // The outbound guard installs the address check only when this says there is something to check.
    EXPECT_TRUE(s->has_restricted_ips());
    EXPECT_FALSE(cluster_settings().has_restricted_ips());
}

TEST(settings_node, node_values_sit_below_persistent) {
    auto s = cluster_settings().with_node_settings(
        parse(R"({"plugins.ml_commons.stream_enabled":true})").as_object()
    );
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->stream_enabled());
    auto off = put_ok(*s, R"({"persistent":{"plugins.ml_commons.stream_enabled":false}})");
    EXPECT_FALSE(off.stream_enabled());
    auto back = put_ok(off, R"({"persistent":{"plugins.ml_commons.stream_enabled":null}})");
    EXPECT_TRUE(back.stream_enabled());
}

TEST(settings_node, errors) {
    auto unknown =
        cluster_settings().with_node_settings(parse(R"({"plugins.ml_commons.nope":1})").as_object());
    ASSERT_FALSE(unknown);
    EXPECT_EQ(
        unknown.error().reason,
        "unknown setting [plugins.ml_commons.nope] please check that any required plugins are installed, or "
        "check "
        "the breaking changes documentation for removed settings"
    );
    auto bad = cluster_settings().with_node_settings(
        parse(R"({"plugins.ml_commons.multi_tenancy_enabled":"yes"})").as_object()
    );
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().reason, "Failed to parse value [yes] as only [true] or [false] are allowed.");
    auto regex = cluster_settings().with_node_settings(
        parse(R"({"plugins.ml_commons.connector.restricted_ip_patterns":["(a+)+"]})").as_object()
    );
    ASSERT_FALSE(regex);
    EXPECT_EQ(
        regex.error().reason,
        "Regex pattern contains nested quantifiers or backreferences that may cause ReDoS: (a+)+"
    );
}

// ---------------------------------------------------------------------------------------------------------
// Persistence

TEST(settings_persistence, round_trip_keeps_persistent_and_drops_transient) {
    auto s = put_ok(
        cluster_settings(),
        R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"],
                          "plugins.ml_commons.connector.private_ip_enabled":true,
                          "plugins.ml_commons.max_json_size":"42"},
            "transient":{"plugins.ml_commons.stream_enabled":true}})"
    );
    const auto stored = json::serialize(s.persistent_json());
    auto loaded = cluster_settings::from_persistent(parse(stored).as_object());
    ASSERT_TRUE(loaded) << loaded.error().reason;
    EXPECT_EQ(json::serialize(loaded->persistent_json()), stored);
    EXPECT_TRUE(loaded->transient_values().empty());
    EXPECT_FALSE(loaded->stream_enabled());
    EXPECT_TRUE(loaded->private_ip_enabled());
    EXPECT_EQ(loaded->max_json_size(), 42);
    EXPECT_TRUE(loaded->check_trusted_endpoint("http://127.0.0.1:11434/v1/chat/completions"));
    EXPECT_EQ(loaded->render().at("persistent"), s.render().at("persistent"));
    EXPECT_EQ(loaded->render().at("transient"), json::object());
}

TEST(settings_persistence, with_node_settings_at_load) {
    auto loaded = cluster_settings::from_persistent(
        parse(R"({"plugins.ml_commons.stream_enabled":"true"})").as_object(),
        parse(R"({"plugins.ml_commons.multi_tenancy_enabled":true})").as_object()
    );
    ASSERT_TRUE(loaded);
    EXPECT_TRUE(loaded->stream_enabled());
    EXPECT_TRUE(loaded->multi_tenancy_enabled());
    auto bad_node = cluster_settings::from_persistent({}, parse(R"({"x":1})").as_object());
    EXPECT_FALSE(bad_node);
}

TEST(settings_persistence, unknown_or_invalid_stored_keys_are_archived) {
    auto loaded = cluster_settings::from_persistent(parse(R"({
        "plugins.ml_commons.removed_in_a_later_version": "1",
        "plugins.ml_commons.multi_tenancy_enabled": "true",
        "plugins.ml_commons.stream_enabled": "maybe",
        "plugins.ml_commons.max_json_size": "7",
        "archived.plugins.ml_commons.older": "x"
    })")
                                                        .as_object());
    ASSERT_TRUE(loaded) << loaded.error().reason;
    EXPECT_EQ(
        json::serialize(loaded->persistent_json()),
        R"({"archived.plugins.ml_commons.multi_tenancy_enabled":"true","archived.plugins.ml_commons.older":"x",)"
        R"("archived.plugins.ml_commons.removed_in_a_later_version":"1","archived.plugins.ml_commons.stream_enabled":"maybe",)"
        R"("plugins.ml_commons.max_json_size":"7"})"
    );
    EXPECT_FALSE(loaded->multi_tenancy_enabled());
    EXPECT_FALSE(loaded->stream_enabled());
    EXPECT_EQ(loaded->max_json_size(), 7);

    // Archived keys can be removed (and only removed).
    EXPECT_EQ(
        put_error(*loaded, R"({"persistent":{"archived.plugins.ml_commons.older":"y"}})"),
        "persistent setting [archived.plugins.ml_commons.older], not recognized"
    );
    auto cleaned = put_ok(*loaded, R"({"persistent":{"archived.*":null}})");
    EXPECT_EQ(json::serialize(cleaned.persistent_json()), R"({"plugins.ml_commons.max_json_size":"7"})");
}

TEST(settings_persistence, nested_stored_form_is_read_and_garbage_refused) {
    auto nested = cluster_settings::from_persistent(
        parse(R"({"plugins":{"ml_commons":{"stream_enabled":"true"}}})").as_object()
    );
    ASSERT_TRUE(nested);
    EXPECT_TRUE(nested->stream_enabled());
    auto garbage = cluster_settings::from_persistent(
        parse(R"({"plugins.ml_commons.stream_enabled":[{"x":1}]})").as_object()
    );
    ASSERT_FALSE(garbage);
    EXPECT_EQ(garbage.error().code, errc::parse_failed);
}

}  // namespace
}  // namespace modelrelay::registry
