// File: access_test.cpp
// registry/access on a real service and SQLite file, with principals the tests build directly: owner
// snapshots and the store's owner column (R8), the realm half of the owner identity surviving a reload,
// document field order, and the _search candidate filter. The HTTP paths are covered by
// tests/integration/acl_test.cpp.
#include "registry/access.hpp"

#include <filesystem>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "registry/service.hpp"

namespace modelrelay::registry {
namespace {

namespace json = boost::json;

std::shared_ptr<const principal> user(std::string name, std::string realm, std::vector<std::string> roles) {
    principal p;
    p.name = std::move(name);
    p.realm = std::move(realm);
    p.backend_roles = std::move(roles);
    p.roles = {"ml_full_access"};
    return std::make_shared<const principal>(std::move(p));
}

constexpr std::string_view connector_body =
    R"({"name":"c","version":"1","protocol":"http","credential":{"k":"v"},
  "actions":[{"action_type":"predict","method":"POST","url":"https://example.com/v1/chat/completions"}]})";

class access_test : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("access-test-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        open();
        ASSERT_TRUE(svc_->put_settings(
            json::parse(R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"]}})"),
            false
        ));
    }
    void TearDown() override {
        svc_.reset();
        std::filesystem::remove_all(dir_);
    }
    void open() {
        svc_.reset();
        service_options opts;
        opts.data_dir = dir_;
        auto s = service::open(opts);
        ASSERT_TRUE(s) << s.error().reason;
        svc_ = std::move(*s);
    }
    void acl_on() {
        ASSERT_TRUE(svc_->put_settings(
            json::parse(
                R"({"persistent":{"plugins.ml_commons.connector_access_control_enabled":true,"plugins.ml_commons.model_access_control_enabled":true}})"
            ),
            false
        ));
    }
    std::string connector(const caller& who, std::string_view extra = "") {
        auto body = json::parse(connector_body).as_object();
        if (!extra.empty()) {
            const auto parsed = json::parse(extra);
            for (const auto& kv : parsed.as_object()) {
                body[kv.key()] = kv.value();
            }
        }
        auto c = svc_->create_connector(body, who);
        EXPECT_TRUE(c) << (c ? "" : c.error().reason);
        return c ? std::string(c->at("connector_id").as_string()) : "";
    }
    // The store's owner column, read with plain SQLite after the service closed the file.
    std::string owner_column(std::string_view kind_name, const std::string& id) {
        svc_.reset();
        sqlite3* db = nullptr;
        EXPECT_EQ(
            sqlite3_open_v2((dir_ / "modelrelay.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK
        );
        sqlite3_stmt* st = nullptr;
        sqlite3_prepare_v2(
            db, "SELECT owner, backend_roles FROM resources WHERE kind = ?1 AND id = ?2", -1, &st, nullptr
        );
        sqlite3_bind_text(st, 1, kind_name.data(), static_cast<int>(kind_name.size()), SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, id.c_str(), -1, SQLITE_TRANSIENT);
        std::string out = "missing";
        if (sqlite3_step(st) == SQLITE_ROW) {
            out = std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) + " " +
                  reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
        }
        sqlite3_finalize(st);
        sqlite3_close_v2(db);
        open();
        return out;
    }

    std::filesystem::path dir_;
    std::unique_ptr<service> svc_;
};

TEST_F(access_test, owner_snapshot_has_the_ml_commons_shape) {
    EXPECT_EQ(
        json::serialize(owner_snapshot(*user("alice", "internal", {"analyst"}))),
        R"({"name":"alice","backend_roles":["analyst"],"roles":["ml_full_access"],"custom_attribute_names":[],"user_requested_tenant":null,"user_requested_tenant_access":"WRITE"})"
    );
    EXPECT_EQ(owner_key(*user("CN=a:b,O=x", "cert", {})), "cert:CN=a:b,O=x");
}

