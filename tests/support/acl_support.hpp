// File: acl_support.hpp
// A real modelrelay started with `--security on` for access-control and tenancy tests: the bootstrap
// `admin` (role all_access) plus internal users created through the Security REST API, each mapped to a
// role, and one keep-alive client that sends every request with the named user's Basic credentials.
// Optionally over HTTPS with client certificates, where the user `superadmin` is the OpenSearch demo
// super-admin certificate (CN=kirk, in --tls-admin-dn) presented without an Authorization header.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/support/http_client.hpp"
#include "tests/support/server_process.hpp"

namespace modelrelay::test {

using header_list = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::string_view acl_admin_password = "Relay-Admin-Passphrase-2031!";
inline constexpr std::string_view acl_user_password = "correct-horse-battery-42";
inline constexpr std::string_view acl_super_admin = "superadmin";

class acl_server {
public:
    // Starts the server (security on) with `extra_args`, e.g. {"--multi-tenancy", "true"}; `tls` adds the
    // HTTPS listener (optional client certificates from the test CA) and the `superadmin` caller.
    explicit acl_server(std::vector<std::string> extra_args = {}, bool tls = false);
    ~acl_server();
    acl_server(const acl_server&) = delete;
    acl_server& operator=(const acl_server&) = delete;

    std::uint16_t port() const { return server_.port(); }
    server_process& process() { return server_; }

    // Creates the internal user `name` (password acl_user_password) with `backend_roles` and, when not
    // empty, the `tenant` attribute, and maps it to `role`. Fails the test on any non-2xx answer.
    void add_user(
        const std::string& name,
        const std::vector<std::string>& backend_roles,
        const std::string& tenant = "",
        const std::string& role = "ml_full_access"
    );

    // One request as `user` ("admin" is the bootstrap admin, "superadmin" the certificate) with `extra`
    // headers.
    http_result as(
        const std::string& user,
        std::string_view method,
        std::string_view target,
        std::string_view body = {},
        const header_list& extra = {}
    );
    // PUT /_cluster/settings {"persistent": <members>} as admin; fails the test on a non-200.
    void set_persistent(std::string_view members);
    // Restarts the process on the same data directory (users and resources persist).
    void restart();

private:
    void connect();

    temp_dir dir_;
    server_process server_;
    bool tls_ = false;
    std::unique_ptr<http_client> client_;
    std::unique_ptr<http_client> super_client_;  // TLS with the super-admin certificate
    std::map<std::string, std::string> passwords_;
    std::map<std::string, std::vector<std::string>> role_users_;
};

}  // namespace modelrelay::test
