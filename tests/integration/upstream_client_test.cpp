// File: upstream_client_test.cpp
// The outbound client against the fake upstream over real loopback sockets: plain and TLS, keep-alive
// and the pool bound, every scripted fault, retries and Retry-After, timeouts, the body cap, SSRF
// refusals (asserting the fake saw nothing), streaming pacing and cancellation, and 200 concurrent
// requests. The client runs on a two-thread io_context so the cross-thread paths are exercised.
// Only 127.0.0.1 / ::1 are ever connected to.
#include <fcntl.h>
#include <future>
#include <mutex>
#include <poll.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/host_name.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "server/disconnect_watch.hpp"
#include "server/upstream/client.hpp"
#include "server/upstream/sse_parser.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/test_ca.hpp"

namespace modelrelay::test {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace up = server::upstream;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

std::string chat_body(bool stream = false) {
    return std::string(R"({"model":"gpt-test","messages":[{"role":"user","content":"hi there"}])") +
           (stream ? R"(,"stream":true})" : "}");
}

up::request chat_request(std::string url, bool stream = false) {
    up::request r;
    r.method = http::verb::post;
    r.url = std::move(url);
    r.headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer sk-test"}};
    r.body = chat_body(stream);
    return r;
}

std::string reason(const registry::result<up::response>& r) {
    return r ? std::string("<ok>") : r.error().reason;
}

class upstream_client : public ::testing::Test {
protected:
    void SetUp() override {
        for (int i = 0; i < 2; ++i) {
            threads_.emplace_back([this] { ioc_.run(); });
        }
        options_.connect_timeout = milliseconds(2000);
        options_.read_timeout = milliseconds(5000);
        options_.total_timeout = milliseconds(20000);
        private_ok_.private_ip_enabled = true;
    }

    void TearDown() override {
        clients_.clear();
        work_.reset();
        // Nothing may be left running once the clients are gone (A1 io_context_fixture).
        const auto until = steady::now() + std::chrono::seconds(5);
        while (!ioc_.stopped() && steady::now() < until) {
            std::this_thread::sleep_for(milliseconds(10));
        }
        EXPECT_TRUE(ioc_.stopped()) << "work left on the io_context after the test";
        ioc_.stop();
        for (auto& t : threads_) {
            t.join();
        }
    }

    up::client& make_client(up::client_config cfg = {}) {
        clients_.push_back(std::make_unique<up::client>(ioc_.get_executor(), std::move(cfg)));
        return *clients_.back();
    }

    up::client& tls_client() {
        up::client_config cfg;
        cfg.extra_ca_file = test_ca::instance().ca_file();
        return make_client(std::move(cfg));
    }

    template <class T>
    T run(asio::awaitable<T> a, std::chrono::seconds timeout = std::chrono::seconds(30)) {
        auto f = asio::co_spawn(asio::make_strand(ioc_), std::move(a), asio::use_future);
        if (f.wait_for(timeout) != std::future_status::ready) {
            ADD_FAILURE() << "coroutine did not finish within " << timeout.count() << " s";
            ioc_.stop();
            std::terminate();
        }
        return f.get();
    }

    registry::result<up::response> send(up::client& c, const up::request& r, const up::guard_policy& g) {
        return run(c.send(r, options_, g));
    }
    registry::result<up::response> send(up::client& c, const up::request& r) {
        return send(c, r, private_ok_);
    }

    asio::io_context ioc_{2};
    asio::executor_work_guard<asio::io_context::executor_type> work_{ioc_.get_executor()};
    std::vector<std::thread> threads_;
    std::vector<std::unique_ptr<up::client>> clients_;
    up::client_options options_;
    up::guard_policy private_ok_;
    up::guard_policy private_off_;
};

// ---- plain HTTP, headers, keep-alive ---------------------------------------------------------------

TEST_F(upstream_client, plain_http_chat_completion) {
    fake_upstream fake;
    auto& c = make_client();
    auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_TRUE(r) << reason(r);
    EXPECT_EQ(r->status, 200u);
    EXPECT_EQ(r->attempts, 1u);
    EXPECT_EQ(r->header("content-type"), "application/json");
    const auto body = boost::json::parse(r->body).as_object();
    EXPECT_EQ(body.at("object").as_string(), "chat.completion");
    EXPECT_EQ(body.at("model").as_string(), "gpt-test");
    EXPECT_EQ(
        body.at("choices").as_array()[0].at("message").at("content").as_string(), default_completion_text
    );
    EXPECT_TRUE(body.at("usage").as_object().contains("total_tokens"));

    ASSERT_EQ(fake.request_count(), 1u);
    const auto seen = fake.requests()[0];
    EXPECT_EQ(seen.method, "POST");
    EXPECT_EQ(seen.target, "/v1/chat/completions");
    EXPECT_EQ(seen.body, chat_body());
    EXPECT_EQ(seen.header("authorization"), "Bearer sk-test");
    EXPECT_EQ(seen.header("content-type"), "application/json");
    EXPECT_EQ(seen.header("host"), "127.0.0.1:" + std::to_string(fake.port()));
    EXPECT_EQ(seen.header("content-length"), std::to_string(chat_body().size()));
    EXPECT_EQ(seen.header("user-agent"), "modelrelay");
}

TEST_F(upstream_client, get_request_and_query_string) {
    fake_upstream fake;
    auto& c = make_client();
    up::request r;
    r.method = http::verb::get;
    r.url = fake.url("/v1/models?limit=1");
    r.headers = {{"User-Agent", "custom-agent"}, {"X-Multi", "a"}, {"X-Multi", "b"}};
    auto res = send(c, r);
    ASSERT_TRUE(res) << reason(res);
    EXPECT_EQ(res->status, 200u);
    EXPECT_NE(res->body.find(default_model_id), std::string::npos);
    const auto seen = *fake.last_request();
    EXPECT_EQ(seen.target, "/v1/models?limit=1");
    EXPECT_EQ(seen.header("user-agent"), "custom-agent");
    EXPECT_EQ(seen.header("content-length"), "");
    int multi = 0;
    for (const auto& [k, v] : seen.headers) {
        multi += k == "X-Multi" ? 1 : 0;
    }
    EXPECT_EQ(multi, 2);
}

TEST_F(upstream_client, header_injection_is_refused_before_sending) {
    fake_upstream fake;
    auto& c = make_client();
    auto r = chat_request(fake.url("/v1/chat/completions"));
    r.headers.emplace_back("X-Evil", "a\r\nHost: evil");
    auto res = send(c, r);
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, registry::errc::illegal_argument);
    EXPECT_EQ(fake.connection_count(), 0u);
}

