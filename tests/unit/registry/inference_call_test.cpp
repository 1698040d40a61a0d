// File: inference_call_test.cpp
// Request planning and response shaping of `_inference` calls (registry/inference_call.hpp).
#include "registry/inference_call.hpp"

#include <initializer_list>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace modelrelay::registry::inference {
namespace {

namespace json = boost::json;

json::object endpoint(std::string_view task, std::string_view extra = "") {
    auto d = prepare_create(
        "ep",
        task,
        json::parse(
            R"({"service":"openai","task_settings":{"user":"stored","headers":{"X-Tenant":"t1"}},"service_settings":{"api_key":"k","model_id":"m","organization_id":"org")" +
            std::string(extra) + "}}"
        )
    );
    EXPECT_TRUE(d) << d.error().reason;
    return d->doc;
}

std::string header(const upstream_call& c, std::string_view name) {
    for (const auto& [k, v] : c.headers) {
        if (k == name) {
            return v;
        }
    }
    return "";
}

TEST(inference_call, completion_request_is_what_elasticsearch_sends) {
    auto call =
        plan_completion(endpoint("completion"), "sk", {"a", "b"}, json::object{{"user", "req"}}, true);
    EXPECT_EQ(call.url, default_chat_url);
    EXPECT_EQ(header(call, "Authorization"), "Bearer sk");
    EXPECT_EQ(header(call, "OpenAI-Organization"), "org");
    EXPECT_EQ(header(call, "X-Tenant"), "t1");
    EXPECT_EQ(
        call.body,
        R"({"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}],"model":"m","n":1,"stream":true,"stream_options":{"include_usage":true},"user":"req"})"
    );
}

TEST(inference_call, embeddings_forward_dimensions_only_when_set_by_user) {
    auto with_dims = plan_embeddings(endpoint("text_embedding", R"(,"dimensions":4)"), "sk", {"x"}, {});
    EXPECT_EQ(with_dims.url, default_embeddings_url);
    EXPECT_EQ(
        with_dims.body,
        R"({"input":["x"],"model":"m","user":"stored","dimensions":4,"encoding_format":"base64"})"
    );
    auto doc = endpoint("text_embedding");
    EXPECT_EQ(
        plan_embeddings(doc, "sk", {"x"}, {}).body,
        R"({"input":["x"],"model":"m","user":"stored","encoding_format":"base64"})"
    );
}

TEST(inference_call, chat_request_keeps_openai_fields_and_prefers_the_request_model) {
    auto request = parse_chat_request(
        "",
        json::parse(
            R"({"messages":[{"role":"user","content":"q"}],"model":"other","temperature":0.5,"tools":[]})"
        )
    );
    ASSERT_TRUE(request) << request.error().reason;
    auto call = plan_chat(endpoint("chat_completion"), "sk", *request, false);
    EXPECT_EQ(
        call.body,
        R"({"messages":[{"role":"user","content":"q"}],"temperature":0.5,"tools":[],"model":"other","n":1,"stream":false,"user":"stored"})"
    );
    const std::string raw = R"({"messages":[],"bogus":1})";
    EXPECT_EQ(
        parse_chat_request(raw, json::parse(raw)).error().reason,
        "[1:16] [chat_completion_request] unknown field [bogus]"
    );
    EXPECT_EQ(parse_chat_request("{}", json::parse("{}")).error().code, errc::x_content_parse);
    const std::string empty = R"({"messages":[],"model":"m"})";
    const auto refused = parse_chat_request(empty, json::parse(empty));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, errc::validation_failed);
    EXPECT_EQ(refused.error().reason, "Validation Failed: 1: Field [messages] cannot be an empty array;");
}

TEST(inference_call, infer_request_parsing) {
    auto one = parse_infer_request(
        "", json::parse(R"({"input":"x","input_type":"ingest"})"), task_type::text_embedding
    );
    ASSERT_TRUE(one);
    EXPECT_EQ(one->input, std::vector<std::string>{"x"});
    const std::string raw = R"({"input":5})";
    EXPECT_EQ(
        parse_infer_request(raw, json::parse(raw), task_type::any).error().reason,
        "[1:2] [cluster:internal/xpack/inference] input doesn't support values of type: VALUE_NUMBER"
    );
    EXPECT_EQ(
        parse_infer_request("", json::parse(R"({"input":"x","input_type":"search"})"), task_type::completion)
            .error()
            .reason,
        "Validation Failed: 1: Field [input_type] cannot be specified for task type [completion];"
    );
    // rerank's members, which es-js sends at the top level, are read and type-checked.
    auto rerank = parse_infer_request(
        "",
        json::parse(R"({"query":"q","input":["a","b"],"top_n":1,"return_documents":true})"),
        task_type::any
    );
    ASSERT_TRUE(rerank) << rerank.error().reason;
    EXPECT_EQ(rerank->query, "q");
    EXPECT_EQ(rerank->top_n, 1);
    EXPECT_EQ(rerank->return_documents, true);
    const std::string bad = R"({"input":"x","top_n":"one"})";
    EXPECT_EQ(
        parse_infer_request(bad, json::parse(bad), task_type::any).error().reason,
        "[1:14] [cluster:internal/xpack/inference] failed to parse field [top_n]"
    );
}

