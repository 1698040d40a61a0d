// File: parameters_test.cpp
// Parameter stringification (gson rules), commons-text escapeJson, isJson and the request/connector merge
// (spec ml-commons.md §2.1, §3.1). Expected strings are what ml-commons produces for the same input.
#include "registry/parameters.hpp"

#include <string>
#include <string_view>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

namespace modelrelay::test {
namespace {

namespace json = boost::json;
using registry::escape_json;
using registry::is_json_container;
using registry::key_order;
using registry::param_map;
using registry::stringify_parameter;

std::string stringify(std::string_view json_text, key_order order = key_order::java_hash_map) {
    return stringify_parameter(json::parse(json_text), order);
}

struct stringify_case {
    std::string_view input;  // JSON text of the parameter value
    std::string_view expected;
};

class stringify_table : public ::testing::TestWithParam<stringify_case> {};

TEST_P(stringify_table, matches_gson) {
    EXPECT_EQ(stringify(GetParam().input), GetParam().expected) << "input: " << GetParam().input;
}

INSTANTIATE_TEST_SUITE_P(
    parameters,
    stringify_table,
    ::testing::Values(
        // strings are kept raw: no quotes, no escaping
        stringify_case{R"("gpt-4o")", "gpt-4o"},
        stringify_case{R"("")", ""},
        stringify_case{R"("say \"hi\"\n")", "say \"hi\"\n"},
        stringify_case{R"("[1,2]")", "[1,2]"},
        // integers (Jackson Integer/Long) print as they are
        stringify_case{"7", "7"},
        stringify_case{"-3", "-3"},
        stringify_case{"0", "0"},
        stringify_case{"-0", "0"},
        stringify_case{"3000000000", "3000000000"},
        stringify_case{"18446744073709551615", "18446744073709551615"},
        // anything with a fraction or exponent is a Java double → Double.toString
        stringify_case{"7.0", "7.0"},
        stringify_case{"0.5", "0.5"},
        stringify_case{"1e-4", "1.0E-4"},
        stringify_case{"1e21", "1.0E21"},
        stringify_case{"1e2", "100.0"},
        stringify_case{"1E7", "1.0E7"},
        stringify_case{"9999999.0", "9999999.0"},
        stringify_case{"1234567.25", "1234567.25"},
        stringify_case{"0.001", "0.001"},
        stringify_case{"0.0009", "9.0E-4"},
        stringify_case{"-2.5", "-2.5"},
        stringify_case{"-0.0", "-0.0"},
        stringify_case{"123456789.125", "1.23456789125E8"},
        stringify_case{"0.30000000000000004", "0.30000000000000004"},
        stringify_case{"4.9e-324", "4.9E-324"},
        stringify_case{"1.7976931348623157e308", "1.7976931348623157E308"},
        // literals
        stringify_case{"true", "true"},
        stringify_case{"false", "false"},
        stringify_case{"null", "null"},
        // containers → compact gson JSON
        stringify_case{R"([1, "a", null, 2.5, 1e-4, true])", R"([1,"a",null,2.5,1.0E-4,true])"},
        stringify_case{R"({"a": null, "b": 1})", R"({"b":1})"},
        stringify_case{R"([[], {}])", "[[],{}]"},
        stringify_case{R"({"k": [1.0, 2]})", R"({"k":[1.0,2]})"},
        // gson's HTML-safe escaping inside nested strings
        stringify_case{
            R"(["<a href='x'>&=</a>"])",
            R"(["\u003ca href\u003d\u0027x\u0027\u003e\u0026\u003d\u003c/a\u003e"])"},
        stringify_case{R"(["a\nb\t\u0001\"\\/"])", R"(["a\nb\t\u0001\"\\/"])"},
        stringify_case{"[\"\\u2028\\u2029\"]", R"(["\u2028\u2029"])"},
        stringify_case{"[\"\xC3\xA9\xF0\x9F\x98\x80\"]", "[\"\xC3\xA9\xF0\x9F\x98\x80\"]"},
        stringify_case{R"({"a\"b": "c"})", R"({"a\"b":"c"})"}
    )
);

