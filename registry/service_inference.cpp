// File: service_inference.cpp
// Writes for Elasticsearch `_inference` endpoints, stored on the same registry as connectors and models (kind
// `inference_endpoint`). Like every service write: validate against the current snapshot, commit one SQLite
// batch, then publish. The api_key is encrypted like a connector credential (service_secrets.cpp), bound to
// the endpoint's tenant, id and field.
#include "registry/inference_endpoint.hpp"
#include "registry/json_util.hpp"
#include "registry/parallel.hpp"
#include "registry/service.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

constexpr auto endpoint_kind = kind::inference_endpoint;
constexpr std::size_t endpoint_idx = static_cast<std::size_t>(kind::inference_endpoint);
constexpr std::string_view api_key_field = "secret_settings.api_key";

secret_site api_key_site(const std::string& tenant, const std::string& id) {
    return {tenant, kind_name(endpoint_kind), id, api_key_field};
}

std::shared_ptr<const bound_api_key> bind_key(const resource& r, std::string plain) {
    auto b = std::make_shared<bound_api_key>();
    b->tenant_id = r.tenant_id;
    b->version = r.version;
    b->plain = std::move(plain);
    return b;
}

}  // namespace

result<json::object> service::put_inference_endpoint(
    const inference::endpoint_draft& draft, const caller& who
) {
    auto cur = current();
    if (cur->find(endpoint_kind, draft.inference_id) != nullptr) {
        return error{errc::already_exists, "Inference endpoint [" + draft.inference_id + "] already exists"};
    }
    if (!draft.api_key) {
        return error{errc::internal, "inference endpoint draft without api_key"};
    }
    const auto now = now_ms();
    auto res = std::make_shared<resource>();
    res->id = draft.inference_id;
    res->tenant_id = who.tenant_id;
    res->version = 1;
    res->seq_no = cur->next_seq_no[endpoint_idx];
    res->doc() = draft.doc;
    auto sealed = seal_secret(*draft.api_key, api_key_site(res->tenant_id, res->id));
    if (!sealed) {
        return sealed.error();
    }
    res->doc()["secret_settings"] = json::object{{"api_key", std::move(*sealed)}};
    res->doc()["created_time"] = now;
    res->doc()["last_updated_time"] = now;
    if (!who.tenant_id.empty()) {
        res->doc()["tenant_id"] = who.tenant_id;
    }
    batch b;
    b.puts.push_back(make_row(endpoint_kind, *res));
    if (auto r = store_->apply(b); !r) {
        return r.error();
    }
    auto next = std::make_shared<snapshot>(*cur);
    next->next_seq_no[endpoint_idx] = res->seq_no + 1;
    next->resources[endpoint_idx] = cur->of(endpoint_kind).with(res->id, res);
    next->inference_keys = cur->inference_keys.with(res->id, bind_key(*res, *draft.api_key));
    publish(std::move(next));
    return inference::endpoint_info(res->doc());
}

result<json::object> service::update_inference_endpoint(
    const inference::endpoint_draft& draft, const caller& who
) {
    auto cur = current();
    const resource* existing = cur->find(endpoint_kind, draft.inference_id);
    if (existing == nullptr || existing->tenant_id != who.tenant_id) {
        return error{
            errc::resource_not_found,
            "The inference endpoint [" + draft.inference_id + "] does not exist and cannot be updated"};
    }
    if (!draft.changed) {
        return inference::endpoint_info(existing->doc());
    }
    auto res = std::make_shared<resource>(*existing);
    json::object doc = draft.doc;
    if (draft.api_key) {
        auto sealed = seal_secret(*draft.api_key, api_key_site(res->tenant_id, res->id));
        if (!sealed) {
            return sealed.error();
        }
        doc["secret_settings"] = json::object{{"api_key", std::move(*sealed)}};
    } else if (const auto* s = existing->doc().if_contains("secret_settings")) {
        doc["secret_settings"] = *s;
    }
    doc["created_time"] =
        existing->doc().contains("created_time") ? existing->doc().at("created_time") : json::value(0);
    doc["last_updated_time"] = now_ms();
    if (!who.tenant_id.empty()) {
        doc["tenant_id"] = who.tenant_id;
    }
    res->doc() = std::move(doc);
    res->version += 1;
    res->seq_no = cur->next_seq_no[endpoint_idx];
    batch b;
    b.puts.push_back(make_row(endpoint_kind, *res));
    if (auto r = store_->apply(b); !r) {
        return r.error();
    }
    // The bound key follows the new version: the new plaintext, or the kept one.
    auto plain = draft.api_key ? result<std::string>(*draft.api_key) : inference_api_key(*existing);
    auto next = std::make_shared<snapshot>(*cur);
    next->next_seq_no[endpoint_idx] = res->seq_no + 1;
    next->resources[endpoint_idx] = cur->of(endpoint_kind).with(res->id, res);
    next->inference_keys = plain ? cur->inference_keys.with(res->id, bind_key(*res, std::move(*plain)))
                                 : cur->inference_keys.without(res->id);
    publish(std::move(next));
    return inference::endpoint_info(res->doc());
}