// R8: the store keeps realm:name and the backend roles; the document keeps ml-commons' field order
// (HttpConnector.toXContent, spec §2.4).
TEST_F(access_test, owner_and_roles_fill_the_store_columns) {
    acl_on();
    const caller alice{"", user("alice", "internal", {"analyst"})};
    const auto id = connector(alice, R"({"access_mode":"restricted","backend_roles":["analyst"]})");
    std::vector<std::string> keys;
    for (const auto& kv : svc_->current()->find(kind::connector, id)->doc()) {
        keys.emplace_back(kv.key());
    }
    const std::vector<std::string> expected{
        "name",
        "version",
        "protocol",
        "credential",
        "actions",
        "backend_roles",
        "owner",
        "access",
        "created_time",
        "last_updated_time"};
    EXPECT_EQ(keys, expected);
    EXPECT_EQ(owner_column("connector", id), R"(internal:alice ["analyst"])");
    // Security off: no owner anywhere.
    const auto anon = connector(caller{});
    EXPECT_EQ(owner_column("connector", anon), " []");
    EXPECT_FALSE(svc_->current()->find(kind::connector, anon)->doc().contains("owner"));
}

// Owners match by realm too: a certificate named like an internal user is not that user, also after the
// registry is reopened from SQLite.
TEST_F(access_test, the_owner_realm_survives_a_reload) {
    acl_on();
    const caller internal_alice{"", user("alice", "internal", {"analyst"})};
    const caller cert_alice{"", user("alice", "cert", {"analyst"})};
    const auto id = connector(internal_alice, R"({"access_mode":"private"})");
    open();
    EXPECT_TRUE(svc_->get_connector(id, internal_alice));
    auto denied = svc_->get_connector(id, cert_alice);
    ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error().code, errc::forbidden);
    EXPECT_EQ(denied.error().reason, "You don't have permission to access this connector");
    const auto acl = connector_acl(*svc_->current()->find(kind::connector, id));
    ASSERT_TRUE(acl.owner);
    EXPECT_EQ(acl.owner->realm, "internal");
}

// Search candidates: tenancy first, then the ACL; a model follows its group.
TEST_F(access_test, search_candidates_apply_tenant_and_acl) {
    acl_on();
    const caller alice{"", user("alice", "internal", {"analyst"})};
    const caller bob{"", user("bob", "internal", {"analyst"})};
    const caller carol{"", user("carol", "internal", {"finance"})};
    connector(alice, R"({"access_mode":"private"})");
    const auto shared = connector(alice, R"({"access_mode":"restricted","backend_roles":["analyst"]})");
    const auto everyone = connector(alice, R"({"access_mode":"public"})");
    auto ids = [&](const caller& who) {
        const auto snap = svc_->current();
        std::vector<std::string> out;
        for (const auto& d :
             search_candidates(*snap, kind::connector, who, svc_->access_options(*snap, who))) {
            out.emplace_back(d.id);
        }
        return out;
    };
    EXPECT_EQ(ids(alice).size(), 3U);
    EXPECT_EQ(ids(bob), (std::vector<std::string>{shared, everyone}));
    EXPECT_EQ(ids(carol), (std::vector<std::string>{everyone}));
    EXPECT_EQ(ids(caller{}).size(), 3U);
    EXPECT_TRUE(ids(caller{"other-tenant", alice.user}).empty());
}

// R9 on the service: the sharer of a restricted connector may use it but not delete it; nothing changes.
TEST_F(access_test, strict_writes_keep_deletes_for_the_owner) {
    acl_on();
    const caller alice{"", user("alice", "internal", {"analyst"})};
    const caller bob{"", user("bob", "internal", {"analyst"})};
    const auto id = connector(alice, R"({"access_mode":"restricted","backend_roles":["analyst"]})");
    const auto before = json::serialize(svc_->current()->find(kind::connector, id)->doc());
    auto del = svc_->delete_connector(id, bob);
    ASSERT_FALSE(del);
    EXPECT_EQ(del.error().code, errc::forbidden);
    EXPECT_EQ(del.error().reason, "You are not allowed to delete this connector");
    EXPECT_EQ(json::serialize(svc_->current()->find(kind::connector, id)->doc()), before);
    auto reg = svc_->register_model(
        json::parse(R"({"name":"bobs","function_name":"remote","connector_id":")" + id + "\"}").as_object(),
        false,
        bob
    );
    ASSERT_TRUE(reg) << reg.error().reason;
    EXPECT_TRUE(svc_->delete_connector(id, alice).error().reason.starts_with("1 models are still using"));
}

}  // namespace
}  // namespace modelrelay::registry
