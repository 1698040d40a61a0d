// File: predict_admission.hpp
// What `_predict` and `_predict/stream` check before they look the model up, in this order: the body
// (parsed into the caller's arena), its schema, ml-commons' predict parser, then an API key's allow-list
// and limits (security.md R16, R17). The first failure is the answer; nothing is called or stored.
#pragma once

#include <string_view>
#include <variant>

#include <boost/json/monotonic_resource.hpp>

#include "registry/ml_stats.hpp"
#include "registry/predict.hpp"
#include "server/handlers/handlers.hpp"
#include "server/handlers/key_scope.hpp"

namespace modelrelay::server::handlers {

struct predict_admission {
    registry::predict_request input;  // `parameters` live in the arena: it must outlive this
    key_permit permit;
};

// `algorithm` as for registry::parse_predict_body ("" for the model's own function).
std::variant<predict_admission, http_response> admit_predict(
    request_context& ctx,
    boost::json::monotonic_resource& arena,
    std::string_view model_id,
    std::string_view algorithm
);

// The error answer of a predict the stats API already counts, with its failure recorded (every status but
// 400, as ml-commons tracks them).
http_response fail_counted(
    const request_context& ctx, registry::predict_accounting& counted, const registry::error& e
);

}  // namespace modelrelay::server::handlers
