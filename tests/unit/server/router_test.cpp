// File: router_test.cpp
// The route table without sockets: literal segments beat parameters, 400 vs 405, unknown parameters.
#include "server/router.hpp"

#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <gtest/gtest.h>

#include "server/handlers/handlers.hpp"

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

dispatch_result match(
    const router& r, http::verb v, std::string_view target, request_context** out = nullptr
) {
    static thread_local std::unique_ptr<http_request> req;
    static thread_local std::unique_ptr<request_context> ctx;
    static thread_local std::string path;
    req = std::make_unique<http_request>(v, target, 11);
    ctx.reset(new request_context{*reinterpret_cast<app*>(const_cast<router*>(&r)), *req, {}, {}});
    EXPECT_TRUE(decode_target(target, path, ctx->query));
    ctx->path = path;
    ctx->raw_path = target.substr(0, target.find('?'));
    if (out) {
        *out = ctx.get();
    }
    return r.match(*ctx);
}

dispatch_result match(fixture& f, http::verb v, std::string_view target, request_context** out = nullptr) {
    return match(f.r, v, target, out);
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

TEST(router, an_escaped_slash_is_part_of_its_parameter) {
    fixture f;
    request_context* ctx = nullptr;
    auto p = match(f, http::verb::get, "/_plugins/_ml/connectors/abc%2F", &ctx);
    ASSERT_NE(p.matched, nullptr);
    EXPECT_EQ(p.matched->handler, &other);
    EXPECT_EQ(ctx->param("connector_id"), "abc/");
    // `_search` spelled with an escape is an id, as the path is matched as sent.
    auto q = match(f, http::verb::get, "/_plugins/_ml/connectors/%5Fsearch", &ctx);
    ASSERT_NE(q.matched, nullptr);
    EXPECT_EQ(q.matched->handler, &other);
    EXPECT_EQ(ctx->param("connector_id"), "_search");
    auto r = match(f, http::verb::get, "/_plugins/_ml/connectors/a%2Fb%2F..%2Fc%FF", &ctx);
    ASSERT_NE(r.matched, nullptr);
    EXPECT_EQ(ctx->param("connector_id"), "a/b/../c\xEF\xBF\xBD");
    // Two real segments where the route has one: no route.
    auto s = match(f, http::verb::get, "/_plugins/_ml/connectors/abc/");
    EXPECT_NE(s.matched, nullptr);  // a trailing slash is no segment, as before
    auto t = match(f, http::verb::get, "/_plugins/_ml/connectors/a/b");
    EXPECT_EQ(t.matched, nullptr);
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

// The index by last segment must find routes whose last segment is literal, a parameter, or absent, and
// list for 405 every method of the best-matching paths (literal and parameter routes alike).
TEST(router, last_segment_index_keeps_every_candidate) {
    router r{{
        {http::verb::get, "/", dummy, ""},
        {http::verb::post, "/_plugins/_ml/models/{model_id}/_predict", dummy, ""},
        {http::verb::post, "/_plugins/_ml/models/{model_id}/_deploy", other, ""},
        {http::verb::get, "/_plugins/_ml/models/{model_id}/{extra}", other, ""},
        {http::verb::put, "/_plugins/_ml/models/_search/_predict", other, ""},
    }};
    const auto run = [&](http::verb v, std::string_view target, std::string_view* param = nullptr) {
        request_context* ctx = nullptr;
        auto out = match(r, v, target, &ctx);
        if (param) {
            *param = ctx->param("model_id");
        }
        return out;
    };
    EXPECT_NE(run(http::verb::get, "/").matched, nullptr);
    std::string_view id;
    auto predict = run(http::verb::post, "/_plugins/_ml/models/m1/_predict", &id);
    ASSERT_NE(predict.matched, nullptr);
    EXPECT_EQ(predict.matched->handler, &dummy);
    EXPECT_EQ(id, "m1");
    auto deploy = run(http::verb::post, "/_plugins/_ml/models/m1/_deploy");
    ASSERT_NE(deploy.matched, nullptr);
    EXPECT_EQ(deploy.matched->handler, &other);
    // A last segment no literal route has still reaches the parameter route.
    auto extra = run(http::verb::get, "/_plugins/_ml/models/m1/anything");
    ASSERT_NE(extra.matched, nullptr);
    EXPECT_EQ(extra.matched->handler, &other);
    // GET …/_predict: the parameter route matches the path too, but the literal `_predict` wins, and that
    // path only has POST.
    auto wrong = run(http::verb::get, "/_plugins/_ml/models/m1/_predict");
    ASSERT_TRUE(wrong.early);
    EXPECT_EQ(wrong.early->result_int(), 405);
    EXPECT_NE(wrong.early->body().find("allowed: [POST]"), std::string::npos) << wrong.early->body();
    // The literal middle segment wins for PUT; for POST the best path is that literal one, which has no
    // POST: a 405 listing PUT.
    auto search = run(http::verb::put, "/_plugins/_ml/models/_search/_predict");
    ASSERT_NE(search.matched, nullptr);
    EXPECT_EQ(search.matched->handler, &other);
    auto search_post = run(http::verb::post, "/_plugins/_ml/models/_search/_predict");
    ASSERT_TRUE(search_post.early);
    EXPECT_NE(search_post.early->body().find("allowed: [PUT]"), std::string::npos)
        << search_post.early->body();
}

// Over the real route table: every route is found by its own verb with its parameters filled in, and every
// other verb on that path gets a 405 that lists the route's verb.
TEST(router, every_route_of_the_table_is_found) {
    const auto routes = handlers::all_routes();
    router r{routes};
    const auto filled = [](std::string_view pattern) {
        std::string out;
        std::size_t i = 0;
        while (i < pattern.size()) {
            if (pattern[i] == '{') {
                out += "p1";
                i = pattern.find('}', i) + 1;
            } else {
                out += pattern[i++];
            }
        }
        return out;
    };
    for (const auto& want : routes) {
        const std::string target = filled(want.pattern);
        http_request req(want.verb, target, 11);
        request_context ctx{*reinterpret_cast<app*>(&r), req, target, {}};
        const auto m = r.match(ctx);
        ASSERT_NE(m.matched, nullptr) << want.pattern;
        EXPECT_EQ(m.matched->pattern, want.pattern);
        EXPECT_EQ(m.matched->verb, want.verb) << want.pattern;
        http_request patch(http::verb::trace, target, 11);
        request_context pctx{*reinterpret_cast<app*>(&r), patch, target, {}};
        const auto wrong = r.match(pctx);
        ASSERT_TRUE(wrong.early) << want.pattern;
        EXPECT_EQ(wrong.early->result_int(), 405) << want.pattern;
        EXPECT_NE(wrong.early->body().find(std::string(http::to_string(want.verb))), std::string::npos)
            << want.pattern << " " << wrong.early->body();
    }
}

// decode_target's plain-path shortcut must give what Boost.URL gives; what Boost.URL refuses is decoded
// as OpenSearch decodes it (only controls, spaces and bad escapes fail).
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
        if (parsed) {
            ASSERT_TRUE(ours) << target;
            EXPECT_EQ(path, std::string(parsed->path())) << target;
            EXPECT_EQ(query.size(), parsed->params().size()) << target;
        }
    }
}

