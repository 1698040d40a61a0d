// File: type_check_test.cpp
// type_check (the fast "valid" answer in front of Valijson) decides exactly as Valijson does, on bodies
// generated from every embedded schema: mostly schema-shaped, with wrong types, unknown fields, numbers
// at and past the bounds, uint64 and integral doubles mixed in.
#include "schemas/type_check.hpp"

#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "schemas/validate.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;
using schemas::schema_id;

class body_maker {
public:
    explicit body_maker(unsigned seed) : rng_(seed) {}

    json::value make(const json::value& schema, int depth) {
        const auto& s = schema.get_object();
        if (depth > 6 || chance(0.12)) {
            return any_value(depth);
        }
        std::string type = "any";
        if (const auto* t = s.if_contains("type")) {
            if (const auto* list = t->if_array()) {
                type = std::string((*list)[pick(list->size())].get_string());
            } else {
                type = std::string(t->get_string());
            }
        }
        if (type == "any") {
            return any_value(depth);
        }
        if (type == "object") {
            json::object o;
            if (const auto* props = s.if_contains("properties")) {
                for (const auto& kv : props->get_object()) {
                    if (chance(0.6)) {
                        o[kv.key()] = make(kv.value(), depth + 1);
                    }
                }
            }
            if (chance(0.15)) {
                json::value extra_schema = json::object{};
                if (const auto* extra = s.if_contains("additionalProperties"); extra && extra->is_object()) {
                    extra_schema = *extra;
                }
                o["unknown_" + std::to_string(pick(3))] = make(extra_schema, depth + 1);
            }
            return o;
        }
        if (type == "array") {
            json::array a;
            const json::value item_schema = s.contains("items") ? s.at("items") : json::value(json::object{});
            for (std::size_t i = pick(4); i > 0; --i) {
                a.push_back(make(item_schema, depth + 1));
            }
            return a;
        }
        if (type == "integer" || type == "number") {
            return number(s, type == "integer");
        }
        if (type == "string") {
            return json::string("s" + std::to_string(pick(100)));
        }
        if (type == "boolean") {
            return chance(0.5);
        }
        return nullptr;
    }

private:
    bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
    std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }

    json::value number(const json::object& s, bool integer) {
        std::vector<double> anchors = {0, 1, -1};
        for (const char* k : {"minimum", "maximum"}) {
            if (const auto* b = s.if_contains(k)) {
                anchors.push_back(b->to_number<double>());
            }
        }
        const double base = anchors[pick(anchors.size())];
        const auto shift = static_cast<std::int64_t>(pick(3)) - 1;
        switch (pick(integer ? 6 : 4)) {
            case 0:
                return base + 0.5;
            case 1:
                return static_cast<double>(static_cast<std::int64_t>(base) + shift);  // integral double
            case 2:
                return std::numeric_limits<std::uint64_t>::max() - pick(2);
            default:
                return static_cast<std::int64_t>(base) + shift;
        }
    }

    json::value any_value(int depth) {
        switch (pick(depth > 4 ? 7 : 9)) {
            case 0:
                return "text";
            case 1:
                return static_cast<std::int64_t>(pick(5)) - 2;
            case 2:
                return 2.5;
            case 3:
                return true;
            case 4:
                return nullptr;
            case 5:
                return std::numeric_limits<std::uint64_t>::max();
            case 6:
                return 3.0;
            case 7:
                return json::object{{"k", any_value(depth + 1)}};
            default:
                return json::array{any_value(depth + 1), any_value(depth + 1)};
        }
    }

    std::mt19937 rng_;
};

TEST(type_check_test, decides_as_valijson_on_generated_bodies_for_every_schema) {
    for (int id = 0; id <= static_cast<int>(schema_id::predict); ++id) {
        const auto sid = static_cast<schema_id>(id);
        const auto& schema = schemas::detail::inlined_schema(sid);
        body_maker maker(1234 + static_cast<unsigned>(id));
        int accepted = 0;
        int rejected = 0;
        for (int i = 0; i < 4000; ++i) {
            const json::value body = maker.make(schema, 0);
            const bool by_valijson = schemas::detail::valijson_accepts(sid, body);
            ASSERT_EQ(schemas::detail::type_check_accepts(sid, body), by_valijson)
                << schemas::file_name(sid) << ": " << json::serialize(body);
            (by_valijson ? accepted : rejected) += 1;
        }
        // Both answers must be common, or the comparison says little.
        EXPECT_GT(accepted, 150) << schemas::file_name(sid);
        EXPECT_GT(rejected, 150) << schemas::file_name(sid);
    }
}

TEST(type_check_test, follows_valijson_on_the_edges_of_integer_and_bounds) {
    const json::value schema = json::parse(R"({
      "type": "object", "additionalProperties": false,
      "properties": {
        "n": {"type": "integer", "minimum": 0, "maximum": 10},
        "x": {"type": ["number", "null"]},
        "list": {"type": "array", "items": {"type": "string"}},
        "open": {"type": "object", "additionalProperties": {"type": "boolean"}}
      }})");
    const schemas::type_check check(schema);
    auto accepts = [&](std::string_view body) {
        return check.accepts(json::parse(body));
    };
    EXPECT_TRUE(accepts(R"({})"));
    EXPECT_TRUE(accepts(R"({"n": 0, "x": null, "list": ["a"], "open": {"a": true}})"));
    EXPECT_TRUE(accepts(R"({"n": 10, "x": 2.5})"));
    EXPECT_FALSE(accepts(R"({"x": 18446744073709551615})"));  // Valijson: a uint64 is not a number
    EXPECT_FALSE(accepts(R"({"n": 11})"));
    EXPECT_FALSE(accepts(R"({"n": -1})"));
    EXPECT_FALSE(accepts(R"({"n": 1.0})"));                   // Valijson: an integer is an int64
    EXPECT_FALSE(accepts(R"({"n": 18446744073709551615})"));  // a uint64 is not
    EXPECT_FALSE(accepts(R"({"list": ["a", 1]})"));
    EXPECT_FALSE(accepts(R"({"open": {"a": 1}})"));
    EXPECT_FALSE(accepts(R"({"other": 1})"));
    EXPECT_FALSE(accepts(R"([])"));
}

}  // namespace
}  // namespace modelrelay::test
