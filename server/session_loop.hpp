// File: session_loop.hpp
// The HTTP/1.1 request loop of a connection, written once over the stream type so the plain listener
// (beast::tcp_stream) and the HTTPS listener (beast::ssl_stream<beast::tcp_stream>) share every rule:
// timeouts, keep-alive, the 413 drain, chunked streaming, the client leaving during an upstream call
// (disconnect_watch.hpp) and the request log. Internal to session.cpp and tls_session.cpp, which
// instantiate it; timeouts always act on the TCP layer.
#pragma once

#include <algorithm>
#include <charconv>
#include <chrono>
#include <exception>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>

#include "server/app.hpp"
#include "server/disconnect_watch.hpp"
#include "server/http_read.hpp"
#include "server/lazy_deadline.hpp"
#include "server/log.hpp"
#include "server/response.hpp"
#include "server/session.hpp"
#include "server/upstream/client.hpp"
#include "server/wire.hpp"
#include "server/write_now.hpp"

namespace modelrelay::server::detail {

namespace net = boost::asio;
namespace beast = boost::beast;

inline constexpr auto use_nothrow = net::as_tuple(net::use_awaitable);

// How the request loop ended, which decides how the transport says goodbye.
enum class session_end {
    polite,  // we answered with Connection: close, or the peer closed between requests
    abrupt,  // timeout, transport error, or already drained: nothing more to say
};

inline std::string remote_address_of(const net::ip::tcp::socket& s) {
    beast::error_code ec;
    const auto ep = s.remote_endpoint(ec);
    if (ec) {
        return {};
    }
    // Built with append: gcc 12 warns falsely (-Wstringop-overflow) on `"[" + std::string`.
    std::string out;
    const bool v6 = ep.address().is_v6();
    if (v6) {
        out.push_back('[');
    }
    out.append(ep.address().to_string());
    out.append(v6 ? "]:" : ":");
    out.append(std::to_string(ep.port()));
    return out;
}

// After an early answer (413, plain HTTP on the TLS port): closing with unread bytes would reset the
// connection and the client might never see the answer. Half-close, then discard what is in flight for a
// short, bounded while. Works on the TCP layer: the connection is finished, nothing needs decrypting.
// What a connection's read buffer may hold: the parser keeps body bytes as they come, so only a request
// head, a chunk-size line (with its extensions) or a trailer section has to fit whole. Without a bound, a
// chunk extension or trailer section that never ends (Beast counts neither against the header limit)
// grows the buffer until the process runs out of memory; with it the request ends in a 400.
inline std::size_t request_buffer_limit(const config& cfg) {
    return cfg.max_header_bytes + 64 * 1024;
}

inline net::awaitable<void> drain_and_drop(beast::tcp_stream& tcp, beast::flat_buffer& buffer) {
    beast::error_code ignored;
    tcp.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
    tcp.expires_after(std::chrono::seconds(2));
    std::size_t drained = 0;
    while (drained < 64 * 1024 * 1024) {
        buffer.clear();
        auto [ec, n] = co_await tcp.async_read_some(buffer.prepare(64 * 1024), use_nothrow);
        if (ec) {
            break;
        }
        drained += n;
    }
}

template <class Stream>
class chunked_response_stream final : public response_stream {
public:
    chunked_response_stream(Stream& s, lazy_deadline& deadline, std::chrono::milliseconds write_timeout)
        : stream_(s), deadline_(deadline), timeout_(write_timeout) {}

    net::awaitable<bool> write_head(
        http::response<http::empty_body>& head, std::string_view first_chunk, bool last
    ) override {
        scratch_.clear();
        if (close_delimited_) {
            // An HTTP/1.0 request: no chunked encoding there (RFC 9112 §6.1); the body ends when the
            // connection closes.
            head.version(10);
            head.chunked(false);
            head.keep_alive(false);
            wire::append_response_head(scratch_, head.base(), 0, false);
        } else {
            head.chunked(true);
            wire::append_response_head(scratch_, head.base(), 0);
        }
        append_chunk(first_chunk);
        if (last && !close_delimited_) {
            scratch_.append(last_chunk_);
        }
        const bool ok = co_await send(net::buffer(scratch_));
        ended_cleanly_ = last && ok && !close_delimited_;
        co_return ok;
    }
    net::awaitable<bool> write_chunk(std::string_view data) override {
        if (data.empty()) {
            co_return true;  // an empty chunk would end the stream
        }
        scratch_.clear();
        append_chunk(data);
        co_return co_await send(net::buffer(scratch_));
    }
    net::awaitable<bool> finish(std::string_view last_chunk) override {
        scratch_.clear();
        append_chunk(last_chunk);
        if (close_delimited_) {
            co_return co_await send(net::buffer(scratch_));  // the close ends the body
        }
        scratch_.append(last_chunk_);
        ended_cleanly_ = co_await send(net::buffer(scratch_));
        co_return ended_cleanly_;
    }

