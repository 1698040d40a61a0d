// File: dir_lock.hpp
// One process per data directory. Two servers on one directory would each hold their own snapshot of the
// registry and overwrite each other's writes (each one's cache stays stale; sequence numbers collide), and
// a supervisor that starts the new process while the old one drains after SIGTERM does exactly that. As
// LevelDB does with its LOCK file, the registry takes an exclusive flock(2) on `<data_dir>/LOCK` before it
// opens the database, and holds it for its lifetime. The kernel drops the lock when the process ends, by
// kill -9 too, so a crash never leaves a stale lock behind. The directory itself is flocked too: a LOCK
// file deleted under a running server (a new one is then free to lock) must not let a second server in.
#pragma once

#include <filesystem>

#include "registry/error.hpp"

namespace modelrelay::registry {

inline constexpr const char* dir_lock_file_name = "LOCK";

class dir_lock {
public:
    dir_lock() = default;
    dir_lock(dir_lock&& other) noexcept : fd_(other.fd_), dir_fd_(other.dir_fd_) {
        other.fd_ = -1;
        other.dir_fd_ = -1;
    }
    dir_lock& operator=(dir_lock&& other) noexcept;
    dir_lock(const dir_lock&) = delete;
    dir_lock& operator=(const dir_lock&) = delete;
    ~dir_lock();

    // Locks `dir`'s LOCK file, creating it (mode 0600) when missing, without waiting. errc::illegal_state
    // when another process holds it, naming that process's pid (written into the file by the holder).
    static result<dir_lock> acquire(const std::filesystem::path& dir);

private:
    explicit dir_lock(int fd) : fd_(fd) {}
    void release();
    int fd_ = -1;
    int dir_fd_ = -1;
};

}  // namespace modelrelay::registry
