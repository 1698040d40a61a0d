// File: large_message_test.cpp
// Messages larger than a socket's send buffer, in every direction the server writes: a response to a
// client that does not read yet, a request body to the upstream, and a streamed event. The server first
// writes what the socket takes at once (server/write_now.hpp) and must hand the rest to an asynchronous
// write without losing, repeating or reordering a byte.
#include <chrono>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/support/one_model.hpp"

namespace modelrelay::test {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;
using namespace std::chrono_literals;

// Several times what loopback TCP buffers hold, and no repeating period a lost or doubled block could hide
// in: 8 MiB of the decimal digits of a counter.
std::string big_text() {
    std::string s;
    s.reserve(8 * 1024 * 1024 + 16);
    for (unsigned i = 0; s.size() < 8 * 1024 * 1024; ++i) {
        s += std::to_string(i);
    }
    return s;
}

struct slow_answer {
    unsigned status = 0;
    std::string body;
};

// Sends `request` on a connection with a small receive buffer, waits before reading anything (so the
// server's first write cannot take the whole answer), then reads one response.
slow_answer ask_then_wait(std::uint16_t port, const std::string& request) {
    net::io_context ioc;
    net::ip::tcp::socket s(ioc);
    s.open(net::ip::tcp::v4());
    s.set_option(net::socket_base::receive_buffer_size(4096));
    s.connect({net::ip::make_address("127.0.0.1"), port});
    net::write(s, net::buffer(request));
    std::this_thread::sleep_for(300ms);
    boost::beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::read(s, buffer, parser);
    return {parser.get().result_int(), std::move(parser.get().body())};
}

std::string post(std::string_view target, std::string_view body) {
    return "POST " + std::string(target) +
           " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

class large_message : public one_model_test {
protected:
    void SetUp() override { start("chat-model"); }
};

TEST_F(large_message, a_response_larger_than_the_send_buffer_reaches_a_client_that_reads_late) {
    const auto text = big_text();
    json::object answer{
        {"id", "c1"},
        {"object", "chat.completion"},
        {"choices",
         json::array{json::object{{"index", 0}, {"message", {{"role", "assistant"}, {"content", text}}}}}}};
    up_.route("/v1/chat/completions", fake_reply::json(200, json::serialize(answer)));

    const auto got = ask_then_wait(
        server_->port(),
        post("/_plugins/_ml/models/" + model_ + "/_predict", R"({"parameters":{"messages":[]}})")
    );
    ASSERT_EQ(got.status, 200U) << got.body.substr(0, 300);
    const auto doc = json::parse(got.body);
    EXPECT_EQ(
        doc.at_pointer("/inference_results/0/output/0/dataAsMap/choices/0/message/content").as_string(), text
    );
}

TEST_F(large_message, a_request_body_larger_than_the_send_buffer_reaches_the_upstream_whole) {
    const auto text = big_text();
    const json::object body{
        {"parameters", {{"messages", json::array{json::object{{"role", "user"}, {"content", text}}}}}}};
    const auto r = client_->post("/_plugins/_ml/models/" + model_ + "/_predict", json::serialize(body));
    ASSERT_EQ(r.status, 200U) << r.body.substr(0, 300);
    const auto sent = up_.last_request();
    ASSERT_TRUE(sent);
    EXPECT_EQ(json::parse(sent->body).at_pointer("/messages/0/content").as_string(), text);
}

TEST_F(large_message, a_streamed_event_larger_than_the_send_buffer_reaches_a_client_that_reads_late) {
    const auto text = big_text();
    up_.enqueue(fake_reply::openai_stream({text, "end"}));
    const auto got = ask_then_wait(
        server_->port(),
        post("/v1/chat/completions", R"({"model":")" + model_ + R"(","messages":[],"stream":true})")
    );
    ASSERT_EQ(got.status, 200U) << got.body.substr(0, 300);
    // The events in order: the big delta whole, then the next word, then [DONE].
    std::string content;
    std::size_t at = 0;
    while ((at = got.body.find("data: ", at)) != std::string::npos) {
        const auto end = got.body.find("\n\n", at);
        ASSERT_NE(end, std::string::npos);
        const auto data = got.body.substr(at + 6, end - at - 6);
        at = end;
        if (data == "[DONE]") {
            break;
        }
        const auto event = json::parse(data);
        if (const auto* c = event.as_object().if_contains("choices"); c && !c->as_array().empty()) {
            if (const auto* d = c->as_array()[0].as_object().if_contains("delta")) {
                if (const auto* t = d->as_object().if_contains("content")) {
                    content += t->as_string();
                }
            }
        }
    }
    EXPECT_EQ(content.size(), text.size() + 4);
    EXPECT_TRUE(content == text + " end");  // the fake puts a space before every word but the first
}

}  // namespace
}  // namespace modelrelay::test
