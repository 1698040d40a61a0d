// File: template_test.cpp
// Connector template rendering (spec ml-commons.md §3): StringSubstitutor semantics, the request-body rules
// and their ordering, URL, credential and header rendering. Expected texts are what ml-commons produces.
#include "registry/template.hpp"

#include <string>
#include <string_view>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

namespace modelrelay::test {
namespace {

namespace json = boost::json;
using registry::compiled_template;
using registry::errc;
using registry::param_map;

compiled_template compile(std::string_view text) {
    return compiled_template::compile(text);
}

// Plain StringSubstitutor.replace (no body rules).
std::string substitute(std::string_view text, const param_map& params) {
    auto r = compile(text).render(params);
    EXPECT_TRUE(r.has_value()) << (r.has_value() ? "" : r.error().reason);
    return r.has_value() ? *r : std::string();
}

std::string body_ok(std::string_view text, const param_map& params) {
    auto r = registry::render_body(compile(text), params);
    EXPECT_TRUE(r.has_value()) << (r.has_value() ? "" : r.error().reason);
    return r.has_value() ? *r : std::string();
}

registry::error body_error(std::string_view text, const param_map& params) {
    auto r = registry::render_body(compile(text), params);
    EXPECT_FALSE(r.has_value()) << "rendered: " << (r.has_value() ? *r : "");
    return r.has_value() ? registry::error() : r.error();
}

// ---------------------------------------------------------------------------------------------------
// StringSubstitutor semantics

struct substitution_case {
    std::string_view name;
    std::string_view text;
    std::string_view expected;
};

const param_map substitution_params{
    {"model", "gpt-4o"},
    {"a.b", "flat"},
    {"empty", ""},
    {"dollar", "a$"},
    {"prompt", "Human: ${parameters.question}"},
    {"question", "why?"},
    {"chain1", "<${parameters.chain2}>"},
    {"chain2", "[${parameters.model}]"},
    {"escaped_inside", "cost $${parameters.model}"},
    {"y", "Y"},
};

class substitution_table : public ::testing::TestWithParam<substitution_case> {};

TEST_P(substitution_table, matches_string_substitutor) {
    EXPECT_EQ(substitute(GetParam().text, substitution_params), GetParam().expected) << GetParam().name;
}

INSTANTIATE_TEST_SUITE_P(
    template,
    substitution_table,
    ::testing::Values(
        substitution_case{"no placeholder", "plain text", "plain text"},
        substitution_case{"empty template", "", ""},
        substitution_case{"simple", "m=${parameters.model}", "m=gpt-4o"},
        substitution_case{"adjacent", "${parameters.model}${parameters.model}", "gpt-4ogpt-4o"},
        substitution_case{"flat key with a dot", "${parameters.a.b}", "flat"},
        substitution_case{"no object traversal", "${parameters.a}", "${parameters.a}"},
        substitution_case{"unknown left untouched", "x ${parameters.nope} y", "x ${parameters.nope} y"},
        substitution_case{
            "other prefix untouched", "${credential.key} ${model}", "${credential.key} ${model}"},
        substitution_case{"empty value", "[${parameters.empty}]", "[]"},
        substitution_case{"default used", "${parameters.nope:-5}", "5"},
        substitution_case{"default ignored", "${parameters.model:-x}", "gpt-4o"},
        substitution_case{"empty default", "[${parameters.nope:-}]", "[]"},
        substitution_case{"default for present empty value", "[${parameters.empty:-d}]", "[]"},
        substitution_case{"default ends at first brace", "${parameters.nope:-a}b}", "ab}"},
        substitution_case{
            "default is not resolved", "${parameters.nope:-${parameters.y}}", "${parameters.y}"},
        substitution_case{"recursive value", "${parameters.prompt}", "Human: why?"},
        substitution_case{"recursive chain", "${parameters.chain1}", "<[gpt-4o]>"},
        substitution_case{"escape", "$${parameters.model}", "${parameters.model}"},
        substitution_case{
            "escape then variable", "$${parameters.model}${parameters.model}", "${parameters.model}gpt-4o"},
        substitution_case{"double escape char", "$$${parameters.model}", "$${parameters.model}"},
        substitution_case{"dollar not before prefix", "$5 ${parameters.model}$", "$5 gpt-4o$"},
        substitution_case{
            "escape inside a value", "${parameters.escaped_inside}", "cost ${parameters.model}"},
        substitution_case{
            "value ending in $ escapes the next placeholder",
            "${parameters.dollar}${parameters.model}",
            "a${parameters.model}"},
        substitution_case{
            "... even through an empty value",
            "${parameters.dollar}${parameters.empty}${parameters.y}",
            "a${parameters.empty}Y"},
        substitution_case{
            "value ending in $ before text", "${parameters.dollar} ${parameters.model}", "a$ gpt-4o"},
        substitution_case{
            "unterminated stops everything", "${parameters.model} ${parameters.y", "gpt-4o ${parameters.y"},
        substitution_case{
            "prefix inside a name",
            "${parameters.nope ${parameters.y} ${parameters.model}",
            "${parameters.nope ${parameters.y} gpt-4o"},
        substitution_case{
            "nested prefix in the name blocks the default",
            "${parameters.x${parameters.y:-d}",
            "${parameters.x${parameters.y:-d}"},
        substitution_case{"default holding a prefix", "${parameters.x:-${parameters.y}", "${parameters.y"},
        substitution_case{
            "escaped with a nested placeholder", "$${parameters.x ${parameters.y}", "${parameters.x Y"},
        substitution_case{"json quotes untouched", R"({"m":"${parameters.model}"})", R"({"m":"gpt-4o"})"}
    )
);

TEST(template, cycle_reports_commons_text_message) {
    const param_map p{{"a", "x${parameters.b}"}, {"b", "${parameters.a}"}, {"self", "${parameters.self}"}};
    auto r = compile("go ${parameters.a}").render(p);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, errc::illegal_state);
    EXPECT_EQ(r.error().reason, "Infinite loop in property interpolation of go ${parameters.a}: a->b");
    r = compile("${parameters.self}").render(p);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().reason, "Infinite loop in property interpolation of ${parameters.self}: self");
}

