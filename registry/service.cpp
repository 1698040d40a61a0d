// File: service.cpp
#include "registry/service.hpp"

#include <chrono>
#include <ctime>
#include <system_error>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "registry/changeset.hpp"
#include "registry/connector.hpp"
#include "registry/ids.hpp"
#include "registry/json_parse.hpp"
#include "registry/json_util.hpp"
#include "registry/parallel.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

constexpr std::string_view settings_meta = "persistent_settings";

std::int64_t system_now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::size_t idx(kind k) {
    return static_cast<std::size_t>(k);
}

error connector_not_found(std::string_view id) {
    return not_found("Failed to find connector with the provided connector id: " + std::string(id));
}

}  // namespace

json::object write_response(kind k, const resource& r, std::string_view result_word) {
    return json::object{
        {"_index", index_name(k)},
        {"_id", r.id},
        {"_version", r.version},
        {"result", result_word},
        {"_shards", json::object{{"total", 1}, {"successful", 1}, {"failed", 0}}},
        {"_seq_no", r.seq_no},
        {"_primary_term", 1},
    };
}

service::service(service_options opts, dir_lock lock, std::unique_ptr<store> st)
    : opts_(std::move(opts)),
      lock_(std::move(lock)),
      store_(std::move(st)),
      kek_file_(opts_.kek_file.empty() ? opts_.data_dir / default_kek_file_name : opts_.kek_file),
      clock_(opts_.clock_ms ? opts_.clock_ms : std::function<std::int64_t()>(system_now_ms)) {}

result<std::unique_ptr<service>> service::open(service_options opts) {
    std::error_code ec;
    std::filesystem::create_directories(opts.data_dir, ec);
    if (ec) {
        return error{
            errc::internal, "cannot create data directory " + opts.data_dir.string() + ": " + ec.message()};
    }
    std::filesystem::permissions(opts.data_dir, std::filesystem::perms::owner_all, ec);
    auto lock = dir_lock::acquire(opts.data_dir);
    if (!lock) {
        return lock.error();
    }
    // Migrated only once the keys are known to be right (service::open_keys).
    auto st = store::open(opts.data_dir / "modelrelay.db", opts.sync, false);
    if (!st) {
        return st.error();
    }
    std::unique_ptr<service> svc(new service(std::move(opts), std::move(*lock), std::move(*st)));
    if (auto r = svc->load(); !r) {
        return r.error();
    }
    if (auto r = svc->fail_unrestored_deployments(); !r) {
        return r.error();
    }
    return svc;
}

