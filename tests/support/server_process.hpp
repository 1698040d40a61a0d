// File: server_process.hpp
// Runs the real modelrelay binary as a child process on 127.0.0.1 port 0 with its own data directory, so
// integration tests exercise exactly what users run, including restarts and kill -9.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <sys/types.h>
#include <vector>

namespace modelrelay::test {

// A fresh directory under the system temp dir, removed on destruction.
class temp_dir {
public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

class server_process {
public:
    // `data_dir` persists across restart() so tests can check durability.
    explicit server_process(
        std::filesystem::path data_dir,
        std::map<std::string, std::string> env = {},
        std::vector<std::string> extra_args = {}
    );
    ~server_process();
    server_process(const server_process&) = delete;
    server_process& operator=(const server_process&) = delete;

    // Starts and waits until the port file appears (throws on timeout or early exit).
    void start();
    // SIGTERM and wait; returns the exit status.
    int stop();
    // SIGKILL: no chance to clean up.
    void kill_hard();
    // Sends `sig` (e.g. SIGHUP) and returns at once.
    void signal(int sig) const;
    void restart() {
        stop();
        start();
    }
    bool running() const { return pid_ > 0; }

    std::uint16_t port() const { return port_; }
    // Everything the server wrote to stderr so far (its log).
    std::string log() const;
    // Starts and expects a non-zero exit; returns the exit code and leaves the log readable.
    int start_expect_failure(std::chrono::milliseconds timeout = std::chrono::seconds(10));

private:
    void scan_for_secrets() const;  // R23 sentinel check of the log and data directory (sentinel_guard.hpp)
    std::filesystem::path data_dir_;
    std::map<std::string, std::string> env_;
    std::vector<std::string> args_;
    std::filesystem::path log_file_;
    std::filesystem::path port_file_;
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
};

}  // namespace modelrelay::test
