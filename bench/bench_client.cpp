// File: bench_client.cpp
// bench_client: the measurements bench/run cannot get from wrk. wrk only reports whole-response latency,
// so streaming (time to first SSE event, gaps between events), holding many streams open at once, filling
// the registry with a known number of objects, and timing start-up each need a client of their own. It
// is one single-threaded Asio event loop with C++20 coroutines, so the client itself stays cheap next to
// the processes it measures. It refuses any address other than loopback.
//
//   bench_client stream --config FILE [--count N] [--warmup N]
//       Runs N streams per target, alternating targets stream by stream (so drift hits all alike), on one
//       keep-alive connection per target. Prints JSON: per target, time to first event (from just before
//       the request is written) and the gaps between events ("data: [DONE]" excluded), in microseconds.
//       With --interval-us (the upstream's event interval), gaps under half of it count as batched.
//       A stream not finished after --timeout-ms (default 10000) is closed and counted as failed.
//   bench_client hold --config FILE --streams N [--ready-file F] [--timeout-s S] [--kind stream|request]
//       Opens N connections to the first target at once and sends the request on each. kind=stream: the
//       ready file is written when every stream has delivered its first event; kind=request: when every
//       request has been written. Then waits for all to finish (or the timeout). Prints JSON counts.
//   bench_client load --base URL --connector-body FILE [--model-body FILE] [--connectors N] [--models N]
//                     [--concurrency C] [--out-dir DIR]
//       Creates N connectors (POST /_plugins/_ml/connectors/_create), then registers N models with
//       POST /_plugins/_ml/models/_register?deploy=true, C requests in flight. `{i}` in a body becomes the
//       index and `{connector_id}` (model body) the i-th connector's id. Prints JSON rates; writes ids
//       to DIR/connectors.txt and DIR/models.txt.
//   bench_client wait --port-file F --t0-ns NS [--timeout-ms N]
//       Start-up time: waits for the port file, then for `GET /` to answer; prints both times in ms since
//       NS (CLOCK_REALTIME nanoseconds, taken by the caller just before it started the server).
//
// Config file: {"targets":[{"name":"direct","url":"http://127.0.0.1:8080/v1/chat/completions",
//               "method":"POST","body":"{...}","headers":{"Content-Type":"application/json"}}]}
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json.hpp>

namespace modelrelay::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using asio::awaitable;
using asio::use_awaitable;

// ---------------------------------------------------------------------------------------------------
// Targets

struct target {
    std::string name;
    std::string host;
    std::string port;
    std::string path;  // with the query
    http::verb method = http::verb::post;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

// Splits http://HOST:PORT/PATH; only loopback hosts are accepted (the harness must never send elsewhere).
void parse_url(std::string_view url, target& t) {
    constexpr std::string_view scheme = "http://";
    if (!url.starts_with(scheme)) {
        throw std::invalid_argument("only http:// URLs: " + std::string(url));
    }
    url.remove_prefix(scheme.size());
    const auto slash = url.find('/');
    const std::string_view authority = url.substr(0, slash);
    t.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
    const auto colon = authority.rfind(':');
    if (colon == std::string_view::npos) {
        throw std::invalid_argument("URL needs an explicit port: " + std::string(authority));
    }
    t.host = std::string(authority.substr(0, colon));
    t.port = std::string(authority.substr(colon + 1));
    if (t.host == "localhost") {
        t.host = "127.0.0.1";
    }
    if (t.host == "[::1]") {
        t.host = "::1";
    }
    const auto addr = asio::ip::make_address(t.host);
    if (!addr.is_loopback()) {
        throw std::invalid_argument("refusing a non-loopback address: " + t.host);
    }
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + path);
    }
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<target> load_targets(const std::string& config_path) {
    const json::value cfg = json::parse(read_file(config_path));
    std::vector<target> out;
    for (const auto& v : cfg.at("targets").as_array()) {
        const auto& o = v.as_object();
        target t;
        t.name = json::value_to<std::string>(o.at("name"));
        parse_url(json::value_to<std::string>(o.at("url")), t);
        if (const auto* m = o.if_contains("method")) {
            t.method = http::string_to_verb(json::value_to<std::string>(*m));
        }
        if (const auto* b = o.if_contains("body")) {
            t.body = json::value_to<std::string>(*b);
        }
        if (const auto* h = o.if_contains("headers")) {
            for (const auto& kv : h->as_object()) {
                t.headers.emplace_back(std::string(kv.key()), json::value_to<std::string>(kv.value()));
            }
        }
        out.push_back(std::move(t));
    }
    if (out.empty()) {
        throw std::invalid_argument("config has no targets");
    }
    return out;
}

