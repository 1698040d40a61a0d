// File: crypto.hpp
// Cryptographic primitives for secrets at rest: 32-byte keys, AES-256-GCM sealing with a fresh random
// 96-bit nonce, HMAC-SHA-256, base64 and secure wiping. Key management (the KEK file, per-tenant data
// keys, the stored value format) lives in keyring.hpp; this file knows nothing about files or tenants.
//
// `seal` output (raw bytes): nonce (12) | ciphertext | tag (16). Associated data is authenticated but
// not stored: opening with different associated data fails like a wrong key.
//
// `cipher` is the format written before envelope encryption ("v0", read only to migrate old data, see
// legacy_master_key.hpp): base64( 0x01 | nonce | ciphertext | tag ) under the single master key.
//
// @par Thread safety
// `secret_key` and `cipher` are immutable after construction; their const members and the free
// functions may be called from any number of threads at once (every call uses its own EVP context).
#pragma once

#include <array>
#include <cstddef>
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

// Constant-time comparison (CRYPTO_memcmp).
bool keys_equal(const secret_key& a, const secret_key& b) noexcept;

// AES-256-GCM over OpenSSL EVP with a fresh random nonce (2^32 values per key keep the nonce collision
// probability negligible, far beyond what a registry stores). Throws std::runtime_error only if OpenSSL
// itself fails (allocation, RNG): never because of the input.
std::string seal(const secret_key& key, std::string_view plaintext, std::string_view associated_data);
// Never throws for bad input. Errors (errc::internal, reason safe to log, contains no secret): too short,
// or authentication failure (wrong key, wrong associated data or tampered data; GCM cannot tell these
// apart). The plaintext never escapes unauthenticated.
result<std::string> open_sealed(
    const secret_key& key, std::string_view sealed, std::string_view associated_data
);

// HMAC-SHA-256(key, message), 32 raw bytes.
std::string hmac_sha256(const secret_key& key, std::string_view message);

// The v0 value format (see the banner): kept to decrypt data written before envelope encryption, and so
// tests can produce such data.
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
