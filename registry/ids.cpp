// File: ids.cpp
// Id generation and the ml-commons caller-id rules (see ids.hpp).
#include "registry/ids.hpp"

#include <array>
#include <optional>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "registry/crypto.hpp"
#include "registry/safe_text.hpp"

namespace modelrelay::registry {

namespace {

constexpr std::size_t id_random_bytes = 15;  // 15 bytes -> exactly 20 base64 characters, no padding

// Decodes one UTF-8 sequence at s[i]; nullopt if malformed (then the id cannot be blank anyway).
bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// ^[a-zA-Z0-9][a-zA-Z0-9_-]*$ over bytes: any non-ASCII byte fails, as any non-ASCII character does in Java.
bool matches_id_pattern(std::string_view s) {
    if (s.empty() || !is_alnum(s.front())) {
        return false;
    }
    for (char c : s.substr(1)) {
        if (!is_alnum(c) && c != '_' && c != '-') {
            return false;
        }
    }
    return true;
}

}  // namespace

std::string generate_id() {
    // One RAND_bytes call costs about as much as the rest of a /v1 chat completion's id, clock and
    // response head together (DRBG lock, parameter lookups), so each thread draws 16 ids' worth at a
    // time. The bytes are the same DRBG output, handed out once each: ids stay unpredictable.
    struct pool {
        std::array<unsigned char, 16 * id_random_bytes> bytes{};
        std::size_t used = 16 * id_random_bytes;
    };
    thread_local pool p;
    if (p.used == p.bytes.size()) {
        if (RAND_bytes(p.bytes.data(), static_cast<int>(p.bytes.size())) != 1) {
            throw std::runtime_error("OpenSSL: RAND_bytes failed");
        }
        p.used = 0;
    }
    const auto* raw = reinterpret_cast<const char*>(p.bytes.data() + p.used);
    p.used += id_random_bytes;
    return base64url_encode({raw, id_random_bytes});
}

std::string index_uuid(std::string_view node_id, std::string_view index) {
    std::string seed;
    seed.reserve(node_id.size() + 1 + index.size());
    seed.append(node_id).append("/").append(index);
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (EVP_Digest(seed.data(), seed.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("OpenSSL: EVP_Digest failed");
    }
    return base64url_encode({reinterpret_cast<const char*>(digest.data()), 16});
}

result<void> validate_caller_id(std::string_view id, std::string_view label) {
    const std::string l(label);
    if (is_blank(id)) {
        return illegal_argument(l + " is invalid");
    }
    if (id.front() == '_') {
        return illegal_argument(l + " must not start with '_'");
    }
    if (id.front() == '-') {
        return illegal_argument(l + " must not start with '-'");
    }
    if (id.size() > max_caller_id_length) {
        return illegal_argument(l + " is too long, max length is " + std::to_string(max_caller_id_length));
    }
    if (!matches_id_pattern(id)) {
        return illegal_argument(
            l +
            " must contain only letters, digits, underscores, and hyphens, and must start with a letter or "
            "digit"
        );
    }
    return {};
}

}  // namespace modelrelay::registry
