// File: settings.cpp
// The update rules follow OpenSearch's `AbstractScopedSettings.updateSettings` / `SettingsUpdater`:
// transient is applied before persistent; within a section keys are visited in sorted order (a TreeMap in
// Java); a null value deletes (exact dynamic keys, archived keys, or any key ending in `*`, which is then
// matched against the stored keys with Regex.simpleMatch); deletes are applied before the section's new
// values, so `{"a.*": null, "a.b": 1}` leaves `a.b` set.
#include "registry/settings.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/string.hpp>

#include "registry/json_util.hpp"
#include "registry/regex_guard.hpp"
#include "registry/url_shape.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

struct cluster_settings::state {
    value_map persistent;
    value_map transient;
    value_map node;
    std::uint64_t version = 0;

    // Derived by finish(): effective values of the keys modelrelay acts on.
    bool remote_inference_enabled = true;
    bool private_ip_enabled = false;
    bool connector_access_control_enabled = false;
    bool model_access_control_enabled = false;
    bool multi_tenancy_enabled = false;
    bool model_auto_deploy_enabled = true;
    bool model_auto_redeploy_enabled = true;
    long long model_auto_redeploy_lifetime_retry_times = 3;
    bool stream_enabled = false;
    bool controller_enabled = true;
    long long monitoring_request_count = 100;
    long long max_json_size = 0;
    long long sync_up_job_interval_seconds = 0;
    std::shared_ptr<const regex_list> trusted_endpoints;
    std::shared_ptr<const regex_list> trusted_private_endpoints;
    std::shared_ptr<const regex_list> restricted_ip_patterns;
};