TEST(template, cycle_message_shows_the_text_as_commons_text_held_it) {
    // escapes before the first variable are already applied, later ones are not
    const param_map p{{"self", "${parameters.self}"}};
    auto r = compile("$${parameters.x} ${parameters.self} $${parameters.y}").render(p);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(
        r.error().reason,
        "Infinite loop in property interpolation of ${parameters.x} ${parameters.self} $${parameters.y}: self"
    );
}

TEST(template, repeated_use_is_not_a_cycle) {
    const param_map p{{"a", "${parameters.b}${parameters.b}"}, {"b", "${parameters.c}"}, {"c", "C"}};
    EXPECT_EQ(substitute("${parameters.a}|${parameters.a}", p), "CC|CC");
}

TEST(template, exponential_expansion_is_bounded) {
    param_map p{{"v0", std::string(1 << 20, 'x')}};
    for (int i = 1; i <= 4; ++i) {
        const std::string prev = "${parameters.v" + std::to_string(i - 1) + "}";
        p["v" + std::to_string(i)] = prev + prev + prev + prev;
    }
    auto r = compile("${parameters.v4}").render(p);  // 1 MiB * 4^4 = 256 MiB uncapped
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, errc::illegal_argument);
}

// Small values doubling 40 times reach the byte limit only after ~100 M expansions (12 s of one thread);
// the count of nested expansions stops it first.
TEST(template, exponential_expansion_of_small_values_is_bounded_by_count) {
    param_map p{{"q0", "x"}};
    for (int i = 1; i < 40; ++i) {
        const std::string prev = "${parameters.q" + std::to_string(i - 1) + "}";
        p["q" + std::to_string(i)] = prev + prev;
    }
    auto r = compile(R"({"model":"${parameters.q39}"})").render(p);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().reason, "Rendered template exceeds the maximum size");
    // Within the count, the same shape renders.
    auto small = compile("${parameters.q10}").render(p);
    ASSERT_TRUE(small.has_value());
    EXPECT_EQ(small->size(), 1024U);
}

