// File: service_secrets_test.cpp
// Envelope encryption through the registry façade on real files and a real SQLite database (no sockets):
// the KEK on a new data directory, per-tenant data keys, refusals that change nothing (wrong, missing or
// loosely-permissioned KEK; a wrong or missing legacy master key), KEK rotation with its bad inputs, a
// fault in the middle and an interrupted rename, and the migration of data written by the pre-envelope
// version (tests/fixtures/v0_*, made by that version's binary).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "registry/inference_endpoint.hpp"
#include "registry/legacy_master_key.hpp"
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

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_key(const fs::path& p, std::string_view data, mode_t mode = 0400) {
    std::error_code ec;
    fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write, ec);
    {
        std::ofstream out(p, std::ios::binary | std::ios::trunc);
        out.write(data.data(), static_cast<std::streamsize>(data.size()));
    }
    ::chmod(p.c_str(), mode);
}

std::set<std::string> listing(const fs::path& dir) {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        const auto name = e.path().filename().string();
        // SQLite's come and go with a connection; LOCK is taken by every start (registry/dir_lock.hpp).
        if (!name.ends_with("-wal") && !name.ends_with("-shm") && name != "LOCK") {
            out.insert(name);
        }
    }
    return out;
}

std::string connector_body(std::string_view key) {
    return R"({"name":"c","version":"1","protocol":"http","credential":{"openAI_key":")" + std::string(key) +
           R"(","other":"o"},"actions":[{"action_type":"predict","method":"POST",
           "url":"https://example.com/v1/chat/completions","headers":{"Authorization":"Bearer ${credential.openAI_key}"},
           "request_body":"{}"}]})";
}

// The Authorization header a deployed model will send (credentials are bound at deploy time, or on the first
// call for a deployment restored at start-up).
std::string bound_authorization(const service& svc, const std::string& model_id) {
    const auto* d = svc.current()->deployed.find(model_id);
    if (d == nullptr) {
        return "<not deployed>";
    }
    auto connector = d->connector->get();
    if (!connector) {
        return "<" + connector.error().reason + ">";
    }
    for (const auto& [name, value] : (*connector)->actions.at(0).headers) {
        if (name == "Authorization") {
            return value.render({}).value();
        }
    }
    return "<no header>";
}

class secrets_test : public ::testing::Test {
protected:
    void SetUp() override { dir_ = tmp_.path() / "data"; }

