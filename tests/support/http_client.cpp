// File: http_client.cpp
#include "tests/support/http_client.hpp"

#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <openssl/ssl.h>

#include "tests/support/sentinel_guard.hpp"

namespace modelrelay::test {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using net::ip::tcp;

struct http_client::impl {
    net::io_context ioc;
    std::optional<tcp::socket> socket;            // plain
    std::unique_ptr<ssl::context> ctx;            // HTTPS
    std::optional<ssl::stream<tcp::socket>> tls;  // HTTPS
    beast::flat_buffer buffer;

    bool connected() const { return socket.has_value() || tls.has_value(); }
    void drop() {
        socket.reset();
        tls.reset();
    }
    // Calls f with whichever stream is open.
    template <class F>
    decltype(auto) with_stream(F&& f) {
        if (tls) {
            return f(*tls);
        }
        return f(*socket);
    }
};

boost::json::value http_result::json() const {
    return boost::json::parse(body);
}

std::string http_result::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) ==
                       std::tolower(static_cast<unsigned char>(b));
            })) {
            return v;
        }
    }
    return {};
}

http_client::http_client(std::uint16_t port) : impl_(std::make_unique<impl>()), port_(port) {}

http_client::http_client(std::uint16_t port, tls_client_options tls)
    : impl_(std::make_unique<impl>()), port_(port), tls_(std::move(tls)) {
    impl_->ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    SSL_CTX* native = impl_->ctx->native_handle();
    // Send exactly the chain in cert_file: OpenSSL would otherwise complete it from the trust store.
    SSL_CTX_set_mode(native, SSL_MODE_NO_AUTO_CHAIN);
    if (tls_->max_version != 0 && tls_->max_version < TLS1_2_VERSION) {
        // Only so a test can offer an old protocol and watch the server refuse it.
        SSL_CTX_set_security_level(native, 0);
        SSL_CTX_set_cipher_list(native, "DEFAULT@SECLEVEL=0");
    }
    if (tls_->min_version != 0) {
        SSL_CTX_set_min_proto_version(native, tls_->min_version);
    }
    if (tls_->max_version != 0) {
        SSL_CTX_set_max_proto_version(native, tls_->max_version);
    }
    impl_->ctx->set_verify_mode(ssl::verify_peer);
    impl_->ctx->load_verify_file(tls_->ca_file);
    if (!tls_->cert_file.empty()) {
        impl_->ctx->use_certificate_chain_file(tls_->cert_file);
        impl_->ctx->use_private_key_file(tls_->key_file, ssl::context::pem);
    }
}

http_client::~http_client() = default;

void http_client::connect() {
    impl_->drop();
    impl_->buffer.clear();
    ++connects_;
    const tcp::endpoint ep(net::ip::make_address("127.0.0.1"), port_);
    if (!tls_) {
        impl_->socket.emplace(impl_->ioc);
        if (!source_.empty()) {
            impl_->socket->open(tcp::v4());
            impl_->socket->bind(tcp::endpoint(net::ip::make_address(source_), 0));
        }
        impl_->socket->connect(ep);
        return;
    }
    impl_->tls.emplace(impl_->ioc, *impl_->ctx);
    beast::error_code ec;
    impl_->tls->next_layer().connect(ep, ec);
    if (ec) {
        impl_->drop();
        throw std::runtime_error("connect failed: " + ec.message());
    }
    SSL_set_tlsext_host_name(impl_->tls->native_handle(), tls_->server_name.c_str());
    impl_->tls->set_verify_callback(ssl::host_name_verification(tls_->server_name));
    impl_->tls->handshake(ssl::stream_base::client, ec);
    if (ec) {
        impl_->drop();
        throw std::runtime_error("TLS handshake failed: " + ec.message());
    }
}

std::string http_client::tls_version() const {
    if (!impl_->tls) {
        return {};
    }
    return SSL_get_version(const_cast<ssl::stream<tcp::socket>&>(*impl_->tls).native_handle());
}

namespace {
http_result to_result(http::response<http::string_body>& res) {
    http_result out;
    out.status = res.result_int();
    for (const auto& f : res) {
        out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    }
    out.body = std::move(res.body());
    return out;
}
}  // namespace

namespace {

void scan_response(std::string_view target, const http_result& r) {
    std::string all = r.body;
    for (const auto& [k, v] : r.headers) {
        all += '\n' + k + ": " + v;
    }
    scan_for_sentinels("response to " + std::string(target), all);
}

}  // namespace

http_result http_client::request(
    std::string_view method,
    std::string_view target,
    std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers
) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (!impl_->connected()) {
            connect();
        }
        http::request<http::string_body> req{http::string_to_verb(method), target, 11};
        req.set(http::field::host, "127.0.0.1");
        bool has_ct = false;
        for (const auto& [k, v] : headers) {
            req.set(k, v);
            has_ct = has_ct || beast::iequals(k, "content-type");
        }
        if (!body.empty()) {
            req.body() = std::string(body);
            if (!has_ct) {
                req.set(http::field::content_type, "application/json");
            }
        }
        req.prepare_payload();
        beast::error_code ec;
        impl_->with_stream([&](auto& s) { http::write(s, req, ec); });
        http::response_parser<http::string_body> parser;
        parser.body_limit(512 * 1024 * 1024);
        // A server may answer early (413) and stop reading: try to read its answer even if the write failed.
        const auto write_ec = ec;
        ec = {};
        impl_->with_stream([&](auto& s) { http::read(s, impl_->buffer, parser, ec); });
        if (ec && write_ec) {
            ec = write_ec;
        }
        if (ec) {
            // A kept-alive connection the server closed: reconnect once.
            impl_->drop();
            if (attempt == 0) {
                continue;
            }
            throw std::runtime_error("http request failed: " + ec.message());
        }
        auto res = parser.release();
        const bool keep = res.keep_alive();
        auto out = to_result(res);
        scan_response(target, out);
        if (!keep) {
            impl_->drop();
        }
        return out;
    }
    throw std::runtime_error("unreachable");
}

http_result http_client::raw(std::string_view bytes) {
    connect();
    impl_->with_stream([&](auto& s) { net::write(s, net::buffer(bytes)); });
    http::response_parser<http::string_body> parser;
    beast::error_code ec;
    impl_->with_stream([&](auto& s) { http::read(s, impl_->buffer, parser, ec); });
    impl_->drop();
    if (ec) {
        throw std::runtime_error("raw request failed: " + ec.message());
    }
    auto res = parser.release();
    auto out = to_result(res);
    scan_response("raw request", out);
    return out;
}

}  // namespace modelrelay::test