TEST(template, long_chains_are_bounded) {
    param_map p;
    for (int i = 0; i < 5000; ++i) {
        p["v" + std::to_string(i)] = "${parameters.v" + std::to_string(i + 1) + "}";
    }
    auto r = compile("${parameters.v0}").render(p);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, errc::illegal_argument);
}

TEST(template, compile_once_render_many_and_append) {
    const auto t = compile(R"({"model":"${parameters.model}"})");
    EXPECT_TRUE(t.has_placeholders());
    EXPECT_EQ(t.source(), R"({"model":"${parameters.model}"})");
    std::string out = "prefix:";
    for (const char* m : {"a", "bb"}) {
        ASSERT_TRUE(t.render_into(out, param_map{{"model", m}}).has_value());
    }
    EXPECT_EQ(out, R"(prefix:{"model":"a"}{"model":"bb"})");
    // the escape check never looks before the template's own text
    out = "$";
    ASSERT_TRUE(compile("${parameters.model}").render_into(out, param_map{{"model", "m"}}).has_value());
    EXPECT_EQ(out, "$m");
    const compiled_template empty;
    EXPECT_TRUE(empty.empty());
    EXPECT_FALSE(compile("text").has_placeholders());
}

// ---------------------------------------------------------------------------------------------------
// Request body

TEST(template_body, seed_chat_body_with_messages_array) {
    const json::object request = json::parse(R"({
        "messages": [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Say \"hi\"\n</script>"}]
    })")
                                     .as_object();
    const param_map params = registry::merge_request_parameters({{"model", "gpt-4o-mini"}}, request);
    const std::string body =
        body_ok(R"({ "model": "${parameters.model}", "messages": ${parameters.messages} })", params);
    EXPECT_EQ(
        body,
        R"({ "model": "gpt-4o-mini", "messages": [{"role":"system","content":"Be brief"},)"
        R"({"role":"user","content":"Say \"hi\"\n\u003c/script\u003e"}] })"
    );
    const json::value v = json::parse(body);
    EXPECT_EQ(v.at("messages").at(1).at("content").as_string(), "Say \"hi\"\n</script>");
}

// A user prompt with every character class that needs care, through merge + quoted template: the body
// stays valid JSON and decodes back to the original text.
TEST(template_body, quoted_prompt_round_trips) {
    const std::string prompt =
        "quote \" backslash \\ slash / newline \n tab \t cr \r bs \b ff \f ctl \x01 del \x7f "
        "</script> caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80 \xE2\x80\xA8 ${not.a.param} $${x}";
    json::object request;
    request["prompt"] = prompt;
    const param_map params = registry::merge_request_parameters({}, request);
    const std::string body = body_ok(R"({"prompt": "${parameters.prompt}"})", params);
    EXPECT_EQ(json::parse(body).at("prompt").as_string(), prompt);
    EXPECT_NE(body.find(R"(<\/script>)"), std::string::npos);
    EXPECT_NE(body.find(R"(\uD83D\uDE00)"), std::string::npos);
}

TEST(template_body, request_value_with_placeholder_text_is_resolved_like_ml_commons) {
    // ml-commons substitutes recursively, so a request value may reference other parameters.
    json::object request;
    request["prompt"] = "You are a ${parameters.role}";
    request["role"] = "pirate";
    const param_map params = registry::merge_request_parameters({}, request);
    EXPECT_EQ(body_ok(R"({"p":"${parameters.prompt}"})", params), R"({"p":"You are a pirate"})");
}

