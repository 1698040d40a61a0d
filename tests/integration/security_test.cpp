// File: security_test.cpp
// Security on, against the real binary: each authentication scheme accepted and rejected with its front
// door's exact 401, the Security REST API (authinfo, users, roles, mappings) with its texts, the route gate's
// 403s, Elasticsearch API keys (create, use, invalidate, expire), failed-login throttling, the first-start
// admin password file, and that no presented credential is ever echoed or logged.
#include <fstream>
#include <sys/stat.h>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "registry/crypto.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/secure_server.hpp"
#include "tests/support/server_process.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;

constexpr const char* alice_pw = "correct-horse-battery-42";

std::string read_file(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

class security_on : public ::testing::Test {
protected:
    void SetUp() override { srv_ = std::make_unique<secure_server>(tmp_.path() / "data", env_); }
    http_result anon(std::string_view method, std::string_view target, std::string_view body = {}) {
        http_client c(srv_->port());
        return c.request(method, target, body, with_json({}));
    }
    http_result with(
        const header_list& h, std::string_view method, std::string_view target, std::string_view body = {}
    ) {
        http_client c(srv_->port());
        return c.request(method, target, body, with_json(h));
    }
    void expect_forbidden_privilege(
        const http_result& r, std::string_view action, std::string_view user_string
    ) {
        EXPECT_EQ(r.status, 403u) << r.body;
        const std::string reason =
            "no permissions for [" + std::string(action) + "] and " + std::string(user_string);
        auto j = r.json();
        EXPECT_EQ(j.at("error").at("type"), "security_exception") << r.body;
        EXPECT_EQ(j.at("error").at("reason").as_string(), reason) << r.body;
        EXPECT_EQ(j.at("error").at("root_cause").at(0).at("reason").as_string(), reason);
        EXPECT_EQ(j.at("status"), 403);
    }

    temp_dir tmp_;
    std::map<std::string, std::string> env_;
    std::unique_ptr<secure_server> srv_;
};

TEST_F(security_on, no_credentials_get_each_front_doors_401) {
    auto os = anon("GET", "/");
    EXPECT_EQ(os.status, 401u);
    EXPECT_EQ(os.body, "Unauthorized");
    EXPECT_EQ(os.header("WWW-Authenticate"), "Basic realm=\"OpenSearch Security\"");
    // Even an unknown path: authentication comes before routing.
    EXPECT_EQ(anon("GET", "/_plugins/_ml/nothing_here").status, 401u);
    EXPECT_EQ(anon("POST", "/_plugins/_ml/connectors/_create", "{}").status, 401u);

    auto es = anon("GET", "/_inference");
    EXPECT_EQ(es.status, 401u);
    EXPECT_EQ(
        es.json().at("error").at("reason"),
        "missing authentication credentials for REST request [/_inference]"
    );
    EXPECT_EQ(es.json().at("error").at("type"), "security_exception");

    auto oa = anon("GET", "/v1/models");
    EXPECT_EQ(oa.status, 401u);
    EXPECT_EQ(oa.json().at("error").at("code"), "invalid_api_key");
    EXPECT_EQ(oa.json().at("error").at("message"), "Incorrect API key provided.");
}

TEST_F(security_on, basic_auth_accepts_the_right_password_only_and_never_echoes_it) {
    auto ok = srv_->admin("GET", "/_plugins/_security/authinfo");
    ASSERT_EQ(ok.status, 200u) << ok.body;
    auto j = ok.json().as_object();
    EXPECT_EQ(j.at("user"), "User [name=admin, backend_roles=[admin], requestedTenant=null]");
    EXPECT_EQ(j.at("user_name"), "admin");
    EXPECT_EQ(j.at("roles"), json::parse(R"(["all_access"])"));
    EXPECT_EQ(j.at("backend_roles"), json::parse(R"(["admin"])"));
    EXPECT_TRUE(j.at("principal").is_null());
    EXPECT_EQ(j.at("peer_certificates"), "0");
    EXPECT_TRUE(j.at("remote_address").as_string().starts_with("127.0.0.1:"));
    for (const char* k : {"user_requested_tenant", "custom_attribute_names", "tenants", "sso_logout_url"}) {
        EXPECT_TRUE(j.contains(k)) << k;
    }

    const std::string wrong = "Wr0ng-Sentinel-Pass-991";
    auto bad = srv_->as("admin", wrong, "GET", "/_plugins/_security/authinfo");
    EXPECT_EQ(bad.status, 401u);
    EXPECT_EQ(bad.body, "Unauthorized");
    auto bad_es = srv_->as("admin", wrong, "GET", "/_inference?timeout=1s");
    EXPECT_EQ(bad_es.status, 401u);
    EXPECT_EQ(
        bad_es.json().at("error").at("reason").as_string(),
        "unable to authenticate user [admin] for REST request [/_inference?timeout=1s]"
    );
    auto nobody = srv_->as("nobody", wrong, "GET", "/");
    EXPECT_EQ(nobody.status, 401u);
    // Malformed headers are plain 401s too.
    EXPECT_EQ(with({{"Authorization", "Basic !!!"}}, "GET", "/").status, 401u);
    EXPECT_EQ(with({{"Authorization", "Digest abc"}}, "GET", "/").status, 401u);
    for (const auto& r : {bad, bad_es, nobody}) {
        EXPECT_EQ(r.body.find(wrong), std::string::npos);
    }
    EXPECT_EQ(srv_->process().log().find(wrong), std::string::npos);
    EXPECT_EQ(srv_->process().log().find(admin_password), std::string::npos);
    EXPECT_EQ(read_file(tmp_.path() / "data" / "audit.log").find(wrong), std::string::npos);
    EXPECT_NE(read_file(tmp_.path() / "data" / "audit.log").find("FAILED_LOGIN"), std::string::npos);
}

TEST_F(security_on, internal_users_api_shapes_and_texts) {
    auto created = srv_->admin(
        "PUT",
        "/_plugins/_security/api/internalusers/alice",
        R"({"password":"correct-horse-battery-42","backend_roles":["analyst"],"attributes":{"team":"x"}})"
    );
    EXPECT_EQ(created.status, 201u);
    EXPECT_EQ(created.json(), json::parse(R"({"status":"CREATED","message":"'alice' created."})"));
    auto updated = srv_->admin(
        "PUT",
        "/_plugins/_security/api/internalusers/alice",
        R"({"backend_roles":["analyst","ops"],"attributes":{"team":"x"}})"
    );
    EXPECT_EQ(updated.status, 200u);
    EXPECT_EQ(updated.json(), json::parse(R"({"status":"OK","message":"'alice' updated."})"));
    // The update kept the password.
    EXPECT_EQ(srv_->as("alice", alice_pw, "GET", "/_plugins/_security/authinfo").status, 200u);

    auto got = srv_->admin("GET", "/_plugins/_security/api/internalusers/alice");
    ASSERT_EQ(got.status, 200u);
    auto u = got.json().at("alice").as_object();
    EXPECT_EQ(u.at("hash"), "");
    EXPECT_EQ(u.at("backend_roles"), json::parse(R"(["analyst","ops"])"));
    EXPECT_EQ(u.at("attributes"), json::parse(R"({"team":"x"})"));
    EXPECT_EQ(u.at("reserved"), false);
    EXPECT_EQ(got.body.find("$2"), std::string::npos);
    auto all = srv_->admin("GET", "/_plugins/_security/api/internalusers");
    EXPECT_TRUE(all.json().as_object().contains("admin"));
    EXPECT_TRUE(all.json().as_object().contains("alice"));

    auto weak = srv_->admin("PUT", "/_plugins/_security/api/internalusers/bob", R"({"password":"password"})");
    EXPECT_EQ(weak.status, 400u);
    EXPECT_EQ(weak.json(), json::parse(R"({"status":"error","reason":"Weak password"})"));
    auto invalid = srv_->admin(
        "PUT",
        "/_plugins/_security/api/internalusers/bob",
        R"({"password":"correct-horse-battery-42","pwd":1})"
    );
    EXPECT_EQ(invalid.status, 400u);
    EXPECT_EQ(invalid.json().at("reason"), "Invalid configuration");
    EXPECT_EQ(invalid.json().at("invalid_keys").at("keys"), "pwd");
    auto bad_name = srv_->admin(
        "PUT", "/_plugins/_security/api/internalusers/b%7Cob", R"({"password":"correct-horse-battery-42"})"
    );
    EXPECT_EQ(bad_name.status, 400u);
    EXPECT_EQ(
        srv_->admin("GET", "/_plugins/_security/api/internalusers/bob").json(),
        json::parse(R"({"status":"NOT_FOUND","message":"user 'bob' not found."})")
    );
    auto reserved = srv_->admin("DELETE", "/_plugins/_security/api/internalusers/admin");
    EXPECT_EQ(reserved.status, 403u);
    EXPECT_EQ(
        reserved.json(), json::parse(R"({"status":"FORBIDDEN","message":"Resource 'admin' is reserved."})")
    );
    auto static_role =
        srv_->admin("PUT", "/_plugins/_security/api/roles/all_access", R"({"cluster_permissions":[]})");
    EXPECT_EQ(static_role.status, 403u);
    EXPECT_EQ(static_role.json().at("message"), "Resource 'all_access' is static.");

    // A user without an admin role may not use the REST API.
    auto denied = srv_->as("alice", alice_pw, "GET", "/_plugins/_security/api/internalusers");
    EXPECT_EQ(denied.status, 403u);
    EXPECT_EQ(
        denied.json(),
        json::parse(
            R"({"status":"FORBIDDEN","message":"No permission to access REST API: User alice with Security roles [] does not have any role privileged for admin access"})"
        )
    );

    auto deleted = srv_->admin("DELETE", "/_plugins/_security/api/internalusers/alice");
    EXPECT_EQ(deleted.json(), json::parse(R"({"status":"OK","message":"'alice' deleted."})"));
    EXPECT_EQ(srv_->as("alice", alice_pw, "GET", "/").status, 401u);
}

// PUT api/account: a user changes its own password (the Security plugin's AccountApiAction texts).
TEST_F(security_on, account_password_change_checks_the_body_then_the_current_password) {
    srv_->create_user("alice", alice_pw, {"ml_full_access"}, {"analyst"});
    const std::string path = "/_plugins/_security/api/account";
    const std::string new_pw = "violet-staple-orbit-77";
    auto put = [&](std::string_view password, std::string_view body) {
        return srv_->as("alice", password, "PUT", path, body);
    };
    const auto bad_request = [](std::string_view message) {
        return json::value{{"status", "BAD_REQUEST"}, {"message", message}};
    };

    auto wrong = put(alice_pw, R"({"current_password":"not-it","password":")" + new_pw + R"("})");
    EXPECT_EQ(wrong.status, 400u);
    EXPECT_EQ(wrong.json(), bad_request("Could not validate your current password."));
    auto missing = put(alice_pw, R"({"password":")" + new_pw + R"("})");
    EXPECT_EQ(missing.status, 400u);
    EXPECT_EQ(
        missing.json(),
        json::parse(
            R"({"status":"error","reason":"Invalid configuration","missing_mandatory_keys":{"keys":"current_password"}})"
        )
    );
    auto unknown = put(alice_pw, R"({"current_password":"x","password":"y","saved_tenant":"z"})");
    EXPECT_EQ(unknown.json().at("invalid_keys").at("keys"), "saved_tenant") << unknown.body;
    auto weak =
        put(alice_pw, R"({"current_password":")" + std::string(alice_pw) + R"(","password":"password"})");
    EXPECT_EQ(weak.json(), json::parse(R"({"status":"error","reason":"Weak password"})"));
    auto neither = put(alice_pw, R"({"current_password":")" + std::string(alice_pw) + R"("})");
    EXPECT_EQ(neither.status, 400u);
    EXPECT_EQ(neither.json(), bad_request("Both provided password and hash cannot be null/empty."));
    // Every refusal left the password as it was.
    EXPECT_EQ(srv_->as("alice", alice_pw, "GET", "/_plugins/_security/authinfo").status, 200u);

    auto changed =
        put(alice_pw,
            R"({"current_password":")" + std::string(alice_pw) + R"(","password":")" + new_pw + R"("})");
    EXPECT_EQ(changed.status, 200u) << changed.body;
    EXPECT_EQ(changed.json(), json::parse(R"({"status":"OK","message":"'alice' updated."})"));
    EXPECT_EQ(srv_->as("alice", alice_pw, "GET", "/_plugins/_security/authinfo").status, 401u);
    auto who = srv_->as("alice", new_pw, "GET", "/_plugins/_security/authinfo");
    EXPECT_EQ(who.status, 200u);
    EXPECT_EQ(who.json().at("backend_roles"), json::parse(R"(["analyst"])"));  // only the password changed
    EXPECT_EQ(changed.body.find(new_pw), std::string::npos);

    // The reserved admin may not (as in the plugin, only the admin certificate may), nor may an API key
    // act as its owner here.
    auto admin = srv_->admin(
        "PUT",
        path,
        R"({"current_password":")" + std::string(admin_password) + R"(","password":")" + new_pw + R"("})"
    );
    EXPECT_EQ(admin.status, 403u);
    EXPECT_EQ(
        admin.json(), json::parse(R"({"status":"FORBIDDEN","message":"Resource 'admin' is reserved."})")
    );
    auto key = srv_->as("alice", new_pw, "POST", "/_security/api_key", R"({"name":"k"})");
    ASSERT_EQ(key.status, 200u) << key.body;
    auto by_key = with(
        api_key_header(std::string(key.json().at("encoded").as_string())),
        "PUT",
        path,
        R"({"current_password":")" + new_pw + R"(","password":"another-strong-pass-93"})"
    );
    EXPECT_EQ(by_key.status, 404u);
    EXPECT_EQ(by_key.json(), json::parse(R"({"status":"NOT_FOUND","message":"Could not find user."})"));
    EXPECT_EQ(srv_->as("alice", new_pw, "GET", "/_plugins/_security/authinfo").status, 200u);
}

TEST_F(security_on, route_gate_checks_the_action_name_before_any_work) {
    srv_->create_user("alice", alice_pw, {}, {"analyst"});
    const std::string alice = "User [name=alice, backend_roles=[analyst], requestedTenant=null]";
    expect_forbidden_privilege(
        srv_->as(
            "alice", alice_pw, "POST", "/_plugins/_ml/connectors/_search", R"({"query":{"match_all":{}}})"
        ),
        "cluster:admin/opensearch/ml/connectors/search",
        alice
    );
    // The Dashboards tenant header shows as the user's requestedTenant (BackendRegistry.resolveTenantFrom),
    // in the 403 text and in authinfo; it grants nothing.
    auto with_tenant = with(
        [] {
            auto h = basic("alice", alice_pw);
            h.emplace_back("securitytenant", "global_tenant");
            return h;
        }(),
        "POST",
        "/_plugins/_ml/connectors/_search",
        R"({"query":{"match_all":{}}})"
    );
    expect_forbidden_privilege(
        with_tenant,
        "cluster:admin/opensearch/ml/connectors/search",
        "User [name=alice, backend_roles=[analyst], requestedTenant=global_tenant]"
    );
    auto info = with(
        [] {
            auto h = basic("alice", alice_pw);
            h.emplace_back("security_tenant", "__user__");
            return h;
        }(),
        "GET",
        "/_plugins/_security/authinfo"
    );
    ASSERT_EQ(info.status, 200u) << info.body;
    EXPECT_EQ(info.json().at("user_requested_tenant"), "__user__");
    EXPECT_EQ(
        info.json().at("user").as_string(),
        "User [name=alice, backend_roles=[analyst], requestedTenant=__user__]"
    );
    EXPECT_EQ(
        srv_->as("alice", alice_pw, "GET", "/_plugins/_security/authinfo").json().at("user_requested_tenant"),
        nullptr
    );
    // The gate runs before body parsing: a malformed body still answers the 403.
    expect_forbidden_privilege(
        srv_->as("alice", alice_pw, "POST", "/_plugins/_ml/connectors/_create", "{not json"),
        "cluster:admin/opensearch/ml/create_connector",
        alice
    );

    // Read access: search allowed, create and predict still refused.
    auto map = srv_->admin(
        "PUT", "/_plugins/_security/api/rolesmapping/ml_read_access", R"({"backend_roles":["analyst"]})"
    );
    ASSERT_EQ(map.status, 201u) << map.body;
    EXPECT_EQ(
        srv_->as(
                "alice", alice_pw, "POST", "/_plugins/_ml/connectors/_search", R"({"query":{"match_all":{}}})"
        )
            .status,
        200u
    );
    expect_forbidden_privilege(
        srv_->as("alice", alice_pw, "POST", "/_plugins/_ml/models/abc/_predict", R"({"parameters":{}})"),
        "cluster:admin/opensearch/ml/predict",
        alice
    );
    auto authinfo = srv_->as("alice", alice_pw, "GET", "/_plugins/_security/authinfo");
    EXPECT_EQ(authinfo.json().at("roles"), json::parse(R"(["ml_read_access"])"));

    // Full access can create connectors but not change cluster settings.
    srv_->create_user("carol", alice_pw, {"ml_full_access"});
    const std::string connector =
        R"({"name":"c","description":"d","version":"1","protocol":"http","parameters":{},"credential":{"k":"v"},"actions":[{"action_type":"predict","method":"POST","url":"https://api.openai.com/v1/chat/completions","request_body":"{}"}]})";
    EXPECT_EQ(
        srv_->as("carol", alice_pw, "POST", "/_plugins/_ml/connectors/_create", connector).status, 200u
    );
    expect_forbidden_privilege(
        srv_->as(
            "carol",
            alice_pw,
            "PUT",
            "/_cluster/settings",
            R"({"persistent":{"plugins.ml_commons.connector.private_ip_enabled":true}})"
        ),
        "cluster:admin/settings/update",
        "User [name=carol, backend_roles=[], requestedTenant=null]"
    );
    EXPECT_EQ(
        srv_->admin(
                "PUT",
                "/_cluster/settings",
                R"({"persistent":{"plugins.ml_commons.connector.private_ip_enabled":true}})"
        )
            .status,
        200u
    );
    // Unmapping takes effect at once (the credential cache is keyed by the identity generation).
    EXPECT_EQ(srv_->admin("DELETE", "/_plugins/_security/api/rolesmapping/ml_read_access").status, 200u);
    EXPECT_EQ(
        srv_->as(
                "alice", alice_pw, "POST", "/_plugins/_ml/connectors/_search", R"({"query":{"match_all":{}}})"
        )
            .status,
        403u
    );
    EXPECT_NE(read_file(tmp_.path() / "data" / "audit.log").find("MISSING_PRIVILEGES"), std::string::npos);
}

TEST_F(security_on, custom_roles_grant_cluster_permissions) {
    srv_->create_user("dave", alice_pw, {});
    auto role = srv_->admin(
        "PUT",
        "/_plugins/_security/api/roles/ml_searcher",
        R"({"cluster_permissions":["cluster:admin/opensearch/ml/*/search"],"description":"search only"})"
    );
    EXPECT_EQ(role.status, 201u) << role.body;
    auto get = srv_->admin("GET", "/_plugins/_security/api/roles/ml_searcher");
    EXPECT_EQ(
        get.json().at("ml_searcher").at("cluster_permissions"),
        json::parse(R"(["cluster:admin/opensearch/ml/*/search"])")
    );
    auto missing = srv_->admin("PUT", "/_plugins/_security/api/rolesmapping/nope", R"({"users":["dave"]})");
    EXPECT_EQ(missing.status, 404u);
    EXPECT_EQ(
        srv_->admin("PUT", "/_plugins/_security/api/rolesmapping/ml_searcher", R"({"users":["dave"]})")
            .status,
        201u
    );
    EXPECT_EQ(
        srv_->as("dave", alice_pw, "POST", "/_plugins/_ml/models/_search", R"({"query":{"match_all":{}}})")
            .status,
        200u
    );
    EXPECT_EQ(srv_->as("dave", alice_pw, "GET", "/_plugins/_ml/tasks/x").status, 403u);

    // security_rest_api_access is built in (roles_enabled names it): mapped, it opens the Security REST API.
    EXPECT_EQ(srv_->as("dave", alice_pw, "GET", "/_plugins/_security/api/internalusers").status, 403u);
    EXPECT_EQ(
        srv_->admin(
                "PUT",
                "/_plugins/_security/api/rolesmapping/security_rest_api_access",
                R"({"users":["dave"]})"
        )
            .status,
        201u
    );
    EXPECT_EQ(srv_->as("dave", alice_pw, "GET", "/_plugins/_security/api/internalusers").status, 200u);
    // ml_full_access as roles.yml defines it: its index permission too.
    auto full = srv_->admin("GET", "/_plugins/_security/api/roles/ml_full_access");
    ASSERT_EQ(full.status, 200u) << full.body;
    const auto index = full.json().at("ml_full_access").at("index_permissions");
    ASSERT_EQ(index.as_array().size(), 1u) << full.body;
    EXPECT_EQ(index.at(0).at("index_patterns"), json::parse(R"(["*"])"));
    EXPECT_EQ(index.at(0).at("allowed_actions"), json::parse(R"(["indices_monitor"])"));
}

