// File: crypto.hpp
// Credential encryption at rest. Connector credentials are stored encrypted with AES-256-GCM under a
// 32-byte key (today the master key; later per-tenant data keys wrapped by a key-encryption key, which
// is why `cipher` takes any `secret_key` and accepts associated data). Also: loading/creating the master
// key, a key check value that detects a wrong master key at start, base64 helpers and secure wiping.
//
// Ciphertext format (one value, stored as text): base64( version | nonce | ciphertext | tag ) with
// version = 0x01 (1 byte), nonce = 12 random bytes (fresh per value), tag = 16 bytes. Associated data is
// authenticated but not stored: decrypting with different associated data fails like a wrong key.
//
// @par Thread safety
// `secret_key` and `cipher` are immutable after construction; their const members may be called from
// any number of threads at once (every call uses its own EVP context).
#pragma once

#include <array>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "registry/error.hpp"

namespace modelrelay::registry {

inline constexpr std::size_t key_size = 32;    // AES-256
inline constexpr std::size_t nonce_size = 12;  // 96-bit GCM nonce
inline constexpr std::size_t tag_size = 16;    // 128-bit GCM tag
inline constexpr unsigned char ciphertext_version = 0x01;

// 32 bytes of key material. Copies are allowed (each is wiped when destroyed).
class secret_key {
public:
    // Errors (errc::illegal_argument): wrong length, not base64.
    static result<secret_key> from_bytes(std::string_view raw);
    static result<secret_key> from_base64(std::string_view text);
    // 32 bytes from RAND_bytes. Throws std::runtime_error if the CSPRNG fails (nothing sane to do then).
    static secret_key generate();

    secret_key(const secret_key&) = default;
    secret_key& operator=(const secret_key&) = default;
    ~secret_key();

    const unsigned char* data() const noexcept { return bytes_.data(); }
    static constexpr std::size_t size() noexcept { return key_size; }
    // Standard base64 (44 chars). The caller owns a copy of the secret: secure_wipe it when done.
    std::string to_base64() const;

private:
    secret_key() = default;
    std::array<unsigned char, key_size> bytes_{};
};

// AES-256-GCM over OpenSSL EVP, one random nonce per value (2^32 values per key keep the nonce
// collision probability negligible, far beyond what a connector registry stores).
class cipher {
public:
    explicit cipher(const secret_key& key) : key_(key) {}

    // Returns the base64 text described in the file banner. Throws std::runtime_error only if OpenSSL
    // itself fails (allocation, RNG): never because of the input.
    std::string encrypt(std::string_view plaintext, std::string_view associated_data = {}) const;

    // Never throws for bad input. Errors (errc::internal, reason safe to log, contains no secret):
    // not base64, too short, unknown version, or authentication failure (wrong key, wrong associated
    // data, or tampered ciphertext; GCM cannot tell these apart).
    result<std::string> decrypt(std::string_view encoded, std::string_view associated_data = {}) const;

private:
    secret_key key_;
};

// ---- master key ---------------------------------------------------------------------------------

inline constexpr std::string_view master_key_env = "MODELRELAY_MASTER_KEY";
inline constexpr std::string_view master_key_file_name = "master.key";

enum class master_key_origin {
    environment,  // MODELRELAY_MASTER_KEY
    file,         // existing DATA_DIR/master.key
    generated,    // DATA_DIR/master.key did not exist and was created now
};

struct master_key {
    secret_key key;
    master_key_origin origin;
    std::filesystem::path path;  // the key file; empty for master_key_origin::environment
};

// Load order: `env_value` (the value of MODELRELAY_MASTER_KEY, if set) wins; otherwise
// `data_dir`/master.key is read, or created when absent: 32 bytes from RAND_bytes, written as base64 text
// plus a newline to a temporary file (mode 0600), fsync'd, renamed into place without replacing a file
// that appeared meanwhile, then the directory is fsync'd.
// Accepted file contents: exactly 32 raw bytes, or the base64 encoding of 32 bytes (surrounding whitespace
// ignored). An existing file that is neither is an error and is never modified. The data directory must
// exist. Errors are errc::illegal_state with a reason meant for the startup log (never the key).
result<master_key> load_master_key(
    std::optional<std::string_view> env_value, const std::filesystem::path& data_dir
);
// Same, reading MODELRELAY_MASTER_KEY from the process environment.
result<master_key> load_master_key(const std::filesystem::path& data_dir);

// A value to store next to the encrypted data (e.g. in SQLite) on first start and compare on later
// starts, so a wrong master key is detected before any credential fails to decrypt.
// = base64(HMAC-SHA-256(key, "modelrelay key check v1")): reveals nothing about the key.
std::string key_check_value(const secret_key& key);
// errc::illegal_state "master key does not match the key check value stored with the data ..." on
// mismatch (constant-time comparison).
result<void> verify_key_check_value(const secret_key& key, std::string_view stored);

// ---- helpers --------------------------------------------------------------------------------------

// Overwrites the whole buffer (capacity included) with OPENSSL_cleanse, then clears the string.
void secure_wipe(std::string& s) noexcept;

// Standard alphabet with '=' padding. Decoding is strict: no whitespace, padding required, and
// non-zero trailing bits rejected (so every value has exactly one encoding).
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);
// URL-safe alphabet ('-' and '_'), no padding; decoding accepts the value with or without padding.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace modelrelay::registry
