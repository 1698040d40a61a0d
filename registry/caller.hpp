// File: caller.hpp
// Who is asking, as far as the registry cares: the tenant the request runs in and the authenticated
// principal (null when security is off). Filled by the server for every request before the handler runs.
#pragma once

#include <memory>
#include <string>

#include "registry/principal.hpp"

namespace modelrelay::registry {

struct caller {
    std::string tenant_id;
    std::shared_ptr<const principal> user;  // null: security off (no owner recorded, ACLs not applied)
};

}  // namespace modelrelay::registry