result<void> service::load() {
    // Rows first: the key set-up needs to know which secrets are still in the v0 format, and a wrong or
    // missing key must be refused before anything is written.
    // Phase times go to the start-up log line: start-up time is a tracked target (docs/benchmarks.md).
    using clock = std::chrono::steady_clock;
    const auto t_start = clock::now();
    const std::clock_t cpu_start = std::clock();  // all threads: what the work costs on a busy machine
    auto ms_since = [](clock::time_point t) {
        return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - t).count()
        );
    };
    const unsigned threads = worker_count(opts_.load_threads);
    auto rows = load_resources(*store_, threads);
    if (!rows) {
        return rows.error();
    }
    std::vector<loaded>& all = *rows;
    const std::string read_ms = ms_since(t_start);
    const auto t_keys = clock::now();
    if (auto r = open_keys(all); !r) {
        return r;
    }
    if (auto uuid = store_->get_meta("cluster_uuid")) {
        cluster_uuid_ = *uuid;
    } else {
        cluster_uuid_ = generate_id();
        batch b;
        b.meta_puts.emplace_back("cluster_uuid", cluster_uuid_);
        if (auto r = store_->apply(b); !r) {
            return r;
        }
    }
    if (auto node = store_->get_meta("node_id")) {
        node_id_ = *node;
    } else {
        node_id_ = generate_id();
        batch b;
        b.meta_puts.emplace_back("node_id", node_id_);
        if (auto r = store_->apply(b); !r) {
            return r;
        }
    }
    auto snap = std::make_shared<snapshot>();
    json::object persistent;
    if (auto s = store_->get_meta(settings_meta)) {
        // Unreadable stored settings refuse the start, as a corrupt row does: starting without them would
        // silently turn off what they turned on (access control, private addresses), and the next update
        // would overwrite them for good.
        boost::system::error_code ec;
        auto v = parse_json(*s, ec);
        if (ec || !v.is_object()) {
            return error{errc::internal, "corrupt persistent cluster settings in the database"};
        }
        persistent = std::move(v.get_object());
    }
    auto settings = cluster_settings::from_persistent(persistent, opts_.node_settings);
    if (!settings) {
        return settings.error();
    }
    snap->settings = std::make_shared<const cluster_settings>(std::move(*settings));
    const std::string keys_ms = ms_since(t_keys);
    const auto t_maps = clock::now();
    constexpr auto shards = shard_map<resource>::shard_count;
    std::vector<std::size_t> shard_of(all.size());
    std::array<std::array<std::size_t, shards>, kind_count> per_shard{};
    for (std::size_t i = 0; i < all.size(); ++i) {
        auto& next = snap->next_seq_no[idx(all[i].k)];
        next = std::max(next, all[i].res->seq_no + 1);
        shard_of[i] = shard_map<resource>::shard_of(all[i].res->id);
        ++per_shard[idx(all[i].k)][shard_of[i]];
    }
    // Each thread fills its own shards of every kind's map, so the maps need no lock; sized up front, so
    // they never rehash.
    std::array<shard_map<resource>::builder, kind_count> builders;
    parallel_for(
        threads,
        threads,
        [&](std::size_t part) {
            for (std::size_t k = 0; k < kind_count; ++k) {
                for (std::size_t sh = part; sh < shards; sh += threads) {
                    builders[k].reserve(sh, per_shard[k][sh]);
                }
            }
            for (std::size_t i = 0; i < all.size(); ++i) {
                if (shard_of[i] % threads == part) {
                    std::string id = all[i].res->id;
                    builders[idx(all[i].k)].put(std::move(id), std::move(all[i].res));
                }
            }
        },
        1
    );
    for (std::size_t i = 0; i < kind_count; ++i) {
        snap->resources[i] = builders[i].build();
    }
    index_all_group_names(*snap);
    const std::string maps_ms = ms_since(t_maps);
    const auto t_deploy = clock::now();
    redeploy_all(*snap);
    bind_inference_keys(*snap);
    const std::string deploy_ms = ms_since(t_deploy);
    notify(
        "registry loaded: " + std::to_string(all.size()) + " resources, " +
        std::to_string(snap->deployed.size()) + " models deployed, in " + ms_since(t_start) +
        " ms (read and parse " + read_ms + ", keys " + keys_ms + ", maps " + maps_ms + ", deploy " +
        deploy_ms + "; " + std::to_string(threads) + " threads, " +
        std::to_string((std::clock() - cpu_start) * 1000 / CLOCKS_PER_SEC) + " ms of CPU)"
    );
    for (std::size_t k = 0; k < kind_count; ++k) {
        snap->index_created[k] = snap->resources[k].size() > 0 ||
                                 store_->get_meta(index_meta_key(static_cast<kind>(k))).has_value();
    }
    publish(std::move(snap));
    return {};
}

result<void> service::begin_writes() {
    if (auto r = store_->begin_group(); !r) {
        return r;
    }
    staged_ = current();
    group_deks_.clear();
    group_thread_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    grouping_.store(true, std::memory_order_release);
    return {};
}

result<void> service::end_writes() {
    grouping_.store(false, std::memory_order_release);
    auto staged = std::move(staged_);
    staged_.reset();
    auto r = store_->commit_group();
    if (r) {
        publish(std::move(staged));
    } else if (!group_deks_.empty()) {
        keys_->remove(group_deks_);  // their rows were rolled back with the group
    }
    group_deks_.clear();
    return r;
}

