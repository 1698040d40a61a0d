// File: string_hash.hpp
// Transparent hashing so unordered maps keyed by std::string can be searched with a string_view.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace modelrelay::registry {

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

}  // namespace modelrelay::registry
