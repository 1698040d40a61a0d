// File: server_process.cpp
#include "tests/support/server_process.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <random>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "tests/support/sentinel_guard.hpp"

#ifndef MODELRELAY_BINARY
#define MODELRELAY_BINARY "modelrelay"
#endif

namespace modelrelay::test {

temp_dir::temp_dir() {
    std::random_device rd;
    const auto base = std::filesystem::temp_directory_path();
    for (int i = 0; i < 100; ++i) {
        auto p = base / ("modelrelay-test-" + std::to_string(rd()) + std::to_string(::getpid()));
        if (std::filesystem::create_directory(p)) {
            path_ = p;
            return;
        }
    }
    throw std::runtime_error("cannot create a temp dir");
}

temp_dir::~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

server_process::server_process(
    std::filesystem::path data_dir,
    std::map<std::string, std::string> env,
    std::vector<std::string> extra_args
)
    : data_dir_(std::move(data_dir)), env_(std::move(env)), args_(std::move(extra_args)) {
    log_file_ = data_dir_.parent_path() / (data_dir_.filename().string() + ".log");
    port_file_ = data_dir_.parent_path() / (data_dir_.filename().string() + ".port");
}

server_process::~server_process() {
    if (pid_ > 0) {
        kill_hard();
    }
}

void server_process::start() {
    std::filesystem::remove(port_file_);
    const pid_t pid = ::fork();
    if (pid < 0) {
        throw std::runtime_error("fork failed");
    }
    if (pid == 0) {
        const int fd = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            ::dup2(fd, 2);
            ::dup2(fd, 1);
        }
        for (const auto& [k, v] : env_) {
            ::setenv(k.c_str(), v.c_str(), 1);
        }
        std::vector<std::string> args{
            MODELRELAY_BINARY,
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data_dir_.string(),
            "--port-file",
            port_file_.string(),
            "--threads",
            "2",
        };
        args.insert(args.end(), args_.begin(), args_.end());
        std::vector<char*> argv;
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    pid_ = pid;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("modelrelay exited during start-up:\n" + log());
        }
        std::ifstream in(port_file_);
        unsigned p = 0;
        if (in >> p && p != 0) {
            port_ = static_cast<std::uint16_t>(p);
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill_hard();
    throw std::runtime_error("modelrelay did not start in time:\n" + log());
}

int server_process::start_expect_failure(std::chrono::milliseconds timeout) {
    try {
        start();
    } catch (const std::exception&) {
        return 1;
    }
    // It started; wait for it to die on its own.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stop();
    return 0;
}

void server_process::signal(int sig) const {
    if (pid_ > 0) {
        ::kill(pid_, sig);
    }
}

int server_process::stop() {
    if (pid_ <= 0) {
        return -1;
    }
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    scan_for_secrets();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void server_process::kill_hard() {
    if (pid_ <= 0) {
        return;
    }
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    scan_for_secrets();
}

void server_process::scan_for_secrets() const {
    scan_for_sentinels("server log " + log_file_.string(), log());
    scan_dir_for_sentinels(data_dir_);
}

std::string server_process::log() const {
    std::ifstream in(log_file_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace modelrelay::test