TEST(parameters, nested_keys_follow_java_hash_map_order) {
    // java.util.HashMap iteration order (what ml-commons' XContent map + gson produce).
    EXPECT_EQ(stringify(R"({"b":1,"a":2})"), R"({"a":2,"b":1})");
    EXPECT_EQ(stringify(R"([{"content":"hi","role":"user"}])"), R"([{"role":"user","content":"hi"}])");
    EXPECT_EQ(
        stringify(R"({"model":1,"messages":2,"temperature":3,"max_tokens":4,"stream":5})"),
        R"({"max_tokens":4,"stream":5,"temperature":3,"messages":2,"model":1})"
    );
    EXPECT_EQ(stringify(R"({"type":1,"text":2,"image_url":3})"), R"({"image_url":3,"text":2,"type":1})");
    // 20 keys: the table has grown to 32 buckets.
    std::string in = "{";
    for (int i = 0; i < 20; ++i) {
        in += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":" + std::to_string(i);
    }
    in += "}";
    EXPECT_EQ(
        stringify(in),
        R"({"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k11":11,"k6":6,"k10":10,"k7":7,"k13":13,"k8":8,)"
        R"("k12":12,"k9":9,"k15":15,"k14":14,"k17":17,"k16":16,"k19":19,"k18":18})"
    );
}

TEST(parameters, insertion_order_on_request) {
    EXPECT_EQ(stringify(R"({"b":1,"a":2})", key_order::insertion), R"({"b":1,"a":2})");
}

TEST(parameters, java_double_to_string) {
    using registry::java_double_to_string;
    EXPECT_EQ(java_double_to_string(1.0), "1.0");
    EXPECT_EQ(java_double_to_string(100.0), "100.0");
    EXPECT_EQ(java_double_to_string(1e7), "1.0E7");
    EXPECT_EQ(java_double_to_string(1e-3), "0.001");
    EXPECT_EQ(java_double_to_string(1e23), "1.0E23");
    EXPECT_EQ(java_double_to_string(2e-3), "0.002");
    EXPECT_EQ(java_double_to_string(-1.25e-7), "-1.25E-7");
    EXPECT_EQ(java_double_to_string(1.0 / 0.0), "Infinity");
    EXPECT_EQ(java_double_to_string(-1.0 / 0.0), "-Infinity");
    EXPECT_EQ(java_double_to_string(0.0 / 0.0), "NaN");
}

// What JSON.stringify prints, with `.0` kept on whole numbers; every text must read back as the same
// double.
TEST(parameters, plain_double_to_string) {
    using registry::plain_double_to_string;
    EXPECT_EQ(plain_double_to_string(0.5), "0.5");
    EXPECT_EQ(plain_double_to_string(1.0), "1.0");
    EXPECT_EQ(plain_double_to_string(-0.0), "-0.0");
    EXPECT_EQ(plain_double_to_string(0.0), "0.0");
    EXPECT_EQ(plain_double_to_string(100.0), "100.0");
    EXPECT_EQ(plain_double_to_string(123.25), "123.25");
    EXPECT_EQ(plain_double_to_string(-0.00042), "-0.00042");
    EXPECT_EQ(plain_double_to_string(-0.31725305), "-0.31725305");
    EXPECT_EQ(plain_double_to_string(1e-6), "0.000001");
    EXPECT_EQ(plain_double_to_string(1e-7), "1e-7");
    EXPECT_EQ(plain_double_to_string(-1.25e-7), "-1.25e-7");
    EXPECT_EQ(plain_double_to_string(1e7), "10000000.0");
    EXPECT_EQ(plain_double_to_string(1e20), "100000000000000000000.0");
    EXPECT_EQ(plain_double_to_string(1e21), "1e+21");
    EXPECT_EQ(plain_double_to_string(1.5e300), "1.5e+300");
    EXPECT_EQ(plain_double_to_string(0.1 + 0.2), "0.30000000000000004");
    EXPECT_EQ(plain_double_to_string(5e-324), "5e-324");
    for (double d : {0.1, 2.0 / 3, 1e-300, 6.02214076e23, -9007199254740993.0, 0.0023064255}) {
        EXPECT_EQ(std::stod(plain_double_to_string(d)), d) << plain_double_to_string(d);
    }
}

