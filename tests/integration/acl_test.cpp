// File: acl_test.cpp
// Resource authorization against the real server with `--security on` (security.md §1.2, R7–R9): the
// access-mode × caller × operation matrix with the exact ml-commons denials, owner recording with the ACL
// switches off (R8), strict and relaxed writes (R9), /v1 visibility, and the security-off texts. Every
// denial is checked to change no stored data and, for predict, to send nothing upstream.
// The matrix runs over HTTPS so that its fifth caller can be the super-admin: a client certificate whose
// DN is in --tls-admin-dn, sent without an Authorization header.
#include <array>
#include <functional>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "tests/support/acl_support.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/model_setup.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;

// Callers of the matrix: the owner (backend role analyst), a sharer of that role, a stranger, the admin
// (role all_access) and the super-admin (admin_dn certificate).
constexpr std::array<const char*, 5> callers{"alice", "bob", "carol", "admin", "superadmin"};
constexpr std::array<const char*, 3> modes{"public", "private", "restricted"};

std::string acl_members(std::string_view mode) {
    if (mode == "restricted") {
        return R"("access_mode":"restricted","backend_roles":["analyst"])";
    }
    return R"("access_mode":")" + std::string(mode) + "\"";
}

// `body` (a JSON object text) with `members` added.
std::string with_members(const std::string& body, const std::string& members) {
    auto o = json::parse(body).as_object();
    auto extra = json::parse("{" + members + "}").as_object();
    for (auto& kv : extra) {
        o[kv.key()] = kv.value();
    }
    return json::serialize(o);
}

std::string id_of(const http_result& r, std::string_view key) {
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) {
        return "missing";
    }
    return std::string(r.json().at(key).as_string());
}

std::int64_t total_hits(const http_result& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json().at("hits").at("total").at("value").to_number<std::int64_t>();
}

void expect_error(const http_result& r, unsigned status, std::string_view type, const std::string& reason) {
    EXPECT_EQ(r.status, status) << r.body;
    if (r.status == status) {
        const auto body = r.json();
        const auto& e = body.at("error");
        EXPECT_EQ(e.at("type").as_string(), type) << r.body;
        EXPECT_EQ(e.at("reason").as_string(), reason) << r.body;
        EXPECT_EQ(e.at("root_cause").at(0).at("reason").as_string(), reason) << r.body;
        EXPECT_EQ(body.at("status").to_number<unsigned>(), status) << r.body;
    }
}

// What alice owns for one matrix row, all with the same access mode: connectors C (used by the models) and
// D (unused), model groups G (holding the models) and E (empty), model M (deployed) and M2 (registered).
struct resources {
    std::string c, d, g, e, m, m2;
};

int unique_counter = 0;
std::string unique(std::string_view prefix) {
    return std::string(prefix) + "-" + std::to_string(++unique_counter);
}

resources make_resources(acl_server& s, const fake_upstream& up, std::string_view mode) {
    resources r;
    const std::string acl = acl_members(mode);
    const std::string connector = with_members(chat_connector(up), acl);
    r.c = id_of(s.as("alice", "POST", "/_plugins/_ml/connectors/_create", connector), "connector_id");
    r.d = id_of(s.as("alice", "POST", "/_plugins/_ml/connectors/_create", connector), "connector_id");
    r.g = id_of(
        s.as(
            "alice",
            "POST",
            "/_plugins/_ml/model_groups/_register",
            R"({"name":")" + unique("g") + "\"," + acl + "}"
        ),
        "model_group_id"
    );
    r.e = id_of(
        s.as(
            "alice",
            "POST",
            "/_plugins/_ml/model_groups/_register",
            R"({"name":")" + unique("e") + "\"," + acl + "}"
        ),
        "model_group_id"
    );
    auto model = [&](bool deploy) {
        const std::string body = R"({"name":")" + unique("m") +
                                 R"(","function_name":"remote","connector_id":")" + r.c +
                                 R"(","model_group_id":")" + r.g + "\"}";
        return id_of(
            s.as(
                "alice",
                "POST",
                deploy ? "/_plugins/_ml/models/_register?deploy=true" : "/_plugins/_ml/models/_register",
                body
            ),
            "model_id"
        );
    };
    r.m = model(true);
    r.m2 = model(false);
    return r;
}

// Everything stored about a row, as the admin sees it: a denied call must leave it byte-identical.
std::string fingerprint(acl_server& s, const resources& r) {
    std::string out;
    for (const auto& [path, id] : std::vector<std::pair<std::string, std::string>>{
             {"connectors/", r.c},
             {"connectors/", r.d},
             {"model_groups/", r.g},
             {"model_groups/", r.e},
             {"models/", r.m},
             {"models/", r.m2}}) {
        auto g = s.as("admin", "GET", "/_plugins/_ml/" + path + id);
        out += std::to_string(g.status) + g.body + "\n";
    }
    auto all =
        s.as("admin", "POST", "/_plugins/_ml/models/_search", R"({"query":{"match_all":{}},"size":0})");
    out += std::to_string(total_hits(all));
    return out;
}

// One operation of the matrix. `codes[mode]` holds one letter per caller (alice, bob, carol, admin,
// superadmin):
// A allowed, P refused by the ml-commons predicate, S refused by R9 strict writes (the predicate allows).
struct op_case {
    const char* name;
    std::array<const char*, 3> codes;  // public, private, restricted
    std::function<http_result(acl_server&, const std::string&, const resources&)> call;
    unsigned allowed_status;
    // The predicate's denial: status, type, reason (reason may depend on the row's ids).
    unsigned deny_status;
    const char* deny_type;
    std::function<std::string(const resources&)> reason;
    bool search = false;  // A = listed, P = not listed (search never fails)
};

