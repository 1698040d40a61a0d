// File: ml_stream_events.cpp
#include "server/handlers/ml_stream_events.hpp"

#include <array>
#include <cstdint>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "registry/json_parse.hpp"
#include "registry/json_text.hpp"
#include "registry/parameters.hpp"

namespace modelrelay::server::handlers {

namespace json = boost::json;

namespace {

// `$.choices[0]` of an upstream chunk, or null.
const json::object* first_choice(const json::object& chunk) {
    const auto* choices = chunk.if_contains("choices");
    if (choices == nullptr || !choices->is_array() || choices->get_array().empty()) {
        return nullptr;
    }
    return choices->get_array()[0].if_object();
}

// The places in an event that on_openai_event reads: the root object, `choices` and its first element,
// that element's `finish_reason` and `delta`, and the delta's `content` and `tool_calls`, plus the root's
// `error`.
enum class place : std::uint8_t { other, root, error, choices, choice, finish, delta, content, tool_calls };

// basic_parser handler for scan_openai_event. It stops the parse (an error code) as soon as the verdict is
// known to be skip or needs_tree; the scan function tells that apart from invalid JSON by `stopped_`.
class event_scanner {
public:
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    explicit event_scanner(openai_event_scan& out) : out_(out) {}

    std::optional<openai_event_scan::verdict> stopped() const { return stopped_; }

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }

    bool on_object_begin(boost::system::error_code& ec) {
        if (depth_ == 0) {
            return push(place::root, true, ec);
        }
        const place p = next_value();
        if (p == place::error) {
            return stop(openai_event_scan::verdict::needs_tree, ec);
        }
        return push(p == place::choice || p == place::delta ? p : place::other, true, ec);
    }
    bool on_object_end(std::size_t, boost::system::error_code&) {
        --depth_;
        value_done();
        return true;
    }
    bool on_array_begin(boost::system::error_code& ec) {
        if (depth_ == 0) {
            return stop(openai_event_scan::verdict::skip, ec);  // not an object
        }
        const place p = next_value();
        if (p == place::error || p == place::tool_calls) {
            return stop(openai_event_scan::verdict::needs_tree, ec);
        }
        return push(p == place::choices ? p : place::other, false, ec);
    }
    bool on_array_end(std::size_t, boost::system::error_code&) {
        --depth_;
        value_done();
        return true;
    }

    bool on_key_part(json::string_view s, std::size_t n, boost::system::error_code&) {
        collect(key_, s, n);
        return true;
    }
    bool on_key(json::string_view s, std::size_t n, boost::system::error_code& ec) {
        const std::string_view key = n == s.size() ? std::string_view(s) : collect(key_, s, n);
        frame& f = frames_[depth_ - 1];
        f.key = place_of(f.kind, key);
        if (f.key == place::other) {
            return true;
        }
        // A repeated key: the tree keeps one of its values, so the tree decides.
        const auto bit = static_cast<std::uint16_t>(1U << static_cast<unsigned>(f.key));
        if ((f.seen & bit) != 0) {
            return stop(openai_event_scan::verdict::needs_tree, ec);
        }
        f.seen = static_cast<std::uint16_t>(f.seen | bit);
        return true;
    }

    bool on_string_part(json::string_view s, std::size_t n, boost::system::error_code&) {
        if (depth_ > 0 && wanted(next_value())) {
            collect(string_, s, n);
        }
        return true;
    }
    bool on_string(json::string_view s, std::size_t n, boost::system::error_code& ec) {
        if (depth_ == 0) {
            return stop(openai_event_scan::verdict::skip, ec);
        }
        const place p = next_value();
        if (p == place::error) {
            return stop(openai_event_scan::verdict::needs_tree, ec);
        }
        if (wanted(p)) {
            const std::string_view value = n == s.size() ? std::string_view(s) : collect(string_, s, n);
            if (p == place::finish) {
                out_.finish_stop = value == "stop";
            } else {
                out_.content.emplace(value);
            }
        }
        value_done();
        return true;
    }

    bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_int64(std::int64_t, json::string_view, boost::system::error_code& ec) { return scalar(ec); }
    bool on_uint64(std::uint64_t, json::string_view, boost::system::error_code& ec) { return scalar(ec); }
    bool on_double(double, json::string_view, boost::system::error_code& ec) { return scalar(ec); }
    bool on_bool(bool, boost::system::error_code& ec) { return scalar(ec); }
    bool on_null(boost::system::error_code& ec) {
        if (depth_ == 0) {
            return stop(openai_event_scan::verdict::skip, ec);
        }
        value_done();  // a null error is no error
        return true;
    }
    bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_comment(json::string_view, boost::system::error_code&) { return true; }

private:
    // The parse options' depth limit (32 by default) bounds the stack; deeper than this is left to the tree.
    static constexpr std::size_t max_depth = 40;

    struct frame {
        place kind = place::other;
        place key = place::other;  // what the value after the current key is (objects)
        bool object = false;
        std::uint16_t seen = 0;  // the keys of interest met so far (objects)
        std::size_t index = 0;   // the next element's index (arrays)
    };

