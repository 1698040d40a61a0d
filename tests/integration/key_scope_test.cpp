// File: key_scope_test.cpp
// API keys on the front doors that call models (security.md R15–R17), against the real binary with
// `--security on`, real keys from POST /_security/api_key and a fake OpenAI upstream that reports `usage`:
// the model allow-list on /v1, `_inference` and `_predict` (["*"], one model, [], no modelrelay object),
// /v1/models listing exactly the callable models, the not-found texts that never disclose the list, rpm at
// N−1, N, N+1 with the x-ratelimit headers, max_parallel against a slow upstream, the token budget charged
// from upstream usage (streams included) and kept across a restart, tenant-bound keys under multi-tenancy,
// and invalidated or expired keys. Every refusal is checked to have reached no upstream.
#include <chrono>
#include <future>
#include <set>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/support/fake_upstream.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/key_support.hpp"
#include "tests/support/model_setup.hpp"
#include "tests/support/sse_client.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// Prompt "hi": the fake counts 1 prompt token and 5 completion tokens ("Hello from the fake upstream.").
constexpr std::int64_t tokens_per_chat = 6;

std::string chat_body(std::string_view model, std::string_view extra = "") {
    return R"({"model":")" + std::string(model) + R"(","messages":[{"role":"user","content":"hi"}])" +
           std::string(extra) + "}";
}

std::string not_found_body(std::string_view model) {
    return json::serialize(json::value{
        {"error",
         {{"message",
           "The model `" + std::string(model) + "` does not exist or you do not have access to it."},
          {"type", "invalid_request_error"},
          {"param", nullptr},
          {"code", "model_not_found"}}}});
}

class key_scope : public ::testing::Test {
protected:
    void SetUp() override { setup_relay({}); }

    void setup_relay(std::vector<std::string> args) {
        relay_ = std::make_unique<secured_relay>(std::move(args));
        relay_->open_cluster_settings();
        m1_ = relay_->register_model(chat_connector(up_), "m1");
        m2_ = relay_->register_model(chat_connector(up_), "m2");
        ASSERT_FALSE(m1_.empty());
        ASSERT_FALSE(m2_.empty());
    }

    secured_relay& relay() { return *relay_; }

    created_key key(const std::string& modelrelay_object) {
        return relay().create_key(
            R"({"name":"k)" + std::to_string(++keys_) + "\"" +
            (modelrelay_object.empty() ? "" : R"(,"modelrelay":)" + modelrelay_object) + "}"
        );
    }

    http_result chat(const created_key& k, std::string_view model, std::string_view extra = "") {
        return relay().with_key(k, "POST", "/v1/chat/completions", chat_body(model, extra));
    }

    std::set<std::string> listed(const created_key& k) {
        auto r = relay().with_key(k, "GET", "/v1/models");
        EXPECT_EQ(r.status, 200) << r.body;
        std::set<std::string> ids;
        const auto j = r.json();
        for (const auto& m : j.at("data").as_array()) {
            ids.insert(std::string(m.at("id").as_string()));
        }
        return ids;
    }

    // The model is unknown to this key, with OpenAI's exact 404 and nothing sent upstream.
    void expect_hidden(const created_key& k, std::string_view model) {
        const auto before = up_.request_count();
        auto r = chat(k, model);
        EXPECT_EQ(r.status, 404) << r.body;
        EXPECT_EQ(r.body, not_found_body(model));
        auto get = relay().with_key(k, "GET", "/v1/models/" + std::string(model));
        EXPECT_EQ(get.status, 404) << get.body;
        EXPECT_EQ(get.body, not_found_body(model));
        EXPECT_EQ(up_.request_count(), before);
    }

    fake_upstream up_;
    std::unique_ptr<secured_relay> relay_;
    std::string m1_;
    std::string m2_;
    int keys_ = 0;
};

// --- R16: the allow-list -------------------------------------------------------------------------------

