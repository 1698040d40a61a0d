// File: api_keys.cpp
// Elasticsearch-compatible API keys (security.md §4, R15): create, get, invalidate. The secret is shown once;
// only HMAC-SHA-256(pepper, secret) is stored. The `modelrelay` object carries the key's tenant, model
// allow-list and limits (enforced by the /v1 and _inference front doors).
#include <boost/json/parse.hpp>

#include "registry/authz.hpp"
#include "registry/crypto.hpp"
#include "registry/identity.hpp"
#include "registry/json_parse.hpp"
#include "server/app.hpp"
#include "server/handlers/handlers.hpp"
#include "server/peer.hpp"
#include "server/security.hpp"

namespace modelrelay::server::handlers {

namespace json = boost::json;
using registry::errc;
using registry::error;
using registry::principal;

namespace {

http_response es_response(const request_context& ctx, unsigned status, const json::value& body) {
    auto res = json_response(status, body, ctx.pretty);
    res.set("X-Elastic-Product", "Elasticsearch");
    return res;
}

http_response es_error(const request_context& ctx, const error& e) {
    auto res = error_response(e, ctx.pretty);
    res.set("X-Elastic-Product", "Elasticsearch");
    return res;
}

std::optional<http_response> security_off(const request_context& ctx) {
    if (ctx.app.sec && ctx.app.sec->enabled()) {
        return std::nullopt;
    }
    return es_error(
        ctx,
        error{
            errc::illegal_state,
            "Security must be explicitly enabled when using API keys: start modelrelay with --security on"}
    );
}

json::object key_json(const registry::api_key& k) {
    json::object o{
        {"id", k.id},
        {"name", k.name},
        {"type", "rest"},
        {"creation", k.creation},
    };
    if (k.expiration) {
        o["expiration"] = *k.expiration;
    }
    o["invalidated"] = k.invalidated;
    if (k.invalidation) {
        o["invalidation"] = *k.invalidation;
    }
    o["username"] = k.username;
    o["realm"] = k.realm;
    o["metadata"] = k.metadata;
    if (k.has_limits) {
        json::array models;
        for (const auto& m : k.limits.models) {
            models.emplace_back(m);
        }
        json::object ext{{"tenant", k.limits.tenant}, {"models", std::move(models)}};
        ext["rpm"] = k.limits.rpm;
        ext["tpm"] = k.limits.tpm;
        ext["max_parallel"] = k.limits.max_parallel;
        ext["token_budget"] = k.limits.token_budget;
        if (!k.limits.budget_period.empty()) {
            ext["budget_period"] = k.limits.budget_period;
        }
        o["modelrelay"] = std::move(ext);
    }
    return o;
}

bool owns(const principal& who, const registry::api_key& k) {
    return k.username == who.name && k.realm == who.realm;
}

}  // namespace

boost::asio::awaitable<http_response> handle_api_key_create(request_context& ctx) {
    if (auto off = security_off(ctx)) {
        co_return std::move(*off);
    }
    const principal& who = *ctx.who.user;
    boost::system::error_code ec;
    const auto body = ctx.req.body().empty() ? json::value() : registry::parse_json(ctx.req.body(), ec);
    if (ec) {
        co_return es_error(
            ctx, error{errc::json_parse, "Unexpected character in the request body: not valid JSON"}
        );
    }
    auto req = registry::parse_api_key_request(body);
    if (!req) {
        co_return es_error(ctx, req.error());
    }
    // Elasticsearch: a key created with an API key may have no privileges at all. Such a key could do
    // nothing here, so it is refused; a key minted from a key would otherwise escape the first key's
    // model list, limits and revocation.
    if (!who.api_key_id.empty()) {
        co_return es_error(
            ctx,
            error{
                errc::illegal_argument,
                "creating derived api keys requires an explicit role descriptor that is empty (has no "
                "privileges)"}
        );
    }
    // R12: a key lives in one tenant; only all_access may mint keys for another tenant than its own.
    if (req->limits.tenant.empty()) {
        req->limits.tenant = who.tenant;
    } else if (req->limits.tenant != who.tenant && !registry::is_admin(who)) {
        co_return es_error(ctx, error{errc::forbidden, "You don't have permission to access this resource"});
    }
    if (!req->has_limits && !who.tenant.empty()) {
        req->has_limits = true;
        req->limits.models = {"*"};
    }
    auto& sec = *ctx.app.sec;
    auto op = [&sec, r = std::move(*req), owner = who]() {
        return sec.identity().create_api_key(r, owner);
    };
    auto made = co_await on_store(ctx.app, std::move(op));
    if (!made) {
        co_return es_error(ctx, made.error());
    }
    sec.audit().record(
        "GRANTED_PRIVILEGES",
        &who,
        ctx.peer->remote_address,
        "cluster:admin/xpack/security/api_key/create",
        made->key.id
    );
    std::string joined = made->key.id + ":" + made->secret;
    json::object out{{"id", made->key.id}, {"name", made->key.name}};
    if (made->key.expiration) {
        out["expiration"] = *made->key.expiration;
    }
    out["api_key"] = made->secret;
    out["encoded"] = registry::base64_encode(joined);
    registry::secure_wipe(joined);
    registry::secure_wipe(made->secret);
    auto res = es_response(ctx, 200, out);
    res.set(http::field::cache_control, "no-store");
    co_return res;
}

boost::asio::awaitable<http_response> handle_api_key_get(request_context& ctx) {
    if (auto off = security_off(ctx)) {
        co_return std::move(*off);
    }
    const principal& who = *ctx.who.user;
    const bool admin = registry::is_admin(who);
    const auto id = ctx.query_param("id");
    const auto name = ctx.query_param("name");
    const auto username = ctx.query_param("username");
    const auto realm = ctx.query_param("realm_name");
    const bool owner_only = ctx.query_flag("owner") || !admin;
    const bool active_only = ctx.query_flag("active_only");
    const auto state = ctx.app.sec->identity().current();
    json::array keys;
    for (const auto& [kid, k] : state->api_keys) {
        if ((id && *id != kid) || (name && *name != k.name && *name != "*") ||
            (username && *username != k.username) || (realm && *realm != k.realm) ||
            (owner_only && !owns(who, k))) {
            continue;
        }
        if (active_only &&
            (k.invalidated || (k.expiration && *k.expiration <= ctx.app.sec->identity().now_ms()))) {
            continue;
        }
        keys.push_back(key_json(k));
    }
    co_return es_response(ctx, 200, json::object{{"api_keys", std::move(keys)}});
}

boost::asio::awaitable<http_response> handle_api_key_invalidate(request_context& ctx) {
    if (auto off = security_off(ctx)) {
        co_return std::move(*off);
    }
    const principal& who = *ctx.who.user;
    boost::system::error_code ec;
    const auto body = ctx.req.body().empty() ? json::value() : registry::parse_json(ctx.req.body(), ec);
    if (ec || !body.is_object()) {
        co_return es_error(ctx, error{errc::parse_failed, "request body is required"});
    }
    const auto& b = body.get_object();
    std::vector<std::string> wanted_ids;
    std::optional<std::string> wanted_name;
    std::optional<std::string> wanted_user;
    bool owner = false;
    for (const auto& kv : b) {
        const std::string_view k = kv.key();
        const auto& v = kv.value();
        if (k == "ids" && v.is_array()) {
            for (const auto& e : v.get_array()) {
                if (!e.is_string()) {
                    co_return es_error(
                        ctx, error{errc::x_content_parse, "[invalidate_api_key] failed to parse field [ids]"}
                    );
                }
                wanted_ids.emplace_back(e.get_string());
            }
        } else if (k == "id" && v.is_string()) {
            wanted_ids.emplace_back(v.get_string());
        } else if (k == "name" && v.is_string()) {
            wanted_name = std::string(v.get_string());
        } else if (k == "username" && v.is_string()) {
            wanted_user = std::string(v.get_string());
        } else if (k == "owner" && v.is_bool()) {
            owner = v.get_bool();
        } else if (k == "realm_name" && v.is_string()) {
            // accepted, matched through the owner check below
        } else {
            co_return es_error(
                ctx,
                error{errc::x_content_parse, "[invalidate_api_key] unknown field [" + std::string(k) + "]"}
            );
        }
    }
    if (wanted_ids.empty() && !wanted_name && !wanted_user && !owner) {
        co_return es_error(
            ctx,
            error{
                errc::validation_failed,
                "Validation Failed: 1: One of [api key id(s), api key name, username, realm name] must be "
                "specified "
                "if [owner] flag is false;"}
        );
    }
    const bool admin = registry::is_admin(who);
    const auto state = ctx.app.sec->identity().current();
    std::vector<std::string> ids;
    for (const auto& [kid, k] : state->api_keys) {
        const bool id_ok =
            wanted_ids.empty() || std::find(wanted_ids.begin(), wanted_ids.end(), kid) != wanted_ids.end();
        const bool name_ok = !wanted_name || *wanted_name == k.name;
        const bool user_ok = !wanted_user || *wanted_user == k.username;
        // Someone else's key is invisible to a non-admin, as if it did not exist.
        const bool mine = owns(who, k);
        if (id_ok && name_ok && user_ok && (mine || (admin && !owner))) {
            ids.push_back(kid);
        }
    }
    auto& sec = *ctx.app.sec;
    auto op = [&sec, ids] {
        return sec.identity().invalidate_api_keys(ids);
    };
    auto done = co_await on_store(ctx.app, std::move(op));
    if (!done) {
        co_return es_error(ctx, done.error());
    }
    for (const auto& id : done->invalidated) {
        sec.audit().record(
            "GRANTED_PRIVILEGES",
            &who,
            ctx.peer->remote_address,
            "cluster:admin/xpack/security/api_key/invalidate",
            id
        );
    }
    json::array inv;
    json::array prev;
    for (const auto& id : done->invalidated) {
        inv.emplace_back(id);
    }
    for (const auto& id : done->previously_invalidated) {
        prev.emplace_back(id);
    }
    co_return es_response(
        ctx,
        200,
        json::object{
            {"invalidated_api_keys", std::move(inv)},
            {"previously_invalidated_api_keys", std::move(prev)},
            {"error_count", 0}}
    );
}

boost::asio::awaitable<http_response> handle_security_authenticate(request_context& ctx) {
    if (auto off = security_off(ctx)) {
        co_return std::move(*off);
    }
    const principal& who = *ctx.who.user;
    json::array roles;
    for (const auto& r : who.roles) {
        roles.emplace_back(r);
    }
    json::object out{
        {"username", who.name},
        {"roles", std::move(roles)},
        {"full_name", nullptr},
        {"email", nullptr},
        {"metadata", json::object{}},
        {"enabled", true},
        {"authentication_realm", json::object{{"name", who.realm}, {"type", who.realm}}},
        {"lookup_realm", json::object{{"name", who.realm}, {"type", who.realm}}},
        {"authentication_type", who.api_key_id.empty() ? "realm" : "api_key"},
    };
    if (!who.api_key_id.empty()) {
        out["api_key"] = json::object{{"id", who.api_key_id}};
    }
    co_return es_response(ctx, 200, out);
}

}  // namespace modelrelay::server::handlers
