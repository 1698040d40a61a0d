// File: model_interface_test.cpp
// A model's interface schemas without sockets: the input instance ml-commons builds (string parameters
// holding JSON read back unless typed as string), networknt-shaped messages, the output check and the
// register-time refusal of a broken schema.
#include "registry/model_interface.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "schemas/user_schema.hpp"

namespace modelrelay::registry {
namespace {

namespace json = boost::json;

const std::string input_schema =
    R"({"type":"object","properties":{"parameters":{"type":"object","properties":{)"
    R"("messages":{"type":"array"},"note":{"type":"string"},"n":{"type":"integer"}},"required":["messages"]}},)"
    R"("required":["parameters"]})";

std::shared_ptr<const model_interface> iface(std::string_view input, std::string_view output = "") {
    auto r = compile_interface(json::object{{"input", input}, {"output", output}});
    EXPECT_TRUE(r) << (r ? "" : r.error().reason);
    return r ? *r : nullptr;
}

predict_request with_parameters(std::string_view params) {
    predict_request r;
    r.parameters = json::parse(params).as_object();
    return r;
}

TEST(model_interface, string_parameters_holding_json_are_read_back_unless_typed_as_string) {
    const auto i = iface(input_schema);
    ASSERT_TRUE(i && i->input);
    const auto instance = interface_input_instance(
        with_parameters(R"({"messages":"[{\"role\":\"user\"}]","note":"{\"a\":1}","n":"5","text":"hello"})"),
        *i->input
    );
    EXPECT_EQ(
        instance,
        json::parse(
            R"({"algorithm":"REMOTE","parameters":{"messages":[{"role":"user"}],"note":"{\"a\":1}","n":5,"text":"hello"}})"
        )
    );
    EXPECT_FALSE(check_interface_input(i.get(), false, with_parameters(R"({"messages":"[]","n":"5"})")));
}

TEST(model_interface, failures_carry_the_ml_commons_prefix_and_networknt_shaped_details) {
    const auto i = iface(input_schema);
    auto missing = check_interface_input(i.get(), false, with_parameters(R"({"prompt":"hi"})"));
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->code, errc::bad_request);
    EXPECT_EQ(
        missing->reason,
        "Error validating input schema, if you think this is expected, please update your 'input' field in "
        "the "
        "'interface' field for this model: Validation failed: [$.parameters.messages: is missing but it is "
        "required] for instance: {\"algorithm\":\"REMOTE\",\"parameters\":{\"prompt\":\"hi\"}} with "
        "schema: " +
            input_schema
    );
    auto wrong =
        check_interface_input(i.get(), false, with_parameters(R"({"messages":"plain text","n":"x"})"));
    ASSERT_TRUE(wrong);
    EXPECT_NE(wrong->reason.find("[$.parameters.messages: string found, array expected, "), std::string::npos)
        << wrong->reason;
    EXPECT_NE(wrong->reason.find("$.parameters.n: string found, integer expected]"), std::string::npos)
        << wrong->reason;
    // No interface, or no input schema: nothing is checked.
    EXPECT_FALSE(check_interface_input(nullptr, false, with_parameters("{}")));
    EXPECT_FALSE(check_interface_input(iface("", "{}").get(), false, with_parameters("{}")));
    EXPECT_TRUE(check_interface_input(nullptr, true, with_parameters("{}")));  // stored, no longer compiles
}

TEST(model_interface, the_output_schema_checks_the_whole_answer) {
    const auto i = iface(
        "",
        R"({"type":"object","properties":{"inference_results":{"type":"array","items":{"type":"object",)"
        R"("properties":{"status_code":{"type":"integer","maximum":299}}}}}})"
    );
    EXPECT_FALSE(check_interface_output(i.get(), R"({"inference_results":[{"status_code":200}]})"));
    auto bad = check_interface_output(i.get(), R"({"inference_results":[{"status_code":"200"}]})");
    ASSERT_TRUE(bad);
    EXPECT_TRUE(
        bad->reason.starts_with("Error validating output schema, if you think this is expected, please "
                                "update your 'output' field in the "
                                "'interface' field for this model: Validation failed: "
                                "[$.inference_results[0].status_code: string found, "
                                "integer expected]")
    ) << bad->reason;
    // The instance prints as Jackson prints it: doubles Java-style, not Boost.JSON's `5E-1`.
    auto floats = check_interface_output(
        i.get(), R"({"inference_results":[{"status_code":"200","output":[{"data":[0.5,-0.00042]}]}]})"
    );
    ASSERT_TRUE(floats);
    EXPECT_NE(floats->reason.find(R"("data":[0.5,-4.2E-4])"), std::string::npos) << floats->reason;
}

TEST(model_interface, a_broken_schema_is_refused_when_stored) {
    auto r = compile_interface(json::object{{"input", "{not json"}});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::illegal_argument);
    EXPECT_TRUE(r.error().reason.starts_with("interface.input is not a valid JSON Schema: "))
        << r.error().reason;
    auto not_object = compile_interface(json::object{{"output", "[1,2]"}});
    ASSERT_FALSE(not_object);
    EXPECT_EQ(not_object.error().reason, "interface.output is not a valid JSON Schema: not an object");
}

}  // namespace
}  // namespace modelrelay::registry
