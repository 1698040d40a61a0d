// File: startup_test.cpp
// Start-up at scale (docs/benchmarks.md, "Start-up"): the parallel helper; the bulk read of the stored rows
// on several threads gives the rows, their order and the first error of a read on one; a service reopened
// with one thread or several publishes the same snapshot; a deployment restored at start-up is deployed at
// once and compiles its connector on its first call, once, however many threads call at the same time.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "registry/bulk_load.hpp"
#include "registry/inference_endpoint.hpp"
#include "registry/parallel.hpp"
#include "registry/service.hpp"
#include "tests/support/server_process.hpp"

namespace modelrelay::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using registry::caller;
using registry::errc;
using registry::kind;
using registry::service;

// ---- parallel_for ---------------------------------------------------------------------------------

TEST(parallel_for, calls_every_index_exactly_once) {
    for (std::size_t count : {0U, 1U, 63U, 64U, 65U, 1000U}) {
        for (unsigned threads : {1U, 2U, 7U}) {
            std::vector<std::atomic<int>> hits(count);
            registry::parallel_for(
                count, threads, [&](std::size_t i) { hits[i].fetch_add(1); }, 16
            );
            for (std::size_t i = 0; i < count; ++i) {
                ASSERT_EQ(hits[i].load(), 1)
                    << "index " << i << " of " << count << ", " << threads << " threads";
            }
        }
    }
}

TEST(parallel_for, uses_several_threads_and_rethrows_after_joining) {
    std::mutex mu;
    std::set<std::thread::id> seen;
    std::atomic<int> calls{0};
    auto body = [&](std::size_t i) {
        {
            std::lock_guard lock(mu);
            seen.insert(std::this_thread::get_id());
        }
        calls.fetch_add(1);
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        if (i == 300) {
            throw std::runtime_error("bug");
        }
    };
    EXPECT_THROW(registry::parallel_for(1000, 4, body, 8), std::runtime_error);
    EXPECT_GT(seen.size(), 1U);
    EXPECT_LT(calls.load(), 1000);  // the hand-out stopped
}

// ---- load_resources -------------------------------------------------------------------------------

class bulk_load : public ::testing::Test {
protected:
    void SetUp() override {
        auto s = registry::store::open(tmp_.path() / "modelrelay.db");
        ASSERT_TRUE(s) << s.error().reason;
        store_ = std::move(*s);
    }
    void put(
        std::string k, std::string id, std::string doc, std::string tenant = "", std::string owner = ""
    ) {
        pending_.puts.push_back(
            {std::move(k),
             std::move(id),
             std::move(tenant),
             3,
             next_seq_++,
             std::move(doc),
             std::move(owner),
             "[]",
             0,
             0}
        );
        if (pending_.puts.size() == 500) {
            flush();
        }
    }
    void flush() {
        ASSERT_TRUE(store_->apply(pending_));
        pending_ = {};
    }
    // Several thousand rows of every kind, documents of different sizes, two tenants, owners.
    void fill() {
        char id[32];
        for (int i = 0; i < 1200; ++i) {
            std::snprintf(id, sizeof id, "c-%05d", i);
            put("connector",
                id,
                R"({"name":"c)" + std::to_string(i) + R"(","parameters":{"p":")" + std::string(i % 97, 'x') +
                    R"("},"actions":[{"action_type":"predict","url":"http://h/)" + std::to_string(i) +
                    R"("}]})",
                i % 2 == 0 ? "" : "acme",
                i % 3 == 0 ? "internal:alice" : "");
            std::snprintf(id, sizeof id, "m-%05d", i);
            put("model", id, R"({"name":"m","model_state":"REGISTERED","n":)" + std::to_string(i) + "}");
            std::snprintf(id, sizeof id, "t-%05d", i);
            put("task", id, R"({"state":"COMPLETED","list":[1,2,{"k":null}]})");
        }
        put("model_group", "g-1", R"({"name":"g"})");
        put("inference_endpoint", "e-1", R"({"inference_id":"e-1"})");
        flush();
    }
    std::vector<std::string> flattened(const std::vector<registry::loaded_resource>& rows) {
        std::vector<std::string> out;
        for (const auto& r : rows) {
            out.push_back(
                std::string(registry::kind_name(r.k)) + "|" + r.res->id + "|" + r.res->tenant_id + "|" +
                std::to_string(r.res->version) + "|" + std::to_string(r.res->seq_no) + "|" +
                r.res->owner_key + "|" + json::serialize(r.res->doc())
            );
        }
        return out;
    }

    temp_dir tmp_;
    std::unique_ptr<registry::store> store_;
    registry::batch pending_;
    std::int64_t next_seq_ = 0;
};

