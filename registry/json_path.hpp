// File: json_path.hpp
// The JsonPath subset ml-commons uses on upstream responses: the `response_filter` parameter and the paths
// of the built-in post-process functions (spec ml-commons.md §4, §8.1). ml-commons evaluates them with
// Jayway JsonPath's default configuration; the miss rules below are Jayway's.
//
// Supported syntax (anything else fails to compile):
//   `$` root (a path not starting with `$` gets `$.` prepended, as Jayway does);
//   `.key` and `['key']` / `["key"]` (quoted names may contain any character; `\'` `\"` `\\` escapes);
//   `['a','b']` several names: at the end of the path one object holding those present (Jayway's merge),
//   elsewhere each value in turn;
//   `[n]` with n < 0 counting from the end; `[n,m,...]` several indexes; `[from:to]` slices (either bound
//   optional, negative bounds count from the end); `.*` / `[*]` wildcard over object values or array
//   elements; `..key`, `..*`, `..[n]` deep scan (pre-order: a node before its children);
//   `[?(<filter>)]` Jayway filters: `@`/`$` paths (alone: the path exists), string/number/true/false/null
//   and JSON array/object literals, `/regex/` with flags i, m, s; operators == != === !== < <= > >= =~ in
//   nin contains subsetof anyof noneof size empty; `&&`, `||`, `!`, parentheses. Comparisons follow
//   Jayway's ValueNode rules (a number equals a numeric string, `<` compares numbers or strings only, a
//   missing path is never equal);
//   `.length()` / `.size()` (array or object size), `.sum()`, `.avg()`, `.min()`, `.max()`, `.stddev()`
//   (over an array's numbers, as doubles), `.keys()` at the end of a path. Like Jayway a function applies to
//   each node the path before it reaches, except right after a root deep scan (`$..price.sum()`), where it
//   applies to all of them.
//   Not supported: function arguments, `first()`/`last()`/`index()`/`concat()`/`append()`, the `all`,
//   `type` and `matches` operators.
//
// Results:
//   - a definite path (only names, single indexes, a merge of several names, a function) yields the one
//     value it reaches, or "miss";
//   - an indefinite path (wildcard, slice, several indexes, deep scan, filter) yields a JSON array of every
//     match (possibly empty), except that Jayway still reports a miss when a step of the definite leading
//     part finds no object/array to step into, or a non-final name is absent there (`$.data[*].x` on `{}`).
// ml-commons turns a miss into PathNotFoundException; what modelrelay does with it is the caller's choice.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
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

    // The same, with a function's failure (Jayway's JsonPathException, e.g. `sum()` of an array without
    // numbers) as an illegal_argument error instead of a miss.
    result<std::optional<boost::json::value>> evaluate_checked(const boost::json::value& doc) const;

    // Whether results are built rather than found in the document (a merge of several names, a function):
    // select() cannot be used then.
    bool synthesizes() const { return synthesizes_; }

    // The same as evaluate(), without copying: pointers into `doc`, in match order. nullopt = miss; a
    // definite path that matched returns exactly one pointer. Only for paths that do not synthesize.
    std::optional<std::vector<const boost::json::value*>> select(const boost::json::value& doc) const;

    struct filter;  // a compiled `[?(...)]` expression (json_path.cpp)

private:
    enum class op { property, properties, wildcard, indexes, slice, filter, function };
    struct step {
        op kind = op::property;
        bool deep = false;              // preceded by `..`
        bool leaf = false;              // the last step
        std::string key;                // property; function name
        std::vector<std::string> keys;  // properties
        std::vector<std::int64_t> indexes;
        std::optional<std::int64_t> from;
        std::optional<std::int64_t> to;
        std::shared_ptr<const filter> predicate;
        // Jayway "token definite": a single name or index, a merge of names, a function; not a scan.
        bool definite() const {
            return !deep &&
                   (kind == op::property || kind == op::function || (kind == op::properties && leaf) ||
                    (kind == op::indexes && indexes.size() == 1));
        }
    };
    struct eval_state;

    void run(const boost::json::value& doc, eval_state& st) const;

    void apply(std::size_t i, const boost::json::value& node, bool upstream_definite, eval_state& st) const;
    void apply_op(std::size_t i, const boost::json::value& node, bool upstream_definite, eval_state& st)
        const;
    void scan(std::size_t i, const boost::json::value& node, eval_state& st) const;

    std::string source_;
    std::vector<step> steps_;
    bool definite_ = true;
    bool synthesizes_ = false;
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
