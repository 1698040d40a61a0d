// File: fake_upstream.cpp
// bench_upstream: the OpenAI-compatible upstream that bench/run puts behind every gateway. It has to be
// much cheaper than the gateways it measures, so the non-streaming reply is one pre-built buffer written
// with a single send, sockets are spread over one io_context per thread, and delays are timers (never a
// sleeping thread). The test-suite fake (tests/support/fake_upstream) records and scripts requests; this
// one does neither.
//
// Replies:
//   GET  /            → 200 "ok"
//   GET  .../models   → one model
//   POST (any path)   → a fixed `chat.completion`, or an SSE `chat.completion.chunk` stream when the body
//                       has "stream":true (or the query has stream=1)
// Per-request overrides in the query string (so one process can serve several connectors):
//   delay_ms / delay_us        wait before the response head
//   chunks                     content events in a stream (then one finish event and `data: [DONE]`)
//   interval_ms / interval_us  time between stream events (the first is sent with the head)
//   stream=1                   stream whatever the body says
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

namespace modelrelay::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using std::chrono::microseconds;

struct options {
    std::string host = "127.0.0.1";
    unsigned short port = 0;
    std::string port_file;
    int threads = 2;
    long delay_us = 0;
    int chunks = 8;
    long interval_us = 1000;
};

constexpr std::string_view completion_body =
    R"({"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"fake-model",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the fake upstream."},)"
    R"("finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16}})";

constexpr std::string_view models_body =
    R"({"object":"list","data":[{"id":"fake-model","object":"model","created":1700000000,"owned_by":"bench"}]})";

std::string full_response(
    unsigned status, std::string_view reason, std::string_view content_type, std::string_view body, bool close
) {
    std::string r = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
    r += "Content-Type: " + std::string(content_type) + "\r\n";
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    if (close) {
        r += "Connection: close\r\n";
    }
    r += "\r\n";
    r += body;
    return r;
}

// Every fixed reply, built once. Index [close] picks the Connection: close variant.
struct canned {
    std::string completion[2];
    std::string models[2];
    std::string root[2];
    std::string not_found[2];
    std::string stream_head;

    canned() {
        for (int c = 0; c < 2; ++c) {
            completion[c] = full_response(200, "OK", "application/json", completion_body, c == 1);
            models[c] = full_response(200, "OK", "application/json", models_body, c == 1);
            root[c] = full_response(200, "OK", "text/plain", "ok", c == 1);
            not_found[c] = full_response(
                404,
                "Not Found",
                "application/json",
                R"({"error":{"message":"not found","type":"invalid_request_error"}})",
                c == 1
            );
        }
        stream_head =
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            "Transfer-Encoding: chunked\r\n\r\n";
    }
};

const canned& replies() {
    static const canned c;
    return c;
}

// One SSE event framed as one HTTP/1.1 chunk.
void append_chunk(std::string& out, std::string_view data) {
    char hex[16];
    auto [end, ec] = std::to_chars(hex, hex + sizeof hex, data.size(), 16);
    out.append(hex, end);
    out += "\r\n";
    out += data;
    out += "\r\n";
}

std::string content_event(int i) {
    return R"(data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,)"
           R"("model":"fake-model","choices":[{"index":0,"delta":{"content":"tok)" +
           std::to_string(i) + R"( "},"finish_reason":null}]})" + "\n\n";
}

constexpr std::string_view finish_event =
    R"(data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,)"
    R"("model":"fake-model","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":9,"completion_tokens":8,"total_tokens":17}})"
    "\n\n";

// A query parameter as a number, when present.
std::optional<long> query_number(std::string_view target, std::string_view key) {
    auto q = target.find('?');
    if (q == std::string_view::npos) {
        return std::nullopt;
    }
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
        auto amp = rest.find('&');
        std::string_view pair = rest.substr(0, amp);
        auto eq = pair.find('=');
        if (pair.substr(0, eq) == key && eq != std::string_view::npos) {
            long v = 0;
            auto val = pair.substr(eq + 1);
            if (std::from_chars(val.data(), val.data() + val.size(), v).ec == std::errc{}) {
                return v;
            }
            return std::nullopt;
        }
        if (amp == std::string_view::npos) {
            break;
        }
        rest = rest.substr(amp + 1);
    }
    return std::nullopt;
}

