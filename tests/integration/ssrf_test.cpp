// File: ssrf_test.cpp
// security.md R18-R20 end to end: the real binary, a connector whose host comes from the predict
// parameters, and a fake upstream on 127.0.0.1 that must see nothing for every refused vector (the R20
// list, the metadata names and addresses, our own listener), on `_predict`, `_predict/stream` and `/v1`.
// DNS answers that alternate between a public and a loopback address come from the resolver test seam
// (MODELRELAY_TEST_RESOLVE, server/upstream/static_resolver.hpp); no test ever connects off this host.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/support/fake_upstream.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/model_setup.hpp"
#include "tests/support/server_process.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;

// rebind.test alternates public-then-loopback and loopback-then-public; imds.test mixes in the
// instance-metadata address, refused even with private addresses allowed. The table replaces DNS for the
// whole process, hence localhost.
constexpr const char* resolver_table =
    "rebind.test=8.8.8.8,127.0.0.1|127.0.0.1,8.8.8.8;"
    "rebind6.test=2606:4700::6810:6c0,::1|::ffff:127.0.0.1,2606:4700::6810:6c0;"
    "imds.test=8.8.8.8,169.254.169.254|169.254.169.254,8.8.8.8;"
    "localhost=127.0.0.1";

constexpr const char* trust_all_private_off =
    R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"],"plugins.ml_commons.connector.private_ip_enabled":false,"plugins.ml_commons.stream_enabled":true}})";
constexpr const char* private_on =
    R"({"persistent":{"plugins.ml_commons.connector.private_ip_enabled":true}})";

class ssrf : public ::testing::Test {
protected:
    void SetUp() override {
        server_ = std::make_unique<server_process>(
            tmp_.path() / "data",
            std::map<std::string, std::string>{{"MODELRELAY_TEST_RESOLVE", resolver_table}}
        );
        server_->start();
        client_ = std::make_unique<http_client>(server_->port());
        auto s = c().put("/_cluster/settings", trust_all_private_off);
        ASSERT_EQ(s.status, 200) << s.body;
        model_ = register_model(c(), host_parameter_connector("sk-ssrf-sentinel"), "ssrf-model");
        ASSERT_FALSE(model_.empty());
        port_ = ":" + std::to_string(up_.port());
    }
    http_client& c() { return *client_; }

    http_result predict(const std::string& host) {
        return c().post("/_plugins/_ml/models/" + model_ + "/_predict", host_predict_body(host));
    }
    http_result predict_stream(const std::string& host) {
        return c().post("/_plugins/_ml/models/" + model_ + "/_predict/stream", host_predict_body(host));
    }
    // The exact ml-commons refusal, as a 400 illegal_argument_exception in the OpenSearch envelope.
    void expect_refused(const http_result& r, const std::string& host) {
        EXPECT_EQ(r.status, 400) << host << ": " << r.body;
        const auto reason = "Remote inference host name has private ip address: " + host;
        EXPECT_EQ(
            json::parse(r.body),
            json::parse(
                R"({"error":{"root_cause":[{"type":"illegal_argument_exception","reason":)" +
                json::serialize(json::string(reason)) +
                R"(}],"type":"illegal_argument_exception","reason":)" +
                json::serialize(json::string(reason)) + R"(},"status":400})"
            )
        ) << host
          << ": " << r.body;
    }

    temp_dir tmp_;
    fake_upstream up_;
    std::unique_ptr<server_process> server_;
    std::unique_ptr<http_client> client_;
    std::string model_;
    std::string port_;
};

// R20, every vector refused at predict time with private addresses off, and nothing reaches the upstream.
TEST_F(ssrf, r20_vectors_are_refused_and_nothing_is_sent) {
    for (const std::string host :
         {"127.1",
          "2130706433",
          "0x7f.1",
          "0177.0.0.1",
          "[::ffff:127.0.0.1]",
          "[64:ff9b::a9fe:a9fe]",
          "[2002:a9fe:a9fe::1]",
          "[fd00:ec2::254]",
          "100.100.100.200",
          "168.63.129.16",
          "rebind.test",
          "rebind.test",  // the second answer set
          "rebind6.test",
          "rebind6.test",
          "localhost",
          "localhost.",
          "api.localhost",
          "metadata.google.internal",
          "metadata.amazonaws.com",
          "[::1]",
          "0.0.0.0",
          "169.254.169.254",
          "[fe80::1]"}) {
        expect_refused(predict(host + port_), host);
    }
    EXPECT_EQ(up_.connection_count(), 0U);
    EXPECT_EQ(up_.request_count(), 0U);
}

