// File: profile_test.cpp
// The monitoring APIs against the real binary and the fake upstream. GET /_plugins/_ml/profile: the
// deployed model's profile in ml-commons' node and model views with counts that follow the predicts, the
// window setting, `{}` when nothing is selected, and a model leaving the profile when undeployed.
// GET /_plugins/_ml/stats: cluster stats, the node counters after register, deploy, predicts and a tracked
// upstream failure, stat filters and the unknown-stat 400.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/support/fake_upstream.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/model_setup.hpp"
#include "tests/support/one_model.hpp"
#include "tests/support/server_process.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;

class profile : public one_model_test {
protected:
    void SetUp() override { start("profiled"); }
    void predicts(int n) {
        for (int i = 0; i < n; ++i) {
            auto r = client_->post(
                "/_plugins/_ml/models/" + model_ + "/_predict",
                R"({"parameters":{"messages":[{"role":"user","content":"hi"}]}})"
            );
            ASSERT_EQ(r.status, 200) << r.body;
        }
    }
    // The one node's entry of the node view.
    json::object node_models(const json::value& v) {
        const auto& nodes = v.at("nodes").as_object();
        EXPECT_EQ(nodes.size(), 1u);
        return nodes.begin()->value().at("models").as_object();
    }
};

TEST_F(profile, the_deployed_model_with_its_latency_windows) {
    auto before = client_->get("/_plugins/_ml/profile/models");
    ASSERT_EQ(before.status, 200) << before.body;
    auto m = node_models(before.json()).at(model_).as_object();
    EXPECT_EQ(m.at("model_state"), "DEPLOYED");
    EXPECT_TRUE(std::string(m.at("predictor").as_string())
                    .starts_with("org.opensearch.ml.engine.algorithms.remote.RemoteModel@"));
    EXPECT_EQ(m.at("worker_nodes").as_array().size(), 1u);
    EXPECT_FALSE(m.contains("model_inference_stats"));  // nothing measured yet

    predicts(3);
    auto after = client_->get("/_plugins/_ml/profile/models/" + model_);
    m = node_models(after.json()).at(model_).as_object();
    for (const char* k : {"model_inference_stats", "predict_request_stats"}) {
        const auto& s = m.at(k).as_object();
        EXPECT_EQ(s.at("count").to_number<int>(), 3) << k;
        EXPECT_LE(s.at("min").to_number<double>(), s.at("p50").to_number<double>()) << k;
        EXPECT_LE(s.at("p50").to_number<double>(), s.at("max").to_number<double>()) << k;
    }
    // The whole request takes at least as long as its upstream call.
    EXPECT_GE(
        m.at("predict_request_stats").at("max").to_number<double>(),
        m.at("model_inference_stats").at("min").to_number<double>()
    );

    const auto model_view = client_->get("/_plugins/_ml/profile?view=model").json();
    const auto& entry = model_view.at("models").at(model_).as_object();
    EXPECT_TRUE(entry.contains("worker_nodes"));
    EXPECT_EQ(entry.at("nodes").as_object().begin()->value().at("model_state"), "DEPLOYED");

    // The window follows plugins.ml_commons.monitoring_request_count.
    ASSERT_EQ(
        client_
            ->put("/_cluster/settings", R"({"persistent":{"plugins.ml_commons.monitoring_request_count":2}})")
            .status,
        200
    );
    predicts(3);
    m = node_models(client_->get("/_plugins/_ml/profile/models").json()).at(model_).as_object();
    EXPECT_EQ(m.at("model_inference_stats").at("count").to_number<int>(), 2);
}

TEST_F(profile, nothing_selected_is_an_empty_object) {
    EXPECT_EQ(client_->get("/_plugins/_ml/profile/tasks").json(), json::object{});
    EXPECT_EQ(client_->get("/_plugins/_ml/profile/models/not-a-model").json(), json::object{});
    EXPECT_EQ(client_->get("/_plugins/_ml/profile?view=other").json(), json::object{});
    ASSERT_EQ(client_->post("/_plugins/_ml/models/" + model_ + "/_undeploy", "").status, 200);
    EXPECT_EQ(client_->get("/_plugins/_ml/profile").json(), json::object{});
}

