// File: envelope_test.cpp
// Envelope encryption against the real binary, real files and a fake upstream over real sockets
// (security.md §7, R21, R22): the KEK file on a new data directory and its mode, refusals at start-up, the
// migration of a data directory written by the pre-envelope binary (tests/fixtures/v0_*), KEK rotation over
// HTTP followed by deleting the old KEK and restarting, what a database copy plus the old KEK is worth, a
// rotation interrupted between its commit and its rename, and credential rotation without undeploy.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "registry/crypto.hpp"
#include "registry/keyring.hpp"
#include "registry/store.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/server_process.hpp"

namespace modelrelay::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

using headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* settings = R"({"persistent":{
    "plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"],
    "plugins.ml_commons.connector.private_ip_enabled":true}})";
constexpr const char* rotate_path = "/_plugins/_modelrelay/_rotate_kek";

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_key(const fs::path& p, std::string_view data, mode_t mode = 0400) {
    {
        std::ofstream out(p, std::ios::binary | std::ios::trunc);
        out.write(data.data(), static_cast<std::streamsize>(data.size()));
    }
    ::chmod(p.c_str(), mode);
}

mode_t mode_of(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
}

std::string encodings_of(const std::string& raw_key) {
    return registry::base64_encode(raw_key);
}

// A connector for the fake upstream with an Authorization header from the credential.
std::string connector_for(const fake_upstream& up, std::string_view key) {
    return R"({"name":"env","version":"1","protocol":"http","parameters":{"model":"m"},
      "credential":{"openAI_key":")" +
           std::string(key) + R"("},
      "actions":[{"action_type":"predict","method":"POST","url":")" +
           up.url("/v1/chat/completions") + R"(",
        "headers":{"Authorization":"Bearer ${credential.openAI_key}"},
        "request_body":"{ \"model\": \"${parameters.model}\", \"messages\": ${parameters.messages} }"}]})";
}

constexpr const char* chat = R"({"parameters":{"messages":[{"role":"user","content":"hi"}]}})";

class envelope : public ::testing::Test {
protected:
    void SetUp() override { data_ = tmp_.path() / "data"; }

    void start(std::map<std::string, std::string> env = {}, std::vector<std::string> args = {}) {
        server_ = std::make_unique<server_process>(data_, std::move(env), std::move(args));
        server_->start();
        client_ = std::make_unique<http_client>(server_->port());
    }
    void restart() {
        server_->restart();
        client_ = std::make_unique<http_client>(server_->port());
    }
    http_client& c() { return *client_; }

    // Copies a fixture written by the pre-envelope binary; its _inference endpoints are pointed at our
    // fake upstream (the url is a plain setting, not part of any secret).
    void use_fixture(std::string_view name) {
        fs::copy(fs::path(MODELRELAY_SOURCE_DIR) / "tests/fixtures" / name, data_);
        fs::permissions(data_, fs::perms::owner_all);
        fs::permissions(data_ / "master.key", fs::perms::owner_read | fs::perms::owner_write);
        auto st = registry::store::open(data_ / "modelrelay.db", registry::durability::normal, false);
        ASSERT_TRUE(st);
        for (auto& row : (*st)->load_all()) {
            if (row.kind != "inference_endpoint") {
                continue;
            }
            auto doc = json::parse(row.doc).as_object();
            doc["service_settings"].as_object()["url"] = upstream_.url("/v1/chat/completions");
            row.doc = json::serialize(doc);
            registry::batch b;
            b.puts.push_back(row);
            ASSERT_TRUE((*st)->apply(b));
        }
    }
    // Creates a connector and a deployed model on it; returns the model id.
    std::string deployed_model(std::string_view key) {
        auto r = c().post("/_plugins/_ml/connectors/_create", connector_for(upstream_, key));
        EXPECT_EQ(r.status, 200) << r.body;
        const std::string cid(r.json().at("connector_id").as_string());
        auto m = c().post(
            "/_plugins/_ml/models/_register?deploy=true",
            R"({"name":"env-model","function_name":"remote","connector_id":")" + cid + R"("})"
        );
        EXPECT_EQ(m.status, 200) << m.body;
        return std::string(m.json().at("model_id").as_string());
    }
    void put_endpoint(const std::string& id, std::string_view key) {
        auto r = c().put(
            "/_inference/completion/" + id,
            R"({"service":"openai","service_settings":{"api_key":")" + std::string(key) +
                R"(","model_id":"m","url":")" + upstream_.url("/v1/chat/completions") + R"("}})"
        );
        ASSERT_EQ(r.status, 200) << r.body;
    }
    // The Authorization header the upstream received for one predict, or the error.
    std::string predict_auth(
        const std::string& model_id, std::string_view body = chat, const headers& h = {}
    ) {
        upstream_.clear_requests();
        auto p = c().request("POST", "/_plugins/_ml/models/" + model_id + "/_predict", body, h);
        if (p.status != 200) {
            return "status " + std::to_string(p.status) + ": " + p.body;
        }
        auto seen = upstream_.last_request();
        return seen ? std::string(seen->header("authorization")) : "<no upstream request>";
    }
    std::string infer_auth(const std::string& id, const headers& h = {}) {
        upstream_.clear_requests();
        auto p = c().request("POST", "/_inference/completion/" + id, R"({"input":"hi"})", h);
        if (p.status != 200) {
            return "status " + std::to_string(p.status) + ": " + p.body;
        }
        auto seen = upstream_.last_request();
        return seen ? std::string(seen->header("authorization")) : "<no upstream request>";
    }

    temp_dir tmp_;
    fs::path data_;
    fake_upstream upstream_;
    std::unique_ptr<server_process> server_;
    std::unique_ptr<http_client> client_;
};

