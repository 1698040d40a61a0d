// File: session.hpp
// One HTTP/1.1 connection: read a request, dispatch it, write the response, repeat while keep-alive.
// Plain TCP (session.cpp) or TLS (tls_session.cpp); the request loop is shared (session_loop.hpp).
#pragma once

#include <memory>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/empty_body.hpp>

#include "server/peer.hpp"
#include "server/router.hpp"

namespace boost::asio::ssl {
class context;
}

namespace modelrelay::server {

struct app;

// Lets a handler answer with a chunked stream (SSE) instead of a single response.
class response_stream {
public:
    virtual ~response_stream() = default;
    // Sends the head with chunked transfer encoding, and `first_chunk` (when not empty) in the same write;
    // with `last`, the terminating chunk too (the whole stream in one write). Returns false when the client
    // is gone.
    virtual boost::asio::awaitable<bool> write_head(
        http::response<http::empty_body>& head, std::string_view first_chunk, bool last
    ) = 0;
    // Sends one chunk and flushes it to the socket.
    virtual boost::asio::awaitable<bool> write_chunk(std::string_view data) = 0;
    // Sends `last_chunk` (when not empty) and the terminating chunk, in one write.
    virtual boost::asio::awaitable<bool> finish(std::string_view last_chunk) = 0;
};

boost::asio::awaitable<void> run_session(app& a, boost::asio::ip::tcp::socket socket);
// The same over TLS: handshake within the read timeout (a failed one is logged and closes the
// connection), peer_info from the verified client certificate, then the request loop, then a bounded
// close_notify. Plain HTTP sent to this port gets a 400 saying so. The session keeps `tls` alive: a
// certificate reload (SIGHUP) replaces the listener's context for new connections only.
boost::asio::awaitable<void> run_tls_session(
    app& a, boost::asio::ip::tcp::socket socket, std::shared_ptr<boost::asio::ssl::context> tls
);

// Routes and runs one request (no I/O of its own unless the handler streams). A compressed body is inflated
// in place first (content_coding.hpp). `caller` watches the client during the request's upstream calls
// (request_context::caller); may be null.
boost::asio::awaitable<http_response> handle_request(
    app& a,
    http_request& req,
    const peer_info& peer,
    response_stream* stream,
    bool& streamed,
    upstream::caller_watch* caller = nullptr
);

}  // namespace modelrelay::server
