// File: startup_test.cpp
// A restart against the real binary (docs/benchmarks.md, "Start-up"): with two tenants, credentials,
// models sharing a connector and an inline connector, every model deployed before the restart answers
// _predict with its own credential from the moment the port file exists, many at once (the first calls
// compile the restored connectors concurrently), tenancy still holds, and every document reads as before.
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/support/fake_upstream.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/server_process.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;
using header_list = std::vector<std::pair<std::string, std::string>>;

constexpr const char* chat = R"({"parameters":{"messages":[{"role":"user","content":"hi"}]}})";

std::string connector_for(const fake_upstream& up, const std::string& key, const std::string& model) {
    return R"({"name":"startup","version":"1","protocol":"http","parameters":{"model":")" + model +
           R"("},"credential":{"openAI_key":")" + key + R"("},
      "actions":[{"action_type":"predict","method":"POST","url":")" +
           up.url("/v1/chat/completions") + R"(",
        "headers":{"Authorization":"Bearer ${credential.openAI_key}"},
        "request_body":"{ \"model\": \"${parameters.model}\", \"messages\": ${parameters.messages} }"}]})";
}

struct deployed {
    std::string model_id;
    std::string tenant;
    std::string upstream_model;  // the `model` its connector sends, echoed by the fake upstream
};

class startup : public ::testing::Test {
protected:
    void SetUp() override {
        server_ = std::make_unique<server_process>(
            tmp_.path() / "data",
            std::map<std::string, std::string>{},
            std::vector<std::string>{"--multi-tenancy", "true"}
        );
        server_->start();
        client_ = std::make_unique<http_client>(server_->port());
        auto s = client_->put(
            "/_cluster/settings",
            R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"],
                "plugins.ml_commons.connector.private_ip_enabled":true}})"
        );
        ASSERT_EQ(s.status, 200) << s.body;
    }
    std::string create(
        const std::string& path, const std::string& body, const std::string& tenant, std::string_view id_field
    ) {
        auto r = client_->request("POST", path, body, header_list{{"x-tenant-id", tenant}});
        EXPECT_EQ(r.status, 200) << r.body;
        return r.status == 200 ? std::string(r.json().at(id_field).as_string()) : "";
    }
    std::string register_on(const std::string& connector_id, const std::string& tenant, bool deploy) {
        return create(
            std::string("/_plugins/_ml/models/_register") + (deploy ? "?deploy=true" : ""),
            R"({"name":"startup-model","function_name":"remote","connector_id":")" + connector_id + R"("})",
            tenant,
            "model_id"
        );
    }
    std::string get(const std::string& path, const std::string& tenant) {
        auto r = client_->request("GET", path, {}, header_list{{"x-tenant-id", tenant}});
        return std::to_string(r.status) + " " + r.body;
    }

    temp_dir tmp_;
    fake_upstream upstream_;
    std::unique_ptr<server_process> server_;
    std::unique_ptr<http_client> client_;
};

TEST_F(startup, every_deployed_model_answers_with_its_own_credential_as_soon_as_the_port_file_exists) {
    std::vector<deployed> models;
    std::map<std::string, std::string> key_of;  // upstream model -> the key its connector holds
    std::map<std::string, std::string> reads;   // GET path|tenant -> answer before the restart
    for (std::string tenant : {"acme", "globex"}) {
        for (int i = 0; i < 6; ++i) {
            const std::string key = "sk-startup-" + tenant + "-" + std::to_string(i);
            const std::string model = "model-" + tenant + "-" + std::to_string(i);
            key_of[model] = key;
            const auto c = create(
                "/_plugins/_ml/connectors/_create",
                connector_for(upstream_, key, model),
                tenant,
                "connector_id"
            );
            reads["/_plugins/_ml/connectors/" + c + "|" + tenant] = "";
            models.push_back({register_on(c, tenant, true), tenant, model});
            if (i == 0) {
                models.push_back({register_on(c, tenant, true), tenant, model});  // shares the connector
            }
            if (i == 1) {
                reads["/_plugins/_ml/models/" + register_on(c, tenant, false) + "|" + tenant] = "";
            }
        }
        const std::string key = "sk-startup-inline-" + tenant;
        const std::string model = "model-" + tenant + "-inline";
        key_of[model] = key;
        const std::string inline_body = R"({"name":"inline","function_name":"remote","connector":)" +
                                        connector_for(upstream_, key, model) + "}";
        models.push_back(
            {create("/_plugins/_ml/models/_register?deploy=true", inline_body, tenant, "model_id"),
             tenant,
             model}
        );
    }
    for (const auto& m : models) {
        reads["/_plugins/_ml/models/" + m.model_id + "|" + m.tenant] = "";
    }
    for (auto& [key, answer] : reads) {
        const auto bar = key.find('|');
        answer = get(key.substr(0, bar), key.substr(bar + 1));
        ASSERT_EQ(answer.substr(0, 4), "200 ") << key << ": " << answer;
    }

    auto cross_tenant = [&] {
        auto r = client_->request(
            "POST",
            "/_plugins/_ml/models/" + models.front().model_id + "/_predict",
            chat,
            header_list{{"x-tenant-id", "globex"}}
        );
        return std::to_string(r.status) + " " + r.body;
    };
    const auto refused = cross_tenant();
    ASSERT_NE(refused.substr(0, 4), "200 ") << refused;

    server_->restart();
    upstream_.clear_requests();
    // Right away, every model at once, the ones sharing a connector from several threads, each thread on
    // its own connection.
    std::mutex mu;
    std::vector<std::string> failures;
    std::vector<std::thread> callers;
    const std::uint16_t port = server_->port();
    for (std::size_t i = 0; i < models.size() + 8; ++i) {
        const auto& m = models[i < models.size() ? i : 0];
        callers.emplace_back([&, m] {
            http_client c(port);
            auto r = c.request(
                "POST",
                "/_plugins/_ml/models/" + m.model_id + "/_predict",
                chat,
                header_list{{"x-tenant-id", m.tenant}}
            );
            if (r.status != 200 || r.body.find("\"" + m.upstream_model + "\"") == std::string::npos) {
                std::lock_guard lock(mu);
                failures.push_back(m.model_id + ": " + std::to_string(r.status) + " " + r.body);
            }
        });
    }
    for (auto& t : callers) {
        t.join();
    }
    EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
    const auto seen = upstream_.requests();
    ASSERT_EQ(seen.size(), models.size() + 8);
    for (const auto& req : seen) {
        const std::string model(json::parse(req.body).at("model").as_string());
        ASSERT_TRUE(key_of.count(model)) << req.body;
        EXPECT_EQ(req.header("authorization"), "Bearer " + key_of[model]) << model;
    }

    // Tenancy is restored with the deployments: another tenant still gets the same refusal.
    client_ = std::make_unique<http_client>(server_->port());
    EXPECT_EQ(cross_tenant(), refused);
    for (const auto& [key, answer] : reads) {
        const auto bar = key.find('|');
        EXPECT_EQ(get(key.substr(0, bar), key.substr(bar + 1)), answer) << key;
    }
    const auto log = server_->log();
    EXPECT_NE(log.find("registry loaded: "), std::string::npos) << log;
    EXPECT_EQ(log.find("sk-startup"), std::string::npos);
}

}  // namespace
}  // namespace modelrelay::test
