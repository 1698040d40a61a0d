// File: painless_test.cpp
// The Painless subset of registry/painless.hpp, run over the scripts that ml-commons connector blueprints
// use (tests/fixtures/painless/*.painless, JSON-decoded from the blueprints) and over edge cases: Java's
// string rendering, gson's number typing, ml-commons' escape(), limits and refused syntax.
#include "registry/painless.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include "registry/json_parse.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;
namespace painless = registry::painless;

std::string fixture(std::string_view name) {
    const auto path = std::filesystem::path(MODELRELAY_SOURCE_DIR) / "tests/fixtures/painless" /
                      (std::string(name) + ".painless");
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << path;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// "NULL" for a null result, "ERROR: <reason>" for a failure, else the returned string.
std::string run(std::string_view source, std::string_view params_json = "{}") {
    auto compiled = painless::compile(source);
    if (!compiled) {
        return "COMPILE: " + compiled.error().reason;
    }
    // Parsed exactly, as modelrelay reads every upstream answer (Boost's json::parse is an ulp off for some
    // 17-digit numbers).
    auto out = painless::run(**compiled, registry::parse_json(params_json));
    if (!out) {
        return "ERROR: " + out.error().reason;
    }
    return *out ? **out : "NULL";
}

std::string compile_error(std::string_view source) {
    auto compiled = painless::compile(source);
    return compiled ? "COMPILED" : compiled.error().reason;
}

// ----- the blueprint corpus

TEST(painless_blueprints, llm_judgment_chat_escapes_the_answer_into_a_model_tensor) {
    const std::string script = fixture("llm_judgment_openai_chat");
    EXPECT_EQ(
        run(script,
            R"({"choices":[{"message":{"role":"assistant","content":"Score: 0.9\n\"good\" \\ ok"}}]})"),
        R"({"name":"response","dataAsMap":{"response":"Score: 0.9\n\"good\" \\ ok"}})"
    );
    // No content (a tool call answer): escape(null) fails as the injected function's contains() would.
    EXPECT_EQ(
        run(script, R"({"choices":[{"message":{"content":null}}]})").substr(0, 27),
        "ERROR: Painless script: nul"
    );
    EXPECT_EQ(
        run(script, R"({"choices":[]})"), "ERROR: Painless script: index 0 out of bounds for length 0 at 1:26"
    );
}

TEST(painless_blueprints, other_llm_judgment_shapes) {
    EXPECT_EQ(
        run(fixture("llm_judgment_gemini_chat"), R"({"candidates":[{"content":{"parts":[{"text":"3"}]}}]})"),
        R"({"name":"response","dataAsMap":{"response":"3"}})"
    );
    EXPECT_EQ(
        run(fixture("llm_judgment_bedrock_converse"),
            R"({"output":{"message":{"content":[{"text":"a\tb"}]}}})"),
        "{\"name\":\"response\",\"dataAsMap\":{\"response\":\"a\tb\"}}"  // TAB stays raw, as in ml-commons
    );
    EXPECT_EQ(
        run(fixture("llm_judgment_claude_bedrock"),
            R"({"content":[{"type":"text","text":"line1\r\nline2"}]})"),
        R"({"name":"response","dataAsMap":{"response":"line1\r\nline2"}})"
    );
}

TEST(painless_blueprints, oci_cohere_chat_replaces_newlines_and_quotes) {
    const std::string params = R"({"chatResponse":{"text":"He said \"hi\"\nthen left"}})";
    EXPECT_EQ(
        run(fixture("oci_cohere_chat_tensor"), params),
        R"({"name":"response","dataAsMap":{"inferenceResponse":{"generatedTexts":[{"text":"He said hi\nthen left"}]}}})"
    );
    EXPECT_EQ(run(fixture("oci_cohere_chat_text"), params), R"(He said hi\nthen left)");
}

TEST(painless_blueprints, ollama_message_content_is_returned_as_is) {
    EXPECT_EQ(run(fixture("ollama_message_content"), R"({"message":{"content":"plain"}})"), "plain");
    EXPECT_EQ(run(fixture("ollama_message_content"), R"({"message":{}})"), "NULL");
}