http::request<http::string_body> make_request(const target& t, std::string body) {
    http::request<http::string_body> req{t.method, t.path, 11};
    req.set(http::field::host, t.host + ":" + t.port);
    req.set(http::field::user_agent, "bench_client");
    for (const auto& [k, v] : t.headers) {
        req.set(k, v);
    }
    if (t.method != http::verb::get || !body.empty()) {
        req.body() = std::move(body);
        req.prepare_payload();
    }
    req.keep_alive(true);
    return req;
}

// ---------------------------------------------------------------------------------------------------
// Statistics

struct stats {
    std::vector<double> v;
    void add(double x) { v.push_back(x); }
    double pct(double p) {
        if (v.empty()) {
            return 0;
        }
        std::sort(v.begin(), v.end());
        // Nearest rank.
        auto idx = static_cast<std::size_t>(std::max(0.0, std::ceil(p / 100.0 * v.size()) - 1));
        return v[std::min(idx, v.size() - 1)];
    }
    json::object summary() {
        json::object o;
        o["n"] = v.size();
        if (v.empty()) {
            return o;
        }
        double sum = 0;
        for (double x : v) {
            sum += x;
        }
        o["mean"] = sum / v.size();
        o["p50"] = pct(50);
        o["p90"] = pct(90);
        o["p99"] = pct(99);
        o["min"] = pct(0);
        o["max"] = v.back();
        return o;
    }
};

double us_between(clock_type::time_point a, clock_type::time_point b) {
    return std::chrono::duration<double, std::micro>(b - a).count();
}

// Finds SSE event ends ("\n\n", carriage returns ignored) in decoded body bytes as they arrive.
class sse_scanner {
public:
    // Calls on_event(is_done) for every complete event in `data`.
    template <class F>
    void feed(const char* data, std::size_t n, F&& on_event) {
        for (std::size_t i = 0; i < n; ++i) {
            const char c = data[i];
            if (c == '\r') {
                continue;
            }
            if (c == '\n' && last_ == '\n') {
                on_event(head_.starts_with("data: [DONE]") || head_.starts_with("data:[DONE]"));
                head_.clear();
                last_ = 0;
                continue;
            }
            if (head_.size() < 16) {
                head_ += c;
            }
            last_ = c;
        }
    }

private:
    std::string head_;
    char last_ = 0;
};

// ---------------------------------------------------------------------------------------------------
// One keep-alive connection

struct connection {
    explicit connection(asio::io_context& ioc) : socket(ioc) {}
    tcp::socket socket;
    beast::flat_buffer buffer;
    bool open = false;

    awaitable<void> ensure(const target& t) {
        if (open) {
            co_return;
        }
        tcp::resolver r(socket.get_executor());
        auto eps = co_await r.async_resolve(t.host, t.port, use_awaitable);
        co_await asio::async_connect(socket, eps, use_awaitable);
        socket.set_option(tcp::no_delay(true));
        buffer.clear();
        open = true;
    }

    void close() {
        beast::error_code ec;
        socket.close(ec);
        open = false;
    }
};

struct stream_result {
    bool ok = false;
    unsigned status = 0;
    double ttfc_us = -1;
    std::vector<double> gaps_us;
    int events = 0;
    std::string error;
    std::string body_head;  // the first bytes of the body, to explain a failure
};

