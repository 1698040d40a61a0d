// File: tls_session.cpp
// The TLS side of a connection: tells plain HTTP apart from a ClientHello, runs the handshake, reads
// the verified client certificate into peer_info (RFC 2253 subject, chain length, subjectAltNames), then
// hands the decrypted stream to the shared request loop.
#include <algorithm>
#include <chrono>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "server/io_loop.hpp"
#include "server/peer_certificate.hpp"
#include "server/session_loop.hpp"

namespace modelrelay::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace ssl = net::ssl;
using detail::use_nothrow;
using net::ip::tcp;

namespace {

// Every TLS connection starts with a handshake record (content type 22).
constexpr unsigned char tls_handshake_record = 0x16;
// How long a goodbye (close_notify) may take before the connection is simply closed.
constexpr std::chrono::milliseconds close_notify_bound{2000};

// Only a certificate that was asked for and verified against --tls-client-ca counts: OpenSSL reports
// X509_V_OK when nothing was verified at all.
void read_client_certificate(SSL* ssl, peer_info& peer) {
    X509* cert = SSL_get0_peer_certificate(ssl);
    if (cert == nullptr || (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) == 0 ||
        SSL_get_verify_result(ssl) != X509_V_OK) {
        return;
    }
    peer.client_cert = true;
    peer.subject_dn = rfc2253_name(X509_get_subject_name(cert));
    // On a server the peer chain excludes the leaf (SSL_get_peer_cert_chain(3)).
    STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
    peer.chain_length = 1 + (chain != nullptr ? sk_X509_num(chain) : 0);
    peer.subject_alt_names = subject_alt_names_of(cert);
}

std::string handshake_failure(const beast::error_code& ec) {
    if (ec == beast::error::timeout) {
        return "timed out";
    }
    return ec.message();
}

// A client that spoke plain HTTP to the HTTPS port learns why in a plain-HTTP 400 (as nginx and Go do)
// instead of a reset.
net::awaitable<void> refuse_plain_http(app& a, beast::tcp_stream& tcp, const peer_info& peer) {
    log::info("plain HTTP on the TLS listener", {{"remote_address", peer.remote_address}});
    beast::flat_buffer buffer;
    auto res = simple_error_response(
        400, "This port speaks HTTPS only: the request was sent as plain HTTP. Use https://.", false
    );
    res.keep_alive(false);
    tcp.expires_after(a.cfg.read_timeout);
    std::string scratch;
    const auto ec = co_await detail::write_response(tcp, res, scratch);
    if (!ec) {
        co_await detail::drain_and_drop(tcp, buffer);
    }
}

}  // namespace

net::awaitable<void> run_tls_session(app& a, tcp::socket socket, std::shared_ptr<ssl::context> tls) {
    const thread_connection counted;  // runs on its worker thread until the end (io_loop.hpp)
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *tls);
    beast::tcp_stream& transport = beast::get_lowest_layer(stream);
    peer_info peer;
    peer.remote_address = detail::remote_address_of(transport.socket());
    peer.tls = true;

    // One byte decides between TLS and plain HTTP; the handshake then starts from it. A ClientHello never
    // completes in one byte, so nothing read here is left over for the request loop.
    unsigned char first = 0;
    transport.expires_after(a.cfg.read_timeout);
    auto [rec, rn] = co_await transport.async_read_some(net::buffer(&first, 1), use_nothrow);
    if (rec) {
        co_return;
    }
    if (first != tls_handshake_record) {
        if (first >= 'A' && first <= 'Z') {
            co_await refuse_plain_http(a, transport, peer);
        } else {
            log::info(
                "TLS handshake failed", {{"remote_address", peer.remote_address}, {"reason", "not TLS"}}
            );
        }
        co_return;
    }
    auto [hec, used] =
        co_await stream.async_handshake(ssl::stream_base::server, net::buffer(&first, 1), use_nothrow);
    if (hec) {
        log::info(
            "TLS handshake failed",
            {{"remote_address", peer.remote_address}, {"reason", handshake_failure(hec)}}
        );
        co_return;
    }
    read_client_certificate(stream.native_handle(), peer);
    if (peer.client_cert) {
        log::info(
            "TLS client certificate",
            {{"remote_address", peer.remote_address},
             {"subject_dn", peer.subject_dn},
             {"peer_certificates", static_cast<long long>(peer.chain_length)}}
        );
    }

    beast::flat_buffer buffer(detail::request_buffer_limit(a.cfg));
    const auto end = co_await detail::serve_requests(a, stream, buffer, peer);
    if (end == detail::session_end::polite) {
        // Best effort: a peer that neither answers close_notify nor closes costs at most the bound.
        transport.expires_after(std::min<std::chrono::milliseconds>(a.cfg.read_timeout, close_notify_bound));
        auto [sec] = co_await stream.async_shutdown(use_nothrow);
        (void)sec;
    }
    beast::error_code ignored;
    transport.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

}  // namespace modelrelay::server
