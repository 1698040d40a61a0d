// File: cert_identity_test.cpp
// Certificate DN → user without sockets: DN parsing (escapes, quotes, multi-valued RDNs, malformed
// input), the clientcert username / roles rules of security.md §2.5, SAN mappings and admin-DN equality.
#include "server/cert_identity.hpp"

#include <gtest/gtest.h>

namespace modelrelay::server {
namespace {

using roles = std::vector<std::string>;

cert_mapping mapping(std::string_view username_attr = "cn", std::string_view roles_attr = "ou") {
    cert_mapping m;
    m.username_attribute = parse_cert_attribute(username_attr).value();
    m.roles_attribute = parse_cert_attribute(roles_attr).value();
    return m;
}

cert_identity must_map(
    const cert_mapping& m, std::string_view dn, const std::vector<subject_alt_name>& sans = {}
) {
    auto id = m.map(dn, sans);
    EXPECT_TRUE(id.has_value()) << dn;
    return id.value_or(cert_identity{});
}

TEST(cert_identity, demo_admin_dn_maps_to_cn_and_ou) {
    const auto id = must_map(mapping(), "CN=kirk,OU=client,O=client,L=test,C=de");
    EXPECT_EQ(id.username, "kirk");
    EXPECT_EQ(id.backend_roles, roles{"client"});
}

TEST(cert_identity, escaped_commas_stay_inside_values) {
    const std::string dn = R"(CN=Doe\, John,OU=eng,O=Acme\, Inc.,C=US)";
    const auto rdns = parse_dn(dn);
    ASSERT_TRUE(rdns);
    ASSERT_EQ(rdns->size(), 4U);
    EXPECT_EQ((*rdns)[0][0].value, "Doe, John");
    EXPECT_EQ((*rdns)[2][0].type, "O");
    EXPECT_EQ((*rdns)[2][0].value, "Acme, Inc.");
    const auto id = must_map(mapping(), dn);
    EXPECT_EQ(id.username, "Doe, John");
    EXPECT_EQ(id.backend_roles, roles{"eng"});
}

TEST(cert_identity, hex_escapes_and_quotes_are_decoded) {
    // OpenSSL's RFC 2253 printer escapes non-ASCII bytes as \XX: the username gets the UTF-8 back.
    EXPECT_EQ(must_map(mapping(), R"(CN=J\C3\BCrgen,O=x)").username, "J\xC3\xBCrgen");
    EXPECT_EQ(must_map(mapping(), R"(CN=a\2Cb\+c\;d\"e\\f,O=x)").username, R"(a,b+c;d"e\f)");
    EXPECT_EQ(must_map(mapping(), R"(CN="Doe, John; +x",O=x)").username, "Doe, John; +x");
}

TEST(cert_identity, spaces_around_separators_and_trailing_spaces) {
    const auto id = must_map(mapping(), "CN = kirk ,  OU=client  ; O=client");
    EXPECT_EQ(id.username, "kirk");
    EXPECT_EQ(id.backend_roles, roles{"client"});
    EXPECT_EQ(must_map(mapping(), R"(CN=kirk\ ,O=x)").username, "kirk ");
    EXPECT_EQ(must_map(mapping(), R"(CN=\ kirk,O=x)").username, " kirk");
}

TEST(cert_identity, multi_valued_rdns_are_searched_in_every_part) {
    auto rdns = parse_dn("CN=alice+UID=a1,OU=ops+OU=dev,OU=all,O=x");
    ASSERT_TRUE(rdns);
    ASSERT_EQ(rdns->size(), 4U);
    EXPECT_EQ((*rdns)[0].size(), 2U);
    EXPECT_EQ((*rdns)[0][1].type, "UID");
    auto id = must_map(mapping(), "CN=alice+UID=a1,OU=ops+OU=dev,OU=all,O=x");
    EXPECT_EQ(id.username, "alice");
    EXPECT_EQ(id.backend_roles, (roles{"ops", "dev", "all"}));
    EXPECT_EQ(must_map(mapping(), "UID=a1+CN=alice,O=x").username, "alice");
    EXPECT_EQ(must_map(mapping("uid"), "UID=a1+CN=alice,O=x").username, "a1");
}

TEST(cert_identity, no_cn_falls_back_to_the_whole_dn_verbatim) {
    const std::string dn = R"(OU=svc,O=Acme\, Inc.,C=US)";
    const auto id = must_map(mapping(), dn);
    EXPECT_EQ(id.username, dn);
    EXPECT_EQ(id.backend_roles, roles{"svc"});
}

TEST(cert_identity, first_cn_from_the_most_specific_rdn) {
    EXPECT_EQ(must_map(mapping(), "CN=leaf,CN=intermediate,O=x").username, "leaf");
    EXPECT_EQ(must_map(mapping(), "OU=a,CN=second,O=x,CN=last").username, "second");
    // An empty CN is not a name: the next one, else the DN.
    EXPECT_EQ(must_map(mapping(), "CN=,CN=real,O=x").username, "real");
    EXPECT_EQ(must_map(mapping(), "CN=,O=x").username, "CN=,O=x");
}

TEST(cert_identity, attribute_settings) {
    EXPECT_EQ(parse_cert_attribute("").value().from, cert_attribute::source::none);
    EXPECT_EQ(parse_cert_attribute("  ").value().from, cert_attribute::source::none);
    auto cn = parse_cert_attribute("dn:CN").value();
    EXPECT_EQ(cn.from, cert_attribute::source::dn);
    EXPECT_EQ(cn.name, "CN");
    EXPECT_EQ(parse_cert_attribute("uid").value().name, "uid");
    EXPECT_EQ(parse_cert_attribute("2.5.4.3").value().name, "2.5.4.3");
    auto email = parse_cert_attribute("san:EMAIL").value();
    EXPECT_EQ(email.from, cert_attribute::source::san);
    EXPECT_EQ(email.san, san_type::email);
    EXPECT_EQ(email.glob, "");
    auto globbed = parse_cert_attribute("SAN:rfc822Name:*@example.com").value();
    EXPECT_EQ(globbed.san, san_type::email);
    EXPECT_EQ(globbed.glob, "*@example.com");
    EXPECT_EQ(parse_cert_attribute("san:dNSName").value().san, san_type::dns);
    EXPECT_EQ(parse_cert_attribute("san:URI").value().san, san_type::uri);
    EXPECT_EQ(parse_cert_attribute("san:iPAddress").value().san, san_type::ip);

    auto bad_kind = parse_cert_attribute("san:otherName");
    ASSERT_FALSE(bad_kind);
    EXPECT_NE(bad_kind.error().reason.find("otherName"), std::string::npos);
    EXPECT_FALSE(parse_cert_attribute("dn:"));
    EXPECT_FALSE(parse_cert_attribute("c n"));
    EXPECT_FALSE(parse_cert_attribute("cn="));
}

TEST(cert_identity, whole_dn_username_and_no_roles) {
    const std::string dn = "CN=kirk,OU=client,O=client";
    const auto id = must_map(mapping("", ""), dn);
    EXPECT_EQ(id.username, dn);
    EXPECT_TRUE(id.backend_roles.empty());
}

TEST(cert_identity, subject_alt_names) {
    const std::vector<subject_alt_name> sans{
        {san_type::dns, "host.example.com"},
        {san_type::email, "Alice@Corp.example"},
        {san_type::email, "alice@example.com"},
        {san_type::uri, "spiffe://example/ns/a"},
        {san_type::ip, "10.0.0.7"},
    };
    const std::string dn = "CN=alice,OU=eng,O=x";
    EXPECT_EQ(must_map(mapping("san:EMAIL", ""), dn, sans).username, "Alice@Corp.example");
    EXPECT_EQ(must_map(mapping("san:EMAIL:*@example.COM", ""), dn, sans).username, "alice@example.com");
    EXPECT_EQ(must_map(mapping("san:EMAIL:*@nowhere.example", ""), dn, sans).username, dn);
    EXPECT_EQ(must_map(mapping("san:URI:spiffe://*/ns/*", ""), dn, sans).username, "spiffe://example/ns/a");
    EXPECT_EQ(must_map(mapping("cn", "san:IP"), dn, sans).backend_roles, roles{"10.0.0.7"});
    EXPECT_EQ(
        must_map(mapping("cn", "san:EMAIL"), dn, sans).backend_roles,
        (roles{"Alice@Corp.example", "alice@example.com"})
    );

    std::vector<subject_alt_name> many;
    for (int i = 0; i < 40; ++i) {
        many.push_back({san_type::dns, "h" + std::to_string(i) + ".example"});
    }
    EXPECT_EQ(must_map(mapping("cn", "san:DNS"), dn, many).backend_roles.size(), 16U);
}

TEST(cert_identity, empty_subject_maps_only_through_a_san) {
    EXPECT_FALSE(mapping().map("", {}));
    const std::vector<subject_alt_name> sans{{san_type::email, "svc@example.com"}};
    EXPECT_EQ(must_map(mapping("san:EMAIL"), "", sans).username, "svc@example.com");
}

TEST(cert_identity, malformed_dns_give_no_credentials) {
    for (const char* dn :
         {"CN=a,,O=b", "=x", "CN", "CN=\"open", "CN=a\\", "CN=a,", "C N=a", "CN=#12F", "CN=#"}) {
        EXPECT_FALSE(parse_dn(dn)) << dn;
        EXPECT_FALSE(mapping().map(dn, {})) << dn;
    }
    EXPECT_TRUE(parse_dn(""));
    EXPECT_TRUE(parse_dn("CN=#04036162"));
    EXPECT_EQ(must_map(mapping(), "CN=#04036162,O=x").username, "#04036162");
}

TEST(cert_identity, same_dn_is_ldapname_equality) {
    EXPECT_TRUE(
        same_dn("CN=kirk,OU=client,O=client,L=test,C=de", "cn=KIRK, ou=client, o=Client, l=test, c=DE")
    );
    EXPECT_TRUE(same_dn("CN=a+UID=b,O=x", "UID=b+CN=a,O=x"));
    EXPECT_TRUE(same_dn(R"(CN=Doe\, John,O=x)", R"(CN=Doe\2C John,O=x)"));
    EXPECT_TRUE(same_dn(R"(CN=Doe\, John,O=x)", R"(CN="Doe, John";O=x)"));
    EXPECT_FALSE(same_dn("CN=a,O=x", "O=x,CN=a"));
    EXPECT_FALSE(same_dn(R"(CN=a\,OU=b)", "CN=a,OU=b"));
    EXPECT_FALSE(same_dn("CN=a,O=x", "CN=a,O=x,C=de"));
    EXPECT_FALSE(same_dn("CN=a+UID=b,O=x", "CN=a,UID=b,O=x"));
    EXPECT_FALSE(same_dn("CN=a,,O=x", "CN=a,,O=x"));
}

TEST(cert_identity, admin_dns) {
    cert_mapping m;
    EXPECT_FALSE(m.is_admin_dn("CN=kirk,OU=client,O=client,L=test,C=de"));
    EXPECT_TRUE(m.add_admin_dn("CN=kirk,OU=client,O=client,L=test,C=de"));
    EXPECT_TRUE(m.add_admin_dn(R"(CN=ops\, night,O=x)"));
    EXPECT_FALSE(m.add_admin_dn("not a dn"));
    EXPECT_FALSE(m.add_admin_dn(""));
    EXPECT_EQ(m.admin_dns().size(), 2U);
    EXPECT_EQ(m.admin_dns()[1], R"(CN=ops\, night,O=x)");
    EXPECT_TRUE(m.is_admin_dn("CN=kirk,OU=client,O=client,L=test,C=de"));
    EXPECT_TRUE(m.is_admin_dn("cn=kirk, ou=client, o=client, l=test, c=de"));
    EXPECT_TRUE(m.is_admin_dn(R"(CN=ops\2C night,O=x)"));
    EXPECT_FALSE(m.is_admin_dn("CN=kirk,OU=client,O=client,L=test"));
    EXPECT_FALSE(m.is_admin_dn("CN=spock,OU=client,O=client,L=test,C=de"));
    EXPECT_FALSE(m.is_admin_dn(""));
    m.clear_admin_dns();
    EXPECT_FALSE(m.is_admin_dn("CN=kirk,OU=client,O=client,L=test,C=de"));
}

TEST(cert_identity, a_connection_without_a_verified_certificate_maps_to_nobody) {
    peer_info peer;
    peer.tls = true;
    peer.subject_dn = "CN=kirk,O=x";  // never set without client_cert; ignored all the same
    EXPECT_FALSE(mapping().map(peer));
    peer.client_cert = true;
    peer.chain_length = 1;
    EXPECT_EQ(mapping().map(peer)->username, "kirk");
}

}  // namespace
}  // namespace modelrelay::server
