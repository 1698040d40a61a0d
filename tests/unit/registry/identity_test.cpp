// File: identity_test.cpp
// Identity model without sockets: bcrypt, password rules, the Security plugin's validation texts, role
// mapping, API key requests and the persisted identity registry.
#include "registry/identity.hpp"

#include <fstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "registry/identity_registry.hpp"
#include "tests/support/server_process.hpp"

namespace modelrelay::registry {
namespace {

namespace json = boost::json;

json::object body_of(const error& e) {
    EXPECT_EQ(e.code, errc::raw_body);
    return json::parse(e.reason).as_object();
}

TEST(identity, demo_bcrypt_hash_verifies_for_admin_only) {
    const std::string demo = "$2a$12$VcCDgh2NDk07JGN0rjGbM.Ad41qVR/YFJcgHp0UGns5JDymv..TOG";
    EXPECT_TRUE(verify_password("admin", demo));
    EXPECT_FALSE(verify_password("Admin", demo));
    EXPECT_FALSE(verify_password("", demo));
    EXPECT_FALSE(verify_password("admin", ""));
}

TEST(identity, hash_password_is_bcrypt_2y_12_and_salted) {
    const auto a = hash_password("correct-horse-battery-42");
    const auto b = hash_password("correct-horse-battery-42");
    EXPECT_TRUE(a.starts_with("$2y$12$"));
    EXPECT_NE(a, b);
    EXPECT_TRUE(verify_password("correct-horse-battery-42", a));
    EXPECT_FALSE(verify_password("correct-horse-battery-43", a));
}

TEST(identity, password_rules_have_the_security_plugin_texts) {
    const password_policy p;
    EXPECT_EQ(check_password("alice", "short", p), "Password is too short");
    EXPECT_EQ(check_password("alice", std::string(101, 'x'), p), "Password is too long");
    EXPECT_EQ(check_password("alice", "password", p), "Weak password");
    EXPECT_EQ(check_password("bartholomew", "bartholomew1", p), "Password is similar to user name");
    EXPECT_EQ(check_password("alice", "correct-horse-battery-42", p), std::nullopt);
}

TEST(identity, account_password_change_rules) {
    const password_policy p;
    const std::string demo = "$2a$12$VcCDgh2NDk07JGN0rjGbM.Ad41qVR/YFJcgHp0UGns5JDymv..TOG";  // "admin"
    auto change = [&](std::string_view body) {
        return account_change_from_body("alice", json::parse(body), p);
    };

    // The shape first; a bad hash is an invalid key, as on internalusers.
    EXPECT_EQ(body_of(change(R"([])").error()).at("reason"), "Wrong datatype");
    EXPECT_EQ(body_of(change(R"({"current_password":1})").error()).at("current_password"), "string expected");
    EXPECT_EQ(
        body_of(change(R"({"current_password":"a","hash":"plain"})").error()).at("invalid_keys").at("keys"),
        "hash"
    );
    EXPECT_EQ(
        body_of(change(R"({"current_password":"a","password":"alice1"})").error()).at("reason"),
        "Password is too short"
    );

    // The password wins over a hash; an empty password falls through to the hash.
    auto both =
        change(R"({"current_password":"admin","password":"violet-staple-orbit-77","hash":"$2y$12$x"})");
    ASSERT_TRUE(both);
    auto hashed = account_new_hash(*both, demo);
    ASSERT_TRUE(hashed);
    EXPECT_TRUE(verify_password("violet-staple-orbit-77", *hashed));
    auto by_hash = change(R"({"current_password":"admin","password":"","hash":"$2y$12$given"})");
    ASSERT_TRUE(by_hash);
    EXPECT_EQ(account_new_hash(*by_hash, demo).value(), "$2y$12$given");

    // Then the current password, and nothing to set.
    auto wrong = account_new_hash(
        *change(R"({"current_password":"Admin","password":"violet-staple-orbit-77"})"), demo
    );
    ASSERT_FALSE(wrong);
    EXPECT_EQ(
        body_of(wrong.error()),
        json::parse(R"({"status":"BAD_REQUEST","message":"Could not validate your current password."})")
    );
    auto none = account_new_hash(*change(R"({"current_password":"admin"})"), demo);
    ASSERT_FALSE(none);
    EXPECT_EQ(body_of(none.error()).at("message"), "Both provided password and hash cannot be null/empty.");
    // A user without a stored hash can never pass the check.
    EXPECT_FALSE(
        account_new_hash(*change(R"({"current_password":"","password":"violet-staple-orbit-77"})"), "")
    );
}

TEST(identity, user_body_validation_texts) {
    const password_policy p;
    auto unknown = user_from_body(
        "alice", json::parse(R"({"password":"correct-horse-battery-42","x":1,"y":2})"), nullptr, p
    );
    ASSERT_FALSE(unknown);
    auto b = body_of(unknown.error());
    EXPECT_EQ(b["status"], "error");
    EXPECT_EQ(b["reason"], "Invalid configuration");
    EXPECT_EQ(b["invalid_keys"].at("keys"), "x,y");

    auto wrong = user_from_body(
        "alice", json::parse(R"({"password":"correct-horse-battery-42","backend_roles":"a"})"), nullptr, p
    );
    ASSERT_FALSE(wrong);
    b = body_of(wrong.error());
    EXPECT_EQ(b["reason"], "Wrong datatype");
    EXPECT_EQ(b["backend_roles"], "array expected");

    auto missing = user_from_body("alice", json::parse(R"({"backend_roles":["a"]})"), nullptr, p);
    ASSERT_FALSE(missing);
    b = body_of(missing.error());
    EXPECT_EQ(b["reason"], "Invalid configuration");
    EXPECT_TRUE(b.contains("missing_mandatory_keys"));

    auto long_desc = user_from_body(
        "alice",
        json::parse(
            R"({"password":"correct-horse-battery-42","description":")" + std::string(257, 'd') + "\"}"
        ),
        nullptr,
        p
    );
    ASSERT_FALSE(long_desc);
    EXPECT_EQ(
        body_of(long_desc.error())["reason"],
        "String value exceeds the maximum allowed length of 256 characters"
    );