struct escape_case {
    std::string_view input;
    std::string_view expected;
};

class escape_table : public ::testing::TestWithParam<escape_case> {};

TEST_P(escape_table, matches_commons_text_escape_json) {
    EXPECT_EQ(escape_json(GetParam().input), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    parameters,
    escape_table,
    ::testing::Values(
        escape_case{"", ""},
        escape_case{"plain text 123", "plain text 123"},
        escape_case{R"(He said "hi")", R"(He said \"hi\")"},
        escape_case{R"(C:\path\to)", R"(C:\\path\\to)"},
        escape_case{"</script>", R"(<\/script>)"},
        escape_case{"a\nb\tc\rd\be\ff", R"(a\nb\tc\rd\be\ff)"},
        escape_case{std::string_view("\x00\x01\x1f", 3), R"(\u0000\u0001\u001F)"},
        escape_case{"\x0b", R"(\u000B)"},
        escape_case{"del\x7f~", "del\x7f~"},  // JavaUnicodeEscaper.outsideOf(32, 0x7f) keeps DEL
        escape_case{"<>&='", "<>&='"},
        escape_case{"caf\xC3\xA9", R"(caf\u00E9)"},
        escape_case{"\xE4\xB8\xAD\xE6\x96\x87", R"(\u4E2D\u6587)"},
        escape_case{"\xE2\x82\xAC", R"(\u20AC)"},
        escape_case{"\xF0\x9F\x98\x80", R"(\uD83D\uDE00)"},
        escape_case{"\xF4\x8F\xBF\xBF", R"(\uDBFF\uDFFF)"},
        escape_case{"\xE2\x80\xA8", R"(\u2028)"},
        // invalid UTF-8: each maximal invalid subsequence → U+FFFD
        escape_case{"\xFF", R"(\uFFFD)"},
        escape_case{"a\xC3", R"(a\uFFFD)"},
        escape_case{"\xE2\x82x", R"(\uFFFDx)"},
        escape_case{"\xED\xA0\x80", R"(\uFFFD\uFFFD\uFFFD)"},
        escape_case{"\xC0\xAF", R"(\uFFFD\uFFFD)"}
    )
);

TEST(parameters, gson_escaping) {
    std::string out;
    registry::append_gson_escaped(out, "a\"b\\c\n<=>&'\x01\xE2\x80\xA8\xC3\xA9/");
    EXPECT_EQ(
        out,
        R"(a\"b\\c\n\u003c\u003d\u003e\u0026\u0027\u0001\u2028)"
        "\xC3\xA9/"
    );
    out.clear();
    registry::append_gson_escaped(out, "<'>", false);
    EXPECT_EQ(out, "<'>");
}

TEST(parameters, is_json_container) {
    for (std::string_view yes :
         {"{}", "[]", " {\"a\":1} ", "[1,2]", "\n[{\"a\":[null]}]\n", "{\"a\":1,\"a\":2}"}) {
        EXPECT_TRUE(is_json_container(yes)) << yes;
    }
    for (std::string_view no :
         {"",
          "  ",
          "\"x\"",
          "1",
          "null",
          "true",
          "{",
          "{\"a\":1} x",
          "{'a':1}",
          "{a:1}",
          "{\"a\":1}{\"b\":2}",
          "[]\"",
          "[1,]",
          "{\"a\":NaN}",
          "hello"}) {
        EXPECT_FALSE(is_json_container(no)) << no;
    }
}

TEST(parameters, is_json_container_rejects_very_deep_nesting_without_crashing) {
    EXPECT_TRUE(is_json_container(std::string(500, '[') + std::string(500, ']')));
    EXPECT_FALSE(is_json_container(std::string(100000, '[') + std::string(100000, ']')));
}

TEST(parameters, escape_request_parameters) {
    param_map in{
        {"prompt", "say \"hi\"\n</s>"},
        {"messages", R"([{"role":"user","content":"a\"b"}])"},
        {"object", R"({"a":1})"},
        {"keep", "a\"b"},
        {"also", "x\ny"},
        {"num", "7"},
        {"no_escape_params", " keep , also "},
    };
    const param_map out = registry::escape_request_parameters(in);
    EXPECT_EQ(out.at("prompt"), R"(say \"hi\"\n<\/s>)");
    EXPECT_EQ(out.at("messages"), R"([{"role":"user","content":"a\"b"}])");
    EXPECT_EQ(out.at("object"), R"({"a":1})");
    EXPECT_EQ(out.at("keep"), "a\"b");
    EXPECT_EQ(out.at("also"), "x\ny");
    EXPECT_EQ(out.at("num"), "7");
    EXPECT_EQ(out.at("no_escape_params"), " keep , also ");
}

