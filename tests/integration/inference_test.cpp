// File: inference_test.cpp
// The Elasticsearch `_inference` front door against the real binary and a fake OpenAI-compatible upstream:
// seed 000's requests as written (only the URL points at the fake), every documented error envelope, SSE
// framing, the api_key never leaving the server nor resting in clear, and endpoints surviving a restart.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <zlib.h>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/support/fake_upstream.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/server_process.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;

constexpr const char* trust_all =
    R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"]}})";
constexpr const char* private_on =
    R"({"persistent":{"plugins.ml_commons.connector.private_ip_enabled":true}})";
constexpr const char* es_type = "application/vnd.elasticsearch+json; compatible-with=9";
constexpr const char* secret = "sk-inference-sentinel-7731";

// Seed 000, "Using the local LLM with the inference API": the PUT body with the console callouts removed and
// the ngrok URL replaced by the fake upstream.
std::string seed_put(const std::string& url) {
    return R"({
    "service": "openai",
    "service_settings": {
        "api_key": "ignored",
        "model_id": "llama3.2",
        "url": ")" +
           url + R"("
    }
})";
}

// Seed 000's stream request, as written.
constexpr const char* seed_stream = R"({
    "model": "llama3.2",
    "messages": [
        {
            "role": "user",
            "content": "What is the capital of France?"
        }
    ],
    "temperature": 0.7,
    "max_completion_tokens": 300
})";

struct sse_event {
    std::string event;
    std::string data;
};

// Splits an SSE body into events (each `event:` line followed by one `data:` line).
std::vector<sse_event> parse_sse(std::string_view body) {
    std::vector<sse_event> out;
    std::size_t pos = 0;
    while (pos < body.size()) {
        auto end = body.find("\n\n", pos);
        if (end == std::string_view::npos) {
            end = body.size();
        }
        std::string_view block = body.substr(pos, end - pos);
        sse_event e;
        std::size_t line_start = 0;
        while (line_start < block.size()) {
            auto nl = block.find('\n', line_start);
            auto line = block.substr(
                line_start, nl == std::string_view::npos ? std::string_view::npos : nl - line_start
            );
            if (line.starts_with("event: ")) {
                e.event = std::string(line.substr(7));
            } else if (line.starts_with("data: ")) {
                e.data = std::string(line.substr(6));
            }
            if (nl == std::string_view::npos) {
                break;
            }
            line_start = nl + 1;
        }
        if (!block.empty()) {
            out.push_back(std::move(e));
        }
        pos = end + 2;
    }
    return out;
}