TEST_F(key_scope, star_allows_every_model) {
    const auto k = key(R"({"models":["*"]})");
    EXPECT_EQ(listed(k), (std::set<std::string>{m1_, m2_, "m1", "m2"}));
    EXPECT_EQ(chat(k, "m1").status, 200);
    EXPECT_EQ(chat(k, m2_).status, 200);
    auto r = relay().with_key(
        k,
        "POST",
        "/_plugins/_ml/models/" + m2_ + "/_predict",
        R"({"parameters":{"messages":[{"role":"user","content":"hi"}]}})",
        "ApiKey"
    );
    EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(key_scope, one_model_hides_every_other) {
    const auto k = key(R"({"models":["m1"]})");
    EXPECT_EQ(listed(k), (std::set<std::string>{m1_, "m1"}));
    // The entry names the model; its id reaches it too.
    EXPECT_EQ(chat(k, "m1").status, 200);
    EXPECT_EQ(chat(k, m1_).status, 200);
    EXPECT_EQ(relay().with_key(k, "GET", "/v1/models/m1").status, 200);
    expect_hidden(k, "m2");
    expect_hidden(k, m2_);
    expect_hidden(k, "no-such-model");  // a hidden model and a missing one answer alike
    // The refusal never names what the key may use.
    auto r = chat(k, "m2");
    EXPECT_EQ(r.body.find("m1"), std::string::npos) << r.body;
    // Embeddings and the ml-commons predict route hide it the same way.
    const auto before = up_.request_count();
    auto e = relay().with_key(k, "POST", "/v1/embeddings", R"({"model":"m2","input":"x"})");
    EXPECT_EQ(e.status, 404) << e.body;
    EXPECT_EQ(e.body, not_found_body("m2"));
    auto p = relay().with_key(
        k,
        "POST",
        "/_plugins/_ml/models/" + m2_ + "/_predict",
        R"({"parameters":{"messages":[{"role":"user","content":"hi"}]}})",
        "ApiKey"
    );
    EXPECT_EQ(p.status, 404) << p.body;
    EXPECT_EQ(
        p.json().at("error").at("reason").as_string(),
        "Failed to find model with the provided model id: " + m2_
    );
    auto s = relay().with_key(
        k,
        "POST",
        "/_plugins/_ml/models/" + m2_ + "/_predict/stream",
        R"({"parameters":{"messages":[{"role":"user","content":"hi"}],"_llm_interface":"openai/v1/chat/completions"}})",
        "ApiKey"
    );
    EXPECT_EQ(s.status, 404) << s.body;
    EXPECT_EQ(up_.request_count(), before);
    // The allowed model through the ml-commons route.
    auto ok = relay().with_key(
        k,
        "POST",
        "/_plugins/_ml/models/" + m1_ + "/_predict",
        R"({"parameters":{"messages":[{"role":"user","content":"hi"}]}})",
        "ApiKey"
    );
    EXPECT_EQ(ok.status, 200) << ok.body;
}

TEST_F(key_scope, an_entry_may_be_a_model_id) {
    const auto k = key(R"({"models":[")" + m2_ + R"("]})");
    EXPECT_EQ(listed(k), (std::set<std::string>{m2_, "m2"}));
    EXPECT_EQ(chat(k, "m2").status, 200);
    expect_hidden(k, "m1");
}

TEST_F(key_scope, an_empty_or_absent_list_means_no_model) {
    for (const std::string ext : {R"({"models":[]})", R"({"rpm":100})", R"({})"}) {
        SCOPED_TRACE(ext);
        const auto k = key(ext);
        EXPECT_TRUE(listed(k).empty());
        expect_hidden(k, "m1");
        expect_hidden(k, m2_);
    }
}

TEST_F(key_scope, a_key_without_the_modelrelay_object_acts_as_its_owner) {
    // A plain Elasticsearch API key of the (tenant-less) admin: every model, no limits, no headers.
    const auto k = key("");
    EXPECT_EQ(listed(k), (std::set<std::string>{m1_, m2_, "m1", "m2"}));
    auto r = chat(k, "m2");
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-ratelimit-limit-requests"), "");
    auto info = relay().admin("GET", "/_security/api_key?id=" + k.id);
    EXPECT_FALSE(info.json().at("api_keys").at(0).as_object().contains("modelrelay")) << info.body;
}

TEST_F(key_scope, inference_ids_are_the_models_of_the_inference_api) {
    relay().put_completion_endpoint(up_, "ep1");
    relay().put_completion_endpoint(up_, "ep2");
    const auto k = key(R"({"models":["ep1"]})");
    up_.clear_requests();
    auto ok = relay().with_key(k, "POST", "/_inference/completion/ep1", R"({"input":"hi"})", "ApiKey");
    EXPECT_EQ(ok.status, 200) << ok.body;
    auto hidden = relay().with_key(k, "POST", "/_inference/completion/ep2", R"({"input":"hi"})", "ApiKey");
    EXPECT_EQ(hidden.status, 404) << hidden.body;
    EXPECT_EQ(hidden.json().at("error").at("reason").as_string(), "Inference endpoint not found [ep2]");
    auto stream =
        relay().with_key(k, "POST", "/_inference/completion/ep2/_stream", R"({"input":"hi"})", "ApiKey");
    EXPECT_EQ(stream.status, 404) << stream.body;
    EXPECT_EQ(up_.request_count(), 1U);
    // Listing and reading show the allowed endpoint only.
    auto all = relay().with_key(k, "GET", "/_inference/_all", "", "ApiKey");
    ASSERT_EQ(all.status, 200) << all.body;
    ASSERT_EQ(all.json().at("endpoints").as_array().size(), 1U) << all.body;
    EXPECT_EQ(all.json().at("endpoints").at(0).at("inference_id").as_string(), "ep1");
    EXPECT_EQ(relay().with_key(k, "GET", "/_inference/ep2", "", "ApiKey").status, 404);
    // A key cannot delete what it cannot see.
    EXPECT_EQ(relay().with_key(k, "DELETE", "/_inference/ep2", "", "ApiKey").status, 404);
    EXPECT_EQ(relay().admin("GET", "/_inference/ep2").status, 200);
}

// --- R17: limits ---------------------------------------------------------------------------------------

TEST_F(key_scope, rpm_admits_n_requests_then_answers_429_with_headers) {
    const auto k = key(R"({"models":["*"],"rpm":3})");
    for (int i = 1; i <= 3; ++i) {  // N−1 = 2 and N = 3 pass
        auto r = chat(k, "m1");
        ASSERT_EQ(r.status, 200) << "request " << i << ": " << r.body;
        EXPECT_EQ(r.header("x-ratelimit-limit-requests"), "3");
        EXPECT_EQ(r.header("x-ratelimit-remaining-requests"), std::to_string(3 - i));
        EXPECT_EQ(r.header("x-ratelimit-limit-tokens"), "");  // no tpm
        EXPECT_EQ(r.header("x-ratelimit-reset-tokens"), "");
        // 20 s per request taken at 3 rpm, less what refilled meanwhile (Go duration text, as OpenAI).
        const std::string reset = r.header("x-ratelimit-reset-requests");
        ASSERT_TRUE(reset.ends_with("s") && !reset.ends_with("ms")) << reset;
        const auto minutes_end = reset.find('m');
        const double reset_s =
            (minutes_end == std::string::npos ? 0.0 : 60.0 * std::stod(reset.substr(0, minutes_end))) +
            std::stod(reset.substr(minutes_end == std::string::npos ? 0 : minutes_end + 1));
        EXPECT_GT(reset_s, 20.0 * i - 10) << reset;
        EXPECT_LE(reset_s, 20.0 * i) << reset;
    }
    EXPECT_EQ(up_.request_count(), 3U);
    auto r = chat(k, "m1");  // N+1
    EXPECT_EQ(r.status, 429) << r.body;
    const auto retry = std::stoi(r.header("retry-after"));
    EXPECT_GE(retry, 19);
    EXPECT_LE(retry, 20);
    EXPECT_EQ(r.header("x-ratelimit-limit-requests"), "3");
    EXPECT_EQ(r.header("x-ratelimit-remaining-requests"), "0");
    const auto e = r.json().at("error");
    EXPECT_EQ(e.at("code").as_string(), "rate_limit_exceeded");
    EXPECT_EQ(e.at("type").as_string(), "requests");
    EXPECT_TRUE(e.at("param").is_null());
    EXPECT_EQ(
        std::string(e.at("message").as_string()),
        "Rate limit reached for requests per minute (RPM) on this API key: Limit 3. Please try again in " +
            std::to_string(retry) + "s."
    );
    EXPECT_EQ(up_.request_count(), 3U);
    // Another key is not affected.
    EXPECT_EQ(chat(key(R"({"models":["*"],"rpm":3})"), "m1").status, 200);
}

TEST_F(key_scope, rpm_refusals_on_inference_and_ml_routes_use_their_envelopes) {
    relay().put_completion_endpoint(up_, "ep1");
    const auto k = key(R"({"models":["*"],"rpm":1})");
    up_.clear_requests();
    ASSERT_EQ(
        relay().with_key(k, "POST", "/_inference/completion/ep1", R"({"input":"hi"})", "ApiKey").status, 200
    );
    auto es = relay().with_key(k, "POST", "/_inference/completion/ep1", R"({"input":"hi"})", "ApiKey");
    EXPECT_EQ(es.status, 429) << es.body;
    EXPECT_EQ(es.json().at("error").at("type").as_string(), "status_exception");
    EXPECT_EQ(es.json().at("status").as_int64(), 429);
    EXPECT_FALSE(es.header("retry-after").empty());
    EXPECT_EQ(es.header("x-elastic-product"), "Elasticsearch");
    auto ml = relay().with_key(
        k,
        "POST",
        "/_plugins/_ml/models/" + m1_ + "/_predict",
        R"({"parameters":{"messages":[{"role":"user","content":"hi"}]}})",
        "ApiKey"
    );
    EXPECT_EQ(ml.status, 429) << ml.body;
    EXPECT_EQ(ml.json().at("error").at("type").as_string(), "status_exception");
    EXPECT_EQ(
        ml.json().at("error").at("reason").as_string(),
        "Request is throttled at user level. If you think there's an issue, please contact your cluster "
        "admin."
    );
    EXPECT_FALSE(ml.header("retry-after").empty());
    EXPECT_EQ(up_.request_count(), 1U);
}

TEST_F(key_scope, tpm_refuses_a_prompt_larger_than_the_limit) {
    const auto k = key(R"({"models":["*"],"tpm":10})");
    auto ok = chat(k, "m1");  // estimate 2 tokens, then charged the 6 the upstream reports
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(ok.header("x-ratelimit-limit-tokens"), "10");
    EXPECT_EQ(ok.header("x-ratelimit-remaining-tokens"), "4");
    const std::string big(200, 'x');  // 50 tokens estimated
    auto r = relay().with_key(
        k,
        "POST",
        "/v1/chat/completions",
        R"({"model":"m1","messages":[{"role":"user","content":")" + big + "\"}]}"
    );
    EXPECT_EQ(r.status, 429) << r.body;
    EXPECT_EQ(r.json().at("error").at("code").as_string(), "rate_limit_exceeded");
    EXPECT_EQ(r.json().at("error").at("type").as_string(), "tokens");
    EXPECT_EQ(r.header("x-should-retry"), "false");
    EXPECT_EQ(up_.request_count(), 1U);
}

