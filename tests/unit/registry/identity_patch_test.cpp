// File: identity_patch_test.cpp
// PATCH planning and validation on an in-memory identity state: the write guards in the plugin's order,
// the view a patch sees, collection patches that create, change and remove, and the PUT rules after.
#include "registry/identity_patch.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "registry/identity_registry.hpp"
#include "registry/json_patch.hpp"
#include "tests/support/server_process.hpp"

namespace modelrelay::registry {
namespace {

namespace json = boost::json;

const std::string stored_hash = hash_password("correct-horse-battery-42");

identity_state sample_state() {
    identity_state s;
    s.generation = 7;
    internal_user admin;
    admin.name = "admin";
    admin.hash = stored_hash;
    admin.backend_roles = {"admin"};
    admin.reserved = true;
    s.users["admin"] = admin;
    internal_user alice;
    alice.name = "alice";
    alice.hash = stored_hash;
    alice.backend_roles = {"analyst"};
    alice.attributes = {{"tenant", "acme"}};
    s.users["alice"] = alice;
    internal_user ghost;
    ghost.name = "ghost";
    ghost.hash = stored_hash;
    ghost.hidden = true;
    s.users["ghost"] = ghost;
    role_definition custom;
    custom.name = "ml_tenant_acme";
    custom.cluster_permissions = {"cluster:admin/opensearch/ml/predict"};
    s.roles["ml_tenant_acme"] = custom;
    role_mapping all;
    all.name = "all_access";
    all.backend_roles = {"admin"};
    all.reserved = true;
    s.mappings["all_access"] = all;
    return s;
}

json::array ops(std::string_view text) {
    auto r = parse_security_patch(text);
    EXPECT_TRUE(r) << text;
    return r ? *r : json::array();
}

std::pair<int, std::string> status_and_message(const error& e) {
    const auto body = json::parse(e.reason).as_object();
    const std::string text(
        body.contains("message") ? body.at("message").as_string() : body.at("reason").as_string()
    );
    return {e.status, text};
}

TEST(identity_patch, guards_come_in_the_plugins_order) {
    const auto s = sample_state();
    const auto op = ops(R"([{"op":"add","path":"/description","value":"x"}])");
    auto hidden = plan_identity_patch(s, identity_kind::user, "ghost", op, false);
    ASSERT_FALSE(hidden);
    EXPECT_EQ(
        status_and_message(hidden.error()),
        std::make_pair(404, std::string("Resource 'ghost' is not available."))
    );
    auto reserved = plan_identity_patch(s, identity_kind::user, "admin", op, false);
    ASSERT_FALSE(reserved);
    EXPECT_EQ(
        status_and_message(reserved.error()),
        std::make_pair(403, std::string("Resource 'admin' is reserved."))
    );
    EXPECT_TRUE(plan_identity_patch(s, identity_kind::user, "admin", op, true));  // the super-admin may
    auto missing = plan_identity_patch(s, identity_kind::user, "bob", op, false);
    ASSERT_FALSE(missing);
    EXPECT_EQ(status_and_message(missing.error()), std::make_pair(404, std::string("user 'bob' not found.")));
    auto builtin = plan_identity_patch(s, identity_kind::role, "all_access", op, true);
    ASSERT_FALSE(builtin);
    EXPECT_EQ(
        status_and_message(builtin.error()),
        std::make_pair(403, std::string("Resource 'all_access' is static."))
    );
    auto no_mapping = plan_identity_patch(s, identity_kind::mapping, "ml_tenant_acme", op, false);
    ASSERT_FALSE(no_mapping);
    EXPECT_EQ(
        status_and_message(no_mapping.error()),
        std::make_pair(404, std::string("rolesmapping 'ml_tenant_acme' not found."))
    );
}

TEST(identity_patch, the_view_has_every_field_so_empty_lists_can_be_patched) {
    const auto s = sample_state();
    EXPECT_EQ(
        user_patch_view(s.users.at("alice")),
        json::parse(
            R"({"hash":")" + stored_hash +
            R"(","backend_roles":["analyst"],"attributes":{"tenant":"acme"},"description":"","opendistro_security_roles":[]})"
        )
    );
    auto plan = plan_identity_patch(
        s,
        identity_kind::user,
        "alice",
        ops(R"([{"op":"add","path":"/opendistro_security_roles/-","value":"ml_full_access"},
                {"op":"replace","path":"/backend_roles","value":["ops"]}])"),
        false
    );
    ASSERT_TRUE(plan);
    EXPECT_EQ(plan->generation, 7u);
    auto changes = validate_identity_patch(s, std::move(*plan), false, password_policy{});
    ASSERT_TRUE(changes);
    ASSERT_EQ(changes->users.size(), 1u);
    const auto& u = changes->users[0];
    EXPECT_EQ(u.security_roles, std::vector<std::string>{"ml_full_access"});
    EXPECT_EQ(u.backend_roles, std::vector<std::string>{"ops"});
    EXPECT_EQ(u.attributes.at("tenant"), "acme");
    EXPECT_EQ(u.hash, stored_hash);  // untouched
}

