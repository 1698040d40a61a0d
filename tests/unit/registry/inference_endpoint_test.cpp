// File: inference_endpoint_test.cpp
// Parsing and shaping of Elasticsearch `_inference` endpoint configurations
// (registry/inference_endpoint.hpp).
#include "registry/inference_endpoint.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace modelrelay::registry::inference {
namespace {

namespace json = boost::json;

json::value body(std::string_view text) {
    return json::parse(text);
}

TEST(inference_endpoint, create_completion_fills_defaults_and_keeps_the_key_out_of_the_document) {
    auto d = prepare_create(
        "my-ep",
        "completion",
        body(R"({"service":"openai","service_settings":{"api_key":"sk-1","model_id":"m"}})")
    );
    ASSERT_TRUE(d) << d.error().reason;
    EXPECT_EQ(d->task, task_type::completion);
    ASSERT_TRUE(d->api_key);
    EXPECT_EQ(*d->api_key, "sk-1");
    EXPECT_EQ(json::serialize(d->doc).find("sk-1"), std::string::npos);
    EXPECT_EQ(
        json::serialize(endpoint_info(d->doc)),
        R"({"inference_id":"my-ep","task_type":"completion","service":"openai","service_settings":{"model_id":"m","rate_limit":{"requests_per_minute":500}}})"
    );
}

TEST(inference_endpoint, service_settings_are_shown_in_elasticsearch_order) {
    auto d = prepare_create(
        "e",
        "text_embedding",
        body(
            R"({"service":"openai","task_settings":{"user":"u"},"service_settings":{"rate_limit":{"requests_per_minute":7},"dimensions":3,"api_key":"k","url":"http://h/v1/embeddings","model_id":"m","organization_id":"o","similarity":"COSINE"}})"
        )
    );
    ASSERT_TRUE(d) << d.error().reason;
    ASSERT_TRUE(apply_embedding_size(*d, 3));
    EXPECT_EQ(
        json::serialize(endpoint_info(d->doc)),
        R"({"inference_id":"e","task_type":"text_embedding","service":"openai","service_settings":{"model_id":"m","url":"http://h/v1/embeddings","organization_id":"o","similarity":"cosine","dimensions":3,"rate_limit":{"requests_per_minute":7}},"task_settings":{"user":"u"},"chunking_settings":{"strategy":"sentence","max_chunk_size":250,"sentence_overlap":1}})"
    );
    EXPECT_FALSE(apply_embedding_size(*d, 4));
}

TEST(inference_endpoint, task_type_resolution_follows_elasticsearch) {
    const auto cfg = R"({"service":"openai","service_settings":{"api_key":"k","model_id":"m"}})";
    EXPECT_EQ(
        prepare_create("e", std::nullopt, body(cfg)).error().reason,
        "model is missing required setting [task_type]"
    );
    EXPECT_EQ(prepare_create("e", "nope", body(cfg)).error().reason, "Unknown task_type [nope]");
    auto with_body_task = body(
        R"({"task_type":"chat_completion","service":"openai","service_settings":{"api_key":"k","model_id":"m"}})"
    );
    EXPECT_EQ(prepare_create("e", std::nullopt, with_body_task)->task, task_type::chat_completion);
    EXPECT_EQ(
        prepare_create("e", "completion", with_body_task).error().reason,
        "Cannot resolve conflicting task_type parameter in the request URL [completion] and the request body "
        "[chat_completion]"
    );
}

// Elasticsearch echoes a mistyped or misplaced api_key in these texts; ours print `__SENSITIVE__`.
TEST(inference_endpoint, errors_never_echo_a_key) {
    const std::string key = "sk-live-REALKEY123456";
    auto wrong_type = prepare_create(
        "e",
        "completion",
        body(R"({"service":"openai","service_settings":{"api_key":[")" + key + R"("],"model_id":"m"}})")
    );
    ASSERT_FALSE(wrong_type);
    EXPECT_EQ(
        wrong_type.error().reason,
        "Validation Failed: 1: field [api_key] is not of the expected type. The value [__SENSITIVE__] cannot "
        "be "
        "converted to a [String];"
    );
    for (const std::string& misplaced :
         {R"({"service":"openai","service_settings":{"api_key":"k","model_id":"m"},"task_settings":{"api_key":")" +
              key + R"("}})",
          R"({"service":"openai","api_key":")" + key +
              R"(","service_settings":{"api_key":"k","model_id":"m"}})",
          R"({"service":"openai","extra":{"nested":{"api_key":")" + key +
              R"("}},"service_settings":{"api_key":"k","model_id":"m"}})"}) {
        auto r = prepare_create("e", "completion", body(misplaced));
        ASSERT_FALSE(r) << misplaced;
        EXPECT_EQ(r.error().reason.find(key), std::string::npos) << r.error().reason;
        EXPECT_NE(r.error().reason.find("api_key=__SENSITIVE__"), std::string::npos) << r.error().reason;
    }
    // OAuth2's client_secret, tokens and anything that reads like a secret, in any letter case.
    for (const std::string name :
         {"client_secret", "token", "Access_Token", "PASSWORD", "x_api_key", "apiKey"}) {
        for (const std::string where : {"service_settings", "task_settings"}) {
            const std::string b =
                where == "service_settings"
                    ? R"({"service":"openai","service_settings":{"api_key":"k","model_id":"m",")" + name +
                          R"(":")" + key + R"("}})"
                    : R"({"service":"openai","service_settings":{"api_key":"k","model_id":"m"},)"
                      R"("task_settings":{")" +
                          name + R"(":")" + key + R"("}})";
            auto r = prepare_create("e", "completion", body(b));
            ASSERT_FALSE(r) << b;
            EXPECT_EQ(r.error().reason.find(key), std::string::npos) << r.error().reason;
            EXPECT_NE(r.error().reason.find(name + "=__SENSITIVE__"), std::string::npos) << r.error().reason;
        }
    }
}