    static place place_of(place object, std::string_view key) {
        switch (object) {
            case place::root:
                return key == "error" ? place::error : key == "choices" ? place::choices : place::other;
            case place::choice:
                return key == "finish_reason" ? place::finish : key == "delta" ? place::delta : place::other;
            case place::delta:
                return key == "content"      ? place::content
                       : key == "tool_calls" ? place::tool_calls
                                             : place::other;
            default:
                return place::other;
        }
    }

    static bool wanted(place p) { return p == place::finish || p == place::content; }

    // Where the value that starts now sits.
    place next_value() const {
        const frame& f = frames_[depth_ - 1];
        if (f.object) {
            return f.key;
        }
        return f.kind == place::choices && f.index == 0 ? place::choice : place::other;
    }
    void value_done() {
        if (depth_ > 0 && !frames_[depth_ - 1].object) {
            ++frames_[depth_ - 1].index;
        }
    }

    bool push(place kind, bool object, boost::system::error_code& ec) {
        if (depth_ == max_depth) {
            return stop(openai_event_scan::verdict::needs_tree, ec);
        }
        frames_[depth_++] = frame{kind, place::other, object, 0, 0};
        return true;
    }
    bool scalar(boost::system::error_code& ec) {
        if (depth_ == 0) {
            return stop(openai_event_scan::verdict::skip, ec);
        }
        if (next_value() == place::error) {
            return stop(openai_event_scan::verdict::needs_tree, ec);
        }
        value_done();
        return true;
    }
    bool stop(openai_event_scan::verdict v, boost::system::error_code& ec) {
        stopped_ = v;
        ec = boost::system::errc::make_error_code(boost::system::errc::operation_canceled);
        return false;
    }
    // Parts of a key or string arrive with the size so far (`n`): the first part restarts the buffer.
    static std::string_view collect(std::string& into, json::string_view part, std::size_t n) {
        if (n == part.size()) {
            into.assign(part.data(), part.size());
        } else {
            into.append(part.data(), part.size());
        }
        return into;
    }

    openai_event_scan& out_;
    std::optional<openai_event_scan::verdict> stopped_;
    std::size_t depth_ = 0;
    std::array<frame, max_depth> frames_;
    std::string key_;
    std::string string_;
};

}  // namespace

std::string stream_chunk(std::string_view content, bool is_last) {
    // Written directly (one per relayed event): the tree and its serialisation were most of an event's cost.
    constexpr std::string_view head =
        R"(data: {"inference_results":[{"output":[{"name":"response","dataAsMap":{"content":)";
    std::string out;
    out.reserve(head.size() + content.size() + 32);
    out.append(head);
    registry::append_json_string(out, content);
    out.append(is_last ? R"(,"is_last":true}}]}]})" : R"(,"is_last":false}}]}]})");
    out.append("\n\n");
    return out;
}

std::string error_chunk(std::string_view message) {
    return "data: {\"error\": " + json::serialize(json::string(message)) + "}\n\n";
}

openai_event_scan scan_openai_event(std::string_view data) {
    openai_event_scan out;
    // The tree path's parse options (json::parse's defaults), so both accept and refuse the same texts.
    json::basic_parser<event_scanner> parser(json::parse_options{}, out);
    boost::system::error_code ec;
    const std::size_t used = parser.write_some(false, data.data(), data.size(), ec);
    if (const auto stopped = parser.handler().stopped()) {
        out.outcome = *stopped;
        return out;
    }
    if (ec || used != data.size() || !parser.done()) {
        return openai_event_scan{};  // not JSON: skipped
    }
    out.outcome = openai_event_scan::verdict::read;
    return out;
}

relay_step on_openai_event(std::string_view data, std::string& out, tool_call_accumulator* calls) {
    if (data == "[DONE]") {
        return relay_step::done;
    }
    if (calls != nullptr && calls->in_progress) {
        return on_openai_event_tree(data, out, calls);  // the finishing chunk needs the tree
    }
    const auto scan = scan_openai_event(data);
    switch (scan.outcome) {
        case openai_event_scan::verdict::skip:
            return relay_step::more;  // ml-commons skips malformed chunks
        case openai_event_scan::verdict::needs_tree:
            return on_openai_event_tree(data, out, calls);
        case openai_event_scan::verdict::read:
            break;
    }
    if (scan.finish_stop) {
        return relay_step::done;
    }
    if (scan.content && !scan.content->empty()) {
        out += stream_chunk(*scan.content, false);
    }
    return relay_step::more;
}

