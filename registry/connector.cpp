// File: connector.cpp
#include "registry/connector.hpp"

#include <algorithm>
#include <array>

#include <boost/json/serialize.hpp>

#include "registry/ascii.hpp"
#include "registry/aws_sigv4.hpp"
#include "registry/connector_tls.hpp"
#include "registry/json_util.hpp"
#include "registry/painless.hpp"
#include "registry/parameters.hpp"
#include "registry/safe_text.hpp"
#include "registry/template.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 4> valid_protocols{
    "aws_sigv4", "http", "mcp_sse", "mcp_streamable_http"};
constexpr std::array<std::string_view, 5> action_types{
    "PREDICT", "EXECUTE", "BATCH_PREDICT", "CANCEL_BATCH_PREDICT", "BATCH_PREDICT_STATUS"};

bool is_mcp(std::string_view protocol) {
    return protocol == "mcp_sse" || protocol == "mcp_streamable_http";
}

// ConnectorAction.validateName.
result<void> validate_action_name(std::string_view name) {
    if (std::any_of(name.begin(), name.end(), [](unsigned char c) { return c < 32; })) {
        return illegal_argument("Action name must not contain control characters");
    }
    if (name.size() > 64) {
        return illegal_argument("Action name exceeds maximum length of 64 characters");
    }
    const bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '_' || c == '-';
    });
    if (!ok) {
        return illegal_argument(
            "Action name contains invalid characters. Only alphanumeric characters, hyphens, and underscores "
            "are "
            "allowed"
        );
    }
    if (std::find(action_types.begin(), action_types.end(), ascii_upper_copy(name)) != action_types.end()) {
        return illegal_argument(
            "name can't be one of action type [PREDICT, EXECUTE, BATCH_PREDICT, CANCEL_BATCH_PREDICT, "
            "BATCH_PREDICT_STATUS]"
        );
    }
    return {};
}

// ConnectorAction.parse + constructor checks, producing the canonical action object.
result<json::object> parse_action(const json::object& in) {
    std::optional<std::string> type, name, method, url, body, pre, post;
    std::optional<json::object> headers;
    bool structured = false;
    for (const auto& kv : in) {
        const auto& v = kv.value();
        const std::string_view key = kv.key();
        if (v.is_null()) {
            continue;
        }
        if (key == "action_type") {
            const std::string t = ascii_upper_copy(scalar_text(v).value_or(""));
            if (std::find(action_types.begin(), action_types.end(), t) == action_types.end()) {
                return illegal_argument(
                    "No enum constant org.opensearch.ml.common.connector.ConnectorAction.ActionType." + t
                );
            }
            type = t;
        } else if (key == "name") {
            name = scalar_text(v);
        } else if (key == "method") {
            method = scalar_text(v);
        } else if (key == "url") {
            url = scalar_text(v);
        } else if (key == "headers" && v.is_object()) {
            json::object h;
            for (const auto& hv : v.get_object()) {
                h[hv.key()] = scalar_text(hv.value()).value_or("");
            }
            headers = std::move(h);
        } else if (key == "request_body") {
            body = scalar_text(v);
        } else if (key == "pre_process_function") {
            pre = scalar_text(v);
        } else if (key == "post_process_function") {
            post = scalar_text(v);
        } else if (key == "supports_structured_output" && v.is_bool()) {
            structured = v.get_bool();
        }
    }
    if (!type) {
        return illegal_argument("action type can't be null");
    }
    if (!url) {
        return illegal_argument("url can't be null");
    }
    if (!method) {
        return illegal_argument("method can't be null");
    }
    if (name) {
        if (auto r = validate_action_name(*name); !r) {
            return r.error();
        }
    }
    // ml-commons compiles a script only when a predict runs it; modelrelay runs a subset of Painless, so a
    // script outside it is refused here, naming the construct, rather than failing every predict later.
    for (const auto& [which, text] :
         {std::pair{"pre_process_function", &pre}, std::pair{"post_process_function", &post}}) {
        if (*text && painless::is_painless_function(**text)) {
            if (auto s = painless::compile(painless::with_placeholder_literals(**text)); !s) {
                return illegal_argument("Invalid " + std::string(which) + ": " + s.error().reason);
            }
        }
    }
    json::object out;
    out["action_type"] = *type;
    out["method"] = *method;
    out["url"] = *url;
    if (headers) {
        out["headers"] = std::move(*headers);
    }
    if (body) {
        out["request_body"] = *body;
    }
    if (pre) {
        out["pre_process_function"] = *pre;
    }
    if (post) {
        out["post_process_function"] = *post;
    }
    if (name) {
        out["name"] = *name;
    }
    if (structured) {
        out["supports_structured_output"] = true;
    }
    return out;
}

