// File: crypto_test.cpp
// The primitives: AES-256-GCM sealing and the v0 value format, HMAC, base64: round trips, known answers (so
// the formats are pinned, not just self-consistent), tamper and wrong-key detection. The legacy master key
// is tested in legacy_master_key_test.cpp, key management in keyring_test.cpp.
#include "registry/crypto.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace modelrelay::test {
namespace {

using registry::cipher;
using registry::errc;
using registry::secret_key;

std::string from_hex(std::string_view hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    }
    return out;
}

std::string bytes_0_to(int n, int start = 0) {
    std::string s;
    for (int i = 0; i < n; ++i) {
        s.push_back(static_cast<char>(start + i));
    }
    return s;
}

secret_key key_of(std::string_view raw) {
    return secret_key::from_bytes(raw).value();
}

std::string decoded(std::string_view b64) {
    return registry::base64_decode(b64).value();
}

// ---- cipher ---------------------------------------------------------------------------------------

TEST(crypto_cipher, round_trip_various_sizes) {
    cipher c(secret_key::generate());
    for (std::string pt :
         {std::string(), std::string("sk-secret"), std::string("a\0b\0c", 5), std::string(100000, 'x')}) {
        auto enc = c.encrypt(pt);
        auto dec = c.decrypt(enc);
        ASSERT_TRUE(dec) << dec.error().reason;
        EXPECT_EQ(*dec, pt);
        auto blob = decoded(enc);
        ASSERT_EQ(blob.size(), 1 + registry::nonce_size + pt.size() + registry::tag_size);
        EXPECT_EQ(static_cast<unsigned char>(blob[0]), registry::ciphertext_version);
        if (pt.size() >= 8) {
            EXPECT_EQ(blob.find(pt.substr(0, 8)), std::string::npos) << "plaintext visible in ciphertext";
        }
    }
}

TEST(crypto_cipher, round_trip_with_associated_data) {
    cipher c(secret_key::generate());
    auto enc = c.encrypt("api-key-123", "connector|abc|credential.openAI_key");
    auto dec = c.decrypt(enc, "connector|abc|credential.openAI_key");
    ASSERT_TRUE(dec);
    EXPECT_EQ(*dec, "api-key-123");
}

TEST(crypto_cipher, known_answer_gcm_spec_test_case_14) {
    // McGrew & Viega GCM test case 14: K = 0^256, IV = 0^96, P = 0^128.
    std::string blob(1, '\x01');
    blob += std::string(12, '\0');
    blob += from_hex("cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919");
    cipher c(key_of(std::string(32, '\0')));
    auto dec = c.decrypt(registry::base64_encode(blob));
    ASSERT_TRUE(dec) << dec.error().reason;
    EXPECT_EQ(*dec, std::string(16, '\0'));
}

TEST(crypto_cipher, known_answer_with_associated_data) {
    // Computed independently (Python cryptography AESGCM): key 00..1f, nonce 64..6f.
    std::string blob(1, '\x01');
    blob += bytes_0_to(12, 100);
    blob += from_hex("207eb20a16c921f14c0e3b5cbeb071f5ed6935502753d367b97380");
    cipher c(key_of(bytes_0_to(32)));
    auto dec = c.decrypt(registry::base64_encode(blob), "connector:abc");
    ASSERT_TRUE(dec) << dec.error().reason;
    EXPECT_EQ(*dec, "hello world");
    EXPECT_FALSE(c.decrypt(registry::base64_encode(blob)));  // same blob, associated data missing
}

TEST(crypto_cipher, fresh_nonce_per_value) {
    cipher c(secret_key::generate());
    std::set<std::string> ciphertexts;
    std::set<std::string> nonces;
    for (int i = 0; i < 2000; ++i) {
        auto enc = c.encrypt("same plaintext");
        ciphertexts.insert(enc);
        nonces.insert(decoded(enc).substr(1, registry::nonce_size));
    }
    EXPECT_EQ(ciphertexts.size(), 2000u);
    EXPECT_EQ(nonces.size(), 2000u);
}

