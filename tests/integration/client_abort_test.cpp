// File: client_abort_test.cpp
// A client that gives up while its request waits for the upstream (an SDK's timeout, a killed curl) must
// not leave modelrelay running the upstream call to its end: the upstream connection is closed as soon as
// the client's is, on every route that calls an upstream (_predict, _predict/stream, /v1/chat/completions
// plain and streamed, _inference completion and chat_completion/_stream), for a close, a reset, a
// half-close and a TLS close_notify. A client that pipelines its next request while it waits is still
// there: both answers arrive and the upstream call is not touched. Real binary, fake upstream whose
// answers wait (fake_reply::delay_before_headers) and which reports a connection closed meanwhile.
#include <chrono>
#include <regex>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "tests/support/fake_upstream.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/model_setup.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_ca.hpp"

namespace modelrelay::test {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;
using namespace std::chrono_literals;

// Far longer than any wait below: an answer that arrives at all means the call was not dropped.
constexpr auto upstream_delay = 20s;
// How long modelrelay may take to pass the hang-up on (generous: the machine may be busy).
constexpr auto pass_on = 10s;

constexpr const char* predict_body = R"({"parameters":{"messages":[{"role":"user","content":"x"}]}})";
constexpr const char* stream_body =
    R"({"parameters":{"messages":[{"role":"user","content":"x"}],"_llm_interface":"openai/v1/chat/completions"}})";

std::string completion_json(std::string_view content) {
    return R"({"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":")" +
           std::string(content) +
           R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})";
}

std::string raw_post(std::string_view target, std::string_view body) {
    return "POST " + std::string(target) +
           " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

enum class hang_up {
    close,       // close(): FIN
    reset,       // SO_LINGER 0: RST
    half_close,  // shutdown(SHUT_WR) after the request, still reading
};

class client_abort : public ::testing::Test {
protected:
    void start(std::vector<std::string> extra_args = {}) {
        extra_args.insert(extra_args.end(), {"--log-format", "json"});
        server_ = std::make_unique<server_process>(
            tmp_.path() / "data", std::map<std::string, std::string>{}, std::move(extra_args)
        );
        server_->start();
    }
    void SetUp() override {
        start();
        client_ = std::make_unique<http_client>(server_->port());
        open_cluster_settings(c());
        model_ = register_model(c(), chat_connector(up_), "chat-model");
        ASSERT_FALSE(model_.empty());
    }
    http_client& c() { return *client_; }

    std::string predict_path() const { return "/_plugins/_ml/models/" + model_ + "/_predict"; }

    // An `_inference` endpoint of `task_type` on the fake upstream (its creation makes one validation call).
    void put_endpoint(std::string_view task_type, std::string_view id) {
        const std::string body = R"({"service":"openai","service_settings":{"api_key":"sk-abort-test-1234",)"
                                 R"("model_id":"gpt-test","url":")" +
                                 up_.url("/v1/chat/completions") + R"("}})";
        auto r = c().put("/_inference/" + std::string(task_type) + "/" + std::string(id), body);
        ASSERT_EQ(r.status, 200) << r.body;
    }

    net::ip::tcp::socket connect() {
        net::ip::tcp::socket s(ioc_);
        s.connect({net::ip::make_address("127.0.0.1"), server_->port()});
        return s;
    }

    // Sends `request` on a connection of its own, waits until the upstream has it (its answer is delayed),
    // hangs up as `how` says, and expects modelrelay to close the upstream connection before the answer.
    void expect_dropped(const std::string& request, hang_up how = hang_up::close) {
        up_.enqueue(
            "/v1/chat/completions", fake_reply::json(200, completion_json("late")).with_delay(upstream_delay)
        );
        const auto requests = up_.request_count();
        const auto closed = up_.closed_connection_count();
        auto s = connect();
        net::write(s, net::buffer(request));
        ASSERT_TRUE(up_.wait_for_requests(requests + 1));
        if (how == hang_up::reset) {
            s.set_option(net::socket_base::linger(true, 0));
            s.close();
        } else if (how == hang_up::half_close) {
            s.shutdown(net::ip::tcp::socket::shutdown_send);
        } else {
            s.close();
        }
        EXPECT_TRUE(up_.wait_for_closed_connections(closed + 1, pass_on)) << "the upstream call kept running";
        EXPECT_EQ(up_.abandoned_count(), 1U);
        if (how == hang_up::half_close) {
            // Nothing is answered to a client that hung up; the connection just ends.
            char byte = 0;
            EXPECT_EQ(::recv(s.native_handle(), &byte, 1, 0), 0);
        }
    }

    // The request log line of `path` with status 499 (nginx's client-closed-request) appears.
    bool logged_as_abandoned(std::string_view path) const {
        const auto deadline = std::chrono::steady_clock::now() + pass_on;
        while (std::chrono::steady_clock::now() < deadline) {
            std::istringstream in(server_->log());
            std::string line;
            while (std::getline(in, line)) {
                boost::system::error_code ec;
                const auto v = json::parse(line, ec);
                if (ec || !v.is_object()) {
                    continue;
                }
                const auto& o = v.as_object();
                const auto* msg = o.if_contains("msg");
                const auto* p = o.if_contains("path");
                const auto* status = o.if_contains("status");
                if (msg && *msg == "request" && p && p->is_string() && p->get_string() == path && status &&
                    status->is_int64() && status->get_int64() == 499) {
                    return true;
                }
            }
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }

    temp_dir tmp_;
    fake_upstream up_;
    net::io_context ioc_;
    std::unique_ptr<server_process> server_;
    std::unique_ptr<http_client> client_;
    std::string model_;
};

