// File: identity.cpp
#include "registry/identity.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <crypt.h>
#include <cstring>
#include <set>
#include <zxcvbn.h>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "registry/crypto.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

const internal_user* identity_state::find_user(std::string_view name) const {
    const auto it = users.find(name);
    return it == users.end() ? nullptr : &it->second;
}

const api_key* identity_state::find_key(std::string_view id) const {
    const auto it = api_keys.find(id);
    return it == api_keys.end() ? nullptr : &it->second;
}

const api_token* identity_state::find_token_by_hash(std::string_view hash) const {
    const auto it = token_ids.find(hash);
    if (it == token_ids.end()) {
        return nullptr;
    }
    const auto t = api_tokens.find(it->second);
    return t == api_tokens.end() ? nullptr : &t->second;
}

namespace {

bool contains(const std::vector<std::string>& v, std::string_view s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

std::vector<std::string> strings_of(const json::value* v) {
    std::vector<std::string> out;
    if (v != nullptr && v->is_array()) {
        for (const auto& e : v->get_array()) {
            if (e.is_string()) {
                out.emplace_back(e.get_string());
            }
        }
    }
    return out;
}

json::array to_array(const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) {
        a.emplace_back(s);
    }
    return a;
}

std::string string_of(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

bool bool_of(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_bool() && v->get_bool();
}

std::int64_t int_of(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_int64() ? v->get_int64() : 0;
}

// The Security plugin's "Wrong datatype" check: a field of the wrong JSON type.
enum class field_type { string, array, object, boolean };

std::string_view type_word(field_type t) {
    switch (t) {
        case field_type::string:
            return "string expected";
        case field_type::array:
            return "array expected";
        case field_type::object:
            return "object expected";
        case field_type::boolean:
            return "boolean expected";
    }
    return "string expected";
}

bool has_type(const json::value& v, field_type t) {
    switch (t) {
        case field_type::string:
            return v.is_string();
        case field_type::array:
            return v.is_array();
        case field_type::object:
            return v.is_object();
        case field_type::boolean:
            return v.is_bool();
    }
    return false;
}

struct field_spec {
    std::string_view name;
    field_type type;
};

// Unknown keys → `Invalid configuration` with invalid_keys; wrong types → `Wrong datatype`; strings over 256
// characters → the length text. Arrays must hold strings only.
result<void> check_fields(const json::object& body, std::initializer_list<field_spec> allowed) {
    std::string invalid;
    for (const auto& kv : body) {
        const bool known = std::any_of(allowed.begin(), allowed.end(), [&](const field_spec& f) {
            return f.name == std::string_view(kv.key());
        });
        if (!known) {
            if (!invalid.empty()) {
                invalid += ',';
            }
            invalid += std::string(kv.key());
        }
    }
    if (!invalid.empty()) {
        return security_validation(
            "Invalid configuration", json::object{{"invalid_keys", json::object{{"keys", invalid}}}}
        );
    }
    for (const auto& f : allowed) {
        const auto* v = body.if_contains(f.name);
        if (v == nullptr) {
            continue;
        }
        bool ok = has_type(*v, f.type);
        if (ok && f.type == field_type::array) {
            for (const auto& e : v->get_array()) {
                ok = ok && (e.is_string() || e.is_object());
            }
        }
        if (!ok) {
            return security_validation("Wrong datatype", json::object{{f.name, type_word(f.type)}});
        }
        if (v->is_string() && v->get_string().size() > 256 && f.name != "password" && f.name != "hash") {
            return security_validation("String value exceeds the maximum allowed length of 256 characters");
        }
        if (v->is_array()) {
            for (const auto& e : v->get_array()) {
                if (e.is_string() && e.get_string().size() > 256) {
                    return security_validation(
                        "String value exceeds the maximum allowed length of 256 characters"
                    );
                }
            }
        }
    }
    return {};
}

result<const json::object*> body_object(const json::value& body) {
    if (!body.is_object()) {
        return security_validation("Wrong datatype", json::object{{"body", "object expected"}});
    }
    return &body.get_object();
}

constexpr std::string_view bcrypt_prefix = "$2y$";
constexpr unsigned long bcrypt_rounds = 12;

}  // namespace

// --- roles ------------------------------------------------------------------------------------------------

std::vector<std::string> mapped_roles(
    const identity_state& s, std::string_view user, const std::vector<std::string>& backend_roles
) {
    std::set<std::string> out;
    if (const auto* u = s.find_user(user)) {
        out.insert(u->security_roles.begin(), u->security_roles.end());
    }
    for (const auto& [name, m] : s.mappings) {
        bool hit = contains(m.users, user) || contains(m.users, "*");
        for (const auto& br : m.backend_roles) {
            hit = hit || contains(backend_roles, br) || br == "*";
        }
        if (!hit && !m.and_backend_roles.empty()) {
            hit = std::all_of(
                m.and_backend_roles.begin(),
                m.and_backend_roles.end(),
                [&](const std::string& r) { return contains(backend_roles, r); }
            );
        }
        if (hit) {
            out.insert(name);
        }
    }
    return {out.begin(), out.end()};
}

principal principal_for_user(const identity_state& s, const internal_user& u) {
    principal p;
    p.name = u.name;
    p.realm = "internal";
    p.backend_roles = u.backend_roles;
    p.roles = mapped_roles(s, u.name, u.backend_roles);
    if (const auto it = u.attributes.find("tenant"); it != u.attributes.end()) {
        p.tenant = it->second;
    }
    return p;
}

principal principal_for_cert(
    const identity_state& s, std::string username, std::vector<std::string> backend_roles, bool super_admin
) {
    principal p;
    p.realm = "cert";
    p.super_admin = super_admin;
    p.roles = mapped_roles(s, username, backend_roles);
    // Only user-name mappings and backend roles count: a certificate does not inherit an internal user's
    // opendistro_security_roles (those belong to the password login), but it does take its tenant.
    if (const auto* u = s.find_user(username)) {
        if (const auto it = u->attributes.find("tenant"); it != u->attributes.end()) {
            p.tenant = it->second;
        }
        std::erase_if(p.roles, [&](const std::string& r) {
            return contains(u->security_roles, r) &&
                   std::none_of(s.mappings.begin(), s.mappings.end(), [&](const auto& m) {
                       return m.first == r;
                   });
        });
    }
    p.name = std::move(username);
    p.backend_roles = std::move(backend_roles);
    return p;
}

std::optional<principal> principal_for_key(const identity_state& s, const api_key& k) {
    const auto* owner = s.find_user(k.username);
    if (owner == nullptr) {
        return std::nullopt;
    }
    principal p = principal_for_user(s, *owner);
    p.api_key_id = k.id;
    if (k.has_limits && !k.limits.tenant.empty()) {
        p.tenant = k.limits.tenant;
    }
    return p;
}

std::string user_to_string(const principal& p) {
    std::string out = "User [name=" + p.name + ", backend_roles=[";
    for (std::size_t i = 0; i < p.backend_roles.size(); ++i) {
        out += (i == 0 ? "" : ", ") + p.backend_roles[i];
    }
    out += "], requestedTenant=" + p.requested_tenant.value_or("null") + "]";
    return out;
}

// --- validation -------------------------------------------------------------------------------------------

bool valid_entity_name(std::string_view name) {
    if (name.empty() || name.size() > 128 || !std::isalnum(static_cast<unsigned char>(name[0]))) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '@' ||
               c == '-';
    });
}

