// File: boost_json_impl.cpp
// Boost.JSON compiled into the program (its header-only mode) instead of linked from Debian's shared
// library: the parser and serializer are then built with this project's flags, and calls into them need
// no PLT jump (docs/benchmarks.md, round 17).
#include <boost/json/src.hpp>
