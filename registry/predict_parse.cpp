// File: predict_parse.cpp
// The predict request body as ml-commons' parsers read it (spec ml-commons.md §1.4): the `remote` parser
// (RemoteInferenceMLInput), the generic MLInput parser used by text_embedding / sparse_* and the
// TextSimilarityMLInput parser. `{algorithm}` only selects the parser; execution is always remote.
#include <algorithm>
#include <array>
#include <utility>

#include "registry/json_util.hpp"
#include "registry/predict.hpp"
#include "registry/predict_detail.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

// XContentParser.text() on one element: strings raw, numbers and booleans as text, null kept as null
// (the request schema allows it), containers refused like Jackson does.
result<std::optional<std::string>> element_text(const json::value& v) {
    switch (v.kind()) {
        case json::kind::string:
            return std::optional<std::string>(std::string(v.get_string()));
        case json::kind::bool_:
            return std::optional<std::string>(v.get_bool() ? "true" : "false");
        case json::kind::int64:
            return std::optional<std::string>(std::to_string(v.get_int64()));
        case json::kind::uint64:
            return std::optional<std::string>(std::to_string(v.get_uint64()));
        case json::kind::double_:
            return std::optional<std::string>(java_double_to_string(v.get_double()));
        case json::kind::null:
            return std::optional<std::string>();
        default:
            return error{errc::illegal_state, "Can't get text on a " + std::string(token_name(v))};
    }
}

// ---------------------------------------------------------------------------------------------------
// Body parsers (RemoteInferenceMLInput, MLInput, TextSimilarityMLInput)

// ml-commons FunctionName, the names `_predict/{algorithm}` accepts.
constexpr std::array<std::string_view, 19> function_names{
    "LINEAR_REGRESSION",
    "KMEANS",
    "AD_LIBSVM",
    "SAMPLE_ALGO",
    "LOCAL_SAMPLE_CALCULATOR",
    "FIT_RCF",
    "BATCH_RCF",
    "ANOMALY_LOCALIZATION",
    "RCF_SUMMARIZE",
    "LOGISTIC_REGRESSION",
    "TEXT_EMBEDDING",
    "METRICS_CORRELATION",
    "REMOTE",
    "SPARSE_ENCODING",
    "SPARSE_TOKENIZE",
    "TEXT_SIMILARITY",
    "QUESTION_ANSWERING",
    "AGENT",
    "CONNECTOR",
};

constexpr std::array<std::string_view, 5> action_types{
    "PREDICT", "EXECUTE", "BATCH_PREDICT", "CANCEL_BATCH_PREDICT", "BATCH_PREDICT_STATUS"};

result<std::vector<std::optional<std::string>>> parse_text_docs(const json::value& v) {
    if (!v.is_array()) {
        return error{
            errc::parsing,
            "Failed to parse object: expecting token of type [START_ARRAY] but found [" +
                std::string(token_name(v)) + "]"};
    }
    std::vector<std::optional<std::string>> docs;
    docs.reserve(v.get_array().size());
    for (const auto& e : v.get_array()) {
        auto t = element_text(e);
        if (!t) {
            return t.error();
        }
        docs.push_back(std::move(*t));
    }
    return docs;
}

result<void> parse_remote(json::object& body, predict_request& out) {
    out.kind = predict_input_kind::parameters;
    if (auto* p = body.if_contains("parameters"); p != nullptr && !p->is_null()) {
        // RemoteInferenceInputDataSet.parse reads `parameters` with parser.map(), which answers an empty
        // map for a value token ("x", 1, true) and goes on with the next field.
        if (p->is_array()) {
            return error{
                errc::parsing,
                "Failed to parse object: expecting token of type [START_OBJECT] but found [" +
                    std::string(token_name(*p)) + "]"};
        }
        if (p->is_object()) {
            // Same storage on both sides, so this takes the body's object instead of copying it.
            out.parameters = std::move(p->get_object());
        }
    }
    if (const auto* a = body.if_contains("action_type"); a != nullptr && !a->is_null()) {
        auto text = element_text(*a);
        if (!text) {
            return text.error();
        }
        const std::string raw = text->value_or("");
        std::string upper = ascii_upper_copy(raw);
        if (std::find(action_types.begin(), action_types.end(), upper) == action_types.end()) {
            return illegal_argument("Wrong Action Type of " + raw);
        }
        out.action_type = std::move(upper);
    }
    return {};
}

