// File: one_model.cpp
#include "tests/support/one_model.hpp"

#include "tests/support/model_setup.hpp"

namespace modelrelay::test {

void one_model_test::start(std::string_view name, std::string_view model_extra) {
    server_ = std::make_unique<server_process>(tmp_.path() / "data");
    server_->start();
    client_ = std::make_unique<http_client>(server_->port());
    open_cluster_settings(*client_);
    model_ = register_model(*client_, chat_connector(up_), name, true, model_extra);
    ASSERT_FALSE(model_.empty());
}

}  // namespace modelrelay::test