TEST(template_body, quoted_null_default) {
    const char* text =
        R"({"a":"${parameters.a:-null}","b":"${parameters.b:-null}","c":${parameters.c:-1},"d":"x${parameters.d:-null}"})";
    EXPECT_EQ(body_ok(text, {{"b", "B"}}), R"({"a":null,"b":"B","c":1,"d":"xnull"})");
    EXPECT_EQ(
        body_ok(text, {{"a", "A"}, {"b", "B"}, {"c", "3"}, {"d", "D"}}), R"({"a":"A","b":"B","c":3,"d":"xD"})"
    );
    // only `\w+` keys get the treatment
    EXPECT_EQ(body_ok(R"({"a":"${parameters.a-b:-null}"})", {}), R"({"a":"null"})");
}

TEST(template_body, quoted_null_shared_quote_replays_ml_commons_text_edits) {
    // Two placeholders share a quote character: ml-commons' sequential String.replace decides.
    const char* text = R"(["${parameters.a:-null}"${parameters.b:-null}", "${parameters.b:-null}"])";
    auto e = body_error(text, {});
    EXPECT_EQ(e.reason, R"(Invalid payload: [nullnull", null])");
    e = body_error(text, {{"a", "A"}});
    EXPECT_EQ(e.reason, R"(Invalid payload: ["Anull, null])");
}

TEST(template_body, quoted_null_inside_an_escaped_placeholder) {
    // `$${parameters."${parameters.a:-null}"...`: ml-commons first turns the quoted default into `null`,
    // which removes the `}` the escape needed, so the `$$` stays.
    EXPECT_EQ(
        body_error("$${parameters.\"${parameters.a:-null}\"\n\"${parameters.c:-null}\"", {}).reason,
        "Invalid payload: $${parameters.null\nnull"
    );
}

TEST(template_body, unquoted_missing_placeholder_is_invalid_payload_first) {
    const auto e =
        body_error(R"({ "model": "${parameters.model}", "messages": ${parameters.messages} })", {});
    EXPECT_EQ(e.code, errc::illegal_argument);
    EXPECT_EQ(
        e.reason, R"(Invalid payload: { "model": "${parameters.model}", "messages": ${parameters.messages} })"
    );
}

TEST(template_body, quoted_missing_placeholders_are_listed) {
    const auto e = body_error(
        R"({"x":"${parameters.a}","y":"${parameters.b:-}${parameters.c}","z":"${parameters.a}"})", {}
    );
    EXPECT_EQ(e.code, errc::illegal_argument);
    EXPECT_EQ(e.reason, "Some parameter placeholder not filled in payload: a, c, a");
}

TEST(template_body, skip_validating_missing_parameters) {
    const char* text = R"({"x":"${parameters.a}"})";
    EXPECT_EQ(body_ok(text, {{"skip_validating_missing_parameters", "true"}}), text);
    EXPECT_EQ(body_ok(text, {{"skip_validating_missing_parameters", "TRUE"}}), text);
    EXPECT_EQ(
        body_error(text, {{"skip_validating_missing_parameters", "false"}}).reason,
        "Some parameter placeholder not filled in payload: a"
    );
    // the check can be deferred to the caller
    auto r = registry::render_body(compile(text), {}, registry::body_options{false});
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, text);
    EXPECT_FALSE(registry::check_missing_parameters(*r, {}).has_value());
}

TEST(template_body, escaped_placeholder_is_reported_missing) {
    EXPECT_EQ(
        body_error(R"({"a":"$${parameters.model}"})", {{"model", "m"}}).reason,
        "Some parameter placeholder not filled in payload: model"
    );
}

TEST(template_body, malformed_leftover_is_a_server_error_like_ml_commons) {
    const auto e = body_error(R"({"a":"${parameters}"})", {});
    EXPECT_EQ(e.code, errc::exception);
}

