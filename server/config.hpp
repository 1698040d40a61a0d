// File: config.hpp
// Command-line flags and their MODELRELAY_* environment equivalents (flags win).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "server/cert_identity.hpp"

namespace modelrelay::server {

enum class log_format { text, json };
enum class security_mode { automatic, on, off };

// OpenSearch's plugins.security.ssl.http.clientauth_mode.
enum class tls_client_auth {
    none,      // no certificate is asked for
    optional,  // asked for; a presented certificate must verify, none is fine
    require,   // the handshake fails without a verified certificate
};

// The HTTPS listener (--tls-*). With a certificate the listener speaks only TLS.
struct tls_settings {
    std::string cert_file;       // PEM chain, leaf first
    std::string key_file;        // PEM private key (unencrypted)
    std::string client_ca_file;  // PEM trust anchors for client certificates
    tls_client_auth client_auth = tls_client_auth::none;
    cert_mapping mapping;  // username / roles attributes and admin DNs (server/cert_identity.hpp)

    bool enabled() const { return !cert_file.empty(); }
};

struct config {
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 9200;
    std::filesystem::path data_dir = "./data";
    // Key-encryption key file (MODELRELAY_KEK_FILE); empty: DATA_DIR/kek.key.
    std::filesystem::path kek_file;
    // After its last event an I/O thread serving few connections keeps polling (yielding the core to
    // anything runnable) this long before it sleeps in epoll_wait; 0 sleeps at once. See io_loop.hpp.
    std::chrono::microseconds busy_poll{30};
    // The window while the thread waits for an upstream answer's head (it is coming: the request is out).
    std::chrono::microseconds busy_poll_upstream{200};
    unsigned threads = 0;          // 0: one per core
    unsigned startup_threads = 0;  // registry load (service_options::load_threads); 0: one per core, up to 8
    log_format log = log_format::text;
    bool sync_full = false;
    std::size_t max_body_bytes = 10 * 1024 * 1024;
    std::size_t max_header_bytes = 16 * 1024;
    std::chrono::milliseconds read_timeout{30'000};   // whole request, headers and body
    std::chrono::milliseconds idle_timeout{120'000};  // keep-alive wait for the next request
    std::chrono::milliseconds shutdown_grace{10'000};
    std::size_t max_connections = 10'000;
    std::string cluster_name = "modelrelay";
    std::string node_name = "modelrelay-node";
    bool multi_tenancy = false;
    // --setting KEY=VALUE: the node layer of the cluster settings (opensearch.yml in OpenSearch), the only
    // place for Final settings such as connector.restricted_ip_patterns. Checked against the settings
    // table when the registry opens.
    boost::json::object node_settings;
    std::string port_file;
    security_mode security = security_mode::automatic;
    bool strict_write_acl = true;      // security.md R9
    bool allow_insecure_bind = false;  // R1: --security off on a non-loopback address needs this
    std::string upstream_ca_file;  // extra trust anchors (PEM) for HTTPS upstreams, besides the system store
    tls_settings tls;
};

struct parse_outcome {
    std::optional<config> cfg;  // empty: exit with `exit_code` after printing `message`
    int exit_code = 0;
    std::string message;
};

parse_outcome parse_config(int argc, char** argv);
std::string usage();

}  // namespace modelrelay::server
