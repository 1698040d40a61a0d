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

namespace modelrelay::server {

enum class log_format { text, json };

struct config {
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 9200;
    std::filesystem::path data_dir = "./data";
    // Key-encryption key file (MODELRELAY_KEK_FILE); empty: DATA_DIR/kek.key.
    std::filesystem::path kek_file;
    unsigned threads = 0;  // 0: one per core
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
    std::string port_file;
    std::string upstream_ca_file;  // extra trust anchors (PEM) for HTTPS upstreams, besides the system store  // written with the bound port once listening (tests use port 0)
};

struct parse_outcome {
    std::optional<config> cfg;  // empty: exit with `exit_code` after printing `message`
    int exit_code = 0;
    std::string message;
};

parse_outcome parse_config(int argc, char** argv);
std::string usage();

}  // namespace modelrelay::server
