// File: http_client.hpp
// A blocking HTTP/1.1 client for tests: one keep-alive connection to 127.0.0.1:port, raw access to status,
// headers and body, and JSON helpers. Plain HTTP, or HTTPS with an optional client certificate.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

namespace modelrelay::test {

struct http_result {
    unsigned status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    boost::json::value json() const;  // throws if the body is not JSON
    std::string header(std::string_view name) const;
};

// HTTPS: the server certificate must verify against `ca_file` for `server_name`.
struct tls_client_options {
    std::string ca_file;
    std::string cert_file;  // client certificate chain (PEM), sent as it is; none when empty
    std::string key_file;
    std::string server_name = "localhost";  // SNI and the name checked in the server certificate
    int min_version = 0;                    // e.g. TLS1_2_VERSION; 0: the library's default
    int max_version = 0;                    // below TLS 1.2 also lowers the client's security level
};

class http_client {
public:
    explicit http_client(std::uint16_t port);
    http_client(std::uint16_t port, tls_client_options tls);
    ~http_client();

    // Connects now (TCP, then the TLS handshake); throws std::runtime_error with the reason on failure.
    // request() connects on demand, so this is only needed to observe the handshake itself.
    void connect();
    // The negotiated protocol ("TLSv1.3"); "" when not connected or plain.
    std::string tls_version() const;
    // Connects from this loopback address (e.g. "127.0.0.2") instead of the kernel's choice, so a test can be
    // a second client address (plain HTTP only). Takes effect at the next connection.
    void set_source_address(std::string address) { source_ = std::move(address); }
    // Connections opened so far (1 while keep-alive holds).
    std::size_t connects() const { return connects_; }

    http_result request(
        std::string_view method,
        std::string_view target,
        std::string_view body = {},
        const std::vector<std::pair<std::string, std::string>>& headers = {}
    );
    http_result get(std::string_view target) { return request("GET", target); }
    http_result post(std::string_view target, std::string_view body) { return request("POST", target, body); }
    http_result put(std::string_view target, std::string_view body) { return request("PUT", target, body); }
    http_result del(std::string_view target) { return request("DELETE", target); }

    // Sends bytes as they are and reads one response (for malformed-request tests).
    http_result raw(std::string_view bytes);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
    std::uint16_t port_;
    std::optional<tls_client_options> tls_;
    std::string source_;
    std::size_t connects_ = 0;
};

}  // namespace modelrelay::test
