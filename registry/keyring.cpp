// File: keyring.cpp
// KEK files, DEK wrapping and the v1 value format; see keyring.hpp for the formats and the rotation
// protocol on disk.
#include "registry/keyring.hpp"

#include <mutex>
#include <stdexcept>
#include <sys/stat.h>

#include <openssl/rand.h>

#include "registry/key_file.hpp"

namespace modelrelay::registry {

namespace {

constexpr std::string_view kek_id_label = "modelrelay kek id v1";
constexpr std::string_view what_kek = "key-encryption key file";
constexpr std::size_t dek_id_bytes = 8;

error key_error(std::string reason) {
    return {errc::illegal_state, std::move(reason)};
}

std::string hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 0x0f];
    }
    return out;
}

std::string random_hex(std::size_t n) {
    std::string raw(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(n)) != 1) {
        throw std::runtime_error("OpenSSL: RAND_bytes failed");
    }
    return hex(raw);
}

std::string dek_aad(std::string_view kek_id, std::string_view tenant, std::string_view dek_id) {
    std::string aad = "modelrelay-dek|";
    aad.append(kek_id).append("|").append(tenant).append("|").append(dek_id);
    return aad;
}

struct parsed_value {
    std::string_view kek_id;
    std::string_view dek_id;
    std::string_view sealed_b64;
};

std::optional<parsed_value> parse_value(std::string_view v) {
    if (!v.starts_with(value_prefix)) {
        return std::nullopt;
    }
    v.remove_prefix(value_prefix.size());
    const auto a = v.find(':');
    if (a == std::string_view::npos) {
        return std::nullopt;
    }
    const auto b = v.find(':', a + 1);
    if (b == std::string_view::npos || a == 0 || b == a + 1) {
        return std::nullopt;
    }
    return parsed_value{v.substr(0, a), v.substr(a + 1, b - a - 1), v.substr(b + 1)};
}

