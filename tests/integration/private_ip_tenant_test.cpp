// File: private_ip_tenant_test.cpp
// R19 under multi-tenancy: `connector.private_ip_enabled` is granted per tenant when the admin lists the
// tenants in `connector.private_ip_enabled_tenants`; another tenant's call to the same private address is
// refused with ml-commons' text and nothing reaches the upstream.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/support/fake_upstream.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/model_setup.hpp"
#include "tests/support/server_process.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;

class tenant_private_ip : public ::testing::Test {
protected:
    void SetUp() override {
        srv_ = std::make_unique<server_process>(
            tmp_.path() / "data",
            std::map<std::string, std::string>{},
            std::vector<std::string>{"--multi-tenancy", "true"}
        );
        srv_->start();
    }
    http_result as(
        std::string_view tenant, std::string_view method, std::string_view target, std::string_view body = {}
    ) {
        http_client c(srv_->port());
        return c.request(
            method, target, body, {{"x-tenant-id", std::string(tenant)}, {"Content-Type", "application/json"}}
        );
    }
    std::string model_for(std::string_view tenant) {
        auto conn = as(tenant, "POST", "/_plugins/_ml/connectors/_create", chat_connector(up_));
        EXPECT_EQ(conn.status, 200u) << conn.body;
        const std::string cid(conn.json().at("connector_id").as_string());
        auto reg =
            as(tenant,
               "POST",
               "/_plugins/_ml/models/_register?deploy=true",
               R"({"name":"m","function_name":"remote","connector_id":")" + cid + R"("})");
        EXPECT_EQ(reg.status, 200u) << reg.body;
        return std::string(reg.json().at("model_id").as_string());
    }
    http_result predict(std::string_view tenant, const std::string& model) {
        return as(
            tenant,
            "POST",
            "/_plugins/_ml/models/" + model + "/_predict",
            R"({"parameters":{"messages":[{"role":"user","content":"hi"}]}})"
        );
    }

    temp_dir tmp_;
    fake_upstream up_;
    std::unique_ptr<server_process> srv_;
};

TEST_F(tenant_private_ip, only_granted_tenants_reach_private_addresses) {
    http_client c(srv_->port());
    auto s = c.put(
        "/_cluster/settings",
        R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"],"plugins.ml_commons.connector.private_ip_enabled":true,"plugins.ml_commons.connector.private_ip_enabled_tenants":["acme"]}})"
    );
    ASSERT_EQ(s.status, 200u) << s.body;
    const auto acme = model_for("acme");
    const auto beta = model_for("beta");

    auto ok = predict("acme", acme);
    EXPECT_EQ(ok.status, 200u) << ok.body;
    const auto seen = up_.request_count();
    EXPECT_EQ(seen, 1u);

    auto refused = predict("beta", beta);
    EXPECT_EQ(refused.status, 400u) << refused.body;
    EXPECT_EQ(refused.json().at("error").at("type"), "illegal_argument_exception");
    EXPECT_EQ(
        refused.json().at("error").at("reason").as_string(),
        "Remote inference host name has private ip address: 127.0.0.1"
    );
    EXPECT_EQ(up_.request_count(), seen);

    // Without the list every tenant gets the global switch (ml-commons' behaviour).
    auto reset = c.put(
        "/_cluster/settings",
        R"({"persistent":{"plugins.ml_commons.connector.private_ip_enabled_tenants":null}})"
    );
    ASSERT_EQ(reset.status, 200u) << reset.body;
    EXPECT_EQ(predict("beta", beta).status, 200u);
}

}  // namespace
}  // namespace modelrelay::test