TEST(template_body, invalid_payloads) {
    EXPECT_EQ(body_error("text ${parameters.x}", {{"x", "1"}}).reason, "Invalid payload: text 1");
    EXPECT_EQ(body_error("", {}).reason, "Invalid payload: ");
    EXPECT_EQ(body_error(R"("${parameters.x}")", {{"x", "1"}}).reason, R"(Invalid payload: "1")");
    EXPECT_EQ(
        body_error(R"({"a": ${parameters.x}})", {{"x", "not json"}}).reason,
        R"(Invalid payload: {"a": not json})"
    );
}

TEST(template_body, ndjson) {
    const char* text = "{\"index\":{}}\n{\"text\":\"${parameters.t}\"}\n\n";
    EXPECT_EQ(body_ok(text, {{"t", "x"}}), "{\"index\":{}}\n{\"text\":\"x\"}\n\n");
    EXPECT_EQ(body_error("{\"a\":1}\nnope\n", {}).reason, "Invalid payload: {\"a\":1}\nnope\n");
    EXPECT_TRUE(registry::is_json_or_ndjson("[1]\r\n{\"a\":2}\r\n"));
    EXPECT_FALSE(registry::is_json_or_ndjson("\n\n"));
    EXPECT_FALSE(registry::is_json_or_ndjson("{\"a\":1}\n2"));
}

TEST(template_body, cycle_in_body) {
    const auto e =
        body_error(R"({"a":"${parameters.k:-null}","x":"${parameters.p}"})", {{"p", "<${parameters.p}>"}});
    EXPECT_EQ(e.code, errc::illegal_state);
    EXPECT_EQ(e.reason, R"(Infinite loop in property interpolation of {"a":null,"x":"${parameters.p}"}: p)");
}

TEST(template_body, to_string_synthetic_keys) {
    const param_map params{
        {"prompt", "Q: ${parameters.question.toString()}"},
        {"question", "He said \"hi\"\n<b>"},
    };
    const param_map extras = registry::to_string_extras(params);
    ASSERT_EQ(extras.size(), 1u);
    EXPECT_EQ(extras.at("question.toString()"), R"(He said \"hi\"\n\u003cb\u003e)");
    EXPECT_EQ(
        body_ok(R"({"p":"${parameters.prompt}"})", params), R"({"p":"Q: He said \"hi\"\n\u003cb\u003e"})"
    );
    // not usable directly in request_body: only parameter values are scanned
    EXPECT_EQ(
        body_error(R"({"p":"${parameters.question.toString()}"})", {{"question", "q"}}).reason,
        "Some parameter placeholder not filled in payload: question.toString()"
    );
}

TEST(template_body, to_string_regex_quirks) {
    // leftmost-lazy `(.+?)`: an earlier placeholder on the same line swallows the prefix
    EXPECT_TRUE(registry::to_string_extras({{"p", "${parameters.x} ${parameters.q.toString()}"}, {"q", "v"}}
    ).empty());
    // ... but not across a line break
    const auto extras =
        registry::to_string_extras({{"p", "${parameters.x}\n${parameters.q.toString()}"}, {"q", "v"}});
    ASSERT_EQ(extras.size(), 1u);
    EXPECT_EQ(extras.at("q.toString()"), "v");
    // unknown prefix: nothing
    EXPECT_TRUE(registry::to_string_extras({{"p", "${parameters.zz.toString()}"}}).empty());
}