// ---- the KEK file -------------------------------------------------------------------------------------

TEST_F(envelope, new_data_dir_creates_a_0400_kek_and_logs_it_without_the_key) {
    start();
    const auto kek = data_ / "kek.key";
    EXPECT_EQ(mode_of(kek), 0400U);
    EXPECT_EQ(fs::file_size(kek), 32U);
    const auto log = server_->log();
    EXPECT_NE(log.find("created a new key-encryption key file " + kek.string()), std::string::npos) << log;
    EXPECT_EQ(log.find(encodings_of(read_all(kek))), std::string::npos);
    EXPECT_FALSE(fs::exists(data_ / "master.key"));
    restart();
    EXPECT_EQ(server_->log().find("created a new key-encryption key file", log.size()), std::string::npos);
}

TEST_F(envelope, kek_file_flag_and_environment_and_a_loose_mode_is_refused) {
    const auto keys = tmp_.path() / "keys";
    fs::create_directories(keys);
    const auto by_flag = keys / "flag.kek";
    start({}, {"--kek-file", by_flag.string()});
    ASSERT_EQ(c().put("/_cluster/settings", settings).status, 200);
    const auto model = deployed_model("sk-flag");
    EXPECT_TRUE(fs::exists(by_flag));
    EXPECT_FALSE(fs::exists(data_ / "kek.key"));
    server_->stop();

    ::chmod(by_flag.c_str(), 0644);
    server_process loose(data_, {}, {"--kek-file", by_flag.string()});
    EXPECT_NE(loose.start_expect_failure(), 0);
    EXPECT_NE(loose.log().find("chmod 0400 " + by_flag.string()), std::string::npos) << loose.log();
    ::chmod(by_flag.c_str(), 0400);

    // The same file through MODELRELAY_KEK_FILE.
    start({{"MODELRELAY_KEK_FILE", by_flag.string()}});
    EXPECT_EQ(predict_auth(model), "Bearer sk-flag");
}

TEST_F(envelope, missing_or_wrong_kek_is_a_startup_error_that_changes_nothing) {
    start();
    ASSERT_EQ(c().put("/_cluster/settings", settings).status, 200);
    const auto model = deployed_model("sk-keep");
    server_->stop();
    const auto kek = read_all(data_ / "kek.key");
    const auto db = read_all(data_ / "modelrelay.db");

    fs::remove(data_ / "kek.key");
    server_process missing(data_);
    EXPECT_NE(missing.start_expect_failure(), 0);
    EXPECT_NE(missing.log().find("kek.key is missing"), std::string::npos) << missing.log();
    EXPECT_FALSE(fs::exists(data_ / "kek.key"));  // never a silent new key

    write_key(data_ / "kek.key", std::string(32, 'w'));
    server_process wrong(data_);
    EXPECT_NE(wrong.start_expect_failure(), 0);
    EXPECT_NE(wrong.log().find("is not the one that wraps the data keys"), std::string::npos) << wrong.log();
    EXPECT_TRUE(read_all(data_ / "modelrelay.db") == db);

    fs::permissions(data_ / "kek.key", fs::perms::owner_write);
    write_key(data_ / "kek.key", kek);
    start();
    EXPECT_EQ(predict_auth(model), "Bearer sk-keep");
}

