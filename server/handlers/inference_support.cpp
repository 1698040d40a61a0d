// File: inference_support.cpp
#include "server/handlers/inference_support.hpp"

#include <array>
#include <cctype>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "registry/crypto.hpp"
#include "registry/json_parse.hpp"
#include "server/app.hpp"
#include "server/outbound.hpp"

namespace modelrelay::server::handlers::es {

namespace json = boost::json;

namespace {

json::object cause_json(const registry::error& e) {
    return json::object{{"type", type_name(e.code)}, {"reason", e.reason}};
}

http_response with_product(http_response res) {
    res.set(product_header, product_name);
    return res;
}

}  // namespace

http_response ok(const request_context& ctx, const json::value& body) {
    return with_product(json_response(200, body, ctx.pretty));
}

http_response ok_text(const request_context& ctx, std::string body) {
    return with_product(json_text_response(200, std::move(body), ctx.pretty));
}

namespace {

// ElasticsearchException.guessRootCauses descends only into causes that are ElasticsearchExceptions; a
// plain Java exception under a wrapper (our trusted-endpoint and address checks are IllegalArgument ones)
// leaves the wrapper as the root cause.
bool is_elasticsearch_exception(registry::errc code) {
    switch (code) {
        case registry::errc::illegal_argument:
        case registry::errc::illegal_state:
        case registry::errc::number_format:
        case registry::errc::io_error:
            return false;
        default:
            return true;
    }
}

}  // namespace

std::string error_json(const registry::error& e, const registry::error* caused_by) {
    const unsigned status = to_status(e);
    const bool deeper = caused_by != nullptr && is_elasticsearch_exception(caused_by->code);
    json::object err{
        {"root_cause", json::array{cause_json(deeper ? *caused_by : e)}},
        {"type", type_name(e.code)},
        {"reason", e.reason}};
    if (caused_by != nullptr) {
        err["caused_by"] = cause_json(*caused_by);
    }
    return json::serialize(json::object{{"error", std::move(err)}, {"status", status}});
}

http_response fail(const request_context& ctx, const registry::error& e, const registry::error* caused_by) {
    const std::string body = error_json(e, caused_by);
    return with_product(json_response(to_status(e), registry::parse_json(body), ctx.pretty));
}

std::string message_frame(std::string_view data) {
    std::string out;
    out.reserve(data.size() + 24);
    out += "event: message\ndata: ";
    out += data;
    out += "\n\n";
    return out;
}

std::string done_frame() {
    return message_frame("[DONE]");
}

std::string error_frame(const registry::error& e) {
    return "event: error\ndata: " + error_json(e) + "\n\n";
}

http_response sse_fail(const request_context& ctx, const registry::error& e) {
    http_response res{static_cast<http::status>(to_status(e)), 11};
    res.set(http::field::content_type, "text/event-stream");
    res.body() = error_frame(e);
    res.prepare_payload();
    return with_product(std::move(res));
}

std::optional<std::string_view> url_task(const request_context& ctx) {
    const auto t = ctx.param("task_type");
    if (t.empty()) {
        return std::nullopt;
    }
    return t;
}

registry::result<std::chrono::milliseconds> timeout_param(
    const request_context& ctx, std::chrono::milliseconds def
) {
    const auto v = ctx.query_param("timeout");
    if (!v) {
        return def;
    }
    const std::string text(*v);
    if (text == "-1") {
        return std::chrono::milliseconds(std::chrono::hours(24 * 365));
    }
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
        ++digits;
    }
    const std::string unit = text.substr(digits);
    static const std::array<std::pair<std::string_view, double>, 7> units{{
        {"nanos", 1e-6},
        {"micros", 1e-3},
        {"ms", 1},
        {"s", 1000},
        {"m", 60'000},
        {"h", 3'600'000},
        {"d", 86'400'000},
    }};
    if (digits == 0 || digits > 12) {
        return registry::illegal_argument(
            "failed to parse setting [timeout] with value [" + text +
            "] as a time value: unit is missing or unrecognized"
        );
    }
    for (const auto& [name, ms] : units) {
        if (unit == name) {
            const double total = std::stod(text.substr(0, digits)) * ms;
            return std::chrono::milliseconds(static_cast<long long>(total < 1 && total > 0 ? 1 : total));
        }
    }
    return registry::illegal_argument(
        "failed to parse setting [timeout] with value [" + text +
        "] as a time value: unit is missing or unrecognized"
    );
}

std::string time_value_text(std::chrono::milliseconds duration) {
    const long long ms = duration.count();
    if (ms <= 0) {
        return ms == 0 ? "0s" : std::to_string(ms);
    }
    struct unit {
        long long ms;
        std::string_view suffix;
    };
    static constexpr unit units[] = {
        {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}};
    for (const auto& u : units) {
        if (ms >= u.ms) {
            const long long tenths = (ms * 10 + u.ms / 2) / u.ms;  // one fraction digit, half up
            std::string out = std::to_string(tenths / 10);
            if (tenths % 10 != 0) {
                out.push_back('.');
                out.push_back(static_cast<char>('0' + tenths % 10));
            }
            out.append(u.suffix);
            return out;
        }
    }
    return std::to_string(ms) + "ms";
}

boost::asio::awaitable<registry::result<upstream::response>> send_call(
    request_context& ctx,
    const registry::cluster_settings& settings,
    registry::inference::upstream_call call,
    std::chrono::milliseconds timeout
) {
    // plugins.ml_commons.remote_inference.enabled=false stops this door's calls too (Elasticsearch has no
    // such switch; an operator who turns it off expects no LLM traffic).
    if (auto off = settings.remote_inference_refusal()) {
        co_return *off;
    }
    // Every outbound call is checked against the trusted list with its fully rendered URL, as predict does.
    if (auto t = settings.check_trusted_endpoint(call.url); !t) {
        co_return t.error();
    }
    upstream::request req;
    req.method = http::verb::post;
    req.url = call.url;
    req.headers = std::move(call.headers);
    req.body = std::move(call.body);
    req.secrets = std::move(call.secrets);
    req.caller = ctx.caller;
    auto options = options_of(json::object{}, settings.max_json_size());
    options.read_timeout = timeout;
    options.total_timeout = timeout;
    const auto guard = guard_of(ctx.app, settings, ctx.who.tenant_id);
    auto res = co_await ctx.app.upstream->send(req, options, guard);
    for (auto& [name, value] : req.headers) {
        registry::secure_wipe(value);
    }
    if (!res && res.error().reason.ends_with(upstream::deadline_exceeded_cause)) {
        // Elasticsearch's own answer when `timeout` runs out (a status_exception 408).
        co_return registry::error{
            registry::errc::request_timeout, "Request timed out after [" + time_value_text(timeout) + "]"};
    }
    co_return res;
}

registry::inference::rate_limit_headers rate_limits_of(const upstream::header_list& headers) {
    registry::inference::rate_limit_headers out;
    const auto take = [&](std::string_view name, std::string& into) {
        if (const auto v = upstream::find_header(headers, name); !v.empty()) {
            into = std::string(v);
        }
    };
    take("x-ratelimit-limit-tokens", out.token_limit);
    take("x-ratelimit-remaining-tokens", out.remaining_tokens);
    take("x-ratelimit-limit-requests", out.request_limit);
    take("x-ratelimit-remaining-requests", out.remaining_requests);
    return out;
}

}  // namespace modelrelay::server::handlers::es
