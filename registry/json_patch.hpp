// File: json_patch.hpp
// JSON Patch (RFC 6902) as the Security plugin's PATCH endpoints apply it: the plugin's own checks on the
// request body (AbstractApiAction.withPatchRequestContent), then zjsonpatch 0.4's semantics and messages for
// `add`, `replace` and `remove` on a copy, so a failing operation leaves the document untouched. Only those
// three operations: the plugin refuses `move`, `copy` and `test` before applying anything. Pure functions,
// tested without sockets.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include "registry/error.hpp"

namespace modelrelay::registry {

// The body of a Security PATCH: a JSON array with at least one `op`, every `op` one of add, replace and
// remove. Errors are 400 {"status":"BAD_REQUEST","message":...}: `Wrong request body`, `Error in JSON
// patch: <parser message>`, `Unsupported patch operation: <op>. Supported are: add,replace,remove`.
result<boost::json::array> parse_security_patch(std::string_view body);

// Applies the operations in order to a copy of `target`. Errors carry zjsonpatch's messages, e.g.
// `Missing field "backend_roles"`, `Array index 3 out of bounds`, `Invalid JSON Patch payload (missing
// 'value' field)`, as 400 BAD_REQUEST; a malformed pointer is a 400 illegal_argument_exception
// (`Missing leading slash`).
result<boost::json::value> apply_json_patch(const boost::json::array& ops, boost::json::value target);

// The entities a collection-level patch touches: the first reference token of every path. `whole` is set
// when a path is the document root, which touches every entity.
struct patched_entities {
    std::vector<std::string> names;
    bool whole = false;
};
patched_entities patch_entity_names(const boost::json::array& ops);

}  // namespace modelrelay::registry
