// File: server.cpp
#include "server/server.hpp"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include "registry/settings.hpp"
#include "server/app.hpp"
#include "server/handlers/handlers.hpp"
#include "server/io_loop.hpp"
#include "server/key_gate.hpp"
#include "server/log.hpp"
#include "server/security.hpp"
#include "server/security_setup.hpp"
#include "server/session.hpp"
#include "server/tls_context.hpp"
#include "server/upstream/client.hpp"
#include "server/upstream/static_resolver.hpp"
#include "server/upstream/tls_identity.hpp"

namespace modelrelay::server {

namespace net = boost::asio;
using net::ip::tcp;

app::app(config c, net::io_context& io, net::any_io_executor store_ex)
    : cfg(std::move(c)), ioc(io), store_executor(std::move(store_ex)) {}

app::~app() {
    stop_scripts();
}

net::any_io_executor app::script_executor() {
    const std::lock_guard lock(scripts_mutex_);
    if (!scripts_) {
        scripts_ = std::make_unique<net::thread_pool>(
            cfg.threads != 0 ? cfg.threads : std::max(1U, std::thread::hardware_concurrency())
        );
    }
    return scripts_->get_executor();
}

void app::stop_scripts() {
    std::unique_ptr<net::thread_pool> pool;
    {
        const std::lock_guard lock(scripts_mutex_);
        pool = std::move(scripts_);
    }
    if (pool) {
        pool->join();
    }
}

namespace {

constexpr auto use_nothrow = net::as_tuple(net::use_awaitable);

// The HTTPS listener's context. SIGHUP builds a new one from the same files and swaps it in; each
// connection takes the one current when it is accepted and keeps it to its end.
struct listener_tls {
    std::atomic<std::shared_ptr<net::ssl::context>> current;
};

// `tls`: the HTTPS listener's context, or null for plain HTTP. `workers`: one single-threaded io_context
// per I/O thread; connections are dealt round-robin, and a session with its upstream connections stays
// on its thread (no strand needed, no hop between threads).
net::awaitable<void> accept_loop(
    app& a, tcp::acceptor& acceptor, listener_tls* tls, const std::vector<net::io_context*>& workers
) {
    std::size_t next = 0;
    for (;;) {
        auto worker = workers[next++ % workers.size()]->get_executor();
        auto [ec, socket] = co_await acceptor.async_accept(worker, use_nothrow);
        if (ec) {
            if (ec == net::error::operation_aborted || a.stopping.load()) {
                co_return;
            }
            // Out of descriptors and similar: back off briefly instead of spinning.
            net::steady_timer t(co_await net::this_coro::executor, std::chrono::milliseconds(50));
            co_await t.async_wait(use_nothrow);
            continue;
        }
        if (a.connections.load() >= a.cfg.max_connections) {
            boost::system::error_code ignored;
            socket.close(ignored);
            continue;
        }
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        a.connections.fetch_add(1);
        auto ex = socket.get_executor();
        // A named non-coroutine lambda returning the awaitable (gcc bug 107288 workaround, see style.md).
        auto session_logic =
            [&a, ctx = tls != nullptr ? tls->current.load() : nullptr, s = std::move(socket)]() mutable {
                return ctx != nullptr ? run_tls_session(a, std::move(s), std::move(ctx))
                                      : run_session(a, std::move(s));
            };
        net::co_spawn(ex, std::move(session_logic), [&a](std::exception_ptr e) {
            a.connections.fetch_sub(1);
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    log::error("session failed", {{"what", ex.what()}});
                }
            }
        });
    }
}

