// File: search_test.cpp
// The `_search` DSL evaluator: every query type against ml-commons-shaped connector documents and the
// connector index mapping, bool combinations (including ml-commons' ACL filter shape), sort forms, paging,
// `_source` filtering with always-excluded credentials, the response envelope, OpenSearch's error texts, and
// the text helpers (analyzer, wildcards, source patterns, suggestions, minimum_should_match, date math).
#include "registry/search.hpp"

#include <string>
#include <vector>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "registry/search_text.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;
using registry::errc;
using registry::search_doc;
using registry::search_options;

constexpr std::string_view connectors_json = R"([
 {"name":"OpenAI Chat Connector","description":"Connector to the OpenAI chat completions API","version":"1",
  "protocol":"http","parameters":{"model":"gpt-4o","endpoint":"api.openai.com"},"credential":{"openAI_key":"s1"},
  "backend_roles":["ml_team"],"access":"public",
  "owner":{"name":"alice","backend_roles":["ml_team"],"roles":["all_access"]},"created_time":1700000000000,
  "actions":[{"action_type":"predict","method":"POST","url":"https://api.openai.com/v1/chat/completions"}]},
 {"name":"Bedrock Claude","description":"Anthropic Claude via Amazon Bedrock","version":"2","protocol":"aws_sigv4",
  "parameters":{"region":"us-east-1","model":"claude-3"},"credential":{"access_key":"AK","secret_key":"SK"},
  "access":"private","owner":{"name":"bob"},"created_time":1710000000000},
 {"name":"Cohere Embed","description":"Cohere embedding model connector","version":"1","protocol":"http",
  "parameters":{"model":"embed-english-v3.0"},"credential":{"key":"k"},"access":"restricted",
  "backend_roles":["search","ml_team"],"owner":{"name":"carol","backend_roles":["search"]},
  "created_time":1720000000000},
 {"name":"local test","version":"3","protocol":"http","credential":{"k":"v"}}
])";

const std::string_view connector_excluded[] = {"credential"};

class search_fixture : public ::testing::Test {
protected:
    search_fixture() {
        sources_ = json::parse(connectors_json).as_array();
        ids_ = {"c1", "c2", "c3", "c4"};
        for (std::size_t i = 0; i < sources_.size(); ++i) {
            docs_.push_back(search_doc{
                ids_[i],
                &sources_[i].as_object(),
                static_cast<std::int64_t>(i + 1),
                static_cast<std::int64_t>(10 + i),
                1});
        }
        options_.index_name = ".plugins-ml-connector";
        options_.always_excluded = connector_excluded;
        options_.mapping = registry::connector_index_mapping();
        options_.now_ms = 1715000000000;  // 2024-05-06T12:53:20Z
    }

    // Runs `body`; fails the test when parsing or running fails.
    json::object run(std::string_view body) {
        bodies_.push_back(json::parse(body));
        auto req = registry::parse_search(&bodies_.back());
        EXPECT_TRUE(req) << body << " -> " << (req ? "" : req.error().reason);
        if (!req) {
            return {};
        }
        auto resp = registry::run_search(*req, docs_, options_);
        EXPECT_TRUE(resp) << body << " -> " << (resp ? "" : resp.error().reason);
        return resp ? *resp : json::object{};
    }

    // The `_id`s of the hits, in order.
    std::vector<std::string> ids(std::string_view body) { return hit_ids(run(body)); }

    static std::vector<std::string> hit_ids(const json::object& resp) {
        std::vector<std::string> out;
        for (const auto& h : resp.at("hits").at("hits").as_array()) {
            out.emplace_back(h.at("_id").as_string());
        }
        return out;
    }

    // The error of parsing, or else of running, `body`.
    registry::error failure(std::string_view body) {
        bodies_.push_back(json::parse(body));
        auto req = registry::parse_search(&bodies_.back());
        if (!req) {
            return req.error();
        }
        auto resp = registry::run_search(*req, docs_, options_);
        EXPECT_FALSE(resp) << body << " unexpectedly succeeded: " << (resp ? json::serialize(*resp) : "");
        return resp ? registry::error{} : resp.error();
    }

    std::string reason(std::string_view body) { return failure(body).reason; }

    json::array sources_;
    std::vector<std::string> ids_;
    std::vector<search_doc> docs_;
    search_options options_;
    std::vector<json::value> bodies_;  // parsed bodies outlive their requests
};

using strings = std::vector<std::string>;

// ---- Envelope ----

TEST_F(search_fixture, match_all_renders_the_opensearch_envelope) {
    auto resp = run(R"({"query":{"match_all":{}}})");
    EXPECT_TRUE(resp.at("took").is_int64());
    EXPECT_EQ(resp.at("timed_out"), false);
    EXPECT_EQ(json::serialize(resp.at("_shards")), R"({"total":1,"successful":1,"skipped":0,"failed":0})");
    const auto& hits = resp.at("hits").as_object();
    EXPECT_EQ(json::serialize(hits.at("total")), R"({"value":4,"relation":"eq"})");
    EXPECT_EQ(hits.at("max_score").as_double(), 1.0);
    // size 0 collects no top documents: the total stays, max_score is null (OpenSearch's NaN).
    auto counted = run(R"({"size":0,"query":{"match_all":{}}})");
    EXPECT_EQ(counted.at("hits").at("total").at("value"), 4);
    EXPECT_TRUE(counted.at("hits").at("max_score").is_null());
    const auto& first = hits.at("hits").as_array().at(0).as_object();
    std::vector<std::string> keys;
    for (const auto& [k, v] : first) {
        keys.emplace_back(k);
    }
    EXPECT_EQ(keys, (strings{"_index", "_id", "_version", "_seq_no", "_primary_term", "_score", "_source"}));
    EXPECT_EQ(first.at("_index"), ".plugins-ml-connector");
    EXPECT_EQ(first.at("_id"), "c1");
    EXPECT_EQ(first.at("_version"), 1);
    EXPECT_EQ(first.at("_seq_no"), 10);
    EXPECT_EQ(first.at("_primary_term"), 1);
    EXPECT_EQ(first.at("_score").as_double(), 1.0);
    EXPECT_EQ(hit_ids(resp), (strings{"c1", "c2", "c3", "c4"}));
}

TEST_F(search_fixture, empty_body_object_is_match_all) {
    EXPECT_EQ(ids("{}").size(), 4u);
}

TEST_F(search_fixture, version_and_seq_no_follow_the_request_unless_forced) {
    options_.force_version_and_seq_no = false;
    auto plain = run(R"({"query":{"ids":{"values":["c2"]}}})");
    const auto& hit = plain.at("hits").at("hits").at(0).as_object();
    EXPECT_FALSE(hit.contains("_version"));
    EXPECT_FALSE(hit.contains("_seq_no"));
    auto asked = run(R"({"query":{"ids":{"values":["c2"]}},"version":true,"seq_no_primary_term":true})");
    const auto& hit2 = asked.at("hits").at("hits").at(0).as_object();
    EXPECT_EQ(hit2.at("_version"), 2);
    EXPECT_EQ(hit2.at("_seq_no"), 11);
    EXPECT_EQ(hit2.at("_primary_term"), 1);
}

TEST_F(search_fixture, response_is_allocated_from_the_given_storage) {
    json::monotonic_resource mr;
    json::storage_ptr sp(&mr);
    bodies_.push_back(json::parse(R"({"query":{"match_all":{}}})"));
    auto req = registry::parse_search(&bodies_.back());
    ASSERT_TRUE(req);
    auto resp = registry::run_search(*req, docs_, options_, sp);
    ASSERT_TRUE(resp);
    EXPECT_EQ(resp->storage().get(), sp.get());
    EXPECT_EQ(resp->at("hits").at("hits").at(0).at("_source").storage().get(), sp.get());
}

