// File: security_api.cpp
// The Security plugin's REST surface modelrelay mirrors (security.md §2.1–§2.3, R4, R5): authinfo, account,
// internal users, roles and role mappings. With security off these routes do not exist (OpenSearch without
// the plugin), so they answer the router's "no handler" error.
#include <boost/json/parse.hpp>

#include "registry/crypto.hpp"
#include "registry/identity.hpp"
#include "registry/identity_patch.hpp"
#include "registry/json_parse.hpp"
#include "registry/json_patch.hpp"
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

http_response no_handler(const request_context& ctx) {
    return simple_error_response(
        400,
        "no handler found for uri [" + std::string(ctx.req.target()) + "] and method [" +
            std::string(http::to_string(ctx.req.method())) + "]",
        ctx.pretty
    );
}

json::array to_array(const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) {
        a.emplace_back(s);
    }
    return a;
}

std::string java_list(const std::vector<std::string>& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
        out += (i == 0 ? "" : ", ") + v[i];
    }
    return out + "]";
}

json::array custom_attribute_names(const registry::identity_state& s, const principal& who) {
    json::array out;
    if (who.realm == "internal") {
        if (const auto* u = s.find_user(who.name)) {
            for (const auto& [k, v] : u->attributes) {
                out.emplace_back("attr.internal." + k);
            }
        }
    }
    return out;
}

json::object tenants_of(const principal& who) {
    json::object t;
    if (!who.tenant.empty()) {
        t[who.tenant] = true;
    }
    return t;
}

// Callers of the REST management API: the super-admin, or a role in restapi.roles_enabled (§2.2).
std::optional<error> rest_api_denied(const principal& who) {
    if (who.super_admin) {
        return std::nullopt;
    }
    for (const auto& r : who.roles) {
        if (r == "all_access" || r == "security_rest_api_access") {
            return std::nullopt;
        }
    }
    return registry::security_status(
        403,
        "FORBIDDEN",
        "No permission to access REST API: User " + who.name + " with Security roles " +
            java_list(who.roles) + " does not have any role privileged for admin access"
    );
}

http_response raw(const request_context& ctx, unsigned status, json::object body) {
    return json_response(status, body, ctx.pretty);
}

using registry::identity_kind;

// After a committed write: credentials cached under the old state are dropped, and the audit log says who
// changed what (`what`: "user/put", "role/patch", ...).
void record_write(request_context& ctx, const principal& who, std::string_view what, std::string_view name) {
    ctx.app.sec->invalidate_cache();
    ctx.app.sec->audit().record(
        "GRANTED_PRIVILEGES", &who, ctx.peer->remote_address, "restapi:admin/" + std::string(what), name
    );
}

// Common preamble: security on, caller allowed. Returns the principal or the response to send.
std::variant<const principal*, http_response> admin_caller(const request_context& ctx) {
    if (!ctx.app.sec || !ctx.app.sec->enabled()) {
        return no_handler(ctx);
    }
    const principal* who = ctx.who.user.get();
    if (auto denied = rest_api_denied(*who)) {
        ctx.app.sec->audit().record(
            "MISSING_PRIVILEGES", who, ctx.peer->remote_address, "restapi:admin/" + std::string(ctx.path)
        );
        return error_response(*denied, ctx.pretty);
    }
    return who;
}

registry::result<json::value> json_body(const request_context& ctx) {
    if (ctx.req.body().empty()) {
        return registry::security_validation("Request body required for this action.");
    }
    boost::system::error_code ec;
    auto v = registry::parse_json(ctx.req.body(), ec);
    if (ec) {
        return registry::security_validation("Unable to parse content: invalid JSON");
    }
    return v;
}

