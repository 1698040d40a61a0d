// File: pool.hpp
// Keep-alive pool of upstream connections, keyed by (scheme, host, port, TLS verification, TLS identity).
// Each scope (a model) may hold at most its connector's `max_connection` leases at once, as ml-commons
// gives every model its own client; a request that finds its scope at that bound waits for one of the
// scope's leases to end, and fails with the ml-commons pool-exhaustion error (429) when the wait exceeds its
// timeout. Idle connections are shared by the scopes of a key, reused most-recent-first and dropped after
// `idle_ttl`, so models behind one host do not each keep their own sockets open.
//
// @par Thread safety
// All members may be called concurrently from any thread. One mutex guards the table and is never held
// across a co_await; waiters are woken through a concurrent channel, so a slot freed on one io thread
// wakes a coroutine on another.
//
// @par Object lifetimes
// The pool must outlive every lease. A lease is move-only and gives its slot back when destroyed: the
// connection is closed (never pooled) unless recycle() was called after a complete exchange.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <variant>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "registry/error.hpp"

namespace modelrelay::server::upstream {

struct connection;

struct pool_key {
    bool tls = false;
    std::string host;  // canonical host (lower-case name or canonical IP text)
    unsigned short port = 0;
    bool skip_verification = false;
    // tls_identity::id() of the connector's own TLS context (0: the process-wide one), so connections
    // made with different client certificates or trust settings are never shared.
    std::uint64_t tls_identity = 0;
    // client_options::pool_scope: whose concurrency limit a lease counts against. Idle connections are
    // shared by every scope of the same host, port and TLS settings.
    std::uint64_t scope = 0;
    friend bool operator==(const pool_key&, const pool_key&) = default;
};

// The pool's table is per host: its hash and equality leave the scope out, so a lookup needs no copy of the
// key with the scope cleared.
struct pool_key_hash {
    std::size_t operator()(const pool_key& k) const;
};
struct pool_same_host {
    bool operator()(const pool_key& a, const pool_key& b) const {
        return a.tls == b.tls && a.port == b.port && a.skip_verification == b.skip_verification &&
               a.tls_identity == b.tls_identity && a.host == b.host;
    }
};

struct pool_stats {
    std::size_t idle = 0;     // pooled, ready for reuse
    std::size_t in_use = 0;   // leased (including connections being established)
    std::size_t waiting = 0;  // requests waiting for a slot
};

// The ml-commons text for pool exhaustion (AWS SDK NettyUtils, first paragraph), mapped to 429 (PR #4852).
inline constexpr std::string_view acquire_timeout_message =
    "Error communicating with remote model: Acquire operation took longer than the configured maximum time. "
    "This indicates that a request cannot get a connection from the pool within the specified maximum time. "
    "This can be due to high request rate.";

class pool {
    struct entry;
    struct scope_state;
    struct waiter;

public:
    class lease {
    public:
        lease() = default;
        lease(lease&& other) noexcept;
        lease& operator=(lease&& other) noexcept;
        ~lease();

        // The pooled connection, or null when the caller must establish one and attach() it.
        connection* get() const { return conn_.get(); }
        bool reused() const { return reused_; }
        void attach(std::unique_ptr<connection> c);
        // Returns the connection to the pool for reuse (only after a complete, keep-alive exchange).
        void recycle();
        // Closes the connection and frees the slot.
        void discard();
        // Closes the connection but keeps the slot, to reconnect (stale keep-alive connection).
        void drop_connection();

    private:
        friend class pool;
        lease(pool* p, entry* e, scope_state* s, std::unique_ptr<connection> c, bool reused);

        pool* pool_ = nullptr;
        entry* entry_ = nullptr;
        scope_state* scope_ = nullptr;
        std::unique_ptr<connection> conn_;
        bool reused_ = false;
    };

    explicit pool(std::chrono::milliseconds idle_ttl);
    ~pool();
    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;

    // A slot of `key`, in two parts, so that a caller who finds one free (the usual case) takes no
    // coroutine frame for it: try_acquire() hands over a slot at once or queues the caller (`caller`: the
    // executor its connection's I/O should preferably be bound to) and returns its place in the queue,
    // which await_slot() then waits on for up to `timeout`. A ticket must be awaited: until then it holds
    // a place in the queue. Error: errc::too_many_requests, acquire_timeout_message.
    // `local_first` (thread-confined clients): when no idle connection is bound to the caller's executor, a
    // new one is opened while the limit allows, rather than borrowing another thread's idle connection
    // (whose every read and write would then hop to that thread and back).
    class ticket {
        friend class pool;
        std::shared_ptr<waiter> waiter_;
        entry* entry_ = nullptr;
        scope_state* scope_ = nullptr;
    };
    std::variant<lease, ticket> try_acquire(
        const pool_key& key,
        int max_connections,
        const boost::asio::any_io_executor& caller,
        bool local_first = false
    );
    boost::asio::awaitable<registry::result<lease>> await_slot(ticket t, std::chrono::milliseconds timeout);

    pool_stats stats() const;

private:
    void give_back(entry* e, scope_state* s, std::unique_ptr<connection> c, bool reusable);

    std::chrono::milliseconds idle_ttl_;
    mutable std::mutex mutex_;
    // Keyed without the scope; never erased.
    std::unordered_map<pool_key, std::unique_ptr<entry>, pool_key_hash, pool_same_host> entries_;
};

}  // namespace modelrelay::server::upstream
