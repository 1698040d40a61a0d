// File: shard_map.hpp
// An immutable map from id to shared_ptr<const T>, split into 64 shards so that publishing a new snapshot
// after a write copies one shard (≈ n/64 pointers) instead of the whole registry. Readers share shards
// freely; nothing is ever mutated after publication.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "registry/string_hash.hpp"

namespace modelrelay::registry {

template <class T>
class shard_map {
public:
    using value_ptr = std::shared_ptr<const T>;
    using shard = std::unordered_map<std::string, value_ptr, string_hash, std::equal_to<>>;
    static constexpr std::size_t shard_count = 64;

    shard_map() {
        static const auto empty = std::make_shared<const shard>();
        shards_.fill(empty);
    }

    const T* find(std::string_view id) const {
        const auto& s = *shards_[index(id)];
        auto it = s.find(id);
        return it == s.end() ? nullptr : it->second.get();
    }
    value_ptr find_ptr(std::string_view id) const {
        const auto& s = *shards_[index(id)];
        auto it = s.find(id);
        return it == s.end() ? nullptr : it->second;
    }
    std::size_t size() const { return size_; }
    // Which shard holds `id`: builders filled by several threads split the work by it.
    static std::size_t shard_of(std::string_view id) { return index(id); }

    // Copy-on-write updates: return a new map sharing every untouched shard.
    shard_map with(const std::string& id, value_ptr v) const {
        shard_map out = *this;
        auto copy = std::make_shared<shard>(*shards_[index(id)]);
        auto [it, inserted] = copy->insert_or_assign(id, std::move(v));
        out.size_ += inserted ? 1 : 0;
        out.shards_[index(id)] = std::move(copy);
        return out;
    }
    shard_map without(std::string_view id) const {
        const auto i = index(id);
        if (shards_[i]->find(id) == shards_[i]->end()) {
            return *this;
        }
        shard_map out = *this;
        auto copy = std::make_shared<shard>(*shards_[i]);
        copy->erase(copy->find(id));
        out.size_ -= 1;
        out.shards_[i] = std::move(copy);
        return out;
    }

    template <class F>
    void for_each(F&& f) const {
        for (const auto& s : shards_) {
            for (const auto& [k, v] : *s) {
                f(k, *v);
            }
        }
    }

    // Bulk construction at start-up, without copy-on-write costs. Threads may put() at the same time when
    // no two of them put ids of the same shard (shard_of).
    class builder {
    public:
        void reserve(std::size_t shard, std::size_t n) { shards_[shard].reserve(n); }
        void put(std::string id, value_ptr v) {
            auto& s = shards_[index(id)];
            s.insert_or_assign(std::move(id), std::move(v));
        }
        shard_map build() {
            shard_map out;
            for (std::size_t i = 0; i < shard_count; ++i) {
                out.size_ += shards_[i].size();
                out.shards_[i] = std::make_shared<const shard>(std::move(shards_[i]));
            }
            return out;
        }

    private:
        std::array<shard, shard_count> shards_;
    };

private:
    static std::size_t index(std::string_view id) { return string_hash{}(id) % shard_count; }

    std::array<std::shared_ptr<const shard>, shard_count> shards_;
    std::size_t size_ = 0;
};

}  // namespace modelrelay::registry
