// File: acl_support.cpp
#include "tests/support/acl_support.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace modelrelay::test {

namespace json = boost::json;

namespace {

std::string base64(std::string_view in) {
    static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                           (static_cast<unsigned char>(in[i + 1]) << 8) |
                           static_cast<unsigned char>(in[i + 2]);
        out += table[(v >> 18) & 63];
        out += table[(v >> 12) & 63];
        out += table[(v >> 6) & 63];
        out += table[v & 63];
    }
    if (i + 1 == in.size()) {
        const unsigned v = static_cast<unsigned char>(in[i]) << 16;
        out += table[(v >> 18) & 63];
        out += table[(v >> 12) & 63];
        out += "==";
    } else if (i + 2 == in.size()) {
        const unsigned v =
            (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
        out += table[(v >> 18) & 63];
        out += table[(v >> 12) & 63];
        out += table[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

json::array string_array(const std::vector<std::string>& items) {
    json::array out;
    for (const auto& s : items) {
        out.emplace_back(s);
    }
    return out;
}

}  // namespace

std::pair<std::string, std::string> basic_auth(std::string_view user, std::string_view password) {
    return {"Authorization", "Basic " + base64(std::string(user) + ":" + std::string(password))};
}

acl_server::acl_server(std::vector<std::string> extra_args)
    : server_(dir_.path() / "data", {{"MODELRELAY_ADMIN_PASSWORD", std::string(acl_admin_password)}}, [&] {
          std::vector<std::string> args{"--security", "on"};
          args.insert(args.end(), extra_args.begin(), extra_args.end());
          return args;
      }()) {
    passwords_["admin"] = std::string(acl_admin_password);
    server_.start();
    client_ = std::make_unique<http_client>(server_.port());
}

acl_server::~acl_server() = default;

void acl_server::add_user(
    const std::string& name,
    const std::vector<std::string>& backend_roles,
    const std::string& tenant,
    const std::string& role
) {
    json::object user{{"password", acl_user_password}, {"backend_roles", string_array(backend_roles)}};
    if (!tenant.empty()) {
        user["attributes"] = json::object{{"tenant", tenant}};
    }
    auto made = as("admin", "PUT", "/_plugins/_security/api/internalusers/" + name, json::serialize(user));
    ASSERT_EQ(made.status, 201) << made.body;
    passwords_[name] = std::string(acl_user_password);
    auto& users = role_users_[role];
    users.push_back(name);
    auto mapped =
        as("admin",
           "PUT",
           "/_plugins/_security/api/rolesmapping/" + role,
           json::serialize(json::object{{"users", string_array(users)}}));
    ASSERT_TRUE(mapped.status == 200 || mapped.status == 201) << mapped.body;
}

http_result acl_server::as(
    const std::string& user,
    std::string_view method,
    std::string_view target,
    std::string_view body,
    const header_list& extra
) {
    header_list headers = extra;
    headers.push_back(basic_auth(user, passwords_.at(user)));
    return client_->request(method, target, body, headers);
}

void acl_server::set_persistent(std::string_view members) {
    auto r = as("admin", "PUT", "/_cluster/settings", R"({"persistent":)" + std::string(members) + "}");
    ASSERT_EQ(r.status, 200) << r.body;
}

void acl_server::restart() {
    client_.reset();
    server_.restart();
    client_ = std::make_unique<http_client>(server_.port());
}

}  // namespace modelrelay::test