constexpr std::array<const char*, 3> read_codes{"AAAAA", "APPAA", "AAPAA"};
constexpr std::array<const char*, 3> write_codes{"ASSAA", "APPAA", "ASPAA"};
constexpr std::array<const char*, 3> relaxed_write_codes{"AAAAA", "APPAA", "AAPAA"};

http_result search_ids(acl_server& s, const std::string& who, std::string_view what, const std::string& id) {
    return s.as(
        who,
        "POST",
        "/_plugins/_ml/" + std::string(what) + "/_search",
        R"({"query":{"ids":{"values":[")" + id + "\"]}}}"
    );
}

std::vector<op_case> matrix_ops(std::array<const char*, 3> writes) {
    const std::string model_denied = "User doesn't have privilege to perform this operation on this model";
    return {
        {"connector get",
         read_codes,
         [](acl_server& s, const std::string& w, const resources& r) {
             return s.as(w, "GET", "/_plugins/_ml/connectors/" + r.c);
         },
         200,
         403,
         "status_exception",
         [](const resources&) {
             return std::string("You don't have permission to access this connector");
         }},
        {"connector search",
         read_codes,
         [](acl_server& s, const std::string& w, const resources& r) {
             return search_ids(s, w, "connectors", r.c);
         },
         200,
         200,
         "",
         nullptr,
         true},
        {"connector update",
         writes,
         [](acl_server& s, const std::string& w, const resources& r) {
             return s.as(
                 w, "PUT", "/_plugins/_ml/connectors/" + r.d, R"({"description":"changed by )" + w + "\"}"
             );
         },
         200,
         400,
         "illegal_argument_exception",
         [](const resources& r) {
             return "You don't have permission to update the connector, connector id: " + r.d;
         }},
        {"connector delete",
         writes,
         [](acl_server& s, const std::string& w, const resources& r) {
             return s.as(w, "DELETE", "/_plugins/_ml/connectors/" + r.d);
         },
         200,
         500,
         "m_l_validation_exception",
         [](const resources&) {
             return std::string("You are not allowed to delete this connector");
         }},
        {"register with connector",
         read_codes,
         [](acl_server& s, const std::string& w, const resources& r) {
             return s.as(
                 w,
                 "POST",
                 "/_plugins/_ml/models/_register",
                 R"({"name":")" + unique("own") + R"(","function_name":"remote","connector_id":")" + r.c +
                     "\"}"
             );
         },
         200,
         400,
         "illegal_argument_exception",
         [](const resources& r) {
             return "You don't have permission to use the connector provided, connector id: " + r.c;
         }},
        {"model group get",
         read_codes,
         [](acl_server& s, const std::string& w, const resources& r) {
             return s.as(w, "GET", "/_plugins/_ml/model_groups/" + r.g);
         },
         200,
         403,
         "status_exception",
         [](const resources&) {
             return std::string("User doesn't have privilege to perform this operation on this model group");
         }},
        {"model group search",
         read_codes,
         [](acl_server& s, const std::string& w, const resources& r) {
             return search_ids(s, w, "model_groups", r.g);
         },
         200,
         200,
         "",
         nullptr,
         true},
        {"model group update",
         writes,
         [](acl_server& s, const std::string& w, const resources& r) {
             return s.as(w, "PUT", "/_plugins/_ml/model_groups/" + r.g, R"({"description":"changed"})");
         },
         200,
         400,
         "illegal_argument_exception",
         [](const resources&) {
             return std::string("You don't have permission to update this model group.");
         }},
        {"model group delete",
         writes,
         [](acl_server& s, const std::string& w, const resources& r) {
             return s.as(w, "DELETE", "/_plugins/_ml/model_groups/" + r.e);
         },
         200,
         500,
         "m_l_validation_exception",
         [](const resources&) {
             return std::string("User doesn't have privilege to delete this model group");
         }},
        {"register into group",
         read_codes,
         [](acl_server& s, const std::string& w, const resources& r) {
             // The caller's own public connector, alice's group.
             auto own = s.as(
                 w,
                 "POST",
                 "/_plugins/_ml/connectors/_create",
                 with_members(
                     json::serialize(json::parse(
                         R"({"name":"own","version":"1","protocol":"http","credential":{"k":"v"},"actions":[{"action_type":"predict","method":"POST","url":"http://127.0.0.1:9/x"}]})"
                     )),
                     R"("access_mode":"public")"
                 )
             );
             return s.as(
                 w,
                 "POST",
                 "/_plugins/_ml/models/_register",
                 R"({"name":")" + unique("into") + R"(","function_name":"remote","connector_id":")" +
                     std::string(own.json().at("connector_id").as_string()) + R"(","model_group_id":")" +
                     r.g + "\"}"
             );
         },
         200,
         400,
         "illegal_argument_exception",
         [](const resources&) {
             return std::string("You don't have permissions to perform this operation on this model.");
         }},
        {"model get",
         read_codes,
         [](acl_server& s, const std::string& w, const resources& r) {
             return s.as(w, "GET", "/_plugins/_ml/models/" + r.m);
         },
         200,
         403,
         "status_exception",
         [model_denied](const resources&) {
             return model_denied;
         }},
        {"model search",
         read_codes,
         [](acl_server& s, const std::string& w, const resources& r) {
             return search_ids(s, w, "models", r.m);
         },
         200,
         200,
         "",
         nullptr,
         true},
        {"model update",
         writes,
         [](acl_server& s, const std::string& w, const resources& r) {
             return s.as(w, "PUT", "/_plugins/_ml/models/" + r.m2, R"({"description":"changed"})");
         },
         200,
         403,
         "status_exception",
         [model_denied](const resources& r) {
             return model_denied + ", model ID " + r.m2;
         }},
        {"model delete",
         writes,
         [](acl_server& s, const std::string& w, const resources& r) {
             return s.as(w, "DELETE", "/_plugins/_ml/models/" + r.m2);
         },
         200,
         403,
         "status_exception",
         [model_denied](const resources&) {
             return model_denied;
         }},
        {"model deploy",
         read_codes,
         [](acl_server& s, const std::string& w, const resources& r) {
             return s.as(w, "POST", "/_plugins/_ml/models/" + r.m2 + "/_deploy");
         },
         200,
         403,
         "status_exception",
         [model_denied](const resources&) {
             return model_denied;
         }},
        {"model undeploy",
         read_codes,
         [](acl_server& s, const std::string& w, const resources& r) {
             return s.as(w, "POST", "/_plugins/_ml/models/" + r.m + "/_undeploy");
         },
         200,
         400,
         "illegal_argument_exception",
         [](const resources& r) {
             return "No permission to undeploy model " + r.m;
         }},
        {"predict",
         read_codes,
         [](acl_server& s, const std::string& w, const resources& r) {
             return s.as(
                 w,
                 "POST",
                 "/_plugins/_ml/models/" + r.m + "/_predict",
                 R"({"parameters":{"messages":[{"role":"user","content":"hi"}]}})"
             );
         },
         200,
         403,
         "status_exception",
         [model_denied](const resources&) {
             return model_denied;
         }},
        {"predict stream",
         read_codes,
         [](acl_server& s, const std::string& w, const resources& r) {
             return s.as(
                 w,
                 "POST",
                 "/_plugins/_ml/models/" + r.m + "/_predict/stream",
                 R"({"parameters":{"_llm_interface":"openai/v1/chat/completions","messages":[{"role":"user","content":"hi"}]}})"
             );
         },
         200,
         403,
         "status_exception",
         [model_denied](const resources&) {
             return model_denied;
         }},
    };
}

