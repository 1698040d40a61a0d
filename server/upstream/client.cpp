// File: client.cpp
// The outbound client: the retry loop and pool hand-off run in the caller's coroutine; everything that
// touches a socket runs in a coroutine co_spawned on the connection's strand (connection.hpp), or, with
// client_config::thread_confined, inline in the caller when the connection lives on the caller's thread.
// Timeouts: connect and the TLS handshake use beast::tcp_stream::expires_after; reads and writes on an
// established connection use its lazy_deadline (one timer per connection, not per operation). Either way
// the limit is the smaller of the per-operation timeout and what is left of the total deadline, so the
// error can say which one fired.
#include "server/upstream/client.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <unordered_map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "server/http_read.hpp"
#include "server/io_loop.hpp"
#include "server/upstream/connection.hpp"
#include "server/upstream/url.hpp"
#include "server/write_now.hpp"

namespace modelrelay::server::upstream {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::awaitable;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;
// A framed request: the method (the response parser needs to know HEAD) and the bytes to send.
struct outgoing {
    http::verb method = http::verb::get;
    std::string wire;
};

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view deadline_cause = deadline_exceeded_cause;
constexpr std::size_t stream_piece_bytes = 16 * 1024;

registry::error transport_error(std::string_view cause) {
    return {registry::errc::upstream_status, std::string(transport_error_prefix) + std::string(cause), 500};
}

registry::error caller_gone() {
    return {
        registry::errc::upstream_status,
        std::string(transport_error_prefix) + std::string(caller_gone_cause),
        caller_gone_status};
}

registry::error body_too_large(std::size_t limit) {
    return registry::illegal_argument(
        "JSON string size exceeds maximum allowed size (" + std::to_string(limit) + " bytes)"
    );
}

// Failures that say nothing about the upstream's answer and may be retried by the policy.
bool is_retryable_error(const registry::error& e) {
    return (e.code == registry::errc::upstream_status && e.status == 500) ||
           e.code == registry::errc::too_many_requests;
}

std::uint64_t next_seed() {
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return engine();
}

// Boost.URL parsing was about 3 % of a request's CPU, and a connector calls the same few URLs again and
// again: successful parses are kept per thread (no lock), keyed by the whole URL. The result depends on
// the text alone; the address checks, which depend on the current policy, still run on every call.
registry::result<std::shared_ptr<const parsed_url>> parse_url_cached(const std::string& url) {
    constexpr std::size_t max_entries = 256;
    thread_local std::unordered_map<std::string, std::shared_ptr<const parsed_url>> cache;
    if (auto it = cache.find(url); it != cache.end()) {
        return it->second;
    }
    auto u = parse_url(url);
    if (!u) {
        return u.error();
    }
    if (cache.size() >= max_entries) {
        cache.clear();  // rendered URLs that vary per request: just start over
    }
    auto parsed = std::make_shared<const parsed_url>(std::move(*u));
    cache.emplace(url, parsed);
    return parsed;
}

// The time an operation may take: its own timeout, or what is left of the deadline if that is shorter.
struct op_budget {
    milliseconds limit;
    bool by_deadline;
};

std::optional<op_budget> budget(milliseconds per_op, steady::time_point deadline) {
    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - steady::now());
    if (remaining.count() <= 0) {
        return std::nullopt;
    }
    if (per_op.count() <= 0 || remaining < per_op) {
        return op_budget{remaining, true};
    }
    return op_budget{per_op, false};
}

bool is_http_error(const boost::system::error_code& ec) {
    return ec.category() == http::make_error_code(http::error::end_of_stream).category();
}

// The peer closed or reset the connection: on a pooled connection with nothing received yet this is
// a stale keep-alive connection, not an upstream failure.
bool is_closed_error(const boost::system::error_code& ec) {
    return ec == http::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == ssl::error::stream_truncated;
}

std::string io_cause(const boost::system::error_code& ec, std::string_view timeout_cause, bool by_deadline) {
    if (ec == beast::error::timeout) {
        return std::string(by_deadline ? deadline_cause : timeout_cause);
    }
    if (ec == asio::error::connection_refused) {
        return "Connection refused";
    }
    if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe) {
        return "Connection reset";
    }
    if (ec == http::error::end_of_stream || ec == asio::error::eof) {
        return "Connection closed by remote host before a response was received";
    }
    if (ec == http::error::partial_message || ec == ssl::error::stream_truncated) {
        return "Connection closed by remote host before the response was complete";
    }
    if (is_http_error(ec)) {
        return "Invalid HTTP response: " + ec.message();
    }
    return ec.message();
}

// An error from the TLS library on an established connection. In TLS 1.3 the server judges the client
// certificate after the client's side of the handshake is done, so its verdict (an alert such as
// "certificate required" or "unknown ca") arrives with the first read: on a connection that never
// completed an exchange that is still the handshake failing, and is reported as such.
std::string tls_io_cause(const boost::system::error_code& ec, const connection& c) {
    return (c.uses == 0 ? "TLS handshake failed: " : "TLS error: ") + ec.message();
}

bool is_tls_library_error(const boost::system::error_code& ec) {
    return ec.category() == asio::error::get_ssl_category();
}

std::string tls_failure_cause(const boost::system::error_code& ec, SSL* ssl) {
    if (ec.category() == asio::error::get_ssl_category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        const long verify = SSL_get_verify_result(ssl);
        return std::string("TLS handshake failed: certificate verify failed (") +
               X509_verify_cert_error_string(verify) + ")";
    }
    return "TLS handshake failed: " + ec.message();
}

bool has_control_chars(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](unsigned char c) {
        return (c < 0x20 && c != '\t') || c == 0x7F;
    });
}

// No control character, colon or space: one pass (find_first_of(": ") called memchr per character).
bool is_header_name(std::string_view s) {
    return std::none_of(s.begin(), s.end(), [](unsigned char c) {
        return (c < 0x20 && c != '\t') || c == 0x7F || c == ':' || c == ' ';
    });
}

