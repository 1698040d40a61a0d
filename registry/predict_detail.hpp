// File: predict_detail.hpp
// Small pieces shared by the three translation units of the predict path (predict_parse.cpp,
// predict.cpp, post_process.cpp). Internal to registry: the public API is predict.hpp.
#pragma once

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

#include "registry/ascii.hpp"
#include "registry/error.hpp"

namespace modelrelay::registry::predict_detail {

// ml-commons MLResultDataType names, in declaration order.
inline constexpr std::array<std::string_view, 10> result_data_types{
    "FLOAT32", "FLOAT64", "FLOAT16", "UINT8", "INT32", "INT8", "INT64", "BOOLEAN", "UNKNOWN", "STRING"};

// Java `Strings.isBlank` / commons-lang `StringUtils.isBlank`: empty or only whitespace
// (Character.isWhitespace on the ASCII range, which is all an HTTP body or a parameter can start with).
bool is_blank(std::string_view s);

// ConnectorUtils.parseMLResultDataTypeFromResponseFilter: the first ml-commons MLResultDataType (in enum
// order) whose `.<NAME>` occurs in the filter, case-insensitively; FLOAT32 when none does.
std::string_view data_type_of_filter(std::string_view filter);

// The error a failing post-processing step reports (see predict.hpp: 400 with the cause text). One place,
// so that switching to ml-commons' 500 m_l_exception + caused_by is a one-line change.
error post_process_failure(std::string cause);

}  // namespace modelrelay::registry::predict_detail
