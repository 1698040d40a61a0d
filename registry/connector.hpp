// File: connector.hpp
// Connector documents: parsing create/update bodies with ml-commons' validation order and messages
// (spec §1.1, §2), the canonical stored document, and the public view without credentials.
//
// The canonical document is what SQLite stores and GET returns (minus `credential`): field order of
// HttpConnector.toXContent, `version` and every `parameters` value as strings, action types upper-case,
// `client_config` filled with defaults when present. Credential values in it are ciphertext.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "registry/connector_tls.hpp"
#include "registry/error.hpp"
#include "registry/settings.hpp"

namespace modelrelay::registry {

using credential_list = std::vector<std::pair<std::string, std::string>>;

// What a create / update does to the encrypted client private key of `client_config.tls`
// (connector_tls.hpp), stored as the `tls_key_credential` entry of `credential`.
enum class tls_key_action {
    none,     // no key: absent, or removed with the `tls` object
    keep,     // the stored entry stays (update without client_config, or with the same certificate)
    replace,  // `tls_key_pem` is the new key
};

// A validated connector before encryption: `doc` has no `credential` field yet.
struct connector_draft {
    boost::json::object doc;
    std::optional<credential_list> credential;  // plaintext; replaced wholesale on update when present
    bool dry_run = false;
    std::optional<std::string> requested_id;  // caller-supplied `connector_id`
    tls_key_action tls_key = tls_key_action::none;
    secret_text tls_key_pem;  // plaintext PEM for tls_key_action::replace
};

struct connector_rules {
    const cluster_settings& settings;
    bool access_control_active = false;  // security on and connector_access_control_enabled
    bool inline_connector = false;       // part of a model: lenient required-field checks (spec §2.6)
};

// POST /_plugins/_ml/connectors/_create. `body` has passed the JSON Schema already.
result<connector_draft> prepare_connector_create(
    const boost::json::object& body, const connector_rules& rules
);

// PUT /_plugins/_ml/connectors/{id}: merges `body` into `existing` (canonical doc) per spec §1.1.
result<connector_draft> prepare_connector_update(
    const boost::json::object& existing, const boost::json::object& body, const connector_rules& rules
);

// Trusted-endpoint check of every action URL resolved with the connector's own parameters.
result<void> check_connector_urls(const boost::json::object& doc, const cluster_settings& settings);

// Puts the members of a connector document in HttpConnector.toXContent's order (spec §2.4: name,
// version, description, protocol, parameters, credential, actions, backend_roles, owner, access,
// created_time, last_updated_time, client_config, tenant_id, provisioned_by); any other member follows in
// its own order. Stored documents are kept this way, so GET and _search print it.
void put_in_connector_order(boost::json::object& doc);

// The document as GET and _search show it: `credential` removed (and with it the client_config.tls
// private key, which lives there).
boost::json::object connector_public_view(const boost::json::object& doc);

}  // namespace modelrelay::registry