// ---- Leaf queries ----

TEST_F(search_fixture, match_none_and_ids) {
    auto none = run(R"({"query":{"match_none":{}}})");
    EXPECT_TRUE(hit_ids(none).empty());
    EXPECT_TRUE(none.at("hits").at("max_score").is_null());
    EXPECT_EQ(none.at("hits").at("total").at("value"), 0);
    EXPECT_EQ(ids(R"({"query":{"ids":{"values":["c3","c1","nope"]}}})"), (strings{"c1", "c3"}));
}

TEST_F(search_fixture, term_on_keyword_text_and_keyword_subfield) {
    EXPECT_EQ(ids(R"({"query":{"term":{"protocol":"http"}}})"), (strings{"c1", "c3", "c4"}));
    EXPECT_EQ(ids(R"({"query":{"term":{"protocol":{"value":"aws_sigv4","boost":2}}}})"), (strings{"c2"}));
    // `name` is text: a term compares one analysed (lower-case) token, never the whole value.
    EXPECT_TRUE(ids(R"({"query":{"term":{"name":"Bedrock Claude"}}})").empty());
    EXPECT_TRUE(ids(R"({"query":{"term":{"name":"Bedrock"}}})").empty());
    EXPECT_EQ(ids(R"({"query":{"term":{"name":"bedrock"}}})"), (strings{"c2"}));
    EXPECT_EQ(ids(R"({"query":{"term":{"name.keyword":"Bedrock Claude"}}})"), (strings{"c2"}));
    EXPECT_TRUE(ids(R"({"query":{"term":{"name.keyword":"bedrock claude"}}})").empty());
    EXPECT_EQ(
        ids(R"({"query":{"term":{"name.keyword":{"value":"bedrock claude","case_insensitive":true}}}})"),
        (strings{"c2"})
    );
    // `description` has no keyword sub-field: `description.keyword` is unmapped and matches nothing.
    EXPECT_TRUE(
        ids(R"({"query":{"term":{"description.keyword":"Cohere embedding model connector"}}})").empty()
    );
    EXPECT_TRUE(
        ids(R"({"query":{"match":{"description.keyword":"Cohere embedding model connector"}}})").empty()
    );
    EXPECT_TRUE(ids(R"({"query":{"match_phrase":{"description.keyword":"Cohere embedding"}}})").empty());
}

TEST_F(search_fixture, term_on_id_flat_object_date_and_arrays) {
    EXPECT_EQ(ids(R"({"query":{"term":{"_id":"c4"}}})"), (strings{"c4"}));
    EXPECT_EQ(ids(R"({"query":{"term":{"parameters.model":"claude-3"}}})"), (strings{"c2"}));
    EXPECT_EQ(
        ids(R"({"query":{"term":{"parameters":"gpt-4o"}}})"), (strings{"c1"})
    );  // any leaf of a flat_object
    EXPECT_EQ(ids(R"({"query":{"term":{"actions.method":"POST"}}})"), (strings{"c1"}));  // arrays of objects
    EXPECT_EQ(ids(R"({"query":{"term":{"created_time":1710000000000}}})"), (strings{"c2"}));
    EXPECT_EQ(ids(R"({"query":{"term":{"created_time":"2024-03-09T16:00:00.000Z"}}})"), (strings{"c2"}));
    EXPECT_EQ(ids(R"({"query":{"term":{"backend_roles.keyword":"ml_team"}}})"), (strings{"c1", "c3"}));
}

TEST_F(search_fixture, terms_query) {
    EXPECT_EQ(ids(R"({"query":{"terms":{"protocol":["aws_sigv4","nope"]}}})"), (strings{"c2"}));
    EXPECT_EQ(
        ids(R"({"query":{"terms":{"backend_roles.keyword":["search","x"],"boost":3}}})"), (strings{"c3"})
    );
    EXPECT_EQ(ids(R"({"query":{"terms":{"_id":["c4","c2"]}}})"), (strings{"c2", "c4"}));
    EXPECT_TRUE(ids(R"({"query":{"terms":{"protocol":[]}}})").empty());
    auto scored = run(R"({"query":{"terms":{"protocol":["http"],"boost":3}}})");
    EXPECT_EQ(scored.at("hits").at("max_score").as_double(), 3.0);  // terms scores a constant boost
}

TEST_F(search_fixture, match_query_analyses_and_combines_tokens) {
    EXPECT_EQ(ids(R"({"query":{"match":{"description":"OPENAI api"}}})"), (strings{"c1"}));
    EXPECT_EQ(ids(R"({"query":{"match":{"description":"claude cohere"}}})").size(), 2u);
    EXPECT_TRUE(
        ids(R"({"query":{"match":{"description":{"query":"claude cohere","operator":"and"}}}})").empty()
    );
    EXPECT_EQ(
        ids(R"({"query":{"match":{"description":{"query":"Claude bedrock","operator":"AND"}}}})"),
        (strings{"c2"})
    );
    EXPECT_EQ(
        ids(R"({"query":{"match":{"description":{"query":"cohere embedding claude","minimum_should_match":2}}}})"
        ),
        (strings{"c3"})
    );
    EXPECT_EQ(
        ids(R"({"query":{"match":{"description":{"query":"cohere embedding claude","minimum_should_match":"-67%"}}}})"
        )
            .size(),
        2u
    );
    // Keyword fields use the keyword analyzer: the whole value, case-sensitive.
    EXPECT_TRUE(ids(R"({"query":{"match":{"protocol":"HTTP"}}})").empty());
    EXPECT_EQ(ids(R"({"query":{"match":{"protocol":"aws_sigv4"}}})"), (strings{"c2"}));
    EXPECT_EQ(ids(R"({"query":{"match":{"created_time":"1720000000000"}}})"), (strings{"c3"}));
}

TEST_F(search_fixture, match_zero_terms_query) {
    EXPECT_TRUE(ids(R"({"query":{"match":{"description":"!!! ---"}}})").empty());
    EXPECT_EQ(
        ids(R"({"query":{"match":{"description":{"query":"!!!","zero_terms_query":"all"}}}})").size(), 4u
    );
}

TEST_F(search_fixture, match_scores_with_bm25_shorter_fields_first) {
    auto resp = run(R"({"query":{"match":{"description":"connector"}}})");
    EXPECT_EQ(hit_ids(resp), (strings{"c3", "c1"}));
    const auto& hits = resp.at("hits").at("hits").as_array();
    double top = hits.at(0).at("_score").as_double();
    double second = hits.at(1).at("_score").as_double();
    EXPECT_GT(top, second);
    EXPECT_GT(second, 0.0);
    EXPECT_EQ(resp.at("hits").at("max_score").as_double(), top);
}

TEST_F(search_fixture, match_phrase_with_and_without_slop) {
    EXPECT_EQ(ids(R"({"query":{"match_phrase":{"description":"chat completions"}}})"), (strings{"c1"}));
    EXPECT_TRUE(ids(R"({"query":{"match_phrase":{"description":"completions chat"}}})").empty());
    EXPECT_TRUE(ids(R"({"query":{"match_phrase":{"description":"openai completions"}}})").empty());
    EXPECT_EQ(
        ids(R"({"query":{"match_phrase":{"description":{"query":"openai completions","slop":1}}}})"),
        (strings{"c1"})
    );
    EXPECT_EQ(ids(R"({"query":{"match_phrase":{"name.keyword":"Cohere Embed"}}})"), (strings{"c3"}));
}

