// File: model_interface.cpp
#include "registry/model_interface.hpp"

#include <boost/json/parse.hpp>

#include "registry/json_parse.hpp"
#include "registry/json_text.hpp"
#include "schemas/user_schema.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

// MLNodeUtils.isStringTypeInSchema: properties.parameters.properties.<key>.type is "string".
bool typed_as_string(const json::value& schema, std::string_view key) {
    const json::value* at = &schema;
    for (std::string_view step : {"properties", "parameters", "properties"}) {
        const auto* o = at->if_object();
        at = o != nullptr ? o->if_contains(step) : nullptr;
        if (at == nullptr) {
            return false;
        }
    }
    const auto* props = at->if_object();
    const auto* prop = props != nullptr ? props->if_contains(key) : nullptr;
    const auto* prop_o = prop != nullptr ? prop->if_object() : nullptr;
    const auto* type = prop_o != nullptr ? prop_o->if_contains("type") : nullptr;
    return type != nullptr && type->is_string() && type->get_string() == "string";
}

error schema_failure(
    std::string_view side, const std::string& problems, const json::value& instance, const std::string& schema
) {
    return error{
        errc::bad_request,
        "Error validating " + std::string(side) +
            " schema, if you think this is expected, please update your '" + std::string(side) +
            "' field in the 'interface' field for this model: Validation failed: " + problems +
            " for instance: " + compact_json_text(instance, number_style::java) + " with schema: " + schema};
}

}  // namespace

result<std::shared_ptr<const model_interface>> compile_interface(const json::value& stored) {
    auto out = std::make_shared<model_interface>();
    const auto* o = stored.if_object();
    if (o == nullptr) {
        return out;
    }
    for (std::string_view side : {"input", "output"}) {
        const auto* v = o->if_contains(side);
        if (v == nullptr || !v->is_string() || v->get_string().empty()) {
            continue;
        }
        auto compiled = schemas::user_schema::compile(v->get_string(), "interface." + std::string(side));
        if (!compiled) {
            return compiled.error();
        }
        (side == "input" ? out->input : out->output) = std::move(*compiled);
    }
    return std::shared_ptr<const model_interface>(std::move(out));
}

json::value interface_input_instance(const predict_request& request, const schemas::user_schema& schema) {
    json::object params;
    for (const auto& kv : request.parameters) {
        const auto& v = kv.value();
        if (v.is_string() && !typed_as_string(schema.document(), kv.key())) {
            boost::system::error_code ec;
            auto parsed = parse_json(v.get_string(), ec);
            if (!ec) {
                params[kv.key()] = std::move(parsed);
                continue;
            }
        }
        params[kv.key()] = v;
    }
    json::object out{{"algorithm", "REMOTE"}};
    if (request.kind == predict_input_kind::parameters || !params.empty()) {
        out["parameters"] = std::move(params);
    }
    if (!request.text_docs.empty()) {
        json::array docs;
        for (const auto& d : request.text_docs) {
            docs.push_back(d ? json::value(*d) : json::value(nullptr));
        }
        out["text_docs"] = std::move(docs);
    }
    return out;
}

std::optional<error> check_interface_input(
    const model_interface* iface, bool broken, const predict_request& request
) {
    if (broken) {
        return error{
            errc::illegal_state, "The interface stored with this model no longer compiles; update the model"};
    }
    if (iface == nullptr || !iface->input) {
        return std::nullopt;
    }
    const auto instance = interface_input_instance(request, *iface->input);
    if (auto problems = iface->input->check(instance)) {
        return schema_failure("input", *problems, instance, iface->input->text());
    }
    return std::nullopt;
}

std::optional<error> check_interface_output(const model_interface* iface, std::string_view answer) {
    if (iface == nullptr || !iface->output) {
        return std::nullopt;
    }
    boost::system::error_code ec;
    const auto instance = parse_json(answer, ec);
    if (ec) {
        return error{errc::internal, "the predict answer is not JSON"};
    }
    if (auto problems = iface->output->check(instance)) {
        return schema_failure("output", *problems, instance, iface->output->text());
    }
    return std::nullopt;
}

}  // namespace modelrelay::registry
