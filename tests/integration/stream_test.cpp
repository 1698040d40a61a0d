// File: stream_test.cpp
// Streaming against the real binary and a fake OpenAI upstream over real sockets: ml-commons
// `_predict/stream` shapes, relaying as produced (timestamps against the upstream's pacing), time to first
// token, an upstream dying mid-stream, a client hanging up, and the SSRF / trusted-endpoint guards on the
// streaming path.
#include <chrono>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/support/fake_upstream.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/model_setup.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/sse_client.hpp"
#include "tests/support/test_ca.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

constexpr const char* stream_body =
    R"({"parameters":{"messages":[{"role":"user","content":"Why is the sky blue?"}],"_llm_interface":"openai/v1/chat/completions"}})";

std::string ml_chunk(std::string_view content, bool is_last) {
    return std::string(R"({"inference_results":[{"output":[{"name":"response","dataAsMap":{"content":)") +
           json::serialize(json::string(content)) + R"(,"is_last":)" + (is_last ? "true" : "false") +
           "}}]}]}";
}

class stream : public ::testing::Test {
protected:
    void SetUp() override {
        server_ = std::make_unique<server_process>(
            tmp_.path() / "data",
            std::map<std::string, std::string>{{"MODELRELAY_UPSTREAM_CA_FILE", test_ca::instance().ca_file()}}
        );
        server_->start();
        client_ = std::make_unique<http_client>(server_->port());
    }
    http_client& c() { return *client_; }
    std::string ready_model(std::string_view extra_parameters = "") {
        open_cluster_settings(c());
        return register_model(c(), chat_connector(up_, extra_parameters), "stream-model");
    }
    std::string path(const std::string& model_id) {
        return "/_plugins/_ml/models/" + model_id + "/_predict/stream";
    }
    std::unique_ptr<sse_client> open(const std::string& model_id, std::string_view body = stream_body) {
        return std::make_unique<sse_client>(server_->port(), "POST", path(model_id), body);
    }

    temp_dir tmp_;
    fake_upstream up_;
    std::unique_ptr<server_process> server_;
    std::unique_ptr<http_client> client_;
};

TEST_F(stream, disabled_until_stream_enabled_is_set) {
    open_cluster_settings(c(), false);
    const auto id = register_model(c(), chat_connector(up_), "m");
    auto r = c().post(path(id), stream_body);
    EXPECT_EQ(r.status, 500) << r.body;
    EXPECT_EQ(
        json::parse(r.body),
        json::parse(
            R"({"error":{"root_cause":[{"type":"illegal_state_exception","reason":"Streaming is currently disabled. To enable it, update the setting \"plugins.ml_commons.stream_enabled\" to true."}],"type":"illegal_state_exception","reason":"Streaming is currently disabled. To enable it, update the setting \"plugins.ml_commons.stream_enabled\" to true."},"status":500})"
        )
    );
    EXPECT_EQ(up_.request_count(), 0U);
}

TEST_F(stream, relays_the_upstream_stream_in_ml_commons_chunks) {
    const auto id = ready_model();
    auto s = open(id);
    EXPECT_EQ(s->status(), 200U);
    EXPECT_EQ(s->header("content-type"), "text/event-stream");
    EXPECT_EQ(s->header("cache-control"), "no-cache");
    EXPECT_EQ(s->header("x-accel-buffering"), "no");
    EXPECT_TRUE(s->chunked());
    auto events = s->read_all();
    EXPECT_TRUE(s->complete());
    // The fake streams "Hello from the fake upstream." word by word after an empty role delta.
    std::vector<std::string> expected;
    for (std::string_view w : {"Hello", " from", " the", " fake", " upstream."}) {
        expected.push_back(ml_chunk(w, false));
    }
    expected.push_back(ml_chunk("", true));
    ASSERT_EQ(events.size(), expected.size()) << s->body();
    for (std::size_t i = 0; i < events.size(); ++i) {
        EXPECT_EQ(events[i].data, expected[i]);
    }
    // One `data:` line per event, nothing else in the body.
    std::string framed;
    for (const auto& e : expected) {
        framed += "data: " + e + "\n\n";
    }
    EXPECT_EQ(s->body(), framed);
    auto seen = up_.last_request();
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->header("authorization"), "Bearer " + std::string(test_api_key));
    auto sent = json::parse(seen->body).as_object();
    EXPECT_EQ(sent.at("stream"), json::value(true));
    EXPECT_EQ(sent.at("model").as_string(), "gpt-upstream");
    EXPECT_EQ(sent.at("messages").at(0).at("content").as_string(), "Why is the sky blue?");
}