TEST(crypto_cipher, every_flipped_byte_is_detected) {
    cipher c(secret_key::generate());
    const std::string pt = "credential value";
    const std::string blob = decoded(c.encrypt(pt));
    // Regions: version (0), nonce (1..12), ciphertext, tag (last 16).
    for (std::size_t i = 0; i < blob.size(); ++i) {
        for (unsigned char mask : {0x01, 0x80}) {
            std::string bad = blob;
            bad[i] = static_cast<char>(static_cast<unsigned char>(bad[i]) ^ mask);
            auto dec = c.decrypt(registry::base64_encode(bad));
            ASSERT_FALSE(dec) << "flip at byte " << i << " was not detected";
            EXPECT_EQ(dec.error().code, errc::internal);
            if (i == 0) {
                EXPECT_EQ(dec.error().reason.rfind("unsupported ciphertext version", 0), 0u)
                    << dec.error().reason;
            } else {
                EXPECT_NE(dec.error().reason.find("authentication failed"), std::string::npos)
                    << dec.error().reason;
            }
        }
    }
}

TEST(crypto_cipher, truncated_extended_and_garbage_input_rejected) {
    cipher c(secret_key::generate());
    const std::string blob = decoded(c.encrypt("value"));
    EXPECT_FALSE(c.decrypt(registry::base64_encode(blob.substr(0, blob.size() - 1))));
    EXPECT_FALSE(c.decrypt(registry::base64_encode(blob + "x")));
    auto too_short = c.decrypt(registry::base64_encode(blob.substr(0, 28)));
    ASSERT_FALSE(too_short);
    EXPECT_EQ(too_short.error().reason, "ciphertext is too short");
    auto not_b64 = c.decrypt("not base64!");
    ASSERT_FALSE(not_b64);
    EXPECT_EQ(not_b64.error().reason, "ciphertext is not valid base64");
    EXPECT_FALSE(c.decrypt(""));
}

TEST(crypto_cipher, wrong_key_and_wrong_associated_data_rejected) {
    cipher a(secret_key::generate());
    cipher b(secret_key::generate());
    auto enc = a.encrypt("secret", "id-1");
    EXPECT_FALSE(b.decrypt(enc, "id-1"));
    EXPECT_FALSE(a.decrypt(enc, "id-2"));
    EXPECT_FALSE(a.decrypt(enc));
    EXPECT_TRUE(a.decrypt(enc, "id-1"));
}

TEST(crypto_cipher, secret_key_length_checked) {
    EXPECT_FALSE(secret_key::from_bytes(std::string(31, 'k')));
    EXPECT_FALSE(secret_key::from_bytes(std::string(33, 'k')));
    EXPECT_TRUE(secret_key::from_bytes(std::string(32, 'k')));
    auto k = secret_key::generate();
    auto again = secret_key::from_base64(k.to_base64());
    ASSERT_TRUE(again);
    EXPECT_EQ(
        std::string(reinterpret_cast<const char*>(again->data()), 32),
        std::string(reinterpret_cast<const char*>(k.data()), 32)
    );
}

// ---- seal / open / HMAC ---------------------------------------------------------------------------

TEST(crypto_seal, round_trip_layout_and_fresh_nonce) {
    auto k = secret_key::generate();
    for (std::string pt : {std::string(), std::string("x"), std::string(1000, 'q')}) {
        const auto sealed = registry::seal(k, pt, "tenant|connector|c1|credential.k");
        EXPECT_EQ(sealed.size(), registry::nonce_size + pt.size() + registry::tag_size);
        auto opened = registry::open_sealed(k, sealed, "tenant|connector|c1|credential.k");
        ASSERT_TRUE(opened) << opened.error().reason;
        EXPECT_EQ(*opened, pt);
    }
    EXPECT_NE(registry::seal(k, "same", "a"), registry::seal(k, "same", "a"));
}

TEST(crypto_seal, known_answer_gcm_spec_test_case_14) {
    // Same vector as the v0 cipher test: nonce | ciphertext | tag without the version byte.
    const std::string sealed = from_hex(
        "000000000000000000000000"
        "cea7403d4d606b6e074ec5d3baf39d18"
        "d0d1c8a799996bf0265b98b5d48ab919"
    );
    auto opened = registry::open_sealed(key_of(std::string(32, '\0')), sealed, "");
    ASSERT_TRUE(opened) << opened.error().reason;
    EXPECT_EQ(*opened, std::string(16, '\0'));
}