    internal_user existing;
    existing.name = "alice";
    existing.hash = hash_password("correct-horse-battery-42");
    auto keep = user_from_body("alice", json::parse(R"({"backend_roles":["b"]})"), &existing, p);
    ASSERT_TRUE(keep);
    EXPECT_EQ(keep->hash, existing.hash);
    EXPECT_EQ(keep->backend_roles, std::vector<std::string>{"b"});

    internal_user no_hash;
    no_hash.name = "carol";
    auto none = user_from_body("carol", json::parse(R"({})"), &no_hash, p);
    ASSERT_FALSE(none);
    EXPECT_EQ(
        body_of(none.error())["message"],
        "Existing user carol has no password, and no new password or hash was specified."
    );
}

TEST(identity, names_follow_r11) {
    EXPECT_TRUE(valid_entity_name("alice"));
    EXPECT_TRUE(valid_entity_name("a.b:c@d-e_f"));
    EXPECT_FALSE(valid_entity_name(""));
    EXPECT_FALSE(valid_entity_name("-alice"));
    EXPECT_FALSE(valid_entity_name("al ice"));
    EXPECT_FALSE(valid_entity_name("a|b"));
    EXPECT_FALSE(valid_entity_name("a,b"));
    EXPECT_FALSE(valid_entity_name(std::string(129, 'a')));
    EXPECT_TRUE(valid_entity_name(std::string(128, 'a')));
}

TEST(identity, roles_come_from_user_roles_and_mappings) {
    identity_state s;
    internal_user u;
    u.name = "alice";
    u.backend_roles = {"analyst"};
    u.security_roles = {"own_index"};
    u.attributes["tenant"] = "acme";
    s.users["alice"] = u;
    role_mapping by_role;
    by_role.name = "ml_full_access";
    by_role.backend_roles = {"analyst"};
    s.mappings["ml_full_access"] = by_role;
    role_mapping by_user;
    by_user.name = "ml_read_access";
    by_user.users = {"bob"};
    s.mappings["ml_read_access"] = by_user;
    role_mapping both;
    both.name = "both";
    both.and_backend_roles = {"analyst", "ops"};
    s.mappings["both"] = both;
    const auto p = principal_for_user(s, u);
    EXPECT_EQ(p.roles, (std::vector<std::string>{"ml_full_access", "own_index"}));
    EXPECT_EQ(p.tenant, "acme");
    EXPECT_EQ(p.realm, "internal");
    EXPECT_EQ(user_to_string(p), "User [name=alice, backend_roles=[analyst], requestedTenant=null]");
    EXPECT_EQ(mapped_roles(s, "bob", {}), std::vector<std::string>{"ml_read_access"});
    EXPECT_EQ(mapped_roles(s, "x", {"ops", "analyst"}), (std::vector<std::string>{"both", "ml_full_access"}));
}

TEST(identity, api_key_requests) {
    auto ok = parse_api_key_request(json::parse(
        R"({"name":"k","expiration":"1d","metadata":{"app":"x"},"modelrelay":{"tenant":"acme","models":["m1"],"rpm":5,"tpm":100,"max_parallel":2,"token_budget":1000,"budget_period":"30d"}})"
    ));
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->expiration_ms, 86'400'000);
    EXPECT_TRUE(ok->has_limits);
    EXPECT_EQ(ok->limits.models, std::vector<std::string>{"m1"});
    EXPECT_EQ(ok->limits.budget_period_ms, 30LL * 86'400'000);
    EXPECT_FALSE(parse_api_key_request(json::parse(R"({"name":"k","bogus":1})")));
    EXPECT_FALSE(parse_api_key_request(json::parse(R"({"name":"k","modelrelay":{"bogus":1}})")));
    EXPECT_FALSE(parse_api_key_request(json::parse(R"({"name":"k","modelrelay":{"rpm":-1}})")));
    EXPECT_FALSE(parse_api_key_request(json::parse(R"({"name":"k","expiration":"soon"})")));
    auto noname = parse_api_key_request(json::parse(R"({"expiration":"1d"})"));
    ASSERT_FALSE(noname);
    EXPECT_EQ(noname.error().reason, "Validation Failed: 1: api key name is required;");
    EXPECT_EQ(parse_time_value("12h"), 12 * 3'600'000);
    EXPECT_EQ(parse_time_value("100ms"), 100);
    EXPECT_EQ(parse_time_value("1x"), std::nullopt);
}