TEST_F(bulk_load, every_thread_count_gives_the_same_rows_in_key_order) {
    fill();
    auto one = registry::load_resources(*store_, 1);
    ASSERT_TRUE(one) << one.error().reason;
    ASSERT_EQ(one->size(), 3602U);
    const auto expected = flattened(*one);
    std::vector<std::pair<std::string, std::string>> keys;
    for (const auto& r : *one) {
        keys.emplace_back(std::string(registry::kind_name(r.k)), r.res->id);
    }
    EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
    EXPECT_EQ(expected.front().rfind("connector|c-00000||3|0|internal:alice|{", 0), 0U) << expected.front();
    for (unsigned threads : {2U, 3U, 8U}) {
        for (int round = 0; round < 3; ++round) {
            auto many = registry::load_resources(*store_, threads);
            ASSERT_TRUE(many) << many.error().reason;
            ASSERT_EQ(flattened(*many), expected) << threads << " threads";
        }
    }
}

TEST_F(bulk_load, the_first_corrupt_row_in_key_order_is_the_error_whatever_the_thread_count) {
    fill();
    put("task", "t-00005", "not json");
    put("model", "m-00100", R"(["an array"])");
    put("widget", "w-1", "{}");
    flush();
    for (unsigned threads : {1U, 2U, 8U}) {
        auto r = registry::load_resources(*store_, threads);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, errc::internal);
        EXPECT_EQ(r.error().reason, "corrupt row model/m-00100 in the database") << threads << " threads";
    }
}

TEST_F(bulk_load, an_unknown_kind_is_a_corrupt_row) {
    put("widget", "w-1", "{}");
    flush();
    auto r = registry::load_resources(*store_, 2);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, "corrupt row widget/w-1 in the database");
}

TEST_F(bulk_load, connectors_and_tasks_stay_text_until_read_and_are_still_checked) {
    fill();
    auto rows = registry::load_resources(*store_, 2);
    ASSERT_TRUE(rows) << rows.error().reason;
    std::map<kind, std::pair<int, int>> text_and_tree;
    for (const auto& r : *rows) {
        auto& [text, tree] = text_and_tree[r.k];
        (r.res->document.is_parsed() ? tree : text) += 1;
    }
    EXPECT_EQ(text_and_tree[kind::connector], std::make_pair(1200, 0));
    EXPECT_EQ(text_and_tree[kind::task], std::make_pair(1200, 0));
    EXPECT_EQ(text_and_tree[kind::model], std::make_pair(0, 1200));
    EXPECT_EQ(text_and_tree[kind::model_group], std::make_pair(0, 1));

    // A connector with a credential not sealed the current way is a tree from the start: start-up
    // migrates it (service_secrets_test has the migration).
    put("connector", "c-00003", R"({"name":"old","credential":{"key":"AAAA"}})");
    put("connector", "c-00004", R"({"name":"new","credential":{"key":"v1:k:n:c"}})");
    flush();
    auto again = registry::load_resources(*store_, 2);
    ASSERT_TRUE(again) << again.error().reason;
    for (const auto& r : *again) {
        if (r.k == kind::connector && (r.res->id == "c-00003" || r.res->id == "c-00004")) {
            EXPECT_EQ(r.res->document.is_parsed(), r.res->id == "c-00003");
        }
    }

    // The text kinds are refused at start-up as the parsed ones are: a root that is not an object, data
    // after the document, nesting past the parser's limit.
    std::string too_deep = R"({"a":)";
    too_deep.append(40, '[').append(40, ']').append("}");
    for (const std::string& bad :
         std::vector<std::string>{R"(["an array"])", R"({"a":1} {"b":2})", too_deep}) {
        put("connector", "c-00007", bad);
        flush();
        auto r = registry::load_resources(*store_, 2);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().reason, "corrupt row connector/c-00007 in the database");
    }
}

