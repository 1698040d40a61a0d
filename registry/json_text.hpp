// File: json_text.hpp
// Compact JSON text as modelrelay answers it: Boost.JSON's escaping, doubles as Java prints them. One
// printer for trees and one that rewrites JSON text straight into that form without building a tree
// (the _predict hot path relays upstream objects this way).
#pragma once

#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace modelrelay::registry {

// `s` quoted and escaped exactly as json::serialize writes strings.
void append_json_string(std::string& out, std::string_view s);
// `s` escaped as append_json_string does, without the quotes.
void append_json_escaped(std::string& out, std::string_view s);
// How doubles are printed. `java`: Double.toString (`0.5`, `1.0E-4`), as OpenSearch and Elasticsearch
// answer. `plain`: plain_double_to_string (`0.5`, `0.0001`, `1e-7`), as OpenAI-compatible servers answer,
// for the `/v1` front door. Never Boost.JSON's own `5E-1`.
enum class number_style { java, plain };

// A scalar: integers as they are, finite doubles in `style`, the rest as json::serialize.
void append_json_scalar(
    std::string& out, const boost::json::value& v, number_style style = number_style::java
);
// `v` compact, with the scalar rules above.
void append_compact_json(
    std::string& out, const boost::json::value& v, number_style style = number_style::java
);
// append_compact_json into a new string.
std::string compact_json_text(const boost::json::value& v, number_style style);

// Appends exactly what append_compact_json(out, parse(text)) appends, without the tree, when `text` is
// a JSON object (the parse options of registry's upstream parser: depth ≤ 1000, no comments) whose
// objects repeat no key and nest at most 64 deep. Returns false and leaves `out` as it was otherwise
// (also for invalid JSON): the caller takes the tree path, which reports errors and resolves repeats.
bool append_compact_object_text(std::string& out, std::string_view text);

}  // namespace modelrelay::registry
