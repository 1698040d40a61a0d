// File: address_guard_test.cpp
// The SSRF guard as pure functions: every range of both tiers, every embedded-IPv4 form, the inet_aton
// host spellings, the host-name rules, and the messages of the per-address decision.
#include "server/upstream/address_guard.hpp"

#include <arpa/inet.h>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/upstream/url.hpp"

namespace modelrelay::server::upstream {
namespace {

namespace ip = boost::asio::ip;

address_kind kind_of(const std::string& text) {
    return classify(ip::make_address(text));
}

registry::result<void> check(
    std::string_view host, const std::string& addr, const guard_policy& p, unsigned short port = 443
) {
    return check_address(host, "https://" + std::string(host) + "/v1", ip::make_address(addr), port, p);
}

struct range_case {
    const char* address;
    address_kind kind;
};

class classify_test : public ::testing::TestWithParam<range_case> {};

TEST_P(classify_test, classifies) {
    EXPECT_EQ(kind_of(GetParam().address), GetParam().kind) << GetParam().address;
}

constexpr auto pub = address_kind::public_address;
constexpr auto priv = address_kind::private_network;
constexpr auto never = address_kind::always_blocked;

INSTANTIATE_TEST_SUITE_P(
    ipv4,
    classify_test,
    ::testing::Values(
        // public
        range_case{"8.8.8.8", pub},
        range_case{"1.1.1.1", pub},
        range_case{"104.18.6.192", pub},
        range_case{"172.15.255.255", pub},
        range_case{"172.32.0.0", pub},
        range_case{"100.63.255.255", pub},
        range_case{"100.128.0.0", pub},
        range_case{"169.253.255.255", pub},
        range_case{"223.255.255.255", pub},
        range_case{"11.0.0.1", pub},
        range_case{"192.169.0.1", pub},
        // RFC 1918 and loopback: opened by private_ip_enabled
        range_case{"10.0.0.0", priv},
        range_case{"10.255.255.255", priv},
        range_case{"172.16.0.0", priv},
        range_case{"172.31.255.255", priv},
        range_case{"192.168.0.1", priv},
        range_case{"192.168.255.255", priv},
        range_case{"127.0.0.1", priv},
        range_case{"127.255.255.254", priv},
        range_case{"127.1.2.3", priv},
        // never
        range_case{"100.64.0.0", never},  // CGNAT: not opened by private_ip_enabled (R19)
        range_case{"100.127.255.255", never},
        range_case{"0.0.0.0", never},
        range_case{"0.1.2.3", never},
        range_case{"169.254.169.254", never},
        range_case{"169.254.0.1", never},
        range_case{"100.100.100.200", never},
        range_case{"168.63.129.16", never},
        range_case{"192.0.0.8", never},
        range_case{"192.0.2.1", never},
        range_case{"198.51.100.7", never},
        range_case{"203.0.113.9", never},
        range_case{"192.88.99.1", never},
        range_case{"198.18.0.1", never},
        range_case{"198.19.255.255", never},
        range_case{"224.0.0.1", never},
        range_case{"239.255.255.250", never},
        range_case{"240.0.0.1", never},
        range_case{"255.255.255.255", never},
        range_case{"192.31.196.1", never},
        range_case{"192.52.193.1", never},
        range_case{"192.175.48.1", never}
    )
);

INSTANTIATE_TEST_SUITE_P(
    ipv6,
    classify_test,
    ::testing::Values(
        range_case{"2606:4700::6810:6c0", pub},
        range_case{"2001:4860:4860::8888", pub},
        range_case{"::1", priv},
        range_case{"fc00::1", priv},
        range_case{"fd12:3456::1", priv},
        range_case{"fec0::1", never},  // deprecated site-local: not opened by private_ip_enabled (R19)
        range_case{"feff::1", never},
        range_case{"::", never},
        range_case{"fe80::1", never},
        range_case{"febf::1", never},
        range_case{"ff02::1", never},
        range_case{"ff00::", never},
        range_case{"fd00:ec2::254", never},
        range_case{"100::1", never},
        range_case{"64:ff9b:1::1", never},
        range_case{"2001:db8::1", never},
        range_case{"3fff::1", never},
        range_case{"2001:10::1", never},
        range_case{"4000::1", never},
        range_case{"1::1", never}
    )
);

TEST(classify, link_local_and_site_local_boundaries) {
    EXPECT_EQ(kind_of("febf:ffff::1"), address_kind::always_blocked);   // top of fe80::/10
    EXPECT_EQ(kind_of("fec0::"), address_kind::always_blocked);         // bottom of fec0::/10
    EXPECT_EQ(kind_of("fdff:ffff::1"), address_kind::private_network);  // top of fc00::/7
    EXPECT_EQ(kind_of("fbff:ffff::1"), address_kind::always_blocked);   // below fc00::/7, outside 2000::/3
}

TEST(classify, embedded_ipv4_forms_take_the_ipv4_verdict) {
    // IPv4-mapped
    EXPECT_EQ(kind_of("::ffff:127.0.0.1"), priv);
    EXPECT_EQ(kind_of("::ffff:7f00:1"), priv);
    EXPECT_EQ(kind_of("::ffff:169.254.169.254"), never);
    EXPECT_EQ(kind_of("::ffff:10.1.2.3"), priv);
    EXPECT_EQ(kind_of("::ffff:8.8.8.8"), pub);
    EXPECT_EQ(kind_of("::ffff:0.0.0.0"), never);
    // IPv4-compatible (deprecated): outside 2000::/3, refused whatever it embeds.
    EXPECT_EQ(kind_of("::127.0.0.1"), never);
    EXPECT_EQ(kind_of("::169.254.169.254"), never);
    EXPECT_EQ(kind_of("::8.8.8.8"), never);
    // NAT64 well-known prefix
    EXPECT_EQ(kind_of("64:ff9b::7f00:1"), priv);
    EXPECT_EQ(kind_of("64:ff9b::a9fe:a9fe"), never);
    EXPECT_EQ(kind_of("64:ff9b::c0a8:1"), priv);
    EXPECT_EQ(kind_of("64:ff9b::808:808"), pub);
    // 6to4
    EXPECT_EQ(kind_of("2002:a9fe:a9fe::1"), never);
    EXPECT_EQ(kind_of("2002:7f00:1::1"), priv);
    EXPECT_EQ(kind_of("2002:c0a8:101::1"), priv);
    EXPECT_EQ(kind_of("2002:808:808::1"), pub);
    // Teredo lies in the IETF block 2001::/23: refused whatever it embeds (the worst verdict wins).
    EXPECT_EQ(
        kind_of("2001:0:4136:e378:8000:63bf:f7f7:f7f7"), never
    );  // server 65.54.227.120, client 8.8.8.8
    EXPECT_EQ(kind_of("2001:0:4136:e378:8000:63bf:3fff:fdd2"), never);  // RFC 4380 example: client 192.0.2.45
    EXPECT_EQ(kind_of("2001:0:7f00:1:8000:63bf:f7f7:f7f7"), never);     // server 127.0.0.1
    EXPECT_EQ(kind_of("2001:0:4136:e378:8000:63bf:80ff:fffe"), never);  // client NOT(80ff:fffe) = 127.0.0.1
    // ISATAP interface ids
    EXPECT_EQ(kind_of("2001:4860:1::5efe:7f00:1"), priv);
    EXPECT_EQ(kind_of("2001:4860:1::200:5efe:a9fe:a9fe"), never);
    EXPECT_EQ(kind_of("2001:4860:1::5efe:808:808"), pub);
}

// security.md §6.1, row by row, for the forms the tables above do not already pin down.
TEST(classify, embedded_forms_at_their_boundaries) {
    // NAT64 64:ff9b::/96 decodes; the rest of 64:ff9b::/32 is outside 2000::/3; 64:ff9b:1::/48 is refused.
    EXPECT_EQ(kind_of("64:ff9b::6464:64c8"), never);  // 100.100.100.200 (Alibaba metadata)
    EXPECT_EQ(kind_of("64:ff9b::a83f:8110"), never);  // 168.63.129.16 (Azure WireServer)
    EXPECT_EQ(kind_of("64:ff9b::a00:1"), priv);       // 10.0.0.1
    EXPECT_EQ(kind_of("64:ff9b::1:808:808"), never);  // not in /96: unallocated
    EXPECT_EQ(kind_of("64:ff9b:1::808:808"), never);  // local-use NAT64 even with a public IPv4
    EXPECT_EQ(kind_of("64:ff9b:1:ffff::1"), never);
    // 6to4 2002::/16: IPv4 in bits 16-47, whatever the rest says.
    EXPECT_EQ(kind_of("2002::1"), never);                 // 0.0.0.0
    EXPECT_EQ(kind_of("2002:a00:1::1"), priv);            // 10.0.0.1
    EXPECT_EQ(kind_of("2002:6464:64c8::1"), never);       // 100.100.100.200
    EXPECT_EQ(kind_of("2002:e000:1:ffff::1"), never);     // 224.0.0.1
    EXPECT_EQ(kind_of("2002:808:808:ffff:ffff::"), pub);  // 8.8.8.8
    // Teredo 2001::/32 is inside 2001::/23: refused even when the addresses it embeds are private or public.
    EXPECT_EQ(kind_of("2001:0:808:808:8000:63bf:5601:5601"), never);    // client 169.254.169.254
    EXPECT_EQ(kind_of("2001:0:808:808:8000:63bf:f5ff:fffe"), never);    // client 10.0.0.1
    EXPECT_EQ(kind_of("2001:0:a9fe:a9fe:8000:63bf:f7f7:f7f7"), never);  // server 169.254.169.254
    // The rest of 2001::/23 (IETF) is refused; 2001:200::/23 onwards is ordinary global unicast.
    EXPECT_EQ(kind_of("2001:1ff::1"), never);
    EXPECT_EQ(kind_of("2001:200::1"), pub);
    // IPv4-compatible ::/96 (deprecated) is outside 2000::/3: refused, even for private or public IPv4.
    EXPECT_EQ(kind_of("::0.0.0.2"), never);
    EXPECT_EQ(kind_of("::a9fe:a9fe"), never);
    EXPECT_EQ(kind_of("::a00:1"), never);
    EXPECT_EQ(kind_of("::7f00:1"), never);
    // IPv4-translated ::ffff:0:0:0/96 (SIIT) is outside 2000::/3.
    EXPECT_EQ(kind_of("::ffff:0:7f00:1"), never);
    // ISATAP ids (::0:5efe:a.b.c.d, ::200:5efe:a.b.c.d) under a global prefix.
    EXPECT_EQ(kind_of("2001:4860:1::5efe:a00:1"), priv);
    EXPECT_EQ(kind_of("2001:4860:1::200:5efe:6464:64c8"), never);
    EXPECT_EQ(kind_of("2001:4860:1::100:5efe:7f00:1"), pub);  // 0x01 in byte 8 is not an ISATAP id
    // Discard-only 100::/64, and the rest of the world outside 2000::/3.
    EXPECT_EQ(kind_of("100::ffff:ffff:ffff:ffff"), never);
    EXPECT_EQ(kind_of("100:0:0:1::"), never);
    EXPECT_EQ(kind_of("e000::1"), never);
    EXPECT_EQ(kind_of("3fff:fff::1"), never);  // 3fff::/20 documentation
    EXPECT_EQ(kind_of("3fff:1000::1"), pub);   // past 3fff::/20
}

TEST(classify, ipv4_special_purpose_boundaries) {
    EXPECT_EQ(kind_of("100.63.255.255"), pub);
    EXPECT_EQ(kind_of("100.64.0.0"), never);
    EXPECT_EQ(kind_of("100.127.255.255"), never);
    EXPECT_EQ(kind_of("100.128.0.0"), pub);
    EXPECT_EQ(kind_of("192.0.0.9"), never);
    EXPECT_EQ(kind_of("192.0.0.170"), never);
    EXPECT_EQ(kind_of("192.0.1.1"), pub);
    EXPECT_EQ(kind_of("198.17.255.255"), pub);
    EXPECT_EQ(kind_of("198.20.0.0"), pub);
    EXPECT_EQ(kind_of("239.255.255.255"), never);
    EXPECT_EQ(kind_of("168.63.129.15"), pub);
    EXPECT_EQ(kind_of("168.63.129.17"), pub);
    EXPECT_EQ(kind_of("100.100.100.199"), never);  // still CGNAT
}

// R19: private_ip_enabled opens RFC 1918, loopback and ULA, and nothing else.
TEST(check_address, private_ip_enabled_opens_exactly_rfc1918_loopback_and_ula) {
    const std::vector<ip::tcp::endpoint> self{{ip::make_address("127.0.0.1"), 9200}};
    guard_policy on;
    on.private_ip_enabled = true;
    on.self_endpoints = self;
    for (const char* a :
         {"10.1.2.3",
          "172.16.0.1",
          "192.168.1.1",
          "127.0.0.1",
          "127.9.9.9",
          "::1",
          "fd00::1",
          "fc00::1",
          "::ffff:10.0.0.1",
          "64:ff9b::c0a8:101",
          "2002:c0a8:101::1"}) {
        EXPECT_TRUE(check("model.internal", a, on)) << a;
    }
    for (const char* a :
         {"169.254.169.254",
          "169.254.0.1",
          "fe80::1",
          "100.100.100.200",
          "168.63.129.16",
          "fd00:ec2::254",
          "0.0.0.0",
          "0.1.2.3",
          "::",
          "224.0.0.251",
          "ff02::fb",
          "240.0.0.1",
          "255.255.255.255",
          "100.64.0.1",
          "fec0::1",
          "192.0.0.8",
          "198.18.0.1",
          "192.0.2.1",
          "2001:db8::1",
          "64:ff9b:1::1",
          "100::1",
          "4000::1",
          "::ffff:169.254.169.254",
          "2002:a9fe:a9fe::1",
          "64:ff9b::a9fe:a9fe"}) {
        auto r = check("model.internal", a, on);
        ASSERT_FALSE(r) << a;
        EXPECT_EQ(r.error().reason, "Remote inference host name has private ip address: model.internal") << a;
    }
    EXPECT_FALSE(check("me", "127.0.0.1", on, 9200));  // our own listener
    EXPECT_FALSE(check("me", "::ffff:127.0.0.1", on, 9200));
}

TEST(check_host_name, every_special_name_in_both_modes) {
    guard_policy off;
    guard_policy on;
    on.private_ip_enabled = true;
    for (const char* n : {"localhost", "localhost.", "LocalHost", "a.localhost", "a.b.localhost."}) {
        auto r = check_host_name(n, off);
        ASSERT_FALSE(r) << n;
        EXPECT_EQ(r.error().reason, "Remote inference host name has private ip address: " + std::string(n));
        EXPECT_TRUE(check_host_name(n, on)) << n;  // RFC 6761: loopback, opened like 127/8
    }
    for (const char* n :
         {"metadata.google.internal",
          "metadata.google.internal.",
          "METADATA.AMAZONAWS.COM",
          "metadata.goog",
          "instance-data",
          "instance-data.ec2.internal"}) {
        EXPECT_FALSE(check_host_name(n, off)) << n;
        EXPECT_FALSE(check_host_name(n, on)) << n;
    }
    for (const char* n :
         {"localhost.com", "mylocalhost", "metadata.google.internal.evil.com", "api.openai.com"}) {
        EXPECT_TRUE(check_host_name(n, off)) << n;
    }
}

TEST(classify, zone_ids_do_not_change_the_verdict) {
    EXPECT_EQ(classify(ip::make_address("fe80::1%1")), never);
    EXPECT_EQ(classify(ip::make_address("::1%1")), priv);
}

// ---- host spellings ---------------------------------------------------------------------------------

std::string literal(std::string_view host) {
    auto a = parse_ip_literal(host);
    return a ? a->to_string() : std::string("<none>");
}

TEST(parse_ip_literal, inet_aton_spellings_of_loopback) {
    for (const char* h :
         {"127.0.0.1",
          "127.1",
          "127.0.1",
          "2130706433",
          "017700000001",
          "0x7f000001",
          "0X7F000001",
          "0x7f.1",
          "0177.0.0.1",
          "0177.1",
          "0x7f.0.0.1",
          "127.0x0.0.01",
          "127.0.0.1.",
          "0x7f.0x0.0x0.0x1"}) {
        EXPECT_EQ(literal(h), "127.0.0.1") << h;
    }
    EXPECT_EQ(literal("0"), "0.0.0.0");
    EXPECT_EQ(literal("0x"), "<none>");  // glibc refuses a bare 0x
    EXPECT_EQ(literal("10.1"), "10.0.0.1");
    EXPECT_EQ(literal("192.168.1"), "192.168.0.1");
    EXPECT_EQ(literal("3232235777"), "192.168.1.1");
    EXPECT_EQ(literal("0xa9fea9fe"), "169.254.169.254");
    EXPECT_EQ(literal("169.254.43518"), "169.254.169.254");
}

TEST(parse_ip_literal, agrees_with_glibc_inet_aton) {
    const std::vector<std::string> samples = {
        "127.0.0.1",
        "127.1",
        "127.0.1",
        "2130706433",
        "017700000001",
        "0x7f000001",
        "0x7f.1",
        "0177.0.0.1",
        "1.2.3.4",
        "255.255.255.255",
        "256.1.1.1",
        "1.2.3.256",
        "1.2.65536",
        "1.16777216",
        "4294967295",
        "4294967296",
        "08.1.1.1",
        "0x.1",
        "1..1",
        "1.2.3.4.5",
        ".1.2.3",
        "0xg.1",
        "00.00.00.00",
        "1.2.3.0x100",
        "0x100.1",
        "0x",
        "0X",
        "1.0x",
        "00x1",
        "01777777777",
        "037777777777",
        "040000000000",
        "1.2.3",
        "1e3",
        "localhost",
        "a.b.c.d",
        ""};
    for (const auto& s : samples) {
        in_addr a{};
        const bool glibc = inet_aton(s.c_str(), &a) != 0;
        const auto ours = parse_ip_literal(s);
        ASSERT_EQ(ours.has_value(), glibc) << "'" << s << "'";
        if (glibc) {
            char text[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &a, text, sizeof text);
            EXPECT_EQ(ours->to_string(), text) << s;
        }
    }
}

TEST(parse_ip_literal, ipv6_with_and_without_brackets) {
    EXPECT_EQ(literal("[::1]"), "::1");
    EXPECT_EQ(literal("::1"), "::1");
    EXPECT_EQ(literal("[::ffff:127.0.0.1]"), "::ffff:127.0.0.1");
    EXPECT_EQ(literal("[::ffff:7f00:1]"), "::ffff:127.0.0.1");
    EXPECT_EQ(literal("[0:0:0:0:0:0:0:1]"), "::1");
    EXPECT_EQ(literal("[::1"), "<none>");
    EXPECT_EQ(literal("[zz::1]"), "<none>");
    EXPECT_EQ(literal("example.com"), "<none>");
    EXPECT_EQ(literal("localhost"), "<none>");
}

TEST(is_malformed_numeric_host, numeric_tails_that_are_not_addresses) {
    for (const char* h :
         {"1.2.3.4.5", "0x7g.1", "256.1.1.1", "1.2.3.08", "foo.123", "example.0x10", "1.2.3.4.5."}) {
        EXPECT_TRUE(is_malformed_numeric_host(h)) << h;
    }
    for (const char* h :
         {"127.0.0.1",
          "2130706433",
          "0x7f.1",
          "example.com",
          "api.openai.com",
          "a1.b2",
          "[::1]",
          "localhost.",
          "host-1"}) {
        EXPECT_FALSE(is_malformed_numeric_host(h)) << h;
    }
}

TEST(classify_host_name, localhost_and_metadata_names) {
    EXPECT_EQ(classify_host_name("localhost"), priv);
    EXPECT_EQ(classify_host_name("LOCALHOST"), priv);
    EXPECT_EQ(classify_host_name("localhost."), priv);
    EXPECT_EQ(classify_host_name("api.localhost"), priv);
    EXPECT_EQ(classify_host_name("metadata.google.internal"), never);
    EXPECT_EQ(classify_host_name("Metadata.Google.Internal."), never);
    EXPECT_EQ(classify_host_name("metadata.amazonaws.com"), never);
    EXPECT_EQ(classify_host_name("api.openai.com"), pub);
    EXPECT_EQ(classify_host_name("notlocalhost"), pub);
    EXPECT_EQ(classify_host_name("localhost.example.com"), pub);
}

// ---- decisions and messages -----------------------------------------------------------------------

TEST(check_address, private_refused_unless_enabled) {
    guard_policy off;
    auto r = check("127.0.0.1", "127.0.0.1", off);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, registry::errc::illegal_argument);
    EXPECT_EQ(r.error().reason, "Remote inference host name has private ip address: 127.0.0.1");