TEST(inference_endpoint, setting_errors_are_collected_per_scope) {
    auto e = prepare_create(
        "e",
        "text_embedding",
        body(R"({"service":"openai","service_settings":{"model_id":5,"dimensions":"x","api_key":"k"}})")
    );
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().code, errc::validation);
    EXPECT_EQ(
        e.error().reason,
        "Validation Failed: 1: field [dimensions] is not of the expected type. The value [x] cannot be "
        "converted "
        "to a [Integer];2: field [model_id] is not of the expected type. The value [5] cannot be converted "
        "to a "
        "[String];"
    );
    auto leftovers = prepare_create(
        "e",
        "completion",
        body(R"({"service":"openai","extra":{"a":[1,2]},"service_settings":{"model_id":"m","api_key":"k"}})")
    );
    EXPECT_EQ(
        leftovers.error().reason,
        "Configuration contains settings [{extra={a=[1, 2]}}] unknown to the [openai] service"
    );
    auto chunking_on_completion = prepare_create(
        "e",
        "completion",
        body(
            R"({"service":"openai","chunking_settings":{},"service_settings":{"model_id":"m","api_key":"k"}})"
        )
    );
    EXPECT_FALSE(chunking_on_completion);
}

TEST(inference_endpoint, inference_ids_follow_ml_id_rules) {
    EXPECT_TRUE(validate_inference_id("a"));
    EXPECT_TRUE(validate_inference_id("llama-completion_2.x1"));
    for (const char* bad : {"", "-a", "a-", "Upper", "_all", ".hidden", "a b"}) {
        EXPECT_FALSE(validate_inference_id(bad)) << bad;
    }
}

TEST(inference_endpoint, update_merges_task_settings_and_replaces_only_key_and_rate_limit) {
    auto d = prepare_create(
        "e",
        "completion",
        body(
            R"({"service":"openai","task_settings":{"user":"a"},"service_settings":{"model_id":"m","api_key":"k"}})"
        )
    );
    ASSERT_TRUE(d);
    auto same = prepare_update(d->doc, std::nullopt, body(R"({"task_settings":{"user":"a"}})"));
    ASSERT_TRUE(same);
    EXPECT_FALSE(same->changed);
    auto u = prepare_update(
        d->doc,
        "completion",
        body(
            R"({"service_settings":{"api_key":"k2","model_id":"ignored","rate_limit":{"requests_per_minute":9}},"task_settings":{"headers":{"X-A":"1"}}})"
        )
    );
    ASSERT_TRUE(u) << u.error().reason;
    EXPECT_TRUE(u->changed);
    EXPECT_EQ(*u->api_key, "k2");
    EXPECT_EQ(
        json::serialize(endpoint_info(u->doc)),
        R"({"inference_id":"e","task_type":"completion","service":"openai","service_settings":{"model_id":"m","rate_limit":{"requests_per_minute":9}},"task_settings":{"user":"a","headers":{"X-A":"1"}}})"
    );
    EXPECT_EQ(
        prepare_update(d->doc, "chat_completion", body(R"({"task_settings":{}})")).error().reason,
        "Task type must match the task type of the existing endpoint"
    );
    EXPECT_EQ(prepare_update(d->doc, std::nullopt, body("{}")).error().reason, "Request body is empty");
}

// clients.md §1.1: `_update` takes chunking_settings too; embedding endpoints replace theirs (checked as on
// create), other task types ignore the member.
TEST(inference_endpoint, update_replaces_chunking_settings_of_embedding_endpoints) {
    auto d = prepare_create(
        "emb",
        "text_embedding",
        body(
            R"({"service":"openai","service_settings":{"model_id":"m","api_key":"k"},"chunking_settings":{"strategy":"word","max_chunk_size":100,"overlap":10}})"
        )
    );
    ASSERT_TRUE(d) << d.error().reason;
    auto u = prepare_update(
        d->doc,
        std::nullopt,
        body(R"({"chunking_settings":{"strategy":"sentence","max_chunk_size":300,"sentence_overlap":0}})")
    );
    ASSERT_TRUE(u) << u.error().reason;
    EXPECT_TRUE(u->changed);
    EXPECT_EQ(
        json::serialize(endpoint_info(u->doc).at("chunking_settings")),
        R"({"strategy":"sentence","max_chunk_size":300,"sentence_overlap":0})"
    );
    auto bad = prepare_update(d->doc, std::nullopt, body(R"({"chunking_settings":{"strategy":"pages"}})"));
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().reason.find("chunking_settings"), std::string::npos) << bad.error().reason;
    EXPECT_EQ(
        prepare_update(d->doc, std::nullopt, body(R"({"chunking_settings":"x"})")).error().reason,
        "Unable to parse chunking settings in the request body"
    );
}

TEST(inference_endpoint, java_text_matches_map_to_string) {
    EXPECT_EQ(
        java_text(body(R"({"a":1,"b":"x","c":[true,null],"d":1.5,"e":2.0})")),
        "{a=1, b=x, c=[true, null], d=1.5, e=2.0}"
    );
}

}  // namespace
}  // namespace modelrelay::registry::inference
