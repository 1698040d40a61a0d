// File: predict_admission.cpp
// The pre-flight shared by _predict and _predict/stream (see predict_admission.hpp).
#include "server/handlers/predict_admission.hpp"

#include <string>
#include <utility>

#include "server/upstream/client.hpp"

namespace modelrelay::server::handlers {

std::variant<predict_admission, http_response> admit_predict(
    request_context& ctx,
    boost::json::monotonic_resource& arena,
    std::string_view model_id,
    std::string_view algorithm
) {
    auto body = parse_body(ctx, &arena);
    if (!body) {
        return fail(ctx, body.error());
    }
    if (!body->is_null()) {
        if (auto v = schemas::validate(schemas::schema_id::predict, *body); !v) {
            return fail(ctx, v.error());
        }
    }
    // The key's token estimate reads the whole body, before parse_predict_body moves `parameters` out.
    const auto key = key_of(ctx);
    const auto estimated_tokens = key_estimate(key, *body);
    auto input = registry::parse_predict_body(std::move(*body), algorithm);
    if (!input) {
        return fail(ctx, input.error());
    }
    // The model's name is looked up only for a key that limits models (it costs a snapshot lookup).
    if (key && key.key->has_limits && !key_allows(key, model_id, model_name_of(ctx, model_id))) {
        return fail(
            ctx,
            registry::not_found("Failed to find model with the provided model id: " + std::string(model_id))
        );
    }
    auto admitted = admit_key(ctx, key, key_door::ml, estimated_tokens);
    if (auto* refused = std::get_if<http_response>(&admitted)) {
        return std::move(*refused);
    }
    return predict_admission{std::move(*input), std::move(std::get<key_permit>(admitted))};
}

http_response fail_counted(
    const request_context& ctx, registry::predict_accounting& counted, const registry::error& e
) {
    auto res = fail(ctx, e);
    // A call dropped because the client left is not the model failing (and the answer is never sent).
    if (!upstream::is_caller_gone(e)) {
        counted.fail(static_cast<int>(res.result_int()));
    }
    return res;
}

}  // namespace modelrelay::server::handlers