result<json::array> parse_actions(const json::value& v) {
    json::array out;
    if (!v.is_array()) {
        return out;
    }
    for (const auto& a : v.get_array()) {
        if (!a.is_object()) {
            return illegal_argument("Failed to parse object: expecting token of type [START_OBJECT]");
        }
        auto act = parse_action(a.get_object());
        if (!act) {
            return act.error();
        }
        out.push_back(std::move(*act));
    }
    return out;
}

// ConnectorClientConfig.parse with defaults for every absent field, plus the modelrelay `tls` object
// (its private key goes to `tls`, never into the returned document).
result<json::object> parse_client_config(const json::object& in, std::optional<parsed_tls>& tls) {
    json::object out{
        {"max_connection", 30},
        {"connection_timeout", 30},
        {"read_timeout", 30},
        {"retry_backoff_millis", 200},
        {"retry_timeout_seconds", 30},
        {"max_retry_times", 0},
        {"retry_backoff_policy", "constant"},
        {"skip_ssl_verification", false},
        {"mutual_tls_enabled", false},
    };
    for (const auto& kv : in) {
        const auto& v = kv.value();
        if (v.is_null()) {
            continue;
        }
        const std::string_view key = kv.key();
        if (key == "retry_backoff_policy") {
            const std::string p = std::string(scalar_text(v).value_or(""));
            const std::string lower = ascii_lower_copy(p);
            if (lower != "constant" && lower != "exponential_equal_jitter" &&
                lower != "exponential_full_jitter") {
                return illegal_argument("Unsupported retry backoff policy");
            }
            out[key] = lower;
        } else if (key == "skip_ssl_verification" || key == "mutual_tls_enabled") {
            const bool on = v.is_bool() ? v.get_bool() : scalar_text(v).value_or("") == "true";
            // ml-commons 3.9 presents a client certificate read from the connector's credential; an
            // accepted flag that presented nothing would fail only at the upstream (ml-commons #4971
            // calls that silent acceptance a bug), so it is refused until that is implemented.
            if (key == "mutual_tls_enabled" && on) {
                return illegal_argument(
                    "client_config.mutual_tls_enabled is not supported by modelrelay: give the client "
                    "certificate and key in client_config.tls (certificate_data, private_key_data)"
                );
            }
            out[key] = on;
        } else if (v.is_number()) {
            out[key] =
                v.is_double() ? static_cast<std::int64_t>(v.get_double()) : v.to_number<std::int64_t>();
        } else if (key == "tls" && v.is_object()) {
            auto parsed = parse_tls_config(v.get_object());
            if (!parsed) {
                return parsed.error();
            }
            out[key] = parsed->stored;
            tls = std::move(*parsed);
        } else {
            out[key] = v;
        }
    }
    return out;
}

json::object stringify_parameters(const json::object& in) {
    json::object out;
    for (const auto& kv : in) {
        out[kv.key()] = stringify_parameter(kv.value());
    }
    return out;
}

result<void> check_headers(const json::object& doc) {
    const auto* actions = doc.if_contains("actions");
    if (actions == nullptr || !actions->is_array()) {
        return {};
    }
    for (const auto& a : actions->get_array()) {
        const auto* h = a.get_object().if_contains("headers");
        if (h == nullptr || !h->is_object()) {
            continue;
        }
        for (const auto& kv : h->get_object()) {
            if (auto r = check_header_placeholders(kv.key(), kv.value().get_string()); !r) {
                return r;
            }
        }
    }
    return {};
}

error acl_disabled_error() {
    return {
        errc::illegal_argument,
        "You cannot specify connector access control parameters because the Security plugin or connector "
        "access control is disabled on your cluster."};
}

bool has_acl_fields(const json::object& body) {
    return field(body, "backend_roles") != nullptr || field(body, "access_mode") != nullptr ||
           field(body, "add_all_backend_roles") != nullptr;
}