// "stream": true anywhere in the body, with or without a space: cheaper than parsing the JSON, and the
// bodies come from our own harness or from gateways that serialise compactly.
bool body_wants_stream(std::string_view body) {
    return body.find("\"stream\":true") != std::string_view::npos ||
           body.find("\"stream\": true") != std::string_view::npos;
}

class session : public std::enable_shared_from_this<session> {
public:
    session(tcp::socket s, const options& opt)
        : socket_(std::move(s)), timer_(socket_.get_executor()), opt_(opt) {}

    void start() {
        beast::error_code ec;
        socket_.set_option(tcp::no_delay(true), ec);
        read_next();
    }

private:
    void read_next() {
        parser_.emplace();
        parser_->body_limit(64 * 1024 * 1024);
        http::async_read(
            socket_,
            buffer_,
            *parser_,
            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); }
        );
    }

    void on_read(beast::error_code ec) {
        if (ec) {
            return close();
        }
        const auto& req = parser_->get();
        close_after_ = !req.keep_alive();
        const std::string_view target(req.target().data(), req.target().size());
        const std::string_view path = target.substr(0, target.find('?'));
        const int c = close_after_ ? 1 : 0;

        if (req.method() == http::verb::get) {
            if (path == "/") {
                return send_fixed(replies().root[c]);
            }
            if (path.ends_with("/models")) {
                return send_fixed(replies().models[c]);
            }
            return send_fixed(replies().not_found[c]);
        }
        if (req.method() != http::verb::post) {
            return send_fixed(replies().not_found[c]);
        }

        const long delay_us =
            query_number(target, "delay_us").value_or(query_number(target, "delay_ms").value_or(-1) * 1000);
        const long delay = delay_us >= 0 ? delay_us : opt_.delay_us;
        const bool stream = query_number(target, "stream").value_or(0) == 1 || body_wants_stream(req.body());
        if (stream) {
            chunks_left_ = static_cast<int>(query_number(target, "chunks").value_or(opt_.chunks));
            const long iv_us = query_number(target, "interval_us")
                                   .value_or(query_number(target, "interval_ms").value_or(-1) * 1000);
            interval_us_ = iv_us >= 0 ? iv_us : opt_.interval_us;
            next_index_ = 0;
        }
        auto go = [this, stream, c] {
            if (stream) {
                out_ = replies().stream_head;
                stream_step();
            } else {
                send_fixed(replies().completion[c]);
            }
        };
        if (delay > 0) {
            timer_.expires_after(microseconds(delay));
            timer_.async_wait([self = shared_from_this(), go](beast::error_code ec) {
                if (!ec) {
                    go();
                }
            });
        } else {
            go();
        }
    }

    void send_fixed(const std::string& bytes) {
        asio::async_write(
            socket_,
            asio::buffer(bytes),
            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->after_reply(ec); }
        );
    }

    void after_reply(beast::error_code ec) {
        if (ec || close_after_) {
            return close();
        }
        read_next();
    }

    // Appends the next event to out_ (the head is already there for the first one) and writes it; the
    // last content event is followed, one interval later, by the finish event, [DONE] and the last chunk.
    void stream_step() {
        bool last = false;
        if (next_index_ < chunks_left_) {
            append_chunk(out_, content_event(next_index_));
        } else {
            append_chunk(out_, finish_event);
            append_chunk(out_, "data: [DONE]\n\n");
            out_ += "0\r\n\r\n";
            last = true;
        }
        ++next_index_;
        asio::async_write(
            socket_,
            asio::buffer(out_),
            [self = shared_from_this(), last](beast::error_code ec, std::size_t) {
                if (ec) {
                    return self->close();
                }
                self->out_.clear();
                if (last) {
                    return self->after_reply(ec);
                }
                auto next = [self] {
                    self->stream_step();
                };
                if (self->interval_us_ <= 0) {
                    return next();
                }
                self->timer_.expires_after(microseconds(self->interval_us_));
                self->timer_.async_wait([self, next](beast::error_code ec) {
                    if (ec) {
                        return self->close();
                    }
                    next();
                });
            }
        );
    }

    void close() {
        beast::error_code ec;
        socket_.shutdown(tcp::socket::shutdown_both, ec);
        socket_.close(ec);
    }

    tcp::socket socket_;
    asio::steady_timer timer_;
    const options& opt_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::string out_;
    bool close_after_ = false;
    int chunks_left_ = 0;
    int next_index_ = 0;
    long interval_us_ = 0;
};

