// File: app.hpp
// Everything a request may reach: configuration, the registry, the outbound client and the executors.
// Owned by run_server(); handlers get it by reference through request_context.
#pragma once

#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "registry/ml_stats.hpp"
#include "registry/service.hpp"
#include "server/config.hpp"
#include "server/router.hpp"
#include "server/write_queue.hpp"

namespace boost::asio {
class thread_pool;
}

namespace modelrelay::server {

namespace upstream {
class client;
}
class security;
class key_gate;

struct app {
    config cfg;
    boost::asio::io_context& ioc;
    boost::asio::any_io_executor store_executor;  // one thread: all registry writes
    std::unique_ptr<registry::service> registry;
    write_queue writes{registry, store_executor};  // the handlers' registry writes (group commit)
    std::unique_ptr<upstream::client> upstream;
    std::unique_ptr<router> routes;
    std::unique_ptr<server::security> sec;  // always set once running; sec->enabled() tells the mode
    std::unique_ptr<key_gate> keys;         // API-key limits (key_gate.hpp); null when security is off
    std::string cluster_uuid;
    registry::ml_stats stats;  // the stats API's counters (registry/ml_stats.hpp)
    std::vector<boost::asio::ip::tcp::endpoint> self_endpoints;  // our listeners: never an upstream
    std::atomic<std::size_t> connections{0};
    std::atomic<std::size_t> in_flight{0};
    std::atomic<bool> stopping{false};
    std::atomic<bool> io_finished{false};  // set just before the I/O threads' io_contexts are stopped

    app(config c, boost::asio::io_context& io, boost::asio::any_io_executor store_ex);
    ~app();

    // Where connector Painless scripts run (on_scripts). A runaway script holds its thread until the step
    // limit stops it (about 0.1 s); on an I/O thread that stalled every connection of the thread. The
    // pool is started by the first script, so a registry without scripts has no extra threads.
    boost::asio::any_io_executor script_executor();
    // Lets running scripts finish and joins the pool (no-op when it never started). Called once the I/O
    // threads have stopped: a script's answer is then dropped with its request.
    void stop_scripts();

private:
    std::mutex scripts_mutex_;
    std::unique_ptr<boost::asio::thread_pool> scripts_;
};

// Runs `f()` on `ex` and resumes the calling coroutine on its own executor with the result. Exceptions
// thrown by f are rethrown in the caller (they are bugs; the handler boundary turns them into 500s).
template <class F>
boost::asio::awaitable<std::invoke_result_t<F>> run_on(boost::asio::any_io_executor ex, F f) {
    using R = std::invoke_result_t<F>;
    auto initiation = [](auto handler, boost::asio::any_io_executor on, F fn) {
        boost::asio::post(on, [h = std::move(handler), fn = std::move(fn)]() mutable {
            std::exception_ptr ep;
            std::optional<R> r;
            try {
                r.emplace(fn());
            } catch (...) {
                ep = std::current_exception();
            }
            auto back = boost::asio::get_associated_executor(h);
            boost::asio::dispatch(back, [h = std::move(h), ep, r = std::move(r)]() mutable {
                std::move(h)(ep, std::move(r));
            });
        });
    };
    auto out = co_await boost::asio::
        async_initiate<const boost::asio::use_awaitable_t<>&, void(std::exception_ptr, std::optional<R>)>(
            initiation, boost::asio::use_awaitable, std::move(ex), std::move(f)
        );
    co_return std::move(*out);
}

// Runs `f()` on the store executor (run_on).
template <class F>
boost::asio::awaitable<std::invoke_result_t<F>> on_store(app& a, F f) {
    return run_on(a.store_executor, std::move(f));
}

// Runs `f()`, work that may run a connector's Painless script, on the script pool (run_on).
template <class F>
boost::asio::awaitable<std::invoke_result_t<F>> on_scripts(app& a, F f) {
    return run_on(a.script_executor(), std::move(f));
}

// Runs the registry write `f` (returning registry::result<T>) on the store executor through the write
// queue, so it may share its commit with writes that arrive at the same time (write_queue.hpp); resumes the
// caller on its own executor once the write is committed or has failed.
template <class F>
boost::asio::awaitable<std::invoke_result_t<F>> on_store_write(app& a, F f) {
    using R = std::invoke_result_t<F>;
    auto initiation = [](auto handler, write_queue* q, F fn) {
        using job = write_queue_detail::job_for<F, decltype(handler)>;
        q->push(std::make_unique<job>(std::move(fn), std::move(handler)));
    };
    auto out = co_await boost::asio::
        async_initiate<const boost::asio::use_awaitable_t<>&, void(std::exception_ptr, std::optional<R>)>(
            initiation, boost::asio::use_awaitable, &a.writes, std::move(f)
        );
    co_return std::move(*out);
}

}  // namespace modelrelay::server