TEST_F(client_abort, predict_drops_the_upstream_call_and_logs_499) {
    expect_dropped(raw_post(predict_path(), predict_body));
    EXPECT_TRUE(logged_as_abandoned(predict_path()));
    // Counted as a request, not as a failure of the model; nothing is left executing.
    const auto stats = c().get("/_plugins/_ml/stats").json().as_object();
    const auto& node = stats.at("nodes").as_object().begin()->value().as_object();
    EXPECT_EQ(node.at("ml_failure_count").to_number<int>(), 0);
    EXPECT_EQ(node.at("ml_executing_task_count").to_number<int>(), 0);
    // The next calls get a fresh upstream connection and their answers, one after the other on one
    // connection: the second is read by the read the first one's watch left outstanding.
    for (int i = 0; i < 2; ++i) {
        auto ok = c().post(predict_path(), predict_body);
        EXPECT_EQ(ok.status, 200) << ok.body;
    }
}

TEST_F(client_abort, predict_stream_drops_the_upstream_call_before_its_head) {
    expect_dropped(raw_post(predict_path() + "/stream", stream_body));
    EXPECT_TRUE(logged_as_abandoned(predict_path() + "/stream"));
}

TEST_F(client_abort, chat_completions_drops_the_upstream_call) {
    expect_dropped(raw_post(
        "/v1/chat/completions", R"({"model":"chat-model","messages":[{"role":"user","content":"x"}]})"
    ));
    EXPECT_TRUE(logged_as_abandoned("/v1/chat/completions"));
}

TEST_F(client_abort, streamed_chat_completions_drops_the_upstream_call) {
    expect_dropped(raw_post(
        "/v1/chat/completions",
        R"({"model":"chat-model","stream":true,"messages":[{"role":"user","content":"x"}]})"
    ));
}

TEST_F(client_abort, inference_completion_drops_the_upstream_call) {
    put_endpoint("completion", "abort-completion");
    expect_dropped(raw_post("/_inference/completion/abort-completion", R"({"input":"Say hi"})"));
}

TEST_F(client_abort, inference_chat_completion_stream_drops_the_upstream_call) {
    put_endpoint("chat_completion", "abort-chat");
    expect_dropped(raw_post(
        "/_inference/chat_completion/abort-chat/_stream", R"({"messages":[{"role":"user","content":"x"}]})"
    ));
}

