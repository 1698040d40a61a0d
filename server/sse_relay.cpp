// File: sse_relay.cpp
// The relay is a small state machine driven by the outbound client's head and chunk callbacks; each
// callback is a member coroutine of one relay_run living in relay_sse's frame.
#include "server/sse_relay.hpp"

#include <algorithm>
#include <cctype>
#include <memory>

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>

#include "registry/ascii.hpp"
#include "server/app.hpp"
#include "server/outbound.hpp"
#include "server/session.hpp"

namespace modelrelay::server {

namespace {

using boost::asio::awaitable;

constexpr std::size_t max_error_body = 64 * 1024;
// After the answer is complete the rest of the upstream body (a trailing `[DONE]`, a usage chunk) is read
// and dropped, so the connection can go back to the pool; an upstream that keeps talking is cut off.
constexpr std::size_t max_drain_bytes = 64 * 1024;

bool is_2xx(unsigned status) {
    return status >= 200 && status <= 299;
}

bool is_json_media_type(std::string_view content_type) {
    std::string media(content_type.substr(0, content_type.find(';')));
    media.erase(
        std::remove_if(media.begin(), media.end(), [](unsigned char c) { return std::isspace(c); }),
        media.end()
    );
    media = registry::ascii_lower_copy(media);
    return media == "application/json" || media.ends_with("+json");
}

bool is_blank(std::string_view s) {
    return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace

upstream::header_list retry_advice(const upstream::header_list& upstream_headers) {
    upstream::header_list out;
    for (std::string_view name : {"retry-after", "retry-after-ms"}) {
        if (const auto v = upstream::find_header(upstream_headers, name); !v.empty()) {
            out.emplace_back(std::string(name), std::string(v));
        }
    }
    return out;
}

namespace {

registry::error upstream_error(unsigned status, std::string_view body) {
    if (is_blank(body)) {
        return {
            registry::errc::upstream_status,
            "Remote service returned error status " + std::to_string(status) + " with empty body",
            static_cast<int>(status)};
    }
    return {
        registry::errc::upstream_status,
        "Error from remote service: " + std::string(body),
        static_cast<int>(status)};
}

enum class phase {
    waiting,    // no upstream head yet
    relaying,   // client head written, events flowing
    erroring,   // upstream answered non-2xx: collecting its body for the error
    buffering,  // upstream answered 2xx JSON: collecting it for on_json_body
    finished,   // client stream ended; draining the upstream
    gone,       // the client went away
};

class relay_run {
public:
    relay_run(request_context& ctx, sse_relay_hooks hooks, sse_relay_options opts, std::size_t body_cap)
        : ctx_(ctx), hooks_(std::move(hooks)), opts_(std::move(opts)), body_cap_(body_cap) {}

    awaitable<bool> on_head(const upstream::response_head& head) {
        if (!is_2xx(head.status)) {
            status_ = head.status;
            retry_ = retry_advice(head.headers);
            error_headers_ = head.headers;
            phase_ = phase::erroring;
            co_return true;
        }
        if (hooks_.on_json_body && is_json_media_type(head.header("content-type"))) {
            phase_ = phase::buffering;
            co_return true;
        }
        // The client head waits for the first frames (one packet, one wake-up of the client for the first
        // token); the upstream client calls on_chunk right after this, with whatever body bytes came with
        // the head or none, and that call sends the head at the latest.
        phase_ = phase::relaying;
        head_pending_ = true;
        co_return true;
    }

    awaitable<bool> on_chunk(std::string_view bytes) {
        const bool more = co_await relay_chunk(bytes);
        if (more && head_pending_) {
            const bool ok = co_await write_head({}, false);
            co_return ok;
        }
        co_return more;
    }

private:
    awaitable<bool> relay_chunk(std::string_view bytes) {
        switch (phase_) {
            case phase::erroring: {
                const std::size_t room = max_error_body - std::min(max_error_body, body_.size());
                body_.append(bytes.substr(0, room));
                co_return body_.size() < max_error_body;
            }
            case phase::buffering:
                if (body_cap_ != 0 && body_.size() + bytes.size() > body_cap_) {
                    overflow_ = true;
                    co_return false;
                }
                body_.append(bytes);
                co_return true;
            case phase::finished:
                drained_ += bytes.size();
                co_return drained_ <= max_drain_bytes;
            case phase::gone:
                co_return false;
            case phase::waiting:
            case phase::relaying:
                break;
        }
        events_.clear();
        nonblank_ = nonblank_ || !is_blank(bytes);
        const bool parsed =
            parser_.feed(bytes, [this](const upstream::sse_event& e) { events_.push_back(e); });
        events_seen_ += events_.size();
        for (const auto& event : events_) {
            out_.clear();
            const relay_step step = hooks_.on_event(event, out_);
            if (step == relay_step::more) {
                if (out_.empty()) {
                    continue;
                }
                const bool ok = co_await write(out_);
                if (!ok) {
                    co_return false;
                }
                continue;
            }
            if (step == relay_step::done && hooks_.on_finish) {
                hooks_.on_finish(out_);
            }
            const bool ended = co_await end_with(out_);
            co_return ended;
        }
        if (!parsed) {
            out_ = hooks_.error_frame(registry::illegal_argument(
                "Remote service sent a server-sent event larger than the limit of " +
                std::to_string(parser_limit) + " bytes"
            ));
            co_await end_with(out_);
            co_return false;
        }
        co_return true;
    }

public:
    // After send_streaming returned. The co_awaits stay outside any switch or condition (gcc 12 miscompiles
    // some of those).
    awaitable<std::optional<relay_failure>> conclude(const registry::result<upstream::response_head>& r) {
        if (phase_ == phase::finished || phase_ == phase::gone) {
            co_return std::nullopt;
        }
        if (phase_ == phase::erroring) {
            co_return relay_failure{upstream_error(status_, body_), status_, body_, retry_, error_headers_};
        }
        if (!r && phase_ != phase::relaying) {
            co_return relay_failure{r.error(), 0, {}};  // nothing was sent to the client yet
        }
        if (overflow_) {
            co_return relay_failure{
                registry::illegal_argument(
                    "JSON string size exceeds maximum allowed size (" + std::to_string(body_cap_) + " bytes)"
                ),
                0,
                {}};
        }
        if (r && phase_ == phase::buffering && is_blank(body_)) {
            co_return relay_failure{
                {registry::errc::bad_gateway, "Remote service returned empty response body"}, 0, {}};
        }
        if (!r && upstream::is_caller_gone(r.error())) {
            phase_ = phase::gone;  // the client left mid-stream: nobody to write an error frame to
            co_return std::nullopt;
        }
        out_.clear();
        if (!r) {
            out_ = hooks_.error_frame(r.error());
        } else if (phase_ == phase::relaying && events_seen_ == 0) {
            // A 2xx answer that ended without a single event (an HTML page, a proxy's text) is not an
            // answer: ending the stream as if the model had said nothing would read as a success.
            out_ = hooks_.error_frame(
                {registry::errc::bad_gateway,
                 nonblank_ ? "Remote service answer is not a server-sent event stream"
                           : "Remote service returned empty response body"}
            );
        } else {
            // The upstream body ended normally (an unterminated last event is dropped, as SSE says).
            relay_step step = relay_step::done;
            if (phase_ == phase::buffering) {
                step = hooks_.on_json_body(body_, out_);
            }
            if (step == relay_step::done && hooks_.on_finish) {
                hooks_.on_finish(out_);
            }
        }
        bool open = phase_ == phase::relaying;
        if (!open) {
            head_pending_ = true;  // sent with the last frames
            phase_ = phase::relaying;
            open = true;
        }
        if (open) {
            co_await end_with(out_);
        }
        co_return std::nullopt;
    }

    static constexpr std::size_t parser_limit = 16 * 1024 * 1024;

private:
    // Sends the pending head, with `first_frames` in the same write when there are any, and with `last` the
    // end of the stream too.
    awaitable<bool> write_head(std::string_view first_frames, bool last) {
        head_pending_ = false;
        http::response<http::empty_body> head{http::status::ok, ctx_.req.version()};
        head.set(http::field::content_type, opts_.content_type);
        head.set(http::field::cache_control, "no-cache");
        head.set("X-Accel-Buffering", "no");
        for (const auto& [name, value] : opts_.extra_headers) {
            head.set(name, value);
        }
        // The connection stays open after a stream that ends with its terminating chunk (the session closes
        // it after any other end, which tells the client the stream was cut short).
        head.keep_alive(ctx_.req.keep_alive());
        ctx_.streamed = true;
        phase_ = phase::relaying;
        const bool ok = co_await ctx_.stream->write_head(head, first_frames, last);
        if (!ok) {
            phase_ = phase::gone;
        }
        co_return ok;
    }

    awaitable<bool> write(std::string_view frames) {
        if (head_pending_) {
            const bool sent = co_await write_head(frames, false);
            co_return sent;
        }
        const bool ok = co_await ctx_.stream->write_chunk(frames);
        if (!ok) {
            phase_ = phase::gone;
        }
        co_return ok;
    }

    // Writes the last frames and the terminating chunk, in one send (with the head when it is still
    // pending). False when the client is gone.
    awaitable<bool> end_with(std::string_view frames) {
        if (hooks_.before_end && !ended_) {
            ended_ = true;
            hooks_.before_end();
        }
        bool ok = false;
        if (head_pending_) {
            ok = co_await write_head(frames, true);
        } else {
            ok = co_await ctx_.stream->finish(frames);
        }
        phase_ = ok ? phase::finished : phase::gone;
        co_return ok;
    }

    request_context& ctx_;
    sse_relay_hooks hooks_;
    sse_relay_options opts_;
    std::size_t body_cap_;
    upstream::sse_parser parser_{parser_limit};
    phase phase_ = phase::waiting;
    unsigned status_ = 0;
    upstream::header_list retry_;
    upstream::header_list error_headers_;
    std::string body_;
    std::size_t drained_ = 0;
    bool overflow_ = false;
    std::size_t events_seen_ = 0;  // upstream events parsed while relaying
    bool nonblank_ = false;        // the relayed body had something besides whitespace
    bool head_pending_ = false;    // relaying, but the client head is not written yet
    bool ended_ = false;           // before_end was called
    std::vector<upstream::sse_event> events_;
    std::string out_;
};

}  // namespace

awaitable<std::optional<relay_failure>> relay_sse(
    request_context& ctx,
    upstream::request req,
    upstream::client_options options,
    sse_relay_hooks hooks,
    sse_relay_options opts
) {
    if (ctx.stream == nullptr) {
        co_return relay_failure{
            {registry::errc::internal, "Streaming is not available on this connection"}, 0, {}};
    }
    // The snapshot's settings stay alive in this frame: the guard refers to them.
    const auto snap = ctx.app.registry->current();
    const auto& settings = *snap->settings;
    if (opts.check_trusted_endpoint) {
        if (auto t = settings.check_trusted_endpoint(req.url); !t) {
            co_return relay_failure{t.error(), 0, {}};
        }
    }
    const auto guard = guard_of(ctx.app, settings, ctx.who.tenant_id);
    req.caller = ctx.caller;
    // A stream may generate for as long as it keeps sending: read_timeout bounds the silence between
    // bytes, and nothing bounds the whole (a week stands for "never").
    options.total_timeout = std::chrono::hours(24 * 7);
    auto run =
        std::make_unique<relay_run>(ctx, std::move(hooks), std::move(opts), options.max_response_bytes);
    relay_run* self = run.get();
    upstream::head_handler on_head = [self](const upstream::response_head& h) {
        return self->on_head(h);
    };
    upstream::chunk_handler on_chunk = [self](std::string_view bytes) {
        return self->on_chunk(bytes);
    };
    auto r = co_await ctx.app.upstream->send_streaming(
        req, options, guard, std::move(on_chunk), std::move(on_head)
    );
    auto failure = co_await self->conclude(r);
    co_return failure;
}

http_response streamed_response() {
    http_response res{http::status::ok, 11};
    return res;
}

std::string sse_data_frame(std::string_view payload) {
    std::string out;
    out.reserve(payload.size() + 8);
    std::size_t start = 0;
    while (true) {
        const auto nl = payload.find('\n', start);
        out += "data: ";
        out.append(payload.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start));
        out += '\n';
        if (nl == std::string_view::npos) {
            break;
        }
        start = nl + 1;
    }
    out += '\n';
    return out;
}

}  // namespace modelrelay::server