TEST(crypto_seal, wrong_key_wrong_aad_tamper_and_short_input_rejected) {
    auto a = secret_key::generate();
    auto b = secret_key::generate();
    const auto sealed = registry::seal(a, "secret", "aad-1");
    EXPECT_FALSE(registry::open_sealed(b, sealed, "aad-1"));
    EXPECT_FALSE(registry::open_sealed(a, sealed, "aad-2"));
    EXPECT_FALSE(registry::open_sealed(a, sealed, ""));
    for (std::size_t i = 0; i < sealed.size(); ++i) {
        std::string bad = sealed;
        bad[i] = static_cast<char>(bad[i] ^ 0x01);
        EXPECT_FALSE(registry::open_sealed(a, bad, "aad-1")) << "flipped byte " << i;
    }
    auto short_input = registry::open_sealed(a, sealed.substr(0, 27), "aad-1");
    ASSERT_FALSE(short_input);
    EXPECT_EQ(short_input.error().reason, "ciphertext is too short");
}

TEST(crypto_hmac, rfc4231_test_case_2_shape_and_key_dependence) {
    // HMAC-SHA-256 of "what do ya want for nothing?" under a 32-byte key "Jefe" padded with zeros: the
    // RFC 4231 key is 4 bytes, and HMAC zero-pads short keys, so the answer is the RFC's.
    std::string jefe = "Jefe";
    jefe.resize(32, '\0');
    const auto mac = registry::hmac_sha256(key_of(jefe), "what do ya want for nothing?");
    EXPECT_EQ(mac, from_hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
    EXPECT_NE(
        registry::hmac_sha256(secret_key::generate(), "m"), registry::hmac_sha256(secret_key::generate(), "m")
    );
    auto k = secret_key::generate();
    EXPECT_TRUE(registry::keys_equal(k, k));
    EXPECT_FALSE(registry::keys_equal(k, secret_key::generate()));
}

// ---- helpers --------------------------------------------------------------------------------------

TEST(crypto_base64, standard_and_url_safe) {
    EXPECT_EQ(registry::base64_encode(""), "");
    EXPECT_EQ(registry::base64_encode("f"), "Zg==");
    EXPECT_EQ(registry::base64_encode("fo"), "Zm8=");
    EXPECT_EQ(registry::base64_encode("foo"), "Zm9v");
    EXPECT_EQ(registry::base64_decode("Zm8=").value(), "fo");
    EXPECT_EQ(registry::base64_decode("").value(), "");
    EXPECT_FALSE(registry::base64_decode("Zm8"));       // missing padding
    EXPECT_FALSE(registry::base64_decode("Zm9="));      // non-zero trailing bits
    EXPECT_FALSE(registry::base64_decode("Zm 8="));     // whitespace
    EXPECT_FALSE(registry::base64_decode("Zm8=Zm8="));  // padding in the middle
    EXPECT_FALSE(registry::base64_decode("Z-8_"));      // URL-safe alphabet

    const std::string bin = "\xfb\xff\xfe";
    EXPECT_EQ(registry::base64_encode(bin), "+//+");
    EXPECT_EQ(registry::base64url_encode(bin), "-__-");
    EXPECT_EQ(registry::base64url_encode("fo"), "Zm8");
    EXPECT_EQ(registry::base64url_decode("-__-").value(), bin);
    EXPECT_EQ(registry::base64url_decode("Zm8").value(), "fo");
    EXPECT_EQ(registry::base64url_decode("Zm8=").value(), "fo");
    EXPECT_FALSE(registry::base64url_decode("+//+"));
    EXPECT_FALSE(registry::base64url_decode("Z"));
}

TEST(crypto_secure_wipe, clears_the_string) {
    std::string s = "very secret value that is long enough to live on the heap";
    registry::secure_wipe(s);
    EXPECT_TRUE(s.empty());
    std::string empty;
    registry::secure_wipe(empty);
    EXPECT_TRUE(empty.empty());
}

}  // namespace
}  // namespace modelrelay::test