// Sends one request and reads an SSE (or any) response, timestamping each event as its bytes arrive.
// `on_first` runs once, when the first event is complete.
template <class OnFirst>
awaitable<stream_result> run_stream(
    connection& c,
    const target& t,
    OnFirst on_first,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(0)
) {
    stream_result r;
    // A server that stops answering must not stall the whole measurement: the socket is closed at the
    // deadline. The handler touches nothing on cancellation, so it may outlive this frame.
    asio::steady_timer guard(c.socket.get_executor());
    bool timed_out = false;
    if (timeout.count() > 0) {
        guard.expires_after(timeout);
        guard.async_wait([&c, &timed_out](beast::error_code ec) {
            if (!ec) {
                timed_out = true;
                c.close();
            }
        });
    }
    try {
        co_await c.ensure(t);
        auto req = make_request(t, t.body);
        const auto t0 = clock_type::now();
        co_await http::async_write(c.socket, req, use_awaitable);
        http::response_parser<http::buffer_body> p;
        p.body_limit(std::numeric_limits<std::uint64_t>::max());
        co_await http::async_read_header(c.socket, c.buffer, p, use_awaitable);
        r.status = p.get().result_int();
        sse_scanner scan;
        std::optional<clock_type::time_point> last;
        char buf[16384];
        while (!p.is_done()) {
            p.get().body().data = buf;
            p.get().body().size = sizeof buf;
            beast::error_code ec;
            co_await http::async_read_some(c.socket, c.buffer, p, asio::redirect_error(use_awaitable, ec));
            const auto now = clock_type::now();
            if (ec == http::error::need_buffer) {
                ec = {};
            }
            if (ec && ec != http::error::end_of_stream) {
                throw beast::system_error(ec);
            }
            const std::size_t got = sizeof buf - p.get().body().size;
            if (r.body_head.size() < 300) {
                r.body_head.append(buf, std::min(got, 300 - r.body_head.size()));
            }
            scan.feed(buf, got, [&](bool done) {
                if (done) {
                    return;
                }
                ++r.events;
                if (!last) {
                    r.ttfc_us = us_between(t0, now);
                    on_first();
                } else {
                    r.gaps_us.push_back(us_between(*last, now));
                }
                last = now;
            });
            if (ec) {
                break;
            }
        }
        if (!p.get().keep_alive() || !p.is_done()) {
            c.close();
        }
        r.ok = r.status >= 200 && r.status < 300 && r.events > 0;
        if (!r.ok && r.error.empty()) {
            r.error = "HTTP " + std::to_string(r.status) + ", " + std::to_string(r.events) +
                      " events: " + r.body_head;
        }
    } catch (const std::exception& e) {
        c.close();
        r.error = e.what();
    }
    guard.cancel();
    if (timed_out) {
        r.ok = false;
        r.error = "no complete response within " + std::to_string(timeout.count()) + " ms";
    }
    co_return r;
}

// ---------------------------------------------------------------------------------------------------
// Modes

struct args {
    std::map<std::string, std::string> kv;
    std::string get(const std::string& k, const std::string& def = "") const {
        auto it = kv.find(k);
        return it == kv.end() ? def : it->second;
    }
    long num(const std::string& k, long def) const {
        auto it = kv.find(k);
        return it == kv.end() ? def : std::stol(it->second);
    }
    std::string need(const std::string& k) const {
        auto it = kv.find(k);
        if (it == kv.end()) {
            throw std::invalid_argument("missing --" + k);
        }
        return it->second;
    }
};

