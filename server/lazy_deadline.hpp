// File: lazy_deadline.hpp
// A connection's I/O timeout that costs one clock read per operation. Beast's tcp_stream arms a timer
// before every operation and cancels it after, and the cancelled wait still runs as a handler: on the
// request path that was two of every request's most expensive Asio calls per read. Here one timer per
// connection stays armed at the earliest deadline it was given; when it fires it either finds the
// current deadline passed (and closes the socket, as Beast does, so the pending operation fails) or
// re-arms for the later one. A deadline that moves forward costs nothing; only a shorter one re-arms.
// Round 7 in docs/benchmarks.md.
//
// Unlike Beast's per-operation timeout, a deadline runs until expires_never(): callers clear it when the
// operation it guards completes. After a failed operation, expired() tells a timeout from other errors.
//
// @par Thread safety
// Not thread-safe: use it, and the socket, on the socket's executor only.
#pragma once

#include <chrono>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

namespace modelrelay::server {

class lazy_deadline {
public:
    using clock = std::chrono::steady_clock;

    explicit lazy_deadline(const boost::asio::any_io_executor& ex);
    ~lazy_deadline();
    lazy_deadline(const lazy_deadline&) = delete;
    lazy_deadline& operator=(const lazy_deadline&) = delete;

    // The socket closed when a deadline passes (null: none yet). Rebind after moving the socket.
    void watch(boost::asio::ip::tcp::socket* socket);

    void expires_after(clock::duration d) { expires_at(clock::now() + d); }
    void expires_at(clock::time_point t);
    void expires_never();
    // Whether a deadline passed and closed the socket (sticky).
    bool expired() const;

private:
    struct state;
    static void arm(const std::shared_ptr<state>& s, clock::time_point t);

    std::shared_ptr<state> state_;  // shared with the timer's handler, which may outlive this object
};

}  // namespace modelrelay::server