result<json::object> service::delete_inference_endpoint(
    std::string_view id, inference::task_type task, bool dry_run, const caller& who
) {
    auto cur = current();
    const resource* existing = cur->find(endpoint_kind, id);
    if (existing == nullptr || existing->tenant_id != who.tenant_id) {
        return inference::endpoint_not_found(id);
    }
    const auto stored = inference::stored_task(existing->doc());
    if (!inference::any_or_same(task, stored)) {
        return inference::requested_task_mismatch(task, stored);
    }
    // No ingest pipelines or semantic_text fields can reference an endpoint here, so the list is always
    // empty.
    if (dry_run) {
        return json::object{{"acknowledged", false}, {"pipelines", json::array{}}};
    }
    batch b;
    b.erases.emplace_back(std::string(kind_name(endpoint_kind)), existing->id);
    if (auto r = store_->apply(b); !r) {
        return r.error();
    }
    auto next = std::make_shared<snapshot>(*cur);
    next->next_seq_no[endpoint_idx] = cur->next_seq_no[endpoint_idx] + 1;
    next->resources[endpoint_idx] = cur->of(endpoint_kind).without(id);
    next->inference_keys = cur->inference_keys.without(id);
    publish(std::move(next));
    return json::object{{"acknowledged", true}, {"pipelines", json::array{}}};
}

void service::bind_inference_keys(snapshot& s) const {
    // One decryption per endpoint: spread over the start-up threads, each filling its own shards.
    std::vector<std::pair<const std::string*, const resource*>> endpoints;
    endpoints.reserve(s.of(endpoint_kind).size());
    s.of(endpoint_kind).for_each([&](const std::string& id, const resource& r) {
        endpoints.emplace_back(&id, &r);
    });
    const unsigned threads = worker_count(opts_.load_threads);
    shard_map<bound_api_key>::builder keys;
    parallel_for(
        threads,
        threads,
        [&](std::size_t part) {
            for (const auto& [id, r] : endpoints) {
                if (shard_map<bound_api_key>::shard_of(*id) % threads != part) {
                    continue;
                }
                if (auto plain = decrypt_api_key(*r)) {
                    keys.put(*id, bind_key(*r, std::move(*plain)));
                }
            }
        },
        1
    );
    s.inference_keys = keys.build();
}

result<std::string> service::inference_api_key(const resource& endpoint) const {
    // Bound at load or write time; decrypting is the fallback for a key that could not be bound then.
    if (const auto snap = current()) {
        if (const auto* b = snap->inference_keys.find(endpoint.id);
            b != nullptr && b->version == endpoint.version && b->tenant_id == endpoint.tenant_id) {
            return std::string(b->plain);
        }
    }
    return decrypt_api_key(endpoint);
}

result<std::string> service::decrypt_api_key(const resource& endpoint) const {
    const auto* secrets = endpoint.doc().if_contains("secret_settings");
    const json::value* key =
        secrets != nullptr && secrets->is_object() ? field(secrets->get_object(), "api_key") : nullptr;
    if (key == nullptr || !key->is_string()) {
        return error{errc::internal, "inference endpoint " + endpoint.id + " has no stored api_key"};
    }
    auto plain = keys_->decrypt(key->get_string(), api_key_site(endpoint.tenant_id, endpoint.id));
    if (!plain) {
        return error{errc::internal, "cannot decrypt the api_key of inference endpoint " + endpoint.id};
    }
    return plain;
}

}  // namespace modelrelay::registry
