// File: mtls_auth_test.cpp
// Client-certificate authentication with security on (security.md §2.5, R2): a verified certificate is a
// user (CN) with backend roles (OU); an empty `Bearer ` plus the certificate authenticates by it (Kibana PKI,
// seed 003); an --tls-admin-dn certificate is the super-admin; stock curl with --cert works; no certificate
// and no credentials is a 401.
#include <cstdio>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/support/http_client.hpp"
#include "tests/support/secure_server.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_ca.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;

const test_ca& ca() {
    return test_ca::instance();
}

const issued_cert& alice_cert() {
    static const issued_cert c = ca().issue_client({{"O", "acme"}, {"OU", "analyst"}, {"CN", "alice"}});
    return c;
}

const issued_cert& kirk_cert() {
    static const issued_cert c =
        ca().issue_client({{"C", "de"}, {"L", "test"}, {"O", "client"}, {"OU", "client"}, {"CN", "kirk"}});
    return c;
}

tls_client_options with_cert(const issued_cert* cert) {
    tls_client_options o;
    o.ca_file = ca().ca_file();
    if (cert != nullptr) {
        o.cert_file = cert->cert_file;
        o.key_file = cert->key_file;
    }
    return o;
}

std::pair<int, std::string> run(const std::string& cmd) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) {
        return {-1, ""};
    }
    char buf[4096];
    while (auto n = std::fread(buf, 1, sizeof buf, p)) {
        out.append(buf, n);
    }
    return {::pclose(p), out};
}

class mtls_auth : public ::testing::Test {
protected:
    void SetUp() override {
        srv_ = std::make_unique<secure_server>(
            tmp_.path() / "data",
            std::map<std::string, std::string>{},
            std::vector<std::string>{
                "--tls-cert",
                ca().localhost().cert_file,
                "--tls-key",
                ca().localhost().key_file,
                "--tls-client-ca",
                ca().ca_file(),
                "--tls-client-auth",
                "optional",
                "--tls-admin-dn",
                "CN=kirk,OU=client,O=client,L=test,C=de"}
        );
    }
    http_result call(
        const issued_cert* cert,
        std::string_view method,
        std::string_view target,
        const header_list& h = {},
        std::string_view body = {}
    ) {
        http_client c(srv_->port(), with_cert(cert));
        return c.request(method, target, body, with_json(h));
    }

    temp_dir tmp_;
    std::unique_ptr<secure_server> srv_;
};

TEST_F(mtls_auth, a_certificate_is_a_user_with_its_ou_as_backend_roles) {
    auto r = call(&alice_cert(), "GET", "/_plugins/_security/authinfo");
    ASSERT_EQ(r.status, 200u) << r.body;
    auto j = r.json().as_object();
    EXPECT_EQ(j.at("user_name"), "alice");
    EXPECT_EQ(j.at("backend_roles"), json::parse(R"(["analyst"])"));
    EXPECT_EQ(j.at("principal"), "CN=alice,OU=analyst,O=acme");
    EXPECT_NE(j.at("peer_certificates"), "0");
    // Roles come from mappings: map the certificate's backend role to read access.
    EXPECT_EQ(call(&alice_cert(), "POST", "/_plugins/_ml/connectors/_search", {}, "{}").status, 403u);
    ASSERT_EQ(
        call(
            nullptr,
            "PUT",
            "/_plugins/_security/api/rolesmapping/ml_read_access",
            basic("admin", admin_password),
            R"({"backend_roles":["analyst"]})"
        )
            .status,
        201u
    );
    EXPECT_EQ(call(&alice_cert(), "POST", "/_plugins/_ml/connectors/_search", {}, "{}").status, 200u);
}

TEST_F(mtls_auth, empty_bearer_with_a_certificate_authenticates_by_the_certificate) {
    auto kibana = call(&alice_cert(), "GET", "/_plugins/_security/authinfo", {{"Authorization", "Bearer "}});
    ASSERT_EQ(kibana.status, 200u) << kibana.body;
    EXPECT_EQ(kibana.json().at("user_name"), "alice");
    // Without a certificate an empty Bearer is a 401 on every front door.
    EXPECT_EQ(call(nullptr, "GET", "/v1/models", {{"Authorization", "Bearer "}}).status, 401u);
    EXPECT_EQ(call(nullptr, "GET", "/").status, 401u);
    // Basic still works over the same listener, and wins over the certificate when sent.
    auto basic_too =
        call(&alice_cert(), "GET", "/_plugins/_security/authinfo", basic("admin", admin_password));
    EXPECT_EQ(basic_too.json().at("user_name"), "admin");
}