    guard_policy on;
    on.private_ip_enabled = true;
    EXPECT_TRUE(check("127.0.0.1", "127.0.0.1", on));
    EXPECT_TRUE(check("ollama", "10.0.0.5", on));
    EXPECT_TRUE(check("ollama", "fd12::5", on));
    EXPECT_TRUE(check("api.openai.com", "104.18.6.192", off));
}

TEST(check_address, always_blocked_even_when_enabled) {
    guard_policy on;
    on.private_ip_enabled = true;
    for (const char* a :
         {"169.254.169.254",
          "0.0.0.0",
          "::",
          "fe80::1",
          "224.0.0.1",
          "100.100.100.200",
          "::ffff:169.254.169.254"}) {
        auto r = check("evil.example", a, on);
        ASSERT_FALSE(r) << a;
        EXPECT_EQ(r.error().reason, "Remote inference host name has private ip address: evil.example");
    }
}

TEST(check_address, restricted_patterns_and_private_endpoint_allowlist) {
    guard_policy p;
    p.private_ip_enabled = true;
    p.is_restricted_ip = [](std::string_view ip) {
        return ip.starts_with("10.9.");
    };
    auto r = check("internal", "10.9.0.1", p);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, "Remote inference host name has restricted ip address: internal");
    EXPECT_TRUE(check("internal", "10.8.0.1", p));
    // The IPv4-mapped spelling reaches the same host: a pattern for a.b.c.d stops ::ffff:a.b.c.d too.
    for (const char* mapped : {"::ffff:10.9.0.1", "::ffff:a09:1"}) {
        auto m = check("internal", mapped, p);
        ASSERT_FALSE(m) << mapped;
        EXPECT_EQ(m.error().reason, "Remote inference host name has restricted ip address: internal");
    }
    EXPECT_TRUE(check("internal", "::ffff:10.8.0.1", p));

