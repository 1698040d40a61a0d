// File: config_settings_test.cpp
// --setting KEY=VALUE / MODELRELAY_SETTINGS: the node layer of the cluster settings (opensearch.yml).
#include <cstdlib>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "server/config.hpp"
#include "tests/unit/server/config_args.hpp"

namespace modelrelay::server {
namespace {

namespace json = boost::json;
using test_support::parse;

TEST(config_settings, none_by_default) {
    auto none = parse({});
    ASSERT_TRUE(none.cfg) << none.message;
    EXPECT_TRUE(none.cfg->node_settings.empty());
}

TEST(config_settings, text_values_and_json_arrays_repeat_and_the_last_wins) {
    auto out = parse(
        {"--setting",
         R"(plugins.ml_commons.connector.restricted_ip_patterns=["10\\..*","192\\.168\\.\\d{1,3}\\..*"])",
         "--setting=plugins.ml_commons.connector.private_ip_enabled=true",
         "--setting",
         "plugins.ml_commons.trusted_connector_endpoints_regex=^https://a=b.example/.*$",
         "--setting",
         "plugins.ml_commons.connector.private_ip_enabled=false"}
    );
    ASSERT_TRUE(out.cfg) << out.message;
    EXPECT_EQ(out.cfg->node_settings, json::parse(R"({
          "plugins.ml_commons.connector.restricted_ip_patterns": ["10\\..*", "192\\.168\\.\\d{1,3}\\..*"],
          "plugins.ml_commons.connector.private_ip_enabled": "false",
          "plugins.ml_commons.trusted_connector_endpoints_regex": "^https://a=b.example/.*$"})"));
}

TEST(config_settings, the_environment_takes_a_list_and_flags_replace_it) {
    ::setenv("MODELRELAY_SETTINGS", "a.b=1;c.d=[\"x\"]", 1);
    auto from_env = parse({});
    auto replaced = parse({"--setting", "e.f=2"});
    ::unsetenv("MODELRELAY_SETTINGS");
    ASSERT_TRUE(from_env.cfg) << from_env.message;
    EXPECT_EQ(from_env.cfg->node_settings, json::parse(R"({"a.b":"1","c.d":["x"]})"));
    ASSERT_TRUE(replaced.cfg) << replaced.message;
    EXPECT_EQ(replaced.cfg->node_settings, json::parse(R"({"e.f":"2"})"));
}

TEST(config_settings, the_environment_takes_one_json_object_for_values_with_semicolons) {
    ::setenv(
        "MODELRELAY_SETTINGS",
        R"( {"plugins.ml_commons.connector.restricted_ip_patterns": ["10\\..*", "a;b"],
             "plugins.ml_commons.trusted_connector_endpoints_regex": "^https://x;y/.*$",
             "plugins.ml_commons.connector.private_ip_enabled": true,
             "plugins.ml_commons.max_ml_task_per_node": 10,
             "plugins.ml_commons.some_ratio": 0.5} )",
        1
    );
    auto from_env = parse({});
    auto replaced = parse({"--setting", "e.f=2"});
    ::unsetenv("MODELRELAY_SETTINGS");
    ASSERT_TRUE(from_env.cfg) << from_env.message;
    EXPECT_EQ(from_env.cfg->node_settings, json::parse(R"({
          "plugins.ml_commons.connector.restricted_ip_patterns": ["10\\..*", "a;b"],
          "plugins.ml_commons.trusted_connector_endpoints_regex": "^https://x;y/.*$",
          "plugins.ml_commons.connector.private_ip_enabled": "true",
          "plugins.ml_commons.max_ml_task_per_node": "10",
          "plugins.ml_commons.some_ratio": "0.5"})"));
    ASSERT_TRUE(replaced.cfg) << replaced.message;
    EXPECT_EQ(replaced.cfg->node_settings, json::parse(R"({"e.f":"2"})"));
}

TEST(config_settings, a_bad_json_object_in_the_environment_is_refused_whole) {
    for (const char* bad :
         {R"({"a.b": "1", "c": {"nested": 1}})",
          R"({"a.b": null})",
          R"({"a b": "1"})",
          R"({"": "1"})",
          R"({"a.b": [["x"]]})",
          R"({"a.b": "1")"}) {
        ::setenv("MODELRELAY_SETTINGS", bad, 1);
        auto out = parse({});
        ::unsetenv("MODELRELAY_SETTINGS");
        EXPECT_FALSE(out.cfg) << bad;
        EXPECT_EQ(out.exit_code, 2) << bad;
        EXPECT_NE(out.message.find("invalid value for MODELRELAY_SETTINGS"), std::string::npos)
            << out.message;
    }
}

TEST(config_settings, malformed_ones_are_refused) {
    for (const char* bad : {"no-equals-sign", "=value", "a key=1", "k=[\"unterminated\"", "k=[1,]"}) {
        auto out = parse({"--setting", bad});
        EXPECT_FALSE(out.cfg) << bad;
        EXPECT_EQ(out.exit_code, 2) << bad;
        EXPECT_NE(out.message.find("invalid value for --setting"), std::string::npos) << out.message;
    }
}

}  // namespace
}  // namespace modelrelay::server
