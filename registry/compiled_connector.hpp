// File: compiled_connector.hpp
// A connector prepared for the predict hot path: templates compiled, credentials decrypted and bound into
// the header templates, parameters in a hash map. Built once when a model is deployed (or its connector
// changes), never per request.
//
// Trade-off, on purpose: deployed models keep their credentials in process memory as plaintext inside the
// bound header templates, so no decryption happens per call. They are dropped when the model is
// undeployed. See docs/security.md.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "registry/aws_sigv4.hpp"
#include "registry/connector_tls.hpp"
#include "registry/error.hpp"
#include "registry/painless.hpp"
#include "registry/parameters.hpp"
#include "registry/secret_scrub.hpp"
#include "registry/template.hpp"

namespace modelrelay::registry {

struct compiled_action {
    std::string action_type;  // PREDICT, EXECUTE, ...
    std::string name;         // optional action name ("" when absent)
    std::string method;       // as configured (validated at call time)
    compiled_template url;
    std::optional<compiled_template> request_body;  // absent: parameters.http_body is sent raw
    std::vector<std::pair<std::string, compiled_template>> headers;  // ${credential.*} already bound
    std::string pre_process_function;
    std::string post_process_function;
    // post_process_function as a Painless script, parsed once at deploy; null when it is a built-in name,
    // when it has `${parameters.` placeholders (parsed per request, through painless::compile_cached), or
    // when it does not compile (the plan reports why).
    std::shared_ptr<const painless::script> post_script;
    std::shared_ptr<const painless::script> pre_script;  // the same for pre_process_function
    bool supports_structured_output = false;
};

struct compiled_connector {
    std::string protocol;
    param_map parameters;  // connector parameters (strings)
    std::vector<compiled_action> actions;
    boost::json::object client_config;  // canonical, defaults filled; empty when the connector has none
    // The TLS context of client_config.tls, built at deploy (null without `tls`). It holds the client
    // private key; the compiled connector keeps no other copy of it.
    std::shared_ptr<const outbound_tls_context> tls;
    // aws_sigv4 connectors: the keys, region and service every request is signed with (null otherwise).
    std::shared_ptr<const aws_signing> aws;
    // The credential values, scrubbed from every upstream answer (null: none worth looking for).
    std::shared_ptr<const secret_list> secrets;

    // ml-commons findAction: by action type (case-insensitive) when `x` names a type, else by action name.
    const compiled_action* find_action(std::string_view x) const;
};

// Compiles a canonical connector document with its decrypted credentials. `tls` is left to the caller.
result<compiled_connector> compile_connector(const boost::json::object& doc, const param_map& credentials);

}  // namespace modelrelay::registry