TEST(painless_blueprints, bedrock_titan_embedding_prints_numbers_as_java_does) {
    // gson reads every JSON number as a Double: 1 prints as 1.0, and lists print as Java's List.toString.
    EXPECT_EQ(
        run(fixture("bedrock_titan_embedding_post"),
            R"({"embedding":[0.5,-1,1.0E-5,123456789012],"inputTextTokenCount":3})"),
        R"({"name":"sentence_embedding","data_type":"FLOAT32","shape":[4],"data":[0.5, -1.0, 1.0E-5, 1.23456789012E11]})"
    );
    EXPECT_EQ(run(fixture("bedrock_titan_embedding_post"), R"({"embedding":[],"message":"empty"})"), "empty");
    EXPECT_EQ(run(fixture("bedrock_titan_embedding_post"), R"({"message":"no vector"})"), "no vector");
}

TEST(painless_blueprints, pre_process_scripts_build_parameters) {
    EXPECT_EQ(
        run(fixture("bedrock_titan_embedding_pre"), R"({"text_docs":["hello world"]})"),
        R"({"parameters":{"inputText":"hello world"}})"
    );
    EXPECT_EQ(
        run(fixture("bedrock_multimodal_pre"), R"({"text_docs":["a cat","aW1hZ2U="]})"),
        R"({"parameters":{"inputText":"a cat","inputImage":"aW1hZ2U="}})"
    );
    EXPECT_EQ(
        run(fixture("bedrock_multimodal_pre"), R"({"text_docs":[null,"aW1hZ2U="]})"),
        R"({"parameters":{"inputImage":"aW1hZ2U="}})"
    );
    EXPECT_EQ(
        run(fixture("ml_commons_cohere_pre"), R"({"text_docs":["a","b","c"]})"),
        R"({"parameters":{"prompt":["a","b","c"]}})"
    );
}

TEST(painless_blueprints, sagemaker_cross_encoder_defines_its_own_escape) {
    EXPECT_EQ(
        run(fixture("sagemaker_cross_encoder_pre"),
            R"({"query_text":"q \"x\"","text_docs":["d1\n","d\\2"]})"),
        R"({"parameters": { "inputs": [{"text":"q \"x\"", "text_pair":"d1\n"},{"text":"q \"x\"", "text_pair":"d\\2"}] }})"
    );
}

TEST(painless_blueprints, sagemaker_cross_encoder_post_reads_the_wrapped_array) {
    // ml-commons wraps an array answer as {"result": [...]} before the script sees it.
    EXPECT_EQ(
        run(fixture("sagemaker_cross_encoder_post"),
            R"({"result":[{"label":"LABEL_0","score":0.054037678986787796},{"label":"LABEL_0","score":0.5877784490585327}]})"
        ),
        R"([  {"name": "similarity", "data_type": "FLOAT32", "shape": [1],"data": [0.054037678986787796]}, {"name": "similarity", "data_type": "FLOAT32", "shape": [1],"data": [0.5877784490585327]}])"
    );
    EXPECT_EQ(run(fixture("sagemaker_cross_encoder_post"), R"({"x":1})"), "no result generated");
}

TEST(painless_blueprints, a_script_returning_a_map_fails_as_template_script_would) {
    EXPECT_EQ(
        run(fixture("returns_map")),
        "ERROR: Painless script: cannot cast java.util.HashMap to java.lang.String (the script must return a "
        "String)"
    );
}

// ----- escape()

