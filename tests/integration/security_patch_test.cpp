// File: security_patch_test.cpp
// PATCH on the Security REST API against the real binary: OpenSearch's documented single-entity and bulk
// examples, the plugin's texts for bad bodies and failing operations, the guards, a patched password that
// logs in (and is never stored or echoed in plain text), that a refused patch changes nothing, and that
// what a patch wrote survives a restart.
#include <fstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/support/http_client.hpp"
#include "tests/support/secure_server.hpp"
#include "tests/support/server_process.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;

constexpr const char* users = "/_plugins/_security/api/internalusers";
constexpr const char* kirk_pw = "correct-horse-battery-42";

std::string file_text(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

class security_patch : public ::testing::Test {
protected:
    void SetUp() override {
        srv_ = std::make_unique<secure_server>(tmp_.path() / "data");
        auto r = srv_->admin(
            "PUT",
            std::string(users) + "/kirk",
            R"({"password":"correct-horse-battery-42","backend_roles":["admin"],"description":"captain"})"
        );
        ASSERT_EQ(r.status, 201u) << r.body;
    }
    json::value get(std::string_view target) {
        auto r = srv_->admin("GET", target);
        EXPECT_EQ(r.status, 200u) << r.body;
        return r.json();
    }
    void expect_message(
        const http_result& r, unsigned status, std::string_view word, std::string_view message
    ) {
        EXPECT_EQ(r.status, status) << r.body;
        EXPECT_EQ(r.json(), (json::object{{"status", word}, {"message", message}})) << r.body;
    }

    temp_dir tmp_;
    std::unique_ptr<secure_server> srv_;
};

TEST_F(security_patch, the_documented_single_user_patch_updates_only_what_it_names) {
    // OpenSearch's documentation example (kirk has no security roles yet: the view still has the field).
    auto r = srv_->admin(
        "PATCH",
        std::string(users) + "/kirk",
        R"([{"op":"replace","path":"/backend_roles","value":["klingons"]},
            {"op":"replace","path":"/opendistro_security_roles","value":["ml_full_access"]},
            {"op":"replace","path":"/attributes","value":{"newattribute":"newvalue"}}])"
    );
    expect_message(r, 200, "OK", "'kirk' updated.");
    EXPECT_EQ(
        get(std::string(users) + "/kirk"),
        json::parse(R"({"kirk":{"hash":"","reserved":false,"hidden":false,"backend_roles":["klingons"],
            "attributes":{"newattribute":"newvalue"},"description":"captain",
            "opendistro_security_roles":["ml_full_access"],"static":false}})")
    );
    // The password was not part of the patch: it still works, and the new role applies at once.
    auto who = srv_->as("kirk", kirk_pw, "GET", "/_plugins/_security/authinfo");
    ASSERT_EQ(who.status, 200u) << who.body;
    EXPECT_EQ(who.json().at("roles"), json::parse(R"(["ml_full_access"])"));
    EXPECT_EQ(who.json().at("backend_roles"), json::parse(R"(["klingons"])"));
}

TEST_F(security_patch, the_documented_bulk_patch_creates_and_removes_in_one_request) {
    auto before = srv_->admin("PUT", std::string(users) + "/riker", R"({"password":"riker-Strong-pass-11"})");
    ASSERT_EQ(before.status, 201u) << before.body;
    auto r = srv_->admin(
        "PATCH",
        users,
        R"([{"op":"add","path":"/spock","value":{"password":"testpassword1-Strong!x","backend_roles":["testrole1"]}},
            {"op":"add","path":"/worf","value":{"password":"testpassword2-Strong!y","backend_roles":["testrole2"]}},
            {"op":"remove","path":"/riker"}])"
    );
    expect_message(r, 200, "OK", "Resource updated.");
    const auto all = get(users).as_object();
    EXPECT_TRUE(all.contains("spock"));
    EXPECT_TRUE(all.contains("worf"));
    EXPECT_FALSE(all.contains("riker"));
    EXPECT_TRUE(all.contains("kirk"));
    EXPECT_EQ(all.at("spock").at("hash"), "");  // never returned
    EXPECT_EQ(
        srv_->as("spock", "testpassword1-Strong!x", "GET", "/_plugins/_security/authinfo").status, 200u
    );
    EXPECT_EQ(srv_->as("riker", "riker-Strong-pass-11", "GET", "/_plugins/_security/authinfo").status, 401u);

    // The patched passwords are nowhere in plain text: not in the database, the log or the audit log.
    srv_->process().stop();
    for (const char* f : {"security.db", "audit.log"}) {
        const auto text = file_text(tmp_.path() / "data" / f);
        EXPECT_EQ(text.find("testpassword1-Strong!x"), std::string::npos) << f;
    }
    EXPECT_EQ(srv_->process().log().find("testpassword1-Strong!x"), std::string::npos);
    // What the patch wrote survives a restart.
    srv_->process().start();
    EXPECT_EQ(srv_->as("worf", "testpassword2-Strong!y", "GET", "/_plugins/_security/authinfo").status, 200u);
    EXPECT_FALSE(get(users).as_object().contains("riker"));
}