    registry::result<std::unique_ptr<service>> open_service(const fs::path& kek_file = {}) {
        registry::service_options o;
        o.data_dir = dir_;
        o.kek_file = kek_file;
        o.notice = [this](const std::string& m) {
            notices_.push_back(m);
        };
        return service::open(std::move(o));
    }
    void open(const fs::path& kek_file = {}) {
        svc_.reset();
        notices_.clear();
        auto s = open_service(kek_file);
        ASSERT_TRUE(s) << s.error().reason;
        svc_ = std::move(*s);
        ASSERT_TRUE(svc_->put_settings(
            json::parse(R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"]}})"),
            false
        ));
    }
    std::string create_connector(std::string_view key, std::string tenant = "") {
        auto c = svc_->create_connector(
            json::parse(connector_body(key)).as_object(), caller{std::move(tenant), {}}
        );
        EXPECT_TRUE(c) << c.error().reason;
        return c ? std::string(c->at("connector_id").as_string()) : "";
    }
    std::string deploy_on(const std::string& connector_id, std::string tenant = "") {
        auto m = svc_->register_model(
            json::parse(R"({"name":"m","function_name":"remote","connector_id":")" + connector_id + R"("})")
                .as_object(),
            true,
            caller{std::move(tenant), {}}
        );
        EXPECT_TRUE(m) << m.error().reason;
        return m ? std::string(m->at("model_id").as_string()) : "";
    }
    std::string stored(kind k, const std::string& id, std::string_view key = "openAI_key") {
        const auto* r = svc_->current()->find(k, id);
        if (r == nullptr) {
            return "<missing>";
        }
        if (k == kind::inference_endpoint) {
            return std::string(r->doc().at("secret_settings").at("api_key").as_string());
        }
        const auto& holder = k == kind::model ? r->doc().at("connector").as_object() : r->doc();
        return std::string(holder.at("credential").at(key).as_string());
    }
    std::string put_endpoint(const std::string& id, std::string_view api_key, std::string tenant = "") {
        auto draft = registry::inference::prepare_create(
            id,
            std::string_view("completion"),
            json::parse(
                R"({"service":"openai","service_settings":{"api_key":")" + std::string(api_key) +
                R"(","model_id":"m","url":"https://example.com/v1/chat/completions"}})"
            )
        );
        EXPECT_TRUE(draft) << draft.error().reason;
        auto r = svc_->put_inference_endpoint(*draft, caller{std::move(tenant), {}});
        EXPECT_TRUE(r) << r.error().reason;
        return id;
    }
    std::string api_key_of(const std::string& id) {
        const auto* r = svc_->current()->find(kind::inference_endpoint, id);
        if (r == nullptr) {
            return "<missing>";
        }
        auto k = svc_->inference_api_key(*r);
        return k ? *k : "<error: " + k.error().reason + ">";
    }
    // The data keys and meta as stored, read with a separate connection after the service closed.
    std::vector<registry::stored_data_key> data_keys() {
        auto st = registry::store::open(dir_ / "modelrelay.db", registry::durability::normal, false);
        EXPECT_TRUE(st);
        return (*st)->load_data_keys();
    }
    std::optional<std::string> meta(std::string_view key) {
        auto st = registry::store::open(dir_ / "modelrelay.db", registry::durability::normal, false);
        EXPECT_TRUE(st);
        return (*st)->get_meta(key);
    }
    bool noticed(std::string_view fragment) const {
        for (const auto& n : notices_) {
            if (n.find(fragment) != std::string::npos) {
                return true;
            }
        }
        return false;
    }
    // Starting must fail with `fragment` in the reason and leave the directory exactly as it was.
    void expect_refused(std::string_view fragment, const fs::path& kek_file = {}) {
        svc_.reset();
        const auto files = listing(dir_);
        const auto db = read_all(dir_ / "modelrelay.db");
        auto s = open_service(kek_file);
        ASSERT_FALSE(s) << "started although it should not";
        EXPECT_EQ(s.error().code, errc::illegal_state);
        EXPECT_NE(s.error().reason.find(fragment), std::string::npos) << s.error().reason;
        EXPECT_EQ(listing(dir_), files);
        EXPECT_TRUE(read_all(dir_ / "modelrelay.db") == db) << "the database changed";
    }
    void copy_fixture(std::string_view name) {
        fs::copy(fs::path(MODELRELAY_SOURCE_DIR) / "tests/fixtures" / name, dir_);
        fs::permissions(dir_, fs::perms::owner_all);
        fs::permissions(dir_ / "master.key", fs::perms::owner_read | fs::perms::owner_write);
    }

    temp_dir tmp_;
    fs::path dir_;
    std::vector<std::string> notices_;
    std::unique_ptr<service> svc_;
};

// ---- new data directory, per-tenant keys ---------------------------------------------------------------

