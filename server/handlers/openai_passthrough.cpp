// File: openai_passthrough.cpp
#include "server/handlers/openai_passthrough.hpp"

#include <array>
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

constexpr std::uint16_t flag(std::uint8_t key) {
    return static_cast<std::uint16_t>(1U << key);
}

constexpr std::uint16_t bit(member m) {
    return flag(static_cast<std::uint8_t>(m));
}

// Stops a scan: the answer is left to the tree path.
bool refuse(boost::system::error_code& ec) {
    ec = boost::system::errc::make_error_code(boost::system::errc::not_supported);
    return false;
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

// --- whole chat.completion answers ----------------------------------------------------------------

// What the object or array at one depth is, for chat_completion's rewrite.
enum class frame_kind : std::uint8_t { root, choices, choice, message, usage, other };

// Keys that matter in each kind of object (bit numbers); 0 is any other key.
constexpr std::uint8_t choice_index = 1;
constexpr std::uint8_t choice_message = 2;
constexpr std::uint8_t message_role = 1;
constexpr std::uint8_t usage_prompt = 1;
constexpr std::uint8_t usage_completion = 2;
constexpr std::uint8_t usage_total = 3;

std::uint8_t key_of(frame_kind kind, std::string_view key) {
    switch (kind) {
        case frame_kind::root:
            return static_cast<std::uint8_t>(member_of(key));
        case frame_kind::choice:
            return key == "index" ? choice_index : key == "message" ? choice_message : 0;
        case frame_kind::message:
            return key == "role" ? message_role : 0;
        case frame_kind::usage:
            return key == "prompt_tokens"       ? usage_prompt
                   : key == "completion_tokens" ? usage_completion
                   : key == "total_tokens"      ? usage_total
                                                : 0;
        default:
            return 0;
    }
}

constexpr std::uint16_t completion_required = bit(member::object) | bit(member::id) | bit(member::created) |
                                              bit(member::model) | bit(member::choices) | bit(member::usage);
constexpr std::uint16_t usage_complete = flag(usage_prompt) | flag(usage_completion) | flag(usage_total);

// basic_parser handler for completion_passes_through: follows the root, `choices[]`, each choice's
// `message` and `usage`, and stops the parse (an error code) at the first thing chat_completion would
// change. Depth is bounded by the parse options (32 by default), so frames are a fixed array.
class completion_scanner {
public:
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    bool complete() const { return (good_ & completion_required) == completion_required; }

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }

    bool on_object_begin(boost::system::error_code& ec) {
        if (depth_ == 0) {
            return push(frame_kind::root, ec);
        }
        const frame& parent = top();
        switch (parent.kind) {
            case frame_kind::root:
                if (parent.key == static_cast<std::uint8_t>(member::usage)) {
                    return push(frame_kind::usage, ec);
                }
                return root_value(false, ec) && push(frame_kind::other, ec);
            case frame_kind::choices:
                return push(frame_kind::choice, ec);
            case frame_kind::choice:
                if (parent.key == choice_message) {
                    return push(frame_kind::message, ec);
                }
                return push(frame_kind::other, ec);
            case frame_kind::usage:
                return parent.key == 0 ? push(frame_kind::other, ec) : refuse(ec);
            default:
                return push(frame_kind::other, ec);
        }
    }
    bool on_object_end(std::size_t, boost::system::error_code& ec) {
        const frame done = frames_[--depth_];
        switch (done.kind) {
            case frame_kind::choice:
                // chat_completion adds a missing index and a missing message or role.
                return (done.seen & flag(choice_index)) != 0 && (done.ok & flag(choice_message)) != 0
                           ? true
                           : refuse(ec);
            case frame_kind::message:
                if ((done.seen & flag(message_role)) == 0) {
                    return refuse(ec);
                }
                top().ok = static_cast<std::uint16_t>(top().ok | flag(choice_message));
                return true;
            case frame_kind::usage:
                // complete_usage fills in the counts that are missing.
                if ((done.ok & usage_complete) != usage_complete) {
                    return refuse(ec);
                }
                good_ = static_cast<std::uint16_t>(good_ | bit(member::usage));
                return true;
            default:
                return true;
        }
    }
    bool on_array_begin(boost::system::error_code& ec) {
        if (depth_ == 0) {
            return refuse(ec);
        }
        const frame& parent = top();
        if (parent.kind == frame_kind::root && parent.key == static_cast<std::uint8_t>(member::choices)) {
            good_ = static_cast<std::uint16_t>(good_ | bit(member::choices));
            return push(frame_kind::choices, ec);
        }
        return scalar(ec) && push(frame_kind::other, ec);
    }
    bool on_array_end(std::size_t, boost::system::error_code&) {
        --depth_;
        return true;
    }

    bool on_key_part(json::string_view s, std::size_t, boost::system::error_code&) {
        if (tracked(top().kind)) {
            key_.append(s.data(), s.size());
        }
        return true;
    }
    bool on_key(json::string_view s, std::size_t, boost::system::error_code& ec) {
        frame& f = top();
        if (!tracked(f.kind)) {
            return true;
        }
        std::string_view key(s.data(), s.size());
        if (!key_.empty()) {
            key_.append(s.data(), s.size());
            key = key_;
        }
        f.key = key_of(f.kind, key);
        key_.clear();
        if (f.key == 0) {
            return true;
        }
        // A repeated key: the tree keeps one of its values.
        if ((f.seen & flag(f.key)) != 0) {
            return refuse(ec);
        }
        f.seen = static_cast<std::uint16_t>(f.seen | flag(f.key));
        return true;
    }

    bool on_string_part(json::string_view s, std::size_t, boost::system::error_code&) {
        if (reading_object_member()) {
            string_.append(s.data(), s.size());
        }
        return true;
    }
    bool on_string(json::string_view s, std::size_t, boost::system::error_code& ec) {
        if (depth_ == 0) {
            return refuse(ec);
        }
        if (reading_object_member()) {
            std::string_view value(s.data(), s.size());
            if (!string_.empty()) {
                string_.append(s.data(), s.size());
                value = string_;
            }
            return root_value(value == "chat.completion", ec);
        }
        const frame& parent = top();
        if (parent.kind == frame_kind::root) {
            const auto m = static_cast<member>(parent.key);
            return root_value(m == member::id || m == member::model, ec);
        }
        return scalar(ec);
    }

    bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_int64(std::int64_t, json::string_view, boost::system::error_code& ec) {
        if (depth_ == 0) {
            return refuse(ec);
        }
        frame& parent = top();
        if (parent.kind == frame_kind::usage && parent.key != 0) {
            parent.ok = static_cast<std::uint16_t>(parent.ok | flag(parent.key));
            return true;
        }
        return number(ec);
    }
    bool on_uint64(std::uint64_t, json::string_view, boost::system::error_code& ec) { return number(ec); }
    bool on_double(double, json::string_view, boost::system::error_code& ec) { return number(ec); }
    bool on_bool(bool, boost::system::error_code& ec) { return scalar(ec); }
    bool on_null(boost::system::error_code& ec) { return scalar(ec); }
    bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_comment(json::string_view, boost::system::error_code&) { return true; }

private:
    struct frame {
        frame_kind kind;
        std::uint8_t key;    // the current key's number in this object (0: not one that matters)
        std::uint16_t seen;  // keys met
        std::uint16_t ok;    // keys whose value passed
    };

    static bool tracked(frame_kind k) { return k != frame_kind::choices && k != frame_kind::other; }
    frame& top() { return frames_[depth_ - 1]; }
    bool push(frame_kind kind, boost::system::error_code& ec) {
        if (depth_ == frames_.size()) {
            return refuse(ec);
        }
        frames_[depth_++] = frame{kind, 0, 0, 0};
        return true;
    }
    bool reading_object_member() {
        return depth_ > 0 && top().kind == frame_kind::root &&
               top().key == static_cast<std::uint8_t>(member::object);
    }
    // A value of a root member (other than choices and usage, handled where they begin).
    bool root_value(bool ok, boost::system::error_code& ec) {
        const auto m = static_cast<member>(top().key);
        if (m == member::other || m == member::error) {
            return true;  // chat_completion does not read these
        }
        if (!ok) {
            return refuse(ec);
        }
        good_ = static_cast<std::uint16_t>(good_ | bit(m));
        return true;
    }
    // Any scalar or non-object container: fine except where a root member or a usage count expects
    // something else (the message of a choice is checked when its object ends).
    bool scalar(boost::system::error_code& ec) {
        if (depth_ == 0) {
            return refuse(ec);
        }
        const frame& parent = top();
        switch (parent.kind) {
            case frame_kind::root:
                return root_value(false, ec);
            case frame_kind::choice:
                return parent.key == choice_message ? refuse(ec) : true;
            case frame_kind::usage:
                return parent.key == 0 ? true : refuse(ec);
            default:
                return true;
        }
    }
    bool number(boost::system::error_code& ec) {
        if (depth_ > 0 && top().kind == frame_kind::root) {
            return root_value(static_cast<member>(top().key) == member::created, ec);
        }
        return scalar(ec);
    }

    std::array<frame, 33> frames_{};
    std::size_t depth_ = 0;
    std::uint16_t good_ = 0;
    std::string key_;     // a key split across parser calls (escapes)
    std::string string_;  // the `object` value, when split
};

}  // namespace

std::string_view trim_json_blanks(std::string_view text) {
    constexpr std::string_view blanks = " \t\r\n";
    const auto first = text.find_first_not_of(blanks);
    if (first == std::string_view::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

bool completion_passes_through(std::string_view text) {
    if (text.find('\n') != std::string_view::npos || text.find('\r') != std::string_view::npos) {
        return false;
    }
    json::basic_parser<completion_scanner> parser(json::parse_options{});
    boost::system::error_code ec;
    const std::size_t n = parser.write_some(false, text.data(), text.size(), ec);
    return !ec && n == text.size() && parser.done() && parser.handler().complete();
}

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
