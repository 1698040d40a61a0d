// File: bulk_load.hpp
// Start-up's read of every stored resource. With tens of thousands of rows, parsing the JSON documents
// costs more than SQLite's read, so the rows are handed in blocks to parser threads while the read is still
// going on, and the reading thread joins the parsing when it is done. The result is the same, in the same
// (primary-key) order, whatever the number of threads.
#pragma once

#include <memory>
#include <vector>

#include "registry/error.hpp"
#include "registry/snapshot.hpp"
#include "registry/store.hpp"

namespace modelrelay::registry {

struct loaded_resource {
    kind k;
    std::shared_ptr<resource> res;
};

// Every resource row of `st`, parsed, in (kind, id) order, on `threads` threads (1: all on the caller's).
// errc::internal "corrupt row <kind>/<id> in the database" for the first row (in that order) whose kind is
// unknown or whose document is not a JSON object, or when SQLite fails part-way.
result<std::vector<loaded_resource>> load_resources(store& st, unsigned threads);

}  // namespace modelrelay::registry