// Once streaming, a hang-up used to be noticed only at the next event's write; a silent upstream (a long
// tool call, a slow first token after the role chunk) now stops at once too.
TEST_F(client_abort, a_stream_whose_upstream_is_silent_stops_when_the_client_hangs_up) {
    up_.enqueue("/v1/chat/completions", fake_reply::openai_stream({"Hello", " there"}, upstream_delay));
    const auto closed = up_.closed_connection_count();
    auto s = connect();
    net::write(s, net::buffer(raw_post(predict_path() + "/stream", stream_body)));
    // The client head goes out when the upstream's head arrives; the events take their time.
    char head[64];
    ASSERT_GT(::recv(s.native_handle(), head, sizeof head, 0), 0);
    EXPECT_EQ(std::string_view(head, 12), "HTTP/1.1 200");
    s.close();
    EXPECT_TRUE(up_.wait_for_closed_connections(closed + 1, pass_on)) << "the upstream call kept running";
    EXPECT_EQ(up_.abandoned_count(), 1U);
    EXPECT_TRUE(logged_as_abandoned(predict_path() + "/stream"));
}

// A retry waiting out its back-off is not made for a client that left.
TEST_F(client_abort, a_retry_back_off_is_cut_short) {
    std::string connector = chat_connector(up_);
    const auto actions = connector.find(R"("actions")");
    ASSERT_NE(actions, std::string::npos);
    connector.insert(
        actions,
        R"("client_config": {"max_retry_times": 2, "retry_backoff_millis": 20000, "retry_backoff_policy": "constant"}, )"
    );
    const auto retrying = register_model(c(), connector, "retrying-model");
    ASSERT_FALSE(retrying.empty());
    const std::string path = "/_plugins/_ml/models/" + retrying + "/_predict";
    up_.enqueue("/v1/chat/completions", fake_reply::server_error(503));
    const auto requests = up_.request_count();
    auto s = connect();
    net::write(s, net::buffer(raw_post(path, predict_body)));
    ASSERT_TRUE(up_.wait_for_requests(requests + 1));
    std::this_thread::sleep_for(200ms);  // the 503 is in: modelrelay waits out its back-off
    s.close();
    EXPECT_TRUE(logged_as_abandoned(path)) << "the call waited for its retry";
    EXPECT_EQ(up_.request_count(), requests + 1);
}

TEST_F(client_abort, a_reset_drops_the_upstream_call) {
    expect_dropped(raw_post(predict_path(), predict_body), hang_up::reset);
}

TEST_F(client_abort, a_half_close_counts_as_hanging_up) {
    expect_dropped(raw_post(predict_path(), predict_body), hang_up::half_close);
}

TEST_F(client_abort, a_pipelined_request_during_the_wait_is_answered_and_drops_nothing) {
    up_.enqueue(
        "/v1/chat/completions", fake_reply::json(200, completion_json("first answer")).with_delay(1s)
    );
    const auto requests = up_.request_count();
    const auto closed = up_.closed_connection_count();
    auto s = connect();
    net::write(s, net::buffer(raw_post(predict_path(), predict_body)));
    ASSERT_TRUE(up_.wait_for_requests(requests + 1));
    // The next request, while the first waits for its upstream answer.
    net::write(
        s,
        net::buffer(
            "GET /_cluster/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" +
            raw_post(predict_path(), predict_body)
        )
    );
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> first;
    http::read(s, buffer, first);
    EXPECT_EQ(first.result_int(), 200U) << first.body();
    EXPECT_NE(first.body().find("first answer"), std::string::npos) << first.body();
    http::response<http::string_body> health;
    http::read(s, buffer, health);
    EXPECT_EQ(health.result_int(), 200U) << health.body();
    EXPECT_NE(health.body().find("cluster_name"), std::string::npos) << health.body();
    http::response<http::string_body> second;
    http::read(s, buffer, second);
    EXPECT_EQ(second.result_int(), 200U) << second.body();
    EXPECT_NE(second.body().find(default_completion_text), std::string::npos) << second.body();
    // And the connection goes on: the next request is read by the read the last watch left outstanding.
    net::write(s, net::buffer(raw_post(predict_path(), predict_body)));
    http::response<http::string_body> third;
    http::read(s, buffer, third);
    EXPECT_EQ(third.result_int(), 200U) << third.body();
    EXPECT_EQ(up_.abandoned_count(), 0U);
    EXPECT_EQ(up_.closed_connection_count(), closed);
}

