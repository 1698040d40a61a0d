// File: user_schema_test.cpp
// A user's JSON Schema (a model's `interface`) at compile time: every schema Valijson would abort on,
// recurse on forever, divide by zero with or match with a backtracking regex is a 400 with
// `<what> is not a valid JSON Schema: <reason>`.
#include "schemas/user_schema.hpp"

#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace modelrelay::schemas {
namespace {

namespace json = boost::json;

const std::string invalid = "interface.input is not a valid JSON Schema: ";

// The reason compile gives for `text`, or "" when it compiles.
std::string refusal(std::string_view text) {
    auto r = user_schema::compile(text, "interface.input");
    if (r) {
        return "";
    }
    EXPECT_EQ(r.error().code, registry::errc::illegal_argument) << text;
    return r.error().reason;
}

TEST(user_schema, a_keyword_of_the_wrong_type_is_refused_not_fatal) {
    // Each of these aborted the process (Valijson reported them with std::abort()).
    const std::vector<std::string> mistyped = {
        R"({"type":5})",
        R"({"type":"text"})",
        R"({"type":[5]})",
        R"({"required":5})",
        R"({"required":[5]})",
        R"({"properties":[]})",
        R"({"properties":5})",
        R"({"properties":{"a":5}})",
        R"({"enum":5})",
        R"({"$ref":5})",
        R"({"$ref":"#/nope"})",
        R"({"minLength":"a"})",
        R"({"minLength":-1})",
        R"({"maxLength":"a"})",
        R"({"minItems":"a"})",
        R"({"maxProperties":-1})",
        R"({"items":5})",
        R"({"items":[5]})",
        R"({"items":[],"additionalItems":5})",
        R"({"format":5})",
        R"({"format":""})",
        R"({"not":5})",
        R"({"anyOf":[1]})",
        R"({"anyOf":5})",
        R"({"allOf":[1]})",
        R"({"oneOf":[1]})",
        R"({"oneOf":5})",
        R"({"maximum":"x"})",
        R"({"minimum":"x"})",
        R"({"exclusiveMaximum":"x"})",
        R"({"pattern":5})",
        R"({"patternProperties":5})",
        R"({"additionalProperties":5})",
        R"({"dependencies":5})",
        R"({"dependencies":{"a":5}})",
        R"({"contains":5})",
        R"({"propertyNames":5})",
        R"({"if":5})",
        R"({"uniqueItems":5})",
        R"({"multipleOf":"a"})",
        R"({"properties":{"parameters":{"properties":{"n":{"type":5}}}}})",
    };
    for (const auto& text : mistyped) {
        const std::string reason = refusal(text);
        EXPECT_TRUE(reason.starts_with(invalid)) << text << " -> " << reason;
        EXPECT_GT(reason.size(), invalid.size()) << text;
    }
}

}  // namespace
}  // namespace modelrelay::schemas
