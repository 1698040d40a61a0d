// File: type_check.hpp
// A second, allocation-free reading of an embedded schema, used only to say "valid" quickly.
//
// Why it exists: Valijson stays the validator of record, but its visitor costs about 3,000 instructions
// even for `{"parameters": {...}}` against the five-property predict schema (std::function callbacks,
// adapter objects and map lookups per member), about 4 % of a whole `_predict` (docs/benchmarks.md,
// round 12). The schemas are limited to a small keyword set (validate.cpp, `allowed_keywords`), and over
// that set draft-07 validity is a plain walk: `type`, `properties`, `additionalProperties`, `items`,
// `minimum`, `maximum`. `accepts` answers true only for bodies Valijson accepts; whenever it answers false,
// validate() asks Valijson, which decides and explains. tests/unit/schemas/type_check_test.cpp compares
// the two on generated bodies for every embedded schema.
//
// Semantics copied from Valijson 1.0 with kStrongTypes and its Boost.JSON adapter: "integer" is an int64
// only (not 1.0), "number" an int64 or a double. A uint64 (above INT64_MAX) is neither, so it fails every
// "type"; `minimum` / `maximum` ignore it and compare other numbers as doubles.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

namespace modelrelay::schemas {

class type_check {
public:
    // `schema` must already have passed validate.cpp's keyword check and have its $refs inlined.
    explicit type_check(const boost::json::value& schema);

    // True only if `v` is valid against the schema.
    bool accepts(const boost::json::value& v) const noexcept;

private:
    struct node {
        std::uint8_t types = 0;  // bit per JSON type (see type_check.cpp); 0: any
        std::optional<double> minimum;
        std::optional<double> maximum;
        std::vector<std::pair<std::string, node>> properties;  // sorted by name
        bool additional_allowed = true;
        std::unique_ptr<node> additional;  // a schema for members not in `properties`
        std::unique_ptr<node> items;
    };

    static node compile(const boost::json::value& schema);
    static bool accepts(const node& n, const boost::json::value& v) noexcept;

    node root_;
};

}  // namespace modelrelay::schemas
