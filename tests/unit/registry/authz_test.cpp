// File: authz_test.cpp
// The authorization core as tables: the R7 access matrix for connectors and model groups under every
// combination of the ACL, strict-write and tenancy switches, each denial text, the action and role tables,
// tenant resolution and the ACL-field validation texts. Expected texts are written out literally (copied
// from the specs), never taken from the implementation.
#include "registry/authz.hpp"

#include <set>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace modelrelay::test {
namespace {

using namespace modelrelay::registry;

// --- fixtures ------------------------------------------------------------------------------------------

enum class who { owner, sharer, stranger, admin, super_admin };
constexpr who everyone[] = {who::owner, who::sharer, who::stranger, who::admin, who::super_admin};

principal make(who w, std::string tenant = "acme") {
    principal p;
    p.realm = "internal";
    p.tenant = std::move(tenant);
    switch (w) {
        case who::owner:
            p.name = "alice";
            p.backend_roles = {"team_a"};
            p.roles = {"ml_full_access"};
            break;
        case who::sharer:
            p.name = "bob";
            p.backend_roles = {"team_b", "team_a"};
            p.roles = {"ml_full_access"};
            break;
        case who::stranger:
            p.name = "carol";
            p.backend_roles = {"team_x"};
            p.roles = {"ml_full_access"};
            break;
        case who::admin:
            p.name = "dave";
            p.roles = {"all_access"};
            break;
        case who::super_admin:
            p.name = "CN=kirk,OU=client,O=client,L=test,C=de";
            p.realm = "cert";
            p.super_admin = true;
            break;
    }
    return p;
}

resource_acl make_acl(acl_kind kind, std::string id, access_mode mode, std::string tenant = "acme") {
    resource_acl r;
    r.kind = kind;
    r.id = std::move(id);
    r.tenant_id = std::move(tenant);
    r.owner = owner_ref{"alice", "internal"};
    r.access = mode;
    if (mode == access_mode::restricted) {
        r.backend_roles = {"team_a"};
    }
    return r;
}

// What a check should produce. `allowed` false with an empty reason means "hidden from search".
struct outcome {
    bool allowed = true;
    errc code = errc::internal;
    std::string reason;
};
const outcome ok{};
const outcome hidden{false, errc::internal, ""};

outcome deny(errc c, std::string r) {
    return {false, c, std::move(r)};
}

std::string describe(const outcome& o) {
    if (o.allowed) {
        return "allow";
    }
    return o.reason.empty() ? "hidden"
                            : "deny(" + std::to_string(static_cast<int>(o.code)) + ", " + o.reason + ")";
}

outcome from(const decision& d) {
    if (d) {
        return ok;
    }
    return deny(d.error().code, d.error().reason);
}

bool same(const outcome& a, const outcome& b) {
    return a.allowed == b.allowed && (a.allowed || (a.code == b.code && a.reason == b.reason));
}

// The R7 operations. For connectors `use` is register-with-connector; for model groups it is registering
// a model into the group, and `predict` runs a model of the group. Connectors have no predict of their own
// (ml-commons checks only the model's group on predict).
enum class op { get, search, update, remove, predict, use };

const char* op_name(op o) {
    switch (o) {
        case op::get:
            return "get";
        case op::search:
            return "search";
        case op::update:
            return "update";
        case op::remove:
            return "delete";
        case op::predict:
            return "predict";
        case op::use:
            return "use";
    }
    return "?";
}

outcome run(op o, acl_kind kind, const principal& p, const resource_acl& r, const decide_options& opts) {
    const bool conn = kind == acl_kind::connector;
    switch (o) {
        case op::get:
            return from(decide(&p, conn ? action::connector_get : action::model_group_get, &r, opts));
        case op::search: {
            auto d = decide(&p, conn ? action::connector_search : action::model_group_search, nullptr, opts);
            if (!d) {
                return from(d);
            }
            return search_visible(&p, r, opts) ? ok : hidden;
        }
        case op::update:
            return from(decide(&p, conn ? action::connector_update : action::model_group_update, &r, opts));
        case op::remove:
            return from(decide(&p, conn ? action::connector_delete : action::model_group_delete, &r, opts));
        case op::predict: {
            resource_acl m = r;  // a model inherits its group's ACL
            m.kind = acl_kind::model;
            m.id = "m1";
            return from(decide(&p, action::model_predict, &m, opts));
        }
        case op::use:
            return from(decide(&p, action::model_register, &r, opts));
    }
    return ok;
}

// --- the R7 matrix ---------------------------------------------------------------------------------------

const std::string c_id = "c1";
const outcome c_get = deny(errc::forbidden, "You don't have permission to access this connector");
const outcome c_upd =
    deny(errc::illegal_argument, "You don't have permission to update the connector, connector id: c1");
const outcome c_upd403 =
    deny(errc::forbidden, "You don't have permission to update the connector, connector id: c1");
const outcome c_del = deny(errc::ml_validation, "You are not allowed to delete this connector");
const outcome c_del403 = deny(errc::forbidden, "You are not allowed to delete this connector");
const outcome c_use =
    deny(errc::illegal_argument, "You don't have permission to use the connector provided, connector id: c1");

const outcome g_get =
    deny(errc::forbidden, "User doesn't have privilege to perform this operation on this model group");
const outcome g_upd = deny(errc::illegal_argument, "You don't have permission to update this model group.");
const outcome g_upd403 = deny(errc::forbidden, "You don't have permission to update this model group.");
const outcome g_del = deny(errc::ml_validation, "User doesn't have privilege to delete this model group");
const outcome g_del403 = deny(errc::forbidden, "User doesn't have privilege to delete this model group");
const outcome g_reg =
    deny(errc::illegal_argument, "You don't have permissions to perform this operation on this model.");
const outcome m_denied =
    deny(errc::forbidden, "User doesn't have privilege to perform this operation on this model");
const outcome no_tenant = deny(errc::forbidden, "You don't have permission to access this resource");

// One row: an access mode and an operation, with the outcome per principal (owner, sharer, stranger,
// admin, super-admin) under strict writes (R9) and under ml-commons' own rules (strict off).
struct row {
    access_mode mode;
    op operation;
    std::vector<outcome> strict;
    std::vector<outcome> lenient;
};

const access_mode pub = access_mode::public_;
const access_mode priv = access_mode::private_;
const access_mode restr = access_mode::restricted;

const std::vector<row> connector_matrix = {
    {pub, op::get, {ok, ok, ok, ok, ok}, {ok, ok, ok, ok, ok}},
    {pub, op::search, {ok, ok, ok, ok, ok}, {ok, ok, ok, ok, ok}},
    {pub, op::update, {ok, c_upd403, c_upd403, ok, ok}, {ok, ok, ok, ok, ok}},
    {pub, op::remove, {ok, c_del403, c_del403, ok, ok}, {ok, ok, ok, ok, ok}},
    {pub, op::use, {ok, ok, ok, ok, ok}, {ok, ok, ok, ok, ok}},

    {priv, op::get, {ok, c_get, c_get, ok, ok}, {ok, c_get, c_get, ok, ok}},
    {priv, op::search, {ok, hidden, hidden, ok, ok}, {ok, hidden, hidden, ok, ok}},
    {priv, op::update, {ok, c_upd, c_upd, ok, ok}, {ok, c_upd, c_upd, ok, ok}},
    {priv, op::remove, {ok, c_del, c_del, ok, ok}, {ok, c_del, c_del, ok, ok}},
    {priv, op::use, {ok, c_use, c_use, ok, ok}, {ok, c_use, c_use, ok, ok}},

    {restr, op::get, {ok, ok, c_get, ok, ok}, {ok, ok, c_get, ok, ok}},
    {restr, op::search, {ok, ok, hidden, ok, ok}, {ok, ok, hidden, ok, ok}},
    {restr, op::update, {ok, c_upd403, c_upd, ok, ok}, {ok, ok, c_upd, ok, ok}},
    {restr, op::remove, {ok, c_del403, c_del, ok, ok}, {ok, ok, c_del, ok, ok}},
    {restr, op::use, {ok, ok, c_use, ok, ok}, {ok, ok, c_use, ok, ok}},
};

const std::vector<row> model_group_matrix = {
    {pub, op::get, {ok, ok, ok, ok, ok}, {ok, ok, ok, ok, ok}},
    {pub, op::search, {ok, ok, ok, ok, ok}, {ok, ok, ok, ok, ok}},
    {pub, op::update, {ok, g_upd403, g_upd403, ok, ok}, {ok, ok, ok, ok, ok}},
    {pub, op::remove, {ok, g_del403, g_del403, ok, ok}, {ok, ok, ok, ok, ok}},
    {pub, op::predict, {ok, ok, ok, ok, ok}, {ok, ok, ok, ok, ok}},
    {pub, op::use, {ok, ok, ok, ok, ok}, {ok, ok, ok, ok, ok}},

    {priv, op::get, {ok, g_get, g_get, ok, ok}, {ok, g_get, g_get, ok, ok}},
    {priv, op::search, {ok, hidden, hidden, ok, ok}, {ok, hidden, hidden, ok, ok}},
    {priv, op::update, {ok, g_upd, g_upd, ok, ok}, {ok, g_upd, g_upd, ok, ok}},
    {priv, op::remove, {ok, g_del, g_del, ok, ok}, {ok, g_del, g_del, ok, ok}},
    {priv, op::predict, {ok, m_denied, m_denied, ok, ok}, {ok, m_denied, m_denied, ok, ok}},
    {priv, op::use, {ok, g_reg, g_reg, ok, ok}, {ok, g_reg, g_reg, ok, ok}},

    {restr, op::get, {ok, ok, g_get, ok, ok}, {ok, ok, g_get, ok, ok}},
    {restr, op::search, {ok, ok, hidden, ok, ok}, {ok, ok, hidden, ok, ok}},
    {restr, op::update, {ok, g_upd403, g_upd, ok, ok}, {ok, ok, g_upd, ok, ok}},
    {restr, op::remove, {ok, g_del403, g_del, ok, ok}, {ok, ok, g_del, ok, ok}},
    {restr, op::predict, {ok, ok, m_denied, ok, ok}, {ok, ok, m_denied, ok, ok}},
    {restr, op::use, {ok, ok, g_reg, ok, ok}, {ok, ok, g_reg, ok, ok}},
};

struct mode_switches {
    bool acl;
    bool strict;
    bool tenancy;
};

std::string mode_text(const mode_switches& m) {
    return std::string("acl=") + (m.acl ? "on" : "off") + " strict=" + (m.strict ? "on" : "off") +
           " tenancy=" + (m.tenancy ? "on" : "off");
}

void run_matrix(acl_kind kind, const std::vector<row>& matrix) {
    int checked = 0;
    for (bool acl : {true, false}) {
        for (bool strict : {true, false}) {
            for (bool tenancy : {true, false}) {
                const mode_switches m{acl, strict, tenancy};
                decide_options opts;
                opts.connector_acl = kind == acl_kind::connector && acl;
                // The other switch on as well: it must not affect this kind.
                opts.model_acl = kind == acl_kind::model_group ? acl : true;
                if (kind == acl_kind::model_group) {
                    opts.connector_acl = true;
                }
                opts.strict_writes = strict;
                opts.multi_tenancy = tenancy;
                opts.tenant = tenancy ? "acme" : "";
                for (const auto& r : matrix) {
                    const std::string id = kind == acl_kind::connector ? c_id : "g1";
                    const resource_acl res = make_acl(kind, id, r.mode, tenancy ? "acme" : "");
                    for (std::size_t i = 0; i < std::size(everyone); ++i) {
                        const principal p = make(everyone[i], tenancy ? "acme" : "");
                        const outcome want = !acl ? ok : (strict ? r.strict[i] : r.lenient[i]);
                        const outcome got = run(r.operation, kind, p, res, opts);
                        EXPECT_TRUE(same(got, want))
                            << mode_text(m) << " access=" << to_string(r.mode)
                            << " op=" << op_name(r.operation) << " who=" << p.name << "\n  want "
                            << describe(want) << "\n  got  " << describe(got);
                        ++checked;
                    }
                }
            }
        }
    }
    EXPECT_EQ(checked, 8 * static_cast<int>(matrix.size()) * 5);
}

TEST(AuthzMatrix, Connectors) {
    run_matrix(acl_kind::connector, connector_matrix);
}

TEST(AuthzMatrix, ModelGroups) {
    run_matrix(acl_kind::model_group, model_group_matrix);
}

// Every R7 operation of another tenant's resource answers the tenancy 403 (R13), whatever the ACL says;
// search hides it, for admins and with security off too.
TEST(AuthzMatrix, CrossTenantResourcesAreRefusedToEveryone) {
    for (acl_kind kind : {acl_kind::connector, acl_kind::model_group}) {
        for (bool acl : {true, false}) {
            decide_options opts;
            opts.connector_acl = opts.model_acl = acl;
            opts.multi_tenancy = true;
            opts.tenant = "acme";
            for (access_mode mode : {pub, priv, restr}) {
                const resource_acl res = make_acl(kind, "x1", mode, "globex");
                for (who w : everyone) {
                    const principal p = make(w, "acme");
                    for (op o : {op::get, op::update, op::remove, op::predict, op::use}) {
                        if (kind == acl_kind::connector && o == op::predict) {
                            continue;
                        }
                        EXPECT_TRUE(same(run(o, kind, p, res, opts), no_tenant))
                            << p.name << " " << op_name(o) << " " << to_string(mode);
                    }
                    EXPECT_FALSE(search_visible(&p, res, opts)) << p.name;
                }
                EXPECT_FALSE(search_visible(nullptr, res, opts));
            }
        }
    }
}

TEST(AuthzMatrix, SecurityOffAllowsEverything) {
    decide_options opts;
    opts.connector_acl = opts.model_acl = true;
    for (access_mode mode : {pub, priv, restr, access_mode::unset}) {
        resource_acl res = make_acl(acl_kind::connector, "c1", mode);
        res.owner.reset();
        for (action a : {action::connector_get, action::connector_update, action::connector_delete}) {
            EXPECT_TRUE(decide(nullptr, a, &res, opts));
        }
        EXPECT_TRUE(search_visible(nullptr, res, opts));
    }
    EXPECT_TRUE(decide(nullptr, action::settings_update, nullptr, opts));
}

// --- R8 and the group-update rules -----------------------------------------------------------------------

TEST(AuthzOwnership, OwnerLessResourcesAreAdminOnly) {
    // ml-commons lets anyone in (previouslyPublicConnector); modelrelay does not (R8).
    decide_options opts;
    opts.connector_acl = opts.model_acl = true;
    for (access_mode mode : {pub, priv, restr, access_mode::unset}) {
        resource_acl c = make_acl(acl_kind::connector, "c1", mode);
        c.owner.reset();
        for (who w : {who::owner, who::sharer, who::stranger}) {
            const principal p = make(w);
            EXPECT_TRUE(same(from(decide(&p, action::connector_get, &c, opts)), c_get)) << p.name;
            EXPECT_FALSE(search_visible(&p, c, opts)) << p.name;
        }
        for (who w : {who::admin, who::super_admin}) {
            const principal p = make(w);
            EXPECT_TRUE(decide(&p, action::connector_delete, &c, opts)) << p.name;
            EXPECT_TRUE(search_visible(&p, c, opts));
        }
    }
    // A model without a group is owner-less too.
    const auto model_doc = boost::json::parse(R"({"name":"m","is_hidden":false})").as_object();
    const resource_acl m = model_acl_from_docs("m9", "", model_doc, nullptr);
    const principal alice = make(who::owner);
    EXPECT_TRUE(same(from(decide(&alice, action::model_predict, &m, opts)), m_denied));
}

TEST(AuthzOwnership, OwnedResourceWithoutAccessBehavesAsPrivate) {
    decide_options opts;
    opts.connector_acl = true;
    const resource_acl c = make_acl(acl_kind::connector, "c1", access_mode::unset);
    const principal alice = make(who::owner), bob = make(who::sharer);
    EXPECT_TRUE(decide(&alice, action::connector_get, &c, opts));
    EXPECT_TRUE(search_visible(&alice, c, opts));
    EXPECT_TRUE(same(from(decide(&bob, action::connector_get, &c, opts)), c_get));
    EXPECT_FALSE(search_visible(&bob, c, opts));
}

TEST(AuthzOwnership, OwnersMatchByNameAndRecordedRealm) {
    decide_options opts;
    opts.connector_acl = true;
    const resource_acl c = make_acl(acl_kind::connector, "c1", priv);  // owner alice@internal
    principal cert_alice = make(who::owner);
    cert_alice.realm = "cert";
    EXPECT_TRUE(same(from(decide(&cert_alice, action::connector_get, &c, opts)), c_get));
    cert_alice.realm.clear();  // realm unknown on one side: the name decides, as in ml-commons
    EXPECT_TRUE(decide(&cert_alice, action::connector_get, &c, opts));
    resource_acl legacy = c;
    legacy.owner->realm.clear();
    principal alice = make(who::owner);
    EXPECT_TRUE(decide(&alice, action::connector_get, &legacy, opts));
}

TEST(AuthzGroupUpdate, AclFieldChangesNeedOwnerOrAdmin) {
    for (bool strict : {true, false}) {
        decide_options opts;
        opts.model_acl = true;
        opts.strict_writes = strict;
        opts.changes_acl_fields = true;
        const resource_acl g = make_acl(acl_kind::model_group, "g1", restr);
        const outcome only_owner =
            deny(errc::illegal_argument, "Only owner or admin can update access control data.");
        for (who w : {who::sharer, who::stranger}) {
            const principal p = make(w);
            EXPECT_TRUE(same(from(decide(&p, action::model_group_update, &g, opts)), only_owner)) << p.name;
        }
        for (who w : {who::owner, who::admin, who::super_admin}) {
            const principal p = make(w);
            EXPECT_TRUE(decide(&p, action::model_group_update, &g, opts)) << p.name;
        }
    }
}

TEST(AuthzGroupUpdate, OwnerWhoLostTheRoleIsRefused) {
    decide_options opts;
    opts.model_acl = true;
    resource_acl g = make_acl(acl_kind::model_group, "g1", restr);
    g.backend_roles = {"team_z"};
    const principal alice = make(who::owner);
    const outcome lost = deny(
        errc::illegal_argument,
        "You don't have the specified backend role to update this model group. For more information, contact "
        "your administrator."
    );
    for (bool strict : {true, false}) {
        opts.strict_writes = strict;
        EXPECT_TRUE(same(from(decide(&alice, action::model_group_update, &g, opts)), lost));
    }
    const principal admin = make(who::admin);
    EXPECT_TRUE(decide(&admin, action::model_group_update, &g, opts));
}

TEST(AuthzConnectorUpdate, SharerRewritingAclOrCredentialIsQuirkOneOnlyWhenStrictIsOff) {
    decide_options opts;
    opts.connector_acl = true;
    opts.changes_acl_fields = true;
    const resource_acl c = make_acl(acl_kind::connector, "c1", restr);
    const principal bob = make(who::sharer);
    opts.strict_writes = false;
    EXPECT_TRUE(decide(&bob, action::connector_update, &c, opts));
    opts.strict_writes = true;
    EXPECT_TRUE(same(from(decide(&bob, action::connector_update, &c, opts)), c_upd403));
}

// --- model routes: every text ----------------------------------------------------------------------------

TEST(AuthzMessages, ModelRoutes) {
    decide_options opts;
    opts.model_acl = true;
    resource_acl m = make_acl(acl_kind::model_group, "g1", priv);
    m.kind = acl_kind::model;
    m.id = "m1";
    const principal carol = make(who::stranger);
    for (action a :
         {action::model_get,
          action::model_delete,
          action::model_deploy,
          action::model_predict,
          action::model_predict_stream}) {
        EXPECT_TRUE(same(from(decide(&carol, a, &m, opts)), m_denied)) << action_name(a);
    }
    EXPECT_TRUE(same(
        from(decide(&carol, action::model_update, &m, opts)),
        deny(
            errc::forbidden,
            "User doesn't have privilege to perform this operation on this model, model ID m1"
        )
    ));
    EXPECT_TRUE(same(
        from(decide(&carol, action::model_undeploy, &m, opts)),
        deny(errc::illegal_argument, "No permission to undeploy model m1")
    ));
    // Moving a model into a group the caller cannot use.
    const resource_acl target = make_acl(acl_kind::model_group, "g2", priv);
    EXPECT_TRUE(same(
        from(decide(&carol, action::model_update, &target, opts)),
        deny(
            errc::forbidden,
            "User Doesn't have privilege to re-link this model to the target model group due to no access to "
            "the target model group with model group ID g2"
        )
    ));
    // The owner may move it there even with strict writes: that is a use of the target, not a write.
    const principal alice = make(who::owner);
    EXPECT_TRUE(decide(&alice, action::model_update, &target, opts));
}

TEST(AuthzMessages, ModelWritesAreOwnerOnlyWhenStrict) {
    decide_options opts;
    opts.model_acl = true;
    resource_acl m = make_acl(acl_kind::model_group, "g1", restr);
    m.kind = acl_kind::model;
    m.id = "m1";
    const principal bob = make(who::sharer);
    EXPECT_TRUE(same(
        from(decide(&bob, action::model_update, &m, opts)),
        deny(
            errc::forbidden,
            "User doesn't have privilege to perform this operation on this model, model ID m1"
        )
    ));
    EXPECT_TRUE(same(from(decide(&bob, action::model_delete, &m, opts)), m_denied));
    for (action a :
         {action::model_deploy, action::model_undeploy, action::model_predict, action::model_get}) {
        EXPECT_TRUE(decide(&bob, a, &m, opts)) << action_name(a);
    }
    opts.strict_writes = false;
    EXPECT_TRUE(decide(&bob, action::model_update, &m, opts));
    EXPECT_TRUE(decide(&bob, action::model_delete, &m, opts));
}

TEST(AuthzMessages, RegisterIntoAGroupFoundByName) {
    decide_options opts;
    opts.model_acl = true;
    opts.group_found_by_name = true;
    resource_acl g = make_acl(acl_kind::model_group, "g7", priv);
    g.name = "my-model";
    const principal carol = make(who::stranger);
    EXPECT_TRUE(same(
        from(decide(&carol, action::model_register, &g, opts)),
        deny(
            errc::illegal_argument,
            "The name {my-model} you provided is unavailable because it is used by another model group with "
            "id {g7} "
            "to which you do not have access. Please provide a different name."
        )
    ));
}

TEST(AuthzMessages, HiddenModelsAreForTheSuperAdminOnly) {
    decide_options opts;  // ACL off: hidden models are refused anyway
    resource_acl m = make_acl(acl_kind::model, "m1", pub);
    m.hidden = true;
    const principal admin = make(who::admin), root = make(who::super_admin);
    EXPECT_TRUE(same(from(decide(&admin, action::model_get, &m, opts)), m_denied));
    EXPECT_TRUE(same(
        from(decide(&admin, action::model_update, &m, opts)),
        deny(
            errc::forbidden,
            "User doesn't have privilege to perform this operation on this model, model ID m1"
        )
    ));
    EXPECT_FALSE(search_visible(&admin, m, opts));
    EXPECT_TRUE(decide(&root, action::model_get, &m, opts));
    EXPECT_TRUE(search_visible(&root, m, opts));
}

TEST(AuthzSearch, RolesClauseIgnoresAccessLikeMlCommons) {
    // A connector switched from restricted to private keeps its stored roles; ml-commons' filter still
    // matches them (R7 keeps the filter exact) while GET follows the predicate.
    decide_options opts;
    opts.connector_acl = true;
    resource_acl c = make_acl(acl_kind::connector, "c1", priv);
    c.backend_roles = {"team_a"};
    const principal bob = make(who::sharer);
    EXPECT_TRUE(search_visible(&bob, c, opts));
    EXPECT_FALSE(decide(&bob, action::connector_get, &c, opts));
}

// --- privileges (R6) -------------------------------------------------------------------------------------

TEST(AuthzPrivileges, ActionNamesMatchTheSpecTable) {
    const std::vector<std::pair<action, std::string>> want = {
        {action::cluster_main, "cluster:monitor/main"},
        {action::cluster_health, "cluster:monitor/health"},
        {action::settings_get, "cluster:monitor/state"},
        {action::settings_update, "cluster:admin/settings/update"},
        {action::connector_create, "cluster:admin/opensearch/ml/create_connector"},
        {action::connector_get, "cluster:admin/opensearch/ml/connectors/get"},
        {action::connector_search, "cluster:admin/opensearch/ml/connectors/search"},
        {action::connector_update, "cluster:admin/opensearch/ml/connectors/update"},
        {action::connector_delete, "cluster:admin/opensearch/ml/connectors/delete"},
        {action::model_group_register, "cluster:admin/opensearch/ml/register_model_group"},
        {action::model_group_get, "cluster:admin/opensearch/ml/model_groups/get"},
        {action::model_group_search, "cluster:admin/opensearch/ml/model_groups/search"},
        {action::model_group_update, "cluster:admin/opensearch/ml/update_model_group"},
        {action::model_group_delete, "cluster:admin/opensearch/ml/model_groups/delete"},
        {action::model_register, "cluster:admin/opensearch/ml/register_model"},
        {action::model_get, "cluster:admin/opensearch/ml/models/get"},
        {action::model_search, "cluster:admin/opensearch/ml/models/search"},
        {action::model_update, "cluster:admin/opensearch/ml/models/update"},
        {action::model_delete, "cluster:admin/opensearch/ml/models/delete"},
        {action::model_deploy, "cluster:admin/opensearch/ml/deploy_model"},
        {action::model_undeploy, "cluster:admin/opensearch/ml/undeploy_models"},
        {action::model_predict, "cluster:admin/opensearch/ml/predict"},
        {action::model_predict_stream, "cluster:admin/opensearch/ml/predict/stream"},
        {action::task_get, "cluster:admin/opensearch/ml/tasks/get"},
        {action::task_search, "cluster:admin/opensearch/ml/tasks/search"},
        {action::task_delete, "cluster:admin/opensearch/ml/tasks/delete"},
        {action::inference_run, "cluster:monitor/xpack/inference"},
        {action::inference_get, "cluster:monitor/xpack/inference/get"},
        {action::inference_put, "cluster:admin/xpack/inference/put"},
        {action::inference_update, "cluster:admin/xpack/inference/update"},
        {action::inference_delete, "cluster:admin/xpack/inference/delete"},
    };
    for (const auto& [a, name] : want) {
        EXPECT_EQ(action_name(a), name);
        EXPECT_EQ(info(a).act, a);
    }
}

// §1.3: which built-in role grants which action.
TEST(AuthzPrivileges, BuiltInRoles) {
    struct expect {
        action a;
        bool full;
        bool read;
    };
    const std::vector<expect> table = {
        {action::connector_create, true, false},     {action::connector_get, true, true},
        {action::connector_search, true, true},      {action::connector_update, true, false},
        {action::connector_delete, true, false},     {action::model_group_register, true, false},
        {action::model_group_update, true, false},   {action::model_group_get, true, true},
        {action::model_group_search, true, true},    {action::model_group_delete, true, false},
        {action::model_register, true, false},       {action::model_update, true, false},
        {action::model_delete, true, false},         {action::model_get, true, true},
        {action::model_search, true, true},          {action::model_deploy, true, false},
        {action::model_undeploy, true, false},       {action::model_predict, true, false},
        {action::model_predict_stream, true, false}, {action::task_get, true, true},
        {action::task_search, true, true},           {action::task_delete, true, false},
        {action::settings_get, true, false},         {action::settings_update, false, false},
        {action::cluster_health, true, false},       {action::cluster_main, true, false},
        {action::inference_run, true, false},        {action::inference_get, true, true},
        {action::inference_put, true, false},        {action::inference_update, true, false},
        {action::inference_delete, true, false},     {action::kek_rotate, false, false},  // all_access only
    };
    const role_table& roles = builtin_roles();
    const std::vector<std::string> full{"ml_full_access"}, read{"ml_read_access"}, ro{"ml_readonly_access"},
        all{"all_access"}, none{}, unknown{"no_such_role"};
    for (const auto& e : table) {
        const auto name = action_name(e.a);
        EXPECT_EQ(roles.permits(full, name), e.full) << name;
        EXPECT_EQ(roles.permits(read, name), e.read) << name;
        EXPECT_EQ(roles.permits(ro, name), e.read) << name;
        EXPECT_TRUE(roles.permits(all, name)) << name;
        EXPECT_FALSE(roles.permits(none, name)) << name;
        EXPECT_FALSE(roles.permits(unknown, name)) << name;
    }
    EXPECT_EQ(table.size(), std::size_t{32});  // every action
}

TEST(AuthzPrivileges, MissingPrivilegeIsTheSecurityPluginText) {
    principal reader;
    reader.name = "reader";
    reader.backend_roles = {"analyst", "ops"};
    reader.roles = {"ml_read_access"};
    const decide_options opts;
    auto d = decide(&reader, action::model_predict, nullptr, opts);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().code, missing_privilege_code);
    EXPECT_EQ(
        d.error().reason,
        "no permissions for [cluster:admin/opensearch/ml/predict] and User [name=reader, "
        "backend_roles=[analyst, "
        "ops], requestedTenant=null]"
    );
    reader.backend_roles.clear();
    d = decide(&reader, action::settings_update, nullptr, opts);
    ASSERT_FALSE(d);
    EXPECT_EQ(
        d.error().reason,
        "no permissions for [cluster:admin/settings/update] and User [name=reader, backend_roles=[], "
        "requestedTenant=null]"
    );
    // Privileges come first: even an admin-visible resource is not looked at.
    const resource_acl c = make_acl(acl_kind::connector, "c1", pub);
    EXPECT_FALSE(decide(&reader, action::connector_delete, &c, opts));
}

