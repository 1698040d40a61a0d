// File: micro_bench.cpp
// micro_bench: Google Benchmark timings of the CPU work one `_predict` call does without I/O, step by step,
// so that a regression in the hot path shows up here before it is lost in the noise of a load test on a
// shared machine. The connector and the request are those of seed 001 (Ollama chat blueprint, system +
// user message); the upstream answer is the fake upstream's chat.completion.
//
// Steps, in the order the predict handler runs them (server/handlers/predict.cpp):
//   request parse (JSON, schema, predict parser) → parameter merge and escape → template render →
//   predict plan (all of the above for one call, plus URL and headers) → response wrapping.
// Also one /v1/chat/completions stream chunk relayed, through the tree and through the pass-through.
// Run: build/bench/micro_bench [--benchmark_filter=REGEX]. Not a test: nothing is asserted.
#include <stdexcept>
#include <string>
#include <string_view>

#include <benchmark/benchmark.h>
#include <boost/json.hpp>

#include "registry/compiled_connector.hpp"
#include "registry/parameters.hpp"
#include "registry/predict.hpp"
#include "registry/secret_scrub.hpp"
#include "registry/settings.hpp"
#include "registry/template.hpp"
#include "schemas/validate.hpp"
#include "server/handlers/openai_format.hpp"

namespace modelrelay::bench {
namespace {

namespace json = boost::json;
namespace reg = modelrelay::registry;

// Seed 001's connector (canonical form: action type upper-case, parameters as strings), pointing at a
// local OpenAI-compatible server.
constexpr std::string_view connector_doc = R"({
  "name": "Local LLM connector", "description": "Ollama via the OpenAI API", "version": "1",
  "protocol": "http",
  "parameters": {"endpoint": "127.0.0.1:11434", "model": "qwen3:4b"},
  "actions": [{
    "action_type": "PREDICT", "method": "POST",
    "url": "http://${parameters.endpoint}/v1/chat/completions",
    "headers": {"Authorization": "Bearer ${credential.openAI_key}"},
    "request_body": "{ \"model\": \"${parameters.model}\", \"messages\": ${parameters.messages} }"
  }]
})";

constexpr std::string_view request_body =
    R"({"parameters":{"messages":[{"role":"system","content":"You are a helpful assistant."},)"
    R"({"role":"user","content":"Why is the sky blue"}]}})";

constexpr std::string_view upstream_body =
    R"({"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"fake-model",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the fake upstream."},)"
    R"("finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16}})";

// A user message with what escaping has to handle: quotes, a newline, a backslash, non-ASCII, `</script>`.
constexpr std::string_view tricky_text =
    "He said \"the sky is blue\".\nWhy? C:\\path — naïve café, 日本語 </script> and emoji \xF0\x9F\x98\x80 "
    "end.";

template <class T>
T must(reg::result<T> r, const char* what) {
    if (!r) {
        throw std::runtime_error(std::string(what) + ": " + r.error().reason);
    }
    return std::move(*r);
}

reg::param_map credentials() {
    reg::param_map c;
    c["openAI_key"] = "sk-bench";
    return c;
}

const reg::compiled_connector& seed_connector() {
    static const reg::compiled_connector c = must(
        reg::compile_connector(json::parse(connector_doc).as_object(), credentials()), "compile_connector"
    );
    return c;
}

const json::object& request_parameters() {
    static const json::object p = json::parse(request_body).as_object().at("parameters").as_object();
    return p;
}

// ---------------------------------------------------------------------------------------------------
// Request parse

void BM_request_parse_json(benchmark::State& state) {
    for (auto _ : state) {
        auto v = json::parse(request_body);
        benchmark::DoNotOptimize(v);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * request_body.size()));
}
BENCHMARK(BM_request_parse_json);

void BM_request_validate_schema(benchmark::State& state) {
    schemas::init();
    const json::value v = json::parse(request_body);
    for (auto _ : state) {
        auto r = schemas::validate(schemas::schema_id::predict, v);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_request_validate_schema);

// What the handler does before it looks the model up: JSON parse, schema check, predict body parser.
void BM_request_parse_full(benchmark::State& state) {
    schemas::init();
    for (auto _ : state) {
        auto v = json::parse(request_body);
        auto ok = schemas::validate(schemas::schema_id::predict, v);
        auto req = reg::parse_predict_body(std::move(v), "");
        benchmark::DoNotOptimize(ok);
        benchmark::DoNotOptimize(req);
    }
}
BENCHMARK(BM_request_parse_full);

// ---------------------------------------------------------------------------------------------------
// Parameter merge and escape

void BM_parameter_merge(benchmark::State& state) {
    const auto& connector = seed_connector();
    const auto& params = request_parameters();
    for (auto _ : state) {
        auto merged = reg::merge_request_parameters(connector.parameters, params);
        benchmark::DoNotOptimize(merged);
    }
}
BENCHMARK(BM_parameter_merge);

void BM_escape_json(benchmark::State& state) {
    for (auto _ : state) {
        auto s = reg::escape_json(tricky_text);
        benchmark::DoNotOptimize(s);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * tricky_text.size()));
}
BENCHMARK(BM_escape_json);

void BM_stringify_messages(benchmark::State& state) {
    const json::value& messages = request_parameters().at("messages");
    for (auto _ : state) {
        auto s = reg::stringify_parameter(messages);
        benchmark::DoNotOptimize(s);
    }
}
BENCHMARK(BM_stringify_messages);

// ---------------------------------------------------------------------------------------------------
// Template render