namespace {

constexpr std::string_view archived_prefix = "archived.";

// Flattened request section: key -> new value, or nullopt for a delete.
using update_map = std::map<std::string, std::optional<setting_value>, std::less<>>;

const setting_def& require_def(std::string_view key) {
    const auto* def = find_setting(key);
    if (def == nullptr) {
        throw std::logic_error("unregistered setting [" + std::string(key) + "]");
    }
    return *def;
}

// A leaf of a settings body: a list of scalar texts, null (a reset), or a scalar's text.
result<std::optional<setting_value>> leaf_value(const json::value& v) {
    if (v.is_array()) {
        std::vector<std::string> items;
        for (const auto& e : v.get_array()) {
            auto text = json_scalar_text(e);
            if (!text) {
                return error{errc::illegal_state, "only value lists are allowed in serialized settings"};
            }
            items.push_back(std::move(*text));
        }
        return std::optional<setting_value>(std::move(items));
    }
    if (v.is_null()) {
        return std::optional<setting_value>();
    }
    return std::optional<setting_value>(*json_scalar_text(v));
}

// Settings.fromXContent: nested objects join their keys with '.', arrays become lists of scalar texts.
// One key spelled twice (`{"a":{"b":1},"a.b":2}`) is its OpenSearchParseException, without the line and
// column Jackson would add. (A key written twice in one object is refused by the JSON reader first.)
result<void> flatten(const json::object& obj, const std::string& prefix, update_map& out) {
    for (const auto& kv : obj) {
        std::string key = prefix + std::string(kv.key());
        const auto& v = kv.value();
        if (v.is_object()) {
            if (auto r = flatten(v.get_object(), key + ".", out); !r) {
                return r;
            }
            continue;
        }
        auto leaf = leaf_value(v);
        if (!leaf) {
            return leaf.error();
        }
        if (const auto it = out.find(key); it != out.end()) {
            const auto shown = [](const std::optional<setting_value>& x) {
                return x ? setting_text(*x) : std::string("null");
            };
            return error{
                errc::parse_failed,
                "duplicate settings key [" + key + "] found, previous value [" + shown(it->second) +
                    "], current value [" + shown(*leaf) + "]"};
        }
        out.emplace(std::move(key), std::move(*leaf));
    }
    return {};
}

// One of `persistent` / `transient` of the request body.
result<void> read_section(const json::object& body, std::string_view name, update_map& out) {
    const auto* v = body.if_contains(name);
    if (v == nullptr) {
        return {};
    }
    if (!v->is_object()) {
        return error{
            errc::parse_failed,
            "[cluster_update_settings_request] " + std::string(name) +
                " doesn't support values of type: " + std::string(token_name(*v))};
    }
    return flatten(v->get_object(), "", out);
}

// Regex.simpleMatch: '*' matches any run of characters, everything else literally.
bool simple_match(std::string_view pattern, std::string_view str) {
    std::size_t p = 0;
    std::size_t s = 0;
    std::size_t star = std::string_view::npos;
    std::size_t resume = 0;
    while (s < str.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = s;
        } else if (p < pattern.size() && pattern[p] == str[s]) {
            ++p;
            ++s;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') {
        ++p;
    }
    return p == pattern.size();
}

// AbstractScopedSettings.isValidDelete with onlyDynamic = true.
bool is_valid_delete(std::string_view key) {
    const auto* def = find_setting(key);
    if (def != nullptr) {
        return def->scope == setting_scope::dynamic;
    }
    return key.starts_with(archived_prefix);
}

// AbstractScopedSettings.updateSettings for one section. `applied` receives the keys set (not deleted).
result<void> apply_section(
    const update_map& updates,
    cluster_settings::value_map& target,
    std::string_view type,
    cluster_settings::value_map& applied
) {
    std::vector<std::string_view> deletes;
    for (const auto& [key, value] : updates) {
        const bool is_delete = !value.has_value();
        if (is_delete && (is_valid_delete(key) || key.ends_with('*'))) {
            deletes.push_back(key);
            continue;
        }
        const auto* def = find_setting(key);
        if (def == nullptr) {
            return illegal_argument(std::string(type) + " setting [" + key + "], not recognized");
        }
        if (!is_delete && def->scope == setting_scope::dynamic) {
            if (auto r = validate_value(*def, *value); !r) {
                return r;
            }
            applied.insert_or_assign(key, *value);
            continue;
        }
        if (def->scope == setting_scope::final_only) {
            return illegal_argument("final " + std::string(type) + " setting [" + key + "], not updateable");
        }
        return illegal_argument(std::string(type) + " setting [" + key + "], not dynamically updateable");
    }
    for (const auto pattern : deletes) {
        for (auto it = target.begin(); it != target.end();) {
            if (simple_match(pattern, it->first) && is_valid_delete(it->first)) {
                it = target.erase(it);
            } else {
                ++it;
            }
        }
    }
    for (const auto& [key, value] : applied) {
        target.insert_or_assign(key, value);
    }
    return {};
}

// Settings.getAsStructuredMap: "a.b.c" -> {"a":{"b":{"c":..}}}. A key that collides with a value already
// placed falls back to dotted notation at that level, as OpenSearch does.
void put_nested(json::object& root, std::string_view key, json::value v) {
    json::object* level = &root;
    std::string_view rest = key;
    while (true) {
        const auto dot = rest.find('.');
        if (dot == std::string_view::npos) {
            if (auto* existing = level->if_contains(rest); existing != nullptr && existing->is_object()) {
                json::object inner = std::move(existing->get_object());
                level->erase(rest);
                for (auto& kv : inner) {
                    (*level)[std::string(rest) + "." + std::string(kv.key())] = std::move(kv.value());
                }
            }
            (*level)[rest] = std::move(v);
            return;
        }
        const auto head = rest.substr(0, dot);
        auto* existing = level->if_contains(head);
        if (existing == nullptr) {
            level = &(*level)[head].emplace_object();
        } else if (existing->is_object()) {
            level = &existing->get_object();
        } else {
            (*level)[rest] = std::move(v);
            return;
        }
        rest = rest.substr(dot + 1);
    }
}

json::object render_map(const cluster_settings::value_map& values, bool flat) {
    json::object out;
    for (const auto& [key, value] : values) {
        if (flat) {
            out[key] = to_json(value);
        } else {
            put_nested(out, key, to_json(value));
        }
    }
    return out;
}

const setting_value* find_value(const cluster_settings::value_map& m, std::string_view key) {
    const auto it = m.find(key);
    return it == m.end() ? nullptr : &it->second;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Construction

namespace {

// Effective value of `def` in `s`: transient > persistent > node > default.
setting_value effective_value(
    const cluster_settings::value_map& transient,
    const cluster_settings::value_map& persistent,
    const cluster_settings::value_map& node,
    const setting_def& def
) {
    for (const auto* layer : {&transient, &persistent, &node}) {
        if (const auto* v = find_value(*layer, def.key)) {
            return *v;
        }
    }
    return default_value(def);
}

// A compiled regex list for `key`, reusing `previous` when the patterns did not change.
std::shared_ptr<const regex_list> compiled_list(
    std::vector<std::string> patterns, const std::shared_ptr<const regex_list>& previous
) {
    if (previous && previous->patterns() == patterns) {
        return previous;
    }
    auto compiled = regex_list::compile(patterns);
    if (!compiled) {
        // Every stored value passed validate_value, which compiles the same patterns.
        throw std::logic_error("validated regex list failed to compile: " + compiled.error().reason);
    }
    return std::make_shared<const regex_list>(std::move(*compiled));
}

}  // namespace

cluster_settings::cluster_settings() : state_(finish(state{}, nullptr)) {}

cluster_settings::cluster_settings(std::shared_ptr<const state> s) : state_(std::move(s)) {}

std::shared_ptr<const cluster_settings::state> cluster_settings::finish(state next, const state* previous) {
    const auto value = [&next](std::string_view key) {
        const auto& def = require_def(key);
        return std::pair<const setting_def&, setting_value>(
            def, effective_value(next.transient, next.persistent, next.node, def)
        );
    };
    const auto flag = [&value](std::string_view key) {
        auto [def, v] = value(key);
        return read_bool(def, v);
    };
    const auto number = [&value](std::string_view key) {
        auto [def, v] = value(key);
        return read_int(def, v);
    };
    const auto patterns = [&value](std::string_view key) {
        auto [def, v] = value(key);
        return list_items(v);
    };
    next.remote_inference_enabled = flag(setting_keys::remote_inference_enabled);
    next.private_ip_enabled = flag(setting_keys::connector_private_ip_enabled);
    next.connector_access_control_enabled = flag(setting_keys::connector_access_control_enabled);
    next.model_access_control_enabled = flag(setting_keys::model_access_control_enabled);
    next.multi_tenancy_enabled = flag(setting_keys::multi_tenancy_enabled);
    next.model_auto_deploy_enabled = flag(setting_keys::model_auto_deploy_enable);
    next.model_auto_redeploy_enabled = flag(setting_keys::model_auto_redeploy_enable);
    next.model_auto_redeploy_lifetime_retry_times =
        number(setting_keys::model_auto_redeploy_lifetime_retry_times);
    next.stream_enabled = flag(setting_keys::stream_enabled);
    next.controller_enabled = flag(setting_keys::controller_enabled);
    next.monitoring_request_count = number(setting_keys::monitoring_request_count);
    next.max_json_size = number(setting_keys::max_json_size);
    next.sync_up_job_interval_seconds = number(setting_keys::sync_up_job_interval_in_seconds);

    static const std::shared_ptr<const regex_list> none;
    next.trusted_endpoints = compiled_list(
        patterns(setting_keys::trusted_connector_endpoints_regex),
        previous ? previous->trusted_endpoints : none
    );
    next.trusted_private_endpoints = compiled_list(
        patterns(setting_keys::trusted_connector_private_endpoints_regex),
        previous ? previous->trusted_private_endpoints : none
    );
    next.restricted_ip_patterns = compiled_list(
        patterns(setting_keys::connector_restricted_ip_patterns),
        previous ? previous->restricted_ip_patterns : none
    );
    return std::make_shared<const state>(std::move(next));
}

result<cluster_settings> cluster_settings::with_node_settings(const json::object& node) const {
    update_map flat;
    if (auto r = flatten(node, "", flat); !r) {
        return r.error();
    }
    state next = *state_;
    next.node.clear();
    for (auto& [key, value] : flat) {
        if (!value) {
            continue;
        }
        const auto* def = find_setting(key);
        if (def == nullptr) {
            return illegal_argument(
                "unknown setting [" + key +
                "] please check that any required plugins are installed, or check the breaking changes "
                "documentation for removed settings"
            );
        }
        if (auto r = validate_value(*def, *value); !r) {
            return r.error();
        }
        next.node.insert_or_assign(key, std::move(*value));
    }
    ++next.version;
    return cluster_settings(finish(std::move(next), state_.get()));
}

result<cluster_settings> cluster_settings::from_persistent(
    const json::object& persistent, const json::object& node
) {
    update_map flat;
    if (auto r = flatten(persistent, "", flat); !r) {
        return error{errc::parse_failed, "stored persistent settings: " + r.error().reason};
    }
    state next;
    for (auto& [key, value] : flat) {
        if (!value) {
            continue;
        }
        if (key.starts_with(archived_prefix)) {
            next.persistent.insert_or_assign(key, std::move(*value));
            continue;
        }
        const auto* def = find_setting(key);
        const bool keep =
            def != nullptr && def->scope == setting_scope::dynamic && validate_value(*def, *value);
        next.persistent.insert_or_assign(keep ? key : std::string(archived_prefix) + key, std::move(*value));
    }
    cluster_settings loaded(finish(std::move(next), nullptr));
    if (node.empty()) {
        return loaded;
    }
    return loaded.with_node_settings(node);
}

// ---------------------------------------------------------------------------------------------------------
// PUT / GET

result<cluster_settings::put_result> cluster_settings::apply_put(const json::value& body, bool flat) const {
    update_map transient_updates;
    update_map persistent_updates;
    if (!body.is_null()) {
        if (!body.is_object()) {
            return error{
                errc::parse_failed,
                "[cluster_update_settings_request] Expected START_OBJECT but was: " +
                    std::string(token_name(body))};
        }
        if (auto r = read_section(body.get_object(), "persistent", persistent_updates); !r) {
            return r.error();
        }
        if (auto r = read_section(body.get_object(), "transient", transient_updates); !r) {
            return r.error();
        }
    }
    if (transient_updates.empty() && persistent_updates.empty()) {
        return error{errc::validation_failed, "Validation Failed: 1: no settings to update;"};
    }

    state next = *state_;
    value_map set_transient;
    value_map set_persistent;
    if (auto r = apply_section(transient_updates, next.transient, "transient", set_transient); !r) {
        return r.error();
    }
    if (auto r = apply_section(persistent_updates, next.persistent, "persistent", set_persistent); !r) {
        return r.error();
    }
    ++next.version;

    json::object response;
    response["acknowledged"] = true;
    response["persistent"] = render_map(set_persistent, flat);
    response["transient"] = render_map(set_transient, flat);
    return put_result{cluster_settings(finish(std::move(next), state_.get())), std::move(response)};
}

json::object cluster_settings::render(bool flat, bool include_defaults) const {
    json::object out;
    out["persistent"] = render_map(state_->persistent, flat);
    out["transient"] = render_map(state_->transient, flat);
    if (include_defaults) {
        value_map defaults;
        for (const auto& def : setting_table()) {
            if (find_value(state_->persistent, def.key) != nullptr ||
                find_value(state_->transient, def.key) != nullptr) {
                continue;
            }
            const auto* node = find_value(state_->node, def.key);
            defaults.emplace(std::string(def.key), node != nullptr ? *node : default_value(def));
        }
        if (!defaults.empty()) {
            out["defaults"] = render_map(defaults, flat);
        }
    }
    return out;
}

json::object cluster_settings::persistent_json() const {
    return render_map(state_->persistent, true);
}

const cluster_settings::value_map& cluster_settings::persistent() const noexcept {
    return state_->persistent;
}
const cluster_settings::value_map& cluster_settings::transient_values() const noexcept {
    return state_->transient;
}
const cluster_settings::value_map& cluster_settings::node_values() const noexcept {
    return state_->node;
}
std::uint64_t cluster_settings::version() const noexcept {
    return state_->version;
}

// ---------------------------------------------------------------------------------------------------------
// Typed access

bool cluster_settings::get_bool(std::string_view key) const {
    const auto& def = require_def(key);
    return read_bool(def, effective_value(state_->transient, state_->persistent, state_->node, def));
}

long long cluster_settings::get_int(std::string_view key) const {
    const auto& def = require_def(key);
    return read_int(def, effective_value(state_->transient, state_->persistent, state_->node, def));
}

double cluster_settings::get_double(std::string_view key) const {
    const auto& def = require_def(key);
    return read_float(def, effective_value(state_->transient, state_->persistent, state_->node, def));
}

long long cluster_settings::get_bytes(std::string_view key) const {
    const auto& def = require_def(key);
    return read_byte_size(def, effective_value(state_->transient, state_->persistent, state_->node, def));
}

std::string cluster_settings::get_string(std::string_view key) const {
    const auto& def = require_def(key);
    if (def.type == setting_type::list) {
        throw std::logic_error("setting [" + std::string(key) + "] is a list");
    }
    return setting_text(effective_value(state_->transient, state_->persistent, state_->node, def));
}

std::vector<std::string> cluster_settings::get_list(std::string_view key) const {
    const auto& def = require_def(key);
    if (def.type != setting_type::list) {
        throw std::logic_error("setting [" + std::string(key) + "] is not a list");
    }
    return list_items(effective_value(state_->transient, state_->persistent, state_->node, def));
}

bool cluster_settings::remote_inference_enabled() const noexcept {
    return state_->remote_inference_enabled;
}

std::optional<error> cluster_settings::remote_inference_refusal() const {
    if (remote_inference_enabled()) {
        return std::nullopt;
    }
    return error{
        errc::bad_request,
        "Remote Inference is currently disabled. To enable it, update the setting "
        "\"plugins.ml_commons.remote_inference_enabled\" to true."};
}
bool cluster_settings::private_ip_enabled_for(std::string_view tenant) const {
    if (!private_ip_enabled() || !multi_tenancy_enabled()) {
        return private_ip_enabled();
    }
    const auto tenants = get_list("plugins.ml_commons.connector.private_ip_enabled_tenants");
    return tenants.empty() || std::find(tenants.begin(), tenants.end(), tenant) != tenants.end();
}

bool cluster_settings::private_ip_enabled() const noexcept {
    return state_->private_ip_enabled;
}
bool cluster_settings::connector_access_control_enabled() const noexcept {
    return state_->connector_access_control_enabled;
}
bool cluster_settings::model_access_control_enabled() const noexcept {
    return state_->model_access_control_enabled;
}
bool cluster_settings::multi_tenancy_enabled() const noexcept {
    return state_->multi_tenancy_enabled;
}
bool cluster_settings::model_auto_deploy_enabled() const noexcept {
    return state_->model_auto_deploy_enabled;
}

bool cluster_settings::model_auto_redeploy_enabled() const noexcept {
    return state_->model_auto_redeploy_enabled;
}
long long cluster_settings::model_auto_redeploy_lifetime_retry_times() const noexcept {
    return state_->model_auto_redeploy_lifetime_retry_times;
}
bool cluster_settings::stream_enabled() const noexcept {
    return state_->stream_enabled;
}
bool cluster_settings::controller_enabled() const noexcept {
    return state_->controller_enabled;
}
long long cluster_settings::monitoring_request_count() const noexcept {
    return state_->monitoring_request_count;
}
long long cluster_settings::max_json_size() const noexcept {
    return state_->max_json_size;
}
long long cluster_settings::sync_up_job_interval_seconds() const noexcept {
    return state_->sync_up_job_interval_seconds;
}

// ---------------------------------------------------------------------------------------------------------
// Endpoint checks

result<void> cluster_settings::check_trusted_endpoint(std::string_view url) const {
    const auto& patterns = *state_->trusted_endpoints;
    if (patterns.empty()) {
        return illegal_argument(
            "Trusted connector endpoints regex is not configured. Please set "
            "plugins.ml_commons.trusted_connector_endpoints_regex."
        );
    }
    // A model's rendered URL is nearly always the one this thread accepted last: skip the URL parse then.
    thread_local struct {
        std::uint64_t list = 0;
        std::string url;
    } last_accepted;
    if (patterns.id() != 0 && last_accepted.list == patterns.id() && last_accepted.url == url) {
        return {};
    }
    std::string_view origin;
    if (auto shape = check_url_shape(url, &origin); !shape) {
        return shape;
    }
    const bool ok = origin.empty() ? patterns.full_match_any(url) : patterns.full_match_any_url(url, origin);
    if (!ok) {
        return illegal_argument("Connector URL is not matching the trusted connector endpoint regex");
    }
    last_accepted.list = patterns.id();
    last_accepted.url.assign(url);
    return {};
}

const std::vector<std::string>& cluster_settings::trusted_endpoints() const noexcept {
    return state_->trusted_endpoints->patterns();
}

bool cluster_settings::has_trusted_private_endpoints() const noexcept {
    return !state_->trusted_private_endpoints->empty();
}

result<void> cluster_settings::check_trusted_private_endpoint(std::string_view url) const {
    const auto& patterns = *state_->trusted_private_endpoints;
    if (patterns.empty()) {
        return {};
    }
    std::string_view origin;
    if (auto shape = check_url_shape(url, &origin); !shape) {
        return shape;
    }
    if (origin.empty() ? patterns.full_match_any(url) : patterns.full_match_any_url(url, origin)) {
        return {};
    }
    return illegal_argument("Connector URL is not matching the trusted connector private endpoint regex");
}

bool cluster_settings::has_restricted_ips() const noexcept {
    return !state_->restricted_ip_patterns->empty();
}

bool cluster_settings::is_restricted_ip(std::string_view ip_text) const {
    return state_->restricted_ip_patterns->full_match_any(ip_text);
}

}  // namespace modelrelay::registry
