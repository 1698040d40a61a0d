// File: key_limiter.cpp
#include "registry/key_limiter.hpp"

#include <algorithm>

#include <boost/json/parse.hpp>

#include "registry/json_parse.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

// Buckets count in units of 1/60000 of a token (or request): refilling `capacity` per minute then adds
// exactly `capacity` units per millisecond, and integer arithmetic keeps every boundary exact.
constexpr std::int64_t unit = 60000;
// Usage beyond this is treated as this (keeps the unit arithmetic far from overflow).
constexpr std::int64_t max_tokens = 1'000'000'000'000;

// Tops a bucket of `capacity` per minute up to now; a bucket starts full on first use.
void refill(
    std::int64_t& level, std::int64_t& at_ms, bool& started, std::int64_t capacity, std::int64_t now
) {
    const std::int64_t full = capacity * unit;
    if (!started) {
        level = full;
        at_ms = now;
        started = true;
        return;
    }
    if (now > at_ms) {
        if (level < full) {
            const std::int64_t to_full_ms = (full - level + capacity - 1) / capacity;
            level = std::min(full, level + std::min(now - at_ms, to_full_ms) * capacity);
        }
        at_ms = now;
    }
}

// Whole seconds (at least 1) until a bucket of `per_minute` has regained `deficit` units.
std::int64_t seconds_until(std::int64_t deficit, std::int64_t per_minute) {
    const std::int64_t ms = (deficit + per_minute - 1) / per_minute;
    return std::max<std::int64_t>(1, (ms + 999) / 1000);
}

// Limits beyond max_tokens behave as max_tokens (they are unlimited in practice).
key_limits clamped(const key_limits& in) {
    key_limits l = in;
    for (auto* v : {&l.rpm, &l.tpm, &l.max_parallel, &l.token_budget}) {
        *v = std::clamp<std::int64_t>(*v, 0, max_tokens);
    }
    return l;
}

std::int64_t whole(std::int64_t level) {
    return level <= 0 ? 0 : level / unit;
}

// Milliseconds until a bucket of `capacity` per minute is full again.
std::int64_t ms_to_full(std::int64_t level, std::int64_t capacity) {
    const std::int64_t full = capacity * unit;
    return level >= full ? 0 : (full - level + capacity - 1) / capacity;
}

std::optional<std::int64_t> integer_of(const json::value* v) {
    if (v == nullptr) {
        return std::nullopt;
    }
    if (v->is_int64()) {
        return v->get_int64();
    }
    if (v->is_uint64()) {
        return static_cast<std::int64_t>(std::min<std::uint64_t>(v->get_uint64(), INT64_MAX));
    }
    if (v->is_double() && v->get_double() >= 0 && v->get_double() < 9.0e18) {
        return static_cast<std::int64_t>(v->get_double());
    }
    return std::nullopt;
}

std::size_t string_bytes(const json::value& v) {
    switch (v.kind()) {
        case json::kind::string:
            return v.get_string().size();
        case json::kind::array: {
            std::size_t n = 0;
            for (const auto& e : v.get_array()) {
                n += string_bytes(e);
            }
            return n;
        }
        case json::kind::object: {
            std::size_t n = 0;
            for (const auto& kv : v.get_object()) {
                n += string_bytes(kv.value());
            }
            return n;
        }
        default:
            return 0;
    }
}

}  // namespace

key_limiter::key_limiter(clock_fn now_ms) : now_ms_(std::move(now_ms)) {}

key_limiter::state& key_limiter::state_of(std::string_view key_id) {
    auto it = states_.find(std::string(key_id));
    if (it == states_.end()) {
        it = states_.emplace(std::string(key_id), state{}).first;
    }
    return it->second;
}

void key_limiter::roll(state& s, const key_limits& l, std::int64_t created_ms, std::int64_t now) const {
    if (l.token_budget <= 0) {
        return;
    }
    std::int64_t start = created_ms;
    if (l.budget_period_ms > 0 && now > created_ms) {
        start = created_ms + (now - created_ms) / l.budget_period_ms * l.budget_period_ms;
    }
    if (!s.period_known) {
        s.period_start_ms = start;
        s.period_known = true;
        return;
    }
    // A clock that stepped back keeps the current period rather than reopening an old one.
    if (start > s.period_start_ms) {
        s.period_start_ms = start;
        s.spent = 0;
        s.dirty = true;
    }
}