TEST(identity_patch, a_patched_password_is_checked_and_hashed_and_reserved_is_the_super_admins) {
    const auto s = sample_state();
    auto weak = plan_identity_patch(
        s, identity_kind::user, "alice", ops(R"([{"op":"add","path":"/password","value":"short"}])"), false
    );
    ASSERT_TRUE(weak);
    auto refused = validate_identity_patch(s, std::move(*weak), false, password_policy{});
    ASSERT_FALSE(refused);
    EXPECT_EQ(status_and_message(refused.error()).second, "Password is too short");

    auto strong = plan_identity_patch(
        s,
        identity_kind::user,
        "alice",
        ops(R"([{"op":"add","path":"/password","value":"another-Strong-pass-77"}])"),
        false
    );
    ASSERT_TRUE(strong);
    auto changed = validate_identity_patch(s, std::move(*strong), false, password_policy{});
    ASSERT_TRUE(changed);
    EXPECT_TRUE(verify_password("another-Strong-pass-77", changed->users.at(0).hash));
    EXPECT_FALSE(verify_password("correct-horse-battery-42", changed->users.at(0).hash));

    // Only the super-admin may carry reserved / hidden; for anyone else they are unknown keys.
    const auto flag = ops(R"([{"op":"add","path":"/reserved","value":true}])");
    auto plain = plan_identity_patch(s, identity_kind::user, "alice", flag, false);
    ASSERT_TRUE(plain);
    auto not_allowed = validate_identity_patch(s, std::move(*plain), false, password_policy{});
    ASSERT_FALSE(not_allowed);
    EXPECT_EQ(
        json::parse(not_allowed.error().reason),
        json::parse(
            R"({"status":"error","reason":"Invalid configuration","invalid_keys":{"keys":"reserved"}})"
        )
    );
    auto by_admin = plan_identity_patch(s, identity_kind::user, "alice", flag, true);
    ASSERT_TRUE(by_admin);
    auto made_reserved = validate_identity_patch(s, std::move(*by_admin), true, password_policy{});
    ASSERT_TRUE(made_reserved);
    EXPECT_TRUE(made_reserved->users.at(0).reserved);
}

TEST(identity_patch, a_collection_patch_creates_changes_and_removes_with_the_guards_per_entity) {
    const auto s = sample_state();
    auto plan = plan_identity_patch(
        s,
        identity_kind::user,
        "",
        ops(R"([{"op":"add","path":"/spock","value":{"password":"testpassword1-Strong!x","backend_roles":["r1"]}},
                {"op":"remove","path":"/alice"},
                {"op":"add","path":"/admin/description","value":"x"}])"),
        true
    );
    ASSERT_TRUE(plan);
    EXPECT_EQ(plan->removed, std::vector<std::string>{"alice"});
    ASSERT_EQ(plan->changed.size(), 2u);
    auto changes = validate_identity_patch(s, std::move(*plan), true, password_policy{});
    ASSERT_TRUE(changes);
    ASSERT_EQ(changes->users.size(), 2u);
    EXPECT_EQ(changes->users[0].name, "spock");
    EXPECT_EQ(changes->users[1].name, "admin");
    EXPECT_TRUE(changes->users[1].reserved);  // kept: the patched form still says so

    // Not the super-admin: touching the reserved admin refuses the whole patch.
    auto refused = plan_identity_patch(
        s,
        identity_kind::user,
        "",
        ops(R"([{"op":"remove","path":"/alice"},{"op":"remove","path":"/admin"}])"),
        false
    );
    ASSERT_FALSE(refused);
    EXPECT_EQ(
        status_and_message(refused.error()), std::make_pair(403, std::string("Resource 'admin' is reserved."))
    );
    // A root replace touches every entity, so it cannot slip past the guards either.
    auto root = plan_identity_patch(
        s, identity_kind::user, "", ops(R"([{"op":"replace","path":"","value":{}}])"), false
    );
    ASSERT_FALSE(root);
    // Hidden users are in the collection and guarded.
    auto ghost =
        plan_identity_patch(s, identity_kind::user, "", ops(R"([{"op":"remove","path":"/ghost"}])"), true);
    ASSERT_FALSE(ghost);
    EXPECT_EQ(status_and_message(ghost.error()).first, 404);
    // A new entity needs a valid name, and a mapping needs its role.
    auto bad_name = plan_identity_patch(
        s, identity_kind::user, "", ops(R"([{"op":"add","path":"/-bad","value":{"password":"x"}}])"), false
    );
    ASSERT_TRUE(bad_name);
    auto bad_name_changes = validate_identity_patch(s, std::move(*bad_name), false, password_policy{});
    ASSERT_FALSE(bad_name_changes);
    EXPECT_TRUE(status_and_message(bad_name_changes.error()).second.starts_with("Invalid name '-bad'"));
    auto no_role = plan_identity_patch(
        s,
        identity_kind::mapping,
        "",
        ops(R"([{"op":"add","path":"/nosuchrole","value":{"users":["alice"]}}])"),
        false
    );
    ASSERT_TRUE(no_role);
    auto no_role_changes = validate_identity_patch(s, std::move(*no_role), false, password_policy{});
    ASSERT_FALSE(no_role_changes);
    EXPECT_EQ(
        status_and_message(no_role_changes.error()),
        std::make_pair(404, std::string("Role 'nosuchrole' is not available for role-mapping."))
    );
}