// The request as it goes on the wire, framed by us (Host, Content-Length, no Connection). Written into one
// string once and re-sent as is on retries (see server/wire.hpp for why not Beast's serializer).
registry::result<outgoing> build_message(const request& req, const parsed_url& u, const client_config& cfg) {
    // aws_sigv4: signed over what is sent. The signer's own headers replace any of the connector's.
    header_list aws_headers;
    registry::sigv4_headers signature;
    if (req.aws) {
        aws_headers.reserve(req.headers.size());
        std::string_view host = u.host_header;
        for (const auto& h : req.headers) {
            if (beast::iequals(h.first, "authorization") || beast::iequals(h.first, "x-amz-date") ||
                beast::iequals(h.first, "x-amz-security-token")) {
                continue;
            }
            aws_headers.push_back(h);
        }
        for (const auto& h : aws_headers) {
            if (beast::iequals(h.first, "host")) {
                host = h.second;
            }
        }
        const auto verb = http::to_string(req.method);
        signature = registry::sign_sigv4(
            *req.aws,
            std::string_view(verb.data(), verb.size()),
            host,
            u.target,
            aws_headers,
            req.body,
            std::chrono::system_clock::now()
        );
    }
    const header_list& headers = req.aws ? aws_headers : req.headers;
    // A connector's own Host replaces ours in its position (the last one wins), as Beast's fields.set did.
    const std::pair<std::string, std::string>* connector_host = nullptr;
    bool has_user_agent = false;
    for (const auto& h : headers) {
        const auto& [name, value] = h;
        if (name.empty() || !is_header_name(name) || has_control_chars(value)) {
            return registry::illegal_argument("Header value contains invalid control character");
        }
        if (beast::iequals(name, "host")) {
            connector_host = &h;
        }
        has_user_agent = has_user_agent || beast::iequals(name, "user-agent");
    }
    outgoing msg;
    msg.method = req.method;
    std::string& w = msg.wire;
    w.reserve(256 + req.body.size());
    const auto verb = http::to_string(req.method);
    w.append(verb.data(), verb.size());
    w.push_back(' ');
    w.append(u.target);
    w.append(" HTTP/1.1\r\n");
    auto field = [&w](std::string_view name, std::string_view value) {
        w.append(name);
        w.append(": ");
        w.append(value);
        w.append("\r\n");
    };
    if (!connector_host) {
        field("Host", u.host_header);
    }
    for (const auto& h : headers) {
        const auto& [name, value] = h;
        if (beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
            beast::iequals(name, "connection")) {
            continue;  // framing is ours
        }
        if (beast::iequals(name, "host")) {
            if (&h == connector_host) {
                field("Host", value);
            }
            continue;
        }
        field(name, value);
    }
    for (const auto& [name, value] : signature) {
        field(name, value);
    }
    if (!has_user_agent) {
        field("User-Agent", cfg.user_agent);
    }
    // As HTTP/1.1 framing wants it (and Beast's prepare_payload did): a length whenever there is a body,
    // and for POST, PUT and OPTIONS even when it is empty.
    if (!req.body.empty() || req.method == http::verb::post || req.method == http::verb::put ||
        req.method == http::verb::options) {
        w.append("Content-Length: ");
        char digits[24];
        const auto r = std::to_chars(digits, digits + sizeof digits, req.body.size());
        w.append(digits, r.ptr);
        w.append("\r\n");
    }
    w.append("\r\n");
    w.append(req.body);
    return msg;
}

template <class Fields>
header_list copy_headers(const Fields& fields) {
    header_list out;
    for (const auto& f : fields) {
        out.emplace_back(std::string(f.name_string()), std::string(f.value()));
    }
    return out;
}

// A whole answer parsed straight into `response`: Beast's basic_parser does the HTTP/1.1 framing and the
// limits, and the headers go to the header_list the caller keeps, not through basic_fields first (an
// allocation and a case-insensitive tree insert per header, then a copy of each).
class response_reader final : public http::basic_parser<false> {
public:
    response& get() { return out_; }

private:
    // Beyond this the body grows as it arrives: a Content-Length alone does not get memory reserved.
    static constexpr std::uint64_t max_reserve = 1 << 20;

    void on_request_impl(http::verb, beast::string_view, beast::string_view, int, beast::error_code&)
        override {}
    void on_response_impl(int code, beast::string_view, int, beast::error_code&) override {
        out_.status = static_cast<unsigned>(code);
    }
    void on_field_impl(http::field, beast::string_view name, beast::string_view value, beast::error_code&)
        override {
        out_.headers.emplace_back(std::string(name), std::string(value));
    }
    void on_header_impl(beast::error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>& length, beast::error_code&) override {
        if (length) {
            out_.body.reserve(static_cast<std::size_t>(std::min(*length, max_reserve)));
        }
    }
    std::size_t on_body_impl(beast::string_view body, beast::error_code&) override {
        out_.body.append(body.data(), body.size());
        return body.size();
    }
    void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, beast::error_code&) override {
        out_.body.append(body.data(), body.size());
        return body.size();
    }
    void on_finish_impl(beast::error_code&) override {}

    response out_;
};

void configure_parser(
    http::basic_parser<false>& p, const outgoing& msg, const client_options& o, std::size_t header_limit
) {
    p.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(header_limit, UINT32_MAX)));
    if (o.max_response_bytes == 0) {
        p.body_limit(boost::none);
    } else {
        p.body_limit(o.max_response_bytes);
    }
    if (msg.method == http::verb::head) {
        p.skip(true);
    }
}

bool is_interim(unsigned status) {
    return status >= 100 && status < 200 && status != 101;
}

// ---- I/O on the connection's strand ---------------------------------------------------------------

struct progress {
    bool received_any = false;  // some response byte arrived
    bool stale = false;         // closed/reset before any response byte
    bool reusable = false;      // complete response with keep-alive semantics
};

// ---- the caller going away (caller_watch.hpp) -------------------------------------------------------

// An exchange that runs on its connection's own executor (another io thread, or a strand): the caller's
// side cannot touch its socket, so it posts the close there. `live` is only touched on that executor, set
// while the exchange runs: a close that arrives after the exchange ended finds it false and does nothing
// (the connection may be back in the pool by then, serving someone else).
struct far_exchange {
    connection* conn = nullptr;
    bool live = false;
};