class client_abort_tls : public client_abort {
protected:
    void SetUp() override {
        start(
            {"--tls-cert",
             test_ca::instance().localhost().cert_file,
             "--tls-key",
             test_ca::instance().localhost().key_file}
        );
        tls_client_options tls;
        tls.ca_file = test_ca::instance().ca_file();
        client_ = std::make_unique<http_client>(server_->port(), tls);
        open_cluster_settings(c());
        model_ = register_model(c(), chat_connector(up_), "chat-model");
        ASSERT_FALSE(model_.empty());
        tls_ctx_.load_verify_file(test_ca::instance().ca_file());
        tls_ctx_.set_verify_mode(net::ssl::verify_peer);
    }

    // A TLS connection that has sent a predict the upstream holds for upstream_delay, once the upstream has
    // it; the upstream's counts before it in `requests_before` / `closed_before`.
    std::unique_ptr<net::ssl::stream<net::ip::tcp::socket>> predict_held_upstream() {
        up_.enqueue(
            "/v1/chat/completions", fake_reply::json(200, completion_json("late")).with_delay(upstream_delay)
        );
        requests_before = up_.request_count();
        closed_before = up_.closed_connection_count();
        auto s = std::make_unique<net::ssl::stream<net::ip::tcp::socket>>(connect(), tls_ctx_);
        SSL_set_tlsext_host_name(s->native_handle(), "localhost");
        s->handshake(net::ssl::stream_base::client);
        net::write(*s, net::buffer(raw_post(predict_path(), predict_body)));
        EXPECT_TRUE(up_.wait_for_requests(requests_before + 1));
        return s;
    }

    net::ssl::context tls_ctx_{net::ssl::context::tls_client};
    std::size_t requests_before = 0;
    std::size_t closed_before = 0;
};

// Over TLS the client's goodbye is a close_notify record: only the TLS layer sees it (the TCP connection
// stays open here).
TEST_F(client_abort_tls, a_close_notify_drops_the_upstream_call) {
    auto s = predict_held_upstream();
    // Sends close_notify, then waits for the server's: modelrelay closes the connection instead, having
    // nothing more to say, so this returns once the call is dropped (or, if it were not, once the late
    // answer came).
    boost::system::error_code ec;
    s->shutdown(ec);
    EXPECT_TRUE(up_.wait_for_closed_connections(closed_before + 1, pass_on))
        << "the upstream call kept running";
    EXPECT_EQ(up_.abandoned_count(), 1U);
    EXPECT_TRUE(logged_as_abandoned(predict_path()));
}

TEST_F(client_abort_tls, kept_alive_requests_after_watched_ones_are_answered) {
    for (int i = 0; i < 3; ++i) {
        auto ok = c().post(predict_path(), predict_body);
        EXPECT_EQ(ok.status, 200) << ok.body;
    }
    EXPECT_EQ(c().connects(), 1U);
    EXPECT_EQ(up_.abandoned_count(), 0U);
}

TEST_F(client_abort_tls, a_closed_tls_connection_drops_the_upstream_call) {
    auto s = predict_held_upstream();
    s->lowest_layer().close();  // no close_notify: a killed client
    EXPECT_TRUE(up_.wait_for_closed_connections(closed_before + 1, pass_on))
        << "the upstream call kept running";
    EXPECT_EQ(up_.abandoned_count(), 1U);
}

}  // namespace
}  // namespace modelrelay::test
