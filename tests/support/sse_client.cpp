// File: sse_client.cpp
// Plain POSIX socket + poll() so every read has a real timeout; Beast's parser is fed with put().
#include "tests/support/sse_client.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <deque>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include "server/upstream/sse_parser.hpp"
#include "tests/support/sentinel_guard.hpp"

namespace modelrelay::test {

namespace http = boost::beast::http;
using clock_type = std::chrono::steady_clock;

struct sse_client::impl {
    int fd = -1;
    std::chrono::milliseconds timeout;
    clock_type::time_point sent;
    http::response_parser<http::buffer_body> parser;
    std::string pending;  // received, not yet consumed by the parser
    std::string body;
    bool ended = false;  // no more events: complete or the connection is gone
    bool clean = false;
    server::upstream::sse_parser events_parser;
    std::deque<timed_event> ready;

    ~impl() {
        if (fd >= 0) {
            ::close(fd);
        }
    }

    // One recv, waiting at most `timeout`. False at EOF / error.
    bool receive() {
        pollfd p{fd, POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
        if (r == 0) {
            throw std::runtime_error("sse_client: read timed out");
        }
        if (r < 0) {
            throw std::runtime_error(std::string("sse_client: poll: ") + std::strerror(errno));
        }
        char buf[16 * 1024];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            return false;
        }
        const auto now = clock_type::now();
        pending.append(buf, static_cast<std::size_t>(n));
        feed(now);
        return true;
    }

    void feed(clock_type::time_point now) {
        while (!pending.empty() && !parser.is_done()) {
            boost::system::error_code ec;
            std::size_t used = 0;
            if (!parser.is_header_done()) {
                used = parser.put(boost::asio::buffer(pending), ec);
            } else {
                char scratch[16 * 1024];
                parser.get().body().data = scratch;
                parser.get().body().size = sizeof scratch;
                used = parser.put(boost::asio::buffer(pending), ec);
                const std::size_t produced = sizeof scratch - parser.get().body().size;
                if (produced > 0) {
                    const std::string_view bytes(scratch, produced);
                    body.append(bytes);
                    events_parser.feed(bytes, [&](const server::upstream::sse_event& e) {
                        ready.push_back(timed_event{now, e.event, e.data});
                    });
                }
                if (ec == http::error::need_buffer) {
                    ec = {};
                }
            }
            pending.erase(0, used);
            if (ec == http::error::need_more) {
                break;
            }
            if (ec) {
                throw std::runtime_error("sse_client: bad response: " + ec.message());
            }
            if (used == 0 && !parser.is_done()) {
                break;
            }
        }
        if (parser.is_done()) {
            ended = true;
            clean = true;
        }
    }
};

sse_client::sse_client(
    std::uint16_t port,
    std::string_view method,
    std::string_view target,
    std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers,
    std::chrono::milliseconds timeout
)
    : impl_(std::make_unique<impl>()) {
    impl_->timeout = timeout;
    impl_->parser.body_limit(boost::none);
    impl_->fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (impl_->fd < 0) {
        throw std::runtime_error("sse_client: socket failed");
    }
    int one = 1;
    ::setsockopt(impl_->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(impl_->fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        throw std::runtime_error(std::string("sse_client: connect: ") + std::strerror(errno));
    }
    std::string req = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    bool has_ct = false;
    for (const auto& [k, v] : headers) {
        req += k + ": " + v + "\r\n";
        has_ct = has_ct || boost::beast::iequals(k, "content-type");
    }
    if (!body.empty() && !has_ct) {
        req += "Content-Type: application/json\r\n";
    }
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    req.append(body);
    impl_->sent = clock_type::now();
    for (std::size_t off = 0; off < req.size();) {
        const ssize_t n = ::send(impl_->fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
        if (n <= 0) {
            throw std::runtime_error("sse_client: send failed");
        }
        off += static_cast<std::size_t>(n);
    }
    while (!impl_->parser.is_header_done()) {
        if (!impl_->receive()) {
            throw std::runtime_error("sse_client: connection closed before the response head");
        }
    }
}

sse_client::~sse_client() {
    scan_for_sentinels("event stream", body());
}

std::chrono::steady_clock::time_point sse_client::sent_at() const {
    return impl_->sent;
}

unsigned sse_client::status() const {
    return impl_->parser.get().result_int();
}

std::string sse_client::header(std::string_view name) const {
    const auto& h = impl_->parser.get();
    const auto it = h.find(name);
    return it == h.end() ? std::string() : std::string(it->value());
}

bool sse_client::chunked() const {
    return impl_->parser.chunked();
}

std::optional<timed_event> sse_client::next_event() {
    while (impl_->ready.empty() && !impl_->ended) {
        if (impl_->fd < 0 || !impl_->receive()) {
            impl_->ended = true;
        }
    }
    if (impl_->ready.empty()) {
        return std::nullopt;
    }
    timed_event e = std::move(impl_->ready.front());
    impl_->ready.pop_front();
    return e;
}

std::vector<timed_event> sse_client::read_all() {
    std::vector<timed_event> out;
    while (auto e = next_event()) {
        out.push_back(std::move(*e));
    }
    return out;
}

const std::string& sse_client::body() const {
    return impl_->body;
}

bool sse_client::complete() const {
    return impl_->clean;
}

void sse_client::disconnect() {
    if (impl_->fd >= 0) {
        ::close(impl_->fd);
        impl_->fd = -1;
    }
    impl_->ended = true;
}

}  // namespace modelrelay::test
