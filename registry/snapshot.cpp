// File: snapshot.cpp
#include "registry/snapshot.hpp"

#include <algorithm>

#include <boost/json/serialize.hpp>

#include "registry/crypto.hpp"
#include "registry/json_util.hpp"
#include "registry/parameters.hpp"

namespace modelrelay::registry {

bound_api_key::~bound_api_key() {
    secure_wipe(plain);
}

std::string_view kind_name(kind k) {
    switch (k) {
        case kind::connector:
            return "connector";
        case kind::model_group:
            return "model_group";
        case kind::model:
            return "model";
        case kind::task:
            return "task";
        case kind::inference_endpoint:
            return "inference_endpoint";
        case kind::controller:
            return "controller";
    }
    return "unknown";
}

std::optional<kind> kind_from_name(std::string_view n) {
    for (auto k :
         {kind::connector,
          kind::model_group,
          kind::model,
          kind::task,
          kind::inference_endpoint,
          kind::controller}) {
        if (kind_name(k) == n) {
            return k;
        }
    }
    return std::nullopt;
}

std::string_view index_name(kind k) {
    switch (k) {
        case kind::connector:
            return ".plugins-ml-connector";
        case kind::model_group:
            return ".plugins-ml-model-group";
        case kind::model:
            return ".plugins-ml-model";
        case kind::task:
            return ".plugins-ml-task";
        case kind::inference_endpoint:
            return ".inference";
        case kind::controller:
            return ".plugins-ml-controller";
    }
    return "";
}

std::string index_meta_key(kind k) {
    return "index_created:" + std::string(index_name(k));
}

namespace {

std::optional<std::string> group_key_of(const resource* g) {
    if (g == nullptr) {
        return std::nullopt;
    }
    const auto* n = g->doc().if_contains("name");
    if (n == nullptr || !n->is_string()) {
        return std::nullopt;
    }
    return group_name_key(g->tenant_id, n->get_string());
}

}  // namespace

std::string group_name_key(std::string_view tenant, std::string_view name) {
    std::string key;
    key.reserve(tenant.size() + 1 + name.size());
    key.append(tenant);
    key.push_back('\0');  // tenant ids never hold NUL, so no two (tenant, name) pairs share a key
    key.append(name);
    return key;
}

const resource* snapshot::find_group_by_name(std::string_view name, std::string_view tenant) const {
    const std::string* id = group_ids_by_name.find(group_name_key(tenant, name));
    return id == nullptr ? nullptr : find(kind::model_group, *id);
}

void index_group_name(snapshot& s, const resource* before, const resource* after) {
    const auto old_key = group_key_of(before);
    const auto new_key = group_key_of(after);
    if (old_key && old_key != new_key) {
        const std::string* indexed = s.group_ids_by_name.find(*old_key);
        if (indexed != nullptr && *indexed == before->id) {
            s.group_ids_by_name = s.group_ids_by_name.without(*old_key);
            // Rare (a delete or a rename): another group of that name, if any, takes the entry.
            s.of(kind::model_group).for_each([&](const std::string& id, const resource& g) {
                if (id != before->id && group_key_of(&g) == old_key) {
                    s.group_ids_by_name =
                        s.group_ids_by_name.with(*old_key, std::make_shared<const std::string>(id));
                }
            });
        }
    }
    if (new_key) {
        const std::string* indexed = s.group_ids_by_name.find(*new_key);
        if (indexed == nullptr || *indexed != after->id) {
            s.group_ids_by_name =
                s.group_ids_by_name.with(*new_key, std::make_shared<const std::string>(after->id));
        }
    }
}

void index_all_group_names(snapshot& s) {
    shard_map<std::string>::builder b;
    s.of(kind::model_group).for_each([&](const std::string& id, const resource& g) {
        if (auto key = group_key_of(&g)) {
            b.put(std::move(*key), std::make_shared<const std::string>(id));
        }
    });
    s.group_ids_by_name = b.build();
}

void put_in_order(boost::json::object& doc, std::span<const std::string_view> order) {
    boost::json::object out(doc.storage());
    out.reserve(doc.size());
    for (const auto key : order) {
        if (auto* v = doc.if_contains(key)) {
            out.emplace(key, std::move(*v));
        }
    }
    for (auto& kv : doc) {
        if (std::find(order.begin(), order.end(), kv.key()) == order.end()) {
            out.emplace(kv.key(), std::move(kv.value()));
        }
    }
    doc = std::move(out);
}

std::optional<std::string> scalar_text(const boost::json::value& v) {
    switch (v.kind()) {
        case boost::json::kind::string:
            return std::string(v.get_string());
        case boost::json::kind::bool_:
            return std::string(v.get_bool() ? "true" : "false");
        case boost::json::kind::int64:
        case boost::json::kind::uint64:
            return boost::json::serialize(v);
        case boost::json::kind::double_:
            // parser.text() gives the number as written; the tree kept only its value, and `10.5` is how
            // it is almost always written (Boost.JSON would print `1.05E1`).
            return plain_double_to_string(v.get_double());
        default:
            return std::nullopt;
    }
}

}  // namespace modelrelay::registry
