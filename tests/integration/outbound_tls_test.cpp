// File: outbound_tls_test.cpp
// Per-connector TLS (`client_config.tls`, the Kibana "Other" provider PKI options) against the real binary
// and real TLS: a fake upstream that demands a client certificate from the test CA, servers the process
// does not trust, host-name mismatches, SNI; predict, `_predict/stream` and `/v1` streaming; the pool never
// mixing identities; the key never in a response, the log or the data directory in plaintext; restart.
// The server runs WITHOUT MODELRELAY_UPSTREAM_CA_FILE: trust in the test CA comes from `ca_data` only.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "registry/crypto.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/model_setup.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_ca.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;

constexpr const char* predict_body = R"({"parameters":{"messages":[{"role":"user","content":"hello"}]}})";
constexpr const char* stream_body =
    R"({"parameters":{"messages":[{"role":"user","content":"hello"}],"_llm_interface":"openai/v1/chat/completions"}})";

std::string b64(std::string_view s) {
    return registry::base64_encode(s);
}

// A distinctive piece of the key: one line of its base64 body (the DER bytes, as PEM carries them).
std::string key_fingerprint(const issued_cert& c) {
    const auto begin = c.key_pem.find('\n') + 1;
    return c.key_pem.substr(begin, 40);
}

const issued_cert& client_a() {
    static const issued_cert c = test_ca::instance().issue_client("connector-a");
    return c;
}

const issued_cert& client_b() {
    static const issued_cert c = test_ca::instance().issue_client("connector-b");
    return c;
}

// The chat connector of model_setup, for `url`, with `tls` as its client_config.tls.
std::string tls_connector(const std::string& url, json::object tls, bool llm_interface = true) {
    json::object params{{"model", "gpt-upstream"}};
    if (llm_interface) {
        params["_llm_interface"] = "openai/v1/chat/completions";
    }
    json::object action{
        {"action_type", "predict"},
        {"method", "POST"},
        {"url", url},
        {"headers", json::object{{"Authorization", "Bearer ${credential.openAI_key}"}}},
        {"request_body", R"({ "model": "${parameters.model}", "messages": ${parameters.messages} })"}};
    json::object body{
        {"name", "tls connector"},
        {"version", "1"},
        {"protocol", "http"},
        {"parameters", std::move(params)},
        {"credential", json::object{{"openAI_key", test_api_key}}},
        {"actions", json::array{std::move(action)}},
        {"client_config",
         json::object{{"read_timeout", 5}, {"connection_timeout", 5}, {"tls", std::move(tls)}}}};
    return json::serialize(body);
}

json::object pki(const issued_cert& client, bool base64 = true) {
    return json::object{
        {"ca_data", base64 ? b64(test_ca::instance().ca_pem()) : test_ca::instance().ca_pem()},
        {"certificate_data", base64 ? b64(client.cert_pem) : client.cert_pem},
        {"private_key_data", base64 ? b64(client.key_pem) : client.key_pem}};
}

std::string reason_of(const http_result& r) {
    try {
        return std::string(r.json().at("error").at("reason").as_string());
    } catch (...) {
        return "<no error reason> " + r.body;
    }
}

