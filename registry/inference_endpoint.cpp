// File: inference_endpoint.cpp
// Parsing and shaping of `_inference` endpoint configurations. The messages and their order follow
// Elasticsearch's inference plugin (TransportPutInferenceModelAction, ServiceUtils, OpenAiService and the
// OpenAI service/task settings classes) so clients that match on them keep working.
#include "registry/inference_endpoint.hpp"

#include <array>
#include <cstdint>
#include <vector>

#include <boost/json/serialize.hpp>

#include "registry/ascii.hpp"
#include "registry/crypto.hpp"
#include "registry/json_util.hpp"
#include "registry/parameters.hpp"
#include "registry/secret_scrub.hpp"

namespace modelrelay::registry::inference {

namespace json = boost::json;

namespace {

constexpr std::array<std::pair<task_type, std::string_view>, 7> task_names{{
    {task_type::text_embedding, "text_embedding"},
    {task_type::sparse_embedding, "sparse_embedding"},
    {task_type::rerank, "rerank"},
    {task_type::completion, "completion"},
    {task_type::chat_completion, "chat_completion"},
    {task_type::embedding, "embedding"},
    {task_type::any, "any"},
}};

constexpr std::string_view service_scope = "service_settings";
constexpr std::string_view task_scope = "task_settings";
constexpr std::string_view secret_scope = "secret_settings";
constexpr std::string_view chunking_scope = "chunking_settings";

constexpr std::int64_t default_embedding_rpm = 3000;
constexpr std::int64_t default_completion_rpm = 500;

// Elasticsearch's ValidationException: every problem of one parsing step, numbered, each ending in ';'.
class validation_errors {
public:
    void add(std::string msg) { list_.push_back(std::move(msg)); }
    bool empty() const { return list_.empty(); }
    std::size_t size() const { return list_.size(); }
    error to_error() const {
        std::string reason = "Validation Failed: ";
        for (std::size_t i = 0; i < list_.size(); ++i) {
            reason += std::to_string(i + 1) + ": " + list_[i] + ";";
        }
        return {errc::validation, std::move(reason)};
    }

private:
    std::vector<std::string> list_;
};

std::string missing_setting(std::string_view name, std::string_view scope) {
    std::string out = "[";
    out.append(scope).append("] does not contain the required setting [").append(name).append("]");
    return out;
}

// Names whose values are, or may be, credentials. Elasticsearch prints a misplaced or mistyped one in
// its error texts; ours print `__SENSITIVE__` instead, since error bodies end up in client logs and
// proxies. Besides the services' own secret settings (api_key, secret_key, access_key, session_token,
// OAuth2's client_secret) any name that reads like a secret is covered, in any letter case: a mistyped
// setting is exactly where an unknown name carries a real key.
bool is_secret_name(std::string_view name) {
    const std::string lower = ascii_lower_copy(name);
    static constexpr std::array<std::string_view, 8> exact{
        "api_key", "apikey", "token", "secret", "password", "passwd", "credential", "credentials"};
    for (auto e : exact) {
        if (lower == e) {
            return true;
        }
    }
    static constexpr std::array<std::string_view, 7> suffixes{
        "_key", "_secret", "_token", "_password", "secret", "password", "apikey"};
    for (auto s : suffixes) {
        if (lower.ends_with(s)) {
            return true;
        }
    }
    return false;
}

// `v` with the value of every secret-named member, at any depth, replaced by `__SENSITIVE__`.
json::value redacted(const json::value& v) {
    if (const auto* o = v.if_object()) {
        json::object out;
        for (const auto& kv : *o) {
            out[kv.key()] = is_secret_name(kv.key()) ? json::value(sensitive_marker) : redacted(kv.value());
        }
        return out;
    }
    if (const auto* a = v.if_array()) {
        json::array out;
        for (const auto& e : *a) {
            out.push_back(redacted(e));
        }
        return out;
    }
    return v;
}

std::string invalid_type(std::string_view name, const json::value& v, std::string_view type) {
    const std::string shown = is_secret_name(name) ? std::string(sensitive_marker) : java_text(redacted(v));
    return "field [" + std::string(name) + "] is not of the expected type. The value [" + shown +
           "] cannot be converted to a [" + std::string(type) + "]";
}

std::string not_positive(std::string_view name, std::string_view scope, const json::value& v) {
    return "[" + std::string(scope) + "] Invalid value [" + java_text(v) + "]. [" + std::string(name) +
           "] must be a positive integer";
}

std::string empty_string(std::string_view name, std::string_view scope) {
    return "[" + std::string(scope) + "] Invalid value empty string. [" + std::string(name) +
           "] must be a non-empty string";
}

// ServiceUtils.removeAsType + extractOptionalString: removes `key`; null counts as absent.
std::optional<std::string> take_string(
    json::object& map, std::string_view key, std::string_view scope, validation_errors& errs, bool required
) {
    auto it = map.find(key);
    std::optional<json::value> v;
    if (it != map.end()) {
        v = it->value();
        map.erase(it);
    }
    if (!v || v->is_null()) {
        if (required) {
            errs.add(missing_setting(key, scope));
        }
        return std::nullopt;
    }
    if (!v->is_string()) {
        errs.add(invalid_type(key, *v, "String"));
        return std::nullopt;
    }
    if (v->get_string().empty()) {
        errs.add(empty_string(key, scope));
        return std::nullopt;
    }
    return std::string(v->get_string());
}

// extractOptionalPositiveInteger / Long: Java's Integer rejects anything but a 32-bit integer literal.
std::optional<std::int64_t> take_positive(
    json::object& map, std::string_view key, std::string_view scope, validation_errors& errs, bool is_long
) {
    auto it = map.find(key);
    if (it == map.end()) {
        return std::nullopt;
    }
    json::value v = it->value();
    map.erase(it);
    if (v.is_null()) {
        return std::nullopt;
    }
    std::optional<std::int64_t> n;
    if (v.is_int64()) {
        n = v.get_int64();
    } else if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
        n = static_cast<std::int64_t>(v.get_uint64());
    }
    if (!n || (!is_long && (*n > INT32_MAX || *n < INT32_MIN))) {
        errs.add(invalid_type(key, v, is_long ? "Long" : "Integer"));
        return std::nullopt;
    }
    if (*n <= 0) {
        errs.add(not_positive(key, scope, v));
        return std::nullopt;
    }
    return n;
}

// removeFromMapOrDefaultEmpty: a missing or null map is empty; anything else that is not an object is a bug
// in the request that Elasticsearch reports as a type error.
result<json::object> take_map(json::object& map, std::string_view key) {
    auto it = map.find(key);
    if (it == map.end()) {
        return json::object{};
    }
    json::value v = it->value();
    map.erase(it);
    if (v.is_null()) {
        return json::object{};
    }
    if (!v.is_object()) {
        validation_errors e;
        e.add(invalid_type(key, v, "Map"));
        return e.to_error();
    }
    return std::move(v.get_object());
}

error unknown_settings(const json::object& leftover, std::string_view service) {
    return {
        errc::bad_request,
        "Configuration contains settings [" + java_text(redacted(leftover)) + "] unknown to the [" +
            std::string(service) + "] service"};
}

bool is_embedding(task_type t) {
    return t == task_type::text_embedding;
}

bool openai_supports(task_type t) {
    return t == task_type::text_embedding || t == task_type::completion || t == task_type::chat_completion;
}

// Elasticsearch's ServiceUtils.resolveTaskType.
result<task_type> resolve_task(std::optional<std::string_view> url_task, const json::value* body_task) {
    task_type from_url = task_type::any;
    if (url_task) {
        auto t = parse_task_type(*url_task);
        if (!t) {
            return t.error();
        }
        from_url = *t;
    }
    if (body_task == nullptr || body_task->is_null()) {
        if (from_url == task_type::any) {
            return error{errc::bad_request, "model is missing required setting [task_type]"};
        }
        return from_url;
    }
    const std::string body_name =
        body_task->is_string() ? std::string(body_task->get_string()) : java_text(*body_task);
    auto parsed = parse_task_type(body_name);
    if (!parsed) {
        return parsed.error();
    }
    if (*parsed == task_type::any) {
        return error{errc::bad_request, "task_type [any] is not valid type for inference"};
    }
    if (!any_or_same(from_url, *parsed)) {
        return error{
            errc::bad_request,
            "Cannot resolve conflicting task_type parameter in the request URL [" +
                std::string(name_of(from_url)) + "] and the request body [" + body_name + "]"};
    }
    return *parsed;
}

json::object rate_limit_object(std::int64_t rpm) {
    return json::object{{"requests_per_minute", rpm}};
}

// RateLimitSettings.of: `rate_limit: {requests_per_minute}` with the task's default.
std::int64_t take_rate_limit(json::object& map, std::int64_t def, validation_errors& errs) {
    auto it = map.find("rate_limit");
    if (it == map.end()) {
        return def;
    }
    json::value v = it->value();
    map.erase(it);
    if (v.is_null()) {
        return def;
    }
    if (!v.is_object()) {
        errs.add(invalid_type("rate_limit", v, "Map"));
        return def;
    }
    auto rpm = take_positive(v.get_object(), "requests_per_minute", "rate_limit", errs, true);
    return rpm.value_or(def);
}

// The display order of OpenAI service settings (toXContentFragmentOfExposedFields).
json::object ordered_service_settings(const json::object& s) {
    json::object out;
    for (const char* k :
         {"model_id",
          "url",
          "organization_id",
          "similarity",
          "dimensions",
          "max_input_tokens",
          "rate_limit"}) {
        if (const auto* v = s.if_contains(k)) {
            out[k] = *v;
        }
    }
    return out;
}

json::object ordered_task_settings(const json::object& s) {
    json::object out;
    for (const char* k : {"user", "headers"}) {
        if (const auto* v = s.if_contains(k)) {
            out[k] = *v;
        }
    }
    return out;
}

// Task settings shared by the OpenAI task types: `user` and custom upstream `headers`.
result<json::object> parse_task_settings(json::object& map) {
    validation_errors errs;
    json::object out;
    if (auto user = take_string(map, "user", task_scope, errs, false)) {
        out["user"] = *user;
    }
    if (auto it = map.find("headers"); it != map.end()) {
        json::value v = it->value();
        map.erase(it);
        if (v.is_object()) {
            for (const auto& kv : v.get_object()) {
                if (!kv.value().is_string()) {
                    errs.add(
                        "Map field [headers] has an entry that is not valid, [" + std::string(kv.key()) +
                        " => " + java_text(kv.value()) + "]. Value type is not one of [String]."
                    );
                }
            }
            if (!v.get_object().empty()) {
                out["headers"] = std::move(v);
            }
        } else if (!v.is_null()) {
            errs.add(invalid_type("headers", v, "Map"));
        }
    }
    if (!errs.empty()) {
        return errs.to_error();
    }
    return out;
}

// ChunkingSettingsBuilder.fromMap for embedding endpoints; an empty map gives the sentence default.
result<json::object> parse_chunking(json::object map) {
    if (map.empty()) {
        return json::object{{"strategy", "sentence"}, {"max_chunk_size", 250}, {"sentence_overlap", 1}};
    }
    validation_errors errs;
    auto strategy = take_string(map, "strategy", chunking_scope, errs, true);
    if (!errs.empty()) {
        return errs.to_error();
    }
    json::object out{{"strategy", *strategy}};
    if (*strategy == "none") {
        // nothing else
    } else if (*strategy == "sentence" || *strategy == "word" || *strategy == "recursive") {
        auto size = take_positive(map, "max_chunk_size", chunking_scope, errs, false);
        if (!size && errs.empty()) {
            errs.add(missing_setting("max_chunk_size", chunking_scope));
        }
        if (size) {
            out["max_chunk_size"] = *size;
        }
        if (*strategy == "sentence") {
            std::int64_t overlap = 1;
            if (auto it = map.find("sentence_overlap"); it != map.end()) {
                const json::value v = it->value();
                map.erase(it);
                if (!v.is_int64() || (v.get_int64() != 0 && v.get_int64() != 1)) {
                    errs.add(
                        "[chunking_settings] Invalid value [" + java_text(v) +
                        "]. [sentence_overlap] must be 0 or 1"
                    );
                } else {
                    overlap = v.get_int64();
                }
            }
            out["sentence_overlap"] = overlap;
        } else if (*strategy == "word") {
            auto overlap = take_positive(map, "overlap", chunking_scope, errs, false);
            if (overlap) {
                out["overlap"] = *overlap;
            } else if (errs.empty()) {
                errs.add(missing_setting("overlap", chunking_scope));
            }
        } else {
            for (const char* k : {"separator_group", "separators"}) {
                if (auto it = map.find(k); it != map.end()) {
                    out[k] = it->value();
                    map.erase(it);
                }
            }
        }
    } else {
        errs.add(
            "[chunking_settings] Invalid value [" + *strategy +
            "] received. [strategy] must be one of [none, recursive, sentence, word]"
        );
    }
    if (!errs.empty()) {
        return errs.to_error();
    }
    if (!map.empty()) {
        return unknown_settings(map, chunking_scope);
    }
    return out;
}

struct parsed_service_settings {
    json::object exposed;
    bool dimensions_set_by_user = false;
    std::string api_key;
};

// OpenAiEmbeddingsServiceSettings / OpenAiChatCompletionServiceSettings .fromMap(REQUEST), then
// DefaultSecretSettings.fromMap on the same map.
result<parsed_service_settings> parse_openai_settings(json::object& map, task_type task) {
    validation_errors errs;
    parsed_service_settings out;
    json::object s;
    if (auto url = take_string(map, "url", service_scope, errs, false)) {
        s["url"] = *url;
    }
    if (auto org = take_string(map, "organization_id", service_scope, errs, false)) {
        s["organization_id"] = *org;
    }
    if (is_embedding(task)) {
        auto it = map.find("similarity");
        if (it != map.end()) {
            json::value v = it->value();
            map.erase(it);
            if (!v.is_null()) {
                const std::string text =
                    ascii_lower_copy(v.is_string() ? std::string(v.get_string()) : java_text(v));
                if (text == "cosine" || text == "dot_product" || text == "l2_norm") {
                    s["similarity"] = text;
                } else {
                    errs.add(
                        "[service_settings] Invalid value [" +
                        (v.is_string() ? std::string(v.get_string()) : text) +
                        "] received. [similarity] must be one of [cosine, dot_product, l2_norm]"
                    );
                }
            }
        }
        if (auto dims = take_positive(map, "dimensions", service_scope, errs, false)) {
            s["dimensions"] = *dims;
            out.dimensions_set_by_user = true;
        }
    }
    if (auto max = take_positive(map, "max_input_tokens", service_scope, errs, false)) {
        s["max_input_tokens"] = *max;
    }
    if (auto model = take_string(map, "model_id", service_scope, errs, true)) {
        s["model_id"] = *model;
    }
    s["rate_limit"] = rate_limit_object(
        take_rate_limit(map, is_embedding(task) ? default_embedding_rpm : default_completion_rpm, errs)
    );
    if (!errs.empty()) {
        return errs.to_error();
    }
    validation_errors secret_errs;
    auto key = take_string(map, "api_key", secret_scope, secret_errs, true);
    if (!secret_errs.empty()) {
        return secret_errs.to_error();
    }
    out.api_key = std::move(*key);
    out.exposed = ordered_service_settings(s);
    return out;
}

json::object make_doc(
    std::string_view id,
    task_type task,
    json::object service_settings,
    json::object task_settings,
    std::optional<json::object> chunking,
    bool dims_by_user
) {
    json::object doc;
    doc["inference_id"] = id;
    doc["task_type"] = name_of(task);
    doc["service"] = openai_service;
    doc["service_settings"] = std::move(service_settings);
    doc["task_settings"] = std::move(task_settings);
    if (chunking) {
        doc["chunking_settings"] = std::move(*chunking);
    }
    if (is_embedding(task)) {
        doc["dimensions_set_by_user"] = dims_by_user;
    }
    return doc;
}

const json::object& empty_object() {
    static const json::object empty;
    return empty;
}

void append_java_number(std::string& out, const json::value& v) {
    out += v.is_double() ? java_double_to_string(v.get_double()) : json::serialize(v);
}

void append_java(std::string& out, const json::value& v) {
    switch (v.kind()) {
        case json::kind::string:
            out += v.get_string();
            return;
        case json::kind::object: {
            out += '{';
            bool first = true;
            for (const auto& kv : v.get_object()) {
                out += first ? "" : ", ";
                first = false;
                out += kv.key();
                out += '=';
                append_java(out, kv.value());
            }
            out += '}';
            return;
        }
        case json::kind::array: {
            out += '[';
            bool first = true;
            for (const auto& e : v.get_array()) {
                out += first ? "" : ", ";
                first = false;
                append_java(out, e);
            }
            out += ']';
            return;
        }
        case json::kind::null:
            out += "null";
            return;
        default:
            append_java_number(out, v);
    }
}

}  // namespace

