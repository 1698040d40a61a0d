// File: snapshot.hpp
// The immutable in-memory view every read is served from. A new snapshot is published after each
// committed write (copy-on-write per shard, see shard_map.hpp); readers take it with one atomic
// shared_ptr load and never wait on SQLite.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/json/object.hpp>

#include "registry/deployed_model.hpp"
#include "registry/settings.hpp"
#include "registry/shard_map.hpp"
#include "registry/stored_doc.hpp"

namespace modelrelay::registry {

// inference_endpoint: Elasticsearch `_inference` endpoints (registry/inference_endpoint.hpp), listed only by
// the
// `_inference` GETs, never by an ml-commons search.
// controller: ml-commons' per-user rate limiters of a model (id = the model id, registry/controller.hpp).
enum class kind { connector, model_group, model, task, inference_endpoint, controller };
constexpr std::size_t kind_count = 6;

// The row name in SQLite and the OpenSearch system index each kind stands for.
std::string_view kind_name(kind k);
std::optional<kind> kind_from_name(std::string_view name);  // nullopt for a name no kind has
std::string_view index_name(kind k);

// One stored resource as readers see it: the canonical document (credentials still ciphertext).
struct resource {
    std::string id;
    std::string tenant_id;
    std::int64_t version = 1;
    std::int64_t seq_no = 0;
    stored_doc document;
    // "realm:name" of the principal that created it (R8), "" when none; the store's `owner` column. Kept
    // out of the document so GET answers the ml-commons shape.
    std::string owner_key;

    // The document, parsed on first read (stored_doc.hpp); the mutable one only before it is shared.
    const boost::json::object& doc() const { return document.get(); }
    boost::json::object& doc() { return document.get_mut(); }
};

// The plain api_key of an `_inference` endpoint, decrypted once when the endpoint is loaded or written (as
// a deployed model binds its credentials at deploy time), so inference calls do not decrypt per request.
// Wiped when the last snapshot holding it goes.
struct bound_api_key {
    std::string tenant_id;
    std::int64_t version = 0;  // of the endpoint it was decrypted from
    std::string plain;
    ~bound_api_key();
};

struct snapshot {
    std::shared_ptr<const cluster_settings> settings;
    std::array<shard_map<resource>, kind_count> resources;
    std::array<std::int64_t, kind_count> next_seq_no{};
    shard_map<deployed_model> deployed;       // models ready for predict, by model id
    shard_map<bound_api_key> inference_keys;  // by _inference endpoint id
    // Model group ids by group_name_key: register and group updates look groups up by name, and a scan
    // of every group made registering n models O(n²). Kept by index_group_name.
    shard_map<std::string> group_ids_by_name;
    // Whether the kind's system index exists in ml-commons' terms: a resource of that kind was written at
    // least once (ml-commons creates the index on the first write and never drops it). A few not-found
    // texts differ before that (spec §1.1-§1.3). Sticky; kept in `meta` (index_meta_key) across restarts.
    std::array<bool, kind_count> index_created{};

    const shard_map<resource>& of(kind k) const { return resources[static_cast<std::size_t>(k)]; }
    const resource* find(kind k, std::string_view id) const { return of(k).find(id); }
    // The tenant's model group called `name`, or null.
    const resource* find_group_by_name(std::string_view name, std::string_view tenant) const;
};

// The `meta` key that records that kind k's index was created.
std::string index_meta_key(kind k);

// The group_ids_by_name key of a group name in a tenant.
std::string group_name_key(std::string_view tenant, std::string_view name);
// Updates group_ids_by_name after a model group changed from `before` to `after` (null: it did not exist /
// no longer exists); s.resources must already hold the change. Should two groups share a name (the API
// refuses it, but a data directory written otherwise may hold it), the index names one of them, and the
// other once that one goes.
void index_group_name(snapshot& s, const resource* before, const resource* after);
// group_ids_by_name for every group in s.resources (start-up).
void index_all_group_names(snapshot& s);

}  // namespace modelrelay::registry