// GET of one entity or all of them (hidden entities are invisible).
http_response get_entities(request_context& ctx, identity_kind e) {
    auto caller = admin_caller(ctx);
    if (auto* res = std::get_if<http_response>(&caller)) {
        return std::move(*res);
    }
    const auto state = ctx.app.sec->identity().current();
    const std::string_view name = ctx.param("name");
    json::object out;
    auto add = [&](std::string_view n, json::object o) {
        if (name.empty() || name == n) {
            out[n] = std::move(o);
        }
    };
    switch (e) {
        case identity_kind::user:
            for (const auto& [n, u] : state->users) {
                if (!u.hidden) {
                    add(n, registry::user_to_json(u));
                }
            }
            break;
        case identity_kind::role:
            for (const auto& r : registry::builtin_role_definitions()) {
                add(r.name, registry::role_to_json(r));
            }
            for (const auto& [n, r] : state->roles) {
                if (!r.hidden) {
                    add(n, registry::role_to_json(r));
                }
            }
            break;
        case identity_kind::mapping:
            for (const auto& [n, m] : state->mappings) {
                if (!m.hidden) {
                    add(n, registry::mapping_to_json(m));
                }
            }
            break;
    }
    if (!name.empty() && out.empty()) {
        return error_response(
            registry::security_status(
                404,
                "NOT_FOUND",
                std::string(registry::identity_word(e)) + " '" + std::string(name) + "' not found."
            ),
            ctx.pretty
        );
    }
    return raw(ctx, 200, std::move(out));
}

// Reserved / static / hidden guards shared by PUT, DELETE and PATCH (§2.2 entity errors).
std::optional<error> guard_existing(
    const principal& who, std::string_view name, bool reserved, bool hidden, bool is_static
) {
    return registry::entity_write_guard(name, reserved, hidden, is_static, who.super_admin);
}

bool builtin_role(std::string_view name) {
    return registry::builtin_roles().find(name) != nullptr;
}

http_response write_done(request_context& ctx, std::string_view name, bool created) {
    std::string message = "'";
    message.append(name).append("' ").append(created ? "created." : "updated.");
    return raw(
        ctx, created ? 201 : 200, json::object{{"status", created ? "CREATED" : "OK"}, {"message", message}}
    );
}

boost::asio::awaitable<http_response> put_entity(request_context& ctx, identity_kind e) {
    auto caller = admin_caller(ctx);
    if (auto* res = std::get_if<http_response>(&caller)) {
        co_return std::move(*res);
    }
    const principal& who = *std::get<const principal*>(caller);
    const std::string name(ctx.param("name"));
    if (auto bad = registry::entity_name_error(name)) {
        co_return error_response(*bad, ctx.pretty);
    }
    auto body = json_body(ctx);
    if (!body) {
        co_return error_response(body.error(), ctx.pretty);
    }
    auto& sec = *ctx.app.sec;
    const auto state = sec.identity().current();
    registry::result<bool> done = false;
    switch (e) {
        case identity_kind::user: {
            const auto* existing = state->find_user(name);
            if (existing != nullptr) {
                if (auto g = guard_existing(who, name, existing->reserved, existing->hidden, false)) {
                    co_return error_response(*g, ctx.pretty);
                }
            }
            std::optional<registry::internal_user> prior;
            if (existing != nullptr) {
                prior = *existing;
            }
            // Validation hashes the password (bcrypt): on the hashing pool, never an I/O thread.
            auto validate = [name, b = std::move(*body), prior]() {
                return registry::user_from_body(
                    name, b, prior ? &*prior : nullptr, registry::password_policy{}
                );
            };
            auto user = co_await on_pool(sec.hash_pool(), std::move(validate));
            if (!user) {
                co_return error_response(user.error(), ctx.pretty);
            }
            if (existing != nullptr) {
                user->reserved = existing->reserved;
            }
            auto op = [&sec, u = std::move(*user)]() mutable {
                return sec.identity().put_user(std::move(u));
            };
            done = co_await on_store(ctx.app, std::move(op));
            break;
        }
        case identity_kind::role: {
            if (builtin_role(name)) {
                co_return error_response(*guard_existing(who, name, true, false, true), ctx.pretty);
            }
            if (const auto it = state->roles.find(name); it != state->roles.end()) {
                if (auto g = guard_existing(who, name, it->second.reserved, it->second.hidden, false)) {
                    co_return error_response(*g, ctx.pretty);
                }
            }
            auto role = registry::role_from_body(name, *body);
            if (!role) {
                co_return error_response(role.error(), ctx.pretty);
            }
            auto op = [&sec, r = std::move(*role)]() mutable {
                return sec.identity().put_role(std::move(r));
            };
            done = co_await on_store(ctx.app, std::move(op));
            break;
        }
        case identity_kind::mapping: {
            if (auto missing = registry::mapping_role_error(*state, name)) {
                co_return error_response(*missing, ctx.pretty);
            }
            if (const auto it = state->mappings.find(name); it != state->mappings.end()) {
                if (auto g = guard_existing(who, name, it->second.reserved, it->second.hidden, false)) {
                    co_return error_response(*g, ctx.pretty);
                }
            }
            auto mapping = registry::mapping_from_body(name, *body);
            if (!mapping) {
                co_return error_response(mapping.error(), ctx.pretty);
            }
            auto op = [&sec, m = std::move(*mapping)]() mutable {
                return sec.identity().put_mapping(std::move(m));
            };
            done = co_await on_store(ctx.app, std::move(op));
            break;
        }
    }
    if (!done) {
        co_return error_response(done.error(), ctx.pretty);
    }
    record_write(ctx, who, std::string(registry::identity_word(e)) + "/put", name);
    co_return write_done(ctx, name, *done);
}

