// File: crypto.cpp
// AES-256-GCM and HMAC-SHA-256 with OpenSSL EVP, base64 and wiping. See crypto.hpp for the formats and
// the guarantees.
#include "registry/crypto.hpp"

#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace modelrelay::registry {

namespace {

struct cipher_ctx_deleter {
    void operator()(EVP_CIPHER_CTX* ctx) const noexcept { EVP_CIPHER_CTX_free(ctx); }
};
using cipher_ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_deleter>;

[[noreturn]] void throw_openssl(const char* what) {
    throw std::runtime_error(std::string("OpenSSL: ") + what);
}

cipher_ctx_ptr new_ctx() {
    cipher_ctx_ptr ctx(EVP_CIPHER_CTX_new());
    if (!ctx) {
        throw_openssl("EVP_CIPHER_CTX_new failed");
    }
    return ctx;
}

const unsigned char* bytes_of(std::string_view s) noexcept {
    return reinterpret_cast<const unsigned char*>(s.data());
}

unsigned char* bytes_of(std::string& s) noexcept {
    return reinterpret_cast<unsigned char*>(s.data());
}

// EVP takes int lengths; values handled here are far smaller, but never truncate silently.
int checked_len(std::size_t n) {
    if (n > static_cast<std::size_t>(INT32_MAX / 2)) {
        throw std::length_error("value too large to encrypt");
    }
    return static_cast<int>(n);
}

error decrypt_error(std::string reason) {
    return {errc::internal, std::move(reason)};
}

}  // namespace

// ---- secret_key -----------------------------------------------------------------------------------

secret_key::~secret_key() {
    OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

result<secret_key> secret_key::from_bytes(std::string_view raw) {
    if (raw.size() != key_size) {
        return illegal_argument(
            "key must be exactly " + std::to_string(key_size) + " bytes, got " + std::to_string(raw.size())
        );
    }
    secret_key k;
    std::memcpy(k.bytes_.data(), raw.data(), key_size);
    return k;
}

result<secret_key> secret_key::from_base64(std::string_view text) {
    auto raw = base64_decode(text);
    if (!raw) {
        return illegal_argument("key is not valid base64");
    }
    auto k = from_bytes(*raw);
    secure_wipe(*raw);
    return k;
}

secret_key secret_key::generate() {
    secret_key k;
    if (RAND_bytes(k.bytes_.data(), static_cast<int>(k.bytes_.size())) != 1) {
        throw_openssl("RAND_bytes failed");
    }
    return k;
}

std::string secret_key::to_base64() const {
    return base64_encode({reinterpret_cast<const char*>(bytes_.data()), bytes_.size()});
}

bool keys_equal(const secret_key& a, const secret_key& b) noexcept {
    return CRYPTO_memcmp(a.data(), b.data(), key_size) == 0;
}

// ---- sealing -------------------------------------------------------------------------------------

std::string seal(const secret_key& key, std::string_view plaintext, std::string_view associated_data) {
    std::string out(nonce_size + plaintext.size() + tag_size, '\0');
    unsigned char* nonce = bytes_of(out);
    if (RAND_bytes(nonce, static_cast<int>(nonce_size)) != 1) {
        throw_openssl("RAND_bytes failed");
    }

    auto ctx = new_ctx();
    int len = 0;
    if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce_size), nullptr) != 1 ||
        EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), nonce) != 1) {
        throw_openssl("AES-256-GCM encrypt init failed");
    }
    if (!associated_data.empty() &&
        EVP_EncryptUpdate(
            ctx.get(), nullptr, &len, bytes_of(associated_data), checked_len(associated_data.size())
        ) != 1) {
        throw_openssl("AES-256-GCM associated data failed");
    }
    unsigned char* ct = nonce + nonce_size;
    int ct_len = 0;
    if (!plaintext.empty()) {
        if (EVP_EncryptUpdate(ctx.get(), ct, &len, bytes_of(plaintext), checked_len(plaintext.size())) != 1) {
            throw_openssl("AES-256-GCM encrypt failed");
        }
        ct_len = len;
    }
    if (EVP_EncryptFinal_ex(ctx.get(), ct + ct_len, &len) != 1) {
        throw_openssl("AES-256-GCM encrypt final failed");
    }
    ct_len += len;
    if (static_cast<std::size_t>(ct_len) != plaintext.size() ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_size), ct + ct_len) != 1) {
        throw_openssl("AES-256-GCM tag failed");
    }
    return out;
}