namespace {

void accumulate_tool_calls(const json::array& deltas, tool_call_accumulator& acc) {
    acc.in_progress = true;
    for (const auto& d : deltas) {
        const auto* call = d.if_object();
        if (call == nullptr) {
            continue;
        }
        if (const auto* id = call->if_contains("id"); id != nullptr && id->is_string()) {
            acc.id = std::string(id->get_string());
        }
        const auto* fn = call->if_contains("function");
        if (fn == nullptr || !fn->is_object()) {
            continue;
        }
        if (const auto* name = fn->get_object().if_contains("name"); name != nullptr && name->is_string()) {
            acc.name = std::string(name->get_string());
        }
        if (const auto* args = fn->get_object().if_contains("arguments");
            args != nullptr && args->is_string()) {
            acc.arguments += args->get_string();
        }
    }
}

// completeToolCall: the joined call as a content chunk, then as the response tensor; the state resets.
void complete_tool_call(tool_call_accumulator& acc, std::string& out) {
    json::object function{{"name", acc.name}, {"arguments", acc.arguments.empty() ? "{}" : acc.arguments}};
    json::object call{{"id", acc.id}, {"type", "function"}, {"function", std::move(function)}};
    json::object message{{"tool_calls", json::array{std::move(call)}}};
    json::object choice{{"message", std::move(message)}, {"finish_reason", "tool_calls"}};
    const json::value response = json::object{{"choices", json::array{std::move(choice)}}};
    const std::string text = registry::to_gson_json(response, true, false, registry::key_order::insertion);
    out += stream_chunk(text, false);
    out += R"(data: {"inference_results":[{"output":[{"name":"response","dataAsMap":)";
    out += text;
    out += "}]}]}\n\n";
    acc = tool_call_accumulator{};
}

}  // namespace

relay_step on_openai_event_tree(std::string_view data, std::string& out, tool_call_accumulator* calls) {
    if (data == "[DONE]") {
        return relay_step::done;
    }
    // The event's tree lives on this stack frame: no heap allocation per event, nothing to free.
    unsigned char scratch[4096];
    json::monotonic_resource arena(scratch, sizeof scratch);
    boost::system::error_code ec;
    const json::value v = registry::parse_json(data, ec, &arena);
    if (ec || !v.is_object()) {
        return relay_step::more;  // ml-commons skips malformed chunks
    }
    const auto& chunk = v.get_object();
    if (const auto* err = chunk.if_contains("error"); err != nullptr && !err->is_null()) {
        std::string message = json::serialize(*err);
        if (err->is_string()) {
            message = std::string(err->get_string());
        } else if (const auto* m = err->is_object() ? err->get_object().if_contains("message") : nullptr;
                   m != nullptr && m->is_string()) {
            message = std::string(m->get_string());
        }
        out += error_chunk("Error from remote service: " + message);
        return relay_step::stop;
    }
    const json::object* choice = first_choice(chunk);
    if (choice == nullptr) {
        return relay_step::more;
    }
    if (const auto* fr = choice->if_contains("finish_reason");
        fr != nullptr && fr->is_string() && fr->get_string() == "stop") {
        return relay_step::done;
    }
    if (const auto* delta = choice->if_contains("delta"); delta != nullptr && delta->is_object()) {
        if (const auto* content = delta->get_object().if_contains("content");
            content != nullptr && content->is_string() && !content->get_string().empty()) {
            out += stream_chunk(content->get_string(), false);
        }
        if (const auto* deltas = delta->get_object().if_contains("tool_calls");
            deltas != nullptr && deltas->is_array()) {
            if (calls != nullptr) {
                accumulate_tool_calls(deltas->get_array(), *calls);
            }
            out += stream_chunk(
                registry::to_gson_json(*deltas, true, false, registry::key_order::insertion), false
            );
        }
    }
    if (const auto* fr = choice->if_contains("finish_reason"); calls != nullptr && calls->in_progress &&
                                                               fr != nullptr && fr->is_string() &&
                                                               fr->get_string() == "tool_calls") {
        complete_tool_call(*calls, out);
    }
    return relay_step::more;
}

relay_step on_openai_completion(std::string_view body, std::string& out) {
    boost::system::error_code ec;
    std::size_t used = 0;
    const json::value v = registry::parse_json(body, ec, {}, {}, &used);
    if (ec) {
        out += error_chunk("Invalid JSON format: " + ec.message() + " at character " + std::to_string(used));
        return relay_step::stop;
    }
    const json::object* choice = v.is_object() ? first_choice(v.get_object()) : nullptr;
    const json::value* message = choice != nullptr ? choice->if_contains("message") : nullptr;
    if (message == nullptr || !message->is_object()) {
        // Not a chat.completion (an error object, another provider's shape): nothing to relay.
        out += error_chunk("Remote service answer is not a server-sent event stream");
        return relay_step::stop;
    }
    {
        const auto& m = message->get_object();
        if (const auto* content = m.if_contains("content");
            content != nullptr && content->is_string() && !content->get_string().empty()) {
            out += stream_chunk(content->get_string(), false);
        }
        if (const auto* calls = m.if_contains("tool_calls"); calls != nullptr && calls->is_array()) {
            out += stream_chunk(
                registry::to_gson_json(*calls, true, false, registry::key_order::insertion), false
            );
        }
    }
    return relay_step::done;
}

}  // namespace modelrelay::server::handlers
