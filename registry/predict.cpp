// File: predict.cpp
// Request side of the predict path: planning the upstream calls (spec ml-commons.md §3, §8.1). Mirrors
// RemoteConnectorExecutor.executeAction/preparePayloadAndInvoke, ConnectorUtils.processInput and
// buildSdkRequest, in their order, so the first error a request hits is the one ml-commons reports.
#include "registry/predict.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <memory>
#include <span>
#include <utility>

#include <boost/assert.hpp>
#include <boost/json/array.hpp>
#include <boost/url/parse.hpp>

#include "registry/json_parse.hpp"
#include "registry/predict_detail.hpp"
#include "registry/setting_value.hpp"
#include "registry/url_shape.hpp"
#include "registry/utf8.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

// ---------------------------------------------------------------------------------------------------
// Built-in pre-process functions (MLPreProcessFunction)

enum class pre_kind {
    openai_embedding,   // OpenAIEmbeddingPreProcessFunction: input = docs as a JSON array
    cohere_embedding,   // CohereEmbeddingPreProcessFunction: texts = docs as a JSON array
    bedrock_embedding,  // BedrockEmbeddingPreProcessFunction: inputText = first doc
    cohere_rerank,      // CohereRerankPreProcessFunction: query, documents, top_n
    bedrock_rerank,     // BedrockRerankPreProcessFunction: queries, sources, numberOfResults
    // The multimodal ones pass docs through as they are (an image is a base64 text doc):
    text_and_image,  // MultiModalConnectorPreProcessFunction: inputText = doc 0, inputImage = doc 1
    cohere_image,    // CohereMultiModalEmbeddingPreProcessFunction: images = doc 0
    nova_image,      // ImageEmbeddingPreProcessFunction: inputImage = doc 0
    nova_video,      // VideoEmbeddingPreProcessFunction: inputVideo = doc 0
    nova_audio,      // AudioEmbeddingPreProcessFunction: inputAudio = doc 0
};

struct builtin_pre_process {
    std::string_view name;
    pre_kind kind;
};

constexpr std::string_view bedrock_embedding_name = "connector.pre_process.bedrock.embedding";

constexpr std::array<builtin_pre_process, 13> builtin_pre_process_functions{{
    {"connector.pre_process.openai.embedding", pre_kind::openai_embedding},
    {"connector.pre_process.default.embedding", pre_kind::openai_embedding},
    {"connector.pre_process.cohere.embedding", pre_kind::cohere_embedding},
    {bedrock_embedding_name, pre_kind::bedrock_embedding},
    {"connector.pre_process.bedrock.nova.text_embedding", pre_kind::bedrock_embedding},
    {"connector.pre_process.cohere.rerank", pre_kind::cohere_rerank},
    {"connector.pre_process.default.rerank", pre_kind::cohere_rerank},
    {"connector.pre_process.bedrock.rerank", pre_kind::bedrock_rerank},
    {"connector.pre_process.cohere.multimodal_embedding", pre_kind::cohere_image},
    {"connector.pre_process.bedrock.multimodal_embedding", pre_kind::text_and_image},
    {"connector.pre_process.bedrock.nova.image_embedding", pre_kind::nova_image},
    {"connector.pre_process.bedrock.nova.video_embedding", pre_kind::nova_video},
    {"connector.pre_process.bedrock.nova.audio_embedding", pre_kind::nova_audio},
}};

constexpr std::string_view default_embedding_name = "connector.pre_process.default.embedding";
constexpr std::string_view process_remote_inference_input_key =
    "pre_process_function.process_remote_inference_input";
constexpr std::string_view step_size_key = "input_docs_processed_step_size";

const builtin_pre_process* find_builtin_pre_process(std::string_view name) {
    for (const auto& f : builtin_pre_process_functions) {
        if (f.name == name) {
            return &f;
        }
    }
    return nullptr;
}

error painless_not_supported(std::string_view which, std::string_view function) {
    if (function.starts_with("connector.")) {
        return illegal_argument(
            std::string(which) + " " + std::string(function) + " is not supported by modelrelay"
        );
    }
    return illegal_argument(
        "Painless scripts in " + std::string(which) +
        " are not supported by modelrelay; use a built-in function (connector.pre_process.* / "
        "connector.post_process.*) or remove it"
    );
}