// HTTP/1.0 has no chunked encoding (RFC 9112 §6.1): such a client gets the events as they come, and the
// connection's close ends the body.
TEST_F(stream, an_http_1_0_client_gets_the_stream_without_chunked_framing) {
    const auto id = ready_model();
    const std::string body(stream_body);
    auto r = c().raw(
        "POST " + path(id) + " HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body
    );
    EXPECT_EQ(r.status, 200U);
    EXPECT_EQ(r.header("transfer-encoding"), "");
    EXPECT_EQ(r.header("content-length"), "");
    EXPECT_EQ(r.header("connection"), "");  // HTTP/1.0's default: the connection closes
    std::string framed;
    for (std::string_view w : {"Hello", " from", " the", " fake", " upstream."}) {
        framed += "data: " + ml_chunk(w, false) + "\n\n";
    }
    framed += "data: " + ml_chunk("", true) + "\n\n";
    EXPECT_EQ(r.body, framed);
}

TEST_F(stream, llm_interface_from_the_connector_and_unsupported_interfaces) {
    open_cluster_settings(c());
    const auto from_connector =
        register_model(c(), chat_connector(up_, R"("_llm_interface": "openai/v1/chat/completions")"), "a");
    auto s = open(from_connector, R"({"parameters":{"messages":[]}})");
    EXPECT_EQ(s->status(), 200U);
    EXPECT_EQ(s->read_all().back().data, ml_chunk("", true));

    const auto plain = register_model(c(), chat_connector(up_), "b");
    auto missing = c().post(path(plain), R"({"parameters":{"messages":[]}})");
    EXPECT_EQ(missing.status, 400) << missing.body;
    EXPECT_NE(missing.body.find("_llm_interface"), std::string::npos);
    auto bedrock =
        c().post(path(plain), R"({"parameters":{"messages":[],"_llm_interface":"bedrock/converse"}})");
    EXPECT_EQ(bedrock.status, 400) << bedrock.body;
    EXPECT_EQ(
        bedrock.json().at("error").at("reason").as_string(), "Unsupported LLM interface: bedrock/converse"
    );
    EXPECT_EQ(up_.request_count(), 1U);
}

TEST_F(stream, chunks_arrive_as_the_upstream_produces_them) {
    const auto id = ready_model();
    const auto interval = 300ms;
    up_.enqueue(fake_reply::openai_stream({"one", "two", "three", "four", "five"}, interval));
    auto s = open(id);
    ASSERT_EQ(s->status(), 200U);
    auto events = s->read_all();
    ASSERT_EQ(events.size(), 6U) << s->body();  // five words + is_last
    auto seen = up_.last_request();
    ASSERT_TRUE(seen);
    // The fake sends event k (role delta = 0, words = 1..5) at received_at + (k+1)*interval. Each relayed
    // word must reach the client shortly after the upstream sent it: a relay that batched would deliver
    // them together at the end.
    for (std::size_t i = 0; i < 5; ++i) {
        const auto produced = seen->received_at + interval * static_cast<int>(i + 2);
        const auto lag = std::chrono::duration_cast<ms>(events[i].at - produced);
        EXPECT_GT(lag.count(), -50) << "word " << i << " arrived before the upstream produced it";
        EXPECT_LT(lag.count(), 250) << "word " << i << " was held back";
    }
    for (std::size_t i = 1; i < 5; ++i) {
        EXPECT_GE(std::chrono::duration_cast<ms>(events[i].at - events[i - 1].at).count(), 150)
            << "words " << i - 1 << " and " << i << " arrived together";
    }
    // Time to first token: the first word leaves the upstream 2 intervals after the request reached it.
    const auto ttft = std::chrono::duration_cast<ms>(events[0].at - s->sent_at());
    EXPECT_LT(ttft, interval * 2 + 250ms) << "time to first token " << ttft.count() << " ms";
}

