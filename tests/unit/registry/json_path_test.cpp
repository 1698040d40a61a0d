// File: json_path_test.cpp
// The JsonPath subset used by response_filter and the built-in post-process functions, with Jayway's
// definite/indefinite and miss rules (spec ml-commons.md §4, §8.1).
#include "registry/json_path.hpp"

#include <set>
#include <string>
#include <string_view>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

namespace modelrelay::test {
namespace {

namespace json = boost::json;
using registry::json_path;

// "MISS" for a miss, else the serialized result.
std::string eval(std::string_view path, std::string_view doc) {
    auto jp = json_path::compile(path);
    EXPECT_TRUE(jp.has_value()) << path;
    if (!jp.has_value()) {
        return "INVALID";
    }
    const auto v = jp->evaluate(json::parse(doc));
    return v ? json::serialize(*v) : "MISS";
}

constexpr std::string_view openai_embedding = R"({
    "object": "list",
    "data": [
        {"object": "embedding", "index": 0, "embedding": [0.1, 0.2]},
        {"object": "embedding", "index": 1, "embedding": [0.3, 0.4]}
    ],
    "model": "text-embedding-3-small",
    "usage": {"prompt_tokens": 2, "total_tokens": 2}
})";

constexpr std::string_view chat = R"({
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": null}],
    "a.b": {"c": 1}, "key with space": 2, "arr": [10, 20, 30, 40]
})";

TEST(json_path, builtin_paths) {
    EXPECT_EQ(eval("$.data[*].embedding", openai_embedding), "[[1E-1,2E-1],[3E-1,4E-1]]");
    EXPECT_EQ(eval("$.embeddings", R"({"embeddings": [[1, 2]]})"), "[[1,2]]");
    EXPECT_EQ(eval("$.embeddings.float", R"({"embeddings": {"float": [[1]]}})"), "[[1]]");
    EXPECT_EQ(eval("$[*]", "[[1],[2]]"), "[[1],[2]]");
    EXPECT_EQ(eval("$.embedding", R"({"embedding": [1, 2]})"), "[1,2]");
    EXPECT_EQ(
        eval("$.embeddings[*].embedding", R"({"embeddings": [{"embedding": [1]}, {"embedding": [2]}]})"),
        "[[1],[2]]"
    );
    EXPECT_EQ(eval("$", R"({"a": 1})"), R"({"a":1})");
}

TEST(json_path, definite_paths) {
    EXPECT_EQ(eval("$.choices[0].message.content", chat), R"("Hello!")");
    EXPECT_EQ(eval("$['choices'][0]['message']['role']", chat), R"("assistant")");
    EXPECT_EQ(eval(R"($["a.b"].c)", chat), "1");
    EXPECT_EQ(eval("$['key with space']", chat), "2");
    EXPECT_EQ(eval("$.arr[-1]", chat), "40");
    EXPECT_EQ(eval("choices[0].index", chat), "0");               // "$." is implied
    EXPECT_EQ(eval("$.choices[0].finish_reason", chat), "null");  // a JSON null is a value, not a miss
    EXPECT_TRUE(json_path::compile("$.choices[0].message").value().is_definite());
}

TEST(json_path, definite_misses) {
    EXPECT_EQ(eval("$.nope", chat), "MISS");
    EXPECT_EQ(eval("$.choices[0].message.nope", chat), "MISS");
    EXPECT_EQ(eval("$.nope.deeper", chat), "MISS");
    EXPECT_EQ(eval("$.arr[4]", chat), "MISS");
    EXPECT_EQ(eval("$.arr[-5]", chat), "MISS");
    EXPECT_EQ(eval("$.arr.x", chat), "MISS");
    EXPECT_EQ(eval("$.choices.message", chat), "MISS");
    EXPECT_EQ(eval("$.a.b", chat), "MISS");  // names are not split on dots inside brackets only
    EXPECT_EQ(eval("$[0]", chat), "MISS");
}

