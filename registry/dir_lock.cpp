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

void dir_lock::release() {
    // Closing releases the flocks.
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    if (dir_fd_ >= 0) {
        ::close(dir_fd_);
        dir_fd_ = -1;
    }
}

dir_lock& dir_lock::operator=(dir_lock&& other) noexcept {
    if (this != &other) {
        release();
        fd_ = other.fd_;
        dir_fd_ = other.dir_fd_;
        other.fd_ = -1;
        other.dir_fd_ = -1;
    }
    return *this;
}

dir_lock::~dir_lock() {
    release();
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
    const auto in_use = [&](const std::string& pid, const std::string& what) {
        return error{
            errc::illegal_state,
            "data directory " + dir.string() + " is in use by another modelrelay process" +
                (pid.empty() ? std::string() : " (pid " + pid + ")") + ": " + what +
                " is locked; stop that process first, or give this one its own --data-dir"};
    };
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int e = errno;
        if (e == EWOULDBLOCK) {
            return in_use(holder_pid(fd), path.string());
        }
        return error{errc::illegal_state, "cannot lock " + path.string() + ": " + errno_text(e)};
    }
    lock.dir_fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lock.dir_fd_ < 0) {
        const int e = errno;
        return error{
            errc::illegal_state, "cannot open the data directory " + dir.string() + ": " + errno_text(e)};
    }
    if (::flock(lock.dir_fd_, LOCK_EX | LOCK_NB) != 0) {
        const int e = errno;
        if (e == EWOULDBLOCK) {
            return in_use("", dir.string());
        }
        return error{errc::illegal_state, "cannot lock " + dir.string() + ": " + errno_text(e)};
    }
    // The pid is informational (the flock is the lock); a failure to write it does not matter.
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) == 0) {
        [[maybe_unused]] const ssize_t w = ::pwrite(fd, pid.data(), pid.size(), 0);
    }
    return lock;
}

}  // namespace modelrelay::registry