std::string read_all(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

class outbound_tls : public ::testing::Test {
protected:
    void SetUp() override {
        server_ = std::make_unique<server_process>(tmp_.path() / "data");
        server_->start();
        client_ = std::make_unique<http_client>(server_->port());
        open_cluster_settings(c());
    }
    http_client& c() { return *client_; }
    std::filesystem::path data_dir() const { return tmp_.path() / "data"; }

    http_result predict(const std::string& model_id, std::string_view body = predict_body) {
        return c().post("/_plugins/_ml/models/" + model_id + "/_predict", body);
    }
    std::string model_on(const std::string& connector_body, std::string_view name = "tls-model") {
        return register_model(c(), connector_body, name);
    }

    temp_dir tmp_;
    std::unique_ptr<server_process> server_;
    std::unique_ptr<http_client> client_;
};

TEST_F(outbound_tls, client_certificate_is_presented_on_predict_and_on_both_streaming_paths) {
    fake_upstream up(fake_upstream_options::mutual_tls(test_ca::instance().ca_pem()));
    const auto id = model_on(tls_connector(up.url("/v1/chat/completions"), pki(client_a())));
    ASSERT_FALSE(id.empty());

    auto p = predict(id);
    ASSERT_EQ(p.status, 200) << p.body;
    ASSERT_EQ(up.request_count(), 1U);
    EXPECT_EQ(up.last_request()->client_cert_subject, "CN=connector-a,O=modelrelay tests");
    EXPECT_EQ(up.last_request()->header("authorization"), "Bearer " + std::string(test_api_key));

    auto s = c().post("/_plugins/_ml/models/" + id + "/_predict/stream", stream_body);
    ASSERT_EQ(s.status, 200) << s.body;
    EXPECT_NE(s.body.find(R"("is_last":true)"), std::string::npos) << s.body;
    ASSERT_EQ(up.request_count(), 2U);
    EXPECT_EQ(up.last_request()->client_cert_subject, "CN=connector-a,O=modelrelay tests");

    auto v1 = c().post(
        "/v1/chat/completions",
        R"({"model":")" + id + R"(","messages":[{"role":"user","content":"x"}],"stream":true})"
    );
    ASSERT_EQ(v1.status, 200) << v1.body;
    EXPECT_NE(v1.body.find("data: [DONE]"), std::string::npos) << v1.body;
    ASSERT_EQ(up.request_count(), 3U);
    EXPECT_EQ(up.last_request()->client_cert_subject, "CN=connector-a,O=modelrelay tests");
    EXPECT_EQ(up.handshake_failure_count(), 0U);
}

TEST_F(outbound_tls, raw_pem_works_like_base64) {
    fake_upstream up(fake_upstream_options::mutual_tls(test_ca::instance().ca_pem()));
    const auto id = model_on(tls_connector(up.url("/v1/chat/completions"), pki(client_b(), false)));
    auto p = predict(id);
    ASSERT_EQ(p.status, 200) << p.body;
    EXPECT_EQ(up.last_request()->client_cert_subject, "CN=connector-b,O=modelrelay tests");
}

TEST_F(outbound_tls, without_a_client_certificate_the_handshake_fails_with_a_clear_error) {
    fake_upstream up(fake_upstream_options::mutual_tls(test_ca::instance().ca_pem()));
    // Trusts the server, presents nothing.
    const auto id = model_on(tls_connector(
        up.url("/v1/chat/completions"), json::object{{"ca_data", b64(test_ca::instance().ca_pem())}}
    ));
    auto p = predict(id);
    EXPECT_EQ(p.status, 500) << p.body;
    const auto reason = reason_of(p);
    EXPECT_TRUE(reason.starts_with("Error communicating with remote model: TLS handshake failed: "))
        << reason;
    EXPECT_NE(reason.find("certificate required"), std::string::npos) << reason;
    EXPECT_EQ(up.request_count(), 0U);
    // The client sees the alert before the upstream's handshake handler has counted it: wait a little.
    for (int i = 0; i < 200 && up.handshake_failure_count() == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_GE(up.handshake_failure_count(), 1U);

    // A certificate from a CA the upstream does not know fails the same way.
    const auto stranger_ca = test_ca::create_separate();
    const auto stranger = stranger_ca->issue_client("stranger");
    json::object tls{
        {"ca_data", b64(test_ca::instance().ca_pem())},
        {"certificate_data", b64(stranger.cert_pem)},
        {"private_key_data", b64(stranger.key_pem)}};
    const auto id2 = model_on(tls_connector(up.url("/v1/chat/completions"), tls), "stranger-model");
    auto q = predict(id2);
    EXPECT_EQ(q.status, 500) << q.body;
    EXPECT_TRUE(reason_of(q).starts_with("Error communicating with remote model: TLS handshake failed: "))
        << q.body;
    EXPECT_EQ(up.request_count(), 0U);

    // The streaming path reports it before anything is streamed.
    auto s = c().post("/_plugins/_ml/models/" + id + "/_predict/stream", stream_body);
    EXPECT_EQ(s.status, 500) << s.body;
    EXPECT_TRUE(reason_of(s).starts_with("Error communicating with remote model: TLS handshake failed: "))
        << s.body;
    EXPECT_EQ(up.request_count(), 0U);
}

TEST_F(outbound_tls, verification_mode_none_accepts_an_untrusted_server_that_full_refuses) {
    const auto untrusted_ca = test_ca::create_separate();
    fake_upstream up(fake_upstream_options::https(untrusted_ca->issue({"localhost"}, {"127.0.0.1"})));
    const auto full = model_on(tls_connector(up.url("/v1/chat/completions"), json::object{}), "full-model");
    auto f = predict(full);
    EXPECT_EQ(f.status, 500) << f.body;
    EXPECT_EQ(
        reason_of(f),
        "Error communicating with remote model: TLS handshake failed: certificate verify failed (self-signed "
        "certificate in certificate chain)"
    );
    const auto cert_only = model_on(
        tls_connector(up.url("/v1/chat/completions"), json::object{{"verification_mode", "certificate"}}),
        "cert-model"
    );
    EXPECT_EQ(predict(cert_only).status, 500);  // "certificate" still checks the chain
    EXPECT_EQ(up.request_count(), 0U);

    const auto none = model_on(
        tls_connector(up.url("/v1/chat/completions"), json::object{{"verification_mode", "none"}}),
        "none-model"
    );
    auto n = predict(none);
    ASSERT_EQ(n.status, 200) << n.body;
    EXPECT_EQ(up.request_count(), 1U);
    auto s = c().post("/_plugins/_ml/models/" + none + "/_predict/stream", stream_body);
    EXPECT_EQ(s.status, 200) << s.body;
    EXPECT_EQ(up.request_count(), 2U);
}

TEST_F(outbound_tls, verification_mode_certificate_accepts_a_host_name_mismatch_that_full_refuses) {
    // A certificate the test CA issued, but for another name: chain good, host wrong.
    fake_upstream up(fake_upstream_options::https(test_ca::instance().issue({"other.example"}, {})));
    const json::object ca{{"ca_data", b64(test_ca::instance().ca_pem())}};
    json::object full = ca;
    const auto full_id = model_on(tls_connector(up.url("/v1/chat/completions"), full), "full-model");
    auto f = predict(full_id);
    EXPECT_EQ(f.status, 500) << f.body;
    EXPECT_EQ(
        reason_of(f),
        "Error communicating with remote model: TLS handshake failed: certificate verify failed (IP address "
        "mismatch)"
    );
    EXPECT_EQ(up.request_count(), 0U);

    json::object cert_mode = ca;
    cert_mode["verification_mode"] = "certificate";
    const auto cert_id = model_on(tls_connector(up.url("/v1/chat/completions"), cert_mode), "cert-model");
    auto p = predict(cert_id);
    ASSERT_EQ(p.status, 200) << p.body;
    EXPECT_EQ(up.request_count(), 1U);
}

TEST_F(outbound_tls, sni_is_sent_in_every_verification_mode) {
    const auto untrusted_ca = test_ca::create_separate();
    fake_upstream up(fake_upstream_options::https(untrusted_ca->issue({"elsewhere.example"}, {})));
    const std::string url = "https://localhost:" + std::to_string(up.port()) + "/v1/chat/completions";
    const auto none = model_on(tls_connector(url, json::object{{"verification_mode", "none"}}), "none-model");
    auto p = predict(none);
    ASSERT_EQ(p.status, 200) << p.body;
    EXPECT_EQ(up.last_request()->tls_server_name, "localhost");

    fake_upstream up2(fake_upstream_options::https(test_ca::instance().issue({"elsewhere.example"}, {})));
    const std::string url2 = "https://localhost:" + std::to_string(up2.port()) + "/v1/chat/completions";
    json::object cert_mode{
        {"verification_mode", "certificate"}, {"ca_data", b64(test_ca::instance().ca_pem())}};
    const auto cert_id = model_on(tls_connector(url2, cert_mode), "cert-model");
    auto q = predict(cert_id);
    ASSERT_EQ(q.status, 200) << q.body;
    EXPECT_EQ(up2.last_request()->tls_server_name, "localhost");
}

TEST_F(outbound_tls, connections_of_different_identities_are_never_shared) {
    fake_upstream up(fake_upstream_options::mutual_tls(test_ca::instance().ca_pem()));
    const std::string url = up.url("/v1/chat/completions");
    const auto a = model_on(tls_connector(url, pki(client_a())), "model-a");
    const auto b = model_on(tls_connector(url, pki(client_b())), "model-b");
    ASSERT_EQ(predict(a).status, 200);
    ASSERT_EQ(predict(b).status, 200);
    ASSERT_EQ(predict(a).status, 200);
    ASSERT_EQ(predict(b).status, 200);
    const auto seen = up.requests();
    ASSERT_EQ(seen.size(), 4U);
    EXPECT_EQ(seen[0].client_cert_subject, "CN=connector-a,O=modelrelay tests");
    EXPECT_EQ(seen[1].client_cert_subject, "CN=connector-b,O=modelrelay tests");
    EXPECT_EQ(seen[2].client_cert_subject, "CN=connector-a,O=modelrelay tests");
    EXPECT_EQ(seen[3].client_cert_subject, "CN=connector-b,O=modelrelay tests");
    // Same host and port, two pooled connections, each reused only by its own identity.
    EXPECT_NE(seen[0].connection_id, seen[1].connection_id);
    EXPECT_EQ(seen[2].connection_id, seen[0].connection_id);
    EXPECT_EQ(seen[3].connection_id, seen[1].connection_id);
    EXPECT_EQ(up.connection_count(), 2U);
}

TEST_F(outbound_tls, invalid_tls_settings_are_refused_at_create_and_nothing_is_stored) {
    const std::string url = "https://127.0.0.1:9/v1/chat/completions";
    struct refusal {
        json::object tls;
        std::string reason;
    };
    const std::vector<refusal> cases{
        {json::object{{"certificate_data", b64(client_a().cert_pem)}},
         "[client_config/tls] certificate_data and private_key_data must be given together"},
        {json::object{{"private_key_data", b64(client_a().key_pem)}},
         "[client_config/tls] private_key_data requires certificate_data"},
        {json::object{
             {"certificate_data", b64(client_a().cert_pem)}, {"private_key_data", b64(client_b().key_pem)}},
         "[client_config/tls/private_key_data] does not match the certificate in certificate_data"},
        {json::object{{"certificate_data", b64("hello")}, {"private_key_data", b64(client_a().key_pem)}},
         "[client_config/tls/certificate_data] is not PEM or base64-encoded PEM"},
        {json::object{{"ca_data", "%%%"}}, "[client_config/tls/ca_data] is not PEM or base64-encoded PEM"},
        {json::object{{"verification_mode", "lenient"}},
         "[client_config/tls/verification_mode] must be one of [full, certificate, none]"},
        {json::object{{"caData", "x"}}, "[client_config/tls] unknown field [caData]"},
    };
    for (const auto& rc : cases) {
        auto r = c().post("/_plugins/_ml/connectors/_create", tls_connector(url, rc.tls));
        EXPECT_EQ(r.status, 400) << r.body;
        EXPECT_EQ(r.json().at("error").at("type").as_string(), "illegal_argument_exception") << r.body;
        EXPECT_EQ(reason_of(r), rc.reason);
        EXPECT_EQ(r.body.find(key_fingerprint(client_a())), std::string::npos);
    }
    // Inline connectors of a model are validated the same way.
    auto inline_connector = json::parse(tls_connector(url, cases[2].tls)).as_object();
    json::object model{{"name", "m"}, {"function_name", "remote"}, {"connector", inline_connector}};
    auto m = c().post("/_plugins/_ml/models/_register", json::serialize(model));
    EXPECT_EQ(m.status, 400) << m.body;
    EXPECT_EQ(reason_of(m), cases[2].reason);

    // ml-commons 3.9's mutual_tls_enabled (a client certificate read from the credential) is refused rather
    // than accepted and ignored.
    auto flagged = json::parse(tls_connector(url, {})).as_object();
    auto& config = flagged["client_config"].as_object();
    config.erase("tls");
    config["mutual_tls_enabled"] = true;
    auto mt = c().post("/_plugins/_ml/connectors/_create", json::serialize(flagged));
    EXPECT_EQ(mt.status, 400) << mt.body;
    EXPECT_EQ(
        reason_of(mt),
        "client_config.mutual_tls_enabled is not supported by modelrelay: give the client certificate and "
        "key "
        "in client_config.tls (certificate_data, private_key_data)"
    );

    auto search = c().post("/_plugins/_ml/connectors/_search", R"({"query":{"match_all":{}}})");
    ASSERT_EQ(search.status, 200) << search.body;
    EXPECT_EQ(search.json().at("hits").at("total").at("value").to_number<int>(), 0);

    // false, its default, is filled in and echoed like every client_config field.
    config["mutual_tls_enabled"] = false;
    auto off = c().post("/_plugins/_ml/connectors/_create", json::serialize(flagged));
    ASSERT_EQ(off.status, 200) << off.body;
    config.erase("mutual_tls_enabled");
    auto plain = c().post("/_plugins/_ml/connectors/_create", json::serialize(flagged));
    ASSERT_EQ(plain.status, 200) << plain.body;
    for (const auto* created : {&off, &plain}) {
        const std::string id(created->json().at("connector_id").as_string());
        const auto got = c().get("/_plugins/_ml/connectors/" + id).json();
        EXPECT_EQ(got.at("client_config").at("mutual_tls_enabled"), json::value(false))
            << json::serialize(got);
    }
}

TEST_F(outbound_tls, the_private_key_is_never_shown_and_never_stored_in_plaintext) {
    fake_upstream up(fake_upstream_options::mutual_tls(test_ca::instance().ca_pem()));
    const std::string url = up.url("/v1/chat/completions");
    const std::string b64_key = b64(client_a().key_pem);
    const std::string fingerprint = key_fingerprint(client_a());
    auto conn = c().post("/_plugins/_ml/connectors/_create", tls_connector(url, pki(client_a())));
    ASSERT_EQ(conn.status, 200) << conn.body;
    const std::string connector_id(conn.json().at("connector_id").as_string());
    // An inline connector of a model too (encrypted under the model).
    auto inline_connector = json::parse(tls_connector(url, pki(client_a(), false))).as_object();
    json::object model{{"name", "inline"}, {"function_name", "remote"}, {"connector", inline_connector}};
    auto reg = c().post("/_plugins/_ml/models/_register?deploy=true", json::serialize(model));
    ASSERT_EQ(reg.status, 200) << reg.body;
    const std::string model_id(reg.json().at("model_id").as_string());
    ASSERT_EQ(predict(model_id).status, 200);
    EXPECT_EQ(up.last_request()->client_cert_subject, "CN=connector-a,O=modelrelay tests");

    std::vector<http_result> views{
        c().get("/_plugins/_ml/connectors/" + connector_id),
        c().post("/_plugins/_ml/connectors/_search", R"({"query":{"match_all":{}}})"),
        c().post(
            "/_plugins/_ml/connectors/_search",
            R"({"query":{"match_all":{}},"_source":["credential","client_config"]})"
        ),
        c().get("/_plugins/_ml/models/" + model_id),
        c().post("/_plugins/_ml/models/_search", R"({"query":{"match_all":{}}})"),
        c().post("/_plugins/_ml/models/_search", R"({"query":{"match_all":{}},"_source":["connector.*"]})"),
    };
    for (const auto& v : views) {
        EXPECT_EQ(v.status, 200) << v.body;
        EXPECT_EQ(v.body.find(fingerprint), std::string::npos) << v.body;
        EXPECT_EQ(v.body.find(b64_key.substr(0, 40)), std::string::npos) << v.body;
        EXPECT_EQ(v.body.find("private_key_data"), std::string::npos) << v.body;
        EXPECT_EQ(v.body.find("PRIVATE KEY"), std::string::npos) << v.body;
    }
    // What GET does show: the mode and the public certificate material, as given.
    const auto tls = views[0].json().at("client_config").at("tls").as_object();
    EXPECT_EQ(tls.at("verification_mode").as_string(), "full");
    EXPECT_EQ(tls.at("certificate_data").as_string(), b64(client_a().cert_pem));
    EXPECT_EQ(tls.at("ca_data").as_string(), b64(test_ca::instance().ca_pem()));
    EXPECT_EQ(server_->log().find(fingerprint), std::string::npos);

    // Not in any file of the data directory, running (WAL) or stopped.
    auto scan = [&](const char* when) {
        std::size_t files = 0;
        for (const auto& e : std::filesystem::recursive_directory_iterator(data_dir())) {
            if (!e.is_regular_file()) {
                continue;
            }
            ++files;
            const auto bytes = read_all(e.path());
            EXPECT_EQ(bytes.find(fingerprint), std::string::npos) << when << ": " << e.path();
            EXPECT_EQ(bytes.find(b64_key.substr(0, 40)), std::string::npos) << when << ": " << e.path();
            EXPECT_EQ(bytes.find("PRIVATE KEY"), std::string::npos) << when << ": " << e.path();
        }
        EXPECT_GT(files, 0U);
    };
    scan("running");
    server_->stop();
    scan("stopped");
}

TEST_F(outbound_tls, the_key_survives_credential_updates_and_restarts) {
    fake_upstream up(fake_upstream_options::mutual_tls(test_ca::instance().ca_pem()));
    auto conn = c().post(
        "/_plugins/_ml/connectors/_create", tls_connector(up.url("/v1/chat/completions"), pki(client_a()))
    );
    ASSERT_EQ(conn.status, 200) << conn.body;
    const std::string connector_id(conn.json().at("connector_id").as_string());
    const std::string path = "/_plugins/_ml/connectors/" + connector_id;
    // A new API key replaces `credential`; the TLS key stays.
    auto u = c().put(path, R"({"credential":{"openAI_key":"sk-rotated"}})");
    ASSERT_EQ(u.status, 200) << u.body;
    // Changing only the verification mode with the same certificate keeps the key too.
    json::object same_cert{
        {"client_config",
         json::object{
             {"tls",
              json::object{
                  {"verification_mode", "certificate"},
                  {"ca_data", b64(test_ca::instance().ca_pem())},
                  {"certificate_data", client_a().cert_pem}}}}}};
    auto u2 = c().put(path, json::serialize(same_cert));
    ASSERT_EQ(u2.status, 200) << u2.body;
    // Another certificate without its key is refused, and changes nothing.
    json::object other_cert = same_cert;
    other_cert["client_config"].as_object()["tls"].as_object()["certificate_data"] = client_b().cert_pem;
    auto bad = c().put(path, json::serialize(other_cert));
    EXPECT_EQ(bad.status, 400) << bad.body;
    EXPECT_EQ(
        reason_of(bad),
        "[client_config/tls] certificate_data and private_key_data must be given together (the stored "
        "private "
        "key is kept only with the same certificate)"
    );

    auto reg = c().post(
        "/_plugins/_ml/models/_register?deploy=true",
        R"({"name":"m","function_name":"remote","connector_id":")" + connector_id + R"("})"
    );
    ASSERT_EQ(reg.status, 200) << reg.body;
    const std::string model_id(reg.json().at("model_id").as_string());
    ASSERT_EQ(predict(model_id).status, 200);
    EXPECT_EQ(up.last_request()->client_cert_subject, "CN=connector-a,O=modelrelay tests");
    EXPECT_EQ(up.last_request()->header("authorization"), "Bearer sk-rotated");

    // Deployed models are deployed again at start-up, TLS context included.
    server_->restart();
    client_ = std::make_unique<http_client>(server_->port());
    auto p = predict(model_id);
    ASSERT_EQ(p.status, 200) << p.body;
    EXPECT_EQ(up.last_request()->client_cert_subject, "CN=connector-a,O=modelrelay tests");

    // Dropping `tls` from client_config drops the key: the upstream then refuses the handshake.
    ASSERT_EQ(c().post("/_plugins/_ml/models/" + model_id + "/_undeploy", "").status, 200);
    json::object no_tls{{"client_config", json::object{{"read_timeout", 5}}}};
    ASSERT_EQ(c().put(path, json::serialize(no_tls)).status, 200);
    auto g = c().get(path);
    EXPECT_FALSE(g.json().at("client_config").as_object().contains("tls")) << g.body;
    const auto before = up.request_count();
    EXPECT_EQ(predict(model_id).status, 500);  // auto-deploy, no client certificate, untrusted server
    EXPECT_EQ(up.request_count(), before);
}

}  // namespace
}  // namespace modelrelay::test