error security_api_error(int status, json::object body) {
    return error{errc::raw_body, json::serialize(body), status};
}

error security_validation(std::string reason, json::object extra) {
    json::object body{{"status", "error"}, {"reason", std::move(reason)}};
    for (auto& kv : extra) {
        body[kv.key()] = std::move(kv.value());
    }
    return security_api_error(400, std::move(body));
}

error security_status(int status, std::string_view status_word, std::string message) {
    return security_api_error(status, json::object{{"status", status_word}, {"message", std::move(message)}});
}

std::optional<std::string> check_password(
    std::string_view user, std::string_view password, const password_policy& policy
) {
    if (password.size() < policy.min_length) {
        return "Password is too short";
    }
    if (password.size() > policy.max_length) {
        return "Password is too long";
    }
    const std::string pw(password);
    const std::string name(user);
    const char* dict[] = {name.c_str(), nullptr};
    ZxcMatch_t* info = nullptr;
    const double bits = ZxcvbnMatch(pw.c_str(), dict, &info);
    bool user_match = false;
    for (auto* m = info; m != nullptr; m = m->Next) {
        user_match = user_match || m->Type == USER_MATCH || m->Type == USER_LEET_MATCH;
    }
    ZxcvbnFreeInfo(info);
    // zxcvbn's score from guesses: 3 ("strong") from 10^8 guesses, i.e. log2(10^8) ≈ 26.6 bits; 4 from 10^10.
    static constexpr std::array<double, 5> thresholds{0.0, 9.97, 19.93, 26.58, 33.22};
    int score = 0;
    for (int i = 4; i > 0; --i) {
        if (bits >= thresholds[static_cast<std::size_t>(i)]) {
            score = i;
            break;
        }
    }
    if (score < policy.min_score) {
        return user_match ? "Password is similar to user name" : "Weak password";
    }
    return std::nullopt;
}