endpoint_draft::~endpoint_draft() {
    if (api_key) {
        secure_wipe(*api_key);
    }
}

std::string java_text(const json::value& v) {
    std::string out;
    append_java(out, v);
    return out;
}

std::string_view name_of(task_type t) {
    for (const auto& [k, n] : task_names) {
        if (k == t) {
            return n;
        }
    }
    return "any";
}

result<task_type> parse_task_type(std::string_view name) {
    const std::string lower = ascii_lower_copy(name);
    for (const auto& [k, n] : task_names) {
        if (n == lower) {
            return k;
        }
    }
    return error{errc::bad_request, "Unknown task_type [" + std::string(name) + "]"};
}

result<void> validate_inference_id(std::string_view id) {
    // MlStrings.isValidId: [a-z0-9](?:[a-z0-9_\-\.]*[a-z0-9])?, never `_all`.
    auto alnum = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    };
    bool ok = !id.empty() && alnum(id.front()) && alnum(id.back());
    for (char c : id) {
        ok = ok && (alnum(c) || c == '_' || c == '-' || c == '.');
    }
    if (!ok) {
        return error{
            errc::validation_failed,
            "Validation Failed: 1: Invalid inference_id; '" + std::string(id) +
                "' can contain lowercase alphanumeric (a-z and 0-9), hyphens or underscores; must start and "
                "end "
                "with alphanumeric;"};
    }
    return {};
}

