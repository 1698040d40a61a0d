// File: store.cpp
#include "registry/store.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace modelrelay::registry {

namespace {

// Each migration moves the schema from version i to i+1. Never edit one that has shipped: append.
constexpr std::array<const char*, 2> migrations{
    R"sql(
    CREATE TABLE resources (
        kind       TEXT    NOT NULL,
        id         TEXT    NOT NULL,
        tenant_id  TEXT    NOT NULL DEFAULT '',
        version    INTEGER NOT NULL,
        seq_no     INTEGER NOT NULL,
        owner          TEXT    NOT NULL DEFAULT '',
        backend_roles  TEXT    NOT NULL DEFAULT '[]',
        created_time   INTEGER NOT NULL DEFAULT 0,
        updated_time   INTEGER NOT NULL DEFAULT 0,
        doc        TEXT    NOT NULL,
        PRIMARY KEY (kind, id)
    ) WITHOUT ROWID;
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    )sql",
    // 2: envelope encryption (keyring.hpp).
    R"sql(
    CREATE TABLE data_keys (
        dek_id       TEXT    PRIMARY KEY,
        tenant_id    TEXT    NOT NULL,
        kek_id       TEXT    NOT NULL,
        wrapped      TEXT    NOT NULL,
        created_time INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    )sql",
};

enum stmt_slot {
    slot_begin,
    slot_commit,
    slot_rollback,
    slot_put,
    slot_erase,
    slot_meta_put,
    slot_meta_erase,
    slot_key_put,
    slot_key_erase,
    slot_savepoint,
    slot_release,
    slot_rollback_to,
    slot_count
};

error sqlite_error(sqlite3* db, std::string_view what) {
    // Details go to the message for logs; handlers never echo internal errors to clients.
    return {errc::internal, std::string(what) + ": " + sqlite3_errmsg(db)};
}

}  // namespace

// SQLite checkpoints a WAL database (copies its committed pages into the database file, with an fsync
// under both durability levels) inside the COMMIT that takes the WAL past 1,000 pages, that is on the store
// thread, and every write queued behind that COMMIT waited for the disk. Here the COMMIT only pokes this
// thread, which checkpoints on a connection of its own in PASSIVE mode: it copies what no reader still
// needs and never blocks the writer. What a commit guarantees does not change (the WAL holds it either way).
class store::background_checkpointer {
public:
    static constexpr int wal_pages = 1000;  // SQLite's own auto-checkpoint threshold

    static std::unique_ptr<background_checkpointer> start(const std::filesystem::path& file, durability d) {
        sqlite3* db = nullptr;
        if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
            SQLITE_OK) {
            sqlite3_close_v2(db);
            return nullptr;
        }
        sqlite3_busy_timeout(db, 5000);
        const char* sync = d == durability::full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;";
        if (sqlite3_exec(db, sync, nullptr, nullptr, nullptr) != SQLITE_OK) {
            sqlite3_close_v2(db);
            return nullptr;
        }
        return std::unique_ptr<background_checkpointer>(new background_checkpointer(db));
    }
    ~background_checkpointer() {
        {
            std::lock_guard lock(mu_);
            stopping_ = true;
        }
        cv_.notify_one();
        thread_.join();
        sqlite3_close_v2(db_);
    }
    background_checkpointer(const background_checkpointer&) = delete;
    background_checkpointer& operator=(const background_checkpointer&) = delete;

    void poke() {
        {
            std::lock_guard lock(mu_);
            pending_ = true;
        }
        cv_.notify_one();
    }
    std::size_t runs() const { return runs_.load(std::memory_order_relaxed); }

private:
    explicit background_checkpointer(sqlite3* db) : db_(db), thread_([this] { loop(); }) {}

    void loop() {
        std::unique_lock lock(mu_);
        for (;;) {
            cv_.wait(lock, [this] { return pending_ || stopping_; });
            if (stopping_) {
                return;
            }
            pending_ = false;
            lock.unlock();
            // A failure (another checkpoint running, a disk error) leaves the pages in the WAL, where they
            // are just as committed; the next poke tries again and closing the store checkpoints too.
            sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
            runs_.fetch_add(1, std::memory_order_relaxed);
            lock.lock();
        }
    }

    sqlite3* db_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool pending_ = false;
    bool stopping_ = false;
    std::atomic<std::size_t> runs_{0};
    std::thread thread_;  // last: started once everything above exists
};

