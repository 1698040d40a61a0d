// File: http_client.hpp
// A blocking HTTP/1.1 client for tests: one keep-alive connection to 127.0.0.1:port, raw access to status,
// headers and body, and JSON helpers.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelrelay::test {

struct http_result {
    unsigned status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    boost::json::value json() const;  // throws if the body is not JSON
    std::string header(std::string_view name) const;
};

class http_client {
public:
    explicit http_client(std::uint16_t port);
    ~http_client();

    http_result request(
        std::string_view method,
        std::string_view target,
        std::string_view body = {},
        const std::vector<std::pair<std::string, std::string>>& headers = {}
    );
    http_result get(std::string_view target) { return request("GET", target); }
    http_result post(std::string_view target, std::string_view body) { return request("POST", target, body); }
    http_result put(std::string_view target, std::string_view body) { return request("PUT", target, body); }
    http_result del(std::string_view target) { return request("DELETE", target); }

    // Sends bytes as they are and reads one response (for malformed-request tests).
    http_result raw(std::string_view bytes);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
    std::uint16_t port_;
};

}  // namespace modelrelay::test
