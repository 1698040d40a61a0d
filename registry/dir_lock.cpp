// File: dir_lock.cpp
#include "registry/dir_lock.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/file.h>
#include <unistd.h>

namespace modelrelay::registry {

namespace {

std::string errno_text(int e) {
    return std::strerror(e);
}

// The pid the holder wrote, for the message; empty when unreadable.
std::string holder_pid(int fd) {
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    std::string pid;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) {
        pid.push_back(buf[i]);
    }
    return pid;
}

}  // namespace

dir_lock& dir_lock::operator=(dir_lock&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}

dir_lock::~dir_lock() {
    if (fd_ >= 0) {
        ::close(fd_);  // releases the flock
    }
}

result<dir_lock> dir_lock::acquire(const std::filesystem::path& dir) {
    const auto path = dir / dir_lock_file_name;
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        const int e = errno;
        return error{
            errc::illegal_state, "cannot open the lock file " + path.string() + ": " + errno_text(e)};
    }
    dir_lock lock(fd);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int e = errno;
        if (e == EWOULDBLOCK) {
            const std::string pid = holder_pid(fd);
            return error{
                errc::illegal_state,
                "data directory " + dir.string() + " is in use by another modelrelay process" +
                    (pid.empty() ? std::string() : " (pid " + pid + ")") + ": " + path.string() +
                    " is locked; stop that process first, or give this one its own --data-dir"};
        }
        return error{errc::illegal_state, "cannot lock " + path.string() + ": " + errno_text(e)};
    }
    // The pid is informational (the flock is the lock); a failure to write it does not matter.
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) == 0) {
        [[maybe_unused]] const ssize_t w = ::pwrite(fd, pid.data(), pid.size(), 0);
    }
    return lock;
}

}  // namespace modelrelay::registry
