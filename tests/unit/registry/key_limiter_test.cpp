// File: key_limiter_test.cpp
// The R17 key limits at their boundaries with a hand-driven clock: N−1, N and N+1 requests or tokens for
// rpm, tpm, max_parallel and the token budget, refill and Retry-After arithmetic, the reservation being
// replaced by upstream usage, budget periods rolling over, and what survives through take_dirty/restore.
#include "registry/key_limiter.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace modelrelay::test {
namespace {

using namespace modelrelay::registry;

constexpr std::int64_t created = 1'700'000'000'000;  // the key's creation time (ms)
constexpr std::int64_t day_ms = 86'400'000;

struct fixture {
    std::int64_t now = created + 5'000;
    key_limiter limiter{[this] {
        return now;
    }};
};

key_limits limits(std::int64_t rpm, std::int64_t tpm, std::int64_t parallel, std::int64_t budget) {
    key_limits l;
    l.models = {"*"};
    l.rpm = rpm;
    l.tpm = tpm;
    l.max_parallel = parallel;
    l.token_budget = budget;
    return l;
}

// --- rpm -----------------------------------------------------------------------------------------------

TEST(key_limiter, rpm_admits_n_requests_then_refuses_the_next) {
    fixture f;
    const auto l = limits(3, 0, 0, 0);
    for (int i = 0; i < 3; ++i) {
        const auto a = f.limiter.admit("k", l, created, 10);
        ASSERT_EQ(a.breach, key_breach::none) << "request " << i + 1;
        EXPECT_EQ(a.rate.limit_requests, 3);
        EXPECT_EQ(a.rate.remaining_requests, 2 - i);
        EXPECT_EQ(a.rate.limit_tokens, 0);  // no tpm: no token headers
        f.limiter.finish("k", l, created, 10, 12, true);
    }
    const auto refused = f.limiter.admit("k", l, created, 10);
    EXPECT_EQ(refused.breach, key_breach::requests);
    EXPECT_EQ(refused.retry_after_s, 20);  // one request per 20 s at 3 rpm
    EXPECT_EQ(refused.rate.remaining_requests, 0);
    EXPECT_EQ(refused.rate.reset_requests_ms, 60'000);  // empty: a whole minute to be full again
}

TEST(key_limiter, reset_is_the_time_until_the_bucket_is_full_again) {
    fixture f;
    const auto l = limits(3, 600, 0, 0);
    const auto first = f.limiter.admit("k", l, created, 100);
    ASSERT_EQ(first.breach, key_breach::none);
    EXPECT_EQ(first.rate.reset_requests_ms, 20'000);  // one of 3 per minute taken
    EXPECT_EQ(first.rate.reset_tokens_ms, 10'000);    // 100 of 600 per minute reserved
    f.now += 4'000;
    const auto later = f.limiter.finish("k", l, created, 100, 100, true);
    EXPECT_EQ(later.reset_requests_ms, 16'000);
    EXPECT_EQ(later.reset_tokens_ms, 6'000);
    f.now += 60'000;
    const auto full = f.limiter.peek("k", l);
    EXPECT_EQ(full.reset_requests_ms, 0);
    EXPECT_EQ(full.reset_tokens_ms, 0);
}

TEST(key_limiter, go_duration_prints_like_openai) {
    EXPECT_EQ(go_duration(0), "0s");
    EXPECT_EQ(go_duration(17), "17ms");
    EXPECT_EQ(go_duration(1'000), "1s");
    EXPECT_EQ(go_duration(8'640), "8.64s");
    EXPECT_EQ(go_duration(8'005), "8.005s");
    EXPECT_EQ(go_duration(360'000), "6m0s");
    EXPECT_EQ(go_duration(90'500), "1m30.5s");
    EXPECT_EQ(go_duration(3'600'000), "1h0m0s");
    EXPECT_EQ(go_duration(3'723'000), "1h2m3s");
}

TEST(key_limiter, rpm_refills_continuously) {
    fixture f;
    const auto l = limits(3, 0, 0, 0);
    for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::none);
    }
    f.now += 19'999;
    EXPECT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::requests);
    f.now += 1;
    EXPECT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::none);
    // A long pause refills to capacity, never beyond.
    f.now += 10 * 60'000;
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::none);
    }
    EXPECT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::requests);
}

TEST(key_limiter, keys_do_not_share_state) {
    fixture f;
    const auto l = limits(1, 0, 0, 0);
    EXPECT_EQ(f.limiter.admit("a", l, created, 1).breach, key_breach::none);
    EXPECT_EQ(f.limiter.admit("a", l, created, 1).breach, key_breach::requests);
    EXPECT_EQ(f.limiter.admit("b", l, created, 1).breach, key_breach::none);
}

// --- tpm -----------------------------------------------------------------------------------------------

TEST(key_limiter, tpm_reserves_the_estimate_at_n_minus_1_n_and_n_plus_1) {
    const auto l = limits(0, 100, 0, 0);
    {
        fixture f;  // N−1: 99 of 100 tokens reserved, then 1 more fits
        ASSERT_EQ(f.limiter.admit("k", l, created, 99).breach, key_breach::none);
        const auto a = f.limiter.admit("k", l, created, 1);
        EXPECT_EQ(a.breach, key_breach::none);
        EXPECT_EQ(a.rate.remaining_tokens, 0);
    }
    {
        fixture f;  // N: exactly 100
        const auto a = f.limiter.admit("k", l, created, 100);
        EXPECT_EQ(a.breach, key_breach::none);
        EXPECT_EQ(a.rate.limit_tokens, 100);
        EXPECT_EQ(a.rate.remaining_tokens, 0);
        const auto next = f.limiter.admit("k", l, created, 1);
        EXPECT_EQ(next.breach, key_breach::tokens);
        EXPECT_EQ(next.retry_after_s, 1);  // 1 token at 100/min: 0.6 s, rounded up
    }
    {
        fixture f;  // N+1 in one request can never fit
        const auto a = f.limiter.admit("k", l, created, 101);
        EXPECT_EQ(a.breach, key_breach::request_too_large);
        EXPECT_EQ(a.retry_after_s, 0);
        EXPECT_EQ(a.rate.remaining_tokens, 100);  // nothing taken
    }
}

TEST(key_limiter, tpm_is_reconciled_with_upstream_usage) {
    fixture f;
    const auto l = limits(0, 100, 0, 0);
    ASSERT_EQ(f.limiter.admit("k", l, created, 10).breach, key_breach::none);
    // The upstream used 70 (prompt + completion), not the 10 reserved.
    const auto after = f.limiter.finish("k", l, created, 10, 70, true);
    EXPECT_EQ(after.remaining_tokens, 30);
    EXPECT_EQ(f.limiter.admit("k", l, created, 31).breach, key_breach::tokens);
    EXPECT_EQ(f.limiter.admit("k", l, created, 30).breach, key_breach::none);
}

TEST(key_limiter, tpm_refunds_an_overestimate_and_keeps_the_estimate_without_usage) {
    fixture f;
    const auto l = limits(0, 100, 0, 0);
    ASSERT_EQ(f.limiter.admit("k", l, created, 50).breach, key_breach::none);
    EXPECT_EQ(f.limiter.finish("k", l, created, 50, 5, true).remaining_tokens, 95);
    ASSERT_EQ(f.limiter.admit("k", l, created, 40).breach, key_breach::none);
    EXPECT_EQ(f.limiter.finish("k", l, created, 40, std::nullopt, false).remaining_tokens, 55);
}

TEST(key_limiter, tpm_debt_delays_later_requests) {
    fixture f;
    const auto l = limits(0, 60, 0, 0);  // one token per second
    ASSERT_EQ(f.limiter.admit("k", l, created, 10).breach, key_breach::none);
    f.limiter.finish("k", l, created, 10, 90, true);  // 30 tokens over the bucket
    const auto a = f.limiter.admit("k", l, created, 10);
    EXPECT_EQ(a.breach, key_breach::tokens);
    EXPECT_EQ(a.retry_after_s, 40);  // 30 of debt + 10 needed at 1 token/s
    EXPECT_EQ(a.rate.remaining_tokens, 0);
    f.now += 40'000;
    EXPECT_EQ(f.limiter.admit("k", l, created, 10).breach, key_breach::none);
}

// --- max_parallel --------------------------------------------------------------------------------------

TEST(key_limiter, max_parallel_counts_requests_in_flight) {
    fixture f;
    const auto l = limits(0, 0, 2, 0);
    ASSERT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::none);  // N−1 in flight after
    ASSERT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::none);  // N
    const auto refused = f.limiter.admit("k", l, created, 1);                 // N+1
    EXPECT_EQ(refused.breach, key_breach::parallel);
    EXPECT_EQ(refused.retry_after_s, 1);
    f.limiter.finish("k", l, created, 1, 1, true);
    EXPECT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::none);
    // A refusal takes no slot: after both finish, two fit again.
    f.limiter.finish("k", l, created, 1, std::nullopt, false);
    f.limiter.finish("k", l, created, 1, std::nullopt, false);
    EXPECT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::none);
    EXPECT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::none);
    EXPECT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::parallel);
}

TEST(key_limiter, a_refusal_consumes_nothing) {
    fixture f;
    const auto l = limits(2, 0, 1, 0);
    ASSERT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::none);
    EXPECT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::parallel);
    EXPECT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::parallel);
    f.limiter.finish("k", l, created, 1, 1, true);
    // The two parallel refusals did not use the second request of the minute.
    const auto a = f.limiter.admit("k", l, created, 1);
    EXPECT_EQ(a.breach, key_breach::none);
    EXPECT_EQ(a.rate.remaining_requests, 0);
}

