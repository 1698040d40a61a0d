// File: tls_listener_test.cpp
// The HTTPS listener against the real binary with certificates from the test CA: HTTPS works, plain HTTP
// to the port gets a clear 400, the three client-auth modes (none / optional / require), untrusted client
// certificates and old protocol versions are refused in the handshake, the verified subject DN and chain
// length reach the log, keep-alive, chunked streaming, the 413 drain and graceful shutdown work over TLS,
// bad certificate or key files stop start-up naming the file, and stock curl talks to it with a client
// certificate.
#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <future>
#include <regex>
#include <sstream>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "tests/support/fake_upstream.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/model_setup.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_ca.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const test_ca& ca() {
    return test_ca::instance();
}

// The demo super-admin of the OpenSearch security plugin (security.md §2.5).
const std::vector<subject_part> kirk{
    {"C", "de"}, {"L", "test"}, {"O", "client"}, {"OU", "client"}, {"CN", "kirk"}};
constexpr const char* kirk_dn = "CN=kirk,OU=client,O=client,L=test,C=de";

const issued_cert& kirk_cert() {
    static const issued_cert c = ca().issue_client(kirk);
    return c;
}

std::vector<std::string> tls_flags(std::string_view client_auth) {
    std::vector<std::string> args{
        "--log-format",
        "json",
        "--tls-cert",
        ca().localhost().cert_file,
        "--tls-key",
        ca().localhost().key_file};
    if (client_auth != "none") {
        args.insert(
            args.end(), {"--tls-client-ca", ca().ca_file(), "--tls-client-auth", std::string(client_auth)}
        );
    }
    return args;
}

tls_client_options trusted(const issued_cert* client = nullptr) {
    tls_client_options o;
    o.ca_file = ca().ca_file();
    if (client != nullptr) {
        o.cert_file = client->cert_file;
        o.key_file = client->key_file;
    }
    return o;
}

