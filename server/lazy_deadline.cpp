// File: lazy_deadline.cpp
#include "server/lazy_deadline.hpp"

namespace modelrelay::server {

struct lazy_deadline::state {
    explicit state(const boost::asio::any_io_executor& ex) : timer(ex) {}
    boost::asio::steady_timer timer;
    boost::asio::ip::tcp::socket* socket = nullptr;
    clock::time_point deadline = clock::time_point::max();
    clock::time_point armed_at = clock::time_point::max();  // max: no wait pending
    unsigned generation = 0;                                // tells a superseded wait from the current one
    bool expired = false;
};

lazy_deadline::lazy_deadline(const boost::asio::any_io_executor& ex) : state_(std::make_shared<state>(ex)) {}

lazy_deadline::~lazy_deadline() {
    state_->socket = nullptr;
    state_->deadline = clock::time_point::max();
    state_->timer.cancel();
}

void lazy_deadline::watch(boost::asio::ip::tcp::socket* socket) {
    state_->socket = socket;
}

void lazy_deadline::expires_at(clock::time_point t) {
    state_->deadline = t;
    if (t < state_->armed_at) {
        arm(state_, t);
    }
}

void lazy_deadline::expires_never() {
    state_->deadline = clock::time_point::max();  // a pending wait finds nothing to do and stops
}

bool lazy_deadline::expired() const {
    return state_->expired;
}

void lazy_deadline::arm(const std::shared_ptr<state>& s, clock::time_point t) {
    s->armed_at = t;
    const unsigned generation = ++s->generation;
    s->timer.expires_at(t);  // cancels a wait for a later time: its handler sees an old generation
    s->timer.async_wait([s, generation](const boost::system::error_code&) {
        if (generation != s->generation) {
            return;
        }
        s->armed_at = clock::time_point::max();
        if (s->deadline == clock::time_point::max() || s->socket == nullptr) {
            return;
        }
        if (clock::now() < s->deadline) {
            arm(s, s->deadline);
            return;
        }
        s->expired = true;
        boost::system::error_code ignored;
        s->socket->close(ignored);
    });
}

}  // namespace modelrelay::server
