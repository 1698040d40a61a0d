// File: json_parse.hpp
// JSON text to a Boost.JSON tree with every number read exactly. Boost.JSON 1.81 turns a decimal into a
// double with its own fast conversion, which lands one unit in the last place away for some numbers of 16
// and 17 significant digits (1918.1106439809487 reads as 1918.110643980949); `parse_options::numbers`,
// which fixes that, only arrived in Boost 1.83. An upstream's float64 embeddings and llama.cpp's timings
// are such numbers, and Jackson, Python and OpenSearch read them exactly, so every JSON text modelrelay
// reads goes through here (or through a basic_parser handler that uses exact_double).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/parse_options.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

namespace modelrelay::registry {

// json::parse, with doubles read exactly (a number beyond a double's range is an infinity, as json::parse
// gives). On an error `ec` is set and the result is null; `used`, when
// given, receives how many characters were consumed (where the error was found). With `duplicate` given,
// an object that names a key twice is refused as OpenSearch's parser refuses it (Jackson with
// STRICT_DUPLICATE_DETECTION): the result is null, `ec` stays clear and `duplicate` holds the key.
boost::json::value parse_json(
    std::string_view text,
    boost::system::error_code& ec,
    boost::json::storage_ptr sp = {},
    const boost::json::parse_options& opt = {},
    std::size_t* used = nullptr,
    std::optional<std::string>* duplicate = nullptr
);

// parse_json for a client's request body: a number beyond a double's range (`1e400`, which would be
// written back, to an upstream too, as the non-JSON `Infinity`) is an error, json::error::exponent_overflow.
// An upstream's answer is read with parse_json: a number nobody relays must not lose the rest.
boost::json::value parse_request_json(
    std::string_view text,
    boost::system::error_code& ec,
    boost::json::storage_ptr sp = {},
    const boost::json::parse_options& opt = {},
    std::optional<std::string>* duplicate = nullptr
);

// The throwing form (boost::system::system_error), like json::parse without an error code.
boost::json::value parse_json(
    std::string_view text, boost::json::storage_ptr sp = {}, const boost::json::parse_options& opt = {}
);

// The double nearest to the JSON number `text` (what Boost.JSON's basic_parser passes to on_double along
// with its own approximation `approx`, which is returned if `text` is somehow not a number).
double exact_double(std::string_view text, double approx) noexcept;

}  // namespace modelrelay::registry
