// File: json_patch_test.cpp
// JSON Patch as the Security plugin applies it: its checks on the body, then zjsonpatch 0.4's add, replace
// and remove with their messages, on a copy.
#include "registry/json_patch.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace modelrelay::registry {
namespace {

namespace json = boost::json;

// A Security envelope's message (or an illegal_argument reason).
std::string message_of(const error& e) {
    if (e.code != errc::raw_body) {
        return e.reason;
    }
    const auto body = json::parse(e.reason).as_object();
    EXPECT_EQ(body.at("status"), "BAD_REQUEST");
    return std::string(body.at("message").as_string());
}

std::string body_error(std::string_view body) {
    auto r = parse_security_patch(body);
    EXPECT_FALSE(r) << body;
    return r ? std::string() : message_of(r.error());
}

json::value patched(std::string_view ops, std::string_view doc) {
    auto parsed = parse_security_patch(ops);
    EXPECT_TRUE(parsed) << ops;
    auto r = apply_json_patch(*parsed, json::parse(doc));
    EXPECT_TRUE(r) << ops << " → " << (r ? "" : message_of(r.error()));
    return r ? *r : json::value();
}

std::string apply_error(std::string_view ops, std::string_view doc) {
    auto parsed = parse_security_patch(ops);
    EXPECT_TRUE(parsed) << ops;
    auto r = apply_json_patch(*parsed, json::parse(doc));
    EXPECT_FALSE(r) << ops;
    return r ? std::string() : message_of(r.error());
}

TEST(json_patch, body_checks_are_the_plugins) {
    EXPECT_EQ(body_error(""), "Wrong request body");
    EXPECT_EQ(body_error("{\"op\":\"add\"}"), "Wrong request body");
    EXPECT_EQ(body_error("[]"), "Wrong request body");
    EXPECT_EQ(body_error("[1,{\"path\":\"/a\"}]"), "Wrong request body");  // no element has an op
    EXPECT_TRUE(body_error("[x").starts_with("Error in JSON patch: "));
    EXPECT_EQ(
        body_error(R"([{"op":"add","path":"/a","value":1},{"op":"move","from":"/a","path":"/b"}])"),
        "Unsupported patch operation: move. Supported are: add,replace,remove"
    );
    EXPECT_EQ(
        body_error(R"([{"op":"test","path":"/a","value":1}])"),
        "Unsupported patch operation: test. Supported are: add,replace,remove"
    );
    // Jackson's asText: a number is its text, an upper-case name is not a supported one.
    EXPECT_EQ(
        body_error(R"([{"op":1,"path":"/a"}])"),
        "Unsupported patch operation: 1. Supported are: add,replace,remove"
    );
    EXPECT_EQ(
        body_error(R"([{"op":"ADD","path":"/a","value":1}])"),
        "Unsupported patch operation: ADD. Supported are: add,replace,remove"
    );
    EXPECT_TRUE(parse_security_patch(R"([{"op":"remove","path":"/a"}])"));
}

TEST(json_patch, add_replace_remove_on_objects_and_arrays) {
    EXPECT_EQ(
        patched(
            R"([{"op":"add","path":"/b","value":[1]},{"op":"add","path":"/b/-","value":3},
                   {"op":"add","path":"/b/1","value":2}])",
            R"({"a":1})"
        ),
        json::parse(R"({"a":1,"b":[1,2,3]})")
    );
    EXPECT_EQ(
        patched(
            R"([{"op":"replace","path":"/a","value":{"x":null}},{"op":"remove","path":"/b/0"}])",
            R"({"a":1,"b":[1,2]})"
        ),
        json::parse(R"({"a":{"x":null},"b":[2]})")
    );
    // add on an existing member replaces it; remove of a missing member is no error (zjsonpatch 0.4).
    EXPECT_EQ(patched(R"([{"op":"add","path":"/a","value":2}])", R"({"a":1})"), json::parse(R"({"a":2})"));
    EXPECT_EQ(patched(R"([{"op":"remove","path":"/zz"}])", R"({"a":1})"), json::parse(R"({"a":1})"));
    // The root: add and replace swap the document.
    EXPECT_EQ(
        patched(R"([{"op":"replace","path":"","value":{"n":1}}])", R"({"a":1})"), json::parse(R"({"n":1})")
    );
    // Escapes: ~1 is '/', ~0 is '~'.
    EXPECT_EQ(
        patched(R"([{"op":"add","path":"/a~1b~0c","value":true}])", "{}"), json::parse(R"({"a/b~c":true})")
    );
}