    // IPv6 patterns in ml-commons' form: Java prints every group, without leading zeros or `::`.
    guard_policy six;
    six.private_ip_enabled = true;
    six.is_restricted_ip = [](std::string_view ip) {
        return ip == "0:0:0:0:0:0:0:1" || ip == "fd00:0:0:0:0:0:ab:2" || ip == "fe80::5";
    };
    for (const char* a : {"::1", "0:0:0:0:0:0:0:1", "fd00::ab:2", "FD00:0000::00ab:0002", "fe80::5"}) {
        auto m = check("v6", a, six);
        ASSERT_FALSE(m) << a;
        EXPECT_EQ(m.error().reason, "Remote inference host name has restricted ip address: v6");
    }
    EXPECT_TRUE(check("v6", "fd00::ab:3", six));
    EXPECT_TRUE(check("v6", "2606:4700::1111", six));

    p.private_endpoint_trusted = [](std::string_view url) {
        return url.starts_with("https://ollama/");
    };
    EXPECT_TRUE(check("ollama", "10.8.0.1", p));
    auto denied = check("other", "10.8.0.1", p);
    ASSERT_FALSE(denied);
    EXPECT_EQ(
        denied.error().reason, "Connector URL is not matching the trusted connector private endpoint regex"
    );
    EXPECT_TRUE(check("api.openai.com", "104.18.6.192", p));  // the allowlist only concerns private addresses
}

