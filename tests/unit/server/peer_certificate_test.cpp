// File: peer_certificate_test.cpp
// The RFC 2253 subject and subjectAltNames read from real certificates issued by the test CA (escaped
// commas, multi-valued RDNs, UTF-8, no CN), and that the DN text OpenSSL prints maps as §2.5 says.
#include "server/peer_certificate.hpp"

#include <memory>

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "server/cert_identity.hpp"
#include "tests/support/test_ca.hpp"

namespace modelrelay::server {
namespace {

using test::subject_part;

struct x509_deleter {
    void operator()(X509* p) const { X509_free(p); }
};
using x509_ptr = std::unique_ptr<X509, x509_deleter>;

// The leaf: the first certificate of the issued chain.
x509_ptr leaf_of(const test::issued_cert& c) {
    BIO* bio = BIO_new_mem_buf(c.cert_pem.data(), static_cast<int>(c.cert_pem.size()));
    x509_ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
    BIO_free(bio);
    return cert;
}

std::string subject_of(
    const std::vector<subject_part>& subject, const std::vector<std::string>& emails = {}
) {
    const auto issued = test::test_ca::instance().issue_client(subject, emails);
    auto cert = leaf_of(issued);
    EXPECT_TRUE(cert);
    return rfc2253_name(X509_get_subject_name(cert.get()));
}

TEST(peer_certificate, rfc2253_is_most_specific_first) {
    EXPECT_EQ(
        subject_of({{"C", "de"}, {"L", "test"}, {"O", "client"}, {"OU", "client"}, {"CN", "kirk"}}),
        "CN=kirk,OU=client,O=client,L=test,C=de"
    );
}

TEST(peer_certificate, special_characters_are_escaped_and_map_back) {
    const auto dn = subject_of({{"O", "Acme, Inc."}, {"OU", "R+D"}, {"CN", "Doe, John"}});
    EXPECT_EQ(dn, R"(CN=Doe\, John,OU=R\+D,O=Acme\, Inc.)");
    cert_mapping m;
    const auto id = m.map(dn, {});
    ASSERT_TRUE(id);
    EXPECT_EQ(id->username, "Doe, John");
    EXPECT_EQ(id->backend_roles, std::vector<std::string>{"R+D"});
}

TEST(peer_certificate, multi_valued_rdn) {
    const auto dn = subject_of({{"O", "x"}, {"CN", "alice"}, {"UID", "a1", true}});
    EXPECT_NE(dn.find('+'), std::string::npos) << dn;
    const auto rdns = parse_dn(dn);
    ASSERT_TRUE(rdns) << dn;
    ASSERT_EQ(rdns->size(), 2U) << dn;
    EXPECT_EQ((*rdns)[0].size(), 2U) << dn;
    cert_mapping m;
    EXPECT_EQ(m.map(dn, {})->username, "alice");
}

TEST(peer_certificate, utf8_is_escaped_and_decoded_by_the_mapping) {
    const auto dn = subject_of({{"O", "x"}, {"CN", "J\xC3\xBCrgen"}});
    EXPECT_EQ(dn, R"(CN=J\C3\BCrgen,O=x)");
    cert_mapping m;
    EXPECT_EQ(m.map(dn, {})->username, "J\xC3\xBCrgen");
}

TEST(peer_certificate, no_cn_maps_to_the_dn) {
    const auto dn = subject_of({{"O", "Acme"}, {"OU", "svc"}});
    EXPECT_EQ(dn, "OU=svc,O=Acme");
    cert_mapping m;
    EXPECT_EQ(m.map(dn, {})->username, dn);
}

TEST(peer_certificate, email_subject_alt_names) {
    const auto issued = test::test_ca::instance().issue_client(
        {{"CN", "alice"}}, {"alice@example.com", "a.smith@corp.example"}
    );
    auto cert = leaf_of(issued);
    ASSERT_TRUE(cert);
    const auto sans = subject_alt_names_of(cert.get());
    ASSERT_EQ(sans.size(), 2U);
    EXPECT_EQ(sans[0].type, san_type::email);
    EXPECT_EQ(sans[0].value, "alice@example.com");
    EXPECT_EQ(sans[1].value, "a.smith@corp.example");
    cert_mapping m;
    m.username_attribute = parse_cert_attribute("san:EMAIL:*@corp.example").value();
    EXPECT_EQ(m.map(rfc2253_name(X509_get_subject_name(cert.get())), sans)->username, "a.smith@corp.example");
}

TEST(peer_certificate, server_certificate_dns_and_ip_names) {
    auto cert = leaf_of(test::test_ca::instance().localhost());
    ASSERT_TRUE(cert);
    const auto sans = subject_alt_names_of(cert.get());
    ASSERT_EQ(sans.size(), 3U);
    EXPECT_EQ(sans[0].type, san_type::dns);
    EXPECT_EQ(sans[0].value, "localhost");
    EXPECT_EQ(sans[1].type, san_type::ip);
    EXPECT_EQ(sans[1].value, "127.0.0.1");
    EXPECT_EQ(sans[2].value, "::1");
}

}  // namespace
}  // namespace modelrelay::server
