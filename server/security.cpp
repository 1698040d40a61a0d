// File: security.cpp
#include "server/security.hpp"

#include <array>
#include <fcntl.h>
#include <stdexcept>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "registry/ascii.hpp"
#include "registry/crypto.hpp"
#include "server/app.hpp"
#include "server/cert_identity.hpp"
#include "server/log.hpp"
#include "server/peer.hpp"

namespace modelrelay::server {

namespace json = boost::json;
namespace net = boost::asio;
using registry::principal;

front_door door_of(std::string_view path) {
    if (path.starts_with("/v1/") || path == "/v1") {
        return front_door::openai;
    }
    if (path.starts_with("/_inference") || path.starts_with("/_security")) {
        return front_door::elasticsearch;
    }
    return front_door::opensearch;
}

// --- throttling -------------------------------------------------------------------------------------------

auth_throttle::auth_throttle(limits l, clock_fn clock) : limits_(l), clock_(std::move(clock)) {
    if (!clock_) {
        clock_ = [] {
            return std::chrono::steady_clock::now();
        };
    }
}

bool auth_throttle::blocked(std::string_view key) {
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(std::string(key));
    return it != entries_.end() && it->second.blocked_until > clock_();
}

bool auth_throttle::record_failure(std::string_view key) {
    const auto now = clock_();
    std::lock_guard lock(mutex_);
    if (entries_.size() >= limits_.max_tracked && !entries_.contains(std::string(key))) {
        // Forget expired entries first; if still full, stop tracking new clients rather than grow without
        // bound.
        std::erase_if(entries_, [&](const auto& kv) {
            return kv.second.blocked_until <= now &&
                   (kv.second.failures.empty() || now - kv.second.failures.back() > limits_.time_window);
        });
        if (entries_.size() >= limits_.max_tracked) {
            return false;
        }
    }
    auto& e = entries_[std::string(key)];
    while (!e.failures.empty() && now - e.failures.front() > limits_.time_window) {
        e.failures.pop_front();
    }
    e.failures.push_back(now);
    if (static_cast<int>(e.failures.size()) >= limits_.allowed_tries) {
        e.blocked_until = now + limits_.block_expiry;
        e.failures.clear();
        return true;
    }
    return false;
}

// --- audit ------------------------------------------------------------------------------------------------

audit_log::audit_log(std::string path) : path_(std::move(path)) {
    if (!path_.empty()) {
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    }
}

void audit_log::record(
    std::string_view category,
    const principal* who,
    std::string_view remote_address,
    std::string_view action,
    std::string_view resource_id,
    std::string_view detail
) {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch()
    )
                         .count();
    json::object o{
        {"audit_utc_timestamp", now},
        {"audit_category", category},
        {"audit_request_remote_address", remote_address},
        {"audit_request_effective_user", who != nullptr ? json::value(who->name) : json::value(nullptr)},
        {"audit_request_effective_user_realm",
         who != nullptr ? json::value(who->realm) : json::value(nullptr)},
        {"audit_request_tenant", who != nullptr ? json::value(who->tenant) : json::value(nullptr)},
        {"audit_request_privilege", action},
    };
    if (!resource_id.empty()) {
        o["audit_resource_id"] = resource_id;
    }
    if (!detail.empty()) {
        o["audit_detail"] = detail;
    }
    std::string line = json::serialize(o);
    line += '\n';
    std::lock_guard lock(mutex_);
    if (fd_ >= 0) {
        [[maybe_unused]] auto n = ::write(fd_, line.data(), line.size());
    }
}

// --- security ---------------------------------------------------------------------------------------------

security::security(
    security_options opts, std::unique_ptr<registry::identity_registry> identity, std::string audit_path
)
    : opts_(opts),
      identity_(std::move(identity)),
      audit_(std::move(audit_path)),
      ip_throttle_(opts.throttle),
      user_throttle_(opts.throttle) {}

security::~security() {
    hash_pool_.join();
}

void security::invalidate_cache() {
    std::lock_guard lock(cache_mutex_);
    cache_.clear();
}