TEST(check_address, own_listener_is_refused) {
    const std::vector<ip::tcp::endpoint> self{
        {ip::make_address("0.0.0.0"), 9200}, {ip::make_address("10.0.0.7"), 8080}};
    guard_policy p;
    p.private_ip_enabled = true;
    p.self_endpoints = self;
    EXPECT_FALSE(check("localhost", "127.0.0.1", p, 9200));
    EXPECT_TRUE(check("localhost", "127.0.0.1", p, 11434));
    EXPECT_FALSE(check("me", "10.0.0.7", p, 8080));
    EXPECT_TRUE(check("me", "10.0.0.7", p, 8081));
}

TEST(check_address, own_listener_in_every_spelling) {
    const std::vector<ip::tcp::endpoint> any4{{ip::make_address("0.0.0.0"), 9200}};
    const std::vector<ip::tcp::endpoint> any6{{ip::make_address("::"), 9200}};
    const std::vector<ip::tcp::endpoint> lo{{ip::make_address("127.0.0.1"), 9200}};
    for (const auto* self : {&any4, &any6, &lo}) {
        guard_policy p;
        p.private_ip_enabled = true;
        p.self_endpoints = *self;
        for (const char* a : {"127.0.0.1", "::ffff:127.0.0.1", "::ffff:7f00:1"}) {
            EXPECT_FALSE(check("me", a, p, 9200)) << a;
            EXPECT_TRUE(check("me", a, p, 9201)) << a;
        }
    }
    guard_policy p;
    p.private_ip_enabled = true;
    p.self_endpoints = any4;
    EXPECT_FALSE(check("me", "::1", p, 9200));  // :: and 0.0.0.0 listeners take every loopback address
}

