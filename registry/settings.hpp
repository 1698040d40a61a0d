// File: settings.hpp
// `_cluster/settings` as a value type. A cluster_settings holds three layers of stored values, looked up
// in OpenSearch order: transient > persistent > node (opensearch.yml; modelrelay: start-up flags) > the
// table default (settings_table.hpp). Every change returns a new object and leaves the old one untouched,
// so a rejected PUT changes nothing and readers keep a consistent view while a writer builds the next one.
//
// Hot values (feature switches, the trusted-endpoint regexes compiled with RE2) are derived once per
// version and cached, so the predict path pays a pointer dereference, not a map lookup or a regex compile.
//
// @par Thread safety
// Immutable: any number of threads may call const members concurrently. Copies share state
// (one shared_ptr), so copying is cheap.
//
// @par Persistence
// Only the persistent layer survives a restart (persistent_json / from_persistent); transient values are
// lost by design, as in OpenSearch after a full cluster restart. Node values come from flags at start.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "registry/error.hpp"
#include "registry/setting_value.hpp"
#include "registry/settings_table.hpp"

namespace modelrelay::registry {

class regex_list;

class cluster_settings {
public:
    using value_map = std::map<std::string, setting_value, std::less<>>;
    struct put_result;

    // Everything at its default.
    cluster_settings();

    // Rebuilds from persistent_json() output (flat or nested keys), plus the node layer. Stored keys that
    // are no longer registered, not dynamic, or whose value no longer validates are kept under
    // `archived.<key>` (OpenSearch's archiving), so start-up never fails on them. Errors: malformed node
    // settings (see with_node_settings); errc::parse_failed for a persistent value that is not a string or
    // a list of scalars.
    static result<cluster_settings> from_persistent(
        const boost::json::object& persistent, const boost::json::object& node = {}
    );

    // Replaces the node layer (opensearch.yml in OpenSearch): any registered key, whatever its scope, e.g.
    // `{"plugins.ml_commons.multi_tenancy_enabled": true}`; nested keys accepted; nulls ignored.
    // Errors (errc::illegal_argument): `unknown setting [<key>] please check that any required plugins are
    // installed, or check the breaking changes documentation for removed settings`, or the value's parse
    // error.
    result<cluster_settings> with_node_settings(const boost::json::object& node) const;

    // PUT _cluster/settings. `body` is the parsed request body (null for an empty body). Returns the new
    // settings and the response `{"acknowledged":true,"persistent":{..},"transient":{..}}` listing the keys
    // set by this request (nested objects, or dotted keys when `flat`). Errors, all with the OpenSearch text:
    //  - errc::validation_failed `Validation Failed: 1: no settings to update;`
    //  - errc::parse_failed when `persistent` / `transient` is not an object
    //  - errc::illegal_state `only value lists are allowed in serialized settings` (object/null in an array)
    //  - errc::illegal_argument: `<type> setting [<key>], not recognized`, `<type> setting [<key>], not
    //    dynamically updateable`, `final <type> setting [<key>], not updateable`, value parse/bound errors,
    //    the regex-list errors of regex_guard.hpp.
    // Keys are checked transient first, then persistent, each in sorted order; the first error wins.
    result<put_result> apply_put(const boost::json::value& body, bool flat = false) const;

    // GET _cluster/settings: `{"persistent":{..},"transient":{..}}` plus `"defaults"` (every registered key
    // set in neither layer, with its node or default value) when `include_defaults`.
    boost::json::object render(bool flat = false, bool include_defaults = false) const;

    // The persistent layer as a flat object of strings and string arrays (what from_persistent reads).
    boost::json::object persistent_json() const;

    const value_map& persistent() const noexcept;
    const value_map& transient_values() const noexcept;
    const value_map& node_values() const noexcept;

    // Bumped by every successful apply_put / with_node_settings.
    std::uint64_t version() const noexcept;

    // Effective typed values (transient > persistent > node > default).
    // REQUIRES: `key` is registered with a matching type; otherwise std::logic_error (a bug, not input).
    bool get_bool(std::string_view key) const;
    long long get_int(std::string_view key) const;  // integer and long settings
    double get_double(std::string_view key) const;  // float settings
    long long get_bytes(std::string_view key) const;
    std::string get_string(std::string_view key) const;
    std::vector<std::string> get_list(std::string_view key) const;

    // Cached values of the keys modelrelay acts on.
    bool remote_inference_enabled() const noexcept;
    // nullopt while remote inference is enabled; otherwise every door's refusal of an outbound model call:
    // 400 status_exception with ml-commons' text (MLExceptionUtils, its wrong key name included).
    std::optional<error> remote_inference_refusal() const;
    bool private_ip_enabled() const noexcept;
    // R19 under multi-tenancy: private_ip_enabled, and the tenant is in connector.private_ip_enabled_tenants
    // when that list is set (an admin-set per-tenant grant).
    bool private_ip_enabled_for(std::string_view tenant) const;
    bool connector_access_control_enabled() const noexcept;
    bool model_access_control_enabled() const noexcept;
    bool multi_tenancy_enabled() const noexcept;
    bool model_auto_deploy_enabled() const noexcept;
    // Read at start-up only: whether models stored as DEPLOYED are deployed again (service::redeploy_all).
    bool model_auto_redeploy_enabled() const noexcept;
    // Read at start-up only: a model whose stored auto_redeploy_retry_times is not below it stays down.
    long long model_auto_redeploy_lifetime_retry_times() const noexcept;
    bool stream_enabled() const noexcept;
    bool controller_enabled() const noexcept;
    // plugins.ml_commons.monitoring_request_count: the profile API's window.
    long long monitoring_request_count() const noexcept;
    long long max_json_size() const noexcept;  // -1 = unlimited
    long long sync_up_job_interval_seconds() const noexcept;

    // Connector URL vs `trusted_connector_endpoints_regex` (full match). Errors (errc::illegal_argument):
    // `Trusted connector endpoints regex is not configured. Please set
    // plugins.ml_commons.trusted_connector_endpoints_regex.` for an empty list, else
    // `Connector URL is not matching the trusted connector endpoint regex`.
    result<void> check_trusted_endpoint(std::string_view url) const;
    const std::vector<std::string>& trusted_endpoints() const noexcept;

    // `trusted_connector_private_endpoints_regex`: empty = no extra restriction. When set, a URL that
    // resolves to a private address must match one pattern, else errc::illegal_argument
    // `Connector URL is not matching the trusted connector private endpoint regex`. The caller decides
    // whether the resolved address is private.
    bool has_trusted_private_endpoints() const noexcept;
    result<void> check_trusted_private_endpoint(std::string_view url) const;

    // `connector.restricted_ip_patterns` (Final, node layer only): true when a pattern matches the whole
    // textual IP address.
    bool is_restricted_ip(std::string_view ip_text) const;
    bool has_restricted_ips() const noexcept;  // false: is_restricted_ip is false for every address

private:
    struct state;
    explicit cluster_settings(std::shared_ptr<const state> s);
    static std::shared_ptr<const state> finish(state next, const state* previous);

    std::shared_ptr<const state> state_;
};

struct cluster_settings::put_result {
    cluster_settings settings;
    boost::json::object response;
};

}  // namespace modelrelay::registry
