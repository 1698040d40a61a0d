// File: post_process.cpp
// Response side of the predict path (spec ml-commons.md §4, §8.1): upstream status and body → one
// `inference_results` element. Mirrors MLSdkAsyncHttpResponseHandler.response, ConnectorUtils.processOutput,
// the built-in MLPostProcessFunction converters and AbstractConnector.parseResponse. The upstream body is
// parsed once; sub-trees are moved into the result rather than copied whenever the selection allows.
#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>
#include <variant>

#include <boost/json/array.hpp>

#include "registry/json_parse.hpp"
#include "registry/json_text.hpp"
#include "registry/json_util.hpp"
#include "registry/painless.hpp"
#include "registry/predict.hpp"
#include "registry/predict_detail.hpp"
#include "registry/setting_value.hpp"
#include "registry/utf8.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace predict_detail {

bool is_blank(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
    });
}

std::string_view data_type_of_filter(std::string_view filter) {
    // The first match in declaration order wins, as in the Java loop.
    for (const std::string_view name : predict_detail::result_data_types) {
        // containsIgnoreCase(filter, "." + name)
        for (std::size_t i = 0; i + name.size() < filter.size(); ++i) {
            if (filter[i] != '.') {
                continue;
            }
            bool match = true;
            for (std::size_t k = 0; k < name.size() && match; ++k) {
                match = ascii_lower(filter[i + 1 + k]) == ascii_lower(name[k]);
            }
            if (match) {
                return name;
            }
        }
    }
    return "FLOAT32";
}

error post_process_failure(std::string cause) {
    return illegal_argument(std::move(cause));
}

}  // namespace predict_detail