TEST(json_path, indefinite_paths) {
    EXPECT_EQ(eval("$.arr[*]", chat), "[10,20,30,40]");
    EXPECT_EQ(eval("$.arr[1:3]", chat), "[20,30]");
    EXPECT_EQ(eval("$.arr[:2]", chat), "[10,20]");
    EXPECT_EQ(eval("$.arr[-2:]", chat), "[30,40]");
    EXPECT_EQ(eval("$.arr[2:100]", chat), "[30,40]");
    EXPECT_EQ(eval("$.arr[0,2]", chat), "[10,30]");
    EXPECT_EQ(eval("$.choices[0].message.*", chat), R"(["assistant","Hello!"])");
    EXPECT_EQ(eval("$..content", chat), R"(["Hello!"])");
    EXPECT_EQ(eval("$..c", R"({"c": 1, "x": {"c": 2, "y": [{"c": 3}]}})"), "[1,2,3]");
    // missing leaves in some elements are skipped
    EXPECT_EQ(eval("$.data[*].embedding", R"({"data": [{}, {"embedding": [1]}, 5]})"), "[[1]]");
    EXPECT_EQ(eval("$[*].a", R"([1, {"a": 2}, {"b": 3}])"), "[2]");
    EXPECT_EQ(eval("$.data[*].embedding", R"({"data": []})"), "[]");
    EXPECT_FALSE(json_path::compile("$.data[*].embedding").value().is_definite());
}

TEST(json_path, indefinite_paths_still_miss_on_their_definite_prefix) {
    // Jayway: a missing or non-container step before the first wildcard fails the whole read.
    EXPECT_EQ(eval("$.data[*].embedding", "{}"), "MISS");
    EXPECT_EQ(eval("$.data.*", "{}"), "MISS");
    EXPECT_EQ(eval("$.data[0][*]", R"({"data": 5})"), "MISS");
    // a wildcard itself never fails: over a scalar it selects nothing, over an object its values
    EXPECT_EQ(eval("$.data[*].embedding", R"({"data": 5})"), "[]");
    EXPECT_EQ(eval("$.data[*]", R"({"data": {"a": 1}})"), "[1]");
}

TEST(json_path, select_does_not_copy) {
    const json::value doc = json::parse(openai_embedding);
    const auto jp = json_path::compile("$.data[*].embedding").value();
    const auto hits = jp.select(doc);
    ASSERT_TRUE(hits.has_value());
    ASSERT_EQ(hits->size(), 2u);
    EXPECT_EQ((*hits)[0], &doc.at("data").at(0).at("embedding"));
}

TEST(json_path, invalid_paths) {
    for (std::string_view bad :
         {"",
          "$.",
          "$..",
          "$[",
          "$['a'",
          "$[?(@.a)",
          "$[?(@.a ~~ 1)]",
          "$[?('a')]",
          "$[?(@.a == )]",
          "$[?(@.a =~ /x/q)]",
          "$.a.length(1)",
          "$.a.first()",
          "$.a.length().b",
          "$..length()",
          "$.a[x]",
          "$.[0]",
          "@.a",
          "$.a b",
          "$[1:x]",
          "$['a',b]"}) {
        const auto jp = json_path::compile(bad);
        ASSERT_FALSE(jp.has_value()) << bad;
        EXPECT_EQ(jp.error().code, registry::errc::illegal_argument);
        EXPECT_EQ(jp.error().reason, "Invalid JSON path: " + std::string(bad));
    }
}

// Filters nest at most 100 deep (`!`, `(`, a filter in a filter's path): 16,000 `!` overflowed the stack.
TEST(json_path, filter_nesting_is_bounded) {
    const auto nested = [](std::string_view open, int n, std::string_view inner, std::string_view close) {
        std::string out = "$.a[?(";
        for (int i = 0; i < n; ++i) {
            out += open;
        }
        out += inner;
        for (int i = 0; i < n; ++i) {
            out += close;
        }
        return out + ")]";
    };
    EXPECT_EQ(eval(nested("!", 98, "@.x", ""), R"({"a":[{"x":1},{"y":2}]})"), R"([{"x":1}])");
    EXPECT_EQ(eval(nested("(", 97, "@.x", ")"), R"({"a":[{"x":1},{"y":2}]})"), R"([{"x":1}])");
    for (const std::string& bad :
         {nested("!", 16000, "@.index", ""), nested("(", 20000, "@.x", ")"), nested("!", 100, "@.x", "")}) {
        const auto jp = json_path::compile(bad);
        ASSERT_FALSE(jp.has_value()) << bad.size();
        EXPECT_EQ(jp.error().reason, "Invalid JSON path: " + bad);
    }
    // Filters inside filters count too.
    std::string deep = "@.x";
    for (int i = 0; i < 150; ++i) {
        deep = "@.a[?(" + deep + ")]";
    }
    EXPECT_FALSE(json_path::compile("$.a[?(" + deep + ")]").has_value());
}

