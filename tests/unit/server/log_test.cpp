// File: log_test.cpp
// The batched request log: every line reaches stderr exactly once, each thread's lines in the order it
// wrote them, whether written by the flusher's tick (an idle sink wakes it), by the writer that fills a
// batch, or by an immediate line, which writes what is batched first.
#include "server/log.hpp"

#include <chrono>
#include <climits>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

namespace modelrelay::test {
namespace {

using namespace std::chrono_literals;

// Points fd 2 at a file for its lifetime.
class captured_stderr {
public:
    captured_stderr() : path_(testing::TempDir() + "log_test_" + std::to_string(::getpid()) + ".txt") {
        std::fflush(stderr);
        saved_ = ::dup(2);
        std::FILE* f = std::fopen(path_.c_str(), "w");
        ::dup2(::fileno(f), 2);
        std::fclose(f);
    }
    ~captured_stderr() {
        std::fflush(stderr);
        ::dup2(saved_, 2);
        ::close(saved_);
        std::remove(path_.c_str());
    }
    std::string text() const {
        std::fflush(stderr);
        std::ifstream in(path_);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }

private:
    std::string path_;
    int saved_ = -1;
};

std::vector<std::string> lines_with(const std::string& text, std::string_view marker) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.find(marker) != std::string::npos) {
            out.push_back(line);
        }
    }
    return out;
}

TEST(log, an_idle_sink_writes_a_batched_line_within_its_tick) {
    captured_stderr err;
    // Twice: the first line may be the one that starts the flusher; by the second it has gone idle and
    // must be woken. Nothing flushes explicitly.
    for (const std::string marker : {"idle-1", "idle-2"}) {
        server::log::write_batched(server::log::level::info, "request", {{"marker", marker}});
        std::string text;
        for (int i = 0; i < 200 && lines_with(text, marker).empty(); ++i) {
            std::this_thread::sleep_for(10ms);
            text = err.text();
        }
        EXPECT_EQ(lines_with(text, marker).size(), 1U) << marker;
        std::this_thread::sleep_for(120ms);  // past the flusher's tick: it finds nothing and waits
    }
}

TEST(log, lines_from_many_threads_are_written_once_each_in_each_threads_order) {
    captured_stderr err;
    constexpr int threads = 4;
    constexpr int per_thread = 5000;  // several 16 KB batches and flusher ticks while they run
    std::vector<std::thread> writers;
    for (int t = 0; t < threads; ++t) {
        writers.emplace_back([t] {
            const auto who = "many-" + std::to_string(t);
            for (long long i = 0; i < per_thread; ++i) {
                server::log::write_batched(server::log::level::info, "request", {{"marker", who}, {"n", i}});
                if (i == per_thread / 2 && t == 0) {
                    server::log::info("an immediate line", {{"marker", "many-now"}});
                }
            }
        });
    }
    for (auto& w : writers) {
        w.join();
    }
    server::log::flush();
    const auto text = err.text();
    EXPECT_EQ(lines_with(text, "marker=many-now").size(), 1U);
    for (int t = 0; t < threads; ++t) {
        const auto lines = lines_with(text, "marker=many-" + std::to_string(t) + " ");
        ASSERT_EQ(lines.size(), static_cast<std::size_t>(per_thread)) << t;
        for (int i = 0; i < per_thread; ++i) {
            ASSERT_NE(lines[i].find(" n=" + std::to_string(i)), std::string::npos) << lines[i];
        }
    }
}

// The text format, piece by piece: UTC timestamp with milliseconds, level, message, then key=value pairs
// (numbers at both ends of their range).
TEST(log, a_text_line_has_timestamp_level_message_and_fields) {
    captured_stderr err;
    server::log::write(
        server::log::level::warn,
        "text-format-check",
        {{"method", "POST"},
         {"path", "/_plugins/_ml/models/x/_predict"},
         {"status", 200LL},
         {"low", static_cast<long long>(INT64_MIN)},
         {"high", static_cast<long long>(INT64_MAX)},
         {"empty", ""}}
    );
    const auto lines = lines_with(err.text(), "text-format-check");
    ASSERT_EQ(lines.size(), 1U);
    const std::regex shape(
        R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z warn text-format-check method=POST )"
        R"(path=/_plugins/_ml/models/x/_predict status=200 low=-9223372036854775808 )"
        R"(high=9223372036854775807 empty=$)"
    );
    EXPECT_TRUE(std::regex_match(lines[0], shape)) << lines[0];
}

}  // namespace
}  // namespace modelrelay::test