namespace {

using predict_detail::post_process_failure;

// Jackson's default StreamReadConstraints nesting limit.
constexpr std::size_t max_json_depth = 1000;

result<json::value> parse_answer(std::string_view text, json::storage_ptr sp = {}) {
    json::parse_options opt;
    opt.max_depth = max_json_depth;
    boost::system::error_code ec;
    std::size_t used = 0;
    json::value v = parse_json(text, ec, std::move(sp), opt, &used);
    if (ec) {
        return illegal_argument(
            "Invalid JSON format: " + ec.message() + " at character " + std::to_string(used)
        );
    }
    return v;
}

// The wrappers below build in their input's storage: a tree parsed into an arena stays there, and a
// value moved into it is taken, not copied.
json::object response_tensor(json::object data_as_map) {
    json::object t(data_as_map.storage());
    t.reserve(2);
    t.emplace("name", "response");
    t.emplace("dataAsMap", std::move(data_as_map));
    return t;
}

// {"response": v}: how parseResponse wraps anything that is not a JSON object.
json::object wrapped(json::value v) {
    json::object m(v.storage());
    m.emplace("response", std::move(v));
    return m;
}

json::object number_tensor(std::string_view name, std::string_view data_type, json::array data) {
    json::object t;
    t.reserve(4);
    t.emplace("name", name);
    t.emplace("data_type", data_type);
    t.emplace("shape", json::array{static_cast<std::int64_t>(data.size())});
    t.emplace("data", std::move(data));
    return t;
}

bool all_numbers(const json::array& a) {
    return std::all_of(a.begin(), a.end(), [](const json::value& v) { return v.is_number(); });
}

constexpr std::string_view not_a_list = "Post process function input is not a List.";
constexpr std::string_view not_float_list =
    "The embedding should be a non-empty List containing Float values.";

// EmbeddingPostProcessFunction: a list of float lists → one sentence_embedding tensor per list.
result<json::array> embedding_tensors(json::value in, std::string_view data_type) {
    if (!in.is_array()) {
        return post_process_failure(std::string(not_a_list));
    }
    auto& outer = in.get_array();
    json::array out;
    out.reserve(outer.size());
    for (auto& e : outer) {
        if (!e.is_array()) {
            return post_process_failure(
                "The embedding should be a non-empty List containing List of Float values."
            );
        }
        auto& inner = e.get_array();
        if (inner.empty() || !all_numbers(inner)) {
            return post_process_failure(std::string(not_float_list));
        }
        out.emplace_back(number_tensor("sentence_embedding", data_type, std::move(inner)));
    }
    return out;
}

// BedrockEmbeddingPostProcessFunction: one float list → one tensor.
result<json::array> bedrock_embedding_tensors(json::value in, std::string_view data_type) {
    if (!in.is_array()) {
        return post_process_failure(std::string(not_a_list));
    }
    auto& data = in.get_array();
    if (!all_numbers(data)) {
        return post_process_failure(std::string(not_float_list));
    }
    json::array out;
    out.emplace_back(number_tensor("sentence_embedding", data_type, std::move(data)));
    return out;
}

// Cohere/Bedrock rerank: [{index, score}] → one `similarity` tensor per document, in document order.
result<json::array> rerank_tensors(json::value in, std::string_view score_key) {
    if (!in.is_array()) {
        return post_process_failure(std::string(not_a_list));
    }
    auto& results = in.get_array();
    json::array scores(results.size(), nullptr);
    for (auto& r : results) {
        if (!r.is_object()) {
            return post_process_failure("Post process function input is not a List of Map.");
        }
        auto& m = r.get_object();
        const auto* index = m.if_contains("index");
        auto* score = m.if_contains(score_key);
        if (index == nullptr || score == nullptr) {
            return post_process_failure(
                "The rerank result should contain index and " + std::string(score_key) + "."
            );
        }
        const auto at = index->is_int64()    ? index->get_int64()
                        : index->is_uint64() ? static_cast<std::int64_t>(index->get_uint64())
                                             : -1;
        if (at < 0 || static_cast<std::size_t>(at) >= scores.size() || !score->is_number()) {
            return post_process_failure(
                "Invalid rerank result: index " + (index->is_number() ? std::to_string(at) : "?") + " for " +
                std::to_string(scores.size()) + " documents"
            );
        }
        scores[static_cast<std::size_t>(at)] = std::move(*score);
    }
    json::array out;
    out.reserve(scores.size());
    for (auto& s : scores) {
        out.emplace_back(number_tensor("similarity", "FLOAT32", json::array{std::move(s)}));
    }
    return out;
}

// BedrockBatchJobArnPostProcessFunction
result<json::array> batch_job_arn_tensors(json::value in) {
    if (!in.is_object()) {
        return post_process_failure("Post process function input is not a Map.");
    }
    auto& job = in.get_object();
    const auto* arn = job.if_contains("jobArn");
    if (arn == nullptr) {
        return post_process_failure("job arn is missing.");
    }
    if (!arn->is_string()) {
        return post_process_failure("job arn is not a string.");
    }
    std::string processed;
    for (const char c : arn->get_string()) {
        if (c == '/') {
            processed += "%2F";
        } else {
            processed += c;
        }
    }
    job.insert_or_assign("processedJobArn", std::move(processed));
    json::array out;
    out.emplace_back(response_tensor(std::move(job)));
    return out;
}

// MLResultDataType.valueOf succeeds (case-sensitive).
bool is_result_data_type(std::string_view name) {
    const auto& all = predict_detail::result_data_types;
    return std::find(all.begin(), all.end(), name) != all.end();
}

// RemoteMlCommonsPassthroughPostProcessFunction: unwraps another ml-commons predict response.
result<json::array> passthrough_tensors(json::value in) {
    if (!in.is_object()) {
        return post_process_failure(
            in.is_array() ? "Post process function input is not a Map."
                          : "Post process function input must be a Map or List"
        );
    }
    auto& response = in.get_object();
    auto* results = response.if_contains("inference_results");
    if (results == nullptr || !results->is_array()) {
        json::array out;
        out.emplace_back(response_tensor(std::move(response)));
        return out;
    }
    json::array out;
    for (auto& r : results->get_array()) {
        auto* outputs = r.is_object() ? r.get_object().if_contains("output") : nullptr;
        if (outputs == nullptr || !outputs->is_array()) {
            continue;
        }
        for (auto& o : outputs->get_array()) {
            if (!o.is_object() || o.get_object().empty()) {
                continue;
            }
            auto& m = o.get_object();
            json::object t;
            const auto* name = m.if_contains("name");
            t.emplace(
                "name", name != nullptr && name->is_string() ? name->get_string() : json::string("output")
            );
            if (const auto* dt = m.if_contains("data_type");
                dt != nullptr && dt->is_string() && is_result_data_type(dt->get_string())) {
                t.emplace("data_type", dt->get_string());
            }
            if (const auto* shape = m.if_contains("shape"); shape != nullptr && shape->is_array()) {
                json::array s;
                for (const auto& n : shape->get_array()) {
                    if (n.is_number()) {
                        s.emplace_back(n.to_number<std::int64_t>());
                    }
                }
                t.emplace("shape", std::move(s));
            }
            if (auto* data = m.if_contains("data"); data != nullptr && data->is_array()) {
                json::array d;
                d.reserve(data->get_array().size());
                for (auto& n : data->get_array()) {
                    d.emplace_back(n.is_number() ? std::move(n) : json::value(nullptr));
                }
                t.emplace("data", std::move(d));
            }
            if (const auto* res = m.if_contains("result"); res != nullptr && res->is_string()) {
                t.emplace("result", res->get_string());
            }
            if (auto* map = m.if_contains("dataAsMap"); map != nullptr && map->is_object()) {
                t.emplace("dataAsMap", std::move(map->get_object()));
            }
            out.emplace_back(std::move(t));
        }
    }
    return out;
}

// The value the filter selects, taken out of `doc` (moved when the matches cannot overlap, i.e. the
// path has no deep scan), or nullopt for a miss. Definite paths give the value, indefinite ones an array.
// A function's failure (`sum()` over no numbers) is an error.
result<std::optional<json::value>> take(const json_path& path, json::value& doc) {
    if (path.synthesizes()) {
        auto built = path.evaluate_checked(doc);
        if (!built) {
            return post_process_failure(built.error().reason);
        }
        return std::move(*built);
    }
    auto selected = path.select(doc);
    if (!selected) {
        return std::optional<json::value>();
    }
    const bool may_overlap = path.source().find("..") != std::string::npos;
    const auto grab = [&](const json::value* p) {
        // `doc` is ours and not const; select only hands out const views of it.
        return may_overlap ? json::value(*p) : std::move(*const_cast<json::value*>(p));
    };
    if (path.is_definite()) {
        return std::optional<json::value>(grab(selected->front()));
    }
    json::array all;
    all.reserve(selected->size());
    for (const auto* p : *selected) {
        all.emplace_back(grab(p));
    }
    return std::optional<json::value>(json::value(std::move(all)));
}

error no_results(const json_path& path) {
    return post_process_failure("No results for path: " + path.source());
}

// Built-in post-process function: JsonPath → typed tensors.
result<json::array> builtin_tensors(const predict_plan& plan, json::value& doc) {
    auto taken = take(*plan.response_filter, doc);
    if (!taken) {
        return taken.error();
    }
    auto& selected = *taken;
    if (!selected) {
        return no_results(*plan.response_filter);
    }
    if (selected->is_null()) {
        return post_process_failure("Can't run post process function as model output is null");
    }
    switch (plan.post_process->kind) {
        case post_process_kind::embedding:
            return embedding_tensors(std::move(*selected), plan.data_type);
        case post_process_kind::bedrock_embedding:
            return bedrock_embedding_tensors(std::move(*selected), plan.data_type);
        case post_process_kind::cohere_rerank:
            return rerank_tensors(std::move(*selected), "relevance_score");
        case post_process_kind::bedrock_rerank:
            return rerank_tensors(std::move(*selected), "relevanceScore");
        case post_process_kind::bedrock_batch_job_arn:
            return batch_job_arn_tensors(std::move(*selected));
        case post_process_kind::mlcommons_passthrough:
            return passthrough_tensors(std::move(*selected));
    }
    return json::array{};
}

// AbstractConnector.parseResponse for a filtered value: a string holding a JSON object/array is parsed,
// an object is the map itself, anything else is wrapped as {"response": v}.
result<json::object> data_as_map_of(json::value v) {
    if (v.is_string() && is_json_container(v.get_string())) {
        auto parsed = parse_answer(v.get_string());
        if (!parsed) {
            return parsed.error();
        }
        v = std::move(*parsed);
    }
    if (v.is_object()) {
        return std::move(v.get_object());
    }
    return wrapped(std::move(v));
}

// No built-in function: optional response_filter, then the final wrapping.
result<json::array> generic_tensors(const predict_plan& plan, json::value& doc) {
    json::array out(doc.storage());
    if (!plan.response_filter) {
        if (doc.is_object()) {
            out.emplace_back(response_tensor(std::move(doc.get_object())));
        } else if (doc.is_array()) {
            out.emplace_back(response_tensor(wrapped(std::move(doc))));
        } else {
            return post_process_failure("Unsupported response type");
        }
        return out;
    }
    auto taken = take(*plan.response_filter, doc);
    if (!taken) {
        return taken.error();
    }
    auto& selected = *taken;
    if (!selected) {
        return no_results(*plan.response_filter);
    }
    auto map = data_as_map_of(std::move(*selected));
    if (!map) {
        return map.error();
    }
    out.emplace_back(response_tensor(std::move(*map)));
    return out;
}

// XContentParser.text() on a ModelTensor field: the scalar's text, never a container.
result<std::string> tensor_text(const json::value& v) {
    switch (v.kind()) {
        case json::kind::string:
            return std::string(v.get_string());
        case json::kind::null:
            return std::string("null");
        case json::kind::object:
        case json::kind::array:
            return post_process_failure("Can't get text on a " + std::string(token_name(v)));
        default:
            return compact_json_text(v, number_style::java);
    }
}

error expected_token(std::string_view want, const json::value& found) {
    return post_process_failure(
        "Failed to parse object: expecting token of type [" + std::string(want) + "] but found [" +
        std::string(token_name(found)) + "]"
    );
}

// ModelTensor.parser over one object: known fields in ModelTensor's output order (name, data_type, shape,
// data, result, dataAsMap; a byte_buffer is read and dropped, as ModelTensor.parser drops it), unknown
// ones dropped, `data` kept only with a data_type.
result<json::object> model_tensor_of(json::value& v) {
    if (!v.is_object()) {
        return expected_token("START_OBJECT", v);
    }
    auto& in = v.get_object();
    json::object t(in.storage());
    if (auto* name = in.if_contains("name")) {
        auto text = tensor_text(*name);
        if (!text) {
            return text.error();
        }
        t.emplace("name", *text);
    }
    std::optional<std::string> data_type;
    if (auto* dt = in.if_contains("data_type")) {
        auto text = tensor_text(*dt);
        if (!text) {
            return text.error();
        }
        const auto& all = predict_detail::result_data_types;
        if (std::find(all.begin(), all.end(), *text) == all.end()) {
            return post_process_failure(
                "No enum constant org.opensearch.ml.common.output.model.MLResultDataType." + *text
            );
        }
        data_type = *text;
        t.emplace("data_type", *text);
    }
    if (auto* shape = in.if_contains("shape")) {
        if (!shape->is_array()) {
            return expected_token("START_ARRAY", *shape);
        }
        json::array dims(in.storage());
        for (const auto& d : shape->get_array()) {
            if (d.is_int64() || d.is_uint64()) {
                dims.emplace_back(d.to_number<std::int64_t>());
            } else if (d.is_double()) {
                dims.emplace_back(static_cast<std::int64_t>(d.get_double()));
            } else if (auto n = d.is_string() ? parse_java_integer(d.get_string(), LLONG_MIN, LLONG_MAX) : std::nullopt) {
                dims.emplace_back(*n);  // XContent's longValue() coerces a numeric string
            } else {
                return post_process_failure(
                    "Current token (" + std::string(token_name(d)) +
                    ") not numeric, can not use numeric value accessors"
                );
            }
        }
        t.emplace("shape", std::move(dims));
    }
    if (auto* data = in.if_contains("data")) {
        if (!data->is_array()) {
            return post_process_failure(
                "Failed to parse list: expecting START_ARRAY but found " + std::string(token_name(*data))
            );
        }
        if (data_type && !data->get_array().empty()) {
            for (const auto& n : data->get_array()) {
                if (!n.is_number()) {
                    return post_process_failure(
                        "Cannot cast " + std::string(token_name(n)) +
                        " to java.lang.Number in ModelTensor data"
                    );
                }
            }
            t.emplace("data", std::move(*data));
        }
    }
    if (auto* bb = in.if_contains("byte_buffer")) {
        if (!bb->is_object()) {
            return expected_token("START_OBJECT", *bb);
        }
        // ModelTensor.parser reads the buffer but never hands it to the builder: it is not in the output.
    }
    if (auto* res = in.if_contains("result")) {
        auto text = tensor_text(*res);
        if (!text) {
            return text.error();
        }
        t.emplace("result", *text);
    }
    if (auto* map = in.if_contains("dataAsMap"); map != nullptr && !map->is_null()) {
        if (!map->is_object()) {
            return expected_token("START_OBJECT", *map);
        }
        t.emplace("dataAsMap", std::move(map->get_object()));
    }
    return t;
}

// AbstractConnector.parseResponse with modelTensorJson: one ModelTensor object, or an array of them.
result<json::array> model_tensors_of(std::string_view text) {
    auto parsed = parse_answer(text);
    if (!parsed) {
        return parsed.error();
    }
    json::array out;
    if (parsed->is_array()) {
        for (auto& e : parsed->get_array()) {
            auto t = model_tensor_of(e);
            if (!t) {
                return t.error();
            }
            out.emplace_back(std::move(*t));
        }
        return out;
    }
    auto t = model_tensor_of(*parsed);
    if (!t) {
        return t.error();
    }
    out.emplace_back(std::move(*t));
    return out;
}

// ConnectorUtils.processOutput with a Painless post_process_function: the script sees the answer (an
// array wrapped as {"result": [...]}); a null result falls back to the answer itself; a String that is a
// JSON object/array is ModelTensor JSON, any other String is the `response`. A response_filter is read
// from the script's String, as ml-commons does.
// `text` with the raw control characters inside its JSON strings written as escapes (`\t`, `\u0001`),
// when that is all that keeps it from being a JSON object or array; nullopt otherwise. ml-commons'
// injected escape() leaves a TAB as it is, so an LLM answer holding one turns the blueprint's
// `'{"name":"response","dataAsMap":{"response":"' + escape(text) + '"}}'` into almost-JSON.
std::optional<std::string> with_controls_escaped(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos || (text[first] != '{' && text[first] != '[')) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(text.size() + 16);
    bool in_string = false;
    bool changed = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string && c == '\\' && i + 1 < text.size()) {
            out.push_back(c);
            out.push_back(text[++i]);
            continue;
        }
        if (c == '"') {
            in_string = !in_string;
        } else if (in_string && static_cast<unsigned char>(c) < 0x20) {
            static constexpr char hex[] = "0123456789abcdef";
            out.append(c == '\t' ? "\\t" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : "");
            if (c != '\t' && c != '\n' && c != '\r') {
                out.append("\\u00");
                out.push_back(hex[(c >> 4) & 0xF]);
                out.push_back(hex[c & 0xF]);
            }
            changed = true;
            continue;
        }
        out.push_back(c);
    }
    if (!changed || !is_json_container(out)) {
        return std::nullopt;
    }
    return out;
}

