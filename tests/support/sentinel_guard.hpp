// File: sentinel_guard.hpp
// R23 across the whole integration suite: the secrets tests use (credential sentinels, the test passwords,
// PEM private keys) must never come back in a response, a log line or a file in a data directory. The test
// clients scan every response they read and server_process scans its log and data directory whenever the
// server stops; a global gtest environment (sentinel_guard_test.cpp) fails the run on any hit.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace modelrelay::test {

// The secrets no test may ever see again once sent.
const std::vector<std::string>& sentinels();

// Records a violation for every sentinel found in `text`; `where` says which response/file it was.
void scan_for_sentinels(std::string_view where, std::string_view text);
// Every regular file under `dir` (SQLite files, WAL, logs, audit), recursively.
void scan_dir_for_sentinels(const std::filesystem::path& dir);

std::vector<std::string> sentinel_violations();
// Forgets violations recorded after the first `n` (the guard's own self-test uses it).
void truncate_sentinel_violations(std::size_t n);

}  // namespace modelrelay::test
