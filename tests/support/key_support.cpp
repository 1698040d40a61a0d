// File: key_support.cpp
#include "tests/support/key_support.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>

namespace modelrelay::test {

std::string base64(std::string_view text) {
    std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(
        reinterpret_cast<unsigned char*>(out.data()),
        reinterpret_cast<const unsigned char*>(text.data()),
        static_cast<int>(text.size())
    );
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string basic_auth(std::string_view user, std::string_view password) {
    return "Basic " + base64(std::string(user) + ":" + std::string(password));
}

secured_relay::secured_relay(std::vector<std::string> extra_args) {
    std::vector<std::string> args{"--security", "on"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    server_ = std::make_unique<server_process>(
        tmp_.path() / "data",
        std::map<std::string, std::string>{
            {"MODELRELAY_ADMIN_PASSWORD", std::string(key_test_admin_password)}},
        std::move(args)
    );
    server_->start();
    admin_ = std::make_unique<http_client>(server_->port());
}

void secured_relay::restart() {
    admin_.reset();
    server_->restart();
    admin_ = std::make_unique<http_client>(server_->port());
}

http_result secured_relay::admin(
    std::string_view method, const std::string& target, std::string_view body, header_list extra
) {
    extra.emplace_back("Authorization", basic_auth("admin", key_test_admin_password));
    if (!body.empty()) {
        extra.emplace_back("Content-Type", "application/json");
    }
    return admin_->request(method, target, body, extra);
}

http_result secured_relay::with_key(
    const created_key& k,
    std::string_view method,
    const std::string& target,
    std::string_view body,
    std::string_view scheme,
    header_list extra
) const {
    extra.emplace_back("Authorization", std::string(scheme) + " " + k.encoded);
    if (!body.empty()) {
        extra.emplace_back("Content-Type", "application/json");
    }
    http_client c(server_->port());
    return c.request(method, target, body, extra);
}

created_key secured_relay::create_key(const std::string& body) {
    auto r = admin("POST", "/_security/api_key", body);
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) {
        return {};
    }
    const auto j = r.json();
    return created_key{std::string(j.at("id").as_string()), std::string(j.at("encoded").as_string())};
}

void secured_relay::open_cluster_settings() {
    auto r = admin(
        "PUT",
        "/_cluster/settings",
        R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"],)"
        R"("plugins.ml_commons.connector.private_ip_enabled":true,"plugins.ml_commons.stream_enabled":true}})"
    );
    EXPECT_EQ(r.status, 200) << r.body;
}

std::string secured_relay::register_model(
    const std::string& connector_body, std::string_view name, std::string tenant
) {
    header_list h;
    if (!tenant.empty()) {
        h.emplace_back("x-tenant-id", tenant);
    }
    auto conn = admin("POST", "/_plugins/_ml/connectors/_create", connector_body, h);
    EXPECT_EQ(conn.status, 200) << conn.body;
    if (conn.status != 200) {
        return {};
    }
    const std::string connector_id(conn.json().at("connector_id").as_string());
    const std::string body = R"({"name": ")" + std::string(name) + R"(", "function_name": "remote", )" +
                             R"("connector_id": ")" + connector_id + R"("})";
    auto r = admin("POST", "/_plugins/_ml/models/_register?deploy=true", body, h);
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) {
        return {};
    }
    return std::string(r.json().at("model_id").as_string());
}

void secured_relay::put_completion_endpoint(
    const fake_upstream& up, std::string_view id, std::string tenant
) {
    header_list h;
    if (!tenant.empty()) {
        h.emplace_back("x-tenant-id", tenant);
    }
    const std::string body = R"({"service":"openai","service_settings":{"api_key":"sk-endpoint-secret",)"
                             R"("model_id":"gpt-test","url":")" +
                             up.url("/v1/chat/completions") + R"("}})";
    auto r = admin("PUT", "/_inference/completion/" + std::string(id), body, h);
    EXPECT_EQ(r.status, 200) << r.body;
}

}  // namespace modelrelay::test