// ---- migration from the pre-envelope format ------------------------------------------------------------

TEST_F(envelope, data_dir_of_the_previous_version_migrates_and_predicts) {
    use_fixture("v0_single");
    start();
    const auto log = server_->log();
    EXPECT_NE(log.find("migrated 5 stored secret(s) from the master key"), std::string::npos) << log;
    EXPECT_NE(log.find("master.key.migrated"), std::string::npos) << log;
    EXPECT_FALSE(fs::exists(data_ / "master.key"));
    EXPECT_TRUE(fs::exists(data_ / "master.key.migrated"));
    EXPECT_EQ(mode_of(data_ / "kek.key"), 0400U);

    // Both models were DEPLOYED in the old data dir and are redeployed with their migrated credentials.
    const std::string body = R"({"parameters":{"endpoint":"127.0.0.1:)" + std::to_string(upstream_.port()) +
                             R"(","messages":[{"role":"user","content":"hi"}]}})";
    EXPECT_EQ(predict_auth("legacy-model-default", body), "Bearer sk-legacy-connector-default");
    EXPECT_EQ(upstream_.last_request()->header("x-extra"), "extra-default");
    EXPECT_EQ(predict_auth("legacy-inline-default", body), "Bearer sk-legacy-inline-default");
    EXPECT_EQ(infer_auth("legacy-completion-default"), "Bearer sk-legacy-inference-default");

    restart();
    EXPECT_EQ(predict_auth("legacy-model-default", body), "Bearer sk-legacy-connector-default");
    EXPECT_EQ(infer_auth("legacy-completion-default"), "Bearer sk-legacy-inference-default");
    for (const auto& e : fs::directory_iterator(data_)) {
        const auto bytes = read_all(e.path());
        EXPECT_EQ(bytes.find("sk-legacy"), std::string::npos) << e.path();
    }
    EXPECT_EQ(server_->log().find("sk-legacy"), std::string::npos);
}

TEST_F(envelope, tenant_data_of_the_previous_version_migrates_per_tenant) {
    use_fixture("v0_tenants");
    start({}, {"--multi-tenancy", "true"});
    EXPECT_NE(server_->log().find("migrated 10 stored secret(s)"), std::string::npos) << server_->log();
    const std::string body = R"({"parameters":{"endpoint":"127.0.0.1:)" + std::to_string(upstream_.port()) +
                             R"(","messages":[{"role":"user","content":"hi"}]}})";
    for (std::string t : {"acme", "globex"}) {
        const headers h{{"x-tenant-id", t}};
        EXPECT_EQ(predict_auth("legacy-model-" + t, body, h), "Bearer sk-legacy-connector-" + t);
        EXPECT_EQ(predict_auth("legacy-inline-" + t, body, h), "Bearer sk-legacy-inline-" + t);
        EXPECT_EQ(infer_auth("legacy-completion-" + t, h), "Bearer sk-legacy-inference-" + t);
    }
    server_->stop();
    auto st = registry::store::open(data_ / "modelrelay.db");
    ASSERT_TRUE(st);
    EXPECT_EQ((*st)->load_data_keys().size(), 2U);
}

