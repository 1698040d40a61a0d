// File: static_resolver.cpp
#include "server/upstream/static_resolver.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "registry/ascii.hpp"

namespace modelrelay::server::upstream {

namespace ip = boost::asio::ip;

namespace {

struct name_entry {
    std::vector<std::vector<ip::address>> answers;
    std::unique_ptr<std::atomic<std::size_t>> next = std::make_unique<std::atomic<std::size_t>>(0);
};

std::string canonical_name(std::string_view n) {
    if (!n.empty() && n.back() == '.') {
        n.remove_suffix(1);
    }
    return registry::ascii_lower_copy(n);
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    while (true) {
        const auto at = s.find(sep);
        out.push_back(s.substr(0, at));
        if (at == std::string_view::npos) {
            return out;
        }
        s.remove_prefix(at + 1);
    }
}

}  // namespace

registry::result<resolve_function> parse_static_resolver(std::string_view spec) {
    auto table = std::make_shared<std::map<std::string, name_entry, std::less<>>>();
    for (auto item : split(spec, ';')) {
        if (item.empty()) {
            continue;
        }
        const auto eq = item.find('=');
        if (eq == std::string_view::npos || eq == 0) {
            return registry::illegal_argument("resolver entry without name=: " + std::string(item));
        }
        name_entry entry;
        for (auto set : split(item.substr(eq + 1), '|')) {
            std::vector<ip::address> addresses;
            for (auto text : split(set, ',')) {
                boost::system::error_code ec;
                auto a = ip::make_address(std::string(text), ec);
                if (ec) {
                    return registry::illegal_argument("resolver address is not an IP: " + std::string(text));
                }
                addresses.push_back(a);
            }
            entry.answers.push_back(std::move(addresses));
        }
        (*table)[canonical_name(item.substr(0, eq))] = std::move(entry);
    }
    return resolve_function([table](std::string_view host, unsigned short port) {
        std::vector<ip::tcp::endpoint> out;
        auto it = table->find(canonical_name(host));
        if (it == table->end()) {
            return out;
        }
        const auto& answers = it->second.answers;
        const auto& set = answers[it->second.next->fetch_add(1) % answers.size()];
        for (const auto& a : set) {
            out.emplace_back(a, port);
        }
        return out;
    });
}

}  // namespace modelrelay::server::upstream