TEST_F(upstream_client, keep_alive_reuses_one_connection) {
    fake_upstream fake;
    auto& c = make_client();
    for (int i = 0; i < 5; ++i) {
        auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
        ASSERT_TRUE(r) << reason(r);
    }
    EXPECT_EQ(fake.connection_count(), 1u);
    for (const auto& req : fake.requests()) {
        EXPECT_EQ(req.connection_id, 1u);
    }
    EXPECT_EQ(c.stats().idle, 1u);
    EXPECT_EQ(c.stats().in_use, 0u);
}

// Thread-confined clients (one io_context per I/O thread, as the server runs them): a thread with no idle
// connection of its own opens one while the limit allows, instead of borrowing another thread's (every
// read and write of a borrowed one hops to its thread and back); at the limit it still borrows.
TEST(upstream_client_confined, each_thread_uses_its_own_connection_while_the_limit_allows) {
    for (const int limit : {8, 1}) {
        fake_upstream fake;
        asio::io_context a(1);
        asio::io_context b(1);
        auto work_a = asio::make_work_guard(a);
        auto work_b = asio::make_work_guard(b);
        std::thread ta([&] { a.run(); });
        std::thread tb([&] { b.run(); });
        {
            up::client_config cfg;
            cfg.thread_confined = true;
            up::client c(a.get_executor(), cfg);
            up::client_options o;
            o.max_connection = limit;
            up::guard_policy g;
            g.private_ip_enabled = true;
            const auto req = chat_request(fake.url("/v1/chat/completions"));
            auto on = [&](asio::io_context& ioc) {
                auto f = asio::co_spawn(ioc, c.send(req, o, g), asio::use_future);
                auto r = f.get();
                ASSERT_TRUE(r) << reason(r);
            };
            on(a);
            on(b);
            on(a);
            on(b);
            EXPECT_EQ(fake.connection_count(), limit == 1 ? 1u : 2u) << "limit " << limit;
            const auto seen = fake.requests();
            ASSERT_EQ(seen.size(), 4u);
            if (limit != 1) {
                EXPECT_EQ(seen[0].connection_id, seen[2].connection_id);
                EXPECT_EQ(seen[1].connection_id, seen[3].connection_id);
                EXPECT_NE(seen[0].connection_id, seen[1].connection_id);
            }
        }
        work_a.reset();
        work_b.reset();
        ta.join();
        tb.join();
    }
}

TEST_F(upstream_client, connection_close_is_not_reused) {
    fake_upstream fake;
    fake.enqueue(fake_reply::json(200, "{}").with_close());
    auto& c = make_client();
    ASSERT_TRUE(send(c, chat_request(fake.url("/v1/chat/completions"))));
    ASSERT_TRUE(send(c, chat_request(fake.url("/v1/chat/completions"))));
    EXPECT_EQ(fake.connection_count(), 2u);
}

TEST_F(upstream_client, stale_pooled_connection_is_replaced_transparently) {
    fake_upstream fake;
    auto& c = make_client();
    ASSERT_TRUE(send(c, chat_request(fake.url("/v1/chat/completions"))));
    fake.enqueue(fake_reply::close_without_response());  // the server drops the idle connection
    auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_TRUE(r) << reason(r);
    EXPECT_EQ(r->status, 200u);
    EXPECT_EQ(r->attempts, 1u);
    EXPECT_EQ(fake.request_count(), 3u);
    EXPECT_EQ(fake.connection_count(), 2u);
}

// ---- TLS --------------------------------------------------------------------------------------------

TEST_F(upstream_client, tls_verifies_with_the_test_ca) {
    fake_upstream fake(fake_upstream_options::https());
    auto& c = tls_client();
    auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_TRUE(r) << reason(r);
    EXPECT_EQ(r->status, 200u);
    // By name too (SNI + DNS name check); localhost may resolve to ::1 first, where nothing listens.
    auto by_name =
        send(c, chat_request("https://localhost:" + std::to_string(fake.port()) + "/v1/chat/completions"));
    ASSERT_TRUE(by_name) << reason(by_name);
    EXPECT_EQ(fake.request_count(), 2u);
}

TEST_F(upstream_client, tls_fails_without_the_ca) {
    fake_upstream fake(fake_upstream_options::https());
    auto& c = make_client();  // system store only
    auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, registry::errc::upstream_status);
    EXPECT_EQ(r.error().status, 500);
    EXPECT_TRUE(r.error().reason.starts_with(
        "Error communicating with remote model: TLS handshake failed: certificate verify failed ("
    )) << r.error().reason;
    EXPECT_EQ(fake.request_count(), 0u);
}

TEST_F(upstream_client, tls_skip_verification_accepts_an_unknown_ca) {
    fake_upstream fake(fake_upstream_options::https());
    auto& c = make_client();
    options_.skip_ssl_verification = true;
    auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_TRUE(r) << reason(r);
    EXPECT_EQ(r->status, 200u);
}