// The ids a rotation stage file may carry: what kek_id_of produces.
bool looks_like_kek_id(std::string_view s) {
    return s.size() == 16 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

// ---- KEK ----------------------------------------------------------------------------------------------

std::string kek_id_of(const secret_key& key) {
    auto mac = hmac_sha256(key, kek_id_label);
    return hex(std::string_view(mac).substr(0, 8));
}

kek make_kek(const secret_key& key) {
    return kek{key, kek_id_of(key)};
}

result<kek> load_kek_file(const std::filesystem::path& path) {
    if (auto r = require_owner_read_only(path, what_kek); !r) {
        return r.error();
    }
    auto key = read_key_file(path, what_kek);
    if (!key) {
        return key.error();
    }
    return make_kek(*key);
}

result<kek> create_kek_file(const std::filesystem::path& path) {
    auto next = make_kek(secret_key::generate());
    if (auto r = create_key_file(path, next.key, S_IRUSR, what_kek); !r) {
        return r.error();
    }
    return next;
}

std::filesystem::path pending_kek_path(const std::filesystem::path& kek_file, std::string_view id) {
    return kek_file.string() + ".pending-" + std::string(id);
}

std::filesystem::path retired_kek_path(const std::filesystem::path& kek_file, std::string_view id) {
    return kek_file.string() + ".retired-" + std::string(id);
}

namespace {

// Moves the active file to retired-<old id>. A retired file of that id already exists when a key is
// rotated out a second time (rotated back in from its retired copy, then out again); the names come from
// the keys, so the active file is then a duplicate of it and is removed instead.
result<void> retire_active(const std::filesystem::path& kek_file, std::string_view old_id) {
    const auto retired = retired_kek_path(kek_file, old_id);
    auto taken = path_exists(retired);
    if (!taken) {
        return taken.error();
    }
    if (!*taken) {
        return rename_no_replace(kek_file, retired);
    }
    auto existing = read_key_file(retired, what_kek);
    if (!existing || kek_id_of(*existing) != old_id) {
        return key_error(
            retired.string() + " exists but does not hold KEK " + std::string(old_id) +
            "; move it away and start again"
        );
    }
    std::error_code ec;
    if (!std::filesystem::remove(kek_file, ec) || ec) {
        return key_error("cannot remove " + kek_file.string() + ": " + ec.message());
    }
    return {};
}

// Pending files of rotations that never committed hold keys nothing is wrapped under: remove them.
void remove_stale_pending(
    const std::filesystem::path& kek_file, std::string_view keep_id, resolved_kek& out
) {
    const auto dir = kek_file.has_parent_path() ? kek_file.parent_path() : std::filesystem::path(".");
    const std::string prefix = kek_file.filename().string() + ".pending-";
    std::error_code ec;
    std::vector<std::filesystem::path> stale;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        const auto name = e.path().filename().string();
        if (name.starts_with(prefix) && name.substr(prefix.size()) != keep_id &&
            looks_like_kek_id(std::string_view(name).substr(prefix.size()))) {
            stale.push_back(e.path());
        }
    }
    for (const auto& p : stale) {
        std::error_code rm;
        if (std::filesystem::remove(p, rm)) {
            out.notes.push_back("removed " + p.string() + ", left by a KEK rotation that never committed");
        }
    }
}

// A rotation committed (the database names `expected`) but did not finish renaming: finish it. nullopt
// when there is no pending file for `expected`.
result<std::optional<resolved_kek>> complete_rotation(
    const std::filesystem::path& kek_file, const std::string& expected, const std::optional<kek>& current
) {
    const auto pending = pending_kek_path(kek_file, expected);
    auto exists = path_exists(pending);
    if (!exists) {
        return exists.error();
    }
    if (!*exists) {
        return std::optional<resolved_kek>();
    }
    auto staged = load_kek_file(pending);
    if (!staged) {
        return staged.error();
    }
    if (staged->id != expected) {
        return key_error(
            "KEK file " + pending.string() + " does not hold the key it is named after (id " + staged->id +
            "); refusing to start"
        );
    }
    resolved_kek out{*staged, kek_origin::recovered, {}};
    if (current) {
        if (auto r = retire_active(kek_file, current->id); !r) {
            return r.error();
        }
        out.notes.push_back(
            "moved the previous KEK " + current->id + " aside to " +
            retired_kek_path(kek_file, current->id).string()
        );
    }
    if (auto r = rename_no_replace(pending, kek_file); !r) {
        return r.error();
    }
    const auto dir = kek_file.has_parent_path() ? kek_file.parent_path() : std::filesystem::path(".");
    if (auto r = fsync_directory(dir); !r) {
        return r.error();
    }
    out.notes.push_back(
        "completed an interrupted KEK rotation: " + pending.string() + " is now " + kek_file.string()
    );
    return std::optional<resolved_kek>(std::move(out));
}

}  // namespace

result<resolved_kek> resolve_kek(
    const std::filesystem::path& kek_file, const std::optional<std::string>& expected_id
) {
    auto exists = path_exists(kek_file);
    if (!exists) {
        return exists.error();
    }
    if (!expected_id) {
        // Nothing is wrapped under any KEK yet: an existing file is adopted, a missing one created.
        if (*exists) {
            auto k = load_kek_file(kek_file);
            if (!k) {
                return k.error();
            }
            return resolved_kek{*k, kek_origin::loaded, {}};
        }
        auto k = create_kek_file(kek_file);
        if (!k) {
            return k.error();
        }
        return resolved_kek{*k, kek_origin::created, {}};
    }

    std::optional<kek> current;
    if (*exists) {
        auto k = load_kek_file(kek_file);
        if (!k) {
            return k.error();
        }
        if (k->id == *expected_id) {
            resolved_kek out{*k, kek_origin::loaded, {}};
            remove_stale_pending(kek_file, k->id, out);
            return out;
        }
        current = *k;
    }
    auto done = complete_rotation(kek_file, *expected_id, current);
    if (!done) {
        return done.error();
    }
    if (*done) {
        return std::move(**done);
    }
    if (current) {
        return key_error(
            "the key-encryption key in " + kek_file.string() + " (id " + current->id +
            ") is not the one that wraps the data keys in the database (id " + *expected_id + "): wrong " +
            std::string(kek_file_env) + " or --kek-file? Refusing to start; nothing was changed"
        );
    }
    return key_error(
        "key-encryption key file " + kek_file.string() +
        " is missing, but the database holds data keys "
        "wrapped by KEK " +
        *expected_id + ". Restore that file (mode 0400) or point " + std::string(kek_file_env) +
        " / --kek-file at it; a new key would make every stored secret "
        "unreadable, so none is generated"
    );
}