TEST(template_body, stream_flag) {
    EXPECT_TRUE(registry::wants_stream_flag(
        {{"stream", "true"}, {"_llm_interface", " OpenAI\\/v1\\/chat\\/completions "}}
    ));
    EXPECT_TRUE(
        registry::wants_stream_flag({{"stream", "false"}, {"_llm_interface", "openai/v1/chat/completions"}})
    );
    EXPECT_FALSE(registry::wants_stream_flag({{"_llm_interface", "openai/v1/chat/completions"}}));
    EXPECT_FALSE(registry::wants_stream_flag({{"stream", "true"}, {"_llm_interface", "bedrock/converse"}}));
    EXPECT_FALSE(registry::wants_stream_flag({{"stream", "true"}}));

    auto r =
        registry::add_stream_flag(R"({ "model": "m", "stream": false, "n": null, "t": 0.5, "s": "<\/x>" })");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, R"({"model":"m","stream":true,"n":null,"t":0.5,"s":"</x>"})");
    r = registry::add_stream_flag(R"({"a":1})");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, R"({"a":1,"stream":true})");
    r = registry::add_stream_flag("[1]");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, errc::illegal_state);
    EXPECT_EQ(r.error().reason, "Not a JSON Object: [1]");
}

// §3.2.6: `_<field>_json` replaces a top-level field, `_<field>_additions_json` merges into it.
TEST(template_structured_output, replaces_then_merges_the_three_fields) {
    const std::string body = R"({ "model": "m", "response_format": {"type": "text"}, "n": null })";
    auto r = registry::apply_structured_output(body, {{"model", "x"}, {"_other_json", "{}"}});
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(r->has_value()) << "no structured-output parameter: the payload is sent as rendered";

    r = registry::apply_structured_output(body, {{"_response_format_json", R"({"type":"json_object"})"}});
    ASSERT_TRUE(r.has_value() && r->has_value());
    EXPECT_EQ(**r, R"({"model":"m","response_format":{"type":"json_object"},"n":null})");

    r = registry::apply_structured_output(
        body,
        {{"_response_format_additions_json", R"({"type":"json_schema","json_schema":{"name":"f"}})"},
         {"_generationConfig_additions_json", R"({"responseMimeType":"application/json"})"},
         {"_toolConfig_json", R"({"toolChoice":{"tool":{"name":"t"}}})"}}
    );
    ASSERT_TRUE(r.has_value() && r->has_value());
    EXPECT_EQ(
        **r,
        R"({"model":"m","response_format":{"type":"json_schema","json_schema":{"name":"f"}},"n":null,)"
        R"("generationConfig":{"responseMimeType":"application/json"},"toolConfig":{"toolChoice":{"tool":{"name":"t"}}}})"
    );

    // Replacement first, then the additions on top of it.
    r = registry::apply_structured_output(
        R"({"generationConfig":{"temperature":0.1,"topK":3}})",
        {{"_generationConfig_json", R"({"temperature":0.5})"},
         {"_generationConfig_additions_json", R"({"topP":0.9,"temperature":0.7})"}}
    );
    ASSERT_TRUE(r.has_value() && r->has_value());
    EXPECT_EQ(**r, R"({"generationConfig":{"temperature":0.7,"topP":0.9}})");
}

TEST(template_structured_output, refuses_what_is_not_an_object) {
    auto r = registry::apply_structured_output(R"({"a":1})", {{"_response_format_json", "json_object"}});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, errc::illegal_argument);
    EXPECT_EQ(r.error().reason, "Invalid JSON object in parameter _response_format_json: json_object");
    r = registry::apply_structured_output(R"({"a":1})", {{"_toolConfig_additions_json", "[1]"}});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().reason, "Invalid JSON object in parameter _toolConfig_additions_json: [1]");
    r = registry::apply_structured_output("[1]", {{"_response_format_json", "{}"}});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, errc::illegal_state);
    EXPECT_EQ(r.error().reason, "Not a JSON Object: [1]");
}

TEST(template_process_function, values_are_json_quoted) {
    const param_map p{{"model", "m<1>"}, {"text", "say \"hi\""}};
    auto r = registry::render_process_function("def x = ${parameters.text}; return ${parameters.model};", p);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, R"(def x = "say \"hi\""; return "m\u003c1\u003e";)");
    r = registry::render_process_function("connector.post_process.openai.embedding", p);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, "connector.post_process.openai.embedding");
}