TEST_F(security_on, api_keys_authenticate_until_invalidated_or_expired) {
    srv_->create_user("erin", alice_pw, {"ml_full_access"});
    auto made =
        srv_->as("erin", alice_pw, "POST", "/_security/api_key", R"({"name":"ci","metadata":{"app":"x"}})");
    ASSERT_EQ(made.status, 200u) << made.body;
    auto k = made.json().as_object();
    const std::string id(k.at("id").as_string());
    const std::string secret(k.at("api_key").as_string());
    const std::string encoded(k.at("encoded").as_string());
    EXPECT_EQ(k.at("name"), "ci");
    EXPECT_FALSE(k.contains("expiration"));
    // Names follow R11, and so does a tenant given as a user attribute; nothing is stored.
    const auto bad_key = srv_->as("erin", alice_pw, "POST", "/_security/api_key", R"({"name":"bad|name"})");
    EXPECT_EQ(bad_key.status, 400u) << bad_key.body;
    EXPECT_NE(bad_key.body.find("Invalid name 'bad|name': names must match"), std::string::npos)
        << bad_key.body;
    const auto bad_tenant = srv_->admin(
        "PUT",
        "/_plugins/_security/api/internalusers/utn",
        R"({"password":"correct-horse-battery-42","attributes":{"tenant":"a|b c,d"}})"
    );
    EXPECT_EQ(bad_tenant.status, 400u) << bad_tenant.body;
    EXPECT_NE(bad_tenant.body.find("Invalid tenant 'a|b c,d'"), std::string::npos) << bad_tenant.body;
    EXPECT_EQ(srv_->admin("GET", "/_plugins/_security/api/internalusers/utn").status, 404u);
    EXPECT_EQ(registry::base64_decode(encoded).value_or(""), id + ":" + secret);

    auto es = with(api_key_header(encoded), "GET", "/_security/_authenticate");
    ASSERT_EQ(es.status, 200u) << es.body;
    EXPECT_EQ(es.json().at("username"), "erin");
    EXPECT_EQ(es.json().at("api_key").at("id").as_string(), id);
    EXPECT_EQ(with(bearer(encoded), "GET", "/v1/models").status, 200u);
    EXPECT_EQ(with(api_key_header(encoded), "GET", "/_inference").status, 200u);

    // The listing never shows the secret; another user does not see erin's keys.
    auto list = srv_->as("erin", alice_pw, "GET", "/_security/api_key?id=" + id);
    ASSERT_EQ(list.status, 200u);
    EXPECT_EQ(list.json().at("api_keys").as_array().size(), 1u);
    EXPECT_EQ(list.json().at("api_keys").at(0).at("invalidated"), false);
    EXPECT_EQ(list.body.find(secret), std::string::npos);
    srv_->create_user("frank", alice_pw, {"ml_full_access"});
    EXPECT_EQ(
        srv_->as("frank", alice_pw, "GET", "/_security/api_key").json().at("api_keys").as_array().size(), 0u
    );

    // A wrong secret for a real id is a 401 naming the id, never the secret.
    const std::string forged = registry::base64_encode(id + ":not-the-secret");
    auto bad = with(api_key_header(forged), "GET", "/_inference");
    EXPECT_EQ(bad.status, 401u);
    EXPECT_EQ(
        bad.json().at("error").at("additional_unsuccessful_credentials").as_string(),
        ("API key: unable to find apikey with id " + id)
    );
    EXPECT_EQ(bad.body.find("not-the-secret"), std::string::npos);

    auto inv = srv_->as("erin", alice_pw, "DELETE", "/_security/api_key", R"({"ids":[")" + id + R"("]})");
    ASSERT_EQ(inv.status, 200u) << inv.body;
    EXPECT_EQ(
        inv.json(),
        json::parse(
            R"({"invalidated_api_keys":[")" + id +
            R"("],"previously_invalidated_api_keys":[],"error_count":0})"
        )
    );
    EXPECT_EQ(with(bearer(encoded), "GET", "/v1/models").status, 401u);
    EXPECT_EQ(with(api_key_header(encoded), "GET", "/_inference").status, 401u);

    auto unknown = srv_->as("erin", alice_pw, "POST", "/_security/api_key", R"({"name":"x","bogus":true})");
    EXPECT_EQ(unknown.status, 400u);

    auto short_lived =
        srv_->as("erin", alice_pw, "POST", "/_security/api_key", R"({"name":"short","expiration":"1s"})");
    ASSERT_EQ(short_lived.status, 200u);
    EXPECT_TRUE(short_lived.json().as_object().contains("expiration"));
    const std::string enc2(short_lived.json().at("encoded").as_string());
    EXPECT_EQ(with(bearer(enc2), "GET", "/v1/models").status, 200u);
    std::this_thread::sleep_for(std::chrono::milliseconds(1300));
    EXPECT_EQ(with(bearer(enc2), "GET", "/v1/models").status, 401u);

    // Keys and users survive a restart; the database holds no secret.
    auto third = srv_->as("erin", alice_pw, "POST", "/_security/api_key", R"({"name":"third"})");
    const std::string enc3(third.json().at("encoded").as_string());
    const std::string secret3(third.json().at("api_key").as_string());
    srv_->restart();
    EXPECT_EQ(with(bearer(enc3), "GET", "/v1/models").status, 200u);
    EXPECT_EQ(read_file(tmp_.path() / "data" / "security.db").find(secret3), std::string::npos);
    EXPECT_EQ(srv_->process().log().find(secret3), std::string::npos);
    EXPECT_EQ(read_file(tmp_.path() / "data" / "audit.log").find(secret3), std::string::npos);
}

