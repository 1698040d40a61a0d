// File: caller_watch.hpp
// How the outbound client learns that nobody waits for an answer any more. An upstream exchange is made
// on behalf of an inbound HTTP client; when that client closes its connection first (an SDK's timeout, a
// user pressing Stop), running the exchange to its end only costs the user: the model keeps generating
// tokens that are paid for and thrown away, and an SDK that retries on its timeout turns one abandoned
// call into several full generations. The inbound session implements this interface over its client
// connection (server/disconnect_watch.hpp); the client watches it for the whole of send() and
// send_streaming(), and when the caller goes it closes the upstream connection (never pooled again) and
// fails the call with caller_gone_cause, without retrying.
//
// @par Thread safety
// Everything, the on_gone callback included, runs on the executor of the coroutine that calls send():
// the session's.
#pragma once

namespace modelrelay::server::upstream {

class caller_watch {
public:
    using on_gone_fn = void (*)(void* arg);

    // The caller is known to be gone: a call is not started.
    virtual bool gone() const = 0;
    // From now until unwatch(), `on_gone(arg)` runs once if the caller goes. It runs from a completion
    // handler, never inside watch() or unwatch(), while the calling coroutine is suspended. One call is
    // watched at a time (a request's upstream calls follow one another).
    virtual void watch(on_gone_fn on_gone, void* arg) = 0;
    virtual void unwatch() = 0;

protected:
    ~caller_watch() = default;
};

}  // namespace modelrelay::server::upstream
