// File: http_client.cpp
#include "tests/support/http_client.hpp"

#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>

namespace modelrelay::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using net::ip::tcp;

struct http_client::impl {
    net::io_context ioc;
    std::optional<tcp::socket> socket;
    beast::flat_buffer buffer;
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
http_client::~http_client() = default;

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

http_result http_client::request(
    std::string_view method,
    std::string_view target,
    std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers
) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (!impl_->socket) {
            impl_->socket.emplace(impl_->ioc);
            impl_->socket->connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
            impl_->buffer.clear();
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
        http::write(*impl_->socket, req, ec);
        http::response_parser<http::string_body> parser;
        parser.body_limit(512 * 1024 * 1024);
        // A server may answer early (413) and stop reading: try to read its answer even if the write failed.
        const auto write_ec = ec;
        ec = {};
        http::read(*impl_->socket, impl_->buffer, parser, ec);
        if (ec && write_ec) {
            ec = write_ec;
        }
        if (ec) {
            // A kept-alive connection the server closed: reconnect once.
            impl_->socket.reset();
            if (attempt == 0) {
                continue;
            }
            throw std::runtime_error("http request failed: " + ec.message());
        }
        auto res = parser.release();
        const bool keep = res.keep_alive();
        auto out = to_result(res);
        if (!keep) {
            impl_->socket.reset();
        }
        return out;
    }
    throw std::runtime_error("unreachable");
}

http_result http_client::raw(std::string_view bytes) {
    impl_->socket.emplace(impl_->ioc);
    impl_->socket->connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    impl_->buffer.clear();
    net::write(*impl_->socket, net::buffer(bytes));
    http::response_parser<http::string_body> parser;
    beast::error_code ec;
    http::read(*impl_->socket, impl_->buffer, parser, ec);
    impl_->socket.reset();
    if (ec) {
        throw std::runtime_error("raw request failed: " + ec.message());
    }
    auto res = parser.release();
    return to_result(res);
}

}  // namespace modelrelay::test
