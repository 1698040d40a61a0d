// File: key_gate.cpp
#include "server/key_gate.hpp"

#include <chrono>

#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "registry/json_parse.hpp"
#include "server/app.hpp"
#include "server/log.hpp"

namespace modelrelay::server {

namespace json = boost::json;

namespace {

constexpr std::string_view spend_kind = "key_spend";

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch()
    )
        .count();
}

std::int64_t int_member(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_int64() ? v->get_int64() : 0;
}

}  // namespace

key_gate::key_gate(app& a, std::unique_ptr<registry::store> st)
    : app_(a), store_(std::move(st)), limiter_(wall_ms) {}

registry::result<std::unique_ptr<key_gate>> key_gate::open(
    app& a, const std::filesystem::path& file, registry::durability d, const registry::identity_state& keys
) {
    auto st = registry::store::open(file, d);
    if (!st) {
        return st.error();
    }
    std::unique_ptr<key_gate> gate(new key_gate(a, std::move(*st)));
    for (const auto& row : gate->store_->load_all()) {
        if (row.kind != spend_kind) {
            continue;
        }
        const auto* k = keys.find_key(row.id);
        boost::system::error_code ec;
        const auto doc = registry::parse_json(row.doc, ec);
        if (k == nullptr || !k->has_limits || ec || !doc.is_object()) {
            continue;
        }
        gate->limiter_.restore(
            registry::key_spend{
                row.id, int_member(doc.get_object(), "period_start"), int_member(doc.get_object(), "spent")},
            k->limits,
            k->creation
        );
    }
    return gate;
}

void key_gate::spend_changed() {
    if (queued_.exchange(true)) {
        return;  // the queued write will pick this charge up too
    }
    boost::asio::post(app_.store_executor, [this] { write(); });
}

void key_gate::write() {
    // Cleared before taking the changes: a charge after this point queues the next write.
    queued_.store(false);
    const auto changed = limiter_.take_dirty();
    if (changed.empty()) {
        return;
    }
    registry::batch b;
    const std::int64_t now = wall_ms();
    for (const auto& s : changed) {
        registry::stored_row row;
        row.kind = std::string(spend_kind);
        row.id = s.key_id;
        row.doc = json::serialize(json::object{{"period_start", s.period_start_ms}, {"spent", s.spent}});
        row.created_time = now;
        row.updated_time = now;
        b.puts.push_back(std::move(row));
    }
    if (auto r = store_->apply(b); !r) {
        // The in-memory budget stays authoritative; only a restart would forget these charges.
        log::error("cannot save API key spend", {{"reason", r.error().reason}});
    }
}

}  // namespace modelrelay::server
