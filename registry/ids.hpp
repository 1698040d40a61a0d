// File: ids.hpp
// Resource ids: generated ones look like OpenSearch auto ids (20 URL-safe base64 characters), and ids a
// caller supplies in a create body (`connector_id`, `model_group_id`, `model_id`, ml-commons 3.9) are
// checked with the exact rules and messages of ml-commons' MLResourceIdUtils.validateCustomDocumentId.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "registry/error.hpp"

namespace modelrelay::registry {

inline constexpr std::size_t generated_id_length = 20;
inline constexpr std::size_t max_caller_id_length = 512;  // in UTF-8 bytes, as in ml-commons

// 20 characters of URL-safe base64 (no padding) from 15 RAND_bytes. Throws std::runtime_error if the
// CSPRNG fails.
std::string generate_id();

// A stable index uuid (22 URL-safe base64 characters, like OpenSearch's) for `index` on this node: the
// first 16 bytes of SHA-256(node_id "/" index). Error bodies of index-level exceptions carry it.
std::string index_uuid(std::string_view node_id, std::string_view index);

// Checks a caller-supplied id. `label` names it in the message ("connector id", "model group id",
// "model id"). The caller skips the check when the field is absent or JSON null, as ml-commons does.
// Checks, first failure wins (errc::illegal_argument, 400):
//   empty or only whitespace (Java Character.isWhitespace)  "<label> is invalid"
//   starts with '_'                                         "<label> must not start with '_'"
//   starts with '-'                                         "<label> must not start with '-'"
//   longer than 512 UTF-8 bytes                             "<label> is too long, max length is 512"
//   not ^[a-zA-Z0-9][a-zA-Z0-9_-]*$                         "<label> must contain only letters, digits,
//                                                            underscores, and hyphens, and must start with
//                                                            a letter or digit"
result<void> validate_caller_id(std::string_view id, std::string_view label);

}  // namespace modelrelay::registry
