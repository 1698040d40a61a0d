// File: key_gate.hpp
// The process-wide state behind API-key limits (security.md R17): one registry::key_limiter for every key,
// and the persistence of what keys spent of their token budgets, so a restart does not hand every key a
// fresh budget. Spend lives in its own SQLite file, DATA_DIR/key_usage.db (one row per key: the period it
// belongs to and the tokens charged), written on the store executor like every other write. Writes
// coalesce: a charge queues one write unless one is already queued, so under load many charges share a
// commit and at most the charges of the last queued write are lost on a crash (none on a clean stop, which
// drains the store executor). Rate buckets and parallel counts are not persisted: they restart full.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>

#include "registry/error.hpp"
#include "registry/identity.hpp"
#include "registry/key_limiter.hpp"
#include "registry/store.hpp"

namespace modelrelay::server {

struct app;

class key_gate {
public:
    // Opens (creating) `file` and restores the spend of the keys in `keys` whose period is still current.
    static registry::result<std::unique_ptr<key_gate>> open(
        app& a,
        const std::filesystem::path& file,
        registry::durability d,
        const registry::identity_state& keys
    );

    registry::key_limiter& limiter() { return limiter_; }

    // A budget was charged: queue a write of every changed budget on the store executor.
    void spend_changed();

private:
    key_gate(app& a, std::unique_ptr<registry::store> st);
    void write();  // on the store executor only

    app& app_;
    std::unique_ptr<registry::store> store_;
    registry::key_limiter limiter_;
    std::atomic<bool> queued_{false};
};

}  // namespace modelrelay::server