// gson `toJson(List<String>)`: the docs as a compact, HTML-safe JSON array (null elements kept).
std::string docs_json(std::span<const std::optional<std::string>> docs) {
    json::array arr;
    arr.reserve(docs.size());
    for (const auto& d : docs) {
        if (d) {
            arr.emplace_back(json::string(*d));
        } else {
            arr.emplace_back(nullptr);
        }
    }
    return stringify_parameter(json::value(std::move(arr)));
}

// ConnectorPreProcessFunction.validateTextDocsInput
result<void> require_text_docs(const predict_request& r, std::span<const std::optional<std::string>> docs) {
    if (r.kind != predict_input_kind::text_docs) {
        return illegal_argument("This pre_process_function can only support TextDocsInputDataSet");
    }
    if (docs.size() == 1 && !docs[0]) {
        return illegal_argument("No input text or image provided");
    }
    return {};
}

// One built-in function applied to one chunk of input; the result is already escaped the way
// ConnectorUtils.processInput escapes a pre-process result (escapeRemoteInferenceInputData).
result<param_map> run_builtin_pre_process(
    const builtin_pre_process& f, const predict_request& r, std::span<const std::optional<std::string>> docs
) {
    param_map out;
    switch (f.kind) {
        case pre_kind::openai_embedding:
        case pre_kind::cohere_embedding: {
            if (auto v = require_text_docs(r, docs); !v) {
                return v.error();
            }
            out.emplace(f.kind == pre_kind::openai_embedding ? "input" : "texts", docs_json(docs));
            break;
        }
        case pre_kind::bedrock_embedding: {
            if (auto v = require_text_docs(r, docs); !v) {
                return v.error();
            }
            if (docs.empty() || !docs[0]) {
                return illegal_argument("No input text or image provided");
            }
            out.emplace("inputText", *docs[0]);
            break;
        }
        case pre_kind::cohere_rerank:
        case pre_kind::bedrock_rerank: {
            if (r.kind != predict_input_kind::text_similarity) {
                return illegal_argument(
                    "This pre_process_function can only support TextSimilarityInputDataSet"
                );
            }
            const std::string& query = r.query_text.value_or(std::string());
            const std::string count = std::to_string(r.text_docs.size());
            if (f.kind == pre_kind::cohere_rerank) {
                out.emplace("query", query);
                out.emplace("documents", docs_json(r.text_docs));
                out.emplace("top_n", count);
            } else {
                // ml-commons builds these with Map.of, whose iteration order is randomised per JVM; the
                // order below (the source order) is as good as any and stable.
                json::array queries{
                    json::object{{"textQuery", json::object{{"text", query}}}, {"type", "TEXT"}}};
                json::array sources;
                sources.reserve(r.text_docs.size());
                for (const auto& d : r.text_docs) {
                    sources.emplace_back(json::object{
                        {"inlineDocumentSource",
                         json::object{
                             {"textDocument", json::object{{"text", d.value_or("")}}}, {"type", "TEXT"}}},
                        {"type", "INLINE"}});
                }
                out.emplace("queries", to_gson_json(queries, true, false, key_order::insertion));
                out.emplace("sources", to_gson_json(sources, true, false, key_order::insertion));
                out.emplace("numberOfResults", count);
            }
            break;
        }
        case pre_kind::text_and_image:
        case pre_kind::cohere_image:
        case pre_kind::nova_image:
        case pre_kind::nova_video:
        case pre_kind::nova_audio: {
            if (r.kind != predict_input_kind::text_docs) {
                return illegal_argument("This pre_process_function can only support TextDocsInputDataSet");
            }
            // Each function's own validate(): the text-and-image ones refuse a lone null doc too.
            const bool lone_null = docs.size() == 1 && !docs[0];
            if (f.kind == pre_kind::text_and_image && (docs.empty() || lone_null)) {
                return illegal_argument("No input text or image provided");
            }
            if (f.kind == pre_kind::cohere_image && (docs.empty() || lone_null)) {
                return illegal_argument("No image provided");
            }
            if (docs.empty()) {
                return illegal_argument(
                    f.kind == pre_kind::nova_image   ? "No input image provided"
                    : f.kind == pre_kind::nova_video ? "No input video provided"
                                                     : "No input audio provided"
                );
            }
            // A null doc leaves its parameter unset (Java's substitutor then leaves the placeholder, which
            // is the missing-parameter error).
            const auto put = [&](std::string_view name, std::size_t i) {
                if (i < docs.size() && docs[i]) {
                    out.emplace(std::string(name), *docs[i]);
                }
            };
            switch (f.kind) {
                case pre_kind::text_and_image:
                    put("inputText", 0);
                    put("inputImage", 1);
                    break;
                case pre_kind::cohere_image:
                    put("images", 0);
                    break;
                case pre_kind::nova_image:
                    put("inputImage", 0);
                    break;
                case pre_kind::nova_video:
                    put("inputVideo", 0);
                    break;
                default:
                    put("inputAudio", 0);
                    break;
            }
            break;
        }
    }
    return escape_request_parameters(out);
}