TEST_F(envelope, previous_version_with_a_wrong_master_key_refuses_and_stays_as_it_was) {
    use_fixture("v0_single");
    const auto db = read_all(data_ / "modelrelay.db");
    server_process wrong(data_, {{"MODELRELAY_MASTER_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}});
    EXPECT_NE(wrong.start_expect_failure(), 0);
    EXPECT_NE(wrong.log().find("master key does not match"), std::string::npos) << wrong.log();
    EXPECT_TRUE(read_all(data_ / "modelrelay.db") == db);
    EXPECT_FALSE(fs::exists(data_ / "kek.key"));
    EXPECT_TRUE(fs::exists(data_ / "master.key"));
    start();
    EXPECT_EQ(infer_auth("legacy-completion-default"), "Bearer sk-legacy-inference-default");
}

// ---- KEK rotation ---------------------------------------------------------------------------------

TEST_F(envelope, rotate_then_delete_the_old_kek_and_restart_everything_still_works) {
    start();
    ASSERT_EQ(c().put("/_cluster/settings", settings).status, 200);
    const auto model = deployed_model("sk-rotate-42");
    put_endpoint("rot-endpoint", "sk-endpoint-42");
    const auto old_key = read_all(data_ / "kek.key");
    const auto old_id = registry::kek_id_of(registry::secret_key::from_bytes(old_key).value());

    // A backup taken before the rotation (stop, copy, start again).
    server_->stop();
    const auto backup = tmp_.path() / "backup";
    fs::create_directories(backup);
    fs::copy_file(data_ / "modelrelay.db", backup / "modelrelay.db");
    std::vector<std::string> old_wrapped;
    {
        auto st = registry::store::open(data_ / "modelrelay.db");
        ASSERT_TRUE(st);
        for (const auto& k : (*st)->load_data_keys()) {
            old_wrapped.push_back(k.wrapped);
        }
    }
    ASSERT_EQ(old_wrapped.size(), 1U);
    start();

    auto r = c().post(rotate_path, "");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, R"({"rewrapped":1})");
    const auto new_key = read_all(data_ / "kek.key");
    ASSERT_EQ(new_key.size(), 32U);
    EXPECT_NE(new_key, old_key);
    EXPECT_EQ(mode_of(data_ / "kek.key"), 0400U);
    EXPECT_EQ(read_all(data_ / ("kek.key.retired-" + old_id)), old_key);
    const auto log = server_->log();
    EXPECT_NE(log.find("rotated the key-encryption key"), std::string::npos) << log;
    for (const auto* k : {&old_key, &new_key}) {
        EXPECT_EQ(log.find(encodings_of(*k)), std::string::npos);
        EXPECT_EQ(r.body.find(encodings_of(*k)), std::string::npos);
    }
    EXPECT_EQ(predict_auth(model), "Bearer sk-rotate-42");  // live state untouched
    // Copied while running, right after the rotation: neither the database nor its WAL still holds a data
    // key wrapped by the old KEK (secure_delete plus the checkpoint after the commit).
    for (const char* f : {"modelrelay.db", "modelrelay.db-wal"}) {
        const auto live = read_all(data_ / f);
        for (const auto& w : old_wrapped) {
            EXPECT_EQ(live.find(w), std::string::npos) << f;
        }
    }

    fs::remove(data_ / ("kek.key.retired-" + old_id));
    restart();
    EXPECT_EQ(predict_auth(model), "Bearer sk-rotate-42");
    EXPECT_EQ(infer_auth("rot-endpoint"), "Bearer sk-endpoint-42");
    server_->stop();

    // A copy of the database with the old KEK: no data key unwraps, the old wrappings are gone from the
    // file, and a server on that copy refuses to start.
    const auto stolen = tmp_.path() / "stolen";
    fs::create_directories(stolen);
    fs::copy_file(data_ / "modelrelay.db", stolen / "modelrelay.db");
    if (fs::exists(data_ / "modelrelay.db-wal")) {
        fs::copy_file(data_ / "modelrelay.db-wal", stolen / "modelrelay.db-wal");
    }
    const auto bytes = read_all(stolen / "modelrelay.db");
    for (const auto& w : old_wrapped) {
        EXPECT_EQ(bytes.find(w), std::string::npos) << "a data key wrapped by the old KEK is still on disk";
    }
    const auto old_kek = registry::make_kek(registry::secret_key::from_bytes(old_key).value());
    {
        auto st = registry::store::open(stolen / "modelrelay.db");
        ASSERT_TRUE(st);
        const auto rows = (*st)->load_data_keys();
        ASSERT_EQ(rows.size(), 1U);
        for (auto row : rows) {
            EXPECT_FALSE(registry::unwrap_data_key(old_kek, row));
            row.kek_id = old_id;
            EXPECT_FALSE(registry::unwrap_data_key(old_kek, row));
        }
    }
    write_key(stolen / "kek.key", old_key);
    server_process thief(stolen);
    EXPECT_NE(thief.start_expect_failure(), 0);
    EXPECT_NE(thief.log().find("is not the one that wraps the data keys"), std::string::npos) << thief.log();

    // Positive control: the pre-rotation backup with the old KEK does start and decrypt (which is why
    // retired KEKs are archived as long as such backups exist).
    write_key(backup / "kek.key", old_key);
    server_process restored(backup);
    restored.start();
    http_client rc(restored.port());
    upstream_.clear_requests();
    ASSERT_EQ(rc.post("/_plugins/_ml/models/" + model + "/_predict", chat).status, 200);
    EXPECT_EQ(upstream_.last_request()->header("authorization"), "Bearer sk-rotate-42");
}

TEST_F(envelope, rotating_the_data_keys_reencrypts_every_secret_and_drops_the_old_keys) {
    start();
    ASSERT_EQ(c().put("/_cluster/settings", settings).status, 200);
    const auto model = deployed_model("sk-dek-42");
    put_endpoint("dek-endpoint", "sk-dek-endpoint-42");
    auto connectors = c().post("/_plugins/_ml/connectors/_search", R"({"query":{"match_all":{}}})");
    ASSERT_EQ(connectors.status, 200);
    const auto connector_id =
        std::string(connectors.json().at("hits").at("hits").at(0).at("_id").as_string());
    const auto version_before = c().get("/_plugins/_ml/connectors/" + connector_id).json();

    server_->stop();
    std::vector<registry::stored_data_key> old_keys;
    {
        auto st = registry::store::open(data_ / "modelrelay.db");
        ASSERT_TRUE(st);
        old_keys = (*st)->load_data_keys();
    }
    ASSERT_EQ(old_keys.size(), 1U);
    start();

    auto r = c().post("/_plugins/_modelrelay/_rotate_data_keys", "");
    ASSERT_EQ(r.status, 200) << r.body;
    // One tenant, one key; the connector's credential and the endpoint's api_key re-encrypted.
    EXPECT_EQ(r.json(), json::parse(R"({"data_keys":1,"reencrypted":2})"));
    EXPECT_NE(server_->log().find("rotated the data keys"), std::string::npos);
    EXPECT_EQ(predict_auth(model), "Bearer sk-dek-42");  // live state untouched
    // What a client sees did not change (no credential, same version).
    EXPECT_EQ(c().get("/_plugins/_ml/connectors/" + connector_id).json(), version_before);

    // The old key's row and its id are gone from the database and its WAL.
    for (const char* f : {"modelrelay.db", "modelrelay.db-wal"}) {
        const auto live = read_all(data_ / f);
        EXPECT_EQ(live.find(old_keys[0].wrapped), std::string::npos) << f;
        EXPECT_EQ(live.find(":" + old_keys[0].dek_id + ":"), std::string::npos)
            << f << ": a value still names it";
    }
    restart();
    EXPECT_EQ(predict_auth(model), "Bearer sk-dek-42");
    EXPECT_EQ(infer_auth("dek-endpoint"), "Bearer sk-dek-endpoint-42");
    {
        server_->stop();
        auto st = registry::store::open(data_ / "modelrelay.db");
        ASSERT_TRUE(st);
        const auto rows = (*st)->load_data_keys();
        ASSERT_EQ(rows.size(), 1U);
        EXPECT_NE(rows[0].dek_id, old_keys[0].dek_id);
        start();
    }
    // New secrets after the rotation go under the new key, and a body is refused.
    EXPECT_EQ(deployed_model("sk-after-43").empty(), false);
    EXPECT_EQ(c().post("/_plugins/_modelrelay/_rotate_data_keys", R"({"x":1})").status, 400);
}

TEST_F(envelope, rotate_to_an_operator_file_and_bad_requests_change_nothing) {
    start();
    ASSERT_EQ(c().put("/_cluster/settings", settings).status, 200);
    const auto model = deployed_model("sk-op-7");
    const auto before = read_all(data_ / "kek.key");
    auto files = [&] {
        std::set<std::string> out;
        for (const auto& e : fs::directory_iterator(data_)) {
            out.insert(e.path().filename().string());
        }
        return out;
    };
    const auto files_before = files();
    const auto op = tmp_.path() / "operator.kek";
    write_key(op, std::string(32, 'z'), 0644);
    struct bad {
        std::string body;
        std::string fragment;
    };
    const std::vector<bad> cases{
        {R"({"kek_file":"relative.kek"})", "kek_file must be an absolute path"},
        {R"({"kek_file":")" + (tmp_.path() / "absent.kek").string() + "\"}", "cannot access"},
        {R"({"kek_file":")" + op.string() + "\"}", "chmod 0400"},
        {R"({"kek_file":42})", "kek_file must be a non-empty string"},
        {R"({"kek_file":"/x","force":true})", "unknown field [force]"},
        {R"([])", "must be a JSON object"},
    };
    for (const auto& b : cases) {
        auto r = c().post(rotate_path, b.body);
        EXPECT_EQ(r.status, 400) << b.body << " " << r.body;
        const auto j = r.json();
        EXPECT_EQ(j.at("status").to_number<int>(), 400);
        EXPECT_EQ(j.at("error").at("type").as_string(), "illegal_argument_exception") << r.body;
        EXPECT_NE(std::string(j.at("error").at("reason").as_string()).find(b.fragment), std::string::npos)
            << r.body;
        EXPECT_EQ(read_all(data_ / "kek.key"), before);
        EXPECT_EQ(files(), files_before);
    }
    auto malformed = c().post(rotate_path, "{");
    EXPECT_EQ(malformed.status, 400);
    EXPECT_EQ(malformed.json().at("error").at("type").as_string(), "json_parse_exception");

    ::chmod(op.c_str(), 0400);
    auto r = c().post(rotate_path, R"({"kek_file":")" + op.string() + "\"}");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(read_all(data_ / "kek.key"), std::string(32, 'z'));
    restart();
    EXPECT_EQ(predict_auth(model), "Bearer sk-op-7");
}

