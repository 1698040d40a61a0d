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
