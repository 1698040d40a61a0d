// File: changeset.hpp
// The write side of registry::service, shared by its translation units (service_models.cpp,
// service_controllers.cpp): the changes of one write against a base snapshot, committed as one SQLite
// batch, then published. Not for use outside the service (it reaches into its store).
#pragma once

#include <memory>

#include "registry/service.hpp"
#include "registry/snapshot.hpp"
#include "registry/store.hpp"

namespace modelrelay::registry {

// Records in `next` and `b` that kind k's index exists from this write on (snapshot::index_created).
inline void mark_index_created(snapshot& next, batch& b, kind k) {
    auto& created = next.index_created[static_cast<std::size_t>(k)];
    if (!created) {
        created = true;
        b.meta_puts.emplace_back(index_meta_key(k), "1");
    }
}

// Accumulates the changes of one write against a base snapshot, then commits them as one batch.
class changeset {
public:
    changeset(service& svc, const std::shared_ptr<const snapshot>& base)
        : svc_(svc), next_(std::make_shared<snapshot>(*base)) {}

    const snapshot& view() const { return *next_; }

    // Stores `r` as the new version of its resource (version and seq_no are assigned here).
    std::shared_ptr<const resource> put(kind k, resource r, bool is_new) {
        auto& seq = next_->next_seq_no[static_cast<std::size_t>(k)];
        r.seq_no = seq++;
        if (!is_new) {
            r.version += 1;
        }
        auto ptr = std::make_shared<const resource>(std::move(r));
        batch_.puts.push_back(make_row(k, *ptr));
        mark_index_created(*next_, batch_, k);
        // Only groups are indexed by name; the old version is looked up for them alone.
        auto before = k == kind::model_group ? next_->of(k).find_ptr(ptr->id) : nullptr;
        next_->resources[static_cast<std::size_t>(k)] =
            next_->resources[static_cast<std::size_t>(k)].with(ptr->id, ptr);
        if (k == kind::model_group) {
            index_group_name(*next_, before.get(), ptr.get());
        }
        return ptr;
    }
    resource erase(kind k, const resource& r) {
        resource gone = r;
        gone.version += 1;
        gone.seq_no = next_->next_seq_no[static_cast<std::size_t>(k)]++;
        batch_.erases.emplace_back(std::string(kind_name(k)), r.id);
        auto before = k == kind::model_group ? next_->of(k).find_ptr(r.id) : nullptr;
        next_->resources[static_cast<std::size_t>(k)] =
            next_->resources[static_cast<std::size_t>(k)].without(r.id);
        if (k == kind::model_group) {
            index_group_name(*next_, before.get(), nullptr);
        }
        return gone;
    }
    void set_deployed(std::shared_ptr<const deployed_model> d) {
        const std::string id = d->model_id;
        next_->deployed = next_->deployed.with(id, std::move(d));
    }
    void clear_deployed(std::string_view id) { next_->deployed = next_->deployed.without(id); }

    // The batch itself, for rows that are not resources (data key rotation's key rows).
    batch& rows() { return batch_; }

    result<void> commit() {
        if (auto r = svc_.store_->apply(batch_); !r) {
            return r;
        }
        svc_.publish(std::move(next_));
        return {};
    }

private:
    service& svc_;
    std::shared_ptr<snapshot> next_;
    batch batch_;
};

}  // namespace modelrelay::registry