result<endpoint_draft> prepare_create(
    std::string_view id, std::optional<std::string_view> url_task, const json::value& body
) {
    if (auto r = validate_inference_id(id); !r) {
        return r.error();
    }
    if (body.is_null()) {
        return error{errc::parse_failed, "request body is required"};
    }
    if (!body.is_object()) {
        return error{errc::x_content_parse, "request body must be a JSON object"};
    }
    json::object config = body.get_object();
    const json::value body_task = config.contains("task_type") ? config.at("task_type") : json::value();
    config.stable_erase("task_type");
    auto task = resolve_task(url_task, body_task.is_null() ? nullptr : &body_task);
    if (!task) {
        return task.error();
    }
    const json::value service = config.contains("service") ? config.at("service") : json::value();
    config.stable_erase("service");
    if (!service.is_string()) {
        return error{errc::bad_request, "Inference endpoint configuration is missing the [service] setting"};
    }
    if (service.get_string() != openai_service) {
        return error{
            errc::bad_request,
            "Unknown service [" + std::string(service.get_string()) + "] for model [" + std::string(id) +
                "]"};
    }
    if (!openai_supports(*task)) {
        return error{
            errc::bad_request,
            "The [openai] service does not support task type [" + std::string(name_of(*task)) + "]"};
    }
    auto ss_it = config.find("service_settings");
    if (ss_it == config.end() || !ss_it->value().is_object()) {
        return error{errc::bad_request, "Missing required field [service_settings]"};
    }
    json::object service_map = ss_it->value().get_object();
    config.erase(ss_it);
    auto task_map = take_map(config, "task_settings");
    if (!task_map) {
        return task_map.error();
    }
    std::optional<json::object> chunking;
    if (is_embedding(*task)) {
        auto chunk_map = take_map(config, "chunking_settings");
        if (!chunk_map) {
            return chunk_map.error();
        }
        auto parsed = parse_chunking(std::move(*chunk_map));
        if (!parsed) {
            return parsed.error();
        }
        chunking = std::move(*parsed);
    }
    auto settings = parse_openai_settings(service_map, *task);
    if (!settings) {
        return settings.error();
    }
    auto task_settings = parse_task_settings(*task_map);
    if (!task_settings) {
        return task_settings.error();
    }
    for (const auto* leftover : {&config, &service_map, &*task_map}) {
        if (!leftover->empty()) {
            return unknown_settings(*leftover, openai_service);
        }
    }
    endpoint_draft d;
    d.inference_id = std::string(id);
    d.task = *task;
    d.doc = make_doc(
        id,
        *task,
        std::move(settings->exposed),
        std::move(*task_settings),
        std::move(chunking),
        settings->dimensions_set_by_user
    );
    d.api_key = std::move(settings->api_key);
    secure_wipe(settings->api_key);
    return d;
}