// One send()'s watch over its caller, in send()'s frame: what to stop when the caller goes. Whatever is
// registered here is in use by this call's coroutine, which is suspended whenever on_gone runs.
struct call_watch {
    explicit call_watch(caller_watch* c) : caller(c) {
        if (caller != nullptr) {
            caller->watch(&on_gone, this);
        }
    }
    ~call_watch() {
        if (caller != nullptr) {
            caller->unwatch();
        }
    }
    call_watch(const call_watch&) = delete;
    call_watch& operator=(const call_watch&) = delete;

    static void on_gone(void* self) {
        auto& w = *static_cast<call_watch*>(self);
        w.dropped = true;
        boost::system::error_code ignored;
        if (w.here != nullptr) {
            // The connection's I/O runs on this very executor: its pending operation fails at once.
            w.here->tcp().socket().close(ignored);
        }
        if (w.there) {
            asio::post(w.there->conn->strand, [far = w.there] {
                if (far->live) {
                    boost::system::error_code ignored_there;
                    far->conn->tcp().socket().close(ignored_there);
                }
            });
        }
        if (w.pause != nullptr) {
            w.pause->cancel();
        }
    }

    caller_watch* caller = nullptr;
    bool dropped = false;                 // the caller went: stop, and never retry
    connection* here = nullptr;           // the connection whose I/O runs in this coroutine right now
    std::shared_ptr<far_exchange> there;  // the exchange running on its connection's executor right now
    asio::steady_timer* pause = nullptr;  // the back-off before the next attempt
};

// `op` (an exchange on far->conn) run on the connection's executor, with far->live set meanwhile.
template <class T>
awaitable<T> watched_far(far_exchange* far, awaitable<T> op) {
    struct ended {
        far_exchange& f;
        ~ended() { f.live = false; }
    };
    far->live = true;
    const ended guard{*far};
    co_return co_await std::move(op);
}

registry::error write_failure(
    const boost::system::error_code& ec, const connection& c, bool by_deadline, progress& prog
) {
    prog.stale = is_closed_error(ec);
    return transport_error(
        is_tls_library_error(ec) ? tls_io_cause(ec, c) : io_cause(ec, "Write timed out", by_deadline)
    );
}

template <class Stream>
awaitable<registry::result<void>> write_request(
    Stream& s,
    connection& c,
    const outgoing& msg,
    const client_options& o,
    steady::time_point deadline,
    progress& prog
) {
    const auto b = budget(o.read_timeout, deadline);
    if (!b) {
        co_return transport_error(deadline_cause);
    }
    const auto ec = co_await write_all(s, asio::buffer(msg.wire), &c.deadline, b->limit);
    if (ec) {
        co_return write_failure(ec, c, b->by_deadline, prog);
    }
    co_return registry::result<void>{};
}

// What one read step's error code means: maps it (if any) and handles EOF-delimited bodies over TLS.
registry::result<void> read_outcome(
    beast::error_code ec,
    connection& c,
    http::basic_parser<false>& p,
    const client_options& o,
    bool by_deadline,
    progress& prog
) {
    if (ec && c.deadline.expired()) {
        ec = beast::error::timeout;
    }
    prog.received_any = prog.received_any || p.got_some();
    if (ec == http::error::need_buffer) {
        ec = {};
    }
    if (ec == ssl::error::stream_truncated && p.got_some() && p.need_eof()) {
        // The body was delimited by the close and the server skipped close_notify: the message is complete.
        ec = {};
        p.put_eof(ec);
    }
    if (ec == http::error::body_limit) {
        return body_too_large(o.max_response_bytes);
    }
    if (ec == http::error::header_limit) {
        return transport_error("Response header exceeds the limit");
    }
    if (ec) {
        prog.stale = !prog.received_any && is_closed_error(ec);
        return transport_error(
            is_tls_library_error(ec) ? tls_io_cause(ec, c) : io_cause(ec, "Read timed out", by_deadline)
        );
    }
    return registry::result<void>{};
}

// One read step.
template <class Stream>
awaitable<registry::result<void>> read_step(
    Stream& s,
    connection& c,
    http::basic_parser<false>& p,
    const client_options& o,
    steady::time_point deadline,
    progress& prog
) {
    const auto b = budget(o.read_timeout, deadline);
    if (!b) {
        co_return transport_error(deadline_cause);
    }
    const auto arm = [&] {
        c.deadline.expires_after(b->limit);
    };
    // Until the head arrives the answer is known to be on its way: the thread may poll for it longer.
    std::optional<awaiting_upstream> waiting;
    if (!p.is_header_done()) {
        waiting.emplace();
    }
    const auto ec = co_await read_some_direct(s, c.buffer, p, arm);
    waiting.reset();
    co_return read_outcome(ec, c, p, o, b->by_deadline, prog);
}

// write_request() and read_step() spelled out (write_at_once, parse_buffered): a request the socket takes
// at once and an answer read in one go cost this one coroutine frame, not one per step.
template <class Stream>
awaitable<registry::result<response>> exchange_on(
    Stream& s,
    connection& c,
    const outgoing& msg,
    const client_options& o,
    steady::time_point deadline,
    std::size_t header_limit,
    progress& prog
) {
    {
        const auto b = budget(o.read_timeout, deadline);
        if (!b) {
            co_return transport_error(deadline_cause);
        }
        const auto wire = asio::buffer(msg.wire);
        std::size_t taken = 0;
        auto ec = write_at_once(s, wire, taken);
        if (!ec) {
            ec = co_await write_rest(s, wire, taken, &c.deadline, b->limit);
        }
        if (*ec) {
            co_return write_failure(*ec, c, b->by_deadline, prog);
        }
    }
    std::optional<response_reader> p;
    p.emplace();
    configure_parser(*p, msg, o, header_limit);
    while (true) {
        const auto b = budget(o.read_timeout, deadline);
        if (!b) {
            co_return transport_error(deadline_cause);
        }
        beast::error_code ec;
        if (auto done = parse_buffered(c.buffer, *p)) {
            ec = *done;
        } else {
            beast::flat_buffer::mutable_buffers_type space;
            ec = prepare_read(c.buffer, space);
            if (!ec) {
                // Until the head arrives the answer is known to be on its way: the thread may poll longer.
                std::optional<awaiting_upstream> waiting;
                if (!p->is_header_done()) {
                    waiting.emplace();
                }
                c.deadline.expires_after(b->limit);
                auto [read_ec, n] = co_await read_some_from(s, space);
                ec = after_read(c.buffer, *p, read_ec, n);
            }
        }
        if (auto r = read_outcome(ec, c, *p, o, b->by_deadline, prog); !r) {
            co_return r.error();
        }
        if (!p->is_done()) {
            continue;
        }
        if (is_interim(p->get().status)) {
            p.emplace();  // 100 Continue and friends: the real response follows
            configure_parser(*p, msg, o, header_limit);
            continue;
        }
        break;
    }
    c.deadline.expires_never();
    ++c.uses;
    prog.reusable = p->keep_alive();
    co_return std::move(p->get());
}

