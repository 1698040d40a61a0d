// File: service_test.cpp
// The registry façade without sockets, on a real SQLite file, with an injected clock: TTL undeploy and
// the model-level token bucket, which wall-clock integration tests cannot exercise quickly.
#include "registry/service.hpp"

#include <filesystem>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <sqlite3.h>

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
        ASSERT_NO_FATAL_FAILURE(reopen());
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
    // Opens the service on dir_ with the injected clock, closing the open one first (a restart).
    void reopen() {
        svc_.reset();
        service_options opts;
        opts.data_dir = dir_;
        opts.clock_ms = [this] {
            return now_;
        };
        auto s = service::open(opts);
        ASSERT_TRUE(s) << s.error().reason;
        svc_ = std::move(*s);
    }
    std::string state(const std::string& id) {
        return std::string(svc_->current()->find(kind::model, id)->doc().at("model_state").as_string());
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

// TTLs near the long range are a very long time, not (after ttl * 60,000 overflowed) no time at all.
// Starting without the stored settings would silently drop what they turn on (access control, private
// addresses) and the next update would overwrite them: unreadable ones refuse the start.
TEST_F(service_test, unreadable_stored_settings_refuse_the_start) {
    svc_.reset();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "modelrelay.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(
            db,
            "UPDATE meta SET value = '{broken' WHERE key = 'persistent_settings'",
            nullptr,
            nullptr,
            nullptr
        ),
        SQLITE_OK
    );
    EXPECT_EQ(sqlite3_changes(db), 1);
    sqlite3_close(db);
    service_options opts;
    opts.data_dir = dir_;
    auto s = service::open(opts);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().reason, "corrupt persistent cluster settings in the database");
}

TEST_F(service_test, huge_ttls_do_not_expire) {
    const auto max = deployed_model(R"("deploy_setting":{"model_ttl_minutes":9223372036854775807},)");
    const auto big = deployed_model(R"("deploy_setting":{"model_ttl_minutes":4611686018427387904},)");
    now_ += 10'000'000;
    EXPECT_EQ(svc_->undeploy_idle(now_), 0U);
    EXPECT_EQ(state(max), "DEPLOYED");
    EXPECT_EQ(state(big), "DEPLOYED");
}

TEST_F(service_test, deployed_state_survives_reopen_and_is_redeployed) {
    const auto id = deployed_model("");
    ASSERT_NO_FATAL_FAILURE(reopen());
    ASSERT_NE(svc_->current()->deployed.find(id), nullptr);
    const auto& action = svc_->current()->deployed.find(id)->connector->get().value()->actions.at(0);
    EXPECT_EQ(action.action_type, "PREDICT");
}

// Fields ml-commons reads with parser.text() keep a number as it is written, not Boost.JSON's `1.05E1`.
TEST_F(service_test, numbers_in_text_fields_read_as_written) {
    const auto id = deployed_model(R"("rate_limiter":{"limit":10.5,"unit":"MINUTES"},)");
    const auto& doc = svc_->current()->find(kind::model, id)->doc();
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
        stored->doc().at("actions").at(0).at("headers"), json::parse(R"({"x-weight":"0.25","x-big":"1e+21"})")
    );
}

// Register and group updates find groups by name through an index: it must follow every change of a
// group's name, survive a restart, and stay per tenant.
TEST_F(service_test, model_groups_are_found_by_name_through_every_change) {
    const auto group_of = [&](const std::string& model_id) {
        return std::string(
            svc_->current()->find(kind::model, model_id)->doc().at("model_group_id").as_string()
        );
    };
    const auto first = deployed_model("");  // name "m": a new group
    const auto second = deployed_model("");
    const std::string gid = group_of(first);
    EXPECT_EQ(group_of(second), gid);
    EXPECT_EQ(svc_->current()->find(kind::model_group, gid)->doc().at("latest_version"), json::value(2));

    auto other = svc_->register_model_group(json::parse(R"({"name":"other"})").as_object(), {});
    ASSERT_TRUE(other);
    auto dup = svc_->register_model_group(json::parse(R"({"name":"m"})").as_object(), {});
    ASSERT_FALSE(dup);
    EXPECT_EQ(
        dup.error().reason,
        "The name you provided is already being used by a model group with ID: " + gid + "."
    );
    caller tenant_b;
    tenant_b.tenant_id = "b";
    EXPECT_TRUE(svc_->register_model_group(json::parse(R"({"name":"m"})").as_object(), tenant_b));

    // Renamed: the old name is free, the new one taken.
    ASSERT_TRUE(svc_->update_model_group(gid, json::parse(R"({"name":"renamed"})").as_object(), {}));
    EXPECT_EQ(
        svc_->current()->find_group_by_name("renamed", ""), svc_->current()->find(kind::model_group, gid)
    );
    EXPECT_EQ(svc_->current()->find_group_by_name("m", ""), nullptr);
    auto clash = svc_->update_model_group(
        std::string(other->at("model_group_id").as_string()),
        json::parse(R"({"name":"renamed"})").as_object(),
        {}
    );
    EXPECT_FALSE(clash);

    // After a restart the index is rebuilt from the stored groups.
    ASSERT_NO_FATAL_FAILURE(reopen());
    EXPECT_NE(svc_->current()->find_group_by_name("renamed", ""), nullptr);
    EXPECT_NE(svc_->current()->find_group_by_name("m", "b"), nullptr);
    EXPECT_EQ(svc_->current()->find_group_by_name("m", ""), nullptr);
    const auto third = deployed_model("");  // "m" is free again in the default tenant: a new group
    EXPECT_NE(group_of(third), gid);

    // Deleted: gone from the index too.
    const auto other_id = std::string(other->at("model_group_id").as_string());
    ASSERT_TRUE(svc_->delete_model_group(other_id, {}));
    EXPECT_EQ(svc_->current()->find_group_by_name("other", ""), nullptr);
}