TEST(bulk_load_fresh, a_database_not_yet_migrated_has_no_rows) {
    temp_dir tmp;
    auto s = registry::store::open(tmp.path() / "new.db", registry::durability::normal, false);
    ASSERT_TRUE(s);
    auto r = registry::load_resources(**s, 4);
    ASSERT_TRUE(r) << r.error().reason;
    EXPECT_TRUE(r->empty());
}

// ---- connector_slot --------------------------------------------------------------------------------

std::shared_ptr<const registry::compiled_connector> some_connector() {
    auto c = registry::compile_connector(
        json::parse(R"({"protocol":"http","actions":[{"action_type":"PREDICT","url":"http://h/x"}]})")
            .as_object(),
        {}
    );
    return std::make_shared<const registry::compiled_connector>(std::move(c.value()));
}

TEST(connector_slot, a_deferred_compile_runs_once_however_many_threads_ask_at_once) {
    std::atomic<int> compiles{0};
    registry::connector_slot slot(
        [&]() -> registry::result<std::shared_ptr<const registry::compiled_connector>> {
            compiles.fetch_add(1);
            std::this_thread::sleep_for(std::chrono::milliseconds(20));  // everyone else arrives meanwhile
            return some_connector();
        }
    );
    EXPECT_FALSE(slot.compiled());
    std::vector<const registry::compiled_connector*> got(16, nullptr);
    std::vector<std::thread> callers;
    for (std::size_t i = 0; i < got.size(); ++i) {
        callers.emplace_back([&, i] { got[i] = slot.get().value(); });
    }
    for (auto& t : callers) {
        t.join();
    }
    EXPECT_EQ(compiles.load(), 1);
    EXPECT_TRUE(slot.compiled());
    ASSERT_NE(got.front(), nullptr);
    for (const auto* p : got) {
        EXPECT_EQ(p, got.front());
    }
    EXPECT_EQ(got.front()->actions.at(0).action_type, "PREDICT");
}

TEST(connector_slot, a_failed_compile_gives_the_same_error_every_time_without_running_again) {
    int compiles = 0;
    registry::connector_slot slot(
        [&]() -> registry::result<std::shared_ptr<const registry::compiled_connector>> {
            ++compiles;
            return registry::error{errc::internal, "cannot decrypt the credentials of connector c1"};
        }
    );
    for (int i = 0; i < 3; ++i) {
        auto r = slot.get();
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, errc::internal);
        EXPECT_EQ(r.error().reason, "cannot decrypt the credentials of connector c1");
    }
    EXPECT_EQ(compiles, 1);
}

TEST(connector_slot, a_deploy_is_compiled_from_the_start) {
    auto c = some_connector();
    registry::connector_slot slot(c);
    EXPECT_TRUE(slot.compiled());
    EXPECT_EQ(slot.get().value(), c.get());
}

// ---- the service at start-up ----------------------------------------------------------------------

std::string connector_body(std::string_view key, std::string_view model) {
    return R"({"name":"c","version":"1","protocol":"http","parameters":{"model":")" + std::string(model) +
           R"("},"credential":{"openAI_key":")" + std::string(key) + R"("},
           "actions":[{"action_type":"predict","method":"POST","url":"https://example.com/v1/chat/completions",
           "headers":{"Authorization":"Bearer ${credential.openAI_key}"},
           "request_body":"{ \"model\": \"${parameters.model}\" }"}]})";
}

std::string inline_model_body(std::string_view key) {
    return R"({"name":"inline","function_name":"remote","connector":{"name":"i","version":"1","protocol":"http",
           "credential":{"openAI_key":")" +
           std::string(key) + R"("},
           "actions":[{"action_type":"predict","method":"POST","url":"https://example.com/v1/chat/completions",
           "headers":{"Authorization":"Bearer ${credential.openAI_key}"},"request_body":"{}"}]}})";
}

class startup : public ::testing::Test {
protected:
    void SetUp() override { dir_ = tmp_.path() / "data"; }

