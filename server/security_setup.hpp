// File: security_setup.hpp
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "registry/error.hpp"
#include "server/config.hpp"

namespace modelrelay::server {

class security;

// Whether security is on for this configuration, and the reason the start-up log gives.
std::pair<bool, std::string> security_decision(const config& cfg);
// Logs the mode, opens DATA_DIR/security.db and creates the admin user on first start (security on).
registry::result<std::unique_ptr<security>> open_security(const config& cfg);

}  // namespace modelrelay::server
