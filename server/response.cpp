// File: response.cpp
#include "server/response.hpp"

#include <array>
#include <charconv>
#include <cmath>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "registry/parameters.hpp"

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

// A JSON string exactly as json::serialize writes it (`"`, `\\` and control characters escaped, \b \t \n
// \f \r short forms, \u00xx lower-case, everything else verbatim), without the temporary string and the
// serializer set-up json::serialize costs per call: on _predict, one call per key and scalar made response
// printing the largest item in the profile.
void append_json_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    static constexpr auto needs_escape = [] {
        std::array<bool, 256> t{};
        for (int c = 0; c < 0x20; ++c) {
            t[c] = true;
        }
        t['"'] = true;
        t['\\'] = true;
        return t;
    }();
    out.push_back('"');
    std::size_t run = 0;  // start of the pending verbatim run
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (!needs_escape[c]) {
            continue;
        }
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
            case '"':
                out.append("\\\"");
                break;
            case '\\':
                out.append("\\\\");
                break;
            case '\b':
                out.append("\\b");
                break;
            case '\t':
                out.append("\\t");
                break;
            case '\n':
                out.append("\\n");
                break;
            case '\f':
                out.append("\\f");
                break;
            case '\r':
                out.append("\\r");
                break;
            default: {
                const char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
                out.append(u, sizeof u);
            }
        }
    }
    out.append(s.data() + run, s.size() - run);
    out.push_back('"');
}

template <class Int>
void append_integer(std::string& out, Int n) {
    char digits[24];
    const auto r = std::to_chars(digits, digits + sizeof digits, n);
    out.append(digits, r.ptr);
}

// Scalars as Jackson writes them: doubles like Java's Double.toString (`0.5`, `1.0E-4`), not Boost.JSON's
// `5E-1`, so numbers relayed from upstream bodies read the way OpenSearch would print them.
void write_scalar(std::string& out, const json::value& v) {
    switch (v.kind()) {
        case json::kind::string:
            append_json_string(out, v.get_string());
            return;
        case json::kind::int64:
            append_integer(out, v.get_int64());
            return;
        case json::kind::uint64:
            append_integer(out, v.get_uint64());
            return;
        case json::kind::bool_:
            out.append(v.get_bool() ? "true" : "false");
            return;
        case json::kind::null:
            out.append("null");
            return;
        case json::kind::double_:
            if (std::isfinite(v.get_double())) {
                out += registry::java_double_to_string(v.get_double());
                return;
            }
            break;
        default:
            break;
    }
    out += json::serialize(v);
}

void compact_print(std::string& out, const json::value& v) {
    switch (v.kind()) {
        case json::kind::object: {
            out += '{';
            bool first = true;
            for (const auto& kv : v.get_object()) {
                if (!first) {
                    out += ',';
                }
                first = false;
                append_json_string(out, kv.key());
                out += ':';
                compact_print(out, kv.value());
            }
            out += '}';
            return;
        }
        case json::kind::array: {
            out += '[';
            bool first = true;
            for (const auto& e : v.get_array()) {
                if (!first) {
                    out += ',';
                }
                first = false;
                compact_print(out, e);
            }
            out += ']';
            return;
        }
        default:
            write_scalar(out, v);
    }
}

// Boost.JSON 1.81 has no pretty printer; this one matches OpenSearch's layout closely enough
// ("key" : value, two-space indent) for humans, which is all ?pretty promises.
void pretty_print(std::string& out, const json::value& v, int depth) {
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
                append_json_string(out, kv.key());
                out += " : ";
                pretty_print(out, kv.value(), depth + 1);
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
                pretty_print(out, e, depth + 1);
            }
            out += '\n';
            indent(out, depth);
            out += ']';
            return;
        }
        default:
            write_scalar(out, v);
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

std::string serialize(const json::value& v, bool pretty) {
    if (!pretty) {
        std::string out;
        out.reserve(256);
        compact_print(out, v);
        return out;
    }
    std::string out;
    pretty_print(out, v, 0);
    out += '\n';
    return out;
}

http_response json_response(unsigned status, const json::value& body, bool pretty) {
    return make_response(status, serialize(body, pretty));
}

http_response error_response(const registry::error& e, bool pretty) {
    const unsigned status = to_status(e);
    if (e.code == errc::raw_body) {
        auto res = make_response(status, e.reason);
        if (pretty) {
            boost::system::error_code ec;
            auto v = json::parse(e.reason, ec);
            if (!ec) {
                res.body() = serialize(v, true);
                res.prepare_payload();
            }
        }
        return res;
    }
    const std::string_view type = type_name(e.code);
    json::object cause{{"type", type}, {"reason", e.reason}};
    json::object err{{"root_cause", json::array{cause}}, {"type", type}, {"reason", e.reason}};
    return make_response(
        status, serialize(json::object{{"error", std::move(err)}, {"status", status}}, pretty)
    );
}

http_response simple_error_response(unsigned status, std::string_view text, bool pretty) {
    return make_response(status, serialize(json::object{{"error", text}, {"status", status}}, pretty));
}

}  // namespace modelrelay::server