result<json::array> script_tensors(const predict_plan& plan, json::value& doc) {
    if (!doc.is_object() && !doc.is_array()) {
        return post_process_failure("Unsupported response type");
    }
    auto ran = doc.is_array() ? painless::run(*plan.post_script, json::object{{"result", doc}})
                              : painless::run(*plan.post_script, doc);
    if (!ran) {
        return post_process_failure(ran.error().reason);
    }
    if (!*ran) {
        return generic_tensors(plan, doc);
    }
    std::string& text = **ran;
    bool tensor_json = is_json_container(text);
    if (!tensor_json) {
        if (auto repaired = with_controls_escaped(text)) {
            text = std::move(*repaired);
            tensor_json = true;
        }
    }
    if (!plan.response_filter) {
        if (tensor_json) {
            return model_tensors_of(text);
        }
        json::array out;
        out.emplace_back(response_tensor(wrapped(json::string(text))));
        return out;
    }
    auto filtered_doc = parse_answer(text);
    if (!filtered_doc) {
        return filtered_doc.error();
    }
    auto taken = take(*plan.response_filter, *filtered_doc);
    if (!taken) {
        return taken.error();
    }
    if (!*taken) {
        return no_results(*plan.response_filter);
    }
    json::value& selected = **taken;
    if (tensor_json) {
        // parseResponse casts the filtered value to String and reads ModelTensor JSON from it.
        if (!selected.is_string()) {
            return post_process_failure(
                "The response_filter must select a String holding ModelTensor JSON from the "
                "post_process_function "
                "result, not " +
                std::string(token_name(selected))
            );
        }
        return model_tensors_of(selected.get_string());
    }
    auto map = data_as_map_of(std::move(selected));
    if (!map) {
        return map.error();
    }
    json::array out;
    out.emplace_back(response_tensor(std::move(*map)));
    return out;
}