boost::asio::awaitable<http_response> delete_entity(request_context& ctx, identity_kind e) {
    auto caller = admin_caller(ctx);
    if (auto* res = std::get_if<http_response>(&caller)) {
        co_return std::move(*res);
    }
    const principal& who = *std::get<const principal*>(caller);
    const std::string name(ctx.param("name"));
    auto& sec = *ctx.app.sec;
    const auto state = sec.identity().current();
    const error missing = registry::security_status(
        404, "NOT_FOUND", std::string(registry::identity_word(e)) + " '" + name + "' not found."
    );
    registry::result<bool> done = false;
    switch (e) {
        case identity_kind::user: {
            const auto* u = state->find_user(name);
            if (u == nullptr) {
                co_return error_response(missing, ctx.pretty);
            }
            if (auto g = guard_existing(who, name, u->reserved, u->hidden, false)) {
                co_return error_response(*g, ctx.pretty);
            }
            auto op = [&sec, name] {
                return sec.identity().delete_user(name);
            };
            done = co_await on_store(ctx.app, std::move(op));
            break;
        }
        case identity_kind::role: {
            if (builtin_role(name)) {
                co_return error_response(*guard_existing(who, name, true, false, true), ctx.pretty);
            }
            const auto it = state->roles.find(name);
            if (it == state->roles.end()) {
                co_return error_response(missing, ctx.pretty);
            }
            if (auto g = guard_existing(who, name, it->second.reserved, it->second.hidden, false)) {
                co_return error_response(*g, ctx.pretty);
            }
            auto op = [&sec, name] {
                return sec.identity().delete_role(name);
            };
            done = co_await on_store(ctx.app, std::move(op));
            break;
        }
        case identity_kind::mapping: {
            const auto it = state->mappings.find(name);
            if (it == state->mappings.end()) {
                co_return error_response(missing, ctx.pretty);
            }
            if (auto g = guard_existing(who, name, it->second.reserved, it->second.hidden, false)) {
                co_return error_response(*g, ctx.pretty);
            }
            auto op = [&sec, name] {
                return sec.identity().delete_mapping(name);
            };
            done = co_await on_store(ctx.app, std::move(op));
            break;
        }
    }
    if (!done) {
        co_return error_response(done.error(), ctx.pretty);
    }
    record_write(ctx, who, std::string(registry::identity_word(e)) + "/delete", name);
    co_return raw(ctx, 200, json::object{{"status", "OK"}, {"message", "'" + name + "' deleted."}});
}