// --- token budget --------------------------------------------------------------------------------------

TEST(key_limiter, budget_admits_below_n_and_refuses_at_n) {
    const auto l = [] {
        auto x = limits(0, 0, 0, 100);
        x.budget_period = "1d";
        x.budget_period_ms = day_ms;
        return x;
    }();
    {
        fixture f;  // N−1 tokens spent: one more request is admitted
        ASSERT_EQ(f.limiter.admit("k", l, created, 5).breach, key_breach::none);
        f.limiter.finish("k", l, created, 5, 99, true);
        EXPECT_EQ(f.limiter.spent("k", l, created), 99);
        ASSERT_EQ(f.limiter.admit("k", l, created, 5).breach, key_breach::none);
        f.limiter.finish("k", l, created, 5, 2, true);  // now N+1 = 101: over by the last request
        EXPECT_EQ(f.limiter.spent("k", l, created), 101);
        const auto refused = f.limiter.admit("k", l, created, 5);
        EXPECT_EQ(refused.breach, key_breach::budget);
        EXPECT_EQ(refused.retry_after_s, (day_ms - 5'000) / 1000);  // until the period ends
    }
    {
        fixture f;  // exactly N spent
        ASSERT_EQ(f.limiter.admit("k", l, created, 5).breach, key_breach::none);
        f.limiter.finish("k", l, created, 5, 100, true);
        EXPECT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::budget);
    }
}

TEST(key_limiter, budget_counts_reservations_in_flight) {
    fixture f;
    const auto l = limits(0, 0, 0, 100);
    ASSERT_EQ(f.limiter.admit("k", l, created, 60).breach, key_breach::none);
    ASSERT_EQ(f.limiter.admit("k", l, created, 39).breach, key_breach::none);  // 99 reserved
    EXPECT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::none);   // 100 reserved
    EXPECT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::budget);
    // Settling with smaller usage frees budget.
    f.limiter.finish("k", l, created, 60, 10, true);
    EXPECT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::none);
}

