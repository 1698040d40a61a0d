// File: disconnect_watch_test.cpp
// The disconnect watch over a real loopback connection: the client's end drops the watched call once, bytes
// from the client (a pipelined request) stay in the buffer and drop nothing, a read left outstanding is
// taken over by the request loop (adopt) or ended (finish), nothing is read while the buffer holds bytes,
// and an io_context torn down while the request loop waits in adopt() frees the loop's frame.
#include "server/disconnect_watch.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <tuple>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <gtest/gtest.h>

namespace modelrelay::test {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using net::ip::tcp;
using namespace std::chrono_literals;
using watch = server::disconnect_watch<beast::tcp_stream>;

void count_call(void* calls) {
    ++*static_cast<int*>(calls);
}

// A connected pair on 127.0.0.1: `client` is the HTTP client's end, `server` the session's.
struct loopback {
    net::io_context ioc{1};
    tcp::socket client{ioc};
    tcp::socket server{ioc};

    loopback() {
        tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
        client.connect(acceptor.local_endpoint());
        server = acceptor.accept();
    }

    // Runs handlers until `done()` or a generous timeout.
    template <class Done>
    bool run_until(Done done) {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            ioc.run_one_for(10ms);
        }
        return done();
    }
};

// A watch on the session's end of a loopback connection; tests start it with w.watch(&count_call, &calls).
// (The tear-down test makes a connection of its own: its io_context must end inside the test.)
class disconnect_watch : public ::testing::Test {
protected:
    loopback lo;
    beast::tcp_stream stream{std::move(lo.server)};
    beast::flat_buffer buffer;
    watch w{stream, buffer};
    int calls = 0;
};

TEST_F(disconnect_watch, the_clients_end_drops_the_watched_call_once) {
    w.watch(&count_call, &calls);
    EXPECT_TRUE(w.reading());
    lo.client.close();
    ASSERT_TRUE(lo.run_until([&] { return !w.reading(); }));
    EXPECT_EQ(calls, 1);
    EXPECT_TRUE(w.gone());
    EXPECT_TRUE(w.dropped());
    EXPECT_EQ(w.end(), net::error::eof);
    w.unwatch();
    w.watch(&count_call, &calls);  // a later call finds the client gone: nothing to read, nothing to call
    EXPECT_FALSE(w.reading());
    EXPECT_EQ(calls, 1);
}

TEST_F(disconnect_watch, a_pipelined_request_is_kept_and_drops_nothing) {
    w.watch(&count_call, &calls);
    const std::string next = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    net::write(lo.client, net::buffer(next));
    ASSERT_TRUE(lo.run_until([&] { return !w.reading(); }));
    EXPECT_EQ(beast::buffers_to_string(buffer.data()), next);
    EXPECT_FALSE(w.gone());
    EXPECT_FALSE(w.dropped());
    // The client is plainly there: the watch stops, so its end is not looked for any more.
    lo.client.close();
    lo.ioc.run_for(20ms);
    EXPECT_EQ(calls, 0);
    EXPECT_FALSE(w.reading());
}

TEST_F(disconnect_watch, nothing_is_read_while_the_buffer_holds_the_next_request) {
    const std::string next = "GET";
    buffer.commit(net::buffer_copy(buffer.prepare(next.size()), net::buffer(next)));
    w.watch(&count_call, &calls);
    EXPECT_FALSE(w.reading());
}

net::awaitable<void> adopt_into(
    watch& w, std::optional<std::tuple<boost::system::error_code, std::size_t>>& out
) {
    out = co_await w.adopt();
}

TEST_F(disconnect_watch, the_request_loop_takes_over_the_outstanding_read) {
    w.watch(&count_call, &calls);
    w.unwatch();  // the answer came; the read stays outstanding
    ASSERT_TRUE(w.reading());
    std::optional<std::tuple<boost::system::error_code, std::size_t>> got;
    net::co_spawn(lo.ioc, adopt_into(w, got), net::detached);
    lo.ioc.run_for(20ms);
    EXPECT_FALSE(got);
    net::write(lo.client, net::buffer(std::string("abc")));
    ASSERT_TRUE(lo.run_until([&] { return got.has_value(); }));
    EXPECT_FALSE(std::get<0>(*got));
    EXPECT_EQ(std::get<1>(*got), 3U);
    EXPECT_EQ(beast::buffers_to_string(buffer.data()), "abc");
    EXPECT_EQ(calls, 0);
}

TEST_F(disconnect_watch, finish_ends_the_outstanding_read) {
    w.watch(&count_call, &calls);
    w.unwatch();
    std::optional<std::tuple<boost::system::error_code, std::size_t>> got;
    net::co_spawn(lo.ioc, adopt_into(w, got), net::detached);
    lo.ioc.poll();
    w.finish();
    ASSERT_TRUE(lo.run_until([&] { return got.has_value(); }));
    EXPECT_EQ(std::get<0>(*got), net::error::operation_aborted);
    EXPECT_FALSE(w.reading());
    EXPECT_EQ(calls, 0);  // not watched any more: nobody to tell
}

// The shape of the request loop: the watch lives in the frame that waits in adopt().
net::awaitable<void> idle_session(tcp::socket s, bool* waiting, bool* freed) {
    struct on_free {
        bool* flag;
        ~on_free() { *flag = true; }
    } const guard{freed};
    beast::tcp_stream stream(std::move(s));
    beast::flat_buffer buffer;
    watch w(stream, buffer);
    w.watch(&count_call, nullptr);
    w.unwatch();
    *waiting = true;
    co_await w.adopt();
}

TEST_F(disconnect_watch, tearing_down_the_io_context_frees_a_session_waiting_in_adopt) {
    bool waiting = false;
    bool freed = false;
    {
        loopback lo;
        net::co_spawn(lo.ioc, idle_session(std::move(lo.server), &waiting, &freed), net::detached);
        ASSERT_TRUE(lo.run_until([&] { return waiting; }));
        lo.ioc.poll();
        EXPECT_FALSE(freed);
    }
    EXPECT_TRUE(freed);
}

}  // namespace
}  // namespace modelrelay::test
