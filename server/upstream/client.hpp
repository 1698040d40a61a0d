// File: client.hpp
// The outbound HTTP(S) client that calls remote models (ml-commons.md §2.3, §4, §5.2). One instance per
// process, shared by every inbound session; the predict handler calls send() (or send_streaming() for
// SSE relaying) with the fully rendered request and the connector's client_config.
//
// What one send() does:
//   1. parse the URL (scheme / port / host checks, url.hpp) and refuse private or odd hosts before DNS;
//   2. take a keep-alive connection or a slot from the pool (bounded by max_connection; waiting longer
//      than connect_timeout → 429, pool.hpp);
//   3. for a new connection: resolve once, vet EVERY resolved address with the SSRF guard, connect only
//      to vetted addresses, re-check the address actually connected to, then TLS (SNI, chain and host
//      name verification against the system store + optional extra CA file, or the connector's own
//      context from client_options::tls: its trust anchors, client certificate and verification mode);
//      for a pooled connection: re-check its address against the current policy;
//   4. write the request and read the response with an idle-read timeout between bytes and a total
//      deadline, capping the body; a pooled connection that turns out stale (closed before any response
//      byte) is replaced once, transparently;
//   5. retry 429 / 5xx / transport failures per max_retry_times / retry_backoff_policy /
//      retry_backoff_millis / retry_timeout_seconds, honouring Retry-After.
// Redirects are never followed: a 3xx is returned like any other response.
//
// Result contract (registry::error):
//   - any HTTP status, including 4xx/5xx and 3xx, is a successful result: the caller maps it
//     (`Error from remote service: <body>` with the upstream status, ml-commons.md §4);
//   - transport failure: {errc::upstream_status, "Error communicating with remote model: <cause>", 500},
//     causes include `Connection refused`, `Connect timed out`, `Read timed out`, `Write timed out`,
//     `Request deadline exceeded`, `Connection reset`, `Unknown host <h>`,
//     `TLS handshake failed: certificate verify failed (<openssl reason>)`, and the server's TLS 1.3
//     verdict on our client certificate, which arrives with the first read:
//     `TLS handshake failed: tlsv13 alert certificate required (SSL routines)`;
//   - the caller went away (request::caller): {errc::upstream_status, "Error communicating with remote
//     model: Client closed the connection", 499}, never retried (is_caller_gone);
//   - pool exhaustion: {errc::too_many_requests, acquire_timeout_message} (429);
//   - SSRF / URL refusals: 400 illegal_argument with the ml-commons texts (address_guard.hpp, url.hpp);
//   - body over max_response_bytes: 400 illegal_argument
//     `JSON string size exceeds maximum allowed size (<n> bytes)` (ml-commons' max_json_size text).
//
// @par Thread safety
// All member functions may be called concurrently from any thread / executor. The pool is guarded by a
// mutex that is never held across a co_await; every upstream connection has its own strand and all of
// its I/O runs there (the awaiting coroutine just awaits the result), so a pooled connection can serve
// sessions on any io thread. With client_config::thread_confined the connection's executor is its
// creator's single-threaded io_context instead, the pool prefers idle connections of the caller's
// thread, and I/O on such a connection runs inline in the caller (see thread_confined).
//
// @par Per-operation cancellation
// Terminal cancellation of the awaiting coroutine (e.g. an `||` race in the caller) is forwarded by
// co_spawn to the socket operation in flight; the call then fails and the connection is discarded.
// The DNS lookup (getaddrinfo on Asio's resolver thread) cannot be interrupted, only abandoned.
// A request::caller that goes away (caller_watch.hpp) stops the call the same way, without the caller's
// coroutine being cancelled: the connection in use is closed (on its own executor), a retry back-off is
// cut short, and no further attempt is made. A DNS lookup, a wait for a pool slot and, off the caller's
// thread, a connect in progress run to their end (each bounded by connect_timeout) before the call stops.
//
// @par Object lifetimes
// The client must outlive every send() in flight, and be destroyed before its io_context. Arguments
// passed by reference must stay alive until the returned awaitable completes (they live in the awaiting
// frame). The stream callbacks run on the caller's executor, never on the connection's strand.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/verb.hpp>

#include "registry/aws_sigv4.hpp"
#include "registry/error.hpp"
#include "registry/secret_scrub.hpp"
#include "server/upstream/address_guard.hpp"
#include "server/upstream/caller_watch.hpp"
#include "server/upstream/pool.hpp"
#include "server/upstream/retry_policy.hpp"
#include "server/upstream/tls_identity.hpp"