result<void> stage_kek(const std::filesystem::path& kek_file, const kek& next) {
    return create_key_file(pending_kek_path(kek_file, next.id), next.key, S_IRUSR, what_kek);
}

result<void> activate_staged_kek(
    const std::filesystem::path& kek_file, std::string_view old_id, std::string_view new_id
) {
    if (auto r = retire_active(kek_file, old_id); !r) {
        return r;
    }
    if (auto r = rename_no_replace(pending_kek_path(kek_file, new_id), kek_file); !r) {
        return r;
    }
    const auto dir = kek_file.has_parent_path() ? kek_file.parent_path() : std::filesystem::path(".");
    return fsync_directory(dir);
}

void discard_staged_kek(const std::filesystem::path& kek_file, std::string_view new_id) {
    std::error_code ec;
    std::filesystem::remove(pending_kek_path(kek_file, new_id), ec);
}

// ---- DEKs and values ----------------------------------------------------------------------------------

stored_data_key wrap_data_key(
    const kek& k, const secret_key& dek, std::string dek_id, std::string tenant, std::int64_t created_time
) {
    const auto aad = dek_aad(k.id, tenant, dek_id);
    auto wrapped = base64_encode(seal(k.key, {reinterpret_cast<const char*>(dek.data()), dek.size()}, aad));
    return stored_data_key{std::move(dek_id), std::move(tenant), k.id, std::move(wrapped), created_time};
}

result<secret_key> unwrap_data_key(const kek& k, const stored_data_key& row) {
    if (row.kek_id != k.id) {
        return key_error(
            "data key " + row.dek_id + " is wrapped by KEK " + row.kek_id + ", not by the active KEK " + k.id
        );
    }
    auto sealed = base64_decode(row.wrapped);
    if (!sealed) {
        return key_error("data key " + row.dek_id + " is not valid base64 in the database");
    }
    auto plain = open_sealed(k.key, *sealed, dek_aad(k.id, row.tenant_id, row.dek_id));
    if (!plain) {
        return key_error(
            "cannot unwrap data key " + row.dek_id + " with KEK " + k.id +
            " (wrong key-encryption key, or the data_keys row was tampered with)"
        );
    }
    auto dek = secret_key::from_bytes(*plain);
    secure_wipe(*plain);
    if (!dek) {
        return key_error("data key " + row.dek_id + " does not unwrap to 32 bytes");
    }
    return dek;
}

std::string secret_site::aad() const {
    std::string out;
    out.reserve(tenant.size() + resource_type.size() + resource_id.size() + field.size() + 3);
    out.append(tenant)
        .append("|")
        .append(resource_type)
        .append("|")
        .append(resource_id)
        .append("|")
        .append(field);
    return out;
}

bool is_v1_value(std::string_view value) noexcept {
    return value.starts_with(value_prefix);
}

std::string keyring::active_kek_id() const {
    std::shared_lock lock(mu_);
    return active_.id;
}

result<void> keyring::add_wrapped(const stored_data_key& row) {
    std::shared_lock lock(mu_);
    auto dek = unwrap_data_key(active_, row);
    if (!dek) {
        return dek.error();
    }
    lock.unlock();
    add(row, *dek);
    return {};
}

void keyring::add(const stored_data_key& row, const secret_key& dek) {
    std::unique_lock lock(mu_);
    by_id_.insert_or_assign(row.dek_id, entry{row.tenant_id, dek, row.created_time});
    auto it = newest_by_tenant_.find(row.tenant_id);
    if (it == newest_by_tenant_.end()) {
        newest_by_tenant_.emplace(row.tenant_id, row.dek_id);
    } else if (by_id_.at(it->second).created_time <= row.created_time) {
        it->second = row.dek_id;
    }
}

std::optional<std::string> keyring::dek_for(std::string_view tenant) const {
    std::shared_lock lock(mu_);
    auto it = newest_by_tenant_.find(tenant);
    if (it == newest_by_tenant_.end()) {
        return std::nullopt;
    }
    return it->second;
}