// Runs every (mode, caller) cell of every op on fresh resources.
void run_matrix(acl_server& s, fake_upstream& up, const std::vector<op_case>& ops) {
    for (const auto& op : ops) {
        for (std::size_t mi = 0; mi < modes.size(); ++mi) {
            for (std::size_t ci = 0; ci < callers.size(); ++ci) {
                const std::string who = callers[ci];
                const char code = op.codes[mi][ci];
                SCOPED_TRACE(std::string(op.name) + " / " + modes[mi] + " / " + who + " / expected " + code);
                const auto r = make_resources(s, up, modes[mi]);
                const auto before = fingerprint(s, r);
                const auto upstream_before = up.request_count();
                const auto res = op.call(s, who, r);
                if (op.search) {
                    EXPECT_EQ(total_hits(res), code == 'A' ? 1 : 0) << res.body;
                    continue;
                }
                if (code == 'A') {
                    EXPECT_EQ(res.status, op.allowed_status) << res.body;
                    continue;
                }
                const std::string reason = op.reason(r);
                if (code == 'P') {
                    expect_error(res, op.deny_status, op.deny_type, reason);
                } else {
                    expect_error(res, 403, "status_exception", reason);  // R9: the route's text at 403
                }
                EXPECT_EQ(fingerprint(s, r), before) << "a denied call changed stored data";
                EXPECT_EQ(up.request_count(), upstream_before) << "a denied call reached the upstream";
            }
        }
    }
}

class acl_matrix : public ::testing::Test {
protected:
    static void add_matrix_users(acl_server& s) {
        s.add_user("alice", {"analyst"});
        s.add_user("bob", {"analyst", "viewer"});
        s.add_user("carol", {"finance"});
        open_settings(s);
        s.set_persistent(
            R"({"plugins.ml_commons.connector_access_control_enabled":true,"plugins.ml_commons.model_access_control_enabled":true})"
        );
    }
    static void open_settings(acl_server& s) {
        s.set_persistent(
            R"({"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"],"plugins.ml_commons.connector.private_ip_enabled":true,"plugins.ml_commons.stream_enabled":true})"
        );
    }
    fake_upstream up_;
};

// R7 with R9's default (strict writes): exact status, type and reason for every refusal.
TEST_F(acl_matrix, every_mode_caller_and_operation_strict_writes) {
    acl_server s({}, true);
    add_matrix_users(s);
    // The fifth caller really is the certificate super-admin.
    auto who = s.as("superadmin", "GET", "/_plugins/_security/authinfo");
    ASSERT_EQ(who.status, 200) << who.body;
    EXPECT_EQ(who.json().at("user_name").as_string(), "CN=kirk,OU=client,O=client,L=test,C=de");
    EXPECT_EQ(who.json().at("principal").as_string(), "CN=kirk,OU=client,O=client,L=test,C=de");
    run_matrix(s, up_, matrix_ops(write_codes));
}

