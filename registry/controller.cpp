// File: controller.cpp
#include "registry/controller.hpp"

#include <charconv>
#include <cmath>

#include <boost/json/serialize.hpp>

#include "registry/parameters.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

// What ml-commons keeps of a limit value: strings as they are, numbers in Java's text.
std::optional<std::string> limit_text(const json::value& v) {
    switch (v.kind()) {
        case json::kind::string:
            return std::string(v.get_string());
        case json::kind::int64:
            return std::to_string(v.get_int64());
        case json::kind::uint64:
            return std::to_string(v.get_uint64());
        case json::kind::double_:
            return java_double_to_string(v.get_double());
        case json::kind::bool_:
            return std::string(v.get_bool() ? "true" : "false");
        default:
            return std::nullopt;
    }
}

}  // namespace

result<user_rate_limits> parse_user_rate_limiter(const json::object& body) {
    user_rate_limits out;
    const auto* section = body.if_contains("user_rate_limiter");
    if (section == nullptr || section->is_null()) {
        return out;
    }
    if (!section->is_object()) {
        return illegal_argument("user_rate_limiter must be an object");
    }
    for (const auto& kv : section->get_object()) {
        const auto* user = kv.value().if_object();
        if (user == nullptr) {
            return illegal_argument(
                "The rate limiter of user [" + std::string(kv.key()) + "] must be an object"
            );
        }
        user_rate_limit l;
        if (const auto* limit = user->if_contains("limit")) {
            l.limit = limit_text(*limit);
        }
        if (const auto* unit = user->if_contains("unit"); unit != nullptr && !unit->is_null()) {
            const std::string text =
                unit->is_string() ? std::string(unit->get_string()) : json::serialize(*unit);
            if (time_unit_ns(text) == 0) {
                return illegal_argument("No enum constant java.util.concurrent.TimeUnit." + text);
            }
            l.unit = text;
        }
        if (l.limit || l.unit) {
            out[std::string(kv.key())] = std::move(l);
        }
    }
    return out;
}

json::object controller_doc(std::string_view model_id, const user_rate_limits& limits) {
    json::object users;
    for (const auto& [name, l] : limits) {
        json::object o;
        if (l.limit) {
            o["limit"] = *l.limit;
        }
        if (l.unit) {
            o["unit"] = *l.unit;
        }
        users[name] = std::move(o);
    }
    return json::object{{"model_id", model_id}, {"user_rate_limiter", std::move(users)}};
}

user_rate_limits limits_of_doc(const json::object& doc) {
    user_rate_limits out;
    const auto* users = doc.if_contains("user_rate_limiter");
    if (users == nullptr || !users->is_object()) {
        return out;
    }
    for (const auto& kv : users->get_object()) {
        const auto* o = kv.value().if_object();
        if (o == nullptr) {
            continue;
        }
        user_rate_limit l;
        if (const auto* v = o->if_contains("limit"); v != nullptr && v->is_string()) {
            l.limit = std::string(v->get_string());
        }
        if (const auto* v = o->if_contains("unit"); v != nullptr && v->is_string()) {
            l.unit = std::string(v->get_string());
        }
        out[std::string(kv.key())] = std::move(l);
    }
    return out;
}

bool merge_limits(user_rate_limits& into, const user_rate_limits& update) {
    bool changed = false;
    for (const auto& [name, l] : update) {
        auto& target = into[name];
        if (l.limit && target.limit != l.limit) {
            target.limit = l.limit;
            changed = true;
        }
        if (l.unit && target.unit != l.unit) {
            target.unit = l.unit;
            changed = true;
        }
    }
    return changed;
}

std::map<std::string, std::unique_ptr<token_bucket>, std::less<>> user_buckets(const user_rate_limits& limits
) {
    std::map<std::string, std::unique_ptr<token_bucket>, std::less<>> out;
    for (const auto& [name, l] : limits) {
        if (!l.limit || !l.unit) {
            continue;
        }
        const auto unit_ns = time_unit_ns(*l.unit);
        double limit = 0;
        const auto* first = l.limit->data();
        const auto* last = first + l.limit->size();
        const auto [p, ec] = std::from_chars(first, last, limit);
        // Double.parseDouble then TokenBucket's "rate must be greater than zero": no bucket otherwise.
        if (ec != std::errc() || p != last || !std::isfinite(limit) || limit <= 0 || unit_ns == 0) {
            continue;
        }
        out.emplace(name, std::make_unique<token_bucket>(limit, unit_ns));
    }
    return out;
}

}  // namespace modelrelay::registry