TEST(AuthzPrivileges, InferenceUsesTheElasticsearchText) {
    principal reader;
    reader.name = "reader";
    reader.roles = {"ml_read_access", "viewer"};
    const decide_options opts;
    auto d = decide(&reader, action::inference_run, nullptr, opts);
    ASSERT_FALSE(d);
    EXPECT_EQ(
        d.error().reason,
        "action [cluster:monitor/xpack/inference] is unauthorized for user [reader] with effective roles "
        "[ml_read_access,viewer], this action is granted by the cluster privileges "
        "[monitor_inference,manage_inference,monitor,manage,all]"
    );
    reader.api_key_id = "VuaCfGcBCdbkQm-e5aOx";
    d = decide(&reader, action::inference_put, nullptr, opts);
    ASSERT_FALSE(d);
    EXPECT_EQ(
        d.error().reason,
        "action [cluster:admin/xpack/inference/put] is unauthorized for API key id [VuaCfGcBCdbkQm-e5aOx] of "
        "user [reader], this action is granted by the cluster privileges [manage_inference,manage,all]"
    );
}

TEST(AuthzPrivileges, KekRotationIsAdminOnly) {
    EXPECT_EQ(action_name(action::kek_rotate), "cluster:admin/modelrelay/kek/rotate");
    EXPECT_FALSE(info(action::kek_rotate).tenant_scoped);
    principal full;
    full.name = "ml-admin";
    full.roles = {"ml_full_access", "ml_read_access"};
    auto d = decide(&full, action::kek_rotate, nullptr, decide_options{});
    ASSERT_FALSE(d);
    EXPECT_EQ(
        d.error().reason,
        "no permissions for [cluster:admin/modelrelay/kek/rotate] and User [name=ml-admin, backend_roles=[], "
        "requestedTenant=null]"
    );
    const principal admin = make(who::admin, "");
    EXPECT_TRUE(decide(&admin, action::kek_rotate, nullptr, decide_options{}));
}

