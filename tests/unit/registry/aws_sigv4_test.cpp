// File: aws_sigv4_test.cpp
// SigV4 against AWS's published test suite (get-vanilla, post-vanilla, get-vanilla-query-order-key-case:
// credentials AKIDEXAMPLE, 2015-08-30T12:36:00Z, us-east-1, service "service"), and the connector rules
// of ml-commons' AwsConnector.
#include "registry/aws_sigv4.hpp"

#include <chrono>
#include <string>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "registry/compiled_connector.hpp"

namespace modelrelay::test {
namespace {

using registry::aws_signing;

const aws_signing example{
    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", "us-east-1", "service"};

std::chrono::system_clock::time_point example_time() {
    return std::chrono::system_clock::from_time_t(1440938160);  // 2015-08-30T12:36:00Z
}

std::string header(const registry::sigv4_headers& hs, std::string_view name) {
    for (const auto& [n, v] : hs) {
        if (n == name) {
            return v;
        }
    }
    return "<absent>";
}

TEST(aws_sigv4, matches_the_aws_test_suite) {
    std::vector<std::pair<std::string, std::string>> none;
    auto get = registry::sign_sigv4(example, "GET", "example.amazonaws.com", "/", none, "", example_time());
    EXPECT_EQ(header(get, "X-Amz-Date"), "20150830T123600Z");
    EXPECT_EQ(
        header(get, "Authorization"),
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    );
    EXPECT_EQ(header(get, "X-Amz-Security-Token"), "<absent>");
    auto post = registry::sign_sigv4(example, "POST", "example.amazonaws.com", "/", none, "", example_time());
    EXPECT_NE(
        header(post, "Authorization")
            .find("Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        std::string::npos
    );
    auto query = registry::sign_sigv4(
        example, "GET", "example.amazonaws.com", "/?Param2=value2&Param1=value1", none, "", example_time()
    );
    EXPECT_NE(
        header(query, "Authorization")
            .find("Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        std::string::npos
    );
}

TEST(aws_sigv4, the_query_is_signed_decoded_and_strictly_re_encoded) {
    std::vector<std::pair<std::string, std::string>> none;
    const auto sign = [&](std::string_view target) {
        return header(
            registry::sign_sigv4(example, "GET", "example.amazonaws.com", target, none, "", example_time()),
            "Authorization"
        );
    };
    // The same parameters, spelled or ordered differently, sign the same.
    EXPECT_EQ(sign("/?b=2&a=%7e"), sign("/?a=~&b=2"));
    EXPECT_EQ(sign("/?a=x%2Fy"), sign("/?a=x/y"));
    // '+' is a plus sign, not a space; different values sign differently.
    EXPECT_NE(sign("/?a=x+y"), sign("/?a=x%20y"));
    EXPECT_NE(sign("/?a=1"), sign("/?a=2"));
}

TEST(aws_sigv4, connector_headers_are_signed_and_the_content_hash_is_filled_in) {
    aws_signing key = example;
    key.session_token = "token-1";
    std::vector<std::pair<std::string, std::string>> hs{
        {"Content-Type", "application/json"}, {"x-amz-content-sha256", "required"}, {"User-Agent", "x"}};
    auto out = registry::sign_sigv4(
        key,
        "POST",
        "bedrock-runtime.us-east-1.amazonaws.com",
        "/model/a.b:1/invoke",
        hs,
        "{}",
        example_time()
    );
    // sha256("{}")
    EXPECT_EQ(hs[1].second, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    EXPECT_EQ(header(out, "X-Amz-Security-Token"), "token-1");
    const auto auth = header(out, "Authorization");
    EXPECT_NE(
        auth.find("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"),
        std::string::npos
    ) << auth;
    // The signature changes with anything signed: the body, the path, a header value.
    auto again = registry::sign_sigv4(
        key,
        "POST",
        "bedrock-runtime.us-east-1.amazonaws.com",
        "/model/a.b:1/invoke",
        hs,
        "{ }",
        example_time()
    );
    EXPECT_NE(header(again, "Authorization"), auth);
}

TEST(aws_sigv4, connector_rules_follow_aws_connector_validate) {
    using registry::check_aws_connector;
    registry::param_map params{{"region", "us-east-1"}, {"service_name", "bedrock"}};
    const std::vector<std::pair<std::string, std::string>> keys{{"access_key", "a"}, {"secret_key", "s"}};
    EXPECT_TRUE(check_aws_connector(params, keys));
    EXPECT_EQ(check_aws_connector(params, {{"access_key", "a"}}).error().reason, "Missing credential");
    EXPECT_EQ(check_aws_connector({}, {}).error().reason, "Missing credential");
    EXPECT_EQ(check_aws_connector({{"region", "r"}}, keys).error().reason, "Missing service name");
    EXPECT_EQ(check_aws_connector({{"service_name", "s"}}, keys).error().reason, "Missing region");
    // Either may come from the credential instead.
    auto with_both = keys;
    with_both.emplace_back("region", "eu-west-1");
    with_both.emplace_back("service_name", "sagemaker");
    EXPECT_TRUE(check_aws_connector({}, with_both));
    // Parameters win over the credential when both name one (AwsConnector.getRegion).
    const registry::param_map cred{{"access_key", "a"}, {"secret_key", "s"}, {"region", "eu-west-1"}};
    const auto s = registry::aws_signing_of(params, cred);
    EXPECT_EQ(s.region, "us-east-1");
    EXPECT_EQ(s.service, "bedrock");
    EXPECT_EQ(s.access_key, "a");
}

// A stored aws_sigv4 connector without its keys, service or region is refused when it is compiled (at
// deploy), as AwsConnector's constructor refuses it when ml-commons loads it: never signed with "".
TEST(aws_sigv4, a_connector_without_its_signing_identity_does_not_compile) {
    const auto doc = boost::json::parse(
                         R"({"protocol":"aws_sigv4","parameters":{"service_name":"bedrock"},
                             "actions":[{"action_type":"predict","method":"POST",
                                         "url":"https://bedrock-runtime.us-east-1.amazonaws.com/x"}]})"
    )
                         .as_object();
    auto none = registry::compile_connector(doc, {});
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().reason, "Missing credential");
    auto no_region = registry::compile_connector(doc, {{"access_key", "AKID"}, {"secret_key", "s"}});
    ASSERT_FALSE(no_region);
    EXPECT_EQ(no_region.error().reason, "Missing region");
    auto ok = registry::compile_connector(
        doc, {{"access_key", "AKID"}, {"secret_key", "s"}, {"region", "us-east-1"}}
    );
    ASSERT_TRUE(ok) << ok.error().reason;
    EXPECT_EQ(ok->aws->region, "us-east-1");
}

}  // namespace
}  // namespace modelrelay::test
