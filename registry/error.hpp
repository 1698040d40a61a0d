// File: error.hpp
// The error model shared by every layer. Expected failures travel as `registry::result<T>`, a
// boost::system::result whose error carries an `errc` (which fixes the HTTP status and the OpenSearch
// `type` string, see server/response.cpp) and a client-safe `reason`. The reason is sent to the client
// verbatim, so it never contains a secret.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

namespace modelrelay::registry {

// Client errors come before server errors (userver's HandlerErrorCode ordering).
enum class errc {
    // 400
    illegal_argument = 1,  // illegal_argument_exception
    validation_failed,     // action_request_validation_exception ("Validation Failed: 1: ...;")
    parse_failed,          // parse_exception
    json_parse,            // json_parse_exception (malformed request JSON)
    parsing,               // parsing_exception (search DSL)
    x_content_parse,       // x_content_parse_exception (search DSL)
    bad_request,           // status_exception with 400
    validation,            // validation_exception (Elasticsearch inference settings)
    already_exists,        // resource_already_exists_exception 400
    number_format,  // number_format_exception (Java's NumberFormatException, an IllegalArgumentException)
    query_shard,    // query_shard_exception (search DSL that fails against the index's mapping)
    // 401 / 403 / 404 / 406 / 408 / 409 / 413 / 429
    unauthorized,        // security_exception 401
    security_forbidden,  // security_exception 403 (missing privilege)
    forbidden,           // status_exception 403
    not_found,           // status_exception 404
    resource_not_found,  // resource_not_found_exception 404
    method_not_allowed,  // status_exception 405
    not_acceptable,      // status_exception 406
    request_timeout,     // status_exception 408
    conflict,            // status_exception 409
    payload_too_large,   // status_exception 413
    too_many_requests,   // status_exception 429
    // status chosen at run time (upstream pass-through): error::status must be set
    upstream_status,  // status_exception with error::status
    // 5xx
    io_error,               // i_o_exception 500
    illegal_state,          // illegal_state_exception 500
    ml_exception,           // m_l_exception 500
    ml_validation,          // m_l_validation_exception 500
    ml_resource_not_found,  // m_l_resource_not_found_exception 500
    ml_limit_exceeded,      // m_l_limit_exceeded_exception 500
    exception,              // exception 500
    bad_gateway,            // status_exception 502
    service_unavailable,    // status_exception 503
    internal,               // exception 500, generic reason, details only in the log
    // Not an exception envelope: `reason` is the whole JSON response body and `status` the HTTP status
    // (the Security plugin's REST API answers {"status":"FORBIDDEN","message":...}, {"status":"error",...}).
    raw_body,
};

// The index an index-level OpenSearch exception names (`"index_uuid":..,"index":..` in its body).
struct index_ref {
    std::string name;
    std::string uuid;
};

// The Java cause of an exception, printed as its `caused_by` (type in OpenSearch's snake case, e.g.
// `number_format_exception`), with its own cause in turn.
struct error_cause {
    std::string type;
    std::string reason;
    std::shared_ptr<const error_cause> caused_by;
};

struct error {
    errc code = errc::internal;
    std::string reason;
    int status = 0;  // only for errc::upstream_status and errc::raw_body; otherwise derived from code
    std::shared_ptr<const index_ref> index;    // set by the layer that knows the index (errc::query_shard)
    std::shared_ptr<const error_cause> cause;  // `caused_by` of the top-level error, when Java has one

    error() = default;
    error(errc c, std::string r, int s = 0) : code(c), reason(std::move(r)), status(s) {}
};

// Needed by boost::system::result<T, error>::value() for a user-defined error type.
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

template <class T>
using result = boost::system::result<T, error>;

inline error make_error(errc c, std::string reason) {
    return error(c, std::move(reason));
}

// Shorthands for the errors that occur most often.
inline error illegal_argument(std::string reason) {
    return {errc::illegal_argument, std::move(reason)};
}

// An error with a `caused_by`.
inline error with_cause(
    error e, std::string type, std::string reason, std::shared_ptr<const error_cause> next = {}
) {
    e.cause =
        std::make_shared<const error_cause>(error_cause{std::move(type), std::move(reason), std::move(next)});
    return e;
}
inline error not_found(std::string reason) {
    return {errc::not_found, std::move(reason)};
}

}  // namespace modelrelay::registry