TEST_F(secrets_test, new_data_dir_gets_a_kek_file_and_v1_values_under_per_tenant_keys) {
    open();
    const auto kek_path = dir_ / "kek.key";
    struct stat st {};
    ASSERT_EQ(::stat(kek_path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0400U);
    EXPECT_EQ(fs::file_size(kek_path), 32U);
    EXPECT_TRUE(noticed("created a new key-encryption key file " + kek_path.string()));
    const auto kek_id = svc_->active_kek_id();
    for (const auto& n : notices_) {
        EXPECT_EQ(n.find(registry::base64_encode(read_all(kek_path))), std::string::npos) << n;
    }
    EXPECT_EQ(data_keys().size(), 0U);  // data keys come with the first secret of a tenant

    const auto plain = create_connector("sk-plain-tenant");
    const auto acme = create_connector("sk-acme", "acme");
    const auto acme2 = create_connector("sk-acme-2", "acme");
    const auto v = stored(kind::connector, plain);
    EXPECT_TRUE(v.starts_with("v1:" + kek_id + ":")) << v;
    auto dek_of = [](const std::string& value) {
        return value.substr(20, 16);
    };
    EXPECT_NE(dek_of(v), dek_of(stored(kind::connector, acme)));
    EXPECT_EQ(dek_of(stored(kind::connector, acme)), dek_of(stored(kind::connector, acme2)));
    const auto model = deploy_on(acme, "acme");
    EXPECT_EQ(bound_authorization(*svc_, model), "Bearer sk-acme");
    put_endpoint("e1", "sk-endpoint");
    EXPECT_EQ(api_key_of("e1"), "sk-endpoint");
    svc_.reset();

    const auto keys = data_keys();
    ASSERT_EQ(keys.size(), 2U);
    std::set<std::string> tenants;
    for (const auto& k : keys) {
        tenants.insert(k.tenant_id);
        EXPECT_EQ(k.kek_id, kek_id);
    }
    EXPECT_EQ(tenants, (std::set<std::string>{"", "acme"}));
    EXPECT_EQ(meta("kek_id").value_or(""), kek_id);
    EXPECT_FALSE(meta("master_key_check"));
    for (const auto& f : fs::directory_iterator(dir_)) {
        const auto bytes = read_all(f.path());
        for (std::string_view secret : {"sk-plain-tenant", "sk-acme", "sk-endpoint"}) {
            EXPECT_EQ(bytes.find(secret), std::string::npos) << secret << " in " << f.path();
        }
    }

    open();
    EXPECT_FALSE(noticed("created"));
    EXPECT_EQ(svc_->active_kek_id(), kek_id);
    EXPECT_EQ(bound_authorization(*svc_, model), "Bearer sk-acme");  // redeployed at start-up
    EXPECT_EQ(api_key_of("e1"), "sk-endpoint");
}

TEST_F(secrets_test, a_value_moved_to_another_resource_or_field_does_not_decrypt) {
    open();
    const auto a = create_connector("sk-a");
    const auto b = create_connector("sk-b");
    const auto model_b = deploy_on(b);
    ASSERT_TRUE(svc_->undeploy_models({model_b}, {}));
    // Swap: b's openAI_key gets a's ciphertext (someone with write access to the database).
    auto doc = svc_->current()->find(kind::connector, b)->doc();
    doc.at("credential").as_object()["openAI_key"] = stored(kind::connector, a);
    svc_.reset();
    {
        auto st = registry::store::open(dir_ / "modelrelay.db");
        ASSERT_TRUE(st);
        registry::resource r{b, "", 1, 1, registry::stored_doc(doc), {}};
        registry::batch batch;
        batch.puts.push_back(registry::make_row(kind::connector, r));
        ASSERT_TRUE((*st)->apply(batch));
    }
    open();
    auto d = svc_->deploy_model(model_b, {});
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().reason, "cannot decrypt the credentials of connector " + b);
    EXPECT_EQ(svc_->current()->deployed.find(model_b), nullptr);
}

// ---- refusals that change nothing ------------------------------------------------------------------

TEST_F(secrets_test, wrong_kek_refuses_to_start_and_changes_nothing) {
    open();
    create_connector("sk-x");
    svc_.reset();
    write_key(dir_ / "kek.key", std::string(32, 'w'));
    expect_refused("is not the one that wraps the data keys");
    // Even before any data key exists, the KEK of record is checked.
    fs::remove_all(dir_);
    open();
    svc_.reset();
    write_key(dir_ / "kek.key", std::string(32, 'w'));
    expect_refused("is not the one that wraps the data keys");
}

TEST_F(secrets_test, missing_kek_refuses_to_start_and_generates_none) {
    open();
    const auto c = create_connector("sk-x");
    svc_.reset();
    const auto saved = read_all(dir_ / "kek.key");
    fs::remove(dir_ / "kek.key");
    expect_refused("is missing");
    EXPECT_FALSE(fs::exists(dir_ / "kek.key"));
    write_key(dir_ / "kek.key", saved);
    open();
    EXPECT_EQ(bound_authorization(*svc_, deploy_on(c)), "Bearer sk-x");
}