awaitable<registry::result<response>> exchange(
    connection& c,
    const outgoing& msg,
    const client_options& o,
    steady::time_point deadline,
    std::size_t header_limit,
    progress& prog
) {
    if (c.tls) {
        co_return co_await exchange_on(*c.tls, c, msg, o, deadline, header_limit, prog);
    }
    co_return co_await exchange_on(*c.plain, c, msg, o, deadline, header_limit, prog);
}

// Streaming: the parser and the bytes read but not yet delivered live in the caller's frame.
struct stream_state {
    std::optional<http::response_parser<http::buffer_body>> parser;
    std::string piece;
    // Where the parser writes body bytes before they are appended to `piece`: allocated without zero-filling,
    // so an idle stream keeps only the pages its events touched (RSS with 1,000 open streams).
    std::unique_ptr<char[]> scratch;
    progress prog;
};

// Reads until the header is complete (until_header) or until some body bytes are buffered or the
// message is done. Body bytes land in st.piece.
template <class Stream>
awaitable<registry::result<void>> read_stream_on(
    Stream& s,
    connection& c,
    const outgoing& msg,
    stream_state& st,
    const client_options& o,
    steady::time_point deadline,
    std::size_t header_limit,
    bool until_header
) {
    while (true) {
        auto& p = *st.parser;
        if (until_header ? p.is_header_done() : (!st.piece.empty() || p.is_done())) {
            break;
        }
        if (!st.scratch) {
            st.scratch.reset(new char[stream_piece_bytes]);
        }
        p.get().body().data = st.scratch.get();
        p.get().body().size = stream_piece_bytes;
        auto r = co_await read_step(s, c, p, o, deadline, st.prog);
        st.piece.append(st.scratch.get(), stream_piece_bytes - p.get().body().size);
        if (!r) {
            co_return r.error();
        }
        if (p.is_header_done() && p.is_done() && is_interim(p.get().result_int())) {
            st.parser.emplace();
            configure_parser(*st.parser, msg, o, header_limit);
            st.piece.clear();
        }
    }
    c.deadline.expires_never();
    co_return registry::result<void>{};
}

// Body bytes that arrived in the same read as the head wait in the connection's buffer: parse them into
// st.piece now, without I/O (the parser's put), so the caller sees them together with the head. Stops at
// the first incomplete chunk or anything unusual; the normal read path takes over from there.
void parse_buffered(connection& c, stream_state& st) {
    auto& p = *st.parser;
    while (c.buffer.size() > 0 && !p.is_done()) {
        if (!st.scratch) {
            st.scratch.reset(new char[stream_piece_bytes]);
        }
        p.get().body().data = st.scratch.get();
        p.get().body().size = stream_piece_bytes;
        beast::error_code ec;
        const std::size_t used = p.put(c.buffer.data(), ec);
        c.buffer.consume(used);
        st.piece.append(st.scratch.get(), stream_piece_bytes - p.get().body().size);
        // The parser stops after each element (chunk header, chunk data) unless eager: keep going while
        // it makes progress; need_more (an incomplete chunk) or an error ends it.
        if ((ec && ec != http::error::need_buffer) || used == 0) {
            return;
        }
    }
}

awaitable<registry::result<void>> start_stream(
    connection& c,
    const outgoing& msg,
    stream_state& st,
    const client_options& o,
    steady::time_point deadline,
    std::size_t header_limit
) {
    st.parser.emplace();
    configure_parser(*st.parser, msg, o, header_limit);
    if (c.tls) {
        if (auto w = co_await write_request(*c.tls, c, msg, o, deadline, st.prog); !w) {
            co_return w.error();
        }
        co_return co_await read_stream_on(*c.tls, c, msg, st, o, deadline, header_limit, true);
    }
    if (auto w = co_await write_request(*c.plain, c, msg, o, deadline, st.prog); !w) {
        co_return w.error();
    }
    co_return co_await read_stream_on(*c.plain, c, msg, st, o, deadline, header_limit, true);
}

awaitable<registry::result<void>> continue_stream(
    connection& c,
    const outgoing& msg,
    stream_state& st,
    const client_options& o,
    steady::time_point deadline,
    std::size_t header_limit
) {
    if (c.tls) {
        co_return co_await read_stream_on(*c.tls, c, msg, st, o, deadline, header_limit, false);
    }
    co_return co_await read_stream_on(*c.plain, c, msg, st, o, deadline, header_limit, false);
}

// The process-wide TLS client context (connectors without their own `client_config.tls`). The trust
// store arrives through a future (client_config::trust_store): it is installed once, at the first HTTPS
// connection, so start-up does not wait for the system CA bundle to be parsed.
class process_tls {
public:
    // Without a store from the server, the client loads its own now (load_trust_store's errors throw).
    explicit process_tls(const client_config& cfg)
        : ctx_(ssl::context::tls_client),
          trust_(cfg.trust_store.valid() ? cfg.trust_store : loaded_trust_store(cfg)) {
        SSL_CTX_set_min_proto_version(ctx_.native_handle(), TLS1_2_VERSION);
        ctx_.set_verify_mode(ssl::verify_peer);
    }

    // The context, with its trust store installed. May block the first caller while the store loads (the
    // server warms it on its own thread right after it starts listening).
    registry::result<ssl::context*> get() {
        if (!ready_.load(std::memory_order_acquire)) {
            try {
                std::call_once(once_, [this] {
                    const std::shared_ptr<X509_STORE> store = trust_.get();
                    SSL_CTX_set1_cert_store(ctx_.native_handle(), store.get());  // takes its own reference
                    ready_.store(true, std::memory_order_release);
                });
            } catch (const std::exception& e) {
                return transport_error(e.what());
            }
        }
        return &ctx_;
    }

private:
    ssl::context ctx_;
    std::shared_future<std::shared_ptr<X509_STORE>> trust_;
    std::once_flag once_;
    std::atomic<bool> ready_{false};
};