namespace modelrelay::server::upstream {

using header_list = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive lookup; empty view when absent.
std::string_view find_header(const header_list& headers, std::string_view name);

// Test seam replacing getaddrinfo: the answers for (host, port), in order. Runs on the connection's
// strand and must not block. Its answers are vetted by the SSRF guard exactly like DNS answers; an error
// or an empty list is reported as `Unknown host`.
using resolve_function =
    std::function<std::vector<boost::asio::ip::tcp::endpoint>(std::string_view host, unsigned short port)>;

// Process-wide settings, fixed at construction.
struct client_config {
    bool use_system_ca_store = true;  // SSL_CTX_set_default_verify_paths
    std::string extra_ca_file;        // PEM file of additional trust anchors (tests, private CAs)
    // The two above (load_trust_store in tls_identity.hpp), shared with the per-connector TLS contexts.
    // Parsing the system bundle costs ~35 ms of CPU, so the server passes a deferred future: the client
    // takes the store at its first HTTPS connection, not at construction. Invalid (default): the client
    // loads the two itself, at construction.
    std::shared_future<std::shared_ptr<X509_STORE>> trust_store;
    // Idle pooled connections older than this are dropped (below common server keep-alive timeouts).
    std::chrono::milliseconds idle_connection_ttl{std::chrono::seconds(55)};
    std::string user_agent = "modelrelay";     // sent unless the request sets User-Agent
    std::size_t max_header_bytes = 64 * 1024;  // upstream response header limit
    resolve_function resolver;                 // empty: the system resolver (see resolve_function)
    // Every executor that calls send()/send_streaming() is a plain executor of an io_context run by
    // exactly one thread (the server's one-io_context-per-thread layout). New connections are then bound
    // to the caller's executor, and a connection used from its own thread runs its I/O inline in the
    // caller's coroutine: no strand, no executor hop. A connection taken from another thread's pool
    // still runs there (co_spawn). False: every connection gets a strand on `io` (any executor may call).
    bool thread_confined = false;
};

// The connector's client_config (ml-commons.md §2.3), converted to durations by the caller.
struct client_options {
    int max_connection = 30;
    std::chrono::milliseconds connect_timeout{30000};  // TCP connect + TLS handshake; also the pool wait
    std::chrono::milliseconds read_timeout{30000};     // idle time between bytes (also for writes); 0 = none
    std::chrono::milliseconds total_timeout{std::chrono::minutes(10)};  // modelrelay extension: whole call
    backoff_policy retry_backoff_policy = backoff_policy::constant;     // parse_backoff_policy("...")
    int max_retry_times = 0;                                            // 0 none, -1 unlimited
    std::chrono::milliseconds retry_backoff{200};                       // retry_backoff_millis
    std::chrono::milliseconds retry_timeout{std::chrono::seconds(30)};  // retry_timeout_seconds
    bool skip_ssl_verification = false;            // wins over tls->verification(): no verification at all
    std::size_t max_response_bytes = 100'000'000;  // ml-commons max_json_size; 0 = unlimited
    // The connector's client_config.tls context (modelrelay extension); null: the process-wide context.
    std::shared_ptr<const tls_identity> tls;
    // Whose connection pool (a hash of the model id; 0: the shared one). ml-commons sizes max_connection
    // per model, so models on one host neither share nor borrow connections.
    std::uint64_t pool_scope = 0;
};

struct request {
    boost::beast::http::verb method = boost::beast::http::verb::post;
    std::string url;  // absolute http(s) URL, fully rendered
    // Host defaults to the URL's; Content-Length, Transfer-Encoding, Connection are the client's;
    // control characters (CR, LF, NUL, ...) in names or values are refused.
    header_list headers;
    std::string body;
    // aws_sigv4 connectors: signed as sent (Host, target, headers, body); null for everything else.
    std::shared_ptr<const registry::aws_signing> aws;
    // Credential values replaced by `__SENSITIVE__` wherever they appear in the answer's body, streamed or
    // not, before any handler sees it (registry/secret_scrub.hpp). Null: nothing to look for.
    std::shared_ptr<const registry::secret_list> secrets;
    // The inbound client waiting for the answer (caller_watch.hpp); null: nobody to watch. Not owned.
    caller_watch* caller = nullptr;
};

struct response {
    unsigned status = 0;
    header_list headers;
    std::string body;
    unsigned attempts = 1;  // 1 + retries performed
    std::string_view header(std::string_view name) const { return find_header(headers, name); }
};

struct response_head {
    unsigned status = 0;
    header_list headers;
    unsigned attempts = 1;
    std::string_view header(std::string_view name) const { return find_header(headers, name); }
};

// Streaming callbacks. Both run on the caller's executor; return false to stop (the upstream connection
// is then closed, and send_streaming returns the head as a success). After on_head, on_chunk is called at
// once: with the body bytes that arrived together with the head, or with an empty view when none did, so a
// handler that holds its own head back for the first data knows when it must send it anyway.
using head_handler = std::function<boost::asio::awaitable<bool>(const response_head&)>;
using chunk_handler = std::function<boost::asio::awaitable<bool>(std::string_view chunk)>;

inline constexpr std::string_view transport_error_prefix = "Error communicating with remote model: ";
// The cause (after transport_error_prefix) when client_options::total_timeout ran out.
inline constexpr std::string_view deadline_exceeded_cause = "Request deadline exceeded";
// The call was dropped because its caller went away (request::caller): status 499, nginx's "client closed
// request". Nobody reads the answer, so the only use of it is to tell this case apart (is_caller_gone).
inline constexpr std::string_view caller_gone_cause = "Client closed the connection";
inline constexpr int caller_gone_status = 499;
bool is_caller_gone(const registry::error& e);

class client {
public:
    // `io` is the io_context executor the upstream sockets are bound to (each connection gets its own
    // strand on it). Throws std::runtime_error if extra_ca_file cannot be loaded (startup error).
    explicit client(boost::asio::any_io_executor io, client_config config = {});
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // Buffered exchange: the whole response body (up to max_response_bytes).
    boost::asio::awaitable<registry::result<response>> send(
        const request& req, const client_options& options, const guard_policy& guard
    );

    // Streaming exchange for SSE relaying: on_head (optional) gets the status and headers of the final
    // attempt, then on_chunk gets body bytes as they arrive (de-chunked, not re-framed: feed them to an
    // sse_parser). Retries (same rules as send) happen only before on_head is called; a failure after it
    // is returned as an error and the caller must end its own stream. max_response_bytes caps the total.
    // Returns the head on success or when a callback returned false.
    boost::asio::awaitable<registry::result<response_head>> send_streaming(
        const request& req,
        const client_options& options,
        const guard_policy& guard,
        chunk_handler on_chunk,
        head_handler on_head = {}
    );

    pool_stats stats() const;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace modelrelay::server::upstream
