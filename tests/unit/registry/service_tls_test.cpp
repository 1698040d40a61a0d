// File: service_tls_test.cpp
// client_config.tls through the registry façade on a real SQLite file: the private key is stored only as
// an encrypted credential entry, reaches the TLS context factory decrypted at deploy (and at start-up
// redeploy), is never bindable into a header, and a process without a factory refuses to deploy.
#include <filesystem>
#include <unistd.h>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "registry/crypto.hpp"
#include "registry/service.hpp"
#include "tests/support/test_ca.hpp"

namespace modelrelay::registry {
namespace {

namespace json = boost::json;

struct recorded_context : outbound_tls_context {
    tls_material material;
};

const test::issued_cert& client_cert() {
    static const test::issued_cert c = test::test_ca::instance().issue_client("service-test");
    return c;
}

class service_tls : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("service-tls-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        open(true);
    }
    void TearDown() override {
        svc_.reset();
        std::filesystem::remove_all(dir_);
    }
    void open(bool with_factory) {
        svc_.reset();
        service_options opts;
        opts.data_dir = dir_;
        if (with_factory) {
            opts.tls_contexts = [this](const tls_material& m
                                ) -> result<std::shared_ptr<const outbound_tls_context>> {
                auto ctx = std::make_shared<recorded_context>();
                ctx->material = m;
                ++built_;
                return std::shared_ptr<const outbound_tls_context>(ctx);
            };
        }
        auto s = service::open(opts);
        ASSERT_TRUE(s) << s.error().reason;
        svc_ = std::move(*s);
        ASSERT_TRUE(svc_->put_settings(
            json::parse(R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"]}})"),
            false
        ));
    }
    std::string create_connector(std::string_view header_value = "Bearer ${credential.k}") {
        json::object body{
            {"name", "c"},
            {"version", "1"},
            {"protocol", "http"},
            {"credential", json::object{{"k", "sk-1"}}},
            {"actions",
             json::array{json::object{
                 {"action_type", "predict"},
                 {"method", "POST"},
                 {"url", "https://example.com/v1/chat/completions"},
                 {"headers", json::object{{"Authorization", header_value}}},
                 {"request_body", "{}"}}}},
            {"client_config",
             json::object{
                 {"tls",
                  json::object{
                      {"verification_mode", "certificate"},
                      {"certificate_data", client_cert().cert_pem},
                      {"private_key_data", base64_encode(client_cert().key_pem)}}}}}};
        auto c = svc_->create_connector(body, {});
        EXPECT_TRUE(c) << (c ? "" : c.error().reason);
        return c ? std::string(c->at("connector_id").as_string()) : std::string();
    }
    result<json::object> deploy_on(const std::string& connector_id) {
        return svc_->register_model(
            json::parse(R"({"name":"m","function_name":"remote","connector_id":")" + connector_id + R"("})")
                .as_object(),
            true,
            {}
        );
    }

    std::filesystem::path dir_;
    std::unique_ptr<service> svc_;
    int built_ = 0;
};

TEST_F(service_tls, the_key_is_an_encrypted_credential_and_reaches_the_factory_at_deploy) {
    const auto id = create_connector();
    const auto& doc = svc_->current()->find(kind::connector, id)->doc();
    const auto& cred = doc.at("credential").as_object();
    ASSERT_TRUE(cred.contains(tls_key_credential));
    const std::string sealed(cred.at(tls_key_credential).as_string());
    EXPECT_EQ(sealed.find("PRIVATE KEY"), std::string::npos);
    EXPECT_EQ(sealed.find(base64_encode(client_cert().key_pem).substr(0, 40)), std::string::npos);
    EXPECT_FALSE(doc.at("client_config").at("tls").as_object().contains("private_key_data"));
    EXPECT_EQ(json::serialize(doc).find("PRIVATE KEY"), std::string::npos);

    auto m = deploy_on(id);
    ASSERT_TRUE(m) << m.error().reason;
    EXPECT_EQ(built_, 1);
    const auto* d = svc_->current()->deployed.find(std::string(m->at("model_id").as_string()));
    ASSERT_NE(d, nullptr);
    const auto* ctx = dynamic_cast<const recorded_context*>(d->connector->get().value()->tls.get());
    ASSERT_NE(ctx, nullptr);
    EXPECT_EQ(ctx->material.verification, tls_verification::certificate);
    EXPECT_EQ(ctx->material.private_key_pem, client_cert().key_pem);
    EXPECT_EQ(ctx->material.certificate_pem, client_cert().cert_pem);
    EXPECT_TRUE(ctx->material.ca_pem.empty());

    // Start-up restores the deployment at once and builds a fresh context on its first call, once.
    open(true);
    d = svc_->current()->deployed.find(std::string(m->at("model_id").as_string()));
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(built_, 1);
    ASSERT_TRUE(d->connector->get());
    ASSERT_TRUE(d->connector->get());
    EXPECT_EQ(built_, 2);
}

TEST_F(service_tls, a_header_cannot_bind_the_key) {
    const auto id = create_connector("Key ${credential.client_config.tls.private_key_data}");
    auto m = deploy_on(id);
    if (!m) {
        SUCCEED() << "refused at deploy: " << m.error().reason;
        return;
    }
    const auto* d = svc_->current()->deployed.find(std::string(m->at("model_id").as_string()));
    ASSERT_NE(d, nullptr);
    for (const auto& a : d->connector->get().value()->actions) {
        for (const auto& [name, value] : a.headers) {
            EXPECT_EQ(value.source().find("PRIVATE KEY"), std::string::npos) << name;
        }
    }
}

TEST_F(service_tls, without_a_factory_deploying_a_tls_connector_fails) {
    const auto id = create_connector();
    open(false);
    auto m = deploy_on(id);
    ASSERT_TRUE(m) << m.error().reason;  // registered; the deploy step is what fails
    const std::string model_id(m->at("model_id").as_string());
    EXPECT_EQ(svc_->current()->deployed.find(model_id), nullptr);
    EXPECT_EQ(
        svc_->current()->find(kind::model, model_id)->doc().at("model_state").as_string(), "DEPLOY_FAILED"
    );
    auto again = svc_->deploy_model(model_id, {});
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, errc::internal);
    EXPECT_EQ(again.error().reason, "client_config.tls is not supported by this process");
    EXPECT_EQ(svc_->current()->deployed.find(model_id), nullptr);
}

}  // namespace
}  // namespace modelrelay::registry
