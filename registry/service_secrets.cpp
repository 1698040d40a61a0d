// File: service_secrets.cpp
// The service's side of envelope encryption (keyring.hpp has the formats): which documents hold secrets
// and under which AAD, finding the KEK and unwrapping the data keys at start-up, migrating a data
// directory written before envelope encryption (v0: one master.key, AAD = resource id), sealing new
// secrets with the tenant's data key, and KEK rotation (security.md §7, R21, R22).
//
// Start-up refuses rather than guesses: a missing KEK while the database names one, a KEK whose id differs,
// a data key that does not unwrap, a v0 secret without its master key or one that does not decrypt. Each
// of those is detected before the first write, so a refused start changes nothing.
#include <boost/json/string.hpp>

#include "registry/changeset.hpp"
#include "registry/json_util.hpp"
#include "registry/key_file.hpp"
#include "registry/legacy_master_key.hpp"
#include "registry/service.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

constexpr std::string_view kek_id_meta = "kek_id";
constexpr std::string_view key_check_meta = "master_key_check";  // written by v0 only

// Calls f(value, field) for every stored secret of a document: connector credentials, the credentials of a
// model's inline connector, an _inference endpoint's api_key. `field` is the name used in the AAD.
template <class F>
void for_each_secret(kind k, json::object& doc, F&& f) {
    auto credentials = [&](json::object& holder, std::string_view prefix) {
        auto* cred = holder.if_contains("credential");
        if (cred == nullptr || !cred->is_object()) {
            return;
        }
        for (auto& kv : cred->get_object()) {
            f(kv.value(), std::string(prefix) + std::string(kv.key()));
        }
    };
    switch (k) {
        case kind::connector:
            credentials(doc, "credential.");
            break;
        case kind::model:
            if (auto* c = doc.if_contains("connector"); c != nullptr && c->is_object()) {
                credentials(c->get_object(), "connector.credential.");
            }
            break;
        case kind::inference_endpoint:
            if (auto* s = doc.if_contains("secret_settings"); s != nullptr && s->is_object()) {
                if (auto* key = s->get_object().if_contains("api_key")) {
                    f(*key, "secret_settings.api_key");
                }
            }
            break;
        default:
            break;
    }
}

// A v0 secret found at start-up, decrypted before anything is written.
struct legacy_secret {
    std::size_t row;    // index into the loaded rows
    json::value* slot;  // the value inside that row's document
    std::string field;
    std::string plain;
};

// master.key is kept (renamed) so that backups taken before the migration stay readable.
std::string retire_master_key_file(const std::filesystem::path& data_dir, std::int64_t now_ms) {
    const auto from = data_dir / master_key_file_name;
    auto exists = path_exists(from);
    if (!exists || !*exists) {
        return {};
    }
    auto to = data_dir / migrated_master_key_file_name;
    if (auto taken = path_exists(to); !taken || *taken) {
        to = data_dir / (std::string(migrated_master_key_file_name) + "-" + std::to_string(now_ms));
    }
    if (auto r = rename_no_replace(from, to); !r) {
        return "could not rename " + from.string() + " after the migration: " + r.error().reason;
    }
    (void)fsync_directory(data_dir);
    return from.string() + " is no longer used and was renamed to " + to.string() +
           "; keep it (offline) only as long as backups from before the migration exist";
}

}  // namespace