TEST(AuthzPrivileges, SuperAdminNeedsNoRoles) {
    const principal root = make(who::super_admin);
    ASSERT_TRUE(root.roles.empty());
    EXPECT_TRUE(decide(&root, action::settings_update, nullptr, decide_options{}));
}

TEST(AuthzPrivileges, CustomRolesFromATable) {
    role_table table;
    table.put("predictor", {"cluster:admin/opensearch/ml/predict"});
    table.put("regex_reader", {"/cluster:admin/opensearch/ml/(models|connectors)/(get|search)/"});
    decide_options opts;
    opts.roles = &table;
    principal p;
    p.name = "p";
    p.roles = {"predictor"};
    EXPECT_TRUE(decide(&p, action::model_predict, nullptr, opts));
    EXPECT_FALSE(decide(&p, action::model_predict_stream, nullptr, opts));
    p.roles = {"regex_reader"};
    EXPECT_TRUE(decide(&p, action::connector_search, nullptr, opts));
    EXPECT_TRUE(decide(&p, action::model_get, nullptr, opts));
    EXPECT_FALSE(decide(&p, action::model_group_get, nullptr, opts));
    // The built-ins are still there and can be replaced.
    p.roles = {"ml_full_access"};
    EXPECT_TRUE(decide(&p, action::model_predict, nullptr, opts));
    table.put("ml_full_access", {});
    EXPECT_FALSE(decide(&p, action::model_predict, nullptr, opts));
    ASSERT_NE(builtin_roles().find("ml_full_access"), nullptr);
    EXPECT_FALSE(builtin_roles().find("ml_full_access")->empty());
}

