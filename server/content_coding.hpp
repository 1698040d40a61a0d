// File: content_coding.hpp
// Request bodies sent compressed (`Content-Encoding: gzip`, as the Elasticsearch JS client sends them with
// `compression: true`) are inflated before anything reads them, as OpenSearch's HTTP pipeline does. zlib
// does the inflating.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "server/router.hpp"

namespace modelrelay::server {

struct coding_refusal {
    unsigned status;  // 413, 415 or 400
    std::string text;
};

// Inflates req's body in place when its Content-Encoding is gzip, x-gzip or deflate (zlib format), and
// removes the header; identity or no header changes nothing. Refusals: a coding we cannot read (415
// `Unsupported Content-Encoding [<c>]`), a body that inflates past `max_bytes` (413, the same text as a
// body over the limit), a body that is not what its coding says (400 `Failed to decompress the request
// body: <zlib's reason>`).
std::optional<coding_refusal> decode_request_body(http_request& req, std::size_t max_bytes);

}  // namespace modelrelay::server
