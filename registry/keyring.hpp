// File: keyring.hpp
// Envelope encryption of stored secrets (security.md §7, R21, R22): the key-encryption key (KEK) file,
// per-tenant data keys (DEKs) wrapped by it, and the stored value format. The service (service_secrets.cpp)
// decides when keys are created, migrated or rotated; this file holds the mechanisms.
//
// KEK: 32 bytes in a file (MODELRELAY_KEK_FILE / --kek-file, default DATA_DIR/kek.key), mode 0400 or
// stricter, never in SQLite. Its id is the first 8 bytes, in hex, of HMAC-SHA-256(KEK, "modelrelay kek id
// v1"): stable, reveals nothing about the key, and lets start-up tell which file matches the database.
//
// DEK: 32 random bytes per tenant ("" without multi-tenancy), stored in `data_keys` only as
//   wrapped = base64( nonce | AES-256-GCM(KEK, DEK) | tag ),  AAD =
//   "modelrelay-dek|<kek_id>|<tenant>|<dek_id>"
//
// Value (one secret, stored as text in the resource document):
//   v1:<kek_id>:<dek_id>:<base64( nonce | AES-256-GCM(DEK, plaintext) | tag )>
//   AAD = <tenant>|<resource_type>|<resource_id>|<field>
// The kek_id records the KEK that wrapped the DEK when the value was written; decryption goes by dek_id
// (the data_keys row says which KEK wraps it now), so a KEK rotation rewraps DEKs and rewrites no value.
// The AAD binds a value to its place: copied into another resource, field or tenant it fails to open.
//
// KEK rotation on disk (crash-safe): the new KEK is first written next to the active file as
// `<kek file>.pending-<new id>`; the database commit then makes it the KEK of record; finally the active
// file is renamed to `<kek file>.retired-<old id>` and the pending file to `<kek file>`. A start after a
// crash anywhere in between finds the file whose id the database names (resolve_kek).
//
// @par Thread safety
// `keyring` may be used from any number of threads: readers (encrypt, decrypt) take a shared lock, the
// changes (add, set_active) an exclusive one. The free functions are reentrant.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "registry/crypto.hpp"
#include "registry/error.hpp"
#include "registry/store.hpp"

namespace modelrelay::registry {

inline constexpr std::string_view kek_file_env = "MODELRELAY_KEK_FILE";
inline constexpr std::string_view default_kek_file_name = "kek.key";
inline constexpr std::string_view value_prefix = "v1:";

// ---- KEK ----------------------------------------------------------------------------------------------

struct kek {
    secret_key key;
    std::string id;
};

std::string kek_id_of(const secret_key& key);
kek make_kek(const secret_key& key);

// The active KEK file: must be a regular file (symlinks followed) of mode 0400 or stricter, holding 32 raw
// bytes or their base64. Errors: errc::illegal_state, reason for the start-up log.
result<kek> load_kek_file(const std::filesystem::path& path);
// Creates the file (32 random bytes, mode 0400, fsync'd, atomic, never replacing one).
result<kek> create_kek_file(const std::filesystem::path& path);

std::filesystem::path pending_kek_path(const std::filesystem::path& kek_file, std::string_view id);
std::filesystem::path retired_kek_path(const std::filesystem::path& kek_file, std::string_view id);

// How start-up found its KEK.
enum class kek_origin {
    loaded,     // the file at the configured path
    created,    // nothing was encrypted yet and no file existed: a new KEK was generated
    recovered,  // a rotation was interrupted after its commit: the pending file was moved into place
};
struct resolved_kek {
    kek active;
    kek_origin origin = kek_origin::loaded;
    std::vector<std::string> notes;  // what was done to the files, for the log (paths and ids only)
};

// Finds the KEK at start-up. `expected_id` is the id the database names (meta `kek_id`), nullopt when
// nothing has been encrypted under a KEK yet; only then is a missing file created. A file whose id
// differs from `expected_id` is a wrong KEK unless an interrupted rotation left `<file>.pending-<expected>`,
// which is then completed. Stale pending files of rotations that never committed are removed. Errors
// change nothing on disk.
result<resolved_kek> resolve_kek(
    const std::filesystem::path& kek_file, const std::optional<std::string>& expected_id
);

// Rotation, step 1: writes `next` as the pending file (mode 0400, fsync'd).
result<void> stage_kek(const std::filesystem::path& kek_file, const kek& next);
// Rotation, after the commit: active → retired-<old id>, pending-<new id> → active, directory fsync'd.
result<void> activate_staged_kek(
    const std::filesystem::path& kek_file, std::string_view old_id, std::string_view new_id
);
// Rotation aborted before the commit: removes the pending file.
void discard_staged_kek(const std::filesystem::path& kek_file, std::string_view new_id);

// ---- DEKs and values ----------------------------------------------------------------------------------

// A DEK wrapped under `k` (dek_id and tenant are part of the AAD).
stored_data_key wrap_data_key(
    const kek& k, const secret_key& dek, std::string dek_id, std::string tenant, std::int64_t created_time
);
// Errors (errc::illegal_state): the row names another KEK, or unwrapping fails (wrong KEK or tampered row).
result<secret_key> unwrap_data_key(const kek& k, const stored_data_key& row);

// Where a secret lives; its AAD is "tenant|resource_type|resource_id|field". Tenants and resource ids
// never contain '|' and the field comes last, so the join is unambiguous.
struct secret_site {
    std::string_view tenant;
    std::string_view resource_type;  // kind_name(): "connector", "model", "inference_endpoint"
    std::string_view resource_id;
    std::string_view field;  // e.g. "credential.openAI_key", "secret_settings.api_key"
    std::string aad() const;
};

bool is_v1_value(std::string_view value) noexcept;

class keyring {
public:
    explicit keyring(kek active) : active_(std::move(active)) {}
    keyring(const keyring&) = delete;
    keyring& operator=(const keyring&) = delete;