// The sync-up job of ml-commons (spec §6.4): undeploys models idle past their model_ttl_minutes. An
// interval of 0 stops the job, as MLCommonsClusterManagerEventListener does (no TTL undeploy at all); the
// setting is dynamic, so a stopped job looks at it again every second.
net::awaitable<void> ttl_sweeper(app& a) {
    // Looks at the setting every second: as ml-commons cancels and restarts its cron when
    // sync_up_job_interval_in_seconds changes, a new interval counts from the moment it is seen, so
    // lowering it takes effect at once instead of after the old interval ran out.
    net::steady_timer t(co_await net::this_coro::executor);
    long long interval = a.registry->current()->settings->sync_up_job_interval_seconds();
    auto last_run = std::chrono::steady_clock::now();
    while (!a.stopping.load()) {
        t.expires_after(std::chrono::seconds(1));
        auto [ec] = co_await t.async_wait(use_nothrow);
        if (ec || a.stopping.load()) {
            co_return;
        }
        const auto now = std::chrono::steady_clock::now();
        if (const auto current = a.registry->current()->settings->sync_up_job_interval_seconds();
            current != interval) {
            interval = current;
            last_run = now;
            continue;
        }
        // Half a tick of slack: the ticks drift, and a 1 s interval must not become 2 s.
        if (interval <= 0 ||
            now - last_run + std::chrono::milliseconds(500) < std::chrono::seconds(interval)) {
            continue;
        }
        last_run = now;
        auto& reg = *a.registry;
        auto op = [&reg] {
            return reg.undeploy_idle(reg.now_ms());
        };
        const auto n = co_await on_store(a, std::move(op));
        if (n > 0) {
            log::info("undeployed idle models", {{"count", static_cast<long long>(n)}});
        }
    }
}

net::awaitable<void> drain_then_stop(
    app& a, tcp::acceptor& acceptor, const std::vector<net::io_context*>& workers
) {
    a.stopping.store(true);
    boost::system::error_code ignored;
    acceptor.close(ignored);
    const auto deadline = std::chrono::steady_clock::now() + a.cfg.shutdown_grace;
    net::steady_timer t(co_await net::this_coro::executor);
    while (a.in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
        t.expires_after(std::chrono::milliseconds(20));
        co_await t.async_wait(use_nothrow);
    }
    if (a.in_flight.load() > 0) {
        log::warn("shutdown grace expired", {{"in_flight", static_cast<long long>(a.in_flight.load())}});
    }
    a.io_finished.store(true, std::memory_order_release);
    for (auto* w : workers) {
        w->stop();
    }
}

}  // namespace