// The client head travels with the first event when both are at hand (one packet for the first token), but
// it is never held back waiting for one: an upstream that sends its head and then thinks for a while must
// not leave the client without a response head.
TEST_F(stream, the_head_is_not_held_back_for_a_slow_first_event) {
    const auto id = ready_model();
    up_.enqueue(fake_reply::openai_stream({"late"}, 2500ms));  // head now, first event 2.5 s later
    std::unique_ptr<sse_client> s;
    ASSERT_NO_THROW(
        s = std::make_unique<sse_client>(
            server_->port(),
            "POST",
            path(id),
            stream_body,
            std::vector<std::pair<std::string, std::string>>{},
            1000ms
        )
    ) << "no response head within 1 s although the upstream sent its own at once";
    EXPECT_EQ(s->status(), 200U);
    EXPECT_EQ(s->header("content-type"), "text/event-stream");
    EXPECT_EQ(s->body().find("data:"), std::string::npos) << "an event arrived before the upstream sent one";
    s->disconnect();
}

// A stream that ended with its terminating chunk leaves the connection usable for the next request (one
// connection per conversation, as HTTP clients expect); one that was cut short closes it.
// Both ways a stream ends cleanly: after relayed events (the last frames and the terminating chunk in one
// write), and as one write with the head when the upstream answered with plain JSON.
TEST_F(stream, the_connection_is_kept_after_a_complete_stream) {
    const auto id = ready_model();
    up_.enqueue(fake_reply::openai_stream({"one", "two"}));
    up_.enqueue(fake_reply::json(
        200,
        R"({"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":"stop"}]})"
    ));
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket sock(ioc);
    sock.connect({boost::asio::ip::make_address("127.0.0.1"), server_->port()});
    const std::string body(stream_body);
    const std::string request = "POST " + path(id) +
                                " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\n\r\n" + body;
    char buf[4096];
    for (int round = 0; round < 2; ++round) {
        SCOPED_TRACE(round == 0 ? "relayed stream" : "JSON answer as one chunk");
        boost::asio::write(sock, boost::asio::buffer(request));
        std::string got;
        while (got.find("\r\n0\r\n\r\n") == std::string::npos) {
            boost::system::error_code ec;
            const auto n = sock.read_some(boost::asio::buffer(buf), ec);
            ASSERT_FALSE(ec) << ec.message() << " after: " << got;
            got.append(buf, n);
        }
        EXPECT_EQ(got.rfind("HTTP/1.1 200 ", 0), 0u) << got;
        EXPECT_EQ(got.find("Connection: close"), std::string::npos) << got;
        EXPECT_NE(got.find(ml_chunk("", true)), std::string::npos) << got;
    }
    const std::string next = "GET /_plugins/_ml/models/" + id + " HTTP/1.1\r\nHost: x\r\n\r\n";
    boost::asio::write(sock, boost::asio::buffer(next));
    std::string second;
    while (second.find("\r\n\r\n") == std::string::npos) {
        boost::system::error_code ec;
        const auto n = sock.read_some(boost::asio::buffer(buf), ec);
        ASSERT_FALSE(ec) << "the connection was closed after a complete stream: " << ec.message();
        second.append(buf, n);
    }
    EXPECT_EQ(second.rfind("HTTP/1.1 200 ", 0), 0u) << second;
}

TEST_F(stream, upstream_dying_mid_stream_gives_an_error_event_and_a_clean_end) {
    const auto id = ready_model();
    up_.enqueue(fake_reply::openai_stream({"a", "b", "c", "d", "e", "f"}, 20ms)
                    .with_fault(fake_reply::fault::reset_mid_response));
    auto s = open(id);
    ASSERT_EQ(s->status(), 200U);
    auto events = s->read_all();
    EXPECT_TRUE(s->complete()) << "the stream must end with its terminating chunk";
    ASSERT_GE(events.size(), 2U) << s->body();
    EXPECT_EQ(events.front().data, ml_chunk("a", false));
    const auto last = json::parse(events.back().data).as_object();
    ASSERT_TRUE(last.contains("error")) << events.back().data;
    EXPECT_EQ(last.size(), 1U);
    EXPECT_TRUE(last.at("error").as_string().starts_with("Error communicating with remote model: "))
        << events.back().data;
    EXPECT_NE(s->body().find("data: {\"error\": \""), std::string::npos) << s->body();
    // The broken connection was not pooled: the next stream and a plain predict both work.
    auto again = open(id);
    auto events2 = again->read_all();
    ASSERT_FALSE(events2.empty());
    EXPECT_EQ(events2.back().data, ml_chunk("", true));
    auto p = c().post("/_plugins/_ml/models/" + id + "/_predict", R"({"parameters":{"messages":[]}})");
    EXPECT_EQ(p.status, 200) << p.body;
}