std::string go_duration(std::int64_t ms) {
    if (ms <= 0) {
        return "0s";
    }
    if (ms < 1000) {
        return std::to_string(ms) + "ms";
    }
    const std::int64_t h = ms / 3'600'000;
    const std::int64_t m = ms / 60'000 % 60;
    std::string seconds = std::to_string(ms / 1000 % 60);
    if (const std::int64_t frac = ms % 1000; frac != 0) {
        std::string digits = std::to_string(1000 + frac).substr(1);
        digits.erase(digits.find_last_not_of('0') + 1);
        seconds += "." + digits;
    }
    std::string out;
    if (h > 0) {
        out = std::to_string(h) + "h" + std::to_string(m) + "m";
    } else if (m > 0) {
        out = std::to_string(m) + "m";
    }
    return out + seconds + "s";
}

key_rate_state key_limiter::rate_of(const state& s, const key_limits& l) const {
    key_rate_state r;
    if (l.rpm > 0) {
        r.limit_requests = l.rpm;
        r.remaining_requests = whole(s.requests.level);
        r.reset_requests_ms = ms_to_full(s.requests.level, l.rpm);
    }
    if (l.tpm > 0) {
        r.limit_tokens = l.tpm;
        r.remaining_tokens = whole(s.tokens.level);
        r.reset_tokens_ms = ms_to_full(s.tokens.level, l.tpm);
    }
    return r;
}

key_admission key_limiter::admit(
    std::string_view key_id, const key_limits& limits, std::int64_t created_ms, std::int64_t estimated_tokens
) {
    const key_limits l = clamped(limits);
    std::lock_guard lock(mutex_);
    const std::int64_t now = now_ms_();
    state& s = state_of(key_id);
    roll(s, l, created_ms, now);
    if (l.rpm > 0) {
        refill(s.requests.level, s.requests.at_ms, s.requests.started, l.rpm, now);
    }
    if (l.tpm > 0) {
        refill(s.tokens.level, s.tokens.at_ms, s.tokens.started, l.tpm, now);
    }
    const std::int64_t estimate = std::clamp<std::int64_t>(estimated_tokens, 0, max_tokens);
    key_admission out;
    out.rate = rate_of(s, l);
    auto refuse = [&out](key_breach b, std::int64_t retry) {
        out.breach = b;
        out.retry_after_s = retry;
        return out;
    };
    if (l.tpm > 0 && estimate > l.tpm) {
        return refuse(key_breach::request_too_large, 0);
    }
    if (l.token_budget > 0 && s.spent + s.reserved >= l.token_budget) {
        std::int64_t retry = 0;
        if (l.budget_period_ms > 0) {
            const std::int64_t left_ms = s.period_start_ms + l.budget_period_ms - now;
            retry = std::max<std::int64_t>(1, (left_ms + 999) / 1000);
        }
        return refuse(key_breach::budget, retry);
    }
    if (l.rpm > 0 && s.requests.level < unit) {
        return refuse(key_breach::requests, seconds_until(unit - s.requests.level, l.rpm));
    }
    if (l.tpm > 0 && s.tokens.level < estimate * unit) {
        return refuse(key_breach::tokens, seconds_until(estimate * unit - s.tokens.level, l.tpm));
    }
    if (l.max_parallel > 0 && s.in_flight >= l.max_parallel) {
        return refuse(key_breach::parallel, 1);
    }
    if (l.rpm > 0) {
        s.requests.level -= unit;
    }
    if (l.tpm > 0) {
        s.tokens.level -= estimate * unit;
    }
    if (l.token_budget > 0) {
        s.reserved += estimate;
    }
    s.in_flight += 1;
    out.rate = rate_of(s, l);
    return out;
}

