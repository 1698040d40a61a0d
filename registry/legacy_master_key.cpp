// File: legacy_master_key.cpp
// Reading the pre-envelope master key; see legacy_master_key.hpp.
#include "registry/legacy_master_key.hpp"

#include <cstdlib>

#include <openssl/crypto.h>

#include "registry/key_file.hpp"

namespace modelrelay::registry {

namespace {

constexpr std::string_view key_check_label = "modelrelay key check v1";

error key_error(std::string reason) {
    return {errc::illegal_state, std::move(reason)};
}

std::string_view trim_ascii_space(std::string_view s) noexcept {
    constexpr std::string_view ws = " \t\r\n\v\f";
    auto first = s.find_first_not_of(ws);
    if (first == std::string_view::npos) {
        return {};
    }
    auto last = s.find_last_not_of(ws);
    return s.substr(first, last - first + 1);
}

result<secret_key> key_from_env(std::string_view value) {
    const std::string name(master_key_env);
    auto text = trim_ascii_space(value);
    if (text.empty()) {
        return key_error(name + " is set but empty");
    }
    auto raw = base64_decode(text);
    if (!raw) {
        return key_error(name + " is not valid base64 (expected the base64 encoding of 32 random bytes)");
    }
    if (raw->size() != key_size) {
        auto n = raw->size();
        secure_wipe(*raw);
        return key_error(
            name + " must be the base64 encoding of exactly 32 bytes, but it decodes to " +
            std::to_string(n) + " bytes"
        );
    }
    auto k = secret_key::from_bytes(*raw);
    secure_wipe(*raw);
    return k;
}

}  // namespace

result<std::optional<master_key>> find_master_key(
    std::optional<std::string_view> env_value, const std::filesystem::path& data_dir
) {
    if (env_value) {
        auto k = key_from_env(*env_value);
        if (!k) {
            return k.error();
        }
        return master_key{*k, master_key_origin::environment, {}};
    }
    const auto path = data_dir / master_key_file_name;
    auto exists = path_exists(path);
    if (!exists) {
        return exists.error();
    }
    if (!*exists) {
        return std::optional<master_key>();
    }
    auto k = read_key_file(path, "master key file");
    if (!k) {
        return k.error();
    }
    return master_key{*k, master_key_origin::file, path};
}

result<std::optional<master_key>> find_master_key(const std::filesystem::path& data_dir) {
    const std::string name(master_key_env);
    const char* env = std::getenv(name.c_str());
    return find_master_key(env ? std::optional<std::string_view>(env) : std::nullopt, data_dir);
}

std::string key_check_value(const secret_key& key) {
    return base64_encode(hmac_sha256(key, key_check_label));
}

result<void> verify_key_check_value(const secret_key& key, std::string_view stored) {
    const std::string expected = key_check_value(key);
    if (stored.size() != expected.size() ||
        CRYPTO_memcmp(stored.data(), expected.data(), expected.size()) != 0) {
        return key_error(
            "master key does not match the key check value stored with the data: wrong " +
            std::string(master_key_env) + " or " + std::string(master_key_file_name) +
            "? Refusing to start (and to migrate), as the stored credentials could not be decrypted"
        );
    }
    return {};
}

}  // namespace modelrelay::registry
