// File: session.cpp
#include "server/session.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "registry/utf8.hpp"
#include "server/app.hpp"
#include "server/content_coding.hpp"
#include "server/handlers/handlers.hpp"
#include "server/io_loop.hpp"
#include "server/log.hpp"
#include "server/security.hpp"
#include "server/session_loop.hpp"

namespace modelrelay::server {

namespace net = boost::asio;
namespace beast = boost::beast;
using net::ip::tcp;

namespace {

bool acceptable_content_type(std::string_view ct) {
    if (ct.empty()) {
        return true;
    }
    const auto semi = ct.find(';');
    std::string_view media = ct.substr(0, semi);
    while (!media.empty() && media.back() == ' ') {
        media.remove_suffix(1);
    }
    return is_json_media_type(media);
}

}  // namespace

net::awaitable<http_response> handle_request(
    app& a,
    http_request& req,
    const peer_info& peer,
    response_stream* stream,
    bool& streamed,
    upstream::caller_watch* caller
) {
    request_context ctx{a, req, {}, {}};
    ctx.peer = &peer;
    ctx.caller = caller;
    std::string path;
    if (!decode_target(req.target(), path, ctx.query)) {
        co_return simple_error_response(
            400,
            java_uri_accepts(req.target()) ? "no handler found for uri [" + std::string(req.target()) +
                                                 "] and method [" + std::string(req.method_string()) + "]"
                                           : std::string("invalid uri has been requested"),
            false
        );
    }
    // Java decodes the path as UTF-8 with U+FFFD for what is not, and the path is echoed into errors.
    if (std::string fixed; registry::utf8::sanitize(path, fixed)) {
        path = std::move(fixed);
    }
    ctx.path = path;
    ctx.raw_path = req.target().substr(0, req.target().find('?'));
    ctx.pretty = ctx.query_flag("pretty");
    ctx.stream = stream;
    // Authentication comes before routing, as in OpenSearch: without credentials even a wrong path is a 401.
    if (a.sec && a.sec->enabled()) {
        auto outcome = co_await a.sec->authenticate(ctx);
        if (!outcome.who) {
            co_return security::unauthorized(
                door_of(ctx.path), req.target(), outcome.bad_key_id, outcome.bad_user, outcome.blocked
            );
        }
        ctx.who.user = std::move(outcome.who);
        // The Dashboards tenant the request asks for (BackendRegistry.resolveTenantFrom); a copy, as the
        // authenticated principal is cached and shared.
        auto tenant = req.find("securitytenant");
        if (tenant == req.end()) {
            tenant = req.find("security_tenant");
        }
        if (tenant != req.end()) {
            auto asked = std::make_shared<registry::principal>(*ctx.who.user);
            asked->requested_tenant = std::string(tenant->value());
            ctx.who.user = std::move(asked);
        }
    }
    // Inflated only for callers who passed authentication: a small body may inflate to the body limit.
    if (!req.body().empty() && req.count(http::field::content_encoding) != 0) {
        if (auto refused = decode_request_body(req, a.cfg.max_body_bytes)) {
            // An inflated body over the limit gets the limit's 413, in the same envelope as a plain one.
            if (refused->status == 413) {
                co_return error_response(
                    registry::error(registry::errc::payload_too_large, refused->text), ctx.pretty
                );
            }
            co_return simple_error_response(refused->status, refused->text, ctx.pretty);
        }
    }
    // The REST channel reads pretty and human as booleans (AbstractRestChannel) and RestController reads
    // error_trace, all before a handler is looked for; a bad one is the request's 400.
    for (const std::string_view name : {"pretty", "human", "error_trace"}) {
        if (auto v = ctx.query_param(name); v && !v->empty() && *v != "true" && *v != "false") {
            co_return error_response(
                registry::illegal_argument(
                    "Failed to parse value [" + std::string(*v) + "] as only [true] or [false] are allowed."
                ),
                false
            );
        }
    }
    // RestController refuses a body of a type it cannot read with a 406 once a handler has the path and
    // method (a wrong path or method is answered first), before the handler reads its parameters.
    std::optional<http_response> refused_type;
    // `/v1` reads every body as JSON whatever its type, as OpenAI-compatible servers (Ollama, vLLM) do:
    // `curl -d` sends a form type, and a JSON parse error is then the OpenAI-shaped answer.
    if (!req.body().empty() && door_of(ctx.path) != front_door::openai) {
        // The first Content-Type, as req[field] finds it, by a scan: the few fields of a request are
        // cheaper to walk than Beast's case-insensitive set is to search.
        std::string_view ct;
        bool has_ct = false;
        for (const auto& f : req) {
            if (f.name() == http::field::content_type) {
                ct = f.value();
                has_ct = true;
                break;
            }
        }
        // A body with no Content-Type at all is read as JSON (OpenSearch answers 406 `Content-Type header
        // is missing`): scripts that forget the header are common and the body's meaning is not in doubt.
        // An empty header is OpenSearch's 406.
        if (!acceptable_content_type(ct) || (ct.empty() && has_ct)) {
            refused_type = simple_error_response(
                406, "Content-Type header [" + std::string(ct) + "] is not supported", ctx.pretty
            );
        }
    }
    auto m = a.routes->match(ctx);
    if (m.handler_found && refused_type) {
        co_return std::move(*refused_type);
    }
    if (!m.matched) {
        co_return std::move(*m.early);
    }
    // BaseRestHandler, once the parameters are checked: a body the handler would not read is an error.
    if (m.matched->refuses_body && !req.body().empty()) {
        co_return handlers::front_door_error(
            ctx,
            registry::illegal_argument(
                "request [" + std::string(req.method_string()) + " " + std::string(ctx.path) +
                "] does not support having a body"
            )
        );
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
        // In the door's own error shape (`/v1` clients parse OpenAI's).
        res = handlers::front_door_error(
            ctx, registry::error(registry::errc::internal, "Internal server error")
        );
    }
    streamed = ctx.streamed;
    co_return res;
}

net::awaitable<void> run_session(app& a, tcp::socket socket) {
    const thread_connection counted;  // runs on its worker thread until the end (io_loop.hpp)
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer(detail::request_buffer_limit(a.cfg));
    peer_info peer;
    peer.remote_address = detail::remote_address_of(stream.socket());
    co_await detail::serve_requests(a, stream, buffer, peer);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace modelrelay::server
