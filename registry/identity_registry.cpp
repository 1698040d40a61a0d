// File: identity_registry.cpp
#include "registry/identity_registry.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "registry/ids.hpp"
#include "registry/json_parse.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

constexpr std::string_view pepper_meta = "api_key_pepper";
constexpr std::string_view k_user = "user";
constexpr std::string_view k_role = "role";
constexpr std::string_view k_mapping = "role_mapping";
constexpr std::string_view k_key = "api_key";
constexpr std::string_view k_token = "api_token";

stored_row row_of(std::string_view kind, std::string_view id, const json::object& doc, std::int64_t now) {
    stored_row r;
    r.kind = std::string(kind);
    r.id = std::string(id);
    r.doc = json::serialize(doc);
    r.created_time = now;
    r.updated_time = now;
    return r;
}

}  // namespace

void refresh_permissions(identity_state& s) {
    s.permissions = role_table();
    for (const auto& [name, r] : s.roles) {
        s.permissions.put(name, r.cluster_permissions);
    }
    s.token_ids.clear();
    for (const auto& [id, t] : s.api_tokens) {
        s.permissions.put(token_role(id), t.cluster_permissions);
        if (!t.revoked_at) {
            s.token_ids[t.token_hash] = id;
        }
    }
}

identity_registry::identity_registry(
    std::unique_ptr<store> st, std::function<std::int64_t()> clock, secret_key pepper
)
    : store_(std::move(st)), clock_(std::move(clock)), pepper_(std::move(pepper)) {}

result<std::unique_ptr<identity_registry>> identity_registry::open(
    const std::filesystem::path& file, durability d, std::function<std::int64_t()> clock_ms
) {
    auto st = store::open(file, d);
    if (!st) {
        return st.error();
    }
    std::optional<secret_key> pepper;
    if (auto p = (*st)->get_meta(pepper_meta)) {
        auto k = secret_key::from_base64(*p);
        if (!k) {
            return error{errc::illegal_state, "the API key pepper in " + file.string() + " is corrupt"};
        }
        pepper.emplace(*k);
    } else {
        pepper.emplace(secret_key::generate());
        batch b;
        std::string text = pepper->to_base64();
        b.meta_puts.emplace_back(std::string(pepper_meta), text);
        secure_wipe(text);
        if (auto r = (*st)->apply(b); !r) {
            return r.error();
        }
    }
    if (!clock_ms) {
        clock_ms = [] {
            return std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch()
            )
                .count();
        };
    }
    std::unique_ptr<identity_registry> reg(new identity_registry(std::move(*st), std::move(clock_ms), *pepper)
    );
    if (auto r = reg->load(); !r) {
        return r.error();
    }
    return reg;
}

result<void> identity_registry::load() {
    auto next = std::make_shared<identity_state>();
    for (auto& row : store_->load_all()) {
        boost::system::error_code ec;
        auto v = parse_json(row.doc, ec);
        if (ec || !v.is_object()) {
            return error{
                errc::internal, "corrupt row " + row.kind + "/" + row.id + " in the security database"};
        }
        const auto& doc = v.get_object();
        if (row.kind == k_user) {
            next->users.emplace(row.id, user_from_doc(row.id, doc));
        } else if (row.kind == k_role) {
            next->roles.emplace(row.id, role_from_doc(row.id, doc));
        } else if (row.kind == k_mapping) {
            next->mappings.emplace(row.id, mapping_from_doc(row.id, doc));
        } else if (row.kind == k_key) {
            next->api_keys.emplace(row.id, key_from_doc(row.id, doc));
        } else if (row.kind == k_token) {
            next->api_tokens.emplace(row.id, token_from_doc(row.id, doc));
        }
    }
    refresh_permissions(*next);
    std::lock_guard lock(mutex_);
    state_ = std::move(next);
    return {};
}

std::shared_ptr<identity_state> identity_registry::copy() const {
    auto s = std::make_shared<identity_state>(*current());
    s->generation += 1;
    return s;
}

result<void> identity_registry::commit(const batch& b, std::shared_ptr<identity_state> next) {
    if (auto r = store_->apply(b); !r) {
        return r;
    }
    refresh_permissions(*next);
    std::lock_guard lock(mutex_);
    state_ = std::move(next);
    return {};
}