// What the pre-process step does for this request (ConnectorUtils.processMLInput).
struct pre_process_step {
    const builtin_pre_process* builtin = nullptr;  // null: nothing to add (pass-through)
    // A Painless pre_process_function for text_docs / text_similarity input (DefaultPreProcessFunction).
    std::shared_ptr<const painless::script> script;
};

// gson `toJson(doc)` without its quotes (StringUtils.processTextDoc): what escapeMLInput hands a script.
std::optional<std::string> process_text_doc(const std::optional<std::string>& doc) {
    if (!doc) {
        return std::nullopt;
    }
    std::string quoted = to_gson_json(json::string(*doc), true, false, key_order::insertion);
    return quoted.substr(1, quoted.size() - 2);
}

// gson's reading of JSON into Object: every number is a Double.
void numbers_as_doubles(json::value& v) {
    if (v.is_int64() || v.is_uint64()) {
        v = v.to_number<double>();
    } else if (v.is_array()) {
        for (auto& e : v.get_array()) {
            numbers_as_doubles(e);
        }
    } else if (v.is_object()) {
        for (auto& kv : v.get_object()) {
            numbers_as_doubles(kv.value());
        }
    }
}

// DefaultPreProcessFunction: the script sees the input as MLInput.toXContent writes it after
// escapeMLInput (`text_docs`, and `query_text` for text similarity, each gson-escaped without quotes) and
// returns `{"parameters": {...}}`; each value is kept as a String or written with gson
// (convertScriptStringToJsonString), then escaped as every pre-process result is.
result<param_map> run_script_pre_process(
    const painless::script& script, const predict_request& r, std::span<const std::optional<std::string>> docs
) {
    json::object input;
    if (r.kind == predict_input_kind::text_similarity && r.query_text) {
        input.emplace("query_text", *process_text_doc(r.query_text));
    }
    if (!docs.empty()) {
        json::array list;
        for (const auto& d : docs) {
            auto escaped = process_text_doc(d);
            list.emplace_back(escaped ? json::value(json::string(*escaped)) : json::value(nullptr));
        }
        input.emplace("text_docs", std::move(list));
    }
    auto ran = painless::run(script, input);
    if (!ran) {
        return ran.error();
    }
    if (!*ran) {
        return illegal_argument("Preprocess function output is null");
    }
    boost::system::error_code ec;
    json::value out = parse_json(**ran, ec);
    if (ec || !out.is_object()) {
        return illegal_argument("The pre_process_function result is not a JSON object");
    }
    param_map produced;
    if (auto* p = out.get_object().if_contains("parameters"); p != nullptr && !p->is_null()) {
        if (!p->is_object()) {
            return illegal_argument("The pre_process_function result's parameters must be a JSON object");
        }
        for (auto& kv : p->get_object()) {
            json::value& v = kv.value();
            if (v.is_string()) {
                produced.insert_or_assign(std::string(kv.key()), std::string(v.get_string()));
            } else {
                numbers_as_doubles(v);
                produced.insert_or_assign(
                    std::string(kv.key()), stringify_parameter(v, key_order::insertion)
                );
            }
        }
    }
    return escape_request_parameters(produced);
}