TEST(AuthzPrivileges, WildcardMatching) {
    struct c {
        std::string_view pattern, action;
        bool match;
    };
    const std::vector<c> cases = {
        {"*", "cluster:admin/opensearch/ml/predict", true},
        {"*", "", true},
        {"cluster:admin/opensearch/ml/*", "cluster:admin/opensearch/ml/models/get", true},  // `*` crosses `/`
        {"cluster:admin/opensearch/ml/*", "cluster:admin/opensearch/ml/", true},
        {"cluster:admin/opensearch/ml/*", "cluster:admin/opensearch/mlx/predict", false},
        {"cluster:admin/opensearch/ml/*", "cluster:monitor/main", false},
        {"cluster:admin/opensearch/ml/predict", "cluster:admin/opensearch/ml/predict", true},
        {"cluster:admin/opensearch/ml/predict", "cluster:admin/opensearch/ml/predict/stream", false},
        {"cluster:admin/opensearch/ml/predict*", "cluster:admin/opensearch/ml/predict/stream", true},
        {"cluster:admin/opensearch/ml/models/?et", "cluster:admin/opensearch/ml/models/get", true},
        {"cluster:admin/opensearch/ml/models/?et", "cluster:admin/opensearch/ml/models/gget", false},
        {"cluster:*/ml/*/get", "cluster:admin/opensearch/ml/models/get", true},
        {"cluster:*/ml/*/get", "cluster:admin/opensearch/ml/models/search", false},
        {"*a*b*c", "xxaxxbxxc", true},
        {"*a*b*c", "xxaxxbxxcx", false},
        {"CLUSTER:admin/opensearch/ml/*", "cluster:admin/opensearch/ml/predict", false},  // case sensitive
        {"cluster_monitor", "cluster:monitor/state", true},
        {"cluster_monitor", "cluster:monitor/xpack/inference", true},
        {"cluster_monitor", "cluster:admin/settings/update", false},
        {"cluster_all", "cluster:admin/settings/update", true},
        {"cluster_all", "indices:data/read/search", false},
        {"/cluster:admin/opensearch/ml/(predict|models/get)/",
         "cluster:admin/opensearch/ml/models/get",
         true},
        {"/cluster:admin/opensearch/ml/(predict|models/get)/",
         "cluster:admin/opensearch/ml/predict/stream",
         false},
        {"/[unclosed/", "[unclosed", false},  // a broken regex grants nothing
        {"[abc]", "a", false},                // brackets are literal, not a character class
        {"[abc]", "[abc]", true},
        {"", "", true},
        {"", "cluster:monitor/main", false},
    };
    for (const auto& t : cases) {
        EXPECT_EQ(permission_matches(t.pattern, t.action), t.match) << t.pattern << " vs " << t.action;
    }
}