constexpr std::string_view store = R"({
    "a": [{"x": 1}, {"b": 2}, {"x": 3, "b": 4}],
    "books": [
        {"title": "Sayings", "price": 8.95, "tags": ["a", "b"], "isbn": "0-553"},
        {"title": "Moby Dick", "price": 8.99, "tags": [], "ref": null},
        {"title": "Lord", "price": 22.99, "tags": ["c"], "author": "Tolkien"}
    ],
    "limit": 10, "name": "Ann", "n": "3",
    "choices": [{"message": {"tool_calls": [{"type": "function", "id": "t1"}, {"type": "other", "id": "t2"}]}}]
})";

// Jayway filters: the item a filter accepts is kept (an object is tested itself, an array element by
// element); paths alone test existence, comparisons follow ValueNode's rules.
TEST(json_path, filters) {
    EXPECT_EQ(eval("$.a[?(@.x > 1)].b", store), "[4]");
    EXPECT_EQ(eval("$.a[?(@.x)]", store), R"([{"x":1},{"x":3,"b":4}])");
    EXPECT_EQ(eval("$.a[?(!@.x)]", store), R"([{"b":2}])");
    EXPECT_EQ(eval("$.books[?(@.price < $.limit)].title", store), R"(["Sayings","Moby Dick"])");
    EXPECT_EQ(eval("$.books[?(@.price >= 8.99 && @.tags.length() > 0)].title", store), R"(["Lord"])");
    EXPECT_EQ(eval("$.books[?(@.author || @.isbn)].title", store), R"(["Sayings","Lord"])");
    EXPECT_EQ(eval("$.books[?(@.ref)].title", store), R"(["Moby Dick"])");  // null still exists
    EXPECT_EQ(eval("$.books[?(@.ref == null)].title", store), R"(["Moby Dick"])");
    EXPECT_EQ(eval("$.books[?(@.title =~ /mob.*/i)].price", store), "[8.99E0]");
    EXPECT_EQ(eval("$.books[?(@.title =~ /Mob/)].price", store), "[]");  // matches() is a whole match
    EXPECT_EQ(eval("$.books[?(@.title in ['Lord', 'Sayings'])].price", store), "[8.95E0,2.299E1]");
    EXPECT_EQ(eval("$.books[?(@.title nin [\"Lord\"])].price", store), "[8.95E0,8.99E0]");
    EXPECT_EQ(eval("$.books[?(@.tags contains 'c')].title", store), R"(["Lord"])");
    EXPECT_EQ(
        eval("$.books[?(@.tags subsetof ['a','b','c'])].title", store), R"(["Sayings","Moby Dick","Lord"])"
    );
    EXPECT_EQ(eval("$.books[?(@.tags anyof ['b','z'])].title", store), R"(["Sayings"])");
    EXPECT_EQ(eval("$.books[?(@.tags noneof ['b','z'])].title", store), R"(["Moby Dick","Lord"])");
    EXPECT_EQ(eval("$.books[?(@.tags size 2)].title", store), R"(["Sayings"])");
    EXPECT_EQ(eval("$.books[?(@.tags empty true)].title", store), R"(["Moby Dick"])");
    EXPECT_EQ(eval("$.books[?(@.author != 'Tolkien')].title", store), R"(["Sayings","Moby Dick"])");
    EXPECT_EQ(
        eval("$.books[?((@.price > 20 || @.isbn) && !(@.title == 'Lord'))].title", store), R"(["Sayings"])"
    );
    EXPECT_EQ(eval("$.choices[0].message.tool_calls[?(@.type == 'function')].id", store), R"(["t1"])");
    // A number equals a numeric string and a string the text of a number; === also wants the same kind.
    EXPECT_EQ(eval("$[?(@.n == 3)].name", store), R"(["Ann"])");
    EXPECT_EQ(eval("$[?(@.limit == '10')].name", store), R"(["Ann"])");
    EXPECT_EQ(eval("$[?(@.n === 3)].name", store), "[]");
    EXPECT_EQ(eval("$[?(@.n < 4)].name", store), "[]");  // < compares numbers or strings, not both
    EXPECT_EQ(eval("$[?(@.nothing == 1)].name", store), "[]");
    EXPECT_EQ(eval("$[?(@.nothing != 1)].name", store), R"(["Ann"])");
    EXPECT_EQ(eval("$.limit[?(@.x)]", store), "MISS");  // a filter on a primitive fails
}