// Resolve, vet, connect, re-check, TLS. Runs on the new connection's strand.
awaitable<registry::result<std::unique_ptr<connection>>> connect_new(
    asio::any_io_executor strand,
    const parsed_url& u,
    std::string_view url,
    const client_options& o,
    const guard_policy& guard,
    steady::time_point deadline,
    process_tls& process_ctx,
    const resolve_function& resolver,
    call_watch* w
) {
    std::vector<tcp::endpoint> endpoints;
    if (u.literal) {
        endpoints.emplace_back(*u.literal, u.port);
    } else if (resolver) {
        endpoints = resolver(u.canonical, u.port);
        if (endpoints.empty()) {
            co_return transport_error("Unknown host: " + u.host);
        }
    } else {
        const auto b = budget(o.connect_timeout, deadline);
        if (!b) {
            co_return transport_error(deadline_cause);
        }
        // getaddrinfo cannot be interrupted; the watchdog only stops waiting for it. Its handler may run
        // after this block is left, hence the shared state.
        auto resolver = std::make_shared<tcp::resolver>(strand);
        auto timed_out = std::make_shared<bool>(false);
        asio::steady_timer watchdog(strand);
        watchdog.expires_after(b->limit);
        watchdog.async_wait([resolver, timed_out](boost::system::error_code ec) {
            if (!ec) {
                *timed_out = true;
                resolver->cancel();
            }
        });
        const std::string service = std::to_string(u.port);
        auto [ec, results] = co_await resolver->async_resolve(u.canonical, service, use_tuple);
        watchdog.cancel();
        if (*timed_out) {
            co_return transport_error(b->by_deadline ? deadline_cause : "Connect timed out");
        }
        if (ec) {
            co_return transport_error("Unknown host: " + u.host);
        }
        for (const auto& entry : results) {
            endpoints.push_back(entry.endpoint());
        }
        if (endpoints.empty()) {
            co_return transport_error("Unknown host: " + u.host);
        }
    }
    // Every answer is vetted before any connect (a name with one private answer is refused outright).
    for (const auto& ep : endpoints) {
        if (auto ok = check_address(u.host, url, ep.address(), u.port, guard); !ok) {
            co_return ok.error();
        }
    }

    if (w != nullptr && w->dropped) {
        co_return caller_gone();  // the caller left during the lookup
    }
    auto conn = std::make_unique<connection>(strand);
    conn->plain.emplace(strand);
    if (w != nullptr) {
        w->here = conn.get();  // cleared by the caller
    }
    {
        const auto b = budget(o.connect_timeout, deadline);
        if (!b) {
            co_return transport_error(deadline_cause);
        }
        conn->plain->expires_after(b->limit);
        auto [ec, ep] = co_await conn->plain->async_connect(endpoints, use_tuple);
        if (ec) {
            co_return transport_error(io_cause(ec, "Connect timed out", b->by_deadline));
        }
    }
    boost::system::error_code ec;
    conn->remote = conn->plain->socket().remote_endpoint(ec);
    const auto local = ec ? tcp::endpoint{} : conn->plain->socket().local_endpoint(ec);
    if (ec) {
        co_return transport_error(ec.message());
    }
    if (auto ok = check_connected(u.host, url, conn->remote, local, guard); !ok) {
        co_return ok.error();
    }
    conn->plain->socket().set_option(tcp::no_delay(true), ec);

    if (u.tls) {
        ssl::context* tls_ctx = nullptr;
        if (o.tls) {
            tls_ctx = &o.tls->context();
        } else if (auto c = process_ctx.get(); c) {
            tls_ctx = *c;
        } else {
            co_return c.error();
        }
        conn->tls.emplace(std::move(*conn->plain), *tls_ctx);
        conn->plain.reset();
        SSL* native = conn->tls->native_handle();
        if (!u.literal) {
            // SNI is for names only (RFC 6066), and sent whatever the verification mode.
            SSL_set_tlsext_host_name(native, u.canonical.c_str());
        }
        const auto mode = o.skip_ssl_verification ? registry::tls_verification::none
                          : o.tls                 ? o.tls->verification()
                                                  : registry::tls_verification::full;
        if (mode == registry::tls_verification::none) {
            conn->tls->set_verify_mode(ssl::verify_none);
        } else if (mode == registry::tls_verification::certificate) {
            conn->tls->set_verify_mode(ssl::verify_peer);  // the chain only: no host name check
        } else {
            conn->tls->set_verify_mode(ssl::verify_peer);
            // OpenSSL's own host check (same X509_check_host / X509_check_ip as asio's
            // host_name_verification) so a mismatch is reported as "hostname mismatch".
            if (u.literal) {
                X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(native), u.canonical.c_str());
            } else {
                SSL_set1_host(native, u.canonical.c_str());
            }
        }
        const auto b = budget(o.connect_timeout, deadline);
        if (!b) {
            co_return transport_error(deadline_cause);
        }
        conn->tcp().expires_after(b->limit);
        auto [hec] = co_await conn->tls->async_handshake(ssl::stream_base::client, use_tuple);
        if (hec == beast::error::timeout) {
            co_return transport_error(b->by_deadline ? deadline_cause : "Connect timed out");
        }
        if (hec) {
            co_return transport_error(tls_failure_cause(hec, native));
        }
    }
    conn->tcp().expires_never();  // from here on, timeouts are the connection's lazy deadline
    conn->deadline.watch(&conn->tcp().socket());
    co_return conn;
}

}  // namespace

std::string_view find_header(const header_list& headers, std::string_view name) {
    for (const auto& [k, v] : headers) {
        if (beast::iequals(k, name)) {
            return v;
        }
    }
    return {};
}

// ---- client::impl ---------------------------------------------------------------------------------

struct client::impl {
    impl(asio::any_io_executor executor, client_config config)
        : io(std::move(executor)),
          cfg(std::move(config)),
          ctx(cfg),
          connections(std::chrono::duration_cast<milliseconds>(cfg.idle_connection_ttl)) {}