TEST_F(upstream_client, tls_host_name_mismatch_fails) {
    fake_upstream fake(fake_upstream_options::https(test_ca::instance().issue({"other.example"}, {})));
    auto& c = tls_client();
    auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_FALSE(r);
    EXPECT_EQ(
        r.error().reason,
        "Error communicating with remote model: TLS handshake failed: certificate verify failed (IP address "
        "mismatch)"
    );
    EXPECT_EQ(fake.request_count(), 0u);
}

// ---- pool ---------------------------------------------------------------------------------------------

TEST_F(upstream_client, pool_bounds_connections_per_host) {
    fake_upstream fake;
    fake.route("/slow", fake_reply::json(200, "{}").with_delay(milliseconds(300)));
    auto& c = make_client();
    options_.max_connection = 2;
    const auto req = chat_request(fake.url("/slow"));
    std::vector<std::future<registry::result<up::response>>> futures;
    for (int i = 0; i < 6; ++i) {
        futures.push_back(
            asio::co_spawn(asio::make_strand(ioc_), c.send(req, options_, private_ok_), asio::use_future)
        );
    }
    for (auto& f : futures) {
        auto r = f.get();
        ASSERT_TRUE(r) << reason(r);
    }
    EXPECT_EQ(fake.request_count(), 6u);
    EXPECT_LE(fake.connection_count(), 2u);
}

TEST_F(upstream_client, pool_wait_past_connect_timeout_is_429) {
    fake_upstream fake;
    fake.route("/slow", fake_reply::json(200, "{}").with_delay(milliseconds(1500)));
    auto& c = make_client();
    options_.max_connection = 1;
    options_.connect_timeout = milliseconds(200);
    const auto req = chat_request(fake.url("/slow"));
    auto first =
        asio::co_spawn(asio::make_strand(ioc_), c.send(req, options_, private_ok_), asio::use_future);
    ASSERT_TRUE(fake.wait_for_requests(1));
    auto second = send(c, req);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, registry::errc::too_many_requests);
    EXPECT_TRUE(
        second.error().reason.starts_with("Error communicating with remote model: Acquire operation took "
                                          "longer than the configured maximum time")
    ) << second.error().reason;
    auto r = first.get();
    ASSERT_TRUE(r) << reason(r);
    EXPECT_EQ(fake.request_count(), 1u);
}

// ---- scripted faults --------------------------------------------------------------------------------

TEST_F(upstream_client, non_2xx_and_odd_bodies_are_returned_not_errors) {
    fake_upstream fake;
    auto& c = make_client();
    const auto url = fake.url("/v1/chat/completions");

    fake.enqueue(fake_reply::server_error());
    auto e500 = send(c, chat_request(url));
    ASSERT_TRUE(e500) << reason(e500);
    EXPECT_EQ(e500->status, 500u);
    EXPECT_NE(e500->body.find("server_error"), std::string::npos);

    fake.enqueue(fake_reply::too_many_requests("7"));
    auto e429 = send(c, chat_request(url));
    ASSERT_TRUE(e429);
    EXPECT_EQ(e429->status, 429u);
    EXPECT_EQ(e429->header("retry-after"), "7");

    fake.enqueue(fake_reply::json(401, R"({"error":"bad key"})"));
    auto e401 = send(c, chat_request(url));
    ASSERT_TRUE(e401);
    EXPECT_EQ(e401->status, 401u);
    EXPECT_EQ(e401->body, R"({"error":"bad key"})");

    fake.enqueue(fake_reply::not_json());
    auto html = send(c, chat_request(url));
    ASSERT_TRUE(html);
    EXPECT_EQ(html->status, 200u);
    EXPECT_EQ(html->header("content-type"), "text/html");

    fake.enqueue(fake_reply::empty(200));
    auto empty = send(c, chat_request(url));
    ASSERT_TRUE(empty);
    EXPECT_EQ(empty->status, 200u);
    EXPECT_TRUE(empty->body.empty());

    EXPECT_EQ(fake.connection_count(), 1u);  // all of these kept the connection
}

// A chunked whole answer is joined, and repeated headers keep their order and spelling.
TEST_F(upstream_client, chunked_answer_and_repeated_headers) {
    fake_upstream fake;
    auto reply = fake_reply::json(200, "").with_header("X-Trace", "one").with_header("x-trace", "two");
    reply.chunks = {R"({"id":"c1",)", R"("object":"chat.completion",)", R"("choices":[]})"};
    fake.enqueue(std::move(reply));
    auto& c = make_client();
    auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_TRUE(r) << reason(r);
    EXPECT_EQ(r->status, 200u);
    EXPECT_EQ(r->body, R"({"id":"c1","object":"chat.completion","choices":[]})");
    std::vector<std::pair<std::string, std::string>> traces;
    for (const auto& [name, value] : r->headers) {
        if (boost::beast::iequals(name, "x-trace")) {
            traces.emplace_back(name, value);
        }
    }
    const std::vector<std::pair<std::string, std::string>> want{{"X-Trace", "one"}, {"x-trace", "two"}};
    EXPECT_EQ(traces, want);
    EXPECT_EQ(r->header("transfer-encoding"), "chunked");
    // The connection stays usable after the terminating chunk.
    fake.enqueue(fake_reply::json(200, R"({"ok":true})"));
    auto again = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_TRUE(again) << reason(again);
    EXPECT_EQ(again->body, R"({"ok":true})");
    EXPECT_EQ(fake.connection_count(), 1u);
}

TEST_F(upstream_client, redirects_are_not_followed) {
    fake_upstream fake;
    fake.enqueue(fake_reply::empty(302).with_header("Location", "http://169.254.169.254/latest/meta-data/"));
    auto& c = make_client();
    auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_TRUE(r) << reason(r);
    EXPECT_EQ(r->status, 302u);
    EXPECT_EQ(r->header("location"), "http://169.254.169.254/latest/meta-data/");
    EXPECT_EQ(fake.request_count(), 1u);
}

