// File: openai.cpp
// The OpenAI-compatible front door: POST /v1/chat/completions (stream and not), POST /v1/embeddings,
// GET /v1/models[/{model}] (spec clients.md §0.4, §2, §3.3). `model` names a modelrelay model by id or by
// name; the request then goes through that model's connector exactly like a _predict (template,
// credentials, trusted endpoints, SSRF guard, auto-deploy, rate limiter), so one registry serves the
// ml-commons, Elasticsearch and OpenAI APIs. Wire-format details live in openai_format.hpp.
//
// Request → predict parameters:
//  - chat: every body member becomes a predict parameter (`messages`, `temperature`, `tools`, ... for the
//    connector template to place), except `stream` / `stream_options` (handled here) and `model`, which
//    only fills `${parameters.model}` when the connector defines no `model` parameter of its own (the
//    connector's upstream model name wins over the modelrelay model name the client sent);
//  - chat, pass-through: the blueprint template `{"model": ..., "messages": ${parameters.messages}}` would
//    drop `temperature`, `max_tokens`, `tools`, ..., which Kibana and the SDKs send and expect the model
//    to get. So when the upstream speaks OpenAI chat (its URL ends with /chat/completions, or the
//    connector's `_llm_interface` says so), the members the template does not reference and the rendered
//    body does not already have are added to it as sent (openai::add_request_members). A template that
//    places a member itself (Ollama's native `options.temperature`) or hard-codes it keeps control;
//  - embeddings: `input` becomes the text docs of a text_embedding predict, so the connector's built-in
//    pre-process function (or the default one: `${parameters.input}` as a JSON array) shapes the upstream
//    body as for ml-commons' `_predict/text_embedding`; `dimensions` and `user` are passed as parameters.
#include <algorithm>
#include <chrono>
#include <map>
#include <variant>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>

#include "registry/deployed_model.hpp"
#include "registry/guardrails.hpp"
#include "registry/ids.hpp"
#include "registry/key_limiter.hpp"
#include "registry/predict.hpp"
#include "server/handlers/guard_model.hpp"
#include "server/handlers/handlers.hpp"
#include "server/handlers/key_scope.hpp"
#include "server/handlers/model_access.hpp"
#include "server/handlers/openai_format.hpp"
#include "server/handlers/openai_passthrough.hpp"
#include "server/outbound.hpp"
#include "server/sse_relay.hpp"

namespace modelrelay::server::handlers {

namespace json = boost::json;
using registry::errc;

namespace {

constexpr std::string_view owned_by = "modelrelay";

http_response openai_fail(const request_context& ctx, const openai::api_error& e) {
    auto res = json_response(e.status, openai::error_body(e), ctx.pretty, registry::number_style::plain);
    for (const auto& [name, value] : e.headers) {
        res.set(name, value);
    }
    return res;
}

// OpenAI-compatible servers print floats the way JSON.stringify does, not Java's `1.0E-4`.
http_response openai_ok(const request_context& ctx, const json::value& body) {
    return json_response(200, body, ctx.pretty, registry::number_style::plain);
}

http_response openai_fail(const request_context& ctx, const registry::error& e) {
    return openai_fail(ctx, openai::from_error(e));
}

// A model or user rate limiter's 429 with the time until its next token as `retry-after-ms` and
// `retry-after` (whole seconds, rounded up), which the OpenAI SDKs wait for before they retry.
openai::api_error throttled_error(const registry::error& e, std::int64_t wait_ns) {
    auto out = openai::from_error(e);
    const std::int64_t ms =
        std::max<std::int64_t>(1, wait_ns / 1'000'000 + (wait_ns % 1'000'000 != 0 ? 1 : 0));
    out.headers.emplace_back("retry-after-ms", std::to_string(ms));
    out.headers.emplace_back("retry-after", std::to_string(ms / 1000 + (ms % 1000 != 0 ? 1 : 0)));
    return out;
}

openai::api_error invalid_request(std::string message, std::optional<std::string> param = std::nullopt) {
    openai::api_error e;
    e.status = 400;
    e.type = "invalid_request_error";
    e.message = std::move(message);
    e.param = std::move(param);
    return e;
}

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch(
                                                            ))
        .count();
}

// The JSON object body, or the OpenAI error for it.
// Parses into `out`'s storage, so a caller that gives `out` an arena gets the whole tree there.
std::optional<openai::api_error> object_body_of(const request_context& ctx, json::object& out) {
    auto body = parse_body(ctx, out.storage());
    if (!body) {
        return invalid_request(
            "We could not parse the JSON body of your request. (" + body.error().reason + ")"
        );
    }
    if (!body->is_object()) {
        return invalid_request("The request body must be a JSON object.");
    }
    out = std::move(body->get_object());
    return std::nullopt;
}