int store::on_wal_commit(void* self, sqlite3*, const char*, int pages) {
    if (pages >= background_checkpointer::wal_pages) {
        static_cast<store*>(self)->checkpointer_->poke();
    }
    return SQLITE_OK;
}

std::size_t store::background_checkpoints() const {
    return checkpointer_ ? checkpointer_->runs() : 0;
}

store::store(sqlite3* db) : db_(db), stmts_(slot_count, nullptr) {}

store::~store() {
    checkpointer_.reset();  // before the last connection closes (that close folds the WAL in)
    for (auto* st : stmts_) {
        sqlite3_finalize(st);
    }
    // Checkpoint and close cleanly so the WAL is folded back into the main file.
    sqlite3_close_v2(db_);
}

namespace {

// SQLite creates a database with mode 0644 (less the umask) and gives its -wal and -shm files the
// database's mode. The documents are encrypted where they hold secrets, but nobody else on the host needs
// to read the rest either: the database is created 0600 before SQLite opens it, and files that an older
// build left readable are narrowed.
result<void> owner_only(const std::filesystem::path& file) {
    const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, S_IRUSR | S_IWUSR);
    if (fd < 0) {
        return error{errc::internal, "cannot open database " + file.string() + ": " + std::strerror(errno)};
    }
    const int rc = ::fchmod(fd, S_IRUSR | S_IWUSR);
    const int saved = errno;
    ::close(fd);
    if (rc != 0) {
        return error{errc::internal, "cannot chmod " + file.string() + ": " + std::strerror(saved)};
    }
    for (const char* suffix : {"-wal", "-shm", "-journal"}) {
        ::chmod((file.string() + suffix).c_str(), S_IRUSR | S_IWUSR);  // absent is fine
    }
    return {};
}

}  // namespace

result<std::unique_ptr<store>> store::open(const std::filesystem::path& file, durability d, bool migrate) {
    if (auto r = owner_only(file); !r) {
        return r.error();
    }
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(
        file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr
    );
    if (rc != SQLITE_OK) {
        std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close_v2(db);
        return error{errc::internal, "cannot open database " + file.string() + ": " + msg};
    }
    std::unique_ptr<store> s(new store(db));
    sqlite3_busy_timeout(db, 5000);
    // WAL: readers never block the writer. synchronous=NORMAL in WAL mode keeps every committed transaction
    // across a process crash (kill -9); FULL also survives power loss at the cost of an fsync per commit.
    if (auto r = s->exec("PRAGMA journal_mode=WAL;"); !r) {
        return r.error();
    }
    if (auto r = s->exec(d == durability::full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;");
        !r) {
        return r.error();
    }
    // Deleted content is overwritten with zeros, so old ciphertexts do not linger in free pages.
    if (auto r = s->exec("PRAGMA secure_delete=ON;"); !r) {
        return r.error();
    }
    if (s->schema_version() > static_cast<int>(migrations.size())) {
        return error{
            errc::internal,
            "database schema version " + std::to_string(s->schema_version()) +
                " is newer than this modelrelay supports"};
    }
    if (migrate) {
        if (auto r = s->migrate(); !r) {
            return r.error();
        }
    }
    // Without a second connection SQLite keeps checkpointing inline, as before.
    if ((s->checkpointer_ = background_checkpointer::start(file, d))) {
        sqlite3_wal_hook(db, &store::on_wal_commit, s.get());  // replaces the inline auto-checkpoint
    }
    return s;
}

result<void> store::exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "unknown error";
        sqlite3_free(err);
        return error{errc::internal, std::string("sqlite: ") + msg};
    }
    return {};
}

int store::schema_version() {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db_, "PRAGMA user_version;", -1, &st, nullptr);
    int v = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}

result<void> store::migrate() {
    const int current = schema_version();
    if (current > static_cast<int>(migrations.size())) {
        return error{
            errc::internal,
            "database schema version " + std::to_string(current) + " is newer than this modelrelay supports"};
    }
    for (int v = current; v < static_cast<int>(migrations.size()); ++v) {
        if (auto r = exec("BEGIN IMMEDIATE;"); !r) {
            return r;
        }
        auto r = exec(migrations[static_cast<std::size_t>(v)]);
        if (r) {
            r = exec(("PRAGMA user_version=" + std::to_string(v + 1) + ";").c_str());
        }
        if (!r) {
            (void)exec("ROLLBACK;");
            return r;
        }
        if (auto c = exec("COMMIT;"); !c) {
            return c;
        }
    }
    return {};
}