TEST(key_limiter, budget_charges_usage_else_the_estimate_on_success_else_nothing) {
    fixture f;
    const auto l = limits(0, 0, 0, 1000);
    ASSERT_EQ(f.limiter.admit("k", l, created, 7).breach, key_breach::none);
    f.limiter.finish("k", l, created, 7, 30, true);
    EXPECT_EQ(f.limiter.spent("k", l, created), 30);
    ASSERT_EQ(f.limiter.admit("k", l, created, 7).breach, key_breach::none);
    f.limiter.finish("k", l, created, 7, std::nullopt, true);  // 2xx without usage
    EXPECT_EQ(f.limiter.spent("k", l, created), 37);
    ASSERT_EQ(f.limiter.admit("k", l, created, 7).breach, key_breach::none);
    f.limiter.finish("k", l, created, 7, std::nullopt, false);  // upstream failed
    EXPECT_EQ(f.limiter.spent("k", l, created), 37);
}

TEST(key_limiter, budget_period_rolls_over_at_the_boundary) {
    fixture f;
    auto l = limits(0, 0, 0, 10);
    l.budget_period_ms = 60'000;
    ASSERT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::none);
    f.limiter.finish("k", l, created, 1, 10, true);
    EXPECT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::budget);
    f.now = created + 60'000 - 1;  // last millisecond of the first period
    const auto still = f.limiter.admit("k", l, created, 1);
    EXPECT_EQ(still.breach, key_breach::budget);
    EXPECT_EQ(still.retry_after_s, 1);
    f.now = created + 60'000;  // the second period starts
    EXPECT_EQ(f.limiter.spent("k", l, created), 0);
    EXPECT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::none);
    f.limiter.finish("k", l, created, 1, 4, true);
    EXPECT_EQ(f.limiter.spent("k", l, created), 4);
    f.now = created + 3 * 60'000 + 5;  // a period skipped entirely
    EXPECT_EQ(f.limiter.spent("k", l, created), 0);
}