std::string name_of(const registry::resource& m) {
    const auto* n = m.doc().if_contains("name");
    return n != nullptr && n->is_string() ? std::string(n->get_string()) : std::string();
}

openai::api_error model_not_found(std::string_view model) {
    openai::api_error e;
    e.status = 404;
    e.type = "invalid_request_error";
    e.message = "The model `" + std::string(model) + "` does not exist or you do not have access to it.";
    e.code = "model_not_found";  // param null, as OpenAI answers it
    return e;
}

// Whether the caller may call `m`: its tenant, and the model ACL (registry/access.hpp). A model it may not
// call looks nonexistent on /v1, in listings and by name (security.md R16).
bool callable(
    const registry::snapshot& s,
    const registry::resource& m,
    const registry::caller& who,
    const registry::decide_options& opts
) {
    if (m.tenant_id != who.tenant_id) {
        return false;
    }
    return who.user == nullptr ||
           registry::authorize(who, registry::action::model_predict, registry::model_acl(s, m), opts);
}

// `model` as a model id, else as a model name: a unique deployed model of that name, else a unique model
// of that name in any state (it is deployed on first use). Models the API key may not call do not exist
// here, so neither the answer nor the ambiguity error reveals them (security.md R16).
std::variant<std::string, openai::api_error> resolve_model(
    const registry::snapshot& s,
    const registry::caller& who,
    const request_key& key,
    std::string_view model,
    const registry::decide_options& opts
) {
    if (const auto* m = s.find(registry::kind::model, model);
        m != nullptr && callable(s, *m, who, opts) && key_allows(key, model, name_of(*m))) {
        return std::string(model);
    }
    std::vector<std::string> deployed;
    std::vector<std::string> any;
    s.of(registry::kind::model).for_each([&](const std::string& id, const registry::resource& m) {
        if (name_of(m) != model || !callable(s, m, who, opts) || !key_allows(key, id, model)) {
            return;
        }
        any.push_back(id);
        if (s.deployed.find(id) != nullptr) {
            deployed.push_back(id);
        }
    });
    const auto& pick = deployed.empty() ? any : deployed;
    if (pick.empty()) {
        return model_not_found(model);
    }
    if (pick.size() > 1) {
        std::vector<std::string> ids = pick;
        std::sort(ids.begin(), ids.end());
        std::string list;
        for (const auto& id : ids) {
            list += (list.empty() ? "" : ", ") + id;
        }
        return invalid_request(
            "The model name `" + std::string(model) + "` matches several models (" + list +
                "); use a model id instead.",
            "model"
        );
    }
    return pick.front();
}

// Resolves the model the body names, admits the call under the API key's limits (before anything else
// can happen: a refused call neither deploys the model nor reaches the upstream), then checks and
// (auto-)deploys the model. Errors come back as the finished response. Without a coroutine frame of its
// own unless the model must be deployed first (model_for_deployed).
struct model_pick {
    std::string requested;  // the name the body gave
    std::string model_id;
};

http_response prepare_failed(request_context& ctx, const registry::error& e, const std::string& requested) {
    if (e.code == errc::not_found) {
        return openai_fail(ctx, model_not_found(requested));
    }
    return openai_fail(ctx, openai::from_error(e));
}

// Nothing when the model must first be deployed: `pick` then says which (model_for_deployed).
std::optional<std::variant<ready_model, http_response>> model_for_now(
    request_context& ctx,
    const registry::caller& who,
    const request_key& key,
    const json::object& body,
    key_permit& permit,
    model_pick& pick
) {
    const auto* m = body.if_contains("model");
    if (m == nullptr || !m->is_string() || m->get_string().empty()) {
        return openai_fail(ctx, invalid_request("you must provide a model parameter", "model"));
    }
    pick.requested = std::string(m->get_string());
    const auto snap = ctx.app.registry->current();
    auto id = resolve_model(*snap, who, key, pick.requested, ctx.app.registry->access_options(*snap, who));
    if (auto* e = std::get_if<openai::api_error>(&id)) {
        return openai_fail(ctx, *e);
    }
    auto admitted = admit_key(ctx, key, key_door::openai, key_estimate(key, body));
    if (auto* refused = std::get_if<http_response>(&admitted)) {
        return std::move(*refused);
    }
    permit = std::move(std::get<key_permit>(admitted));
    pick.model_id = std::move(std::get<std::string>(id));
    auto ready = prepare_model_now(ctx, who, pick.model_id);
    if (!ready) {
        return std::nullopt;
    }
    if (!*ready) {
        return prepare_failed(ctx, ready->error(), pick.requested);
    }
    return std::move(**ready);
}

