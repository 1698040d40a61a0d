// File: guardrails_test.cpp
// local_regex guardrails without sockets: Java `matches()` semantics (the whole text), input and output
// lists kept apart, stop words kept but never blocking, model-type sides and the register-time refusals.
#include "registry/guardrails.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace modelrelay::registry {
namespace {

std::shared_ptr<const guardrails> compiled(std::string_view spec) {
    auto g = guardrails::compile(boost::json::parse(spec));
    EXPECT_TRUE(g) << spec << ": " << (g ? "" : g.error().reason);
    return g ? *g : nullptr;
}

std::string refusal(std::string_view spec) {
    auto g = guardrails::compile(boost::json::parse(spec));
    EXPECT_FALSE(g) << spec;
    if (g) {
        return {};
    }
    EXPECT_EQ(g.error().code, errc::illegal_argument);
    return g.error().reason;
}

TEST(guardrails, a_regex_must_match_the_whole_text_to_block_it) {
    auto g = compiled(R"({"type":"local_regex","input_guardrail":{"regex":["rob","\\d+"]},
                          "output_guardrail":{"regex":[".*bad.*"]}})");
    ASSERT_TRUE(g);
    EXPECT_TRUE(g->input_passes("please rob nothing"));  // "rob" does not match the whole text
    EXPECT_FALSE(g->input_passes("rob"));
    EXPECT_FALSE(g->input_passes("12345"));
    EXPECT_TRUE(g->input_passes("a bad word"));  // the output list does not apply to input
    EXPECT_FALSE(g->output_passes("a bad word"));
    EXPECT_TRUE(g->output_passes("rob"));
    // `.` does not cross a line break (Java's default, and RE2's).
    EXPECT_TRUE(g->output_passes("a\nbad\nword"));
    EXPECT_FALSE(g->has_stop_words());

    EXPECT_EQ(guard_user_input(g.get(), false, "rob")->reason, "guardrails triggered for user input");
    EXPECT_EQ(guard_llm_output(g.get(), false, "so bad")->reason, "guardrails triggered for LLM output");
    EXPECT_FALSE(guard_user_input(g.get(), false, "fine"));
    EXPECT_FALSE(guard_user_input(nullptr, false, "rob"));     // no guardrails
    EXPECT_TRUE(guard_user_input(nullptr, true, "anything"));  // stored ones that no longer compile
}

TEST(guardrails, stop_words_are_kept_and_never_block) {
    auto g = compiled(R"({"type":"local_regex",
        "input_guardrail":{"stop_words":[{"index_name":"words0","source_fields":["title"]}]}})");
    ASSERT_TRUE(g);
    EXPECT_TRUE(g->has_stop_words());
    EXPECT_TRUE(g->input_passes("Master slave architecture"));
}

TEST(guardrails, a_model_type_side_judges_the_guard_models_json_answer_as_a_whole) {
    auto g = compiled(R"({"type":"model","input_guardrail":{"model_id":"guard","response_filter":"$.x",
                          "response_validation_regex":"^\\s*\"[Aa]ccept\"\\s*$"},"output_guardrail":{}})");
    ASSERT_TRUE(g);
    const auto* in = g->input_model();
    ASSERT_NE(in, nullptr);
    EXPECT_EQ(in->model_id, "guard");
    EXPECT_EQ(in->response_filter, "$.x");
    EXPECT_TRUE(in->accepts(R"("accept")"));
    EXPECT_TRUE(in->accepts(R"( "Accept" )"));
    EXPECT_FALSE(in->accepts("accept"));  // the JSON text of a string has its quotes
    EXPECT_FALSE(in->accepts(R"("reject")"));
    EXPECT_EQ(g->output_model(), nullptr);     // an empty side is no guardrail
    EXPECT_TRUE(g->input_passes("anything"));  // no regex lists on a model type
}

TEST(guardrails, register_time_refusals) {
    EXPECT_EQ(refusal(R"({"input_guardrail":{}})"), "The type of guardrails is required, can not be null.");
    EXPECT_EQ(refusal(R"({"type":"LOCAL_REGEX"})"), "The type of guardrails is required, can not be null.");
    EXPECT_EQ(
        refusal(R"({"type":"local_regex","output_guardrail":{"regex":["a(b"]}})"),
        "Invalid guardrails regex: a(b"
    );
    EXPECT_EQ(
        refusal(R"({"type":"local_regex","input_guardrail":{"regex":"x"}})"),
        "input_guardrail.regex must be an array of strings"
    );
    EXPECT_EQ(
        refusal(R"({"type":"model","input_guardrail":{"model_id":"m"}})"),
        "input_guardrail.response_validation_regex is required for guardrails of type model"
    );
    EXPECT_EQ(
        refusal(R"({"type":"model","output_guardrail":{"response_validation_regex":"x"}})"),
        "output_guardrail.model_id is required for guardrails of type model"
    );
    EXPECT_TRUE(compiled(R"({"type":"local_regex"})"));  // nothing to check is allowed
}

}  // namespace
}  // namespace modelrelay::registry
