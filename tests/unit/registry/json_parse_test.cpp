// File: json_parse_test.cpp
// parse_json reads every number exactly (Boost.JSON 1.81's own conversion lands one unit in the last
// place off for some 16- and 17-digit numbers), and is json::parse in everything else: the same trees,
// the same errors, the same consumed counts.
#include "registry/json_parse.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "registry/json_text.hpp"

namespace modelrelay::test {
namespace {

namespace json = boost::json;

double parsed_double(std::string_view text) {
    return registry::parse_json(text).as_double();
}

TEST(json_parse, reads_the_numbers_boost_json_rounds_wrongly) {
    // llama.cpp's `timings`, and doubles from a real run that Boost.JSON 1.81 read 1 ULP off.
    for (std::string_view text :
         {"1918.1106439809487",
          "9.439076314285715E7",
          "1.3360218014285715E8",
          "1.3902616714285715E7",
          "1.1061880714285715E8"}) {
        double expected = 0;
        std::from_chars(text.data(), text.data() + text.size(), expected);
        EXPECT_EQ(std::bit_cast<std::uint64_t>(parsed_double(text)), std::bit_cast<std::uint64_t>(expected))
            << text;
    }
    // The case the audit found: Boost.JSON's own answer is the next double up.
    EXPECT_NE(json::parse("1918.1106439809487").as_double(), 1918.1106439809487);
    EXPECT_EQ(parsed_double("1918.1106439809487"), 1918.1106439809487);
}

TEST(json_parse, every_double_survives_a_round_trip_through_its_shortest_and_its_17_digit_text) {
    std::mt19937_64 rng(20261124);
    for (int i = 0; i < 200000; ++i) {
        const double d = std::bit_cast<double>(rng());
        if (!std::isfinite(d)) {
            continue;
        }
        char buf[64];
        for (const auto fmt : {std::chars_format::general, std::chars_format::scientific}) {
            const auto r = fmt == std::chars_format::general
                               ? std::to_chars(buf, buf + sizeof buf, d)
                               : std::to_chars(buf, buf + sizeof buf, d, fmt, 16);
            std::string text(buf, r.ptr);
            if (text.find_first_of(".eE") == std::string::npos) {
                text += ".0";  // a whole number would be read as an integer
            }
            std::string doc = "[";
            doc.append(text).append("]");
            const auto v = registry::parse_json(doc);
            ASSERT_TRUE(v.at(0).is_double()) << text;
            ASSERT_EQ(std::bit_cast<std::uint64_t>(v.at(0).as_double()), std::bit_cast<std::uint64_t>(d))
                << text;
        }
    }
}

TEST(json_parse, extremes_and_integers_are_what_json_parse_gives) {
    EXPECT_EQ(parsed_double("5e-324"), std::numeric_limits<double>::denorm_min());
    EXPECT_EQ(parsed_double("1.7976931348623157e308"), std::numeric_limits<double>::max());
    EXPECT_TRUE(std::signbit(parsed_double("-0.0")));
    // Beyond the range: what Boost.JSON itself gives (infinity, or zero), never an error.
    EXPECT_EQ(parsed_double("1e400"), json::parse("1e400").as_double());
    EXPECT_EQ(parsed_double("-1e400"), json::parse("-1e400").as_double());
    EXPECT_EQ(parsed_double("1e-400"), json::parse("1e-400").as_double());
    // A request body refuses what would be written back as the non-JSON `Infinity`, with an exponent or
    // in full; below the range it is zero.
    for (const std::string& text :
         {std::string("1e400"),
          std::string("-1E999"),
          std::string(R"([1,{"a":2e308}])"),
          "1" + std::string(400, '0'),
          "1" + std::string(400, '0') + ".5"}) {
        boost::system::error_code ec;
        EXPECT_TRUE(registry::parse_request_json(text, ec).is_null()) << text;
        EXPECT_EQ(ec, json::error::exponent_overflow) << text;
    }
    boost::system::error_code ec;
    EXPECT_EQ(
        registry::parse_request_json(R"({"a":1e-400,"b":1.5e308})", ec),
        json::parse(R"({"a":0.0,"b":1.5e308})")
    );
    EXPECT_FALSE(ec);
    EXPECT_EQ(registry::parse_json("-9223372036854775808"), json::parse("-9223372036854775808"));
    EXPECT_EQ(registry::parse_json("18446744073709551615"), json::parse("18446744073709551615"));
    EXPECT_TRUE(registry::parse_json("18446744073709551616").is_double());
}

TEST(json_parse, trees_errors_and_offsets_match_json_parse) {
    for (std::string_view text :
         {R"({"a":[1,2,{"b":null,"c":"x\u00e9\n"}],"d":true,"e":-3})",
          R"([])",
          R"("s")",
          R"(  {"a":1}  )",
          R"({"a":1} x)",
          R"({"a":)",
          R"({"a":1,})",
          R"([1,2)",
          "",
          "nul",
          R"({"a":"\ud800"})",
          R"({"k":"v","k":"w"})",
          "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
          "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"}) {
        boost::system::error_code ours;
        boost::system::error_code theirs;
        const auto a = registry::parse_json(text, ours);
        const auto b = json::parse(text, theirs);
        EXPECT_EQ(ours, theirs) << text;
        EXPECT_EQ(a, b) << text;
    }
    // The consumed count that post-processing quotes in "Invalid JSON format: ... at character N".
    boost::system::error_code ec;
    std::size_t used = 0;
    registry::parse_json(R"({"a":1} x)", ec, {}, {}, &used);
    EXPECT_EQ(ec, json::error::extra_data);
    EXPECT_EQ(used, 8U);
    registry::parse_json(R"({"a":tru})", ec, {}, {}, &used);
    EXPECT_TRUE(ec);
    EXPECT_EQ(used, 5U);
}

TEST(json_parse, the_tree_less_rewriter_prints_the_exact_number_too) {
    std::string out;
    ASSERT_TRUE(
        registry::append_compact_object_text(out, R"({"timings":{"prompt_per_second":1918.1106439809487}})")
    );
    EXPECT_EQ(out, R"({"timings":{"prompt_per_second":1918.1106439809487}})");
    out.clear();
    registry::append_compact_json(out, registry::parse_json(R"({"v":[9.439076314285715E7,0.1]})"));
    EXPECT_EQ(out, R"({"v":[9.439076314285715E7,0.1]})");
}

}  // namespace
}  // namespace modelrelay::test
