// File: common.cpp
// Helpers shared by all handlers.
#include <boost/json/error.hpp>
#include <boost/json/parse.hpp>

#include "registry/json_parse.hpp"
#include "server/handlers/handlers.hpp"

namespace modelrelay::server::handlers {

namespace json = boost::json;

registry::result<json::value> parse_body(const request_context& ctx, json::storage_ptr sp) {
    const auto& body = ctx.req.body();
    if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
        return json::value(nullptr, std::move(sp));
    }
    boost::system::error_code ec;
    json::parse_options opts;
    opts.max_depth = 1000;       // OpenSearch XContent's default nesting limit (Jackson's 1000)
    opts.allow_comments = true;  // OpenSearch's JSON parser allows comments (ALLOW_COMMENTS)
    std::optional<std::string> duplicate;
    auto v = registry::parse_request_json(body, ec, std::move(sp), opts, &duplicate);
    if (ec == json::error::exponent_overflow) {
        return registry::error{
            registry::errc::json_parse,
            "Failed to parse request body: a number is out of the range of a double (beyond "
            "1.7976931348623157E308)"};
    }
    if (ec) {
        return registry::error{registry::errc::json_parse, "Failed to parse request body: " + ec.message()};
    }
    if (duplicate) {
        std::string reason = "Duplicate field '";
        reason.append(*duplicate).append("'");
        return registry::error{registry::errc::json_parse, std::move(reason)};
    }
    return v;
}

http_response ok(const request_context& ctx, const json::value& body) {
    return json_response(200, body, ctx.pretty);
}

http_response fail(const request_context& ctx, const registry::error& e) {
    return error_response(e, ctx.pretty);
}

}  // namespace modelrelay::server::handlers

#include "server/app.hpp"
#include "server/security.hpp"

namespace modelrelay::server::handlers {

registry::result<registry::caller> caller_of(const request_context& ctx) {
    return ctx.who;
}

std::optional<std::string> monitoring_tenant(const request_context& ctx, bool multi_tenancy) {
    if (!multi_tenancy) {
        return std::nullopt;
    }
    const auto* who = ctx.who.user.get();
    if (who != nullptr && !registry::is_admin(*who)) {
        return who->tenant;
    }
    if (const auto it = ctx.req.find("x-tenant-id"); it != ctx.req.end() && !it->value().empty()) {
        return std::string(it->value());
    }
    return std::nullopt;
}

void audit_change(request_context& ctx, std::string_view action, std::string_view detail) {
    if (!ctx.app.sec || !ctx.app.sec->enabled() || !ctx.who.user) {
        return;
    }
    ctx.app.sec->audit().record(
        "GRANTED_PRIVILEGES", ctx.who.user.get(), ctx.peer->remote_address, action, {}, detail
    );
}

}  // namespace modelrelay::server::handlers

namespace modelrelay::server::handlers {

registry::result<boost::json::object> object_body(
    const request_context& ctx, schemas::schema_id schema, std::optional<registry::error> empty
) {
    auto body = parse_body(ctx);
    if (!body) {
        return body.error();
    }
    if (body->is_null()) {
        if (empty) {
            return *empty;
        }
        return boost::json::object{};
    }
    if (auto v = schemas::validate(schema, *body); !v) {
        return v.error();
    }
    if (!body->is_object()) {
        return registry::illegal_argument("request body must be a JSON object");
    }
    return std::move(body->get_object());
}

}  // namespace modelrelay::server::handlers