// The stats API counts streams as _predict: each request, and each failure but a 400, whether it comes
// before the head (a plain error response) or after it (an error frame).
TEST_F(stream, stats_count_stream_requests_and_failures) {
    const auto id = ready_model();
    const auto counters = [&] {
        const auto all = c().get("/_plugins/_ml/stats").json();
        const auto& p =
            all.at("nodes").as_object().begin()->value().at("algorithms").at("remote").at("predict");
        const auto* failures = p.as_object().if_contains("ml_action_failure_count");
        return std::pair<int, int>(
            p.at("ml_action_request_count").to_number<int>(), failures ? failures->to_number<int>() : 0
        );
    };
    open(id)->read_all();
    EXPECT_EQ(counters(), std::make_pair(1, 0));

    up_.enqueue(fake_reply::server_error(503));
    auto before_head = c().post(path(id), stream_body);
    EXPECT_EQ(before_head.status, 503) << before_head.body;
    EXPECT_EQ(counters(), std::make_pair(2, 1));

    up_.enqueue(
        fake_reply::openai_stream({"a", "b", "c"}, 20ms).with_fault(fake_reply::fault::reset_mid_response)
    );
    auto cut = open(id);
    ASSERT_EQ(cut->status(), 200U);
    cut->read_all();
    EXPECT_EQ(counters(), std::make_pair(3, 2));

    up_.enqueue(fake_reply::sse({"data: {\"error\":{\"message\":\"overloaded\"}}\n\n"}));
    auto error_event = open(id);
    ASSERT_EQ(error_event->status(), 200U);
    error_event->read_all();
    EXPECT_EQ(counters(), std::make_pair(4, 3));

    // A 400 (an interface modelrelay does not stream) is counted as a request only.
    auto bad =
        c().post(path(id), R"({"parameters":{"messages":[],"_llm_interface":"bedrock/converse/claude"}})");
    EXPECT_EQ(bad.status, 400) << bad.body;
    EXPECT_EQ(counters(), std::make_pair(5, 3));
}

TEST_F(stream, client_disconnect_cancels_the_upstream_request) {
    const auto id = ready_model();
    std::vector<std::string> words(40, "tick");
    up_.enqueue(fake_reply::openai_stream(words, 100ms));  // about 4 s if nobody hangs up
    auto s = open(id);
    ASSERT_EQ(s->status(), 200U);
    ASSERT_TRUE(s->next_event());
    ASSERT_TRUE(s->next_event());
    const auto hung_up = std::chrono::steady_clock::now();
    s->disconnect();
    ASSERT_TRUE(up_.wait_for_closed_connections(1, 3s)) << "the upstream connection stayed open";
    const auto took = std::chrono::duration_cast<ms>(std::chrono::steady_clock::now() - hung_up);
    EXPECT_LT(took, 2000ms) << "cancellation took " << took.count() << " ms";
    EXPECT_EQ(up_.request_count(), 1U);
    // The server keeps serving.
    auto again = open(id);
    EXPECT_EQ(again->read_all().back().data, ml_chunk("", true));
}

TEST_F(stream, content_that_needs_escaping_is_relayed_exactly) {
    // Quotes, backslashes, control characters and non-ASCII text in a delta, through the chunk writer.
    const auto id = ready_model();
    const std::vector<std::string> words = {"say \"hi\"", "a\\b", "line\nnext\ttab\u0001", "日本 😀 </s>"};
    up_.enqueue(fake_reply::openai_stream(words));
    auto s = open(id);
    ASSERT_EQ(s->status(), 200U);
    auto events = s->read_all();
    ASSERT_EQ(events.size(), words.size() + 1) << s->body();
    for (std::size_t i = 0; i < words.size(); ++i) {
        // The fake joins words with a space at the front of every word after the first.
        EXPECT_EQ(events[i].data, ml_chunk((i == 0 ? "" : " ") + words[i], false));
    }
    EXPECT_EQ(events.back().data, ml_chunk("", true));
}

