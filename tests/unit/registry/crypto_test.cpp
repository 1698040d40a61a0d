// File: crypto_test.cpp
// AES-256-GCM credential encryption, the master key file and the key check value: round trips, known
// answers (so the wire format is pinned, not just self-consistent), tamper and wrong-key detection.
#include "registry/crypto.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <sys/stat.h>

#include <gtest/gtest.h>

namespace modelrelay::test {
namespace {

namespace fs = std::filesystem;
using registry::cipher;
using registry::errc;
using registry::master_key_origin;
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

// A fresh directory per test, removed afterwards.
class temp_dir {
public:
    temp_dir() {
        std::random_device rd;
        path_ = fs::temp_directory_path() / ("mr_crypto_test_" + std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(path_);
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& p, std::string_view data) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
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

// ---- key check value ------------------------------------------------------------------------------

TEST(crypto_key_check, matches_same_key_only) {
    auto k1 = secret_key::generate();
    auto k2 = secret_key::generate();
    auto kcv = registry::key_check_value(k1);
    EXPECT_EQ(kcv, registry::key_check_value(k1));
    EXPECT_TRUE(registry::verify_key_check_value(k1, kcv));
    auto wrong = registry::verify_key_check_value(k2, kcv);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, errc::illegal_state);
    EXPECT_NE(wrong.error().reason.find("does not match"), std::string::npos);
    EXPECT_FALSE(registry::verify_key_check_value(k1, ""));
    EXPECT_FALSE(registry::verify_key_check_value(k1, kcv.substr(1)));
    EXPECT_EQ(kcv.find(k1.to_base64()), std::string::npos);
}

// ---- master key -----------------------------------------------------------------------------------

TEST(crypto_master_key, created_on_first_start_with_mode_0600_and_reloaded) {
    temp_dir dir;
    auto first = registry::load_master_key(std::nullopt, dir.path());
    ASSERT_TRUE(first) << first.error().reason;
    EXPECT_EQ(first->origin, master_key_origin::generated);
    const fs::path file = dir.path() / "master.key";
    EXPECT_EQ(first->path, file);

    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(read_all(file), first->key.to_base64() + "\n");
    // No temporary file left behind.
    EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);

    auto second = registry::load_master_key(std::nullopt, dir.path());
    ASSERT_TRUE(second) << second.error().reason;
    EXPECT_EQ(second->origin, master_key_origin::file);
    EXPECT_EQ(second->key.to_base64(), first->key.to_base64());

    // Data encrypted under the first load decrypts under the second.
    auto enc = cipher(first->key).encrypt("persisted");
    auto dec = cipher(second->key).decrypt(enc);
    ASSERT_TRUE(dec);
    EXPECT_EQ(*dec, "persisted");
}

TEST(crypto_master_key, raw_32_byte_file_accepted) {
    temp_dir dir;
    const std::string raw = bytes_0_to(32);
    write_all(dir.path() / "master.key", raw);
    auto mk = registry::load_master_key(std::nullopt, dir.path());
    ASSERT_TRUE(mk) << mk.error().reason;
    EXPECT_EQ(mk->origin, master_key_origin::file);
    EXPECT_EQ(mk->key.to_base64(), registry::base64_encode(raw));
}

TEST(crypto_master_key, corrupt_file_rejected_and_left_untouched) {
    for (std::string contents :
         {std::string("garbage"),
          std::string(),
          std::string(31, 'x'),
          std::string(33, 'x'),
          registry::base64_encode(std::string(16, 'k')) + "\n"}) {
        temp_dir dir;
        const fs::path file = dir.path() / "master.key";
        write_all(file, contents);
        ::chmod(file.c_str(), 0600);
        auto before = fs::last_write_time(file);
        auto mk = registry::load_master_key(std::nullopt, dir.path());
        ASSERT_FALSE(mk) << "accepted a " << contents.size() << "-byte file";
        EXPECT_EQ(mk.error().code, errc::illegal_state);
        EXPECT_NE(mk.error().reason.find("master.key"), std::string::npos) << mk.error().reason;
        EXPECT_EQ(read_all(file), contents);
        EXPECT_EQ(fs::last_write_time(file), before);
        EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
    }
}

TEST(crypto_master_key, directory_in_place_of_file_rejected) {
    temp_dir dir;
    fs::create_directory(dir.path() / "master.key");
    auto mk = registry::load_master_key(std::nullopt, dir.path());
    ASSERT_FALSE(mk);
    EXPECT_NE(mk.error().reason.find("not a regular file"), std::string::npos);
}

TEST(crypto_master_key, missing_data_dir_is_an_error) {
    temp_dir dir;
    auto mk = registry::load_master_key(std::nullopt, dir.path() / "does-not-exist");
    ASSERT_FALSE(mk);
    EXPECT_EQ(mk.error().code, errc::illegal_state);
}

TEST(crypto_master_key, env_value_wins_and_creates_no_file) {
    temp_dir dir;
    auto k = secret_key::generate();
    auto mk = registry::load_master_key(k.to_base64() + "\n", dir.path());
    ASSERT_TRUE(mk) << mk.error().reason;
    EXPECT_EQ(mk->origin, master_key_origin::environment);
    EXPECT_TRUE(mk->path.empty());
    EXPECT_EQ(mk->key.to_base64(), k.to_base64());
    EXPECT_FALSE(fs::exists(dir.path() / "master.key"));
}

TEST(crypto_master_key, env_value_errors_are_clear) {
    temp_dir dir;
    auto short_key = registry::load_master_key(registry::base64_encode(std::string(16, 'k')), dir.path());
    ASSERT_FALSE(short_key);
    EXPECT_EQ(
        short_key.error().reason,
        "MODELRELAY_MASTER_KEY must be the base64 encoding of exactly 32 bytes, but it decodes to 16 bytes"
    );
    auto not_b64 = registry::load_master_key(std::string_view("not*base64"), dir.path());
    ASSERT_FALSE(not_b64);
    EXPECT_NE(not_b64.error().reason.find("not valid base64"), std::string::npos);
    auto empty = registry::load_master_key(std::string_view(""), dir.path());
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().reason, "MODELRELAY_MASTER_KEY is set but empty");
    // A broken env value never falls back to (or creates) the key file.
    EXPECT_FALSE(fs::exists(dir.path() / "master.key"));
}

TEST(crypto_master_key, reads_process_environment) {
    temp_dir dir;
    auto k = secret_key::generate();
    ASSERT_EQ(::setenv("MODELRELAY_MASTER_KEY", k.to_base64().c_str(), 1), 0);
    auto mk = registry::load_master_key(dir.path());
    ::unsetenv("MODELRELAY_MASTER_KEY");
    ASSERT_TRUE(mk) << mk.error().reason;
    EXPECT_EQ(mk->origin, master_key_origin::environment);
    EXPECT_EQ(mk->key.to_base64(), k.to_base64());

    auto from_file = registry::load_master_key(dir.path());
    ASSERT_TRUE(from_file);
    EXPECT_EQ(from_file->origin, master_key_origin::generated);
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
