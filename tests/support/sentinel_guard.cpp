// File: sentinel_guard.cpp
#include "tests/support/sentinel_guard.hpp"

#include <fstream>
#include <iterator>
#include <mutex>

namespace modelrelay::test {

namespace {

std::mutex mutex;
std::vector<std::string> found;

}  // namespace

const std::vector<std::string>& sentinels() {
    static const std::vector<std::string> list{
        "sk-sentinel-7f3a9c1e5b",
        "sk-ssrf-sentinel",
        "sk-inference-sentinel-7731",
        "sk-predict-sentinel-42",
        "sk-relay-sentinel-77",
        "Adm1n-Pass-Strong!",        // secure_server's admin password
        "correct-horse-battery-42",  // the test users' password
        "PRIVATE KEY-----",          // any PEM private key (per-connector TLS keys)
    };
    return list;
}

void scan_for_sentinels(std::string_view where, std::string_view text) {
    for (const auto& s : sentinels()) {
        if (text.find(s) != std::string_view::npos) {
            std::lock_guard lock(mutex);
            found.push_back("'" + s + "' in " + std::string(where));
        }
    }
}

void scan_dir_for_sentinels(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        return;
    }
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator();
         it.increment(ec)) {
        if (!it->is_regular_file(ec)) {
            continue;
        }
        std::ifstream in(it->path(), std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), {});
        scan_for_sentinels(it->path().string(), bytes);
    }
}

std::vector<std::string> sentinel_violations() {
    std::lock_guard lock(mutex);
    return found;
}

void truncate_sentinel_violations(std::size_t n) {
    std::lock_guard lock(mutex);
    if (found.size() > n) {
        found.resize(n);
    }
}

}  // namespace modelrelay::test