// An upstream that echoes its request (a debugging proxy, an error page quoting Authorization) never gets
// the connector's credential to the client: not in a stream, even split across two reads, and not in a
// plain answer on `_predict` or `/v1`.
TEST_F(stream, an_echoed_credential_never_reaches_the_client) {
    const auto id = ready_model();
    const std::string key(test_api_key);
    std::vector<std::string> pieces;
    for (const auto& e : fake_reply::openai_stream({"key", key}).chunks) {
        const auto at = e.find(key);
        if (at == std::string::npos) {
            pieces.push_back(e);
            continue;
        }
        pieces.push_back(e.substr(0, at + key.size() / 2));
        pieces.push_back(e.substr(at + key.size() / 2));
    }
    up_.enqueue(fake_reply::sse(pieces, 30ms));
    auto s = open(id);
    ASSERT_EQ(s->status(), 200U);
    auto events = s->read_all();
    EXPECT_EQ(s->body().find(key), std::string::npos) << s->body();
    ASSERT_EQ(events.size(), 3U) << s->body();
    EXPECT_EQ(events[0].data, ml_chunk("key", false));
    EXPECT_EQ(events[1].data, ml_chunk(" __SENSITIVE__", false));

    up_.enqueue(fake_reply::json(
        200,
        R"({"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"you sent Bearer )" +
            key +
            R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})"
    ));
    auto p = c().post("/_plugins/_ml/models/" + id + "/_predict", stream_body);
    EXPECT_EQ(p.status, 200) << p.body;
    EXPECT_EQ(p.body.find(key), std::string::npos) << p.body;
    EXPECT_NE(p.body.find("you sent Bearer __SENSITIVE__"), std::string::npos) << p.body;

    up_.enqueue(fake_reply::json(401, R"({"error":{"message":"Incorrect API key provided: )" + key + R"("}})")
    );
    auto e = c().post("/_plugins/_ml/models/" + id + "/_predict", stream_body);
    EXPECT_EQ(e.status, 401) << e.body;
    EXPECT_EQ(
        e.json().at("error").at("reason").as_string(),
        R"(Error from remote service: {"error":{"message":"Incorrect API key provided: __SENSITIVE__"}})"
    );

    up_.enqueue(fake_reply::json(
        200,
        R"({"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":")" +
            key +
            R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})"
    ));
    auto v1 = c().post(
        "/v1/chat/completions", R"({"model":"stream-model","messages":[{"role":"user","content":"x"}]})"
    );
    EXPECT_EQ(v1.status, 200) << v1.body;
    EXPECT_EQ(v1.body.find(key), std::string::npos) << v1.body;
    EXPECT_EQ(v1.json().at("choices").at(0).at("message").at("content").as_string(), "__SENSITIVE__");
    EXPECT_EQ(server_->log().find(key), std::string::npos);
}