// `text` as a gzip member (windowBits 15 + 16), or as zlib data (15), as clients compress request bodies.
std::string compressed(std::string_view text, int window_bits = 15 + 16) {
    z_stream zs{};
    EXPECT_EQ(deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::string out(deflateBound(&zs, static_cast<uLong>(text.size())) + 32, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    zs.avail_in = static_cast<uInt>(text.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

class inference : public ::testing::Test {
protected:
    void SetUp() override {
        server_ = std::make_unique<server_process>(tmp_.path() / "data");
        server_->start();
        client_ = std::make_unique<http_client>(server_->port());
        ASSERT_EQ(c().put("/_cluster/settings", trust_all).status, 200);
        ASSERT_EQ(c().put("/_cluster/settings", private_on).status, 200);
    }
    http_client& c() { return *client_; }

    // The way @elastic/elasticsearch 9 talks: its vendor media type as Content-Type and Accept.
    http_result es(std::string_view method, const std::string& target, std::string_view body = {}) {
        return c().request(method, target, body, {{"Content-Type", es_type}, {"Accept", es_type}});
    }
    void put_ok(const std::string& target, const std::string& body) {
        auto r = es("PUT", target, body);
        ASSERT_EQ(r.status, 200) << target << " " << r.body;
    }
    std::string completion_body(std::string_view extra_settings = "") {
        return R"({"service":"openai","service_settings":{"api_key":")" + std::string(secret) +
               R"(","model_id":"gpt-test","url":")" + upstream_.url("/v1/chat/completions") + "\"" +
               std::string(extra_settings) + "}}";
    }
    std::string embedding_body(std::string_view extra_settings = "") {
        return R"({"service":"openai","service_settings":{"api_key":")" + std::string(secret) +
               R"(","model_id":"text-embedding-3-small","url":")" + upstream_.url("/v1/embeddings") + "\"" +
               std::string(extra_settings) + "}}";
    }
    // Status, error type and reason of an Elasticsearch error envelope.
    void expect_es_error(
        const http_result& r, unsigned status, std::string_view type, std::string_view reason
    ) {
        EXPECT_EQ(r.status, status) << r.body;
        auto j = r.json();
        EXPECT_EQ(j.at("status").to_number<unsigned>(), status) << r.body;
        EXPECT_EQ(j.at("error").at("type").as_string(), type) << r.body;
        EXPECT_EQ(j.at("error").at("reason").as_string(), reason) << r.body;
        EXPECT_EQ(j.at("error").at("root_cause").at(0).at("type").as_string(), type) << r.body;
    }

    temp_dir tmp_;
    fake_upstream upstream_;
    std::unique_ptr<server_process> server_;
    std::unique_ptr<http_client> client_;
};

// @elastic/elasticsearch with `compression: true` gzips every request body: it is inflated before anything
// reads it, as OpenSearch's HTTP pipeline does. What cannot be inflated is refused and changes nothing.
TEST_F(inference, compressed_request_bodies_are_inflated) {
    const auto gz = [&](std::string_view method,
                        const std::string& target,
                        std::string_view body,
                        std::string_view coding = "gzip") {
        return c().request(
            method,
            target,
            body,
            {{"Content-Type", es_type}, {"Accept", es_type}, {"Content-Encoding", std::string(coding)}}
        );
    };
    auto put = gz("PUT", "/_inference/completion/zipped", compressed(completion_body()));
    ASSERT_EQ(put.status, 200) << put.body;
    upstream_.clear_requests();
    auto r = gz("POST", "/_inference/completion/zipped", compressed(R"({"input":"Say hi"})"));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, R"({"completion":[{"result":"Hello from the fake upstream."}]})");
    auto sent = upstream_.last_request();
    ASSERT_TRUE(sent);
    EXPECT_EQ(json::parse(sent->body).at("messages").at(0).at("content").as_string(), "Say hi");
    // zlib data as `deflate`, the coding in any case, and the ml-commons routes too.
    EXPECT_EQ(
        gz("POST", "/_inference/completion/zipped", compressed(R"({"input":"x"})", 15), "Deflate").status, 200
    );
    auto create = gz(
        "POST",
        "/_plugins/_ml/connectors/_create",
        compressed(
            R"({"name":"z","version":"1","protocol":"http","parameters":{},"credential":{"k":"v"},"actions":[{"action_type":"predict","method":"POST","url":")" +
            upstream_.url("/v1/chat/completions") + R"(","request_body":"{}"}]})"
        ),
        "x-gzip"
    );
    ASSERT_EQ(create.status, 200) << create.body;

    const auto stored = es("GET", "/_inference/_all").body;
    const auto connectors =
        c().post("/_plugins/_ml/connectors/_search", R"({"query":{"match_all":{}}})").body;
    auto unknown = gz("PUT", "/_inference/completion/other", completion_body(), "br");
    EXPECT_EQ(unknown.status, 415);
    EXPECT_NE(unknown.body.find("Unsupported Content-Encoding [br]"), std::string::npos) << unknown.body;
    auto corrupt = gz("PUT", "/_inference/completion/other", "not gzip at all");
    EXPECT_EQ(corrupt.status, 400);
    EXPECT_NE(corrupt.body.find("Failed to decompress the request body"), std::string::npos) << corrupt.body;
    std::string zipped = compressed(completion_body());
    auto cut = gz("PUT", "/_inference/completion/other", zipped.substr(0, zipped.size() / 2));
    EXPECT_EQ(cut.status, 400) << cut.body;
    // A small body that inflates past the body limit (10 MiB by default) is the limit's 413.
    const std::string bomb = compressed(std::string(11 << 20, ' ') + "{}");
    ASSERT_LT(bomb.size(), 100000U);
    auto big = gz("PUT", "/_inference/completion/other", bomb);
    EXPECT_EQ(big.status, 413);
    EXPECT_NE(big.body.find("Request body is too large"), std::string::npos) << big.body;
    // In the same envelope as the plain body's 413.
    EXPECT_EQ(big.json().at("error").at("type"), "status_exception") << big.body;
    EXPECT_EQ(big.json().at("status"), 413) << big.body;
    EXPECT_EQ(es("GET", "/_inference/_all").body, stored);
    EXPECT_EQ(c().post("/_plugins/_ml/connectors/_search", R"({"query":{"match_all":{}}})").body, connectors);
}

TEST_F(inference, seed_000_put_chat_completion_endpoint_then_stream) {
    const std::string url = upstream_.url("/v1/chat/completions");
    auto put = c().put("/_inference/chat_completion/llama-completion", seed_put(url));
    ASSERT_EQ(put.status, 200) << put.body;
    EXPECT_EQ(put.header("x-elastic-product"), "Elasticsearch");
    EXPECT_EQ(
        put.json(),
        json::parse(
            R"({"inference_id":"llama-completion","task_type":"chat_completion","service":"openai",)"
            R"("service_settings":{"model_id":"llama3.2","url":")" +
            url + R"(","rate_limit":{"requests_per_minute":500}}})"
        )
    );
    // Like Elasticsearch, the PUT made one validation call before storing anything.
    ASSERT_EQ(upstream_.request_count(), 1U);
    auto validation = upstream_.requests()[0];
    EXPECT_EQ(validation.path(), "/v1/chat/completions");
    EXPECT_EQ(validation.header("authorization"), "Bearer ignored");
    EXPECT_EQ(
        json::parse(validation.body),
        json::parse(
            R"({"messages":[{"role":"user","content":"how big"}],"model":"llama3.2","n":1,"stream":false})"
        )
    );

    auto s = c().post("/_inference/chat_completion/llama-completion/_stream", seed_stream);
    ASSERT_EQ(s.status, 200) << s.body;
    EXPECT_EQ(s.header("content-type"), "text/event-stream");
    EXPECT_EQ(s.header("x-elastic-product"), "Elasticsearch");
    const auto events = parse_sse(s.body);
    ASSERT_GE(events.size(), 3U) << s.body;
    for (const auto& e : events) {
        EXPECT_EQ(e.event, "message") << s.body;
    }
    EXPECT_EQ(events.back().data, "[DONE]");
    EXPECT_TRUE(s.body.ends_with("event: message\ndata: [DONE]\n\n")) << s.body;
    // The first chunk is the seed's documented shape: unwrapped, nulls omitted, no `created`.
    EXPECT_EQ(
        json::parse(events[0].data),
        json::parse(
            R"({"id":"chatcmpl-fake","choices":[{"delta":{"content":"","role":"assistant"},"index":0}],)"
            R"("model":"llama3.2","object":"chat.completion.chunk"})"
        )
    );
    std::string text;
    for (std::size_t i = 0; i + 1 < events.size(); ++i) {
        auto chunk = json::parse(events[i].data);
        EXPECT_EQ(chunk.at("object").as_string(), "chat.completion.chunk");
        EXPECT_FALSE(chunk.as_object().contains("created"));
        for (const auto& choice : chunk.at("choices").as_array()) {
            if (const auto* content = choice.at("delta").as_object().if_contains("content")) {
                text += std::string(content->as_string());
            }
        }
    }
    EXPECT_EQ(text, default_completion_text);
    // The last chunk before [DONE] carries the usage Elasticsearch asks for with stream_options.
    auto last = json::parse(events[events.size() - 2].data);
    EXPECT_TRUE(last.at("choices").as_array().empty());
    EXPECT_TRUE(last.at("usage").as_object().contains("total_tokens"));
    auto sent = upstream_.last_request();
    ASSERT_TRUE(sent);
    EXPECT_EQ(
        json::parse(sent->body),
        json::parse(
            R"({"messages":[{"role":"user","content":"What is the capital of France?"}],"temperature":0.7,)"
            R"("max_completion_tokens":300,"model":"llama3.2","n":1,"stream":true,)"
            R"("stream_options":{"include_usage":true}})"
        )
    );
}