TEST_F(security_patch, bad_bodies_and_failing_operations_get_the_plugins_texts_and_change_nothing) {
    const auto before = get(users);
    const std::string kirk = std::string(users) + "/kirk";
    expect_message(srv_->admin("PATCH", kirk, R"({"op":"add"})"), 400, "BAD_REQUEST", "Wrong request body");
    expect_message(srv_->admin("PATCH", kirk, ""), 400, "BAD_REQUEST", "Wrong request body");
    auto unparsable = srv_->admin("PATCH", kirk, "[{");
    EXPECT_EQ(unparsable.status, 400u);
    EXPECT_TRUE(std::string(unparsable.json().at("message").as_string()).starts_with("Error in JSON patch: ")
    );
    expect_message(
        srv_->admin("PATCH", kirk, R"([{"op":"copy","from":"/description","path":"/x"}])"),
        400,
        "BAD_REQUEST",
        "Unsupported patch operation: copy. Supported are: add,replace,remove"
    );
    expect_message(
        srv_->admin(
            "PATCH",
            kirk,
            R"([{"op":"add","path":"/backend_roles/-","value":"ok"},{"op":"replace","path":"/nope","value":1}])"
        ),
        400,
        "BAD_REQUEST",
        "Missing field \"nope\""
    );
    expect_message(
        srv_->admin("PATCH", kirk, R"([{"op":"add","path":"/backend_roles/9","value":"x"}])"),
        400,
        "BAD_REQUEST",
        "Array index 9 out of bounds"
    );
    expect_message(
        srv_->admin("PATCH", kirk, R"([{"op":"add","path":"/description"}])"),
        400,
        "BAD_REQUEST",
        "Invalid JSON Patch payload (missing 'value' field)"
    );
    // The patched entity must pass the PUT rules.
    auto unknown = srv_->admin("PATCH", kirk, R"([{"op":"add","path":"/colour","value":"red"}])");
    EXPECT_EQ(unknown.status, 400u);
    EXPECT_EQ(
        unknown.json(),
        json::parse(R"({"status":"error","reason":"Invalid configuration","invalid_keys":{"keys":"colour"}})")
    );
    auto weak = srv_->admin("PATCH", kirk, R"([{"op":"add","path":"/password","value":"kirk"}])");
    EXPECT_EQ(weak.status, 400u);
    EXPECT_EQ(weak.json().at("reason"), "Password is too short");
    // A bulk patch with one bad entity writes none of them.
    auto half = srv_->admin(
        "PATCH",
        users,
        R"([{"op":"add","path":"/good","value":{"password":"good-Strong-pass-99"}},
            {"op":"add","path":"/bad","value":{"password":"good-Strong-pass-98","colour":"red"}}])"
    );
    EXPECT_EQ(half.status, 400u) << half.body;
    EXPECT_EQ(get(users), before);
    EXPECT_EQ(srv_->as("kirk", kirk_pw, "GET", "/_plugins/_security/authinfo").status, 200u);
}