TEST(decode_target_test, what_rfc_3986_refuses_is_decoded_as_opensearch_does) {
    std::string path;
    std::vector<std::pair<std::string, std::string>> query;
    ASSERT_TRUE(decode_target("/_plugins/_ml/models/<MODEL_ID>/_predict", path, query));
    EXPECT_EQ(path, "/_plugins/_ml/models/<MODEL_ID>/_predict");
    ASSERT_TRUE(decode_target("/a{b}%20c|d?x=<1>&flag&y=a+b%2B", path, query));
    EXPECT_EQ(path, "/a{b} c|d");
    ASSERT_EQ(query.size(), 3U);
    EXPECT_EQ(query[0], (std::pair<std::string, std::string>{"x", "<1>"}));
    EXPECT_EQ(query[1], (std::pair<std::string, std::string>{"flag", ""}));
    EXPECT_EQ(query[2], (std::pair<std::string, std::string>{"y", "a b+"}));
    ASSERT_TRUE(decode_target("/quote\"/caf\xc3\xa9", path, query));
    EXPECT_EQ(path, "/quote\"/caf\xc3\xa9");
    for (std::string_view bad :
         {"/sp ace", "/tab\there", "relative", "", "/a%zz", "/a%2", "/<x>%", "/a?b=%g1"}) {
        EXPECT_FALSE(decode_target(bad, path, query)) << bad;
    }
}

}  // namespace
}  // namespace modelrelay::server
