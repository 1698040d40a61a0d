// File: compiled_connector.cpp
#include "registry/compiled_connector.hpp"

#include <algorithm>
#include <array>

#include "registry/ascii.hpp"
#include "registry/json_util.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 5> action_types{
    "PREDICT", "EXECUTE", "BATCH_PREDICT", "CANCEL_BATCH_PREDICT", "BATCH_PREDICT_STATUS"};

}  // namespace

const compiled_action* compiled_connector::find_action(std::string_view x) const {
    const bool is_type =
        std::any_of(action_types.begin(), action_types.end(), [&](auto t) { return iequals_ascii(t, x); });
    for (const auto& a : actions) {
        if (is_type ? iequals_ascii(a.action_type, x) : a.name == x) {
            return &a;
        }
    }
    return nullptr;
}

result<compiled_connector> compile_connector(const json::object& doc, const param_map& credentials) {
    compiled_connector out;
    out.protocol = string_field(doc, "protocol").value_or("http");
    if (const auto* p = field(doc, "parameters"); p != nullptr && p->is_object()) {
        for (const auto& kv : p->get_object()) {
            out.parameters.emplace(std::string(kv.key()), scalar_text(kv.value()).value_or(""));
        }
    }
    if (const auto* c = field(doc, "client_config"); c != nullptr && c->is_object()) {
        out.client_config = c->get_object();
    }
    if (const auto* acts = field(doc, "actions"); acts != nullptr && acts->is_array()) {
        for (const auto& av : acts->get_array()) {
            const auto& a = av.get_object();
            compiled_action ca;
            ca.action_type = string_field(a, "action_type").value_or("");
            ca.name = string_field(a, "name").value_or("");
            ca.method = string_field(a, "method").value_or("POST");
            ca.url = compiled_template::compile(string_field(a, "url").value_or(""));
            if (auto body = string_field(a, "request_body")) {
                ca.request_body = compiled_template::compile(*body);
            }
            if (const auto* h = field(a, "headers"); h != nullptr && h->is_object()) {
                for (const auto& kv : h->get_object()) {
                    auto raw =
                        compiled_template::compile(scalar_text(kv.value()).value_or(""), credential_prefix);
                    auto bound = bind_credentials(raw, credentials);
                    if (!bound) {
                        return bound.error();
                    }
                    ca.headers.emplace_back(std::string(kv.key()), std::move(*bound));
                }
            }
            ca.pre_process_function = string_field(a, "pre_process_function").value_or("");
            ca.post_process_function = string_field(a, "post_process_function").value_or("");
            for (auto [text, script] :
                 {std::pair{&ca.pre_process_function, &ca.pre_script},
                  std::pair{&ca.post_process_function, &ca.post_script}}) {
                if (painless::is_painless_function(*text) &&
                    text->find("${parameters.") == std::string::npos) {
                    if (auto compiled = painless::compile(*text)) {
                        *script = std::move(*compiled);
                    }
                }
            }
            ca.supports_structured_output = bool_field(a, "supports_structured_output").value_or(false);
            out.actions.push_back(std::move(ca));
        }
    }
    if (out.protocol == "aws_sigv4") {
        // As AwsConnector's constructor when ml-commons loads the connector: a stored connector that
        // lacks its keys, service or region (an earlier version let an update store one) is refused here
        // rather than signing with an empty key.
        std::vector<std::pair<std::string, std::string>> names;
        for (const auto& [name, value] : credentials) {
            names.emplace_back(name, std::string());
        }
        if (auto r = check_aws_connector(out.parameters, names); !r) {
            return r.error();
        }
        out.aws = std::make_shared<const aws_signing>(aws_signing_of(out.parameters, credentials));
    }
    std::vector<std::string_view> values;
    values.reserve(credentials.size());
    for (const auto& [name, value] : credentials) {
        values.emplace_back(value);
    }
    out.secrets = make_secret_list(values);
    return out;
}

}  // namespace modelrelay::registry