// PATCH of one entity or of the collection (AbstractApiAction.processPatchRequest): the body's checks,
// then the guards and the patch on the state as it is, the PUT rules for what changed (on the hashing pool:
// a patch may set a password), and one transaction. A write that lands in between makes the commit refuse;
// the patch is then planned again on the new state.
boost::asio::awaitable<http_response> patch_entities(request_context& ctx, registry::identity_kind kind) {
    auto caller = admin_caller(ctx);
    if (auto* res = std::get_if<http_response>(&caller)) {
        co_return std::move(*res);
    }
    const principal& who = *std::get<const principal*>(caller);
    const std::string name(ctx.param("name"));
    auto ops = registry::parse_security_patch(ctx.req.body());
    if (!ops) {
        co_return error_response(ops.error(), ctx.pretty);
    }
    auto& sec = *ctx.app.sec;
    registry::result<void> done;
    for (int attempt = 0;; ++attempt) {
        auto state = sec.identity().current();
        auto plan = registry::plan_identity_patch(*state, kind, name, *ops, who.super_admin);
        if (!plan) {
            co_return error_response(plan.error(), ctx.pretty);
        }
        const std::uint64_t generation = plan->generation;
        auto validate = [state, p = std::move(*plan), admin = who.super_admin]() mutable {
            return registry::validate_identity_patch(
                *state, std::move(p), admin, registry::password_policy{}
            );
        };
        auto changes = co_await on_pool(sec.hash_pool(), std::move(validate));
        if (!changes) {
            co_return error_response(changes.error(), ctx.pretty);
        }
        auto op = [&sec, c = std::move(*changes), generation] {
            return sec.identity().apply_changes(c, generation);
        };
        done = co_await on_store(ctx.app, std::move(op));
        if (done || done.error().code != errc::conflict || attempt == 2) {
            break;
        }
    }
    if (!done) {
        co_return error_response(done.error(), ctx.pretty);
    }
    record_write(ctx, who, std::string(registry::identity_word(kind)) + "/patch", name);
    co_return raw(
        ctx,
        200,
        json::object{
            {"status", "OK"},
            {"message", name.empty() ? std::string("Resource updated.") : "'" + name + "' updated."}}
    );
}

}  // namespace