TEST_F(envelope, a_rotation_interrupted_after_its_commit_is_completed_at_start) {
    start();
    ASSERT_EQ(c().put("/_cluster/settings", settings).status, 200);
    const auto model = deployed_model("sk-crash-9");
    const auto old_id =
        registry::kek_id_of(registry::secret_key::from_bytes(read_all(data_ / "kek.key")).value());
    ASSERT_EQ(c().post(rotate_path, "").status, 200);
    const auto new_key = read_all(data_ / "kek.key");
    const auto new_id = registry::kek_id_of(registry::secret_key::from_bytes(new_key).value());
    server_->kill_hard();
    // Put the files back the way they were between the commit and the renames.
    fs::rename(data_ / "kek.key", data_ / ("kek.key.pending-" + new_id));
    fs::rename(data_ / ("kek.key.retired-" + old_id), data_ / "kek.key");
    server_->start();
    client_ = std::make_unique<http_client>(server_->port());
    EXPECT_NE(server_->log().find("completed an interrupted KEK rotation"), std::string::npos)
        << server_->log();
    EXPECT_EQ(read_all(data_ / "kek.key"), new_key);
    EXPECT_TRUE(fs::exists(data_ / ("kek.key.retired-" + old_id)));
    EXPECT_FALSE(fs::exists(data_ / ("kek.key.pending-" + new_id)));
    EXPECT_EQ(predict_auth(model), "Bearer sk-crash-9");
}