result<std::string> open_sealed(
    const secret_key& key, std::string_view sealed, std::string_view associated_data
) {
    if (sealed.size() < nonce_size + tag_size) {
        return decrypt_error("ciphertext is too short");
    }
    const unsigned char* nonce = bytes_of(sealed);
    const unsigned char* ct = nonce + nonce_size;
    const std::size_t ct_size = sealed.size() - nonce_size - tag_size;
    // EVP_CTRL_GCM_SET_TAG takes a non-const pointer although it only reads the tag.
    std::array<unsigned char, tag_size> tag{};
    std::memcpy(tag.data(), ct + ct_size, tag_size);

    auto ctx = new_ctx();
    int len = 0;
    if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce_size), nullptr) != 1 ||
        EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), nonce) != 1) {
        throw_openssl("AES-256-GCM decrypt init failed");
    }
    if (!associated_data.empty() &&
        EVP_DecryptUpdate(
            ctx.get(), nullptr, &len, bytes_of(associated_data), checked_len(associated_data.size())
        ) != 1) {
        throw_openssl("AES-256-GCM associated data failed");
    }
    std::string plaintext(ct_size, '\0');
    int pt_len = 0;
    if (ct_size > 0) {
        if (EVP_DecryptUpdate(ctx.get(), bytes_of(plaintext), &len, ct, checked_len(ct_size)) != 1) {
            secure_wipe(plaintext);
            throw_openssl("AES-256-GCM decrypt failed");
        }
        pt_len = len;
    }
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_size), tag.data()) != 1) {
        secure_wipe(plaintext);
        throw_openssl("AES-256-GCM set tag failed");
    }
    // Final verifies the tag; until it succeeds the plaintext is unauthenticated and must not escape.
    if (EVP_DecryptFinal_ex(ctx.get(), bytes_of(plaintext) + pt_len, &len) != 1) {
        secure_wipe(plaintext);
        return decrypt_error(
            "ciphertext authentication failed (wrong key, wrong associated data or tampered data)"
        );
    }
    return plaintext;
}

std::string hmac_sha256(const secret_key& key, std::string_view message) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int mac_len = 0;
    if (HMAC(
            EVP_sha256(),
            key.data(),
            static_cast<int>(key.size()),
            bytes_of(message),
            message.size(),
            mac.data(),
            &mac_len
        ) == nullptr) {
        throw_openssl("HMAC-SHA-256 failed");
    }
    return {reinterpret_cast<const char*>(mac.data()), mac_len};
}

// ---- cipher (v0) ----------------------------------------------------------------------------------

std::string cipher::encrypt(std::string_view plaintext, std::string_view associated_data) const {
    std::string blob(1, static_cast<char>(ciphertext_version));
    blob += seal(key_, plaintext, associated_data);
    return base64_encode(blob);
}

result<std::string> cipher::decrypt(std::string_view encoded, std::string_view associated_data) const {
    auto blob = base64_decode(encoded);
    if (!blob) {
        return decrypt_error("ciphertext is not valid base64");
    }
    if (blob->size() < 1 + nonce_size + tag_size) {
        return decrypt_error("ciphertext is too short");
    }
    if (static_cast<unsigned char>((*blob)[0]) != ciphertext_version) {
        return decrypt_error(
            "unsupported ciphertext version " + std::to_string(static_cast<unsigned char>((*blob)[0]))
        );
    }
    return open_sealed(key_, std::string_view(*blob).substr(1), associated_data);
}

// ---- helpers --------------------------------------------------------------------------------------

void secure_wipe(std::string& s) noexcept {
    // resize() to capacity cannot allocate, so this stays noexcept in practice; it makes the whole buffer
    // part of the string so that cleansing it is well defined.
    s.resize(s.capacity());
    OPENSSL_cleanse(s.data(), s.size());
    s.clear();
}

std::string base64_encode(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    if (!bytes.empty()) {
        int n = EVP_EncodeBlock(bytes_of(out), bytes_of(bytes), checked_len(bytes.size()));
        out.resize(static_cast<std::size_t>(n));
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    if (text.empty()) {
        return std::string();
    }
    std::string out(text.size() / 4 * 3, '\0');
    int n = EVP_DecodeBlock(bytes_of(out), bytes_of(text), checked_len(text.size()));
    if (n < 0) {
        return std::nullopt;
    }
    // EVP_DecodeBlock counts padding as zero bytes, tolerates whitespace and ignores non-zero trailing
    // bits. Re-encoding and comparing rejects all of that and leaves exactly one accepted spelling.
    std::size_t pad = text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0;
    out.resize(static_cast<std::size_t>(n) - pad);
    std::string again = base64_encode(out);
    if (again != text) {
        secure_wipe(out);
        secure_wipe(again);
        return std::nullopt;
    }
    secure_wipe(again);
    return out;
}

std::string base64url_encode(std::string_view bytes) {
    std::string s = base64_encode(bytes);
    while (!s.empty() && s.back() == '=') {
        s.pop_back();
    }
    for (char& c : s) {
        c = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    return s;
}

std::optional<std::string> base64url_decode(std::string_view text) {
    std::string s;
    s.reserve(text.size() + 2);
    for (char c : text) {
        if (c == '+' || c == '/') {  // standard-alphabet characters are not URL-safe base64
            return std::nullopt;
        }
        s.push_back(c == '-' ? '+' : c == '_' ? '/' : c);
    }
    if (s.size() % 4 == 1) {
        return std::nullopt;
    }
    if (s.find('=') == std::string::npos) {
        s.append((4 - s.size() % 4) % 4, '=');
    }
    auto out = base64_decode(s);
    secure_wipe(s);
    return out;
}

}  // namespace modelrelay::registry