stored_row make_row(kind k, const resource& r) {
    std::string owner = r.owner_key;
    if (const auto* o = r.doc().if_contains("owner"); owner.empty() && o != nullptr && o->is_object()) {
        if (const auto* n = o->get_object().if_contains("name"); n != nullptr && n->is_string()) {
            owner = std::string(n->get_string());
        }
    }
    const auto* roles = r.doc().if_contains("backend_roles");
    auto time_of = [&](std::string_view key) -> std::int64_t {
        const auto* t = r.doc().if_contains(key);
        return t != nullptr && t->is_int64() ? t->get_int64() : 0;
    };
    return stored_row{
        .kind = std::string(kind_name(k)),
        .id = r.id,
        .tenant_id = r.tenant_id,
        .version = r.version,
        .seq_no = r.seq_no,
        .doc = json::serialize(r.doc()),
        .owner = std::move(owner),
        .backend_roles = roles != nullptr && roles->is_array() ? json::serialize(*roles) : "[]",
        .created_time = time_of("created_time") != 0 ? time_of("created_time") : time_of("create_time"),
        .updated_time =
            time_of("last_updated_time") != 0 ? time_of("last_updated_time") : time_of("last_update_time"),
    };
}

result<std::optional<json::object>> service::connector_credential(
    connector_draft& draft,
    const json::object* stored,
    std::string_view tenant,
    kind k,
    std::string_view resource_id,
    std::string_view field_prefix
) {
    std::optional<json::object> out;
    if (draft.credential) {
        auto enc = encrypt_credentials(*draft.credential, tenant, k, resource_id, field_prefix);
        if (!enc) {
            return enc.error();
        }
        out = std::move(*enc);
    } else if (stored != nullptr) {
        out = *stored;
        out->erase(tls_key_credential);
    }
    const json::value* stored_key = stored != nullptr ? stored->if_contains(tls_key_credential) : nullptr;
    switch (draft.tls_key) {
        case tls_key_action::replace: {
            // The same helper as every credential, so a change of the encryption scheme covers the key.
            credential_list key{{std::string(tls_key_credential), std::move(draft.tls_key_pem.value)}};
            auto sealed = encrypt_credentials(key, tenant, k, resource_id, field_prefix);
            secure_wipe(key.front().second);
            if (!sealed) {
                secure_wipe(draft.tls_key_pem.value);
                return sealed.error();
            }
            if (!out) {
                out.emplace();
            }
            (*out)[tls_key_credential] = std::move(sealed->at(tls_key_credential));
            break;
        }
        case tls_key_action::keep:
            if (stored_key != nullptr) {
                if (!out) {
                    out.emplace();
                }
                (*out)[tls_key_credential] = *stored_key;
            }
            break;
        case tls_key_action::none:
            break;
    }
    secure_wipe(draft.tls_key_pem.value);
    return out;
}

decide_options service::access_options(const snapshot& s, const caller& who) const {
    return registry::access_options(*s.settings, who, opts_.strict_write_acl);
}

// ---------------------------------------------------------------------------------------------------------
// Cluster settings

result<json::object> service::put_settings(const json::value& body, bool flat) {
    auto cur = current();
    auto put = cur->settings->apply_put(body, flat);
    if (!put) {
        return put.error();
    }
    batch b;
    b.meta_puts.emplace_back(std::string(settings_meta), json::serialize(put->settings.persistent_json()));
    if (auto r = store_->apply(b); !r) {
        return r.error();
    }
    auto next = std::make_shared<snapshot>(*cur);
    next->settings = std::make_shared<const cluster_settings>(std::move(put->settings));
    publish(std::move(next));
    return std::move(put->response);
}

// ---------------------------------------------------------------------------------------------------------
// Connectors