    std::string active_kek_id() const;

    // Unwraps a stored DEK with the active KEK and adds it.
    result<void> add_wrapped(const stored_data_key& row);
    // Adds a DEK already known in plain (new, or generated during migration).
    void add(const stored_data_key& row, const secret_key& dek);

    // The tenant's newest DEK id, if it has one.
    std::optional<std::string> dek_for(std::string_view tenant) const;
    // A new DEK for `tenant`, wrapped under the active KEK; not added (persist it first, then add()).
    std::pair<stored_data_key, secret_key> generate(std::string_view tenant, std::int64_t now_ms) const;

    // Seals `plaintext` under DEK `dek_id` into a v1 value. errc::internal if the DEK is unknown or does not
    // belong to site.tenant (a bug in the caller).
    result<std::string> encrypt(std::string_view dek_id, std::string_view plaintext, const secret_site& site)
        const;
    // Opens a v1 value. Errors (errc::internal, no secret in the reason): not a v1 value, unknown DEK, DEK of
    // another tenant, or authentication failure (wrong place, tampered value).
    result<std::string> decrypt(std::string_view value, const secret_site& site) const;

    // Seals `plaintext` under a DEK not added yet (data key rotation seals under the new keys before it
    // commits them). `site.tenant` must be the DEK's tenant.
    std::string encrypt_with(
        std::string_view dek_id, const secret_key& dek, std::string_view plaintext, const secret_site& site
    ) const;
    // The ids of every DEK, by tenant (data key rotation).
    std::map<std::string, std::vector<std::string>, std::less<>> dek_ids_by_tenant() const;
    // Forgets DEKs (after a committed data key rotation removed their rows).
    void remove(const std::vector<std::string>& dek_ids);
    // Every DEK wrapped under `next` (rotation); the keyring itself is unchanged.
    std::vector<stored_data_key> rewrap_all(const kek& next) const;
    // Whether `dek` is the plain key of `dek_id` (rotation's verification), in constant time.
    bool holds(std::string_view dek_id, const secret_key& dek) const;
    std::size_t size() const;
    // Makes `next` the active KEK (after a committed rotation).
    void set_active(kek next);

private:
    struct entry {
        std::string tenant;
        secret_key key;
        std::int64_t created_time;
    };
    mutable std::shared_mutex mu_;
    kek active_;
    std::map<std::string, entry, std::less<>> by_id_;
    std::map<std::string, std::string, std::less<>> newest_by_tenant_;
};

}  // namespace modelrelay::registry