TEST_F(upstream_client, close_without_response_is_a_transport_error) {
    fake_upstream fake;
    fake.enqueue(fake_reply::close_without_response());
    auto& c = make_client();
    auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, registry::errc::upstream_status);
    EXPECT_EQ(r.error().status, 500);
    EXPECT_EQ(
        r.error().reason,
        "Error communicating with remote model: Connection closed by remote host before a response was "
        "received"
    );
}

TEST_F(upstream_client, reset_before_response_is_connection_reset) {
    fake_upstream fake;
    fake.enqueue(fake_reply::reset_before_response());
    auto& c = make_client();
    auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, "Error communicating with remote model: Connection reset");
}

TEST_F(upstream_client, reset_mid_response_is_an_error_and_the_connection_is_dropped) {
    fake_upstream fake;
    fake.enqueue(fake_reply::reset_mid_response());
    auto& c = make_client();
    auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().status, 500);
    EXPECT_TRUE(r.error().reason.starts_with(up::transport_error_prefix)) << r.error().reason;
    EXPECT_EQ(c.stats().idle, 0u);
    ASSERT_TRUE(send(c, chat_request(fake.url("/v1/chat/completions"))));
    EXPECT_EQ(fake.connection_count(), 2u);
}

TEST_F(upstream_client, response_body_cap) {
    fake_upstream fake;
    fake.enqueue(fake_reply::oversized(5000));
    auto& c = make_client();
    options_.max_response_bytes = 1000;
    auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, registry::errc::illegal_argument);
    EXPECT_EQ(r.error().reason, "JSON string size exceeds maximum allowed size (1000 bytes)");
    EXPECT_EQ(c.stats().idle, 0u);  // the half-read connection was not pooled

    fake.enqueue(fake_reply::oversized(1000));
    auto fits = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_TRUE(fits) << reason(fits);
    EXPECT_EQ(fits->body.size(), 1000u);
}

// ---- retries ----------------------------------------------------------------------------------------

class retry_policies : public upstream_client, public ::testing::WithParamInterface<up::backoff_policy> {};

TEST_P(retry_policies, retries_5xx_and_429_then_succeeds) {
    fake_upstream fake;
    fake.enqueue(fake_reply::server_error(503));
    fake.enqueue(fake_reply::too_many_requests());
    auto& c = make_client();
    options_.retry_backoff_policy = GetParam();
    options_.max_retry_times = 3;
    options_.retry_backoff = milliseconds(20);
    auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_TRUE(r) << reason(r);
    EXPECT_EQ(r->status, 200u);
    EXPECT_EQ(r->attempts, 3u);
    EXPECT_EQ(fake.request_count(), 3u);
}

TEST_P(retry_policies, gives_up_after_max_retry_times) {
    fake_upstream fake;
    fake.route("/v1/chat/completions", fake_reply::server_error(502));
    auto& c = make_client();
    options_.retry_backoff_policy = GetParam();
    options_.max_retry_times = 2;
    options_.retry_backoff = milliseconds(10);
    auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_TRUE(r) << reason(r);
    EXPECT_EQ(r->status, 502u);
    EXPECT_EQ(r->attempts, 3u);
    EXPECT_EQ(fake.request_count(), 3u);
}

TEST_P(retry_policies, retries_transport_errors) {
    fake_upstream fake;
    fake.enqueue(fake_reply::reset_before_response());
    auto& c = make_client();
    options_.retry_backoff_policy = GetParam();
    options_.max_retry_times = 1;
    options_.retry_backoff = milliseconds(10);
    auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_TRUE(r) << reason(r);
    EXPECT_EQ(r->attempts, 2u);
    EXPECT_EQ(fake.request_count(), 2u);
}

INSTANTIATE_TEST_SUITE_P(
    all,
    retry_policies,
    ::testing::Values(
        up::backoff_policy::constant,
        up::backoff_policy::exponential_equal_jitter,
        up::backoff_policy::exponential_full_jitter
    )
);

TEST_F(upstream_client, no_retry_by_default_and_never_on_4xx) {
    fake_upstream fake;
    auto& c = make_client();
    fake.enqueue(fake_reply::server_error());
    auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 500u);
    EXPECT_EQ(fake.request_count(), 1u);

    options_.max_retry_times = 5;
    options_.retry_backoff = milliseconds(10);
    fake.enqueue(fake_reply::json(400, R"({"error":"bad"})"));
    auto bad = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400u);
    EXPECT_EQ(bad->attempts, 1u);
    EXPECT_EQ(fake.request_count(), 2u);
}

TEST_F(upstream_client, retry_after_is_honoured) {
    fake_upstream fake;
    fake.enqueue(fake_reply::too_many_requests("1"));
    auto& c = make_client();
    options_.max_retry_times = 1;
    options_.retry_backoff = milliseconds(10);
    auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_TRUE(r) << reason(r);
    EXPECT_EQ(r->status, 200u);
    const auto seen = fake.requests();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_GE(seen[1].received_at - seen[0].received_at, milliseconds(950));
}

TEST_F(upstream_client, retry_after_beyond_the_budget_returns_the_429) {
    fake_upstream fake;
    fake.enqueue(fake_reply::too_many_requests("120"));
    auto& c = make_client();
    options_.max_retry_times = 3;
    options_.retry_timeout = std::chrono::seconds(2);
    const auto start = steady::now();
    auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 429u);
    EXPECT_EQ(r->attempts, 1u);
    EXPECT_LT(steady::now() - start, std::chrono::seconds(2));
}

// ---- timeouts ---------------------------------------------------------------------------------------

TEST_F(upstream_client, read_timeout) {
    fake_upstream fake;
    fake.enqueue(fake_reply::json(200, "{}").with_delay(milliseconds(3000)));
    auto& c = make_client();
    options_.read_timeout = milliseconds(200);
    const auto start = steady::now();
    auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, "Error communicating with remote model: Read timed out");
    EXPECT_EQ(r.error().status, 500);
    EXPECT_LT(steady::now() - start, milliseconds(2500));
}