int run_server(const config& cfg) {
    log::set_format(cfg.log);
    const unsigned threads =
        cfg.threads != 0 ? cfg.threads : std::max(1U, std::thread::hardware_concurrency());

    // --setting values one by one, so the error names the setting (the registry's texts are OpenSearch's,
    // which often do not), and before anything touches the data directory.
    for (const auto& kv : cfg.node_settings) {
        auto checked =
            registry::cluster_settings().with_node_settings(boost::json::object{{kv.key(), kv.value()}});
        if (!checked) {
            log::error("invalid --setting", {{"setting", kv.key()}, {"reason", checked.error().reason}});
            return 2;
        }
    }

    // TLS files are checked before anything touches the data directory.
    std::unique_ptr<listener_tls> tls;
    if (cfg.tls.enabled()) {
        auto made = make_listener_tls_context(cfg.tls);
        if (!made) {
            log::error("cannot set up TLS", {{"reason", made.error().reason}});
            return 1;
        }
        tls = std::make_unique<listener_tls>();
        tls->current.store(std::shared_ptr<net::ssl::context>(std::move(*made)));
    }

    net::io_context store_ioc(1);
    auto store_work = net::make_work_guard(store_ioc);
    std::thread store_thread([&] { store_ioc.run(); });
    auto stop_store = [&] {
        store_work.reset();
        store_thread.join();
    };

    // Outbound TLS and resolution are settled first: deploying at start-up builds connector TLS contexts.
    upstream::client_config ucfg;
    ucfg.extra_ca_file = cfg.upstream_ca_file;
    if (const char* spec = std::getenv(upstream::test_resolve_env.data()); spec != nullptr && *spec != '\0') {
        auto resolver = upstream::parse_static_resolver(spec);
        if (!resolver) {
            log::error("cannot parse MODELRELAY_TEST_RESOLVE", {{"reason", resolver.error().reason}});
            stop_store();
            return 1;
        }
        ucfg.resolver = std::move(*resolver);
        log::warn("MODELRELAY_TEST_RESOLVE replaces DNS for upstream calls (a test seam)");
    }
    // The trust store (the system CA bundle: ~35 ms of CPU to parse) is loaded when first needed: by the
    // first HTTPS connection, a connector with its own TLS settings being deployed, or the warm-up thread
    // started once the port is open. On two cores, loading it during start-up delayed the registry load.
    // An unreadable extra CA file is still refused at start-up (it alone is quick to read).
    if (!ucfg.extra_ca_file.empty()) {
        upstream::client_config only_file = ucfg;
        only_file.use_system_ca_store = false;
        try {
            upstream::load_trust_store(only_file);
        } catch (const std::exception& e) {
            log::error("cannot set up the upstream client", {{"reason", e.what()}});
            stop_store();
            return 1;
        }
    }
    auto trust_store =
        std::async(std::launch::deferred, [ucfg] { return upstream::load_trust_store(ucfg); }).share();
    ucfg.trust_store = trust_store;
    registry::service_options opts;
    opts.tls_contexts = upstream::make_tls_context_factory(trust_store);
    opts.data_dir = cfg.data_dir;
    opts.kek_file = cfg.kek_file;
    // The registry's notices that start with "warning:" are warnings (an empty database next to an existing
    // key file): logged at warn level, where alerting looks.
    opts.notice = [](const std::string& message) {
        if (message.starts_with("warning: ")) {
            log::warn(message.substr(9));
        } else {
            log::info(message);
        }
    };
    opts.sync = cfg.sync_full ? registry::durability::full : registry::durability::normal;
    opts.node_settings = cfg.node_settings;
    if (cfg.multi_tenancy) {
        opts.node_settings["plugins.ml_commons.multi_tenancy_enabled"] = true;
    }
    opts.strict_write_acl = cfg.strict_write_acl;
    opts.load_threads = cfg.startup_threads;
    auto svc = registry::service::open(std::move(opts));
    if (!svc) {
        log::error("cannot open the registry", {{"reason", svc.error().reason}});
        stop_store();
        return 1;
    }
    // A port file left by an earlier run (killed, or failed after this point) must not announce a port
    // nobody listens on; with the data directory locked, no live server of ours owns it.
    if (!cfg.port_file.empty()) {
        std::error_code ec;
        std::filesystem::remove(cfg.port_file, ec);
    }

    // One io_context per I/O thread (as nginx workers): the first also runs the acceptor, the signals
    // and the TTL sweeper. The work guards keep a thread with no session alive.
    std::vector<std::unique_ptr<net::io_context>> contexts;
    std::vector<net::io_context*> workers;
    std::vector<net::executor_work_guard<net::io_context::executor_type>> keep_running;
    for (unsigned i = 0; i < threads; ++i) {
        contexts.push_back(std::make_unique<net::io_context>(1));
        workers.push_back(contexts.back().get());
        keep_running.push_back(net::make_work_guard(*contexts.back()));
    }
    net::io_context& ioc = *contexts.front();
    ucfg.thread_confined = true;
    app a(cfg, ioc, store_ioc.get_executor());
    a.registry = std::move(*svc);
    a.routes = std::make_unique<router>(handlers::all_routes());
    try {
        a.upstream = std::make_unique<upstream::client>(ioc.get_executor(), ucfg);
    } catch (const std::exception& e) {
        log::error("cannot set up the upstream client", {{"reason", e.what()}});
        a.registry.reset();
        stop_store();
        return 1;
    }
    a.cluster_uuid = a.registry->cluster_uuid();
    if (auto sec = open_security(cfg); sec) {
        a.sec = std::move(*sec);
    } else {
        log::error("cannot set up security", {{"reason", sec.error().reason}});
        a.upstream.reset();
        a.registry.reset();
        stop_store();
        return 1;
    }
    if (a.sec->enabled()) {
        auto keys = key_gate::open(
            a,
            cfg.data_dir / "key_usage.db",
            cfg.sync_full ? registry::durability::full : registry::durability::normal,
            *a.sec->identity().current()
        );
        if (!keys) {
            log::error("cannot open the API key usage store", {{"reason", keys.error().reason}});
            a.upstream.reset();
            a.registry.reset();
            stop_store();
            return 1;
        }
        a.keys = std::move(*keys);
    }

    tcp::acceptor acceptor(ioc);
    try {
        const auto addr =
            net::ip::make_address(cfg.listen_host == "localhost" ? "127.0.0.1" : cfg.listen_host);
        const tcp::endpoint ep(addr, cfg.listen_port);
        acceptor.open(ep.protocol());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        acceptor.bind(ep);
        acceptor.listen(net::socket_base::max_listen_connections);
    } catch (const std::exception& e) {
        log::error(
            "cannot listen", {{"address", cfg.listen_host}, {"port", cfg.listen_port}, {"reason", e.what()}}
        );
        a.registry.reset();
        stop_store();
        return 1;
    }
    const auto bound = acceptor.local_endpoint();
    a.self_endpoints.push_back(bound);
    if (!cfg.port_file.empty()) {
        const std::string tmp = cfg.port_file + ".tmp";
        std::ofstream(tmp) << bound.port() << '\n';
        std::rename(tmp.c_str(), cfg.port_file.c_str());
    }
    log::info(
        "modelrelay listening",
        {{"address", bound.address().to_string()},
         {"port", static_cast<long long>(bound.port())},
         {"threads", static_cast<long long>(threads)},
         {"data_dir", cfg.data_dir.string()},
         {"scheme", tls ? "https" : "http"},
         {"client_auth",
          cfg.tls.client_auth == tls_client_auth::require    ? "require"
          : cfg.tls.client_auth == tls_client_auth::optional ? "optional"
                                                             : "none"}}
    );

    // Loads the trust store now that start-up is done, so the first HTTPS call rarely waits for it. A
    // failure is reported by the call that needs the store.
    std::thread trust_warm_up([trust_store] { trust_store.wait(); });

    net::co_spawn(ioc, accept_loop(a, acceptor, tls.get(), workers), net::detached);
    net::co_spawn(ioc, ttl_sweeper(a), net::detached);
    // SIGHUP reloads the listener's certificate, key and client CA (rotated certificates are taken without
    // a restart); a reload that fails keeps the current ones. Without TLS there is nothing to reload, and
    // SIGHUP no longer ends the process either.
    net::signal_set hangup(ioc, SIGHUP);
    std::function<void(const boost::system::error_code&, int)> on_hangup =
        [&](const boost::system::error_code& ec, int) {
            if (ec) {
                return;
            }
            if (tls) {
                auto made = make_listener_tls_context(cfg.tls);
                if (made) {
                    tls->current.store(std::shared_ptr<net::ssl::context>(std::move(*made)));
                    log::info("TLS certificate reloaded", {{"cert", cfg.tls.cert_file}});
                } else {
                    log::error(
                        "TLS reload failed; the current certificate stays in use",
                        {{"reason", made.error().reason}}
                    );
                }
            } else {
                log::info("SIGHUP ignored: no TLS listener to reload");
            }
            hangup.async_wait(on_hangup);
        };
    hangup.async_wait(on_hangup);
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
        if (ec) {
            return;
        }
        hangup.cancel();
        log::info("shutting down", {{"signal", static_cast<long long>(sig)}});
        net::co_spawn(ioc, drain_then_stop(a, acceptor, workers), net::detached);
    });

    std::vector<std::thread> pool;
    for (unsigned i = 1; i < threads; ++i) {
        pool.emplace_back([w = workers[i], &cfg, &a] {
            run_io(*w, {cfg.busy_poll, cfg.busy_poll_upstream}, a.io_finished);
        });
    }
    run_io(ioc, {cfg.busy_poll, cfg.busy_poll_upstream}, a.io_finished);
    for (auto& t : pool) {
        t.join();
    }
    trust_warm_up.join();
    a.stop_scripts();
    // Writes already queued on the store finish before the store closes.
    stop_store();
    a.upstream.reset();
    if (!cfg.port_file.empty()) {
        std::error_code ec;
        std::filesystem::remove(cfg.port_file, ec);
    }
    a.registry.reset();
    log::info("stopped");
    return 0;
}

}  // namespace modelrelay::server