TEST(parameters, merge_request_parameters) {
    const param_map connector{
        {"model", "gpt-4o"},
        {"temperature", "0.5"},
        {"system", "You are \"helpful\""},  // connector values are never escaped
    };
    const json::object request = json::parse(R"({
        "prompt": "Tell me a \"joke\"\nabout /tmp",
        "temperature": 0.7,
        "max_tokens": 7,
        "stop": null,
        "flag": true,
        "messages": [{"content": "hi <b>", "role": "user"}],
        "raw": "{\"a\": 1}",
        "unicode": "日本 😀"
    })")
                                     .as_object();
    const param_map merged = registry::merge_request_parameters(connector, request);
    EXPECT_EQ(merged.at("model"), "gpt-4o");
    EXPECT_EQ(merged.at("system"), "You are \"helpful\"");
    EXPECT_EQ(merged.at("temperature"), "0.7");  // request wins
    EXPECT_EQ(merged.at("prompt"), R"(Tell me a \"joke\"\nabout \/tmp)");
    EXPECT_EQ(merged.at("max_tokens"), "7");
    EXPECT_EQ(merged.at("stop"), "null");
    EXPECT_EQ(merged.at("flag"), "true");
    // an array value is inserted verbatim (gson JSON, HashMap key order, HTML-safe strings)
    EXPECT_EQ(merged.at("messages"), R"([{"role":"user","content":"hi \u003cb\u003e"}])");
    // a string that happens to be a whole JSON object is not escaped (ml-commons #5070)
    EXPECT_EQ(merged.at("raw"), R"({"a": 1})");
    EXPECT_EQ(merged.at("unicode"), R"(\u65E5\u672C \uD83D\uDE00)");
    EXPECT_EQ(merged.size(), 10u);
}

TEST(parameters, overlay_is_escape_of_stringify_laid_over) {
    // The one-pass overlay the predict planner uses must equal the two-map definition for every kind of
    // value, with and without no_escape_params (given as a string and as an array).
    const char* const requests[] = {
        R"({"prompt":"a\"b\n</s>","messages":[{"role":"user","content":"x\"y <b>"}],"o":{"k":[1,2.5,null]},)"
        R"("raw":"{\"a\": 1}","arr":"[1,2]","n":7,"d":0.1,"t":true,"z":null,"u":"日本 😀","model":"mine"})",
        R"({"keep":"a\"b","also":"x\ny","other":"p\"q","no_escape_params":" keep , also "})",
        R"({"keep":"a\"b","no_escape_params":["keep"]})",
        R"({"no_escape_params":""})",
        R"({})",
    };
    const param_map connector{{"model", "gpt-4o"}, {"endpoint", "api.openai.com"}};
    for (const char* text : requests) {
        const json::object request = json::parse(text).as_object();
        for (auto order : {registry::key_order::java_hash_map, registry::key_order::insertion}) {
            param_map expected = connector;
            for (auto& [k, v] :
                 registry::escape_request_parameters(registry::stringify_parameters(request, order))) {
                expected.insert_or_assign(k, v);
            }
            param_map overlaid = connector;
            registry::overlay_request_parameters(overlaid, request, order);
            EXPECT_EQ(overlaid, expected) << text;
        }
    }
}

TEST(parameters, heterogeneous_lookup) {
    const param_map m{{"a.b", "1"}};
    constexpr std::string_view key = "a.b";
    ASSERT_NE(registry::find_param(m, key), nullptr);
    EXPECT_EQ(*registry::find_param(m, key), "1");
    EXPECT_EQ(registry::find_param(m, "a"), nullptr);
}

}  // namespace
}  // namespace modelrelay::test