TEST_F(upstream_client, read_timeout_is_idle_time_not_total_time) {
    fake_upstream fake;
    std::vector<std::string> events;
    for (int i = 0; i < 8; ++i) {
        events.push_back("data: " + std::to_string(i) + "\n\n");
    }
    fake.enqueue(fake_reply::sse(events, milliseconds(150)));  // ~1.2 s in total, 150 ms gaps
    auto& c = make_client();
    options_.read_timeout = milliseconds(600);
    auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_TRUE(r) << reason(r);
    EXPECT_EQ(r->status, 200u);
    EXPECT_NE(r->body.find("data: 7"), std::string::npos);
}

TEST_F(upstream_client, a_pooled_connection_idle_longer_than_the_read_timeout_is_reused) {
    // The read timeout guards a read in progress only: a connection resting in the pool is not closed
    // by the deadline of its last exchange.
    fake_upstream fake;
    auto& c = make_client();
    options_.read_timeout = milliseconds(200);
    for (int i = 0; i < 2; ++i) {
        auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
        ASSERT_TRUE(r) << reason(r);
        std::this_thread::sleep_for(milliseconds(600));
    }
    EXPECT_EQ(fake.connection_count(), 1u);
    EXPECT_EQ(c.stats().idle, 1u);
}

TEST_F(upstream_client, total_deadline) {
    fake_upstream fake;
    fake.enqueue(fake_reply::json(200, "{}").with_delay(milliseconds(3000)));
    auto& c = make_client();
    options_.total_timeout = milliseconds(300);
    auto r = send(c, chat_request(fake.url("/v1/chat/completions")));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, "Error communicating with remote model: Request deadline exceeded");
}

