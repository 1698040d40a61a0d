// File: config_args.hpp
// parse_config on a literal argument list, for the config tests.
#pragma once

#include <string>
#include <vector>

#include "server/config.hpp"

namespace modelrelay::server::test_support {

inline parse_outcome parse(std::vector<std::string> args) {
    args.insert(args.begin(), "modelrelay");
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    return parse_config(static_cast<int>(args.size()), argv.data());
}

}  // namespace modelrelay::server::test_support