std::string hash_password(std::string_view password) {
    std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> salt{};
    if (crypt_gensalt_rn(bcrypt_prefix.data(), bcrypt_rounds, nullptr, 0, salt.data(), salt.size()) ==
        nullptr) {
        throw std::runtime_error("crypt_gensalt_rn failed");
    }
    crypt_data data{};
    std::string pw(password);
    const char* out = crypt_rn(pw.c_str(), salt.data(), &data, sizeof data);
    secure_wipe(pw);
    if (out == nullptr || out[0] == '*') {
        throw std::runtime_error("crypt_rn failed");
    }
    std::string hash(out);
    OPENSSL_cleanse(&data, sizeof data);
    return hash;
}

bool verify_password(std::string_view password, std::string_view hash) {
    if (hash.empty() || password.find('\0') != std::string_view::npos) {
        return false;
    }
    crypt_data data{};
    std::string pw(password);
    const std::string setting(hash);
    const char* out = crypt_rn(pw.c_str(), setting.c_str(), &data, sizeof data);
    secure_wipe(pw);
    bool ok = out != nullptr && out[0] != '*' && std::strlen(out) == setting.size() &&
              CRYPTO_memcmp(out, setting.data(), setting.size()) == 0;
    OPENSSL_cleanse(&data, sizeof data);
    return ok;
}

result<internal_user> user_from_body(
    std::string_view name,
    const json::value& body,
    const internal_user* existing,
    const password_policy& policy
) {
    auto obj = body_object(body);
    if (!obj) {
        return obj.error();
    }
    const json::object& b = **obj;
    if (auto r = check_fields(
            b,
            {{"password", field_type::string},
             {"hash", field_type::string},
             {"backend_roles", field_type::array},
             {"attributes", field_type::object},
             {"description", field_type::string},
             {"opendistro_security_roles", field_type::array}}
        );
        !r) {
        return r.error();
    }
    internal_user u;
    u.name = std::string(name);
    u.backend_roles = strings_of(b.if_contains("backend_roles"));
    u.security_roles = strings_of(b.if_contains("opendistro_security_roles"));
    u.description = string_of(b, "description");
    if (const auto* a = b.if_contains("attributes")) {
        for (const auto& kv : a->get_object()) {
            if (!kv.value().is_string()) {
                return security_validation("Wrong datatype", json::object{{"attributes", "object expected"}});
            }
            u.attributes.emplace(std::string(kv.key()), std::string(kv.value().get_string()));
        }
        // The tenant attribute names a tenant (R11): tenants key stored data and its encryption context,
        // so `|`, `,` and spaces stay out of them.
        if (const auto it = u.attributes.find("tenant");
            it != u.attributes.end() && !it->second.empty() && !valid_entity_name(it->second)) {
            return security_validation(
                "Invalid tenant '" + it->second + "': names must match ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$"
            );
        }
    }
    for (const auto& r : u.backend_roles) {
        if (r.empty()) {
            return security_validation("Wrong datatype", json::object{{"backend_roles", "array expected"}});
        }
    }
    const auto* pw = b.if_contains("password");
    const auto* hash = b.if_contains("hash");
    if (pw != nullptr) {
        std::string password(pw->get_string());
        if (auto weak = check_password(name, password, policy)) {
            secure_wipe(password);
            return security_validation(*weak);
        }
        u.hash = hash_password(password);
        secure_wipe(password);
    } else if (hash != nullptr) {
        const std::string_view h = hash->get_string();
        if (!h.starts_with("$2")) {
            return security_validation(
                "Invalid configuration", json::object{{"invalid_keys", json::object{{"keys", "hash"}}}}
            );
        }
        u.hash = std::string(h);
    } else if (existing != nullptr && !existing->hash.empty()) {
        u.hash = existing->hash;
    } else if (existing != nullptr) {
        return security_status(
            500,
            "INTERNAL_SERVER_ERROR",
            "Existing user " + std::string(name) +
                " has no password, and no new password or hash was specified."
        );
    } else {
        return security_validation(
            "Invalid configuration",
            json::object{{"missing_mandatory_keys", json::object{{"keys", "password"}}}}
        );
    }
    return u;
}