// Should two groups share a name (a data directory the API did not write), the other is found once the
// indexed one goes.
// ml-commons answers some lookups differently while the kind's system index does not exist yet (spec
// §1.1-§1.3); the index appears with the first write of its kind and stays, across restarts, even when
// everything in it was deleted.
TEST_F(service_test, index_missing_texts_until_the_first_write_of_each_kind) {
    const auto reason = [](const auto& r) {
        EXPECT_FALSE(r);
        return r ? std::string() : r.error().reason;
    };
    const auto code_of = [](const auto& r) {
        return r ? errc{} : r.error().code;
    };
    EXPECT_EQ(reason(svc_->get_connector("nope", {})), "Failed to find connector");
    EXPECT_EQ(code_of(svc_->get_connector("nope", {})), errc::not_found);  // status_exception 404
    EXPECT_EQ(reason(svc_->get_model_group("nope", {})), "Failed to find model group index");
    EXPECT_EQ(reason(svc_->get_model("nope", {})), "Fail to find model");
    // A connector makes the connector index only.
    auto connector = svc_->create_connector(
        json::parse(R"({"name":"c","version":"1","protocol":"http","credential":{"k":"v"},
          "actions":[{"action_type":"predict","method":"POST","url":"https://example.com/v1","request_body":"{}"}]})"
        )
            .as_object(),
        {}
    );
    ASSERT_TRUE(connector);
    EXPECT_EQ(
        reason(svc_->get_connector("nope", {})),
        "Failed to find connector with the provided connector id: nope"
    );
    EXPECT_EQ(reason(svc_->get_model_group("nope", {})), "Failed to find model group index");
    auto bad_group =
        json::parse(R"({"name":"m","function_name":"remote","model_group_id":"nope"})").as_object();
    bad_group["connector_id"] = connector->at("connector_id");
    auto r = svc_->register_model(bad_group, false, {});
    EXPECT_EQ(reason(r), "Model group not found");
    EXPECT_EQ(code_of(r), errc::not_found);
    EXPECT_EQ(svc_->current()->of(kind::model).size(), 0U);

    const auto model_id = deployed_model("");  // a connector, a group, a model
    const auto connector_id =
        std::string(svc_->current()->find(kind::model, model_id)->doc().at("connector_id").as_string());
    const auto group_id =
        std::string(svc_->current()->find(kind::model, model_id)->doc().at("model_group_id").as_string());
    ASSERT_TRUE(svc_->undeploy_models({model_id}, {}));
    ASSERT_TRUE(svc_->delete_model(model_id, {}));
    ASSERT_TRUE(svc_->delete_model_group(group_id, {}));
    ASSERT_TRUE(svc_->delete_connector(connector_id, {}));
    for (int round = 0; round < 2; ++round) {
        EXPECT_EQ(
            reason(svc_->get_connector("nope", {})),
            "Failed to find connector with the provided connector id: nope"
        );
        EXPECT_EQ(
            reason(svc_->get_model_group("nope", {})),
            "Failed to find model group with the provided model group id: nope"
        );
        EXPECT_EQ(
            reason(svc_->get_model("nope", {})), "Failed to find model with the provided model id: nope"
        );
        EXPECT_EQ(
            reason(svc_->register_model(bad_group, false, {})), "Model Group Response is empty for nope"
        );
        ASSERT_NO_FATAL_FAILURE(reopen());  // the indices outlive a restart with nothing in them
    }
}

TEST(group_name_index, another_group_of_the_same_name_takes_over) {
    snapshot s;
    const auto group = [](std::string id, std::string name) {
        resource g;
        g.id = std::move(id);
        g.doc()["name"] = std::move(name);
        return std::make_shared<const resource>(std::move(g));
    };
    const auto a = group("a", "same");
    const auto b = group("b", "same");
    auto& groups = s.resources[static_cast<std::size_t>(kind::model_group)];
    groups = groups.with("a", a);
    index_group_name(s, nullptr, a.get());
    groups = groups.with("b", b);
    index_group_name(s, nullptr, b.get());
    ASSERT_NE(s.find_group_by_name("same", ""), nullptr);
    const std::string indexed = s.find_group_by_name("same", "")->id;
    const auto gone = indexed == "a" ? a : b;
    groups = groups.without(gone->id);
    index_group_name(s, gone.get(), nullptr);
    ASSERT_NE(s.find_group_by_name("same", ""), nullptr);
    EXPECT_NE(s.find_group_by_name("same", "")->id, indexed);
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
