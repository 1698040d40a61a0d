// File: key_file.cpp
// POSIX file handling for key files; see key_file.hpp for the contract.
#include "registry/key_file.hpp"

#include <cerrno>
#include <cstdio>  // renameat2
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

namespace modelrelay::registry {

namespace {

constexpr std::size_t max_key_file_bytes = 4096;

// Closes a POSIX file descriptor on scope exit.
class unique_fd {
public:
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() { reset(); }
    int get() const noexcept { return fd_; }
    int release_and_close() noexcept {
        int rc = fd_ >= 0 ? ::close(fd_) : 0;
        fd_ = -1;
        return rc;
    }
    void reset() noexcept { (void)release_and_close(); }

private:
    int fd_;
};

error key_error(std::string reason) {
    return {errc::illegal_state, std::move(reason)};
}

std::string errno_text(int err) {
    return std::strerror(err);
}

std::string_view trim_ascii_space(std::string_view s) noexcept {
    constexpr std::string_view ws = " \t\r\n\v\f";
    auto first = s.find_first_not_of(ws);
    if (first == std::string_view::npos) {
        return {};
    }
    auto last = s.find_last_not_of(ws);
    return s.substr(first, last - first + 1);
}

std::string octal_mode(mode_t m) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
    return buf;
}

result<std::string> read_all(const std::filesystem::path& path, std::string_view what) {
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        return key_error("cannot open " + std::string(what) + " " + path.string() + ": " + errno_text(errno));
    }
    std::string data;
    char buf[256];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int err = errno;
            secure_wipe(data);
            OPENSSL_cleanse(buf, sizeof buf);
            return key_error(
                "cannot read " + std::string(what) + " " + path.string() + ": " + errno_text(err)
            );
        }
        if (n == 0) {
            break;
        }
        data.append(buf, static_cast<std::size_t>(n));
        if (data.size() > max_key_file_bytes) {  // no key file is this large; do not slurp any file
            break;
        }
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return data;
}

result<void> write_all(int fd, std::string_view data, const std::filesystem::path& path) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return key_error("cannot write " + path.string() + ": " + errno_text(errno));
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

}  // namespace

result<bool> path_exists(const std::filesystem::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        return true;
    }
    if (errno == ENOENT) {
        return false;
    }
    return key_error("cannot access " + path.string() + ": " + errno_text(errno));
}

result<secret_key> read_key_file(const std::filesystem::path& path, std::string_view what) {
    // Symlinks are followed: secret volumes (Kubernetes) mount keys through them.
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return key_error(
            "cannot access " + std::string(what) + " " + path.string() + ": " + errno_text(errno)
        );
    }
    if (!S_ISREG(st.st_mode)) {
        return key_error(std::string(what) + " " + path.string() + " exists but is not a regular file");
    }
    auto contents = read_all(path, what);
    if (!contents) {
        return contents.error();
    }
    if (contents->size() == key_size) {
        auto k = secret_key::from_bytes(*contents);
        secure_wipe(*contents);
        return k;
    }
    auto raw = base64_decode(trim_ascii_space(*contents));
    const auto size = contents->size();
    secure_wipe(*contents);
    if (raw && raw->size() == key_size) {
        auto k = secret_key::from_bytes(*raw);
        secure_wipe(*raw);
        return k;
    }
    if (raw) {
        secure_wipe(*raw);
    }
    return key_error(
        std::string(what) + " " + path.string() +
        " must contain 32 raw bytes or their base64 encoding (found " + std::to_string(size) +
        " bytes that are neither); refusing to use it and leaving it untouched"
    );
}

result<void> require_owner_read_only(const std::filesystem::path& path, std::string_view what) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return key_error(
            "cannot access " + std::string(what) + " " + path.string() + ": " + errno_text(errno)
        );
    }
    if ((st.st_mode & 07777 & ~static_cast<mode_t>(S_IRUSR)) != 0) {
        return key_error(
            std::string(what) + " " + path.string() + " has mode " + octal_mode(st.st_mode) +
            "; it must be readable by its owner only (mode 0400): run chmod 0400 " + path.string()
        );
    }
    return {};
}

result<void> rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to) {
    int rc = ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
        // The file system does not support RENAME_NOREPLACE: a hard link is also atomic and never replaces.
        rc = ::link(from.c_str(), to.c_str());
        if (rc == 0) {
            ::unlink(from.c_str());
        }
    }
    if (rc != 0) {
        return key_error("cannot rename " + from.string() + " to " + to.string() + ": " + errno_text(errno));
    }
    return {};
}

result<void> fsync_directory(const std::filesystem::path& dir) {
    unique_fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0 || ::fsync(fd.get()) != 0) {
        return key_error("cannot fsync directory " + dir.string() + ": " + errno_text(errno));
    }
    return {};
}

result<void> create_key_file(
    const std::filesystem::path& path, const secret_key& key, mode_t mode, std::string_view what
) {
    const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    std::string tmpl = (dir / (path.filename().string() + ".tmp.XXXXXX")).string();
    unique_fd fd(::mkostemp(tmpl.data(), O_CLOEXEC));  // mkostemp creates the file with mode 0600
    if (fd.get() < 0) {
        return key_error(
            "cannot create " + std::string(what) + " in " + dir.string() + ": " + errno_text(errno)
        );
    }
    const std::filesystem::path tmp = tmpl;
    auto fail = [&](std::string reason) -> result<void> {
        fd.reset();
        ::unlink(tmp.c_str());
        return key_error(std::move(reason));
    };
    // The mode is set on the descriptor, which stays writable whatever the mode says.
    if (::fchmod(fd.get(), mode) != 0) {
        return fail("cannot chmod " + tmp.string() + ": " + errno_text(errno));
    }
    if (auto w = write_all(fd.get(), {reinterpret_cast<const char*>(key.data()), key.size()}, tmp); !w) {
        return fail(w.error().reason);
    }
    if (::fsync(fd.get()) != 0) {
        return fail("cannot fsync " + tmp.string() + ": " + errno_text(errno));
    }
    if (fd.release_and_close() != 0) {
        return fail("cannot close " + tmp.string() + ": " + errno_text(errno));
    }
    if (auto r = rename_no_replace(tmp, path); !r) {
        ::unlink(tmp.c_str());
        if (auto e = path_exists(path); e && *e) {
            return key_error(std::string(what) + " " + path.string() + " already exists");
        }
        return r;
    }
    // Make the new directory entry durable too, or a crash could lose the key while data encrypted under
    // it survives.
    return fsync_directory(dir);
}

}  // namespace modelrelay::registry