TEST(key_limiter, budget_for_ever_has_no_retry_after) {
    fixture f;
    const auto l = limits(0, 0, 0, 5);
    ASSERT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::none);
    f.limiter.finish("k", l, created, 1, 5, true);
    f.now += 400 * day_ms;
    const auto a = f.limiter.admit("k", l, created, 1);
    EXPECT_EQ(a.breach, key_breach::budget);
    EXPECT_EQ(a.retry_after_s, 0);
}

TEST(key_limiter, budget_is_checked_before_rate_limits) {
    fixture f;
    const auto l = limits(1, 0, 0, 5);
    ASSERT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::none);
    f.limiter.finish("k", l, created, 1, 5, true);
    EXPECT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::budget);
}

TEST(key_limiter, spend_is_handed_out_once_and_restored_in_the_same_period_only) {
    auto l = limits(0, 0, 0, 100);
    l.budget_period_ms = day_ms;
    fixture f;
    ASSERT_EQ(f.limiter.admit("k", l, created, 1).breach, key_breach::none);
    f.limiter.finish("k", l, created, 1, 60, true);
    auto dirty = f.limiter.take_dirty();
    ASSERT_EQ(dirty.size(), 1U);
    EXPECT_EQ(dirty[0].key_id, "k");
    EXPECT_EQ(dirty[0].spent, 60);
    EXPECT_EQ(dirty[0].period_start_ms, created);
    EXPECT_TRUE(f.limiter.take_dirty().empty());

    fixture same;  // a restart later the same day
    same.now = created + day_ms - 10;
    same.limiter.restore(dirty[0], l, created);
    EXPECT_EQ(same.limiter.spent("k", l, created), 60);
    ASSERT_EQ(same.limiter.admit("k", l, created, 1).breach, key_breach::none);
    same.limiter.finish("k", l, created, 1, 40, true);
    EXPECT_EQ(same.limiter.admit("k", l, created, 1).breach, key_breach::budget);

    fixture next;  // a restart the next day: the old period's spend is gone
    next.now = created + day_ms;
    next.limiter.restore(dirty[0], l, created);
    EXPECT_EQ(next.limiter.spent("k", l, created), 0);
}

TEST(key_limiter, an_unlimited_key_is_always_admitted) {
    fixture f;
    const auto l = limits(0, 0, 0, 0);
    EXPECT_FALSE(key_limiter::limited(l));
    for (int i = 0; i < 1000; ++i) {
        const auto a = f.limiter.admit("k", l, created, 1'000'000);
        ASSERT_EQ(a.breach, key_breach::none);
        EXPECT_EQ(a.rate.limit_requests, 0);
        EXPECT_EQ(a.rate.limit_tokens, 0);
    }
    EXPECT_TRUE(key_limiter::limited(limits(0, 0, 1, 0)));
}

// --- estimate and usage --------------------------------------------------------------------------------

TEST(key_limiter, estimate_is_a_quarter_of_the_string_bytes_rounded_up) {
    EXPECT_EQ(estimate_prompt_tokens(boost::json::parse(R"({})")), 1);
    // "gpt" (3) + "user" (4) + "hello" (5) = 12 bytes → 3 tokens; member names and numbers do not count.
    EXPECT_EQ(
        estimate_prompt_tokens(boost::json::parse(
            R"({"model":"gpt","messages":[{"role":"user","content":"hello"}],"temperature":0.5})"
        )),
        3
    );
    EXPECT_EQ(estimate_prompt_tokens(boost::json::parse(R"({"input":["abcde"]})")), 2);
    EXPECT_EQ(estimate_prompt_tokens(boost::json::parse(R"({"input":"\u00e9\u00e9"})")), 1);  // 4 bytes
}

TEST(key_limiter, usage_total_tokens_reads_openai_usage) {
    EXPECT_EQ(
        usage_total_tokens_of(R"({"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}})"), 7
    );
    EXPECT_EQ(usage_total_tokens(boost::json::parse(R"({"usage":{"total_tokens":9}})")), 9);
    EXPECT_EQ(usage_total_tokens_of(R"({"usage":{"prompt_tokens":3,"completion_tokens":4}})"), 7);
    EXPECT_EQ(usage_total_tokens_of(R"({"usage":{"prompt_tokens":5,"total_tokens":5}})"), 5);
    EXPECT_EQ(usage_total_tokens_of(R"({"choices":[],"usage":null})"), std::nullopt);
    EXPECT_EQ(usage_total_tokens_of(R"({"choices":[]})"), std::nullopt);
    EXPECT_EQ(usage_total_tokens_of(R"({"usage":{}})"), std::nullopt);
    EXPECT_EQ(usage_total_tokens_of("not json \"usage\""), std::nullopt);
}

}  // namespace
}  // namespace modelrelay::test
