// File: security.hpp
// Authentication and the route-level authorization gate (security.md R1–R6, R24, R25). With security on,
// every request is authenticated before routing work: HTTP Basic against internal users (bcrypt verified on a
// worker pool, never an I/O thread, then cached by SHA-256 of the credential), Elasticsearch `ApiKey` and
// `Bearer` API keys (HMAC-SHA-256 with a pepper, constant-time compare), and verified client certificates
// (mTLS; an empty `Bearer ` with a certificate authenticates by the certificate, Kibana PKI). Failures answer
// in the front door's own envelope and never echo what was presented.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "registry/identity_registry.hpp"
#include "registry/principal.hpp"
#include "server/response.hpp"

namespace modelrelay::server {

struct app;
struct request_context;

// Runs f() on `pool` (slow work such as bcrypt) and resumes the caller on its own executor with the result.
template <class F>
boost::asio::awaitable<std::invoke_result_t<F>> on_pool(boost::asio::thread_pool& pool, F f) {
    using R = std::invoke_result_t<F>;
    auto initiation = [](auto handler, boost::asio::thread_pool* p, F fn) {
        boost::asio::post(*p, [h = std::move(handler), fn = std::move(fn)]() mutable {
            R r = fn();
            auto ex = boost::asio::get_associated_executor(h);
            boost::asio::dispatch(ex, [h = std::move(h), r = std::move(r)]() mutable {
                std::move(h)(std::move(r));
            });
        });
    };
    co_return co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(R)>(
        initiation, boost::asio::use_awaitable, &pool, std::move(f)
    );
}

// Which envelope a request's errors use (security.md §8 preamble).
enum class front_door { opensearch, elasticsearch, openai };
front_door door_of(std::string_view path);

// Failed-login throttling (security.md §2.6 auth_failure_listeners: per IP and per user name). Thread-safe.
class auth_throttle {
public:
    struct limits {
        int allowed_tries = 10;
        std::chrono::seconds time_window{3600};
        std::chrono::seconds block_expiry{600};
        std::size_t max_tracked = 100000;
    };
    using clock_fn = std::function<std::chrono::steady_clock::time_point()>;
    explicit auth_throttle(limits l, clock_fn clock = {});

    bool blocked(std::string_view key);
    // Returns true when this failure blocked the key: `allowed_tries` failures within the last
    // `time_window` (a sliding window, as the Security plugin's HeapBasedRateTracker keeps the times of the
    // last failures). A success resets nothing: only a block does, so logging in with one account now and
    // then does not buy an address more guesses at another.
    bool record_failure(std::string_view key);

private:
    struct entry {
        std::deque<std::chrono::steady_clock::time_point> failures;  // at most allowed_tries, oldest first
        std::chrono::steady_clock::time_point blocked_until{};
    };
    limits limits_;
    clock_fn clock_;
    std::mutex mutex_;
    std::unordered_map<std::string, entry> entries_;
};

// Audit trail (R25): one JSON line per event in DATA_DIR/audit.log; never a credential.
class audit_log {
public:
    explicit audit_log(std::string path);
    void record(
        std::string_view category,
        const registry::principal* who,
        std::string_view remote_address,
        std::string_view action,
        std::string_view resource_id = {},
        std::string_view detail = {}
    );

private:
    std::string path_;
    std::mutex mutex_;
    int fd_ = -1;
};

// `who` is null when authentication failed; the other fields pick the 401 wording (never what was presented
// as a secret: a key id and a user name are identifiers, which Elasticsearch echoes too). The `{}` let a
// designated initialiser name only the field it sets without -Wmissing-field-initializers.
struct auth_outcome {
    std::shared_ptr<const registry::principal> who{};
    std::string bad_key_id{};
    std::string bad_user{};
    bool blocked = false;
};

struct security_options {
    bool enabled = false;
    bool strict_write_acl = true;
    auth_throttle::limits throttle;
    std::chrono::minutes cache_ttl{60};
};

class security {
public:
    security(
        security_options opts, std::unique_ptr<registry::identity_registry> identity, std::string audit_path
    );
    ~security();

    bool enabled() const { return opts_.enabled; }
    bool strict_write_acl() const { return opts_.strict_write_acl; }
    registry::identity_registry& identity() { return *identity_; }
    audit_log& audit() { return audit_; }
    boost::asio::thread_pool& hash_pool() { return hash_pool_; }
    // Drops every cached verification (user or key changes call it).
    void invalidate_cache();

    // Authenticates ctx (security on only).
    boost::asio::awaitable<auth_outcome> authenticate(request_context& ctx);

    // The 401 each front door answers (R3). `bad_key_id` / `bad_user` select Elasticsearch's wording.
    static http_response unauthorized(
        front_door door,
        std::string_view target,
        std::string_view bad_key_id,
        std::string_view bad_user,
        bool blocked
    );

private:
    struct cached {
        std::shared_ptr<const registry::principal> who;
        std::uint64_t generation;
        std::chrono::steady_clock::time_point expires;
    };
    std::optional<registry::principal> cert_principal(
        const request_context& ctx, const registry::identity_state& s
    );
    std::optional<std::shared_ptr<const registry::principal>> cache_get(
        const std::string& digest, std::uint64_t gen
    );
    void cache_put(
        const std::string& digest, std::shared_ptr<const registry::principal> who, std::uint64_t gen
    );

    security_options opts_;
    std::unique_ptr<registry::identity_registry> identity_;
    audit_log audit_;
    auth_throttle ip_throttle_;
    auth_throttle user_throttle_;
    boost::asio::thread_pool hash_pool_{1};
    std::mutex cache_mutex_;
    std::unordered_map<std::string, cached> cache_;
};

}  // namespace modelrelay::server