// The tutorials that guard their answer with `throw` (DeepSeek on SageMaker, Bedrock guardrails, Cohere
// rerank on Bedrock) and turn a Double index into an int with BigDecimal (the rerank posts).
TEST(painless_blueprints, throw_guards_and_big_decimal_indexes) {
    const std::string deepseek = fixture("deepseek_sagemaker_post");
    EXPECT_EQ(
        run(deepseek, R"({"result":[{"generated_text":"hi \"there\""}]})"),
        R"({"name": "response","dataAsMap": {"completion":"hi \"there\""}})"
    );
    EXPECT_EQ(
        run(deepseek, R"({"result":[]})"), "ERROR: Painless script: Exception: No response available at 3:9"
    );
    const std::string guard = fixture("guardrail_claude_post");
    EXPECT_EQ(
        run(guard, R"({"amazon-bedrock-guardrailAction":"INTERVENED"})"),
        "ERROR: Painless script: IllegalArgumentException: test guardrail from post process function at 2:67"
    );
    EXPECT_EQ(run(guard, R"({"amazon-bedrock-guardrailAction":"NONE"})"), "NULL");
    const std::string rerank = fixture("bedrock_cohere_rerank_post");
    EXPECT_EQ(
        run(rerank,
            R"({"results":[{"index":2,"relevance_score":0.9},{"index":0,"relevance_score":0.25},{"index":1,"relevance_score":1.5E-5}]})"
        ),
        R"([ {"name": "similarity", "data_type": "FLOAT32", "shape": [1],"data": [0.25]}, {"name": "similarity", "data_type": "FLOAT32", "shape": [1],"data": [1.5E-5]}, {"name": "similarity", "data_type": "FLOAT32", "shape": [1],"data": [0.9]}])"
    );
    EXPECT_EQ(
        run(rerank, R"({"results":[]})"),
        "ERROR: Painless script: IllegalArgumentException: Post process function input is empty. at 3:7"
    );
    EXPECT_EQ(
        run(fixture("xenc_sagemaker_bigdecimal_post"),
            R"({"result":[{"index":1,"score":0.5},{"index":0,"score":2}]})"),
        R"([ {"name": "similarity", "data_type": "FLOAT32", "shape": [1],"data": [2.0]}, {"name": "similarity", "data_type": "FLOAT32", "shape": [1],"data": [0.5]}])"
    );
    EXPECT_EQ(run("return '' + new BigDecimal('-1.5e2').doubleValue();"), "-150.0");
    EXPECT_EQ(
        run("return '' + new BigDecimal('x').intValue();"),
        "ERROR: Painless script: NumberFormatException: not a BigDecimal at 1:13"
    );
    EXPECT_EQ(run("throw new RuntimeException();"), "ERROR: Painless script: RuntimeException at 1:1");
    EXPECT_EQ(
        compile_error("throw 'oops';"),
        "Painless script: unsupported syntax 'throw' of anything but new <Exception>(...) at 1:1"
    );
    EXPECT_EQ(
        compile_error("throw new StringBuilder();"), "Painless script: cannot throw 'StringBuilder' at 1:1"
    );
}

// A string built by `+=` over a large embedding (OpenAI text-embedding-3-large has 3,072 dimensions)
// stays within the step budget; Painless itself counts only loop iterations.
TEST(painless_limits, concatenating_a_large_embedding_fits_the_budget) {
    std::string params = R"({"embedding":[)";
    for (int i = 0; i < 3072; ++i) {
        params += (i ? "," : "") + std::string("-0.012345678901234567");
    }
    params += "]}";
    const auto out =
        run("def emb = params.embedding; def s = '['; for (int i = 0; i < emb.length; i++) { s += emb[i]; "
            "if (i < emb.length - 1) { s += ','; } } return s + ']';",
            params);
    ASSERT_FALSE(out.starts_with("ERROR")) << out;
    EXPECT_EQ(out.size(), 2 + 3072 * std::string("-0.012345678901234567").size() + 3071);
}

TEST(painless_language, entry_sets_sub_lists_and_builder_edits) {
    EXPECT_EQ(
        run("def out = ''; for (def e : params.m.entrySet()) { out += e.getKey() + '=' + e.getValue() + ';'; "
            "} "
            "for (def e : params.m.entrySet()) { out += e.key; } return out;",
            R"({"m":{"a":"x","b":2}})"),
        "a=x;b=2.0;ab"
    );
    EXPECT_EQ(run("return '' + params.l.subList(1, 3);", R"({"l":["a","b","c","d"]})"), "[b, c]");
    EXPECT_EQ(
        run("return '' + params.l.subList(2, 5);", R"({"l":["a"]})"),
        "ERROR: Painless script: subList(2, 5) out of bounds for length 1 at 1:22"
    );
    EXPECT_EQ(
        run("def b = new StringBuilder('abc'); b.insert(1, 'X').insert(0, 7); b.deleteCharAt(b.length() - "
            "1); "
            "return b.reverse().toString();"),
        "bXa7"
    );
    EXPECT_EQ(run("return new StringBuilder('a😀b').reverse().toString();"), "b😀a");
}