void BM_template_compile(benchmark::State& state) {
    const std::string source = seed_connector().actions.front().request_body->source();
    for (auto _ : state) {
        auto t = reg::compiled_template::compile(source);
        benchmark::DoNotOptimize(t);
    }
}
BENCHMARK(BM_template_compile);

void BM_template_render_body(benchmark::State& state) {
    const auto& connector = seed_connector();
    const auto merged = reg::merge_request_parameters(connector.parameters, request_parameters());
    const auto& body = *connector.actions.front().request_body;
    std::string out;
    for (auto _ : state) {
        out.clear();
        auto r = reg::render_body_into(out, body, merged);
        benchmark::DoNotOptimize(r);
        benchmark::DoNotOptimize(out.data());
    }
}
BENCHMARK(BM_template_render_body);

// ---------------------------------------------------------------------------------------------------
// Predict plan and response wrapping

void BM_predict_plan(benchmark::State& state) {
    const auto& connector = seed_connector();
    const auto req = must(reg::parse_predict_body(json::parse(request_body), ""), "parse_predict_body");
    for (auto _ : state) {
        auto plan = reg::plan_predict(connector, req);
        benchmark::DoNotOptimize(plan);
    }
}
BENCHMARK(BM_predict_plan);

void BM_response_wrap(benchmark::State& state) {
    const auto& connector = seed_connector();
    const auto req = must(reg::parse_predict_body(json::parse(request_body), ""), "parse_predict_body");
    const auto plan = must(reg::plan_predict(connector, req), "plan_predict");
    for (auto _ : state) {
        std::string text(reg::inference_results_open);
        auto appended = reg::append_call_element(text, plan, 0, 200, upstream_body, -1);
        text.append(reg::inference_results_close);
        benchmark::DoNotOptimize(appended);
        benchmark::DoNotOptimize(text);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * upstream_body.size()));
}
BENCHMARK(BM_response_wrap);

// Everything above for one call, plus the trusted-endpoint check of the rendered URL: the CPU the
// predict handler spends per request, excluding HTTP parsing/serialisation and the upstream round trip.
void BM_predict_cpu_path(benchmark::State& state) {
    schemas::init();
    const auto& connector = seed_connector();
    json::object persistent;
    persistent["plugins.ml_commons.trusted_connector_endpoints_regex"] = json::array{".*$"};
    const auto settings = must(reg::cluster_settings::from_persistent(persistent), "settings");
    for (auto _ : state) {
        auto v = json::parse(request_body);
        auto ok = schemas::validate(schemas::schema_id::predict, v);
        auto req = reg::parse_predict_body(json::value(v), "");
        auto plan = reg::plan_predict(connector, *req);
        auto trusted = settings.check_trusted_endpoint(plan->calls.front().url);
        std::string text(reg::inference_results_open);
        auto appended =
            reg::append_call_element(text, *plan, 0, 200, upstream_body, settings.max_json_size());
        text.append(reg::inference_results_close);
        benchmark::DoNotOptimize(appended);
        benchmark::DoNotOptimize(ok);
        benchmark::DoNotOptimize(trusted);
        benchmark::DoNotOptimize(text);
    }
}
BENCHMARK(BM_predict_cpu_path);

// The credential scrub every upstream answer goes through (registry/secret_scrub.hpp), with one
// OpenAI-style key: arg 0 the usual answer that holds no credential (the memmem prefilter), arg 1 an
// answer that echoes it JSON-escaped (the per-character scan and the rewrite), arg 2 the held-back tail
// check a streamed piece gets.
void BM_secret_scrub(benchmark::State& state) {
    const std::string_view key = "sk-proj-Xq7/Lm2+Rt9_zW8pK<key>";
    const std::string_view values[] = {key};
    const auto secrets = reg::make_secret_list(values);
    std::string echo(upstream_body);
    echo.insert(echo.find("Hello"), R"(you sent sk-proj-Xq7\/Lm2+Rt9_zW8pK\u003ckey\u003e )");
    const std::string& input = state.range(0) == 1 ? echo : std::string(upstream_body);
    std::string text;
    for (auto _ : state) {
        if (state.range(0) == 2) {
            auto keep = reg::secret_prefix_suffix(input, *secrets);
            benchmark::DoNotOptimize(keep);
            continue;
        }
        text = input;
        auto replaced = reg::scrub_secrets(text, *secrets);
        benchmark::DoNotOptimize(replaced);
        benchmark::DoNotOptimize(text);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * input.size()));
}
BENCHMARK(BM_secret_scrub)->Arg(0)->Arg(1)->Arg(2);

// One upstream chunk of a /v1/chat/completions stream relayed to the client: arg 0 through its JSON tree
// (chunk_relay::on_event_tree), arg 1 the way on_event relays the usual chunk (the pass-through scan).
void BM_chat_chunk_relay(benchmark::State& state) {
    constexpr std::string_view chunk =
        R"({"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"fake-model",)"
        R"("choices":[{"index":0,"delta":{"content":"Hello "},"finish_reason":null}]})";
    server::openai::chunk_relay relay({"chatcmpl-x", 1700000000, "m"}, false);
    std::string out;
    for (auto _ : state) {
        out.clear();
        auto step = state.range(0) == 0 ? relay.on_event_tree(chunk, out) : relay.on_event(chunk, out);
        benchmark::DoNotOptimize(step);
        benchmark::DoNotOptimize(out);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * chunk.size()));
}
BENCHMARK(BM_chat_chunk_relay)->Arg(0)->Arg(1);

}  // namespace
}  // namespace modelrelay::bench

BENCHMARK_MAIN();