TEST(check_connected, a_wildcard_listener_is_reached_through_any_local_address) {
    const std::vector<ip::tcp::endpoint> any4{{ip::make_address("0.0.0.0"), 9200}};
    guard_policy p;
    p.private_ip_enabled = true;
    p.self_endpoints = any4;
    const ip::tcp::endpoint remote{ip::make_address("10.0.0.7"), 9200};
    auto r = check_connected(
        "me.internal", "http://me.internal:9200/", remote, {ip::make_address("10.0.0.7"), 40000}, p
    );
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, "Remote inference host name has private ip address: me.internal");
    // Another host on the same port is not us.
    EXPECT_TRUE(check_connected("llm", "http://llm:9200/", remote, {ip::make_address("10.0.0.8"), 40000}, p));
    // And the ordinary checks still apply after connect.
    p.private_ip_enabled = false;
    EXPECT_FALSE(check_connected("llm", "http://llm:9200/", remote, {ip::make_address("10.0.0.8"), 40000}, p)
    );
}

TEST(check_host_name, names_before_dns) {
    guard_policy off;
    auto r = check_host_name("localhost", off);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, "Remote inference host name has private ip address: localhost");
    EXPECT_TRUE(check_host_name("api.openai.com", off));
    guard_policy on;
    on.private_ip_enabled = true;
    EXPECT_TRUE(check_host_name("localhost", on));
    EXPECT_FALSE(check_host_name("metadata.google.internal", on));
}