TEST_F(secrets_test, a_data_dir_serves_one_registry_at_a_time) {
    open();
    create_connector("sk-held-by-the-first");
    auto second = open_service();
    ASSERT_FALSE(second) << "a second registry opened the same data directory";
    EXPECT_EQ(second.error().code, errc::illegal_state);
    EXPECT_EQ(
        second.error().reason,
        "data directory " + dir_.string() + " is in use by another modelrelay process (pid " +
            std::to_string(::getpid()) + "): " + (dir_ / "LOCK").string() +
            " is locked; stop that process first, or give this one its own --data-dir"
    );
    // A LOCK file deleted under the running registry does not let a second one in: the directory is
    // locked too.
    fs::remove(dir_ / "LOCK");
    auto third = open_service();
    ASSERT_FALSE(third) << "a second registry opened the data directory after its LOCK file was deleted";
    EXPECT_EQ(
        third.error().reason,
        "data directory " + dir_.string() + " is in use by another modelrelay process: " + dir_.string() +
            " is locked; stop that process first, or give this one its own --data-dir"
    );
    // Closing the first releases the directory.
    svc_.reset();
    open();
    EXPECT_EQ(svc_->current()->resources[static_cast<std::size_t>(kind::connector)].size(), 1U);
}

TEST_F(secrets_test, an_emptied_database_next_to_an_existing_kek_is_reported) {
    open();
    create_connector("sk-lost-with-the-db");
    svc_.reset();
    fs::remove(dir_ / "modelrelay.db");
    fs::remove(dir_ / "modelrelay.db-wal");
    fs::remove(dir_ / "modelrelay.db-shm");
    open();
    const auto warned = std::any_of(notices_.begin(), notices_.end(), [](const std::string& n) {
        return n.starts_with("warning: the registry database ") &&
               n.find("is empty but the key-encryption key file") != std::string::npos;
    });
    EXPECT_TRUE(warned);
    // A new data directory, or one restarted with its database intact, says nothing of the kind.
    svc_.reset();
    open();
    for (const auto& n : notices_) {
        EXPECT_FALSE(n.starts_with("warning:")) << n;
    }
}

TEST_F(secrets_test, kek_file_must_be_owner_read_only_and_can_live_outside_the_data_dir) {
    const auto keys = tmp_.path() / "keys";
    fs::create_directories(keys);
    const auto kek = keys / "modelrelay.kek";
    open(kek);
    EXPECT_TRUE(fs::exists(kek));
    EXPECT_FALSE(fs::exists(dir_ / "kek.key"));
    const auto c = create_connector("sk-outside");
    svc_.reset();
    for (mode_t bad : {0600, 0640, 0444}) {
        ::chmod(kek.c_str(), bad);
        expect_refused("chmod 0400 " + kek.string(), kek);
    }
    ::chmod(kek.c_str(), 0400);
    open(kek);
    EXPECT_EQ(bound_authorization(*svc_, deploy_on(c)), "Bearer sk-outside");
}

// ---- rotation ----------------------------------------------------------------------------------------

TEST_F(secrets_test, rotation_rewraps_every_data_key_and_retires_the_old_kek) {
    open();
    const auto c1 = create_connector("sk-one");
    const auto c2 = create_connector("sk-two", "acme");
    const auto m1 = deploy_on(c1);
    put_endpoint("e1", "sk-endpoint", "acme");
    const auto old_id = svc_->active_kek_id();
    const auto old_key = read_all(dir_ / "kek.key");

    auto r = svc_->rotate_kek(std::nullopt);
    ASSERT_TRUE(r) << r.error().reason;
    EXPECT_EQ(json::serialize(*r), R"({"rewrapped":2})");
    const auto new_id = svc_->active_kek_id();
    EXPECT_NE(new_id, old_id);
    EXPECT_EQ(
        listing(dir_), (std::set<std::string>{"kek.key", "kek.key.retired-" + old_id, "modelrelay.db"})
    );
    EXPECT_EQ(read_all(dir_ / ("kek.key.retired-" + old_id)), old_key);
    EXPECT_NE(read_all(dir_ / "kek.key"), old_key);
    // Live state is unaffected, and new values name the new KEK.
    EXPECT_EQ(bound_authorization(*svc_, m1), "Bearer sk-one");
    EXPECT_EQ(api_key_of("e1"), "sk-endpoint");
    EXPECT_TRUE(stored(kind::connector, create_connector("sk-three")).starts_with("v1:" + new_id + ":"));
    svc_.reset();

    const auto old_kek = registry::make_kek(registry::secret_key::from_bytes(old_key).value());
    for (auto row : data_keys()) {
        EXPECT_EQ(row.kek_id, new_id);
        EXPECT_FALSE(registry::unwrap_data_key(old_kek, row));
        row.kek_id = old_id;  // even relabelled, the old KEK opens nothing
        EXPECT_FALSE(registry::unwrap_data_key(old_kek, row));
    }
    EXPECT_EQ(meta("kek_id").value_or(""), new_id);

    fs::remove(dir_ / ("kek.key.retired-" + old_id));
    open();
    EXPECT_EQ(bound_authorization(*svc_, m1), "Bearer sk-one");
    EXPECT_EQ(bound_authorization(*svc_, deploy_on(c2, "acme")), "Bearer sk-two");
    EXPECT_EQ(api_key_of("e1"), "sk-endpoint");
}

