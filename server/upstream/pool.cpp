// File: pool.cpp
// Slot accounting and hand-off of the upstream keep-alive pool. A freed slot goes straight to the oldest
// waiter (with its connection when reusable), so waiters are served in order and a slot is never lost
// between the release and the wake-up.
#include "server/upstream/pool.hpp"

#include <algorithm>
#include <variant>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/container_hash/hash.hpp>

#include "server/upstream/connection.hpp"

namespace modelrelay::server::upstream {

namespace asio = boost::asio;

void close_on_strand(std::unique_ptr<connection> c) {
    if (!c) {
        return;
    }
    auto ex = c->strand;
    asio::post(ex, [c = std::move(c)]() mutable { c.reset(); });
}

std::size_t pool_key_hash::operator()(const pool_key& k) const {
    std::size_t h = std::hash<std::string>{}(k.host);
    boost::hash_combine(h, k.port);
    boost::hash_combine(h, k.tls);
    boost::hash_combine(h, k.skip_verification);
    boost::hash_combine(h, k.tls_identity);
    return h;
}

struct pool::waiter {
    explicit waiter(asio::any_io_executor ex) : ready(std::move(ex), 1) {}
    // Capacity 1: a grant sent before the waiter starts receiving is not lost.
    asio::experimental::concurrent_channel<void(boost::system::error_code)> ready;
    bool granted = false;              // guarded by pool::mutex_
    std::unique_ptr<connection> conn;  // guarded by pool::mutex_; null = a slot to connect with
};

// One model's share of a host: its leases and the callers waiting for one of them to end.
struct pool::scope_state {
    int leased = 0;
    std::deque<std::shared_ptr<waiter>> waiters;  // oldest first
};

struct pool::entry {
    std::deque<std::unique_ptr<connection>> idle;  // oldest first
    int total = 0;                                 // idle + leased
    std::unordered_map<std::uint64_t, std::unique_ptr<scope_state>> scopes;
};

// ---- lease -----------------------------------------------------------------------------------------

pool::lease::lease(pool* p, entry* e, scope_state* s, std::unique_ptr<connection> c, bool reused)
    : pool_(p), entry_(e), scope_(s), conn_(std::move(c)), reused_(reused) {}

pool::lease::lease(lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      entry_(std::exchange(other.entry_, nullptr)),
      scope_(std::exchange(other.scope_, nullptr)),
      conn_(std::move(other.conn_)),
      reused_(other.reused_) {}

pool::lease& pool::lease::operator=(lease&& other) noexcept {
    if (this != &other) {
        discard();
        pool_ = std::exchange(other.pool_, nullptr);
        entry_ = std::exchange(other.entry_, nullptr);
        scope_ = std::exchange(other.scope_, nullptr);
        conn_ = std::move(other.conn_);
        reused_ = other.reused_;
    }
    return *this;
}

pool::lease::~lease() {
    discard();
}

void pool::lease::attach(std::unique_ptr<connection> c) {
    close_on_strand(std::move(conn_));
    conn_ = std::move(c);
    reused_ = false;
}

void pool::lease::recycle() {
    if (pool_) {
        const bool reusable = conn_ != nullptr;
        std::exchange(pool_, nullptr)->give_back(entry_, scope_, std::move(conn_), reusable);
    }
}

void pool::lease::discard() {
    if (pool_) {
        std::exchange(pool_, nullptr)->give_back(entry_, scope_, std::move(conn_), false);
    }
}

void pool::lease::drop_connection() {
    close_on_strand(std::move(conn_));
    reused_ = false;
}

// ---- pool ------------------------------------------------------------------------------------------

pool::pool(std::chrono::milliseconds idle_ttl) : idle_ttl_(idle_ttl) {}

pool::~pool() {
    // No lease may be alive here, so idle connections have no operation in flight: destroy them
    // directly (the io_context may already be stopped, and then a post would never run).
    std::lock_guard lock(mutex_);
    entries_.clear();
}

std::variant<pool::lease, pool::ticket> pool::try_acquire(
    const pool_key& key, int max_connections, const asio::any_io_executor& caller, bool local_first
) {
    std::vector<std::unique_ptr<connection>> expired;
    std::optional<lease> ready;
    ticket queued;
    {
        std::lock_guard lock(mutex_);
        auto& slot = entries_[key];  // per host: the scope is not part of the table's key
        if (!slot) {
            slot = std::make_unique<entry>();
        }
        entry* e = slot.get();
        auto& scope_slot = e->scopes[key.scope];
        if (!scope_slot) {
            scope_slot = std::make_unique<scope_state>();
        }
        scope_state* s = scope_slot.get();
        const auto now = std::chrono::steady_clock::now();
        while (!e->idle.empty() && now - e->idle.front()->idle_since >= idle_ttl_) {
            expired.push_back(std::move(e->idle.front()));
            e->idle.pop_front();
            --e->total;
        }
        // Most recently used first (least likely to be stale), preferring one bound to the caller's
        // executor: with one io_context per thread its I/O then needs no hop to another thread.
        const auto local = std::find_if(e->idle.rbegin(), e->idle.rend(), [&caller](const auto& c) {
            return c->strand == caller;
        });
        // max_connection bounds the scope's leases (ml-commons: each model's own client); the idle
        // connections of the host are anyone's.
        if (s->leased >= std::max(max_connections, 1)) {
            queued.waiter_ = std::make_shared<waiter>(caller);
            queued.entry_ = e;
            queued.scope_ = s;
            s->waiters.push_back(queued.waiter_);
        } else if (!e->idle.empty() && (local != e->idle.rend() || !local_first || e->total >= std::max(max_connections, 1))) {
            // A thread with no idle connection of its own opens one only while the host holds fewer
            // connections than the limit; past it, it borrows.
            ++s->leased;
            auto pick = local == e->idle.rend() ? std::prev(e->idle.end()) : std::prev(local.base());
            auto c = std::move(*pick);
            e->idle.erase(pick);
            ready.emplace(lease(this, e, s, std::move(c), true));
        } else {
            ++s->leased;
            ++e->total;
            ready.emplace(lease(this, e, s, nullptr, false));
        }
    }
    for (auto& c : expired) {
        close_on_strand(std::move(c));
    }
    if (ready) {
        return std::move(*ready);
    }
    return queued;
}

asio::awaitable<registry::result<pool::lease>> pool::await_slot(ticket t, std::chrono::milliseconds timeout) {
    const auto ex = co_await asio::this_coro::executor;
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(ex);
    timer.expires_after(timeout);
    co_await (
        t.waiter_->ready.async_receive(asio::as_tuple(asio::use_awaitable)) ||
        timer.async_wait(asio::as_tuple(asio::use_awaitable))
    );

    std::lock_guard lock(mutex_);
    if (t.waiter_->granted) {
        const bool reused = t.waiter_->conn != nullptr;
        co_return lease(this, t.entry_, t.scope_, std::move(t.waiter_->conn), reused);
    }
    auto& waiters = t.scope_->waiters;
    waiters.erase(std::find(waiters.begin(), waiters.end(), t.waiter_));
    co_return registry::error(registry::errc::too_many_requests, std::string(acquire_timeout_message));
}

void pool::give_back(entry* e, scope_state* s, std::unique_ptr<connection> c, bool reusable) {
    std::shared_ptr<waiter> wake;
    std::unique_ptr<connection> to_close;
    {
        std::lock_guard lock(mutex_);
        if (reusable) {
            c->idle_since = std::chrono::steady_clock::now();
        }
        if (!s->waiters.empty()) {
            // The lease passes to the scope's oldest waiter; neither count changes.
            wake = std::move(s->waiters.front());
            s->waiters.pop_front();
            wake->granted = true;
            if (reusable) {
                wake->conn = std::move(c);
            } else {
                to_close = std::move(c);
            }
        } else if (reusable) {
            --s->leased;
            e->idle.push_back(std::move(c));
        } else {
            --s->leased;
            to_close = std::move(c);
            --e->total;
        }
    }
    close_on_strand(std::move(to_close));
    if (wake) {
        wake->ready.try_send(boost::system::error_code{});
    }
}

pool_stats pool::stats() const {
    pool_stats s;
    std::lock_guard lock(mutex_);
    for (const auto& [key, e] : entries_) {
        s.idle += e->idle.size();
        s.in_use += static_cast<std::size_t>(e->total) - e->idle.size();
        for (const auto& [scope, st] : e->scopes) {
            s.waiting += st->waiters.size();
        }
    }
    return s;
}

}  // namespace modelrelay::server::upstream