result<endpoint_draft> prepare_update(
    const json::object& stored, std::optional<std::string_view> url_task, const json::value& body
) {
    if (body.is_null() || (body.is_object() && body.get_object().empty())) {
        return error{errc::bad_request, "Request body is empty"};
    }
    if (!body.is_object()) {
        return error{errc::x_content_parse, "request body must be a JSON object"};
    }
    json::object content = body.get_object();
    const task_type existing = stored_task(stored);
    // Elasticsearch insists on a task type in the URL or the body; the stored one is the obvious default.
    task_type requested = existing;
    const json::value body_task = content.contains("task_type") ? content.at("task_type") : json::value();
    content.stable_erase("task_type");
    if (url_task || !body_task.is_null()) {
        auto t = resolve_task(url_task, body_task.is_null() ? nullptr : &body_task);
        if (!t) {
            return t.error();
        }
        requested = *t;
    }
    if (requested != existing) {
        return error{errc::bad_request, "Task type must match the task type of the existing endpoint"};
    }
    std::optional<json::object> new_service;
    std::optional<json::object> new_task;
    if (auto it = content.find("service_settings"); it != content.end()) {
        if (!it->value().is_object()) {
            return error{errc::bad_request, "Unable to parse service settings in the request body"};
        }
        new_service = it->value().get_object();
        content.erase(it);
    }
    if (auto it = content.find("task_settings"); it != content.end()) {
        if (!it->value().is_object()) {
            return error{errc::bad_request, "Unable to parse task settings in the request body"};
        }
        new_task = it->value().get_object();
        content.erase(it);
    }
    std::optional<json::object> new_chunking;
    if (auto it = content.find("chunking_settings"); it != content.end()) {
        // Only embedding endpoints chunk their input; elsewhere the member is ignored, as on create.
        if (is_embedding(existing) && !it->value().is_null()) {
            if (!it->value().is_object()) {
                return error{errc::bad_request, "Unable to parse chunking settings in the request body"};
            }
            auto parsed = parse_chunking(it->value().get_object());
            if (!parsed) {
                return parsed.error();
            }
            new_chunking = std::move(*parsed);
        }
        content.stable_erase("chunking_settings");
    }
    if (!content.empty()) {
        return error{
            errc::bad_request,
            "Request contained fields which cannot be updated, remove these fields and try again [" +
                java_text(content) + "]"};
    }
    endpoint_draft d;
    d.inference_id = string_field(stored, "inference_id").value_or("");
    d.task = existing;
    d.doc = stored;
    d.doc.stable_erase("secret_settings");
    d.doc.stable_erase("created_time");
    d.doc.stable_erase("last_updated_time");
    bool changed = false;
    if (new_service) {
        validation_errors errs;
        json::object service = service_settings_of(stored);
        if (new_service->contains("rate_limit")) {
            const auto def = service.contains("rate_limit") && service.at("rate_limit").is_object()
                                 ? service.at("rate_limit")
                                       .get_object()
                                       .at("requests_per_minute")
                                       .to_number<std::int64_t>()
                                 : default_completion_rpm;
            const auto rpm = take_rate_limit(*new_service, def, errs);
            changed = changed || rpm != def;
            service["rate_limit"] = rate_limit_object(rpm);
        }
        if (new_service->contains("api_key")) {
            validation_errors secret_errs;
            auto key = take_string(*new_service, "api_key", secret_scope, secret_errs, false);
            if (!secret_errs.empty()) {
                return secret_errs.to_error();
            }
            if (key) {
                d.api_key = std::move(*key);
                changed = true;
            }
        }
        if (!errs.empty()) {
            return errs.to_error();
        }
        d.doc["service_settings"] = ordered_service_settings(service);
    }
    if (new_task) {
        auto parsed = parse_task_settings(*new_task);
        if (!parsed) {
            return parsed.error();
        }
        if (!new_task->empty()) {
            return unknown_settings(*new_task, openai_service);
        }
        json::object merged = task_settings_of(stored);
        for (const auto& kv : *parsed) {
            changed = changed || merged.if_contains(kv.key()) == nullptr || merged.at(kv.key()) != kv.value();
            merged[kv.key()] = kv.value();
        }
        d.doc["task_settings"] = ordered_task_settings(merged);
    }
    if (new_chunking) {
        const auto* old_chunking = stored.if_contains("chunking_settings");
        changed = changed || old_chunking == nullptr || *old_chunking != json::value(*new_chunking);
        d.doc["chunking_settings"] = std::move(*new_chunking);
    }
    d.changed = changed;
    return d;
}