result<void> service::open_keys(std::vector<loaded>& all) {
    const auto kek_meta = store_->get_meta(kek_id_meta);
    const auto legacy_check = store_->get_meta(key_check_meta);

    // 1. v0 secrets: decrypt them all with the master key before anything else happens.
    std::vector<legacy_secret> legacy;
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (!all[i].res->document.is_parsed()) {
            continue;  // load_resources keeps a document as text only when its secrets are all v1
        }
        for_each_secret(all[i].k, all[i].res->doc(), [&](json::value& v, std::string field) {
            if (!v.is_string() || !is_v1_value(v.get_string())) {
                legacy.push_back({i, &v, std::move(field), {}});
            }
        });
    }
    auto wipe_legacy = [&] {
        for (auto& l : legacy) {
            secure_wipe(l.plain);
        }
    };
    // Without v0 secrets there is nothing to decrypt: the master key is not needed (only forgotten below).
    std::optional<master_key> master;
    if (!legacy.empty()) {
        auto found = find_master_key(opts_.data_dir);
        if (!found) {
            return found.error();
        }
        if (!*found) {
            return error{
                errc::illegal_state,
                "the database holds credentials encrypted under the pre-envelope master key, but neither " +
                    (opts_.data_dir / master_key_file_name).string() + " nor " + std::string(master_key_env) +
                    " is available to migrate them; restore master.key (or a master.key.migrated of this "
                    "data directory renamed back) and start again"};
        }
        if (legacy_check) {
            if (auto r = verify_key_check_value((*found)->key, *legacy_check); !r) {
                return r.error();
            }
        }
        master = **found;
        const cipher old(master->key);
        for (auto& l : legacy) {
            const auto& res = *all[l.row].res;
            auto plain = l.slot->is_string() ? old.decrypt(l.slot->get_string(), res.id)
                                             : result<std::string>(error{errc::internal, "not a string"});
            if (!plain) {
                wipe_legacy();
                return error{
                    errc::illegal_state,
                    "cannot migrate " + std::string(kind_name(all[l.row].k)) + " " + res.id + " (" + l.field +
                        "): it does not decrypt with the master key (" + plain.error().reason +
                        "); refusing to start, nothing was changed"};
            }
            l.plain = std::move(*plain);
        }
    }

    // 2. The KEK, then every data key (an unwrap failure means a wrong KEK or a tampered row).
    auto resolved = resolve_kek(kek_file_, kek_meta);
    if (!resolved) {
        wipe_legacy();
        return resolved.error();
    }
    keys_ = std::make_shared<keyring>(resolved->active);
    for (const auto& row : store_->load_data_keys()) {
        if (auto r = keys_->add_wrapped(row); !r) {
            wipe_legacy();
            return error{errc::illegal_state, r.error().reason + "; refusing to start, nothing was changed"};
        }
    }
    if (resolved->origin == kek_origin::created) {
        notify(
            "created a new key-encryption key file " + kek_file_.string() + " (KEK " + resolved->active.id +
            ", mode 0400); keep a copy offline: without it no stored secret can be decrypted"
        );
    }
    for (const auto& n : resolved->notes) {
        notify(n);
    }
    // A key file whose KEK the database does not record, next to a database with nothing in it: most
    // often modelrelay.db was deleted or replaced by an empty file. Starting empty is right for a key
    // provisioned ahead of a first start, so this is said loudly rather than refused.
    if (!kek_meta && resolved->origin != kek_origin::created && all.empty() && !legacy_check) {
        notify(
            "warning: the registry database " + (opts_.data_dir / "modelrelay.db").string() +
            " is empty but the key-encryption key file " + kek_file_.string() +
            " already exists; starting with an empty registry. If modelrelay.db was deleted or lost, stop "
            "now and restore it from a backup before anything is written"
        );
    }

    // 3. One transaction: the KEK of record, and every v0 secret re-encrypted under its tenant's DEK. The
    // schema is brought up to date first, now that nothing can refuse the start any more.
    if (auto r = store_->migrate_schema(); !r) {
        wipe_legacy();
        return r;
    }
    batch b;
    if (!kek_meta) {
        b.meta_puts.emplace_back(std::string(kek_id_meta), resolved->active.id);
    }
    std::vector<bool> changed(all.size(), false);
    for (auto& l : legacy) {
        const auto& res = *all[l.row].res;
        auto dek_id = keys_->dek_for(res.tenant_id);
        if (!dek_id) {
            auto [row, dek] = keys_->generate(res.tenant_id, now_ms());
            dek_id = row.dek_id;
            keys_->add(row, dek);  // a failed commit below ends the start-up, so nothing uses it then
            b.key_puts.push_back(std::move(row));
        }
        const secret_site site{res.tenant_id, kind_name(all[l.row].k), res.id, l.field};
        auto sealed = keys_->encrypt(*dek_id, l.plain, site);
        if (!sealed) {
            wipe_legacy();
            return sealed.error();
        }
        auto check = keys_->decrypt(*sealed, site);
        const bool same = check && *check == l.plain;
        if (check) {
            secure_wipe(*check);
        }
        if (!same) {
            wipe_legacy();
            return error{errc::internal, "migrated secret of " + res.id + " does not decrypt back"};
        }
        *l.slot = json::string(*sealed);
        changed[l.row] = true;
    }
    wipe_legacy();
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (changed[i]) {
            b.puts.push_back(make_row(all[i].k, *all[i].res));
        }
    }
    if (legacy_check) {
        b.meta_erases.emplace_back(key_check_meta);
    }
    if (auto r = store_->apply(b); !r) {
        return r;
    }
    if (master || legacy_check) {
        notify(
            "migrated " + std::to_string(legacy.size()) + " stored secret(s) from the master key to " +
            "envelope encryption (format v1, KEK " + resolved->active.id + ")"
        );
        if (master && master->origin == master_key_origin::environment) {
            notify(std::string(master_key_env) + " is no longer used and can be removed");
        }
    }
    // Also after a crash between the migration's commit and this rename.
    if (auto n = retire_master_key_file(opts_.data_dir, now_ms()); !n.empty()) {
        notify(n);
    }
    return {};
}