std::vector<json::object> log_lines(const server_process& s) {
    std::vector<json::object> out;
    std::istringstream in(s.log());
    std::string line;
    // Every line of --log-format json is one JSON object with an ISO-8601 UTC millisecond timestamp.
    static const std::regex ts(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
    while (std::getline(in, line)) {
        if (line.empty()) {
            continue;
        }
        boost::system::error_code ec;
        auto v = json::parse(line, ec);
        EXPECT_FALSE(ec) << line;
        if (!ec && v.is_object()) {
            const auto* t = v.as_object().if_contains("ts");
            EXPECT_TRUE(t != nullptr && t->is_string() && std::regex_match(std::string(t->get_string()), ts))
                << line;
            out.push_back(v.as_object());
        }
    }
    return out;
}

std::vector<json::object> log_lines(const server_process& s, std::string_view msg) {
    std::vector<json::object> out;
    for (auto& l : log_lines(s)) {
        if (l.contains("msg") && l.at("msg").is_string() && l.at("msg").get_string() == msg) {
            out.push_back(std::move(l));
        }
    }
    return out;
}

// Log lines are written after the response: wait briefly for the expected count.
std::vector<json::object> wait_for_log(const server_process& s, std::string_view msg, std::size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    for (;;) {
        auto lines = log_lines(s, msg);
        if (lines.size() >= count || std::chrono::steady_clock::now() > deadline) {
            return lines;
        }
        std::this_thread::sleep_for(20ms);
    }
}

class tls_listener : public ::testing::Test {
protected:
    void start(std::string_view client_auth, std::vector<std::string> extra = {}) {
        auto args = tls_flags(client_auth);
        args.insert(args.end(), extra.begin(), extra.end());
        server_ = std::make_unique<server_process>(
            tmp_.path() / "data", std::map<std::string, std::string>{}, args
        );
        server_->start();
    }
    std::uint16_t port() const { return server_->port(); }
    server_process& server() { return *server_; }

    temp_dir tmp_;
    std::unique_ptr<server_process> server_;
};

TEST_F(tls_listener, https_request_works) {
    start("none");
    http_client c(port(), trusted());
    auto r = c.get("/");
    ASSERT_EQ(r.status, 200U) << r.body;
    EXPECT_EQ(r.json().at("cluster_name"), "modelrelay");
    EXPECT_TRUE(c.tls_version() == "TLSv1.3" || c.tls_version() == "TLSv1.2") << c.tls_version();
    const auto listening = log_lines(server(), "modelrelay listening");
    ASSERT_EQ(listening.size(), 1U);
    EXPECT_EQ(listening[0].at("scheme"), "https");
    EXPECT_EQ(listening[0].at("client_auth"), "none");
    // Without client authentication no certificate is asked for, so none is ever recorded.
    http_client with_cert(port(), trusted(&kirk_cert()));
    EXPECT_EQ(with_cert.get("/").status, 200U);
    EXPECT_TRUE(log_lines(server(), "TLS client certificate").empty());
}

TEST_F(tls_listener, a_client_that_does_not_trust_the_server_certificate_fails) {
    start("none");
    test_ca other;
    tls_client_options o;
    o.ca_file = other.ca_file();
    http_client c(port(), o);
    EXPECT_THROW(c.connect(), std::runtime_error);
    http_client good(port(), trusted());
    EXPECT_EQ(good.get("/").status, 200U);
}

TEST_F(tls_listener, plain_http_to_the_tls_port_gets_a_clear_400) {
    start("none");
    http_client plain(port());
    auto r = plain.get("/");
    EXPECT_EQ(r.status, 400U);
    EXPECT_EQ(r.header("connection"), "close");
    EXPECT_NE(r.body.find("HTTPS"), std::string::npos) << r.body;
    EXPECT_EQ(r.json().at("status"), 400);
    // Bytes that are neither TLS nor HTTP: the connection is closed without an answer.
    {
        boost::asio::io_context ioc;
        boost::asio::ip::tcp::socket s(ioc);
        s.connect({boost::asio::ip::make_address("127.0.0.1"), port()});
        boost::asio::write(s, boost::asio::buffer(std::string("\x01\x02\x03\x04garbage", 11)));
        std::array<char, 64> buf{};
        boost::system::error_code ec;
        const auto n = boost::asio::read(s, boost::asio::buffer(buf), ec);
        EXPECT_EQ(n, 0U);
        EXPECT_TRUE(ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset)
            << ec.message();
    }
    http_client c(port(), trusted());
    EXPECT_EQ(c.get("/").status, 200U);
    EXPECT_EQ(log_lines(server(), "plain HTTP on the TLS listener").size(), 1U);
}

TEST_F(tls_listener, require_refuses_a_client_without_a_certificate) {
    start("require");
    // TLS 1.2: the client sees the refusal in its handshake.
    auto o12 = trusted();
    o12.max_version = TLS1_2_VERSION;
    http_client c12(port(), o12);
    EXPECT_THROW(c12.connect(), std::runtime_error);
    // TLS 1.3: the client's handshake completes before the server has checked, so the request fails.
    auto o13 = trusted();
    o13.min_version = TLS1_3_VERSION;
    http_client c13(port(), o13);
    EXPECT_THROW(c13.get("/"), std::runtime_error);

    const auto failures = wait_for_log(server(), "TLS handshake failed", 2);
    EXPECT_GE(failures.size(), 2U);
    EXPECT_TRUE(log_lines(server(), "request").empty());

    http_client good(port(), trusted(&kirk_cert()));
    auto r = good.get("/");
    EXPECT_EQ(r.status, 200U) << r.body;
    const auto requests = wait_for_log(server(), "request", 1);
    ASSERT_EQ(requests.size(), 1U);
    EXPECT_EQ(requests[0].at("client_dn"), kirk_dn);
}

TEST_F(tls_listener, optional_without_a_certificate_works) {
    start("optional");
    http_client c(port(), trusted());
    auto r = c.get("/");
    EXPECT_EQ(r.status, 200U) << r.body;
    const auto requests = wait_for_log(server(), "request", 1);
    ASSERT_EQ(requests.size(), 1U);
    EXPECT_FALSE(requests[0].contains("client_dn"));
    EXPECT_TRUE(log_lines(server(), "TLS client certificate").empty());
}

TEST_F(tls_listener, optional_with_a_certificate_records_subject_and_chain) {
    start("optional");
    // cert_file holds the leaf and the CA: the client presents both.
    http_client c(port(), trusted(&kirk_cert()));
    EXPECT_EQ(c.get("/").status, 200U);
    auto certs = wait_for_log(server(), "TLS client certificate", 1);
    ASSERT_EQ(certs.size(), 1U);
    EXPECT_EQ(certs[0].at("subject_dn"), kirk_dn);
    EXPECT_EQ(certs[0].at("peer_certificates"), 2);
    EXPECT_EQ(wait_for_log(server(), "request", 1).at(0).at("client_dn"), kirk_dn);

    // The leaf alone; a DN with escaped commas and a multi-valued RDN is kept verbatim.
    const auto doe = ca().issue_client({{"O", "Acme, Inc."}, {"CN", "Doe, John"}, {"UID", "jd", true}});
    const std::string leaf_only = tmp_.path() / "leaf.pem";
    {
        const auto end = doe.cert_pem.find("-----END CERTIFICATE-----");
        std::ofstream(leaf_only) << doe.cert_pem.substr(0, end) << "-----END CERTIFICATE-----\n";
    }
    auto o = trusted();
    o.cert_file = leaf_only;
    o.key_file = doe.key_file;
    http_client c2(port(), o);
    EXPECT_EQ(c2.get("/").status, 200U);
    certs = wait_for_log(server(), "TLS client certificate", 2);
    ASSERT_EQ(certs.size(), 2U);
    const std::string dn(certs[1].at("subject_dn").as_string());
    EXPECT_TRUE(
        dn == R"(UID=jd+CN=Doe\, John,O=Acme\, Inc.)" || dn == R"(CN=Doe\, John+UID=jd,O=Acme\, Inc.)"
    ) << dn;
    EXPECT_EQ(certs[1].at("peer_certificates"), 1);
}

TEST_F(tls_listener, client_certificate_from_an_untrusted_ca_is_refused) {
    start("optional");
    test_ca other;
    const auto stranger = other.issue_client(kirk);
    auto o12 = trusted(&stranger);
    o12.max_version = TLS1_2_VERSION;
    http_client c12(port(), o12);
    EXPECT_THROW(c12.connect(), std::runtime_error);
    auto o13 = trusted(&stranger);
    o13.min_version = TLS1_3_VERSION;
    http_client c13(port(), o13);
    EXPECT_THROW(c13.get("/"), std::runtime_error);

    const auto failures = wait_for_log(server(), "TLS handshake failed", 2);
    ASSERT_GE(failures.size(), 2U);
    EXPECT_NE(
        std::string(failures[0].at("reason").as_string()).find("certificate verify failed"), std::string::npos
    ) << json::serialize(failures[0]);
    EXPECT_TRUE(log_lines(server(), "TLS client certificate").empty());
    EXPECT_TRUE(log_lines(server(), "request").empty());
}

TEST_F(tls_listener, protocols_below_tls_1_2_are_refused) {
    start("none");
    auto old = trusted();
    old.min_version = TLS1_VERSION;
    old.max_version = TLS1_1_VERSION;
    http_client c(port(), old);
    EXPECT_THROW(c.connect(), std::runtime_error);
    auto v12 = trusted();
    v12.max_version = TLS1_2_VERSION;
    http_client c12(port(), v12);
    EXPECT_EQ(c12.get("/").status, 200U);
    EXPECT_EQ(c12.tls_version(), "TLSv1.2");
}

TEST_F(tls_listener, keep_alive_over_tls) {
    start("require");
    http_client c(port(), trusted(&kirk_cert()));
    for (int i = 0; i < 5; ++i) {
        auto r = c.get("/_cluster/health");
        ASSERT_EQ(r.status, 200U) << r.body;
        EXPECT_NE(r.header("connection"), "close");
    }
    EXPECT_EQ(c.connects(), 1U);
    EXPECT_EQ(wait_for_log(server(), "request", 5).size(), 5U);
    EXPECT_EQ(log_lines(server(), "TLS client certificate").size(), 1U);
}

TEST_F(tls_listener, a_kept_alive_tls_connection_waits_up_to_the_idle_timeout) {
    // The session's lazy deadline over TLS: the handshake's timeout must not leak into the request loop,
    // and the idle wait is the idle timeout, not the read timeout.
    start("none", {"--read-timeout-ms", "300", "--idle-timeout-ms", "1500"});
    http_client c(port(), trusted());
    ASSERT_EQ(c.get("/").status, 200U);
    std::this_thread::sleep_for(700ms);  // past the read timeout, within the idle timeout
    ASSERT_EQ(c.get("/").status, 200U);
    EXPECT_EQ(c.connects(), 1U);
    std::this_thread::sleep_for(2500ms);  // past the idle timeout: the server has closed it
    ASSERT_EQ(c.get("/").status, 200U);
    EXPECT_EQ(c.connects(), 2U);
}

TEST_F(tls_listener, oversized_body_gets_413_over_tls) {
    start("none", {"--max-body-bytes", "1024"});
    http_client c(port(), trusted());
    auto r = c.put("/_cluster/settings", std::string(256 * 1024, 'x'));
    EXPECT_EQ(r.status, 413U) << r.body;
    EXPECT_EQ(r.header("connection"), "close");
    auto ok = c.get("/");
    EXPECT_EQ(ok.status, 200U);
}

class tls_with_upstream : public tls_listener {
protected:
    std::string ready_model(http_client& c) {
        open_cluster_settings(c);
        return register_model(c, chat_connector(up_), "tls-model");
    }
    fake_upstream up_;
};

TEST_F(tls_with_upstream, chunked_predict_stream_over_tls) {
    start("require");
    http_client c(port(), trusted(&kirk_cert()));
    const auto id = ready_model(c);
    up_.enqueue(fake_reply::openai_stream({"Blue", " light", " scatters"}, 20ms));
    auto r = c.post(
        "/_plugins/_ml/models/" + id + "/_predict/stream",
        R"({"parameters":{"messages":[{"role":"user","content":"Why?"}],"_llm_interface":"openai/v1/chat/completions"}})"
    );
    ASSERT_EQ(r.status, 200U) << r.body;
    EXPECT_EQ(r.header("transfer-encoding"), "chunked");
    EXPECT_NE(r.header("content-type").find("text/event-stream"), std::string::npos);
    EXPECT_NE(r.body.find("Blue"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find(R"("is_last":true)"), std::string::npos) << r.body;
    // The stream ended the connection politely; the next request opens a new one and works.
    EXPECT_EQ(c.get("/").status, 200U);
}

TEST_F(tls_with_upstream, graceful_shutdown_finishes_an_in_flight_request_over_tls) {
    start("optional");
    http_client c(port(), trusted(&kirk_cert()));
    const auto id = ready_model(c);
    http_client idle(port(), trusted());
    EXPECT_EQ(idle.get("/").status, 200U);  // a kept-alive connection that stays open through shutdown

    up_.enqueue(
        fake_reply::json(200, R"({"id":"c1","object":"chat.completion","choices":[]})").with_delay(1500ms)
    );
    auto in_flight = std::async(std::launch::async, [&] {
        return c.post(
            "/_plugins/_ml/models/" + id + "/_predict",
            R"({"parameters":{"messages":[{"role":"user","content":"hi"}]}})"
        );
    });
    ASSERT_TRUE(up_.wait_for_requests(1));
    const auto started = std::chrono::steady_clock::now();
    const int code = server().stop();
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(code, 0) << server().log();
    EXPECT_LT(took, 8s);
    auto r = in_flight.get();
    EXPECT_EQ(r.status, 200U) << r.body;
    EXPECT_EQ(r.header("connection"), "close");
}

TEST_F(tls_listener, bad_files_stop_start_up_naming_the_file) {
    const auto other = ca().issue({"localhost"}, {});
    const auto garbage = (tmp_.path() / "garbage.pem").string();
    std::ofstream(garbage) << "not a certificate\n";
    const auto missing = (tmp_.path() / "missing.pem").string();
    // The localhost key under a passphrase: refused, never prompted for.
    const auto encrypted = (tmp_.path() / "encrypted.key").string();
    {
        const auto& pem = ca().localhost().key_pem;
        BIO* in = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
        EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
        BIO_free(in);
        ASSERT_NE(key, nullptr);
        BIO* out = BIO_new_file(encrypted.c_str(), "w");
        static char pass[] = "sesame";
        ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(out, key, EVP_aes_256_cbc(), pass, 6, nullptr, nullptr), 1);
        BIO_free(out);
        EVP_PKEY_free(key);
    }
    struct scenario {
        std::vector<std::string> args;
        std::string must_name;
        std::string must_say;
    };
    const std::vector<scenario> scenarios{
        {{"--tls-cert", missing, "--tls-key", ca().localhost().key_file}, missing, "No such file"},
        {{"--tls-cert", garbage, "--tls-key", ca().localhost().key_file}, garbage, "no PEM certificate"},
        // A key where the certificate belongs: named, and its contents never printed.
        {{"--tls-cert", ca().localhost().key_file, "--tls-key", ca().localhost().key_file},
         ca().localhost().key_file,
         "no PEM certificate"},
        {{"--tls-cert", ca().localhost().cert_file, "--tls-key", garbage},
         garbage,
         "no unencrypted PEM private key"},
        {{"--tls-cert", ca().localhost().cert_file, "--tls-key", other.key_file},
         other.key_file,
         "does not belong"},
        {{"--tls-cert", ca().localhost().cert_file, "--tls-key", encrypted},
         encrypted,
         "no unencrypted PEM private key"},
        {{"--tls-cert",
          ca().localhost().cert_file,
          "--tls-key",
          ca().localhost().key_file,
          "--tls-client-ca",
          missing,
          "--tls-client-auth",
          "require"},
         missing,
         "No such file"},
        {{"--tls-cert",
          ca().localhost().cert_file,
          "--tls-key",
          ca().localhost().key_file,
          "--tls-client-ca",
          garbage,
          "--tls-client-auth",
          "optional"},
         garbage,
         "no PEM CA certificate"},
    };
    int n = 0;
    for (const auto& s : scenarios) {
        const auto data = tmp_.path() / ("data" + std::to_string(n++));
        server_process p(data, {}, s.args);
        EXPECT_NE(p.start_expect_failure(), 0);
        const auto log = p.log();
        EXPECT_NE(log.find(s.must_name), std::string::npos) << log;
        EXPECT_NE(log.find(s.must_say), std::string::npos) << log;
        EXPECT_NE(log.find("cannot set up TLS"), std::string::npos) << log;
        EXPECT_EQ(log.find("PRIVATE KEY"), std::string::npos) << log;
        // The key's base64 body never appears either.
        const auto& key = ca().localhost().key_pem;
        const auto body_line = key.substr(key.find('\n') + 1, 40);
        EXPECT_EQ(log.find(body_line), std::string::npos) << log;
        // Nothing was created in the data directory.
        EXPECT_FALSE(std::filesystem::exists(data / "modelrelay.db")) << data;
    }
}

TEST_F(tls_listener, sighup_reloads_the_certificate_for_new_connections_and_a_bad_one_is_not_taken) {
    // Start with a certificate from an independent CA, at paths the test then rewrites.
    test_ca other;
    const auto first = other.issue({"localhost"}, {"127.0.0.1"});
    const auto cert = tmp_.path() / "server.pem";
    const auto key = tmp_.path() / "server.key";
    auto write = [](const std::filesystem::path& p, const std::string& text) {
        std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
    };
    write(cert, first.cert_pem);
    write(key, first.key_pem);
    server_ = std::make_unique<server_process>(
        tmp_.path() / "data",
        std::map<std::string, std::string>{},
        std::vector<std::string>{
            "--log-format", "json", "--tls-cert", cert.string(), "--tls-key", key.string()}
    );
    server_->start();
    tls_client_options trusts_other;
    trusts_other.ca_file = other.ca_file();
    http_client kept(port(), trusts_other);  // a keep-alive connection from before the reload
    ASSERT_EQ(kept.get("/").status, 200U);

    // New files are not read until SIGHUP.
    write(cert, ca().localhost().cert_pem);
    write(key, ca().localhost().key_pem);
    EXPECT_THROW(http_client(port(), trusted()).connect(), std::runtime_error);
    server().signal(SIGHUP);
    ASSERT_EQ(wait_for_log(server(), "TLS certificate reloaded", 1).size(), 1U);
    http_client now(port(), trusted());
    EXPECT_EQ(now.get("/").status, 200U);
    EXPECT_THROW(http_client(port(), trusts_other).connect(), std::runtime_error);
    EXPECT_EQ(kept.get("/").status, 200U);  // the open connection keeps the context it started with

    // A reload that fails keeps the current certificate, and the process keeps running.
    write(cert, "not a certificate");
    server().signal(SIGHUP);
    const auto failed = wait_for_log(server(), "TLS reload failed; the current certificate stays in use", 1);
    ASSERT_EQ(failed.size(), 1U);
    EXPECT_NE(std::string(failed[0].at("reason").as_string()).find(cert.string()), std::string::npos);
    EXPECT_EQ(http_client(port(), trusted()).get("/").status, 200U);
    EXPECT_EQ(server().stop(), 0);
}

TEST_F(tls_listener, client_auth_without_a_client_ca_is_a_start_up_error) {
    server_process p(
        tmp_.path() / "data",
        {},
        {"--tls-cert",
         ca().localhost().cert_file,
         "--tls-key",
         ca().localhost().key_file,
         "--tls-client-auth",
         "require"}
    );
    EXPECT_NE(p.start_expect_failure(), 0);
    EXPECT_NE(p.log().find("--tls-client-ca"), std::string::npos) << p.log();
}

TEST_F(tls_listener, environment_variables_configure_tls) {
    server_ = std::make_unique<server_process>(
        tmp_.path() / "data",
        std::map<std::string, std::string>{
            {"MODELRELAY_TLS_CERT", ca().localhost().cert_file},
            {"MODELRELAY_TLS_KEY", ca().localhost().key_file},
            {"MODELRELAY_TLS_CLIENT_CA", ca().ca_file()},
            {"MODELRELAY_TLS_CLIENT_AUTH", "require"},
            {"MODELRELAY_LOG_FORMAT", "json"},
        }
    );
    server_->start();
    http_client anonymous(port(), trusted());
    EXPECT_THROW(anonymous.get("/"), std::runtime_error);
    http_client c(port(), trusted(&kirk_cert()));
    EXPECT_EQ(c.get("/").status, 200U);
}

// Runs a shell command, returning its exit status and standard output.
std::pair<int, std::string> run(const std::string& cmd) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) {
        return {-1, out};
    }
    std::array<char, 4096> buf{};
    while (const auto n = std::fread(buf.data(), 1, buf.size(), p)) {
        out.append(buf.data(), n);
    }
    const int status = ::pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST_F(tls_listener, stock_curl_with_a_client_certificate) {
    if (run("command -v curl >/dev/null 2>&1").first != 0) {
        GTEST_SKIP() << "curl not found";
    }
    start("require");
    const std::string url = "https://localhost:" + std::to_string(port());
    const std::string base = "curl -sS --max-time 10 --resolve localhost:" + std::to_string(port()) +
                             ":127.0.0.1 --cacert '" + ca().ca_file() + "' ";
    auto [code, body] =
        run(base + "--cert '" + kirk_cert().cert_file + "' --key '" + kirk_cert().key_file +
            "' -w '\\n%{http_code}' " + url + "/ 2>&1");
    ASSERT_EQ(code, 0) << body;
    EXPECT_NE(body.find("\"cluster_name\":\"modelrelay\""), std::string::npos) << body;
    EXPECT_EQ(body.substr(body.rfind('\n') + 1), "200") << body;
    const auto requests = wait_for_log(server(), "request", 1);
    ASSERT_EQ(requests.size(), 1U);
    EXPECT_EQ(requests[0].at("client_dn"), kirk_dn);

    // Without a certificate curl fails (handshake alert or a reset read), never gets an answer.
    auto [refused, out] = run(base + "-o /dev/null -w '%{http_code}' " + url + "/ 2>&1");
    EXPECT_NE(refused, 0) << out;
    EXPECT_EQ(wait_for_log(server(), "request", 1).size(), 1U);
}

}  // namespace
}  // namespace modelrelay::test