// A caller who may only predict must not move the host out from under the trusted pattern: a `?`, `/` or `#`
// in a parameter that lands in the host leaves the text matching `.*\.corp\.example/` while the connection
// would go to the caller's host (here the fake upstream, reachable with private addresses on).
TEST_F(ssrf, parameters_cannot_end_the_host_early) {
    ASSERT_EQ(
        c().put(
               "/_cluster/settings",
               R"({"persistent":{"plugins.ml_commons.connector.private_ip_enabled":true,)"
               R"("plugins.ml_commons.trusted_connector_endpoints_regex":["^http://.*\\.corp\\.example/.*$"]}})"
        )
            .status,
        200
    );
    const std::string target = "127.0.0.1" + port_;
    const std::string no_match = "Connector URL is not matching the trusted connector endpoint regex";
    const auto reason_of = [](const http_result& r) {
        EXPECT_EQ(r.status, 400) << r.body;
        return std::string(json::parse(r.body).at("error").at("reason").as_string());
    };
    EXPECT_EQ(reason_of(predict(target + "?x.corp.example")), no_match);
    const auto slash = reason_of(predict(target + "/x.corp.example"));
    EXPECT_TRUE(slash == no_match || slash.starts_with("Encountered error when trying to create uri"))
        << slash;
    EXPECT_EQ(reason_of(predict_stream(target + "?x.corp.example")), no_match);
    EXPECT_EQ(reason_of(predict(target + "#x.corp.example")), "Connector URL must not contain a fragment");
    auto v1 = c().post(
        "/v1/chat/completions",
        R"({"model":"ssrf-model","messages":[{"role":"user","content":"x"}],"host":")" + target +
            R"(?x.corp.example"})"
    );
    EXPECT_EQ(v1.status, 400) << v1.body;
    EXPECT_EQ(json::parse(v1.body).at("error").at("message").as_string(), no_match);
    EXPECT_EQ(up_.connection_count(), 0U);
    EXPECT_EQ(up_.request_count(), 0U);
}

TEST_F(ssrf, streaming_paths_use_the_same_guard) {
    for (const std::string host :
         {"127.1", "[64:ff9b::a9fe:a9fe]", "[2002:a9fe:a9fe::1]", "rebind.test", "localhost."}) {
        expect_refused(predict_stream(host + port_), host);
    }
    EXPECT_EQ(up_.connection_count(), 0U);
}

// R19: private_ip_enabled opens loopback (the fake answers), but never metadata, link-local, CGNAT, 0/8 or a
// name with a metadata answer.
TEST_F(ssrf, private_ip_enabled_opens_loopback_and_nothing_more) {
    ASSERT_EQ(c().put("/_cluster/settings", private_on).status, 200);
    for (const std::string host :
         {"[64:ff9b::a9fe:a9fe]",
          "[2002:a9fe:a9fe::1]",
          "[fd00:ec2::254]",
          "100.100.100.200",
          "100.64.0.1",
          "168.63.129.16",
          "169.254.169.254",
          "0.0.0.0",
          "0",
          "metadata.google.internal",
          "metadata.amazonaws.com",
          "imds.test",
          "imds.test",
          "[fe80::1]",
          "[fec0::1]",
          "224.0.0.1"}) {
        expect_refused(predict(host + port_), host);
    }
    expect_refused(predict_stream("imds.test" + port_), "imds.test");
    EXPECT_EQ(up_.connection_count(), 0U);

    // Allowed: 127.0.0.1:<fake port> and localhost. Its other spellings stay refused (R19, R20): an allowed
    // address has one spelling.
    for (const std::string host : {"127.1", "0x7f.1", "2130706433", "0177.0.0.1", "127.0.0.1."}) {
        expect_refused(predict(host + port_), host);
    }
    EXPECT_EQ(up_.connection_count(), 0U);
    for (const std::string host : {"127.0.0.1", "localhost"}) {
        auto p = predict(host + port_);
        EXPECT_EQ(p.status, 200) << host << ": " << p.body;
    }
    EXPECT_EQ(up_.request_count(), 2U);
    EXPECT_EQ(up_.last_request()->header("host"), "localhost" + port_);
}