// The fields a create body may carry, copied in HttpConnector.toXContent order.
result<connector_draft> build(const json::object& body, const connector_rules& rules, bool update) {
    connector_draft d;
    d.tls_key = update ? tls_key_action::keep : tls_key_action::none;
    std::optional<std::string> name, version, description, protocol, provisioned_by, url;
    std::optional<json::object> parameters, client_config, headers;
    std::optional<json::array> actions;
    // Parse in body order: action errors surface while parsing, before the required-field checks.
    for (const auto& kv : body) {
        const std::string_view key = kv.key();
        const auto& v = kv.value();
        if (v.is_null()) {
            continue;
        }
        if (key == "name") {
            name = scalar_text(v);
        } else if (key == "version") {
            version = v.is_string() ? std::string(v.get_string()) : stringify_parameter(v);
        } else if (key == "description") {
            description = scalar_text(v);
        } else if (key == "protocol") {
            protocol = scalar_text(v);
        } else if (key == "parameters" && v.is_object()) {
            parameters = stringify_parameters(v.get_object());
        } else if (key == "credential" && v.is_object()) {
            credential_list c;
            for (const auto& cv : v.get_object()) {
                if (cv.key() == tls_key_credential) {
                    return illegal_argument(
                        "Credential name [" + std::string(tls_key_credential) +
                        "] is reserved for client_config.tls"
                    );
                }
                c.emplace_back(std::string(cv.key()), scalar_text(cv.value()).value_or(""));
            }
            d.credential = std::move(c);
        } else if (key == "actions") {
            auto a = parse_actions(v);
            if (!a) {
                return a.error();
            }
            actions = std::move(*a);
        } else if (key == "client_config" && v.is_object()) {
            std::optional<parsed_tls> tls;
            auto c = parse_client_config(v.get_object(), tls);
            if (!c) {
                return c.error();
            }
            client_config = std::move(*c);
            // A create needs the key with the certificate; an update may keep the stored one
            // (prepare_connector_update decides).
            if (tls && tls->private_key) {
                d.tls_key = tls_key_action::replace;
                d.tls_key_pem = std::move(*tls->private_key);
            } else if (tls && tls->has_certificate) {
                if (!update) {
                    return illegal_argument(
                        "[client_config/tls] certificate_data and private_key_data must be given together"
                    );
                }
                d.tls_key = tls_key_action::keep;
            } else {
                d.tls_key = tls_key_action::none;
            }
        } else if (key == "url" && v.is_string()) {
            url = std::string(v.get_string());  // McpConnector's endpoint; HttpConnector ignores it
        } else if (key == "headers" && v.is_object()) {
            headers = v.get_object();
        } else if (key == "dry_run" && v.is_bool()) {
            d.dry_run = v.get_bool();
        } else if (key == "provisioned_by") {
            provisioned_by = scalar_text(v);
        } else if (key == "connector_id") {
            d.requested_id = scalar_text(v);
        }
    }
    const bool mcp = protocol && is_mcp(*protocol);
    if (!d.dry_run && !update && !rules.inline_connector) {
        if (!name) {
            return illegal_argument("Connector name is null");
        }
        if (!version) {
            return illegal_argument("Connector version is null");
        }
        if (!protocol) {
            return illegal_argument("Connector protocol is null");
        }
        if (!mcp && (!d.credential || d.credential->empty())) {
            return illegal_argument("Connector credential is null or empty list");
        }
    }
    if (protocol &&
        std::find(valid_protocols.begin(), valid_protocols.end(), *protocol) == valid_protocols.end()) {
        return illegal_argument(
            "Unsupported connector protocol. Please use one of [aws_sigv4, http, mcp_sse, "
            "mcp_streamable_http]"
        );
    }
    if (!rules.inline_connector) {
        // MLCreateConnectorRequest.validate(): HashMap order of the labels (String.hashCode buckets 9,
        // 10). A dry run needs no name. ml-commons does not check an update; we do (same rules; a name is
        // required only when the update gives one), so an update cannot store what a create refuses.
        if (auto r = validate_text_fields(
                {{"Model connector description", description},
                 {"Model connector name", name, !d.dry_run && (!update || name.has_value())}}
            );
            !r) {
            return r.error();
        }
    }
    // A create checks this after the URLs (prepare_connector_create), as TransportCreateConnectorAction does.
    if (update && !rules.access_control_active && has_acl_fields(body)) {
        return acl_disabled_error();
    }
    json::object& doc = d.doc;
    if (name) {
        doc["name"] = *name;
    }
    if (version) {
        doc["version"] = *version;
    }
    if (description) {
        doc["description"] = *description;
    }
    if (protocol) {
        doc["protocol"] = *protocol;
    }
    if (parameters) {
        doc["parameters"] = std::move(*parameters);
    }
    if (actions) {
        doc["actions"] = std::move(*actions);
    }
    if (client_config) {
        doc["client_config"] = std::move(*client_config);
    }
    if (provisioned_by) {
        doc["provisioned_by"] = *provisioned_by;
    }
    if (url) {
        doc["url"] = *url;
    }
    if (headers) {
        doc["headers"] = std::move(*headers);
    }
    return d;
}