TEST_F(secrets_test, rotation_to_an_operator_file_and_its_bad_inputs) {
    open();
    const auto c = create_connector("sk-op");
    const auto before_keys = data_keys();
    const auto before_files = listing(dir_);
    const auto op = tmp_.path() / "operator.kek";
    auto expect_400 = [&](const std::optional<fs::path>& source, std::string_view fragment) {
        auto r = svc_->rotate_kek(source);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, errc::illegal_argument);
        EXPECT_NE(r.error().reason.find(fragment), std::string::npos) << r.error().reason;
        EXPECT_EQ(listing(dir_), before_files);
        const auto now = data_keys();
        ASSERT_EQ(now.size(), before_keys.size());
        EXPECT_EQ(now[0].wrapped, before_keys[0].wrapped);
    };
    expect_400(fs::path("operator.kek"), "absolute path");
    expect_400(op, "cannot access");
    write_key(op, std::string(32, 'o'), 0644);
    expect_400(op, "chmod 0400");
    write_key(op, std::string(20, 'o'));
    expect_400(op, "32 raw bytes");
    write_key(op, read_all(dir_ / "kek.key"));
    expect_400(op, "is the active one");

    const auto next = registry::secret_key::generate();
    write_key(op, registry::base64_encode({reinterpret_cast<const char*>(next.data()), 32}) + "\n");
    auto r = svc_->rotate_kek(op);
    ASSERT_TRUE(r) << r.error().reason;
    EXPECT_EQ(svc_->active_kek_id(), registry::kek_id_of(next));
    EXPECT_TRUE(fs::exists(op));  // the operator's copy is theirs to remove
    EXPECT_EQ(read_all(dir_ / "kek.key"), std::string(reinterpret_cast<const char*>(next.data()), 32));
    open();
    EXPECT_EQ(bound_authorization(*svc_, deploy_on(c)), "Bearer sk-op");
}

TEST_F(secrets_test, a_fault_during_rotation_rolls_back_and_leaves_no_pending_file) {
    open();
    const auto c = create_connector("sk-f");
    create_connector("sk-g", "acme");
    const auto old_id = svc_->active_kek_id();
    const auto before_keys = data_keys();
    const auto before_files = listing(dir_);
    // begin + 2 data keys + 1 meta + commit = 5 statement steps.
    for (int n = 1; n <= 5; ++n) {
        int count = 0;
        svc_->underlying_store().set_fault_injector([&count, n] { return ++count == n; });
        auto r = svc_->rotate_kek(std::nullopt);
        svc_->underlying_store().set_fault_injector(nullptr);
        ASSERT_FALSE(r) << "statement " << n;
        EXPECT_EQ(svc_->active_kek_id(), old_id);
        EXPECT_EQ(listing(dir_), before_files) << "statement " << n;
        const auto keys = data_keys();
        ASSERT_EQ(keys.size(), 2U);
        EXPECT_EQ(keys[0].wrapped, before_keys[0].wrapped);
        EXPECT_EQ(keys[1].kek_id, old_id);
        EXPECT_TRUE(stored(kind::connector, create_connector("sk-after")).starts_with("v1:" + old_id));
    }
    open();
    EXPECT_EQ(svc_->active_kek_id(), old_id);
    EXPECT_EQ(bound_authorization(*svc_, deploy_on(c)), "Bearer sk-f");
}