    asio::any_io_executor io;
    client_config cfg;
    process_tls ctx;
    pool connections;

    // A connection's I/O may run in the calling coroutine itself when both are bound to the same
    // single-threaded io_context: nothing else can touch the connection meanwhile. Otherwise it runs on
    // the connection's own executor (a strand, or another thread's io_context) via co_spawn.
    bool runs_inline(const connection& c, const asio::any_io_executor& caller) const {
        return cfg.thread_confined && c.strand == caller;
    }

    static registry::result<void> precheck(const parsed_url& u, std::string_view url, const guard_policy& g) {
        if (u.literal) {
            return check_address(u.host, url, *u.literal, u.port, g);
        }
        return check_host_name(u.host, g);
    }

    static pool_key key_of(const parsed_url& u, const client_options& o) {
        return pool_key{
            u.tls,
            u.canonical,
            u.port,
            u.tls && o.skip_ssl_verification,
            u.tls && o.tls ? o.tls->id() : 0,
            o.pool_scope};
    }

    // A slot in the pool for the URL's key, into `l`, at once when one is free (no coroutine frame); else
    // the ticket to wait for one with (wait_for_slot). A deadline already past is an error.
    registry::result<std::optional<pool::ticket>> take_slot(
        pool::lease& l,
        const parsed_url& u,
        const client_options& o,
        const asio::any_io_executor& caller,
        steady::time_point deadline
    ) {
        if (!budget(o.connect_timeout, deadline)) {
            return transport_error(deadline_cause);
        }
        auto got = connections.try_acquire(key_of(u, o), o.max_connection, caller, cfg.thread_confined);
        if (auto* now = std::get_if<pool::lease>(&got)) {
            l = std::move(*now);
            return std::optional<pool::ticket>();
        }
        return std::optional<pool::ticket>(std::move(std::get<pool::ticket>(got)));
    }

    // The slot take_slot() queued for, into `l`.
    awaitable<registry::result<void>> wait_for_slot(
        pool::ticket t, pool::lease& l, const client_options& o, steady::time_point deadline
    ) {
        const auto b = budget(o.connect_timeout, deadline);
        if (!b) {
            co_return transport_error(deadline_cause);
        }
        auto granted = co_await connections.await_slot(std::move(t), b->limit);
        if (!granted) {
            co_return granted.error();
        }
        l = std::move(*granted);
        co_return registry::result<void>{};
    }

    // A pooled connection is re-vetted under the current policy before every use.
    static registry::result<void> vet_pooled(
        pool::lease& l, const parsed_url& u, std::string_view url, const guard_policy& guard
    ) {
        const connection* c = l.get();
        if (auto ok = check_address(u.host, url, c->remote.address(), c->remote.port(), guard); !ok) {
            l.discard();
            return ok.error();
        }
        return registry::result<void>{};
    }

    // A new connection for a lease that holds none.
    awaitable<registry::result<void>> connect_into(
        pool::lease& l,
        const parsed_url& u,
        std::string_view url,
        const client_options& o,
        const guard_policy& guard,
        steady::time_point deadline,
        call_watch& w
    ) {
        if (cfg.thread_confined) {
            // The caller's io_context has one thread: the connection is bound to the caller's executor and
            // set up right here, with no hop (and the caller leaving closes it mid-connect).
            const auto ex = co_await asio::this_coro::executor;
            auto made = co_await connect_new(ex, u, url, o, guard, deadline, ctx, cfg.resolver, &w);
            w.here = nullptr;
            if (w.dropped) {
                co_return caller_gone();
            }
            if (!made) {
                co_return made.error();
            }
            l.attach(std::move(*made));
            co_return registry::result<void>{};
        }
        auto strand = asio::make_strand(io);
        auto made = co_await asio::co_spawn(
            strand,
            connect_new(strand, u, url, o, guard, deadline, ctx, cfg.resolver, nullptr),
            asio::use_awaitable
        );
        if (w.dropped) {
            co_return caller_gone();
        }
        if (!made) {
            co_return made.error();
        }
        l.attach(std::move(*made));
        co_return registry::result<void>{};
    }

    awaitable<registry::result<response>> attempt(
        const outgoing& msg,
        const parsed_url& u,
        std::string_view url,
        const client_options& o,
        const guard_policy& guard,
        steady::time_point deadline,
        call_watch& w
    ) {
        const auto caller = co_await asio::this_coro::executor;
        pool::lease l;
        auto queued = take_slot(l, u, o, caller, deadline);
        if (!queued) {
            co_return queued.error();
        }
        if (*queued) {
            if (auto ok = co_await wait_for_slot(std::move(**queued), l, o, deadline); !ok) {
                co_return ok.error();
            }
        }
        for (int fresh = 0;; ++fresh) {
            if (w.dropped) {
                co_return caller_gone();  // the lease's destructor frees the slot (and closes a connection)
            }
            if (l.get() != nullptr) {
                if (auto ok = vet_pooled(l, u, url, guard); !ok) {
                    co_return ok.error();
                }
            } else if (auto ok = co_await connect_into(l, u, url, o, guard, deadline, w); !ok) {
                co_return ok.error();
            }
            connection& c = *l.get();
            progress prog;
            std::optional<registry::result<response>> r;
            if (runs_inline(c, caller)) {
                w.here = &c;
                if (c.tls) {
                    auto done = co_await exchange_on(*c.tls, c, msg, o, deadline, cfg.max_header_bytes, prog);
                    r.emplace(std::move(done));
                } else {
                    auto done =
                        co_await exchange_on(*c.plain, c, msg, o, deadline, cfg.max_header_bytes, prog);
                    r.emplace(std::move(done));
                }
                w.here = nullptr;
            } else if (w.caller != nullptr) {
                w.there = std::make_shared<far_exchange>(far_exchange{&c});
                auto op =
                    watched_far(w.there.get(), exchange(c, msg, o, deadline, cfg.max_header_bytes, prog));
                auto done = co_await asio::co_spawn(c.strand, std::move(op), asio::use_awaitable);
                w.there.reset();
                r.emplace(std::move(done));
            } else {
                auto done = co_await asio::co_spawn(
                    c.strand, exchange(c, msg, o, deadline, cfg.max_header_bytes, prog), asio::use_awaitable
                );
                r.emplace(std::move(done));
            }
            if (w.dropped) {
                l.discard();  // closed, or about to be: never pooled
                co_return caller_gone();
            }
            if (!*r && prog.stale && l.reused() && fresh == 0) {
                l.drop_connection();  // the server closed an idle keep-alive connection: reconnect once
                continue;
            }
            if (*r && prog.reusable) {
                l.recycle();
            } else {
                l.discard();
            }
            co_return std::move(*r);
        }
    }

