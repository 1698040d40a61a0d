// File: error.cpp
#include "registry/error.hpp"

#include <stdexcept>

namespace modelrelay::registry {

void throw_exception_from_error(const error& e, const boost::source_location&) {
    // Reaching here means code called value() on a failed result: a bug, reported as such.
    throw std::logic_error("unchecked registry error: " + e.reason);
}

}  // namespace modelrelay::registry