TEST_F(key_scope, max_parallel_caps_requests_in_flight) {
    const auto k = key(R"({"models":["*"],"max_parallel":1})");
    up_.set_handler([](const recorded_request& r) -> std::optional<fake_reply> {
        if (r.body.find("slow") == std::string::npos) {
            return std::nullopt;
        }
        return fake_reply::
            json(200,
                 R"({"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"late"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})"
            )
                .with_delay(1500ms);
    });
    auto slow = std::async(std::launch::async, [&] {
        return relay().with_key(
            k,
            "POST",
            "/v1/chat/completions",
            R"({"model":"m1","messages":[{"role":"user","content":"slow"}]})"
        );
    });
    ASSERT_TRUE(up_.wait_for_requests(1));
    auto second = chat(k, "m2");  // N+1 while one is in flight
    EXPECT_EQ(second.status, 429) << second.body;
    EXPECT_EQ(second.json().at("error").at("code").as_string(), "rate_limit_exceeded");
    EXPECT_EQ(second.header("retry-after"), "1");
    EXPECT_EQ(up_.request_count(), 1U);
    EXPECT_EQ(slow.get().status, 200);
    // The slot is free again once the answer is out.
    EXPECT_EQ(chat(k, "m2").status, 200);
    EXPECT_EQ(up_.request_count(), 2U);
}