    // Connects (or reuses), writes the request and reads the head of a streaming response.
    awaitable<registry::result<response_head>> attempt_stream(
        pool::lease& l,
        stream_state& st,
        const outgoing& msg,
        const parsed_url& u,
        std::string_view url,
        const client_options& o,
        const guard_policy& guard,
        steady::time_point deadline,
        call_watch& w
    ) {
        const auto caller = co_await asio::this_coro::executor;
        auto queued = take_slot(l, u, o, caller, deadline);
        if (!queued) {
            co_return queued.error();
        }
        if (*queued) {
            if (auto ok = co_await wait_for_slot(std::move(**queued), l, o, deadline); !ok) {
                co_return ok.error();
            }
        }
        for (int fresh = 0;; ++fresh) {
            if (w.dropped) {
                co_return caller_gone();
            }
            if (l.get() != nullptr) {
                if (auto ok = vet_pooled(l, u, url, guard); !ok) {
                    co_return ok.error();
                }
            } else if (auto ok = co_await connect_into(l, u, url, o, guard, deadline, w); !ok) {
                co_return ok.error();
            }
            connection& c = *l.get();
            st.parser.reset();
            st.piece.clear();
            st.prog = progress{};
            std::optional<registry::result<void>> r;
            if (runs_inline(c, caller)) {
                w.here = &c;
                auto done = co_await start_stream(c, msg, st, o, deadline, cfg.max_header_bytes);
                w.here = nullptr;
                r.emplace(std::move(done));
            } else if (w.caller != nullptr) {
                w.there = std::make_shared<far_exchange>(far_exchange{&c});
                auto op =
                    watched_far(w.there.get(), start_stream(c, msg, st, o, deadline, cfg.max_header_bytes));
                auto done = co_await asio::co_spawn(c.strand, std::move(op), asio::use_awaitable);
                w.there.reset();
                r.emplace(std::move(done));
            } else {
                auto done = co_await asio::co_spawn(
                    c.strand, start_stream(c, msg, st, o, deadline, cfg.max_header_bytes), asio::use_awaitable
                );
                r.emplace(std::move(done));
            }
            if (w.dropped) {
                l.discard();
                co_return caller_gone();
            }
            if (!*r) {
                if (st.prog.stale && l.reused() && fresh == 0) {
                    l.drop_connection();
                    continue;
                }
                l.discard();
                co_return r->error();
            }
            response_head head;
            head.status = st.parser->get().result_int();
            head.headers = copy_headers(st.parser->get().base());
            co_return head;
        }
    }

    static std::optional<milliseconds> retry_after_of(const header_list& headers) {
        const auto v = find_header(headers, "retry-after");
        if (v.empty()) {
            return std::nullopt;
        }
        return parse_retry_after(v, std::chrono::system_clock::now());
    }

    // The wait before the next attempt, or nullopt when the outcome is final.
    static std::optional<milliseconds> plan_retry(
        std::optional<retry_schedule>& schedule,
        const client_options& o,
        steady::time_point start,
        steady::time_point deadline,
        bool retryable,
        std::optional<milliseconds> retry_after
    ) {
        if (!retryable) {
            return std::nullopt;
        }
        if (!schedule) {
            schedule.emplace(
                o.retry_backoff_policy, o.max_retry_times, o.retry_backoff, o.retry_timeout, next_seed()
            );
        }
        const auto elapsed = std::chrono::duration_cast<milliseconds>(steady::now() - start);
        auto delay = schedule->next(elapsed, retry_after);
        if (!delay || steady::now() + *delay >= deadline) {
            return std::nullopt;
        }
        return delay;
    }

    // What send() and send_streaming() do before any I/O: parse and vet the URL, frame the message.
    struct prepared_request {
        std::shared_ptr<const parsed_url> url;
        outgoing message;
    };
    registry::result<prepared_request> prepare(const request& req, const guard_policy& g) const {
        auto u = parse_url_cached(req.url);
        if (!u) {
            return u.error();
        }
        if (auto ok = precheck(**u, req.url, g); !ok) {
            return ok.error();
        }
        auto msg = build_message(req, **u, cfg);
        if (!msg) {
            return msg.error();
        }
        return prepared_request{std::move(*u), std::move(*msg)};
    }

    // The back-off before a retry; cut short when the caller goes.
    static awaitable<void> sleep_for(milliseconds d, call_watch& w) {
        asio::steady_timer t(co_await asio::this_coro::executor);
        t.expires_after(d);
        w.pause = &t;
        co_await t.async_wait(use_tuple);
        w.pause = nullptr;
    }

    awaitable<registry::result<response>> send(
        const request& req, const client_options& o, const guard_policy& g
    ) {
        auto prepared = prepare(req, g);
        if (!prepared) {
            co_return prepared.error();
        }
        const parsed_url& u = *prepared->url;
        const outgoing& msg = prepared->message;
        if (req.caller != nullptr && req.caller->gone()) {
            co_return caller_gone();
        }
        call_watch w(req.caller);
        const auto start = steady::now();
        const auto deadline = start + o.total_timeout;
        // Built at the first retryable outcome: seeding its 64-bit Mersenne Twister showed up in profiles.
        std::optional<retry_schedule> schedule;
        for (unsigned attempts = 1;; ++attempts) {
            auto r = co_await attempt(msg, u, req.url, o, g, deadline, w);
            if (w.dropped) {
                co_return caller_gone();
            }
            const bool retryable = r ? is_retryable_status(r->status) ||
                                           is_aws_throttled(r->status, r->header("x-amzn-ErrorType"))
                                     : is_retryable_error(r.error());
            const auto wait = plan_retry(
                schedule, o, start, deadline, retryable, r ? retry_after_of(r->headers) : std::nullopt
            );
            if (!wait) {
                if (r) {
                    r->attempts = attempts;
                    if (req.secrets) {
                        registry::scrub_secrets(r->body, *req.secrets);
                    }
                }
                co_return r;
            }
            co_await sleep_for(*wait, w);
            if (w.dropped) {
                co_return caller_gone();
            }
        }
    }

