// File: session.cpp
#include "server/session.hpp"

#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include "server/app.hpp"
#include "server/handlers/handlers.hpp"
#include "server/log.hpp"
#include "server/security.hpp"

namespace modelrelay::server {

namespace net = boost::asio;
namespace beast = boost::beast;
using net::ip::tcp;

namespace {

constexpr auto use_nothrow = net::as_tuple(net::use_awaitable);

class tcp_response_stream final : public response_stream {
public:
    tcp_response_stream(beast::tcp_stream& s, std::chrono::milliseconds write_timeout)
        : stream_(s), timeout_(write_timeout) {}

    net::awaitable<bool> write_head(http::response<http::empty_body>& head) override {
        head.chunked(true);
        http::response_serializer<http::empty_body> sr(head);
        stream_.expires_after(timeout_);
        auto [ec, n] = co_await http::async_write_header(stream_, sr, use_nothrow);
        co_return !ec;
    }
    net::awaitable<bool> write_chunk(std::string_view data) override {
        if (data.empty()) {
            co_return true;  // an empty chunk would end the stream
        }
        stream_.expires_after(timeout_);
        auto [ec, n] = co_await net::async_write(stream_, http::make_chunk(net::buffer(data)), use_nothrow);
        co_return !ec;
    }
    net::awaitable<bool> finish() override {
        stream_.expires_after(timeout_);
        auto [ec, n] = co_await net::async_write(stream_, http::make_chunk_last(), use_nothrow);
        co_return !ec;
    }

private:
    beast::tcp_stream& stream_;
    std::chrono::milliseconds timeout_;
};

bool acceptable_content_type(std::string_view ct) {
    if (ct.empty()) {
        return true;
    }
    const auto semi = ct.find(';');
    std::string_view media = ct.substr(0, semi);
    while (!media.empty() && media.back() == ' ') {
        media.remove_suffix(1);
    }
    std::string lower(media);
    for (auto& c : lower) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return lower == "application/json" || lower == "application/vnd.elasticsearch+json" ||
           lower == "application/x-ndjson" || lower == "application/vnd.opensearch+json";
}

}  // namespace

net::awaitable<http_response> handle_request(
    app& a, const http_request& req, const peer_info& peer, response_stream* stream, bool& streamed
) {
    request_context ctx{a, req, {}, {}};
    ctx.peer = &peer;
    std::string path;
    if (!decode_target(req.target(), path, ctx.query)) {
        co_return simple_error_response(
            400,
            "no handler found for uri [" + std::string(req.target()) + "] and method [" +
                std::string(http::to_string(req.method())) + "]",
            false
        );
    }
    ctx.path = path;
    ctx.pretty = ctx.query_flag("pretty");
    ctx.stream = stream;
    if (!req.body().empty()) {
        const auto ct = req[http::field::content_type];
        if (!acceptable_content_type(ct)) {
            co_return simple_error_response(
                406, "Content-Type header [" + std::string(ct) + "] is not supported", ctx.pretty
            );
        }
    }
    // Authentication comes before routing, as in OpenSearch: without credentials even a wrong path is a 401.
    if (a.sec && a.sec->enabled()) {
        auto outcome = co_await a.sec->authenticate(ctx);
        if (!outcome.who) {
            co_return security::unauthorized(
                door_of(ctx.path), req.target(), outcome.bad_key_id, outcome.bad_user, outcome.blocked
            );
        }
        ctx.who.user = std::move(outcome.who);
    }
    auto m = a.routes->match(ctx);
    if (!m.matched) {
        co_return std::move(*m.early);
    }
    // The route's action is checked before any other work (R6, R10), then the caller's tenant is resolved.
    if (auto gate = handlers::authorize_route(ctx, *m.matched); !gate) {
        co_return handlers::front_door_error(ctx, gate.error());
    }
    http_response res;
    try {
        res = co_await m.matched->handler(ctx);
    } catch (const std::exception& e) {
        // A bug: the client learns nothing, the log gets the detail.
        log::error("unhandled exception", {{"path", ctx.path}, {"what", e.what()}});
        res = error_response(registry::error(registry::errc::internal, "Internal server error"), ctx.pretty);
    }
    streamed = ctx.streamed;
    co_return res;
}

net::awaitable<void> run_session(app& a, tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    tcp_response_stream rs(stream, a.cfg.read_timeout);
    peer_info peer;
    {
        beast::error_code ec;
        const auto ep = stream.socket().remote_endpoint(ec);
        if (!ec) {
            peer.remote_address = ep.address().is_v6()
                                      ? "[" + ep.address().to_string() + "]:" + std::to_string(ep.port())
                                      : ep.address().to_string() + ":" + std::to_string(ep.port());
        }
    }
    bool first = true;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(a.cfg.max_body_bytes);
        parser.header_limit(static_cast<std::uint32_t>(a.cfg.max_header_bytes));
        // Waiting for the next request on a kept-alive connection may take up to the idle timeout; once its
        // first byte is in, the read timeout bounds the whole request so slow clients cannot hold it open.
        stream.expires_after(first ? a.cfg.read_timeout : a.cfg.idle_timeout);
        first = false;
        if (buffer.size() == 0) {
            auto [ec0, n0] = co_await stream.async_read_some(buffer.prepare(4096), use_nothrow);
            if (ec0) {
                co_return;
            }
            buffer.commit(n0);
        }
        stream.expires_after(a.cfg.read_timeout);
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_nothrow);
        if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::eof) {
            break;
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
            stream.expires_after(a.cfg.read_timeout);
            co_await http::async_write(stream, res, use_nothrow);
            // Closing with unread bytes would reset the connection and the client might never see the 413:
            // half-close, then drain what is in flight for a short, bounded while.
            beast::error_code ignored;
            stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
            stream.expires_after(std::chrono::seconds(2));
            std::size_t drained = 0;
            while (drained < 64 * 1024 * 1024) {
                buffer.clear();
                auto [dec, dn] = co_await stream.async_read_some(buffer.prepare(64 * 1024), use_nothrow);
                if (dec) {
                    break;
                }
                drained += dn;
            }
            co_return;
        }
        if (ec) {
            auto res = simple_error_response(400, "Bad request: " + ec.message(), false);
            res.keep_alive(false);
            co_await http::async_write(stream, res, use_nothrow);
            break;
        }
        const auto started = std::chrono::steady_clock::now();
        http_request& req = parser.get();
        a.in_flight.fetch_add(1, std::memory_order_relaxed);
        bool streamed = false;
        http_response res = co_await handle_request(a, req, peer, &rs, streamed);
        const bool keep = req.keep_alive() && !streamed && !a.stopping.load(std::memory_order_relaxed);
        unsigned status = res.result_int();
        bool write_ok = true;
        if (!streamed) {
            res.version(req.version());
            res.keep_alive(keep);
            if (req.method() == http::verb::head) {
                res.body().clear();
            }
            stream.expires_after(a.cfg.read_timeout);
            auto [wec, wn] = co_await http::async_write(stream, res, use_nothrow);
            write_ok = !wec;
        } else {
            status = res.result_int();
        }
        a.in_flight.fetch_sub(1, std::memory_order_relaxed);
        const auto micros =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started)
                .count();
        std::string path(req.target().substr(0, req.target().find('?')));
        log::info(
            "request",
            {{"method", http::to_string(req.method())},
             {"path", path},
             {"status", static_cast<long long>(status)},
             {"micros", static_cast<long long>(micros)}}
        );
        if (!write_ok || !keep) {
            break;
        }
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace modelrelay::server
