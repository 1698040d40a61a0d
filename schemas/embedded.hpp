// File: embedded.hpp
// The JSON Schema files compiled into the binary. The definitions are generated at build time by
// schemas/embed.cmake (one raw string literal per schemas/*.schema.json), so a schema edit needs no
// code change and the server never reads schema files at run time.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace modelrelay::schemas {

struct embedded_schema_file {
    std::string_view name;  // file name, e.g. "connector_create.schema.json"
    std::string_view text;  // the file's bytes
};

// All embedded files, sorted by name.
std::span<const embedded_schema_file> embedded_schema_files() noexcept;
// The text of the file `name`, if embedded.
std::optional<std::string_view> find_embedded_schema(std::string_view name) noexcept;

}  // namespace modelrelay::schemas