// The text a run holds is bounded, whatever the steps allow: a String is shared, not copied, when it goes
// into a list; many distinct large Strings or StringBuilders fail the run instead of the server.
TEST(painless_limits, held_text_is_bounded) {
    const std::string big = "def s = 'x'; for (int i = 0; i < 20; i++) { s = s + s; } def l = []; ";
    EXPECT_EQ(run(big + "for (int i = 0; i < 100000; i++) { l.add(s); } return '' + l.size();"), "100000");
    const std::string limit = "ERROR: Painless script: the strings it holds passed 67108864 bytes";
    EXPECT_EQ(run(big + "for (int i = 0; i < 1000; i++) { l.add(s + i); } return '' + l.size();"), limit);
    EXPECT_EQ(
        run(big + "for (int i = 0; i < 1000; i++) { l.add(new StringBuilder(s)); } return '' + l.size();"),
        limit
    );
    EXPECT_EQ(
        run(big +
            "def b = new StringBuilder(); for (int i = 0; i < 100; i++) { l.add(b); b.append(s); } return '';"
        ),
        "ERROR: Painless script: a string grew past 16777216 bytes at 1:143"
    );
    // Text freed along the way does not count: a long run of temporary Strings fits.
    EXPECT_EQ(
        run(big + "def last = ''; for (int i = 0; i < 200; i++) { def t = s + i; last = t; } return '' + "
                  "last.length();"),
        "1048579"
    );
}

// Java floats: `f` literals, float casts and declarations, floatValue() and Float.parseFloat stay floats
// through float arithmetic and print as Float.toString (the Cohere int8 blueprint's float branch).
TEST(painless_language, floats_print_as_java_floats) {
    EXPECT_EQ(run("return '' + params.e[0].floatValue();", R"({"e":[0.006371465977281332]})"), "0.006371466");
    EXPECT_EQ(run("return '' + (0.1f + 0.2f);"), "0.3");
    EXPECT_EQ(run("return '' + (0.1 + 0.2);"), "0.30000000000000004");
    EXPECT_EQ(
        run("float f = 1; f += 0.1; return '' + f + ' ' + (f * 2) + ' ' + (f + 0.5d);"),
        "1.1 2.2 1.600000023841858"
    );
    EXPECT_EQ(
        run("float f = (float) params.x; return '' + (-f) + ' ' + Float.parseFloat('1e10');",
            R"({"x":1.0E-5})"),
        "-1.0E-5 1.0E10"
    );
    EXPECT_EQ(
        run("def b = new StringBuilder(); for (def v : params.l) { b.append(v.floatValue()).append(','); } "
            "return b.toString();",
            R"({"l":[-0.03583695366978645,123456.789]})"),
        "-0.035836954,123456.79,"
    );
}

TEST(painless_escape, matches_ml_commons_default_escape_function) {
    EXPECT_EQ(painless::ml_commons_escape("plain"), "plain");
    EXPECT_EQ(painless::ml_commons_escape("a\"b\\c"), "a\\\"b\\\\c");
    EXPECT_EQ(painless::ml_commons_escape("l1\nl2\r\b\f"), "l1\\nl2\\r\\b\\f");
    EXPECT_EQ(painless::ml_commons_escape("tab\there"), "tab\there");  // a TAB character is not touched
    // The two characters `\t`: the backslash is doubled first, then `\t` becomes `\\\t`.
    EXPECT_EQ(painless::ml_commons_escape("x\\ty"), "x\\\\\\\\ty");
    // The script's own definition gives the same as the built-in one.
    const std::string own = fixture("sagemaker_cross_encoder_pre");
    const std::string defined = own.substr(0, own.find("String query"));
    for (const std::string input : {"a\"b\\c", "l1\nl2\r\b\f", "tab\there", "x\\ty", "\\t\\\\t"}) {
        json::object p{{"s", input}};
        EXPECT_EQ(
            run(defined + "return escape(params.s);", json::serialize(p)), painless::ml_commons_escape(input)
        ) << input;
    }
}

// ----- language features

TEST(painless_language, string_concatenation_uses_java_rendering) {
    EXPECT_EQ(
        run("return 'n=' + 1 + ',d=' + 2.5 + ',z=' + 1e7 + ',b=' + true + ',x=' + null;"),
        "n=1,d=2.5,z=1.0E7,b=true,x=null"
    );
    EXPECT_EQ(
        run("return '' + params.m + params.l;", R"({"m":{"a":1,"b":"s","c":[1,null]},"l":[]})"),
        "{a=1.0, b=s, c=[1.0, null]}[]"
    );
    EXPECT_EQ(run("return 1 + 2 + 'x' + 1 + 2;"), "3x12");
    EXPECT_EQ(
        run("def sb = new StringBuilder('a'); sb.append(1).append(2.0).append(null); return 'x' + sb;"),
        "xa12.0null"
    );
}

