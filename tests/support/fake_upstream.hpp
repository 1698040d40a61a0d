// File: fake_upstream.hpp
// A scriptable stand-in for a remote model server (OpenAI protocol by default), for integration tests
// (style.md §3.10 rule 10: userver SimpleServer, Envoy FakeUpstream). It listens on 127.0.0.1 port 0 on
// its own thread, speaks HTTP/1.1 with keep-alive, optionally over TLS with a certificate from test_ca
// (and optionally requiring a client certificate: mutual TLS), records every request (with the SNI and
// client certificate subject of its connection), and answers either with the OpenAI defaults or with scripted
// replies, including faults (delays, resets, closes, oversized or non-JSON bodies, SSE with pacing).
//
// Typical use:
//   modelrelay::test::fake_upstream up;                                   // http://127.0.0.1:<port>
//   modelrelay::test::fake_upstream tls_up(fake_upstream_options::https()); // https, cert from test_ca
//   up.enqueue(fake_reply::too_many_requests("1"));                       // next request → 429
//   up.route("/v1/chat/completions", fake_reply::json(200, R"({"ok":true})"));  // every request to path
//   ... point a connector at up.url("/v1/chat/completions") ...
//   ASSERT_TRUE(up.wait_for_requests(2));
//   EXPECT_EQ(up.requests()[1].header("authorization"), "Bearer sk-test");
//
// Reply selection, first match wins: one-shot replies queued for the request's path, one-shot replies
// queued for any path, the handler, persistent routes, the OpenAI defaults, 404.
//
// OpenAI defaults: POST /v1/chat/completions → `chat.completion` with `usage` (content
// default_completion_text, model echoed); with "stream":true → `chat.completion.chunk` SSE events
// (role, one per word, finish, usage if stream_options.include_usage) then `data: [DONE]`;
// POST /v1/embeddings → deterministic vectors (8 dims or "dimensions"); GET /v1/models → one model.
// Bad JSON → 400 with an OpenAI error object.
//
// @par Thread safety
// Every public member may be called from any thread while the server runs. Waits take a timeout.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/test_ca.hpp"

namespace modelrelay::test {

using namespace std::chrono_literals;

inline constexpr std::string_view default_completion_text = "Hello from the fake upstream.";
inline constexpr std::string_view default_model_id = "fake-model";

struct recorded_request {
    std::string method;  // "POST"
    std::string target;  // "/v1/chat/completions?x=1"
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::size_t connection_id = 0;  // 1 for the first accepted connection, 2 for the next, ...
    std::chrono::steady_clock::time_point received_at;
    std::string tls_server_name;      // SNI the client sent ("" for plain HTTP or none)
    std::string client_cert_subject;  // RFC 2253 subject of the verified client certificate, or ""

    std::string_view header(std::string_view name) const;  // case-insensitive; "" when absent
    std::string_view path() const;                         // target without the query
};

// What the fake does with one request. Build with the factories, refine with the with_* modifiers:
//   fake_reply::json(200, body).with_delay(2s).with_header("x-request-id", "abc")
struct fake_reply {
    enum class fault {
        none,
        close_without_response,  // read the request, then close (FIN) without answering
        reset_before_response,   // read the request, then reset (RST) without answering
        reset_mid_response,      // send the head and half the body (or half the chunks), then RST
    };

    unsigned status = 200;
    std::vector<std::pair<std::string, std::string>> headers;  // Content-Type added when absent
    std::string body;
    std::string content_type = "application/json";
    // A client that closes the connection meanwhile ends it at once (abandoned_count()).
    std::chrono::milliseconds delay_before_headers{0};
    // When non-empty the body is sent with chunked encoding, one HTTP chunk per element, each after
    // delay_between_chunks (SSE streams; a client that closes the connection meanwhile ends it at once).
    std::vector<std::string> chunks;
    std::chrono::milliseconds delay_between_chunks{0};
    fault failure = fault::none;
    bool close_after = false;  // answer with Connection: close and close

    static fake_reply json(unsigned status, std::string body);
    static fake_reply text(unsigned status, std::string body, std::string content_type = "text/plain");
    static fake_reply empty(unsigned status = 200);  // no body at all
    static fake_reply server_error(unsigned status = 500);
    // 429 with the given Retry-After value ("2", or an HTTP date); no header when empty.
    static fake_reply too_many_requests(std::string retry_after = "");
    static fake_reply not_json(unsigned status = 200);                      // text that is not JSON
    static fake_reply oversized(std::size_t bytes, unsigned status = 200);  // a JSON string of `bytes` bytes
    // text/event-stream; each event is sent as-is in its own chunk (include the "\n\n").
    static fake_reply sse(std::vector<std::string> events, std::chrono::milliseconds between = 0ms);
    // A complete OpenAI chat stream for `words`, ending with "data: [DONE]".
    static fake_reply openai_stream(
        const std::vector<std::string>& words, std::chrono::milliseconds between = 0ms
    );
    static fake_reply close_without_response();
    static fake_reply reset_before_response();
    static fake_reply reset_mid_response();