// ---------------------------------------------------------------------------------------------------
// URL

TEST(template_url, substitutes_with_merged_map) {
    const auto url = compile("https://${parameters.host}/v1/${parameters.path}?q=${parameters.q}");
    auto r =
        registry::render_url(url, {{"host", "api.openai.com"}, {"path", "chat/completions"}, {"q", "a\\/b"}});
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, "https://api.openai.com/v1/chat/completions?q=a\\/b");
    r = registry::render_url(url, {{"host", "h"}});
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, "https://h/v1/${parameters.path}?q=${parameters.q}");
}

TEST(template_url, empty_map_returns_url_as_written) {
    auto r = registry::render_url(compile("https://h/$${parameters.x}"), {});
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, "https://h/$${parameters.x}");
    r = registry::render_url(compile("https://h/$${parameters.x}"), {{"y", "1"}});
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, "https://h/${parameters.x}");
}

// ---------------------------------------------------------------------------------------------------
// Credentials and headers

TEST(template_headers, bind_credentials) {
    const param_map creds{{"openAI_key", "sk-123"}, {"user", "u"}, {"pw", "${credential.user}!"}};
    auto bound = registry::bind_credentials(compile("Bearer ${credential.openAI_key}"), creds);
    ASSERT_TRUE(bound.has_value());
    EXPECT_EQ(bound->source(), "Bearer sk-123");
    EXPECT_FALSE(bound->has_placeholders());

    bound = registry::bind_credentials(
        compile("${credential.missing} $${credential.user} ${credential.pw}"), creds
    );
    ASSERT_TRUE(bound.has_value());
    EXPECT_EQ(bound->source(), "${credential.missing} ${credential.user} u!");

    // parameters survive binding and are rendered per request
    bound = registry::bind_credentials(compile("${credential.user}:${parameters.tenant}"), creds);
    ASSERT_TRUE(bound.has_value());
    auto h = registry::render_header("X-Tenant", *bound, {{"tenant", "t1"}});
    ASSERT_TRUE(h.has_value());
    EXPECT_EQ(*h, "u:t1");

    const auto cyc = registry::bind_credentials(compile("${credential.a}"), {{"a", "${credential.a}"}});
    ASSERT_FALSE(cyc.has_value());
    EXPECT_EQ(cyc.error().code, errc::illegal_state);
}

TEST(template_headers, blocked_headers_at_create_time) {
    const std::string msg =
        "Header 'Authorization' cannot use ${parameters.*} placeholders for security reasons. Use "
        "${credential.*} instead.";
    auto r = registry::check_header_placeholders("Authorization", "Bearer ${parameters.key}");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, errc::illegal_argument);
    EXPECT_EQ(r.error().reason, msg);
    for (const char* h :
         {"authorization",
          "PROXY-AUTHORIZATION",
          "Cookie",
          "x-api-key",
          "X-Auth-Token",
          "X-Auth-Header",
          "host",
          "X-Forwarded-Host",
          "X-Forwarded-Server",
          "X-Forwarded-For",
          "Forwarded",
          "X-Real-IP",
          "X-Client-IP",
          "CF-Connecting-IP",
          "True-Client-IP",
          "X-Originating-IP"}) {
        EXPECT_TRUE(registry::is_blocked_dynamic_header(h)) << h;
        EXPECT_FALSE(registry::check_header_placeholders(h, "${parameters.x}").has_value()) << h;
    }
    EXPECT_TRUE(registry::check_header_placeholders("Authorization", "Bearer ${credential.key}").has_value());
    EXPECT_TRUE(registry::check_header_placeholders("X-Tenant", "${parameters.tenant}").has_value());
    EXPECT_FALSE(registry::is_blocked_dynamic_header("X-Authorization-Extra"));
    // MCP connectors: no parameter placeholder in any header
    r = registry::check_header_placeholders("X-Tenant", "${parameters.tenant}", true);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(
        r.error().reason, "Header 'X-Tenant' cannot use ${parameters.*} placeholders in MCP connectors."
    );
}