result<std::string> service::tenant_dek(std::string_view tenant) {
    if (auto id = keys_->dek_for(tenant)) {
        return *id;
    }
    auto [row, dek] = keys_->generate(tenant, now_ms());
    batch b;
    b.key_puts.push_back(row);
    if (auto r = store_->apply(b); !r) {
        return r.error();
    }
    keys_->add(row, dek);
    if (store_->in_group()) {
        group_deks_.push_back(row.dek_id);  // forgotten again if the group's COMMIT fails
    }
    return row.dek_id;
}

result<std::string> service::seal_secret(std::string_view plaintext, const secret_site& site) {
    auto dek_id = tenant_dek(site.tenant);
    if (!dek_id) {
        return dek_id.error();
    }
    return keys_->encrypt(*dek_id, plaintext, site);
}

result<json::object> service::encrypt_credentials(
    credential_list& plain,
    std::string_view tenant,
    kind k,
    std::string_view resource_id,
    std::string_view field_prefix
) {
    json::object out;
    result<void> status;
    for (auto& [key, value] : plain) {
        if (status) {
            const std::string field_name = std::string(field_prefix) + key;
            auto sealed = seal_secret(value, {tenant, kind_name(k), resource_id, field_name});
            if (sealed) {
                out[key] = std::move(*sealed);
            } else {
                status = sealed.error();
            }
        }
        secure_wipe(value);
    }
    if (!status) {
        return status.error();
    }
    return out;
}

result<json::object> service::rotate_kek(const std::optional<std::filesystem::path>& source) {
    std::optional<kek> next;
    if (source) {
        if (!source->is_absolute()) {
            return illegal_argument("kek_file must be an absolute path");
        }
        auto k = load_kek_file(*source);
        if (!k) {
            return illegal_argument(k.error().reason);
        }
        next = std::move(*k);
    } else {
        next = make_kek(secret_key::generate());
    }
    const std::string old_id = keys_->active_kek_id();
    if (next->id == old_id) {
        return illegal_argument("the new key-encryption key is the active one (KEK " + old_id + ")");
    }

    // 1. The new KEK is durable on disk before any data key depends on it. A pending file of this id can
    // only be left from an attempt that never committed (the database names the active KEK): replace it.
    discard_staged_kek(kek_file_, next->id);
    if (auto r = stage_kek(kek_file_, *next); !r) {
        return r.error();
    }
    // 2. Every data key rewrapped in one transaction; every unwrap verified before COMMIT.
    auto rewrapped = keys_->rewrap_all(*next);
    const std::size_t n = rewrapped.size();
    batch b;
    b.key_puts = std::move(rewrapped);
    b.meta_puts.emplace_back(std::string(kek_id_meta), next->id);
    b.before_commit = [&]() -> result<void> {
        const auto rows = store_->load_data_keys();
        if (rows.size() != n) {
            return error{
                errc::illegal_state, "KEK rotation: the database holds an unexpected set of data keys"};
        }
        for (const auto& row : rows) {
            auto dek = unwrap_data_key(*next, row);
            if (!dek || !keys_->holds(row.dek_id, *dek)) {
                return error{
                    errc::illegal_state,
                    "KEK rotation: data key " + row.dek_id +
                        " did not unwrap to the same key under the new "
                        "KEK; rolled back, nothing was changed"};
            }
        }
        return {};
    };
    if (auto r = store_->apply(b); !r) {
        discard_staged_kek(kek_file_, next->id);
        return r.error();
    }
    keys_->set_active(*next);
    // Best effort: superseded pages (data keys wrapped by the old KEK) leave the WAL now rather than at the
    // next automatic checkpoint.
    (void)store_->checkpoint();
    // 3. The new KEK becomes the active file; the old one is moved aside for offline archiving.
    if (auto r = activate_staged_kek(kek_file_, old_id, next->id); !r) {
        return error{
            errc::illegal_state,
            "the data keys are now wrapped by KEK " + next->id +
                " (committed), but the key file could not be "
                "moved into place: " +
                r.error().reason + ". The next start completes this from " +
                pending_kek_path(kek_file_, next->id).string() + ": do not delete that file"};
    }
    return json::object{{"rewrapped", n}};
}