TEST(AuthzPrivileges, EveryActionHasARouteAndRoutesAreUnique) {
    std::set<action> seen;
    std::set<std::pair<std::string_view, std::string_view>> keys;
    for (const auto& r : route_actions()) {
        seen.insert(r.act);
        EXPECT_TRUE(keys.insert({r.method, r.path}).second) << r.method << " " << r.path;
    }
    EXPECT_EQ(seen.size(), std::size_t{38});
    EXPECT_EQ(action_for_route("POST", "/_plugins/_modelrelay/_rotate_kek"), action::kek_rotate);
    EXPECT_EQ(action_for_route("PUT", "/_plugins/_ml/controllers/{model_id}"), action::controller_update);
    EXPECT_EQ(action_name(action::controller_get), "cluster:admin/opensearch/ml/controllers/get");
    EXPECT_EQ(action_for_route("GET", "/_plugins/_ml/connectors/{connector_id}"), action::connector_get);
    EXPECT_EQ(action_for_route("POST", "/_plugins/_ml/models/{model_id}/_unload"), action::model_undeploy);
    EXPECT_EQ(action_for_route("POST", "/v1/chat/completions"), action::model_predict);
    EXPECT_EQ(action_for_route("GET", "/v1/models"), action::model_search);
    EXPECT_EQ(action_for_route("PUT", "/_inference/{task_type}/{inference_id}"), action::inference_put);
    EXPECT_EQ(action_for_route("GET", "/_plugins/_ml/connectors/c1"), std::nullopt);
    EXPECT_EQ(action_for_route("PATCH", "/_plugins/_ml/connectors/{connector_id}"), std::nullopt);
}

