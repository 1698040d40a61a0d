// File: router_test.cpp
// The route table without sockets: literal segments beat parameters, 400 vs 405, unknown parameters.
#include "server/router.hpp"

#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <gtest/gtest.h>

namespace modelrelay::server {
namespace {

boost::asio::awaitable<http_response> dummy(request_context&) {
    co_return http_response{};
}
boost::asio::awaitable<http_response> other(request_context&) {
    co_return http_response{};
}

struct fixture {
    router r{{
        {http::verb::get, "/_plugins/_ml/connectors/_search", dummy, ""},
        {http::verb::post, "/_plugins/_ml/connectors/_search", dummy, ""},
        {http::verb::get, "/_plugins/_ml/connectors/{connector_id}", other, ""},
        {http::verb::delete_, "/_plugins/_ml/connectors/{connector_id}", other, ""},
        {http::verb::get, "/_cluster/settings", dummy, "flat_settings,include_defaults"},
    }};
};

dispatch_result match(fixture& f, http::verb v, std::string_view target, request_context** out = nullptr) {
    static thread_local std::unique_ptr<http_request> req;
    static thread_local std::unique_ptr<request_context> ctx;
    static thread_local std::string path;
    req = std::make_unique<http_request>(v, target, 11);
    ctx.reset(new request_context{*reinterpret_cast<app*>(&f), *req, {}, {}});
    EXPECT_TRUE(decode_target(target, path, ctx->query));
    ctx->path = path;
    if (out) {
        *out = ctx.get();
    }
    return f.r.match(*ctx);
}

TEST(router, literal_segment_beats_parameter) {
    fixture f;
    auto m = match(f, http::verb::get, "/_plugins/_ml/connectors/_search");
    ASSERT_NE(m.matched, nullptr);
    EXPECT_EQ(m.matched->handler, &dummy);
    request_context* ctx = nullptr;
    auto p = match(f, http::verb::get, "/_plugins/_ml/connectors/abc", &ctx);
    ASSERT_NE(p.matched, nullptr);
    EXPECT_EQ(p.matched->handler, &other);
    EXPECT_EQ(ctx->param("connector_id"), "abc");
}

TEST(router, unknown_path_is_400_and_wrong_method_is_405) {
    fixture f;
    auto none = match(f, http::verb::get, "/nope");
    ASSERT_TRUE(none.early);
    EXPECT_EQ(none.early->result_int(), 400);
    EXPECT_EQ(
        none.early->body(), R"({"error":"no handler found for uri [/nope] and method [GET]","status":400})"
    );
    auto wrong = match(f, http::verb::put, "/_plugins/_ml/connectors/_search");
    ASSERT_TRUE(wrong.early);
    EXPECT_EQ(wrong.early->result_int(), 405);
    EXPECT_EQ(
        wrong.early->body(),
        R"({"error":"Incorrect HTTP method for uri [/_plugins/_ml/connectors/_search] and method [PUT], allowed: [GET, POST]","status":405})"
    );
}

TEST(router, unknown_query_parameters_are_rejected_with_suggestions) {
    fixture f;
    auto ok = match(f, http::verb::get, "/_cluster/settings?flat_settings=true&pretty");
    EXPECT_NE(ok.matched, nullptr);
    auto bad = match(f, http::verb::get, "/_cluster/settings?flat_setting=true&zzz=1");
    ASSERT_TRUE(bad.early);
    EXPECT_EQ(bad.early->result_int(), 400);
    auto j = boost::json::parse(bad.early->body());
    EXPECT_EQ(
        j.at("error").at("reason").as_string(),
        "request [/_cluster/settings] contains unrecognized parameters: [flat_setting] -> did you mean "
        "[flat_settings]?, [zzz]"
    );
}

// decode_target's plain-path shortcut must give what Boost.URL gives, and refuse what it refuses.
TEST(decode_target_test, plain_paths_agree_with_boost_url) {
    for (std::string_view target :
         {"/",
          "/_plugins/_ml/models/abc-DEF_123/_predict",
          "/a/b:c@d/!$&'()*+,;=~.",
          "//x",
          "/a%20b",
          "/a?b=c&d",
          "/_cluster/settings?pretty",
          "/a%2Fb/c",
          "/sp ace",
          "/quote\"",
          "relative",
          "",
          "/tab\there",
          "/caf\xc3\xa9"}) {
        std::string path;
        std::vector<std::pair<std::string, std::string>> query;
        const bool ours = decode_target(target, path, query);
        auto parsed = boost::urls::parse_origin_form(target);
        ASSERT_EQ(ours, static_cast<bool>(parsed)) << target;
        if (parsed) {
            EXPECT_EQ(path, std::string(parsed->path())) << target;
            EXPECT_EQ(query.size(), parsed->params().size()) << target;
        }
    }
}

}  // namespace
}  // namespace modelrelay::server