TEST(inference_call, upstream_failures_map_like_elasticsearch) {
    auto e = upstream_failure("ep", "http://h/x", 401, R"({"error":{"message":"bad key"}})");
    EXPECT_EQ(e.status, 401);
    EXPECT_EQ(
        e.reason,
        "Received an authentication error status code for request from inference entity id [ep] status "
        "[401]. "
        "Error message: [bad key]"
    );
    EXPECT_EQ(
        upstream_failure("ep", "http://h/x", 404, "").reason,
        "Resource not found at [http://h/x] for request from inference entity id [ep] status [404]"
    );
    // OpenAiResponseHandler's wording by status, and the status Elasticsearch answers with (toRestStatus).
    struct by_status {
        unsigned status;
        std::string_view what;
        int answered;
    };
    for (const auto& [status, what, answered] : std::initializer_list<by_status>{
             {502, "Received a server error status code", 400},
             {503, "Received a server busy error status code", 400},
             {413, "Received a content too large status code", 413},
             {422, "Received an input validation error response", 422},
             {302, "Unhandled redirection", 302},
             {418, "Received an unsuccessful status code", 418}}) {
        const auto got = upstream_failure("ep", "u", status, "oops");
        EXPECT_EQ(
            got.reason,
            std::string(what) + " for request from inference entity id [ep] status [" +
                std::to_string(status) + "]"
        );
        EXPECT_EQ(got.status, answered) << status;
    }
    EXPECT_EQ(upstream_failure("ep", "u", 429, "").status, 429);
    EXPECT_EQ(
        upstream_failure("ep", "u", 429, "").reason,
        "Received a rate limit status code. Token limit [unknown], remaining tokens [unknown]. Request limit "
        "[unknown], remaining requests [unknown] for request from inference entity id [ep] status [429]"
    );
    rate_limit_headers limits;
    limits.token_limit = "40000";
    limits.remaining_requests = "2";
    EXPECT_EQ(
        upstream_failure("ep", "u", 429, "", limits).reason,
        "Received a rate limit status code. Token limit [40000], remaining tokens [unknown]. Request limit "
        "[unknown], remaining requests [2] for request from inference entity id [ep] status [429]"
    );
    const auto too_long = upstream_failure(
        "ep", "u", 400, R"({"error":{"message":"Please reduce your prompt; or completion length."}})"
    );
    EXPECT_EQ(too_long.status, 400);
    EXPECT_TRUE(too_long.reason.starts_with("Received a content too large status code for request"))
        << too_long.reason;
}

TEST(inference_call, response_shaping) {
    EXPECT_EQ(
        *completion_body(
            "ep", R"({"choices":[{"index":0,"message":{"role":"assistant","content":"hi \"you\""}}]})"
        ),
        R"({"completion":[{"result":"hi \"you\""}]})"
    );
    EXPECT_FALSE(completion_body("ep", "not json"));
    auto vectors =
        embeddings_of("ep", R"({"data":[{"index":1,"embedding":[0.5]},{"index":0,"embedding":[0.1,-3]}]})");
    ASSERT_TRUE(vectors);
    EXPECT_EQ(
        text_embedding_body(*vectors), R"({"text_embedding":[{"embedding":[0.1,-3.0]},{"embedding":[0.5]}]})"
    );
    EXPECT_EQ(
        completion_delta(R"({"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]})"),
        std::optional<std::string>(R"({"completion":[{"delta":"Hi"}]})")
    );
    EXPECT_FALSE(completion_delta(R"({"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})"));
    EXPECT_EQ(
        chat_chunk(
            R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","system_fingerprint":null,"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":null,"logprobs":null}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}})"
        ),
        std::optional<std::string>(
            R"({"id":"c","choices":[{"delta":{"tool_calls":[{"index":0,"id":"t","function":{"name":"f","arguments":"{}"},"type":"function"}]},"index":0}],"model":"m","object":"chat.completion.chunk","usage":{"completion_tokens":2,"prompt_tokens":1,"total_tokens":3}})"
        )
    );
    auto err = stream_error_of("ep", R"({"error":{"message":"down"}})");
    ASSERT_TRUE(err);
    EXPECT_EQ(
        err->reason,
        "Received an error response for request from inference entity id [ep]. Error message: [down]"
    );
    EXPECT_FALSE(stream_error_of("ep", R"({"choices":[]})"));
}

}  // namespace
}  // namespace modelrelay::registry::inference