// --- tenancy (R12–R14) -----------------------------------------------------------------------------------

TEST(AuthzTenancy, ResolveTenant) {
    const principal alice = make(who::owner, "acme");
    principal homeless = make(who::stranger, "");
    const principal admin = make(who::admin, "ops");
    const outcome missing = deny(errc::forbidden, "Tenant ID header is missing or has no value");
    struct c {
        const principal* p;
        std::optional<std::string_view> header;
        front_door door;
        outcome want;
        std::string tenant;
    };
    const std::vector<c> cases = {
        {&alice, "acme", front_door::ml, ok, "acme"},
        {&alice, std::nullopt, front_door::ml, missing, ""},
        {&alice, "", front_door::ml, missing, ""},
        {&alice, "globex", front_door::ml, no_tenant, ""},
        {&alice, std::nullopt, front_door::openai, ok, "acme"},
        {&alice, "acme", front_door::inference, ok, "acme"},
        {&alice, "globex", front_door::inference, no_tenant, ""},
        {&homeless, "acme", front_door::ml, no_tenant, ""},
        {&homeless, std::nullopt, front_door::openai, no_tenant, ""},
        {&admin, "globex", front_door::ml, ok, "globex"},  // all_access crosses, explicitly
        {&admin, std::nullopt, front_door::ml, missing, ""},
        {&admin, std::nullopt, front_door::openai, ok, "ops"},
        {&admin, "globex", front_door::openai, ok, "globex"},
        {nullptr, "anything", front_door::ml, ok, "anything"},  // security off: header as-is
        {nullptr, std::nullopt, front_door::ml, missing, ""},
        {nullptr, std::nullopt, front_door::inference, missing, ""},
    };
    for (const auto& t : cases) {
        auto r = resolve_tenant(t.p, t.header, t.door, true);
        const outcome got = r ? ok : deny(r.error().code, r.error().reason);
        EXPECT_TRUE(same(got, t.want))
            << (t.p ? t.p->name : "null") << " header=" << t.header.value_or("<none>") << " got "
            << describe(got);
        if (r) {
            EXPECT_EQ(*r, t.tenant);
        }
    }
    // Tenancy off: no tenant, header ignored.
    auto off = resolve_tenant(&alice, "globex", front_door::ml, false);
    ASSERT_TRUE(off);
    EXPECT_EQ(*off, "");
}

TEST(AuthzTenancy, CallerMustBeInTheRequestTenant) {
    decide_options opts;
    opts.multi_tenancy = true;
    opts.tenant = "globex";  // e.g. a handler that forgot resolve_tenant
    const principal alice = make(who::owner, "acme");
    EXPECT_TRUE(same(from(decide(&alice, action::connector_create, nullptr, opts)), no_tenant));
    EXPECT_TRUE(same(from(decide(&alice, action::model_search, nullptr, opts)), no_tenant));
    principal homeless = make(who::owner, "");
    opts.tenant = "";
    EXPECT_TRUE(same(from(decide(&homeless, action::connector_create, nullptr, opts)), no_tenant));
    // Routes that are not tenant-scoped do not care.
    EXPECT_TRUE(decide(&alice, action::settings_get, nullptr, opts));
    EXPECT_TRUE(decide(&alice, action::cluster_health, nullptr, opts));
}

