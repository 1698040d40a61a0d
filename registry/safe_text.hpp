// File: safe_text.hpp
// ml-commons' request validation of free-text fields (StringUtils.validateFields with FieldDescriptor): names
// and descriptions of connectors, model groups and models may hold letters, digits, whitespace and
// `.,!?():@-_/'"` only; a required one must not be blank. Runs before the action itself (a transport
// request's validate()), so its 400 comes before any lookup.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "registry/error.hpp"

namespace modelrelay::registry {

// Java `\s`-aware match of ml-commons' safe-text pattern `^[\p{L}\p{N}\s.,!?():@\-_/'"]*$`.
bool is_safe_text(std::string_view text);
// Java String.isBlank(): empty or only whitespace code points (Character.isWhitespace; the no-break
// spaces are not whitespace). Invalid UTF-8 is not blank.
bool is_blank(std::string_view text);

struct text_field {
    std::string_view label;  // "Model group name", as the error names it
    const std::optional<std::string>& value;
    bool required = false;
};

// Checks the fields in the order given, which must be the iteration order of the Java HashMap ml-commons
// fills with them (bucket order of the labels' String.hashCode; see the callers). Every failure is listed:
// 400 action_request_validation_exception `Validation Failed: 1: <label> is required and cannot be null or
// blank;2: <label> can only contain letters, numbers, spaces, and basic punctuation (.,!?():@-_'/");`.
// An optional field that is absent or blank passes.
result<void> validate_text_fields(std::initializer_list<text_field> fields);

}  // namespace modelrelay::registry
