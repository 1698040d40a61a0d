// File: controller_test.cpp
// Model controllers (per-user rate limiters) against the real binary with security on and the fake
// upstream: the limited user gets ml-commons' 429 after its limit and nothing more reaches the upstream,
// other users are not limited, an update and a delete apply at once, the limits survive a restart, and
// deleting the model deletes its controller.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/support/fake_upstream.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/model_setup.hpp"
#include "tests/support/secure_server.hpp"
#include "tests/support/server_process.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;

constexpr const char* alice_pw = "alice-Strong-pass-12";
constexpr const char* bob_pw = "bob-Strong-pass-123";
constexpr const char* user_throttled =
    "Request is throttled at user level. If you think there's an issue, please contact your cluster admin.";
constexpr const char* chat = R"({"parameters":{"messages":[{"role":"user","content":"hi"}]}})";

class controller : public ::testing::Test {
protected:
    void SetUp() override {
        srv_ = std::make_unique<secure_server>(tmp_.path() / "data");
        auto s = srv_->admin(
            "PUT",
            "/_cluster/settings",
            R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"],)"
            R"("plugins.ml_commons.connector.private_ip_enabled":true}})"
        );
        ASSERT_EQ(s.status, 200) << s.body;
        auto conn = srv_->admin("POST", "/_plugins/_ml/connectors/_create", chat_connector(up_));
        ASSERT_EQ(conn.status, 200) << conn.body;
        auto reg = srv_->admin(
            "POST",
            "/_plugins/_ml/models/_register?deploy=true",
            R"({"name":"limited","function_name":"remote","connector_id":")" +
                std::string(conn.json().at("connector_id").as_string()) + R"("})"
        );
        ASSERT_EQ(reg.status, 200) << reg.body;
        model_ = std::string(reg.json().at("model_id").as_string());
        srv_->create_user("alice", alice_pw, {"ml_full_access"});
        srv_->create_user("bob", bob_pw, {"ml_full_access"});
    }
    http_result predict_as(const char* user, const char* pw) {
        return srv_->as(user, pw, "POST", "/_plugins/_ml/models/" + model_ + "/_predict", chat);
    }
    void expect_throttled(const http_result& r) {
        EXPECT_EQ(r.status, 429) << r.body;
        EXPECT_EQ(r.json().at("error").at("reason").as_string(), user_throttled) << r.body;
    }
    std::string path() const { return "/_plugins/_ml/controllers/" + model_; }

    temp_dir tmp_;
    fake_upstream up_;
    std::unique_ptr<secure_server> srv_;
    std::string model_;
};

TEST_F(controller, the_limited_user_is_throttled_and_nobody_else) {
    auto created =
        srv_->admin("POST", path(), R"({"user_rate_limiter":{"alice":{"limit":2,"unit":"MINUTES"}}})");
    ASSERT_EQ(created.status, 200) << created.body;
    EXPECT_EQ(created.json(), (json::object{{"model_id", model_}, {"status", "CREATED"}}));
    auto got = srv_->admin("GET", path());
    EXPECT_EQ(
        got.json(),
        (json::object{
            {"model_id", model_}, {"user_rate_limiter", {{"alice", {{"limit", "2"}, {"unit", "MINUTES"}}}}}})
    );

    EXPECT_EQ(predict_as("alice", alice_pw).status, 200);
    EXPECT_EQ(predict_as("alice", alice_pw).status, 200);
    const auto sent = up_.request_count();
    expect_throttled(predict_as("alice", alice_pw));
    EXPECT_EQ(up_.request_count(), sent);  // the refused call sent nothing
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(predict_as("bob", bob_pw).status, 200);
    }

    // An update applies at once (a fresh bucket with the new limit).
    auto updated = srv_->admin("PUT", path(), R"({"user_rate_limiter":{"alice":{"limit":"100"}}})");
    ASSERT_EQ(updated.status, 200) << updated.body;
    EXPECT_EQ(updated.json().at("result"), "updated");
    EXPECT_EQ(predict_as("alice", alice_pw).status, 200);

    // Deleting the controller lifts the limit.
    ASSERT_EQ(srv_->admin("PUT", path(), R"({"user_rate_limiter":{"alice":{"limit":"1"}}})").status, 200);
    EXPECT_EQ(predict_as("alice", alice_pw).status, 200);
    expect_throttled(predict_as("alice", alice_pw));
    auto deleted = srv_->admin("DELETE", path());
    ASSERT_EQ(deleted.status, 200) << deleted.body;
    EXPECT_EQ(deleted.json().at("result"), "deleted");
    EXPECT_EQ(predict_as("alice", alice_pw).status, 200);
    EXPECT_EQ(srv_->admin("GET", path()).status, 404);
}