// ---- URL parsing ------------------------------------------------------------------------------------

TEST(parse_url, components) {
    auto u = parse_url("https://API.OpenAI.com/v1/chat/completions?x=1#frag");
    ASSERT_TRUE(u);
    EXPECT_TRUE(u->tls);
    EXPECT_EQ(u->host, "API.OpenAI.com");
    EXPECT_EQ(u->canonical, "api.openai.com");
    EXPECT_EQ(u->port, 443);
    EXPECT_EQ(u->target, "/v1/chat/completions?x=1");
    EXPECT_EQ(u->host_header, "API.OpenAI.com");
    EXPECT_FALSE(u->literal);

    auto v = parse_url("http://127.0.0.1:11434");
    ASSERT_TRUE(v);
    EXPECT_FALSE(v->tls);
    EXPECT_EQ(v->port, 11434);
    EXPECT_EQ(v->target, "/");
    EXPECT_EQ(v->host_header, "127.0.0.1:11434");
    ASSERT_TRUE(v->literal);

    auto w = parse_url("http://[::1]:8080/x");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->host, "[::1]");
    EXPECT_EQ(w->canonical, "::1");
    EXPECT_EQ(w->host_header, "[::1]:8080");
}

TEST(parse_url, odd_spellings_become_literals) {
    for (const char* url :
         {"http://2130706433/",
          "http://0177.0.0.1/",
          "http://0x7f.1/",
          "http://127.1/",
          "http://%31%32%37.0.0.1/",
          "http://0x7f.0.0.1./"}) {
        auto u = parse_url(url);
        ASSERT_TRUE(u) << url;
        ASSERT_TRUE(u->literal) << url;
        EXPECT_EQ(u->canonical, "127.0.0.1") << url;
    }
}