result<json::object> service::create_connector(const json::object& body, const caller& who) {
    auto cur = current();
    const auto& settings = *cur->settings;
    if (auto off = settings.remote_inference_refusal()) {
        return *off;
    }
    const auto opts = access_options(*cur, who);
    const principal* user = who.user.get();
    auto draft = prepare_connector_create(
        body, connector_rules{settings, user != nullptr && opts.connector_acl, false}
    );
    if (!draft) {
        return draft.error();
    }
    // TransportCreateConnectorAction answers a dry run before the URL and access-control checks.
    if (draft->dry_run) {
        return json::object{{"connector_id", "dryRunConnector"}};
    }
    auto grant = validate_connector_acl(user, acl_fields_of(body), opts.connector_acl);
    if (!grant) {
        return grant.error();
    }
    std::string id;
    if (draft->requested_id) {
        if (auto r = validate_caller_id(*draft->requested_id, "connector id"); !r) {
            return r.error();
        }
        if (cur->find(kind::connector, *draft->requested_id) != nullptr) {
            return error{errc::conflict, "connector id '" + *draft->requested_id + "' already exists"};
        }
        id = *draft->requested_id;
    } else {
        do {
            id = generate_id();
        } while (cur->find(kind::connector, id) != nullptr);
    }
    const auto now = now_ms();
    auto res = std::make_shared<resource>();
    res->id = id;
    res->tenant_id = who.tenant_id;
    res->version = 1;
    res->seq_no = cur->next_seq_no[idx(kind::connector)];
    // R8: the owner is recorded whenever there is a principal, even with the ACL switch off.
    std::optional<json::object> owner;
    if (user != nullptr) {
        owner = owner_snapshot(*user);
        res->owner_key = owner_key(*user);
    }
    res->doc() = with_acl_fields(draft->doc, "actions", *grant, owner ? &*owner : nullptr);
    auto cred = connector_credential(*draft, nullptr, who.tenant_id, kind::connector, id, "credential.");
    if (!cred) {
        return cred.error();
    }
    if (*cred) {
        res->doc()["credential"] = std::move(**cred);
    }
    res->doc()["created_time"] = now;
    res->doc()["last_updated_time"] = now;
    if (!who.tenant_id.empty()) {
        res->doc()["tenant_id"] = who.tenant_id;
    }
    put_in_connector_order(res->doc());
    batch b;
    b.puts.push_back(make_row(kind::connector, *res));
    auto next = std::make_shared<snapshot>(*cur);
    mark_index_created(*next, b, kind::connector);
    if (auto r = store_->apply(b); !r) {
        return r.error();
    }
    next->next_seq_no[idx(kind::connector)] = res->seq_no + 1;
    next->resources[idx(kind::connector)] = cur->of(kind::connector).with(id, res);
    publish(std::move(next));
    return json::object{{"connector_id", id}};
}

result<json::object> service::update_connector(
    std::string_view id, const json::object& body, const caller& who
) {
    auto cur = current();
    const auto& settings = *cur->settings;
    if (auto off = settings.remote_inference_refusal()) {
        return *off;
    }
    const auto opts = access_options(*cur, who);
    const resource* existing = cur->find(kind::connector, id);
    if (existing == nullptr || !in_scope(*existing, who, opts)) {
        return connector_not_found(id);
    }
    if (auto d = authorize(who, action::connector_update, connector_acl(*existing), opts); !d) {
        return d.error();
    }
    const bool acl_active = who.user != nullptr && opts.connector_acl;
    auto draft =
        prepare_connector_update(existing->doc(), body, connector_rules{settings, acl_active, false});
    if (!draft) {
        return draft.error();
    }
    // UpdateConnectorTransportAction validates the merged connector (its URLs against the trusted list)
    // before it looks for deployed models that use it.
    std::vector<std::string> deployed_users;
    cur->deployed.for_each([&](const std::string& mid, const deployed_model& d) {
        if (d.connector_id == id) {
            deployed_users.push_back(mid);
        }
    });
    if (!deployed_users.empty()) {
        std::sort(deployed_users.begin(), deployed_users.end());
        std::string list;
        for (const auto& u : deployed_users) {
            list += (list.empty() ? "" : ", ") + u;
        }
        return error{
            errc::bad_request,
            std::to_string(deployed_users.size()) +
                " models are still using this connector, please undeploy the models first: [" + list + "]"};
    }
    auto res = std::make_shared<resource>(*existing);
    res->doc() = std::move(draft->doc);
    if (acl_active && has_acl_fields(body)) {
        // HttpConnector.update: a given access_mode / backend_roles replaces the stored one (an unknown
        // mode is ignored, add_all_backend_roles is not read). Who may do this is decide()'s business (R9).
        const auto fields = acl_fields_of(body);
        const auto current = connector_acl(*existing);
        acl_grant next{
            fields.access.value_or(current.access), fields.backend_roles.value_or(current.backend_roles)};
        res->doc() = with_acl_fields(res->doc(), "actions", next, nullptr);
    }
    const auto* stored = existing->doc().if_contains("credential");
    auto cred = connector_credential(
        *draft,
        stored != nullptr && stored->is_object() ? &stored->get_object() : nullptr,
        res->tenant_id,
        kind::connector,
        res->id,
        "credential."
    );
    if (!cred) {
        return cred.error();
    }
    if (*cred) {
        res->doc()["credential"] = std::move(**cred);
    } else {
        res->doc().stable_erase("credential");
    }
    res->doc()["last_updated_time"] = now_ms();
    put_in_connector_order(res->doc());
    res->version += 1;
    res->seq_no = cur->next_seq_no[idx(kind::connector)];
    batch b;
    b.puts.push_back(make_row(kind::connector, *res));
    if (auto r = store_->apply(b); !r) {
        return r.error();
    }
    auto next = std::make_shared<snapshot>(*cur);
    next->next_seq_no[idx(kind::connector)] = res->seq_no + 1;
    next->resources[idx(kind::connector)] = cur->of(kind::connector).with(res->id, res);
    publish(std::move(next));
    return write_response(kind::connector, *res, "updated");
}