TEST_F(upstream_client, connection_refused) {
    // A bound socket that does not listen: connecting is refused, and the port stays ours for the whole
    // test (a closed port could be taken by any listener started meanwhile).
    asio::ip::tcp::socket bound(ioc_);
    bound.open(asio::ip::tcp::v4());
    bound.bind({asio::ip::make_address("127.0.0.1"), 0});
    const auto port = bound.local_endpoint().port();
    auto& c = make_client();
    auto r = send(c, chat_request("http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, "Error communicating with remote model: Connection refused");
    EXPECT_EQ(r.error().status, 500);
}

// A loopback listener whose accept queue is full: further SYNs are dropped, so connect hangs.
struct stuffed_listener {
    int listener = -1;
    unsigned short port = 0;
    std::vector<int> fillers;

    stuffed_listener() {
        listener = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::listen(listener, 0);
        socklen_t len = sizeof a;
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
        for (int i = 0; i < 16; ++i) {
            const int s = ::socket(AF_INET, SOCK_STREAM, 0);
            ::fcntl(s, F_SETFL, O_NONBLOCK);
            ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
            fillers.push_back(s);
            pollfd p{s, POLLOUT, 0};
            if (::poll(&p, 1, 300) == 0) {
                return;  // this one hangs: the queue is full
            }
        }
        port = 0;  // the trick does not work on this kernel
    }
    ~stuffed_listener() {
        for (int s : fillers) {
            ::close(s);
        }
        ::close(listener);
    }
};

TEST_F(upstream_client, connect_timeout) {
    stuffed_listener full;
    if (full.port == 0) {
        GTEST_SKIP() << "cannot fill a loopback accept queue here";
    }
    auto& c = make_client();
    options_.connect_timeout = milliseconds(300);
    const auto start = steady::now();
    auto r = send(c, chat_request("http://127.0.0.1:" + std::to_string(full.port) + "/v1/chat/completions"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, "Error communicating with remote model: Connect timed out");
    EXPECT_LT(steady::now() - start, milliseconds(2500));
}

// ---- SSRF -------------------------------------------------------------------------------------------

TEST_F(upstream_client, private_hosts_are_refused_and_nothing_is_sent) {
    fake_upstream fake;
    auto& c = make_client();
    const std::string port = std::to_string(fake.port());
    for (const std::string host :
         {"127.0.0.1",
          "localhost",
          "LOCALHOST.",
          "[::1]",
          "0.0.0.0",
          "[::ffff:127.0.0.1]",
          "[::ffff:7f00:1]",
          "2130706433",
          "0177.0.0.1",
          "0x7f.1",
          "0x7f000001",
          "127.1",
          "017700000001",
          "[64:ff9b::7f00:1]",
          "[2002:7f00:1::1]",
          "api.localhost"}) {
        auto r = send(c, chat_request("http://" + host + ":" + port + "/v1/chat/completions"), private_off_);
        ASSERT_FALSE(r) << host;
        EXPECT_EQ(r.error().code, registry::errc::illegal_argument) << host;
        EXPECT_EQ(r.error().reason, "Remote inference host name has private ip address: " + host) << host;
    }
    EXPECT_EQ(fake.connection_count(), 0u);
    EXPECT_EQ(fake.request_count(), 0u);
}

TEST_F(upstream_client, private_hosts_work_when_enabled) {
    fake_upstream fake;
    auto& c = make_client();
    const std::string port = std::to_string(fake.port());
    for (const std::string host : {"127.0.0.1", "localhost", "2130706433", "0177.0.0.1", "0x7f.1", "127.1"}) {
        auto r = send(c, chat_request("http://" + host + ":" + port + "/v1/chat/completions"), private_ok_);
        ASSERT_TRUE(r) << host << ": " << reason(r);
        EXPECT_EQ(r->status, 200u);
    }
    EXPECT_EQ(fake.request_count(), 6u);
    // 0.0.0.0 reaches loopback on Linux, but "this network" is never allowed (security.md R19).
    auto zero = send(c, chat_request("http://0.0.0.0:" + port + "/v1/chat/completions"), private_ok_);
    ASSERT_FALSE(zero);
    EXPECT_EQ(zero.error().reason, "Remote inference host name has private ip address: 0.0.0.0");
    EXPECT_EQ(fake.request_count(), 6u);
}

TEST_F(upstream_client, ipv6_loopback_when_enabled) {
    fake_upstream_options v6;
    v6.address = "::1";
    std::unique_ptr<fake_upstream> fake;
    try {
        fake = std::make_unique<fake_upstream>(v6);
    } catch (const boost::system::system_error& e) {
        GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
    }
    auto& c = make_client();
    auto refused = send(c, chat_request(fake->url("/v1/chat/completions")), private_off_);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().reason, "Remote inference host name has private ip address: [::1]");
    EXPECT_EQ(fake->connection_count(), 0u);
    auto r = send(c, chat_request(fake->url("/v1/chat/completions")), private_ok_);
    ASSERT_TRUE(r) << reason(r);
    EXPECT_EQ(r->status, 200u);
    EXPECT_EQ(fake->last_request()->header("host"), "[::1]:" + std::to_string(fake->port()));
}

TEST_F(upstream_client, a_name_resolving_to_a_private_address_is_refused_like_the_literal) {
    // The machine's own host name resolves (via /etc/hosts) to loopback or a container address.
    const std::string name = asio::ip::host_name();
    asio::ip::tcp::resolver resolver(ioc_);
    boost::system::error_code ec;
    const auto results = resolver.resolve(name, "80", ec);
    bool all_private = !ec && !results.empty();
    for (const auto& e : results) {
        all_private = all_private && up::classify(e.endpoint().address()) != up::address_kind::public_address;
    }
    if (!all_private) {
        GTEST_SKIP() << "host name " << name << " does not resolve to private addresses only";
    }
    fake_upstream fake;
    auto& c = make_client();
    auto r = send(
        c,
        chat_request("http://" + name + ":" + std::to_string(fake.port()) + "/v1/chat/completions"),
        private_off_
    );
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, "Remote inference host name has private ip address: " + name);
    EXPECT_EQ(fake.connection_count(), 0u);
}

TEST_F(upstream_client, url_checks) {
    auto& c = make_client();
    auto scheme = send(c, chat_request("ftp://127.0.0.1/x"));
    ASSERT_FALSE(scheme);
    EXPECT_EQ(scheme.error().reason, "Protocol is not http or https: ftp");
    auto port = send(c, chat_request("http://127.0.0.1:70000/x"));
    ASSERT_FALSE(port);
    EXPECT_EQ(port.error().reason, "Port out of range: 70000");
}

// ---- streaming --------------------------------------------------------------------------------------

struct chunk_log {
    std::mutex mutex;
    std::vector<std::pair<steady::time_point, std::string>> chunks;
    std::vector<up::response_head> heads;
};

TEST_F(upstream_client, streaming_delivers_chunks_as_they_arrive) {
    fake_upstream fake;
    const std::vector<std::string> words{"one", "two", "three", "four", "five"};
    fake.enqueue(fake_reply::openai_stream(words, milliseconds(200)));
    auto& c = make_client();
    chunk_log log;
    up::chunk_handler on_chunk = [&log](std::string_view chunk) -> asio::awaitable<bool> {
        std::lock_guard lock(log.mutex);
        log.chunks.emplace_back(steady::now(), std::string(chunk));
        co_return true;
    };
    up::head_handler on_head = [&log](const up::response_head& h) -> asio::awaitable<bool> {
        std::lock_guard lock(log.mutex);
        log.heads.push_back(h);
        co_return true;
    };
    const auto req = chat_request(fake.url("/v1/chat/completions"), true);
    const auto start = steady::now();
    auto r = run(c.send_streaming(req, options_, private_ok_, on_chunk, on_head));
    ASSERT_TRUE(r) << r.error().reason;
    EXPECT_EQ(r->status, 200u);
    ASSERT_EQ(log.heads.size(), 1u);
    EXPECT_EQ(log.heads[0].header("content-type"), "text/event-stream");

    // Paced chunks arrive one by one, not in one buffered block at the end.
    ASSERT_GE(log.chunks.size(), 5u);
    EXPECT_LT(log.chunks.front().first - start, milliseconds(700));
    EXPECT_GE(log.chunks.back().first - log.chunks.front().first, milliseconds(800));

    up::sse_parser parser;
    std::vector<std::string> deltas;
    bool done = false;
    for (const auto& [at, chunk] : log.chunks) {
        for (const auto& e : parser.feed(chunk)) {
            if (e.data == "[DONE]") {
                done = true;
                continue;
            }
            const auto v = boost::json::parse(e.data);
            EXPECT_EQ(v.at("object").as_string(), "chat.completion.chunk");
            const auto& delta = v.at("choices").as_array()[0].at("delta").as_object();
            if (const auto* content = delta.if_contains("content");
                content && !content->as_string().empty()) {
                deltas.emplace_back(content->as_string());
            }
        }
    }
    EXPECT_TRUE(done);
    EXPECT_EQ(deltas, (std::vector<std::string>{"one", " two", " three", " four", " five"}));

    // The completed stream left a reusable connection.
    ASSERT_TRUE(send(c, chat_request(fake.url("/v1/chat/completions"))));
    EXPECT_EQ(fake.connection_count(), 1u);
}

TEST_F(upstream_client, streaming_openai_default_with_usage) {
    fake_upstream fake;
    auto& c = make_client();
    std::string all;
    up::chunk_handler on_chunk = [&all](std::string_view chunk) -> asio::awaitable<bool> {
        all.append(chunk);
        co_return true;
    };
    auto req = chat_request(fake.url("/v1/chat/completions"));
    req.body =
        R"({"model":"m","messages":[{"role":"user","content":"a b c"}],"stream":true,"stream_options":{"include_usage":true}})";
    auto r = run(c.send_streaming(req, options_, private_ok_, on_chunk));
    ASSERT_TRUE(r) << r.error().reason;
    up::sse_parser parser;
    const auto events = parser.feed(all);
    ASSERT_GE(events.size(), 3u);
    EXPECT_EQ(events.back().data, "[DONE]");
    const auto usage = boost::json::parse(events[events.size() - 2].data).at("usage");
    EXPECT_EQ(usage.at("prompt_tokens").as_int64(), 3);
}

TEST_F(upstream_client, cancelling_mid_stream_closes_the_upstream_connection) {
    fake_upstream fake;
    std::vector<std::string> events;
    for (int i = 0; i < 40; ++i) {
        events.push_back("data: {\"i\":" + std::to_string(i) + "}\n\n");
    }
    fake.enqueue(fake_reply::sse(events, milliseconds(100)));
    auto& c = make_client();
    int seen = 0;
    up::chunk_handler on_chunk = [&seen](std::string_view) -> asio::awaitable<bool> {
        co_return ++seen < 2;
    };
    const auto req = chat_request(fake.url("/v1/chat/completions"), true);
    const auto start = steady::now();
    auto r = run(c.send_streaming(req, options_, private_ok_, on_chunk));
    ASSERT_TRUE(r) << r.error().reason;
    EXPECT_EQ(seen, 2);
    EXPECT_LT(steady::now() - start, milliseconds(2000));
    EXPECT_TRUE(fake.wait_for_closed_connections(1, std::chrono::seconds(3)));
    EXPECT_EQ(c.stats().idle, 0u);
}

TEST_F(upstream_client, streaming_retries_before_the_head_only) {
    fake_upstream fake;
    fake.enqueue(fake_reply::server_error(503));
    fake.enqueue(fake_reply::openai_stream({"ok"}));
    auto& c = make_client();
    options_.max_retry_times = 2;
    options_.retry_backoff = milliseconds(10);
    int heads = 0;
    std::string all;
    up::head_handler on_head = [&heads](const up::response_head& h) -> asio::awaitable<bool> {
        ++heads;
        co_return h.status == 200;
    };
    up::chunk_handler on_chunk = [&all](std::string_view chunk) -> asio::awaitable<bool> {
        all.append(chunk);
        co_return true;
    };
    auto r = run(c.send_streaming(
        chat_request(fake.url("/v1/chat/completions"), true), options_, private_ok_, on_chunk, on_head
    ));
    ASSERT_TRUE(r) << r.error().reason;
    EXPECT_EQ(r->status, 200u);
    EXPECT_EQ(r->attempts, 2u);
    EXPECT_EQ(heads, 1);
    EXPECT_NE(all.find("data: [DONE]"), std::string::npos);
}

TEST_F(upstream_client, streaming_failure_after_the_head_is_an_error) {
    fake_upstream fake;
    std::vector<std::string> events(10, "data: {}\n\n");
    fake.enqueue(fake_reply::sse(events, milliseconds(20)).with_fault(fake_reply::fault::reset_mid_response));
    auto& c = make_client();
    options_.max_retry_times = 3;  // no retry once the head was delivered
    int chunks = 0;
    up::chunk_handler on_chunk = [&chunks](std::string_view) -> asio::awaitable<bool> {
        ++chunks;
        co_return true;
    };
    auto r = run(c.send_streaming(
        chat_request(fake.url("/v1/chat/completions"), true), options_, private_ok_, on_chunk
    ));
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().reason.starts_with(up::transport_error_prefix)) << r.error().reason;
    EXPECT_GE(chunks, 1);
    EXPECT_EQ(fake.request_count(), 1u);
}