result<bool> identity_registry::bootstrap_admin(std::string_view password) {
    if (!current()->users.empty()) {
        return false;
    }
    auto next = copy();
    internal_user admin;
    admin.name = "admin";
    admin.hash = hash_password(password);
    admin.backend_roles = {"admin"};
    admin.description = "Administrator created at first start";
    admin.reserved = true;
    role_mapping all;
    all.name = "all_access";
    all.backend_roles = {"admin"};
    all.description = "Maps the admin backend role to all_access";
    all.reserved = true;
    batch b;
    const auto now = clock_();
    b.puts.push_back(row_of(k_user, admin.name, user_to_doc(admin), now));
    b.puts.push_back(row_of(k_mapping, all.name, mapping_to_doc(all), now));
    next->users[admin.name] = std::move(admin);
    next->mappings[all.name] = std::move(all);
    if (auto r = commit(b, std::move(next)); !r) {
        return r.error();
    }
    return true;
}

result<bool> identity_registry::put_user(internal_user u) {
    auto next = copy();
    const bool created = !next->users.contains(u.name);
    batch b;
    b.puts.push_back(row_of(k_user, u.name, user_to_doc(u), clock_()));
    next->users[u.name] = std::move(u);
    if (auto r = commit(b, std::move(next)); !r) {
        return r.error();
    }
    return created;
}

result<bool> identity_registry::delete_user(std::string_view name) {
    auto next = copy();
    const auto it = next->users.find(name);
    if (it == next->users.end()) {
        return false;
    }
    batch b;
    b.erases.emplace_back(std::string(k_user), std::string(name));
    next->users.erase(it);
    // The user's API keys go with it: a key acts as its owner by name, so a later user of the same name
    // would otherwise inherit them with its own roles.
    const auto now = clock_();
    for (auto& [id, key] : next->api_keys) {
        if (!key.invalidated && key.username == name && key.realm == "internal") {
            key.invalidated = true;
            key.invalidation = now;
            b.puts.push_back(row_of(k_key, id, key_to_doc(key), now));
        }
    }
    if (auto r = commit(b, std::move(next)); !r) {
        return r.error();
    }
    return true;
}

result<bool> identity_registry::put_role(role_definition r) {
    auto next = copy();
    const bool created = !next->roles.contains(r.name);
    batch b;
    b.puts.push_back(row_of(k_role, r.name, role_to_doc(r), clock_()));
    next->roles[r.name] = std::move(r);
    if (auto res = commit(b, std::move(next)); !res) {
        return res.error();
    }
    return created;
}

result<bool> identity_registry::delete_role(std::string_view name) {
    auto next = copy();
    const auto it = next->roles.find(name);
    if (it == next->roles.end()) {
        return false;
    }
    batch b;
    b.erases.emplace_back(std::string(k_role), std::string(name));
    next->roles.erase(it);
    if (auto r = commit(b, std::move(next)); !r) {
        return r.error();
    }
    return true;
}

result<bool> identity_registry::put_mapping(role_mapping m) {
    auto next = copy();
    const bool created = !next->mappings.contains(m.name);
    batch b;
    b.puts.push_back(row_of(k_mapping, m.name, mapping_to_doc(m), clock_()));
    next->mappings[m.name] = std::move(m);
    if (auto r = commit(b, std::move(next)); !r) {
        return r.error();
    }
    return created;
}

result<bool> identity_registry::delete_mapping(std::string_view name) {
    auto next = copy();
    const auto it = next->mappings.find(name);
    if (it == next->mappings.end()) {
        return false;
    }
    batch b;
    b.erases.emplace_back(std::string(k_mapping), std::string(name));
    next->mappings.erase(it);
    if (auto r = commit(b, std::move(next)); !r) {
        return r.error();
    }
    return true;
}

result<void> identity_registry::apply_changes(const identity_changes& c, std::uint64_t generation) {
    if (current()->generation != generation) {
        return error{errc::conflict, "the security configuration changed while the patch was prepared"};
    }
    auto next = copy();
    batch b;
    const auto now = clock_();
    const std::string_view kind = c.kind == identity_kind::user   ? k_user
                                  : c.kind == identity_kind::role ? k_role
                                                                  : k_mapping;
    for (const auto& name : c.removed) {
        b.erases.emplace_back(std::string(kind), name);
        switch (c.kind) {
            case identity_kind::user:
                next->users.erase(name);
                break;
            case identity_kind::role:
                next->roles.erase(name);
                break;
            case identity_kind::mapping:
                next->mappings.erase(name);
                break;
        }
    }
    for (const auto& u : c.users) {
        b.puts.push_back(row_of(k_user, u.name, user_to_doc(u), now));
        next->users[u.name] = u;
    }
    for (const auto& r : c.roles) {
        b.puts.push_back(row_of(k_role, r.name, role_to_doc(r), now));
        next->roles[r.name] = r;
    }
    for (const auto& m : c.mappings) {
        b.puts.push_back(row_of(k_mapping, m.name, mapping_to_doc(m), now));
        next->mappings[m.name] = m;
    }
    return commit(b, std::move(next));
}