account_password_change::~account_password_change() {
    secure_wipe(current_password);
    secure_wipe(password);
}

result<account_password_change> account_change_from_body(
    std::string_view user, const json::value& body, const password_policy& policy
) {
    auto obj = body_object(body);
    if (!obj) {
        return obj.error();
    }
    const json::object& b = **obj;
    if (auto r = check_fields(
            b,
            {{"current_password", field_type::string},
             {"password", field_type::string},
             {"hash", field_type::string}}
        );
        !r) {
        return r.error();
    }
    if (!b.contains("current_password")) {
        return security_validation(
            "Invalid configuration",
            json::object{{"missing_mandatory_keys", json::object{{"keys", "current_password"}}}}
        );
    }
    account_password_change change;
    change.current_password = std::string(b.at("current_password").get_string());
    if (const auto* pw = b.if_contains("password")) {
        change.password = std::string(pw->get_string());
    }
    if (const auto* h = b.if_contains("hash")) {
        change.hash = std::string(h->get_string());
    }
    // An empty password falls through to `hash`, as the Security plugin does, so it is not rated.
    if (!change.password.empty()) {
        if (auto weak = check_password(user, change.password, policy)) {
            return security_validation(*weak);
        }
    } else if (!change.hash.empty() && !change.hash.starts_with("$2")) {
        return security_validation(
            "Invalid configuration", json::object{{"invalid_keys", json::object{{"keys", "hash"}}}}
        );
    }
    return change;
}

result<std::string> account_new_hash(const account_password_change& change, std::string_view current_hash) {
    if (current_hash.empty() || !verify_password(change.current_password, current_hash)) {
        return security_status(400, "BAD_REQUEST", "Could not validate your current password.");
    }
    if (!change.password.empty()) {
        return hash_password(change.password);
    }
    if (!change.hash.empty()) {
        return change.hash;
    }
    return security_status(400, "BAD_REQUEST", "Both provided password and hash cannot be null/empty.");
}

result<role_definition> role_from_body(std::string_view name, const json::value& body) {
    auto obj = body_object(body);
    if (!obj) {
        return obj.error();
    }
    const json::object& b = **obj;
    if (auto r = check_fields(
            b,
            {{"cluster_permissions", field_type::array},
             {"index_permissions", field_type::array},
             {"tenant_permissions", field_type::array},
             {"description", field_type::string}}
        );
        !r) {
        return r.error();
    }
    role_definition r;
    r.name = std::string(name);
    r.cluster_permissions = strings_of(b.if_contains("cluster_permissions"));
    if (const auto* v = b.if_contains("index_permissions")) {
        r.index_permissions = v->get_array();
    }
    if (const auto* v = b.if_contains("tenant_permissions")) {
        r.tenant_permissions = v->get_array();
    }
    r.description = string_of(b, "description");
    return r;
}