// R9 off (`--strict-write-acl false`): ml-commons' quirk 1, readers of a public or shared connector,
// group or model may rewrite and delete it; the predicate still refuses the others with its own texts.
TEST_F(acl_matrix, relaxed_writes_restore_the_ml_commons_predicate) {
    acl_server s({"--strict-write-acl", "false"}, true);
    add_matrix_users(s);
    std::vector<op_case> writes;
    for (auto& op : matrix_ops(relaxed_write_codes)) {
        const std::string name = op.name;
        if (name.ends_with(" update") || name.ends_with(" delete")) {
            writes.push_back(std::move(op));
        }
    }
    ASSERT_EQ(writes.size(), 6U);
    run_matrix(s, up_, writes);
}

// R9: under strict writes a sharer may not rewrite the ACL of a restricted connector (ml-commons quirk 1
// lets it); the owner may, and the change takes effect at once.
TEST_F(acl_matrix, acl_changes_belong_to_the_owner) {
    acl_server s;
    add_matrix_users(s);
    const auto r = make_resources(s, up_, "restricted");
    const auto before = fingerprint(s, r);
    auto grab = s.as(
        "bob",
        "PUT",
        "/_plugins/_ml/connectors/" + r.d,
        R"({"access_mode":"restricted","backend_roles":["viewer"]})"
    );
    expect_error(
        grab,
        403,
        "status_exception",
        "You don't have permission to update the connector, connector id: " + r.d
    );
    auto grab_group = s.as("bob", "PUT", "/_plugins/_ml/model_groups/" + r.g, R"({"access_mode":"public"})");
    expect_error(
        grab_group, 400, "illegal_argument_exception", "Only owner or admin can update access control data."
    );
    EXPECT_EQ(fingerprint(s, r), before);

    // Bob shares the group's role: he may call the deployed model until its group turns private below.
    auto shared_predict =
        s.as("bob", "POST", "/_plugins/_ml/models/" + r.m + "/_predict", R"({"parameters":{"messages":[]}})");
    ASSERT_EQ(shared_predict.status, 200) << shared_predict.body;
    auto open = s.as("alice", "PUT", "/_plugins/_ml/connectors/" + r.d, R"({"access_mode":"public"})");
    ASSERT_EQ(open.status, 200) << open.body;
    EXPECT_EQ(s.as("carol", "GET", "/_plugins/_ml/connectors/" + r.d).status, 200);
    auto close = s.as("alice", "PUT", "/_plugins/_ml/model_groups/" + r.g, R"({"access_mode":"private"})");
    ASSERT_EQ(close.status, 200) << close.body;
    auto g = s.as("alice", "GET", "/_plugins/_ml/model_groups/" + r.g);
    EXPECT_EQ(g.json().at("access").as_string(), "private");
    EXPECT_FALSE(g.json().as_object().contains("backend_roles")) << g.body;
    // The deployed model's pre-built ACL follows its group: bob could predict before, not now.
    auto predict =
        s.as("bob", "POST", "/_plugins/_ml/models/" + r.m + "/_predict", R"({"parameters":{"messages":[]}})");
    expect_error(
        predict,
        403,
        "status_exception",
        "User doesn't have privilege to perform this operation on this model"
    );
    // Group ACL validation texts with the switch on (ml-commons.md §1.2).
    auto roles_not_held = s.as(
        "alice",
        "PUT",
        "/_plugins/_ml/model_groups/" + r.g,
        R"({"access_mode":"restricted","backend_roles":["finance"]})"
    );
    expect_error(
        roles_not_held, 400, "illegal_argument_exception", "You don't have the backend roles specified."
    );
    auto admin_all = s.as(
        "admin",
        "POST",
        "/_plugins/_ml/model_groups/_register",
        R"({"name":"admin-all","add_all_backend_roles":true})"
    );
    expect_error(
        admin_all,
        400,
        "illegal_argument_exception",
        "Admin users cannot add all backend roles to a model group."
    );
    auto no_roles = s.as(
        "alice",
        "POST",
        "/_plugins/_ml/connectors/_create",
        with_members(chat_connector(up_), R"("access_mode":"restricted")")
    );
    expect_error(
        no_roles,
        400,
        "illegal_argument_exception",
        "You must specify at least one backend role or make the connector public/private for registering it."
    );
}

// Connector create records the ACL it was given (defaults: restricted with roles, else private).
// TransportUndeployModelsAction: with model access control on, a bulk undeploy names one model, whoever
// asks; nothing changes on a refusal. Off again, the same request undeploys both.
TEST_F(acl_matrix, bulk_undeploy_takes_one_model_while_model_acl_is_on) {
    acl_server s;
    add_matrix_users(s);
    const auto r = make_resources(s, up_, "public");
    const auto before = fingerprint(s, r);
    const std::string both = R"({"model_ids":[")" + r.m + R"(",")" + r.m2 + R"("]})";
    for (const char* who : {"alice", "admin"}) {
        SCOPED_TRACE(who);
        expect_error(
            s.as(who, "POST", "/_plugins/_ml/models/_undeploy", both),
            400,
            "illegal_argument_exception",
            "only support undeploy one model"
        );
    }
    EXPECT_EQ(fingerprint(s, r), before);
    auto one = s.as("alice", "POST", "/_plugins/_ml/models/_undeploy", R"({"model_ids":[")" + r.m + R"("]})");
    ASSERT_EQ(one.status, 200) << one.body;
    s.set_persistent(R"({"plugins.ml_commons.model_access_control_enabled":false})");
    auto bulk = s.as("admin", "POST", "/_plugins/_ml/models/_undeploy", both);
    ASSERT_EQ(bulk.status, 200) << bulk.body;
    EXPECT_NE(bulk.body.find(r.m2), std::string::npos) << bulk.body;
}

