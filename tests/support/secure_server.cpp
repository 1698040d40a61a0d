// File: secure_server.cpp
#include "tests/support/secure_server.hpp"

#include <stdexcept>

#include <boost/json.hpp>

#include "registry/crypto.hpp"

namespace modelrelay::test {

namespace json = boost::json;

header_list basic(std::string_view user, std::string_view password) {
    return {
        {"Authorization",
         "Basic " + registry::base64_encode(std::string(user) + ":" + std::string(password))}};
}

header_list api_key_header(std::string_view encoded) {
    return {{"Authorization", "ApiKey " + std::string(encoded)}};
}

header_list bearer(std::string_view token) {
    return {{"Authorization", "Bearer " + std::string(token)}};
}

header_list with_json(header_list h) {
    h.emplace_back("Content-Type", "application/json");
    return h;
}

secure_server::secure_server(
    std::filesystem::path data_dir,
    std::map<std::string, std::string> env,
    std::vector<std::string> extra_args
) {
    env.emplace("MODELRELAY_ADMIN_PASSWORD", admin_password);
    extra_args.insert(extra_args.begin(), {"--security", "on"});
    proc_ = std::make_unique<server_process>(std::move(data_dir), std::move(env), std::move(extra_args));
    proc_->start();
}

http_result secure_server::admin(std::string_view method, std::string_view target, std::string_view body) {
    return as("admin", admin_password, method, target, body);
}

http_result secure_server::as(
    std::string_view user,
    std::string_view password,
    std::string_view method,
    std::string_view target,
    std::string_view body
) {
    http_client c(port());
    return c.request(method, target, body, with_json(basic(user, password)));
}

void secure_server::create_user(
    const std::string& name,
    const std::string& password,
    const std::vector<std::string>& roles,
    const std::vector<std::string>& backend_roles,
    const std::string& tenant
) {
    json::object body{{"password", password}};
    json::array br;
    for (const auto& r : backend_roles) {
        br.emplace_back(r);
    }
    body["backend_roles"] = std::move(br);
    if (!tenant.empty()) {
        body["attributes"] = json::object{{"tenant", tenant}};
    }
    auto r = admin("PUT", "/_plugins/_security/api/internalusers/" + name, json::serialize(body));
    if (r.status != 201 && r.status != 200) {
        throw std::runtime_error("create user " + name + ": " + r.body);
    }
    for (const auto& role : roles) {
        auto get = admin("GET", "/_plugins/_security/api/rolesmapping/" + role);
        json::array users;
        json::object mapping{{"users", json::array{}}};
        if (get.status == 200) {
            mapping = get.json().at(role).as_object();
            mapping.erase("reserved");
            mapping.erase("hidden");
        }
        mapping["users"].as_array().emplace_back(name);
        auto put = admin("PUT", "/_plugins/_security/api/rolesmapping/" + role, json::serialize(mapping));
        if (put.status != 201 && put.status != 200) {
            throw std::runtime_error("map role " + role + ": " + put.body);
        }
    }
}

}  // namespace modelrelay::test