TEST_F(security_on, api_keys_never_outgrow_their_owner_or_outlive_it) {
    srv_->create_user("gina", alice_pw, {"ml_full_access"});
    auto scoped = srv_->as(
        "gina",
        alice_pw,
        "POST",
        "/_security/api_key",
        R"({"name":"none","modelrelay":{"models":[],"rpm":1}})"
    );
    ASSERT_EQ(scoped.status, 200u) << scoped.body;
    const std::string scoped_key(scoped.json().at("encoded").as_string());
    // A key cannot mint another key: the child would escape the parent's models, limits and revocation.
    const std::string derived_text =
        "creating derived api keys requires an explicit role descriptor that is empty (has no privileges)";
    for (const char* body : {R"({"name":"child"})", R"({"name":"child","modelrelay":{"models":["*"]}})"}) {
        auto child = with(api_key_header(scoped_key), "POST", "/_security/api_key", body);
        EXPECT_EQ(child.status, 400u) << child.body;
        EXPECT_EQ(child.json().at("error").at("reason").as_string(), derived_text) << child.body;
    }
    // Role descriptors are not evaluated here, so only an empty set is taken.
    auto narrowed = srv_->as(
        "gina",
        alice_pw,
        "POST",
        "/_security/api_key",
        R"({"name":"ro","role_descriptors":{"ro":{"cluster":["monitor"]}}})"
    );
    EXPECT_EQ(narrowed.status, 400u) << narrowed.body;
    EXPECT_EQ(narrowed.json().at("error").at("type"), "illegal_argument_exception") << narrowed.body;
    auto listed = srv_->as("gina", alice_pw, "GET", "/_security/api_key");
    EXPECT_EQ(listed.json().at("api_keys").as_array().size(), 1u) << listed.body;  // nothing was created
    auto plain =
        srv_->as("gina", alice_pw, "POST", "/_security/api_key", R"({"name":"plain","role_descriptors":{}})");
    ASSERT_EQ(plain.status, 200u) << plain.body;
    const std::string plain_key(plain.json().at("encoded").as_string());
    EXPECT_EQ(with(bearer(plain_key), "GET", "/v1/models").status, 200u);

    // Deleting the user invalidates its keys; a new user of the same name does not bring them back.
    ASSERT_EQ(srv_->admin("DELETE", "/_plugins/_security/api/internalusers/gina").status, 200u);
    EXPECT_EQ(with(bearer(plain_key), "GET", "/v1/models").status, 401u);
    srv_->create_user("gina", "another-horse-battery-77", {"ml_full_access"});
    EXPECT_EQ(with(bearer(plain_key), "GET", "/v1/models").status, 401u);
    EXPECT_EQ(with(api_key_header(scoped_key), "GET", "/_security/_authenticate").status, 401u);
    srv_->restart();
    EXPECT_EQ(with(bearer(plain_key), "GET", "/v1/models").status, 401u);
}

