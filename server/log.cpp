// File: log.cpp
#include "server/log.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

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

// Hand-formatted: snprintf showed up in profiles at a log line per request.
std::string timestamp() {
    using namespace std::chrono;
    const auto now = system_clock::now();
    const auto t = system_clock::to_time_t(now);
    const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::string out = "0000-00-00T00:00:00.000Z";
    put_digits(out.data(), tm.tm_year + 1900, 4);
    put_digits(out.data() + 5, tm.tm_mon + 1, 2);
    put_digits(out.data() + 8, tm.tm_mday, 2);
    put_digits(out.data() + 11, tm.tm_hour, 2);
    put_digits(out.data() + 14, tm.tm_min, 2);
    put_digits(out.data() + 17, tm.tm_sec, 2);
    put_digits(out.data() + 20, static_cast<int>(ms), 3);
    return out;
}

// Batched lines wait here until the flusher thread's next tick, until the buffer holds
// flush_bytes, or until an immediate line is written (which flushes them first, so the order of
// lines is kept). Never destroyed (threads may log until the process ends); an atexit hook writes the
// rest, so a normal exit, including after a graceful shutdown, loses nothing.
class sink {
public:
    static constexpr std::size_t flush_bytes = 16 * 1024;
    static constexpr std::chrono::milliseconds flush_interval{50};

    void write_now(const std::string& line) {
        std::lock_guard lock(mutex_);
        buffer_ += line;
        flush_locked();
    }

    void write_batched(const std::string& line) {
        std::unique_lock lock(mutex_);
        const bool was_empty = buffer_.empty();
        buffer_ += line;
        if (buffer_.size() >= flush_bytes) {
            flush_locked();
            return;
        }
        if (!started_) {
            started_ = true;
            flusher_ = std::thread([this] { run(); });
        }
        if (was_empty) {
            lock.unlock();
            wake_.notify_one();
        }
    }

    void flush() {
        std::lock_guard lock(mutex_);
        flush_locked();
    }

private:
    void flush_locked() {
        if (!buffer_.empty()) {
            std::fwrite(buffer_.data(), 1, buffer_.size(), stderr);
            std::fflush(stderr);
            buffer_.clear();
        }
    }

    void run() {
        std::unique_lock lock(mutex_);
        for (;;) {
            if (buffer_.empty()) {
                wake_.wait(lock, [this] { return !buffer_.empty(); });
                continue;
            }
            wake_.wait_for(lock, flush_interval);
            flush_locked();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::string buffer_;
    bool started_ = false;
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

std::string format_line(level lv, std::string_view message, std::initializer_list<field> fields) {
    std::string line;
    line.reserve(160);
    if (g_format == log_format::json) {
        line += R"({"ts":")" + timestamp() + R"(","level":")" + std::string(level_name(lv)) + R"(","msg":)";
        line += boost::json::serialize(boost::json::string_view(message.data(), message.size()));
        for (const auto& f : fields) {
            line += ',';
            line += boost::json::serialize(boost::json::string_view(f.key.data(), f.key.size()));
            line += ':';
            line += f.is_number
                        ? std::to_string(f.number)
                        : boost::json::serialize(boost::json::string_view(f.text.data(), f.text.size()));
        }
        line += "}\n";
    } else {
        line += timestamp();
        line += ' ';
        line += level_name(lv);
        line += ' ';
        line += message;
        for (const auto& f : fields) {
            line += ' ';
            line += f.key;
            line += '=';
            if (f.is_number) {
                line += std::to_string(f.number);
            } else {
                line += f.text;
            }
        }
        line += '\n';
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
