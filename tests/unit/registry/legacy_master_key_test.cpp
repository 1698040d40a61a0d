// File: legacy_master_key_test.cpp
// The pre-envelope master key (legacy_master_key.hpp), which is now only read to migrate old data: found in
// the environment or in master.key (raw or base64), never created, malformed input refused with the file
// untouched, and the key check value that detects a wrong one before the migration writes anything.
#include "registry/legacy_master_key.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/support/server_process.hpp"

namespace modelrelay::test {
namespace {

namespace fs = std::filesystem;
using registry::errc;
using registry::master_key_origin;
using registry::secret_key;

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& p, std::string_view data) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::size_t entries(const fs::path& dir) {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

// ---- key check value ------------------------------------------------------------------------------

TEST(legacy_key_check, matches_same_key_only) {
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

TEST(legacy_key_check, value_written_by_v0_is_still_recognised) {
    // The fixture data directory's master key and the check value v0 stored next to it
    // (tests/fixtures/v0_single).
    const fs::path fixture = fs::path(MODELRELAY_SOURCE_DIR) / "tests/fixtures/v0_single";
    auto mk = registry::find_master_key(std::nullopt, fixture);
    ASSERT_TRUE(mk) << mk.error().reason;
    ASSERT_TRUE(mk->has_value());
    EXPECT_TRUE(registry::verify_key_check_value((*mk)->key, "vhn/MpJ3xnkAV1+4kpiIyUd7T97CMDAvTAZ+oZbXTfg="));
}

// ---- finding the master key -----------------------------------------------------------------------

TEST(legacy_master_key, absent_is_nullopt_and_nothing_is_created) {
    temp_dir dir;
    auto mk = registry::find_master_key(std::nullopt, dir.path());
    ASSERT_TRUE(mk) << mk.error().reason;
    EXPECT_FALSE(mk->has_value());
    EXPECT_EQ(entries(dir.path()), 0U);
}

TEST(legacy_master_key, base64_file_with_newline_is_read_and_left_alone) {
    temp_dir dir;
    const auto k = secret_key::generate();
    const fs::path file = dir.path() / "master.key";
    write_all(file, k.to_base64() + "\n");
    ::chmod(file.c_str(), 0600);  // v0 wrote 0600; the migration must not refuse it
    auto mk = registry::find_master_key(std::nullopt, dir.path());
    ASSERT_TRUE(mk) << mk.error().reason;
    ASSERT_TRUE(mk->has_value());
    EXPECT_EQ((*mk)->origin, master_key_origin::file);
    EXPECT_EQ((*mk)->path, file);
    EXPECT_TRUE(registry::keys_equal((*mk)->key, k));
    EXPECT_EQ(read_all(file), k.to_base64() + "\n");
}

TEST(legacy_master_key, raw_32_byte_file_accepted) {
    temp_dir dir;
    std::string raw;
    for (int i = 0; i < 32; ++i) {
        raw.push_back(static_cast<char>(i));
    }
    write_all(dir.path() / "master.key", raw);
    auto mk = registry::find_master_key(std::nullopt, dir.path());
    ASSERT_TRUE(mk) << mk.error().reason;
    ASSERT_TRUE(mk->has_value());
    EXPECT_EQ((*mk)->key.to_base64(), registry::base64_encode(raw));
}

TEST(legacy_master_key, corrupt_file_rejected_and_left_untouched) {
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
        auto mk = registry::find_master_key(std::nullopt, dir.path());
        ASSERT_FALSE(mk) << "accepted a " << contents.size() << "-byte file";
        EXPECT_EQ(mk.error().code, errc::illegal_state);
        EXPECT_NE(mk.error().reason.find("master.key"), std::string::npos) << mk.error().reason;
        EXPECT_EQ(read_all(file), contents);
        EXPECT_EQ(fs::last_write_time(file), before);
        EXPECT_EQ(entries(dir.path()), 1U);
    }
}

TEST(legacy_master_key, directory_in_place_of_file_rejected) {
    temp_dir dir;
    fs::create_directory(dir.path() / "master.key");
    auto mk = registry::find_master_key(std::nullopt, dir.path());
    ASSERT_FALSE(mk);
    EXPECT_NE(mk.error().reason.find("not a regular file"), std::string::npos);
}

TEST(legacy_master_key, env_value_wins_and_creates_no_file) {
    temp_dir dir;
    auto k = secret_key::generate();
    auto mk = registry::find_master_key(k.to_base64() + "\n", dir.path());
    ASSERT_TRUE(mk) << mk.error().reason;
    ASSERT_TRUE(mk->has_value());
    EXPECT_EQ((*mk)->origin, master_key_origin::environment);
    EXPECT_TRUE((*mk)->path.empty());
    EXPECT_EQ((*mk)->key.to_base64(), k.to_base64());
    EXPECT_EQ(entries(dir.path()), 0U);
}

TEST(legacy_master_key, env_value_errors_are_clear) {
    temp_dir dir;
    auto short_key = registry::find_master_key(registry::base64_encode(std::string(16, 'k')), dir.path());
    ASSERT_FALSE(short_key);
    EXPECT_EQ(
        short_key.error().reason,
        "MODELRELAY_MASTER_KEY must be the base64 encoding of exactly 32 bytes, but it decodes to 16 bytes"
    );
    auto not_b64 = registry::find_master_key(std::string_view("not*base64"), dir.path());
    ASSERT_FALSE(not_b64);
    EXPECT_NE(not_b64.error().reason.find("not valid base64"), std::string::npos);
    auto empty = registry::find_master_key(std::string_view(""), dir.path());
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().reason, "MODELRELAY_MASTER_KEY is set but empty");
    EXPECT_EQ(entries(dir.path()), 0U);
}

TEST(legacy_master_key, reads_process_environment) {
    temp_dir dir;
    auto k = secret_key::generate();
    ASSERT_EQ(::setenv("MODELRELAY_MASTER_KEY", k.to_base64().c_str(), 1), 0);
    auto mk = registry::find_master_key(dir.path());
    ::unsetenv("MODELRELAY_MASTER_KEY");
    ASSERT_TRUE(mk) << mk.error().reason;
    ASSERT_TRUE(mk->has_value());
    EXPECT_EQ((*mk)->origin, master_key_origin::environment);
    EXPECT_EQ((*mk)->key.to_base64(), k.to_base64());

    auto without = registry::find_master_key(dir.path());
    ASSERT_TRUE(without);
    EXPECT_FALSE(without->has_value());
}

}  // namespace
}  // namespace modelrelay::test