TEST_F(search_fixture, prefix_and_wildcard) {
    EXPECT_EQ(ids(R"({"query":{"prefix":{"name":"bed"}}})"), (strings{"c2"}));
    EXPECT_TRUE(ids(R"({"query":{"prefix":{"name":"Bed"}}})").empty());  // prefixes are not analysed
    EXPECT_EQ(ids(R"({"query":{"prefix":{"name.keyword":{"value":"Bed"}}}})"), (strings{"c2"}));
    EXPECT_EQ(
        ids(R"({"query":{"prefix":{"name.keyword":{"value":"bed","case_insensitive":true}}}})"),
        (strings{"c2"})
    );
    EXPECT_EQ(ids(R"({"query":{"wildcard":{"name.keyword":"*Claude"}}})"), (strings{"c2"}));
    // On text, every token is tried: "connector" of c1 matches too.
    EXPECT_EQ(ids(R"({"query":{"wildcard":{"name":{"value":"Co*"}}}})"), (strings{"c1", "c3"}));
    EXPECT_EQ(ids(R"({"query":{"wildcard":{"name":{"wildcard":"?ohere"}}}})"), (strings{"c3"}));
    EXPECT_EQ(ids(R"({"query":{"wildcard":{"_id":"c[*"}}})").size(), 0u);
    EXPECT_EQ(ids(R"({"query":{"wildcard":{"_id":"c?"}}})").size(), 4u);
}

TEST_F(search_fixture, exists_query) {
    EXPECT_EQ(ids(R"({"query":{"exists":{"field":"description"}}})"), (strings{"c1", "c2", "c3"}));
    EXPECT_EQ(ids(R"({"query":{"exists":{"field":"parameters"}}})"), (strings{"c1", "c2", "c3"}));
    EXPECT_EQ(ids(R"({"query":{"exists":{"field":"backend_roles"}}})"), (strings{"c1", "c3"}));
    EXPECT_TRUE(ids(R"({"query":{"exists":{"field":"nope"}}})").empty());
}

TEST_F(search_fixture, range_on_dates_numbers_and_strings) {
    EXPECT_EQ(ids(R"({"query":{"range":{"created_time":{"gte":1710000000000}}}})"), (strings{"c2", "c3"}));
    EXPECT_EQ(ids(R"({"query":{"range":{"created_time":{"gt":1710000000000}}}})"), (strings{"c3"}));
    EXPECT_EQ(ids(R"({"query":{"range":{"created_time":{"lt":1710000000000}}}})"), (strings{"c1"}));
    EXPECT_EQ(
        ids(R"({"query":{"range":{"created_time":{"lte":1710000000000,"gte":null}}}})"), (strings{"c1", "c2"})
    );
    EXPECT_EQ(
        ids(R"({"query":{"range":{"created_time":{"from":1700000000000,"to":1720000000000,"include_upper":false}}}})"
        ),
        (strings{"c1", "c2"})
    );
    EXPECT_EQ(
        ids(R"({"query":{"range":{"created_time":{"gte":"2024-03-09T16:00:00.000Z"}}}})"),
        (strings{"c2", "c3"})
    );
    EXPECT_EQ(
        ids(R"({"query":{"range":{"created_time":{"gte":"2024-03-09T17:00:00+01:00"}}}})"),
        (strings{"c2", "c3"})
    );
    // now = 2024-05-06T12:53:20Z; c3 is 2024-07-03, c2 2024-03-09.
    EXPECT_EQ(
        ids(R"({"query":{"range":{"created_time":{"gte":"now-60d/d","lte":"now"}}}})"), (strings{"c2"})
    );
    EXPECT_EQ(ids(R"({"query":{"range":{"created_time":{"gt":"now"}}}})"), (strings{"c3"}));
    EXPECT_EQ(
        ids(R"({"query":{"range":{"version":{"gte":"2"}}}})"), (strings{"c2", "c4"})
    );  // keyword: string order
    EXPECT_EQ(
        ids(R"({"query":{"range":{"name":{"gte":"t","lt":"u"}}}})"), (strings{"c4"})
    );  // text: any token
}

TEST_F(search_fixture, range_on_numbers_of_a_dynamic_field) {
    sources_[0].as_object()["latency"] = 12.5;
    sources_[1].as_object()["latency"] = 200;
    EXPECT_EQ(ids(R"({"query":{"range":{"latency":{"gt":12.5}}}})"), (strings{"c2"}));
    EXPECT_EQ(ids(R"({"query":{"range":{"latency":{"gte":"12.5","lte":100}}}})"), (strings{"c1"}));
}

TEST_F(search_fixture, constant_score_scores_its_boost) {
    auto resp = run(R"({"query":{"constant_score":{"filter":{"term":{"protocol":"http"}},"boost":2.5}}})");
    EXPECT_EQ(hit_ids(resp), (strings{"c1", "c3", "c4"}));
    EXPECT_EQ(resp.at("hits").at("max_score").as_double(), 2.5);
}

// ---- bool ----

TEST_F(search_fixture, bool_must_filter_must_not) {
    EXPECT_EQ(
        ids(R"({"query":{"bool":{"must":{"term":{"protocol":"http"}},"must_not":[{"ids":{"values":["c4"]}}]}}})"
        ),
        (strings{"c1", "c3"})
    );
    EXPECT_EQ(
        ids(R"({"query":{"bool":{"filter":[{"term":{"protocol":"http"}},{"exists":{"field":"owner.name"}}]}}})"
        ),
        (strings{})
    );  // owner is nested: its fields are invisible outside a nested query
    EXPECT_EQ(
        ids(R"({"query":{"bool":{"filter":[{"term":{"protocol":"http"}},{"range":{"created_time":{"gte":0}}}]}}})"
        ),
        (strings{"c1", "c3"})
    );
}

TEST_F(search_fixture, bool_should_and_minimum_should_match) {
    // Without must/filter at least one should clause has to match.
    EXPECT_EQ(
        ids(R"({"query":{"bool":{"should":[{"term":{"access":"public"}},{"term":{"access":"private"}}]}}})"),
        (strings{"c1", "c2"})
    );
    // With a filter, should clauses are optional (they only score).
    EXPECT_EQ(
        ids(R"({"query":{"bool":{"filter":{"term":{"protocol":"http"}},"should":{"term":{"access":"nope"}}}}})"
        ),
        (strings{"c1", "c3", "c4"})
    );
    EXPECT_EQ(
        ids(R"({"query":{"bool":{"filter":{"term":{"protocol":"http"}},"should":{"term":{"access":"nope"}},"minimum_should_match":1}}})"
        ),
        (strings{})
    );
    EXPECT_EQ(
        ids(R"({"query":{"bool":{"should":[{"term":{"version":"1"}},{"term":{"protocol":"http"}},{"term":{"access":"public"}}],"minimum_should_match":"67%"}}})"
        ),
        (strings{"c1", "c3"})
    );
    EXPECT_EQ(
        ids(R"({"query":{"bool":{"should":[{"term":{"version":"1"}},{"term":{"protocol":"http"}}],"minimum_should_match":3}}})"
        ),
        (strings{})
    );
}

TEST_F(search_fixture, bool_scores_filters_as_zero_and_pure_negatives_as_one) {
    auto filtered = run(R"({"query":{"bool":{"filter":{"term":{"protocol":"http"}}}}})");
    EXPECT_EQ(filtered.at("hits").at("max_score").as_double(), 0.0);
    auto negative = run(R"({"query":{"bool":{"must_not":{"term":{"protocol":"http"}}}}})");
    EXPECT_EQ(hit_ids(negative), (strings{"c2"}));
    EXPECT_EQ(negative.at("hits").at("max_score").as_double(), 1.0);
    EXPECT_EQ(ids(R"({"query":{"bool":{}}})").size(), 4u);
}

TEST_F(search_fixture, nested_query_sees_one_object_at_a_time) {
    EXPECT_EQ(
        ids(R"({"query":{"nested":{"path":"owner","query":{"term":{"owner.name":"alice"}}}}})"),
        (strings{"c1"})
    );
    EXPECT_EQ(
        ids(R"({"query":{"nested":{"path":"owner","query":{"term":{"owner.name.keyword":"bob"}}}}})"),
        (strings{"c2"})
    );
    EXPECT_TRUE(ids(R"({"query":{"term":{"owner.name":"alice"}}})").empty());
    EXPECT_EQ(
        ids(R"({"query":{"nested":{"path":"owner","score_mode":"max","query":{"bool":{"must":[{"term":{"owner.backend_roles.keyword":"search"}},{"match":{"owner.name":"carol"}}]}}}}})"
        ),
        (strings{"c3"})
    );
}

TEST_F(search_fixture, nested_objects_of_an_array_do_not_mix) {
    sources_[3].as_object()["owner"] =
        json::parse(R"([{"name":"dave","roles":["a"]},{"name":"erin","roles":["b"]}])");
    EXPECT_EQ(
        ids(R"({"query":{"nested":{"path":"owner","query":{"bool":{"must":[{"term":{"owner.name":"dave"}},{"term":{"owner.roles.keyword":"a"}}]}}}}})"
        ),
        (strings{"c4"})
    );
    EXPECT_TRUE(
        ids(R"({"query":{"nested":{"path":"owner","query":{"bool":{"must":[{"term":{"owner.name":"dave"}},{"term":{"owner.roles.keyword":"b"}}]}}}}})"
        )
            .empty()
    );
}

TEST_F(search_fixture, ml_commons_connector_access_filter) {
    // The filter ml-commons ANDs in for a non-admin user (public, shared backend role, or own private
    // connector).
    auto acl = [&](std::string_view user, std::string_view roles) {
        std::string body = R"({"query":{"bool":{"must":[{"match_all":{}}],"filter":[{"bool":{"should":[)"
                           R"({"term":{"access":"public"}},{"terms":{"backend_roles.keyword":)";
        body += roles;
        body +=
            R"(}},{"bool":{"must":[{"term":{"access":"private"}},{"nested":{"path":"owner","query":{"term":)"
            R"({"owner.name.keyword":")";
        body += user;
        body += R"("}},"score_mode":"none"}}]}}],"minimum_should_match":1}}]}}})";
        return ids(body);
    };
    EXPECT_EQ(acl("carol", R"(["search"])"), (strings{"c1", "c3"}));
    EXPECT_EQ(acl("bob", "[]"), (strings{"c1", "c2"}));
    EXPECT_EQ(acl("alice", R"(["ml_team"])"), (strings{"c1", "c3"}));
}