    void open(unsigned threads) {
        svc_.reset();
        notices_.clear();
        registry::service_options o;
        o.data_dir = dir_;
        o.load_threads = threads;
        o.notice = [this](const std::string& m) {
            notices_.push_back(m);
        };
        auto s = service::open(std::move(o));
        ASSERT_TRUE(s) << s.error().reason;
        svc_ = std::move(*s);
    }
    std::string create_connector(std::string_view key, std::string tenant, std::string_view model = "m") {
        auto c =
            svc_->create_connector(json::parse(connector_body(key, model)).as_object(), caller{tenant, {}});
        EXPECT_TRUE(c) << c.error().reason;
        return c ? std::string(c->at("connector_id").as_string()) : "";
    }
    std::string register_on(const std::string& connector_id, std::string tenant, bool deploy) {
        auto m = svc_->register_model(
            json::parse(R"({"name":"m","function_name":"remote","connector_id":")" + connector_id + R"("})")
                .as_object(),
            deploy,
            caller{std::move(tenant), {}}
        );
        EXPECT_TRUE(m) << m.error().reason;
        return m ? std::string(m->at("model_id").as_string()) : "";
    }
    // Two tenants, each with connectors carrying their own credential, models sharing a connector, a model
    // with an inline connector, an undeployed model. Returns model id -> the Authorization it must send
    // ("" when not deployed).
    std::map<std::string, std::string> fill() {
        open(1);
        EXPECT_TRUE(svc_->put_settings(
            json::parse(R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"]}})"),
            false
        ));
        std::map<std::string, std::string> expected;
        for (std::string tenant : {"acme", "globex"}) {
            for (int i = 0; i < 20; ++i) {
                const std::string key = "sk-" + tenant + "-" + std::to_string(i);
                const auto c = create_connector(key, tenant, "model-" + std::to_string(i));
                expected[register_on(c, tenant, true)] = "Bearer " + key;
                if (i % 5 == 0) {
                    expected[register_on(c, tenant, true)] = "Bearer " + key;  // shares the connector
                    expected[register_on(c, tenant, false)] = "";
                }
            }
            for (int i = 0; i < 5; ++i) {
                const std::string id = "endpoint-" + tenant + "-" + std::to_string(i);
                auto draft = registry::inference::prepare_create(
                    id,
                    std::string_view("completion"),
                    json::parse(
                        R"({"service":"openai","service_settings":{"api_key":"sk-endpoint-)" + id +
                        R"(","model_id":"m","url":"https://example.com/v1/chat/completions"}})"
                    )
                );
                EXPECT_TRUE(draft) << draft.error().reason;
                EXPECT_TRUE(svc_->put_inference_endpoint(*draft, caller{tenant, {}}));
                endpoints_.push_back(id);
            }
            auto m = svc_->register_model(
                json::parse(inline_model_body("sk-inline-" + tenant)).as_object(), true, caller{tenant, {}}
            );
            EXPECT_TRUE(m) << m.error().reason;
            expected[std::string(m->at("model_id").as_string())] = "Bearer sk-inline-" + tenant;
        }
        return expected;
    }
    std::string authorization_of(const std::string& model_id) {
        const auto* d = svc_->current()->deployed.find(model_id);
        if (d == nullptr) {
            return "";
        }
        auto c = d->connector->get();
        if (!c) {
            return "<" + c.error().reason + ">";
        }
        for (const auto& [name, value] : (*c)->actions.at(0).headers) {
            if (name == "Authorization") {
                return value.render({}).value();
            }
        }
        return "<no header>";
    }
    // Everything a reader can see, as text.
    std::vector<std::string> view_of(const registry::snapshot& s) {
        std::vector<std::string> out;
        for (auto k :
             {kind::connector, kind::model_group, kind::model, kind::task, kind::inference_endpoint}) {
            s.of(k).for_each([&](const std::string& id, const registry::resource& r) {
                out.push_back(
                    std::string(registry::kind_name(k)) + "|" + id + "|" + r.tenant_id + "|" +
                    std::to_string(r.version) + "|" + std::to_string(r.seq_no) + "|" + r.owner_key + "|" +
                    json::serialize(r.doc())
                );
            });
            out.push_back("next " + std::to_string(s.next_seq_no[static_cast<std::size_t>(k)]));
        }
        s.deployed.for_each([&](const std::string& id, const registry::deployed_model& d) {
            out.push_back(
                "deployed|" + id + "|" + d.tenant_id + "|" + d.connector_id + "|" +
                std::to_string(d.ttl_minutes) + "|" + d.acl->tenant_id + "|" + d.acl->id
            );
        });
        std::sort(out.begin(), out.end());
        return out;
    }

    temp_dir tmp_;
    fs::path dir_;
    std::vector<std::string> notices_;
    std::vector<std::string> endpoints_;
    std::unique_ptr<service> svc_;
};

