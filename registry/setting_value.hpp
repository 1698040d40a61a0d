// File: setting_value.hpp
// A stored `_cluster/settings` value and the OpenSearch parsers that check it. OpenSearch keeps what the
// client sent as text (a JSON number `20` becomes "20", `true` becomes "true") or, for a JSON array, as a
// list of texts; it parses on read. modelrelay does the same, so GET renders exactly what was PUT, and the
// parse errors carry the OpenSearch (`Setting.java`, `Booleans.java`, `ByteSizeValue.java`) wording.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/json/value.hpp>

#include "registry/error.hpp"
#include "registry/settings_table.hpp"

namespace modelrelay::registry {

using setting_value = std::variant<std::string, std::vector<std::string>>;

// The value as JSON: a string, or an array of strings.
boost::json::value to_json(const setting_value& v);

// Scalar view (Settings.get): a list reads as Java's List.toString(), "[a, b]".
std::string setting_text(const setting_value& v);

// List view (Settings.getAsList): a string is split on commas (Java String.split, then trim).
std::vector<std::string> list_items(const setting_value& v);

// The default of a row as a stored value.
setting_value default_value(const setting_def& def);

// The text Jackson's parser.text() gives for a JSON scalar: strings raw, booleans "true"/"false", numbers in
// their shortest form (a fractional/exponent number keeps a ".0" so that "20.0" is not read as an int).
// nullopt for objects, arrays and null.
std::optional<std::string> json_scalar_text(const boost::json::value& v);

// OpenSearch Booleans.parseBoolean: exactly `true` or `false`, else 400 `Failed to parse value [<s>] as only
// [true] or [false] are allowed.`
result<bool> parse_bool_value(std::string_view s);

// OpenSearch's TimeValue.parseTimeValue(value, default, setting) as a check (RestRequest.paramAsTime): a
// whole number with a unit (`nanos`, `micros`, `ms`, `s`, `m`, `h`, `d`, any letter case), `-1` or `0`.
// Errors (errc::illegal_argument): `failed to parse setting [<setting>] with value [<value>] as a time value:
// unit is missing or unrecognized` / `...: negative durations are not supported`, `failed to parse
// [<value>], fractional time values are not supported`, `failed to parse [<value>]`.
result<void> check_time_value(std::string_view value, std::string_view setting);

// Checks a value against its row exactly as Setting.get() would, with the OpenSearch error text
// (errc::illegal_argument).
result<void> validate_value(const setting_def& def, const setting_value& v);

// Typed readers. REQUIRES: the value passed validate_value for `def` (they throw std::logic_error otherwise).
bool read_bool(const setting_def& def, const setting_value& v);
long long read_int(const setting_def& def, const setting_value& v);  // integer and long_integer
float read_float(const setting_def& def, const setting_value& v);
long long read_byte_size(const setting_def& def, const setting_value& v);

// Java's Integer.parseInt / Long.parseLong: optional sign, ASCII digits, no spaces; nullopt on a format
// error or a value outside [lo, hi] (the Java type's range), where Java throws NumberFormatException.
std::optional<long long> parse_java_integer(std::string_view s, long long lo, long long hi);

// Java's Double.parseDouble (decimal forms, `NaN`, `Infinity`, a d/f suffix, surrounding whitespace;
// `1e400` is infinity); nullopt where Java throws NumberFormatException.
std::optional<double> parse_java_double(std::string_view s);

// Java's Float.toString for the values the table uses ("0.0", "1.0", "0.8").
std::string java_float_text(float f);

}  // namespace modelrelay::registry