TEST_F(profile, stats_count_requests_and_tracked_failures) {
    predicts(3);
    up_.enqueue(fake_reply::server_error(503));
    auto failed = client_->post(
        "/_plugins/_ml/models/" + model_ + "/_predict",
        R"({"parameters":{"messages":[{"role":"user","content":"x"}]}})"
    );
    ASSERT_EQ(failed.status, 503) << failed.body;
    // A 400 is not a tracked failure, and a request for a missing model never reaches the counters.
    EXPECT_EQ(
        client_->post("/_plugins/_ml/models/" + model_ + "/_predict", R"({"parameters":{}})").status, 400
    );
    EXPECT_EQ(client_->post("/_plugins/_ml/models/nope/_predict", R"({"parameters":{}})").status, 404);
    // Nor does a deploy of a missing model (each id asked for used to add a stats entry for good).
    EXPECT_EQ(client_->post("/_plugins/_ml/models/nope/_deploy", "").status, 404);

    const auto all = client_->get("/_plugins/_ml/stats").json().as_object();
    EXPECT_EQ(all.at("ml_model_index_status"), "green");
    EXPECT_EQ(all.at("ml_controller_index_status"), "non-existent");
    EXPECT_EQ(all.at("ml_model_count").to_number<int>(), 1);
    EXPECT_EQ(all.at("ml_connector_count").to_number<int>(), 1);
    const auto& node = all.at("nodes").as_object().begin()->value().as_object();
    EXPECT_EQ(node.at("ml_deployed_model_count").to_number<int>(), 1);
    EXPECT_EQ(node.at("ml_executing_task_count").to_number<int>(), 0);
    EXPECT_EQ(node.at("ml_failure_count").to_number<int>(), 1);
    // register + deploy + 5 predicts that reached the model.
    EXPECT_EQ(node.at("ml_request_count").to_number<int>(), 7);
    const auto& predict = node.at("algorithms").at("remote").at("predict").as_object();
    EXPECT_EQ(predict.at("ml_action_request_count").to_number<int>(), 5);
    EXPECT_EQ(predict.at("ml_action_failure_count").to_number<int>(), 1);
    const auto& per_model = node.at("models").at(model_).as_object();
    EXPECT_EQ(per_model.at("predict").at("ml_action_request_count").to_number<int>(), 5);
    EXPECT_EQ(per_model.at("predict").at("ml_action_failure_count").to_number<int>(), 0);  // as ml-commons
    EXPECT_EQ(per_model.at("deploy").at("ml_action_request_count").to_number<int>(), 1);
    EXPECT_FALSE(per_model.contains("is_hidden"));  // MLModelStats prints it only when true
    EXPECT_FALSE(node.at("models").as_object().contains("nope"));

    EXPECT_EQ(
        client_->get("/_plugins/_ml/stats/ml_model_count,ML_CONNECTOR_COUNT").json(),
        json::parse(R"({"ml_model_count":1,"ml_connector_count":1})")
    );
    const auto one = client_->get("/_plugins/_ml/stats/ml_request_count").json().as_object();
    EXPECT_FALSE(one.contains("ml_model_count"));
    EXPECT_EQ(one.at("nodes").as_object().begin()->value().at("ml_request_count").to_number<int>(), 7);
    auto unknown = client_->get("/_plugins/_ml/stats/ml_nothing");
    EXPECT_EQ(unknown.status, 400);
    EXPECT_EQ(unknown.json().at("error").at("reason").as_string(), "Wrong ML cluster level stat");
}

TEST_F(profile, stats_for_named_nodes) {
    predicts(1);
    const auto all = client_->get("/_plugins/_ml/stats").json().as_object();
    const std::string node_id(all.at("nodes").as_object().begin()->key());
    // Every way OpenSearch resolves a node id that names the one node there is.
    for (const std::string& ids :
         {node_id,
          std::string("_local"),
          std::string("_all"),
          std::string("*"),
          "nobody," + node_id,
          std::string("_cluster_manager")}) {
        const auto r = client_->get("/_plugins/_ml/" + ids + "/stats");
        ASSERT_EQ(r.status, 200U) << ids << r.body;
        const auto doc = r.json().as_object();
        EXPECT_EQ(doc.at("ml_model_count").to_number<int>(), 1) << ids;
        EXPECT_EQ(doc.at("nodes").at(node_id).at("ml_request_count").to_number<int>(), 3) << ids;
    }
    const auto one = client_->get("/_plugins/_ml/" + node_id + "/stats/ml_request_count").json();
    EXPECT_EQ(
        one,
        json::parse(
            R"({"nodes":{")" + node_id + R"(":{"ml_request_count":3,"algorithms":{},"models":{")" + model_ +
            R"(":{"deploy":{"ml_action_request_count":1},"predict":{"ml_action_request_count":1}}}}}})"
        )
    );
    // A node that does not exist: the cluster stats, no node list.
    const auto none = client_->get("/_plugins/_ml/nobody/stats").json().as_object();
    EXPECT_EQ(none.at("ml_connector_count").to_number<int>(), 1);
    EXPECT_FALSE(none.contains("nodes"));
    EXPECT_EQ(client_->get("/_plugins/_ml/nobody/stats/ml_request_count").json(), json::object{});
    EXPECT_EQ(client_->get("/_plugins/_ml/nobody/stats/ml_nothing").status, 400U);
    // A literal route still wins over the node pattern: this is the connector named "stats".
    EXPECT_EQ(client_->get("/_plugins/_ml/connectors/stats").status, 404U);
}

}  // namespace
}  // namespace modelrelay::test