int mode_stream(const args& a) {
    const auto targets = load_targets(a.need("config"));
    const long count = a.num("count", 20);
    const long warmup = a.num("warmup", 2);
    // Gaps shorter than half the upstream's interval mean two events arrived together (batching).
    const double interval_us = static_cast<double>(a.num("interval-us", 0));
    const std::chrono::milliseconds stream_timeout(a.num("timeout-ms", 10000));
    asio::io_context ioc(1);
    struct per_target {
        stats ttfc, gaps;
        long ok = 0, failed = 0, events = 0, batched = 0;
        std::string first_error;
    };
    std::vector<per_target> res(targets.size());
    asio::co_spawn(
        ioc,
        [&]() -> awaitable<void> {
            std::vector<std::unique_ptr<connection>> conns;
            for (std::size_t i = 0; i < targets.size(); ++i) {
                conns.push_back(std::make_unique<connection>(ioc));
            }
            for (long round = 0; round < warmup + count; ++round) {
                for (std::size_t i = 0; i < targets.size(); ++i) {
                    auto r = co_await run_stream(
                        *conns[i], targets[i], [] {}, stream_timeout
                    );
                    if (round < warmup) {
                        continue;
                    }
                    auto& pt = res[i];
                    if (!r.ok) {
                        ++pt.failed;
                        if (pt.first_error.empty()) {
                            pt.first_error = r.error;
                        }
                        continue;
                    }
                    ++pt.ok;
                    pt.events += r.events;
                    pt.ttfc.add(r.ttfc_us);
                    for (double g : r.gaps_us) {
                        pt.gaps.add(g);
                        if (interval_us > 0 && g < interval_us / 2) {
                            ++pt.batched;
                        }
                    }
                }
            }
        },
        asio::detached
    );
    ioc.run();
    json::object out;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        auto& pt = res[i];
        json::object o;
        o["ok"] = pt.ok;
        o["failed"] = pt.failed;
        o["events_per_stream"] = pt.ok ? static_cast<double>(pt.events) / pt.ok : 0.0;
        o["ttfc_us"] = pt.ttfc.summary();
        o["gap_us"] = pt.gaps.summary();
        o["batched_gaps"] = pt.batched;
        if (!pt.first_error.empty()) {
            o["error"] = pt.first_error;
        }
        out[targets[i].name] = std::move(o);
    }
    std::cout << json::serialize(out) << "\n";
    return 0;
}

void write_file_atomically(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    std::ofstream(tmp) << text;
    std::filesystem::rename(tmp, path);
}

int mode_hold(const args& a) {
    const auto t = load_targets(a.need("config")).front();
    const long n = a.num("streams", 1000);
    const long timeout_s = a.num("timeout-s", 60);
    const std::string ready_file = a.get("ready-file");
    const bool stream_kind = a.get("kind", "stream") == "stream";
    asio::io_context ioc(1);
    long sent = 0, first = 0, completed = 0, failed = 0, finished = 0;
    std::map<unsigned, long> statuses;
    std::string first_error;
    const auto start = clock_type::now();
    double ready_ms = -1;
    auto mark_ready = [&] {
        if (ready_ms < 0) {
            ready_ms = us_between(start, clock_type::now()) / 1000.0;
            if (!ready_file.empty()) {
                write_file_atomically(ready_file, "ready\n");
            }
        }
    };
    std::vector<std::unique_ptr<connection>> conns;
    asio::steady_timer deadline(ioc, std::chrono::seconds(timeout_s));
    deadline.async_wait([&](beast::error_code ec) {
        if (!ec) {
            for (auto& c : conns) {
                c->close();
            }
        }
    });
    for (long i = 0; i < n; ++i) {
        conns.push_back(std::make_unique<connection>(ioc));
        asio::co_spawn(
            ioc,
            [&, c = conns.back().get()]() -> awaitable<void> {
                stream_result r;
                if (stream_kind) {
                    r = co_await run_stream(*c, t, [&] {
                        if (++first == n) {
                            mark_ready();
                        }
                    });
                } else {
                    try {
                        co_await c->ensure(t);
                        auto req = make_request(t, t.body);
                        co_await http::async_write(c->socket, req, use_awaitable);
                        if (++sent == n) {
                            mark_ready();
                        }
                        http::response_parser<http::string_body> p;
                        p.body_limit(std::numeric_limits<std::uint64_t>::max());
                        co_await http::async_read(c->socket, c->buffer, p, use_awaitable);
                        r.status = p.get().result_int();
                        r.ok = r.status >= 200 && r.status < 300;
                        if (!r.ok) {
                            r.error =
                                "HTTP " + std::to_string(r.status) + ": " + p.get().body().substr(0, 200);
                        }
                    } catch (const std::exception& e) {
                        r.error = e.what();
                    }
                }
                ++statuses[r.status];
                if (r.ok) {
                    ++completed;
                } else {
                    ++failed;
                    if (first_error.empty()) {
                        first_error = r.error;
                    }
                }
                c->close();
                if (++finished == n) {
                    deadline.cancel();
                }
            },
            asio::detached
        );
    }
    ioc.run();
    json::object out;
    out["streams"] = n;
    out["kind"] = stream_kind ? "stream" : "request";
    out["first_event"] = first;
    out["sent"] = sent;
    out["completed"] = completed;
    out["failed"] = failed;
    out["ready_ms"] = ready_ms;
    out["total_ms"] = us_between(start, clock_type::now()) / 1000.0;
    json::object st;
    for (auto& [k, v] : statuses) {
        st[std::to_string(k)] = v;
    }
    out["statuses"] = std::move(st);
    if (!first_error.empty()) {
        out["error"] = first_error;
    }
    std::cout << json::serialize(out) << "\n";
    return 0;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
    for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
        s.replace(pos, from.size(), to);
    }
    return s;
}

