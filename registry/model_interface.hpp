// File: model_interface.hpp
// A model's `interface` (ml-commons.md §1.4, §4, §8.4): JSON Schemas for the predict input and output,
// stored as JSON strings and compiled once per deployment. The input instance is what ml-commons
// validates: `{"algorithm":"REMOTE","parameters":{...}}`, where a string parameter that holds JSON is
// read back as that JSON unless the schema types it as a string (ml-commons stringifies every parameter
// first). The output instance is the whole `{"inference_results":[...]}` answer.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "registry/error.hpp"
#include "registry/predict.hpp"

namespace modelrelay::schemas {
class user_schema;
}

namespace modelrelay::registry {

struct model_interface {
    std::shared_ptr<const schemas::user_schema> input;   // null: not checked
    std::shared_ptr<const schemas::user_schema> output;  // null: not checked
};

// The stored `interface` object ({"input":"<schema>","output":"<schema>"}; an empty string is no
// schema). Errors: 400 illegal_argument `interface.input is not a valid JSON Schema: <reason>`.
result<std::shared_ptr<const model_interface>> compile_interface(const boost::json::value& stored);

// The instance for `request`: `algorithm`, then `parameters` (converted as above) and `text_docs` when the
// request has them.
boost::json::value interface_input_instance(
    const predict_request& request, const schemas::user_schema& schema
);

// 400 status_exception `Error validating input schema, if you think this is expected, please update your
// 'input' field in the 'interface' field for this model: Validation failed: [...] for instance: <json> with
// schema: <schema>`; nullopt when valid or when there is no input schema. `broken` (a stored interface
// that no longer compiles) refuses every request.
std::optional<error> check_interface_input(
    const model_interface* iface, bool broken, const predict_request& request
);
// The same for the answer (`'output' field`), given the `{"inference_results":[...]}` text.
std::optional<error> check_interface_output(const model_interface* iface, std::string_view answer);

}  // namespace modelrelay::registry