result<pre_process_step> choose_pre_process(
    const compiled_action& action, const predict_request& r, const param_map& params
) {
    pre_process_step step;
    if (action.pre_process_function.empty()) {
        switch (r.kind) {
            case predict_input_kind::parameters:
                return step;
            case predict_input_kind::text_docs:
                step.builtin = find_builtin_pre_process(default_embedding_name);
                return step;
            default:
                return illegal_argument("pre_process_function not defined in connector");
        }
    }
    auto rendered = render_process_function(action.pre_process_function, params);
    if (!rendered) {
        return rendered.error();
    }
    if (const auto* f = find_builtin_pre_process(*rendered)) {
        // Every built-in returns a RemoteInferenceInputDataSet unchanged
        // (returnDirectlyForRemoteInferenceInput).
        if (r.kind != predict_input_kind::parameters) {
            step.builtin = f;
        }
        return step;
    }
    if (r.kind == predict_input_kind::parameters) {
        // A custom script only runs on `parameters` input when asked to (issue #2986); otherwise ml-commons
        // ignores it silently, and so do we.
        const auto* run = find_param(params, process_remote_inference_input_key);
        if (run == nullptr || !iequals_ascii(*run, "true")) {
            return step;
        }
        return illegal_argument(
            "A Painless pre_process_function on parameters input (" +
            std::string(process_remote_inference_input_key) + "=true) is not supported by modelrelay"
        );
    }
    if ((r.kind != predict_input_kind::text_docs && r.kind != predict_input_kind::text_similarity) ||
        !painless::is_painless_function(*rendered)) {
        return painless_not_supported("pre_process_function", *rendered);
    }
    if (action.pre_script && *rendered == action.pre_process_function) {
        step.script = action.pre_script;
        return step;
    }
    auto script = painless::compile_cached(*rendered);
    if (!script) {
        return illegal_argument("Invalid pre_process_function: " + script.error().reason);
    }
    step.script = std::move(*script);
    return step;
}

// Java Integer.parseInt, with its NumberFormatException text.
result<int> parse_java_int(const std::string& s) {
    const auto v = parse_java_integer(s, std::numeric_limits<int>::min(), std::numeric_limits<int>::max());
    if (!v) {
        return error(errc::number_format, "For input string: \"" + s + "\"");
    }
    return static_cast<int>(*v);
}

// RemoteConnectorExecutor.calculateChunkSize: how many docs go into one upstream call.
result<std::size_t> docs_per_call(
    const compiled_connector& c, const compiled_action& action, std::size_t docs
) {
    if (const auto* step = find_param(c.parameters, step_size_key)) {
        auto n = parse_java_int(*step);
        if (!n) {
            return n.error();
        }
        if (*n <= 0) {
            return illegal_argument(
                "Invalid parameter: input_docs_processed_step_size. It must be positive integer."
            );
        }
        return static_cast<std::size_t>(*n);
    }
    const std::string& pre = action.pre_process_function;
    if (pre.empty()) {
        return docs;
    }
    // Bedrock and custom scripts take one doc per call; every other built-in takes them all.
    if (pre == bedrock_embedding_name || find_builtin_pre_process(pre) == nullptr) {
        return std::size_t{1};
    }
    return docs;
}

// ---------------------------------------------------------------------------------------------------
// Building one upstream request (HttpJsonConnectorExecutor.invokeRemoteService,
// ConnectorUtils.buildSdkRequest)

enum class charset { utf8, ascii, latin1 };

