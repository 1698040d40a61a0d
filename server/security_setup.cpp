// File: security_setup.cpp
// Start-up of the security layer: which mode is active and why (issue 6 defaults: `auto` is on for any
// non-loopback listen address), the identity database, and the first-start `admin` user whose password comes
// from MODELRELAY_ADMIN_PASSWORD or is generated into DATA_DIR/admin.password (0600), never logged.
#include "server/security_setup.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>
#include <openssl/rand.h>

#include "registry/crypto.hpp"
#include "server/log.hpp"
#include "server/security.hpp"

namespace modelrelay::server {

namespace {

bool loopback_host(const std::string& host) {
    if (host == "localhost") {
        return true;
    }
    boost::system::error_code ec;
    const auto addr = boost::asio::ip::make_address(host, ec);
    return !ec && addr.is_loopback();
}

std::string generate_password() {
    unsigned char raw[18];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        throw std::runtime_error("RAND_bytes failed");
    }
    std::string out =
        registry::base64url_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
    OPENSSL_cleanse(raw, sizeof raw);
    return out;
}

bool write_private_file(const std::filesystem::path& path, const std::string& text) {
    const std::string tmp = path.string() + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return false;
    }
    const std::string line = text + "\n";
    const bool ok =
        ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
    ::close(fd);
    return ok && std::rename(tmp.c_str(), path.c_str()) == 0;
}

// The first line of a previous start's admin.password ("" when there is none).
std::string read_password_file(const std::filesystem::path& file) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return {};
    }
    std::string text(256, '\0');
    const auto n = ::read(fd, text.data(), text.size());
    ::close(fd);
    text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    if (const auto eol = text.find_first_of("\r\n"); eol != std::string::npos) {
        text.resize(eol);
    }
    return text;
}

}  // namespace

std::pair<bool, std::string> security_decision(const config& cfg) {
    switch (cfg.security) {
        case security_mode::on:
            return {true, "--security on"};
        case security_mode::off:
            return {false, "--security off"};
        case security_mode::automatic:
            break;
    }
    if (loopback_host(cfg.listen_host)) {
        return {false, "--security auto and the listen address " + cfg.listen_host + " is loopback"};
    }
    return {true, "--security auto and the listen address " + cfg.listen_host + " is not loopback"};
}

registry::result<std::unique_ptr<security>> open_security(const config& cfg) {
    const auto [enabled, why] = security_decision(cfg);
    if (!enabled && !loopback_host(cfg.listen_host) && !cfg.allow_insecure_bind) {
        return registry::error{
            registry::errc::illegal_state,
            "--security off on the non-loopback address " + cfg.listen_host +
                " would expose the API without authentication; pass --allow-insecure-bind true to do it "
                "anyway"};
    }
    log::info(enabled ? "security on" : "security off", {{"reason", why}});
    security_options opts;
    opts.enabled = enabled;
    opts.strict_write_acl = cfg.strict_write_acl;
    if (const char* tries = std::getenv("MODELRELAY_AUTH_ALLOWED_TRIES")) {
        opts.throttle.allowed_tries = std::max(1, std::atoi(tries));
    }
    if (!enabled) {
        return std::make_unique<security>(opts, nullptr, std::string());
    }
    auto identity = registry::identity_registry::open(
        cfg.data_dir / "security.db",
        cfg.sync_full ? registry::durability::full : registry::durability::normal,
        {}
    );
    if (!identity) {
        return identity.error();
    }
    if ((*identity)->current()->users.empty()) {
        std::string password;
        bool generated = false;
        const auto password_file = cfg.data_dir / "admin.password";
        std::string kept = read_password_file(password_file);
        if (const char* env = std::getenv("MODELRELAY_ADMIN_PASSWORD"); env != nullptr && *env != '\0') {
            password = env;
        } else if (!kept.empty()) {
            // A data directory that already had security on lost its users (security.db deleted or
            // emptied): every user, role mapping and API key is gone. Said loudly; the admin comes back
            // with the password the operator already has instead of a new one.
            log::warn(
                "the security database has no users but admin.password already exists; recreating the admin "
                "user with that password. Every other user, role mapping and API key is gone: if security.db "
                "was deleted or lost, stop now and restore it from a backup",
                {{"database", (cfg.data_dir / "security.db").string()},
                 {"password_file", password_file.string()}}
            );
            password = kept;
        } else {
            password = generate_password();
            generated = true;
            if (!write_private_file(cfg.data_dir / "admin.password", password)) {
                registry::secure_wipe(password);
                return registry::error{
                    registry::errc::illegal_state,
                    "cannot write " + (cfg.data_dir / "admin.password").string()};
            }
        }
        auto made = (*identity)->bootstrap_admin(password);
        registry::secure_wipe(password);
        registry::secure_wipe(kept);
        if (!made) {
            return made.error();
        }
        if (generated) {
            log::info(
                "created the admin user with a generated password",
                {{"password_file", (cfg.data_dir / "admin.password").string()}}
            );
        } else {
            log::info("created the admin user with the password from MODELRELAY_ADMIN_PASSWORD", {});
        }
    }
    return std::make_unique<security>(opts, std::move(*identity), (cfg.data_dir / "audit.log").string());
}

}  // namespace modelrelay::server