// Runs `n` requests, `concurrency` at a time, each built by make_body(i); the id named `id_field` in each
// 2xx response is stored at its index. Returns the phase summary.
template <class MakeBody>
json::object run_phase(
    asio::io_context& ioc,
    const target& t,
    long n,
    long concurrency,
    MakeBody make_body,
    std::string_view id_field,
    std::vector<std::string>& ids
) {
    ids.assign(static_cast<std::size_t>(n), "");
    long next = 0, ok = 0, failed = 0;
    std::string first_error;
    const auto start = clock_type::now();
    std::vector<std::unique_ptr<connection>> conns;
    for (long w = 0; w < std::min(concurrency, std::max(n, 1L)); ++w) {
        conns.push_back(std::make_unique<connection>(ioc));
        asio::co_spawn(
            ioc,
            [&, c = conns.back().get()]() -> awaitable<void> {
                while (next < n) {
                    const long i = next++;
                    std::string error;
                    try {
                        co_await c->ensure(t);
                        auto req = make_request(t, make_body(i));
                        co_await http::async_write(c->socket, req, use_awaitable);
                        http::response<http::string_body> res;
                        co_await http::async_read(c->socket, c->buffer, res, use_awaitable);
                        if (!res.keep_alive()) {
                            c->close();
                        }
                        if (res.result_int() >= 200 && res.result_int() < 300) {
                            const auto v = json::parse(res.body());
                            if (const auto* id = v.as_object().if_contains(id_field); id && id->is_string()) {
                                ids[static_cast<std::size_t>(i)] = std::string(id->get_string());
                            }
                            ++ok;
                        } else {
                            error =
                                "HTTP " + std::to_string(res.result_int()) + ": " + res.body().substr(0, 300);
                        }
                    } catch (const std::exception& e) {
                        c->close();
                        error = e.what();
                    }
                    if (!error.empty()) {
                        ++failed;
                        if (first_error.empty()) {
                            first_error = error;
                        }
                    }
                }
            },
            asio::detached
        );
    }
    ioc.restart();
    ioc.run();
    const double secs = us_between(start, clock_type::now()) / 1e6;
    json::object o;
    o["requests"] = n;
    o["ok"] = ok;
    o["failed"] = failed;
    o["seconds"] = secs;
    o["per_s"] = secs > 0 ? ok / secs : 0.0;
    o["concurrency"] = concurrency;
    if (!first_error.empty()) {
        o["error"] = first_error;
    }
    return o;
}