sqlite3_stmt* store::prepare_cached(int slot, const char* sql) {
    auto& st = stmts_[static_cast<std::size_t>(slot)];
    if (st == nullptr) {
        if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) != SQLITE_OK) {
            st = nullptr;
            return nullptr;
        }
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

bool store::step_done(sqlite3_stmt* st) {
    if (st == nullptr) {
        return false;
    }
    if (fault_ && fault_()) {
        return false;
    }
    const int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE;
}

namespace {

// A text column as a view into SQLite's buffer (valid until the next step); NULL reads as "".
std::string_view column_view(sqlite3_stmt* st, int i) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
    return std::string_view(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(st, i)));
}

}  // namespace

std::vector<stored_row> store::load_all() {
    std::vector<stored_row> rows;
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(
        db_,
        "SELECT kind, id, tenant_id, version, seq_no, doc, owner, backend_roles, created_time, updated_time "
        "FROM resources ORDER BY kind, id;",
        -1,
        &st,
        nullptr
    );
    while (sqlite3_step(st) == SQLITE_ROW) {
        auto text = [&](int i) {
            return std::string(column_view(st, i));
        };
        rows.push_back(
            {text(0),
             text(1),
             text(2),
             sqlite3_column_int64(st, 3),
             sqlite3_column_int64(st, 4),
             text(5),
             text(6),
             text(7),
             sqlite3_column_int64(st, 8),
             sqlite3_column_int64(st, 9)}
        );
    }
    sqlite3_finalize(st);
    return rows;
}

bool store::scan_resources(const std::function<void(const row_ref&)>& f) {
    sqlite3_stmt* raw = nullptr;
    // Primary-key order: no sort, so SQLite streams the rows straight from the b-tree (ORDER BY seq_no
    // spilled the whole table through a temporary sorter file).
    if (sqlite3_prepare_v2(
            db_,
            "SELECT kind, id, tenant_id, version, seq_no, doc, owner FROM resources ORDER BY kind, id;",
            -1,
            &raw,
            nullptr
        ) != SQLITE_OK) {
        sqlite3_finalize(raw);
        // Not migrated yet (start-up reads before migrating): no table, no rows.
        return schema_version() == 0;
    }
    const std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> st(raw, sqlite3_finalize);
    auto text = [&](int i) {
        return column_view(raw, i);
    };
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
        f(row_ref{
            text(0),
            text(1),
            text(2),
            sqlite3_column_int64(raw, 3),
            sqlite3_column_int64(raw, 4),
            text(5),
            text(6)});
    }
    return rc == SQLITE_DONE;
}

std::optional<std::string> store::get_meta(std::string_view key) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db_, "SELECT value FROM meta WHERE key = ?1;", -1, &st, nullptr);
    sqlite3_bind_text(st, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
    std::optional<std::string> out;
    if (sqlite3_step(st) == SQLITE_ROW) {
        out.emplace(column_view(st, 0));
    }
    sqlite3_finalize(st);
    return out;
}

std::vector<stored_data_key> store::load_data_keys() {
    std::vector<stored_data_key> keys;
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(
        db_,
        "SELECT dek_id, tenant_id, kek_id, wrapped, created_time FROM data_keys ORDER BY created_time, "
        "dek_id;",
        -1,
        &st,
        nullptr
    );
    while (sqlite3_step(st) == SQLITE_ROW) {
        auto text = [&](int i) {
            return std::string(column_view(st, i));
        };
        keys.push_back({text(0), text(1), text(2), text(3), sqlite3_column_int64(st, 4)});
    }
    sqlite3_finalize(st);
    return keys;
}

result<void> store::checkpoint() {
    int log_frames = 0;
    int checkpointed = 0;
    if (sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log_frames, &checkpointed) !=
        SQLITE_OK) {
        return sqlite_error(db_, "checkpoint");
    }
    return {};
}

result<void> store::begin_group() {
    if (in_group_) {
        return error{errc::internal, "a write group is already open"};
    }
    if (!step_done(prepare_cached(slot_begin, "BEGIN IMMEDIATE;"))) {
        return sqlite_error(db_, "begin");
    }
    in_group_ = true;
    return {};
}

result<void> store::commit_group() {
    if (!in_group_) {
        return error{errc::internal, "no write group is open"};
    }
    in_group_ = false;
    if (step_done(prepare_cached(slot_commit, "COMMIT;"))) {
        return {};
    }
    auto err = sqlite_error(db_, "write");
    sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
    return err;
}