result<charset> charset_of(const param_map& params) {
    const auto* name = find_param(params, "charset");
    if (name == nullptr) {
        return charset::utf8;
    }
    const std::string n = ascii_lower_copy(*name);
    static constexpr std::array<std::string_view, 3> utf8_names{"utf-8", "utf8", "unicode-1-1-utf-8"};
    static constexpr std::array<std::string_view, 14> ascii_names{
        "us-ascii",
        "ascii",
        "iso646-us",
        "us",
        "646",
        "ascii7",
        "cp367",
        "csascii",
        "default",
        "iso_646.irv:1991",
        "iso-ir-6",
        "ibm367",
        "ansi_x3.4-1968",
        "ansi_x3.4-1986"};
    static constexpr std::array<std::string_view, 15> latin1_names{
        "iso-8859-1",
        "iso8859_1",
        "iso_8859_1",
        "iso8859-1",
        "latin1",
        "l1",
        "ibm819",
        "cp819",
        "csisolatin1",
        "819",
        "iso-ir-100",
        "iso_8859-1:1987",
        "iso_8859-1",
        "8859_1",
        "ibm-819"};
    const auto in = [&](const auto& names) {
        return std::find(names.begin(), names.end(), n) != names.end();
    };
    if (in(utf8_names)) {
        return charset::utf8;
    }
    if (in(ascii_names)) {
        return charset::ascii;
    }
    if (in(latin1_names)) {
        return charset::latin1;
    }
    return illegal_argument("Unsupported charset: " + *name);
}

// String.getBytes(charset): code points the charset cannot hold become '?'.
void encode(std::string& body, charset cs) {
    if (cs == charset::utf8) {
        return;
    }
    const char32_t limit = cs == charset::ascii ? 0x80 : 0x100;
    std::string out;
    out.reserve(body.size());
    for (std::size_t i = 0; i < body.size();) {
        const char32_t cp = utf8::decode(body, i);
        out.push_back(cp < limit ? static_cast<char>(static_cast<unsigned char>(cp)) : '?');
    }
    body = std::move(out);
}

result<void> check_url(std::string_view url) {
    // The rendered URL is the same call after call for a model; the last one this thread accepted is
    // remembered (a Boost.URL parse was ~3 % of a predict). Only successes are cached, so the error path
    // is unchanged.
    thread_local std::string last_accepted;
    if (!last_accepted.empty() && url == last_accepted) {
        return {};
    }
    auto u = boost::urls::parse_uri(url);
    if (!u || !u->has_authority() || u->encoded_host().empty()) {
        return illegal_argument(std::string(invalid_uri_text));
    }
    const auto scheme = u->scheme();
    if (!iequals_ascii(scheme, "http") && !iequals_ascii(scheme, "https")) {
        return illegal_argument("Protocol is not http or https: " + std::string(scheme));
    }
    last_accepted.assign(url);
    return {};
}

// The payload ml-commons would create: request_body rendered (with the §3.2 checks), or the raw
// `http_body` parameter when the action has no request_body (nullopt when that is absent too).
result<std::optional<std::string>> render_payload(
    const compiled_action& action, const param_map& params, const predict_options& options
) {
    if (!action.request_body) {
        const auto* raw = find_param(params, "http_body");
        if (raw == nullptr) {
            return std::optional<std::string>();
        }
        if (auto r = check_missing_parameters(*raw, params); !r) {
            return r.error();
        }
        return std::optional<std::string>(*raw);
    }
    auto body = render_body(*action.request_body, params);
    if (!body) {
        return body.error();
    }
    if (options.streaming && wants_stream_flag(params)) {
        auto flagged = add_stream_flag(*body);
        if (!flagged) {
            return flagged.error();
        }
        *body = std::move(*flagged);
    }
    if (action.supports_structured_output) {
        auto structured = apply_structured_output(*body, params);
        if (!structured) {
            return structured.error();
        }
        if (*structured) {
            *body = std::move(**structured);
        }
    }
    return std::optional<std::string>(std::move(*body));
}

