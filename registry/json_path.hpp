// File: json_path.hpp
// The JsonPath subset ml-commons uses on upstream responses: the `response_filter` parameter and the paths
// of the built-in post-process functions (spec ml-commons.md §4, §8.1). ml-commons evaluates them with
// Jayway JsonPath's default configuration; the miss rules below are Jayway's.
//
// Supported syntax (anything else fails to compile):
//   `$` root (a path not starting with `$` gets `$.` prepended, as Jayway does);
//   `.key` and `['key']` / `["key"]` (quoted names may contain any character; `\'` `\"` `\\` escapes);
//   `[n]` with n < 0 counting from the end; `[n,m,...]` several indexes; `[from:to]` slices (either bound
//   optional, negative bounds count from the end); `.*` / `[*]` wildcard over object values or array
//   elements; `..key`, `..*`, `..[n]` deep scan (pre-order: a node before its children).
//   Not supported: filters `[?(...)]`, functions `.length()`, several names in one bracket.
//
// Results:
//   - a definite path (only names and single indexes) yields the one value it reaches, or "miss";
//   - an indefinite path (wildcard, slice, several indexes, deep scan) yields a JSON array of every match
//     (possibly empty), except that Jayway still reports a miss when a step of the definite leading part
//     finds no object/array to step into, or a non-final name is absent there (`$.data[*].x` on `{}`).
// ml-commons turns a miss into PathNotFoundException; what modelrelay does with it is the caller's choice.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

#include "registry/error.hpp"

namespace modelrelay::registry {

class json_path {
public:
    // Fails with illegal_argument `Invalid JSON path: <path>` (unsupported or malformed syntax).
    static result<json_path> compile(std::string_view path);

    const std::string& source() const { return source_; }
    bool is_definite() const { return definite_; }

    // See the file comment. nullopt = miss. The returned value is a copy (uses the default memory resource).
    std::optional<boost::json::value> evaluate(const boost::json::value& doc) const;

    // The same, without copying: pointers into `doc`, in match order. nullopt = miss; a definite path
    // that matched returns exactly one pointer.
    std::optional<std::vector<const boost::json::value*>> select(const boost::json::value& doc) const;

private:
    enum class op { property, wildcard, indexes, slice };
    struct step {
        op kind = op::property;
        bool deep = false;  // preceded by `..`
        std::string key;
        std::vector<std::int64_t> indexes;
        std::optional<std::int64_t> from;
        std::optional<std::int64_t> to;
        // Jayway "token definite": a single name or a single index, not a scan.
        bool definite() const {
            return !deep && (kind == op::property || (kind == op::indexes && indexes.size() == 1));
        }
    };
    struct eval_state;

    void apply(std::size_t i, const boost::json::value& node, bool upstream_definite, eval_state& st) const;
    void apply_op(std::size_t i, const boost::json::value& node, bool upstream_definite, eval_state& st)
        const;
    void scan(std::size_t i, const boost::json::value& node, eval_state& st) const;

    std::string source_;
    std::vector<step> steps_;
    bool definite_ = true;
};

// ---------------------------------------------------------------------------------------------------
// Built-in post-process functions (ml-commons MLPostProcessFunction): the JsonPath each one applies to
// the upstream body (a `response_filter` parameter overrides it) and the converter that turns the
// selection into tensors.

enum class post_process_kind {
    embedding,          // EmbeddingPostProcessFunction: list of float lists → sentence_embedding tensors
    bedrock_embedding,  // BedrockEmbeddingPostProcessFunction: one float list → one tensor
    bedrock_batch_job_arn,  // BedrockBatchJobArnPostProcessFunction
    cohere_rerank,          // CohereRerankPostProcessFunction (also default.rerank)
    bedrock_rerank,         // BedrockRerankPostProcessFunction
    mlcommons_passthrough,  // RemoteMlCommonsPassthroughPostProcessFunction
};

struct builtin_post_process {
    std::string_view name;
    std::string_view response_filter;
    post_process_kind kind;
};

inline constexpr std::array<builtin_post_process, 17> builtin_post_process_functions{{
    {"connector.post_process.openai.embedding", "$.data[*].embedding", post_process_kind::embedding},
    {"connector.post_process.cohere.embedding", "$.embeddings", post_process_kind::embedding},
    {"connector.post_process.cohere_v2.embedding.float", "$.embeddings.float", post_process_kind::embedding},
    {"connector.post_process.cohere_v2.embedding.int8", "$.embeddings.int8", post_process_kind::embedding},
    {"connector.post_process.cohere_v2.embedding.uint8", "$.embeddings.uint8", post_process_kind::embedding},
    {"connector.post_process.cohere_v2.embedding.binary",
     "$.embeddings.binary",
     post_process_kind::embedding},
    {"connector.post_process.cohere_v2.embedding.ubinary",
     "$.embeddings.ubinary",
     post_process_kind::embedding},
    {"connector.post_process.default.embedding", "$[*]", post_process_kind::embedding},
    {"connector.post_process.bedrock.embedding", "$.embedding", post_process_kind::bedrock_embedding},
    {"connector.post_process.bedrock_v2.embedding.float",
     "$.embeddingsByType.float",
     post_process_kind::bedrock_embedding},
    {"connector.post_process.bedrock_v2.embedding.binary",
     "$.embeddingsByType.binary",
     post_process_kind::bedrock_embedding},
    {"connector.post_process.bedrock.nova.embedding",
     "$.embeddings[*].embedding",
     post_process_kind::embedding},
    {"connector.post_process.bedrock.batch_job_arn", "$", post_process_kind::bedrock_batch_job_arn},
    {"connector.post_process.cohere.rerank", "$.results", post_process_kind::cohere_rerank},
    {"connector.post_process.bedrock.rerank", "$.results", post_process_kind::bedrock_rerank},
    {"connector.post_process.default.rerank", "$[*]", post_process_kind::cohere_rerank},
    {"connector.post_process.mlcommons.passthrough", "$", post_process_kind::mlcommons_passthrough},
}};

// Exact (case-sensitive) name lookup; nullptr when `name` is not a built-in (then it is Painless source).
const builtin_post_process* find_builtin_post_process(std::string_view name);

}  // namespace modelrelay::registry
