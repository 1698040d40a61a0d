// File: kek.cpp
// POST /_plugins/_modelrelay/_rotate_kek (security.md R22): replaces the key-encryption key. The work is
// registry::service::rotate_kek on the store executor, so no write runs between the rewrap and the switch.
// Admin only: authorization maps the route to `cluster:admin/modelrelay/kek/rotate` (registry/authz.cpp).
// POST /_plugins/_modelrelay/_rotate_data_keys (security.md §7 step 5): new data keys, every secret
// re-encrypted, the old keys deleted; same action, same executor.
#include <optional>

#include "server/app.hpp"
#include "server/handlers/handlers.hpp"
#include "server/log.hpp"

namespace modelrelay::server::handlers {

namespace json = boost::json;

namespace {

// No body: a generated KEK. Otherwise exactly {"kek_file": "<absolute path>"}.
registry::result<std::optional<std::filesystem::path>> rotation_source(const json::value& body) {
    if (body.is_null()) {
        return std::optional<std::filesystem::path>();
    }
    if (!body.is_object()) {
        return registry::illegal_argument("the _rotate_kek request body must be a JSON object");
    }
    std::optional<std::filesystem::path> source;
    for (const auto& kv : body.get_object()) {
        if (kv.key() != "kek_file") {
            return registry::illegal_argument(
                "unknown field [" + std::string(kv.key()) +
                "] in the _rotate_kek request body; only "
                "[kek_file] is accepted"
            );
        }
        if (!kv.value().is_string() || kv.value().get_string().empty()) {
            return registry::illegal_argument("kek_file must be a non-empty string (an absolute path)");
        }
        source = std::filesystem::path(std::string(kv.value().get_string()));
    }
    return source;
}

}  // namespace

awaitable<http_response> handle_kek_rotate(request_context& ctx) {
    auto body = parse_body(ctx);
    if (!body) {
        co_return fail(ctx, body.error());
    }
    auto source = rotation_source(*body);
    if (!source) {
        co_return fail(ctx, source.error());
    }
    auto& reg = *ctx.app.registry;
    auto op = [&reg, s = std::move(*source)] {
        return reg.rotate_kek(s);
    };
    auto r = co_await on_store(ctx.app, std::move(op));
    if (!r) {
        log::warn("key-encryption key rotation failed", {{"reason", r.error().reason}});
        co_return fail(ctx, r.error());
    }
    const auto id = reg.active_kek_id();
    audit_change(ctx, "cluster:admin/modelrelay/kek/rotate", id);
    log::info(
        "rotated the key-encryption key",
        {{"kek_id", id},
         {"rewrapped", static_cast<long long>(r->at("rewrapped").to_number<std::int64_t>())},
         {"kek_file", reg.kek_file().string()}}
    );
    co_return ok(ctx, *r);
}

awaitable<http_response> handle_data_keys_rotate(request_context& ctx) {
    auto body = parse_body(ctx);
    if (!body) {
        co_return fail(ctx, body.error());
    }
    if (!body->is_null() && !(body->is_object() && body->get_object().empty())) {
        co_return fail(ctx, registry::illegal_argument("the _rotate_data_keys request takes no body"));
    }
    auto& reg = *ctx.app.registry;
    auto op = [&reg] {
        return reg.rotate_data_keys();
    };
    auto r = co_await on_store(ctx.app, std::move(op));
    if (!r) {
        log::warn("data key rotation failed", {{"reason", r.error().reason}});
        co_return fail(ctx, r.error());
    }
    audit_change(ctx, "cluster:admin/modelrelay/kek/rotate", "data_keys");
    log::info(
        "rotated the data keys",
        {{"data_keys", static_cast<long long>(r->at("data_keys").to_number<std::int64_t>())},
         {"reencrypted", static_cast<long long>(r->at("reencrypted").to_number<std::int64_t>())}}
    );
    co_return ok(ctx, *r);
}

}  // namespace modelrelay::server::handlers
