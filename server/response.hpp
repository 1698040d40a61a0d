// File: response.hpp
// Building HTTP responses: JSON bodies (with ?pretty), the OpenSearch error envelope, and the one mapping
// from registry::errc to HTTP status and OpenSearch `type` string.
#pragma once

#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>

#include "registry/error.hpp"
#include "registry/json_text.hpp"

namespace modelrelay::server {

namespace http = boost::beast::http;
using http_response = http::response<http::string_body>;

// The HTTP status for an error (error::status wins for errc::upstream_status).
unsigned to_status(const registry::error& e);
// The OpenSearch snake-case exception type for an errc.
std::string_view type_name(registry::errc code);

// Serialises `v`, indented when `pretty` (OpenSearch's ?pretty); doubles Java-style unless `/v1` asks
// for the plain form.
std::string serialize(
    const boost::json::value& v, bool pretty, registry::number_style style = registry::number_style::java
);

http_response json_response(
    unsigned status,
    const boost::json::value& body,
    bool pretty,
    registry::number_style style = registry::number_style::java
);
// A body already printed compact (registry/json_text.hpp); re-read and indented only for ?pretty.
http_response json_text_response(unsigned status, std::string compact, bool pretty);
// {"error":{"root_cause":[{"type","reason"}],"type","reason"},"status"}
http_response error_response(const registry::error& e, bool pretty);
// The simple form OpenSearch core uses for routing errors: {"error":"<text>","status":<n>}
http_response simple_error_response(unsigned status, std::string_view text, bool pretty);

}  // namespace modelrelay::server