TEST_F(acl_matrix, create_stores_owner_access_and_roles) {
    acl_server s;
    add_matrix_users(s);
    auto made = s.as(
        "alice",
        "POST",
        "/_plugins/_ml/connectors/_create",
        with_members(chat_connector(up_), R"("add_all_backend_roles":true)")
    );
    const auto id = id_of(made, "connector_id");
    auto doc = s.as("alice", "GET", "/_plugins/_ml/connectors/" + id).json().as_object();
    EXPECT_EQ(json::serialize(doc.at("backend_roles")), R"(["analyst"])");
    EXPECT_EQ(doc.at("access").as_string(), "restricted");
    EXPECT_EQ(
        json::serialize(doc.at("owner")),
        R"({"name":"alice","backend_roles":["analyst"],"roles":["ml_full_access"],"custom_attribute_names":[],"user_requested_tenant":null,"user_requested_tenant_access":"WRITE"})"
    );
    auto group = s.as("carol", "POST", "/_plugins/_ml/model_groups/_register", R"({"name":"carols"})");
    const auto gid = id_of(group, "model_group_id");
    auto g = s.as("carol", "GET", "/_plugins/_ml/model_groups/" + gid).json().as_object();
    EXPECT_EQ(g.at("access").as_string(), "private");
    EXPECT_EQ(g.at("owner").at("name").as_string(), "carol");
    EXPECT_EQ(s.as("alice", "GET", "/_plugins/_ml/model_groups/" + gid).status, 403);
}

// R8: owners are recorded with the ACL switches off, and switching them on later opens nothing: a
// connector created without ACL fields becomes owner-only, also after a restart.
TEST(acl_owner, recorded_with_acl_off_and_nothing_opens_later) {
    acl_server s;
    fake_upstream up;
    s.add_user("alice", {"analyst"});
    s.add_user("bob", {"analyst"});
    s.set_persistent(R"({"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"]})");
    const auto id =
        id_of(s.as("alice", "POST", "/_plugins/_ml/connectors/_create", chat_connector(up)), "connector_id");
    auto doc = s.as("bob", "GET", "/_plugins/_ml/connectors/" + id);
    ASSERT_EQ(doc.status, 200) << doc.body;  // ACL off: everyone with the privilege reads it
    // Recorded, but with the switch off not shown nor searchable: ml-commons' documents have no owner then.
    EXPECT_FALSE(doc.json().as_object().contains("owner")) << doc.body;
    EXPECT_FALSE(doc.json().as_object().contains("access"));
    const auto owner_hits = [&](std::string_view kind, std::string_view who) {
        auto r = s.as(
            std::string(who),
            "POST",
            "/_plugins/_ml/" + std::string(kind) + "/_search",
            R"({"query":{"nested":{"path":"owner","query":{"term":{"owner.name.keyword":"alice"}}}}})"
        );
        EXPECT_EQ(r.status, 200) << r.body;
        return total_hits(r);
    };
    const auto sources_have_owner = [&](std::string_view kind) {
        auto r = s.as(
            "alice",
            "POST",
            "/_plugins/_ml/" + std::string(kind) + "/_search",
            R"({"query":{"match_all":{}}})"
        );
        const auto body = r.json();
        for (const auto& h : body.at("hits").at("hits").as_array()) {
            if (h.at("_source").as_object().contains("owner")) {
                return true;
            }
        }
        return false;
    };
    EXPECT_EQ(owner_hits("connectors", "alice"), 0);
    EXPECT_FALSE(sources_have_owner("connectors"));
    const auto gid = id_of(
        s.as("alice", "POST", "/_plugins/_ml/model_groups/_register", R"({"name":"team"})"), "model_group_id"
    );
    auto g = s.as("alice", "GET", "/_plugins/_ml/model_groups/" + gid).json().as_object();
    EXPECT_EQ(g.at("access").as_string(), "public");
    EXPECT_FALSE(g.contains("owner"));
    EXPECT_EQ(owner_hits("model_groups", "alice"), 0);
    EXPECT_FALSE(sources_have_owner("model_groups"));
    s.set_persistent(R"({"plugins.ml_commons.model_access_control_enabled":true})");
    EXPECT_EQ(
        json::serialize(s.as("alice", "GET", "/_plugins/_ml/model_groups/" + gid).json().at("owner")),
        R"({"name":"alice","backend_roles":["analyst"],"roles":["ml_full_access"],"custom_attribute_names":[],"user_requested_tenant":null,"user_requested_tenant_access":"WRITE"})"
    );
    EXPECT_EQ(owner_hits("model_groups", "alice"), 1);
    EXPECT_TRUE(sources_have_owner("model_groups"));
    s.set_persistent(R"({"plugins.ml_commons.model_access_control_enabled":false})");
    // ACL fields while the switches are off: ml-commons' texts, nothing stored.
    auto acl_off = s.as(
        "alice",
        "POST",
        "/_plugins/_ml/connectors/_create",
        with_members(chat_connector(up), R"("access_mode":"public")")
    );
    expect_error(
        acl_off,
        400,
        "illegal_argument_exception",
        "You cannot specify connector access control parameters because the Security plugin or connector "
        "access "
        "control is disabled on your cluster."
    );

    s.set_persistent(R"({"plugins.ml_commons.connector_access_control_enabled":true})");
    expect_error(
        s.as("bob", "GET", "/_plugins/_ml/connectors/" + id),
        403,
        "status_exception",
        "You don't have permission to access this connector"
    );
    EXPECT_EQ(total_hits(search_ids(s, "bob", "connectors", id)), 0);
    auto shown = s.as("alice", "GET", "/_plugins/_ml/connectors/" + id);
    EXPECT_EQ(shown.status, 200);
    EXPECT_EQ(shown.json().at("owner").at("name").as_string(), "alice") << shown.body;
    EXPECT_EQ(owner_hits("connectors", "alice"), 1);
    EXPECT_EQ(s.as("admin", "GET", "/_plugins/_ml/connectors/" + id).status, 200);

    s.restart();
    expect_error(
        s.as("bob", "GET", "/_plugins/_ml/connectors/" + id),
        403,
        "status_exception",
        "You don't have permission to access this connector"
    );
    EXPECT_EQ(s.as("alice", "GET", "/_plugins/_ml/connectors/" + id).status, 200);
    auto refused = s.as("bob", "DELETE", "/_plugins/_ml/connectors/" + id);
    expect_error(refused, 500, "m_l_validation_exception", "You are not allowed to delete this connector");
    EXPECT_EQ(s.as("alice", "GET", "/_plugins/_ml/connectors/" + id).status, 200);
}

