// File: stored_doc.hpp
// A resource's document, parsed into a tree on first read. Start-up keeps the documents of the kinds it does
// not read itself (connectors and tasks, two thirds of the stored bytes with 10,000 models) as text that
// has been checked to parse, so their trees are built by the first request that reads them, one at a time,
// rather than all before the port opens (docs/benchmarks.md, round 15). Every other document is a tree
// from the start.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/json/object.hpp>

namespace modelrelay::registry {

class stored_doc {
public:
    stored_doc() = default;
    explicit stored_doc(boost::json::object o) noexcept : obj_(std::move(o)) {}
    // Which texts start-up must still read as a tree: those where a member of the top-level object
    // `object` is not a string that `accept` takes (connectors: a credential not sealed the current way,
    // which start-up migrates).
    struct keep_text_if {
        std::string_view object;
        bool (*accept)(std::string_view) noexcept;
    };

    // Text that parses (with the same options as the tree) to a JSON object; nullopt otherwise. Kept as
    // text unless `rule` says otherwise, in which case it is parsed now. Checking builds no tree, so it
    // costs a fraction of a parse.
    static std::optional<stored_doc> from_text(std::string_view text, const keep_text_if* rule = nullptr);

    // A copy is always a tree (copies are made to be changed).
    stored_doc(const stored_doc& o) : obj_(o.get()) {}
    stored_doc& operator=(const stored_doc& o);
    // Moves are only made of documents no other thread can see.
    stored_doc(stored_doc&& o) noexcept;
    stored_doc& operator=(stored_doc&& o) noexcept;
    ~stored_doc() = default;

    // Safe from any number of threads at once: the first caller parses, the others wait for it.
    const boost::json::object& get() const {
        if (!parsed_.load(std::memory_order_acquire)) {
            parse();
        }
        return obj_;
    }
    // Only for a document that is not shared yet.
    boost::json::object& get_mut() {
        get();
        return obj_;
    }
    // False while the document is still text (tests and measurements).
    bool is_parsed() const noexcept { return parsed_.load(std::memory_order_acquire); }

private:
    void parse() const;

    mutable boost::json::object obj_;
    mutable std::string text_;  // while !parsed_
    mutable std::atomic<bool> parsed_{true};
};

}  // namespace modelrelay::registry
