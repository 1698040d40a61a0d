// File: sse_client.hpp
// A blocking test client for streamed responses (chunked `text/event-stream`) that records when each event
// arrived, so tests can tell "relayed as produced" from "batched", and that can hang up mid-stream to
// test cancellation. Events are parsed with modelrelay's own SSE parser; HTTP framing with Beast.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace modelrelay::test {

struct timed_event {
    std::chrono::steady_clock::time_point at;  // arrival of the bytes that completed the event
    std::string event;                         // "message" unless the stream named it
    std::string data;
};

class sse_client {
public:
    // Connects to 127.0.0.1:port, sends one request (Content-Type: application/json when a body is given,
    // plus `headers`), and reads the response head. Every read waits at most `timeout`; throws
    // std::runtime_error on connection errors and timeouts.
    sse_client(
        std::uint16_t port,
        std::string_view method,
        std::string_view target,
        std::string_view body = {},
        const std::vector<std::pair<std::string, std::string>>& headers = {},
        std::chrono::milliseconds timeout = std::chrono::seconds(10)
    );
    ~sse_client();
    sse_client(const sse_client&) = delete;
    sse_client& operator=(const sse_client&) = delete;

    std::chrono::steady_clock::time_point sent_at() const;
    unsigned status() const;
    std::string header(std::string_view name) const;  // case-insensitive; "" when absent
    bool chunked() const;

    // The next complete event, or nullopt once the response has ended.
    std::optional<timed_event> next_event();
    // Every remaining event, up to the end of the response.
    std::vector<timed_event> read_all();
    // The de-chunked body read so far.
    const std::string& body() const;
    // True once the response ended with its terminating chunk (a clean end, not a dropped connection).
    bool complete() const;
    // Closes the connection now (a client that goes away mid-stream).
    void disconnect();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace modelrelay::test
