// File: bulk_load.cpp
#include "registry/bulk_load.hpp"

#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include <boost/json/parse.hpp>

#include "registry/json_parse.hpp"
#include "registry/keyring.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

// Start-up itself reads the documents of models, model groups, `_inference` endpoints and controllers;
// connectors and tasks (two thirds of the bytes with 10,000 models, each with two tasks) stay text until a
// request reads them. Checking the text costs a fraction of building the tree. A connector whose
// credentials are not all sealed the current way is a tree at once: start-up migrates such values
// (service::open_keys, whose for_each_secret names the same fields, skips the texts).
std::optional<stored_doc> read_doc(kind k, std::string_view text) {
    static constexpr stored_doc::keep_text_if sealed_credentials{"credential", &is_v1_value};
    if (k == kind::connector) {
        return stored_doc::from_text(text, &sealed_credentials);
    }
    if (k == kind::task) {
        return stored_doc::from_text(text);
    }
    boost::system::error_code ec;
    json::value v = parse_json(text, ec);
    if (ec || !v.is_object()) {
        return std::nullopt;
    }
    return stored_doc(std::move(v.get_object()));
}

// Small enough that the parsers start early and balance, large enough that the queue's lock is cold.
constexpr std::size_t rows_per_block = 256;
// The reader copies rows out for the parser threads only while they keep up; with this many blocks
// waiting it parses the next block itself, straight from SQLite's buffers (no copy).
constexpr std::size_t max_backlog = 2;

struct span {
    std::size_t at = 0;
    std::size_t len = 0;
};

// A row copied out of SQLite for a parser thread: its strings live in the block's one text buffer (one
// allocation per block rather than several per row).
struct pending_row {
    std::optional<kind> k;
    std::int64_t version = 1;
    std::int64_t seq_no = 0;
    span kind_name, id, tenant_id, doc, owner;
};

struct block {
    bool parsed = false;  // by the reader, as it read (then text and rows are empty)
    std::string text;
    std::vector<pending_row> rows;
    std::vector<loaded_resource> out;
    std::optional<error> failed;  // the block's first corrupt row

    span append(std::string_view s) {
        span sp{text.size(), s.size()};
        text.append(s);
        return sp;
    }
    std::string_view view(span s) const { return std::string_view(text).substr(s.at, s.len); }

    void parse_row(std::optional<kind> k, const row_ref& r) {
        std::optional<stored_doc> doc;
        if (k) {
            doc = read_doc(*k, r.doc);
        }
        if (!doc) {
            if (!failed) {
                failed = error{
                    errc::internal,
                    "corrupt row " + std::string(r.kind) + "/" + std::string(r.id) + " in the database"};
            }
            return;
        }
        auto res = std::make_shared<resource>();
        res->id = r.id;
        res->tenant_id = r.tenant_id;
        res->version = r.version;
        res->seq_no = r.seq_no;
        res->document = std::move(*doc);
        res->owner_key = r.owner;
        out.push_back({*k, std::move(res)});
    }

    // A parser thread's work on a copied block.
    void parse_copied() {
        out.reserve(rows.size());
        for (const auto& p : rows) {
            parse_row(
                p.k,
                row_ref{
                    view(p.kind_name),
                    view(p.id),
                    view(p.tenant_id),
                    p.version,
                    p.seq_no,
                    view(p.doc),
                    view(p.owner)}
            );
        }
        // The text is no longer needed: give it back now rather than when every block is done.
        std::string().swap(text);
        std::vector<pending_row>().swap(rows);
    }
};