result<role_mapping> mapping_from_body(std::string_view name, const json::value& body) {
    auto obj = body_object(body);
    if (!obj) {
        return obj.error();
    }
    const json::object& b = **obj;
    if (auto r = check_fields(
            b,
            {{"backend_roles", field_type::array},
             {"and_backend_roles", field_type::array},
             {"hosts", field_type::array},
             {"users", field_type::array},
             {"description", field_type::string}}
        );
        !r) {
        return r.error();
    }
    role_mapping m;
    m.name = std::string(name);
    m.backend_roles = strings_of(b.if_contains("backend_roles"));
    m.and_backend_roles = strings_of(b.if_contains("and_backend_roles"));
    m.hosts = strings_of(b.if_contains("hosts"));
    m.users = strings_of(b.if_contains("users"));
    m.description = string_of(b, "description");
    return m;
}

// --- JSON shapes ------------------------------------------------------------------------------------------

json::object user_to_json(const internal_user& u) {
    json::object attrs;
    for (const auto& [k, v] : u.attributes) {
        attrs[k] = v;
    }
    json::object o{
        {"hash", ""},
        {"reserved", u.reserved},
        {"hidden", u.hidden},
        {"backend_roles", to_array(u.backend_roles)},
        {"attributes", std::move(attrs)},
    };
    if (!u.description.empty()) {
        o["description"] = u.description;
    }
    o["opendistro_security_roles"] = to_array(u.security_roles);
    o["static"] = false;
    return o;
}

json::object role_to_json(const role_definition& r) {
    json::object o{
        {"reserved", r.reserved},
        {"hidden", r.hidden},
    };
    if (!r.description.empty()) {
        o["description"] = r.description;
    }
    o["cluster_permissions"] = to_array(r.cluster_permissions);
    o["index_permissions"] = r.index_permissions;
    o["tenant_permissions"] = r.tenant_permissions;
    o["static"] = r.static_;
    return o;
}

json::object mapping_to_json(const role_mapping& m) {
    json::object o{
        {"hosts", to_array(m.hosts)},
        {"users", to_array(m.users)},
        {"reserved", m.reserved},
        {"hidden", m.hidden},
        {"backend_roles", to_array(m.backend_roles)},
        {"and_backend_roles", to_array(m.and_backend_roles)},
    };
    if (!m.description.empty()) {
        o["description"] = m.description;
    }
    return o;
}

json::object user_to_doc(const internal_user& u) {
    json::object o = user_to_json(u);
    o["hash"] = u.hash;
    o["description"] = u.description;
    return o;
}

internal_user user_from_doc(std::string_view name, const json::object& doc) {
    internal_user u;
    u.name = std::string(name);
    u.hash = string_of(doc, "hash");
    u.backend_roles = strings_of(doc.if_contains("backend_roles"));
    u.security_roles = strings_of(doc.if_contains("opendistro_security_roles"));
    u.description = string_of(doc, "description");
    u.reserved = bool_of(doc, "reserved");
    u.hidden = bool_of(doc, "hidden");
    if (const auto* a = doc.if_contains("attributes"); a != nullptr && a->is_object()) {
        for (const auto& kv : a->get_object()) {
            if (kv.value().is_string()) {
                u.attributes.emplace(std::string(kv.key()), std::string(kv.value().get_string()));
            }
        }
    }
    return u;
}

json::object role_to_doc(const role_definition& r) {
    return role_to_json(r);
}

role_definition role_from_doc(std::string_view name, const json::object& doc) {
    role_definition r;
    r.name = std::string(name);
    r.cluster_permissions = strings_of(doc.if_contains("cluster_permissions"));
    if (const auto* v = doc.if_contains("index_permissions"); v != nullptr && v->is_array()) {
        r.index_permissions = v->get_array();
    }
    if (const auto* v = doc.if_contains("tenant_permissions"); v != nullptr && v->is_array()) {
        r.tenant_permissions = v->get_array();
    }
    r.description = string_of(doc, "description");
    r.reserved = bool_of(doc, "reserved");
    r.hidden = bool_of(doc, "hidden");
    return r;
}

json::object mapping_to_doc(const role_mapping& m) {
    return mapping_to_json(m);
}