// model_for_now's rest, for a model that must be deployed on first use.
awaitable<std::variant<ready_model, http_response>> model_for_deployed(
    request_context& ctx, const registry::caller& who, model_pick pick
) {
    auto ready = co_await prepare_model(ctx, who, pick.model_id);
    if (!ready) {
        co_return prepare_failed(ctx, ready.error(), pick.requested);
    }
    co_return std::move(*ready);
}

// A chat.completion the client gets exactly as the upstream wrote it (openai_passthrough.hpp).
struct passthrough {
    std::string text;
};

// One buffered upstream exchange with the non-stream path's checks: trusted endpoint, SSRF guard; an
// upstream non-2xx becomes the OpenAI error for it; a 2xx is shaped by finish_call, or, when
// `may_pass_through` and the model's connector neither post-processes nor filters the answer, comes
// back as it is if chat_completion would not change it. The raw answer's `usage` is charged to the key
// (before a response_filter can drop it) and, when `raw_facts` is given, its usage and vector order are
// read into it for the same reason (a built-in post-process function drops both). `raw_answer`, when
// given, gets the upstream's answer as it came (its token counts, chat_completion).
awaitable<std::variant<json::object, openai::api_error, passthrough>> call_upstream(
    request_context& ctx,
    const ready_model& ready,
    registry::predict_plan& plan,
    std::size_t i,
    key_permit& permit,
    json::storage_ptr sp = {},
    bool may_pass_through = false,
    openai::raw_embedding_facts* raw_facts = nullptr,
    std::string* raw_answer = nullptr
) {
    const auto& settings = *ready.snap->settings;
    auto& call = plan.calls[i];
    const auto& deployed = *ready.deployed;
    if (auto g = registry::guard_user_input(deployed.guard.get(), deployed.guard_broken, call.body)) {
        co_return openai::from_error(*g);
    }
    if (auto t = settings.check_trusted_endpoint(call.url); !t) {
        co_return openai::from_error(t.error());
    }
    const auto options = options_of(*ready.connector, settings.max_json_size(), ready.deployed->model_id);
    const auto guard = guard_of(ctx.app, settings, ctx.who.tenant_id);
    auto req = to_request(call);
    req.caller = ctx.caller;
    const auto sent_at = std::chrono::steady_clock::now();
    auto res = co_await ctx.app.upstream->send(req, options, guard);
    if (!res) {
        co_return openai::from_error(res.error());
    }
    if (res->status < 200 || res->status > 299) {
        auto e = openai::from_upstream(res->status, res->body);
        e.headers = retry_advice(res->headers);
        co_return e;
    }
    // The model's profile counts every successful upstream call, whichever door asked.
    deployed.runtime->inference.add(
        registry::scoped_latency::elapsed_ms(sent_at),
        static_cast<std::size_t>(std::max(0LL, settings.monitoring_request_count()))
    );
    if (auto g = registry::guard_llm_output(deployed.guard.get(), deployed.guard_broken, res->body)) {
        co_return openai::from_error(*g);
    }
    if (judges_output(deployed)) {
        std::string answer = res->body;
        if (auto judged = co_await model_guard_output(ctx, deployed, std::move(answer))) {
            co_return openai::from_error(*judged);
        }
    }
    permit.set_succeeded();
    if (permit.counts_tokens()) {
        if (auto used = registry::usage_total_tokens_of(res->body)) {
            permit.add_usage(*used);
        } else if (auto other = openai::chat_usage_of(res->body)) {
            // Counted in another provider's names (Ollama's native API, Bedrock, Cohere, Gemini).
            permit.add_usage(other->at("total_tokens").to_number<std::int64_t>());
        }
    }
    if (raw_facts != nullptr) {
        *raw_facts = openai::raw_embedding_facts_of(res->body);
    }
    if (may_pass_through && plan.post_process == nullptr && !plan.post_script && !plan.response_filter &&
        (settings.max_json_size() < 0 ||
         res->body.size() <= static_cast<unsigned long long>(settings.max_json_size()))) {
        const std::string_view text = openai::trim_json_blanks(res->body);
        if (openai::completion_passes_through(text)) {
            co_return passthrough{text.size() == res->body.size() ? std::move(res->body) : std::string(text)};
        }
    }
    const auto finish = [&] {
        return registry::finish_call(plan, i, res->status, res->body, settings.max_json_size(), sp);
    };
    // On the script pool when the connector has a Painless post-process; co_await results are named
    // (gcc 12 destroys temporaries in co_await expressions twice).
    std::optional<registry::result<json::object>> finished;
    if (plan.post_script) {
        auto off_io = co_await on_scripts(ctx.app, finish);
        finished.emplace(std::move(off_io));
    } else {
        finished.emplace(finish());
    }
    auto& element = *finished;
    if (!element) {
        co_return openai::from_broken_answer(element.error());
    }
    if (raw_answer != nullptr) {
        *raw_answer = std::move(res->body);
    }
    co_return std::move(*element);
}