TEST_F(search_fixture, without_a_mapping_fields_are_dynamic) {
    options_.mapping = {};
    EXPECT_EQ(
        ids(R"({"query":{"term":{"protocol":"http"}}})"), (strings{"c1", "c3", "c4"})
    );  // text: token "http"
    EXPECT_TRUE(ids(R"({"query":{"term":{"name":"Cohere Embed"}}})").empty());
    EXPECT_EQ(ids(R"({"query":{"term":{"name.keyword":"Cohere Embed"}}})"), (strings{"c3"}));
    EXPECT_EQ(
        ids(R"({"query":{"term":{"owner.name":"bob"}}})"), (strings{"c2"})
    );  // not nested when unmapped
    EXPECT_EQ(
        ids(R"({"query":{"nested":{"path":"owner","query":{"term":{"owner.name":"bob"}}}}})"), (strings{"c2"})
    );
    EXPECT_EQ(ids(R"({"query":{"term":{"created_time":1720000000000}}})"), (strings{"c3"}));
    EXPECT_EQ(ids(R"({"query":{"range":{"created_time":{"lt":1710000000000}}}})"), (strings{"c1"}));
}

TEST_F(search_fixture, dotted_keys_in_documents_resolve_like_paths) {
    sources_[3].as_object()["meta.team"] = "infra";
    EXPECT_EQ(ids(R"({"query":{"term":{"meta.team.keyword":"infra"}}})"), (strings{"c4"}));
}

TEST_F(search_fixture, post_filter_and_min_score) {
    EXPECT_EQ(
        ids(R"({"query":{"term":{"protocol":"http"}},"post_filter":{"term":{"version":"1"}}})"),
        (strings{"c1", "c3"})
    );
    EXPECT_EQ(
        ids(R"({"query":{"constant_score":{"filter":{"term":{"protocol":"http"}},"boost":0.5}},"min_score":1})"
        ),
        (strings{})
    );
}

// ---- Sort ----

TEST_F(search_fixture, sort_forms) {
    EXPECT_EQ(ids(R"({"sort":"version"})"), (strings{"c1", "c3", "c2", "c4"}));
    EXPECT_EQ(ids(R"({"sort":{"created_time":"desc"}})"), (strings{"c3", "c2", "c1", "c4"}));
    EXPECT_EQ(ids(R"({"sort":{"created_time":{"order":"asc"}}})"), (strings{"c1", "c2", "c3", "c4"}));
    EXPECT_EQ(
        ids(R"({"sort":[{"created_time":{"order":"DESC","missing":"_first"}}]})"),
        (strings{"c4", "c3", "c2", "c1"})
    );
    EXPECT_EQ(ids(R"({"sort":[{"version":"desc"},"_id"]})"), (strings{"c4", "c2", "c1", "c3"}));
    EXPECT_EQ(
        ids(R"({"sort":[{"version":{"order":"desc"}},{"_id":"desc"}]})"), (strings{"c4", "c2", "c3", "c1"})
    );
    EXPECT_EQ(ids(R"({"sort":["name.keyword"]})"), (strings{"c2", "c3", "c1", "c4"}));
    EXPECT_EQ(ids(R"({"sort":[{"_doc":"desc"}]})"), (strings{"c4", "c3", "c2", "c1"}));
    // A value token names a field ("7"); no document has one, so only `unmapped_type` makes it sortable.
    EXPECT_EQ(reason(R"({"sort":7})"), "No mapping found for [7] in order to sort on");
    EXPECT_EQ(ids(R"({"sort":{"7":{"unmapped_type":"long"}}})"), (strings{"c1", "c2", "c3", "c4"}));
    EXPECT_EQ(
        ids(R"({"sort":[{"created_time":{"order":"asc","missing":1705000000000}}]})"),
        (strings{"c1", "c4", "c2", "c3"})
    );
}