TEST(json_path, several_names_and_functions) {
    EXPECT_EQ(eval("$.books[0]['title','price','nope']", store), R"({"title":"Sayings","price":8.95E0})");
    EXPECT_EQ(
        eval("$.books[*]['title','author']", store),
        R"([{"title":"Sayings"},{"title":"Moby Dick"},{"title":"Lord","author":"Tolkien"}])"
    );
    EXPECT_EQ(eval("$['name','limit']", store), R"({"name":"Ann","limit":10})");
    EXPECT_EQ(eval("$[\"name\"]", store), R"("Ann")");
    EXPECT_EQ(eval("$.a.length()", store), "3");
    EXPECT_EQ(eval("$.books[0].size()", store), "4");
    EXPECT_EQ(eval("$.books[*].tags.length()", store), "[2,0,1]");
    EXPECT_EQ(eval("$.books[0].keys()", store), R"(["title","price","tags","isbn"])");
    EXPECT_EQ(eval("$.name.length()", store), "null");
    EXPECT_EQ(eval("$..x.sum()", store), "4E0");  // after a root scan: over everything found
    EXPECT_EQ(eval("$..price.max()", store), "2.299E1");
    EXPECT_EQ(eval("$..price.min()", store), "8.95E0");
    EXPECT_EQ(eval("$..x.avg()", store), "2E0");
    EXPECT_EQ(eval("$..x.stddev()", store), "1E0");
    EXPECT_EQ(eval("$.nothing.length()", store), "MISS");

    auto jp = json_path::compile("$.a[*].x.sum()");  // per node, as Jayway: sum of a number fails
    ASSERT_TRUE(jp.has_value());
    EXPECT_TRUE(jp->synthesizes());
    auto failed = jp->evaluate_checked(json::parse(store));
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().reason, "Aggregation function attempted to calculate value using empty array");
    EXPECT_FALSE(jp->select(json::parse(store)));  // synthesized results have no place in the document
}

TEST(json_path, post_process_table) {
    std::set<std::string_view> names;
    for (const auto& f : registry::builtin_post_process_functions) {
        EXPECT_TRUE(names.insert(f.name).second) << f.name;
        EXPECT_TRUE(json_path::compile(f.response_filter).has_value()) << f.response_filter;
    }
    EXPECT_EQ(names.size(), 17u);
    const auto* openai = registry::find_builtin_post_process("connector.post_process.openai.embedding");
    ASSERT_NE(openai, nullptr);
    EXPECT_EQ(openai->response_filter, "$.data[*].embedding");
    EXPECT_EQ(openai->kind, registry::post_process_kind::embedding);
    const auto* rerank = registry::find_builtin_post_process("connector.post_process.default.rerank");
    ASSERT_NE(rerank, nullptr);
    EXPECT_EQ(rerank->response_filter, "$[*]");
    EXPECT_EQ(rerank->kind, registry::post_process_kind::cohere_rerank);
    EXPECT_EQ(
        registry::find_builtin_post_process("connector.post_process.bedrock.embedding")->kind,
        registry::post_process_kind::bedrock_embedding
    );
    EXPECT_EQ(registry::find_builtin_post_process("connector.post_process.OpenAI.embedding"), nullptr);
    EXPECT_EQ(registry::find_builtin_post_process("return params.result;"), nullptr);
}

}  // namespace
}  // namespace modelrelay::test
