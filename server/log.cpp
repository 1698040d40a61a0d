// File: log.cpp
#include "server/log.hpp"

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>

#include "registry/json_text.hpp"
#include "registry/utf8.hpp"

namespace modelrelay::server::log {

namespace {

log_format g_format = log_format::text;

std::string_view level_name(level lv) {
    switch (lv) {
        case level::debug:
            return "debug";
        case level::info:
            return "info";
        case level::warn:
            return "warn";
        case level::error:
            return "error";
    }
    return "info";
}

void put_digits(char* at, int value, int width) {
    for (int i = width - 1; i >= 0; --i) {
        at[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
}

// Hand-formatted: snprintf showed up in profiles at a log line per request. Writes the 24 characters of
// `2026-11-23T19:40:20.123Z` at `out`.
void write_timestamp(char* out) {
    using namespace std::chrono;
    const auto now = system_clock::now();
    const auto t = system_clock::to_time_t(now);
    const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    // gmtime_r is most of a line's cost; a thread formats each second once.
    thread_local std::time_t cached_second = -1;
    thread_local char cached[] = "0000-00-00T00:00:00.";
    if (t != cached_second) {
        std::tm tm{};
        gmtime_r(&t, &tm);
        put_digits(cached, tm.tm_year + 1900, 4);
        put_digits(cached + 5, tm.tm_mon + 1, 2);
        put_digits(cached + 8, tm.tm_mday, 2);
        put_digits(cached + 11, tm.tm_hour, 2);
        put_digits(cached + 14, tm.tm_min, 2);
        put_digits(cached + 17, tm.tm_sec, 2);
        cached_second = t;
    }
    std::memcpy(out, cached, sizeof cached - 1);
    put_digits(out + sizeof cached - 1, static_cast<int>(ms), 3);
    out[sizeof cached + 2] = 'Z';
}

constexpr std::size_t timestamp_size = 24;

void append_timestamp(std::string& line) {
    char ts[timestamp_size];
    write_timestamp(ts);
    line.append(ts, sizeof ts);
}

// The text line written through a cursor into room sized once: `+=` is an out-of-line call per piece, and
// a request's line has about twenty pieces.
void format_text_line(
    std::string& line, level lv, std::string_view message, std::initializer_list<field> fields
) {
    const std::string_view name = level_name(lv);
    std::size_t room = timestamp_size + 1 + name.size() + 1 + message.size() + 1;
    for (const auto& f : fields) {
        room += 2 + f.key.size() + (f.is_number ? 20 : f.text.size());
    }
    line.resize(room);
    char* at = line.data();
    const auto put = [&at](std::string_view v) {
        std::memcpy(at, v.data(), v.size());
        at += v.size();
    };
    write_timestamp(at);
    at += timestamp_size;
    *at++ = ' ';
    put(name);
    *at++ = ' ';
    put(message);
    for (const auto& f : fields) {
        *at++ = ' ';
        put(f.key);
        *at++ = '=';
        if (f.is_number) {
            at = std::to_chars(at, at + 20, f.number).ptr;
        } else {
            put(f.text);
        }
    }
    *at++ = '\n';
    line.resize(static_cast<std::size_t>(at - line.data()));
}

// Batched lines wait here until the flusher thread's next tick, until the buffer holds flush_bytes, or
// until an immediate line is written (which flushes them first, so the order of lines is kept). Never
// destroyed (threads may log until the process ends); an atexit hook writes the rest, so a normal exit,
// including after a graceful shutdown, loses nothing.
//
// Two locks, so that no I/O thread waits behind a write to stderr: `buffer_mu_` guards the buffer and is
// held only to append or to swap it out; `out_mu_` serialises the writes, and is taken before the buffer
// lock is released, so batches are written in the order they were swapped out. The flusher ticks by
// itself while lines keep coming and is woken only from an idle wait: a busy server makes no futex call
// per line (round 7 in docs/benchmarks.md).
class sink {
public:
    static constexpr std::size_t flush_bytes = 16 * 1024;
    static constexpr std::chrono::milliseconds flush_interval{50};

    void write_now(const std::string& line) {
        std::unique_lock lock(buffer_mu_);
        buffer_ += line;
        write_out(lock);
    }

    void write_batched(const std::string& line) {
        std::unique_lock lock(buffer_mu_);
        buffer_ += line;
        if (buffer_.size() >= flush_bytes) {
            write_out(lock);
            return;
        }
        if (!started_) {
            started_ = true;
            flusher_ = std::thread([this] { run(); });
            return;
        }
        if (flusher_idle_) {
            flusher_idle_ = false;
            lock.unlock();
            wake_.notify_one();
        }
    }

    void flush() {
        std::unique_lock lock(buffer_mu_);
        write_out(lock);
    }

private:
    // Swaps the buffer out and writes it; `lock` holds buffer_mu_ on entry and is released on return.
    void write_out(std::unique_lock<std::mutex>& lock) {
        if (buffer_.empty()) {
            lock.unlock();
            return;
        }
        std::unique_lock out(out_mu_);
        out_.swap(buffer_);
        lock.unlock();
        std::fwrite(out_.data(), 1, out_.size(), stderr);
        std::fflush(stderr);
        out_.clear();  // keeps its capacity for the next swap
    }

    void run() {
        for (;;) {
            {
                std::unique_lock lock(buffer_mu_);
                if (buffer_.empty()) {
                    flusher_idle_ = true;
                    wake_.wait(lock, [this] { return !flusher_idle_; });
                }
            }
            std::this_thread::sleep_for(flush_interval);
            std::unique_lock lock(buffer_mu_);
            write_out(lock);
        }
    }

    std::mutex buffer_mu_;
    std::string buffer_;         // guarded by buffer_mu_
    bool started_ = false;       // guarded by buffer_mu_
    bool flusher_idle_ = false;  // guarded by buffer_mu_: the flusher waits for a line
    std::condition_variable wake_;
    std::mutex out_mu_;
    std::string out_;  // guarded by out_mu_
    std::thread flusher_;
};

sink& the_sink() {
    static sink* const s = [] {
        auto* made = new sink;
        std::atexit([] { the_sink().flush(); });
        return made;
    }();
    return *s;
}

// Into a per-thread string that keeps its capacity: a line costs no allocation.
const std::string& format_line(level lv, std::string_view message, std::initializer_list<field> fields) {
    thread_local std::string line;
    line.clear();
    if (g_format == log_format::json) {
        line += R"({"ts":")";
        append_timestamp(line);
        line += R"(","level":")";
        line += level_name(lv);
        line += R"(","msg":)";
        registry::append_json_string(line, message);
        for (const auto& f : fields) {
            line += ',';
            registry::append_json_string(line, f.key);
            line += ':';
            if (f.is_number) {
                line += std::to_string(f.number);
            } else if (thread_local std::string fixed; registry::utf8::sanitize(f.text, fixed)) {
                // A JSON line must be UTF-8 (a raw 0xFF in a request path would make it unreadable to log
                // shippers): invalid bytes become U+FFFD, as in the answers.
                registry::append_json_string(line, fixed);
            } else {
                registry::append_json_string(line, f.text);
            }
        }
        line += "}\n";
    } else {
        format_text_line(line, lv, message, fields);
    }
    return line;
}

}  // namespace

void set_format(log_format f) {
    g_format = f;
}

void write(level lv, std::string_view message, std::initializer_list<field> fields) {
    the_sink().write_now(format_line(lv, message, fields));
}

void write_batched(level lv, std::string_view message, std::initializer_list<field> fields) {
    the_sink().write_batched(format_line(lv, message, fields));
}

void flush() {
    the_sink().flush();
}

}  // namespace modelrelay::server::log