result<void> apply_embedding_size(endpoint_draft& d, std::size_t size) {
    if (!is_embedding(d.task)) {
        return {};
    }
    json::object service = service_settings_of(d.doc);
    const bool by_user = bool_field(d.doc, "dimensions_set_by_user").value_or(false);
    if (by_user) {
        const auto want = service.at("dimensions").to_number<std::int64_t>();
        if (static_cast<std::size_t>(want) != size) {
            return error{
                errc::bad_request,
                "The retrieved embeddings size [" + std::to_string(size) +
                    "] does not match the size specified in the settings [" + std::to_string(want) +
                    "]. Please recreate the [" + d.inference_id +
                    "] configuration with the correct dimensions"};
        }
    }
    service["dimensions"] = static_cast<std::int64_t>(size);
    if (!service.contains("similarity")) {
        service["similarity"] = "dot_product";
    }
    d.doc["service_settings"] = ordered_service_settings(service);
    return {};
}

json::object endpoint_info(const json::object& doc) {
    json::object out;
    for (const char* k : {"inference_id", "task_type", "service", "service_settings"}) {
        if (const auto* v = doc.if_contains(k)) {
            out[k] = *v;
        }
    }
    if (const auto* t = doc.if_contains("task_settings");
        t != nullptr && t->is_object() && !t->get_object().empty()) {
        out["task_settings"] = *t;
    }
    if (const auto* c = doc.if_contains("chunking_settings"); c != nullptr && c->is_object()) {
        out["chunking_settings"] = *c;
    }
    return out;
}