TEST(identity_patch, unchanged_entities_are_not_written_and_wrong_shapes_are_refused) {
    const auto s = sample_state();
    auto same = plan_identity_patch(
        s,
        identity_kind::role,
        "",
        ops(R"([{"op":"add","path":"/ml_tenant_acme/description","value":""}])"),
        false
    );
    ASSERT_TRUE(same);
    EXPECT_TRUE(same->changed.empty());
    EXPECT_TRUE(same->removed.empty());
    auto scalar = plan_identity_patch(
        s, identity_kind::role, "", ops(R"([{"op":"add","path":"/newrole","value":"text"}])"), false
    );
    ASSERT_FALSE(scalar);
    EXPECT_EQ(
        json::parse(scalar.error().reason),
        json::parse(R"({"status":"error","reason":"Wrong datatype","body":"object expected"})")
    );
    auto typed = plan_identity_patch(
        s,
        identity_kind::role,
        "ml_tenant_acme",
        ops(R"([{"op":"replace","path":"/cluster_permissions","value":"x"}])"),
        false
    );
    ASSERT_TRUE(typed);
    auto typed_changes = validate_identity_patch(s, std::move(*typed), false, password_policy{});
    ASSERT_FALSE(typed_changes);
    EXPECT_EQ(
        json::parse(typed_changes.error().reason),
        json::parse(R"({"status":"error","reason":"Wrong datatype","cluster_permissions":"array expected"})")
    );
}

TEST(identity_patch, apply_changes_is_one_transaction_and_refuses_a_stale_plan) {
    test::temp_dir dir;
    const auto file = dir.path() / "security.db";
    {
        auto reg = identity_registry::open(file, durability::normal, {});
        ASSERT_TRUE(reg);
        ASSERT_TRUE((*reg)->bootstrap_admin("Adm1n-Pass-Strong!"));
        internal_user alice;
        alice.name = "alice";
        alice.hash = stored_hash;
        ASSERT_TRUE((*reg)->put_user(alice));

        auto plan = plan_identity_patch(
            *(*reg)->current(),
            identity_kind::user,
            "",
            ops(R"([{"op":"remove","path":"/alice"},
                    {"op":"add","path":"/bob","value":{"hash":")" +
                stored_hash + R"(","backend_roles":["b"]}}])"),
            false
        );
        ASSERT_TRUE(plan);
        const auto generation = plan->generation;
        auto changes =
            validate_identity_patch(*(*reg)->current(), std::move(*plan), false, password_policy{});
        ASSERT_TRUE(changes);

        // Something else is written after planning: the commit refuses and changes nothing.
        internal_user carol;
        carol.name = "carol";
        carol.hash = stored_hash;
        ASSERT_TRUE((*reg)->put_user(carol));
        auto stale = (*reg)->apply_changes(*changes, generation);
        ASSERT_FALSE(stale);
        EXPECT_EQ(stale.error().code, errc::conflict);
        EXPECT_NE((*reg)->current()->find_user("alice"), nullptr);
        EXPECT_EQ((*reg)->current()->find_user("bob"), nullptr);

        ASSERT_TRUE((*reg)->apply_changes(*changes, (*reg)->current()->generation));
    }
    // Reopened: the removal and the creation both landed.
    auto reg = identity_registry::open(file, durability::normal, {});
    ASSERT_TRUE(reg);
    const auto s = (*reg)->current();
    EXPECT_EQ(s->find_user("alice"), nullptr);
    ASSERT_NE(s->find_user("bob"), nullptr);
    EXPECT_EQ(s->find_user("bob")->backend_roles, std::vector<std::string>{"b"});
    EXPECT_NE(s->find_user("carol"), nullptr);
}

}  // namespace
}  // namespace modelrelay::registry
