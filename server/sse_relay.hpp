// File: sse_relay.hpp
// Relays one upstream Server-Sent Events response to the client while it arrives. Every streaming route
// (ml-commons `_predict/stream`, OpenAI `/v1/chat/completions` with `stream:true`, Elasticsearch
// `_inference/.../_stream`) calls relay_sse with the fully rendered upstream request and a few hooks that
// say how its own wire format looks; the relay owns everything else:
//  - the same outbound checks as the non-stream path: the rendered URL against
//    `trusted_connector_endpoints_regex`, and the SSRF guard (private / restricted addresses, our own
//    listeners) on every resolved and connected address (server/outbound.hpp);
//  - no buffering: the client head goes out as soon as the upstream's 2xx head arrives, and every
//    upstream event becomes one flushed HTTP chunk (whatever the hook made of it) the moment its blank
//    line is read;
//  - an upstream non-2xx answer (after the client's retry policy) is NOT streamed: relay_sse returns it
//    as a relay_failure and the caller answers with its own error envelope;
//  - the upstream failing mid-stream (reset, read timeout, oversized event) becomes the hook's error
//    frame followed by the end of the stream; the broken upstream connection is discarded, never pooled;
//  - the client going away stops the upstream call at once: the upstream connection is closed, which is
//    how the upstream learns it may stop generating. A failed write shows it, and so does the client's
//    connection ending while the upstream is silent (before its head or between events: the request's
//    upstream::request::caller, server/disconnect_watch.hpp); nothing more is written then.
//
// Typical use in a handler:
//   sse_relay_hooks hooks;
//   hooks.on_event = [&](const upstream::sse_event& ev, std::string& out) {
//       if (ev.data == "[DONE]") return relay_step::done;
//       out += "data: " + reshape(ev.data) + "\n\n";
//       return relay_step::more;
//   };
//   hooks.on_finish = [](std::string& out) { out += "data: [DONE]\n\n"; };
//   hooks.error_frame = [](const registry::error& e) { return "data: {\"error\":...}\n\n"; };
//   sse_relay_options opts;
//   auto failed = co_await relay_sse(ctx, std::move(req), options, std::move(hooks), std::move(opts));
//   if (failed) co_return my_error_envelope(*failed);
//   co_return streamed_response();  // ctx.streamed is set: the session writes nothing more
//
// @par Object lifetimes
// The hooks are called on the handler's executor, one at a time, while relay_sse runs; they may capture
// the handler's locals by reference.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "registry/error.hpp"
#include "server/router.hpp"
#include "server/upstream/client.hpp"
#include "server/upstream/sse_parser.hpp"

namespace modelrelay::server {

// What a hook decided after one upstream event.
enum class relay_step {
    more,  // keep relaying
    done,  // the answer is complete: on_finish's frames, then the end of the stream
    stop,  // end the stream right after this event's frames (the hook wrote its own last frame)
};

struct sse_relay_hooks {
    // One upstream event → zero or more complete frames appended to `out` (written as one chunk).
    // Required.
    std::function<relay_step(const upstream::sse_event& event, std::string& out)> on_event;
    // The upstream answer is complete (on_event said done, or the upstream body ended normally): the closing
    // frames. Optional.
    std::function<void(std::string& out)> on_finish;
    // The upstream failed after the client head was sent: the error frame(s) to write before ending the
    // stream. Required.
    std::function<std::string(const registry::error& e)> error_frame;
    // Optional: a 2xx upstream answer with a JSON content type (a provider that cannot stream). Gets the
    // whole body once it has arrived; frames to `out`. Without this hook such a body is parsed as SSE.
    std::function<relay_step(std::string_view body, std::string& out)> on_json_body;
    // Optional: called once, right before the relay writes the last frames and the terminating chunk (an
    // answer's end or an error frame). A client may send its next request the moment it sees the end, so
    // whatever the answer held (an API key's parallel slot) is released here, not after the write.
    std::function<void()> before_end;
};

struct sse_relay_options {
    std::string content_type = "text/event-stream";
    // Added to the client head, e.g. {"X-Elastic-Product", "Elasticsearch"}.
    std::vector<std::pair<std::string, std::string>> extra_headers;
    // ml-commons' trusted_connector_endpoints_regex check of the rendered URL (the SSRF guard always runs).
    bool check_trusted_endpoint = true;
};

// Why nothing was streamed; the caller answers with its own error envelope.
struct relay_failure {
    // ml-commons texts: the trusted-endpoint / SSRF / transport errors of the outbound client, or, for an
    // upstream non-2xx, errc::upstream_status with that status and `Error from remote service: <body>`
    // (`Remote service returned error status <s> with empty body`).
    registry::error error;
    unsigned upstream_status = 0;  // the upstream's non-2xx status; 0 when it did not answer
    std::string upstream_body;     // its body (at most 64 KiB)
    // The upstream's back-off advice on that answer (`retry-after`, `retry-after-ms`), for the caller to
    // pass on; see retry_advice.
    upstream::header_list upstream_retry{};
    upstream::header_list upstream_headers{};  // all the headers of that answer
};

// The `retry-after` / `retry-after-ms` headers of an upstream answer: clients (the OpenAI SDKs) wait as
// told instead of guessing their own back-off.
upstream::header_list retry_advice(const upstream::header_list& upstream_headers);

// Runs the upstream call and relays it. Returns nullopt once the client head was written (ctx.streamed is
// then true and the handler's return value is ignored by the session), or the failure that happened
// before anything was written. Pass named objects (std::move them), never temporaries: gcc 12 destroys
// temporaries of a co_await full-expression twice, which is also why `opts` has no default argument.
boost::asio::awaitable<std::optional<relay_failure>> relay_sse(
    request_context& ctx,
    upstream::request req,
    upstream::client_options options,
    sse_relay_hooks hooks,
    sse_relay_options opts
);

// What a streaming handler returns after relay_sse returned nullopt (never sent: the session skips it).
http_response streamed_response();

// `data: <payload>\n\n`, with a payload that contains line breaks split into several `data:` lines.
std::string sse_data_frame(std::string_view payload);

}  // namespace modelrelay::server