std::string identity_registry::key_hash(std::string_view secret) const {
    unsigned char mac[32];
    unsigned int len = sizeof mac;
    HMAC(
        EVP_sha256(),
        pepper_.data(),
        static_cast<int>(pepper_.size()),
        reinterpret_cast<const unsigned char*>(secret.data()),
        secret.size(),
        mac,
        &len
    );
    return base64_encode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

result<created_api_key> identity_registry::create_api_key(
    const api_key_request& req, const principal& owner
) {
    created_api_key out;
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        throw std::runtime_error("RAND_bytes failed");
    }
    out.secret = base64url_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
    OPENSSL_cleanse(raw, sizeof raw);
    api_key& k = out.key;
    k.id = generate_id();
    k.name = req.name;
    k.secret_hash = key_hash(out.secret);
    k.creation = clock_();
    if (req.expiration_ms) {
        k.expiration = k.creation + *req.expiration_ms;
    }
    k.username = owner.name;
    k.realm = owner.realm;
    k.metadata = req.metadata;
    k.has_limits = req.has_limits;
    k.limits = req.limits;
    auto next = copy();
    batch b;
    b.puts.push_back(row_of(k_key, k.id, key_to_doc(k), k.creation));
    next->api_keys[k.id] = k;
    if (auto r = commit(b, std::move(next)); !r) {
        secure_wipe(out.secret);
        return r.error();
    }
    return out;
}

result<identity_registry::created_token> identity_registry::create_api_token(
    std::string name,
    std::vector<std::string> cluster_permissions,
    json::array index_permissions,
    std::optional<std::int64_t> duration_ms,
    std::string created_by
) {
    created_token out;
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        throw std::runtime_error("RAND_bytes failed");
    }
    out.secret = "os_" + base64url_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
    OPENSSL_cleanse(raw, sizeof raw);
    api_token& t = out.token;
    t.id = generate_id();
    t.name = std::move(name);
    t.token_hash = token_hash(out.secret);
    t.iat = clock_();
    if (duration_ms) {
        t.expires_at = t.iat + *duration_ms;
    }
    t.cluster_permissions = std::move(cluster_permissions);
    t.index_permissions = std::move(index_permissions);
    t.created_by = std::move(created_by);
    auto next = copy();
    batch b;
    b.puts.push_back(row_of(k_token, t.id, token_to_doc(t), t.iat));
    next->api_tokens[t.id] = t;
    if (auto r = commit(b, std::move(next)); !r) {
        secure_wipe(out.secret);
        return r.error();
    }
    return out;
}

result<bool> identity_registry::revoke_api_token(std::string_view id) {
    auto next = copy();
    const auto it = next->api_tokens.find(id);
    if (it == next->api_tokens.end() || it->second.revoked_at) {
        return false;
    }
    it->second.revoked_at = clock_();
    batch b;
    b.puts.push_back(row_of(k_token, id, token_to_doc(it->second), *it->second.revoked_at));
    if (auto r = commit(b, std::move(next)); !r) {
        return r.error();
    }
    return true;
}

result<invalidation_result> identity_registry::invalidate_api_keys(const std::vector<std::string>& ids) {
    invalidation_result out;
    auto next = copy();
    batch b;
    const auto now = clock_();
    for (const auto& id : ids) {
        auto it = next->api_keys.find(id);
        if (it == next->api_keys.end()) {
            continue;
        }
        if (it->second.invalidated) {
            out.previously_invalidated.push_back(id);
            continue;
        }
        it->second.invalidated = true;
        it->second.invalidation = now;
        b.puts.push_back(row_of(k_key, id, key_to_doc(it->second), now));
        out.invalidated.push_back(id);
    }
    if (!b.empty()) {
        if (auto r = commit(b, std::move(next)); !r) {
            return r.error();
        }
    }
    return out;
}

}  // namespace modelrelay::registry
