// File: node_settings_test.cpp
// --setting KEY=VALUE end to end: the node layer (opensearch.yml in OpenSearch) set on the real binary.
// connector.restricted_ip_patterns is Final, so a flag is the only way to set it; a pattern that matches a
// resolved address refuses the call before anything is sent, and the API cannot change it.
#include <filesystem>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/support/fake_upstream.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/model_setup.hpp"
#include "tests/support/server_process.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;

constexpr const char* restricted_key = "plugins.ml_commons.connector.restricted_ip_patterns";

// Trusted endpoints and private addresses come from flags too: a dynamic setting works from the node layer.
const std::vector<std::string> open_flags{
    "--setting",
    R"(plugins.ml_commons.trusted_connector_endpoints_regex=[".*$"])",
    "--setting",
    "plugins.ml_commons.connector.private_ip_enabled=true",
    "--setting",
    "plugins.ml_commons.stream_enabled=true"};

std::vector<std::string> with_restricted(const std::string& patterns) {
    auto args = open_flags;
    args.push_back("--setting");
    std::string setting(restricted_key);  // appended: gcc 12 warns falsely (-Warray-bounds) on `+`
    setting.append("=").append(patterns);
    args.push_back(std::move(setting));
    return args;
}

json::value envelope(const std::string& type, const std::string& reason, int status) {
    return json::value{
        {"error",
         {{"root_cause", json::array{json::object{{"type", type}, {"reason", reason}}}},
          {"type", type},
          {"reason", reason}}},
        {"status", status}};
}

TEST(node_settings, restricted_ip_patterns_from_a_flag_refuse_matching_addresses_and_stay_final) {
    temp_dir tmp;
    fake_upstream up;
    const std::string port = ":" + std::to_string(up.port());
    std::string model;
    {
        server_process server(tmp.path() / "data", {}, with_restricted(R"(["10\\..*","127\\.0\\.0\\.1"])"));
        server.start();
        http_client c(server.port());
        model = register_model(c, host_parameter_connector("sk-node-settings"), "restricted");
        ASSERT_FALSE(model.empty());
        const auto path = "/_plugins/_ml/models/" + model + "/_predict";
        // The check is on the resolved address, with the host as given. (Other spellings of 127.0.0.1 never
        // get that far: the URL shape check refuses them, ssrf_test.)
        for (const std::string host : {"127.0.0.1"}) {
            auto r = c.post(path, host_predict_body(host + port));
            EXPECT_EQ(r.status, 400) << host << ": " << r.body;
            EXPECT_EQ(
                json::parse(r.body),
                envelope(
                    "illegal_argument_exception",
                    "Remote inference host name has restricted ip address: " + host,
                    400
                )
            ) << r.body;
        }
        auto streamed = c.post(path + "/stream", host_predict_body("127.0.0.1" + port));
        EXPECT_NE(streamed.body.find("restricted ip address"), std::string::npos) << streamed.body;
        EXPECT_EQ(up.connection_count(), 0U);

        // Final: the API can neither set nor clear it, and it is reported with the node's value.
        auto put = c.put(
            "/_cluster/settings",
            json::serialize(json::value{{"persistent", {{restricted_key, json::array{}}}}})
        );
        EXPECT_EQ(put.status, 400) << put.body;
        EXPECT_EQ(
            json::parse(put.body),
            envelope(
                "illegal_argument_exception",
                std::string("final persistent setting [") + restricted_key + "], not updateable",
                400
            )
        );
        auto got = c.get("/_cluster/settings?include_defaults=true&flat_settings=true").json();
        EXPECT_EQ(got.at("defaults").at(restricted_key), json::parse(R"(["10\\..*","127\\.0\\.0\\.1"])"))
            << got;
        EXPECT_FALSE(got.at("persistent").as_object().contains(restricted_key)) << got;
        EXPECT_EQ(
            c.post(path, host_predict_body("127.0.0.1" + port)).status, 400
        );  // the refused PUT changed nothing
        server.stop();
    }
    // The same data without the pattern: the same call goes through.
    server_process open(tmp.path() / "data", {}, with_restricted(R"(["10\\..*"])"));
    open.start();
    http_client c(open.port());
    auto r = c.post("/_plugins/_ml/models/" + model + "/_predict", host_predict_body("127.0.0.1" + port));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(up.request_count(), 1U);
}

TEST(node_settings, a_bad_setting_stops_start_up_with_the_reason) {
    temp_dir tmp;
    {
        server_process unknown(tmp.path() / "a", {}, {"--setting", "plugins.ml_commons.no_such_setting=1"});
        EXPECT_NE(unknown.start_expect_failure(), 0);
        EXPECT_NE(
            unknown.log().find("unknown setting [plugins.ml_commons.no_such_setting]"), std::string::npos
        ) << unknown.log();
        // Refused before the data directory is touched.
        EXPECT_FALSE(std::filesystem::exists(tmp.path() / "a" / "kek.key"));
    }
    {
        server_process bad_regex(tmp.path() / "b", {}, with_restricted(R"(["(unclosed"])"));
        EXPECT_NE(bad_regex.start_expect_failure(), 0);
        EXPECT_NE(
            bad_regex.log().find(
                "invalid --setting setting=plugins.ml_commons.connector.restricted_ip_patterns"
            ),
            std::string::npos
        ) << bad_regex.log();
    }
    {
        server_process bad_value(
            tmp.path() / "c", {}, {"--setting", "plugins.ml_commons.connector.private_ip_enabled=maybe"}
        );
        EXPECT_NE(bad_value.start_expect_failure(), 0);
        EXPECT_NE(
            bad_value.log().find("invalid --setting setting=plugins.ml_commons.connector.private_ip_enabled "
                                 "reason=Failed to parse "
                                 "value [maybe] as only [true] or [false] are allowed."),
            std::string::npos
        ) << bad_value.log();
    }
    {
        server_process malformed(tmp.path() / "d", {}, {"--setting", "no-equals-sign"});
        EXPECT_NE(malformed.start_expect_failure(), 0);
        EXPECT_NE(malformed.log().find("invalid value for --setting: no-equals-sign"), std::string::npos)
            << malformed.log();
    }
}

}  // namespace
}  // namespace modelrelay::test