// JSON encoders rarely echo a credential byte for byte (PHP writes `/` as `\/`, Go and Python write `<` and
// non-ASCII as `\uXXXX`), and modelrelay decodes the upstream's JSON before it answers, so each of those
// spellings is found too: in a plain answer, in an error, and in a stream cut inside an escape.
TEST_F(stream, an_escaped_echo_of_a_credential_never_reaches_the_client) {
    open_cluster_settings(c());
    const std::string key = "sk/relay<sentinel>é";
    const std::string escaped = R"(sk\/relay\u003csentinel\u003E\u00e9)";
    const auto id = register_model(c(), host_parameter_connector(key), "escaped-echo");
    const std::string body = host_predict_body("127.0.0.1:" + std::to_string(up_.port()));
    const std::string path = "/_plugins/_ml/models/" + id + "/_predict";

    up_.enqueue(fake_reply::json(
        200,
        R"({"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"you sent Bearer )" +
            escaped +
            R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})"
    ));
    auto p = c().post(path, body);
    ASSERT_EQ(p.status, 200) << p.body;
    ASSERT_TRUE(up_.last_request());
    EXPECT_EQ(up_.last_request()->header("authorization"), "Bearer " + key);
    EXPECT_EQ(p.body.find("relay<sentinel"), std::string::npos) << p.body;
    EXPECT_EQ(p.body.find("relay\\u003csentinel"), std::string::npos) << p.body;
    EXPECT_NE(p.body.find("you sent Bearer __SENSITIVE__\""), std::string::npos) << p.body;

    up_.enqueue(fake_reply::json(401, R"({"error":{"message":"Incorrect API key: )" + escaped + R"("}})"));
    auto e = c().post(path, body);
    EXPECT_EQ(e.status, 401) << e.body;
    EXPECT_EQ(
        e.json().at("error").at("reason").as_string(),
        R"(Error from remote service: {"error":{"message":"Incorrect API key: __SENSITIVE__"}})"
    );

    std::vector<std::string> pieces;
    for (const auto& chunk : fake_reply::openai_stream({"key", "KEY"}).chunks) {
        const auto at = chunk.find("KEY");
        if (at == std::string::npos) {
            pieces.push_back(chunk);
            continue;
        }
        const std::string spelled = chunk.substr(0, at) + escaped + chunk.substr(at + 3);
        const auto cut = spelled.find("u003E") + 2;  // inside the escape
        pieces.push_back(spelled.substr(0, cut));
        pieces.push_back(spelled.substr(cut));
    }
    up_.enqueue(fake_reply::sse(pieces, 30ms));
    auto s = std::make_unique<sse_client>(server_->port(), "POST", path + "/stream", body);
    ASSERT_EQ(s->status(), 200U);
    auto events = s->read_all();
    EXPECT_EQ(s->body().find("relay<sentinel"), std::string::npos) << s->body();
    ASSERT_EQ(events.size(), 3U) << s->body();
    EXPECT_EQ(events[1].data, ml_chunk(" __SENSITIVE__", false));
    EXPECT_EQ(server_->log().find("relay<sentinel"), std::string::npos);
}

TEST_F(stream, an_upstream_that_cannot_stream_gives_its_answer_as_one_chunk) {
    const auto id = ready_model();
    up_.enqueue(fake_reply::json(
        200,
        R"({"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"all at once"},"finish_reason":"stop"}]})"
    ));
    auto s = open(id);
    ASSERT_EQ(s->status(), 200U);
    auto events = s->read_all();
    ASSERT_EQ(events.size(), 2U) << s->body();
    EXPECT_EQ(events[0].data, ml_chunk("all at once", false));
    EXPECT_EQ(events[1].data, ml_chunk("", true));
}

// Tool-call deltas are relayed as their JSON, and at finish_reason "tool_calls" the joined call follows,
// as HttpStreamingHandler.completeToolCall sends it; the stream still ends with is_last.
TEST_F(stream, a_streamed_tool_call_is_also_sent_whole) {
    const auto id = ready_model();
    const auto event = [](const std::string& delta, const std::string& finish) {
        return "data: "
               "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":" +
               delta + ",\"finish_reason\":" + finish + "}]}\n\n";
    };
    up_.enqueue(fake_reply::sse(
        {event(
             R"({"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_w","arguments":""}}]})",
             "null"
         ),
         event(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":\"Paris\"}"}}]})", "null"),
         event("{}", R"("tool_calls")"),
         "data: [DONE]\n\n"}
    ));
    auto s = open(id);
    ASSERT_EQ(s->status(), 200U);
    auto events = s->read_all();
    ASSERT_EQ(events.size(), 5U) << s->body();
    const std::string whole =
        R"({"choices":[{"message":{"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_w","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"tool_calls"}]})";
    EXPECT_EQ(events[2].data, ml_chunk(whole, false));
    EXPECT_EQ(
        json::parse(events[3].data),
        json::parse(R"({"inference_results":[{"output":[{"name":"response","dataAsMap":)" + whole + "}]}]}")
    );
    EXPECT_EQ(events[4].data, ml_chunk("", true));
}