// /v1 sees exactly the models the caller may call: another user's private model looks nonexistent.
TEST(acl_openai, private_models_look_nonexistent_on_v1) {
    acl_server s;
    fake_upstream up;
    s.add_user("alice", {"analyst"});
    s.add_user("carol", {"finance"});
    s.set_persistent(
        R"({"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"],"plugins.ml_commons.connector.private_ip_enabled":true,"plugins.ml_commons.model_access_control_enabled":true})"
    );
    const auto cid =
        id_of(s.as("alice", "POST", "/_plugins/_ml/connectors/_create", chat_connector(up)), "connector_id");
    const auto mid = id_of(
        s.as(
            "alice",
            "POST",
            "/_plugins/_ml/models/_register?deploy=true",
            R"({"name":"alice-chat","function_name":"remote","connector_id":")" + cid + "\"}"
        ),
        "model_id"
    );
    const std::string chat = R"({"model":")" + mid + R"(","messages":[{"role":"user","content":"hi"}]})";
    EXPECT_EQ(s.as("alice", "POST", "/v1/chat/completions", chat).status, 200);
    const auto sent = up.request_count();
    auto denied = s.as("carol", "POST", "/v1/chat/completions", chat);
    EXPECT_EQ(denied.status, 404) << denied.body;
    EXPECT_EQ(denied.json().at("error").at("code").as_string(), "model_not_found");
    EXPECT_EQ(
        s.as("carol", "POST", "/v1/chat/completions", R"({"model":"alice-chat","messages":[]})").status, 404
    );
    EXPECT_EQ(up.request_count(), sent);
    EXPECT_EQ(s.as("alice", "GET", "/v1/models").body.find(mid) != std::string::npos, true);
    EXPECT_EQ(s.as("carol", "GET", "/v1/models").body.find(mid), std::string::npos);
    EXPECT_EQ(s.as("carol", "GET", "/v1/models/" + mid).status, 404);

    // A public model: a reader sees it through the ml API but cannot call it (no `predict` privilege), so
    // /v1 does not list or show it to the reader (R16); a user with `predict` gets it listed.
    const auto gid = id_of(
        s.as(
            "alice",
            "POST",
            "/_plugins/_ml/model_groups/_register",
            R"({"name":"shared","access_mode":"public"})"
        ),
        "model_group_id"
    );
    const auto pub = id_of(
        s.as(
            "alice",
            "POST",
            "/_plugins/_ml/models/_register?deploy=true",
            R"({"name":"shared-chat","function_name":"remote","connector_id":")" + cid +
                R"x(","model_group_id":")x" + gid + "\"}"
        ),
        "model_id"
    );
    s.add_user("rita", {"analyst"}, "", "ml_read_access");
    EXPECT_EQ(s.as("rita", "GET", "/_plugins/_ml/models/" + pub).status, 200);
    const std::string pub_chat = R"({"model":")" + pub + R"(","messages":[{"role":"user","content":"hi"}]})";
    EXPECT_EQ(s.as("rita", "POST", "/v1/chat/completions", pub_chat).status, 403);
    auto listed = s.as("rita", "GET", "/v1/models");
    EXPECT_EQ(listed.status, 200) << listed.body;
    EXPECT_EQ(listed.body.find(pub), std::string::npos) << listed.body;
    EXPECT_EQ(s.as("rita", "GET", "/v1/models/" + pub).status, 404);
    EXPECT_NE(s.as("carol", "GET", "/v1/models").body.find(pub), std::string::npos);
    EXPECT_EQ(s.as("carol", "GET", "/v1/models/" + pub).status, 200);
}