TEST_F(upstream_client, streaming_applies_the_ssrf_guard) {
    fake_upstream fake;
    auto& c = make_client();
    up::chunk_handler on_chunk = [](std::string_view) -> asio::awaitable<bool> {
        co_return true;
    };
    auto r = run(c.send_streaming(
        chat_request(fake.url("/v1/chat/completions"), true), options_, private_off_, on_chunk
    ));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, "Remote inference host name has private ip address: 127.0.0.1");
    EXPECT_EQ(fake.connection_count(), 0u);
}

TEST_F(upstream_client, streaming_over_tls) {
    fake_upstream fake(fake_upstream_options::https());
    fake.enqueue(fake_reply::openai_stream({"secure", "stream"}, milliseconds(50)));
    auto& c = tls_client();
    std::string all;
    up::chunk_handler on_chunk = [&all](std::string_view chunk) -> asio::awaitable<bool> {
        all.append(chunk);
        co_return true;
    };
    auto r = run(c.send_streaming(
        chat_request(fake.url("/v1/chat/completions"), true), options_, private_ok_, on_chunk
    ));
    ASSERT_TRUE(r) << r.error().reason;
    EXPECT_NE(all.find("secure"), std::string::npos);
    EXPECT_NE(all.find("[DONE]"), std::string::npos);
}

// ---- caller cancellation -----------------------------------------------------------------------------

// Races a send against a timer, the way a session would race it against a client disconnect.
asio::awaitable<std::size_t> race_send_with_timer(
    up::client& c,
    const up::request& req,
    const up::client_options& o,
    const up::guard_policy& g,
    milliseconds after
) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(after);
    auto winner = co_await (c.send(req, o, g) || t.async_wait(asio::use_awaitable));
    co_return winner.index();
}