TEST(AuthzTenancy, AdminsCrossOnlyIntoTheTenantTheyName) {
    decide_options opts;
    opts.multi_tenancy = true;
    opts.connector_acl = true;
    opts.tenant = "globex";
    const principal admin = make(who::admin, "ops");
    const resource_acl in_globex = make_acl(acl_kind::connector, "c1", priv, "globex");
    const resource_acl in_acme = make_acl(acl_kind::connector, "c2", priv, "acme");
    EXPECT_TRUE(decide(&admin, action::connector_update, &in_globex, opts));
    EXPECT_TRUE(same(from(decide(&admin, action::connector_update, &in_acme, opts)), no_tenant));
    EXPECT_TRUE(search_visible(&admin, in_globex, opts));
    EXPECT_FALSE(search_visible(&admin, in_acme, opts));
}

TEST(AuthzTenancy, TenancyAndModelAclAreAnded) {
    decide_options opts;
    opts.multi_tenancy = true;
    opts.model_acl = true;
    opts.tenant = "acme";
    const resource_acl g = make_acl(acl_kind::model_group, "g1", priv, "acme");
    const principal carol = make(who::stranger, "acme");
    EXPECT_TRUE(same(from(decide(&carol, action::model_group_get, &g, opts)), g_get));
    EXPECT_FALSE(search_visible(&carol, g, opts));
}

TEST(AuthzTenancy, TasksAreTenantScopedWithoutAcl) {
    decide_options opts;
    opts.multi_tenancy = true;
    opts.tenant = "acme";
    resource_acl t;
    t.kind = acl_kind::none;
    t.id = "t1";
    t.tenant_id = "globex";
    const principal alice = make(who::owner, "acme");
    EXPECT_TRUE(same(from(decide(&alice, action::task_get, &t, opts)), no_tenant));
    t.tenant_id = "acme";
    EXPECT_TRUE(decide(&alice, action::task_get, &t, opts));
}

// --- documents -------------------------------------------------------------------------------------------

TEST(AuthzDocs, AclFromStoredDocuments) {
    const auto group = boost::json::parse(R"({
        "name":"team-models","latest_version":2,"access":"restricted","backend_roles":["team_a","team_b"],
        "owner":{"name":"alice","backend_roles":["team_a"],"roles":["ml_full_access"],"custom_attribute_names":[]}
    })")
                           .as_object();
    const resource_acl g = acl_from_doc(acl_kind::model_group, "g1", "acme", group);
    EXPECT_EQ(g.kind, acl_kind::model_group);
    EXPECT_EQ(g.id, "g1");
    EXPECT_EQ(g.name, "team-models");
    EXPECT_EQ(g.tenant_id, "acme");
    ASSERT_TRUE(g.owner.has_value());
    EXPECT_EQ(g.owner->name, "alice");
    EXPECT_EQ(g.owner->realm, "");
    EXPECT_EQ(g.access, access_mode::restricted);
    EXPECT_EQ(g.backend_roles, (std::vector<std::string>{"team_a", "team_b"}));

    const auto connector = boost::json::parse(R"({"name":"c","access":"bogus"})").as_object();
    const resource_acl c = acl_from_doc(acl_kind::connector, "c1", "", connector);
    EXPECT_FALSE(c.owner.has_value());
    EXPECT_EQ(c.access, access_mode::unset);
    EXPECT_TRUE(c.backend_roles.empty());

    const auto model =
        boost::json::parse(R"({"name":"m","model_group_id":"g1","is_hidden":true})").as_object();
    const resource_acl m = model_acl_from_docs("m1", "acme", model, &group);
    EXPECT_EQ(m.kind, acl_kind::model);
    EXPECT_EQ(m.id, "m1");
    EXPECT_EQ(m.access, access_mode::restricted);
    EXPECT_EQ(m.owner->name, "alice");
    EXPECT_TRUE(m.hidden);
    EXPECT_EQ(m.tenant_id, "acme");
}

TEST(AuthzDocs, AccessModeText) {
    EXPECT_EQ(parse_access_mode("public"), access_mode::public_);
    EXPECT_EQ(parse_access_mode("private"), access_mode::private_);
    EXPECT_EQ(parse_access_mode("restricted"), access_mode::restricted);
    EXPECT_EQ(parse_access_mode("PUBLIC"), std::nullopt);
    EXPECT_EQ(parse_access_mode(""), std::nullopt);
    for (access_mode m : {pub, priv, restr}) {
        EXPECT_EQ(parse_access_mode(to_string(m)), m);
    }
    EXPECT_EQ(to_string(access_mode::unset), "");
}

// --- ACL-field validation --------------------------------------------------------------------------------

using roles = std::vector<std::string>;

struct acl_case {
    const char* what;
    const principal* p;
    acl_fields fields;
    bool acl;
    std::string error;  // "" = accepted
    acl_grant grant;
};

void check(
    const std::vector<acl_case>& cases,
    result<acl_grant> (*validate)(const principal*, const acl_fields&, bool)
) {
    for (const auto& c : cases) {
        auto r = validate(c.p, c.fields, c.acl);
        if (!c.error.empty()) {
            ASSERT_FALSE(r) << c.what;
            EXPECT_EQ(r.error().code, errc::illegal_argument) << c.what;
            EXPECT_EQ(r.error().reason, c.error) << c.what;
        } else {
            ASSERT_TRUE(r) << c.what << ": " << r.error().reason;
            EXPECT_EQ(r->access, c.grant.access) << c.what;
            EXPECT_EQ(r->backend_roles, c.grant.backend_roles) << c.what;
        }
    }
}

const principal v_user = [] {
    principal p;
    p.name = "alice";
    p.backend_roles = {"team_a", "team_b"};
    p.roles = {"ml_full_access"};
    return p;
}();
const principal v_roleless = [] {
    principal p;
    p.name = "nobody";
    p.roles = {"ml_full_access"};
    return p;
}();
const principal v_admin = make(who::admin);