// ml-commons' indices map fields dynamically: a field outside the declared mapping has a mapping once some
// document holds a value for it, and `.keyword` once that value is a string (FieldSortBuilder.build).
TEST_F(search_fixture, sort_needs_a_mapping_declared_or_dynamic) {
    auto missing = failure(R"({"sort":[{"created_time":"asc"},{"nope":"asc"}]})");
    EXPECT_EQ(missing.code, errc::query_shard);
    EXPECT_EQ(missing.reason, "No mapping found for [nope] in order to sort on");
    EXPECT_EQ(
        reason(R"({"sort":"nope.keyword"})"), "No mapping found for [nope.keyword] in order to sort on"
    );
    EXPECT_EQ(
        ids(R"({"sort":{"nope":{"order":"desc","unmapped_type":"keyword"}}})"),
        (strings{"c1", "c2", "c3", "c4"})
    );
    EXPECT_EQ(ids(R"({"sort":"_seq_no"})"), (strings{"c1", "c2", "c3", "c4"}));  // metadata: not checked

    options_.mapping = {};  // every field dynamic
    EXPECT_EQ(ids(R"({"sort":{"created_time":"desc"}})"), (strings{"c3", "c2", "c1", "c4"}));
    EXPECT_EQ(ids(R"({"sort":{"version.keyword":"desc"}})"), (strings{"c4", "c2", "c1", "c3"}));
    EXPECT_EQ(
        reason(R"({"sort":"created_time.keyword"})"),
        "No mapping found for [created_time.keyword] in order to sort on"
    );  // numbers get no keyword sub-field
    EXPECT_EQ(
        reason(R"({"sort":"owner"})"), "No mapping found for [owner] in order to sort on"
    );                                              // an object
    docs_.erase(docs_.begin(), docs_.begin() + 3);  // only c4, which has no `access`
    EXPECT_EQ(reason(R"({"sort":"access"})"), "No mapping found for [access] in order to sort on");
}

TEST_F(search_fixture, sort_on_multi_valued_fields_uses_min_or_max) {
    EXPECT_EQ(
        ids(R"({"query":{"exists":{"field":"backend_roles"}},"sort":{"backend_roles.keyword":"asc"}})"),
        (strings{"c1", "c3"})
    );  // min: "ml_team" vs "ml_team"/"search" → tie, doc order
    EXPECT_EQ(
        ids(R"({"query":{"exists":{"field":"backend_roles"}},"sort":{"backend_roles.keyword":"desc"}})"),
        (strings{"c3", "c1"})
    );  // max: "search" > "ml_team"
}

TEST_F(search_fixture, sorted_hits_carry_sort_values_and_no_scores) {
    auto resp = run(R"({"sort":[{"created_time":"desc"},"_id"],"size":2})");
    const auto& hits = resp.at("hits").at("hits").as_array();
    EXPECT_TRUE(hits.at(0).at("_score").is_null());
    EXPECT_TRUE(resp.at("hits").at("max_score").is_null());
    EXPECT_EQ(json::serialize(hits.at(0).at("sort")), R"([1720000000000,"c3"])");
    auto tracked = run(R"({"sort":["version"],"track_scores":true,"size":1})");
    EXPECT_EQ(tracked.at("hits").at("hits").at(0).at("_score").as_double(), 1.0);
    EXPECT_EQ(tracked.at("hits").at("max_score").as_double(), 1.0);
    auto missing = run(R"({"sort":["created_time"],"from":3})");
    EXPECT_EQ(json::serialize(missing.at("hits").at("hits").at(0).at("sort")), "[null]");
}

TEST_F(search_fixture, lone_score_sort_is_relevance_order) {
    auto resp = run(R"({"query":{"match":{"description":"connector"}},"sort":["_score"]})");
    EXPECT_EQ(hit_ids(resp), (strings{"c3", "c1"}));
    EXPECT_FALSE(resp.at("hits").at("hits").at(0).as_object().contains("sort"));
    EXPECT_TRUE(resp.at("hits").at("hits").at(0).at("_score").is_double());
    EXPECT_EQ(
        ids(R"({"query":{"match":{"description":"connector"}},"sort":[{"_score":{"order":"asc"}}]})"),
        (strings{"c1", "c3"})
    );
}

TEST_F(search_fixture, sorting_on_a_text_field_fails_like_opensearch) {
    auto e = failure(R"({"sort":"name"})");
    EXPECT_EQ(e.code, errc::illegal_argument);
    EXPECT_EQ(
        e.reason,
        "Text fields are not optimised for operations that require per-document field data like aggregations "
        "and "
        "sorting, so these operations are disabled by default. Please use a keyword field instead. "
        "Alternatively, set "
        "fielddata=true on [name] in order to load field data by uninverting the inverted index. Note that "
        "this can "
        "use significant memory."
    );
}

// ---- Paging and totals ----

TEST_F(search_fixture, paging) {
    EXPECT_EQ(ids(R"({"from":1,"size":2})"), (strings{"c2", "c3"}));
    EXPECT_EQ(ids(R"({"from":"3","size":"5"})"), (strings{"c4"}));
    EXPECT_TRUE(ids(R"({"from":10})").empty());
    auto none = run(R"({"size":0})");
    EXPECT_TRUE(hit_ids(none).empty());
    EXPECT_EQ(none.at("hits").at("total").at("value"), 4);
    EXPECT_EQ(ids(R"({"size":10000})").size(), 4u);
}

TEST_F(search_fixture, result_window_is_limited) {
    auto e = failure(R"({"size":10001})");
    EXPECT_EQ(e.code, errc::illegal_argument);
    EXPECT_EQ(
        e.reason,
        "Result window is too large, from + size must be less than or equal to: [10000] but was [10001]. See "
        "the "
        "scroll api for a more efficient way to request large data sets. This limit can be set by changing "
        "the "
        "[index.max_result_window] index level setting."
    );
    EXPECT_NE(reason(R"({"from":9995,"size":10})").find("but was [10005]"), std::string::npos);
}

TEST_F(search_fixture, track_total_hits) {
    EXPECT_FALSE(run(R"({"track_total_hits":false})").at("hits").as_object().contains("total"));
    EXPECT_EQ(
        json::serialize(run(R"({"track_total_hits":2})").at("hits").at("total")),
        R"({"value":2,"relation":"gte"})"
    );
    EXPECT_EQ(
        json::serialize(run(R"({"track_total_hits":true})").at("hits").at("total")),
        R"({"value":4,"relation":"eq"})"
    );
    EXPECT_EQ(
        reason(R"({"track_total_hits":-2})"),
        "[track_total_hits] parameter must be positive or equals to -1, got -2"
    );
}

// ---- _source ----

