// File: key_scope.cpp
#include "server/handlers/key_scope.hpp"

#include <algorithm>

#include <boost/json/parse.hpp>

#include "registry/json_parse.hpp"
#include "registry/parameters.hpp"
#include "server/app.hpp"
#include "server/handlers/handlers.hpp"
#include "server/handlers/inference_support.hpp"
#include "server/handlers/openai_format.hpp"
#include "server/key_gate.hpp"
#include "server/security.hpp"

namespace modelrelay::server::handlers {

namespace json = boost::json;
using registry::errc;
using registry::key_breach;

namespace {

// What a principal whose key vanished after authentication may do: nothing (fail closed).
const registry::api_key& deny_all() {
    static const registry::api_key k = [] {
        registry::api_key out;
        out.has_limits = true;  // with an empty model list: no model at all
        return out;
    }();
    return k;
}

std::string ml_throttled() {
    return "Request is throttled at user level. If you think there's an issue, please contact your cluster "
           "admin.";
}

// The refusal's text for /v1 and _inference. It may name the key's own limits (the x-ratelimit headers
// show them anyway), never its model list.
std::string refusal_message(
    key_breach b, const registry::key_limits& l, std::int64_t retry_s, std::int64_t estimate
) {
    const std::string again = "Please try again in " + std::to_string(retry_s) + "s.";
    switch (b) {
        case key_breach::requests:
            return "Rate limit reached for requests per minute (RPM) on this API key: Limit " +
                   std::to_string(l.rpm) + ". " + again;
        case key_breach::tokens:
            return "Rate limit reached for tokens per minute (TPM) on this API key: Limit " +
                   std::to_string(l.tpm) + ", Requested " + std::to_string(estimate) + ". " + again;
        case key_breach::request_too_large:
            return "Request too large for tokens per minute (TPM) on this API key: Limit " +
                   std::to_string(l.tpm) + ", Requested " + std::to_string(estimate) +
                   ". The input must be reduced in order to run successfully.";
        case key_breach::parallel:
            return "Too many parallel requests on this API key: Limit " + std::to_string(l.max_parallel) +
                   ". Please try again when a request has finished.";
        case key_breach::budget:
            if (retry_s > 0) {
                return "You exceeded the token budget of this API key for the current period. " + again;
            }
            return "You exceeded the token budget of this API key.";
        case key_breach::none:
            break;
    }
    return "Rate limit reached on this API key.";
}

std::vector<std::pair<std::string, std::string>> rate_headers(const registry::key_rate_state& r) {
    std::vector<std::pair<std::string, std::string>> out;
    if (r.limit_requests > 0) {
        out.emplace_back("x-ratelimit-limit-requests", std::to_string(r.limit_requests));
        out.emplace_back("x-ratelimit-remaining-requests", std::to_string(r.remaining_requests));
        out.emplace_back("x-ratelimit-reset-requests", registry::go_duration(r.reset_requests_ms));
    }
    if (r.limit_tokens > 0) {
        out.emplace_back("x-ratelimit-limit-tokens", std::to_string(r.limit_tokens));
        out.emplace_back("x-ratelimit-remaining-tokens", std::to_string(r.remaining_tokens));
        out.emplace_back("x-ratelimit-reset-tokens", registry::go_duration(r.reset_tokens_ms));
    }
    return out;
}

http_response refusal(
    request_context& ctx,
    key_door door,
    const registry::key_limits& l,
    const registry::key_admission& a,
    std::int64_t estimate
) {
    const bool budget = a.breach == key_breach::budget;
    const std::string message = refusal_message(a.breach, l, a.retry_after_s, estimate);
    const registry::error es_error{errc::too_many_requests, message};
    http_response res;
    switch (door) {
        case key_door::openai: {
            openai::api_error e;
            e.status = 429;
            e.message = message;
            // OpenAI's own values: type "requests" / "tokens" with code rate_limit_exceeded, and
            // insufficient_quota for an exhausted quota.
            e.type = budget ? "insufficient_quota"
                     : (a.breach == key_breach::tokens || a.breach == key_breach::request_too_large)
                         ? "tokens"
                         : "requests";
            e.code = budget ? "insufficient_quota" : "rate_limit_exceeded";
            res = json_response(429, openai::error_body(e), ctx.pretty);
            break;
        }
        case key_door::inference:
            res = es::fail(ctx, es_error);
            break;
        case key_door::inference_stream:
            res = es::sse_fail(ctx, es_error);
            break;
        case key_door::ml:
            res = fail(ctx, registry::error{errc::too_many_requests, ml_throttled()});
            break;
    }
    if (a.retry_after_s > 0) {
        res.set(http::field::retry_after, std::to_string(a.retry_after_s));
    }
    for (const auto& [name, value] : rate_headers(a.rate)) {
        res.set(name, value);
    }
    if (budget || a.breach == key_breach::request_too_large) {
        // The openai SDKs honour this: retrying cannot succeed before the period ends (or ever).
        res.set("x-should-retry", "false");
    }
    return res;
}

}  // namespace

request_key key_of(const request_context& ctx) {
    const auto& user = ctx.who.user;
    if (!user || user->api_key_id.empty() || !ctx.app.sec || !ctx.app.sec->enabled()) {
        return {};
    }
    request_key out;
    out.identity = ctx.app.sec->identity().current();
    out.key = out.identity->find_key(user->api_key_id);
    if (out.key == nullptr) {
        out.key = &deny_all();
    }
    return out;
}

bool key_allows(const request_key& k, std::string_view id, std::string_view name) {
    if (!k || !k.key->has_limits) {
        return true;
    }
    const auto& models = k.key->limits.models;
    return std::any_of(models.begin(), models.end(), [&](const std::string& m) {
        return m == "*" || m == id || (!name.empty() && m == name);
    });
}

std::string model_name_of(const request_context& ctx, std::string_view model_id) {
    const auto snap = ctx.app.registry->current();
    const auto* m = snap->find(registry::kind::model, model_id);
    if (m == nullptr || m->tenant_id != ctx.who.tenant_id) {
        return {};
    }
    const auto* n = m->doc().if_contains("name");
    return n != nullptr && n->is_string() ? std::string(n->get_string()) : std::string();
}

void add_stream_usage_option(std::string& body) {
    boost::system::error_code ec;
    json::value doc = registry::parse_json(body, ec);
    if (ec || !doc.is_object() || doc.get_object().contains("stream_options")) {
        return;
    }
    doc.get_object()["stream_options"] = json::object{{"include_usage", true}};
    body = registry::to_gson_json(doc, false, true, registry::key_order::insertion);
}

std::int64_t key_estimate(const request_key& k, const json::value& body) {
    return k ? registry::estimate_prompt_tokens(body) : 0;
}

std::int64_t key_estimate(const request_key& k, const json::object& body) {
    return k ? registry::estimate_prompt_tokens(body) : 0;
}

std::variant<key_permit, http_response> admit_key(
    request_context& ctx, const request_key& k, key_door door, std::int64_t estimated_tokens
) {
    if (!k || !k.key->has_limits || !registry::key_limiter::limited(k.key->limits) || !ctx.app.keys) {
        return key_permit{};
    }
    const auto& key = *k.key;
    auto a = ctx.app.keys->limiter().admit(key.id, key.limits, key.creation, estimated_tokens);
    if (a.breach != key_breach::none) {
        return refusal(ctx, door, key.limits, a, estimated_tokens);
    }
    key_permit p;
    p.gate_ = ctx.app.keys.get();
    p.key_id_ = key.id;
    p.limits_ = key.limits;
    p.created_ms_ = key.creation;
    p.estimate_ = estimated_tokens;
    p.finished_ = false;
    p.rate_ = a.rate;
    return p;
}

key_permit& key_permit::operator=(key_permit&& o) noexcept {
    if (this != &o) {
        finish();
        gate_ = o.gate_;
        key_id_ = std::move(o.key_id_);
        limits_ = std::move(o.limits_);
        created_ms_ = o.created_ms_;
        estimate_ = o.estimate_;
        used_ = o.used_;
        succeeded_ = o.succeeded_;
        finished_ = o.finished_;
        rate_ = o.rate_;
        o.finished_ = true;
        o.gate_ = nullptr;
    }
    return *this;
}

bool key_permit::counts_tokens() const {
    return gate_ != nullptr && (limits_.tpm > 0 || limits_.token_budget > 0);
}

void key_permit::add_usage(std::int64_t total_tokens) {
    used_ = used_.value_or(0) + std::max<std::int64_t>(0, total_tokens);
}

void key_permit::set_usage(std::int64_t total_tokens) {
    used_ = std::max<std::int64_t>(0, total_tokens);
}

void key_permit::finish() {
    if (finished_ || gate_ == nullptr) {
        return;
    }
    finished_ = true;
    rate_ = gate_->limiter().finish(key_id_, limits_, created_ms_, estimate_, used_, succeeded_);
    if (limits_.token_budget > 0) {
        gate_->spend_changed();
    }
}

std::vector<std::pair<std::string, std::string>> key_permit::headers() const {
    if (gate_ == nullptr) {
        return {};
    }
    return rate_headers(rate_);
}

void key_permit::add_headers(http_response& res) const {
    for (const auto& [name, value] : headers()) {
        res.set(name, value);
    }
}

}  // namespace modelrelay::server::handlers