TEST_F(security_patch, guards_protect_reserved_static_and_missing_entities) {
    expect_message(
        srv_->admin(
            "PATCH", std::string(users) + "/admin", R"([{"op":"add","path":"/description","value":"x"}])"
        ),
        403,
        "FORBIDDEN",
        "Resource 'admin' is reserved."
    );
    expect_message(
        srv_->admin("PATCH", users, R"([{"op":"remove","path":"/admin"}])"),
        403,
        "FORBIDDEN",
        "Resource 'admin' is reserved."
    );
    expect_message(
        srv_->admin("PATCH", users, R"([{"op":"replace","path":"","value":{}}])"),
        403,
        "FORBIDDEN",
        "Resource 'admin' is reserved."
    );
    expect_message(
        srv_->admin(
            "PATCH", std::string(users) + "/nobody", R"([{"op":"add","path":"/description","value":"x"}])"
        ),
        404,
        "NOT_FOUND",
        "user 'nobody' not found."
    );
    expect_message(
        srv_->admin(
            "PATCH",
            "/_plugins/_security/api/roles/all_access",
            R"([{"op":"add","path":"/description","value":"x"}])"
        ),
        403,
        "FORBIDDEN",
        "Resource 'all_access' is static."
    );
    expect_message(
        srv_->admin(
            "PATCH",
            "/_plugins/_security/api/rolesmapping",
            R"([{"op":"add","path":"/no_such_role","value":{}}])"
        ),
        404,
        "NOT_FOUND",
        "Role 'no_such_role' is not available for role-mapping."
    );
    // A caller without REST admin access is refused before the body is read.
    srv_->create_user("alice", "alice-Strong-pass-12", {"ml_full_access"});
    auto denied = srv_->as("alice", "alice-Strong-pass-12", "PATCH", users, "[not json");
    EXPECT_EQ(denied.status, 403u);
    EXPECT_TRUE(
        std::string(denied.json().at("message").as_string()).starts_with("No permission to access REST API")
    );
    EXPECT_TRUE(get(users).as_object().contains("admin"));
}

TEST_F(security_patch, roles_and_mappings_patch_like_users_and_take_effect_at_once) {
    auto role = srv_->admin(
        "PUT",
        "/_plugins/_security/api/roles/predictor",
        R"({"cluster_permissions":["cluster:admin/opensearch/ml/models/get"]})"
    );
    ASSERT_EQ(role.status, 201u) << role.body;
    srv_->create_user("bob", "bob-Strong-pass-123", {});
    auto mapped = srv_->admin(
        "PATCH",
        "/_plugins/_security/api/rolesmapping",
        R"([{"op":"add","path":"/predictor","value":{"users":["bob"]}}])"
    );
    expect_message(mapped, 200, "OK", "Resource updated.");
    auto who = srv_->as("bob", "bob-Strong-pass-123", "GET", "/_plugins/_security/authinfo");
    EXPECT_EQ(who.json().at("roles"), json::parse(R"(["predictor"])"));

    auto added = srv_->admin(
        "PATCH",
        "/_plugins/_security/api/roles/predictor",
        R"([{"op":"add","path":"/cluster_permissions/-","value":"cluster:admin/opensearch/ml/predict"},
            {"op":"add","path":"/description","value":"can predict"}])"
    );
    expect_message(added, 200, "OK", "'predictor' updated.");
    const auto got = get("/_plugins/_security/api/roles/predictor");
    EXPECT_EQ(
        got.at("predictor").at("cluster_permissions"),
        json::parse(R"(["cluster:admin/opensearch/ml/models/get","cluster:admin/opensearch/ml/predict"])")
    );
    EXPECT_EQ(got.at("predictor").at("description"), "can predict");

    auto unmapped = srv_->admin(
        "PATCH", "/_plugins/_security/api/rolesmapping/predictor", R"([{"op":"remove","path":"/users/0"}])"
    );
    expect_message(unmapped, 200, "OK", "'predictor' updated.");
    auto after = srv_->as("bob", "bob-Strong-pass-123", "GET", "/_plugins/_security/authinfo");
    EXPECT_EQ(after.json().at("roles"), json::parse("[]"));
}

}  // namespace
}  // namespace modelrelay::test
