// File: server.hpp
// Process lifecycle: open the registry, listen, serve on N threads, and shut down gracefully on
// SIGTERM/SIGINT (stop accepting, drain in-flight requests for a bounded time, close the store).
#pragma once

#include "server/config.hpp"

namespace modelrelay::server {

// Returns the process exit code.
int run_server(const config& cfg);

}  // namespace modelrelay::server
