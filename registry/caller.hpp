// File: caller.hpp
// Who is asking, as far as the registry cares: filled by the server for every request (the security work
// adds the user, roles and backend roles).
#pragma once

#include <string>

namespace modelrelay::registry {

struct caller {
    std::string tenant_id;
};

}  // namespace modelrelay::registry
