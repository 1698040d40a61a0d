// File: principal.hpp
// Who is calling (security.md §1.1), as authentication resolved it. A null `const principal*` everywhere
// means security is off.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace modelrelay::registry {

struct principal {
    std::string name;
    std::string realm;                       // "internal", "cert", "api_key", ...: part of the owner identity
    std::vector<std::string> backend_roles;  // from the auth backend; what `restricted` ACLs share with
    std::vector<std::string> roles;          // mapped security roles; admin = the role `all_access` literally
    std::string tenant;                      // R12: exactly one under multi-tenancy, "" otherwise
    bool super_admin = false;                // admin_dn certificate: bypasses privileges and ACLs
    std::string api_key_id;                  // set when authenticated by an ES API key (ES 403 wording)
    // The Dashboards tenant of this request (header `securitytenant` / `security_tenant`, as
    // BackendRegistry.resolveTenantFrom reads it): shown in texts and owner snapshots, never used for access
    // (ml-commons' tenant is x-tenant-id).
    std::optional<std::string> requested_tenant;
};

}  // namespace modelrelay::registry