TEST(painless_language, arithmetic_and_comparison) {
    EXPECT_EQ(
        run("return String.valueOf(7 / 2) + ' ' + (7 % 3) + ' ' + (7 / 2.0) + ' ' + (-7 / 2);"), "3 1 3.5 -3"
    );
    EXPECT_EQ(run("int i = 0; i += 2.7; return '' + i;"), "2");  // compound assignment narrows
    EXPECT_EQ(run("double d = 1; return '' + d;"), "1.0");
    EXPECT_EQ(
        run("return '' + (1 == 1.0) + (params.n == 3) + ('a' == 'a') + (null == null);", R"({"n":3})"),
        "truetruetruetrue"
    );
    EXPECT_EQ(run("return 1 / 0;"), "ERROR: Painless script: / by zero at 1:10");
    EXPECT_EQ(run("return '' + (1.0 / 0);"), "Infinity");
    EXPECT_EQ(run("def x = params.missing ?: 'dflt'; return x;"), "dflt");
    EXPECT_EQ(run("return params.a?.b?.c;"), "NULL");
    EXPECT_EQ(
        run("return params.a.b;"),
        "ERROR: Painless script: null pointer: cannot read field 'b' of null at 1:17"
    );
    EXPECT_EQ(run("return 3 > 2 ? 'y' : 'n';"), "y");
    EXPECT_EQ(
        run("return '' + (params.x instanceof String) + (params.n instanceof Double);", R"({"x":"s","n":1})"),
        "truetrue"
    );
}

TEST(painless_language, control_flow) {
    EXPECT_EQ(
        run(R"(
        def out = new ArrayList();
        for (int i = 0; i < 10; i++) {
            if (i % 2 == 0) { continue; }
            if (i > 7) break;
            out.add(i);
        }
        int j = 0;
        while (j < 3) { j++; }
        do { j += 10; } while (j < 30);
        for (def x : [1, 2]) { out.add(x * 10); }
        for (y in ['a']) { out.add(y); }
        return out.toString() + ' ' + j;
    )"),
        "[1, 3, 5, 7, 10, 20, a] 33"
    );
    EXPECT_EQ(
        run("if (params.a == null) { return 'none' } else if (params.a > 1) return 'big'; else return "
            "'small';",
            R"({"a":2})"),
        "big"
    );
    EXPECT_EQ(run("/* block */ def a = 1; // line\n return '' + a"), "1");
}

TEST(painless_language, collections_and_strings) {
    EXPECT_EQ(
        run(R"(
        def m = ['k': 'v', 'n': 1];
        m.put('z', [1, 2]);
        m['q'] = 'w';
        m.extra = true;
        def keys = m.keySet();
        return keys + ' ' + m.size() + ' ' + m.containsKey('k') + ' ' + m.get('nope') + ' ' + m.z.length + ' ' + [:];
    )"),
        "[k, n, z, q, extra] 5 true null 2 {}"
    );
    EXPECT_EQ(
        run(R"(
        def l = [3, 4, 5];
        l[0] = 9; l.add(6); l.remove(1);
        return l + ' ' + l[-1] + ' ' + l.get(0) + ' ' + l.contains(6) + ' ' + l.isEmpty() + ' ' + l.size();
    )"),
        "[9, 5, 6] 6 9 true false 3"
    );
    EXPECT_EQ(
        run(R"(
        String s = '  Hello, World  ';
        String t = s.trim();
        return t.toLowerCase() + '|' + t.substring(7) + '|' + t.substring(0, 5) + '|' + t.indexOf('o') + '|' +
            t.length() + '|' + t.contains('World') + '|' + t.startsWith('He') + '|' + t.endsWith('d') + '|' +
            t.replace('l', 'L') + '|' + t.charAt(1) + '|' + 'a,b,,c,,'.split(',') + '|' + ''.isEmpty();
    )"),
        "hello, world|World|Hello|4|12|true|true|true|HeLLo, WorLd|e|[a, b, , c]|true"
    );
    // Lengths and indexes count UTF-16 code units, as Java does.
    EXPECT_EQ(
        run("def s = 'h\u00e9\U0001F600!'; return s.length() + ' ' + s.substring(2) + ' ' + "
            "s.indexOf('!');"),
        "5 \U0001F600! 4"
    );
    EXPECT_EQ(
        run("String[] a = new String[2]; a[1] = 'x'; int[] n = new int[]{1, 2}; return a + ' ' + n + ' ' "
            "+ "
            "a.length;"),
        "[null, x] [1, 2] 2"
    );
    EXPECT_EQ(
        run("return Integer.parseInt('42') + Double.parseDouble('0.5') + ' ' + Math.max(2, 3);"), "42.5 3"
    );
}