TEST_F(mtls_auth, the_admin_dn_certificate_is_the_super_admin) {
    auto users = call(&kirk_cert(), "GET", "/_plugins/_security/api/internalusers");
    ASSERT_EQ(users.status, 200u) << users.body;
    EXPECT_TRUE(users.json().as_object().contains("admin"));
    // The super-admin may even change reserved entities; ordinary admins may not.
    EXPECT_EQ(
        call(
            &kirk_cert(),
            "PUT",
            "/_plugins/_security/api/internalusers/admin",
            {},
            R"({"password":"An0ther-Strong-Pass!"})"
        )
            .status,
        200u
    );
    EXPECT_EQ(
        call(
            &kirk_cert(),
            "PUT",
            "/_cluster/settings",
            {},
            R"({"persistent":{"plugins.ml_commons.connector.private_ip_enabled":true}})"
        )
            .status,
        200u
    );

    // What the super-admin registers is hidden (TransportRegisterModelAction.setIsHidden(isSuperAdmin)):
    // only the super-admin reads it; an admin is refused and does not find it by search.
    ASSERT_EQ(
        call(
            &kirk_cert(),
            "PUT",
            "/_cluster/settings",
            {},
            R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[".*"]}})"
        )
            .status,
        200u
    );
    auto connector = call(
        &kirk_cert(),
        "POST",
        "/_plugins/_ml/connectors/_create",
        {},
        R"({"name":"c","version":"1","protocol":"http","credential":{"k":"v"},"actions":[{"action_type":"predict","method":"POST","url":"http://127.0.0.1:9/v1/chat/completions","request_body":"{}"}]})"
    );
    ASSERT_EQ(connector.status, 200u) << connector.body;
    auto model = call(
        &kirk_cert(),
        "POST",
        "/_plugins/_ml/models/_register",
        {},
        R"({"name":"hidden one","function_name":"remote","connector_id":")" +
            std::string(connector.json().at("connector_id").as_string()) + R"("})"
    );
    ASSERT_EQ(model.status, 200u) << model.body;
    const std::string id(model.json().at("model_id").as_string());
    // (The PUT above left `admin` without its backend role, so another all_access user reads.)
    ASSERT_EQ(
        call(
            &kirk_cert(),
            "PUT",
            "/_plugins/_security/api/internalusers/boss",
            {},
            R"({"password":"Boss-Strong-Pass-77!","opendistro_security_roles":["all_access"]})"
        )
            .status,
        201u
    );
    // A hidden user (only the super-admin may make one) is hidden from the API, not from logging in.
    auto hid = call(
        &kirk_cert(),
        "PATCH",
        "/_plugins/_security/api/internalusers",
        {},
        R"([{"op":"add","path":"/hid","value":{"password":"Hidden-Strong-Pass-88!","hidden":true}}])"
    );
    ASSERT_EQ(hid.status, 200u) << hid.body;
    auto hid_info =
        call(nullptr, "GET", "/_plugins/_security/authinfo", basic("hid", "Hidden-Strong-Pass-88!"));
    EXPECT_EQ(hid_info.status, 200u) << hid_info.body;
    auto own = call(&kirk_cert(), "GET", "/_plugins/_ml/models/" + id);
    ASSERT_EQ(own.status, 200u) << own.body;
    EXPECT_EQ(own.json().at("is_hidden"), true);
    auto other = call(nullptr, "GET", "/_plugins/_ml/models/" + id, basic("boss", "Boss-Strong-Pass-77!"));
    EXPECT_EQ(other.status, 403u) << other.body;
    auto found = call(
        nullptr,
        "POST",
        "/_plugins/_ml/models/_search",
        basic("boss", "Boss-Strong-Pass-77!"),
        R"({"query":{"match_all":{}}})"
    );
    ASSERT_EQ(found.status, 200u) << found.body;
    EXPECT_EQ(found.body.find(id), std::string::npos) << found.body;
}

TEST_F(mtls_auth, stock_curl_with_cert_and_key) {
    if (run("command -v curl >/dev/null 2>&1").first != 0) {
        GTEST_SKIP() << "curl not found";
    }
    const std::string url = "https://localhost:" + std::to_string(srv_->port());
    const std::string base = "curl -sS --max-time 10 --resolve localhost:" + std::to_string(srv_->port()) +
                             ":127.0.0.1 --cacert '" + ca().ca_file() + "' ";
    auto [code, body] =
        run(base + "--cert '" + alice_cert().cert_file + "' --key '" + alice_cert().key_file + "' " + url +
            "/_plugins/_security/authinfo 2>&1");
    ASSERT_EQ(code, 0) << body;
    EXPECT_NE(body.find("\"user_name\":\"alice\""), std::string::npos) << body;
    auto [code2, body2] = run(base + "-o /dev/null -w '%{http_code}' " + url + "/ 2>&1");
    EXPECT_EQ(body2, "401") << body2;
}

}  // namespace
}  // namespace modelrelay::test