TEST_F(security_on, settings_and_key_rotations_are_audited) {
    ASSERT_EQ(
        srv_->admin(
                "PUT",
                "/_cluster/settings",
                R"({"persistent":{"plugins.ml_commons.connector.private_ip_enabled":true}})"
        )
            .status,
        200u
    );
    ASSERT_EQ(srv_->admin("POST", "/_plugins/_modelrelay/_rotate_data_keys").status, 200u);
    const std::string audit = read_file(tmp_.path() / "data" / "audit.log");
    EXPECT_NE(audit.find("cluster:admin/settings/update"), std::string::npos) << audit;
    EXPECT_NE(audit.find("persistent:plugins.ml_commons.connector.private_ip_enabled"), std::string::npos);
    EXPECT_NE(audit.find("cluster:admin/modelrelay/kek/rotate"), std::string::npos) << audit;
}

class security_throttled : public security_on {
protected:
    void SetUp() override {
        env_["MODELRELAY_AUTH_ALLOWED_TRIES"] = "3";
        security_on::SetUp();
    }
};

TEST_F(security_throttled, a_blocked_client_gets_authentication_finally_failed_even_with_the_right_password) {
    for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(srv_->as("admin", "Wrong-Pass-123456", "GET", "/").body, "Unauthorized");
    }
    EXPECT_EQ(srv_->admin("GET", "/").status, 200u);  // a success before the limit resets nothing for others
    for (int i = 0; i < 3; ++i) {
        srv_->as("admin", "Wrong-Pass-123456", "GET", "/");
    }
    auto blocked = srv_->admin("GET", "/");
    EXPECT_EQ(blocked.status, 401u);
    EXPECT_EQ(blocked.body, "Authentication finally failed");
    // /v1 says the address is blocked, not that a (good) key is wrong.
    auto v1 = srv_->admin("GET", "/v1/models");
    EXPECT_EQ(v1.status, 401u);
    EXPECT_EQ(
        json::parse(v1.body),
        json::parse(
            R"({"error":{"message":"Authentication finally failed","type":"invalid_request_error","param":null,"code":null}})"
        )
    ) << v1.body;
    // The Elasticsearch door says the credentials failed, not that none were sent.
    auto es = srv_->admin("GET", "/_inference");
    EXPECT_EQ(es.status, 401u);
    EXPECT_EQ(
        json::parse(es.body).at("error").at("reason").as_string(),
        "unable to authenticate with provided credentials and anonymous access is not allowed for this "
        "request"
    ) << es.body;

    // The user name is blocked too: from another address the right password gets the basic challenge,
    // as a blocked name skips the authentication domain (security.md §2.6), not the address's text.
    http_client other(srv_->port());
    other.set_source_address("127.0.0.2");
    auto named = other.request("GET", "/", {}, basic("admin", admin_password));
    EXPECT_EQ(named.status, 401u);
    EXPECT_EQ(named.body, "Unauthorized");
    EXPECT_EQ(named.header("www-authenticate"), "Basic realm=\"OpenSearch Security\"");
}