json::object element(json::array output, unsigned status) {
    json::object e(output.storage());
    e.reserve(2);
    if (!output.empty()) {
        e.emplace("output", std::move(output));
    }
    e.emplace("status_code", status);
    return e;
}

}  // namespace

namespace {

// What every upstream answer goes through before its JSON is read (MLSdkAsyncHttpResponseHandler):
// an error, an element already decided (a blank answer to a batch cancel), or the text to parse, with
// invalid UTF-8 repaired into `fixed`.
using checked_answer = std::variant<json::object, std::string_view>;

result<checked_answer> check_answer(
    const predict_plan& plan,
    unsigned status,
    std::string_view body,
    long long max_json_size,
    std::string& fixed
) {
    if (utf8::sanitize(body, fixed)) {
        body = fixed;
    }
    // Success is 200..300 inclusive.
    if (status < 200 || status > 300) {
        if (predict_detail::is_blank(body)) {
            return error{
                errc::upstream_status,
                "Remote service returned error status " + std::to_string(status) + " with empty body",
                static_cast<int>(status)};
        }
        std::string reason;
        reason.reserve(27 + body.size());
        reason.append("Error from remote service: ").append(body);
        return error{errc::upstream_status, std::move(reason), static_cast<int>(status)};
    }
    if (predict_detail::is_blank(body)) {
        if (plan.action_type != "CANCEL_BATCH_PREDICT") {
            return error{errc::bad_gateway, "Remote service returned empty response body"};
        }
        // Cancelling a batch job legitimately answers with nothing; report that text as it is.
        json::array out;
        out.emplace_back(response_tensor(wrapped(json::string(body))));
        return checked_answer(element(std::move(out), status));
    }
    if (max_json_size >= 0 && body.size() > static_cast<unsigned long long>(max_json_size)) {
        return illegal_argument(
            "JSON string size exceeds maximum allowed size (" + std::to_string(max_json_size) + " bytes)"
        );
    }
    return checked_answer(body);
}

// A checked answer's text → its element, through the JSON tree.
result<json::object> shape_answer(
    const predict_plan& plan, unsigned status, std::string_view text, json::storage_ptr sp = {}
) {
    auto doc = parse_answer(text, std::move(sp));
    if (!doc) {
        return doc.error();
    }
    auto output = plan.post_process != nullptr ? builtin_tensors(plan, *doc)
                  : plan.post_script           ? script_tensors(plan, *doc)
                                               : generic_tensors(plan, *doc);
    if (!output) {
        return output.error();
    }
    return element(std::move(*output), status);
}

}  // namespace