result<upstream_call> build_call(
    const compiled_action& action,
    std::string_view action_type,
    const param_map& params,
    const predict_options& options
) {
    upstream_call call;
    auto payload = render_payload(action, params, options);
    if (!payload) {
        return payload.error();
    }
    call.method = ascii_upper_copy(action.method);
    if (call.method != "POST" && call.method != "GET" && call.method != "PUT" && call.method != "DELETE") {
        return illegal_argument("unsupported http method");
    }
    auto cs = charset_of(params);
    if (!cs) {
        return cs.error();
    }
    if (*payload) {
        call.body = std::move(**payload);
        encode(call.body, *cs);
    }
    if (call.method == "POST" && call.body.empty() && action_type != "CANCEL_BATCH_PREDICT") {
        return illegal_argument("Content length is 0. Aborting request to remote model");
    }
    // ml-commons' createPayload adds the `.toString()` keys to the shared map, so URL and headers see them.
    const param_map extras = to_string_extras(params);
    const param_map* extras_ptr = extras.empty() ? nullptr : &extras;
    auto url = render_url(action.url, params, extras_ptr);
    if (!url) {
        return url.error();
    }
    if (auto ok = check_url(*url); !ok) {
        return ok.error();
    }
    call.url = std::move(*url);
    call.headers.reserve(action.headers.size() + 1);
    for (const auto& [name, value] : action.headers) {
        auto v = render_header(name, value, params, extras_ptr);
        if (!v) {
            return v.error();
        }
        call.headers.emplace_back(name, std::move(*v));
    }
    if (auto ok = check_total_header_size(call.headers); !ok) {
        return ok.error();
    }
    add_default_content_type(call.headers);
    return call;
}

// The built-in post-process paths, compiled on first use and shared by every plan afterwards.
std::shared_ptr<const json_path> builtin_filter(const builtin_post_process& f) {
    static const auto compiled = [] {
        std::array<std::shared_ptr<const json_path>, builtin_post_process_functions.size()> all;
        for (std::size_t i = 0; i < all.size(); ++i) {
            auto p = json_path::compile(builtin_post_process_functions[i].response_filter);
            BOOST_ASSERT(p.has_value());
            all[i] = std::make_shared<const json_path>(std::move(*p));
        }
        return all;
    }();
    return compiled[static_cast<std::size_t>(&f - builtin_post_process_functions.data())];
}

result<std::shared_ptr<const json_path>> compile_filter(std::string_view path) {
    auto compiled = json_path::compile(path);
    if (!compiled) {
        return compiled.error();
    }
    return std::make_shared<const json_path>(std::move(*compiled));
}

// The `response_filter` parameter, when given, compiled into the plan.
result<void> plan_response_filter(predict_plan& plan, const std::string* filter_param) {
    if (filter_param != nullptr) {
        auto compiled = compile_filter(*filter_param);
        if (!compiled) {
            return compiled.error();
        }
        plan.response_filter = std::move(*compiled);
    }
    return {};
}