TEST(painless_language, functions) {
    EXPECT_EQ(
        run("String twice(def s) { return s + s; } int add(int a, int b) { a + b; return a + b } "
            "return twice('ab') + add(1, 2);"),
        "abab3"
    );
    EXPECT_EQ(
        run("String f(def x) { return params; } return f(1);"),
        "ERROR: Painless script: unknown variable 'params' at 1:26"
    );  // functions do not see params
    EXPECT_EQ(
        run("int f(int n) { return f(n + 1); } return '' + f(0);").substr(0, 53),
        "ERROR: Painless script: calls nested deeper than 64 a"
    );
}

TEST(painless_language, runtime_type_errors) {
    EXPECT_EQ(
        run("int i = 'x'; return 'y';"), "ERROR: Painless script: cannot cast java.lang.String to int at 1:5"
    );
    EXPECT_EQ(
        run("return 1;"),
        "ERROR: Painless script: cannot cast java.lang.Integer to java.lang.String (the script "
        "must return a String)"
    );
    EXPECT_EQ(
        run("return params.l[0.0];", R"({"l":[1]})"),
        "ERROR: Painless script: a list index must be an integer, not java.lang.Double at 1:16"
    );
    EXPECT_EQ(
        run("if (params.x) { return 'a'; } return 'b';", R"({"x":"yes"})"),
        "ERROR: Painless script: cannot cast java.lang.String to boolean at 1:12"
    );
    EXPECT_EQ(
        run("return 'a'.foo();"), "ERROR: Painless script: no method foo/0 on java.lang.String at 1:12"
    );
    EXPECT_EQ(
        run("def x = 1; def x = 2; return '';"),
        "ERROR: Painless script: variable 'x' is already defined at 1:16"
    );
}

// ----- limits

TEST(painless_limits, runaway_loops_stop) {
    EXPECT_EQ(
        run("while (true) {} return 'never';"), "ERROR: Painless script: stopped after 1000000 steps at 1:1"
    );
    EXPECT_EQ(
        run("for (;;) { } return 'x';").substr(0, 46), "ERROR: Painless script: stopped after 1000000 "
    );
    EXPECT_EQ(
        run("def s = 'xxxxxxxxxxxxxxxx'; while (true) { s = s + s; } return s;").substr(0, 49),
        "ERROR: Painless script: a string grew past 167772"
    );
    // Work on big values costs steps: copying an 8 MiB string a million times must not run for hours.
    EXPECT_EQ(
        run("def s = 'x'; for (int i = 0; i < 23; i++) { s = s + s; } while (true) { def t = s + 'y'; }")
            .substr(0, 55),
        "ERROR: Painless script: stopped after 1000000 steps at "
    );
    EXPECT_EQ(
        run("def l = new ArrayList(); for (int i = 0; i < 100000; i++) { l.add(i); } "
            "while (true) { l.contains(-1); }")
            .substr(0, 55),
        "ERROR: Painless script: stopped after 1000000 steps at "
    );
    // A big map fills in linear time (hashed past 16 entries) and keeps its order.
    EXPECT_EQ(
        run("def m = [:]; for (int i = 0; i < 50000; i++) { m.put('k' + i, i); } "
            "return m.size() + ' ' + m.get('k49999') + ' ' + m.keySet().get(20) + ' ' + m.remove('k0') + "
            "' ' "
            "+ "
            "m.get('k1') + ' ' + m.containsKey('k0') + ' ' + m.keySet().get(0);"),
        "50000 49999 k20 0 1 false k1"
    );
    EXPECT_EQ(
        run("def l = []; l.add(l); return '' + l;").substr(0, 52),
        "ERROR: Painless script: a value nested too deep (or "
    );
}