TEST_F(key_scope, max_parallel_slot_is_released_when_a_stream_ends) {
    const auto k = key(R"({"models":["*"],"max_parallel":1})");
    {
        sse_client s(
            relay().port(),
            "POST",
            "/v1/chat/completions",
            chat_body("m1", R"(,"stream":true)"),
            {{"Authorization", "Bearer " + k.encoded}}
        );
        EXPECT_EQ(s.status(), 200);
        s.read_all();
        EXPECT_TRUE(s.complete());
    }
    EXPECT_EQ(chat(k, "m1").status, 200);
}

TEST_F(key_scope, budget_is_charged_from_usage_including_streams_and_survives_a_restart) {
    const auto k = key(R"({"models":["*"],"token_budget":12,"budget_period":"30d"})");
    // A stream without include_usage: the relay asks the upstream for usage but does not show it.
    {
        sse_client s(
            relay().port(),
            "POST",
            "/v1/chat/completions",
            chat_body("m1", R"(,"stream":true)"),
            {{"Authorization", "Bearer " + k.encoded}}
        );
        ASSERT_EQ(s.status(), 200);
        s.read_all();
        EXPECT_EQ(s.body().find("\"usage\""), std::string::npos) << s.body();
    }
    ASSERT_TRUE(up_.wait_for_requests(1));
    EXPECT_NE(up_.requests()[0].body.find("include_usage"), std::string::npos) << up_.requests()[0].body;
    // 6 of 12 spent (N−1 region): admitted; 12 of 12 (N): refused.
    ASSERT_EQ(chat(k, "m1").status, 200);
    auto r = chat(k, "m1");
    EXPECT_EQ(r.status, 429) << r.body;
    EXPECT_EQ(r.json().at("error").at("code").as_string(), "insufficient_quota");
    EXPECT_EQ(r.json().at("error").at("type").as_string(), "insufficient_quota");
    EXPECT_EQ(r.header("x-should-retry"), "false");
    EXPECT_GT(std::stoll(r.header("retry-after")), 29LL * 86400);
    EXPECT_EQ(up_.request_count(), 2U);
    // The spend is on disk: a restart does not refill the budget.
    relay().restart();
    auto after = chat(k, "m1");
    EXPECT_EQ(after.status, 429) << after.body;
    EXPECT_EQ(after.json().at("error").at("code").as_string(), "insufficient_quota");
    EXPECT_EQ(up_.request_count(), 2U);
    static_assert(tokens_per_chat * 2 == 12);
}