TEST_F(secrets_test, start_completes_a_rotation_interrupted_between_commit_and_rename) {
    open();
    const auto c = create_connector("sk-crash");
    const auto old_id = svc_->active_kek_id();
    ASSERT_TRUE(svc_->rotate_kek(std::nullopt));
    const auto new_id = svc_->active_kek_id();
    svc_.reset();
    // The files as they were after the commit, before either rename.
    fs::rename(dir_ / "kek.key", dir_ / ("kek.key.pending-" + new_id));
    fs::rename(dir_ / ("kek.key.retired-" + old_id), dir_ / "kek.key");
    open();
    EXPECT_TRUE(noticed("completed an interrupted KEK rotation"));
    EXPECT_EQ(svc_->active_kek_id(), new_id);
    EXPECT_EQ(
        listing(dir_), (std::set<std::string>{"kek.key", "kek.key.retired-" + old_id, "modelrelay.db"})
    );
    EXPECT_EQ(bound_authorization(*svc_, deploy_on(c)), "Bearer sk-crash");
}

TEST_F(secrets_test, rotating_back_to_a_retired_key_and_out_again) {
    open();
    const auto c = create_connector("sk-back");
    const auto first = svc_->active_kek_id();
    ASSERT_TRUE(svc_->rotate_kek(std::nullopt));
    // Back to the first KEK from its retired copy, then away from it once more.
    const auto retired = tmp_.path() / "first.kek";
    fs::copy_file(dir_ / ("kek.key.retired-" + first), retired);
    auto back = svc_->rotate_kek(retired);
    ASSERT_TRUE(back) << back.error().reason;
    EXPECT_EQ(svc_->active_kek_id(), first);
    auto away = svc_->rotate_kek(std::nullopt);
    ASSERT_TRUE(away) << away.error().reason;
    EXPECT_TRUE(fs::exists(dir_ / ("kek.key.retired-" + first)));
    open();
    EXPECT_EQ(bound_authorization(*svc_, deploy_on(c)), "Bearer sk-back");
}

// ---- migration of v0 data -----------------------------------------------------------------------------

TEST_F(secrets_test, v0_data_dir_migrates_on_first_start_without_loss) {
    copy_fixture("v0_single");
    const auto master = read_all(dir_ / "master.key");
    open();
    EXPECT_TRUE(noticed("migrated 5 stored secret(s)")) << ::testing::PrintToString(notices_);
    EXPECT_TRUE(noticed("created a new key-encryption key file"));
    EXPECT_TRUE(noticed("renamed to " + (dir_ / "master.key.migrated").string()));
    EXPECT_FALSE(fs::exists(dir_ / "master.key"));
    EXPECT_EQ(read_all(dir_ / "master.key.migrated"), master);
    const auto id = svc_->active_kek_id();
    EXPECT_TRUE(stored(kind::connector, "legacy-connector-default").starts_with("v1:" + id + ":"));
    EXPECT_TRUE(stored(kind::connector, "legacy-connector-default", "extra").starts_with("v1:"));
    EXPECT_TRUE(stored(kind::model, "legacy-inline-default").starts_with("v1:"));
    EXPECT_TRUE(stored(kind::inference_endpoint, "legacy-completion-default").starts_with("v1:"));
    // Deployed at start-up with the migrated credentials; the endpoint's key readable.
    EXPECT_EQ(bound_authorization(*svc_, "legacy-model-default"), "Bearer sk-legacy-connector-default");
    EXPECT_EQ(bound_authorization(*svc_, "legacy-inline-default"), "Bearer sk-legacy-inline-default");
    EXPECT_EQ(api_key_of("legacy-completion-default"), "sk-legacy-inference-default");
    svc_.reset();
    EXPECT_FALSE(meta("master_key_check"));
    EXPECT_EQ(data_keys().size(), 1U);

    open();  // the second start has nothing left to migrate: its only notice is the start-up summary
    ASSERT_EQ(notices_.size(), 1U) << ::testing::PrintToString(notices_);
    EXPECT_EQ(notices_.front().rfind("registry loaded: ", 0), 0U) << notices_.front();
    EXPECT_EQ(bound_authorization(*svc_, "legacy-model-default"), "Bearer sk-legacy-connector-default");
}

