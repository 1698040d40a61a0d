// File: user_schema.hpp
// A JSON Schema supplied by a user: a model's `interface` (ml-commons.md §8.4), whose `input` and `output`
// check every `_predict` of the model. Compiled once with Valijson under draft-07 rules (ml-commons uses
// networknt with draft 2020-12; the keywords the two share behave the same, keywords Valijson does not
// know are ignored). Messages follow networknt's shape: `[$.parameters.messages: <what>, ...]`.
// A user's schema is not trusted: compile refuses what Valijson could not apply safely (mistyped keywords,
// remote or dangling `$ref`s, cycles that never descend into the instance, `multipleOf` <= 0, patterns RE2
// cannot compile, ...: user_schema_rewrite.hpp), and `pattern`, `patternProperties` and `format` are
// matched with RE2 instead of Valijson's std::regex.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "registry/error.hpp"

namespace modelrelay::schemas {

class user_schema {
public:
    ~user_schema();
    user_schema(const user_schema&) = delete;
    user_schema& operator=(const user_schema&) = delete;

    // `text` is the schema as the model stores it (a JSON string). Errors: errc::illegal_argument with
    // `<what> is not a valid JSON Schema: <reason>`, `what` naming the field (e.g. "interface.input").
    static registry::result<std::shared_ptr<const user_schema>> compile(
        std::string_view text, std::string_view what
    );

    // nullopt when `instance` is valid; otherwise every problem Valijson found, as
    // `[$.a.b: <description>, ...]` (a pattern: networknt's `$.a: does not match the regex pattern <p>`).
    // Never throws: should Valijson throw, the instance is refused with that reason.
    std::optional<std::string> check(const boost::json::value& instance) const;

    // The compiled schema's JSON (what the message quotes, and what the predict input conversion reads).
    const boost::json::value& document() const;
    const std::string& text() const;

private:
    struct impl;
    std::optional<std::string> check_with_valijson(const boost::json::value& instance) const;
    explicit user_schema(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

}  // namespace modelrelay::schemas