// An upstream that counts in its own names (Ollama's native prompt_eval_count / eval_count) is charged too.
TEST_F(key_scope, budget_is_charged_from_a_native_upstream_s_counts) {
    up_.route(
        "/api/chat",
        fake_reply::json(
            200,
            R"({"model":"llama3","message":{"role":"assistant","content":"native"},"done":true,"prompt_eval_count":4,"eval_count":4})"
        )
    );
    const std::string native =
        R"({"name":"native","version":"1","protocol":"http","parameters":{"model":"llama3"},)"
        R"("credential":{"k":"unused-key-value"},"actions":[{"action_type":"predict","method":"POST",)"
        R"("url":")" +
        up_.url("/api/chat") +
        R"(","request_body":"{ \"model\": \"${parameters.model}\", \"messages\": ${parameters.messages}, \"stream\": false }"}]})";
    relay().register_model(native, "n1");
    const auto k = key(R"({"models":["*"],"token_budget":8})");
    up_.clear_requests();
    auto first = chat(k, "n1");
    ASSERT_EQ(first.status, 200) << first.body;
    EXPECT_EQ(first.json().at("usage").at("total_tokens"), 8);
    auto second = chat(k, "n1");
    EXPECT_EQ(second.status, 429) << second.body;
    EXPECT_EQ(second.json().at("error").at("code").as_string(), "insufficient_quota");
    EXPECT_EQ(up_.request_count(), 1U);
}

TEST_F(key_scope, budget_for_the_embeddings_and_inference_doors) {
    const std::string e1 = relay().register_model(embedding_connector(up_), "e1");
    relay().put_completion_endpoint(up_, "ep1");
    const auto k = key(R"({"models":["*"],"token_budget":3})");
    up_.clear_requests();
    // "a b c": 3 tokens reported by the fake → the budget (for ever) is spent.
    auto e = relay().with_key(k, "POST", "/v1/embeddings", R"({"model":"e1","input":"a b c"})");
    ASSERT_EQ(e.status, 200) << e.body;
    auto again = relay().with_key(k, "POST", "/v1/embeddings", R"({"model":"e1","input":"a"})");
    EXPECT_EQ(again.status, 429) << again.body;
    EXPECT_EQ(again.json().at("error").at("code").as_string(), "insufficient_quota");
    EXPECT_EQ(again.header("retry-after"), "");  // never: the budget has no period
    auto es = relay().with_key(k, "POST", "/_inference/completion/ep1", R"({"input":"hi"})", "ApiKey");
    EXPECT_EQ(es.status, 429) << es.body;
    EXPECT_EQ(es.json().at("error").at("type").as_string(), "status_exception");
    EXPECT_EQ(
        es.json().at("error").at("reason").as_string(), "You exceeded the token budget of this API key."
    );
    EXPECT_EQ(up_.request_count(), 1U);
}

