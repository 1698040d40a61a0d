// File: static_resolver_test.cpp
// The resolver test seam's table: answer sets in turn, case and trailing dot, unknown names, bad input.
#include "server/upstream/static_resolver.hpp"

#include <gtest/gtest.h>

namespace modelrelay::server::upstream {
namespace {

std::string answer(const resolve_function& f, std::string_view host) {
    std::string out;
    for (const auto& ep : f(host, 8080)) {
        out += (out.empty() ? "" : ",") + ep.address().to_string() + ":" + std::to_string(ep.port());
    }
    return out;
}

TEST(static_resolver, answer_sets_take_turns) {
    auto f = parse_static_resolver("rebind.test=8.8.8.8,127.0.0.1|::1;other=10.0.0.1");
    ASSERT_TRUE(f) << f.error().reason;
    EXPECT_EQ(answer(*f, "rebind.test"), "8.8.8.8:8080,127.0.0.1:8080");
    EXPECT_EQ(answer(*f, "REBIND.test."), "::1:8080");
    EXPECT_EQ(answer(*f, "rebind.test"), "8.8.8.8:8080,127.0.0.1:8080");
    EXPECT_EQ(answer(*f, "other"), "10.0.0.1:8080");
    EXPECT_EQ(answer(*f, "other"), "10.0.0.1:8080");
    EXPECT_EQ(answer(*f, "unknown.test"), "");
}

TEST(static_resolver, malformed_tables_are_refused) {
    EXPECT_FALSE(parse_static_resolver("name"));
    EXPECT_FALSE(parse_static_resolver("=1.2.3.4"));
    EXPECT_FALSE(parse_static_resolver("name=1.2.3"));
    EXPECT_FALSE(parse_static_resolver("name=1.2.3.4|"));
    EXPECT_FALSE(parse_static_resolver("name=example.com"));
    EXPECT_TRUE(parse_static_resolver(""));
    EXPECT_TRUE(parse_static_resolver("a=1.2.3.4;"));
}

}  // namespace
}  // namespace modelrelay::server::upstream