std::optional<std::shared_ptr<const principal>> security::cache_get(
    const std::string& digest, std::uint64_t gen
) {
    std::lock_guard lock(cache_mutex_);
    const auto it = cache_.find(digest);
    if (it == cache_.end()) {
        return std::nullopt;
    }
    if (it->second.generation != gen || it->second.expires <= std::chrono::steady_clock::now()) {
        cache_.erase(it);
        return std::nullopt;
    }
    return it->second.who;
}

void security::cache_put(const std::string& digest, std::shared_ptr<const principal> who, std::uint64_t gen) {
    std::lock_guard lock(cache_mutex_);
    if (cache_.size() > 10000) {
        cache_.clear();
    }
    cache_[digest] = cached{std::move(who), gen, std::chrono::steady_clock::now() + opts_.cache_ttl};
}

http_response security::unauthorized(
    front_door door,
    std::string_view target,
    std::string_view bad_key_id,
    std::string_view bad_user,
    bool blocked
) {
    http_response res;
    res.result(401);
    switch (door) {
        case front_door::opensearch:
            res.set(http::field::content_type, "text/plain; charset=UTF-8");
            if (blocked) {
                res.body() = "Authentication finally failed";
            } else {
                res.set(http::field::www_authenticate, "Basic realm=\"OpenSearch Security\"");
                res.body() = "Unauthorized";
            }
            break;
        case front_door::elasticsearch: {
            std::string reason;
            json::object extra;
            if (!bad_key_id.empty()) {
                reason =
                    "unable to authenticate with provided credentials and anonymous access is not allowed "
                    "for "
                    "this request";
                extra["additional_unsuccessful_credentials"] =
                    "API key: unable to find apikey with id " + std::string(bad_key_id);
            } else if (!bad_user.empty()) {
                reason = "unable to authenticate user [" + std::string(bad_user) + "] for REST request [" +
                         std::string(target) + "]";
            } else if (blocked) {
                // Credentials were sent, but their sender is blocked for now: not "missing".
                reason =
                    "unable to authenticate with provided credentials and anonymous access is not allowed "
                    "for this request";
            } else {
                reason = "missing authentication credentials for REST request [" + std::string(target) + "]";
            }
            json::array challenges{
                "Basic realm=\"security\", charset=\"UTF-8\"", "Bearer realm=\"security\"", "ApiKey"};
            json::object cause{{"type", "security_exception"}, {"reason", reason}};
            for (const auto& kv : extra) {
                cause[kv.key()] = kv.value();
            }
            cause["header"] = json::object{{"WWW-Authenticate", challenges}};
            json::object err = cause;
            err["root_cause"] = json::array{cause};
            json::object body{{"error", std::move(err)}, {"status", 401}};
            res.set(http::field::content_type, "application/json; charset=UTF-8");
            res.insert(http::field::www_authenticate, "Basic realm=\"security\", charset=\"UTF-8\"");
            res.insert(http::field::www_authenticate, "Bearer realm=\"security\"");
            res.insert(http::field::www_authenticate, "ApiKey");
            res.set("X-Elastic-Product", "Elasticsearch");
            // Root cause first, as Elasticsearch orders it.
            json::object ordered{
                {"root_cause", json::array{cause}}, {"type", "security_exception"}, {"reason", reason}};
            for (const auto& kv : extra) {
                ordered[kv.key()] = kv.value();
            }
            ordered["header"] = json::object{{"WWW-Authenticate", challenges}};
            res.body() = json::serialize(json::object{{"error", std::move(ordered)}, {"status", 401}});
            break;
        }
        case front_door::openai:
            // A blocked address is told so (the Security plugin's text): "Incorrect API key" would send
            // the owner of a good key off to rotate it.
            res.set(http::field::content_type, "application/json");
            res.body() = json::serialize(json::object{
                {"error",
                 json::object{
                     {"message", blocked ? "Authentication finally failed" : "Incorrect API key provided."},
                     {"type", "invalid_request_error"},
                     {"param", nullptr},
                     {"code", blocked ? json::value(nullptr) : json::value("invalid_api_key")}}}});
            break;
    }
    res.prepare_payload();
    return res;
}