// Blocks in reading order; parser threads take the copied ones one at a time.
class block_queue {
public:
    void push(std::unique_ptr<block> b) {
        const bool for_parsers = !b->parsed;
        {
            std::lock_guard lock(mu_);
            blocks_.push_back(std::move(b));
            waiting_ += for_parsers ? 1 : 0;
        }
        if (for_parsers) {
            cv_.notify_one();
        }
    }
    void close() {
        {
            std::lock_guard lock(mu_);
            closed_ = true;
        }
        cv_.notify_all();
    }
    // Copied blocks no parser has taken yet.
    std::size_t backlog() {
        std::lock_guard lock(mu_);
        return waiting_;
    }
    // The next copied block, waiting for the reader; null once the reader is done and all are taken.
    block* pop() {
        std::unique_lock lock(mu_);
        for (;;) {
            while (next_ < blocks_.size() && blocks_[next_]->parsed) {
                ++next_;
            }
            if (next_ < blocks_.size()) {
                --waiting_;
                return blocks_[next_++].get();
            }
            if (closed_) {
                return nullptr;
            }
            cv_.wait(lock);
        }
    }
    // Only once every parser has stopped.
    std::vector<std::unique_ptr<block>>& blocks() { return blocks_; }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<block>> blocks_;
    std::size_t next_ = 0;
    std::size_t waiting_ = 0;
    bool closed_ = false;
};

}  // namespace

result<std::vector<loaded_resource>> load_resources(store& st, unsigned threads) {
    block_queue queue;
    std::mutex failure_mu;
    std::exception_ptr failure;
    auto record_failure = [&] {
        std::lock_guard lock(failure_mu);
        if (!failure) {
            failure = std::current_exception();
        }
    };
    auto parse_all = [&] {
        try {
            while (auto* b = queue.pop()) {
                b->parse_copied();
            }
        } catch (...) {
            record_failure();
        }
    };
    std::vector<std::thread> parsers;
    for (unsigned t = 1; t < std::max(1U, threads); ++t) {
        try {
            parsers.emplace_back(parse_all);
        } catch (const std::system_error&) {
            break;  // fewer threads do the same work
        }
    }

    auto current = std::make_unique<block>();
    std::size_t in_block = 0;  // rows read into `current`
    std::size_t text_hint = 0;
    bool read_ok = false;
    try {
        read_ok = st.scan_resources([&](const row_ref& r) {
            if (in_block++ == 0) {
                current->parsed = parsers.empty() || queue.backlog() >= max_backlog;
                if (current->parsed) {
                    current->out.reserve(rows_per_block);
                } else {
                    current->rows.reserve(rows_per_block);
                    current->text.reserve(text_hint);
                }
            }
            const auto k = kind_from_name(r.kind);
            if (current->parsed) {
                current->parse_row(k, r);
            } else {
                pending_row p;
                p.k = k;
                p.version = r.version;
                p.seq_no = r.seq_no;
                p.kind_name = current->append(r.kind);
                p.id = current->append(r.id);
                p.tenant_id = current->append(r.tenant_id);
                p.doc = current->append(r.doc);
                p.owner = current->append(r.owner);
                current->rows.push_back(p);
            }
            if (in_block == rows_per_block) {
                if (!current->parsed) {
                    text_hint = current->text.size();
                }
                queue.push(std::exchange(current, std::make_unique<block>()));
                in_block = 0;
            }
        });
    } catch (...) {
        // Out of memory: the parsers must still be stopped before unwinding.
        record_failure();
    }
    if (in_block > 0) {
        queue.push(std::move(current));
    }
    queue.close();
    parse_all();
    for (auto& p : parsers) {
        p.join();
    }
    if (failure) {
        std::rethrow_exception(failure);
    }

    std::size_t total = 0;
    for (const auto& b : queue.blocks()) {
        if (b->failed) {
            return *b->failed;
        }
        total += b->out.size();
    }
    if (!read_ok) {
        return error{errc::internal, "cannot read the resources table of the database"};
    }
    std::vector<loaded_resource> all;
    all.reserve(total);
    for (auto& b : queue.blocks()) {
        for (auto& l : b->out) {
            all.push_back(std::move(l));
        }
    }
    return all;
}

}  // namespace modelrelay::registry