TEST_F(inference, chat_stream_frames_are_byte_exact) {
    put_ok("/_inference/chat_completion/chat", completion_body());
    upstream_.enqueue(fake_reply::sse({
        R"(data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi","tool_calls":null},"finish_reason":null}]})"
        "\n\n",
        R"(data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})"
        "\n\n",
        "data: [DONE]\n\n",
    }));
    auto s = c().post(
        "/_inference/chat_completion/chat/_stream", R"({"messages":[{"role":"user","content":"x"}]})"
    );
    ASSERT_EQ(s.status, 200) << s.body;
    EXPECT_EQ(
        s.body,
        "event: message\n"
        R"(data: {"id":"c1","choices":[{"delta":{"content":"Hi","role":"assistant"},"index":0}],"model":"m","object":"chat.completion.chunk"})"
        "\n\n"
        "event: message\n"
        R"(data: {"id":"c1","choices":[{"delta":{},"finish_reason":"stop","index":0}],"model":"m","object":"chat.completion.chunk"})"
        "\n\n"
        "event: message\ndata: [DONE]\n\n"
    );
    // The request model falls back to the endpoint's model_id.
    EXPECT_EQ(json::parse(upstream_.last_request()->body).at("model").as_string(), "gpt-test");
}

TEST_F(inference, completion_put_get_infer_stream_and_delete_with_es_client_media_types) {
    auto put =
        es("PUT", "/_inference/completion/my-completion", completion_body(R"(,"organization_id":"org-1")"));
    ASSERT_EQ(put.status, 200) << put.body;
    EXPECT_EQ(put.header("x-elastic-product"), "Elasticsearch");
    const auto info = json::parse(
        R"({"inference_id":"my-completion","task_type":"completion","service":"openai","service_settings":)"
        R"({"model_id":"gpt-test","url":")" +
        upstream_.url("/v1/chat/completions") +
        R"(","organization_id":"org-1","rate_limit":{"requests_per_minute":500}}})"
    );
    EXPECT_EQ(put.json(), info);

    for (const std::string target :
         {"/_inference/my-completion",
          "/_inference/completion/my-completion",
          "/_inference/completion/_all",
          "/_inference/_all",
          "/_inference"}) {
        auto g = es("GET", target);
        ASSERT_EQ(g.status, 200) << target << " " << g.body;
        EXPECT_EQ(g.header("x-elastic-product"), "Elasticsearch");
        EXPECT_EQ(g.json(), json::object({{"endpoints", json::array{info}}})) << target;
    }
    auto none = es("GET", "/_inference/text_embedding/_all");
    ASSERT_EQ(none.status, 200);
    EXPECT_EQ(none.body, R"({"endpoints":[]})");

    upstream_.clear_requests();
    auto r = es(
        "POST", "/_inference/completion/my-completion", R"({"input":"Say hi","task_settings":{"user":"u-1"}})"
    );
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-elastic-product"), "Elasticsearch");
    EXPECT_EQ(r.body, R"({"completion":[{"result":"Hello from the fake upstream."}]})");
    auto sent = upstream_.last_request();
    ASSERT_TRUE(sent);
    EXPECT_EQ(sent->header("authorization"), "Bearer " + std::string(secret));
    EXPECT_EQ(sent->header("openai-organization"), "org-1");
    EXPECT_EQ(
        json::parse(sent->body),
        json::parse(
            R"({"messages":[{"role":"user","content":"Say hi"}],"model":"gpt-test","n":1,"stream":false,"user":"u-1"})"
        )
    );
    // Without a task type in the URL the stored one applies.
    EXPECT_EQ(es("POST", "/_inference/my-completion", R"({"input":["Say hi"]})").status, 200);
    // SingleInputSenderExecutableAction: one input, streamed or not; nothing is sent.
    const auto calls = upstream_.requests().size();
    expect_es_error(
        es("POST", "/_inference/completion/my-completion", R"({"input":["a","b"]})"),
        400,
        "status_exception",
        "OpenAI chat completions only accepts 1 input"
    );
    EXPECT_EQ(
        es("POST", "/_inference/completion/my-completion/_stream", R"({"input":["a","b"]})").status, 400
    );
    EXPECT_EQ(upstream_.requests().size(), calls);

    upstream_.enqueue(fake_reply::openai_stream({"Hello", "world"}));
    auto s = es("POST", "/_inference/completion/my-completion/_stream", R"({"input":"Say hi"})");
    ASSERT_EQ(s.status, 200) << s.body;
    EXPECT_EQ(s.header("content-type"), "text/event-stream");
    EXPECT_EQ(s.header("x-elastic-product"), "Elasticsearch");
    EXPECT_EQ(
        s.body,
        "event: message\ndata: {\"completion\":[{\"delta\":\"Hello\"}]}\n\n"
        "event: message\ndata: {\"completion\":[{\"delta\":\" world\"}]}\n\n"
        "event: message\ndata: [DONE]\n\n"
    );
    EXPECT_EQ(json::parse(upstream_.last_request()->body).at("stream_options").at("include_usage"), true);

    auto dry = es("DELETE", "/_inference/my-completion?dry_run=true");
    ASSERT_EQ(dry.status, 200) << dry.body;
    EXPECT_EQ(es("GET", "/_inference/my-completion").status, 200);
    // A malformed boolean deletes nothing, `force` included; an encoded slash names another id.
    for (const std::string bad : {"?force=maybe", "?dry_run=maybe"}) {
        auto r = es("DELETE", "/_inference/completion/my-completion" + bad);
        EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
        EXPECT_EQ(
            r.json().at("error").at("reason").as_string(),
            "Failed to parse value [maybe] as only [true] or [false] are allowed."
        );
    }
    EXPECT_EQ(es("DELETE", "/_inference/completion/my-completion%2F").status, 404);
    EXPECT_EQ(es("GET", "/_inference/my-completion").status, 200);
    auto del = es("DELETE", "/_inference/completion/my-completion?force=true");
    ASSERT_EQ(del.status, 200) << del.body;
    EXPECT_EQ(del.json(), json::parse(R"({"acknowledged":true,"pipelines":[]})"));
    EXPECT_EQ(del.header("x-elastic-product"), "Elasticsearch");
    expect_es_error(
        es("GET", "/_inference/my-completion"),
        404,
        "resource_not_found_exception",
        "Inference endpoint not found [my-completion]"
    );
}