namespace {

struct md_ctx_deleter {
    void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};

// Three updates rather than one EVP_Digest over a joined buffer: joining would make one more copy of the
// password to wipe.
std::string sha256_hex(std::string_view a, std::string_view b) {
    const std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx(EVP_MD_CTX_new());
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int md_len = 0;
    if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), a.data(), a.size()) != 1 || EVP_DigestUpdate(ctx.get(), "\0", 1) != 1 ||
        EVP_DigestUpdate(ctx.get(), b.data(), b.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), md.data(), &md_len) != 1) {
        // Never hand back a digest that was not computed: it keys the credential cache.
        throw std::runtime_error("OpenSSL: SHA-256 failed");
    }
    return std::string(reinterpret_cast<const char*>(md.data()), md_len);
}

using registry::iequals_ascii;

// Splits "id:secret" (the decoded form of an Elasticsearch `encoded` key).
std::optional<std::pair<std::string, std::string>> split_key(std::string_view token) {
    std::string decoded;
    if (auto d = registry::base64_decode(token)) {
        decoded = std::move(*d);
    } else if (auto u = registry::base64url_decode(token)) {
        decoded = std::move(*u);
    } else {
        return std::nullopt;
    }
    const auto colon = decoded.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == decoded.size()) {
        registry::secure_wipe(decoded);
        return std::nullopt;
    }
    std::pair<std::string, std::string> out{decoded.substr(0, colon), decoded.substr(colon + 1)};
    registry::secure_wipe(decoded);
    return out;
}

}  // namespace

