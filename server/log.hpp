// File: log.hpp
// Line-oriented logging to stderr, as text or JSON. Callers pass structured fields; nothing here formats
// request bodies or headers, which is how secrets stay out of the log.
#pragma once

#include <initializer_list>
#include <string_view>
#include <utility>

#include "server/config.hpp"

namespace modelrelay::server::log {

enum class level { debug, info, warn, error };

struct field {
    std::string_view key;
    std::string_view text;
    long long number = 0;
    bool is_number = false;
    field(std::string_view k, std::string_view v) : key(k), text(v) {}
    field(std::string_view k, long long n) : key(k), number(n), is_number(true) {}
};

void set_format(log_format f);
void write(level lv, std::string_view message, std::initializer_list<field> fields = {});
// For the per-request line: buffered and written in batches (within 50 ms, or at 16 KB, or with the next
// immediate line, whichever comes first), so a busy server makes one write per batch, not per request.
// Lines are never reordered; the rest is written at exit, so a graceful shutdown loses nothing (a crash
// may lose the last 50 ms of request lines).
void write_batched(level lv, std::string_view message, std::initializer_list<field> fields = {});
// Writes what is buffered now.
void flush();

inline void info(std::string_view m, std::initializer_list<field> f = {}) {
    write(level::info, m, f);
}
inline void warn(std::string_view m, std::initializer_list<field> f = {}) {
    write(level::warn, m, f);
}
inline void error(std::string_view m, std::initializer_list<field> f = {}) {
    write(level::error, m, f);
}

}  // namespace modelrelay::server::log
