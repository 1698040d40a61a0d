// File: one_model.hpp
// The fixture of the integration tests that exercise one model: the real binary on a fresh data
// directory, cluster settings that let connectors reach the fake upstream, and one chat model on it,
// registered and deployed.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "tests/support/fake_upstream.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/server_process.hpp"

namespace modelrelay::test {

class one_model_test : public ::testing::Test {
protected:
    // Starts the server and registers the model `name` (`model_extra`: more register-body members, e.g.
    // `"guardrails": {...}`). Fails the test when any step does.
    void start(std::string_view name, std::string_view model_extra = "");

    temp_dir tmp_;
    fake_upstream up_;
    std::unique_ptr<server_process> server_;
    std::unique_ptr<http_client> client_;
    std::string model_;
};

}  // namespace modelrelay::test