TEST_F(controller, limits_survive_a_restart_and_go_with_the_model) {
    ASSERT_EQ(
        srv_->admin("POST", path(), R"({"user_rate_limiter":{"alice":{"limit":"1","unit":"HOURS"}}})").status,
        200
    );
    EXPECT_EQ(predict_as("alice", alice_pw).status, 200);
    srv_->restart();
    EXPECT_EQ(predict_as("alice", alice_pw).status, 200);  // a restart starts with a full bucket ...
    expect_throttled(predict_as("alice", alice_pw));       // ... of the stored limit

    ASSERT_EQ(srv_->admin("POST", "/_plugins/_ml/models/" + model_ + "/_undeploy").status, 200);
    ASSERT_EQ(srv_->admin("DELETE", "/_plugins/_ml/models/" + model_).status, 200);
    auto gone = srv_->admin("GET", path());
    EXPECT_EQ(gone.status, 404) << gone.body;
}

TEST_F(controller, bad_requests_change_nothing) {
    ASSERT_EQ(
        srv_->admin("POST", path(), R"({"user_rate_limiter":{"alice":{"limit":"5","unit":"MINUTES"}}})")
            .status,
        200
    );
    auto bad_unit =
        srv_->admin("PUT", path(), R"({"user_rate_limiter":{"alice":{"limit":"1","unit":"minutes"}}})");
    EXPECT_EQ(bad_unit.status, 400);
    EXPECT_EQ(
        bad_unit.json().at("error").at("reason").as_string(),
        "No enum constant java.util.concurrent.TimeUnit.minutes"
    );
    auto empty = srv_->admin("POST", path());
    EXPECT_EQ(empty.status, 400);
    EXPECT_EQ(
        empty.json().at("error").at("reason").as_string(), "Create model controller request has empty body"
    );
    auto no_model = srv_->admin("POST", "/_plugins/_ml/controllers/nope", "{}");
    EXPECT_EQ(no_model.status, 404);
    EXPECT_EQ(
        srv_->admin("GET", path()).json().at("user_rate_limiter").at("alice").at("limit"), "5"
    );  // unchanged

    auto off = srv_->admin(
        "PUT", "/_cluster/settings", R"({"persistent":{"plugins.ml_commons.controller_enabled":false}})"
    );
    ASSERT_EQ(off.status, 200);
    auto disabled = srv_->admin("GET", path());
    EXPECT_EQ(disabled.status, 500);
    EXPECT_EQ(
        disabled.json().at("error").at("reason").as_string(),
        "Controller is currently disabled. To enable it, update the setting "
        "\"plugins.ml_commons.controller_enabled\" "
        "to true."
    );
}

TEST_F(controller, only_the_model_owner_or_an_admin_writes_its_controller) {
    ASSERT_EQ(
        srv_->admin(
                "PUT",
                "/_cluster/settings",
                R"({"persistent":{"plugins.ml_commons.model_access_control_enabled":true}})"
        )
            .status,
        200
    );
    auto group = srv_->as(
        "alice",
        alice_pw,
        "POST",
        "/_plugins/_ml/model_groups/_register",
        R"({"name":"g_pub","access_mode":"public"})"
    );
    ASSERT_EQ(group.status, 200) << group.body;
    auto conn = srv_->admin("POST", "/_plugins/_ml/connectors/_create", chat_connector(up_));
    ASSERT_EQ(conn.status, 200) << conn.body;
    auto reg = srv_->as(
        "alice",
        alice_pw,
        "POST",
        "/_plugins/_ml/models/_register?deploy=true",
        R"({"name":"owned","function_name":"remote","model_group_id":")" +
            std::string(group.json().at("model_group_id").as_string()) + R"(","connector_id":")" +
            std::string(conn.json().at("connector_id").as_string()) + R"("})"
    );
    ASSERT_EQ(reg.status, 200) << reg.body;
    const std::string owned =
        "/_plugins/_ml/controllers/" + std::string(reg.json().at("model_id").as_string());
    const std::string limit = R"({"user_rate_limiter":{"alice":{"limit":"1","unit":"DAYS"}}})";
    // bob may use the public model, but a controller would throttle its owner: strict writes refuse it.
    for (const auto& [method, body] :
         std::vector<std::pair<std::string, std::string>>{{"POST", limit}, {"PUT", limit}, {"DELETE", ""}}) {
        auto r = srv_->as("bob", bob_pw, method, owned, body);
        EXPECT_EQ(r.status, 403) << method << " " << r.body;
    }
    EXPECT_EQ(srv_->admin("GET", owned).status, 404);  // nothing was created
    auto mine = srv_->as("alice", alice_pw, "POST", owned, R"({"user_rate_limiter":{"bob":{"limit":"5"}}})");
    EXPECT_EQ(mine.status, 200) << mine.body;
    EXPECT_EQ(srv_->as("bob", bob_pw, "GET", owned).status, 200);  // reading stays open to model readers
    EXPECT_EQ(srv_->as("bob", bob_pw, "DELETE", owned).status, 403);
    EXPECT_EQ(srv_->admin("DELETE", owned).status, 200);
}

}  // namespace
}  // namespace modelrelay::test
