// File: sse_frames.hpp
// The JSON values of the `data:` frames in SSE text a relay wrote (`[DONE]` as the string "[DONE]"), for
// the unit tests of the /v1 stream relay. Each frame must be one line.
#pragma once

#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace modelrelay::server::openai {

inline std::vector<boost::json::value> frames(const std::string& out) {
    std::vector<boost::json::value> v;
    std::size_t at = 0;
    while ((at = out.find("data: ", at)) != std::string::npos) {
        const auto end = out.find("\n\n", at);
        const std::string payload = out.substr(at + 6, end - at - 6);
        EXPECT_EQ(payload.find('\n'), std::string::npos) << out;
        v.push_back(payload == "[DONE]" ? boost::json::value("[DONE]") : boost::json::parse(payload));
        at = end;
    }
    return v;
}

}  // namespace modelrelay::server::openai