TEST_F(secrets_test, v0_tenants_get_one_data_key_each) {
    copy_fixture("v0_tenants");
    open();
    EXPECT_TRUE(noticed("migrated 10 stored secret(s)")) << ::testing::PrintToString(notices_);
    for (std::string t : {"acme", "globex"}) {
        EXPECT_EQ(bound_authorization(*svc_, "legacy-model-" + t), "Bearer sk-legacy-connector-" + t);
        EXPECT_EQ(bound_authorization(*svc_, "legacy-inline-" + t), "Bearer sk-legacy-inline-" + t);
        EXPECT_EQ(api_key_of("legacy-completion-" + t), "sk-legacy-inference-" + t);
    }
    svc_.reset();
    std::set<std::string> tenants;
    for (const auto& k : data_keys()) {
        tenants.insert(k.tenant_id);
    }
    EXPECT_EQ(tenants, (std::set<std::string>{"acme", "globex"}));
}

TEST_F(secrets_test, v0_migration_refuses_without_or_with_a_wrong_master_key_and_changes_nothing) {
    copy_fixture("v0_single");
    const auto master = read_all(dir_ / "master.key");
    fs::remove(dir_ / "master.key");
    expect_refused("neither " + (dir_ / "master.key").string() + " nor MODELRELAY_MASTER_KEY");
    write_key(dir_ / "master.key", registry::secret_key::generate().to_base64() + "\n", 0600);
    expect_refused("master key does not match the key check value");
    EXPECT_FALSE(fs::exists(dir_ / "kek.key"));
    // The old schema is kept too: the previous version could still open this directory.
    {
        auto st = registry::store::open(dir_ / "modelrelay.db", registry::durability::normal, false);
        ASSERT_TRUE(st);
        EXPECT_EQ((*st)->schema_version(), 1);
    }
    write_key(dir_ / "master.key", master, 0600);
    open();
    EXPECT_EQ(api_key_of("legacy-completion-default"), "sk-legacy-inference-default");
}

// A v0 directory that never stored a secret needs no master key to migrate.
TEST_F(secrets_test, v0_data_dir_without_secrets_migrates_without_its_master_key) {
    fs::create_directories(dir_);
    {
        auto st = registry::store::open(dir_ / "modelrelay.db", registry::durability::normal, false);
        ASSERT_TRUE(st);
        ASSERT_TRUE((*st)->migrate_schema());  // stands in for v0's schema: its tables, no data_keys rows
        registry::batch b;
        b.meta_puts.emplace_back("master_key_check", "vhn/MpJ3xnkAV1+4kpiIyUd7T97CMDAvTAZ+oZbXTfg=");
        ASSERT_TRUE((*st)->apply(b));
    }
    open();
    EXPECT_TRUE(noticed("migrated 0 stored secret(s)")) << ::testing::PrintToString(notices_);
    EXPECT_TRUE(stored(kind::connector, create_connector("sk-after")).starts_with("v1:"));
    svc_.reset();
    EXPECT_FALSE(meta("master_key_check"));
}

TEST_F(secrets_test, v0_value_that_does_not_decrypt_refuses_the_migration) {
    copy_fixture("v0_single");
    {
        auto st = registry::store::open(dir_ / "modelrelay.db", registry::durability::normal, false);
        ASSERT_TRUE(st);
        for (auto& row : (*st)->load_all()) {
            if (row.kind == "connector") {
                auto doc = json::parse(row.doc).as_object();
                doc["credential"].as_object()["extra"] = "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
                row.doc = json::serialize(doc);
                registry::batch b;
                b.puts.push_back(row);
                ASSERT_TRUE((*st)->apply(b));
            }
        }
    }
    expect_refused("cannot migrate connector legacy-connector-default (credential.extra)");
    EXPECT_FALSE(fs::exists(dir_ / "kek.key"));
}