TEST(parse_url, errors_and_messages) {
    auto scheme = parse_url("ftp://example.com/");
    ASSERT_FALSE(scheme);
    EXPECT_EQ(scheme.error().reason, "Protocol is not http or https: ftp");
    auto port = parse_url("http://example.com:99999/");
    ASSERT_FALSE(port);
    EXPECT_EQ(port.error().reason, "Port out of range: 99999");
    auto zero = parse_url("http://example.com:0/");
    ASSERT_FALSE(zero);
    EXPECT_EQ(zero.error().reason, "Port out of range: 0");
    for (const char* bad :
         {"not a url",
          "http://",
          "http:///path",
          "http://user:pw@example.com/",
          "/relative",
          "http://1.2.3.4.5/",
          "http://exa mple.com/",
          "http://ex%00ample.com/",
          "http://[v7.x]/",
          "http://caf%C3%A9.example/",
          "http://127.0.0.1.nip.io/x",
          "http://8.8.8.8.evil.com/",
          "http://127.0.0.1./"}) {
        auto r = parse_url(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, registry::errc::illegal_argument);
        EXPECT_TRUE(r.error().reason.starts_with(invalid_uri_message)) << bad << ": " << r.error().reason;
    }
}

}  // namespace
}  // namespace modelrelay::server::upstream
