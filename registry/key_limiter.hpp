// File: key_limiter.hpp
// The R17 limits of an API key (security.md §8: rpm, tpm, max_parallel, token_budget per budget_period) as
// pure, thread-safe bookkeeping with an injected millisecond clock, so every boundary (N−1, N, N+1, a
// period rolling over) is unit-tested without sockets or sleeps. The server asks admit() before the upstream
// call and calls finish() exactly once afterwards; nothing here does I/O.
//
// One counter per scope, reserve before dispatch and settle after (gateways.md §3 item 1, the LiteLLM budget
// bugs): admit() takes the request from the rpm bucket and reserves the estimated prompt tokens in the tpm
// bucket and in the budget; finish() replaces the reservation by what the upstream reported in `usage`.
//  - rpm, tpm: token buckets of capacity rpm / tpm refilled continuously over a minute. A tpm bucket may go
//    below zero when the upstream reports more than was reserved; later requests then wait for the debt.
//  - max_parallel: requests admitted and not yet finished.
//  - token_budget: tokens charged in the current period (fixed windows of budget_period starting at the
//    key's creation; no period = one window for ever). A request is admitted while charged + reserved is
//    below the budget, so the overshoot is bounded by the requests already in flight.
// A limit of 0 is no limit. Only the budget is worth persisting (take_dirty / restore); buckets and the
// parallel count start fresh after a restart.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "registry/identity.hpp"

namespace modelrelay::registry {

enum class key_breach {
    none,
    requests,           // rpm
    tokens,             // tpm
    request_too_large,  // the estimate alone exceeds tpm: waiting cannot help
    parallel,           // max_parallel
    budget,             // token_budget for the current period
};

// What the x-ratelimit-* headers report. A limit of 0 means "not limited" (the headers are left out).
struct key_rate_state {
    std::int64_t limit_requests = 0;
    std::int64_t remaining_requests = 0;
    std::int64_t limit_tokens = 0;
    std::int64_t remaining_tokens = 0;
    // Milliseconds until the bucket is full again (OpenAI's x-ratelimit-reset-*: "the time until the rate
    // limit resets to its initial state"); 0 when it is full.
    std::int64_t reset_requests_ms = 0;
    std::int64_t reset_tokens_ms = 0;
};

// A duration as Go prints it, which is what OpenAI sends in x-ratelimit-reset-*: "0s", "120ms", "8.64s",
// "6m0s", "1h0m0s" (millisecond precision).
std::string go_duration(std::int64_t ms);

struct key_admission {
    key_breach breach = key_breach::none;
    // Seconds until the refused request could pass (Retry-After); 0 when waiting cannot help (a budget
    // for ever, a request larger than tpm).
    std::int64_t retry_after_s = 0;
    key_rate_state rate;
};

// The persisted part: tokens charged to a key's budget in the period that starts at period_start_ms.
struct key_spend {
    std::string key_id;
    std::int64_t period_start_ms = 0;
    std::int64_t spent = 0;
};

class key_limiter {
public:
    using clock_fn = std::function<std::int64_t()>;  // milliseconds; wall clock (budget periods are dates)

    explicit key_limiter(clock_fn now_ms);

    // Does the key have any R17 limit?
    static bool limited(const key_limits& l) {
        return l.rpm > 0 || l.tpm > 0 || l.max_parallel > 0 || l.token_budget > 0;
    }

    // All or nothing: on success the request counts against rpm, reserves `estimated_tokens` against tpm
    // and the budget, and takes a parallel slot; on a breach nothing changes. `created_ms` anchors the
    // budget periods.
    key_admission admit(
        std::string_view key_id, const key_limits& l, std::int64_t created_ms, std::int64_t estimated_tokens
    );

    // Settles one admitted request: frees its parallel slot and replaces its reservation by the tokens it
    // used. `used` is the upstream's usage.total_tokens when it reported one. tpm is charged `used`, else
    // the estimate; the budget is charged `used`, else the estimate when the upstream answered 2xx, else
    // nothing (a failed call costs no budget). Returns the state after the charge.
    key_rate_state finish(
        std::string_view key_id,
        const key_limits& l,
        std::int64_t created_ms,
        std::int64_t estimated_tokens,
        std::optional<std::int64_t> used,
        bool succeeded
    );

    // The current state (no change).
    key_rate_state peek(std::string_view key_id, const key_limits& l);
    // Tokens charged to the budget in the current period (rolled over first).
    std::int64_t spent(std::string_view key_id, const key_limits& l, std::int64_t created_ms);

    // Budgets changed since the last call (for persistence).
    std::vector<key_spend> take_dirty();
    // A persisted budget (at start-up): kept only while its period is still the current one.
    void restore(const key_spend& s, const key_limits& l, std::int64_t created_ms);

private:
    struct bucket {
        std::int64_t level = 0;  // in 1/60000 of a token (key_limiter.cpp)
        std::int64_t at_ms = 0;
        bool started = false;
    };
    struct state {
        bucket requests;
        bucket tokens;
        std::int64_t in_flight = 0;
        std::int64_t period_start_ms = 0;
        bool period_known = false;
        std::int64_t spent = 0;
        std::int64_t reserved = 0;
        bool dirty = false;
    };

    state& state_of(std::string_view key_id);
    void roll(state& s, const key_limits& l, std::int64_t created_ms, std::int64_t now) const;
    key_rate_state rate_of(const state& s, const key_limits& l) const;

    clock_fn now_ms_;
    std::mutex mutex_;
    std::unordered_map<std::string, state> states_;
};

// The prompt-token estimate used before the call: the UTF-8 bytes of every string in the request body
// (member names excluded) divided by 4, rounded up, at least 1. Four bytes per token is OpenAI's rule of
// thumb for English text; it over-counts JSON-heavy prompts slightly and is reconciled with `usage` anyway.
std::int64_t estimate_prompt_tokens(const boost::json::value& body);
std::int64_t estimate_prompt_tokens(const boost::json::object& body);

// `usage.total_tokens` of an OpenAI-style JSON answer or stream chunk (prompt_tokens + completion_tokens
// when total_tokens is missing); nullopt when there is no usage object.
std::optional<std::int64_t> usage_total_tokens(const boost::json::value& answer);
// JSON text goes to usage_total_tokens_of (a string literal would silently become a JSON string here).
std::optional<std::int64_t> usage_total_tokens(const char*) = delete;
std::optional<std::int64_t> usage_total_tokens_of(std::string_view answer_json);

}  // namespace modelrelay::registry