// A `stream:true` request whose upstream answered as a whole (it does not speak OpenAI's stream): the
// same answer as the chunks a stream would have held, in one buffered response with the stream's head.
http_response whole_answer_as_stream(
    const json::object& completion,
    const openai::reply_defaults& defaults,
    bool include_usage,
    bool text,
    key_permit& permit
) {
    openai::chunk_relay relay(defaults, include_usage);
    std::string chat;
    relay.on_completion(json::serialize(completion), chat);
    relay.on_finish(chat);
    http_response res{http::status::ok, 11};
    res.set(http::field::content_type, "text/event-stream");
    res.set(http::field::cache_control, "no-cache");
    res.set("X-Accel-Buffering", "no");
    res.body() = text ? openai::text_completion_frames(chat) : std::move(chat);
    res.prepare_payload();
    permit.finish();
    permit.add_headers(res);
    return res;
}

// The first `response` tensor's dataAsMap (the upstream JSON after post-processing).
json::value response_value(json::object element) {
    auto* output = element.if_contains("output");
    if (output != nullptr && output->is_array()) {
        for (auto& t : output->get_array()) {
            if (auto* tensor = t.if_object()) {
                if (auto* map = tensor->if_contains("dataAsMap")) {
                    return std::move(*map);
                }
                return std::move(*tensor);
            }
        }
    }
    return json::object{};
}

bool connector_defines(const ready_model& r, std::string_view key) {
    return registry::find_param(r.connector->parameters, key) != nullptr;
}

json::object model_entry(std::string id, const registry::resource& m) {
    std::int64_t created = 0;
    if (const auto* t = m.doc().if_contains("created_time"); t != nullptr && t->is_number()) {
        created = t->to_number<std::int64_t>() / 1000;
    }
    return json::object{
        {"id", std::move(id)}, {"object", "model"}, {"created", created}, {"owned_by", owned_by}};
}

}  // namespace

