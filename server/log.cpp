// File: log.cpp
#include "server/log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace modelrelay::server::log {

namespace {

log_format g_format = log_format::text;
std::mutex g_mutex;

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

std::string timestamp() {
    using namespace std::chrono;
    const auto now = system_clock::now();
    const auto t = system_clock::to_time_t(now);
    const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    std::snprintf(
        buf,
        sizeof buf,
        "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        static_cast<int>(ms)
    );
    return buf;
}

}  // namespace

void set_format(log_format f) {
    g_format = f;
}

void write(level lv, std::string_view message, std::initializer_list<field> fields) {
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
    std::lock_guard lock(g_mutex);
    std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace modelrelay::server::log
