// File: model_access.hpp
// The pre-flight every handler that calls a model shares (_predict, _predict/stream, /v1): find the model
// for the caller, refuse a disabled one, honour the remote-inference switch, deploy on first use (spec
// ml-commons.md §6.3) and take a token from the model-level rate limiter. One implementation, so the three
// front doors cannot drift apart.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "registry/authz.hpp"
#include "registry/error.hpp"
#include "registry/predict.hpp"
#include "registry/service.hpp"
#include "registry/snapshot.hpp"
#include "server/router.hpp"

namespace modelrelay::server::handlers {

struct ready_model {
    std::shared_ptr<const registry::snapshot> snap;  // the snapshot `model` points into (settings too)
    const registry::resource* model = nullptr;
    std::shared_ptr<const registry::deployed_model> deployed;  // never null on success
    // deployed's compiled connector (compiled here if this is the first call since a restart); never null on
    // success, alive as long as `deployed`.
    const registry::compiled_connector* connector = nullptr;
};

// Errors, in ml-commons order and text: 404 `Failed to find model with the provided model id: <id>`, the
// tenancy / model ACL refusal of `act` (403 `You don't have permission to access this resource` for another
// tenant's model, 403 `User doesn't have privilege to perform this operation on this model`), 403 `Model is
// disabled.`, 400 remote inference disabled, 400 `Model not
// ready yet. Please deploy the model first.` / `Auto deployment disabled for this model, please deploy
// model first Model ID: <id>`, the deploy error itself (also when the connector of a deployment restored at
// start-up is compiled on this first call). The rate limiters are charged later, per upstream call
// (charge_rate_limiters).
// With `input` (the ml-commons predict routes), the model's interface input schema is checked where
// ml-commons checks it: after the disabled check, before deploy-on-first-use and the rate limiters.
boost::asio::awaitable<registry::result<ready_model>> prepare_model(
    request_context& ctx,
    const registry::caller& who,
    std::string model_id,
    registry::action act = registry::action::model_predict,
    const registry::predict_request* input = nullptr
);

// prepare_model without a coroutine frame, for the hot paths: the same checks and errors, or nullopt when
// the model must first be deployed (a deploy on first use goes through the store thread: call
// prepare_model then).
std::optional<registry::result<ready_model>> prepare_model_now(
    request_context& ctx,
    const registry::caller& who,
    const std::string& model_id,
    registry::action act = registry::action::model_predict,
    const registry::predict_request* input = nullptr
);

// The model's rate limiter and the model controller's limiter of `who`, charged once per upstream call
// that `calls` counts: 429 `Request is throttled at model level.`, then 429 `Request is throttled at user
// level. If you think there's an issue, please contact your cluster admin.`. As ml-commons charges them in
// RemoteConnectorExecutor.preparePayloadAndInvoke: per call, after its payload is built and checked, before
// the guardrails; so handlers call this once planning succeeded and before anything is sent (a request
// refused for its payload costs no token; a text_docs request split into n calls costs n, and when the
// k-th is throttled the calls before it are not sent, where ml-commons has already sent them).
// `wait_ns`, when given, gets the time until the refusing limiter has a token again (a 429's Retry-After).
std::optional<registry::error> charge_rate_limiters(
    const registry::caller& who, const ready_model& ready, std::size_t calls, std::int64_t* wait_ns = nullptr
);

}  // namespace modelrelay::server::handlers
