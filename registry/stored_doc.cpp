// File: stored_doc.cpp
#include "registry/stored_doc.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <utility>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>

#include "registry/json_parse.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

// The options of both the check and the parse: the same bytes pass both or neither.
json::parse_options options() {
    return {};
}

// Accepts what json::parse accepts and notes whether the root is an object and whether every member of
// the watched top-level object is a string the rule accepts; builds nothing. A repeated watched key is
// checked each time (the tree keeps only the last): the verdict can only err towards parsing.
struct check_handler {
    static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
    static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
    static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
    static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
    using ec_t = boost::system::error_code;

    const stored_doc::keep_text_if* rule = nullptr;
    std::size_t depth = 0;
    bool root_is_object = false;
    bool rule_holds = true;
    std::string key;            // the current top-level key, while it arrives in parts
    bool watched_next = false;  // the next top-level value is the watched object
    bool in_watched = false;    // inside it (its members are at depth 2)
    std::string text;           // a member string of the watched object, while it arrives in parts

    bool watching() const { return in_watched && depth == 2; }
    // A value other than a string: fails the rule inside the watched object.
    void other_value() {
        rule_holds = rule_holds && !watching();
        watched_next = watched_next && depth != 1;
    }

    bool on_document_begin(ec_t&) { return true; }
    bool on_document_end(ec_t&) { return true; }
    bool on_object_begin(ec_t&) {
        root_is_object = root_is_object || depth == 0;
        rule_holds = rule_holds && !watching();
        if (depth == 1) {
            in_watched = watched_next;
            watched_next = false;
        }
        ++depth;
        return true;
    }
    bool on_object_end(std::size_t, ec_t&) {
        --depth;
        in_watched = in_watched && depth != 1;
        return true;
    }
    bool on_array_begin(ec_t&) {
        other_value();
        ++depth;
        return true;
    }
    bool on_array_end(std::size_t, ec_t&) {
        --depth;
        return true;
    }
    bool on_key_part(std::string_view s, std::size_t, ec_t&) {
        if (rule != nullptr && depth == 1) {
            key.append(s);
        }
        return true;
    }
    bool on_key(std::string_view s, std::size_t, ec_t&) {
        if (rule != nullptr && depth == 1) {
            key.append(s);
            watched_next = key == rule->object;
            key.clear();
        }
        return true;
    }
    bool on_string_part(std::string_view s, std::size_t, ec_t&) {
        if (rule != nullptr && watching()) {
            text.append(s);
        }
        return true;
    }
    bool on_string(std::string_view s, std::size_t, ec_t&) {
        if (rule != nullptr && watching()) {
            text.append(s);
            rule_holds = rule_holds && rule->accept(text);
            text.clear();
        }
        watched_next = watched_next && depth != 1;
        return true;
    }
    bool on_number_part(std::string_view, ec_t&) { return true; }
    bool on_int64(std::int64_t, std::string_view, ec_t&) {
        other_value();
        return true;
    }
    bool on_uint64(std::uint64_t, std::string_view, ec_t&) {
        other_value();
        return true;
    }
    bool on_double(double, std::string_view, ec_t&) {
        other_value();
        return true;
    }
    bool on_bool(bool, ec_t&) {
        other_value();
        return true;
    }
    bool on_null(ec_t&) {
        other_value();
        return true;
    }
    bool on_comment_part(std::string_view, ec_t&) { return true; }
    bool on_comment(std::string_view, ec_t&) { return true; }
};

// First parses of different documents rarely meet; a few locks shared by address keep the document small.
std::mutex& lock_for(const void* p) {
    static std::array<std::mutex, 64> locks;
    return locks[(std::hash<const void*>{}(p) >> 4) % locks.size()];
}

}  // namespace

std::optional<stored_doc> stored_doc::from_text(std::string_view text, const keep_text_if* rule) {
    json::basic_parser<check_handler> p(options());
    p.handler().rule = rule;
    boost::system::error_code ec;
    // As json::parse: the whole text is one document (more=false), nothing but whitespace after it.
    const std::size_t n = p.write_some(false, text.data(), text.size(), ec);
    if (ec || n != text.size() || !p.handler().root_is_object) {
        return std::nullopt;
    }
    std::optional<stored_doc> d(std::in_place);
    if (!p.handler().rule_holds) {
        json::value v = parse_json(text, json::storage_ptr(), options());
        d->obj_ = std::move(v.as_object());
        return d;
    }
    d->text_.assign(text);
    d->parsed_.store(false, std::memory_order_relaxed);
    return d;
}

stored_doc& stored_doc::operator=(const stored_doc& o) {
    if (this != &o) {
        obj_ = o.get();
        std::string().swap(text_);
        parsed_.store(true, std::memory_order_relaxed);
    }
    return *this;
}

stored_doc::stored_doc(stored_doc&& o) noexcept
    : obj_(std::move(o.obj_)), text_(std::move(o.text_)), parsed_(o.parsed_.load(std::memory_order_relaxed)) {
    o.parsed_.store(true, std::memory_order_relaxed);
}

stored_doc& stored_doc::operator=(stored_doc&& o) noexcept {
    if (this != &o) {
        obj_ = std::move(o.obj_);
        text_ = std::move(o.text_);
        parsed_.store(o.parsed_.load(std::memory_order_relaxed), std::memory_order_relaxed);
        o.parsed_.store(true, std::memory_order_relaxed);
    }
    return *this;
}

void stored_doc::parse() const {
    const std::lock_guard lock(lock_for(this));
    if (parsed_.load(std::memory_order_relaxed)) {
        return;  // another thread parsed it while this one waited
    }
    // from_text checked these bytes with the same options: a failure here is a bug (an exception).
    json::value v = parse_json(text_, json::storage_ptr(), options());
    obj_ = std::move(v.as_object());
    std::string().swap(text_);
    parsed_.store(true, std::memory_order_release);
}

}  // namespace modelrelay::registry