TEST_F(search_fixture, source_filtering) {
    auto source_of = [&](std::string_view body) {
        return json::serialize(run(body).at("hits").at("hits").at(0).as_object().at("_source"));
    };
    const std::string q = R"("query":{"ids":{"values":["c1"]}})";
    EXPECT_FALSE(
        run("{" + q + R"(,"_source":false})").at("hits").at("hits").at(0).as_object().contains("_source")
    );
    EXPECT_EQ(source_of("{" + q + R"(,"_source":"name"})"), R"({"name":"OpenAI Chat Connector"})");
    EXPECT_EQ(
        source_of("{" + q + R"(,"_source":["version","parameters.model"]})"),
        R"({"version":"1","parameters":{"model":"gpt-4o"}})"
    );
    EXPECT_EQ(
        source_of("{" + q + R"(,"_source":{"includes":["owner.*"],"excludes":["owner.roles"]}})"),
        R"({"owner":{"name":"alice","backend_roles":["ml_team"]}})"
    );
    EXPECT_EQ(
        source_of("{" + q + R"(,"_source":{"include":"*_time"}})"), R"({"created_time":1700000000000})"
    );
    EXPECT_EQ(
        source_of("{" + q + R"(,"_source":{"includes":["actions.method","actions.url"]}})"),
        R"({"actions":[{"method":"POST","url":"https://api.openai.com/v1/chat/completions"}]})"
    );
    EXPECT_EQ(
        source_of(
            "{" + q +
            R"(,"_source":{"excludes":["parameters","actions","owner","description","backend_roles"]}})"
        ),
        R"({"name":"OpenAI Chat Connector","version":"1","protocol":"http","access":"public","created_time":1700000000000})"
    );
    // A single string for excludes or includes (FetchSourceContext.fromXContent: `new String[]{text}`);
    // gcc 12 at -O3 once turned the excludes one into a garbage view, and the search crashed.
    EXPECT_EQ(
        source_of("{" + q + R"(,"_source":{"includes":["name","version"],"excludes":"version.x"}})"),
        R"({"name":"OpenAI Chat Connector","version":"1"})"
    );
    EXPECT_EQ(
        source_of("{" + q + R"(,"_source":{"includes":["name","ver*"],"excludes":"version"}})"),
        R"({"name":"OpenAI Chat Connector"})"
    );
    EXPECT_EQ(source_of("{" + q + R"(,"_source":{"exclude":"parameters","include":"param*"}})"), R"({})");
}

TEST_F(search_fixture, always_excluded_fields_stay_excluded) {
    const std::string q = R"("query":{"ids":{"values":["c2"]}})";
    auto source_of = [&](const std::string& body) {
        return json::serialize(run(body).at("hits").at("hits").at(0).as_object().at("_source"));
    };
    EXPECT_EQ(source_of("{" + q + "}").find("credential"), std::string::npos);
    EXPECT_EQ(source_of("{" + q + R"(,"_source":["credential","name"]})"), R"({"name":"Bedrock Claude"})");
    EXPECT_EQ(source_of("{" + q + R"(,"_source":["credential.*"]})"), "{}");
    EXPECT_EQ(source_of("{" + q + R"(,"_source":{"includes":["*"]}})").find("credential"), std::string::npos);
    EXPECT_EQ(source_of("{" + q + R"(,"_source":"cred*"})"), "{}");
    // A nested path (models keep the inline connector's credential there).
    const std::string_view model_excluded[] = {"connector.credential"};
    options_.always_excluded = model_excluded;
    sources_[1].as_object()["connector"] = json::parse(R"({"name":"inline","credential":{"key":"x"}})");
    EXPECT_EQ(source_of("{" + q + R"(,"_source":["connector"]})"), R"({"connector":{"name":"inline"}})");
    EXPECT_EQ(source_of("{" + q + R"(,"_source":["connector.credential.key"]})"), "{}");
}

TEST_F(search_fixture, unsearchable_fields_match_nothing_and_sort_as_missing) {
    // Without the option the credential is an ordinary flat_object (what the store holds).
    EXPECT_EQ(ids(R"({"query":{"prefix":{"credential.openAI_key":"s"}}})"), strings{"c1"});
    const std::string_view hidden[] = {"credential"};
    options_.unsearchable = hidden;
    for (const std::string body :
         {R"({"query":{"prefix":{"credential.openAI_key":"s"}}})",
          R"({"query":{"term":{"credential.openAI_key":"s1"}}})",
          R"({"query":{"exists":{"field":"credential"}}})",
          R"({"query":{"exists":{"field":"credential.k"}}})",
          R"({"query":{"range":{"credential.access_key":{"gte":"A"}}}})",
          R"({"query":{"wildcard":{"credential.key.keyword":"*"}}})",
          R"({"query":{"match":{"credential":"s1"}}})"}) {
        EXPECT_EQ(ids(body), strings{}) << body;
    }
    // Sorting on it sorts every document as missing: no stored value comes back in `sort`.
    auto resp = run(R"({"query":{"match_all":{}},"sort":[{"credential.openAI_key":"asc"},{"_id":"asc"}]})");
    const auto& hits = resp.at("hits").at("hits").as_array();
    ASSERT_EQ(hits.size(), 4u);
    for (const auto& h : hits) {
        const auto text = json::serialize(h.at("sort"));
        EXPECT_EQ(text.find("s1"), std::string::npos) << text;
        EXPECT_EQ(text.find("AK"), std::string::npos) << text;
    }
    EXPECT_EQ(hit_ids(resp), (strings{"c1", "c2", "c3", "c4"}));
    // Other flat objects are searchable as before.
    EXPECT_EQ(ids(R"({"query":{"term":{"parameters.model":"claude-3"}}})"), strings{"c2"});
}

// ---- Errors ----

TEST_F(search_fixture, body_errors) {
    auto missing = registry::parse_search(nullptr);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, errc::parse_failed);
    EXPECT_EQ(missing.error().reason, "request body or source parameter is required");
    EXPECT_EQ(reason("[]"), "Expected [START_OBJECT] but found [START_ARRAY]");
    EXPECT_EQ(reason(R"({"foo":"bar"})"), "Unknown key for a VALUE_STRING in [foo].");
    EXPECT_EQ(reason(R"({"foo":{}})"), "Unknown key for a START_OBJECT in [foo].");
    EXPECT_EQ(reason(R"({"query":[]})"), "Unknown key for a START_ARRAY in [query].");
    EXPECT_EQ(reason(R"({"query":null})"), "Unknown key for a VALUE_NULL in [query].");
    EXPECT_EQ(reason(R"({"size":-1})"), "[size] parameter cannot be negative, found [-1]");
    EXPECT_EQ(reason(R"({"from":-5})"), "[from] parameter cannot be negative, found [-5]");
    EXPECT_EQ(reason(R"({"size":"ten"})"), "For input string: \"ten\"");
    EXPECT_EQ(failure(R"({"size":"ten"})").code, errc::number_format);  // Double.parseDouble's exception
    EXPECT_EQ(failure(R"({"size":-1})").code, errc::illegal_argument);
    EXPECT_EQ(
        reason(R"({"version":"yes"})"), "Failed to parse value [yes] as only [true] or [false] are allowed."
    );
}

TEST_F(search_fixture, unknown_and_unsupported_queries) {
    auto unknown = failure(R"({"query":{"foo":{}}})");
    EXPECT_EQ(unknown.code, errc::parsing);
    EXPECT_EQ(unknown.reason, "unknown query [foo]");
    EXPECT_EQ(reason(R"({"query":{"matc":{"a":"b"}}})"), "unknown query [matc] did you mean [match]?");
    EXPECT_EQ(
        reason(R"({"query":{"tem":{"a":"b"}}})"), "unknown query [tem] did you mean any of [term, terms]?"
    );
    auto qs = failure(R"({"query":{"query_string":{"query":"x"}}})");
    EXPECT_EQ(qs.code, errc::illegal_argument);
    EXPECT_EQ(
        qs.reason,
        "[query_string] queries are not supported by modelrelay; supported queries are [bool, "
        "constant_score, "
        "exists, ids, match, match_all, match_none, match_phrase, nested, prefix, range, term, terms, "
        "wildcard]"
    );
    EXPECT_EQ(
        failure(R"({"aggs":{"a":{"terms":{"field":"protocol"}}}})").reason,
        "[aggs] is not supported by modelrelay"
    );
    EXPECT_EQ(failure(R"({"search_after":[1]})").code, errc::illegal_argument);
}

