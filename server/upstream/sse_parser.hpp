// File: sse_parser.hpp
// Incremental `text/event-stream` parser (WHATWG HTML §9.2.6), used to relay upstream streaming
// responses (OpenAI `stream:true`, ml-commons.md §1.4). Pure and allocation-light: bytes arrive in
// arbitrary chunks straight from the socket, so a line ending, a UTF-8 BOM or a CRLF pair may be split
// anywhere; events are yielded as soon as their terminating blank line is seen.
//
// Semantics: lines end with CRLF, LF or CR; a leading UTF-8 BOM is skipped; `:` lines are comments;
// `field: value` drops one space after the colon; `data` lines are joined with "\n"; `event` sets the
// type (default "message"); `id` (without NUL) sets the last event id, which persists across events;
// `retry` (ASCII digits only) sets the reconnection time; unknown fields are ignored; an event without
// any `data` line is not dispatched; an unterminated event at end of stream is discarded.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelrelay::server::upstream {

struct sse_event {
    std::string event = "message";
    std::string data;
    std::string id;  // the last event id in force when the event was dispatched
    friend bool operator==(const sse_event&, const sse_event&) = default;
};

class sse_parser {
public:
    // Lines and events longer than max_bytes make feed() fail (a hostile or broken upstream must not
    // grow memory without bound).
    explicit sse_parser(std::size_t max_bytes = 16 * 1024 * 1024) : max_bytes_(max_bytes) {}

    // Consumes `bytes`, calling `on_event(const sse_event&)` for each completed event. Returns false once
    // the size limit was exceeded; the parser then ignores further input.
    template <class OnEvent>
    bool feed(std::string_view bytes, OnEvent&& on_event) {
        while (!bytes.empty() && ok_) {
            if (auto line = next_line(bytes)) {
                if (process_line(*line)) {
                    on_event(static_cast<const sse_event&>(pending_));
                    reset_event();
                }
            }
        }
        return ok_;
    }

    // Convenience: the events completed by `bytes`.
    std::vector<sse_event> feed(std::string_view bytes);

    bool failed() const { return !ok_; }
    const std::string& last_event_id() const { return last_id_; }
    std::optional<std::chrono::milliseconds> retry() const { return retry_; }

private:
    // Extracts the next complete line (without its terminator) from `bytes`, consuming what it used. The
    // view points into `bytes` or into line_ and is valid until the next call.
    std::optional<std::string_view> next_line(std::string_view& bytes);
    // Applies one line; true when it completed an event that must be dispatched (now in pending_).
    bool process_line(std::string_view line);
    void reset_event();

    std::size_t max_bytes_;
    bool ok_ = true;
    bool bom_checked_ = false;
    std::string bom_prefix_;   // bytes of a possible BOM split across chunks
    bool skip_lf_ = false;     // the previous chunk ended in CR: a leading LF belongs to it
    std::string line_;         // partial line carried across chunks
    bool clear_line_ = false;  // line_ was handed out by the previous next_line()
    std::string event_type_;   // `event` field of the event under construction
    sse_event pending_;        // event under construction
    bool has_data_ = false;
    std::string last_id_;
    std::optional<std::chrono::milliseconds> retry_;
};

}  // namespace modelrelay::server::upstream