namespace {

// Which OpenAI endpoint a chat answer is served through.
enum class dialect { chat, text };

// /v1/chat/completions, and /v1/completions on top of it: a legacy `prompt` becomes one user message (and
// stays a `prompt` parameter for connectors that template it), and the chat answer is turned into the
// legacy shape on the way out.
awaitable<http_response> serve_completion(request_context& ctx, dialect kind) {
    const bool text = kind == dialect::text;
    auto who = caller_of(ctx);
    if (!who) {
        co_return openai_fail(ctx, who.error());
    }
    const auto key = key_of(ctx);
    // The request's JSON and the parameters moved out of it live in one arena (as on _predict).
    json::monotonic_resource arena;
    json::object body(&arena);
    if (auto e = object_body_of(ctx, body)) {
        co_return openai_fail(ctx, *e);
    }
    if (text) {
        // A string, or an array holding one string (several prompts would need several answers).
        const auto* prompt = body.if_contains("prompt");
        if (prompt != nullptr && prompt->is_array() && prompt->get_array().size() == 1 &&
            prompt->get_array().front().is_string()) {
            body["prompt"] = json::value(prompt->get_array().front());
            prompt = body.if_contains("prompt");
        }
        if (prompt == nullptr || !prompt->is_string()) {
            co_return openai_fail(
                ctx,
                invalid_request(
                    prompt == nullptr ? "Missing required parameter: 'prompt'."
                                      : "'prompt' must be a string or an array holding one string.",
                    "prompt"
                )
            );
        }
        json::array messages(&arena);
        messages.emplace_back(json::object{{"role", "user"}, {"content", prompt->get_string()}});
        body["messages"] = std::move(messages);
    }
    const auto* messages = body.if_contains("messages");
    if (messages == nullptr || !messages->is_array()) {
        co_return openai_fail(ctx, invalid_request("Missing required parameter: 'messages'.", "messages"));
    }
    bool stream = false;
    if (const auto* s = body.if_contains("stream"); s != nullptr && !s->is_null()) {
        if (!s->is_bool()) {
            co_return openai_fail(ctx, invalid_request("'stream' must be a boolean.", "stream"));
        }
        stream = s->get_bool();
    }
    bool include_usage = false;
    if (const auto* so = body.if_contains("stream_options"); so != nullptr && so->is_object()) {
        if (const auto* u = so->get_object().if_contains("include_usage"); u != nullptr && u->is_bool()) {
            include_usage = u->get_bool();
        }
    }
    key_permit permit;
    model_pick pick;
    auto resolved = model_for_now(ctx, *who, key, body, permit, pick);
    if (!resolved) {
        auto deployed = co_await model_for_deployed(ctx, *who, std::move(pick));
        resolved.emplace(std::move(deployed));
    }
    if (auto* refused = std::get_if<http_response>(&*resolved)) {
        co_return std::move(*refused);
    }
    const auto& ready = std::get<ready_model>(*resolved);
    const openai::reply_defaults defaults{
        (text ? "cmpl-" : "chatcmpl-") + registry::generate_id(),
        now_seconds(),
        std::string(body.at("model").get_string())};

    // A json::object keeps the storage it was built with, so the arena is chosen here, at construction.
    registry::predict_request input{.parameters = json::object(&arena)};
    // `body` is not read after this: its values move (same storage, so no copy of the messages).
    for (auto& kv : body) {
        const std::string_view key = kv.key();
        if (key == "stream" || key == "stream_options" ||
            (key == "model" && connector_defines(ready, "model"))) {
            continue;
        }
        input.parameters[key] = std::move(kv.value());
    }
    const auto* llm_interface = registry::find_param(ready.connector->parameters, "_llm_interface");
    if (stream) {
        // As _predict/stream does: the planner then sets "stream":true in the upstream body (§3.2.5).
        input.parameters["stream"] = "true";
        input.parameters["_llm_interface"] = "openai/v1/chat/completions";
    }
    auto plan = registry::plan_predict(
        *ready.connector, input, registry::predict_options{.streaming = stream, .opaque_request_values = true}
    );
    if (!plan) {
        co_return openai_fail(ctx, plan.error());
    }
    // Only an OpenAI chat upstream is asked for OpenAI's stream. Any other (Ollama's native /api/chat,
    // Bedrock, Cohere) gets exactly what its template renders, as without `stream`, and its whole answer
    // is sent to the client as chunks: a forced "stream":true would get NDJSON, an event stream of another
    // shape, or a refusal of the unknown member.
    bool stream_upstream = stream;
    if (stream && plan->calls.size() == 1 &&
        !openai::speaks_openai_chat(plan->calls.front().url, llm_interface)) {
        stream_upstream = false;
        input.parameters.erase("stream");
        input.parameters.erase("_llm_interface");
        plan = registry::plan_predict(
            *ready.connector, input, registry::predict_options{.opaque_request_values = true}
        );
        if (!plan) {
            co_return openai_fail(ctx, plan.error());
        }
    }
    if (plan->calls.size() != 1) {
        co_return openai_fail(
            ctx, invalid_request("The model's connector makes more than one upstream call.")
        );
    }
    std::int64_t wait_ns = 0;
    if (auto throttled = charge_rate_limiters(*who, ready, 1, &wait_ns)) {
        co_return openai_fail(ctx, throttled_error(*throttled, wait_ns));
    }
    // Members the template leaves out still reach an OpenAI chat upstream. A connector without a
    // request_body sends its `http_body` parameter as written, so there is no template to complete.
    if (const auto& action = *plan->action; action.request_body) {
        auto& call = plan->calls.front();
        openai::add_request_members(
            call.body,
            input.parameters,
            openai::chat_upstream{
                .url = call.url,
                .llm_interface = llm_interface,
                .request_template = action.request_body->source(),
                .connector_parameters = &ready.connector->parameters},
            text ? openai::chat_door::legacy_completions : openai::chat_door::chat
        );
    }
    if (judges_input(*ready.deployed)) {
        if (auto judged = co_await model_guard_input(ctx, *ready.deployed, input)) {
            co_return openai_fail(ctx, openai::from_error(*judged));
        }
    }

    if (!stream_upstream) {
        // The answer's tree goes into the request's arena too: it is printed and dropped with the frame.
        // ?pretty needs the tree anyway.
        std::string raw;
        auto element = co_await call_upstream(
            ctx, ready, *plan, 0, permit, &arena, !ctx.pretty && !text && !stream, nullptr, &raw
        );
        if (auto* e = std::get_if<openai::api_error>(&element)) {
            co_return openai_fail(ctx, *e);
        }
        if (stream) {
            co_return whole_answer_as_stream(
                openai::chat_completion(
                    response_value(std::move(std::get<json::object>(element))), defaults, raw
                ),
                defaults,
                include_usage,
                text,
                permit
            );
        }
        auto res = std::holds_alternative<passthrough>(element)
                       ? json_text_response(200, std::move(std::get<passthrough>(element).text), false)
                   : text ? openai_ok(
                                ctx,
                                openai::text_completion(
                                    response_value(std::move(std::get<json::object>(element))), defaults, raw
                                )
                            )
                          : openai_ok(
                                ctx,
                                openai::chat_completion(
                                    response_value(std::move(std::get<json::object>(element))), defaults, raw
                                )
                            );
        permit.finish();
        permit.add_headers(res);
        co_return res;
    }

    auto& call = plan->calls.front();
    // A key charged by tokens needs the stream's usage even when the client did not ask for it; the
    // relay then drops the usage chunk from what the client sees.
    if (include_usage || permit.counts_tokens()) {
        add_stream_usage_option(call.body);
    }
    const auto options =
        options_of(*ready.connector, ready.snap->settings->max_json_size(), ready.deployed->model_id);
    auto relay = std::make_shared<openai::chunk_relay>(defaults, include_usage);
    sse_relay_hooks hooks;
    // The legacy endpoint gets the chat frames rewritten as they are written.
    const auto deliver = [text](std::string& out, const auto& write) {
        if (!text) {
            return write(out);
        }
        std::string chat;
        auto step = write(chat);
        out.append(openai::text_completion_frames(chat));
        return step;
    };
    hooks.on_event = [relay, &permit, deliver](const upstream::sse_event& ev, std::string& out) {
        if (permit.counts_tokens()) {
            if (auto used = registry::usage_total_tokens_of(ev.data)) {
                permit.set_usage(*used);
            }
        }
        return deliver(out, [&](std::string& o) { return relay->on_event(ev.data, o); });
    };
    hooks.on_finish = [relay, deliver](std::string& out) {
        deliver(out, [&](std::string& o) {
            relay->on_finish(o);
            return relay_step::done;
        });
    };
    hooks.on_json_body = [relay, &permit, deliver](std::string_view b, std::string& out) {
        if (permit.counts_tokens()) {
            if (auto used = registry::usage_total_tokens_of(b)) {
                permit.set_usage(*used);
            }
        }
        return deliver(out, [&](std::string& o) { return relay->on_completion(b, o); });
    };
    hooks.error_frame = [](const registry::error& e) {
        return openai::error_frame(openai::from_error(e));
    };
    if (auto g = registry::guard_user_input(
            ready.deployed->guard.get(), ready.deployed->guard_broken, call.body
        )) {
        co_return openai_fail(ctx, openai::from_error(*g));
    }
    auto req = to_request(call);
    // The key's parallel slot is free before the client sees the end (a client may ask again at once).
    hooks.before_end = [&permit] {
        permit.set_succeeded();
        permit.finish();
    };
    sse_relay_options opts;
    opts.extra_headers = permit.headers();
    auto failed = co_await relay_sse(ctx, std::move(req), options, std::move(hooks), std::move(opts));
    if (failed) {
        auto e = failed->upstream_status != 0
                     ? openai::from_upstream(failed->upstream_status, failed->upstream_body)
                     : openai::from_error(failed->error);
        e.headers = std::move(failed->upstream_retry);
        co_return openai_fail(ctx, e);
    }
    permit.set_succeeded();  // charged when the handler returns (the permit's destructor)
    co_return streamed_response();
}

}  // namespace

