// File: user_schema_test.cpp
// A user's JSON Schema (a model's `interface`) at compile time: every schema Valijson would abort on,
// recurse on forever, divide by zero with or match with a backtracking regex is a 400 with
// `<what> is not a valid JSON Schema: <reason>`.
#include "schemas/user_schema.hpp"

#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace modelrelay::schemas {
namespace {

namespace json = boost::json;

const std::string invalid = "interface.input is not a valid JSON Schema: ";

// The reason compile gives for `text`, or "" when it compiles.
std::string refusal(std::string_view text) {
    auto r = user_schema::compile(text, "interface.input");
    if (r) {
        return "";
    }
    EXPECT_EQ(r.error().code, registry::errc::illegal_argument) << text;
    return r.error().reason;
}

TEST(user_schema, a_keyword_of_the_wrong_type_is_refused_not_fatal) {
    // Each of these aborted the process (Valijson reported them with std::abort()).
    const std::vector<std::string> mistyped = {
        R"({"type":5})",
        R"({"type":"text"})",
        R"({"type":[5]})",
        R"({"required":5})",
        R"({"required":[5]})",
        R"({"properties":[]})",
        R"({"properties":5})",
        R"({"properties":{"a":5}})",
        R"({"enum":5})",
        R"({"$ref":5})",
        R"({"$ref":"#/nope"})",
        R"({"minLength":"a"})",
        R"({"minLength":-1})",
        R"({"maxLength":"a"})",
        R"({"minItems":"a"})",
        R"({"maxProperties":-1})",
        R"({"items":5})",
        R"({"items":[5]})",
        R"({"items":[],"additionalItems":5})",
        R"({"format":5})",
        R"({"format":""})",
        R"({"not":5})",
        R"({"anyOf":[1]})",
        R"({"anyOf":5})",
        R"({"allOf":[1]})",
        R"({"oneOf":[1]})",
        R"({"oneOf":5})",
        R"({"maximum":"x"})",
        R"({"minimum":"x"})",
        R"({"exclusiveMaximum":"x"})",
        R"({"pattern":5})",
        R"({"patternProperties":5})",
        R"({"additionalProperties":5})",
        R"({"dependencies":5})",
        R"({"dependencies":{"a":5}})",
        R"({"contains":5})",
        R"({"propertyNames":5})",
        R"({"if":5})",
        R"({"uniqueItems":5})",
        R"({"multipleOf":"a"})",
        R"({"properties":{"parameters":{"properties":{"n":{"type":5}}}}})",
    };
    for (const auto& text : mistyped) {
        const std::string reason = refusal(text);
        EXPECT_TRUE(reason.starts_with(invalid)) << text << " -> " << reason;
        EXPECT_GT(reason.size(), invalid.size()) << text;
    }
}

// Tests below: compiled(text) asserts the schema compiles; problems(schema, instance) is "" for a valid
// instance, else check()'s message.
std::shared_ptr<const user_schema> compiled(std::string_view text) {
    auto r = user_schema::compile(text, "interface.input");
    EXPECT_TRUE(r) << text << " -> " << (r ? "" : r.error().reason);
    return r ? *r : nullptr;
}

std::string problems(const user_schema& schema, const json::value& instance) {
    auto p = schema.check(instance);
    return p ? *p : "";
}

std::string problems(const user_schema& schema, const char* instance) {
    return problems(schema, json::parse(instance));
}

TEST(user_schema, cycles_that_never_descend_into_the_instance_are_refused) {
    // Each made Valijson recurse until the stack overflowed (exit 139), at register or at predict.
    const std::vector<std::string> cycles = {
        R"({"$ref":"#"})",
        R"({"definitions":{"a":{"$ref":"#/definitions/a"}},"$ref":"#/definitions/a"})",
        R"({"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"})",
        R"({"allOf":[{"$ref":"#"}]})",
        R"({"anyOf":[{"type":"string"},{"$ref":"#"}]})",
        R"({"oneOf":[{"$ref":"#"}]})",
        R"({"not":{"$ref":"#"}})",
        R"({"if":{"$ref":"#"}})",
        R"({"if":true,"then":{"$ref":"#"}})",
        R"({"if":false,"else":{"$ref":"#"}})",
        R"({"dependencies":{"a":{"$ref":"#"}}})",
        R"({"properties":{"a":{"allOf":[{"$ref":"#/properties/a"}]}}})",
        R"({"definitions":{"a":{"anyOf":[{"$ref":"#/definitions/b"}]},"b":{"not":{"$ref":"#/definitions/a"}}},)"
        R"("items":{"$ref":"#/definitions/a"}})",
    };
    for (const auto& text : cycles) {
        const std::string reason = refusal(text);
        EXPECT_TRUE(reason.starts_with(invalid)) << text << " -> " << reason;
        EXPECT_NE(reason.find("without descending into the instance"), std::string::npos) << reason;
    }
    EXPECT_EQ(
        refusal(R"({"definitions":{"a":{"$ref":"#/definitions/a"}},"$ref":"#/definitions/a"})"),
        invalid +
            "#/definitions/a: subschemas refer to each other without descending into the instance "
            "(#/definitions/a -> #/definitions/a), through $ref, allOf, anyOf, oneOf, not, if/then/else or "
            "dependencies; the validator would recurse forever"
    );
}

TEST(user_schema, cycles_through_a_member_or_an_item_are_fine) {
    const auto tree =
        compiled(R"({"type":"object","properties":{"name":{"type":"string"},"children":{"type":"array",)"
                 R"("items":{"$ref":"#"}}},"required":["name"]})");
    ASSERT_TRUE(tree);
    EXPECT_EQ(problems(*tree, R"({"name":"a","children":[{"name":"b","children":[{"name":"c"}]}]})"), "");
    EXPECT_EQ(
        problems(*tree, R"({"name":"a","children":[{"name":"b","children":[{"name":5}]}]})"),
        "[$.children[0].children[0].name: integer found, string expected]"
    );
    for (const char* text : {
             R"({"additionalProperties":{"$ref":"#"}})",
             R"({"patternProperties":{"^x":{"$ref":"#"}}})",
             R"({"contains":{"$ref":"#"}})",
             R"({"propertyNames":{"$ref":"#"}})",
             R"({"items":[{"$ref":"#"}],"additionalItems":{"$ref":"#"}})",
             R"({"definitions":{"a":{"allOf":[{"properties":{"x":{"$ref":"#/definitions/a"}}}]}},)"
             R"("$ref":"#/definitions/a"})",
         }) {
        EXPECT_TRUE(compiled(text)) << text;
    }
    // As deep as a request body can be (256 levels), under a recursive schema: a clean answer.
    const auto nested = compiled(R"({"type":"array","items":{"$ref":"#"}})");
    ASSERT_TRUE(nested);
    json::value deep = json::array{};
    for (int i = 0; i < 255; ++i) {
        deep = json::array{std::move(deep)};
    }
    EXPECT_EQ(problems(*nested, deep), "");
}

TEST(user_schema, only_local_references_that_resolve_to_a_schema_are_accepted) {
    EXPECT_EQ(
        refusal(R"({"$ref":"http://example.com/s.json"})"),
        invalid +
            "#/$ref: $ref \"http://example.com/s.json\" is not a local reference; only references within "
            "the schema (\"#/...\") are supported"
    );
    EXPECT_NE(
        refusal(R"({"properties":{"a":{"$ref":"other.json#/a"}}})").find("not a local reference"),
        std::string::npos
    );
    EXPECT_NE(refusal(R"({"$ref":"#foo"})").find("anchors are not supported"), std::string::npos);
    EXPECT_NE(
        refusal(R"({"definitions":{"a":{}},"$ref":"#/definitions/a%zz"})").find("malformed %-escape"),
        std::string::npos
    );
    EXPECT_EQ(
        refusal(R"({"definitions":{"a":{}},"$ref":"#/definitions/b"})"),
        invalid + "#/$ref: $ref \"#/definitions/b\" does not resolve: nothing at \"b\""
    );
    EXPECT_NE(
        refusal(R"({"definitions":{"a":5},"$ref":"#/definitions/a"})").find("does not point to a schema"),
        std::string::npos
    );

    // Escaped pointers (~1 for '/', ~0 for '~', %25 for '%') reach what they name.
    const auto escaped = compiled(
        R"({"definitions":{"a/b":{"type":"string"},"c~d":{"type":"integer"},"100%":{"type":"boolean"}},)"
        R"("properties":{"x":{"$ref":"#/definitions/a~1b"},"y":{"$ref":"#/definitions/c~0d"},)"
        R"("z":{"$ref":"#/definitions/100%25"}}})"
    );
    ASSERT_TRUE(escaped);
    EXPECT_EQ(problems(*escaped, R"({"x":"s","y":1,"z":true})"), "");
    EXPECT_NE(problems(*escaped, R"({"x":1})"), "");
    EXPECT_NE(problems(*escaped, R"({"y":"s"})"), "");
    EXPECT_NE(problems(*escaped, R"({"z":1})"), "");
    // Valijson's draft-3/4 `id` no longer changes how references resolve.
    const auto with_id =
        compiled(R"({"id":"http://example.com/root.json","properties":{"a":{"$ref":"#/definitions/s"}},)"
                 R"("definitions":{"s":{"type":"string"}}})");
    ASSERT_TRUE(with_id);
    EXPECT_NE(problems(*with_id, R"({"a":1})"), "");
}

TEST(user_schema, multiple_of_must_be_a_number_above_zero) {
    // An integer 0 was SIGFPE at every predict.
    for (const char* bad : {"0", "0.0", "-1", "-0.5", "\"2\"", "null", "true"}) {
        const std::string text = std::string(R"({"properties":{"n":{"multipleOf":)") + bad + "}}}";
        EXPECT_EQ(
            refusal(text), invalid + "#/properties/n/multipleOf: multipleOf must be a number greater than 0"
        ) << text;
    }
    const auto by_two = compiled(R"({"multipleOf":2})");
    ASSERT_TRUE(by_two);
    EXPECT_EQ(problems(*by_two, "4"), "");
    EXPECT_EQ(problems(*by_two, "0"), "");
    EXPECT_NE(problems(*by_two, "3"), "");
    EXPECT_EQ(problems(*by_two, "-9223372036854775808"), "");
    const auto by_half = compiled(R"({"multipleOf":0.5})");
    ASSERT_TRUE(by_half);
    EXPECT_EQ(problems(*by_half, "1.5"), "");
    EXPECT_NE(problems(*by_half, "1.25"), "");
}

TEST(user_schema, patterns_must_compile_with_re2) {
    EXPECT_EQ(
        refusal(R"({"pattern":"("})"),
        invalid +
            "#/pattern: pattern \"(\" is not a valid RE2 regular expression: missing ): ( (patterns use RE2 "
            "syntax: no lookaround, no backreferences)"
    );
    EXPECT_NE(
        refusal(R"x({"pattern":"^(?=a)"})x").find("is not a valid RE2 regular expression"), std::string::npos
    );
    EXPECT_NE(
        refusal(R"({"pattern":"(a)\\1"})").find("is not a valid RE2 regular expression"), std::string::npos
    );
    EXPECT_NE(
        refusal(R"({"pattern":"(?<!a)b"})").find("is not a valid RE2 regular expression"), std::string::npos
    );
    EXPECT_EQ(
        refusal(R"({"properties":{"p":{"patternProperties":{"[":{}}}}})").substr(0, invalid.size() + 45),
        invalid + "#/properties/p/patternProperties: pattern \"[\""
    );
    EXPECT_NE(refusal(R"({"anyOf":[{"pattern":"a{2000}"}]})").find("not a valid RE2"), std::string::npos);
    std::string many = R"({"anyOf":[)";
    for (int i = 0; i <= 100; ++i) {
        many += (i == 0 ? "" : ",") + std::string(R"({"pattern":"^a)") + std::to_string(i) + "$\"}";
    }
    EXPECT_NE(refusal(many + "]}").find("more than 100 distinct regular expressions"), std::string::npos);
}

TEST(user_schema, patterns_match_in_linear_time_without_recursion) {
    const auto redos = compiled(R"({"type":"string","pattern":"^(a+)+$"})");
    ASSERT_TRUE(redos);
    EXPECT_EQ(problems(*redos, json::value(std::string(40, 'a'))), "");
    // std::regex backtracked for minutes on this one.
    EXPECT_EQ(
        problems(*redos, json::value(std::string(40, 'a') + "b")),
        "[$: does not match the regex pattern ^(a+)+$]"
    );
    // std::regex recursed once per character: a megabyte overflowed the stack.
    const auto alternation = compiled(R"({"pattern":"^(a|b)*$"})");
    ASSERT_TRUE(alternation);
    EXPECT_EQ(problems(*alternation, json::value(std::string(1 << 20, 'a'))), "");
    EXPECT_NE(problems(*alternation, json::value(std::string(1 << 20, 'a') + "c")), "");
}

TEST(user_schema, patterns_keep_json_schema_semantics) {
    // Unanchored search; non-strings pass; \uXXXX escapes (ECMA, Java) work.
    const auto search = compiled(R"({"pattern":"b+"})");
    ASSERT_TRUE(search);
    EXPECT_EQ(problems(*search, R"("abbc")"), "");
    EXPECT_NE(problems(*search, R"("ac")"), "");
    EXPECT_EQ(problems(*search, "5"), "");
    const auto escaped = compiled(R"({"pattern":"^\\u0041+$"})");
    ASSERT_TRUE(escaped);
    EXPECT_EQ(problems(*escaped, R"("AAA")"), "");
    EXPECT_NE(problems(*escaped, R"("\\u0041")"), "");
    const auto pair = compiled(R"({"pattern":"^\\uD83D\\uDE00$"})");  // U+1F600, as Java writes it
    ASSERT_TRUE(pair);
    EXPECT_EQ(problems(*pair, json::value("\xF0\x9F\x98\x80")), "");
    EXPECT_NE(problems(*pair, R"("x")"), "");

    // Under anyOf, not, if/then and propertyNames, and reached through $ref.
    const auto nested = compiled(R"({"properties":{)"
                                 R"("any":{"anyOf":[{"pattern":"^a"},{"pattern":"^b"}]},)"
                                 R"("none":{"not":{"pattern":"^x"}},)"
                                 R"("cond":{"if":{"pattern":"^a"},"then":{"maxLength":2}},)"
                                 R"("keys":{"propertyNames":{"pattern":"^[a-z]+$"}},)"
                                 R"("ref":{"$ref":"#/definitions/digits"}},)"
                                 R"("definitions":{"digits":{"pattern":"^[0-9]+$"}}})");
    ASSERT_TRUE(nested);
    EXPECT_EQ(problems(*nested, R"({"any":"bcd","none":"ay","cond":"bcd","keys":{"ab":1},"ref":"123"})"), "");
    EXPECT_NE(problems(*nested, R"({"any":"cde"})"), "");
    EXPECT_NE(problems(*nested, R"({"none":"xy"})"), "");
    EXPECT_NE(problems(*nested, R"({"cond":"abc"})"), "");
    EXPECT_NE(problems(*nested, R"({"keys":{"A":1}})"), "");
    EXPECT_EQ(problems(*nested, R"({"ref":"12a"})"), "[$.ref: does not match the regex pattern ^[0-9]+$]");
}

TEST(user_schema, pattern_properties_keep_json_schema_semantics) {
    const auto typed = compiled(
        R"({"patternProperties":{"^s_":{"type":"string"},"^n_":{"type":"number"}},"additionalProperties":false})"
    );
    ASSERT_TRUE(typed);
    EXPECT_EQ(problems(*typed, R"({"s_a":"x","n_b":1.5})"), "");
    EXPECT_EQ(problems(*typed, R"({"s_a":1})"), "[$.s_a: integer found, string expected]");
    EXPECT_NE(problems(*typed, R"({"other":1})").find("'other'"), std::string::npos);

    // A member named in `properties` and matched by a pattern meets both; `additionalProperties` only
    // applies to members neither names nor matches.
    const auto mixed =
        compiled(R"({"properties":{"id":{"type":"integer"},"x-a":{"minLength":2}},)"
                 R"("patternProperties":{"^x-":{"type":"string"}},"additionalProperties":{"type":"boolean"}})"
        );
    ASSERT_TRUE(mixed);
    EXPECT_EQ(problems(*mixed, R"({"id":1,"x-b":"s","x-a":"ab","flag":true})"), "");
    EXPECT_NE(problems(*mixed, R"({"flag":"no"})"), "");
    EXPECT_NE(problems(*mixed, R"({"x-b":true})"), "");
    EXPECT_NE(problems(*mixed, R"({"x-a":"b"})"), "");
    EXPECT_NE(problems(*mixed, R"({"x-a":55})"), "");
    EXPECT_NE(problems(*mixed, R"({"id":"1"})"), "");

    // Under anyOf: each branch with its own additionalProperties.
    const auto branches =
        compiled(R"({"anyOf":[{"patternProperties":{"^a":{"type":"string"}},"additionalProperties":false},)"
                 R"({"patternProperties":{"^b":{"type":"number"}},"additionalProperties":false}]})");
    ASSERT_TRUE(branches);
    EXPECT_EQ(problems(*branches, R"({"a1":"x"})"), "");
    EXPECT_EQ(problems(*branches, R"({"b1":1})"), "");
    EXPECT_NE(problems(*branches, R"({"a1":1})"), "");
    EXPECT_NE(problems(*branches, R"({"c":1})"), "");
    EXPECT_NE(problems(*branches, R"({"a1":"x","b1":1})"), "");

    // A $ref into patternProperties, an empty pattern (matches every name), a `false` subschema, recursion.
    const auto referenced = compiled(
        R"({"patternProperties":{"^a":{"type":"string"}},"properties":{"z":{"$ref":"#/patternProperties/^a"}}})"
    );
    ASSERT_TRUE(referenced);
    EXPECT_EQ(problems(*referenced, R"({"z":"s"})"), "");
    EXPECT_NE(problems(*referenced, R"({"z":1})"), "");
    const auto every = compiled(R"({"patternProperties":{"":{"type":"string"}}})");
    ASSERT_TRUE(every);
    EXPECT_EQ(problems(*every, R"({"a":"x","b":"y"})"), "");
    EXPECT_NE(problems(*every, R"({"a":"x","b":2})"), "");
    const auto forbidden = compiled(R"({"patternProperties":{"^x":false}})");
    ASSERT_TRUE(forbidden);
    EXPECT_EQ(problems(*forbidden, R"({"y":1})"), "");
    EXPECT_EQ(
        problems(*forbidden, R"({"x1":1})"),
        "[$.x1: Failed to validate against schema associated with pattern '^x'.]"
    );
    const auto recursive =
        compiled(R"({"patternProperties":{"^n":{"$ref":"#"}},"properties":{"v":{"type":"integer"}}})");
    ASSERT_TRUE(recursive);
    EXPECT_EQ(problems(*recursive, R"({"n1":{"n2":{"v":1}}})"), "");
    EXPECT_EQ(
        problems(*recursive, R"({"n1":{"n2":{"v":"a"}}})"), "[$.n1.n2.v: string found, integer expected]"
    );
}

TEST(user_schema, formats_are_checked_without_std_regex) {
    const auto date = compiled(R"({"format":"date"})");
    ASSERT_TRUE(date);
    EXPECT_EQ(problems(*date, R"("2024-02-29")"), "");
    EXPECT_EQ(problems(*date, R"("2024-02-30")"), "[$: String should be a valid date]");
    EXPECT_NE(problems(*date, R"("2024-13-01")"), "");
    EXPECT_EQ(problems(*date, "5"), "");  // Valijson read a non-string as a string: an abort
    // A megabyte of digits overflowed std::regex's recursion.
    EXPECT_EQ(problems(*date, json::value(std::string(1 << 20, '1'))), "[$: String should be a valid date]");
    EXPECT_EQ(problems(*date, json::value(std::string(1 << 20, '1') + "-01-01")), "");
    const auto time = compiled(R"({"format":"time"})");
    ASSERT_TRUE(time);
    EXPECT_EQ(problems(*time, R"("16:52:45Z")"), "");
    EXPECT_EQ(problems(*time, R"("16:52:45.123+02:00")"), "");
    EXPECT_NE(problems(*time, R"("16:52:45|02:00")"), "");
    EXPECT_NE(problems(*time, R"("24:00:00Z")"), "");
    const auto date_time = compiled(R"({"format":"date-time"})");
    ASSERT_TRUE(date_time);
    EXPECT_EQ(problems(*date_time, R"("2022-07-18T16:52:45Z")"), "");
    EXPECT_NE(problems(*date_time, R"("2022-04-31T16:52:45Z")"), "");
    EXPECT_NE(problems(*date_time, json::value(std::string(1 << 20, '9'))), "");
    const auto other = compiled(R"({"format":"email"})");  // not checked, as before
    ASSERT_TRUE(other);
    EXPECT_EQ(problems(*other, R"("not an email")"), "");
}

TEST(user_schema, schemas_that_would_exhaust_the_stack_or_the_cpu_are_refused) {
    // Same-instance subschemas nested deeper than 16.
    auto chain = [](int n, const char* link) {
        std::string text = R"({"$ref":"#/definitions/d0","definitions":{)";
        for (int i = 0; i < n; ++i) {
            text += "\"d" + std::to_string(i) + "\":{\"" + link + "\":[{\"$ref\":\"#/definitions/d" +
                    std::to_string(i + 1) + "\"}]},";
        }
        return text + "\"d" + std::to_string(n) + "\":{\"type\":\"string\"}}}";
    };
    EXPECT_TRUE(compiled(chain(16, "allOf")));
    EXPECT_NE(refusal(chain(17, "allOf")).find("nest more than 16 deep"), std::string::npos);
    EXPECT_NE(refusal(chain(17, "anyOf")).find("nest more than 16 deep"), std::string::npos);

    // Every level doubles the subschemas a value meets: 2^14 > 10000.
    auto doubling = [](int n) {
        std::string text = R"({"$ref":"#/definitions/d0","definitions":{)";
        for (int i = 0; i < n; ++i) {
            const std::string next = "{\"$ref\":\"#/definitions/d" + std::to_string(i + 1) + "\"}";
            text += "\"d" + std::to_string(i) + "\":{\"anyOf\":[" + next + "," + next + "]},";
        }
        return text + "\"d" + std::to_string(n) + "\":{\"type\":\"string\"}}}";
    };
    EXPECT_TRUE(compiled(doubling(10)));
    EXPECT_NE(refusal(doubling(14)).find("more than 10000 subschemas"), std::string::npos);
    // The same through the instance: each array level doubles.
    EXPECT_NE(
        refusal(R"({"items":{"anyOf":[{"$ref":"#"},{"$ref":"#"}]}})").find("more than 10000 subschemas"),
        std::string::npos
    );
}

TEST(user_schema, schemas_the_parser_would_recurse_through_too_deep_are_refused) {
    // A chain of definitions through `properties`: each link is one more level of Valijson's parser (5000
    // links overflowed the stack at register).
    auto chain = [](int n) {
        std::string text = R"({"$ref":"#/definitions/d0","definitions":{)";
        for (int i = 0; i < n; ++i) {
            text += "\"d" + std::to_string(i) + "\":{\"properties\":{\"x\":{\"$ref\":\"#/definitions/d" +
                    std::to_string(i + 1) + "\"}}},";
        }
        return text + "\"d" + std::to_string(n) + "\":{\"type\":\"string\"}}}";
    };
    EXPECT_TRUE(compiled(chain(400)));
    EXPECT_EQ(
        refusal(chain(5000)),
        invalid +
            "the schema's subschemas chain more than 500 deep (through their keywords and $refs); the parser "
            "would recurse too deep"
    );
    // Wide is fine: a thousand members that all refer back to the root.
    std::string wide = R"({"type":"object","additionalProperties":{"$ref":"#"},"properties":{)";
    for (int i = 0; i < 1000; ++i) {
        wide += (i == 0 ? "" : ",") + std::string("\"k") + std::to_string(i) + "\":{\"$ref\":\"#\"}";
    }
    const auto accepted = compiled(wide + "}}");
    ASSERT_TRUE(accepted);
    EXPECT_TRUE(problems(*accepted, R"({"k1":{"k2":{"x":5}}})")
                    .starts_with("[$.k1.k2.x: integer found, object expected"));
}

TEST(user_schema, every_subschema_is_parsed_on_its_own) {
    // Valijson looked a `propertyNames` subschema up under its parent's cache key: under a `$ref` it got
    // the parent instead ({"ab":1} was refused because "ab" is not an object).
    const auto names = compiled(R"({"definitions":{"s":{"type":"object","propertyNames":{"maxLength":3}}},)"
                                R"("properties":{"o":{"$ref":"#/definitions/s"}}})");
    ASSERT_TRUE(names);
    EXPECT_EQ(problems(*names, R"({"o":{"ab":1}})"), "");
    EXPECT_NE(problems(*names, R"({"o":{"abcd":1}})"), "");
    // What Valijson never parses is not checked either: `then` without `if`, unused definitions.
    EXPECT_TRUE(compiled(R"({"then":{"pattern":"("},"definitions":{"x":{"multipleOf":0}}})"));
}

TEST(user_schema, the_deepest_accepted_schema_meets_the_deepest_instance_without_overflow) {
    // 16 allOf hops per level (the most accepted), 255 array levels (about what a request body allows):
    // about 1.5 MB of stack (-O3), against the 8 MB of a thread.
    std::string text = R"({"$ref":"#/definitions/d0","definitions":{)";
    for (int i = 0; i < 16; ++i) {
        text += "\"d" + std::to_string(i) + "\":{\"allOf\":[{\"$ref\":\"#/definitions/d" +
                std::to_string(i + 1) + "\"}]},";
    }
    text += R"("d16":{"type":"array","items":{"$ref":"#/definitions/d0"}}}})";
    const auto schema = compiled(text);
    ASSERT_TRUE(schema);
    json::value deep = json::array{5};
    for (int i = 0; i < 255; ++i) {
        deep = json::array{std::move(deep)};
    }
    const std::string found = problems(*schema, deep);
    EXPECT_TRUE(found.starts_with("[$[0][0][0]")) << found.substr(0, 300);
    EXPECT_NE(found.find("Value type not permitted by 'type' constraint."), std::string::npos) << found;
}

// Request bodies may nest 1000 deep; an instance deeper than 256 levels is refused, not walked.
TEST(user_schema, instances_deeper_than_256_levels_are_refused_unwalked) {
    const auto schema = compiled(R"({"type":"array","items":{"$ref":"#"}})");
    ASSERT_TRUE(schema);
    json::value deep = json::array{};
    for (int i = 0; i < 999; ++i) {
        deep = json::array{std::move(deep)};
    }
    EXPECT_EQ(problems(*schema, deep), "[$: nested deeper than 256 levels]");
}

TEST(user_schema, private_keywords_in_a_user_schema_are_ignored) {
    const auto s =
        compiled("{\"type\":\"string\",\"\\u0001modelrelay:pattern\":0,\"\\u0001modelrelay:carrier\":7}");
    ASSERT_TRUE(s);
    EXPECT_EQ(problems(*s, R"("x")"), "");
    EXPECT_NE(problems(*s, "1"), "");
}

TEST(user_schema, boolean_schemas) {
    const auto yes = compiled("true");
    ASSERT_TRUE(yes);
    EXPECT_EQ(problems(*yes, R"({"a":1})"), "");
    const auto no = compiled("false");
    ASSERT_TRUE(no);
    EXPECT_EQ(problems(*no, R"({"a":1})"), "[$: does not match the schema]");
}

}  // namespace
}  // namespace modelrelay::schemas
