// File: store.hpp
// Durable storage in one SQLite file (WAL mode). Every resource (connector, model group, model, task) is one
// row: its kind, id, tenant, versioning fields and its canonical JSON document. Credentials inside documents
// are already ciphertext when they reach the store. Settings and key ids live in `meta`; the per-tenant
// data keys, wrapped by the key-encryption key, in `data_keys` (keyring.hpp).
//
// A `batch` is applied in one transaction: either every row lands or none does, so a failed write never
// leaves half a resource behind. The store is synchronous and single-threaded: the server calls it only
// from its store executor.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sqlite3.h>

#include "registry/error.hpp"

namespace modelrelay::registry {

struct stored_row {
    std::string kind;  // "connector", "model_group", "model", "task"
    std::string id;
    std::string tenant_id;
    std::int64_t version = 1;
    std::int64_t seq_no = 0;
    std::string doc;  // canonical JSON text
    // Denormalised from the document so access control and audits can filter in SQL later.
    std::string owner;          // owner user name ("" when none)
    std::string backend_roles;  // JSON array text ("[]" when none)
    std::int64_t created_time = 0;
    std::int64_t updated_time = 0;
};

// One data key (DEK) as stored: only ever wrapped (keyring.hpp has the format).
// One resource row as SQLite holds it, valid only during the scan_resources() callback that receives it.
struct row_ref {
    std::string_view kind;
    std::string_view id;
    std::string_view tenant_id;
    std::int64_t version = 1;
    std::int64_t seq_no = 0;
    std::string_view doc;
    std::string_view owner;
};

struct stored_data_key {
    std::string dek_id;
    std::string tenant_id;
    std::string kek_id;   // the key-encryption key that wraps it
    std::string wrapped;  // base64(nonce | ciphertext | tag)
    std::int64_t created_time = 0;
};

struct batch {
    std::vector<stored_row> puts;
    std::vector<std::pair<std::string, std::string>> erases;     // (kind, id)
    std::vector<std::pair<std::string, std::string>> meta_puts;  // (key, value)
    std::vector<std::string> meta_erases;
    std::vector<stored_data_key> key_puts;  // insert or replace by dek_id
    std::vector<std::string> key_erases;    // dek_ids (data key rotation retires the old ones)
    // Runs inside the transaction after every write, before COMMIT; it sees the uncommitted rows (e.g.
    // through load_data_keys()). An error rolls everything back and is returned by apply().
    std::function<result<void>()> before_commit;
    bool empty() const {
        return puts.empty() && erases.empty() && meta_puts.empty() && meta_erases.empty() &&
               key_puts.empty() && key_erases.empty();
    }
};

enum class durability { normal, full };

class store {
public:
    // Opens (creating when missing) the database at `file` and, unless `migrate` is false, brings its schema
    // up to date. A schema newer than this build is an error either way. With `migrate` false the caller
    // reads what the old schema has (reads of tables it lacks come back empty) and calls migrate_schema()
    // before its first write: start-up checks its keys first, so a refused start leaves an old database as
    // the previous version can still open it.
    static result<std::unique_ptr<store>> open(
        const std::filesystem::path& file, durability d = durability::normal, bool migrate = true
    );
    result<void> migrate_schema() { return migrate(); }
    ~store();
    store(const store&) = delete;
    store& operator=(const store&) = delete;

    std::vector<stored_row> load_all();
    // Start-up's bulk read: every resource row in primary-key order, handed over without copies (the caller
    // keeps what it needs). Returns false if SQLite failed part-way (the rows seen so far were delivered).
    bool scan_resources(const std::function<void(const row_ref&)>& f);
    std::optional<std::string> get_meta(std::string_view key);
    std::vector<stored_data_key> load_data_keys();

    // Applies the batch atomically. On failure nothing of it is visible.
    result<void> apply(const batch& b);

    // Group commit: between begin_group() and commit_group() every apply() is a savepoint of one
    // transaction, so a batch that fails still changes nothing while the others wait for the group's one
    // COMMIT (one WAL append and, with durability::full, one fsync for all of them). A failed COMMIT rolls
    // the whole group back. A batch's before_commit then runs before its savepoint is released, not before
    // the COMMIT: writes that need it (data key rotation) are never grouped.
    result<void> begin_group();
    result<void> commit_group();
    bool in_group() const { return in_group_; }

    // Test seam (LevelDB's FaultInjectionTestEnv idea): called before each statement step inside apply();
    // returning true makes that step fail as if SQLite had reported an I/O error.
    void set_fault_injector(std::function<bool()> f) { fault_ = std::move(f); }

    // Schema version after migrations (PRAGMA user_version).
    int schema_version();

    // Folds the WAL into the database file and truncates it, so superseded pages (e.g. data keys wrapped
    // by a retired KEK) do not linger in the WAL.
    result<void> checkpoint();

    // WAL checkpoints run on a thread of the store's own (see store.cpp); how many have run (tests).
    std::size_t background_checkpoints() const;

private:
    class background_checkpointer;
    static int on_wal_commit(void* self, sqlite3* db, const char* name, int pages);

    explicit store(sqlite3* db);
    result<void> migrate();
    result<void> exec(const char* sql);
    sqlite3_stmt* prepare_cached(int slot, const char* sql);
    bool step_done(sqlite3_stmt* st);

    sqlite3* db_;
    std::vector<sqlite3_stmt*> stmts_;
    std::function<bool()> fault_;
    bool in_group_ = false;
    std::unique_ptr<background_checkpointer> checkpointer_;  // null: SQLite checkpoints inline
};

}  // namespace modelrelay::registry