// ----- compile errors

TEST(painless_compile, unsupported_syntax_is_named) {
    EXPECT_EQ(
        compile_error("return params.list.stream().map(x -> x + 1);"),
        "Painless script: unsupported syntax 'lambda (->)' at 1:35"
    );
    EXPECT_EQ(
        compile_error("def f = String::valueOf;"),
        "Painless script: unsupported syntax 'method reference (::)' at 1:15"
    );
    EXPECT_EQ(
        compile_error("if (params.a =~ /x/) {}"),
        "Painless script: unsupported syntax 'regular expressions (=~)' at 1:14"
    );
    EXPECT_EQ(
        compile_error("try { return 'a'; } catch (Exception e) {}"),
        "Painless script: unsupported syntax 'try' at 1:1"
    );
    EXPECT_EQ(compile_error("return new Date();"), "Painless script: unsupported type 'new Date' at 1:8");
    EXPECT_EQ(
        compile_error("return Collections.emptyList();"),
        "Painless script: unknown variable or unsupported class 'Collections' at 1:8"
    );
    EXPECT_EQ(compile_error("return foo(1);"), "Painless script: unknown function 'foo' at 1:8");
    EXPECT_EQ(
        compile_error("return 'a\\tb';"),
        "Painless script: unsupported escape in a string literal (only \\\\ and \\' exist in Painless) "
        "at "
        "1:10"
    );
    EXPECT_EQ(compile_error("def a = 1 return a;"), "Painless script: expected ';', found 'return' at 1:11");
    EXPECT_EQ(compile_error("return 'open"), "Painless script: unterminated string literal at 1:8");
    EXPECT_EQ(
        compile_error("def x = 1; String f(def y) { return y; }"),
        "Painless script: functions must be declared before the first statement at 1:12"
    );
    EXPECT_EQ(compile_error("return Math.PI;"), "Painless script: unsupported static field 'Math.PI' at 1:8");
    std::string deep(300, '(');
    deep += "1";
    deep.append(300, ')');
    EXPECT_EQ(compile_error(deep).substr(0, 43), "Painless script: nesting deeper than 200 at");
}

// A chain of operators is parsed without recursing but run recursively: its depth is bounded at compile.
TEST(painless_compile, deep_operator_chains_are_refused) {
    const auto chain = [](int terms) {
        std::string s = "return '' + (1";
        for (int i = 1; i < terms; ++i) {
            s += "+1";
        }
        return s + ");";
    };
    EXPECT_EQ(run(chain(200)), "200");
    EXPECT_EQ(
        compile_error(chain(32000)),
        "Painless script: expression or statements nested deeper than 256 levels at 1:1"
    );
    // The deepest tree allowed, in the deepest call nesting allowed, runs (stack use is bounded).
    std::string deepest = "int f(int n) { if (n == 0) { return 0; } return f(n - 1)";
    for (int i = 0; i < 245; ++i) {
        deepest += "+0";
    }
    deepest += "; } return '' + f(62);";
    EXPECT_EQ(run(deepest), "0");
}

TEST(painless_compile, the_whole_corpus_compiles) {
    for (const char* name :
         {"llm_judgment_openai_chat",
          "llm_judgment_gemini_chat",
          "llm_judgment_bedrock_converse",
          "llm_judgment_claude_bedrock",
          "oci_cohere_chat_tensor",
          "oci_cohere_chat_text",
          "ollama_message_content",
          "bedrock_titan_embedding_post",
          "bedrock_titan_embedding_pre",
          "bedrock_multimodal_pre",
          "sagemaker_cross_encoder_pre",
          "sagemaker_cross_encoder_post",
          "ml_commons_cohere_pre",
          "returns_map",
          "deepseek_sagemaker_post",
          "guardrail_claude_post",
          "xenc_sagemaker_bigdecimal_post",
          "bedrock_cohere_rerank_post"}) {
        EXPECT_EQ(compile_error(fixture(name)), "COMPILED") << name;
    }
}

TEST(painless_compile, cached_compile_returns_the_same_program) {
    auto a = painless::compile_cached("return 'a';");
    auto b = painless::compile_cached("return 'a';");
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->get(), b->get());
    EXPECT_FALSE(painless::compile_cached("return (;"));
}

}  // namespace
}  // namespace modelrelay::test