TEST_F(inference, text_embedding_learns_dimensions_and_returns_vectors) {
    auto put =
        es("PUT", "/_inference/text_embedding/openai-embeddings", embedding_body(R"(,"dimensions":16)"));
    ASSERT_EQ(put.status, 200) << put.body;
    EXPECT_EQ(
        put.json(),
        json::parse(
            R"({"inference_id":"openai-embeddings","task_type":"text_embedding","service":"openai",)"
            R"("service_settings":{"model_id":"text-embedding-3-small","url":")" +
            upstream_.url("/v1/embeddings") +
            R"(","similarity":"dot_product","dimensions":16,"rate_limit":{"requests_per_minute":3000}},)"
            R"("chunking_settings":{"strategy":"sentence","max_chunk_size":250,"sentence_overlap":1}})"
        )
    );
    auto validation = upstream_.last_request();
    ASSERT_TRUE(validation);
    EXPECT_EQ(
        json::parse(validation->body),
        json::parse(
            R"({"input":["how big"],"model":"text-embedding-3-small","dimensions":16,"encoding_format":"base64"})"
        )
    );

    // The openai service takes no input_type (OpenAiService: validateInputTypeIsUnspecifiedOrInternal).
    upstream_.clear_requests();
    expect_es_error(
        es("POST", "/_inference/text_embedding/openai-embeddings", R"({"input":"a","input_type":"ingest"})"),
        400,
        "validation_exception",
        "Validation Failed: 1: Invalid input_type [ingest]. The input_type option is not supported by this "
        "service;"
    );
    EXPECT_FALSE(upstream_.last_request());

    auto r = es("POST", "/_inference/text_embedding/openai-embeddings", R"({"input":["a","b"]})");
    ASSERT_EQ(r.status, 200) << r.body;
    auto vectors = r.json().at("text_embedding").as_array();
    ASSERT_EQ(vectors.size(), 2U);
    EXPECT_EQ(vectors[0].at("embedding").as_array().size(), 16U);
    EXPECT_NE(vectors[0], vectors[1]);

    // Without user dimensions the size comes from the validation call and is not forwarded.
    put_ok("/_inference/text_embedding/plain", embedding_body());
    EXPECT_FALSE(json::parse(upstream_.last_request()->body).as_object().contains("dimensions"));
    auto g = es("GET", "/_inference/plain");
    EXPECT_EQ(g.json().at("endpoints").at(0).at("service_settings").at("dimensions").to_number<int>(), 8);

    // Vectors in base64 (encoding_format=base64) are decoded as little-endian float32.
    upstream_.enqueue(fake_reply::json(
        200,
        R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":"AACAPwAAAMA="}],"model":"m"})"
    ));
    auto b = es("POST", "/_inference/plain", R"({"input":"x"})");
    ASSERT_EQ(b.status, 200) << b.body;
    EXPECT_EQ(b.body, R"({"text_embedding":[{"embedding":[1.0,-2.0]}]})");
    // Floats print as Java's Float.toString, as Elasticsearch's Jackson writes them.
    upstream_.enqueue(fake_reply::json(
        200,
        R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[1e-7,12345678,0.001,0.0001]}],"model":"m"})"
    ));
    auto small = es("POST", "/_inference/plain", R"({"input":"x"})");
    ASSERT_EQ(small.status, 200) << small.body;
    EXPECT_EQ(small.body, R"({"text_embedding":[{"embedding":[1.0E-7,1.2345678E7,0.001,1.0E-4]}]})");

    // A user-set size that the service contradicts is refused.
    upstream_.enqueue(fake_reply::json(
        200,
        R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,0.25]}],"model":"m"})"
    ));
    expect_es_error(
        es("PUT", "/_inference/text_embedding/wrong-dims", embedding_body(R"(,"dimensions":4)")),
        400,
        "status_exception",
        "The retrieved embeddings size [2] does not match the size specified in the settings [4]. Please "
        "recreate "
        "the [wrong-dims] configuration with the correct dimensions"
    );
}