TEST_F(search_fixture, malformed_query_shapes) {
    EXPECT_EQ(failure(R"({"query":{}})").code, errc::illegal_argument);
    EXPECT_EQ(reason(R"({"query":{}})"), "query malformed, empty clause found");
    EXPECT_EQ(
        reason(R"({"query":{"term":"x"}})"), "[term] query malformed, no start_object after query name"
    );
    EXPECT_EQ(
        reason(R"({"query":{"match_all":{},"term":{"a":"b"}}})"),
        "[match_all] malformed query, expected [END_OBJECT] but found [FIELD_NAME]"
    );
    EXPECT_EQ(reason(R"({"query":{"match_all":{"foo":1}}})"), "[match_all] unknown field [foo]");
}

TEST_F(search_fixture, bool_errors_follow_object_parser) {
    EXPECT_EQ(
        reason(R"({"query":{"bool":{"musts":[]}}})"), "[bool] unknown field [musts] did you mean [must]?"
    );
    EXPECT_EQ(
        reason(R"({"query":{"bool":{"must":"x"}}})"),
        "[bool] must doesn't support values of type: VALUE_STRING"
    );
    EXPECT_EQ(reason(R"({"query":{"bool":{"must":[{"foo":{}}]}}})"), "[bool] failed to parse field [must]");
    EXPECT_EQ(reason(R"({"query":{"bool":{"filter":["x"]}}})"), "[bool] failed to parse field [filter]");
    EXPECT_EQ(
        reason(R"({"query":{"bool":{"should":[{"term":{"a":"b"}}],"minimum_should_match":"abc"}}})"),
        "For input string: \"abc\""
    );
    EXPECT_EQ(
        reason(R"({"query":{"ids":{"values":["a"],"types":["_doc"]}}})"), "[ids] unknown field [types]"
    );
}

TEST_F(search_fixture, leaf_query_errors) {
    EXPECT_EQ(
        reason(R"({"query":{"term":{"a":"x","b":"y"}}})"),
        "[term] query doesn't support multiple fields, found [a] and [b]"
    );
    EXPECT_EQ(reason(R"({"query":{"term":{"a":["x"]}}})"), "[term] query does not support array of values");
    EXPECT_EQ(reason(R"({"query":{"term":{"a":{"valu":"x"}}}})"), "[term] query does not support [valu]");
    EXPECT_EQ(reason(R"({"query":{"term":{"a":{"value":null}}}})"), "value cannot be null");
    EXPECT_EQ(reason(R"({"query":{"term":{}}})"), "field name is null or empty");
    EXPECT_EQ(failure(R"({"query":{"term":{}}})").code, errc::illegal_argument);
    EXPECT_EQ(
        reason(R"({"query":{"terms":{"boost":1}}})"),
        "[terms] query requires a field name, followed by array of terms or a document lookup specification"
    );
    EXPECT_EQ(
        reason(R"({"query":{"terms":{"a":["x"],"b":["y"]}}})"),
        "[terms] query does not support multiple fields"
    );
    EXPECT_EQ(reason(R"({"query":{"terms":{"a":[null]}}})"), "No value specified for terms query");
    EXPECT_EQ(reason(R"({"query":{"match":{"a":null}}})"), "No text specified for text query");
    EXPECT_EQ(
        reason(R"({"query":{"match":{"a":{"query":"x","operator":"xor"}}}})"),
        "No enum constant org.opensearch.index.query.Operator.XOR"
    );
    EXPECT_EQ(
        reason(R"({"query":{"match":{"a":{"query":"x","zero_terms_query":"some"}}}})"),
        "Unsupported zero_terms_query value [some]"
    );
    EXPECT_EQ(
        reason(R"({"query":{"match":{"a":{"query":"x","foo":1}}}})"), "[match] query does not support [foo]"
    );
    EXPECT_EQ(
        reason(R"({"query":{"match_phrase":{"a":{"slop":1}}}})"), "[match_phrase] requires query value"
    );
    EXPECT_EQ(reason(R"({"query":{"prefix":{"a":{"boost":1}}}})"), "value cannot be null");
    EXPECT_EQ(
        reason(R"({"query":{"wildcard":{"a":{"pattern":"x"}}}})"),
        "[wildcard] query does not support [pattern]"
    );
    EXPECT_EQ(reason(R"({"query":{"exists":{}}})"), "[exists] must be provided with a [field]");
    EXPECT_EQ(reason(R"({"query":{"range":{"a":{"eq":1}}}})"), "[range] query does not support [eq]");
    EXPECT_EQ(reason(R"({"query":{"range":{}}})"), "field name is null or empty");
    EXPECT_EQ(reason(R"({"query":{"nested":{"query":{"match_all":{}}}}})"), "[nested] requires 'path' field");
    EXPECT_EQ(reason(R"({"query":{"nested":{"path":"owner"}}})"), "[nested] requires 'query' field");
    EXPECT_EQ(
        reason(R"({"query":{"nested":{"path":"owner","score_mode":"x","query":{"match_all":{}}}}})"),
        "No score mode for child query [x] found"
    );
    EXPECT_EQ(reason(R"({"query":{"constant_score":{}}})"), "[constant_score] requires a 'filter' element");
}

TEST_F(search_fixture, value_errors_of_mapped_fields) {
    auto date = failure(R"({"query":{"range":{"created_time":{"gte":"2024-01-01"}}}})");
    EXPECT_EQ(date.code, errc::parse_failed);
    EXPECT_EQ(
        date.reason,
        "failed to parse date field [2024-01-01] with format [strict_date_time||epoch_millis]: [failed to "
        "parse date field [2024-01-01] with format [strict_date_time||epoch_millis]]"
    );
    EXPECT_EQ(
        reason(R"({"query":{"prefix":{"created_time":"17"}}})"),
        "Can only use prefix queries on keyword, text and wildcard fields - not on [created_time] which is "
        "of "
        "type [date]"
    );
    options_.mapping = registry::model_index_mapping();
    EXPECT_EQ(
        reason(R"({"query":{"term":{"is_enabled":"yes"}}})"),
        "Can't parse boolean value [yes], expected [true] or [false]"
    );
    EXPECT_EQ(reason(R"({"query":{"term":{"version":"abc"}}})"), "For input string: \"abc\"");
    EXPECT_EQ(failure(R"({"query":{"term":{"version":"abc"}}})").code, errc::illegal_argument);  // a long
}

TEST_F(search_fixture, sort_and_source_errors) {
    EXPECT_EQ(reason(R"({"sort":{"version":"up"}})"), "Unknown SortOrder [up]");
    EXPECT_EQ(reason(R"({"sort":null})"), "Unknown key for a VALUE_NULL in [sort].");
    EXPECT_EQ(
        reason(R"({"sort":[7]})"),
        "malformed sort format, within the sort array, an object, or an actual string are allowed"
    );
    EXPECT_EQ(
        reason(R"({"sort":{"version":{"ordr":"asc"}}})"),
        "[field_sort] unknown field [ordr] did you mean [order]?"
    );
    EXPECT_EQ(reason(R"({"sort":{"_score":{"mode":"max"}}})"), "[_score] unknown field [mode]");
    EXPECT_EQ(
        reason(R"({"_source":7})"),
        "Expected one of [VALUE_BOOLEAN, VALUE_STRING, START_ARRAY, START_OBJECT] but found [VALUE_NUMBER]"
    );
    EXPECT_EQ(
        reason(R"({"_source":{"includes":[]}})"), "Expected at least one value for an array of [includes]"
    );
    EXPECT_EQ(reason(R"({"_source":{"fields":["a"]}})"), "Unknown key for a START_ARRAY in [fields].");
    auto ambiguous = failure(R"({"_source":{"includes":["a"],"excludes":["a"]}})");
    EXPECT_EQ(ambiguous.code, errc::exception);
    EXPECT_EQ(ambiguous.reason, "The same entry cannot be both included and excluded in _source.");
}