// What each connector class keeps of a parsed body: McpConnector has no actions, HttpConnector (and
// AwsConnector) no top-level url or headers.
void keep_protocol_fields(json::object& doc) {
    if (is_mcp(string_field(doc, "protocol").value_or(""))) {
        doc.stable_erase("actions");
    } else {
        doc.stable_erase("url");
        doc.stable_erase("headers");
    }
}

// An MCP connector (protocol mcp_sse / mcp_streamable_http): the mcp_connector_enabled gate, no parameter
// placeholder in any header (spec §3.5), and its `url` against the trusted endpoints (McpConnector
// validates the url itself, not actions).
result<void> check_mcp(const json::object& doc, const cluster_settings& settings) {
    if (!settings.get_bool("plugins.ml_commons.mcp_connector_enabled")) {
        return error{
            errc::forbidden,
            "The MCP connector is not enabled. To enable, please update the setting "
            "plugins.ml_commons.mcp_connector_enabled"};
    }
    if (const auto* h = field(doc, "headers"); h != nullptr && h->is_object()) {
        for (const auto& kv : h->get_object()) {
            if (auto r = check_header_placeholders(kv.key(), kv.value().get_string(), true); !r) {
                return r;
            }
        }
    }
    const auto url = string_field(doc, "url");
    if (!url) {
        return illegal_argument("url can't be null");
    }
    return settings.check_trusted_endpoint(*url);
}

const json::object* tls_of(const json::object& doc_or_client_config, bool is_doc) {
    const json::object* cc = &doc_or_client_config;
    if (is_doc) {
        const auto* c = doc_or_client_config.if_contains("client_config");
        if (c == nullptr || !c->is_object()) {
            return nullptr;
        }
        cc = &c->get_object();
    }
    const auto* t = cc->if_contains("tls");
    return t != nullptr && t->is_object() ? &t->get_object() : nullptr;
}

result<void> check_kept_tls_key(const json::object& existing, const json::object& new_client_config) {
    const json::object* stored_tls = tls_of(existing, true);
    const json::object* new_tls = tls_of(new_client_config, false);
    const auto* cred = existing.if_contains("credential");
    const bool has_key =
        cred != nullptr && cred->is_object() && cred->get_object().contains(tls_key_credential);
    if (stored_tls == nullptr || new_tls == nullptr || !has_key ||
        !same_client_certificate(*stored_tls, *new_tls)) {
        return illegal_argument(
            "[client_config/tls] certificate_data and private_key_data must be given together (the stored "
            "private key is kept only with the same certificate)"
        );
    }
    return {};
}

}  // namespace

result<void> check_connector_urls(const json::object& doc, const cluster_settings& settings) {
    // Connector.validateConnectorURL refuses only a connector without an actions list; an empty list
    // has no URL to check.
    const auto* actions = doc.if_contains("actions");
    if (actions == nullptr || !actions->is_array()) {
        return illegal_argument("No actions configured for this connector");
    }
    param_map params;
    if (const auto* p = doc.if_contains("parameters"); p != nullptr && p->is_object()) {
        for (const auto& kv : p->get_object()) {
            params.emplace(std::string(kv.key()), std::string(kv.value().get_string()));
        }
    }
    for (const auto& a : actions->get_array()) {
        const auto& url = a.get_object().at("url").get_string();
        auto resolved = render_url(compiled_template::compile(url), params);
        if (!resolved) {
            return resolved.error();
        }
        if (auto r = settings.check_trusted_endpoint(*resolved); !r) {
            return r;
        }
    }
    return {};
}

namespace {

// AwsConnector's constructor validates its credential, service name and region; a dry run returns before
// any connector is built. `credential` names the keys only (values may be the stored ciphertexts).
result<void> check_aws(const json::object& doc, bool dry_run, const credential_list& credential) {
    if (dry_run || string_field(doc, "protocol").value_or("") != "aws_sigv4") {
        return {};
    }
    param_map params;
    if (const auto* p = field(doc, "parameters"); p != nullptr && p->is_object()) {
        for (const auto& kv : p->get_object()) {
            params.emplace(std::string(kv.key()), scalar_text(kv.value()).value_or(""));
        }
    }
    return check_aws_connector(params, credential);
}

}  // namespace