role_mapping mapping_from_doc(std::string_view name, const json::object& doc) {
    role_mapping m;
    m.name = std::string(name);
    m.backend_roles = strings_of(doc.if_contains("backend_roles"));
    m.and_backend_roles = strings_of(doc.if_contains("and_backend_roles"));
    m.hosts = strings_of(doc.if_contains("hosts"));
    m.users = strings_of(doc.if_contains("users"));
    m.description = string_of(doc, "description");
    m.reserved = bool_of(doc, "reserved");
    m.hidden = bool_of(doc, "hidden");
    return m;
}

json::object key_to_doc(const api_key& k) {
    json::object o{
        {"name", k.name},
        {"secret_hash", k.secret_hash},
        {"creation", k.creation},
        {"invalidated", k.invalidated},
        {"username", k.username},
        {"realm", k.realm},
        {"metadata", k.metadata},
    };
    if (k.expiration) {
        o["expiration"] = *k.expiration;
    }
    if (k.invalidation) {
        o["invalidation"] = *k.invalidation;
    }
    if (k.has_limits) {
        o["modelrelay"] = json::object{
            {"tenant", k.limits.tenant},
            {"models", to_array(k.limits.models)},
            {"rpm", k.limits.rpm},
            {"tpm", k.limits.tpm},
            {"max_parallel", k.limits.max_parallel},
            {"token_budget", k.limits.token_budget},
            {"budget_period", k.limits.budget_period},
            {"budget_period_ms", k.limits.budget_period_ms},
        };
    }
    return o;
}

api_key key_from_doc(std::string_view id, const json::object& doc) {
    api_key k;
    k.id = std::string(id);
    k.name = string_of(doc, "name");
    k.secret_hash = string_of(doc, "secret_hash");
    k.creation = int_of(doc, "creation");
    if (doc.contains("expiration")) {
        k.expiration = int_of(doc, "expiration");
    }
    k.invalidated = bool_of(doc, "invalidated");
    if (doc.contains("invalidation")) {
        k.invalidation = int_of(doc, "invalidation");
    }
    k.username = string_of(doc, "username");
    k.realm = string_of(doc, "realm");
    if (const auto* m = doc.if_contains("metadata"); m != nullptr && m->is_object()) {
        k.metadata = m->get_object();
    }
    if (const auto* x = doc.if_contains("modelrelay"); x != nullptr && x->is_object()) {
        const auto& e = x->get_object();
        k.has_limits = true;
        k.limits.tenant = string_of(e, "tenant");
        k.limits.models = strings_of(e.if_contains("models"));
        k.limits.rpm = int_of(e, "rpm");
        k.limits.tpm = int_of(e, "tpm");
        k.limits.max_parallel = int_of(e, "max_parallel");
        k.limits.token_budget = int_of(e, "token_budget");
        k.limits.budget_period = string_of(e, "budget_period");
        k.limits.budget_period_ms = int_of(e, "budget_period_ms");
    }
    return k;
}

std::string token_role(std::string_view token_id) {
    return "apitoken:" + std::string(token_id);
}

std::string token_hash(std::string_view token) {
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), md);
    return base64_encode(std::string_view(reinterpret_cast<const char*>(md), sizeof md));
}

json::object token_to_doc(const api_token& t) {
    json::object o = token_to_json(t);
    o["token_hash"] = t.token_hash;
    return o;
}

api_token token_from_doc(std::string_view id, const json::object& doc) {
    api_token t;
    t.id = std::string(id);
    t.name = string_of(doc, "name");
    t.token_hash = string_of(doc, "token_hash");
    t.iat = int_of(doc, "iat");
    if (const auto* e = doc.if_contains("expires_at"); e != nullptr && e->is_int64()) {
        t.expires_at = e->get_int64();
    }
    t.cluster_permissions = strings_of(doc.if_contains("cluster_permissions"));
    if (const auto* v = doc.if_contains("index_permissions"); v != nullptr && v->is_array()) {
        t.index_permissions = v->get_array();
    }
    if (const auto* r = doc.if_contains("revoked_at"); r != nullptr && r->is_int64()) {
        t.revoked_at = r->get_int64();
    }
    t.created_by = string_of(doc, "created_by");
    return t;
}