result<json::object> service::get_connector(std::string_view id, const caller& who) const {
    auto cur = current();
    const auto opts = access_options(*cur, who);
    const resource* c = cur->find(kind::connector, id);
    if (c == nullptr && !cur->index_created[idx(kind::connector)]) {
        return not_found("Failed to find connector");  // ml-commons: the connector index does not exist
    }
    if (c == nullptr || !in_scope(*c, who, opts)) {
        return connector_not_found(id);
    }
    if (auto d = authorize(who, action::connector_get, connector_acl(*c), opts); !d) {
        return d.error();
    }
    auto view = connector_public_view(c->doc());
    if (!owner_shown(kind::connector, opts)) {
        view.stable_erase("owner");
    }
    return view;
}

result<json::object> service::delete_connector(std::string_view id, const caller& who) {
    auto cur = current();
    const auto opts = access_options(*cur, who);
    const resource* existing = cur->find(kind::connector, id);
    if (existing == nullptr || !in_scope(*existing, who, opts)) {
        // With connector ACL on ml-commons loads the connector first (404); otherwise it answers 200 with
        // result "not_found".
        if (who.user != nullptr && opts.connector_acl) {
            return connector_not_found(id);
        }
        resource ghost{std::string(id), who.tenant_id, 1, cur->next_seq_no[idx(kind::connector)], {}, {}};
        return write_response(kind::connector, ghost, "not_found");
    }
    if (auto d = authorize(who, action::connector_delete, connector_acl(*existing), opts); !d) {
        return d.error();
    }
    std::vector<std::string> users;
    cur->of(kind::model).for_each([&](const std::string& mid, const resource& m) {
        const auto* c = m.doc().if_contains("connector_id");
        if (c != nullptr && c->is_string() && c->get_string() == id) {
            users.push_back(mid);
        }
    });
    if (!users.empty()) {
        std::sort(users.begin(), users.end());
        std::string list;
        for (const auto& u : users) {
            list += (list.empty() ? "" : ", ") + u;
        }
        return error{
            errc::conflict,
            std::to_string(users.size()) +
                " models are still using this connector, please delete or update the models first: [" + list +
                "]"};
    }
    resource gone = *existing;
    gone.version += 1;
    gone.seq_no = cur->next_seq_no[idx(kind::connector)];
    batch b;
    b.erases.emplace_back(std::string(kind_name(kind::connector)), gone.id);
    if (auto r = store_->apply(b); !r) {
        return r.error();
    }
    auto next = std::make_shared<snapshot>(*cur);
    next->next_seq_no[idx(kind::connector)] = gone.seq_no + 1;
    next->resources[idx(kind::connector)] = cur->of(kind::connector).without(id);
    publish(std::move(next));
    return write_response(kind::connector, gone, "deleted");
}

}  // namespace modelrelay::registry