// ---- credential rotation ------------------------------------------------------------------------------

// A credential change is a model / endpoint update that takes effect at once, deployed or not, also after
// a migration and a KEK rotation (the new value is sealed under the tenant's data key of record).
TEST_F(envelope, credential_rotation_needs_no_undeploy_after_migration_and_kek_rotation) {
    use_fixture("v0_single");
    start();
    ASSERT_EQ(c().post(rotate_path, "").status, 200);
    const std::string body = R"({"parameters":{"endpoint":"127.0.0.1:)" + std::to_string(upstream_.port()) +
                             R"(","messages":[{"role":"user","content":"hi"}]}})";
    auto u = c().put(
        "/_plugins/_ml/models/legacy-inline-default",
        R"({"connector":{"credential":{"openAI_key":"sk-new-inline","extra":"e"}}})"
    );
    ASSERT_EQ(u.status, 200) << u.body;
    EXPECT_EQ(predict_auth("legacy-inline-default", body), "Bearer sk-new-inline");
    auto e = c().post(
        "/_inference/completion/legacy-completion-default/_update",
        R"({"service_settings":{"api_key":"sk-new-endpoint"}})"
    );
    ASSERT_EQ(e.status, 200) << e.body;
    EXPECT_EQ(infer_auth("legacy-completion-default"), "Bearer sk-new-endpoint");
    restart();
    EXPECT_EQ(predict_auth("legacy-inline-default", body), "Bearer sk-new-inline");
    EXPECT_EQ(predict_auth("legacy-model-default", body), "Bearer sk-legacy-connector-default");
    EXPECT_EQ(infer_auth("legacy-completion-default"), "Bearer sk-new-endpoint");
}

}  // namespace
}  // namespace modelrelay::test
