// File: outbound_options_test.cpp
// A connector's client_config as the outbound client's options (ml-commons.md §2.3): seconds become
// durations, and the whole-call bound never cuts a call the connector's own timeouts allow.
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "server/outbound.hpp"

namespace modelrelay::server {
namespace {

using namespace std::chrono_literals;

upstream::client_options of(std::string_view client_config) {
    return options_of(boost::json::parse(client_config).as_object(), 100'000'000);
}

TEST(outbound_options, client_config_seconds_become_durations) {
    const auto o =
        of(R"({"connection_timeout":5,"read_timeout":7,"max_retry_times":2,"retry_backoff_millis":150})");
    EXPECT_EQ(o.connect_timeout, 5s);
    EXPECT_EQ(o.read_timeout, 7s);
    EXPECT_EQ(o.max_retry_times, 2);
    EXPECT_EQ(o.retry_backoff, 150ms);
}

TEST(outbound_options, the_whole_call_bound_follows_the_connector_s_timeouts) {
    EXPECT_EQ(of("{}").total_timeout, std::chrono::milliseconds(10min));
    EXPECT_EQ(of(R"({"read_timeout":60})").total_timeout, std::chrono::milliseconds(10min));
    // A slow local model given 900 s between bytes is not cut at 10 minutes.
    EXPECT_EQ(of(R"({"connection_timeout":30,"read_timeout":900})").total_timeout, 1830s);
}

}  // namespace
}  // namespace modelrelay::server