task_type stored_task(const json::object& doc) {
    auto t = parse_task_type(string_field(doc, "task_type").value_or("any"));
    return t ? *t : task_type::any;
}

const json::object& service_settings_of(const json::object& doc) {
    const auto* v = doc.if_contains("service_settings");
    return v != nullptr && v->is_object() ? v->get_object() : empty_object();
}

result<json::object> request_task_settings(const json::object& given) {
    json::object map = given;
    return parse_task_settings(map);
}

const json::object& task_settings_of(const json::object& doc) {
    const auto* v = doc.if_contains("task_settings");
    return v != nullptr && v->is_object() ? v->get_object() : empty_object();
}

error endpoint_not_found(std::string_view id) {
    return {errc::resource_not_found, "Inference endpoint not found [" + std::string(id) + "]"};
}

error requested_task_mismatch(task_type requested, task_type stored) {
    return {
        errc::bad_request,
        "Requested task type [" + std::string(name_of(requested)) +
            "] does not match the inference endpoint's task type [" + std::string(name_of(stored)) + "]"};
}

error incompatible_task_type(task_type requested, task_type stored) {
    return {
        errc::bad_request,
        "Incompatible task_type, the requested type [" + std::string(name_of(requested)) +
            "] does not match the model type [" + std::string(name_of(stored)) + "]"};
}

}  // namespace modelrelay::registry::inference
