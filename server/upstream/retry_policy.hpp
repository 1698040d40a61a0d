// File: retry_policy.hpp
// Sans-io retry decisions for the outbound client (ml-commons.md §2.3 client_config and
// RemoteConnectorExecutor.getRetryBackoffPolicy): which outcomes are retried, how long to wait, and
// when the budget is spent. Kept pure so every branch is unit-tested without sockets or clocks.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

namespace modelrelay::server::upstream {

enum class backoff_policy { constant, exponential_equal_jitter, exponential_full_jitter };

// "constant", "exponential_equal_jitter", "exponential_full_jitter" (lower-case, like the connector JSON);
// anything else → nullopt (the caller reports `Unsupported retry backoff policy`).
std::optional<backoff_policy> parse_backoff_policy(std::string_view name);

// The delay before retry number `retry` (0 = the first retry), OpenSearch BackoffPolicy semantics:
//   constant:                 base
//   exponential_equal_jitter: e = min(base * 2^min(retry,30), cap); e/2 + uniform[0, e/2]   (cap = retry
//   budget) exponential_full_jitter:  c = min(base * 2^retry, INT_MAX);    uniform[1, c]
std::chrono::milliseconds backoff_delay(
    backoff_policy policy,
    std::chrono::milliseconds base,
    std::chrono::milliseconds cap,
    int retry,
    std::mt19937_64& rng
);

// Parses a Retry-After value: delta-seconds or an IMF-fixdate / RFC 850 / asctime HTTP date, relative to
// `now`. Past dates give 0. Garbage gives nullopt.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now
);

// 429 and 5xx are retried; everything else is final.
constexpr bool is_retryable_status(unsigned status) {
    return status == 429 || status >= 500;
}

// MLSdkAsyncHttpResponseHandler.handleThrottlingInHeader: an error answer whose `x-amzn-ErrorType` starts
// with ThrottlingException is a RemoteConnectorThrottlingException, retried whatever its status.
constexpr bool is_aws_throttled(unsigned status, std::string_view amzn_error_type) {
    return (status < 200 || status > 300) && amzn_error_type.starts_with("ThrottlingException");
}

// The bookkeeping of one logical request across attempts.
class retry_schedule {
public:
    // max_retries: 0 = none, -1 = unlimited (bounded by the budget). budget: retry_timeout_seconds.
    retry_schedule(
        backoff_policy policy,
        int max_retries,
        std::chrono::milliseconds base,
        std::chrono::milliseconds budget,
        std::uint64_t seed
    );

    // Called after a retryable failure at `elapsed` since the first attempt began. Returns the wait before
    // the next attempt, or nullopt when retries are exhausted or the wait would overrun the budget.
    // A server-supplied Retry-After longer than the computed backoff replaces it.
    std::optional<std::chrono::milliseconds> next(
        std::chrono::milliseconds elapsed, std::optional<std::chrono::milliseconds> retry_after = std::nullopt
    );

    int retries_done() const { return retries_; }

private:
    backoff_policy policy_;
    int max_retries_;
    std::chrono::milliseconds base_;
    std::chrono::milliseconds budget_;
    std::mt19937_64 rng_;
    int retries_ = 0;
};

}  // namespace modelrelay::server::upstream