TEST_F(secrets_test, v0_master_key_from_the_environment_and_an_interrupted_rename) {
    copy_fixture("v0_single");
    const auto master = read_all(dir_ / "master.key");
    fs::remove(dir_ / "master.key");
    ASSERT_EQ(::setenv("MODELRELAY_MASTER_KEY", master.c_str(), 1), 0);
    open();
    ::unsetenv("MODELRELAY_MASTER_KEY");
    EXPECT_TRUE(noticed("MODELRELAY_MASTER_KEY is no longer used"));
    EXPECT_EQ(api_key_of("legacy-completion-default"), "sk-legacy-inference-default");
    svc_.reset();
    // A master.key found after the migration committed (crash before the rename, or restored by hand) is
    // renamed at the next start; an existing master.key.migrated is never overwritten.
    write_key(dir_ / "master.key", master, 0600);
    write_key(dir_ / "master.key.migrated", "older", 0600);
    open();
    EXPECT_TRUE(noticed("master.key is no longer used"));
    EXPECT_FALSE(fs::exists(dir_ / "master.key"));
    EXPECT_EQ(read_all(dir_ / "master.key.migrated"), "older");
    EXPECT_EQ(api_key_of("legacy-completion-default"), "sk-legacy-inference-default");
}

// Group commit (service::begin_writes): the group's writes see each other, nobody else sees them before the
// COMMIT, a write that fails inside the group fails alone, and everything lands together.
TEST_F(secrets_test, a_write_group_commits_together_and_only_then_becomes_visible) {
    open();
    ASSERT_TRUE(svc_->begin_writes());
    const auto a = create_connector("sk-ga");
    const auto seen_elsewhere = [&](const std::string& id) {
        bool seen = false;
        std::thread([&] { seen = svc_->current()->find(kind::connector, id) != nullptr; }).join();
        return seen;
    };
    EXPECT_NE(svc_->current()->find(kind::connector, a), nullptr);  // the group's own later writes see it
    EXPECT_FALSE(seen_elsewhere(a));
    auto bad = svc_->create_connector(
        json::parse(R"({"version":"1","protocol":"http","actions":[]})").as_object(), caller{}
    );
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().reason, "Connector name is null");
    const auto b = create_connector("sk-gb", "acme");  // acme's data key is created inside the group
    const auto m = deploy_on(b, "acme");
    EXPECT_FALSE(seen_elsewhere(b));
    ASSERT_TRUE(svc_->end_writes());
    EXPECT_TRUE(seen_elsewhere(a));
    EXPECT_TRUE(seen_elsewhere(b));
    open();
    EXPECT_EQ(bound_authorization(*svc_, deploy_on(a)), "Bearer sk-ga");
    EXPECT_EQ(bound_authorization(*svc_, m), "Bearer sk-gb");
}

// A COMMIT that fails takes the whole group with it: its rows, its snapshots and the data key it created
// (kept in memory, that key would encrypt later secrets under a key the database does not have).
TEST_F(secrets_test, a_failed_group_commit_undoes_the_group_and_forgets_its_new_data_keys) {
    open();
    const auto before = create_connector("sk-before");
    ASSERT_TRUE(svc_->begin_writes());
    const auto a = create_connector("sk-a");
    const auto b = create_connector("sk-b", "newco");
    int steps = 0;
    svc_->underlying_store().set_fault_injector([&steps] { return ++steps == 1; });  // the COMMIT
    auto r = svc_->end_writes();
    svc_->underlying_store().set_fault_injector(nullptr);
    ASSERT_FALSE(r);
    EXPECT_EQ(stored(kind::connector, a), "<missing>");
    EXPECT_EQ(stored(kind::connector, b), "<missing>");
    EXPECT_NE(stored(kind::connector, before), "<missing>");
    // Outside a group again: newco gets a data key that is stored, so its secrets survive a restart.
    const auto c = create_connector("sk-c", "newco");
    const auto m = deploy_on(c, "newco");
    open();
    EXPECT_EQ(stored(kind::connector, a), "<missing>");
    EXPECT_EQ(stored(kind::connector, b), "<missing>");
    EXPECT_EQ(bound_authorization(*svc_, m), "Bearer sk-c");
    EXPECT_EQ(bound_authorization(*svc_, deploy_on(before)), "Bearer sk-before");
}

}  // namespace
}  // namespace modelrelay::test