// R12–R14 with two tenants' users: tenant B can neither see nor change tenant A's data, through any route
// or a body `tenant_id`; the admin crosses only by naming the tenant; ACL still applies inside a tenant.
TEST(acl_tenancy, tenants_cannot_see_or_change_each_other) {
    acl_server s({"--multi-tenancy", "true"});
    fake_upstream up;
    s.add_user("ann", {"analyst"}, "acme");
    s.add_user("amy", {"finance"}, "acme");
    s.add_user("ben", {"analyst"}, "globex");
    s.set_persistent(
        R"({"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"],"plugins.ml_commons.connector.private_ip_enabled":true,"plugins.ml_commons.stream_enabled":true})"
    );
    const header_list acme{{"x-tenant-id", "acme"}};
    const header_list globex{{"x-tenant-id", "globex"}};
    const auto cid = id_of(
        s.as("ann", "POST", "/_plugins/_ml/connectors/_create", chat_connector(up), acme), "connector_id"
    );
    auto reg = s.as(
        "ann",
        "POST",
        "/_plugins/_ml/models/_register?deploy=true",
        R"({"name":"acme-chat","function_name":"remote","connector_id":")" + cid + "\"}",
        acme
    );
    const auto mid = id_of(reg, "model_id");
    const std::string task_id(reg.json().at("task_id").as_string());
    const auto gid = std::string(
        s.as("ann", "GET", "/_plugins/_ml/models/" + mid, "", acme).json().at("model_group_id").as_string()
    );
    const std::string predict_body = R"({"parameters":{"messages":[{"role":"user","content":"hi"}]}})";
    ASSERT_EQ(
        s.as("ann", "POST", "/_plugins/_ml/models/" + mid + "/_predict", predict_body, acme).status, 200
    );

    auto acme_state = [&] {
        std::string out;
        for (const auto& path :
             {"connectors/" + cid, "models/" + mid, "model_groups/" + gid, "tasks/" + task_id}) {
            auto g = s.as("admin", "GET", "/_plugins/_ml/" + path, "", acme);
            out += std::to_string(g.status) + g.body + "\n";
        }
        for (const char* what : {"connectors", "models", "model_groups", "tasks"}) {
            out += std::to_string(total_hits(s.as(
                       "admin",
                       "POST",
                       "/_plugins/_ml/" + std::string(what) + "/_search",
                       R"({"query":{"match_all":{}}})",
                       acme
                   ))) +
                   " ";
        }
        return out;
    };
    const auto before = acme_state();
    const auto sent = up.request_count();
    const std::string denied = "You don't have permission to access this resource";
    struct attempt {
        const char* method;
        std::string target;
        std::string body;
    };
    const std::vector<attempt> attempts{
        {"GET", "/_plugins/_ml/connectors/" + cid, ""},
        {"PUT", "/_plugins/_ml/connectors/" + cid, R"({"description":"globex was here"})"},
        {"DELETE", "/_plugins/_ml/connectors/" + cid, ""},
        {"GET", "/_plugins/_ml/model_groups/" + gid, ""},
        {"PUT", "/_plugins/_ml/model_groups/" + gid, R"({"description":"globex was here"})"},
        {"DELETE", "/_plugins/_ml/model_groups/" + gid, ""},
        {"GET", "/_plugins/_ml/models/" + mid, ""},
        {"PUT", "/_plugins/_ml/models/" + mid, R"({"description":"globex was here"})"},
        {"DELETE", "/_plugins/_ml/models/" + mid, ""},
        {"POST", "/_plugins/_ml/models/" + mid + "/_deploy", ""},
        {"POST", "/_plugins/_ml/models/" + mid + "/_undeploy", ""},
        {"POST", "/_plugins/_ml/models/_undeploy", R"({"model_ids":[")" + mid + "\"]}"},
        {"POST", "/_plugins/_ml/models/" + mid + "/_predict", predict_body},
        {"POST", "/_plugins/_ml/models/" + mid + "/_predict/stream", predict_body},
        {"GET", "/_plugins/_ml/tasks/" + task_id, ""},
        {"DELETE", "/_plugins/_ml/tasks/" + task_id, ""},
        {"POST",
         "/_plugins/_ml/models/_register",
         R"({"name":"stolen","function_name":"remote","connector_id":")" + cid + "\"}"},
    };
    for (const auto& a : attempts) {
        SCOPED_TRACE(std::string(a.method) + " " + a.target);
        expect_error(s.as("ben", a.method, a.target, a.body, globex), 403, "status_exception", denied);
        // Naming the other tenant does not help a non-admin (R12).
        expect_error(s.as("ben", a.method, a.target, a.body, acme), 403, "status_exception", denied);
    }
    for (const char* what : {"connectors", "models", "model_groups", "tasks"}) {
        EXPECT_EQ(
            total_hits(s.as(
                "ben",
                "POST",
                "/_plugins/_ml/" + std::string(what) + "/_search",
                R"({"query":{"match_all":{}}})",
                globex
            )),
            0
        ) << what;
    }
    expect_error(
        s.as("ben", "GET", "/_plugins/_ml/connectors/" + cid),
        403,
        "status_exception",
        "Tenant ID header is missing or has no value"
    );
    // /v1 takes the tenant from the principal: acme's model does not exist for ben.
    auto v1 = s.as(
        "ben",
        "POST",
        "/v1/chat/completions",
        R"({"model":")" + mid + R"(","messages":[{"role":"user","content":"hi"}]})"
    );
    EXPECT_EQ(v1.status, 404) << v1.body;
    EXPECT_EQ(acme_state(), before) << "another tenant changed stored data";
    EXPECT_EQ(up.request_count(), sent) << "another tenant's predict reached the upstream";

    // A body tenant_id is ignored: updates cannot move a resource, creates land in the caller's tenant.
    auto update = s.as(
        "ann", "PUT", "/_plugins/_ml/models/" + mid, R"({"description":"d2","tenant_id":"globex"})", acme
    );
    ASSERT_EQ(update.status, 200) << update.body;
    auto moved = s.as("admin", "GET", "/_plugins/_ml/models/" + mid, "", acme);
    EXPECT_EQ(moved.json().at("tenant_id").as_string(), "acme");
    EXPECT_EQ(moved.json().at("description").as_string(), "d2");
    auto planted = s.as(
        "ben",
        "POST",
        "/_plugins/_ml/connectors/_create",
        with_members(chat_connector(up), R"("tenant_id":"acme")"),
        globex
    );
    const auto bid = id_of(planted, "connector_id");
    EXPECT_EQ(
        s.as("ben", "GET", "/_plugins/_ml/connectors/" + bid, "", globex).json().at("tenant_id").as_string(),
        "globex"
    );
    expect_error(
        s.as("ann", "GET", "/_plugins/_ml/connectors/" + bid, "", acme), 403, "status_exception", denied
    );
    EXPECT_EQ(
        total_hits(
            s.as("ann", "POST", "/_plugins/_ml/connectors/_search", R"({"query":{"match_all":{}}})", acme)
        ),
        1
    );

    // all_access crosses only by naming the tenant, and then sees only that tenant.
    EXPECT_EQ(s.as("admin", "GET", "/_plugins/_ml/connectors/" + cid, "", acme).status, 200);
    expect_error(
        s.as("admin", "GET", "/_plugins/_ml/connectors/" + cid, "", globex), 403, "status_exception", denied
    );

    // R14: tenancy and model ACL are ANDed. Inside acme, amy (no shared role) cannot read ann's private
    // group.
    s.set_persistent(R"({"plugins.ml_commons.model_access_control_enabled":true})");
    const auto pg = id_of(
        s.as("ann", "POST", "/_plugins/_ml/model_groups/_register", R"({"name":"acme-private"})", acme),
        "model_group_id"
    );
    expect_error(
        s.as("amy", "GET", "/_plugins/_ml/model_groups/" + pg, "", acme),
        403,
        "status_exception",
        "User doesn't have privilege to perform this operation on this model group"
    );
    EXPECT_EQ(s.as("ann", "GET", "/_plugins/_ml/model_groups/" + pg, "", acme).status, 200);
}

