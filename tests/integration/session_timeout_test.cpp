// File: session_timeout_test.cpp
// The inbound connection's timeouts (--read-timeout-ms, --idle-timeout-ms) against the real binary: a
// silent or half-sent request is dropped after the read timeout, a kept-alive connection waits for its
// next request up to the idle timeout (longer here), a client that stops reading a large answer is
// dropped after the read timeout, and a request that takes longer than the read timeout to answer
// (a slow upstream) is not cut by it: the timeout guards the client's I/O, not the handler.
#include <chrono>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/support/fake_upstream.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/model_setup.hpp"
#include "tests/support/server_process.hpp"

namespace modelrelay::test {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr auto read_timeout = 300ms;
constexpr auto idle_timeout = 1200ms;

class session_timeout : public ::testing::Test {
protected:
    void SetUp() override {
        server_ = std::make_unique<server_process>(
            tmp_.path() / "data",
            std::map<std::string, std::string>{},
            std::vector<std::string>{
                "--read-timeout-ms",
                std::to_string(read_timeout.count()),
                "--idle-timeout-ms",
                std::to_string(idle_timeout.count())}
        );
        server_->start();
    }

    net::ip::tcp::socket connect(int receive_buffer = 0) {
        net::ip::tcp::socket s(ioc_);
        s.open(net::ip::tcp::v4());
        if (receive_buffer > 0) {
            s.set_option(net::socket_base::receive_buffer_size(receive_buffer));
        }
        s.connect({net::ip::make_address("127.0.0.1"), server_->port()});
        // A server that never drops the connection fails the test instead of hanging it.
        const timeval limit{6, 0};
        ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
        return s;
    }

    // Reads until the server closes (or resets) the connection; returns how long that took and the bytes.
    static std::pair<steady::duration, std::size_t> time_to_close(net::ip::tcp::socket& s) {
        const auto start = steady::now();
        std::size_t total = 0;
        char buf[65536];
        // Plain recv: Asio's synchronous read would wait out SO_RCVTIMEO by polling.
        for (;;) {
            const auto n = ::recv(s.native_handle(), buf, sizeof buf, 0);
            if (n <= 0) {
                break;
            }
            total += static_cast<std::size_t>(n);
        }
        return {steady::now() - start, total};
    }

    // The server closes `s` without answering, once the read timeout has passed (and not much later).
    static void expect_dropped_after_read_timeout(net::ip::tcp::socket& s) {
        const auto [took, bytes] = time_to_close(s);
        EXPECT_EQ(bytes, 0U);
        EXPECT_GE(took, read_timeout - 50ms);
        EXPECT_LT(took, 5s);
    }

    static http::response<http::string_body> read_response(
        net::ip::tcp::socket& s, boost::beast::flat_buffer& b
    ) {
        http::response<http::string_body> res;
        http::read(s, b, res);
        return res;
    }

    temp_dir tmp_;
    net::io_context ioc_;
    std::unique_ptr<server_process> server_;
};

std::string predict_request(const std::string& model) {
    const std::string body = R"({"parameters":{"messages":[]}})";
    return "POST /_plugins/_ml/models/" + model + "/_predict HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
           "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
           body;
}

const std::string get_settings = "GET /_cluster/settings HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

TEST_F(session_timeout, a_client_that_sends_nothing_is_dropped_after_the_read_timeout) {
    auto s = connect();
    expect_dropped_after_read_timeout(s);
}

TEST_F(session_timeout, a_half_sent_request_is_dropped_after_the_read_timeout) {
    auto s = connect();
    net::write(s, net::buffer(std::string_view("GET /_cluster/settings HTTP/1.1\r\nHost: 127.0.0.1\r\n")));
    expect_dropped_after_read_timeout(s);
}

TEST_F(session_timeout, a_kept_alive_connection_waits_up_to_the_idle_timeout_then_is_dropped) {
    auto s = connect();
    boost::beast::flat_buffer b;
    net::write(s, net::buffer(get_settings));
    EXPECT_EQ(read_response(s, b).result_int(), 200U);
    // Well past the read timeout, within the idle timeout: the connection still serves.
    std::this_thread::sleep_for(read_timeout * 2);
    net::write(s, net::buffer(get_settings));
    EXPECT_EQ(read_response(s, b).result_int(), 200U);
    const auto [took, bytes] = time_to_close(s);
    EXPECT_EQ(bytes, 0U);
    EXPECT_GE(took, idle_timeout - 100ms);
    EXPECT_LT(took, idle_timeout + 3s);
}

TEST_F(session_timeout, a_client_that_stops_reading_a_large_answer_is_dropped_after_the_read_timeout) {
    fake_upstream up;
    up.route(
        "/v1/chat/completions",
        fake_reply::json(
            200, R"({"choices":[{"message":{"content":")" + std::string(8 << 20, 'x') + R"("}}]})"
        )
    );
    http_client c(server_->port());
    open_cluster_settings(c);
    const auto model = register_model(c, chat_connector(up), "big");
    ASSERT_FALSE(model.empty());

    auto s = connect(4096);
    net::write(s, net::buffer(predict_request(model)));
    std::this_thread::sleep_for(read_timeout * 5);  // the server's write is stuck past its timeout
    const auto [took, bytes] = time_to_close(s);
    EXPECT_GT(bytes, 0U);
    EXPECT_LT(bytes, std::size_t{8} << 20);  // dropped before the whole answer went out
    // The server still serves.
    EXPECT_EQ(c.get("/_cluster/settings").status, 200U);
}

TEST_F(session_timeout, a_handler_slower_than_the_read_timeout_still_answers) {
    fake_upstream up;
    http_client c(server_->port());
    open_cluster_settings(c);
    const auto model = register_model(c, chat_connector(up), "slow");
    ASSERT_FALSE(model.empty());
    up.enqueue(
        fake_reply::json(200, R"({"choices":[{"message":{"content":"late"}}]})").with_delay(read_timeout * 3)
    );
    auto s = connect();
    net::write(s, net::buffer(predict_request(model)));
    boost::beast::flat_buffer b;
    const auto res = read_response(s, b);
    EXPECT_EQ(res.result_int(), 200U) << res.body();
    EXPECT_NE(res.body().find("late"), std::string::npos);
}

}  // namespace
}  // namespace modelrelay::test