TEST(template_headers, runtime_rendering_and_limits) {
    const auto tmpl = compile("${parameters.tenant}");
    auto r = registry::render_header("X-Tenant", tmpl, {{"tenant", "t\t1"}});
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, "t\t1");

    r = registry::render_header("X-Tenant", tmpl, {});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, errc::illegal_argument);
    EXPECT_EQ(
        r.error().reason, "Header 'X-Tenant' contains unresolved placeholder. Required parameter is missing."
    );

    for (const char* bad : {"a\r\nInjected: x", "a\nb", "nul\x01", "del\x7f"}) {
        r = registry::render_header("X-Tenant", tmpl, {{"tenant", bad}});
        ASSERT_FALSE(r.has_value()) << bad;
        EXPECT_EQ(r.error().reason, "Header value contains invalid control character");
    }

    const std::string name = "X-Big";  // 5 bytes
    r = registry::render_header(name, tmpl, {{"tenant", std::string(8192 - 5, 'v')}});
    EXPECT_TRUE(r.has_value());
    r = registry::render_header(name, tmpl, {{"tenant", std::string(8192 - 4, 'v')}});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().reason, "Header size (key + value) exceeds 8KB limit");

    // a static header is returned as bound, without runtime checks
    r = registry::render_header("Authorization", compile("Bearer sk-1"), {});
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, "Bearer sk-1");
}

TEST(template_opaque, dollar_braces_and_a_trailing_dollar_become_json_escapes) {
    const auto opaque = [](std::string v) {
        registry::make_placeholders_opaque(v);
        return v;
    };
    EXPECT_EQ(opaque(""), "");
    EXPECT_EQ(opaque("no dollars"), "no dollars");
    EXPECT_EQ(opaque("$5 and $$x"), "$5 and $$x");
    EXPECT_EQ(opaque("${parameters.a}"), R"(\u0024{parameters.a})");
    EXPECT_EQ(opaque("$${parameters.a} ${x}"), R"($\u0024{parameters.a} \u0024{x})");
    EXPECT_EQ(opaque("costs $"), R"(costs \u0024)");
    EXPECT_EQ(opaque("$"), R"(\u0024)");
    // Rendered, the opaque value is left alone and stops a following placeholder from being escaped.
    const auto t = compile("${parameters.a}${parameters.b}");
    auto r = t.render({{"a", opaque("x ${parameters.b} $")}, {"b", "B"}});
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, R"(x \u0024{parameters.b} \u0024B)");
}

TEST(template_headers, total_size_and_content_type) {
    registry::header_list headers;
    for (int i = 0; i < 8; ++i) {
        headers.emplace_back("X-H" + std::to_string(i), std::string(8000, 'v'));  // 8 * 8004 = 64032
    }
    EXPECT_TRUE(registry::check_total_header_size(headers).has_value());
    headers.emplace_back("X-Last", std::string(1500, 'v'));
    const auto r = registry::check_total_header_size(headers);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().reason, "Total headers size (key + value) exceeds 64KB limit");

    registry::header_list h{{"Authorization", "Bearer x"}};
    registry::add_default_content_type(h);
    ASSERT_EQ(h.size(), 2u);
    EXPECT_EQ(h[1].first, "Content-Type");
    EXPECT_EQ(h[1].second, "application/json");
    registry::header_list h2{{"content-type", "text/plain"}};
    registry::add_default_content_type(h2);
    EXPECT_EQ(h2.size(), 1u);
    EXPECT_TRUE(registry::has_header(h2, "Content-TYPE"));
}

}  // namespace
}  // namespace modelrelay::test
