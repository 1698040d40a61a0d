// File: outbound.hpp
// The outbound-call policy every path that calls an upstream shares (predict, predict stream, /v1,
// _inference): the connector's client_config as client options, and the SSRF guard built from the
// cluster settings. One place, so the streaming paths apply exactly the checks of the non-stream path.
#pragma once

#include <boost/json/object.hpp>

#include "registry/compiled_connector.hpp"
#include "registry/predict.hpp"
#include "registry/settings.hpp"
#include "server/upstream/address_guard.hpp"
#include "server/upstream/client.hpp"

namespace modelrelay::server {

struct app;

// The connector's client_config (ml-commons.md §2.3) as outbound client options; `max_json_size` (-1 =
// unlimited) caps the response body.
upstream::client_options options_of(const boost::json::object& client_config, long long max_json_size);

// The same for a deployed connector, plus its client_config.tls context (built at deploy) and the pool of
// `model_id`: ml-commons gives each model its own connection pool, which max_connection bounds.
upstream::client_options options_of(
    const registry::compiled_connector& connector, long long max_json_size, std::string_view model_id
);

// private_ip_enabled, restricted_ip_patterns, trusted_connector_private_endpoints_regex and our own
// listeners. The returned policy refers to `settings` and `a` by reference: both must outlive it.
// `tenant`: the request's tenant (R19: private addresses can be granted per tenant under multi-tenancy).
// A planned predict call as the outbound request (its url, headers and body moved out).
upstream::request to_request(registry::upstream_call& call);

upstream::guard_policy guard_of(
    const app& a, const registry::cluster_settings& settings, std::string_view tenant = {}
);

}  // namespace modelrelay::server