json::object token_to_json(const api_token& t) {
    json::object o{{"id", t.id}, {"name", t.name}, {"iat", t.iat}};
    o["expires_at"] = t.expires_at ? json::value(*t.expires_at) : json::value(nullptr);
    o["cluster_permissions"] = to_array(t.cluster_permissions);
    o["index_permissions"] = t.index_permissions;
    if (t.revoked_at) {
        o["revoked_at"] = *t.revoked_at;
    }
    o["created_by"] = t.created_by;
    return o;
}

principal principal_for_token(const api_token& t) {
    principal p;
    p.name = "token:" + t.name;
    p.realm = "api_token";
    p.roles = {token_role(t.id)};
    return p;
}

std::vector<role_definition> builtin_role_definitions() {
    std::vector<role_definition> out;
    for (std::string_view name :
         {"all_access",
          "ml_full_access",
          "ml_read_access",
          "ml_readonly_access",
          "security_rest_api_access"}) {
        role_definition r;
        r.name = std::string(name);
        if (const auto* perms = builtin_roles().find(name)) {
            r.cluster_permissions = *perms;
        }
        if (name == "ml_full_access") {
            // roles.yml: index `*` → indices_monitor (nothing here reads indices; shown as the plugin shows
            // it).
            r.index_permissions.push_back(json::object{
                {"index_patterns", json::array{"*"}},
                {"fls", json::array{}},
                {"masked_fields", json::array{}},
                {"allowed_actions", json::array{"indices_monitor"}}});
        }
        r.reserved = true;
        r.static_ = true;
        out.push_back(std::move(r));
    }
    return out;
}

// --- API keys ---------------------------------------------------------------------------------------------

std::optional<std::int64_t> parse_time_value(std::string_view text) {
    std::size_t i = 0;
    std::int64_t n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
        if (n > 1'000'000'000'000LL) {
            return std::nullopt;
        }
        n = n * 10 + (text[i] - '0');
        ++i;
    }
    if (i == 0) {
        return std::nullopt;
    }
    const std::string_view unit = text.substr(i);
    static constexpr std::pair<std::string_view, std::int64_t> units[] = {
        {"nanos", 0},
        {"micros", 0},
        {"ms", 1},
        {"s", 1000},
        {"m", 60'000},
        {"h", 3'600'000},
        {"d", 86'400'000},
    };
    for (const auto& [u, mult] : units) {
        if (unit == u) {
            return n * mult;
        }
    }
    return std::nullopt;
}

namespace {

error es_validation(std::string reason) {
    return error{errc::validation_failed, "Validation Failed: 1: " + reason + ";"};
}

result<std::int64_t> non_negative_int(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) {
        return 0;
    }
    if (!v->is_int64() && !v->is_uint64()) {
        return error{
            errc::x_content_parse, "[modelrelay] " + std::string(key) + " must be a non-negative integer"};
    }
    const auto n = v->is_int64() ? v->get_int64() : static_cast<std::int64_t>(v->get_uint64());
    if (n < 0) {
        return error{
            errc::x_content_parse, "[modelrelay] " + std::string(key) + " must be a non-negative integer"};
    }
    return n;
}

}  // namespace