TEST(AuthzValidation, ConnectorCreate) {
    const std::string off =
        "You cannot specify connector access control parameters because the Security plugin or connector "
        "access control is disabled on your cluster.";
    // clang-format off
    const std::vector<acl_case> cases = {
        {"off, nothing", &v_user, {}, false, "", {access_mode::unset, {}}},
        {"off, empty roles pass", &v_user, {std::nullopt, roles{}, std::nullopt}, false, "", {access_mode::unset, {}}},
        {"off, access", &v_user, {pub, std::nullopt, std::nullopt}, false, off, {}},
        {"off, add_all false counts", &v_user, {std::nullopt, std::nullopt, false}, false, off, {}},
        {"off, roles", &v_user, {std::nullopt, roles{"team_a"}, std::nullopt}, false, off, {}},
        {"security off", nullptr, {pub, std::nullopt, std::nullopt}, true, off, {}},
        {"default private", &v_user, {}, true, "", {priv, {}}},
        {"default restricted", &v_user, {std::nullopt, roles{"team_a"}, std::nullopt}, true, "", {restr, {"team_a"}}},
        {"add_all defaults to restricted", &v_user, {std::nullopt, std::nullopt, true}, true, "",
         {restr, {"team_a", "team_b"}}},
        {"public", &v_user, {pub, std::nullopt, std::nullopt}, true, "", {pub, {}}},
        {"admin add_all", &v_admin, {restr, std::nullopt, true}, true, "Admin can't add all backend roles", {}},
        {"public with roles", &v_user, {pub, roles{"team_a"}, std::nullopt}, true,
         "You can specify backend roles only for a connector with the restricted access mode.", {}},
        {"private with add_all", &v_user, {priv, std::nullopt, true}, true,
         "You can specify backend roles only for a connector with the restricted access mode.", {}},
        {"both", &v_user, {restr, roles{"team_a"}, true}, true,
         "You can't specify backend roles and add all backend roles to true at same time.", {}},
        {"add_all without roles", &v_roleless, {restr, std::nullopt, true}, true,
         "You must have at least one backend role to create a connector.", {}},
        {"restricted without roles", &v_user, {restr, std::nullopt, std::nullopt}, true,
         "You must specify at least one backend role or make the connector public/private for registering it.", {}},
        {"roles not held", &v_user, {restr, roles{"team_a", "team_z"}, std::nullopt}, true,
         "You don't have the backend roles specified.", {}},
        {"admin may name any role", &v_admin, {restr, roles{"team_z"}, std::nullopt}, true, "", {restr, {"team_z"}}},
    };
    // clang-format on
    check(cases, validate_connector_acl);
    // The super-admin is an admin here (ml-commons would reject its fields as "ACL disabled").
    const principal root = make(who::super_admin);
    auto r = validate_connector_acl(&root, {restr, roles{"team_q"}, std::nullopt}, true);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->backend_roles, roles{"team_q"});
}

TEST(AuthzValidation, ModelGroupRegister) {
    const std::string off =
        "You cannot specify model access control parameters because the Security plugin or model access "
        "control is disabled on your cluster.";
    const std::string both = "You cannot specify backend roles and add all backend roles at the same time.";
    // clang-format off
    const std::vector<acl_case> cases = {
        {"off, nothing", &v_user, {}, false, "", {pub, {}}},
        {"off, access", &v_user, {priv, std::nullopt, std::nullopt}, false, off, {}},
        {"off, add_all", &v_user, {std::nullopt, std::nullopt, false}, false, off, {}},
        {"security off", nullptr, {std::nullopt, roles{"team_a"}, std::nullopt}, true, off, {}},
        {"security off, nothing", nullptr, {}, true, "", {pub, {}}},
        {"default private", &v_user, {}, true, "", {priv, {}}},
        {"default restricted", &v_user, {std::nullopt, roles{"team_b"}, std::nullopt}, true, "", {restr, {"team_b"}}},
        {"default with both", &v_user, {std::nullopt, roles{"team_b"}, true}, true, both, {}},
        {"add_all", &v_user, {std::nullopt, std::nullopt, true}, true, "", {restr, {"team_a", "team_b"}}},
        {"public with roles", &v_user, {pub, roles{"team_a"}, std::nullopt}, true,
         "You can specify backend roles only for a model group with the restricted access mode.", {}},
        {"admin add_all", &v_admin, {restr, std::nullopt, true}, true,
         "Admin users cannot add all backend roles to a model group.", {}},
        {"user without roles", &v_roleless, {restr, roles{"x"}, std::nullopt}, true,
         "You must have at least one backend role to register a restricted model group.", {}},
        {"restricted, nothing", &v_user, {restr, std::nullopt, std::nullopt}, true,
         "You must specify one or more backend roles or add all backend roles to register a restricted model group.",
         {}},
        {"restricted, both", &v_user, {restr, roles{"team_a"}, true}, true, both, {}},
        {"roles not held", &v_user, {restr, roles{"team_z"}, std::nullopt}, true,
         "You don't have the backend roles specified.", {}},
        {"admin names any role", &v_admin, {restr, roles{"team_z"}, std::nullopt}, true, "", {restr, {"team_z"}}},
        {"admin restricted without roles", &v_admin, {restr, std::nullopt, std::nullopt}, true,
         "You must specify one or more backend roles or add all backend roles to register a restricted model group.",
         {}},
    };
    // clang-format on
    check(cases, validate_model_group_acl);
}

TEST(AuthzValidation, ModelGroupUpdate) {
    const acl_grant current{restr, {"team_a"}};
    struct c {
        const char* what;
        const principal* p;
        acl_fields fields;
        bool acl;
        std::string error;
        acl_grant next;
    };
    // clang-format off
    const std::vector<c> cases = {
        {"nothing", &v_user, {}, true, "", current},
        {"to public clears roles", &v_user, {pub, std::nullopt, std::nullopt}, true, "", {pub, {}}},
        {"to private with roles", &v_user, {priv, roles{"team_a"}, std::nullopt}, true,
         "You can specify backend roles only for a model group with the restricted access mode.", {}},
        {"admin add_all", &v_admin, {std::nullopt, std::nullopt, true}, true,
         "Admin users cannot add all backend roles to a model group.", {}},
        {"add_all without roles", &v_roleless, {std::nullopt, std::nullopt, true}, true,
         "You don't have any backend roles.", {}},
        {"add_all false without roles", &v_user, {std::nullopt, std::nullopt, false}, true,
         "You have to specify backend roles when add all backend roles is set to false.", {}},
        {"both", &v_user, {std::nullopt, roles{"team_a"}, true}, true,
         "You cannot specify backend roles and add all backend roles at the same time.", {}},
        {"restricted without roles", &v_user, {restr, std::nullopt, std::nullopt}, true,
         "You must specify one or more backend roles or add all backend roles to register a restricted model group.",
         {}},
        {"roles not held", &v_user, {std::nullopt, roles{"team_z"}, std::nullopt}, true,
         "You don't have the backend roles specified.", {}},
        {"new roles make it restricted", &v_user, {std::nullopt, roles{"team_b"}, std::nullopt}, true, "",
         {restr, {"team_b"}}},
        {"add_all takes the caller's roles", &v_user, {restr, std::nullopt, true}, true, "",
         {restr, {"team_a", "team_b"}}},
        {"off, fields", &v_user, {pub, std::nullopt, std::nullopt}, false,
         "You cannot specify model access control parameters because the Security plugin or model access control is "
         "disabled on your cluster.", {}},
        {"off, empty roles change nothing", &v_user, {std::nullopt, roles{}, std::nullopt}, false, "", current},
    };
    // clang-format on
    for (const auto& t : cases) {
        auto r = validate_model_group_acl_update(t.p, t.fields, current, t.acl);
        if (!t.error.empty()) {
            ASSERT_FALSE(r) << t.what;
            EXPECT_EQ(r.error().code, errc::illegal_argument) << t.what;
            EXPECT_EQ(r.error().reason, t.error) << t.what;
        } else {
            ASSERT_TRUE(r) << t.what << ": " << r.error().reason;
            EXPECT_EQ(r->access, t.next.access) << t.what;
            EXPECT_EQ(r->backend_roles, t.next.backend_roles) << t.what;
        }
    }
}

}  // namespace
}  // namespace modelrelay::test
