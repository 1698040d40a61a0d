// File: openai_format.cpp
#include "server/handlers/openai_format.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <openssl/evp.h>

#include "registry/json_parse.hpp"
#include "registry/json_text.hpp"
#include "registry/template.hpp"
#include "server/handlers/openai_passthrough.hpp"
#include "server/response.hpp"
#include "server/upstream/client.hpp"

namespace modelrelay::server::openai {

namespace json = boost::json;
using registry::errc;

namespace {

std::string_view type_for(unsigned status) {
    switch (status) {
        case 401:
            return "authentication_error";
        case 403:
            return "permission_error";
        case 404:
            return "not_found_error";
        case 429:
            return "rate_limit_error";
        default:
            return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

std::optional<json::value> parse_or_nullopt(std::string_view text, json::storage_ptr sp = {}) {
    boost::system::error_code ec;
    json::value v = registry::parse_json(text, ec, std::move(sp));
    if (ec) {
        return std::nullopt;
    }
    return v;
}

// Every JSON this front door prints: doubles as OpenAI-compatible servers print them (`0.5`), not
// Boost.JSON's `5E-1` or Java's `1.0E-4`.
std::string text_of(const json::value& v) {
    return registry::compact_json_text(v, registry::number_style::plain);
}

std::optional<std::string> string_or_number(const json::value* v) {
    if (v == nullptr) {
        return std::nullopt;
    }
    if (v->is_string()) {
        return std::string(v->get_string());
    }
    if (v->is_number()) {
        return text_of(*v);
    }
    return std::nullopt;
}

// Reads an OpenAI error object ({"message","type","param","code"}, or a bare string) into `e`.
void read_error_object(const json::value& err, api_error& e) {
    if (err.is_string()) {
        e.message = std::string(err.get_string());
        return;
    }
    if (!err.is_object()) {
        e.message = text_of(err);
        return;
    }
    const auto& o = err.get_object();
    if (auto m = string_or_number(o.if_contains("message"))) {
        e.message = *m;
    } else {
        e.message = text_of(err);
    }
    if (const auto* t = o.if_contains("type"); t != nullptr && t->is_string() && !t->get_string().empty()) {
        e.type = std::string(t->get_string());
    }
    e.param = string_or_number(o.if_contains("param"));
    e.code = string_or_number(o.if_contains("code"));
}

bool is_blank(std::string_view s) {
    return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

std::int64_t int_member(const json::object& o, std::string_view key, std::int64_t def) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || !v->is_number()) {
        return def;
    }
    boost::system::error_code ec;
    const auto n = v->to_number<std::int64_t>(ec);
    return ec ? def : n;
}

std::optional<std::vector<double>> numbers(const json::value& v) {
    const auto* arr = v.if_array();
    if (arr == nullptr) {
        return std::nullopt;
    }
    std::vector<double> out;
    out.reserve(arr->size());
    for (const auto& x : *arr) {
        if (!x.is_number()) {
            return std::nullopt;
        }
        out.push_back(x.to_number<double>());
    }
    return out;
}

// An array of vectors, or a single vector (an array of numbers).
bool add_vectors(const json::value& v, std::vector<std::vector<double>>& out) {
    const auto* arr = v.if_array();
    if (arr == nullptr || arr->empty()) {
        return false;
    }
    if ((*arr)[0].is_number()) {
        auto one = numbers(v);
        if (!one) {
            return false;
        }
        out.push_back(std::move(*one));
        return true;
    }
    for (const auto& item : *arr) {
        auto one = numbers(item);
        if (!one) {
            return false;
        }
        out.push_back(std::move(*one));
    }
    return true;
}

// OpenAI `data:[{"index":i,"embedding":[...] or "<base64>"}]`.
bool add_openai_data(const json::array& data, std::vector<std::vector<double>>& out) {
    std::vector<std::pair<std::int64_t, std::vector<double>>> found;
    for (std::size_t i = 0; i < data.size(); ++i) {
        const auto* item = data[i].if_object();
        if (item == nullptr) {
            return false;
        }
        const auto* emb = item->if_contains("embedding");
        if (emb == nullptr) {
            return false;
        }
        std::optional<std::vector<double>> vec =
            emb->is_string() ? decode_base64_float32(emb->get_string()) : numbers(*emb);
        if (!vec) {
            return false;
        }
        found.emplace_back(int_member(*item, "index", static_cast<std::int64_t>(i)), std::move(*vec));
    }
    std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
        return a.first < b.first;
    });
    for (auto& [index, vec] : found) {
        out.push_back(std::move(vec));
    }
    return !found.empty();
}

bool add_from_map(const json::object& m, std::vector<std::vector<double>>& out) {
    if (const auto* data = m.if_contains("data"); data != nullptr && data->is_array()) {
        return add_openai_data(data->get_array(), out);
    }
    if (const auto* e = m.if_contains("embeddings")) {
        if (const auto* o = e->if_object()) {
            const auto* f = o->if_contains("float");
            return f != nullptr && add_vectors(*f, out);
        }
        return add_vectors(*e, out);
    }
    if (const auto* e = m.if_contains("embedding")) {
        return add_vectors(*e, out);
    }
    if (const auto* r = m.if_contains("response")) {
        return add_vectors(*r, out);
    }
    return false;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Errors

api_error from_error(const registry::error& e) {
    api_error out;
    out.message = e.reason;
    out.status = to_status(e);
    if (e.code == errc::upstream_status && out.status >= 500) {
        out.status = 502;  // transport failures and upstream 5xx: a bad gateway, not our own fault
    }
    out.type = std::string(type_for(out.status));
    if (out.status == 429) {
        out.code = "rate_limit_exceeded";
    }
    return out;
}

api_error from_broken_answer(const registry::error& e) {
    api_error out;
    out.message = e.reason;
    out.status = 502;
    out.type = std::string(type_for(out.status));
    return out;
}

api_error from_upstream(unsigned status, std::string_view body) {
    api_error out;
    // An upstream 5xx, and an answer that is neither a success nor a client error (a redirect nobody
    // follows, a 1xx), is the gateway's failure: 502, which the SDKs raise as InternalServerError.
    out.status = status >= 500 || status < 400 ? 502 : status;
    out.type = std::string(type_for(out.status));
    if (is_blank(body)) {
        out.message = "Remote service returned error status " + std::to_string(status) + " with empty body";
    } else {
        out.message = "Error from remote service: " + std::string(body);
        if (auto v = parse_or_nullopt(body); v && v->is_object()) {
            if (const auto* err = v->get_object().if_contains("error"); err != nullptr && !err->is_null()) {
                read_error_object(*err, out);
            }
        }
    }
    if (out.status == 429 && !out.code) {
        out.code = "rate_limit_exceeded";
    }
    return out;
}

json::object error_body(const api_error& e) {
    json::object err;
    err["message"] = e.message;
    err["type"] = e.type;
    err["param"] = e.param ? json::value(*e.param) : json::value(nullptr);
    err["code"] = e.code ? json::value(*e.code) : json::value(nullptr);
    return json::object{{"error", std::move(err)}};
}

std::string error_frame(const api_error& e) {
    return sse_data_frame(text_of(error_body(e)));
}

// ---------------------------------------------------------------------------------------------------
// Chat completions

json::object complete_usage(const json::value* usage, json::storage_ptr sp) {
    json::object out(std::move(sp));
    if (usage != nullptr && usage->is_object()) {
        out = usage->get_object();
    }
    const auto prompt = int_member(out, "prompt_tokens", 0);
    const auto completion = int_member(out, "completion_tokens", 0);
    const auto total = int_member(out, "total_tokens", prompt + completion);
    out["prompt_tokens"] = prompt;
    out["completion_tokens"] = completion;
    out["total_tokens"] = total;
    return out;
}

std::optional<json::object> chat_usage_of(std::string_view answer) {
    constexpr std::string_view keys[] = {
        "\"usage\"", "\"prompt_eval_count\"", "\"eval_count\"", "\"billed_units\"", "\"usageMetadata\""};
    if (std::none_of(std::begin(keys), std::end(keys), [&](std::string_view k) {
            return answer.find(k) != std::string_view::npos;
        })) {
        return std::nullopt;
    }
    const auto v = parse_or_nullopt(answer);
    const auto* obj = v ? v->if_object() : nullptr;
    if (obj == nullptr) {
        return std::nullopt;
    }
    const auto count = [](const json::object& o, std::string_view key) -> std::optional<std::int64_t> {
        const auto* n = o.if_contains(key);
        if (n == nullptr || !n->is_number()) {
            return std::nullopt;
        }
        return int_member(o, key, 0);
    };
    const auto usage = [](std::optional<std::int64_t> p,
                          std::optional<std::int64_t> c,
                          std::optional<std::int64_t> t) -> std::optional<json::object> {
        if (!p && !c && !t) {
            return std::nullopt;
        }
        const auto prompt = p.value_or(0);
        const auto completion = c.value_or(0);
        return json::object{
            {"prompt_tokens", prompt},
            {"completion_tokens", completion},
            {"total_tokens", t.value_or(prompt + completion)}};
    };
    const auto object_at = [](const json::object& o, std::string_view key) -> const json::object* {
        const auto* m = o.if_contains(key);
        return m != nullptr ? m->if_object() : nullptr;
    };
    if (const auto* u = object_at(*obj, "usage")) {
        // OpenAI and its imitators; Anthropic (input_tokens / output_tokens); Bedrock Converse
        // (inputTokens / outputTokens / totalTokens).
        if (auto r = usage(
                count(*u, "prompt_tokens"), count(*u, "completion_tokens"), count(*u, "total_tokens")
            )) {
            return r;
        }
        if (auto r = usage(count(*u, "input_tokens"), count(*u, "output_tokens"), std::nullopt)) {
            return r;
        }
        if (auto r = usage(count(*u, "inputTokens"), count(*u, "outputTokens"), count(*u, "totalTokens"))) {
            return r;
        }
    }
    // Ollama's native /api/chat and /api/generate.
    if (auto r = usage(count(*obj, "prompt_eval_count"), count(*obj, "eval_count"), std::nullopt)) {
        return r;
    }
    // Cohere chat: meta.billed_units.
    if (const auto* meta = object_at(*obj, "meta")) {
        if (const auto* billed = object_at(*meta, "billed_units")) {
            if (auto r =
                    usage(count(*billed, "input_tokens"), count(*billed, "output_tokens"), std::nullopt)) {
                return r;
            }
        }
    }
    // Gemini: usageMetadata.
    if (const auto* meta = object_at(*obj, "usageMetadata")) {
        return usage(
            count(*meta, "promptTokenCount"),
            count(*meta, "candidatesTokenCount"),
            count(*meta, "totalTokenCount")
        );
    }
    return std::nullopt;
}

json::object chat_completion(json::value upstream, const reply_defaults& d, std::string_view raw_answer) {
    // Counts the shaped answer no longer has (a response_filter kept only the text) or never had in
    // OpenAI's names come from the upstream's own answer.
    const auto raw_usage = [&](json::storage_ptr sp) {
        auto found = chat_usage_of(raw_answer);
        return found ? json::object(std::move(*found), std::move(sp))
                     : complete_usage(nullptr, std::move(sp));
    };
    const json::object* obj = upstream.if_object();
    if (obj != nullptr) {
        if (const auto* choices = obj->if_contains("choices"); choices != nullptr && choices->is_array()) {
            json::object out = std::move(upstream.get_object());
            out["object"] = "chat.completion";
            if (!out["id"].is_string()) {
                out["id"] = d.id;
            }
            if (!out["created"].is_number()) {
                out["created"] = d.created;
            }
            if (!out["model"].is_string()) {
                out["model"] = d.model;
            }
            auto& list = out["choices"].get_array();
            for (std::size_t i = 0; i < list.size(); ++i) {
                auto* choice = list[i].if_object();
                if (choice == nullptr) {
                    continue;
                }
                if (!choice->contains("index")) {
                    (*choice)["index"] = i;
                }
                auto& message = (*choice)["message"];
                if (!message.is_object()) {
                    message = json::object{{"role", "assistant"}, {"content", nullptr}};
                } else if (!message.get_object().contains("role")) {
                    message.get_object()["role"] = "assistant";
                }
            }
            const auto* given = out.if_contains("usage");
            auto usage = given != nullptr && given->is_object() ? complete_usage(given, out.storage())
                                                                : raw_usage(out.storage());
            out["usage"] = std::move(usage);
            return out;
        }
    }
    std::string text;
    if (upstream.is_string()) {
        text = std::string(upstream.get_string());
    } else if (obj != nullptr && obj->if_contains("response") != nullptr && obj->at("response").is_string()) {
        text = std::string(obj->at("response").get_string());
    } else if (const auto* msg = obj != nullptr ? obj->if_contains("message") : nullptr;
               msg != nullptr && msg->is_object() && msg->get_object().if_contains("content") != nullptr &&
               msg->get_object().at("content").is_string()) {
        text = std::string(msg->get_object().at("content").get_string());
    } else {
        text = text_of(upstream);
    }
    json::object message{{"role", "assistant"}, {"content", std::move(text)}};
    json::object choice{{"index", 0}, {"message", std::move(message)}, {"finish_reason", "stop"}};
    return json::object{
        {"id", d.id},
        {"object", "chat.completion"},
        {"created", d.created},
        {"model", d.model},
        {"choices", json::array{std::move(choice)}},
        {"usage", raw_usage({})}};
}

// ---------------------------------------------------------------------------------------------------
// Request members an OpenAI chat upstream gets as the client sent them

namespace {

// The URL's path without query, fragment and one trailing `/`.
std::string_view path_of(std::string_view url) {
    std::string_view path = url.substr(0, url.find_first_of("?#"));
    if (const auto scheme = path.find("://"); scheme != std::string_view::npos) {
        const auto slash = path.find('/', scheme + 3);
        path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
    }
    if (path.ends_with('/')) {
        path.remove_suffix(1);
    }
    return path;
}

}  // namespace

bool speaks_openai_chat(std::string_view url, const std::string* llm_interface) {
    if (llm_interface != nullptr && registry::names_openai_chat_interface(*llm_interface)) {
        return true;
    }
    return path_of(url).ends_with("/chat/completions");
}

bool speaks_openai_embeddings(std::string_view url) {
    return path_of(url).ends_with("/embeddings");
}

bool references_parameter(std::string_view text, std::string_view name) {
    constexpr std::string_view prefix = registry::parameters_prefix;
    for (auto at = text.find(prefix); at != std::string_view::npos; at = text.find(prefix, at + 1)) {
        auto rest = text.substr(at + prefix.size());
        if (!rest.starts_with(name)) {
            continue;
        }
        rest.remove_prefix(name.size());
        if (rest.starts_with('}') || rest.starts_with(":-") || rest.starts_with(".toString()}")) {
            return true;
        }
    }
    return false;
}

namespace {

// Members the door reads or sets itself (`prompt` became `messages`; `stream` and `_llm_interface` are
// the stream path's own parameters), never sent as they are.
constexpr std::array<std::string_view, 5> door_members{
    "model", "stream", "stream_options", "prompt", "_llm_interface"};
// Legacy completion members a chat request has no place for (`logprobs` is a count there, a boolean in
// chat): an OpenAI chat upstream would refuse the whole request for them.
constexpr std::array<std::string_view, 4> legacy_only_members{"echo", "suffix", "best_of", "logprobs"};
constexpr std::array<std::string_view, 2> embedding_members{"dimensions", "user"};

bool one_of(std::string_view name, const auto& names) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

bool connector_references(const chat_upstream& up, std::string_view name) {
    if (references_parameter(up.request_template, name)) {
        return true;
    }
    if (up.connector_parameters != nullptr) {
        for (const auto& [key, value] : *up.connector_parameters) {
            if (references_parameter(value, name)) {
                return true;
            }
        }
    }
    return false;
}

}  // namespace

bool add_request_members(
    std::string& body, const json::object& request, const chat_upstream& up, chat_door door
) {
    // Candidates first: they cost a few substring searches, and most requests have none.
    std::vector<const json::key_value_pair*> candidates;
    for (const auto& kv : request) {
        const std::string_view name = kv.key();
        if (kv.value().is_null() || one_of(name, door_members) ||
            (door == chat_door::legacy_completions && one_of(name, legacy_only_members)) ||
            (door == chat_door::embeddings && !one_of(name, embedding_members)) ||
            connector_references(up, name)) {
            continue;
        }
        candidates.push_back(&kv);
    }
    if (candidates.empty() ||
        !(door == chat_door::embeddings ? speaks_openai_embeddings(up.url)
                                        : speaks_openai_chat(up.url, up.llm_interface))) {
        return false;
    }
    // Only the top-level names are needed; the tree lives for this call.
    json::monotonic_resource arena;
    boost::system::error_code ec;
    const json::value parsed = registry::parse_json(body, ec, &arena);
    const auto close = body.find_last_not_of(" \t\r\n");
    if (ec || !parsed.is_object() || close == std::string::npos || body[close] != '}') {
        return false;
    }
    const auto& top = parsed.get_object();
    std::string added;
    for (const auto* kv : candidates) {
        if (top.contains(kv->key())) {
            continue;  // the connector's template has the last word
        }
        if (!added.empty() || !top.empty()) {
            added.push_back(',');
        }
        registry::append_json_string(added, kv->key());
        added.push_back(':');
        registry::append_compact_json(added, kv->value(), registry::number_style::plain);
    }
    if (added.empty()) {
        return false;
    }
    // Right after the last member (or the `{`), so the template's own spacing before `}` stays at the end.
    body.insert(body.find_last_not_of(" \t\r\n", close - 1) + 1, added);
    return true;
}

// ---------------------------------------------------------------------------------------------------
// Legacy completions

std::string legacy_completion_id(std::string_view chat_id) {
    constexpr std::string_view chat_prefix = "chatcmpl-";
    if (chat_id.starts_with(chat_prefix)) {
        return "cmpl-" + std::string(chat_id.substr(chat_prefix.size()));
    }
    return std::string(chat_id);
}

namespace {

json::object text_choice(const json::object& choice, std::size_t i, std::string_view from) {
    std::string text;
    if (const auto* t = choice.if_contains("text"); t != nullptr && t->is_string()) {
        text = std::string(t->get_string());
    } else if (const auto* m = choice.if_contains(from); m != nullptr && m->is_object()) {
        if (const auto* c = m->get_object().if_contains("content"); c != nullptr && c->is_string()) {
            text = std::string(c->get_string());
        }
    }
    const auto* index = choice.if_contains("index");
    const auto* logprobs = choice.if_contains("logprobs");
    const auto* finish = choice.if_contains("finish_reason");
    return json::object{
        {"text", std::move(text)},
        {"index", index != nullptr ? *index : json::value(i)},
        {"logprobs", logprobs != nullptr ? *logprobs : json::value(nullptr)},
        {"finish_reason", finish != nullptr ? *finish : json::value(nullptr)}};
}

// The choices of a chat answer (`message`) or chunk (`delta`) as text choices.
json::array text_choices(const json::value* choices, std::string_view from) {
    json::array out;
    if (choices == nullptr || !choices->is_array()) {
        return out;
    }
    const auto& list = choices->get_array();
    for (std::size_t i = 0; i < list.size(); ++i) {
        if (const auto* c = list[i].if_object()) {
            out.emplace_back(text_choice(*c, i, from));
        }
    }
    return out;
}

}  // namespace

json::object text_completion(json::value upstream, const reply_defaults& d, std::string_view raw_answer) {
    json::object chat = chat_completion(std::move(upstream), d, raw_answer);
    json::object out;
    out["id"] =
        chat["id"].is_string() ? json::value(legacy_completion_id(chat["id"].get_string())) : chat["id"];
    out["object"] = "text_completion";
    out["created"] = chat["created"];
    out["model"] = chat["model"];
    out["choices"] = text_choices(chat.if_contains("choices"), "message");
    out["usage"] = chat["usage"];
    return out;
}

std::string text_completion_frames(std::string_view chat_frames) {
    std::string out;
    while (!chat_frames.empty()) {
        const auto end = chat_frames.find("\n\n");
        const auto frame = chat_frames.substr(0, end);
        chat_frames = end == std::string_view::npos ? std::string_view() : chat_frames.substr(end + 2);
        constexpr std::string_view prefix = "data: ";
        if (!frame.starts_with(prefix)) {
            continue;
        }
        const auto data = frame.substr(prefix.size());
        auto chunk = parse_or_nullopt(data);
        if (!chunk || !chunk->is_object() || chunk->get_object().contains("error")) {
            out.append(frame).append("\n\n");  // [DONE] and error frames
            continue;
        }
        const auto& c = chunk->get_object();
        json::array choices = text_choices(c.if_contains("choices"), "delta");
        const auto* usage = c.if_contains("usage");
        const bool has_usage = usage != nullptr && usage->is_object();
        const bool says_something = std::any_of(choices.begin(), choices.end(), [](const json::value& ch) {
            return !ch.at("text").get_string().empty() || !ch.at("finish_reason").is_null();
        });
        if (!says_something && !has_usage) {
            continue;
        }
        json::object t;
        for (const auto* key : {"id", "object", "created", "model"}) {
            if (const auto* v = c.if_contains(key)) {
                t[key] = *v;
            }
        }
        if (const auto* id = t.if_contains("id"); id != nullptr && id->is_string()) {
            t["id"] = legacy_completion_id(id->get_string());
        }
        t["object"] = "text_completion";
        t["choices"] = std::move(choices);
        if (has_usage) {
            t["usage"] = *usage;
        }
        out.append(sse_data_frame(text_of(t)));
    }
    return out;
}

void chunk_relay::add_defaults(json::object& chunk) const {
    chunk["object"] = "chat.completion.chunk";
    if (!chunk["id"].is_string()) {
        chunk["id"] = d_.id;
    }
    if (!chunk["created"].is_number()) {
        chunk["created"] = d_.created;
    }
    if (!chunk["model"].is_string()) {
        chunk["model"] = d_.model;
    }
}

namespace {

// An event's data without trailing blanks; `[DONE]` ends the relay.
std::optional<std::string_view> event_payload(std::string_view data) {
    while (!data.empty() && (data.back() == ' ' || data.back() == '\r' || data.back() == '\n')) {
        data.remove_suffix(1);
    }
    if (data == "[DONE]") {
        return std::nullopt;
    }
    return data;
}

}  // namespace

relay_step chunk_relay::on_event(std::string_view data, std::string& out) {
    const auto payload = event_payload(data);
    if (!payload) {
        return relay_step::done;
    }
    if (chunk_passes_through(*payload, include_usage_)) {
        out.append("data: ").append(*payload).append("\n\n");  // one line: what sse_data_frame would write
        if (include_usage_ && !saw_usage_) {
            last_chunk_.assign(*payload);  // reuses the capacity: no allocation after the first
        }
        return relay_step::more;
    }
    return relay_tree(*payload, out);
}

relay_step chunk_relay::on_event_tree(std::string_view data, std::string& out) {
    const auto payload = event_payload(data);
    return payload ? relay_tree(*payload, out) : relay_step::done;
}

relay_step chunk_relay::relay_tree(std::string_view data, std::string& out) {
    // Each event's tree lives on this stack frame: no heap allocation per event, nothing to free.
    unsigned char scratch[4096];
    json::monotonic_resource arena(scratch, sizeof scratch);
    auto parsed = parse_or_nullopt(data, &arena);
    if (!parsed || !parsed->is_object()) {
        return relay_step::more;
    }
    auto& chunk = parsed->get_object();
    if (const auto* err = chunk.if_contains("error"); err != nullptr && !err->is_null()) {
        api_error e;
        e.status = 502;
        read_error_object(*err, e);
        out += error_frame(e);
        return relay_step::stop;
    }
    const auto* choices = chunk.if_contains("choices");
    const bool has_choices = choices != nullptr && choices->is_array();
    const auto* usage = chunk.if_contains("usage");
    const bool has_usage = usage != nullptr && usage->is_object();
    if (!has_choices && !has_usage) {
        return relay_step::more;
    }
    const bool had_usage_member = usage != nullptr;
    if (has_usage && include_usage_) {
        saw_usage_ = true;
        chunk["usage"] = complete_usage(usage);
    }
    if (!has_choices) {
        chunk["choices"] = json::array{};  // may move the members: `usage` is not used below
    }
    if (!include_usage_ && had_usage_member) {
        chunk.stable_erase("usage");
        if (chunk["choices"].get_array().empty()) {
            return relay_step::more;
        }
    }
    add_defaults(chunk);
    const auto text = text_of(chunk);
    if (include_usage_ && !saw_usage_) {
        last_chunk_.assign(text);
    }
    out += sse_data_frame(text);
    return relay_step::more;
}

void chunk_relay::on_finish(std::string& out) {
    if (include_usage_ && !saw_usage_) {
        json::object chunk{{"choices", json::array{}}, {"usage", complete_usage(nullptr)}};
        if (auto last = parse_or_nullopt(last_chunk_); last && last->is_object()) {
            for (const char* k : {"id", "created", "model"}) {
                if (const auto* v = last->get_object().if_contains(k)) {
                    chunk[k] = *v;
                }
            }
        }
        add_defaults(chunk);
        out += sse_data_frame(text_of(chunk));
        saw_usage_ = true;
    }
    out += "data: [DONE]\n\n";
}

relay_step chunk_relay::on_completion(std::string_view body, std::string& out) {
    boost::system::error_code ec;
    std::size_t used = 0;
    json::value parsed = registry::parse_json(body, ec, {}, {}, &used);
    if (ec) {
        // A 2xx JSON answer that does not parse is the non-stream path's 502 too: an error frame, not a
        // completion whose text is the broken JSON.
        out += error_frame(from_broken_answer(registry::illegal_argument(
            "Invalid JSON format: " + ec.message() + " at character " + std::to_string(used)
        )));
        return relay_step::stop;
    }
    const json::object completion = chat_completion(std::move(parsed), d_, body);
    json::array choices;
    for (const auto& c : completion.at("choices").get_array()) {
        const auto* choice = c.if_object();
        if (choice == nullptr) {
            continue;
        }
        json::object delta;
        if (const auto* m = choice->if_contains("message"); m != nullptr && m->is_object()) {
            for (const auto& kv : m->get_object()) {
                if (kv.key() == "tool_calls" && kv.value().is_array()) {
                    json::array calls = kv.value().get_array();
                    for (std::size_t i = 0; i < calls.size(); ++i) {
                        if (auto* call = calls[i].if_object(); call != nullptr && !call->contains("index")) {
                            (*call)["index"] = i;
                        }
                    }
                    delta["tool_calls"] = std::move(calls);
                } else {
                    delta[kv.key()] = kv.value();
                }
            }
        }
        json::object item{{"index", choice->contains("index") ? choice->at("index") : json::value(0)}};
        item["delta"] = std::move(delta);
        item["finish_reason"] =
            choice->contains("finish_reason") ? choice->at("finish_reason") : json::value("stop");
        choices.push_back(std::move(item));
    }
    json::object chunk{
        {"id", completion.at("id")},
        {"object", "chat.completion.chunk"},
        {"created", completion.at("created")},
        {"model", completion.at("model")},
        {"choices", std::move(choices)}};
    out += sse_data_frame(text_of(chunk));
    if (include_usage_) {
        json::object usage_chunk{
            {"id", completion.at("id")},
            {"object", "chat.completion.chunk"},
            {"created", completion.at("created")},
            {"model", completion.at("model")},
            {"choices", json::array{}},
            {"usage", completion.at("usage")}};
        out += sse_data_frame(text_of(usage_chunk));
        saw_usage_ = true;
    }
    return relay_step::done;
}

// ---------------------------------------------------------------------------------------------------
// Embeddings

registry::result<embedding_batch> embeddings_of(const json::object& element) {
    embedding_batch batch;
    const auto* output = element.if_contains("output");
    bool ok = output != nullptr && output->is_array() && !output->get_array().empty();
    if (ok) {
        for (const auto& t : output->get_array()) {
            const auto* tensor = t.if_object();
            if (tensor == nullptr) {
                ok = false;
                break;
            }
            if (const auto* data = tensor->if_contains("data"); data != nullptr && data->is_array()) {
                auto vec = numbers(*data);
                if (!vec) {
                    ok = false;
                    break;
                }
                batch.vectors.push_back(std::move(*vec));
                continue;
            }
            const auto* map = tensor->if_contains("dataAsMap");
            if (map == nullptr || !map->is_object() || !add_from_map(map->get_object(), batch.vectors)) {
                ok = false;
                break;
            }
            if (const auto* u = map->get_object().if_contains("usage"); u != nullptr && u->is_object()) {
                batch.prompt_tokens += int_member(u->get_object(), "prompt_tokens", 0);
                batch.total_tokens += int_member(
                    u->get_object(), "total_tokens", int_member(u->get_object(), "prompt_tokens", 0)
                );
            }
        }
    }
    if (!ok || batch.vectors.empty()) {
        return registry::error{errc::bad_gateway, "The model's answer contains no embeddings"};
    }
    return batch;
}

namespace {

// Where each vector of an OpenAI embeddings answer belongs (see raw_embedding_facts).
std::vector<std::size_t> order_in(const json::object& obj) {
    const auto* data = obj.if_contains("data");
    if (data == nullptr || !data->is_array()) {
        return {};
    }
    const auto& items = data->get_array();
    std::vector<std::size_t> order;
    std::vector<bool> seen(items.size(), false);
    order.reserve(items.size());
    for (const auto& item : items) {
        const auto* o = item.if_object();
        const auto* index = o != nullptr ? o->if_contains("index") : nullptr;
        if (index == nullptr || !(index->is_int64() || index->is_uint64())) {
            return {};
        }
        const auto i =
            index->is_int64() ? index->get_int64() : static_cast<std::int64_t>(index->get_uint64());
        if (i < 0 || static_cast<std::size_t>(i) >= items.size() || seen[static_cast<std::size_t>(i)]) {
            return {};
        }
        seen[static_cast<std::size_t>(i)] = true;
        order.push_back(static_cast<std::size_t>(i));
    }
    return order;
}

std::optional<embedding_usage> usage_in(const json::object& obj) {
    const auto count_of = [](const json::object& o, std::string_view key) -> std::optional<std::int64_t> {
        const auto* n = o.if_contains(key);
        if (n == nullptr || !n->is_number()) {
            return std::nullopt;
        }
        return int_member(o, key, 0);
    };
    // OpenAI, vLLM, llama.cpp, Ollama's /v1, Mistral: usage.prompt_tokens / total_tokens.
    if (const auto* usage = obj.if_contains("usage"); usage != nullptr && usage->is_object()) {
        const auto& u = usage->get_object();
        const auto prompt = count_of(u, "prompt_tokens");
        const auto total = count_of(u, "total_tokens");
        if (prompt || total) {
            return embedding_usage{prompt.value_or(0), total.value_or(prompt.value_or(0))};
        }
    }
    // Cohere embed (v1 and v2): meta.billed_units.input_tokens.
    if (const auto* meta = obj.if_contains("meta"); meta != nullptr && meta->is_object()) {
        if (const auto* billed = meta->get_object().if_contains("billed_units");
            billed != nullptr && billed->is_object()) {
            if (const auto n = count_of(billed->get_object(), "input_tokens")) {
                return embedding_usage{*n, *n};
            }
        }
    }
    // Bedrock Titan embeddings: inputTextTokenCount; Ollama's /api/embed: prompt_eval_count.
    for (const std::string_view key :
         {std::string_view{"inputTextTokenCount"}, std::string_view{"prompt_eval_count"}}) {
        if (const auto n = count_of(obj, key)) {
            return embedding_usage{*n, *n};
        }
    }
    return std::nullopt;
}

}  // namespace

raw_embedding_facts raw_embedding_facts_of(std::string_view answer) {
    // Answers are mostly floats: no tree unless a count or an index may be there, and that one in an
    // arena, parsed once for both.
    constexpr std::string_view keys[] = {
        "\"usage\"", "\"billed_units\"", "\"inputTextTokenCount\"", "\"prompt_eval_count\"", "\"index\""};
    if (std::none_of(std::begin(keys), std::end(keys), [&](std::string_view k) {
            return answer.find(k) != std::string_view::npos;
        })) {
        return {};
    }
    json::monotonic_resource arena;
    const auto v = parse_or_nullopt(answer, &arena);
    const auto* obj = v ? v->if_object() : nullptr;
    if (obj == nullptr) {
        return {};
    }
    return raw_embedding_facts{usage_in(*obj), order_in(*obj)};
}

std::optional<embedding_usage> embedding_usage_of(std::string_view answer) {
    return raw_embedding_facts_of(answer).usage;
}

std::string base64_float32(const std::vector<double>& v) {
    std::string bytes;
    bytes.reserve(v.size() * 4);
    for (double d : v) {
        const auto bits = std::bit_cast<std::uint32_t>(static_cast<float>(d));
        for (int i = 0; i < 4; ++i) {
            bytes.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
        }
    }
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(
        reinterpret_cast<unsigned char*>(out.data()),
        reinterpret_cast<const unsigned char*>(bytes.data()),
        static_cast<int>(bytes.size())
    );
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::optional<std::vector<double>> decode_base64_float32(std::string_view b64) {
    if (b64.size() % 4 != 0) {
        return std::nullopt;
    }
    std::string bytes(b64.size() / 4 * 3 + 1, '\0');
    const int n = EVP_DecodeBlock(
        reinterpret_cast<unsigned char*>(bytes.data()),
        reinterpret_cast<const unsigned char*>(b64.data()),
        static_cast<int>(b64.size())
    );
    if (n < 0) {
        return std::nullopt;
    }
    std::size_t len = static_cast<std::size_t>(n);
    for (auto it = b64.rbegin(); it != b64.rend() && *it == '=' && len > 0; ++it) {
        --len;  // EVP_DecodeBlock counts the padding as zero bytes
    }
    if (len % 4 != 0) {
        return std::nullopt;
    }
    std::vector<double> out;
    out.reserve(len / 4);
    for (std::size_t i = 0; i < len; i += 4) {
        std::uint32_t bits = 0;
        for (int b = 0; b < 4; ++b) {
            bits |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + b])) << (8 * b);
        }
        out.push_back(static_cast<double>(std::bit_cast<float>(bits)));
    }
    return out;
}

}  // namespace modelrelay::server::openai
