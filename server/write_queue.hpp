// File: write_queue.hpp
// Registry writes from the HTTP handlers reach the store executor through one queue, so writes that arrive
// while the store is busy commit together: one SQLite transaction and one snapshot publication for the lot
// (group commit, registry/store.hpp and service::begin_writes). Each write still validates and fails on its
// own, and each answer leaves only after the group's COMMIT, so a 200 still means "committed". Nothing waits
// to fill a group: a write arriving at an idle store runs alone at once.
#pragma once

#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "registry/error.hpp"
#include "registry/service.hpp"

namespace modelrelay::server {

class write_queue {
public:
    // One queued write: runs on the store executor, completes on its caller's executor.
    class job {
    public:
        virtual ~job() = default;
        virtual void run() = 0;
        // Ran without an exception and returned a value (not an error).
        virtual bool succeeded() const = 0;
        // The group's COMMIT failed: the write did not happen after all.
        virtual void fail(const registry::error& e) = 0;
        virtual void complete() = 0;
    };

    // `registry` is read on the store executor when a group starts (it is set after construction).
    write_queue(const std::unique_ptr<registry::service>& registry, boost::asio::any_io_executor store)
        : registry_(registry), store_(std::move(store)) {}

    void push(std::unique_ptr<job> j) {
        bool first = false;
        {
            std::lock_guard lock(mu_);
            first = pending_.empty();
            pending_.push_back(std::move(j));
        }
        if (first) {
            boost::asio::post(store_, [this] { drain(); });
        }
    }

private:
    void drain() {
        std::vector<std::unique_ptr<job>> jobs;
        {
            std::lock_guard lock(mu_);
            jobs.swap(pending_);
        }
        // A lone write needs no group (and no savepoint); without a group each write commits by itself.
        const bool grouped = jobs.size() > 1 && registry_ != nullptr && registry_->begin_writes().has_value();
        for (auto& j : jobs) {
            j->run();
        }
        if (grouped) {
            if (auto committed = registry_->end_writes(); !committed) {
                for (auto& j : jobs) {
                    if (j->succeeded()) {
                        j->fail(committed.error());
                    }
                }
            }
        }
        for (auto& j : jobs) {
            j->complete();
        }
    }

    const std::unique_ptr<registry::service>& registry_;
    boost::asio::any_io_executor store_;
    std::mutex mu_;
    std::vector<std::unique_ptr<job>> pending_;
};

namespace write_queue_detail {

// F returns registry::result<T>; H is the awaiting coroutine's completion handler.
template <class F, class H>
class job_for final : public write_queue::job {
public:
    using result_type = std::invoke_result_t<F>;
    job_for(F f, H h) : f_(std::move(f)), h_(std::move(h)) {}

    void run() override {
        try {
            r_.emplace(f_());
        } catch (...) {
            ep_ = std::current_exception();
        }
    }
    bool succeeded() const override { return !ep_ && r_ && r_->has_value(); }
    void fail(const registry::error& e) override { r_.emplace(result_type(e)); }
    void complete() override {
        auto ex = boost::asio::get_associated_executor(h_);
        boost::asio::dispatch(ex, [h = std::move(h_), ep = ep_, r = std::move(r_)]() mutable {
            std::move(h)(ep, std::move(r));
        });
    }

private:
    F f_;
    H h_;
    std::exception_ptr ep_;
    std::optional<result_type> r_;
};

}  // namespace write_queue_detail

}  // namespace modelrelay::server