class server {
public:
    explicit server(const options& opt) : opt_(opt), contexts_(static_cast<std::size_t>(opt.threads)) {
        for (auto& c : contexts_) {
            c = std::make_unique<asio::io_context>(1);
        }
        acceptor_.emplace(*contexts_[0]);
        tcp::endpoint ep(asio::ip::make_address(opt.host), opt.port);
        acceptor_->open(ep.protocol());
        acceptor_->set_option(asio::socket_base::reuse_address(true));
        acceptor_->bind(ep);
        acceptor_->listen(asio::socket_base::max_listen_connections);
    }

    unsigned short port() const { return acceptor_->local_endpoint().port(); }

    void run() {
        accept();
        asio::signal_set signals(*contexts_[0], SIGINT, SIGTERM);
        signals.async_wait([this](beast::error_code, int) {
            for (auto& c : contexts_) {
                c->stop();
            }
        });
        std::vector<std::thread> threads;
        for (std::size_t i = 1; i < contexts_.size(); ++i) {
            threads.emplace_back([this, i] {
                auto guard = asio::make_work_guard(*contexts_[i]);
                contexts_[i]->run();
            });
        }
        contexts_[0]->run();
        for (auto& c : contexts_) {
            c->stop();
        }
        for (auto& t : threads) {
            t.join();
        }
    }

private:
    void accept() {
        auto& ctx = *contexts_[next_++ % contexts_.size()];
        acceptor_->async_accept(ctx, [this](beast::error_code ec, tcp::socket s) {
            if (!ec) {
                std::make_shared<session>(std::move(s), opt_)->start();
            }
            accept();
        });
    }

    const options& opt_;
    std::vector<std::unique_ptr<asio::io_context>> contexts_;
    std::optional<tcp::acceptor> acceptor_;
    std::size_t next_ = 0;
};

constexpr std::string_view usage =
    "usage: bench_upstream [--port N] [--port-file FILE] [--threads N] [--delay-us N] [--chunks N]\n"
    "                      [--interval-us N]\n"
    "  Serves a fixed OpenAI chat.completion (or an SSE stream when the body has \"stream\":true) on\n"
    "  127.0.0.1. Port 0 (default) picks a free port; --port-file receives it once listening.\n"
    "  Query overrides per request: delay_ms, delay_us, chunks, interval_ms, interval_us, stream=1.\n";

bool parse_long(const char* s, long& out) {
    std::string_view v(s);
    return std::from_chars(v.data(), v.data() + v.size(), out).ec == std::errc{} && out >= 0;
}

}  // namespace
}  // namespace modelrelay::bench

int main(int argc, char** argv) {
    using namespace modelrelay::bench;
    options opt;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--help" || a == "-h") {
            std::cout << usage;
            return 0;
        }
        if (i + 1 >= argc) {
            std::cerr << "missing value for " << a << "\n" << usage;
            return 2;
        }
        const char* v = argv[++i];
        long n = 0;
        if (a == "--port-file") {
            opt.port_file = v;
            continue;
        }
        if (!parse_long(v, n)) {
            std::cerr << "bad number for " << a << ": " << v << "\n";
            return 2;
        }
        if (a == "--port" && n <= 65535) {
            opt.port = static_cast<unsigned short>(n);
        } else if (a == "--threads" && n >= 1 && n <= 256) {
            opt.threads = static_cast<int>(n);
        } else if (a == "--delay-us") {
            opt.delay_us = n;
        } else if (a == "--chunks" && n <= 1'000'000) {
            opt.chunks = static_cast<int>(n);
        } else if (a == "--interval-us") {
            opt.interval_us = n;
        } else {
            std::cerr << "unknown or out-of-range option " << a << "\n" << usage;
            return 2;
        }
    }
    try {
        server srv(opt);
        if (!opt.port_file.empty()) {
            const std::string tmp = opt.port_file + ".tmp";
            std::ofstream(tmp) << srv.port() << "\n";
            std::rename(tmp.c_str(), opt.port_file.c_str());
        }
        std::fprintf(
            stderr,
            "bench_upstream listening on %s:%u (%d threads)\n",
            opt.host.c_str(),
            srv.port(),
            opt.threads
        );
        srv.run();
    } catch (const std::exception& e) {
        std::cerr << "bench_upstream: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
