// File: key_support.hpp
// What the API-key integration tests share: the real binary with `--security on` (admin password from
// MODELRELAY_ADMIN_PASSWORD), requests as the admin (HTTP Basic) or with an API key (`Bearer` / `ApiKey`),
// key creation through POST /_security/api_key, and the model and inference-endpoint setup of
// model_setup.hpp done with credentials.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/support/fake_upstream.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/server_process.hpp"

namespace modelrelay::test {

using header_list = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::string_view key_test_admin_password = "Quartz-lantern-orbit-93!";

// base64(text) (standard alphabet, padded).
std::string base64(std::string_view text);
// `Basic base64(user:password)`.
std::string basic_auth(std::string_view user, std::string_view password);

struct created_key {
    std::string id;
    std::string encoded;  // base64(id:api_key), what clients send
};

class secured_relay {
public:
    // Starts the binary with `--security on` plus `extra_args` in a fresh data directory.
    explicit secured_relay(std::vector<std::string> extra_args = {});

    server_process& server() { return *server_; }
    std::uint16_t port() const { return server_->port(); }
    void restart();

    // As the admin (all_access), with optional extra headers (e.g. x-tenant-id).
    http_result admin(
        std::string_view method, const std::string& target, std::string_view body = {}, header_list extra = {}
    );
    // With `Authorization: <scheme> <encoded>` on a fresh connection (safe from any thread).
    http_result with_key(
        const created_key& k,
        std::string_view method,
        const std::string& target,
        std::string_view body = {},
        std::string_view scheme = "Bearer",
        header_list extra = {}
    ) const;

    // POST /_security/api_key as the admin; fails the test unless 200.
    created_key create_key(const std::string& body);
    // Lets connectors reach the fake upstream on 127.0.0.1 (trusted regex, private addresses, streaming).
    void open_cluster_settings();
    // Connector + model named `name` (deployed); returns the model id. `tenant` sets x-tenant-id.
    std::string register_model(
        const std::string& connector_body, std::string_view name, std::string tenant = {}
    );
    // PUT /_inference/completion/{id} for the fake upstream's chat completions.
    void put_completion_endpoint(const fake_upstream& up, std::string_view id, std::string tenant = {});

private:
    temp_dir tmp_;
    std::unique_ptr<server_process> server_;
    std::unique_ptr<http_client> admin_;
};

}  // namespace modelrelay::test