    fake_reply&& with_delay(std::chrono::milliseconds d) &&;
    fake_reply&& with_header(std::string name, std::string value) &&;
    fake_reply&& with_close() &&;
    fake_reply&& with_fault(fault f) &&;
};

struct fake_upstream_options {
    bool tls = false;                        // HTTPS with test_ca::instance().localhost()
    std::optional<issued_cert> certificate;  // another server certificate (e.g. for a name mismatch)
    std::string address = "127.0.0.1";       // "::1" for an IPv6 listener
    bool openai_defaults = true;             // false: unmatched requests get 404
    // Mutual TLS: when set, every handshake must present a client certificate that chains to this CA
    // (PEM); otherwise the handshake fails and no request is read (handshake_failure_count()).
    std::optional<std::string> client_ca_pem;

    // HTTPS with the localhost certificate, or with `cert`.
    static fake_upstream_options https(std::optional<issued_cert> cert = std::nullopt) {
        fake_upstream_options o;
        o.tls = true;
        o.certificate = std::move(cert);
        return o;
    }
    // HTTPS that requires a client certificate signed by `client_ca_pem`.
    static fake_upstream_options mutual_tls(
        std::string client_ca_pem, std::optional<issued_cert> cert = std::nullopt
    ) {
        fake_upstream_options o = https(std::move(cert));
        o.client_ca_pem = std::move(client_ca_pem);
        return o;
    }
};

class fake_upstream {
public:
    using handler = std::function<std::optional<fake_reply>(const recorded_request&)>;

    explicit fake_upstream(fake_upstream_options options = {});
    ~fake_upstream();
    fake_upstream(const fake_upstream&) = delete;
    fake_upstream& operator=(const fake_upstream&) = delete;

    unsigned short port() const { return port_; }
    bool tls() const { return options_.tls; }
    std::string base_url() const;                  // "http://127.0.0.1:<port>"
    std::string url(std::string_view path) const;  // base_url() + path

    // Scripting.
    void enqueue(fake_reply reply);                    // the next request, whatever its path
    void enqueue(std::string path, fake_reply reply);  // the next request to `path` (query ignored)
    void route(std::string path, fake_reply reply);    // every request to `path` until cleared
    void set_handler(handler h);                       // may return nullopt to fall through
    void clear_scripts();

    // Observations.
    std::vector<recorded_request> requests() const;
    std::size_t request_count() const;
    std::optional<recorded_request> last_request() const;
    std::size_t connection_count() const;         // accepted so far
    std::size_t closed_connection_count() const;  // ended so far (either side)
    std::size_t open_connection_count() const { return connection_count() - closed_connection_count(); }
    std::size_t handshake_failure_count() const;  // TLS handshakes that failed (e.g. no client cert)
    // Replies not sent (or not finished) because the client closed the connection during their
    // delay_before_headers or delay_between_chunks (the connection ends then, and counts as closed, as
    // soon as the close arrives).
    std::size_t abandoned_count() const;
    void clear_requests();

    bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout = 5s) const;
    bool wait_for_connections(std::size_t n, std::chrono::milliseconds timeout = 5s) const;
    bool wait_for_closed_connections(std::size_t n, std::chrono::milliseconds timeout = 5s) const;

    struct impl;

private:
    friend struct impl;
    fake_reply choose(const recorded_request& r);
    std::size_t on_accept();
    void on_close();
    void on_abandoned();
    void on_handshake_failure();
    void on_request(recorded_request r);

    fake_upstream_options options_;
    unsigned short port_ = 0;

    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::vector<recorded_request> requests_;
    std::size_t accepted_ = 0;
    std::size_t closed_ = 0;
    std::size_t abandoned_ = 0;
    std::size_t handshake_failures_ = 0;
    std::vector<std::pair<std::string, fake_reply>> path_queue_;
    std::vector<fake_reply> any_queue_;
    std::vector<std::pair<std::string, fake_reply>> routes_;
    handler handler_;

    std::unique_ptr<impl> impl_;
    std::thread thread_;
};

}  // namespace modelrelay::test