// AsymmetricTextEmbeddingParameters.parse + toXContent + getParameterMap.
result<void> parse_text_embedding_parameters(const json::object& p, param_map& out) {
    std::optional<std::string> content_type;
    std::string format = "WORD";
    for (const auto& kv : p) {
        if (kv.key() != "content_type" && kv.key() != "sparse_embedding_format") {
            continue;
        }
        auto text = element_text(kv.value());
        if (!text) {
            return text.error();
        }
        const std::string upper = ascii_upper_copy(text->value_or(""));
        if (kv.key() == "content_type") {
            if (upper != "QUERY" && upper != "PASSAGE") {
                return illegal_argument(
                    "No enum constant org.opensearch.ml.common.input.parameter.textembedding."
                    "AsymmetricTextEmbeddingParameters.EmbeddingContentType." +
                    upper
                );
            }
            content_type = upper;
        } else {
            if (upper != "WORD" && upper != "TOKEN_ID") {
                return illegal_argument(
                    "No enum constant "
                    "org.opensearch.ml.common.input.parameter.textembedding.SparseEmbeddingFormat." +
                    upper
                );
            }
            format = upper;
        }
    }
    if (content_type) {
        out.insert_or_assign("content_type", *content_type);
    }
    out.insert_or_assign("sparse_embedding_format", format);
    return {};
}

result<void> parse_text_docs_input(const json::object& body, predict_request& out) {
    out.kind = predict_input_kind::text_docs;
    for (const auto& kv : body) {
        if (kv.key() == "text_docs") {
            auto docs = parse_text_docs(kv.value());
            if (!docs) {
                return docs.error();
            }
            out.text_docs = std::move(*docs);
        } else if (kv.key() == "parameters" && !kv.value().is_null()) {
            if (!kv.value().is_object()) {
                return error{
                    errc::parsing,
                    "Failed to parse object: expecting token of type [START_OBJECT] but found [" +
                        std::string(token_name(kv.value())) + "]"};
            }
            if (auto r = parse_text_embedding_parameters(kv.value().get_object(), out.algorithm_parameters);
                !r) {
                return r.error();
            }
        }
    }
    if (out.text_docs.empty()) {
        return illegal_argument("empty docs");
    }
    return {};
}

result<void> parse_text_similarity(const json::object& body, predict_request& out) {
    out.kind = predict_input_kind::text_similarity;
    for (const auto& kv : body) {
        if (kv.key() == "text_docs") {
            auto docs = parse_text_docs(kv.value());
            if (!docs) {
                return docs.error();
            }
            for (const auto& d : *docs) {
                if (!d) {
                    return error{errc::illegal_state, "Can't get text on a VALUE_NULL"};
                }
            }
            out.text_docs = std::move(*docs);
        } else if (kv.key() == "query_text") {
            auto q = element_text(kv.value());
            if (!q) {
                return q.error();
            }
            out.query_text = std::move(*q);
        }
    }
    if (out.text_docs.empty()) {
        return illegal_argument("No text documents were provided");
    }
    if (!out.query_text) {
        return illegal_argument("No query text was provided");
    }
    return {};
}

}  // namespace

result<predict_request> parse_predict_body(json::value&& body, std::string_view algorithm) {
    const std::string function = algorithm.empty() ? std::string("REMOTE") : ascii_upper_copy(algorithm);
    if (std::find(function_names.begin(), function_names.end(), function) == function_names.end()) {
        return illegal_argument("Wrong function name");
    }
    if (body.is_null()) {
        return error{errc::parse_failed, "request body is required"};
    }
    if (!body.is_object()) {
        return error{
            errc::parsing,
            "Failed to parse object: expecting token of type [START_OBJECT] but found [" +
                std::string(token_name(body)) + "]"};
    }
    auto& obj = body.get_object();
    // `parameters` is built in the body's storage (an arena, on the _predict path): assignment keeps a
    // json::object's storage, so it has to be chosen here, at construction.
    predict_request out{predict_input_kind::parameters, json::object(body.storage())};
    result<void> parsed;
    if (function == "REMOTE") {
        parsed = parse_remote(obj, out);
    } else if (function == "TEXT_EMBEDDING" || function == "SPARSE_ENCODING" || function == "SPARSE_TOKENIZE") {
        parsed = parse_text_docs_input(obj, out);
    } else if (function == "TEXT_SIMILARITY") {
        parsed = parse_text_similarity(obj, out);
    } else {
        out.kind = predict_input_kind::none;
    }
    if (!parsed) {
        return parsed.error();
    }
    return out;
}

}  // namespace modelrelay::registry
