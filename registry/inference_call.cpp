// File: inference_call.cpp
// Request planning and response shaping for `_inference` calls on `openai` endpoints, mirroring what
// Elasticsearch's OpenAI request entities send and its response entities / streaming processors emit.
#include "registry/inference_call.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

#include <boost/json/parse.hpp>

#include "registry/ascii.hpp"
#include "registry/crypto.hpp"
#include "registry/json_parse.hpp"
#include "registry/json_text.hpp"
#include "registry/json_util.hpp"
#include "registry/parameters.hpp"

namespace modelrelay::registry::inference {

namespace json = boost::json;

namespace {

// Compact JSON as Jackson writes it (Elasticsearch's side of every body): doubles like Java's
// Double.toString (`0.7`, not Boost.JSON's `7E-1`).
std::string json_text(const json::value& v) {
    std::string out;
    out.reserve(256);
    append_compact_json(out, v);
    return out;
}

constexpr std::string_view infer_parser = "cluster:internal/xpack/inference";
constexpr std::string_view chat_parser = "chat_completion_request";

// `[line:column]` of the first `"key"` token in `raw` (Jackson's location of the field name).
std::string position_of(std::string_view raw, std::string_view key) {
    std::string needle(1, '"');
    needle.append(key).push_back('"');
    auto at = raw.find(needle);
    if (at == std::string_view::npos) {
        at = 0;
    }
    std::size_t line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < at; ++i) {
        if (raw[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    std::string out(1, '[');
    out.append(std::to_string(line)).append(":").append(std::to_string(at - line_start + 1)).append("]");
    return out;
}

error parse_error(
    std::string_view raw, std::string_view key, std::string_view parser, std::string_view what
) {
    // Built with append: gcc 12 warns falsely (-Wstringop-overflow) on chained `+`.
    std::string msg = position_of(raw, key);
    msg.append(" [").append(parser).append("] ").append(what);
    return {errc::x_content_parse, std::move(msg)};
}

json::object merged_task_settings(const json::object& doc, const json::object& request) {
    json::object out = task_settings_of(doc);
    for (const auto& kv : request) {
        out[kv.key()] = kv.value();
    }
    return out;
}

void add_headers(
    upstream_call& call, const json::object& doc, std::string_view api_key, const json::object& ts
) {
    call.headers.emplace_back("Content-Type", "application/json");
    call.headers.emplace_back("Authorization", "Bearer " + std::string(api_key));
    const std::string_view secret[] = {api_key};
    call.secrets = make_secret_list(secret);
    if (auto org = string_field(service_settings_of(doc), "organization_id")) {
        call.headers.emplace_back("OpenAI-Organization", *org);
    }
    if (const auto* h = ts.if_contains("headers"); h != nullptr && h->is_object()) {
        for (const auto& kv : h->get_object()) {
            if (kv.value().is_string()) {
                call.headers.emplace_back(std::string(kv.key()), std::string(kv.value().get_string()));
            }
        }
    }
}

std::string url_or(const json::object& doc, std::string_view def) {
    return string_field(service_settings_of(doc), "url").value_or(std::string(def));
}

// The tail Elasticsearch's unified request entity appends after the optional OpenAI fields.
void finish_chat_body(json::object& body, const std::string& model, bool stream, const json::object& ts) {
    body["model"] = model;
    body["n"] = 1;
    body["stream"] = stream;
    if (stream) {
        body["stream_options"] = json::object{{"include_usage", true}};
    }
    if (auto user = string_field(ts, "user")) {
        body["user"] = *user;
    }
}

std::optional<std::string> upstream_message(std::string_view body) {
    boost::system::error_code ec;
    auto v = parse_json(body, ec);
    if (ec || !v.is_object()) {
        return std::nullopt;
    }
    const auto* e = field(v.get_object(), "error");
    if (e == nullptr) {
        return std::nullopt;
    }
    if (e->is_string()) {
        return std::string(e->get_string());
    }
    if (e->is_object()) {
        return string_field(e->get_object(), "message");
    }
    return std::nullopt;
}

// Elasticsearch writes the floats of an embedding with Jackson, as Float.toString prints them (`1.0E-7`).
// A value beyond float's range (the only way to get a non-finite one from JSON) is written as 0.0 to keep
// the answer valid JSON.
void append_float(std::string& out, float f) {
    if (!std::isfinite(f)) {
        f = 0.0F;
    }
    out += java_float_to_string(f);
}

result<std::vector<float>> vector_of(const json::value& v) {
    std::vector<float> out;
    if (v.is_array()) {
        out.reserve(v.get_array().size());
        for (const auto& x : v.get_array()) {
            if (!x.is_number()) {
                return error{errc::illegal_state, "embedding values must be numbers"};
            }
            out.push_back(static_cast<float>(x.to_number<double>()));
        }
        return out;
    }
    if (v.is_string()) {
        auto raw = base64_decode(v.get_string());
        if (!raw || raw->size() % 4 != 0) {
            return error{errc::illegal_state, "embedding is not base64 float32 data"};
        }
        out.resize(raw->size() / 4);
        for (std::size_t i = 0; i < out.size(); ++i) {
            // encoding_format=base64 is little-endian float32; so is every host we build for.
            std::uint32_t bits =
                static_cast<std::uint32_t>(static_cast<unsigned char>((*raw)[i * 4])) |
                static_cast<std::uint32_t>(static_cast<unsigned char>((*raw)[i * 4 + 1])) << 8 |
                static_cast<std::uint32_t>(static_cast<unsigned char>((*raw)[i * 4 + 2])) << 16 |
                static_cast<std::uint32_t>(static_cast<unsigned char>((*raw)[i * 4 + 3])) << 24;
            std::memcpy(&out[i], &bits, sizeof bits);
        }
        return out;
    }
    return error{errc::illegal_state, "embedding must be an array or a base64 string"};
}

std::optional<json::object> parse_object(std::string_view text) {
    boost::system::error_code ec;
    auto v = parse_json(text, ec);
    if (ec || !v.is_object()) {
        return std::nullopt;
    }
    return std::move(v.get_object());
}

void copy_if(json::object& out, const json::object& in, std::string_view key) {
    if (const auto* v = field(in, key)) {
        out[key] = *v;
    }
}

json::object tool_call_of(const json::object& in) {
    json::object out;
    copy_if(out, in, "index");
    copy_if(out, in, "id");
    if (const auto* f = field(in, "function"); f != nullptr && f->is_object()) {
        json::object fn;
        copy_if(fn, f->get_object(), "name");
        copy_if(fn, f->get_object(), "arguments");
        out["function"] = std::move(fn);
    }
    copy_if(out, in, "type");
    return out;
}

json::object usage_of(const json::object& in) {
    json::object out;
    copy_if(out, in, "completion_tokens");
    copy_if(out, in, "prompt_tokens");
    copy_if(out, in, "total_tokens");
    if (const auto* p = field(in, "prompt_tokens_details"); p != nullptr && p->is_object()) {
        json::object d;
        copy_if(d, p->get_object(), "cached_tokens");
        if (!d.empty()) {
            out["prompt_tokens_details"] = std::move(d);
        }
    }
    if (const auto* c = field(in, "completion_tokens_details"); c != nullptr && c->is_object()) {
        json::object d;
        copy_if(d, c->get_object(), "reasoning_tokens");
        if (!d.empty()) {
            out["completion_tokens_details"] = std::move(d);
        }
    }
    return out;
}

}  // namespace

upstream_call::~upstream_call() {
    for (auto& [k, v] : headers) {
        secure_wipe(v);
    }
}

result<infer_request> parse_infer_request(std::string_view raw, const json::value& body, task_type task) {
    if (body.is_null()) {
        return error{errc::parse_failed, "request body is required"};
    }
    if (!body.is_object()) {
        return error{
            errc::x_content_parse,
            "[1:1] [" + std::string(infer_parser) +
                "] Expected START_OBJECT but was: " + std::string(token_name(body))};
    }
    infer_request out;
    bool has_input = false;
    for (const auto& kv : body.get_object()) {
        const std::string_view key = kv.key();
        const json::value& v = kv.value();
        if (key == "input") {
            if (v.is_string()) {
                out.input.emplace_back(v.get_string());
            } else if (v.is_array()) {
                for (const auto& e : v.get_array()) {
                    if (!e.is_string()) {
                        return parse_error(raw, key, infer_parser, "failed to parse field [input]");
                    }
                    out.input.emplace_back(e.get_string());
                }
            } else if (!v.is_null()) {
                return parse_error(
                    raw,
                    key,
                    infer_parser,
                    "input doesn't support values of type: " + std::string(token_name(v))
                );
            }
            has_input = !v.is_null();
        } else if (key == "input_type") {
            static constexpr std::array<std::string_view, 6> types{
                "ingest", "search", "classification", "clustering", "internal_ingest", "internal_search"};
            const std::string t = ascii_lower_copy(v.is_string() ? std::string_view(v.get_string()) : "");
            if (std::find(types.begin(), types.end(), t) == types.end()) {
                return parse_error(raw, key, infer_parser, "failed to parse field [input_type]");
            }
            out.input_type = t;
        } else if (key == "task_settings") {
            if (!v.is_object()) {
                return parse_error(
                    raw,
                    key,
                    infer_parser,
                    "task_settings doesn't support values of type: " + std::string(token_name(v))
                );
            }
            out.task_settings = v.get_object();
        } else if (key == "timeout") {
            if (!v.is_string()) {
                return parse_error(raw, key, infer_parser, "failed to parse field [timeout]");
            }
        } else if (key == "query") {
            if (!v.is_string()) {
                return parse_error(raw, key, infer_parser, "failed to parse field [query]");
            }
            out.query = std::string(v.get_string());
        } else if (key == "top_n") {
            if (!v.is_int64() && !v.is_uint64()) {
                return parse_error(raw, key, infer_parser, "failed to parse field [top_n]");
            }
            out.top_n = v.to_number<std::int64_t>();
        } else if (key == "return_documents") {
            if (!v.is_bool()) {
                return parse_error(raw, key, infer_parser, "failed to parse field [return_documents]");
            }
            out.return_documents = v.get_bool();
        } else {
            return parse_error(raw, key, infer_parser, "unknown field [" + std::string(key) + "]");
        }
    }
    if (!has_input) {
        return error{errc::validation_failed, "Validation Failed: 1: Field [input] cannot be null;"};
    }
    if (out.input.empty()) {
        return error{
            errc::validation_failed, "Validation Failed: 1: Field [input] cannot be an empty array;"};
    }
    if (out.input_type && task != task_type::text_embedding && task != task_type::any &&
        out.input_type->rfind("internal", 0) != 0) {
        return error{
            errc::validation_failed,
            "Validation Failed: 1: Field [input_type] cannot be specified for task type [" +
                std::string(name_of(task)) + "];"};
    }
    return out;
}

result<json::object> parse_chat_request(std::string_view raw, const json::value& body) {
    if (body.is_null()) {
        return error{errc::parse_failed, "request body is required"};
    }
    if (!body.is_object()) {
        return error{
            errc::x_content_parse,
            "[1:1] [" + std::string(chat_parser) +
                "] Expected START_OBJECT but was: " + std::string(token_name(body))};
    }
    static constexpr std::array<std::string_view, 10> known{
        "messages",
        "model",
        "max_completion_tokens",
        "stop",
        "temperature",
        "tool_choice",
        "tools",
        "top_p",
        "reasoning",
        "timeout"};
    for (const auto& kv : body.get_object()) {
        if (std::find(known.begin(), known.end(), kv.key()) == known.end()) {
            return parse_error(raw, kv.key(), chat_parser, "unknown field [" + std::string(kv.key()) + "]");
        }
    }
    const auto& obj = body.get_object();
    const auto* messages = field(obj, "messages");
    if (messages == nullptr) {
        return error{errc::x_content_parse, "[1:1] Required [messages]"};
    }
    if (!messages->is_array()) {
        return parse_error(raw, "messages", chat_parser, "failed to parse field [messages]");
    }
    for (const auto& m : messages->get_array()) {
        if (!m.is_object() || string_field(m.get_object(), "role") == std::nullopt) {
            return parse_error(raw, "messages", chat_parser, "failed to parse field [messages]");
        }
    }
    for (const char* k : {"model"}) {
        if (const auto* v = field(obj, k); v != nullptr && !v->is_string()) {
            return parse_error(raw, k, chat_parser, "failed to parse field [" + std::string(k) + "]");
        }
    }
    for (const char* k : {"max_completion_tokens", "temperature", "top_p"}) {
        if (const auto* v = field(obj, k); v != nullptr && !v->is_number()) {
            return parse_error(raw, k, chat_parser, "failed to parse field [" + std::string(k) + "]");
        }
    }
    // UnifiedCompletionAction.Request.validate(), after parsing.
    if (messages->get_array().empty()) {
        return error{
            errc::validation_failed, "Validation Failed: 1: Field [messages] cannot be an empty array;"};
    }
    return obj;
}

error single_input_only() {
    return error{errc::bad_request, "OpenAI chat completions only accepts 1 input"};
}

upstream_call plan_completion(
    const json::object& doc,
    std::string_view api_key,
    const std::vector<std::string>& input,
    const json::object& task_settings,
    bool stream
) {
    const auto ts = merged_task_settings(doc, task_settings);
    json::array messages;
    for (const auto& in : input) {
        messages.push_back(json::object{{"role", "user"}, {"content", in}});
    }
    json::object body{{"messages", std::move(messages)}};
    finish_chat_body(body, string_field(service_settings_of(doc), "model_id").value_or(""), stream, ts);
    upstream_call call;
    call.url = url_or(doc, default_chat_url);
    add_headers(call, doc, api_key, ts);
    call.body = json_text(body);
    return call;
}

upstream_call plan_embeddings(
    const json::object& doc,
    std::string_view api_key,
    const std::vector<std::string>& input,
    const json::object& task_settings
) {
    const auto ts = merged_task_settings(doc, task_settings);
    const auto& service = service_settings_of(doc);
    json::array inputs;
    for (const auto& in : input) {
        inputs.emplace_back(in);
    }
    json::object body{
        {"input", std::move(inputs)}, {"model", string_field(service, "model_id").value_or("")}};
    if (auto user = string_field(ts, "user")) {
        body["user"] = *user;
    }
    if (bool_field(doc, "dimensions_set_by_user").value_or(false)) {
        if (const auto* d = field(service, "dimensions")) {
            body["dimensions"] = *d;
        }
    }
    // As Elasticsearch's newest OpenAiEmbeddingsRequestEntity (clients.md §1.5); the answer is read either
    // way, since some OpenAI-compatible servers ignore the field and send floats.
    body["encoding_format"] = "base64";
    upstream_call call;
    call.url = url_or(doc, default_embeddings_url);
    add_headers(call, doc, api_key, ts);
    call.body = json_text(body);
    return call;
}

upstream_call plan_chat(
    const json::object& doc, std::string_view api_key, const json::object& request, bool stream
) {
    const auto& ts = task_settings_of(doc);
    json::object body{{"messages", request.at("messages")}};
    for (const char* k : {"stop", "temperature", "tool_choice", "tools", "top_p", "max_completion_tokens"}) {
        copy_if(body, request, k);
    }
    std::string model = string_field(request, "model").value_or("");
    if (model.empty()) {
        model = string_field(service_settings_of(doc), "model_id").value_or("");
    }
    finish_chat_body(body, model, stream, ts);
    if (const auto* r = field(request, "reasoning"); r != nullptr && r->is_object()) {
        if (auto effort = string_field(r->get_object(), "effort")) {
            body["reasoning_effort"] = *effort;
        }
    }
    upstream_call call;
    call.url = url_or(doc, default_chat_url);
    add_headers(call, doc, api_key, ts);
    call.body = json_text(body);
    return call;
}

error upstream_failure(
    std::string_view inference_id,
    std::string_view url,
    unsigned status,
    std::string_view body,
    const rate_limit_headers& limits
) {
    const auto message = upstream_message(body);
    std::string reason;
    int out_status = static_cast<int>(status);
    if (status >= 500) {
        reason = status == 503 ? "Received a server busy error status code"
                               : "Received a server error status code";
        out_status = 400;
    } else if (status == 429) {
        reason = "Received a rate limit status code. Token limit [" + limits.token_limit +
                 "], remaining tokens [" + limits.remaining_tokens + "]. Request limit [" +
                 limits.request_limit + "], remaining requests [" + limits.remaining_requests + "]";
    } else if (status == 413 || (status == 400 && message && message->find("Please reduce your prompt; or completion length.") != std::string::npos)) {
        reason = "Received a content too large status code";
    } else if (status == 401) {
        reason = "Received an authentication error status code";
    } else if (status >= 300 && status < 400) {
        reason = "Unhandled redirection";
    } else if (status == 422) {
        reason = "Received an input validation error response";
    } else if (status == 400) {
        reason = "Received a bad request status code";
    } else if (status == 404) {
        reason = "Resource not found at [" + std::string(url) + "]";
    } else {
        reason = "Received an unsuccessful status code";
    }
    reason += " for request from inference entity id [" + std::string(inference_id) + "] status [" +
              std::to_string(status) + "]";
    if (message) {
        reason += ". Error message: [" + *message + "]";
    }
    return {errc::upstream_status, std::move(reason), out_status};
}

result<std::string> completion_body(std::string_view inference_id, std::string_view upstream_body) {
    auto obj = parse_object(upstream_body);
    const json::value* choices = obj ? field(*obj, "choices") : nullptr;
    if (choices == nullptr || !choices->is_array() || choices->get_array().empty() ||
        !choices->get_array()[0].is_object()) {
        return error{
            errc::illegal_state,
            "Failed to parse the completion response from inference entity id [" + std::string(inference_id) +
                "]"};
    }
    std::string content;
    if (const auto* m = field(choices->get_array()[0].get_object(), "message");
        m != nullptr && m->is_object()) {
        content = string_field(m->get_object(), "content").value_or("");
    }
    json::object result{{"completion", json::array{json::object{{"result", content}}}}};
    return json_text(result);
}

result<std::vector<std::vector<float>>> embeddings_of(
    std::string_view inference_id, std::string_view upstream_body
) {
    auto obj = parse_object(upstream_body);
    const json::value* data = obj ? field(*obj, "data") : nullptr;
    const error bad{
        errc::illegal_state,
        "Failed to parse the text embedding response from inference entity id [" + std::string(inference_id) +
            "]"};
    if (data == nullptr || !data->is_array()) {
        return bad;
    }
    std::vector<std::pair<std::int64_t, std::vector<float>>> items;
    std::int64_t next = 0;
    for (const auto& d : data->get_array()) {
        const auto* o = d.if_object();
        const json::value* e = o != nullptr ? field(*o, "embedding") : nullptr;
        if (e == nullptr) {
            return bad;
        }
        auto vec = vector_of(*e);
        if (!vec) {
            return bad;
        }
        const auto* i = field(*o, "index");
        items.emplace_back(
            i != nullptr && i->is_number() ? i->to_number<std::int64_t>() : next, std::move(*vec)
        );
        ++next;
    }
    std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
        return a.first < b.first;
    });
    std::vector<std::vector<float>> out;
    out.reserve(items.size());
    for (auto& [i, v] : items) {
        out.push_back(std::move(v));
    }
    return out;
}

std::string text_embedding_body(const std::vector<std::vector<float>>& vectors) {
    std::string out = R"({"text_embedding":[)";
    for (std::size_t i = 0; i < vectors.size(); ++i) {
        out += i == 0 ? R"({"embedding":[)" : R"(,{"embedding":[)";
        for (std::size_t j = 0; j < vectors[i].size(); ++j) {
            if (j != 0) {
                out += ',';
            }
            append_float(out, vectors[i][j]);
        }
        out += "]}";
    }
    out += "]}";
    return out;
}

std::optional<std::string> completion_delta(std::string_view upstream_data) {
    auto obj = parse_object(upstream_data);
    const json::value* choices = obj ? field(*obj, "choices") : nullptr;
    if (choices == nullptr || !choices->is_array()) {
        return std::nullopt;
    }
    json::array deltas;
    for (const auto& c : choices->get_array()) {
        const auto* co = c.if_object();
        const json::value* d = co != nullptr ? field(*co, "delta") : nullptr;
        if (d == nullptr || !d->is_object()) {
            continue;
        }
        auto content = string_field(d->get_object(), "content");
        if (content && !content->empty()) {
            deltas.push_back(json::object{{"delta", *content}});
        }
    }
    if (deltas.empty()) {
        return std::nullopt;
    }
    return json_text(json::object{{"completion", std::move(deltas)}});
}

std::optional<std::string> chat_chunk(std::string_view upstream_data) {
    auto obj = parse_object(upstream_data);
    if (!obj || obj->contains("error")) {
        return std::nullopt;
    }
    json::object out;
    copy_if(out, *obj, "id");
    json::array choices;
    if (const auto* cs = field(*obj, "choices"); cs != nullptr && cs->is_array()) {
        for (const auto& c : cs->get_array()) {
            const auto* co = c.if_object();
            if (co == nullptr) {
                continue;
            }
            json::object choice;
            json::object delta;
            if (const auto* d = field(*co, "delta"); d != nullptr && d->is_object()) {
                const auto& din = d->get_object();
                copy_if(delta, din, "content");
                copy_if(delta, din, "refusal");
                copy_if(delta, din, "role");
                if (const auto* tc = field(din, "tool_calls"); tc != nullptr && tc->is_array()) {
                    json::array calls;
                    for (const auto& t : tc->get_array()) {
                        if (t.is_object()) {
                            calls.push_back(tool_call_of(t.get_object()));
                        }
                    }
                    delta["tool_calls"] = std::move(calls);
                }
            }
            choice["delta"] = std::move(delta);
            copy_if(choice, *co, "finish_reason");
            copy_if(choice, *co, "index");
            choices.push_back(std::move(choice));
        }
    }
    out["choices"] = std::move(choices);
    copy_if(out, *obj, "model");
    copy_if(out, *obj, "object");
    if (const auto* u = field(*obj, "usage"); u != nullptr && u->is_object()) {
        out["usage"] = usage_of(u->get_object());
    }
    return json_text(out);
}

std::optional<std::string> chat_chunk_of_completion(std::string_view upstream_body) {
    auto obj = parse_object(upstream_body);
    if (!obj) {
        return std::nullopt;
    }
    if (auto* cs = obj->if_contains("choices"); cs != nullptr && cs->is_array()) {
        for (auto& c : cs->get_array()) {
            if (auto* co = c.if_object(); co != nullptr && co->contains("message")) {
                (*co)["delta"] = co->at("message");
                co->erase("message");
            }
        }
    }
    (*obj)["object"] = "chat.completion.chunk";
    return chat_chunk(json_text(*obj));
}

std::optional<error> stream_error_of(std::string_view inference_id, std::string_view upstream_data) {
    auto obj = parse_object(upstream_data);
    if (!obj || field(*obj, "error") == nullptr) {
        return std::nullopt;
    }
    std::string reason =
        "Received an error response for request from inference entity id [" + std::string(inference_id) + "]";
    if (auto msg = upstream_message(upstream_data)) {
        reason += ". Error message: [" + *msg + "]";
    }
    return error{errc::upstream_status, std::move(reason), 500};
}

}  // namespace modelrelay::registry::inference