// --- key lifecycle -------------------------------------------------------------------------------------

TEST_F(key_scope, invalidated_and_expired_keys_answer_401) {
    const auto k = key(R"({"models":["*"]})");
    ASSERT_EQ(chat(k, "m1").status, 200);
    auto inv = relay().admin("DELETE", "/_security/api_key", R"({"ids":[")" + k.id + R"("]})");
    ASSERT_EQ(inv.status, 200) << inv.body;
    const std::string unauthorized =
        R"({"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}})";
    auto r = chat(k, "m1");
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(json::parse(r.body), json::parse(unauthorized));
    EXPECT_EQ(relay().with_key(k, "GET", "/v1/models").status, 401);

    const auto short_lived =
        relay().create_key(R"({"name":"brief","expiration":"1s","modelrelay":{"models":["*"]}})");
    ASSERT_EQ(chat(short_lived, "m1").status, 200);
    std::this_thread::sleep_for(1200ms);
    auto expired = chat(short_lived, "m1");
    EXPECT_EQ(expired.status, 401) << expired.body;
    EXPECT_EQ(json::parse(expired.body), json::parse(unauthorized));
    EXPECT_EQ(up_.request_count(), 2U);
}

// --- R12: tenant-bound keys ----------------------------------------------------------------------------

class key_tenancy : public key_scope {
protected:
    void SetUp() override {
        relay_ = std::make_unique<secured_relay>(std::vector<std::string>{"--multi-tenancy", "true"});
        relay_->open_cluster_settings();
        acme_ = relay_->register_model(chat_connector(up_), "acme-model", "acme");
        beta_ = relay_->register_model(chat_connector(up_), "beta-model", "beta");
        ASSERT_FALSE(acme_.empty());
        ASSERT_FALSE(beta_.empty());
        relay_->put_completion_endpoint(up_, "acme-ep", "acme");
        relay_->put_completion_endpoint(up_, "beta-ep", "beta");
        up_.clear_requests();
    }
    std::string acme_;
    std::string beta_;
};

TEST_F(key_tenancy, a_key_sees_only_its_tenant) {
    const auto k = key(R"({"tenant":"acme","models":["*"]})");
    EXPECT_EQ(listed(k), (std::set<std::string>{acme_, "acme-model"}));
    auto r = chat(k, "acme-model");
    ASSERT_EQ(r.status, 200) << r.body;
    expect_hidden(k, beta_);
    expect_hidden(k, "beta-model");
    EXPECT_EQ(
        relay().with_key(k, "POST", "/_inference/completion/acme-ep", R"({"input":"hi"})", "ApiKey").status,
        200
    );
    EXPECT_EQ(
        relay().with_key(k, "POST", "/_inference/completion/beta-ep", R"({"input":"hi"})", "ApiKey").status,
        404
    );
    EXPECT_EQ(up_.request_count(), 2U);
}

TEST_F(key_tenancy, an_admin_owned_key_cannot_switch_tenant_with_the_header) {
    const auto k = key(R"({"tenant":"acme","models":["*"]})");
    auto r = relay().with_key(
        k, "POST", "/v1/chat/completions", chat_body(beta_), "Bearer", {{"x-tenant-id", "beta"}}
    );
    EXPECT_EQ(r.status, 403) << r.body;
    auto es = relay().with_key(
        k, "POST", "/_inference/completion/beta-ep", R"({"input":"hi"})", "ApiKey", {{"x-tenant-id", "beta"}}
    );
    EXPECT_EQ(es.status, 403) << es.body;
    EXPECT_EQ(
        es.json().at("error").at("reason").as_string(), "You don't have permission to access this resource"
    );
    // ml-commons routes take the tenant from x-tenant-id: only the key's own is accepted.
    const std::string predict = R"({"parameters":{"messages":[{"role":"user","content":"hi"}]}})";
    auto ml = relay().with_key(
        k, "POST", "/_plugins/_ml/models/" + beta_ + "/_predict", predict, "ApiKey", {{"x-tenant-id", "beta"}}
    );
    EXPECT_EQ(ml.status, 403) << ml.body;
    EXPECT_EQ(up_.request_count(), 0U);
    auto own = relay().with_key(
        k, "POST", "/_plugins/_ml/models/" + acme_ + "/_predict", predict, "ApiKey", {{"x-tenant-id", "acme"}}
    );
    EXPECT_EQ(own.status, 200) << own.body;
}

}  // namespace
}  // namespace modelrelay::test