TEST_F(upstream_client, caller_cancellation_reaches_the_socket) {
    fake_upstream fake;
    fake.enqueue(fake_reply::json(200, "{}").with_delay(milliseconds(4000)));
    auto& c = make_client();
    const auto req = chat_request(fake.url("/v1/chat/completions"));
    const auto start = steady::now();
    EXPECT_EQ(run(race_send_with_timer(c, req, options_, private_ok_, milliseconds(200))), 1u);
    EXPECT_LT(steady::now() - start, milliseconds(2000));
    EXPECT_EQ(c.stats().in_use, 0u);
    EXPECT_EQ(c.stats().idle, 0u);  // the interrupted connection was not pooled
    auto next = send(c, req);
    ASSERT_TRUE(next) << reason(next);
    EXPECT_EQ(fake.connection_count(), 2u);
}

// A caller whose own client goes away (request::caller, the session's disconnect watch): here the
// client is not thread-confined, so the connection's I/O runs on its own strand and the close has to be
// posted there (the path a thread-confined server takes when it borrows another thread's connection).
class caller_gone : public upstream_client {
protected:
    void SetUp() override {
        upstream_client::SetUp();
        asio::ip::tcp::acceptor acceptor(ioc_, {asio::ip::make_address("127.0.0.1"), 0});
        client_end_.connect(acceptor.local_endpoint());
        caller_end_.emplace(acceptor.accept(caller_));
        watch_.emplace(*caller_end_, buffer_);
        options_.read_timeout = std::chrono::seconds(30);  // only the caller leaving can end these calls
    }
    void TearDown() override {
        watch_.reset();
        caller_end_.reset();
        client_end_.close();
        upstream_client::TearDown();
    }

    template <class T>
    T run_as_caller(asio::awaitable<T> a) {
        auto f = asio::co_spawn(caller_, std::move(a), asio::use_future);
        if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
            ADD_FAILURE() << "the call did not stop when its caller went away";
            ioc_.stop();
            std::terminate();
        }
        return f.get();
    }

    // The session's executor: the caller's coroutine and its client connection live there.
    asio::strand<asio::io_context::executor_type> caller_ = asio::make_strand(ioc_);
    asio::ip::tcp::socket client_end_{ioc_};
    std::optional<boost::beast::tcp_stream> caller_end_;
    boost::beast::flat_buffer buffer_;
    std::optional<server::disconnect_watch<boost::beast::tcp_stream>> watch_;
};

TEST_F(caller_gone, a_buffered_call_is_dropped_and_its_connection_closed) {
    fake_upstream fake;
    fake.enqueue(fake_reply::json(200, "{}").with_delay(std::chrono::seconds(20)));
    auto& c = make_client();
    auto req = chat_request(fake.url("/v1/chat/completions"));
    req.caller = &*watch_;
    auto f = asio::co_spawn(caller_, c.send(req, options_, private_ok_), asio::use_future);
    ASSERT_TRUE(fake.wait_for_requests(1));
    client_end_.close();
    ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "the call kept running";
    const auto r = f.get();
    ASSERT_FALSE(r);
    EXPECT_TRUE(up::is_caller_gone(r.error())) << r.error().reason;
    EXPECT_EQ(r.error().status, 499);
    EXPECT_TRUE(fake.wait_for_closed_connections(1));
    EXPECT_EQ(fake.abandoned_count(), 1u);
    EXPECT_EQ(c.stats().in_use, 0u);
    EXPECT_EQ(c.stats().idle, 0u);  // never pooled
    // A call for a caller known to be gone is not even started.
    const auto again = run_as_caller(c.send(req, options_, private_ok_));
    ASSERT_FALSE(again);
    EXPECT_TRUE(up::is_caller_gone(again.error()));
    EXPECT_EQ(fake.request_count(), 1u);
}

TEST_F(caller_gone, a_stream_is_dropped_between_events) {
    fake_upstream fake;
    fake.enqueue(fake_reply::openai_stream({"a", "b"}, std::chrono::seconds(20)));
    auto& c = make_client();
    auto req = chat_request(fake.url("/v1/chat/completions"), true);
    req.caller = &*watch_;
    std::atomic<bool> head{false};
    up::head_handler on_head = [&head](const up::response_head&) -> asio::awaitable<bool> {
        head = true;
        co_return true;
    };
    up::chunk_handler on_chunk = [](std::string_view) -> asio::awaitable<bool> {
        co_return true;
    };
    auto f = asio::co_spawn(
        caller_, c.send_streaming(req, options_, private_ok_, on_chunk, on_head), asio::use_future
    );
    const auto until = steady::now() + std::chrono::seconds(10);
    while (!head && steady::now() < until) {
        std::this_thread::sleep_for(milliseconds(5));
    }
    ASSERT_TRUE(head);
    client_end_.close();
    ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "the stream kept running";
    const auto r = f.get();
    ASSERT_FALSE(r);
    EXPECT_TRUE(up::is_caller_gone(r.error())) << r.error().reason;
    EXPECT_TRUE(fake.wait_for_closed_connections(1));
    EXPECT_EQ(fake.abandoned_count(), 1u);
    EXPECT_EQ(c.stats().idle, 0u);
}

// ---- load -------------------------------------------------------------------------------------------

TEST_F(upstream_client, two_hundred_concurrent_requests) {
    fake_upstream fake;
    auto& c = make_client();
    const auto req = chat_request(fake.url("/v1/chat/completions"));
    std::vector<std::future<registry::result<up::response>>> futures;
    for (int i = 0; i < 200; ++i) {
        futures.push_back(
            asio::co_spawn(asio::make_strand(ioc_), c.send(req, options_, private_ok_), asio::use_future)
        );
    }
    int ok = 0;
    for (auto& f : futures) {
        auto r = f.get();
        ok += (r && r->status == 200) ? 1 : 0;
        if (!r) {
            ADD_FAILURE() << r.error().reason;
        }
    }
    EXPECT_EQ(ok, 200);
    EXPECT_EQ(fake.request_count(), 200u);
    EXPECT_LE(fake.connection_count(), 30u);  // the default max_connection
    EXPECT_EQ(c.stats().in_use, 0u);
}

}  // namespace
}  // namespace modelrelay::test
