// File: response.cpp
#include "server/response.hpp"

#include <array>
#include <charconv>
#include <cmath>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "registry/json_parse.hpp"
#include "registry/json_text.hpp"

namespace modelrelay::server {

namespace json = boost::json;
using registry::errc;

unsigned to_status(const registry::error& e) {
    switch (e.code) {
        case errc::illegal_argument:
        case errc::validation_failed:
        case errc::parse_failed:
        case errc::json_parse:
        case errc::parsing:
        case errc::x_content_parse:
        case errc::bad_request:
        case errc::validation:
        case errc::already_exists:
        case errc::number_format:
        case errc::query_shard:
            return 400;
        case errc::unauthorized:
            return 401;
        case errc::forbidden:
        case errc::security_forbidden:
            return 403;
        case errc::not_found:
        case errc::resource_not_found:
            return 404;
        case errc::method_not_allowed:
            return 405;
        case errc::not_acceptable:
            return 406;
        case errc::request_timeout:
            return 408;
        case errc::conflict:
            return 409;
        case errc::payload_too_large:
            return 413;
        case errc::too_many_requests:
            return 429;
        case errc::upstream_status:
        case errc::raw_body:
            return e.status >= 100 && e.status <= 599 ? e.status : 500;
        case errc::io_error:
        case errc::illegal_state:
        case errc::ml_exception:
        case errc::ml_validation:
        case errc::ml_resource_not_found:
        case errc::ml_limit_exceeded:
        case errc::exception:
        case errc::internal:
            return 500;
        case errc::bad_gateway:
            return 502;
        case errc::service_unavailable:
            return 503;
    }
    return 500;
}

std::string_view type_name(errc code) {
    switch (code) {
        case errc::illegal_argument:
            return "illegal_argument_exception";
        case errc::validation_failed:
            return "action_request_validation_exception";
        case errc::parse_failed:
            return "parse_exception";
        case errc::json_parse:
            return "json_parse_exception";
        case errc::parsing:
            return "parsing_exception";
        case errc::x_content_parse:
            return "x_content_parse_exception";
        case errc::resource_not_found:
            return "resource_not_found_exception";
        case errc::validation:
            return "validation_exception";
        case errc::number_format:
            return "number_format_exception";
        case errc::query_shard:
            return "query_shard_exception";
        case errc::already_exists:
            return "resource_already_exists_exception";
        case errc::io_error:
            return "i_o_exception";
        case errc::illegal_state:
            return "illegal_state_exception";
        case errc::ml_exception:
            return "m_l_exception";
        case errc::ml_validation:
            return "m_l_validation_exception";
        case errc::ml_resource_not_found:
            return "m_l_resource_not_found_exception";
        case errc::ml_limit_exceeded:
            return "m_l_limit_exceeded_exception";
        case errc::exception:
        case errc::internal:
        case errc::raw_body:
            return "exception";
        case errc::unauthorized:
        case errc::security_forbidden:
            return "security_exception";
        case errc::bad_request:
        case errc::forbidden:
        case errc::not_found:
        case errc::method_not_allowed:
        case errc::not_acceptable:
        case errc::request_timeout:
        case errc::conflict:
        case errc::payload_too_large:
        case errc::too_many_requests:
        case errc::upstream_status:
        case errc::bad_gateway:
        case errc::service_unavailable:
            return "status_exception";
    }
    return "exception";
}

namespace {

void indent(std::string& out, int depth) {
    out.append(static_cast<std::size_t>(depth) * 2, ' ');
}

// Boost.JSON 1.81 has no pretty printer; this one matches OpenSearch's layout closely enough
// ("key" : value, two-space indent) for humans, which is all ?pretty promises.
void pretty_print(std::string& out, const json::value& v, int depth, registry::number_style style) {
    switch (v.kind()) {
        case json::kind::object: {
            const auto& obj = v.get_object();
            if (obj.empty()) {
                out += "{ }";
                return;
            }
            out += "{\n";
            bool first = true;
            for (const auto& kv : obj) {
                if (!first) {
                    out += ",\n";
                }
                first = false;
                indent(out, depth + 1);
                registry::append_json_string(out, kv.key());
                out += " : ";
                pretty_print(out, kv.value(), depth + 1, style);
            }
            out += '\n';
            indent(out, depth);
            out += '}';
            return;
        }
        case json::kind::array: {
            const auto& arr = v.get_array();
            if (arr.empty()) {
                out += "[ ]";
                return;
            }
            out += "[\n";
            bool first = true;
            for (const auto& e : arr) {
                if (!first) {
                    out += ",\n";
                }
                first = false;
                indent(out, depth + 1);
                pretty_print(out, e, depth + 1, style);
            }
            out += '\n';
            indent(out, depth);
            out += ']';
            return;
        }
        default:
            registry::append_json_scalar(out, v, style);
    }
}

http_response make_response(unsigned status, std::string body) {
    http_response res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, "application/json; charset=UTF-8");
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

}  // namespace

std::string serialize(const json::value& v, bool pretty, registry::number_style style) {
    if (!pretty) {
        std::string out;
        out.reserve(256);
        registry::append_compact_json(out, v, style);
        return out;
    }
    std::string out;
    pretty_print(out, v, 0, style);
    out += '\n';
    return out;
}

http_response json_response(
    unsigned status, const json::value& body, bool pretty, registry::number_style style
) {
    return make_response(status, serialize(body, pretty, style));
}

http_response json_text_response(unsigned status, std::string compact, bool pretty) {
    if (pretty) {
        return json_response(status, registry::parse_json(compact), true);
    }
    return make_response(status, std::move(compact));
}

http_response error_response(const registry::error& e, bool pretty) {
    const unsigned status = to_status(e);
    if (e.code == errc::raw_body) {
        auto res = make_response(status, e.reason);
        if (pretty) {
            boost::system::error_code ec;
            auto v = registry::parse_json(e.reason, ec);
            if (!ec) {
                res.body() = serialize(v, true);
                res.prepare_payload();
            }
        }
        return res;
    }
    const std::string_view type = type_name(e.code);
    json::object cause{{"type", type}, {"reason", e.reason}};
    if (e.index) {
        cause.emplace("index_uuid", e.index->uuid);
        cause.emplace("index", e.index->name);
    }
    json::object err{{"root_cause", json::array{cause}}, {"type", type}, {"reason", e.reason}};
    if (e.index) {
        err.emplace("index_uuid", e.index->uuid);
        err.emplace("index", e.index->name);
    }
    // The root cause is printed without its cause (REST_EXCEPTION_SKIP_CAUSE); the top level has it.
    json::object* at = &err;
    for (const auto* c = e.cause.get(); c != nullptr; c = c->caused_by.get()) {
        auto& next = at->emplace("caused_by", json::object{{"type", c->type}, {"reason", c->reason}})
                         .first->value()
                         .as_object();
        at = &next;
    }
    return make_response(
        status, serialize(json::object{{"error", std::move(err)}, {"status", status}}, pretty)
    );
}

http_response simple_error_response(unsigned status, std::string_view text, bool pretty) {
    return make_response(status, serialize(json::object{{"error", text}, {"status", status}}, pretty));
}

}  // namespace modelrelay::server