// Security off (loopback default): no principal, ACL fields answer ml-commons' 400s and no owner is
// stored.
TEST(acl_security_off, acl_fields_are_refused_and_no_owner_is_stored) {
    temp_dir tmp;
    server_process server(tmp.path() / "data");
    server.start();
    http_client c(server.port());
    fake_upstream up;
    ASSERT_EQ(
        c.put(
             "/_cluster/settings",
             R"({"persistent":{"plugins.ml_commons.connector_access_control_enabled":true,"plugins.ml_commons.model_access_control_enabled":true,"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"]}})"
        )
            .status,
        200
    );
    const std::string connector_text =
        "You cannot specify connector access control parameters because the Security plugin or connector "
        "access "
        "control is disabled on your cluster.";
    const std::string model_text =
        "You cannot specify model access control parameters because the Security plugin or model access "
        "control is "
        "disabled on your cluster.";
    expect_error(
        c.post(
            "/_plugins/_ml/connectors/_create", with_members(chat_connector(up), R"("access_mode":"private")")
        ),
        400,
        "illegal_argument_exception",
        connector_text
    );
    expect_error(
        c.post(
            "/_plugins/_ml/connectors/_create", with_members(chat_connector(up), R"("backend_roles":["a"])")
        ),
        400,
        "illegal_argument_exception",
        connector_text
    );
    expect_error(
        c.post("/_plugins/_ml/model_groups/_register", R"({"name":"g","access_mode":"public"})"),
        400,
        "illegal_argument_exception",
        model_text
    );
    expect_error(
        c.post("/_plugins/_ml/model_groups/_register", R"({"name":"g","add_all_backend_roles":true})"),
        400,
        "illegal_argument_exception",
        model_text
    );
    const auto cid = id_of(c.post("/_plugins/_ml/connectors/_create", chat_connector(up)), "connector_id");
    expect_error(
        c.post(
            "/_plugins/_ml/models/_register",
            R"({"name":"m","function_name":"remote","connector_id":")" + cid + R"(","access_mode":"private"})"
        ),
        400,
        "illegal_argument_exception",
        model_text
    );
    const auto gid =
        id_of(c.post("/_plugins/_ml/model_groups/_register", R"({"name":"g"})"), "model_group_id");
    expect_error(
        c.put("/_plugins/_ml/model_groups/" + gid, R"({"backend_roles":["x"]})"),
        400,
        "illegal_argument_exception",
        model_text
    );
    expect_error(
        c.put("/_plugins/_ml/connectors/" + cid, R"({"access_mode":"public"})"),
        400,
        "illegal_argument_exception",
        connector_text
    );
    auto g = c.get("/_plugins/_ml/model_groups/" + gid).json().as_object();
    EXPECT_EQ(g.at("access").as_string(), "public");
    EXPECT_FALSE(g.contains("owner"));
    EXPECT_FALSE(g.contains("backend_roles"));
    auto conn = c.get("/_plugins/_ml/connectors/" + cid).json().as_object();
    EXPECT_FALSE(conn.contains("owner"));
    EXPECT_FALSE(conn.contains("access"));
    EXPECT_EQ(total_hits(c.post("/_plugins/_ml/model_groups/_search", R"({"query":{"match_all":{}}})")), 1);
}

}  // namespace
}  // namespace modelrelay::test
