// File: acl_support.cpp
#include "tests/support/acl_support.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "tests/support/test_ca.hpp"

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

// `Authorization: Basic base64(user:password)`.
std::pair<std::string, std::string> authorization(std::string_view user, std::string_view password) {
    return {"Authorization", "Basic " + base64(std::string(user) + ":" + std::string(password))};
}

}  // namespace

namespace {

constexpr const char* super_admin_dn = "CN=kirk,OU=client,O=client,L=test,C=de";

const issued_cert& super_admin_cert() {
    static const issued_cert c = test_ca::instance().issue_client(std::vector<subject_part>{
        {"C", "de"}, {"L", "test"}, {"O", "client"}, {"OU", "client"}, {"CN", "kirk"}});
    return c;
}

std::vector<std::string> server_args(const std::vector<std::string>& extra, bool tls) {
    std::vector<std::string> args{"--security", "on"};
    if (tls) {
        const auto& ca = test_ca::instance();
        args.insert(
            args.end(),
            {"--tls-cert",
             ca.localhost().cert_file,
             "--tls-key",
             ca.localhost().key_file,
             "--tls-client-ca",
             ca.ca_file(),
             "--tls-client-auth",
             "optional",
             "--tls-admin-dn",
             super_admin_dn}
        );
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

tls_client_options tls_options(const issued_cert* client) {
    tls_client_options o;
    o.ca_file = test_ca::instance().ca_file();
    if (client != nullptr) {
        o.cert_file = client->cert_file;
        o.key_file = client->key_file;
    }
    return o;
}

}  // namespace

acl_server::acl_server(std::vector<std::string> extra_args, bool tls)
    : server_(
          dir_.path() / "data",
          {{"MODELRELAY_ADMIN_PASSWORD", std::string(acl_admin_password)}},
          server_args(extra_args, tls)
      ),
      tls_(tls) {
    passwords_["admin"] = std::string(acl_admin_password);
    server_.start();
    connect();
}

void acl_server::connect() {
    if (!tls_) {
        client_ = std::make_unique<http_client>(server_.port());
        return;
    }
    client_ = std::make_unique<http_client>(server_.port(), tls_options(nullptr));
    super_client_ = std::make_unique<http_client>(server_.port(), tls_options(&super_admin_cert()));
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
    if (user == acl_super_admin) {
        return super_client_->request(method, target, body, extra);
    }
    header_list headers = extra;
    headers.push_back(authorization(user, passwords_.at(user)));
    return client_->request(method, target, body, headers);
}

void acl_server::set_persistent(std::string_view members) {
    auto r = as("admin", "PUT", "/_cluster/settings", R"({"persistent":)" + std::string(members) + "}");
    ASSERT_EQ(r.status, 200) << r.body;
}

void acl_server::restart() {
    client_.reset();
    super_client_.reset();
    server_.restart();
    connect();
}

}  // namespace modelrelay::test
