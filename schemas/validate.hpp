// File: validate.hpp
// Request-body validation against the JSON Schemas in schemas/*.schema.json (draft-07, compiled once
// with Valijson). The schemas check types and field names only; required fields and every check that has
// its own ml-commons message (e.g. `Connector name is null`) stay in code, after this validation.
//
// Error format (errc::illegal_argument, HTTP 400), one error per request: the first problem in document
// order, as `[<where>] <what>`:
//   [<where>] expected <type>[ or <type>...] but got <type>   e.g. [actions/0/url] expected string but got
//   number
//   [<where>] unknown field [<name>]                           e.g. [connector] unknown field [foo]
//   [<where>] must be <= <n>   /   [<where>] must be >= <n>   e.g. [client_config/read_timeout] must be <=
//   2147483647
// <where> is the JSON Pointer (RFC 6901, without the leading '/') of the offending value, or for an unknown
// field of the object that holds it. The body itself is named by the schema's root label: `connector`
// (connector create/update), `settings`, `model` (register/update), `model_group`, `predict`.
// Types are JSON's: object, array, string, number, integer, boolean, null ("got" never says integer).
// Messages never echo a value (bodies carry credentials); field names longer than 100 bytes are cut.
//
// @par Thread safety
// validate() may be called concurrently from any number of threads. The schemas are compiled on first use
// (a function-local static, so exactly once); call init() at startup to pay that cost before serving and
// to fail fast. Each call uses its own Valijson validator (Valijson caches regexes inside the validator).
#pragma once

#include <string_view>

#include <boost/json/value.hpp>

#include "registry/error.hpp"

namespace modelrelay::schemas {

enum class schema_id {
    connector_create,      // connector_create.schema.json     POST   /_plugins/_ml/connectors/_create
    connector_update,      // connector_update.schema.json     PUT    /_plugins/_ml/connectors/{id}
    cluster_settings_put,  // cluster_settings_put.schema.json PUT    /_cluster/settings
    model_register,        // model_register.schema.json       POST   /_plugins/_ml/models/_register
    model_update,          // model_update.schema.json         PUT    /_plugins/_ml/models/{id}
    model_group,  // model_group.schema.json          POST   model_groups/_register, PUT model_groups/{id}
    predict,      // predict.schema.json              POST   .../_predict
};

// The schema's file name, e.g. "connector_create.schema.json".
std::string_view file_name(schema_id id) noexcept;

// Compiles every schema now. Throws std::logic_error if an embedded schema is broken (a build bug:
// bad JSON, an unresolvable $ref, or a keyword outside the supported set listed in validate.cpp).
void init();

// Success, or the first problem as described above.
registry::result<void> validate(schema_id id, const boost::json::value& body);

namespace detail {
// The two deciders behind validate(), for the test that compares them (type_check.hpp).
bool valijson_accepts(schema_id id, const boost::json::value& body);
bool type_check_accepts(schema_id id, const boost::json::value& body);
const boost::json::value& inlined_schema(schema_id id);  // the schema both deciders were built from
}  // namespace detail

}  // namespace modelrelay::schemas
