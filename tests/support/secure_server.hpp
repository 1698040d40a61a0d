// File: secure_server.hpp
// Test support for security-on servers: start the real binary with `--security on` and a known admin
// password, build Authorization headers, and create users with roles through the Security REST API.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/http_client.hpp"
#include "tests/support/server_process.hpp"

namespace modelrelay::test {

inline constexpr const char* admin_password = "Adm1n-Pass-Strong!";

using header_list = std::vector<std::pair<std::string, std::string>>;

header_list basic(std::string_view user, std::string_view password);
header_list api_key_header(std::string_view encoded);
header_list bearer(std::string_view token);
header_list with_json(header_list h);

// A running server with security on (admin / admin_password) and an admin client.
class secure_server {
public:
    explicit secure_server(
        std::filesystem::path data_dir,
        std::map<std::string, std::string> env = {},
        std::vector<std::string> extra_args = {}
    );
    server_process& process() { return *proc_; }
    std::uint16_t port() const { return proc_->port(); }
    void restart() { proc_->restart(); }

    // As admin.
    http_result admin(std::string_view method, std::string_view target, std::string_view body = {});
    // As user/password.
    http_result as(
        std::string_view user,
        std::string_view password,
        std::string_view method,
        std::string_view target,
        std::string_view body = {}
    );
    // PUT internalusers/<name> and map each role to the user; throws on failure.
    void create_user(
        const std::string& name,
        const std::string& password,
        const std::vector<std::string>& roles,
        const std::vector<std::string>& backend_roles = {},
        const std::string& tenant = {}
    );

private:
    std::unique_ptr<server_process> proc_;
};

}  // namespace modelrelay::test