    awaitable<registry::result<response_head>> send_streaming(
        const request& req,
        const client_options& o,
        const guard_policy& g,
        const chunk_handler& on_chunk,
        const head_handler& on_head
    ) {
        auto prepared = prepare(req, g);
        if (!prepared) {
            co_return prepared.error();
        }
        const parsed_url& u = *prepared->url;
        const outgoing& msg = prepared->message;
        if (req.caller != nullptr && req.caller->gone()) {
            co_return caller_gone();
        }
        // Watched for the whole call: before the head nothing is written to the caller that could fail, and
        // afterwards a caller that leaves while the upstream is silent is noticed at once, not at the next
        // event.
        call_watch w(req.caller);
        const auto start = steady::now();
        const auto deadline = start + o.total_timeout;
        // Built at the first retryable outcome: seeding its 64-bit Mersenne Twister showed up in profiles.
        std::optional<retry_schedule> schedule;
        for (unsigned attempts = 1;; ++attempts) {
            pool::lease l;
            stream_state st;
            auto head = co_await attempt_stream(l, st, msg, u, req.url, o, g, deadline, w);
            if (w.dropped) {
                co_return caller_gone();
            }
            const bool retryable = head ? is_retryable_status(head->status) ||
                                              is_aws_throttled(head->status, head->header("x-amzn-ErrorType"))
                                        : is_retryable_error(head.error());
            const auto wait = plan_retry(
                schedule, o, start, deadline, retryable, head ? retry_after_of(head->headers) : std::nullopt
            );
            if (wait) {
                l.discard();  // never drain an error body we will not use
                co_await sleep_for(*wait, w);
                if (w.dropped) {
                    co_return caller_gone();
                }
                continue;
            }
            if (!head) {
                co_return head.error();
            }
            head->attempts = attempts;
            if (on_head && !(co_await on_head(*head))) {
                l.discard();
                co_return head;
            }
            connection& c = *l.get();
            const auto caller = co_await asio::this_coro::executor;
            const bool direct = runs_inline(c, caller);
            if (direct && st.piece.empty()) {
                parse_buffered(c, st);  // the first event usually arrived in the same read as the head
            }
            // A flush point right after the head even when no body byte came with it: the handler may hold
            // its own head back until the first data (client.hpp, chunk_handler).
            if (st.piece.empty() && on_chunk) {
                const bool more = co_await on_chunk(std::string_view());
                if (!more) {
                    l.discard();
                    co_return head;
                }
            }
            // With credentials to scrub, a piece's tail that could begin one waits for the next piece.
            std::string held;
            while (true) {
                if (req.secrets && (!st.piece.empty() || !held.empty())) {
                    if (!held.empty()) {
                        st.piece.insert(0, held);
                        held.clear();
                    }
                    registry::scrub_secrets(st.piece, *req.secrets);
                    if (!st.parser->is_done()) {
                        const auto keep = registry::secret_prefix_suffix(st.piece, *req.secrets);
                        held.assign(st.piece, st.piece.size() - keep, keep);
                        st.piece.resize(st.piece.size() - keep);
                    }
                }
                if (!st.piece.empty()) {
                    const bool more = !on_chunk || co_await on_chunk(std::string_view(st.piece));
                    if (!more) {
                        l.discard();  // closing is how the upstream learns we stopped listening
                        co_return head;
                    }
                    st.piece.clear();
                }
                if (st.parser->is_done()) {
                    break;
                }
                if (w.dropped) {
                    l.discard();  // the caller left while its last events were written
                    co_return caller_gone();
                }
                std::optional<registry::result<void>> r;
                if (direct) {
                    w.here = &c;
                    auto done = co_await continue_stream(c, msg, st, o, deadline, cfg.max_header_bytes);
                    w.here = nullptr;
                    r.emplace(std::move(done));
                } else if (w.caller != nullptr) {
                    w.there = std::make_shared<far_exchange>(far_exchange{&c});
                    auto op = watched_far(
                        w.there.get(), continue_stream(c, msg, st, o, deadline, cfg.max_header_bytes)
                    );
                    auto done = co_await asio::co_spawn(c.strand, std::move(op), asio::use_awaitable);
                    w.there.reset();
                    r.emplace(std::move(done));
                } else {
                    auto done = co_await asio::co_spawn(
                        c.strand,
                        continue_stream(c, msg, st, o, deadline, cfg.max_header_bytes),
                        asio::use_awaitable
                    );
                    r.emplace(std::move(done));
                }
                if (!*r || w.dropped) {
                    l.discard();
                    co_return w.dropped ? caller_gone() : r->error();
                }
            }
            ++c.uses;
            if (st.parser->keep_alive() && !w.dropped) {
                l.recycle();
            } else {
                l.discard();
            }
            co_return head;
        }
    }
};

// ---- client -----------------------------------------------------------------------------------------

client::client(asio::any_io_executor io, client_config config)
    : impl_(std::make_unique<impl>(std::move(io), std::move(config))) {}

client::~client() = default;

awaitable<registry::result<response>> client::send(
    const request& req, const client_options& options, const guard_policy& guard
) {
    return impl_->send(req, options, guard);
}

awaitable<registry::result<response_head>> client::send_streaming(
    const request& req,
    const client_options& options,
    const guard_policy& guard,
    chunk_handler on_chunk,
    head_handler on_head
) {
    // The handlers are owned by this frame for the duration of the call.
    co_return co_await impl_->send_streaming(req, options, guard, on_chunk, on_head);
}

bool is_caller_gone(const registry::error& e) {
    return e.code == registry::errc::upstream_status && e.status == caller_gone_status &&
           e.reason.ends_with(caller_gone_cause);
}

pool_stats client::stats() const {
    return impl_->connections.stats();
}

}  // namespace modelrelay::server::upstream