// ---- Mappings ----

TEST(search_mappings, ml_commons_tables_mark_owner_nested_and_names_text_with_keyword) {
    auto find = [](registry::index_mapping m, std::string_view path) -> const registry::field_mapping* {
        for (const auto& f : m) {
            if (f.path == path) {
                return &f;
            }
        }
        return nullptr;
    };
    for (auto m : {registry::connector_index_mapping(), registry::model_group_index_mapping()}) {
        ASSERT_NE(find(m, "owner"), nullptr);
        EXPECT_EQ(find(m, "owner")->type, registry::field_type::nested);
        EXPECT_TRUE(find(m, "name")->keyword_subfield);
        EXPECT_EQ(find(m, "access")->type, registry::field_type::keyword);
    }
    EXPECT_EQ(find(registry::model_index_mapping(), "model_state")->type, registry::field_type::keyword);
    EXPECT_EQ(
        find(registry::model_index_mapping(), "connector.credential")->type, registry::field_type::flat_object
    );
    EXPECT_EQ(find(registry::model_index_mapping(), "user")->type, registry::field_type::nested);
    EXPECT_EQ(find(registry::task_index_mapping(), "state")->type, registry::field_type::keyword);
    EXPECT_EQ(find(registry::task_index_mapping(), "create_time")->type, registry::field_type::date);
}

// ---- Text helpers ----

using namespace registry::search_detail;

std::vector<std::string> tokens(std::string_view text) {
    std::vector<std::string> out;
    analyze(text, out);
    return out;
}

TEST(search_text, standard_analyzer_approximation) {
    EXPECT_EQ(tokens("OpenAI Chat-Connector"), (strings{"openai", "chat", "connector"}));
    EXPECT_EQ(
        tokens("model_id v3.0 e.g. 1,000 can't a:b"),
        (strings{"model_id", "v3.0", "e.g", "1,000", "can't", "a:b"})
    );
    EXPECT_EQ(tokens("https://api.openai.com/v1"), (strings{"https", "api.openai.com", "v1"}));
    EXPECT_EQ(tokens("gpt-4o"), (strings{"gpt", "4o"}));
    EXPECT_EQ(tokens("  ...  "), (strings{}));
    EXPECT_EQ(tokens("Ünïcode"), (strings{"Ünïcode"}));  // non-ASCII kept as letters, not folded
}

TEST(search_text, wildcards) {
    EXPECT_TRUE(wildcard_match("*Claude", "Bedrock Claude", false));
    EXPECT_TRUE(wildcard_match("b?d*k", "bedrock", false));
    EXPECT_FALSE(wildcard_match("b?d", "bedrock", false));
    EXPECT_TRUE(wildcard_match("*", "", false));
    EXPECT_TRUE(wildcard_match("a\\*b", "a*b", false));
    EXPECT_FALSE(wildcard_match("a\\*b", "axb", false));
    EXPECT_TRUE(wildcard_match("CLAUDE*", "claude-3", true));
    EXPECT_TRUE(wildcard_match("?x", "éx", false));  // one code point
    EXPECT_TRUE(has_prefix("Bedrock", "bed", true));
    EXPECT_FALSE(has_prefix("Bedrock", "bed", false));
}

TEST(search_text, source_path_patterns) {
    path_patterns p({"owner", "*_time", "a.*.c"});
    EXPECT_TRUE(p.accepts("owner"));
    EXPECT_TRUE(p.accepts("owner.name"));
    EXPECT_FALSE(p.accepts("owners"));
    EXPECT_TRUE(p.accepts("created_time"));
    EXPECT_TRUE(p.accepts("a.b.c"));
    EXPECT_FALSE(p.accepts("a.b"));
    EXPECT_TRUE(p.alive("a.b"));
    EXPECT_TRUE(p.alive("own"));
    EXPECT_TRUE(p.alive("name"));  // `*_time` can still match
    path_patterns owner({"owner"});
    EXPECT_FALSE(owner.alive("name"));
    EXPECT_TRUE(owner.alive("owner.name"));
}

TEST(search_text, suggestions) {
    EXPECT_FLOAT_EQ(similarity("musts", "must"), 0.8F);
    EXPECT_FLOAT_EQ(similarity("", ""), 1.0F);
    const std::string_view c[] = {"must", "must_not", "should"};
    EXPECT_EQ(did_you_mean("musts", c), " did you mean [must]?");
    EXPECT_EQ(did_you_mean("zzz", c), "");
}

TEST(search_text, minimum_should_match_arithmetic) {
    auto msm = [](int n, std::string_view spec) {
        auto r = min_should_match(n, spec);
        return r ? *r : -100;
    };
    EXPECT_EQ(msm(3, "2"), 2);
    EXPECT_EQ(msm(3, "-1"), 2);
    EXPECT_EQ(msm(3, "75%"), 2);
    EXPECT_EQ(msm(4, "-25%"), 3);
    EXPECT_EQ(msm(2, "3<90%"), 2);
    EXPECT_EQ(msm(5, "3<90%"), 4);
    EXPECT_EQ(msm(10, "2<-25% 9<-3"), 7);
    EXPECT_EQ(msm(3, " 2 < -1 "), 2);
    EXPECT_EQ(msm(3, "-5"), 0);
    auto bad = min_should_match(3, "x%");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().reason, "For input string: \"x\"");
    EXPECT_EQ(bad.error().code, errc::number_format);
}

TEST(search_text, dates_and_date_math) {
    const std::int64_t now = 1715000000000;  // 2024-05-06T12:53:20Z (a Monday)
    EXPECT_EQ(parse_date_millis("1700000000000", now, false), 1700000000000);
    EXPECT_EQ(parse_date_millis("2024-03-09T16:00:00.000Z", now, false), 1710000000000);
    EXPECT_EQ(parse_date_millis("2024-03-09T16:00:00Z", now, false), 1710000000000);
    EXPECT_EQ(parse_date_millis("2024-03-09T18:00:00.5+02:00", now, false), 1710000000500);
    EXPECT_EQ(parse_date_millis("2024-03-09", now, false), std::nullopt);  // strict_date_time needs the time
    EXPECT_EQ(parse_date_millis("2024-02-30T00:00:00Z", now, false), std::nullopt);
    EXPECT_EQ(parse_date_millis("now", now, false), now);
    EXPECT_EQ(parse_date_millis("now-1d", now, false), now - 86400000);
    EXPECT_EQ(parse_date_millis("now/d", now, false), 1714953600000);  // 2024-05-06T00:00:00Z
    EXPECT_EQ(parse_date_millis("now/d", now, true), 1715039999999);   // ...T23:59:59.999Z
    EXPECT_EQ(parse_date_millis("now/w", now, false), 1714953600000);  // Monday
    EXPECT_EQ(parse_date_millis("now/M", now, false), 1714521600000);  // 2024-05-01
    EXPECT_EQ(parse_date_millis("2024-01-31T00:00:00Z||+1M", now, false), 1709164800000);  // clamps to Feb 29
    EXPECT_EQ(parse_date_millis("now+1h/h", now, false), 1715000400000);                   // 13:00
    EXPECT_EQ(parse_date_millis("now-1x", now, false), std::nullopt);
}

}  // namespace
}  // namespace modelrelay::test