result<connector_draft> prepare_connector_create(const json::object& body, const connector_rules& rules) {
    auto d = build(body, rules, false);
    if (!d) {
        return d;
    }
    if (auto r = check_headers(d->doc); !r) {
        return r.error();
    }
    // TransportCreateConnectorAction answers a dry run here, before validateConnectorURL and the
    // access-control checks. An inline connector is always checked in full (its model is stored).
    if (d->dry_run && !rules.inline_connector) {
        return d;
    }
    keep_protocol_fields(d->doc);
    if (is_mcp(string_field(d->doc, "protocol").value_or(""))) {
        if (auto r = check_mcp(d->doc, rules.settings); !r) {
            return r.error();
        }
    } else {
        if (auto r = check_aws(d->doc, d->dry_run, d->credential.value_or(credential_list{})); !r) {
            return r.error();
        }
        if (auto r = check_connector_urls(d->doc, rules.settings); !r) {
            return r.error();
        }
    }
    if (!rules.access_control_active && has_acl_fields(body)) {
        return acl_disabled_error();
    }
    return d;
}

result<connector_draft> prepare_connector_update(
    const json::object& existing, const json::object& body, const connector_rules& rules
) {
    auto d = build(body, rules, true);
    if (!d) {
        return d;
    }
    // HttpConnector.update: scalars and actions/client_config replace, parameters merge (keys never removed).
    json::object merged = existing;
    const bool actions_given = d->doc.contains("actions");
    for (auto& kv : d->doc) {
        if (kv.key() == "parameters") {
            if (kv.value().get_object().empty()) {
                continue;
            }
            auto* cur = merged.if_contains("parameters");
            if (cur == nullptr || !cur->is_object()) {
                merged["parameters"] = kv.value();
                continue;
            }
            for (auto& pv : kv.value().get_object()) {
                cur->get_object()[pv.key()] = pv.value();
            }
        } else if (kv.key() == "provisioned_by") {
            continue;  // ignored on update
        } else {
            merged[kv.key()] = kv.value();
        }
    }
    if (d->credential && d->credential->empty()) {
        d->credential.reset();  // an empty credential map does not replace the stored one
    }
    if (d->tls_key == tls_key_action::keep && d->doc.contains("client_config")) {
        // A new client_config with certificate_data but no private_key_data keeps the stored key only
        // when the certificate is the stored one (the key was checked against it).
        if (auto r = check_kept_tls_key(existing, d->doc.at("client_config").get_object()); !r) {
            return r.error();
        }
    }
    if (actions_given) {
        if (auto r = check_headers(merged); !r) {
            return r.error();
        }
    }
    keep_protocol_fields(merged);
    if (is_mcp(string_field(merged, "protocol").value_or(""))) {
        if (auto r = check_mcp(merged, rules.settings); !r) {
            return r.error();
        }
    } else {
        // The connector as it will be stored passes what a create checks: an update that switches to
        // aws_sigv4 (or drops its region) must not leave a connector that signs with an empty key.
        credential_list names;
        if (d->credential) {
            names = *d->credential;
        } else if (const auto* stored = merged.if_contains("credential");
                   stored != nullptr && stored->is_object()) {
            for (const auto& kv : stored->get_object()) {
                names.emplace_back(std::string(kv.key()), std::string());
            }
        }
        if (auto r = check_aws(merged, d->dry_run, names); !r) {
            return r.error();
        }
        if (auto r = check_connector_urls(merged, rules.settings); !r) {
            return r.error();
        }
    }
    d->doc = std::move(merged);
    return d;
}

void put_in_connector_order(json::object& doc) {
    // McpConnector.toXContent.
    static constexpr std::array<std::string_view, 16> mcp_order{
        "name",
        "version",
        "description",
        "protocol",
        "credential",
        "backend_roles",
        "owner",
        "access",
        "created_time",
        "last_updated_time",
        "client_config",
        "tenant_id",
        "url",
        "headers",
        "parameters",
        "provisioned_by"};
    if (is_mcp(string_field(doc, "protocol").value_or(""))) {
        put_in_order(doc, mcp_order);
        return;
    }
    static constexpr std::array<std::string_view, 15> order{
        "name",
        "version",
        "description",
        "protocol",
        "parameters",
        "credential",
        "actions",
        "backend_roles",
        "owner",
        "access",
        "created_time",
        "last_updated_time",
        "client_config",
        "tenant_id",
        "provisioned_by"};
    put_in_order(doc, order);
}

json::object connector_public_view(const json::object& doc) {
    json::object out = doc;
    out.stable_erase("credential");  // erase() would move the last member into its place
    return out;
}

}  // namespace modelrelay::registry