result<void> store::apply(const batch& b) {
    if (b.empty()) {
        return {};
    }
    auto bind = [](sqlite3_stmt* st, int i, std::string_view s) {
        sqlite3_bind_text(st, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
    };
    // Inside a group the batch is a savepoint: it lands with the group's COMMIT, or alone rolls back.
    const bool nested = in_group_;
    if (nested ? !step_done(prepare_cached(slot_savepoint, "SAVEPOINT batch;"))
               : !step_done(prepare_cached(slot_begin, "BEGIN IMMEDIATE;"))) {
        return sqlite_error(db_, "begin");
    }
    auto undo = [&] {
        // Not subject to fault injection: it is the recovery path.
        sqlite3_exec(
            db_, nested ? "ROLLBACK TO batch; RELEASE batch;" : "ROLLBACK;", nullptr, nullptr, nullptr
        );
    };
    bool ok = true;
    for (const auto& row : b.puts) {
        auto* st = prepare_cached(
            slot_put,
            "INSERT OR REPLACE INTO resources (kind, id, tenant_id, version, seq_no, doc, owner, "
            "backend_roles, "
            "created_time, updated_time) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10);"
        );
        if (st == nullptr) {
            ok = false;
            break;
        }
        bind(st, 1, row.kind);
        bind(st, 2, row.id);
        bind(st, 3, row.tenant_id);
        sqlite3_bind_int64(st, 4, row.version);
        sqlite3_bind_int64(st, 5, row.seq_no);
        bind(st, 6, row.doc);
        bind(st, 7, row.owner);
        bind(st, 8, row.backend_roles);
        sqlite3_bind_int64(st, 9, row.created_time);
        sqlite3_bind_int64(st, 10, row.updated_time);
        if (!step_done(st)) {
            ok = false;
            break;
        }
    }
    for (std::size_t i = 0; ok && i < b.erases.size(); ++i) {
        auto* st = prepare_cached(slot_erase, "DELETE FROM resources WHERE kind = ?1 AND id = ?2;");
        if (st == nullptr) {
            ok = false;
            break;
        }
        bind(st, 1, b.erases[i].first);
        bind(st, 2, b.erases[i].second);
        ok = step_done(st);
    }
    for (std::size_t i = 0; ok && i < b.meta_puts.size(); ++i) {
        auto* st = prepare_cached(slot_meta_put, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2);");
        if (st == nullptr) {
            ok = false;
            break;
        }
        bind(st, 1, b.meta_puts[i].first);
        bind(st, 2, b.meta_puts[i].second);
        ok = step_done(st);
    }
    for (std::size_t i = 0; ok && i < b.meta_erases.size(); ++i) {
        auto* st = prepare_cached(slot_meta_erase, "DELETE FROM meta WHERE key = ?1;");
        if (st == nullptr) {
            ok = false;
            break;
        }
        bind(st, 1, b.meta_erases[i]);
        ok = step_done(st);
    }
    for (std::size_t i = 0; ok && i < b.key_puts.size(); ++i) {
        const auto& k = b.key_puts[i];
        auto* st = prepare_cached(
            slot_key_put,
            "INSERT OR REPLACE INTO data_keys (dek_id, tenant_id, kek_id, wrapped, created_time) "
            "VALUES (?1, ?2, ?3, ?4, ?5);"
        );
        if (st == nullptr) {
            ok = false;
            break;
        }
        bind(st, 1, k.dek_id);
        bind(st, 2, k.tenant_id);
        bind(st, 3, k.kek_id);
        bind(st, 4, k.wrapped);
        sqlite3_bind_int64(st, 5, k.created_time);
        ok = step_done(st);
    }
    for (std::size_t i = 0; ok && i < b.key_erases.size(); ++i) {
        auto* st = prepare_cached(slot_key_erase, "DELETE FROM data_keys WHERE dek_id = ?1;");
        if (st == nullptr) {
            ok = false;
            break;
        }
        bind(st, 1, b.key_erases[i]);
        ok = step_done(st);
    }
    if (ok && b.before_commit) {
        if (auto r = b.before_commit(); !r) {
            undo();
            return r.error();
        }
    }
    if (ok && (nested ? step_done(prepare_cached(slot_release, "RELEASE batch;"))
                      : step_done(prepare_cached(slot_commit, "COMMIT;")))) {
        return {};
    }
    auto err = sqlite_error(db_, "write");
    undo();
    return err;
}

}  // namespace modelrelay::registry