// A success resets nothing (only a block does): the Security plugin's trackers count failures in a
// sliding window, so one good login in between does not buy more guesses.
TEST_F(security_throttled, a_success_does_not_reset_the_failure_count) {
    http_client from(srv_->port());
    from.set_source_address("127.0.0.3");
    const auto wrong = [&] {
        return from.request("GET", "/", {}, basic("nobody", "Wrong-Pass-123456"));
    };
    EXPECT_EQ(wrong().body, "Unauthorized");
    EXPECT_EQ(wrong().body, "Unauthorized");
    EXPECT_EQ(from.request("GET", "/", {}, basic("admin", admin_password)).status, 200u);
    EXPECT_EQ(wrong().body, "Unauthorized");  // the third failure of this address blocks it
    EXPECT_EQ(
        from.request("GET", "/", {}, basic("admin", admin_password)).body, "Authentication finally failed"
    );
}

TEST(security_first_start, generated_admin_password_is_written_0600_and_never_logged) {
    temp_dir tmp;
    server_process srv(tmp.path() / "data", {}, {"--security", "on"});
    srv.start();
    const auto file = tmp.path() / "data" / "admin.password";
    ASSERT_TRUE(std::filesystem::exists(file));
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600);
    std::string pw = read_file(file);
    while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) {
        pw.pop_back();
    }
    ASSERT_GE(pw.size(), 16u);
    EXPECT_EQ(srv.log().find(pw), std::string::npos);
    EXPECT_NE(srv.log().find("admin.password"), std::string::npos);
    EXPECT_NE(srv.log().find("security on"), std::string::npos);
    http_client c(srv.port());
    EXPECT_EQ(c.request("GET", "/_plugins/_security/authinfo", {}, basic("admin", pw)).status, 200u);
    // A second start keeps the same admin and does not rewrite the file.
    srv.restart();
    EXPECT_EQ(read_file(file).substr(0, pw.size()), pw);
    http_client c2(srv.port());
    EXPECT_EQ(c2.request("GET", "/", {}, basic("admin", pw)).status, 200u);

    // security.db lost: the start says so loudly and the admin comes back with the password the operator
    // already has, not a new one written over it.
    srv.stop();
    for (const char* f : {"security.db", "security.db-wal", "security.db-shm"}) {
        std::filesystem::remove(tmp.path() / "data" / f);
    }
    srv.start();
    EXPECT_NE(
        srv.log().find("the security database has no users but admin.password already exists"),
        std::string::npos
    ) << srv.log();
    EXPECT_EQ(read_file(file).substr(0, pw.size()), pw);
    EXPECT_EQ(srv.log().find(pw), std::string::npos);
    http_client c3(srv.port());
    EXPECT_EQ(c3.request("GET", "/", {}, basic("admin", pw)).status, 200u);
}