namespace {

http_response token_error(const request_context& ctx, unsigned status, std::string message) {
    return json_response(status, json::object{{"error", std::move(message)}, {"status", status}}, ctx.pretty);
}

bool token_name_ok(std::string_view n) {
    return std::all_of(n.begin(), n.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
}

constexpr std::size_t max_api_tokens = 100;

}  // namespace

// OpenSearch API tokens (security.md §2.4): create, list, revoke. Admin callers only, like the REST API.
boost::asio::awaitable<http_response> handle_api_tokens_create(request_context& ctx) {
    auto caller = admin_caller(ctx);
    if (auto* res = std::get_if<http_response>(&caller)) {
        co_return std::move(*res);
    }
    const principal& who = *std::get<const principal*>(caller);
    boost::system::error_code ec;
    auto body = registry::parse_json(ctx.req.body(), ec);
    if (ec || !body.is_object()) {
        co_return token_error(ctx, 400, "Request body is not a JSON object.");
    }
    const auto& b = body.get_object();
    const auto* name = b.if_contains("name");
    if (name == nullptr || !name->is_string() || name->get_string().empty()) {
        co_return token_error(ctx, 400, "Token name is required.");
    }
    const std::string n(name->get_string());
    if (!token_name_ok(n)) {
        co_return token_error(
            ctx, 400, "Token name must contain only alphanumeric characters, hyphens, and underscores."
        );
    }
    std::vector<std::string> cluster;
    if (const auto* c = b.if_contains("cluster_permissions"); c != nullptr && c->is_array()) {
        for (const auto& e : c->get_array()) {
            if (e.is_string()) {
                cluster.emplace_back(e.get_string());
            }
        }
    }
    json::array index;
    if (const auto* i = b.if_contains("index_permissions"); i != nullptr && i->is_array()) {
        index = i->get_array();
    }
    std::optional<std::int64_t> duration;
    if (const auto* d = b.if_contains("duration_seconds"); d != nullptr && !d->is_null()) {
        if (!d->is_int64() || d->get_int64() <= 0) {
            co_return token_error(ctx, 400, "Token duration must be positive.");
        }
        duration = d->get_int64() * 1000;
    }
    auto& sec = *ctx.app.sec;
    const auto state = sec.identity().current();
    std::size_t active = 0;
    for (const auto& [id, t] : state->api_tokens) {
        if (!t.revoked_at) {
            ++active;
            if (t.name == n) {
                co_return token_error(ctx, 400, "A token with name '" + n + "' already exists.");
            }
        }
    }
    if (active >= max_api_tokens) {
        co_return token_error(
            ctx,
            429,
            "Maximum limit of " + std::to_string(max_api_tokens) +
                " API tokens reached. Please delete existing tokens before creating new ones."
        );
    }
    auto op = [&sec, n, c = std::move(cluster), i = std::move(index), duration, by = who.name]() mutable {
        return sec.identity().create_api_token(n, std::move(c), std::move(i), duration, by);
    };
    auto made = co_await on_store(ctx.app, std::move(op));
    if (!made) {
        co_return error_response(made.error(), ctx.pretty);
    }
    sec.audit().record(
        "GRANTED_PRIVILEGES", &who, ctx.peer->remote_address, "restapi:admin/apitokens/create", made->token.id
    );
    auto res = json_response(200, json::object{{"id", made->token.id}, {"token", made->secret}}, ctx.pretty);
    registry::secure_wipe(made->secret);
    res.set(http::field::cache_control, "no-store");
    co_return res;
}

boost::asio::awaitable<http_response> handle_api_tokens_get(request_context& ctx) {
    auto caller = admin_caller(ctx);
    if (auto* res = std::get_if<http_response>(&caller)) {
        co_return std::move(*res);
    }
    json::array out;
    for (const auto& [id, t] : ctx.app.sec->identity().current()->api_tokens) {
        out.push_back(registry::token_to_json(t));
    }
    co_return json_response(200, out, ctx.pretty);
}

boost::asio::awaitable<http_response> handle_api_tokens_delete(request_context& ctx) {
    auto caller = admin_caller(ctx);
    if (auto* res = std::get_if<http_response>(&caller)) {
        co_return std::move(*res);
    }
    const principal& who = *std::get<const principal*>(caller);
    const std::string id(ctx.param("id"));
    auto& sec = *ctx.app.sec;
    auto op = [&sec, id] {
        return sec.identity().revoke_api_token(id);
    };
    auto done = co_await on_store(ctx.app, std::move(op));
    if (!done) {
        co_return error_response(done.error(), ctx.pretty);
    }
    if (!*done) {
        co_return token_error(ctx, 404, "Token " + id + " not found.");
    }
    sec.audit().record(
        "GRANTED_PRIVILEGES", &who, ctx.peer->remote_address, "restapi:admin/apitokens/revoke", id
    );
    co_return json_response(
        200, json::object{{"message", "Token " + id + " revoked successfully."}}, ctx.pretty
    );
}

boost::asio::awaitable<http_response> handle_security_authinfo(request_context& ctx) {
    if (!ctx.app.sec || !ctx.app.sec->enabled()) {
        co_return no_handler(ctx);
    }
    const principal& who = *ctx.who.user;
    const auto state = ctx.app.sec->identity().current();
    json::object out{
        {"user", registry::user_to_string(who)},
        {"user_name", who.name},
        {"user_requested_tenant",
         who.requested_tenant ? json::value(*who.requested_tenant) : json::value(nullptr)},
        {"remote_address", ctx.peer->remote_address},
        {"backend_roles", to_array(who.backend_roles)},
        {"custom_attribute_names", custom_attribute_names(*state, who)},
        {"roles", to_array(who.roles)},
        {"tenants", tenants_of(who)},
        {"principal", ctx.peer->client_cert ? json::value(ctx.peer->subject_dn) : json::value(nullptr)},
        {"peer_certificates", std::to_string(ctx.peer->chain_length)},
        {"sso_logout_url", nullptr},
    };
    if (ctx.query_flag("verbose")) {
        out["size_of_user"] = std::to_string(registry::user_to_string(who).size());
        out["size_of_custom_attributes"] = std::to_string(out["custom_attribute_names"].get_array().size());
        out["size_of_backendroles"] = std::to_string(who.backend_roles.size());
    }
    co_return json_response(200, out, ctx.pretty);
}

boost::asio::awaitable<http_response> handle_security_account(request_context& ctx) {
    if (!ctx.app.sec || !ctx.app.sec->enabled()) {
        co_return no_handler(ctx);
    }
    const principal& who = *ctx.who.user;
    const auto state = ctx.app.sec->identity().current();
    const auto* u = who.realm == "internal" ? state->find_user(who.name) : nullptr;
    json::object out{
        {"user_name", who.name},
        {"is_reserved", u != nullptr && u->reserved},
        {"is_hidden", u != nullptr && u->hidden},
        {"is_internal_user", u != nullptr},
        {"user_requested_tenant",
         who.requested_tenant ? json::value(*who.requested_tenant) : json::value(nullptr)},
        {"backend_roles", to_array(who.backend_roles)},
        {"custom_attribute_names", custom_attribute_names(*state, who)},
        {"tenants", tenants_of(who)},
        {"roles", to_array(who.roles)},
    };
    co_return json_response(200, out, ctx.pretty);
}

// PUT /api/account: any authenticated internal user changes its own password (AccountApiAction). The
// order of the checks is the plugin's: the body, then the user, its write guards, the current password.
boost::asio::awaitable<http_response> handle_security_account_put(request_context& ctx) {
    if (!ctx.app.sec || !ctx.app.sec->enabled()) {
        co_return no_handler(ctx);
    }
    const principal& who = *ctx.who.user;
    auto body = json_body(ctx);
    if (!body) {
        co_return error_response(body.error(), ctx.pretty);
    }
    auto change = registry::account_change_from_body(who.name, *body, registry::password_policy{});
    if (!change) {
        co_return error_response(change.error(), ctx.pretty);
    }
    auto& sec = *ctx.app.sec;
    const auto state = sec.identity().current();
    // Only a user signed in with its password: an API key acting for its owner is not that user.
    const auto* existing =
        who.realm == "internal" && who.api_key_id.empty() ? state->find_user(who.name) : nullptr;
    if (existing == nullptr) {
        co_return error_response(
            registry::security_status(404, "NOT_FOUND", "Could not find user."), ctx.pretty
        );
    }
    if (auto g = guard_existing(who, who.name, existing->reserved, existing->hidden, false)) {
        co_return error_response(*g, ctx.pretty);
    }
    // bcrypt twice (verify, hash): on the hashing pool, never an I/O thread.
    auto rehash = [c = std::move(*change), current = existing->hash]() {
        return registry::account_new_hash(c, current);
    };
    auto hash = co_await on_pool(sec.hash_pool(), std::move(rehash));
    if (!hash) {
        co_return error_response(hash.error(), ctx.pretty);
    }
    registry::internal_user updated = *existing;
    updated.hash = std::move(*hash);
    auto op = [&sec, u = std::move(updated)]() mutable {
        return sec.identity().put_user(std::move(u));
    };
    auto done = co_await on_store(ctx.app, std::move(op));
    if (!done) {
        co_return error_response(done.error(), ctx.pretty);
    }
    record_write(ctx, who, "account/put", who.name);
    co_return write_done(ctx, who.name, false);
}

boost::asio::awaitable<http_response> handle_security_users_get(request_context& ctx) {
    co_return get_entities(ctx, identity_kind::user);
}
boost::asio::awaitable<http_response> handle_security_user_put(request_context& ctx) {
    co_return co_await put_entity(ctx, identity_kind::user);
}
boost::asio::awaitable<http_response> handle_security_user_delete(request_context& ctx) {
    co_return co_await delete_entity(ctx, identity_kind::user);
}
boost::asio::awaitable<http_response> handle_security_roles_get(request_context& ctx) {
    co_return get_entities(ctx, identity_kind::role);
}
boost::asio::awaitable<http_response> handle_security_role_put(request_context& ctx) {
    co_return co_await put_entity(ctx, identity_kind::role);
}
boost::asio::awaitable<http_response> handle_security_role_delete(request_context& ctx) {
    co_return co_await delete_entity(ctx, identity_kind::role);
}
boost::asio::awaitable<http_response> handle_security_mappings_get(request_context& ctx) {
    co_return get_entities(ctx, identity_kind::mapping);
}
boost::asio::awaitable<http_response> handle_security_mapping_put(request_context& ctx) {
    co_return co_await put_entity(ctx, identity_kind::mapping);
}
boost::asio::awaitable<http_response> handle_security_mapping_delete(request_context& ctx) {
    co_return co_await delete_entity(ctx, identity_kind::mapping);
}
boost::asio::awaitable<http_response> handle_security_users_patch(request_context& ctx) {
    co_return co_await patch_entities(ctx, registry::identity_kind::user);
}
boost::asio::awaitable<http_response> handle_security_roles_patch(request_context& ctx) {
    co_return co_await patch_entities(ctx, registry::identity_kind::role);
}
boost::asio::awaitable<http_response> handle_security_mappings_patch(request_context& ctx) {
    co_return co_await patch_entities(ctx, registry::identity_kind::mapping);
}

}  // namespace modelrelay::server::handlers