TEST_F(inference, put_without_task_type_in_url_reads_it_from_the_body) {
    auto body = json::parse(completion_body()).as_object();
    body["task_type"] = "completion";
    auto r = es("PUT", "/_inference/from-body", json::serialize(body));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json().at("task_type").as_string(), "completion");
    expect_es_error(
        es("PUT", "/_inference/no-task", completion_body()),
        400,
        "status_exception",
        "model is missing required setting [task_type]"
    );
    expect_es_error(
        es("PUT", "/_inference/text_embedding/conflict", json::serialize(body)),
        400,
        "status_exception",
        "Cannot resolve conflicting task_type parameter in the request URL [text_embedding] and the request "
        "body "
        "[completion]"
    );
}

TEST_F(inference, configuration_errors_use_elasticsearch_envelopes) {
    put_ok("/_inference/completion/taken", completion_body());
    expect_es_error(
        es("PUT", "/_inference/completion/taken", completion_body()),
        400,
        "resource_already_exists_exception",
        "Inference endpoint [taken] already exists"
    );
    expect_es_error(
        es("PUT", "/_inference/completion/x", R"({"service":"cohere","service_settings":{}})"),
        400,
        "status_exception",
        "Unknown service [cohere] for model [x]"
    );
    expect_es_error(
        es("PUT", "/_inference/completion/x", R"({"service_settings":{}})"),
        400,
        "status_exception",
        "Inference endpoint configuration is missing the [service] setting"
    );
    expect_es_error(
        es("PUT", "/_inference/rerank/x", completion_body()),
        400,
        "status_exception",
        "The [openai] service does not support task type [rerank]"
    );
    expect_es_error(
        es("PUT", "/_inference/completion/x", R"({"service":"openai","service_settings":{"api_key":"k"}})"),
        400,
        "validation_exception",
        "Validation Failed: 1: [service_settings] does not contain the required setting [model_id];"
    );
    expect_es_error(
        es("PUT", "/_inference/completion/x", R"({"service":"openai","service_settings":{"model_id":"m"}})"),
        400,
        "validation_exception",
        "Validation Failed: 1: [secret_settings] does not contain the required setting [api_key];"
    );
    expect_es_error(
        es("PUT", "/_inference/text_embedding/x", embedding_body(R"(,"dimensions":0,"similarity":"dot")")),
        400,
        "validation_exception",
        "Validation Failed: 1: [service_settings] Invalid value [dot] received. [similarity] must be one of "
        "[cosine, dot_product, l2_norm];2: [service_settings] Invalid value [0]. [dimensions] must be a "
        "positive "
        "integer;"
    );
    expect_es_error(
        es("PUT", "/_inference/completion/x", completion_body(R"(,"foo":"bar")")),
        400,
        "status_exception",
        "Configuration contains settings [{foo=bar}] unknown to the [openai] service"
    );
    expect_es_error(
        es("PUT", "/_inference/completion/x", completion_body(R"(,"dimensions":8)")),
        400,
        "status_exception",
        "Configuration contains settings [{dimensions=8}] unknown to the [openai] service"
    );
    expect_es_error(
        es("PUT", "/_inference/bogus/x", completion_body()),
        400,
        "status_exception",
        "Unknown task_type [bogus]"
    );
    expect_es_error(
        es("PUT", "/_inference/completion/Bad_Id", completion_body()),
        400,
        "action_request_validation_exception",
        "Validation Failed: 1: Invalid inference_id; 'Bad_Id' can contain lowercase alphanumeric (a-z and "
        "0-9), "
        "hyphens or underscores; must start and end with alphanumeric;"
    );
    auto bad_json = es("PUT", "/_inference/completion/x", "{not json");
    EXPECT_EQ(bad_json.status, 400);
    // Nothing of the failed requests was stored, and only the first PUT reached the upstream.
    EXPECT_EQ(es("GET", "/_inference/_all").json().at("endpoints").as_array().size(), 1U);
    EXPECT_EQ(upstream_.request_count(), 1U);
}