awaitable<http_response> handle_openai_chat_completions(request_context& ctx) {
    co_return co_await serve_completion(ctx, dialect::chat);
}

awaitable<http_response> handle_openai_completions(request_context& ctx) {
    co_return co_await serve_completion(ctx, dialect::text);
}

awaitable<http_response> handle_openai_embeddings(request_context& ctx) {
    auto who = caller_of(ctx);
    if (!who) {
        co_return openai_fail(ctx, who.error());
    }
    const auto key = key_of(ctx);
    json::object body;
    if (auto e = object_body_of(ctx, body)) {
        co_return openai_fail(ctx, *e);
    }
    registry::predict_request input;
    input.kind = registry::predict_input_kind::text_docs;
    const auto* in = body.if_contains("input");
    const auto bad_input = invalid_request(
        "'input' must be a non-empty string or a non-empty array of strings (token arrays are not "
        "supported).",
        "input"
    );
    if (in == nullptr) {
        co_return openai_fail(ctx, invalid_request("Missing required parameter: 'input'.", "input"));
    }
    if (in->is_string()) {
        input.text_docs.emplace_back(std::string(in->get_string()));
    } else if (in->is_array() && !in->get_array().empty()) {
        for (const auto& item : in->get_array()) {
            if (!item.is_string()) {
                co_return openai_fail(ctx, bad_input);
            }
            input.text_docs.emplace_back(std::string(item.get_string()));
        }
    } else {
        co_return openai_fail(ctx, bad_input);
    }
    bool base64 = false;
    if (const auto* f = body.if_contains("encoding_format"); f != nullptr && !f->is_null()) {
        if (!f->is_string() || (f->get_string() != "float" && f->get_string() != "base64")) {
            co_return openai_fail(
                ctx, invalid_request("'encoding_format' must be \"float\" or \"base64\".", "encoding_format")
            );
        }
        base64 = f->get_string() == "base64";
    }
    key_permit permit;
    model_pick pick;
    auto resolved = model_for_now(ctx, *who, key, body, permit, pick);
    if (!resolved) {
        auto deployed = co_await model_for_deployed(ctx, *who, std::move(pick));
        resolved.emplace(std::move(deployed));
    }
    if (auto* refused = std::get_if<http_response>(&*resolved)) {
        co_return std::move(*refused);
    }
    const auto& ready = std::get<ready_model>(*resolved);
    json::object extras;
    for (std::string_view key : {"dimensions", "user"}) {
        if (const auto* v = body.if_contains(key); v != nullptr && !v->is_null()) {
            extras[key] = *v;
        }
    }
    if (!connector_defines(ready, "model")) {
        extras["model"] = body.at("model");
    }
    input.algorithm_parameters = registry::escape_request_parameters(registry::stringify_parameters(extras));
    const auto plan_it = [&] {
        return registry::plan_predict(
            *ready.connector, input, registry::predict_options{.opaque_request_values = true}
        );
    };
    std::optional<registry::result<registry::predict_plan>> planned;
    if (registry::plan_may_run_script(*ready.connector, input)) {
        auto off_io = co_await on_scripts(ctx.app, plan_it);
        planned.emplace(std::move(off_io));
    } else {
        planned.emplace(plan_it());
    }
    auto& plan = *planned;
    if (!plan) {
        co_return openai_fail(ctx, plan.error());
    }
    std::int64_t wait_ns = 0;
    if (auto throttled = charge_rate_limiters(*who, ready, plan->calls.size(), &wait_ns)) {
        co_return openai_fail(ctx, throttled_error(*throttled, wait_ns));
    }
    // `dimensions` and `user` reach an OpenAI embeddings upstream even through a template that leaves
    // them out (the blueprints' `{"input": ..., "model": ...}`), as chat members do.
    if (const auto& action = *plan->action; action.request_body) {
        for (auto& call : plan->calls) {
            openai::add_request_members(
                call.body,
                extras,
                openai::chat_upstream{
                    .url = call.url,
                    .llm_interface = nullptr,
                    .request_template = action.request_body->source(),
                    .connector_parameters = &ready.connector->parameters},
                openai::chat_door::embeddings
            );
        }
    }
    if (judges_input(*ready.deployed)) {
        if (auto judged = co_await model_guard_input(ctx, *ready.deployed, input)) {
            co_return openai_fail(ctx, openai::from_error(*judged));
        }
    }
    openai::embedding_batch all;
    // A post-process function or response filter drops the answer's `usage` (the built-in embedding
    // functions keep only the vectors), so it is then read from the raw answer; otherwise the element
    // still has it and embeddings_of finds it without a second parse.
    const bool usage_hidden =
        plan->post_process != nullptr || plan->post_script != nullptr || plan->response_filter != nullptr;
    for (std::size_t i = 0; i < plan->calls.size(); ++i) {
        openai::raw_embedding_facts raw;
        auto element =
            co_await call_upstream(ctx, ready, *plan, i, permit, {}, false, usage_hidden ? &raw : nullptr);
        if (auto* e = std::get_if<openai::api_error>(&element)) {
            co_return openai_fail(ctx, *e);
        }
        auto batch = openai::embeddings_of(std::get<json::object>(element));
        if (!batch) {
            co_return openai_fail(ctx, batch.error());
        }
        // A post-processed answer lost `data[].index`: put each vector where the raw answer said it goes.
        if (plan->post_process != nullptr && !raw.order.empty() &&
            raw.order.size() == batch->vectors.size()) {
            std::vector<std::vector<double>> placed(raw.order.size());
            for (std::size_t k = 0; k < raw.order.size(); ++k) {
                placed[raw.order[k]] = std::move(batch->vectors[k]);
            }
            batch->vectors = std::move(placed);
        }
        for (auto& v : batch->vectors) {
            all.vectors.push_back(std::move(v));
        }
        all.prompt_tokens += raw.usage ? raw.usage->prompt_tokens : batch->prompt_tokens;
        all.total_tokens += raw.usage ? raw.usage->total_tokens : batch->total_tokens;
    }
    if (all.vectors.size() != input.text_docs.size()) {
        co_return openai_fail(
            ctx,
            registry::error{
                errc::bad_gateway,
                "The model returned " + std::to_string(all.vectors.size()) + " embeddings for " +
                    std::to_string(input.text_docs.size()) + " inputs"}
        );
    }
    json::array data;
    data.reserve(all.vectors.size());
    for (std::size_t i = 0; i < all.vectors.size(); ++i) {
        json::value embedding;
        if (base64) {
            embedding = openai::base64_float32(all.vectors[i]);
        } else {
            json::array floats;
            floats.reserve(all.vectors[i].size());
            for (double d : all.vectors[i]) {
                floats.emplace_back(d);
            }
            embedding = std::move(floats);
        }
        data.push_back(json::object{
            {"object", "embedding"}, {"index", i}, {"embedding", std::move(embedding)}});
    }
    auto res = openai_ok(
        ctx,
        json::object{
            {"object", "list"},
            {"data", std::move(data)},
            {"model", body.at("model")},
            {"usage", json::object{{"prompt_tokens", all.prompt_tokens}, {"total_tokens", all.total_tokens}}}}
    );
    permit.finish();
    permit.add_headers(res);
    co_return res;
}