TEST_F(startup, one_thread_or_several_publish_the_same_snapshot_and_every_deployment_is_restored) {
    const auto expected = fill();
    const auto before = view_of(*svc_->current());
    for (unsigned threads : {1U, 4U}) {
        open(threads);
        EXPECT_EQ(view_of(*svc_->current()), before) << threads << " threads";
        for (const auto& [model, authorization] : expected) {
            EXPECT_EQ(authorization_of(model), authorization) << model << ", " << threads << " threads";
        }
        // _inference keys are bound (decrypted) at start-up, on every thread.
        ASSERT_EQ(svc_->current()->inference_keys.size(), endpoints_.size());
        for (const auto& id : endpoints_) {
            const auto* b = svc_->current()->inference_keys.find(id);
            ASSERT_NE(b, nullptr) << id;
            EXPECT_EQ(b->plain, "sk-endpoint-" + id);
        }
        ASSERT_EQ(notices_.size(), 1U);
        EXPECT_NE(notices_.front().find("registry loaded: "), std::string::npos) << notices_.front();
        EXPECT_NE(notices_.front().find(" models deployed"), std::string::npos) << notices_.front();
        EXPECT_EQ(notices_.front().find("sk-"), std::string::npos) << notices_.front();
    }
}

TEST_F(startup, restored_models_on_one_connector_share_one_compile_made_on_the_first_call) {
    open(2);
    ASSERT_TRUE(svc_->put_settings(
        json::parse(R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"]}})"),
        false
    ));
    const auto c = create_connector("sk-shared", "");
    const auto a = register_on(c, "", true);
    const auto b = register_on(c, "", true);
    // A deploy compiles at once, one connector per deploy.
    EXPECT_TRUE(svc_->current()->deployed.find(a)->connector->compiled());
    EXPECT_NE(svc_->current()->deployed.find(a)->connector, svc_->current()->deployed.find(b)->connector);
    open(2);
    const auto* da = svc_->current()->deployed.find(a);
    const auto* db = svc_->current()->deployed.find(b);
    ASSERT_NE(da, nullptr);
    ASSERT_NE(db, nullptr);
    EXPECT_EQ(da->connector, db->connector);
    EXPECT_FALSE(da->connector->compiled());
    EXPECT_EQ(authorization_of(b), "Bearer sk-shared");
    EXPECT_TRUE(da->connector->compiled());
    EXPECT_EQ(da->connector->get().value(), db->connector->get().value());
    // An update of the connector is refused while they are deployed, so the restored compile cannot go stale.
    auto u = svc_->update_connector(c, json::parse(R"({"description":"x"})").as_object(), {});
    ASSERT_FALSE(u);
    EXPECT_NE(u.error().reason.find("models are still using this connector"), std::string::npos);
}

TEST_F(
    startup, a_model_whose_connector_is_gone_is_not_restored_and_a_tampered_credential_fails_its_first_call
) {
    open(1);
    ASSERT_TRUE(svc_->put_settings(
        json::parse(R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"]}})"),
        false
    ));
    const auto gone = create_connector("sk-gone", "");
    const auto orphan = register_on(gone, "", true);
    const auto a = create_connector("sk-a", "");
    const auto b = create_connector("sk-b", "");
    const auto tampered = register_on(b, "", true);
    // b's credential gets a's ciphertext (someone with write access to the database); `gone` disappears.
    auto doc = svc_->current()->find(kind::connector, b)->doc();
    doc.at("credential").as_object()["openAI_key"] =
        svc_->current()->find(kind::connector, a)->doc().at("credential").at("openAI_key");
    svc_.reset();
    {
        auto st = registry::store::open(dir_ / "modelrelay.db");
        ASSERT_TRUE(st);
        registry::resource r{b, "", 1, 1, registry::stored_doc(doc), {}};
        registry::batch batch;
        batch.puts.push_back(registry::make_row(kind::connector, r));
        batch.erases.emplace_back("connector", gone);
        ASSERT_TRUE((*st)->apply(batch));
    }
    open(2);
    EXPECT_EQ(svc_->current()->deployed.find(orphan), nullptr);
    // Compiling is deferred to the first call, so that call gets the error a deploy would have given.
    ASSERT_NE(svc_->current()->deployed.find(tampered), nullptr);
    EXPECT_EQ(authorization_of(tampered), "<cannot decrypt the credentials of connector " + b + ">");
}

}  // namespace
}  // namespace modelrelay::test