net::awaitable<auth_outcome> security::authenticate(request_context& ctx) {
    const std::string& ip_full = ctx.peer != nullptr ? ctx.peer->remote_address : std::string();
    // Throttle by address without the port.
    std::string ip = ip_full.substr(0, ip_full.rfind(':'));
    const auto state = identity_->current();

    if (ip_throttle_.blocked(ip)) {
        audit_.record("FAILED_LOGIN", nullptr, ip_full, "", "", "blocked address");
        co_return auth_outcome{.blocked = true};
    }

    std::string_view auth;
    if (const auto it = ctx.req.find(http::field::authorization); it != ctx.req.end()) {
        auth = registry::trim_ows(it->value());
    }
    const auto space = auth.find(' ');
    const std::string_view scheme = auth.substr(0, space);
    const std::string_view token =
        space == std::string_view::npos ? std::string_view() : registry::trim_ows(auth.substr(space + 1));

    const bool has_cert = ctx.peer != nullptr && ctx.peer->client_cert;
    if ((auth.empty() || (iequals_ascii(scheme, "Bearer") && token.empty())) && has_cert) {
        if (auto who = cert_principal(ctx, *state)) {
            co_return auth_outcome{.who = std::make_shared<const principal>(std::move(*who))};
        }
    }
    if (auth.empty() || token.empty()) {
        co_return auth_outcome{};
    }

    if (iequals_ascii(scheme, "Basic")) {
        auto decoded = registry::base64_decode(token);
        const auto colon = decoded ? decoded->find(':') : std::string::npos;
        if (!decoded || colon == std::string::npos) {
            if (decoded) {
                registry::secure_wipe(*decoded);
            }
            ip_throttle_.record_failure(ip);
            audit_.record("FAILED_LOGIN", nullptr, ip_full, "", "", "malformed basic credentials");
            co_return auth_outcome{};
        }
        std::string user = decoded->substr(0, colon);
        std::string password = decoded->substr(colon + 1);
        registry::secure_wipe(*decoded);
        if (user_throttle_.blocked(user)) {
            // A blocked user name skips the authentication domain (BackendRegistry), which leaves the
            // basic domain's challenge as the answer, unlike a blocked address.
            registry::secure_wipe(password);
            audit_.record("FAILED_LOGIN", nullptr, ip_full, "", "", "blocked user " + user);
            co_return auth_outcome{.bad_user = user};
        }
        const std::string digest = sha256_hex(user, password);
        if (auto hit = cache_get(digest, state->generation)) {
            registry::secure_wipe(password);
            co_return auth_outcome{.who = std::move(*hit)};
        }
        const auto* u = state->find_user(user);
        // Unknown users still pay one bcrypt so timing does not tell which names exist.
        // A hidden user is hidden from the REST API only; it logs in like any other.
        std::string hash =
            u != nullptr ? u->hash : "$2y$12$VcCDgh2NDk07JGN0rjGbM.Ad41qVR/YFJcgHp0UGns5JDymv..TOG";
        auto verify = [pw = std::move(password), h = std::move(hash)]() mutable {
            const bool ok = registry::verify_password(pw, h);
            registry::secure_wipe(pw);
            return ok;
        };
        const bool ok = co_await on_pool(hash_pool_, std::move(verify));
        if (!ok || u == nullptr) {
            ip_throttle_.record_failure(ip);
            user_throttle_.record_failure(user);
            audit_.record("FAILED_LOGIN", nullptr, ip_full, "", "", "user " + user);
            co_return auth_outcome{.bad_user = user};
        }
        auto who = std::make_shared<const principal>(registry::principal_for_user(*state, *u));
        cache_put(digest, who, state->generation);
        co_return auth_outcome{.who = std::move(who)};
    }

    const bool api_key_scheme = iequals_ascii(scheme, "ApiKey");
    if (api_key_scheme && token.starts_with("os_")) {
        // OpenSearch API token (§2.4): looked up by SHA-256 of the whole token, compared by the map lookup of
        // a digest (the token itself is never compared or stored).
        const auto* t = state->find_token_by_hash(registry::token_hash(token));
        const auto now = identity_->now_ms();
        if (t == nullptr || t->revoked_at || (t->expires_at && *t->expires_at <= now)) {
            ip_throttle_.record_failure(ip);
            audit_.record("FAILED_LOGIN", nullptr, ip_full, "", "", "api token");
            co_return auth_outcome{};
        }
        co_return auth_outcome{.who = std::make_shared<const principal>(registry::principal_for_token(*t))};
    }
    if (api_key_scheme || iequals_ascii(scheme, "Bearer")) {
        auto parts = split_key(token);
        if (!parts) {
            ip_throttle_.record_failure(ip);
            audit_.record("FAILED_LOGIN", nullptr, ip_full, "", "", "malformed api key");
            co_return auth_outcome{};
        }
        auto& [id, secret] = *parts;
        const auto* k = state->find_key(id);
        const std::string presented = identity_->key_hash(secret);
        registry::secure_wipe(secret);
        const bool match = k != nullptr && k->secret_hash.size() == presented.size() &&
                           CRYPTO_memcmp(k->secret_hash.data(), presented.data(), presented.size()) == 0;
        const auto now = identity_->now_ms();
        std::optional<principal> who;
        if (match && !k->invalidated && (!k->expiration || *k->expiration > now)) {
            who = registry::principal_for_key(*state, *k);
        }
        if (!who) {
            ip_throttle_.record_failure(ip);
            audit_.record("FAILED_LOGIN", nullptr, ip_full, "", id, "api key");
            co_return auth_outcome{.bad_key_id = id};
        }
        co_return auth_outcome{.who = std::make_shared<const principal>(std::move(*who))};
    }
    ip_throttle_.record_failure(ip);
    co_return auth_outcome{};
}

}  // namespace modelrelay::server

namespace modelrelay::server {

std::optional<principal> security::cert_principal(
    const request_context& ctx, const registry::identity_state& s
) {
    if (ctx.peer == nullptr || !ctx.peer->client_cert) {
        return std::nullopt;
    }
    const auto& mapping = ctx.app.cfg.tls.mapping;
    // An admin_dn certificate is the super-admin before any other rule (OpenSearch authcz.admin_dn).
    if (mapping.is_admin_dn(ctx.peer->subject_dn)) {
        auto p = registry::principal_for_cert(s, ctx.peer->subject_dn, {}, true);
        return p;
    }
    auto id = mapping.map(*ctx.peer);
    if (!id) {
        return std::nullopt;
    }
    return registry::principal_for_cert(s, std::move(id->username), std::move(id->backend_roles), false);
}

}  // namespace modelrelay::server