TEST(identity_registry, persists_users_and_keys_and_hashes_secrets) {
    test::temp_dir dir;
    std::string secret;
    std::string id;
    {
        auto reg = identity_registry::open(dir.path() / "security.db", durability::normal, {});
        ASSERT_TRUE(reg);
        auto made = (*reg)->bootstrap_admin("Adm1n-Pass-Strong!");
        ASSERT_TRUE(made);
        EXPECT_TRUE(*made);
        EXPECT_FALSE(*(*reg)->bootstrap_admin("other"));
        const auto s = (*reg)->current();
        const auto* admin = s->find_user("admin");
        ASSERT_NE(admin, nullptr);
        EXPECT_TRUE(admin->reserved);
        EXPECT_EQ(principal_for_user(*s, *admin).roles, std::vector<std::string>{"all_access"});
        api_key_request req;
        req.name = "k";
        auto key = (*reg)->create_api_key(req, principal_for_user(*s, *admin));
        ASSERT_TRUE(key);
        secret = key->secret;
        id = key->key.id;
        EXPECT_EQ(key->key.secret_hash, (*reg)->key_hash(secret));
        EXPECT_NE(key->key.secret_hash, secret);
    }
    auto reg = identity_registry::open(dir.path() / "security.db", durability::normal, {});
    ASSERT_TRUE(reg);
    const auto s = (*reg)->current();
    ASSERT_NE(s->find_key(id), nullptr);
    EXPECT_EQ(s->find_key(id)->secret_hash, (*reg)->key_hash(secret));
    EXPECT_TRUE(verify_password("Adm1n-Pass-Strong!", s->find_user("admin")->hash));
    auto inv = (*reg)->invalidate_api_keys({id, "nope"});
    ASSERT_TRUE(inv);
    EXPECT_EQ(inv->invalidated, std::vector<std::string>{id});
    auto again = (*reg)->invalidate_api_keys({id});
    EXPECT_EQ(again->previously_invalidated, std::vector<std::string>{id});
    // The database never holds the secret in plain text.
    std::ifstream f(dir.path() / "security.db", std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(f)), {});
    EXPECT_EQ(bytes.find(secret), std::string::npos);
    EXPECT_EQ(bytes.find("Adm1n-Pass-Strong!"), std::string::npos);
}

}  // namespace
}  // namespace modelrelay::registry