TEST(security_first_start, loopback_auto_mode_is_off_and_says_why) {
    temp_dir tmp;
    server_process srv(tmp.path() / "data");
    srv.start();
    EXPECT_NE(srv.log().find("security off"), std::string::npos);
    EXPECT_NE(srv.log().find("loopback"), std::string::npos);
    http_client c(srv.port());
    EXPECT_EQ(c.get("/").status, 200u);
    // The Security API does not exist without security, as in OpenSearch without the plugin.
    EXPECT_EQ(c.get("/_plugins/_security/authinfo").status, 400u);
    EXPECT_FALSE(std::filesystem::exists(tmp.path() / "data" / "admin.password"));
}

}  // namespace
}  // namespace modelrelay::test

namespace modelrelay::test {
namespace {

TEST_F(security_on, opensearch_api_tokens_carry_their_own_permissions) {
    auto made = srv_->admin(
        "POST",
        "/_plugins/_security/api/apitokens",
        R"({"name":"ci","cluster_permissions":["cluster:admin/opensearch/ml/models/search"],"index_permissions":[{"index_pattern":["*"],"allowed_actions":["read"]}],"duration_seconds":86400})"
    );
    ASSERT_EQ(made.status, 200u) << made.body;
    const std::string id(made.json().at("id").as_string());
    const std::string token(made.json().at("token").as_string());
    EXPECT_TRUE(token.starts_with("os_"));

    auto who = with({{"Authorization", "ApiKey " + token}}, "GET", "/_plugins/_security/authinfo");
    ASSERT_EQ(who.status, 200u) << who.body;
    EXPECT_EQ(who.json().at("user_name"), "token:ci");
    // The scheme name is case-insensitive.
    EXPECT_EQ(
        with({{"Authorization", "apikey " + token}}, "POST", "/_plugins/_ml/models/_search", "{}").status,
        200u
    );
    auto denied =
        with({{"Authorization", "ApiKey " + token}}, "POST", "/_plugins/_ml/connectors/_search", "{}");
    EXPECT_EQ(denied.status, 403u);
    EXPECT_EQ(
        denied.json().at("error").at("reason").as_string(),
        "no permissions for [cluster:admin/opensearch/ml/connectors/search] and User [name=token:ci, "
        "backend_roles=[], "
        "requestedTenant=null]"
    );

    auto list = srv_->admin("GET", "/_plugins/_security/api/apitokens");
    ASSERT_EQ(list.status, 200u);
    ASSERT_EQ(list.json().as_array().size(), 1u);
    EXPECT_EQ(list.json().at(0).at("name"), "ci");
    EXPECT_EQ(list.json().at(0).at("created_by"), "admin");
    EXPECT_EQ(list.body.find(token), std::string::npos);

    EXPECT_EQ(
        srv_->admin("POST", "/_plugins/_security/api/apitokens", R"({"name":"ci"})").json().at("error"),
        "A token with name 'ci' already exists."
    );
    EXPECT_EQ(
        srv_->admin("POST", "/_plugins/_security/api/apitokens", R"({})").json().at("error"),
        "Token name is required."
    );
    EXPECT_EQ(
        srv_->admin("POST", "/_plugins/_security/api/apitokens", R"({"name":"a b"})").json().at("error"),
        "Token name must contain only alphanumeric characters, hyphens, and underscores."
    );
    EXPECT_EQ(
        srv_->admin("POST", "/_plugins/_security/api/apitokens", R"({"name":"x","duration_seconds":0})")
            .json()
            .at("error"),
        "Token duration must be positive."
    );

    auto revoked = srv_->admin("DELETE", "/_plugins/_security/api/apitokens/" + id);
    ASSERT_EQ(revoked.status, 200u) << revoked.body;
    EXPECT_EQ(revoked.json().at("message").as_string(), "Token " + id + " revoked successfully.");
    EXPECT_EQ(with({{"Authorization", "ApiKey " + token}}, "GET", "/").status, 401u);
    EXPECT_EQ(read_file(tmp_.path() / "data" / "security.db").find(token), std::string::npos);
}

}  // namespace
}  // namespace modelrelay::test

namespace modelrelay::test {
namespace {

TEST(security_first_start, security_off_on_a_non_loopback_address_needs_allow_insecure_bind) {
    temp_dir tmp;
    server_process refused(tmp.path() / "data", {}, {"--listen", "0.0.0.0:0", "--security", "off"});
    EXPECT_NE(refused.start_expect_failure(), 0);
    EXPECT_NE(refused.log().find("--allow-insecure-bind"), std::string::npos) << refused.log();
    EXPECT_NE(refused.log().find("cannot set up security"), std::string::npos);
}

}  // namespace
}  // namespace modelrelay::test
