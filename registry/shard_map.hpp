// File: shard_map.hpp
// An immutable map from id to shared_ptr<const T>, split into 256 shards so that publishing a new snapshot
// after a write copies one shard (≈ n/256 entries) and the shard table (256 pointers) instead of the whole
// registry. Both costs grow with the other's shrinking; at 10,000 models (20,000 tasks) 256 registered
// models 1.5× as fast as 64 did, and 1,024 was no faster (docs/benchmarks.md, round 10). Readers share
// shards freely; nothing is ever mutated after publication. The shard table itself sits behind one
// pointer, so copying a map (every snapshot copy copies a dozen of them) is one reference count.
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
    static constexpr std::size_t shard_count = 256;

    shard_map() : shards_(empty_table()) {}

    const T* find(std::string_view id) const {
        const auto& s = *(*shards_)[index(id)];
        auto it = s.find(id);
        return it == s.end() ? nullptr : it->second.get();
    }
    value_ptr find_ptr(std::string_view id) const {
        const auto& s = *(*shards_)[index(id)];
        auto it = s.find(id);
        return it == s.end() ? nullptr : it->second;
    }
    std::size_t size() const { return size_; }
    // Which shard holds `id`: builders filled by several threads split the work by it.
    static std::size_t shard_of(std::string_view id) { return index(id); }

    // Copy-on-write updates: return a new map sharing every untouched shard.
    shard_map with(const std::string& id, value_ptr v) const {
        const auto i = index(id);
        auto copy = std::make_shared<shard>(*(*shards_)[i]);
        auto [it, inserted] = copy->insert_or_assign(id, std::move(v));
        return replaced(i, std::move(copy), size_ + (inserted ? 1 : 0));
    }
    shard_map without(std::string_view id) const {
        const auto i = index(id);
        const auto& s = *(*shards_)[i];
        if (s.find(id) == s.end()) {
            return *this;
        }
        auto copy = std::make_shared<shard>(s);
        copy->erase(copy->find(id));
        return replaced(i, std::move(copy), size_ - 1);
    }

    template <class F>
    void for_each(F&& f) const {
        for (const auto& s : *shards_) {
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
            auto table = std::make_shared<shard_table>();
            for (std::size_t i = 0; i < shard_count; ++i) {
                out.size_ += shards_[i].size();
                (*table)[i] = std::make_shared<const shard>(std::move(shards_[i]));
            }
            out.shards_ = std::move(table);
            return out;
        }

    private:
        std::array<shard, shard_count> shards_;
    };

private:
    using shard_table = std::array<std::shared_ptr<const shard>, shard_count>;

    static std::size_t index(std::string_view id) { return string_hash{}(id) % shard_count; }
    static const std::shared_ptr<const shard_table>& empty_table() {
        static const std::shared_ptr<const shard_table> empty = [] {
            auto table = std::make_shared<shard_table>();
            table->fill(std::make_shared<const shard>());
            return table;
        }();
        return empty;
    }
    // This map with shard `i` replaced: a new table sharing every other shard.
    shard_map replaced(std::size_t i, std::shared_ptr<const shard> s, std::size_t size) const {
        auto table = std::make_shared<shard_table>(*shards_);
        (*table)[i] = std::move(s);
        shard_map out;
        out.shards_ = std::move(table);
        out.size_ = size;
        return out;
    }

    std::shared_ptr<const shard_table> shards_;
    std::size_t size_ = 0;
};

}  // namespace modelrelay::registry
