// File: main.cpp
#include <cstdio>

#include "server/config.hpp"
#include "server/server.hpp"

int main(int argc, char** argv) {
    auto parsed = modelrelay::server::parse_config(argc, argv);
    if (!parsed.cfg) {
        std::fputs(parsed.message.c_str(), parsed.exit_code == 0 ? stdout : stderr);
        return parsed.exit_code;
    }
    return modelrelay::server::run_server(*parsed.cfg);
}
