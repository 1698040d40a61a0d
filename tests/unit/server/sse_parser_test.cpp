// File: sse_parser_test.cpp
// The event-stream parser against the WHATWG rules, with every input also fed split at every byte
// boundary (and, for short inputs, at every pair of boundaries and byte by byte): the events must not
// depend on how the socket chunked the stream.
#include "server/upstream/sse_parser.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace modelrelay::server::upstream {
namespace {

sse_event ev(std::string data, std::string event = "message", std::string id = "") {
    sse_event e;
    e.event = std::move(event);
    e.data = std::move(data);
    e.id = std::move(id);
    return e;
}

std::vector<sse_event> parse_whole(std::string_view input) {
    sse_parser p;
    return p.feed(input);
}

std::vector<sse_event> parse_pieces(std::string_view input, const std::vector<std::size_t>& cuts) {
    sse_parser p;
    std::vector<sse_event> out;
    std::size_t at = 0;
    for (std::size_t cut : cuts) {
        for (auto& e : p.feed(input.substr(at, cut - at))) {
            out.push_back(std::move(e));
        }
        at = cut;
    }
    for (auto& e : p.feed(input.substr(at))) {
        out.push_back(std::move(e));
    }
    return out;
}

// Asserts that every way of splitting `input` gives `expected`.
void expect_events(std::string_view input, const std::vector<sse_event>& expected) {
    ASSERT_EQ(parse_whole(input), expected) << "whole input";
    for (std::size_t i = 0; i <= input.size(); ++i) {
        ASSERT_EQ(parse_pieces(input, {i}), expected) << "split at " << i;
    }
    if (input.size() <= 200) {
        for (std::size_t i = 0; i <= input.size(); ++i) {
            for (std::size_t j = i; j <= input.size(); ++j) {
                ASSERT_EQ(parse_pieces(input, {i, j}), expected) << "split at " << i << " and " << j;
            }
        }
    }
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < input.size(); ++i) {
        every.push_back(i);
    }
    ASSERT_EQ(parse_pieces(input, every), expected) << "byte by byte";
}

TEST(sse_parser, openai_stream) {
    const std::string input =
        "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
        "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n"
        "data: [DONE]\n\n";
    expect_events(
        input,
        {ev(R"({"choices":[{"delta":{"content":"Hel"}}]})"),
         ev(R"({"choices":[{"delta":{"content":"lo"}}]})"),
         ev("[DONE]")}
    );
}

TEST(sse_parser, line_endings_lf_crlf_cr_and_mixed) {
    expect_events("data: a\n\n", {ev("a")});
    expect_events("data: a\r\n\r\n", {ev("a")});
    expect_events("data: a\r\r", {ev("a")});
    expect_events("data: a\r\ndata: b\rdata: c\n\r\n", {ev("a\nb\nc")});
    expect_events("data: x\r\n\rdata: y\n\r", {ev("x"), ev("y")});
}

TEST(sse_parser, multi_line_data_is_joined_with_newlines) {
    expect_events("data: first\ndata: second\ndata:third\n\n", {ev("first\nsecond\nthird")});
    expect_events("data\ndata\n\n", {ev("\n")});
    expect_events("data:\n\n", {ev("")});
    expect_events("data:  two spaces\n\n", {ev(" two spaces")});
}

TEST(sse_parser, event_id_retry_and_comments) {
    std::string input =
        ": keep-alive\n"
        "event: delta\nid: 7\nretry: 1500\ndata: one\n\n"
        ":another comment\n"
        "data: two\n\n"
        "id\ndata: three\n\n"
        "retry: abc\nid: bad";
    input += '\0';
    input += "id\ndata: four\n\n";
    const std::vector<sse_event> expected{
        ev("one", "delta", "7"),
        ev("two", "message", "7"),   // the id persists, the type does not
        ev("three", "message", ""),  // a bare `id` clears it
        ev("four", "message", ""),   // an id containing NUL is ignored
    };
    expect_events(input, expected);
    sse_parser p;
    EXPECT_EQ(p.feed(input), expected);
    EXPECT_EQ(p.retry(), std::chrono::milliseconds(1500));  // "abc" ignored
    EXPECT_EQ(p.last_event_id(), "");
}

TEST(sse_parser, events_without_data_are_not_dispatched) {
    expect_events("event: ping\n\n", {});
    expect_events("event: ping\n\ndata: x\n\n", {ev("x")});  // the type was reset by the empty event
    expect_events("\n\n\n", {});
    expect_events("id: 5\n\ndata: y\n\n", {ev("y", "message", "5")});
}

TEST(sse_parser, unknown_fields_and_colonless_lines) {
    expect_events("foo: bar\ndata: x\nbaz\n\n", {ev("x")});
    expect_events("event\ndata: x\n\n", {ev("x")});  // empty event type → "message"
}

TEST(sse_parser, leading_bom_is_skipped_once) {
    expect_events(
        "\xEF\xBB\xBF"
        "data: a\n\n",
        {ev("a")}
    );
    expect_events(
        "\xEF\xBB\xBF\xEF\xBB\xBF"
        "data: a\n\n",
        {}
    );  // the second BOM makes an unknown field name
    expect_events(
        "\xEF\xBB"
        "data: a\n\n",
        {}
    );  // not a BOM: garbage field name
}

TEST(sse_parser, unterminated_event_is_not_dispatched) {
    sse_parser p;
    EXPECT_TRUE(p.feed("data: partial\n").empty());
    EXPECT_TRUE(p.feed("data: more").empty());
    auto done = p.feed("\n\n");
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].data, "partial\nmore");
}

TEST(sse_parser, utf8_payload_passes_through) {
    expect_events("data: h\xC3\xA9llo \xF0\x9F\x98\x80\n\n", {ev("h\xC3\xA9llo \xF0\x9F\x98\x80")});
}

TEST(sse_parser, size_limit_stops_the_parser) {
    sse_parser p(16);
    EXPECT_TRUE(p.feed("data: 12345\n\n").size() == 1);
    std::vector<sse_event> got;
    EXPECT_FALSE(p.feed("data: 0123456789abcdefXYZ\n\n", [&](const sse_event& e) { got.push_back(e); }));
    EXPECT_TRUE(p.failed());
    EXPECT_TRUE(got.empty());
    EXPECT_TRUE(p.feed("data: x\n\n").empty());  // stays failed

    sse_parser q(16);
    EXPECT_FALSE(q.feed("data: a\ndata: bbbbbbbbbbbbbbbbbbbbbbbbb").size());
    EXPECT_TRUE(q.failed());
}

TEST(sse_parser, large_stream_in_random_pieces) {
    std::string input;
    std::vector<sse_event> expected;
    for (int i = 0; i < 500; ++i) {
        const std::string data =
            "{\"i\":" + std::to_string(i) + ",\"text\":\"" + std::string(i % 37, 'z') + "\"}";
        const char* eol = (i % 3 == 0) ? "\r\n" : (i % 3 == 1 ? "\n" : "\r");
        input += "data: " + data + eol + eol;
        expected.push_back(ev(data));
    }
    std::vector<std::size_t> cuts;
    std::size_t at = 0;
    unsigned seed = 12345;
    while (true) {
        seed = seed * 1103515245u + 12345u;
        at += 1 + (seed >> 16) % 97;
        if (at >= input.size()) {
            break;
        }
        cuts.push_back(at);
    }
    EXPECT_EQ(parse_pieces(input, cuts), expected);
    EXPECT_EQ(parse_whole(input), expected);
}

}  // namespace
}  // namespace modelrelay::server::upstream