TEST(json_patch, failures_carry_zjsonpatch_messages_and_leave_nothing_half_done) {
    const std::string doc = R"({"a":1,"list":["x"],"o":{}})";
    EXPECT_EQ(apply_error(R"([{"op":"replace","path":"/nope","value":1}])", doc), "Missing field \"nope\"");
    EXPECT_EQ(apply_error(R"([{"op":"add","path":"/nope/x","value":1}])", doc), "Missing field \"nope\"");
    EXPECT_EQ(
        apply_error(R"([{"op":"add","path":"/list/5","value":1}])", doc), "Array index 5 out of bounds"
    );
    EXPECT_EQ(
        apply_error(R"([{"op":"replace","path":"/list/1","value":1}])", doc), "Array index 1 out of bounds"
    );
    EXPECT_EQ(apply_error(R"([{"op":"remove","path":"/list/3"}])", doc), "Array index 3 out of bounds");
    EXPECT_EQ(
        apply_error(R"([{"op":"add","path":"/list/7/x","value":1}])", doc), "Array index 7 is out of bounds"
    );
    EXPECT_EQ(
        apply_error(R"([{"op":"add","path":"/list/k/x","value":1}])", doc),
        "Can't reference field \"k\" on array"
    );
    EXPECT_EQ(
        apply_error(R"([{"op":"add","path":"/a/b","value":1}])", doc), "Cannot reference past scalar value"
    );
    EXPECT_EQ(
        apply_error(R"([{"op":"add","path":"/a/b/c","value":1}])", doc), "Can't reference past scalar value"
    );
    EXPECT_EQ(
        apply_error(R"([{"op":"replace","path":"/a/b","value":1}])", doc), "Can't reference past scalar value"
    );
    EXPECT_EQ(apply_error(R"([{"op":"remove","path":""}])", doc), "Cannot remove document root");
    EXPECT_EQ(
        apply_error(R"([{"op":"add","path":"/b"}])", doc),
        "Invalid JSON Patch payload (missing 'value' field)"
    );
    EXPECT_EQ(
        apply_error(R"([{"op":"add","value":1}])", doc), "Invalid JSON Patch payload (missing 'path' field)"
    );
    EXPECT_EQ(
        apply_error(R"([{"op":"add","path":"/b","value":1},{"path":"/c"}])", doc),
        "Invalid JSON Patch payload (missing 'op' field)"
    );
    EXPECT_EQ(
        apply_error(R"([{"op":"add","path":"/b","value":1},2])", doc),
        "Invalid JSON Patch payload (not an object)"
    );
    EXPECT_EQ(apply_error(R"([{"op":"add","path":"b","value":1}])", doc), "Missing leading slash");
    EXPECT_EQ(
        apply_error(R"([{"op":"add","path":"/a~2","value":1}])", doc), "Invalid escape sequence ~2 at index 3"
    );
    EXPECT_EQ(
        apply_error(R"([{"op":"add","path":"/list/x","value":1}])", doc),
        "Object operation on array index target"
    );

    // A later failure throws away the earlier operations: the caller's document is a copy.
    auto ops = parse_security_patch(
        R"([{"op":"add","path":"/b","value":1},{"op":"replace","path":"/nope","value":1}])"
    );
    ASSERT_TRUE(ops);
    const json::value original = json::parse(doc);
    EXPECT_FALSE(apply_json_patch(*ops, original));
    EXPECT_EQ(original, json::parse(doc));
}

TEST(json_patch, entity_names_are_the_first_tokens) {
    auto ops = parse_security_patch(
        R"([{"op":"add","path":"/alice","value":{}},{"op":"remove","path":"/bob/backend_roles/0"},
            {"op":"remove","path":"/alice/x"},{"op":"add","path":"/a~1b","value":{}}])"
    );
    ASSERT_TRUE(ops);
    auto names = patch_entity_names(*ops);
    EXPECT_FALSE(names.whole);
    EXPECT_EQ(names.names, (std::vector<std::string>{"alice", "bob", "a/b"}));
    auto root = parse_security_patch(R"([{"op":"replace","path":"","value":{}}])");
    ASSERT_TRUE(root);
    EXPECT_TRUE(patch_entity_names(*root).whole);
}

}  // namespace
}  // namespace modelrelay::registry