// R19: a URL whose host is an IPv4 address in another spelling than dotted decimal is refused when the
// connector is created or updated, and when an `_inference` endpoint is, with private addresses on or off;
// the refused request stores nothing and the stored connector keeps its URL.
TEST_F(ssrf, other_ipv4_spellings_are_refused_at_create) {
    const auto connector_with = [&](const std::string& host) {
        return R"({"name":"numeric","version":"1","protocol":"http","parameters":{"model":"m"},)"
               R"("credential":{"openAI_key":"sk-numeric"},"actions":[{"action_type":"predict","method":"POST",)"
               R"("url":"http://)" +
               host + port_ + R"(/v1/chat/completions","request_body":"{}"}]})";
    };
    const auto count_connectors = [&] {
        auto r = c().post("/_plugins/_ml/connectors/_search", R"({"query":{"match_all":{}},"size":100})");
        EXPECT_EQ(r.status, 200) << r.body;
        return json::parse(r.body).at("hits").at("total").at("value").to_number<int>();
    };
    const int before = count_connectors();
    for (const char* settings : {trust_all_private_off, private_on}) {
        ASSERT_EQ(c().put("/_cluster/settings", settings).status, 200);
        for (const std::string host : {"127.1", "2130706433", "0x7f.1", "0177.0.0.1", "127.0.0.1.", "0"}) {
            expect_refused(c().post("/_plugins/_ml/connectors/_create", connector_with(host)), host);
        }
        auto odd = c().post("/_plugins/_ml/connectors/_create", connector_with("134744072"));
        EXPECT_EQ(odd.status, 400) << odd.body;
        EXPECT_EQ(
            json::parse(odd.body).at("error").at("reason").as_string(),
            "Connector URL host is not canonical: 134744072"
        );
    }
    EXPECT_EQ(count_connectors(), before);

    // An update to such a URL is refused too, and the stored URL stays.
    auto created = c().post("/_plugins/_ml/connectors/_create", connector_with("127.0.0.1"));
    ASSERT_EQ(created.status, 200) << created.body;
    const std::string id(json::parse(created.body).at("connector_id").as_string());
    auto update = c().put(
        "/_plugins/_ml/connectors/" + id,
        R"({"actions":[{"action_type":"predict","method":"POST","url":"http://127.1)" + port_ +
            R"(/v1/chat/completions","request_body":"{}"}]})"
    );
    expect_refused(update, "127.1");
    auto got = c().get("/_plugins/_ml/connectors/" + id);
    EXPECT_EQ(
        json::parse(got.body).at("actions").at(0).at("url").as_string(),
        "http://127.0.0.1" + port_ + "/v1/chat/completions"
    );

    // `_inference` endpoints go through the same check.
    auto endpoint = c().put(
        "/_inference/completion/numeric-host",
        R"({"service":"openai","service_settings":{"api_key":"sk-numeric","model_id":"m","url":"http://0x7f.1)" +
            port_ + R"(/v1/chat/completions"}})"
    );
    EXPECT_EQ(endpoint.status, 400) << endpoint.body;
    EXPECT_NE(
        endpoint.body.find("Remote inference host name has private ip address: 0x7f.1"), std::string::npos
    ) << endpoint.body;
    EXPECT_EQ(c().get("/_inference/completion/numeric-host").status, 404);
    EXPECT_EQ(up_.connection_count(), 0U);
}

// modelrelay never calls itself, in any spelling, even with private addresses allowed.
TEST_F(ssrf, our_own_listener_is_refused) {
    ASSERT_EQ(c().put("/_cluster/settings", private_on).status, 200);
    const std::string self = ":" + std::to_string(server_->port());
    for (const std::string host : {"127.0.0.1", "[::ffff:127.0.0.1]", "127.1", "localhost"}) {
        expect_refused(predict(host + self), host);
    }
}

// A redirect is an answer, never a new request (security.md §6.3): not to 169.254.169.254, not anywhere.
TEST_F(ssrf, a_redirect_to_the_metadata_service_is_not_followed) {
    ASSERT_EQ(c().put("/_cluster/settings", private_on).status, 200);
    up_.enqueue(fake_reply::empty(302).with_header("Location", "http://169.254.169.254/latest/meta-data/"));
    auto p = predict("127.0.0.1" + port_);
    EXPECT_EQ(p.status, 302) << p.body;
    EXPECT_EQ(
        p.json().at("error").at("reason").as_string(),
        "Remote service returned error status 302 with empty body"
    );
    up_.enqueue(fake_reply::empty(302).with_header("Location", "http://169.254.169.254/latest/meta-data/"));
    auto s = predict_stream("127.0.0.1" + port_);
    EXPECT_NE(s.status, 200) << s.body;
    EXPECT_EQ(up_.request_count(), 2U);
    EXPECT_EQ(up_.connection_count(), 1U);  // keep-alive: the same connection, no other one opened
}

}  // namespace
}  // namespace modelrelay::test
