// File: security_test.cpp
// Authentication pieces without sockets: the mode decision, failed-login throttling with an injected clock,
// the 401 bodies of each front door, and that every route either has an action name or is a Security API
// route whose handler checks the caller itself.
#include "server/security.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "registry/authz.hpp"
#include "server/handlers/handlers.hpp"
#include "server/security_setup.hpp"

namespace modelrelay::server {
namespace {

namespace json = boost::json;

TEST(security_mode, auto_is_on_for_non_loopback_only) {
    config c;
    c.listen_host = "127.0.0.1";
    EXPECT_FALSE(security_decision(c).first);
    c.listen_host = "::1";
    EXPECT_FALSE(security_decision(c).first);
    c.listen_host = "localhost";
    EXPECT_FALSE(security_decision(c).first);
    c.listen_host = "0.0.0.0";
    EXPECT_TRUE(security_decision(c).first);
    c.listen_host = "10.1.2.3";
    EXPECT_TRUE(security_decision(c).first);
    EXPECT_NE(security_decision(c).second.find("not loopback"), std::string::npos);
    c.security = security_mode::off;
    EXPECT_FALSE(security_decision(c).first);
    c.listen_host = "127.0.0.1";
    c.security = security_mode::on;
    EXPECT_TRUE(security_decision(c).first);
}

TEST(auth_throttle, blocks_after_allowed_tries_and_expires) {
    auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
    auth_throttle t(
        {.allowed_tries = 3,
         .time_window = std::chrono::seconds(60),
         .block_expiry = std::chrono::seconds(10)},
        [&] { return now; }
    );
    EXPECT_FALSE(t.record_failure("ip"));
    EXPECT_FALSE(t.record_failure("ip"));
    EXPECT_FALSE(t.blocked("ip"));
    EXPECT_TRUE(t.record_failure("ip"));  // the third failure blocks
    EXPECT_TRUE(t.blocked("ip"));
    EXPECT_FALSE(t.blocked("other"));
    now += std::chrono::seconds(11);
    EXPECT_FALSE(t.blocked("ip"));
    // Failures spread beyond the window do not add up.
    EXPECT_FALSE(t.record_failure("slow"));
    now += std::chrono::seconds(61);
    EXPECT_FALSE(t.record_failure("slow"));
    now += std::chrono::seconds(61);
    EXPECT_FALSE(t.record_failure("slow"));
    EXPECT_FALSE(t.blocked("slow"));
    // The window slides: the three failures within any 60 s block, wherever the first one fell.
    EXPECT_FALSE(t.record_failure("w"));  // t
    now += std::chrono::seconds(40);
    EXPECT_FALSE(t.record_failure("w"));  // t+40
    now += std::chrono::seconds(30);
    EXPECT_FALSE(t.record_failure("w"));  // t+70: the first has left the window
    now += std::chrono::seconds(20);
    EXPECT_TRUE(t.record_failure("w"));  // t+90: t+40, t+70, t+90
}

TEST(unauthorized, opensearch_text_with_basic_challenge) {
    auto r = security::unauthorized(front_door::opensearch, "/", "", "", false);
    EXPECT_EQ(r.result_int(), 401u);
    EXPECT_EQ(r.body(), "Unauthorized");
    EXPECT_EQ(r[http::field::www_authenticate], "Basic realm=\"OpenSearch Security\"");
    EXPECT_EQ(r[http::field::content_type], "text/plain; charset=UTF-8");
    auto blocked = security::unauthorized(front_door::opensearch, "/", "", "", true);
    EXPECT_EQ(blocked.body(), "Authentication finally failed");
}

TEST(unauthorized, elasticsearch_json_with_three_challenges) {
    auto r = security::unauthorized(front_door::elasticsearch, "/_inference", "", "", false);
    EXPECT_EQ(r.result_int(), 401u);
    const auto b = json::parse(r.body()).as_object();
    EXPECT_EQ(b.at("status"), 401);
    const auto& err = b.at("error").as_object();
    EXPECT_EQ(err.at("type"), "security_exception");
    EXPECT_EQ(err.at("reason"), "missing authentication credentials for REST request [/_inference]");
    EXPECT_EQ(err.at("root_cause").as_array().at(0).at("reason"), err.at("reason"));
    EXPECT_EQ(err.at("header").at("WWW-Authenticate").as_array().size(), 3u);
    int challenges = 0;
    for (const auto& f : r) {
        challenges += f.name() == http::field::www_authenticate ? 1 : 0;
    }
    EXPECT_EQ(challenges, 3);
    auto key = json::parse(security::unauthorized(front_door::elasticsearch, "/", "abc", "", false).body());
    EXPECT_EQ(
        key.at("error").at("additional_unsuccessful_credentials"),
        "API key: unable to find apikey with id abc"
    );
    auto user =
        json::parse(security::unauthorized(front_door::elasticsearch, "/x?y=1", "", "bob", false).body());
    EXPECT_EQ(user.at("error").at("reason"), "unable to authenticate user [bob] for REST request [/x?y=1]");
}

TEST(unauthorized, openai_invalid_api_key) {
    auto r = security::unauthorized(front_door::openai, "/v1/models", "", "", false);
    EXPECT_EQ(r.result_int(), 401u);
    EXPECT_EQ(
        json::parse(r.body()),
        json::parse(
            R"({"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}})"
        )
    );
}

TEST(route_gate, every_route_has_an_action_or_checks_the_caller_itself) {
    for (const auto& r : handlers::all_routes()) {
        const std::string method(http::to_string(r.verb));
        const bool self_checked = r.pattern.starts_with("/_plugins/_security/") ||
                                  r.pattern.starts_with("/_opendistro/_security/") ||
                                  r.pattern.starts_with("/_security/");
        EXPECT_TRUE(self_checked || registry::action_for_route(method, r.pattern).has_value())
            << method << " " << r.pattern << " has no action name";
    }
}

TEST(front_door, by_path) {
    EXPECT_EQ(door_of("/v1/chat/completions"), front_door::openai);
    EXPECT_EQ(door_of("/_inference/x"), front_door::elasticsearch);
    EXPECT_EQ(door_of("/_security/api_key"), front_door::elasticsearch);
    EXPECT_EQ(door_of("/_plugins/_ml/models/x"), front_door::opensearch);
    EXPECT_EQ(door_of("/"), front_door::opensearch);
}

}  // namespace
}  // namespace modelrelay::server