// Any other 2xx JSON answer is an error frame, never an empty stream that looks successful.
TEST_F(stream, a_json_answer_that_is_no_completion_is_an_error_frame) {
    const auto id = ready_model();
    for (const auto& [body, error] : std::vector<std::pair<std::string, std::string>>{
             {R"({"broken)", "Invalid JSON format: "},
             {R"({"error":{"message":"quota"}})", "Remote service answer is not a server-sent event stream"},
             {R"([1,2])", "Remote service answer is not a server-sent event stream"}}) {
        up_.enqueue(fake_reply::json(200, body));
        auto s = open(id);
        ASSERT_EQ(s->status(), 200U);
        auto events = s->read_all();
        ASSERT_EQ(events.size(), 1U) << s->body();
        EXPECT_NE(events[0].data.find(R"({"error": ")" + error), std::string::npos) << events[0].data;
    }
}

// No retry on a stream (ml-commons.md §2.3): one upstream call whatever client_config says; the call asks
// for an event stream as ConnectorUtils.buildOKHttpStreamingRequest does.
TEST_F(stream, a_stream_is_never_retried) {
    open_cluster_settings(c());
    auto connector = json::parse(chat_connector(up_)).as_object();
    connector["client_config"] = json::object{{"max_retry_times", 3}, {"retry_backoff_millis", 10}};
    const auto id = register_model(c(), json::serialize(connector), "retrying");
    up_.clear_requests();
    up_.enqueue(fake_reply::json(503, R"({"error":"busy"})"));
    auto r = c().post(path(id), stream_body);
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(up_.request_count(), 1U);
    ASSERT_TRUE(up_.last_request());
    EXPECT_EQ(up_.last_request()->header("accept"), "text/event-stream");
    EXPECT_EQ(up_.last_request()->header("cache-control"), "no-cache");
}

TEST_F(stream, upstream_errors_before_the_stream_are_plain_error_responses) {
    const auto id = ready_model();
    up_.enqueue(fake_reply::json(401, R"({"error":{"message":"bad key","type":"invalid_request_error"}})"));
    auto r = c().post(path(id), stream_body);
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(r.header("content-type"), "application/json; charset=UTF-8");
    EXPECT_EQ(
        r.json().at("error").at("reason").as_string(),
        R"(Error from remote service: {"error":{"message":"bad key","type":"invalid_request_error"}})"
    );
    EXPECT_EQ(c().post(path("nope"), stream_body).status, 404);
}

TEST_F(stream, ssrf_and_trusted_endpoint_guards_apply_to_streams) {
    // Private addresses stay blocked: nothing reaches the fake upstream on 127.0.0.1.
    ASSERT_EQ(
        c().put(
               "/_cluster/settings",
               R"({"persistent":{"plugins.ml_commons.trusted_connector_endpoints_regex":[".*$"],"plugins.ml_commons.stream_enabled":true}})"
        )
            .status,
        200
    );
    const auto id = register_model(c(), chat_connector(up_), "guarded");
    auto r = c().post(path(id), stream_body);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("private ip address"), std::string::npos) << r.body;
    // The same guard on the /v1 stream.
    auto v1 = c().post("/v1/chat/completions", R"({"model":")" + id + R"(","messages":[],"stream":true})");
    EXPECT_EQ(v1.status, 400) << v1.body;
    EXPECT_NE(v1.body.find("private ip address"), std::string::npos) << v1.body;
    // With private addresses allowed, a trusted-endpoint list that no longer matches refuses the call too.
    ASSERT_EQ(
        c().put(
               "/_cluster/settings",
               R"({"persistent":{"plugins.ml_commons.connector.private_ip_enabled":true,"plugins.ml_commons.trusted_connector_endpoints_regex":["^https://api\\.openai\\.com/.*$"]}})"
        )
            .status,
        200
    );
    auto t = c().post(path(id), stream_body);
    EXPECT_EQ(t.status, 400) << t.body;
    EXPECT_EQ(
        t.json().at("error").at("reason").as_string(),
        "Connector URL is not matching the trusted connector endpoint regex"
    );
    EXPECT_EQ(up_.connection_count(), 0U);
    EXPECT_EQ(up_.request_count(), 0U);
}

TEST_F(stream, https_upstreams_stream_too) {
    fake_upstream tls(fake_upstream_options::https());
    open_cluster_settings(c());
    const auto id = register_model(c(), chat_connector(tls), "tls-model");
    auto s = open(id);
    auto events = s->read_all();
    ASSERT_EQ(events.size(), 6U) << s->body();
    EXPECT_EQ(events[0].data, ml_chunk("Hello", false));
    EXPECT_EQ(tls.request_count(), 1U);
}

}  // namespace
}  // namespace modelrelay::test
