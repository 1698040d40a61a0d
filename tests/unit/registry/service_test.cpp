// File: service_test.cpp
// The registry façade without sockets, on a real SQLite file, with an injected clock: TTL undeploy and
// the model-level token bucket, which wall-clock integration tests cannot exercise quickly.
#include "registry/service.hpp"

#include <filesystem>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace modelrelay::registry {
namespace {

namespace json = boost::json;

class service_test : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("service-test-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        service_options opts;
        opts.data_dir = dir_;
        opts.clock_ms = [this] {
            return now_;
        };
        auto s = service::open(opts);
        ASSERT_TRUE(s) << s.error().reason;
        svc_ = std::move(*s);
        ASSERT_TRUE(svc_->put_settings(
            json::parse(R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"]}})"),
            false
        ));
    }
    void TearDown() override {
        svc_.reset();
        std::filesystem::remove_all(dir_);
    }
    std::string deployed_model(std::string_view model_extra) {
        auto c = svc_->create_connector(
            json::parse(R"({"name":"c","version":"1","protocol":"http","credential":{"k":"v"},
              "actions":[{"action_type":"predict","method":"POST","url":"https://example.com/v1/chat/completions",
              "request_body":"{}"}]})")
                .as_object(),
            {}
        );
        EXPECT_TRUE(c);
        const std::string body = R"({"name":"m","function_name":"remote",)" + std::string(model_extra) +
                                 R"("connector_id":")" + std::string(c->at("connector_id").as_string()) +
                                 R"("})";
        auto m = svc_->register_model(json::parse(body).as_object(), true, {});
        EXPECT_TRUE(m);
        return std::string(m->at("model_id").as_string());
    }
    std::string state(const std::string& id) {
        return std::string(svc_->current()->find(kind::model, id)->doc.at("model_state").as_string());
    }

    std::filesystem::path dir_;
    std::int64_t now_ = 1'000'000;
    std::unique_ptr<service> svc_;
};

TEST_F(service_test, idle_models_are_undeployed_after_their_ttl_and_only_then) {
    const auto ttl = deployed_model(R"("deploy_setting":{"model_ttl_minutes":2},)");
    const auto forever = deployed_model("");
    EXPECT_EQ(state(ttl), "DEPLOYED");
    now_ += 119'000;
    EXPECT_EQ(svc_->undeploy_idle(now_), 0U);
    EXPECT_EQ(state(ttl), "DEPLOYED");
    // A predict refreshes the last access time.
    svc_->current()->deployed.find(ttl)->runtime->last_access_ms.store(now_);
    now_ += 119'000;
    EXPECT_EQ(svc_->undeploy_idle(now_), 0U);
    now_ += 2'000;
    EXPECT_EQ(svc_->undeploy_idle(now_), 1U);
    EXPECT_EQ(state(ttl), "UNDEPLOYED");
    EXPECT_EQ(svc_->current()->deployed.find(ttl), nullptr);
    EXPECT_EQ(state(forever), "DEPLOYED");
}

TEST_F(service_test, deployed_state_survives_reopen_and_is_redeployed) {
    const auto id = deployed_model("");
    svc_.reset();
    service_options opts;
    opts.data_dir = dir_;
    auto s = service::open(opts);
    ASSERT_TRUE(s);
    svc_ = std::move(*s);
    ASSERT_NE(svc_->current()->deployed.find(id), nullptr);
    const auto& action = svc_->current()->deployed.find(id)->connector->get().value()->actions.at(0);
    EXPECT_EQ(action.action_type, "PREDICT");
}

// Fields ml-commons reads with parser.text() keep a number as it is written, not Boost.JSON's `1.05E1`.
TEST_F(service_test, numbers_in_text_fields_read_as_written) {
    const auto id = deployed_model(R"("rate_limiter":{"limit":10.5,"unit":"MINUTES"},)");
    const auto& doc = svc_->current()->find(kind::model, id)->doc;
    EXPECT_EQ(doc.at("rate_limiter").at("limit"), json::value("10.5"));
    auto c = svc_->create_connector(
        json::parse(R"({"name":"c","version":"1","protocol":"http","credential":{"k":"v"},
          "actions":[{"action_type":"predict","method":"POST","url":"https://example.com/v1",
          "headers":{"x-weight":0.25,"x-big":1e21},"request_body":"{}"}]})")
            .as_object(),
        {}
    );
    ASSERT_TRUE(c);
    const auto* stored =
        svc_->current()->find(kind::connector, std::string(c->at("connector_id").as_string()));
    ASSERT_NE(stored, nullptr);
    EXPECT_EQ(
        stored->doc.at("actions").at(0).at("headers"), json::parse(R"({"x-weight":"0.25","x-big":"1e+21"})")
    );
}

TEST(token_bucket, allows_a_burst_of_limit_then_refills_at_the_rate) {
    token_bucket b(2, time_unit_ns("SECONDS"));
    std::int64_t t = 0;
    EXPECT_TRUE(b.try_acquire(t));
    EXPECT_TRUE(b.try_acquire(t));
    EXPECT_FALSE(b.try_acquire(t));
    t += 499'000'000;  // 0.998 tokens
    EXPECT_FALSE(b.try_acquire(t));
    t += 2'000'000;
    EXPECT_TRUE(b.try_acquire(t));
    EXPECT_FALSE(b.try_acquire(t));
}

TEST(token_bucket, limits_below_one_still_allow_one_request) {
    token_bucket b(0.5, time_unit_ns("MINUTES"));
    EXPECT_TRUE(b.try_acquire(0));
    EXPECT_FALSE(b.try_acquire(1));
    EXPECT_EQ(time_unit_ns("FORTNIGHTS"), 0);
}

}  // namespace
}  // namespace modelrelay::registry