error remote_throttled(unsigned status) {
    return error{
        errc::upstream_status,
        "Error from remote service: The request was denied due to remote server throttling. To change the "
        "retry policy and behavior, please update the connector client_config.",
        static_cast<int>(status)};
}

result<json::object> finish_call(
    const predict_plan& plan,
    std::size_t call_index,
    unsigned status,
    std::string_view body,
    long long max_json_size,
    json::storage_ptr sp
) {
    BOOST_ASSERT(call_index < plan.calls.size());
    (void)call_index;  // every call of a plan is shaped the same way
    std::string fixed;
    auto checked = check_answer(plan, status, body, max_json_size, fixed);
    if (!checked) {
        return checked.error();
    }
    if (auto* decided = std::get_if<json::object>(&*checked)) {
        return std::move(*decided);
    }
    return shape_answer(plan, status, std::get<std::string_view>(*checked), std::move(sp));
}

result<void> append_call_element(
    std::string& out,
    const predict_plan& plan,
    std::size_t call_index,
    unsigned status,
    std::string_view body,
    long long max_json_size
) {
    BOOST_ASSERT(call_index < plan.calls.size());
    (void)call_index;
    std::string fixed;
    auto checked = check_answer(plan, status, body, max_json_size, fixed);
    if (!checked) {
        return checked.error();
    }
    if (auto* decided = std::get_if<json::object>(&*checked)) {
        append_compact_json(out, *decided);
        return {};
    }
    const std::string_view text = std::get<std::string_view>(*checked);
    // The common answer (a JSON object relayed as dataAsMap) is rewritten straight from the text; when
    // the rewriter gives up, the tree decides.
    if (plan.post_process == nullptr && !plan.post_script && !plan.response_filter) {
        const std::size_t mark = out.size();
        out.append(R"({"output":[{"name":"response","dataAsMap":)");
        if (append_compact_object_text(out, text)) {
            out.append(R"(}],"status_code":)");
            out.append(std::to_string(status));
            out.push_back('}');
            return {};
        }
        out.resize(mark);
    }
    auto shaped = shape_answer(plan, status, text);
    if (!shaped) {
        return shaped.error();
    }
    append_compact_json(out, *shaped);
    return {};
}

}  // namespace modelrelay::registry