std::pair<stored_data_key, secret_key> keyring::generate(std::string_view tenant, std::int64_t now_ms) const {
    auto dek = secret_key::generate();
    std::shared_lock lock(mu_);
    std::string id;
    do {
        id = random_hex(dek_id_bytes);
    } while (by_id_.contains(id));
    return {wrap_data_key(active_, dek, std::move(id), std::string(tenant), now_ms), dek};
}

result<std::string> keyring::encrypt(
    std::string_view dek_id, std::string_view plaintext, const secret_site& site
) const {
    std::shared_lock lock(mu_);
    auto it = by_id_.find(dek_id);
    if (it == by_id_.end() || it->second.tenant != site.tenant) {
        return error{errc::internal, "no data key " + std::string(dek_id) + " for this tenant"};
    }
    std::string out(value_prefix);
    out.append(active_.id).append(":").append(dek_id).append(":");
    out += base64_encode(seal(it->second.key, plaintext, site.aad()));
    return out;
}

std::string keyring::encrypt_with(
    std::string_view dek_id, const secret_key& dek, std::string_view plaintext, const secret_site& site
) const {
    std::shared_lock lock(mu_);
    std::string out(value_prefix);
    out.append(active_.id).append(":").append(dek_id).append(":");
    out += base64_encode(seal(dek, plaintext, site.aad()));
    return out;
}

std::map<std::string, std::vector<std::string>, std::less<>> keyring::dek_ids_by_tenant() const {
    std::shared_lock lock(mu_);
    std::map<std::string, std::vector<std::string>, std::less<>> out;
    for (const auto& [id, e] : by_id_) {
        out[e.tenant].push_back(id);
    }
    return out;
}

void keyring::remove(const std::vector<std::string>& dek_ids) {
    std::unique_lock lock(mu_);
    for (const auto& id : dek_ids) {
        by_id_.erase(id);
    }
    // The newest key of each tenant, among those left.
    newest_by_tenant_.clear();
    for (const auto& [id, e] : by_id_) {
        auto it = newest_by_tenant_.find(e.tenant);
        if (it == newest_by_tenant_.end()) {
            newest_by_tenant_.emplace(e.tenant, id);
        } else if (by_id_.at(it->second).created_time <= e.created_time) {
            it->second = id;
        }
    }
}

result<std::string> keyring::decrypt(std::string_view value, const secret_site& site) const {
    auto parsed = parse_value(value);
    if (!parsed) {
        return error{errc::internal, "stored secret is not in the v1 format"};
    }
    auto sealed = base64_decode(parsed->sealed_b64);
    if (!sealed) {
        return error{errc::internal, "stored secret is not valid base64"};
    }
    std::shared_lock lock(mu_);
    auto it = by_id_.find(parsed->dek_id);
    if (it == by_id_.end()) {
        return error{
            errc::internal,
            "stored secret names data key " + std::string(parsed->dek_id) + " (written under KEK " +
                std::string(parsed->kek_id) + "), which the database does not hold"};
    }
    if (it->second.tenant != site.tenant) {
        return error{errc::internal, "stored secret belongs to another tenant's data key"};
    }
    return open_sealed(it->second.key, *sealed, site.aad());
}

std::vector<stored_data_key> keyring::rewrap_all(const kek& next) const {
    std::shared_lock lock(mu_);
    std::vector<stored_data_key> out;
    out.reserve(by_id_.size());
    for (const auto& [id, e] : by_id_) {
        out.push_back(wrap_data_key(next, e.key, id, e.tenant, e.created_time));
    }
    return out;
}

bool keyring::holds(std::string_view dek_id, const secret_key& dek) const {
    std::shared_lock lock(mu_);
    auto it = by_id_.find(dek_id);
    return it != by_id_.end() && keys_equal(it->second.key, dek);
}

std::size_t keyring::size() const {
    std::shared_lock lock(mu_);
    return by_id_.size();
}

void keyring::set_active(kek next) {
    std::unique_lock lock(mu_);
    active_ = std::move(next);
}

}  // namespace modelrelay::registry
