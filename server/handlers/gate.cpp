// File: gate.cpp
// The one authorization gate every routed request passes before its handler (security.md R6, R10, R12): the
// route's action name against the caller's roles, then the tenant the request runs in. Resource-level checks
// (ACLs, a resource's tenant) happen in the handlers, which know the resource; this gate never lets a request
// continue after a denial.
#include "registry/authz.hpp"
#include "registry/identity.hpp"
#include "server/app.hpp"
#include "server/handlers/handlers.hpp"
#include "server/handlers/openai_format.hpp"
#include "server/peer.hpp"
#include "server/security.hpp"

namespace modelrelay::server::handlers {

namespace {

registry::front_door authz_door(front_door d) {
    switch (d) {
        case front_door::openai:
            return registry::front_door::openai;
        case front_door::elasticsearch:
            return registry::front_door::inference;
        case front_door::opensearch:
            break;
    }
    return registry::front_door::ml;
}

}  // namespace

registry::result<void> authorize_route(request_context& ctx, const route& r) {
    const registry::principal* who = ctx.who.user.get();
    const auto& act = r.action;  // the matched route's verb is the request's
    if (!act) {
        // Security REST API routes: their handlers apply the Security plugin's own admin check. Anything else
        // without an action name fails closed (a unit test keeps the table complete).
        const bool self_checked = r.pattern.starts_with("/_plugins/_security/") ||
                                  r.pattern.starts_with("/_opendistro/_security/") ||
                                  r.pattern.starts_with("/_security/");
        if (self_checked || who == nullptr || registry::is_admin(*who)) {
            return {};
        }
        return registry::error{
            registry::errc::security_forbidden,
            "no permissions for [" + std::string(r.pattern) + "] and " + registry::user_to_string(*who)};
    }
    std::shared_ptr<const registry::identity_state> identity;
    registry::decide_options opts;
    if (who != nullptr) {
        identity = ctx.app.sec->identity().current();
        opts.roles = &identity->permissions;
        if (auto d = registry::decide(who, *act, nullptr, opts); !d) {
            ctx.app.sec->audit().record(
                "MISSING_PRIVILEGES",
                who,
                ctx.peer != nullptr ? ctx.peer->remote_address : "",
                registry::action_name(*act)
            );
            return d.error();
        }
    }
    if (registry::info(*act).tenant_scoped) {
        const auto snap = ctx.app.registry->current();
        std::optional<std::string_view> header;
        if (const auto it = ctx.req.find("x-tenant-id"); it != ctx.req.end()) {
            header = it->value();
        }
        auto tenant = registry::resolve_tenant(
            who, header, authz_door(door_of(ctx.path)), snap->settings->multi_tenancy_enabled()
        );
        if (!tenant) {
            return tenant.error();
        }
        ctx.who.tenant_id = std::move(*tenant);
        // A tenant-bound API key stays in its tenant even when its owner is an admin who could name another
        // (R12): the one place this is checked for every front door.
        if (who != nullptr && !who->api_key_id.empty() && snap->settings->multi_tenancy_enabled()) {
            const auto* k = ctx.app.sec->identity().current()->find_key(who->api_key_id);
            if (k != nullptr && k->has_limits && !k->limits.tenant.empty() &&
                k->limits.tenant != ctx.who.tenant_id) {
                return registry::error{
                    registry::errc::forbidden, "You don't have permission to access this resource"};
            }
        }
    }
    return {};
}

http_response front_door_error(const request_context& ctx, const registry::error& e) {
    if (door_of(ctx.path) == front_door::openai) {
        const auto oe = openai::from_error(e);
        return json_response(oe.status, openai::error_body(oe), ctx.pretty);
    }
    return error_response(e, ctx.pretty);
}

}  // namespace modelrelay::server::handlers