result<json::object> service::rotate_data_keys() {
    auto cur = current();
    const auto old_ids = keys_->dek_ids_by_tenant();
    // 1. A new data key for every tenant that has one (wrapped under the active KEK).
    std::map<std::string, std::pair<stored_data_key, secret_key>, std::less<>> fresh;
    for (const auto& [tenant, ids] : old_ids) {
        fresh.emplace(tenant, keys_->generate(tenant, now_ms()));
    }
    // 2. Every stored secret opened with its key and sealed under its tenant's new one; the documents keep
    // their versions (nothing a client wrote changed).
    changeset c(*this, cur);
    std::size_t reencrypted = 0;
    std::optional<error> failure;
    for (kind k : {kind::connector, kind::model, kind::inference_endpoint}) {
        std::vector<resource> changed;
        cur->of(k).for_each([&](const std::string&, const resource& r) {
            if (failure) {
                return;
            }
            resource copy = r;
            bool touched = false;
            for_each_secret(k, copy.doc(), [&](json::value& v, std::string field) {
                if (failure || !v.is_string()) {
                    return;
                }
                const secret_site site{r.tenant_id, kind_name(k), r.id, field};
                auto plain = keys_->decrypt(v.get_string(), site);
                const auto it = fresh.find(r.tenant_id);
                if (!plain || it == fresh.end()) {
                    failure = error{
                        errc::illegal_state,
                        "data key rotation: a secret of " + std::string(kind_name(k)) + " " + r.id +
                            " did not open; nothing was changed"};
                    return;
                }
                v = keys_->encrypt_with(it->second.first.dek_id, it->second.second, *plain, site);
                secure_wipe(*plain);
                touched = true;
                ++reencrypted;
            });
            if (touched) {
                changed.push_back(std::move(copy));
            }
        });
        if (failure) {
            return *failure;
        }
        for (auto& r : changed) {
            c.put(k, std::move(r), true);
        }
    }
    // 3. Deployments restored at start-up compile their connector (decrypting it) on first use, from the
    // document they were restored with: compile them now, while the old keys are still here.
    cur->deployed.for_each([](const std::string&, const deployed_model& d) { (void)d.connector->get(); });
    // 4. The new key rows in, the old ones out, in the same transaction.
    std::vector<std::string> retired;
    for (const auto& [tenant, ids] : old_ids) {
        retired.insert(retired.end(), ids.begin(), ids.end());
    }
    for (const auto& [tenant, made] : fresh) {
        c.rows().key_puts.push_back(made.first);
    }
    c.rows().key_erases = retired;
    if (auto r = c.commit(); !r) {
        return r.error();
    }
    for (const auto& [tenant, made] : fresh) {
        keys_->add(made.first, made.second);
    }
    keys_->remove(retired);
    // Best effort: the old key rows leave the WAL now rather than at the next automatic checkpoint.
    (void)store_->checkpoint();
    return json::object{{"data_keys", fresh.size()}, {"reencrypted", reencrypted}};
}

}  // namespace modelrelay::registry
