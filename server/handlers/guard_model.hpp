// File: guard_model.hpp
// Guardrails of type `model` (registry/guardrails.hpp): the guard model is asked about a text before the
// model's own call (its `question` parameter) and about the upstream answer after it. Shared by
// `_predict`, `_predict/stream` (input) and `/v1`.
#pragma once

#include <optional>
#include <string>

#include "registry/deployed_model.hpp"
#include "registry/error.hpp"
#include "registry/predict.hpp"
#include "server/handlers/handlers.hpp"

namespace modelrelay::server::handlers {

// Whether the model has a model-type guardrail on that side (a plain pointer test: callers skip the
// coroutine otherwise, so the predict path pays nothing without one).
bool judges_input(const registry::deployed_model& model);
bool judges_output(const registry::deployed_model& model);

// 400 `guardrails triggered for user input` when the deployed model has a model-type input guardrail, the
// request has a non-empty `question` parameter and the guard model does not accept it.
awaitable<std::optional<registry::error>> model_guard_input(
    request_context& ctx, const registry::deployed_model& model, const registry::predict_request& request
);
// 400 `guardrails triggered for LLM output` when the model has a model-type output guardrail and the guard
// model does not accept `body`.
awaitable<std::optional<registry::error>> model_guard_output(
    request_context& ctx, const registry::deployed_model& model, std::string body
);

}  // namespace modelrelay::server::handlers