TEST_F(inference, inference_errors_use_elasticsearch_envelopes) {
    put_ok("/_inference/completion/comp", completion_body());
    put_ok("/_inference/chat_completion/chat", completion_body());
    put_ok("/_inference/text_embedding/emb", embedding_body());
    expect_es_error(
        es("POST", "/_inference/completion/missing", R"({"input":"x"})"),
        404,
        "resource_not_found_exception",
        "Inference endpoint not found [missing]"
    );
    expect_es_error(
        es("DELETE", "/_inference/missing"),
        404,
        "resource_not_found_exception",
        "Inference endpoint not found [missing]"
    );
    expect_es_error(
        es("POST", "/_inference/text_embedding/comp", R"({"input":"x"})"),
        400,
        "status_exception",
        "Incompatible task_type, the requested type [text_embedding] does not match the model type "
        "[completion]"
    );
    expect_es_error(
        es("GET", "/_inference/text_embedding/comp"),
        400,
        "status_exception",
        "Requested task type [text_embedding] does not match the inference endpoint's task type [completion]"
    );
    expect_es_error(
        es("DELETE", "/_inference/text_embedding/comp"),
        400,
        "status_exception",
        "Requested task type [text_embedding] does not match the inference endpoint's task type [completion]"
    );
    expect_es_error(
        es("POST", "/_inference/completion/comp", R"({"input":"x","foo":1})"),
        400,
        "x_content_parse_exception",
        "[1:14] [cluster:internal/xpack/inference] unknown field [foo]"
    );
    expect_es_error(
        es("POST", "/_inference/completion/comp", R"({"task_settings":{}})"),
        400,
        "action_request_validation_exception",
        "Validation Failed: 1: Field [input] cannot be null;"
    );
    expect_es_error(
        es("POST", "/_inference/completion/comp", R"({"input":[]})"),
        400,
        "action_request_validation_exception",
        "Validation Failed: 1: Field [input] cannot be an empty array;"
    );
    expect_es_error(
        es("POST", "/_inference/chat_completion/chat", R"({"input":"x"})"),
        400,
        "status_exception",
        "Inference entity [chat] does not support task type [chat_completion] for inference, the task type "
        "must be "
        "one of [text_embedding, completion]. The task type for the inference entity is chat_completion, "
        "please "
        "use the _inference/chat_completion/chat/_stream URL."
    );
    upstream_.enqueue(fake_reply::json(
        401, R"({"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}})"
    ));
    expect_es_error(
        es("POST", "/_inference/comp", R"({"input":"x"})"),
        401,
        "status_exception",
        "Received an authentication error status code for request from inference entity id [comp] status "
        "[401]. "
        "Error message: [Incorrect API key provided]"
    );
    upstream_.enqueue(fake_reply::server_error(503));
    auto five = es("POST", "/_inference/comp", R"({"input":"x"})");
    EXPECT_EQ(five.status, 400) << five.body;
    EXPECT_NE(five.body.find("Received a server busy error status code"), std::string::npos) << five.body;
    upstream_.enqueue(fake_reply::server_error(500));
    auto plain = es("POST", "/_inference/comp", R"({"input":"x"})");
    EXPECT_EQ(plain.status, 400) << plain.body;
    EXPECT_NE(plain.body.find("Received a server error status code"), std::string::npos) << plain.body;
    // Errors carry the product header too (harmless; the es-js check only looks at 2xx).
    EXPECT_EQ(five.header("x-elastic-product"), "Elasticsearch");
    // `timeout` running out is Elasticsearch's own 408.
    auto slow = fake_reply::json(200, R"({"choices":[]})");
    slow.delay_before_headers = std::chrono::milliseconds(1500);
    upstream_.enqueue(slow);
    expect_es_error(
        es("POST", "/_inference/comp?timeout=100ms", R"({"input":"x"})"),
        408,
        "status_exception",
        "Request timed out after [100ms]"
    );
    EXPECT_EQ(es("GET", "/_inference/_all").json().at("endpoints").as_array().size(), 3U);
}

// plugins.ml_commons.remote_inference.enabled=false stops this door's outbound calls too: inference,
// streams and the validation call of a PUT, with ml-commons' text; nothing reaches the upstream.
TEST_F(inference, remote_inference_disabled_stops_every_call) {
    put_ok("/_inference/completion/comp", completion_body());
    ASSERT_EQ(
        c().put(
               "/_cluster/settings", R"({"persistent":{"plugins.ml_commons.remote_inference.enabled":false}})"
        )
            .status,
        200
    );
    upstream_.clear_requests();
    const std::string text =
        "Remote Inference is currently disabled. To enable it, update the setting "
        "\"plugins.ml_commons.remote_inference_enabled\" to true.";
    expect_es_error(
        es("POST", "/_inference/completion/comp", R"({"input":"x"})"), 400, "status_exception", text
    );
    auto stream = c().post("/_inference/completion/comp/_stream", R"({"input":"x"})");
    EXPECT_EQ(stream.status, 400);
    EXPECT_NE(stream.body.find("Remote Inference is currently disabled"), std::string::npos) << stream.body;
    expect_es_error(
        es("PUT", "/_inference/completion/other", completion_body()), 400, "status_exception", text
    );
    EXPECT_EQ(es("GET", "/_inference/other").status, 404);
    EXPECT_FALSE(upstream_.last_request());
}

