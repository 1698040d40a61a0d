// File: legacy_master_key.hpp
// The single master key of modelrelay before envelope encryption ("format v0"): DATA_DIR/master.key or
// MODELRELAY_MASTER_KEY, checked against the `master_key_check` value stored in the database. It is only
// read, to migrate such a data directory to per-tenant data keys on its first start (see
// service_secrets.cpp); nothing creates one any more.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "registry/crypto.hpp"
#include "registry/error.hpp"

namespace modelrelay::registry {

inline constexpr std::string_view master_key_env = "MODELRELAY_MASTER_KEY";
inline constexpr std::string_view master_key_file_name = "master.key";
// What master.key becomes once its data is migrated (kept so backups taken before stay readable).
inline constexpr std::string_view migrated_master_key_file_name = "master.key.migrated";

enum class master_key_origin {
    environment,  // MODELRELAY_MASTER_KEY
    file,         // DATA_DIR/master.key
};

struct master_key {
    secret_key key;
    master_key_origin origin;
    std::filesystem::path path;  // the key file; empty for master_key_origin::environment
};

// `env_value` (the value of MODELRELAY_MASTER_KEY, if set) wins; otherwise `data_dir`/master.key is read
// (32 raw bytes or their base64). nullopt when neither exists. Never creates or changes a file. Errors
// (errc::illegal_state, reason for the start-up log, never the key): a malformed value or file.
result<std::optional<master_key>> find_master_key(
    std::optional<std::string_view> env_value, const std::filesystem::path& data_dir
);
// Same, reading MODELRELAY_MASTER_KEY from the process environment.
result<std::optional<master_key>> find_master_key(const std::filesystem::path& data_dir);

// The value v0 stored as `master_key_check`: base64(HMAC-SHA-256(key, "modelrelay key check v1")).
std::string key_check_value(const secret_key& key);
// errc::illegal_state "master key does not match the key check value stored with the data ..." on
// mismatch (constant-time comparison).
result<void> verify_key_check_value(const secret_key& key, std::string_view stored);

}  // namespace modelrelay::registry