int mode_load(const args& a) {
    target base;
    parse_url(a.need("base") + "/_plugins/_ml/connectors/_create", base);
    base.headers.emplace_back("Content-Type", "application/json");
    target model_target = base;
    model_target.path = "/_plugins/_ml/models/_register?deploy=true";
    const std::string connector_body = read_file(a.need("connector-body"));
    const std::string model_body = a.get("model-body").empty() ? "" : read_file(a.get("model-body"));
    const long n_conn = a.num("connectors", 1000);
    const long n_models = model_body.empty() ? 0 : a.num("models", n_conn);
    const long concurrency = a.num("concurrency", 32);
    const std::string out_dir = a.get("out-dir", ".");
    asio::io_context ioc(1);
    std::vector<std::string> connector_ids, model_ids;
    json::object out;
    out["connectors"] = run_phase(
        ioc,
        base,
        n_conn,
        concurrency,
        [&](long i) { return replace_all(connector_body, "{i}", std::to_string(i)); },
        "connector_id",
        connector_ids
    );
    std::vector<std::string> usable;
    for (auto& id : connector_ids) {
        if (!id.empty()) {
            usable.push_back(id);
        }
    }
    if (n_models > 0 && !usable.empty()) {
        out["models"] = run_phase(
            ioc,
            model_target,
            n_models,
            concurrency,
            [&](long i) {
                return replace_all(
                    replace_all(model_body, "{i}", std::to_string(i)),
                    "{connector_id}",
                    usable[static_cast<std::size_t>(i) % usable.size()]
                );
            },
            "model_id",
            model_ids
        );
    }
    auto dump = [&](const std::string& name, const std::vector<std::string>& ids) {
        std::ofstream f(out_dir + "/" + name);
        for (auto& id : ids) {
            if (!id.empty()) {
                f << id << "\n";
            }
        }
    };
    dump("connectors.txt", connector_ids);
    dump("models.txt", model_ids);
    std::cout << json::serialize(out) << "\n";
    return 0;
}

long long realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<long long>(ts.tv_sec) * 1'000'000'000LL + ts.tv_nsec;
}

int mode_wait(const args& a) {
    const std::string port_file = a.need("port-file");
    const long long t0 = std::stoll(a.need("t0-ns"));
    const long timeout_ms = a.num("timeout-ms", 60000);
    auto elapsed_ms = [&] {
        return (realtime_ns() - t0) / 1e6;
    };
    json::object out;
    std::string port;
    while (true) {
        std::ifstream f(port_file);
        if (f >> port && !port.empty()) {
            break;
        }
        if (elapsed_ms() > timeout_ms) {
            std::cout << R"({"error":"timeout waiting for the port file"})"
                      << "\n";
            return 1;
        }
        ::usleep(200);
    }
    out["port_file_ms"] = elapsed_ms();
    asio::io_context ioc(1);
    target t;
    parse_url("http://127.0.0.1:" + port + "/", t);
    t.method = http::verb::get;
    while (true) {
        try {
            tcp::socket s(ioc);
            s.connect(
                tcp::endpoint(asio::ip::make_address(t.host), static_cast<unsigned short>(std::stoi(port)))
            );
            auto req = make_request(t, "");
            http::write(s, req);
            beast::flat_buffer b;
            http::response<http::string_body> res;
            http::read(s, b, res);
            out["status"] = res.result_int();
            break;
        } catch (const std::exception&) {
            if (elapsed_ms() > timeout_ms) {
                std::cout << R"({"error":"timeout waiting for GET /"})"
                          << "\n";
                return 1;
            }
            ::usleep(200);
        }
    }
    out["ready_ms"] = elapsed_ms();
    std::cout << json::serialize(out) << "\n";
    return 0;
}

constexpr std::string_view usage =
    "usage: bench_client stream|hold|load|wait [--key value]...  (see the comment at the top of "
    "bench/bench_client.cpp)\n";

}  // namespace
}  // namespace modelrelay::bench

int main(int argc, char** argv) {
    using namespace modelrelay::bench;
    if (argc < 2 || std::string_view(argv[1]) == "--help") {
        std::cout << usage;
        return argc < 2 ? 2 : 0;
    }
    args a;
    for (int i = 2; i < argc; ++i) {
        std::string_view k = argv[i];
        if (!k.starts_with("--") || i + 1 >= argc) {
            std::cerr << "bad argument " << k << "\n" << usage;
            return 2;
        }
        a.kv[std::string(k.substr(2))] = argv[++i];
    }
    try {
        const std::string_view mode = argv[1];
        if (mode == "stream") {
            return mode_stream(a);
        }
        if (mode == "hold") {
            return mode_hold(a);
        }
        if (mode == "load") {
            return mode_load(a);
        }
        if (mode == "wait") {
            return mode_wait(a);
        }
        std::cerr << usage;
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "bench_client: " << e.what() << "\n";
        return 1;
    }
}
