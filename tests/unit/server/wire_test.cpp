// File: wire_test.cpp
// The hand-written output paths that replaced library serializers on the hot path: they must write exactly
// what the libraries wrote (JSON strings as json::serialize, HTTP heads that Beast's parser reads back).
#include "server/wire.hpp"

#include <string>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "server/response.hpp"

namespace modelrelay::test {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

TEST(compact_json, strings_escape_exactly_as_boost_json) {
    std::string every_byte;
    for (int c = 0; c < 0x80; ++c) {
        every_byte.push_back(static_cast<char>(c));
    }
    every_byte += "\xc3\xa9\xe2\x80\xa8/";  // é, U+2028 and '/' stay verbatim
    const json::value v = json::object{{every_byte, every_byte}, {"plain", "no escapes"}, {"", ""}};
    EXPECT_EQ(server::serialize(v, false), json::serialize(v));
}

TEST(compact_json, scalars_and_nesting_match_boost_json_except_doubles) {
    const auto v =
        json::parse(R"({"i":-9223372036854775808,"u":18446744073709551615,"t":true,"f":false,"n":null,)"
                    R"("a":[[],{},[1,[2,{"x":"y"}]]],"o":{"k":{"k":{}}}})");
    EXPECT_EQ(server::serialize(v, false), json::serialize(v));
}

TEST(compact_json, doubles_print_as_java_does) {
    EXPECT_EQ(
        server::serialize(json::parse(R"({"d":0.5,"e":0.0001,"w":2.0})"), false),
        R"({"d":0.5,"e":1.0E-4,"w":2.0})"
    );
}

http::response<http::string_body> parse_back(const std::string& bytes) {
    http::response_parser<http::string_body> p;
    p.eager(true);
    boost::system::error_code ec;
    std::size_t used = 0;
    while (!ec && !p.is_done() && used < bytes.size()) {
        used += p.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    }
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_TRUE(p.is_done());
    EXPECT_EQ(used, bytes.size());
    return p.release();
}

TEST(wire_head, response_round_trips_through_beast) {
    http::response<http::string_body> res{http::status::created, 11};
    res.set(http::field::content_type, "application/json");
    res.insert("X-Custom", "a b");
    res.body() = R"({"ok":true})";
    res.prepare_payload();
    std::string scratch;
    const auto bufs = server::wire::frame_response(res, scratch);
    EXPECT_EQ(bufs[1].size(), 0u);  // small body: one buffer
    EXPECT_EQ(scratch.rfind("HTTP/1.1 201 Created\r\n", 0), 0u);
    const auto back = parse_back(scratch);
    EXPECT_EQ(back.result_int(), 201u);
    EXPECT_EQ(back["X-Custom"], "a b");
    EXPECT_EQ(back.body(), res.body());
}

TEST(wire_head, missing_content_length_is_added_except_where_no_body_is_allowed) {
    http::response<http::string_body> res{http::status::ok, 11};
    res.body() = "abc";
    std::string scratch;
    server::wire::frame_response(res, scratch);
    EXPECT_NE(scratch.find("Content-Length: 3\r\n"), std::string::npos);
    EXPECT_EQ(parse_back(scratch).body(), "abc");

    http::response<http::string_body> none{http::status::no_content, 11};
    server::wire::frame_response(none, scratch);
    EXPECT_EQ(scratch, "HTTP/1.1 204 No Content\r\n\r\n");
}

TEST(wire_head, large_bodies_go_as_a_second_buffer) {
    http::response<http::string_body> res{http::status::ok, 10};
    res.body().assign(server::wire::inline_body_limit + 1, 'x');
    res.prepare_payload();
    std::string scratch;
    const auto bufs = server::wire::frame_response(res, scratch);
    EXPECT_EQ(bufs[1].size(), res.body().size());
    EXPECT_EQ(scratch.rfind("HTTP/1.0 200 OK\r\n", 0), 0u);
    EXPECT_TRUE(parse_back(scratch + res.body()).body() == res.body());
}

}  // namespace
}  // namespace modelrelay::test