    // A stream that ended with its terminating chunk leaves the connection reusable, as any other answer.
    bool ended_cleanly() const { return ended_cleanly_; }
    // `version` is the request's (10 or 11): an HTTP/1.0 client gets its stream without chunked framing.
    void start_request(unsigned version) {
        ended_cleanly_ = false;
        close_delimited_ = version < 11;
    }

private:
    static constexpr std::string_view last_chunk_ = "0\r\n\r\n";

    // "<hex size>\r\n<data>\r\n" into the one buffer: one send, and one TLS record, per event (the data
    // alone for an HTTP/1.0 client).
    void append_chunk(std::string_view data) {
        if (data.empty()) {
            return;
        }
        if (close_delimited_) {
            scratch_.append(data);
            return;
        }
        char size_line[24];
        const auto r = std::to_chars(size_line, size_line + sizeof size_line, data.size(), 16);
        scratch_.append(size_line, r.ptr);
        scratch_.append("\r\n");
        scratch_.append(data);
        scratch_.append("\r\n");
    }

    net::awaitable<bool> send(net::const_buffer b) {
        co_return !co_await write_all(stream_, b, &deadline_, timeout_);
    }

    Stream& stream_;
    lazy_deadline& deadline_;
    std::chrono::milliseconds timeout_;
    std::string scratch_;
    bool ended_cleanly_ = false;
    bool close_delimited_ = false;
};

// Writes a complete response from one contiguous head (see wire.hpp); `scratch` keeps its capacity, and
// `res` and `scratch` must outlive the returned operation. `deadline` (optional) bounds the write when the
// socket does not take it at once; without one, the stream's own timeout applies.
template <class Stream>
net::awaitable<beast::error_code> write_response(
    Stream& stream,
    const http_response& res,
    std::string& scratch,
    lazy_deadline* deadline = nullptr,
    std::chrono::milliseconds timeout = {}
) {
    return write_all(stream, wire::frame_response(res, scratch), deadline, timeout);
}

// An HTTP/1.1 request that waits for `100 Continue` before sending its body.
inline bool expects_continue(const http_request& req) {
    return req.version() >= 11 && beast::iequals(req[http::field::expect], "100-continue");
}

// Beast's keep_alive(bool) rewrites the Connection field through a token-list parse even when nothing
// changes (about 450 instructions per request): an HTTP/1.1 answer to be kept alive that has no Connection
// field is already right.
inline void set_keep_alive(http_response& res, bool keep) {
    if (keep && res.version() == 11 && std::none_of(res.begin(), res.end(), [](const auto& f) {
            return f.name() == http::field::connection;
        })) {
        return;
    }
    res.keep_alive(keep);
}

inline void log_request(const http_request& req, unsigned status, long long micros, const peer_info& peer) {
    const auto target = req.target();
    const std::string_view path(target.data(), std::min(target.size(), target.find('?')));
    if (peer.client_cert) {
        // DNs are identities, not secrets: the log says who called.
        log::write_batched(
            log::level::info,
            "request",
            {{"method", http::to_string(req.method())},
             {"path", path},
             {"status", static_cast<long long>(status)},
             {"micros", micros},
             {"client_dn", peer.subject_dn}}
        );
        return;
    }
    log::write_batched(
        log::level::info,
        "request",
        {{"method", http::to_string(req.method())},
         {"path", path},
         {"status", static_cast<long long>(status)},
         {"micros", micros}}
    );
}

template <class Stream>
net::awaitable<session_end> serve_watched(
    app& a, Stream& stream, beast::flat_buffer& buffer, const peer_info& peer, disconnect_watch<Stream>& watch
) {
    auto& tcp = beast::get_lowest_layer(stream);
    // The session's timeouts (Beast's per-operation timer stays off: expires_never); see lazy_deadline.hpp.
    tcp.expires_never();
    lazy_deadline deadline(tcp.get_executor());
    deadline.watch(&tcp.socket());
    chunked_response_stream<Stream> rs(stream, deadline, a.cfg.read_timeout);
    std::string scratch;
    bool first = true;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(a.cfg.max_body_bytes);
        parser.header_limit(static_cast<std::uint32_t>(a.cfg.max_header_bytes));
        // Waiting for the next request on a kept-alive connection may take up to the idle timeout; once its
        // first byte is in, the read timeout bounds the whole request so slow clients cannot hold it open.
        deadline.expires_after(first ? a.cfg.read_timeout : a.cfg.idle_timeout);
        first = false;
        if (buffer.size() == 0) {
            // The read the disconnect watch left outstanding, if any, is this read: its bytes land in the
            // buffer as this one's would.
            beast::error_code ec0;
            if (watch.reading()) {
                auto [wec, wn] = co_await watch.adopt();
                ec0 = wec;
            } else if (watch.gone()) {
                ec0 = watch.end();
            } else {
                auto [rec, rn] = co_await read_some_from(stream, buffer.prepare(4096));
                buffer.commit(rn);
                ec0 = rec;
            }
            if (ec0) {
                co_return ec0 == net::error::eof ? session_end::polite : session_end::abrupt;
            }
        }
        // From here the read timeout bounds the rest of the request; it is armed at the first read the
        // request still needs (usually none: the whole request came with its first byte).
        bool armed = false;
        const auto arm = [&] {
            if (!armed) {
                deadline.expires_after(a.cfg.read_timeout);
                armed = true;
            }
        };
        // read_some_direct() spelled out: a request that is already buffered costs no coroutine frame.
        beast::error_code ec;
        bool continue_checked = false;
        while (!ec && !parser.is_done()) {
            if (auto done = parse_buffered(buffer, parser)) {
                ec = *done;
                continue;
            }
            beast::flat_buffer::mutable_buffers_type space;
            if ((ec = prepare_read(buffer, space))) {
                break;
            }
            // RFC 9110 §10.1.1: a client that sent `Expect: 100-continue` waits for this before its body
            // (curl does for bodies over 1 MiB, for a second). A body the limit refuses never gets here: the
            // parser fails on its Content-Length and the 413 is the final answer.
            if (!continue_checked && parser.is_header_done()) {
                continue_checked = true;
                if (expects_continue(parser.get())) {
                    static constexpr std::string_view interim = "HTTP/1.1 100 Continue\r\n\r\n";
                    if (co_await write_all(stream, net::buffer(interim), &deadline, a.cfg.read_timeout)) {
                        co_return session_end::abrupt;
                    }
                    armed = false;  // the write cleared the deadline
                }
            }
            arm();
            auto [read_ec, n] = co_await read_some_from(stream, space);
            ec = after_read(buffer, parser, read_ec, n);
        }
        if (ec && deadline.expired()) {
            co_return session_end::abrupt;
        }
        deadline.expires_never();
        if (ec == http::error::end_of_stream || ec == net::error::eof) {
            co_return session_end::polite;
        }
        if (ec == http::error::body_limit) {
            auto res = error_response(
                registry::error(
                    registry::errc::payload_too_large,
                    "Request body is too large: the limit is " + std::to_string(a.cfg.max_body_bytes) +
                        " bytes"
                ),
                false
            );
            res.keep_alive(false);
            co_await write_response(stream, res, scratch, &deadline, a.cfg.read_timeout);
            co_await drain_and_drop(tcp, buffer);
            co_return session_end::abrupt;
        }
        if (ec) {
            // The head has its own limit (header_limit); a full buffer is a chunk line or trailer section.
            auto res = simple_error_response(
                400,
                ec == http::error::buffer_overflow
                    ? "Bad request: chunk size line or trailer section too large"
                    : "Bad request: " + ec.message(),
                false
            );
            res.keep_alive(false);
            const auto wec = co_await write_response(stream, res, scratch, &deadline, a.cfg.read_timeout);
            if (!wec && ec == http::error::buffer_overflow) {
                // The client is still sending: as after a 413, let it read the answer before the close.
                co_await drain_and_drop(tcp, buffer);
                co_return session_end::abrupt;
            }
            co_return wec ? session_end::abrupt : session_end::polite;
        }
        // RFC 9112 §6.3: a request whose Transfer-Encoding does not end in chunked has no length a server
        // can trust. Beast would read it as bodiless and take its body for the next request (smuggling
        // behind a proxy that reads it otherwise), so it is refused and the connection closed.
        if (!parser.chunked() && !parser.content_length() &&
            parser.get().count(http::field::transfer_encoding) != 0) {
            auto res = simple_error_response(400, "Bad request: unsupported transfer encoding", false);
            res.keep_alive(false);
            co_await write_response(stream, res, scratch, &deadline, a.cfg.read_timeout);
            co_return session_end::abrupt;
        }
        const auto started = std::chrono::steady_clock::now();
        http_request& req = parser.get();
        a.in_flight.fetch_add(1, std::memory_order_relaxed);
        bool streamed = false;
        rs.start_request(req.version());
        http_response res = co_await handle_request(a, req, peer, &rs, streamed, &watch);
        if (watch.dropped()) {
            // The client left before its answer and the upstream call was dropped: nobody to answer, and
            // nothing to say goodbye to. Logged with nginx's 499 (client closed request).
            a.in_flight.fetch_sub(1, std::memory_order_relaxed);
            const auto gone_after = std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::steady_clock::now() - started
            )
                                        .count();
            log_request(req, upstream::caller_gone_status, static_cast<long long>(gone_after), peer);
            co_return session_end::abrupt;
        }
        // An HTTP/1.0 request framed as chunked: the connection closes after it (RFC 9112 §6.1).
        const bool keep = req.keep_alive() && (!streamed || rs.ended_cleanly()) &&
                          !(req.version() < 11 && parser.chunked()) &&
                          !a.stopping.load(std::memory_order_relaxed);
        unsigned status = res.result_int();
        bool write_ok = true;
        if (!streamed) {
            res.version(req.version());
            set_keep_alive(res, keep);
            // OpenSearch's and Elasticsearch's channels echo the caller's request id on every answer.
            if (const auto opaque = req.find("X-Opaque-Id"); opaque != req.end()) {
                res.set("X-Opaque-Id", opaque->value());
            }
            if (req.method() == http::verb::head) {
                res.body().clear();
            }
            // write_response() spelled out, for the same reason: the socket usually takes it all at once.
            const auto out = wire::frame_response(res, scratch);
            std::size_t taken = 0;
            auto wec = write_at_once(stream, out, taken);
            if (!wec) {
                wec = co_await write_rest(stream, out, taken, &deadline, a.cfg.read_timeout);
            }
            write_ok = !*wec;
        } else {
            status = res.result_int();
        }
        a.in_flight.fetch_sub(1, std::memory_order_relaxed);
        const auto micros =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started)
                .count();
        log_request(req, status, static_cast<long long>(micros), peer);
        if (!write_ok) {
            co_return session_end::abrupt;
        }
        if (!keep) {
            co_return session_end::polite;
        }
    }
}

// The request loop with its disconnect watch. The watch may leave a read outstanding when the loop ends
// (an answer with Connection: close, a failed write): it is ended here, before the stream and the buffer
// go, whichever way the loop ended.
template <class Stream>
net::awaitable<session_end> serve_requests(
    app& a, Stream& stream, beast::flat_buffer& buffer, const peer_info& peer
) {
    disconnect_watch<Stream> watch(stream, buffer);
    auto end = session_end::abrupt;
    std::exception_ptr failure;
    try {
        end = co_await serve_watched(a, stream, buffer, peer, watch);
    } catch (...) {
        failure = std::current_exception();
    }
    if (watch.reading()) {
        watch.finish();
        const auto ended = co_await watch.adopt();
        (void)ended;
    }
    if (failure) {
        std::rethrow_exception(failure);
    }
    co_return end;
}

}  // namespace modelrelay::server::detail