awaitable<http_response> handle_openai_models(request_context& ctx) {
    auto who = caller_of(ctx);
    if (!who) {
        co_return openai_fail(ctx, who.error());
    }
    const auto key = key_of(ctx);
    const auto snap = ctx.app.registry->current();
    struct listed {
        std::int64_t created;
        json::object entry;
    };
    std::vector<listed> by_id;
    std::map<std::string, std::vector<std::string>> by_name;
    auto opts = ctx.app.registry->access_options(*snap, *who);
    // The route checked `models/search`; listing promises that each model can be called (R16), so the
    // `predict` privilege is checked here too.
    opts.privileges_checked = false;
    snap->deployed.for_each([&](const std::string& id, const registry::deployed_model& d) {
        const auto* m = snap->find(registry::kind::model, id);
        // Exactly the models the caller can call: its tenant's, the model ACL, and for an API key its
        // allowed ones.
        if (m == nullptr || !callable(*snap, *m, *who, opts) || !key_allows(key, id, name_of(*m))) {
            return;
        }
        auto entry = model_entry(id, *m);
        by_id.push_back({entry.at("created").as_int64(), std::move(entry)});
        if (auto name = name_of(*m); !name.empty()) {
            by_name[name].push_back(id);
        }
    });
    // A name is listed when it picks exactly one deployed model and is not some model's id.
    for (const auto& [name, ids] : by_name) {
        if (ids.size() == 1 && snap->find(registry::kind::model, name) == nullptr) {
            auto entry = model_entry(name, *snap->find(registry::kind::model, ids.front()));
            by_id.push_back({entry.at("created").as_int64(), std::move(entry)});
        }
    }
    std::sort(by_id.begin(), by_id.end(), [](const listed& a, const listed& b) {
        if (a.created != b.created) {
            return a.created < b.created;
        }
        return a.entry.at("id").as_string() < b.entry.at("id").as_string();
    });
    json::array data;
    data.reserve(by_id.size());
    for (auto& l : by_id) {
        data.push_back(std::move(l.entry));
    }
    co_return openai_ok(ctx, json::object{{"object", "list"}, {"data", std::move(data)}});
}

awaitable<http_response> handle_openai_model_get(request_context& ctx) {
    auto who = caller_of(ctx);
    if (!who) {
        co_return openai_fail(ctx, who.error());
    }
    const auto key = key_of(ctx);
    // Everything after the prefix, slashes included (see routes.cpp).
    constexpr std::string_view prefix = "/v1/models/";
    const std::string requested(ctx.path.substr(std::min(prefix.size(), ctx.path.size())));
    const auto snap = ctx.app.registry->current();
    auto opts = ctx.app.registry->access_options(*snap, *who);
    opts.privileges_checked = false;  // as for the list: only models the caller can call
    auto id = resolve_model(*snap, *who, key, requested, opts);
    if (auto* e = std::get_if<openai::api_error>(&id)) {
        co_return openai_fail(ctx, *e);
    }
    co_return openai_ok(
        ctx, model_entry(requested, *snap->find(registry::kind::model, std::get<std::string>(id)))
    );
}

}  // namespace modelrelay::server::handlers
