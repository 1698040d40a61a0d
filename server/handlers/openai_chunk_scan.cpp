// File: openai_chunk_scan.cpp
#include "server/handlers/openai_chunk_scan.hpp"

#include <cstdint>
#include <string>

#include <boost/json/basic_parser_impl.hpp>

namespace modelrelay::server::openai {

namespace json = boost::json;

namespace {

// The root members chunk_relay reads or writes.
enum class member : std::uint8_t { other, object, id, created, model, choices, usage, error };

member member_of(std::string_view key) {
    if (key == "object") {
        return member::object;
    }
    if (key == "id") {
        return member::id;
    }
    if (key == "created") {
        return member::created;
    }
    if (key == "model") {
        return member::model;
    }
    if (key == "choices") {
        return member::choices;
    }
    if (key == "usage") {
        return member::usage;
    }
    if (key == "error") {
        return member::error;
    }
    return member::other;
}

constexpr std::uint16_t bit(member m) {
    return static_cast<std::uint16_t>(1U << static_cast<unsigned>(m));
}

// Every member that has to be there, with the right kind of value.
constexpr std::uint16_t required =
    bit(member::object) | bit(member::id) | bit(member::created) | bit(member::model) | bit(member::choices);

// basic_parser handler: follows the root object's members and stops the parse (an error code) as soon as
// one would make the tree path change the chunk.
class chunk_scanner {
public:
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    explicit chunk_scanner(bool null_usage_ok) : null_usage_ok_(null_usage_ok) {}

    std::uint16_t good() const { return good_; }

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }

    bool on_object_begin(boost::system::error_code& ec) {
        if (depth_++ == 0) {
            return true;
        }
        return depth_ != 2 || accept(false, ec);
    }
    bool on_object_end(std::size_t, boost::system::error_code&) {
        --depth_;
        return true;
    }
    bool on_array_begin(boost::system::error_code& ec) {
        if (depth_++ == 0) {
            return refuse(ec);  // not an object
        }
        return depth_ != 2 || accept(current_ == member::choices, ec);
    }
    bool on_array_end(std::size_t, boost::system::error_code&) {
        --depth_;
        return true;
    }

    bool on_key_part(json::string_view s, std::size_t, boost::system::error_code&) {
        if (depth_ == 1) {
            key_.append(s.data(), s.size());
        }
        return true;
    }
    bool on_key(json::string_view s, std::size_t, boost::system::error_code& ec) {
        if (depth_ != 1) {
            return true;
        }
        std::string_view key(s.data(), s.size());
        if (!key_.empty()) {
            key_.append(s.data(), s.size());
            key = key_;
        }
        current_ = member_of(key);
        key_.clear();
        if (current_ == member::other) {
            return true;
        }
        // A repeated member: the tree keeps one of its values.
        if ((seen_ & bit(current_)) != 0) {
            return refuse(ec);
        }
        seen_ = static_cast<std::uint16_t>(seen_ | bit(current_));
        return true;
    }

    bool on_string_part(json::string_view s, std::size_t, boost::system::error_code&) {
        if (depth_ == 1 && current_ == member::object) {
            string_.append(s.data(), s.size());
        }
        return true;
    }
    bool on_string(json::string_view s, std::size_t, boost::system::error_code& ec) {
        if (depth_ == 0) {
            return refuse(ec);
        }
        if (depth_ != 1) {
            return true;
        }
        if (current_ == member::object) {
            std::string_view value(s.data(), s.size());
            if (!string_.empty()) {
                string_.append(s.data(), s.size());
                value = string_;
            }
            return accept(value == "chat.completion.chunk", ec);
        }
        return accept(current_ == member::id || current_ == member::model, ec);
    }

    bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_int64(std::int64_t, json::string_view, boost::system::error_code& ec) { return number(ec); }
    bool on_uint64(std::uint64_t, json::string_view, boost::system::error_code& ec) { return number(ec); }
    bool on_double(double, json::string_view, boost::system::error_code& ec) { return number(ec); }
    bool on_bool(bool, boost::system::error_code& ec) { return scalar(false, ec); }
    bool on_null(boost::system::error_code& ec) {
        return scalar(current_ == member::error || (current_ == member::usage && null_usage_ok_), ec);
    }
    bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_comment(json::string_view, boost::system::error_code&) { return true; }

private:
    static bool refuse(boost::system::error_code& ec) {
        ec = boost::system::errc::make_error_code(boost::system::errc::not_supported);
        return false;
    }

    // A root member's value begins (or is a scalar): members the relay does not read take anything;
    // `ok` says whether this value is one the tree path would keep as it is.
    bool accept(bool ok, boost::system::error_code& ec) {
        if (current_ == member::other) {
            return true;
        }
        if (!ok) {
            return refuse(ec);
        }
        good_ = static_cast<std::uint16_t>(good_ | bit(current_));
        return true;
    }
    bool number(boost::system::error_code& ec) { return scalar(current_ == member::created, ec); }
    bool scalar(bool ok, boost::system::error_code& ec) {
        if (depth_ == 0) {
            return refuse(ec);
        }
        return depth_ != 1 || accept(ok, ec);
    }

    bool null_usage_ok_;
    std::size_t depth_ = 0;
    member current_ = member::other;
    std::uint16_t seen_ = 0;
    std::uint16_t good_ = 0;
    std::string key_;     // a root key split across parser calls (escapes)
    std::string string_;  // the `object` value, when split
};

}  // namespace

bool chunk_passes_through(std::string_view data, bool null_usage_ok) {
    // An event's data may span lines; relayed as it is, a newline would end the client's SSE field.
    if (data.find('\n') != std::string_view::npos || data.find('\r') != std::string_view::npos) {
        return false;
    }
    // The tree path's parse options (the defaults): the same texts are valid for both.
    json::basic_parser<chunk_scanner> parser(json::parse_options{}, null_usage_ok);
    boost::system::error_code ec;
    const std::size_t n = parser.write_some(false, data.data(), data.size(), ec);
    return !ec && n == data.size() && parser.done() && (parser.handler().good() & required) == required;
}

}  // namespace modelrelay::server::openai