TEST_F(inference, stream_errors_are_sse_events) {
    put_ok("/_inference/completion/comp", completion_body());
    put_ok("/_inference/text_embedding/emb", embedding_body());
    auto missing = c().post("/_inference/completion/missing/_stream", R"({"input":"x"})");
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(missing.header("content-type"), "text/event-stream");
    auto events = parse_sse(missing.body);
    ASSERT_EQ(events.size(), 1U) << missing.body;
    EXPECT_EQ(events[0].event, "error");
    EXPECT_EQ(
        json::parse(events[0].data),
        json::parse(
            R"({"error":{"root_cause":[{"type":"resource_not_found_exception","reason":"Inference endpoint not found [missing]"}],)"
            R"("type":"resource_not_found_exception","reason":"Inference endpoint not found [missing]"},"status":404})"
        )
    );
    auto mismatch = c().post(
        "/_inference/chat_completion/comp/_stream", R"({"messages":[{"role":"user","content":"x"}]})"
    );
    EXPECT_EQ(mismatch.status, 400);
    EXPECT_NE(
        mismatch.body.find("Incompatible task_type, the requested type [chat_completion] does not match the "
                           "model type [completion]"),
        std::string::npos
    );
    auto emb = c().post("/_inference/text_embedding/emb/_stream", R"({"input":"x"})");
    EXPECT_EQ(emb.status, 405);
    EXPECT_NE(
        emb.body.find("Streaming is not allowed for service [openai] and task [text_embedding]"),
        std::string::npos
    );
    // A request that does not parse is a plain JSON error, not an event.
    auto bad = c().post("/_inference/completion/comp/_stream", R"({"inputs":"x"})");
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(bad.json().at("error").at("type").as_string(), "x_content_parse_exception");
    put_ok("/_inference/chat_completion/chat-empty", completion_body());
    const auto calls = upstream_.request_count();
    auto empty = c().post("/_inference/chat_completion/chat-empty/_stream", R"({"messages":[]})");
    EXPECT_EQ(empty.status, 400) << empty.body;
    EXPECT_EQ(empty.json().at("error").at("type").as_string(), "action_request_validation_exception");
    EXPECT_EQ(
        empty.json().at("error").at("reason").as_string(),
        "Validation Failed: 1: Field [messages] cannot be an empty array;"
    );
    EXPECT_EQ(upstream_.request_count(), calls);
    // The upstream refusing before the first chunk is an error event with Elasticsearch's status.
    upstream_.enqueue(fake_reply::json(429, R"({"error":{"message":"slow down"}})")
                          .with_header("x-ratelimit-limit-tokens", "40000")
                          .with_header("x-ratelimit-remaining-requests", "0"));
    auto limited = c().post("/_inference/completion/comp/_stream", R"({"input":"x"})");
    EXPECT_EQ(limited.status, 429);
    EXPECT_NE(limited.body.find("event: error\ndata: "), std::string::npos);
    EXPECT_NE(
        limited.body.find(
            "Received a rate limit status code. Token limit [40000], remaining tokens [unknown]. Request "
            "limit "
            "[unknown], remaining requests [0] for request from inference entity id [comp] status [429]"
        ),
        std::string::npos
    ) << limited.body;
}

TEST_F(inference, upstream_failing_mid_stream_ends_with_an_error_event) {
    put_ok("/_inference/completion/comp", completion_body());
    // An in-band OpenAI error after a first token.
    upstream_.enqueue(fake_reply::sse({
        R"(data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hel"}}]})"
        "\n\n",
        R"(data: {"error":{"message":"model crashed","type":"server_error"}})"
        "\n\n",
    }));
    auto s = c().post("/_inference/completion/comp/_stream", R"({"input":"x"})");
    ASSERT_EQ(s.status, 200) << s.body;
    auto events = parse_sse(s.body);
    ASSERT_EQ(events.size(), 2U) << s.body;
    EXPECT_EQ(events[0].data, R"({"completion":[{"delta":"Hel"}]})");
    EXPECT_EQ(events[1].event, "error");
    auto err = json::parse(events[1].data);
    EXPECT_EQ(err.at("status").to_number<int>(), 500);
    EXPECT_NE(std::string(err.at("error").at("reason").as_string()).find("model crashed"), std::string::npos);

    // The connection dying mid-stream.
    auto dying = fake_reply::sse({
        R"(data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"a"}}]})"
        "\n\n",
        R"(data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"b"}}]})"
        "\n\n",
        R"(data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"c"}}]})"
        "\n\n",
        R"(data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"d"}}]})"
        "\n\n",
    });
    upstream_.enqueue(std::move(dying).with_fault(fake_reply::fault::reset_mid_response));
    auto cut = c().post("/_inference/completion/comp/_stream", R"({"input":"x"})");
    ASSERT_EQ(cut.status, 200) << cut.body;
    auto cut_events = parse_sse(cut.body);
    ASSERT_FALSE(cut_events.empty());
    EXPECT_EQ(cut_events.back().event, "error") << cut.body;
    // The server keeps serving after both.
    EXPECT_EQ(c().post("/_inference/comp", R"({"input":"x"})").status, 200);
}

TEST_F(inference, put_validation_failures_store_nothing) {
    upstream_.enqueue(fake_reply::json(500, R"({"error":{"message":"boom"}})"));
    auto r = es("PUT", "/_inference/completion/broken", completion_body());
    EXPECT_EQ(r.status, 400) << r.body;
    auto j = r.json();
    EXPECT_EQ(j.at("error").at("type").as_string(), "status_exception");
    EXPECT_EQ(
        j.at("error").at("reason").as_string(),
        "Could not complete inference endpoint creation as validation call to service threw an exception."
    );
    EXPECT_EQ(
        j.at("error").at("caused_by").at("reason").as_string(),
        "Received a server error status code for request from inference entity id [broken] status [500]. "
        "Error "
        "message: [boom]"
    );
    EXPECT_EQ(es("GET", "/_inference/broken").status, 404);

    // The trusted-endpoint regex applies exactly as for connectors.
    ASSERT_EQ(
        c().put(
               "/_cluster/settings",
               R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":["^https://api\\.openai\\.com/.*$"]}})"
        )
            .status,
        200
    );
    upstream_.clear_requests();
    auto untrusted = es("PUT", "/_inference/completion/untrusted", completion_body());
    EXPECT_EQ(untrusted.status, 400);
    EXPECT_EQ(
        untrusted.json().at("error").at("caused_by").at("reason").as_string(),
        "Connector URL is not matching the trusted connector endpoint regex"
    );
    // An IllegalArgumentException is no ElasticsearchException: the wrapper stays the root cause.
    EXPECT_EQ(untrusted.json().at("error").at("root_cause").at(0).at("type").as_string(), "status_exception");
    // And the SSRF guard: private addresses are refused unless allowed.
    ASSERT_EQ(c().put("/_cluster/settings", trust_all).status, 200);
    ASSERT_EQ(
        c().put(
               "/_cluster/settings",
               R"({"persistent":{"plugins.ml_commons.connector.private_ip_enabled":false}})"
        )
            .status,
        200
    );
    auto private_ip = es("PUT", "/_inference/completion/private", completion_body());
    EXPECT_EQ(private_ip.status, 400);
    EXPECT_NE(private_ip.body.find("private ip address"), std::string::npos) << private_ip.body;
    EXPECT_EQ(upstream_.request_count(), 0U);
    EXPECT_EQ(es("GET", "/_inference").json().at("endpoints").as_array().size(), 0U);
}

