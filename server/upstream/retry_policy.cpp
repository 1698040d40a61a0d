// File: retry_policy.cpp
// Backoff arithmetic and Retry-After parsing for the outbound client.
#include "server/upstream/retry_policy.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <cstdio>
#include <ctime>

namespace modelrelay::server::upstream {

using std::chrono::milliseconds;

std::optional<backoff_policy> parse_backoff_policy(std::string_view name) {
    if (name == "constant") {
        return backoff_policy::constant;
    }
    if (name == "exponential_equal_jitter") {
        return backoff_policy::exponential_equal_jitter;
    }
    if (name == "exponential_full_jitter") {
        return backoff_policy::exponential_full_jitter;
    }
    return std::nullopt;
}

milliseconds backoff_delay(
    backoff_policy policy, milliseconds base, milliseconds cap, int retry, std::mt19937_64& rng
) {
    const std::int64_t b = std::max<std::int64_t>(base.count(), 0);
    switch (policy) {
        case backoff_policy::constant:
            return milliseconds(b);
        case backoff_policy::exponential_equal_jitter: {
            const int shift = std::min(retry, 30);
            const std::int64_t e = std::min<std::int64_t>(
                (std::int64_t{1} << shift) * b, std::max<std::int64_t>(cap.count(), 0)
            );
            std::uniform_int_distribution<std::int64_t> d(0, e / 2);
            return milliseconds(e / 2 + d(rng));
        }
        case backoff_policy::exponential_full_jitter: {
            const int shift = std::min(retry, 31);
            const std::int64_t c = std::min<std::int64_t>((std::int64_t{1} << shift) * b, INT_MAX);
            if (c <= 0) {
                return milliseconds(0);
            }
            std::uniform_int_distribution<std::int64_t> d(1, c);
            return milliseconds(d(rng));
        }
    }
    return milliseconds(b);
}

namespace {

int month_index(std::string_view m) {
    static constexpr std::array<std::string_view, 12> months{
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; ++i) {
        if (months[i] == m) {
            return i;
        }
    }
    return -1;
}

// The three date formats of RFC 9110 §5.6.7, parsed without locale-dependent strptime.
std::optional<std::time_t> parse_http_date(std::string_view v) {
    char wday[16] = {}, mon[4] = {}, tz[4] = {};
    int day = 0, year = 0, hh = 0, mm = 0, ss = 0;
    const std::string s(v);
    std::tm tm{};
    if (std::sscanf(
            s.c_str(), "%3s, %2d %3s %4d %2d:%2d:%2d %3s", wday, &day, mon, &year, &hh, &mm, &ss, tz
        ) == 8) {
        // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    } else if (std::sscanf(s.c_str(), "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d %3s", wday, &day, mon, &year, &hh, &mm, &ss, tz) == 8) {
        year += year < 70 ? 2000 : 1900;  // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
    } else if (std::sscanf(s.c_str(), "%3s %3s %d %2d:%2d:%2d %4d", wday, mon, &day, &hh, &mm, &ss, &year) == 7) {
        // asctime: Sun Nov  6 08:49:37 1994
    } else {
        return std::nullopt;
    }
    const int m = month_index(mon);
    if (m < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) {
        return std::nullopt;
    }
    tm.tm_year = year - 1900;
    tm.tm_mon = m;
    tm.tm_mday = day;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    return timegm(&tm);
}

}  // namespace

std::optional<milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now
) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
        value.remove_suffix(1);
    }
    if (value.empty()) {
        return std::nullopt;
    }
    if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        std::int64_t seconds = 0;
        const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
        if (ec == std::errc::result_out_of_range) {
            return milliseconds(INT64_MAX / 2);  // "forever": the caller's cap decides
        }
        if (ec != std::errc() || ptr != value.data() + value.size()) {
            return std::nullopt;
        }
        return std::chrono::duration_cast<milliseconds>(
            std::chrono::seconds(std::min<std::int64_t>(seconds, INT64_MAX / 2000))
        );
    }
    const auto t = parse_http_date(value);
    if (!t) {
        return std::nullopt;
    }
    const auto at = std::chrono::system_clock::from_time_t(*t);
    if (at <= now) {
        return milliseconds(0);
    }
    return std::chrono::duration_cast<milliseconds>(at - now);
}

retry_schedule::retry_schedule(
    backoff_policy policy, int max_retries, milliseconds base, milliseconds budget, std::uint64_t seed
)
    : policy_(policy), max_retries_(max_retries), base_(base), budget_(budget), rng_(seed) {}

std::optional<milliseconds> retry_schedule::next(
    milliseconds elapsed, std::optional<milliseconds> retry_after
) {
    if (max_retries_ == 0 || (max_retries_ > 0 && retries_ >= max_retries_)) {
        return std::nullopt;
    }
    milliseconds delay = backoff_delay(policy_, base_, budget_, retries_, rng_);
    if (retry_after && *retry_after > delay) {
        delay = *retry_after;
    }
    // RetryableAction semantics: give up when the next attempt would start after the budget.
    if (elapsed + delay >= budget_) {
        return std::nullopt;
    }
    ++retries_;
    return delay;
}

}  // namespace modelrelay::server::upstream
