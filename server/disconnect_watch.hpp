// File: disconnect_watch.hpp
// Notices that a client went away while its request waits for an upstream answer, so the outbound client
// drops the call instead of running it to the end (server/upstream/caller_watch.hpp says why that
// matters). One per connection, owned by the request loop (session_loop.hpp); handlers pass it to the
// outbound client as upstream::request::caller.
//
// How: while a call is watched, one read is kept outstanding on the client stream (through TLS on a TLS
// connection: a close_notify is only visible there). What it returns decides:
//  - end of stream (FIN, close_notify) or an error (reset, TLS cut short): the client is gone and the
//    watched call is dropped at once. A half-close (shutdown(SHUT_WR) right after the request, which some
//    clients do) reads the same as a close and counts as gone: nginx's default while proxying
//    (proxy_ignore_client_abort off), and what a client that stopped sending after its request most
//    often means;
//  - bytes: the client pipelined its next request, so it is still there. The bytes stay in the request
//    loop's buffer, which parses them next, and the watch stops for this request: no further read, so a
//    client that sends more than it reads cannot grow the buffer.
// The read is not cancelled when the answer arrives. It stays outstanding and becomes the request loop's
// read of the next request (adopt()), which the loop would have started right after writing the answer
// anyway: a watched request costs no extra system call and no cancellation, and a request that calls no
// upstream is read exactly as before.
//
// The read only starts while the buffer is empty: bytes already buffered are the next request, and the
// request loop parses them without waiting for a read that would land behind them.
//
// @par Object lifetimes
// A read may be outstanding when the request loop ends: finish() ends it (the owner must co_await it
// before the stream and buffer go). The loop must not touch the buffer while reading() is true.
//
// @par Thread safety
// Not thread-safe: everything runs on the session's executor.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "server/upstream/caller_watch.hpp"

namespace modelrelay::server {

template <class Stream>
class disconnect_watch final : public upstream::caller_watch {
public:
    disconnect_watch(Stream& stream, boost::beast::flat_buffer& buffer) : stream_(stream), buffer_(buffer) {}
    disconnect_watch(const disconnect_watch&) = delete;
    disconnect_watch& operator=(const disconnect_watch&) = delete;

    bool gone() const override { return gone_; }

    void watch(on_gone_fn on_gone, void* arg) override {
        on_gone_ = on_gone;
        arg_ = arg;
        if (!reading_ && !gone_ && buffer_.size() == 0) {
            start_read();
        }
    }

    void unwatch() override {
        on_gone_ = nullptr;
        arg_ = nullptr;
    }

    // A watched call was dropped because the client went: its answer is not to be written.
    bool dropped() const { return dropped_; }
    // The client's read ended in an error or end of stream; its error_code.
    const boost::beast::error_code& end() const { return end_; }
    // A read is outstanding on the client stream.
    bool reading() const { return reading_; }

    // The outstanding read, taken over as the request loop's own read: completes with the read's outcome
    // as (error_code, bytes), once the bytes are committed to the buffer. REQUIRES: reading().
    auto adopt() {
        return boost::asio::
            async_initiate<decltype(adopt_token), void(boost::beast::error_code, std::size_t)>(
                [this](auto handler) { reading_state_->waiter.emplace(std::move(handler)); }, adopt_token
            );
    }

    // Cancels an outstanding read, for a connection that is about to close; co_await adopt() next.
    void finish() {
        if (reading_) {
            boost::beast::error_code ignored;
            boost::beast::get_lowest_layer(stream_).socket().cancel(ignored);
        }
    }

private:
    // What the outstanding read owns. While a read is outstanding its handler holds this, so an I/O object
    // torn down with the read still pending (io_context shutdown) also frees the request loop waiting in
    // adopt(); the read gives it back when it completes. Allocated at the first read of a connection.
    struct state {
        disconnect_watch* owner = nullptr;
        // Emplaced and moved from, never assigned: Boost 1.81's move assignment copies the handler into a
        // new any_completion_handler that wraps itself, recursing until the stack overflows.
        std::optional<boost::asio::any_completion_handler<void(boost::beast::error_code, std::size_t)>>
            waiter;
    };

    struct read_done {
        std::unique_ptr<state> s;
        void operator()(const boost::beast::error_code& ec, std::size_t n) {
            disconnect_watch* w = s->owner;
            w->state_ = std::move(s);
            w->on_read(ec, n);
        }
    };

    void start_read() {
        if (!state_) {
            state_ = std::make_unique<state>();
            state_->owner = this;
        }
        reading_ = true;
        reading_state_ = state_.get();
        const auto space = buffer_.prepare(read_bytes);
        if constexpr (std::is_same_v<Stream, boost::beast::tcp_stream>) {
            // As the request loop reads a plain stream (http_read.hpp): on the socket itself.
            stream_.socket().async_read_some(space, read_done{std::move(state_)});
        } else {
            stream_.async_read_some(space, read_done{std::move(state_)});
        }
    }

    void on_read(const boost::beast::error_code& ec, std::size_t n) {
        reading_ = false;
        buffer_.commit(n);
        if (ec) {
            gone_ = true;
            end_ = ec;
            if (on_gone_ != nullptr) {
                dropped_ = true;
                const auto notify = std::exchange(on_gone_, nullptr);
                notify(std::exchange(arg_, nullptr));
            }
        }
        if (state_->waiter) {
            auto waiter = std::move(*state_->waiter);
            state_->waiter.reset();
            // Resumes the request loop, which may end the session and destroy *this: nothing after this.
            std::move(waiter)(ec, n);
        }
    }

    static constexpr auto adopt_token = boost::asio::as_tuple(boost::asio::use_awaitable);
    // The request loop's first read of a request asks for as much.
    static constexpr std::size_t read_bytes = 4096;

    Stream& stream_;
    boost::beast::flat_buffer& buffer_;
    std::unique_ptr<state> state_;    // null while a read holds it
    state* reading_state_ = nullptr;  // the state the outstanding read holds
    on_gone_fn on_gone_ = nullptr;
    void* arg_ = nullptr;
    boost::beast::error_code end_;
    bool reading_ = false;
    bool gone_ = false;
    bool dropped_ = false;
};

}  // namespace modelrelay::server