TEST_F(inference, update_changes_key_and_task_settings) {
    put_ok("/_inference/completion/comp", completion_body());
    auto u = es(
        "PUT",
        "/_inference/comp/_update",
        R"({"service_settings":{"api_key":"sk-rotated","rate_limit":{"requests_per_minute":42}},"task_settings":{"user":"me"}})"
    );
    ASSERT_EQ(u.status, 200) << u.body;
    EXPECT_EQ(
        u.json().at("service_settings").at("rate_limit").at("requests_per_minute").to_number<int>(), 42
    );
    EXPECT_EQ(u.json().at("task_settings").at("user").as_string(), "me");
    EXPECT_FALSE(u.json().at("service_settings").as_object().contains("api_key"));
    ASSERT_EQ(es("POST", "/_inference/comp", R"({"input":"x"})").status, 200);
    EXPECT_EQ(upstream_.last_request()->header("authorization"), "Bearer sk-rotated");
    EXPECT_EQ(json::parse(upstream_.last_request()->body).at("user").as_string(), "me");
    EXPECT_EQ(
        es("POST", "/_inference/completion/comp/_update", R"({"task_settings":{"user":"you"}})").status, 200
    );
    expect_es_error(
        es("PUT", "/_inference/nope/_update", R"({"task_settings":{"user":"x"}})"),
        404,
        "resource_not_found_exception",
        "The inference endpoint [nope] does not exist and cannot be updated"
    );
    expect_es_error(
        es("PUT", "/_inference/text_embedding/comp/_update", R"({"task_settings":{"user":"x"}})"),
        400,
        "status_exception",
        "Task type must match the task type of the existing endpoint"
    );
}

// A request's task_settings are checked as at PUT (OpenAiChatCompletionRequestTaskSettings.fromMap); a null
// member keeps the stored value rather than dropping it.
TEST_F(inference, request_task_settings_are_checked_and_a_null_keeps_the_stored_value) {
    put_ok("/_inference/completion/comp", completion_body());
    ASSERT_EQ(
        es("POST", "/_inference/completion/comp/_update", R"({"task_settings":{"user":"u3"}})").status, 200
    );
    upstream_.clear_requests();
    for (const std::string path : {"/_inference/completion/comp", "/_inference/completion/comp/_stream"}) {
        for (const std::string body :
             {R"({"input":"a","task_settings":{"user":5}})",
              R"({"input":"a","task_settings":{"headers":{"X-R":1,"Authorization":"Bearer evil"}}})"}) {
            auto r = es("POST", path, body);
            EXPECT_EQ(r.status, 400) << path << " " << body << ": " << r.body;
            EXPECT_NE(r.body.find(R"("type":"validation_exception")"), std::string::npos) << r.body;
        }
    }
    EXPECT_EQ(upstream_.request_count(), 0U);
    ASSERT_EQ(
        es("POST", "/_inference/completion/comp", R"({"input":"a","task_settings":{"user":null}})").status,
        200
    );
    EXPECT_EQ(json::parse(upstream_.last_request()->body).at("user").as_string(), "u3");
    ASSERT_EQ(
        es("POST", "/_inference/completion/comp", R"({"input":"a","task_settings":{"user":"req"}})").status,
        200
    );
    EXPECT_EQ(json::parse(upstream_.last_request()->body).at("user").as_string(), "req");
}

TEST_F(inference, api_key_is_never_returned_nor_stored_in_clear_and_endpoints_survive_restart) {
    put_ok("/_inference/completion/comp", completion_body());
    put_ok("/_inference/text_embedding/emb", embedding_body());
    for (const std::string target : {"/_inference", "/_inference/comp", "/_inference/completion/_all"}) {
        auto g = es("GET", target);
        EXPECT_EQ(g.body.find(secret), std::string::npos) << g.body;
        EXPECT_EQ(g.body.find("api_key"), std::string::npos) << g.body;
        EXPECT_EQ(g.body.find("secret_settings"), std::string::npos) << g.body;
    }
    // Not listed by ml-commons searches.
    for (const char* index : {"connectors", "models", "model_groups", "tasks"}) {
        auto s =
            c().post(std::string("/_plugins/_ml/") + index + "/_search", R"({"query":{"match_all":{}}})");
        EXPECT_EQ(s.body.find("\"comp\""), std::string::npos) << index << " " << s.body;
    }
    server_->stop();
    for (const auto& entry : std::filesystem::recursive_directory_iterator(tmp_.path() / "data")) {
        if (!entry.is_regular_file()) {
            continue;
        }
        std::ifstream in(entry.path(), std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        EXPECT_EQ(bytes.find(secret), std::string::npos) << entry.path();
    }
    server_->start();
    client_ = std::make_unique<http_client>(server_->port());
    auto g = es("GET", "/_inference");
    ASSERT_EQ(g.status, 200) << g.body;
    EXPECT_EQ(g.json().at("endpoints").as_array().size(), 2U);
    auto r = es("POST", "/_inference/completion/comp", R"({"input":"x"})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(upstream_.last_request()->header("authorization"), "Bearer " + std::string(secret));
    EXPECT_EQ(server_->log().find(secret), std::string::npos);
}

}  // namespace
}  // namespace modelrelay::test
