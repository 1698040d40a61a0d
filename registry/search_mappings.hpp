// File: search_mappings.hpp
// Field mappings of ml-commons' system indices, as the `_search` evaluator needs them. OpenSearch decides how
// a query matches from the field's mapping (a `term` on a `text` field compares analysed tokens, on a
// `keyword` field the whole value; `owner` is `nested`), so run_search() takes one of these tables to answer
// like ml-commons does. Copied from ml-commons `common/src/main/resources/index-mappings/*.json`.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace modelrelay::registry {

enum class field_type : std::uint8_t {
    text,         // analysed (standard analyzer); `keyword_subfield` adds `<path>.keyword`
    keyword,      // exact whole value
    integer,      // long / integer
    floating,     // float / double
    boolean,      // boolean
    date,         // epoch millis in documents; query values use `strict_date_time||epoch_millis`
    flat_object,  // every leaf below is an exact keyword; the path itself matches any leaf
    nested,       // an array of objects searched one object at a time (the `nested` query)
};

// One mapped path. Paths are dotted (`owner.name`); object levels need no entry of their own.
struct field_mapping {
    std::string_view path;
    field_type type = field_type::keyword;
    bool keyword_subfield = false;  // text fields with `"fields":{"keyword":{"type":"keyword"}}`
};

using index_mapping = std::span<const field_mapping>;

// `.plugins-ml-connector`
index_mapping connector_index_mapping();
// `.plugins-ml-model-group`
index_mapping model_group_index_mapping();
// `.plugins-ml-model` (with the inline `connector` and nested `user` placeholders expanded)
index_mapping model_index_mapping();
// `.plugins-ml-task`
index_mapping task_index_mapping();

}  // namespace modelrelay::registry