// Response shaping decided at plan time (ConnectorUtils.processOutput, minus the response).
result<void> plan_post_process(predict_plan& plan, const compiled_action& action, const param_map& params) {
    const std::string* filter_param = find_param(params, "response_filter");
    if (!action.post_process_function.empty()) {
        auto rendered = render_process_function(action.post_process_function, params);
        if (!rendered) {
            return rendered.error();
        }
        const auto* builtin = find_builtin_post_process(*rendered);
        if (builtin == nullptr) {
            if (!painless::is_painless_function(*rendered)) {
                return painless_not_supported("post_process_function", *rendered);
            }
            if (action.post_script && *rendered == action.post_process_function) {
                plan.post_script = action.post_script;
            } else {
                auto script = painless::compile_cached(*rendered);
                if (!script) {
                    return illegal_argument("Invalid post_process_function: " + script.error().reason);
                }
                plan.post_script = std::move(*script);
            }
            return plan_response_filter(plan, filter_param);  // applied to the script's result
        }
        plan.post_process = builtin;
        if (filter_param != nullptr && !predict_detail::is_blank(*filter_param)) {
            auto compiled = compile_filter(*filter_param);
            if (!compiled) {
                return compiled.error();
            }
            plan.response_filter = std::move(*compiled);
        } else {
            plan.response_filter = builtin_filter(*builtin);
        }
        plan.data_type = predict_detail::data_type_of_filter(plan.response_filter->source());
        return {};
    }
    return plan_response_filter(plan, filter_param);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------

bool plan_may_run_script(const compiled_connector& connector, const predict_request& request) {
    if (request.kind != predict_input_kind::text_docs &&
        request.kind != predict_input_kind::text_similarity) {
        return false;
    }
    const compiled_action* action = connector.find_action(request.action_type);
    return action != nullptr && !action->pre_process_function.empty() &&
           find_builtin_pre_process(action->pre_process_function) == nullptr;
}

result<predict_plan> plan_predict(
    const compiled_connector& connector, const predict_request& request, predict_options options
) {
    const compiled_action* action = connector.find_action(request.action_type);
    if (action == nullptr) {
        return illegal_argument("no " + request.action_type + " action found");
    }
    predict_plan plan;
    plan.action = action;
    plan.action_type = request.action_type;

    // §3.1: connector parameters (never escaped) → escaped request parameters → algorithm parameters.
    param_map base = connector.parameters;
    base.reserve(base.size() + request.parameters.size() + request.algorithm_parameters.size());
    const auto make_request_values_opaque = [&](param_map& into) {
        if (options.opaque_request_values && request.kind == predict_input_kind::parameters) {
            for (const auto& kv : request.parameters) {
                if (auto it = into.find(kv.key()); it != into.end()) {
                    make_placeholders_opaque(it->second);
                }
            }
        }
    };
    if (request.kind == predict_input_kind::parameters) {
        overlay_request_parameters(base, request.parameters);
        make_request_values_opaque(base);
    }
    for (const auto& [k, v] : request.algorithm_parameters) {
        const auto it = base.insert_or_assign(k, v).first;
        if (options.opaque_request_values) {
            make_placeholders_opaque(it->second);
        }
    }
    for (std::string_view chain : {"input_processors", "output_processors"}) {
        if (find_param(base, chain) != nullptr) {
            return illegal_argument(
                "Parameter " + std::string(chain) + " (processor chains) is not supported by modelrelay"
            );
        }
    }

    // Text docs are split into chunks before anything else (executeAction); other inputs make one call.
    std::size_t per_call = request.text_docs.size();
    if (request.kind == predict_input_kind::text_docs) {
        auto n = docs_per_call(connector, *action, request.text_docs.size());
        if (!n) {
            return n.error();
        }
        per_call = *n;
    }
    auto pre = choose_pre_process(*action, request, base);
    if (!pre) {
        return pre.error();
    }

    const auto add_call = [&](std::span<const std::optional<std::string>> docs) -> result<void> {
        if (pre->builtin == nullptr && !pre->script) {
            auto call = build_call(*action, plan.action_type, base, options);
            if (!call) {
                return call.error();
            }
            call->aws = connector.aws;
            call->secrets = connector.secrets;
            plan.calls.push_back(std::move(*call));
            return {};
        }
        auto produced = pre->script ? run_script_pre_process(*pre->script, request, docs)
                                    : run_builtin_pre_process(*pre->builtin, request, docs);
        if (!produced) {
            return produced.error();
        }
        // Pre-process output, then the request parameters again: the request always wins.
        param_map merged = base;
        for (auto& [k, v] : *produced) {
            if (options.opaque_request_values) {
                make_placeholders_opaque(v);
            }
            merged.insert_or_assign(k, std::move(v));
        }
        if (request.kind == predict_input_kind::parameters) {
            overlay_request_parameters(merged, request.parameters);
            make_request_values_opaque(merged);
        }
        auto call = build_call(*action, plan.action_type, merged, options);
        if (!call) {
            return call.error();
        }
        call->aws = connector.aws;
        call->secrets = connector.secrets;
        plan.calls.push_back(std::move(*call));
        return {};
    };

    if (request.kind == predict_input_kind::text_docs) {
        const std::span<const std::optional<std::string>> docs(request.text_docs);
        plan.calls.reserve((docs.size() + per_call - 1) / per_call);
        for (std::size_t at = 0; at < docs.size(); at += per_call) {
            if (auto r = add_call(docs.subspan(at, std::min(per_call, docs.size() - at))); !r) {
                return r.error();
            }
        }
    } else if (auto r = add_call(std::span<const std::optional<std::string>>(request.text_docs)); !r) {
        return r.error();
    }

    if (auto r = plan_post_process(plan, *action, base); !r) {
        return r.error();
    }
    return plan;
}

}  // namespace modelrelay::registry