key_rate_state key_limiter::finish(
    std::string_view key_id,
    const key_limits& limits,
    std::int64_t created_ms,
    std::int64_t estimated_tokens,
    std::optional<std::int64_t> used,
    bool succeeded
) {
    const key_limits l = clamped(limits);
    std::lock_guard lock(mutex_);
    const std::int64_t now = now_ms_();
    state& s = state_of(key_id);
    roll(s, l, created_ms, now);
    const std::int64_t estimate = std::clamp<std::int64_t>(estimated_tokens, 0, max_tokens);
    if (used && *used < 0) {
        used.reset();
    } else if (used) {
        used = std::min(*used, max_tokens);
    }
    if (s.in_flight > 0) {
        s.in_flight -= 1;
    }
    if (l.rpm > 0) {
        refill(s.requests.level, s.requests.at_ms, s.requests.started, l.rpm, now);
    }
    if (l.tpm > 0) {
        refill(s.tokens.level, s.tokens.at_ms, s.tokens.started, l.tpm, now);
        const std::int64_t charged = used.value_or(estimate);
        s.tokens.level = std::min(l.tpm * unit, s.tokens.level - (charged - estimate) * unit);
    }
    if (l.token_budget > 0) {
        s.reserved = std::max<std::int64_t>(0, s.reserved - estimate);
        const std::int64_t charge = used ? *used : (succeeded ? estimate : 0);
        if (charge > 0) {
            s.spent += charge;
            s.dirty = true;
        }
    }
    return rate_of(s, l);
}

key_rate_state key_limiter::peek(std::string_view key_id, const key_limits& limits) {
    const key_limits l = clamped(limits);
    std::lock_guard lock(mutex_);
    const std::int64_t now = now_ms_();
    state& s = state_of(key_id);
    if (l.rpm > 0) {
        refill(s.requests.level, s.requests.at_ms, s.requests.started, l.rpm, now);
    }
    if (l.tpm > 0) {
        refill(s.tokens.level, s.tokens.at_ms, s.tokens.started, l.tpm, now);
    }
    return rate_of(s, l);
}

std::int64_t key_limiter::spent(std::string_view key_id, const key_limits& l, std::int64_t created_ms) {
    std::lock_guard lock(mutex_);
    state& s = state_of(key_id);
    roll(s, l, created_ms, now_ms_());
    return s.spent;
}

std::vector<key_spend> key_limiter::take_dirty() {
    std::lock_guard lock(mutex_);
    std::vector<key_spend> out;
    for (auto& [id, s] : states_) {
        if (s.dirty) {
            out.push_back(key_spend{id, s.period_start_ms, s.spent});
            s.dirty = false;
        }
    }
    return out;
}

void key_limiter::restore(const key_spend& saved, const key_limits& l, std::int64_t created_ms) {
    std::lock_guard lock(mutex_);
    state& s = state_of(saved.key_id);
    roll(s, l, created_ms, now_ms_());
    if (l.token_budget > 0 && s.period_start_ms == saved.period_start_ms) {
        s.spent = std::max<std::int64_t>(0, saved.spent);
    }
}

std::int64_t estimate_prompt_tokens(const json::value& body) {
    const std::size_t bytes = string_bytes(body);
    return std::max<std::int64_t>(1, static_cast<std::int64_t>((bytes + 3) / 4));
}

std::int64_t estimate_prompt_tokens(const json::object& body) {
    std::size_t bytes = 0;
    for (const auto& kv : body) {
        bytes += string_bytes(kv.value());
    }
    return std::max<std::int64_t>(1, static_cast<std::int64_t>((bytes + 3) / 4));
}

std::optional<std::int64_t> usage_total_tokens(const json::value& answer) {
    const auto* obj = answer.if_object();
    const auto* usage = obj != nullptr ? obj->if_contains("usage") : nullptr;
    if (usage == nullptr || !usage->is_object()) {
        return std::nullopt;
    }
    const auto& u = usage->get_object();
    if (auto total = integer_of(u.if_contains("total_tokens"))) {
        return total;
    }
    const auto prompt = integer_of(u.if_contains("prompt_tokens"));
    const auto completion = integer_of(u.if_contains("completion_tokens"));
    if (!prompt && !completion) {
        return std::nullopt;
    }
    return prompt.value_or(0) + completion.value_or(0);
}

std::optional<std::int64_t> usage_total_tokens_of(std::string_view answer_json) {
    // Most chunks of a stream carry no usage: skip the parse for them.
    if (answer_json.find("\"usage\"") == std::string_view::npos) {
        return std::nullopt;
    }
    boost::system::error_code ec;
    const json::value v = parse_json(answer_json, ec);
    if (ec) {
        return std::nullopt;
    }
    return usage_total_tokens(v);
}

}  // namespace modelrelay::registry