result<api_key_request> parse_api_key_request(const json::value& body) {
    if (!body.is_object()) {
        return error{errc::parse_failed, "request body is required"};
    }
    const auto& b = body.get_object();
    api_key_request req;
    for (const auto& kv : b) {
        const std::string_view k = kv.key();
        if (k != "name" && k != "expiration" && k != "metadata" && k != "role_descriptors" &&
            k != "modelrelay") {
            return error{errc::x_content_parse, "[api_key_request] unknown field [" + std::string(k) + "]"};
        }
    }
    // Role descriptors would narrow the key's privileges; modelrelay does not evaluate them, so only an
    // empty set (the owner's privileges, as in Elasticsearch) is taken. The `modelrelay` object limits a key.
    if (const auto* rd = b.if_contains("role_descriptors"); rd != nullptr && !rd->is_null()) {
        const bool empty =
            (rd->is_object() && rd->get_object().empty()) || (rd->is_array() && rd->get_array().empty());
        if (!empty) {
            return illegal_argument(
                "[role_descriptors] are not supported by modelrelay: limit a key with the [modelrelay] "
                "object "
                "(models, rpm, tpm, max_parallel, token_budget)"
            );
        }
    }
    const auto* name = b.if_contains("name");
    if (name == nullptr || !name->is_string() || name->get_string().empty()) {
        return es_validation("api key name is required");
    }
    req.name = std::string(name->get_string());
    if (req.name.size() > 256) {
        return es_validation("api key name may not be more than 256 characters long");
    }
    if (!valid_entity_name(req.name)) {
        return es_validation(
            "Invalid name '" + req.name + "': names must match ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$"
        );
    }
    if (const auto* e = b.if_contains("expiration"); e != nullptr && !e->is_null()) {
        if (!e->is_string()) {
            return error{errc::x_content_parse, "[api_key_request] failed to parse field [expiration]"};
        }
        auto ms = parse_time_value(e->get_string());
        if (!ms) {
            return error{
                errc::parse_failed,
                "failed to parse setting [expiration] with value [" + std::string(e->get_string()) +
                    "] as a time value: unit is missing or unrecognized"};
        }
        if (*ms <= 0) {
            return es_validation("api key expiration must be in the future");
        }
        req.expiration_ms = *ms;
    }
    if (const auto* m = b.if_contains("metadata"); m != nullptr && !m->is_null()) {
        if (!m->is_object()) {
            return error{errc::x_content_parse, "[api_key_request] failed to parse field [metadata]"};
        }
        req.metadata = m->get_object();
    }
    if (const auto* x = b.if_contains("modelrelay"); x != nullptr && !x->is_null()) {
        if (!x->is_object()) {
            return error{errc::x_content_parse, "[api_key_request] failed to parse field [modelrelay]"};
        }
        const auto& e = x->get_object();
        for (const auto& kv : e) {
            const std::string_view k = kv.key();
            if (k != "tenant" && k != "models" && k != "rpm" && k != "tpm" && k != "max_parallel" &&
                k != "token_budget" && k != "budget_period") {
                return error{errc::x_content_parse, "[modelrelay] unknown field [" + std::string(k) + "]"};
            }
        }
        req.has_limits = true;
        if (const auto* t = e.if_contains("tenant"); t != nullptr && !t->is_null()) {
            if (!t->is_string() || (!t->get_string().empty() && !valid_entity_name(t->get_string()))) {
                return error{
                    errc::x_content_parse,
                    "[modelrelay] tenant must match ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$"};
            }
            req.limits.tenant = std::string(t->get_string());
        }
        if (const auto* ms = e.if_contains("models"); ms != nullptr && !ms->is_null()) {
            if (!ms->is_array()) {
                return error{errc::x_content_parse, "[modelrelay] models must be an array of model ids"};
            }
            for (const auto& m : ms->get_array()) {
                if (!m.is_string() || m.get_string().empty()) {
                    return error{errc::x_content_parse, "[modelrelay] models must be an array of model ids"};
                }
                req.limits.models.emplace_back(m.get_string());
            }
        }
        for (auto [key, field] : {
                 std::pair{"rpm", &key_limits::rpm},
                 std::pair{"tpm", &key_limits::tpm},
                 std::pair{"max_parallel", &key_limits::max_parallel},
                 std::pair{"token_budget", &key_limits::token_budget},
             }) {
            auto n = non_negative_int(e, key);
            if (!n) {
                return n.error();
            }
            req.limits.*field = *n;
        }
        if (const auto* p = e.if_contains("budget_period"); p != nullptr && !p->is_null()) {
            auto ms = p->is_string() ? parse_time_value(p->get_string()) : std::nullopt;
            if (!ms || *ms <= 0) {
                return error{
                    errc::x_content_parse,
                    "[modelrelay] budget_period must be a time value such as 1d or 30d"};
            }
            req.limits.budget_period = std::string(p->get_string());
            req.limits.budget_period_ms = *ms;
        }
    }
    return req;
}

}  // namespace modelrelay::registry
