// File: connector_tls_test.cpp
// client_config.tls at connector create / update: PEM and base64 input, every refusal with its message,
// the private key leaving client_config for the credential store, and the update rules that keep, replace
// or drop the stored key. Certificates come from the run-time test CA.
#include "registry/connector_tls.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "registry/connector.hpp"
#include "registry/crypto.hpp"
#include "tests/support/test_ca.hpp"

namespace modelrelay::registry {
namespace {

namespace json = boost::json;
using test::issued_cert;
using test::test_ca;

const issued_cert& client_cert() {
    static const issued_cert c = test_ca::instance().issue_client("connector-a");
    return c;
}

const issued_cert& other_client_cert() {
    static const issued_cert c = test_ca::instance().issue_client("connector-b");
    return c;
}

std::string b64(std::string_view s) {
    return base64_encode(s);
}

std::string reason_of(const json::object& tls) {
    auto r = parse_tls_config(tls);
    return r ? std::string("<ok>") : r.error().reason;
}

TEST(parse_tls_config, defaults_to_full_verification) {
    auto r = parse_tls_config(json::object{});
    ASSERT_TRUE(r);
    EXPECT_EQ(json::serialize(r->stored), R"({"verification_mode":"full"})");
    EXPECT_FALSE(r->private_key);
    EXPECT_FALSE(r->has_certificate);
}

TEST(parse_tls_config, base64_and_raw_pem_are_both_accepted_and_the_key_leaves_the_stored_object) {
    for (bool base64 : {true, false}) {
        const auto& c = client_cert();
        json::object tls{
            {"verification_mode", "certificate"},
            {"ca_data", base64 ? b64(test_ca::instance().ca_pem()) : test_ca::instance().ca_pem()},
            {"certificate_data", base64 ? b64(c.cert_pem) : c.cert_pem},
            {"private_key_data", base64 ? b64(c.key_pem) : c.key_pem}};
        auto r = parse_tls_config(tls);
        ASSERT_TRUE(r) << r.error().reason;
        EXPECT_TRUE(r->has_certificate);
        ASSERT_TRUE(r->private_key);
        EXPECT_EQ(r->private_key->value, c.key_pem);  // always PEM text, whatever the input encoding
        EXPECT_FALSE(r->stored.contains("private_key_data"));
        EXPECT_EQ(r->stored.at("verification_mode").as_string(), "certificate");
        EXPECT_EQ(r->stored.at("certificate_data"), tls.at("certificate_data"));  // as given
        EXPECT_EQ(r->stored.at("ca_data"), tls.at("ca_data"));
    }
}

TEST(parse_tls_config, wrapped_base64_is_accepted) {
    std::string wrapped = b64(client_cert().cert_pem);
    for (std::size_t i = 64; i < wrapped.size(); i += 65) {
        wrapped.insert(i, "\n");
    }
    json::object tls{{"certificate_data", wrapped}, {"private_key_data", b64(client_cert().key_pem)}};
    EXPECT_EQ(reason_of(tls), "<ok>");
}

TEST(parse_tls_config, refusals_name_the_field_and_never_the_value) {
    const auto& c = client_cert();
    EXPECT_EQ(reason_of({{"ca_pem", "x"}}), "[client_config/tls] unknown field [ca_pem]");
    EXPECT_EQ(
        reason_of({{"verification_mode", "strict"}}),
        "[client_config/tls/verification_mode] must be one of [full, certificate, none]"
    );
    EXPECT_EQ(reason_of({{"verification_mode", 1}}), "[client_config/tls/verification_mode] expected string");
    EXPECT_EQ(
        reason_of({{"ca_data", "not pem at all"}}),
        "[client_config/tls/ca_data] is not PEM or base64-encoded PEM"
    );
    EXPECT_EQ(
        reason_of({{"ca_data", b64("just some bytes")}}),
        "[client_config/tls/ca_data] is not PEM or base64-encoded PEM"
    );
    EXPECT_TRUE(reason_of({{"ca_data", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}}
    ).starts_with("[client_config/tls/ca_data] contains no PEM certificate: "));
    EXPECT_TRUE(reason_of({{"certificate_data", c.key_pem}, {"private_key_data", c.key_pem}}
    ).starts_with("[client_config/tls/certificate_data] contains no PEM certificate: "));
    EXPECT_EQ(
        reason_of({{"private_key_data", c.key_pem}}),
        "[client_config/tls] private_key_data requires certificate_data"
    );
    const std::string secret_garbage =
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXNlbnRpbmVs\n-----END PRIVATE KEY-----\n";
    const auto bad_key = reason_of({{"certificate_data", c.cert_pem}, {"private_key_data", secret_garbage}});
    EXPECT_EQ(bad_key, "[client_config/tls/private_key_data] is not an unencrypted PEM private key");
    EXPECT_EQ(bad_key.find("c2VjcmV0"), std::string::npos);
    EXPECT_EQ(
        reason_of({{"certificate_data", c.cert_pem}, {"private_key_data", other_client_cert().key_pem}}),
        "[client_config/tls/private_key_data] does not match the certificate in certificate_data"
    );
}

TEST(parse_tls_config, an_encrypted_key_is_refused_without_prompting) {
    // The same key, PEM-encrypted with a pass phrase: OpenSSL's default callback would read a terminal.
    BIO* in = BIO_new_mem_buf(client_cert().key_pem.data(), static_cast<int>(client_cert().key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
    BIO_free(in);
    ASSERT_NE(key, nullptr);
    BIO* out = BIO_new(BIO_s_mem());
    char pass[] = "pass phrase";
    ASSERT_EQ(
        PEM_write_bio_PKCS8PrivateKey(out, key, EVP_aes_256_cbc(), pass, sizeof pass - 1, nullptr, nullptr), 1
    );
    char* data = nullptr;
    const long n = BIO_get_mem_data(out, &data);
    const std::string encrypted(data, static_cast<std::size_t>(n));
    BIO_free(out);
    EVP_PKEY_free(key);
    ASSERT_NE(encrypted.find("ENCRYPTED PRIVATE KEY"), std::string::npos);
    EXPECT_EQ(
        reason_of({{"certificate_data", client_cert().cert_pem}, {"private_key_data", encrypted}}),
        "[client_config/tls/private_key_data] is not an unencrypted PEM private key"
    );
}

TEST(same_client_certificate, compares_the_leaf_whatever_the_encoding) {
    json::object a{{"certificate_data", client_cert().cert_pem}};
    json::object b{{"certificate_data", b64(client_cert().cert_pem)}};
    json::object c{{"certificate_data", other_client_cert().cert_pem}};
    EXPECT_TRUE(same_client_certificate(a, b));
    EXPECT_FALSE(same_client_certificate(a, c));
    EXPECT_FALSE(same_client_certificate(a, json::object{}));
}

TEST(tls_material_of, decodes_the_stored_object) {
    json::object stored{
        {"verification_mode", "none"},
        {"ca_data", b64(test_ca::instance().ca_pem())},
        {"certificate_data", b64(client_cert().cert_pem)}};
    auto m = tls_material_of(stored, client_cert().key_pem);
    ASSERT_TRUE(m) << m.error().reason;
    EXPECT_EQ(m->verification, tls_verification::none);
    EXPECT_EQ(m->ca_pem, test_ca::instance().ca_pem());
    EXPECT_EQ(m->certificate_pem, client_cert().cert_pem);
    EXPECT_EQ(m->private_key_pem, client_cert().key_pem);
    EXPECT_FALSE(tls_material_of(stored, ""));  // a certificate without its key is a broken document
    auto plain = tls_material_of(json::object{{"verification_mode", "certificate"}}, "");
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->verification, tls_verification::certificate);
    EXPECT_TRUE(plain->certificate_pem.empty());
}

// ---- connector create / update ------------------------------------------------------------------------

json::object connector_with(json::object client_config, json::object credential = {{"key", "sk-1"}}) {
    return json::object{
        {"name", "c"},
        {"version", "1"},
        {"protocol", "http"},
        {"credential", std::move(credential)},
        {"actions",
         json::array{json::object{
             {"action_type", "predict"},
             {"method", "POST"},
             {"url", "https://api.openai.com/v1/chat/completions"}}}},
        {"client_config", std::move(client_config)}};
}

json::object full_tls() {
    return json::object{
        {"tls",
         json::object{
             {"certificate_data", b64(client_cert().cert_pem)},
             {"private_key_data", b64(client_cert().key_pem)}}}};
}

TEST(connector_tls, create_moves_the_key_out_of_the_document) {
    const cluster_settings settings;
    auto d = prepare_connector_create(connector_with(full_tls()), connector_rules{settings});
    ASSERT_TRUE(d) << d.error().reason;
    EXPECT_EQ(d->tls_key, tls_key_action::replace);
    EXPECT_EQ(d->tls_key_pem.value, client_cert().key_pem);
    const auto& tls = d->doc.at("client_config").at("tls").as_object();
    EXPECT_FALSE(tls.contains("private_key_data"));
    EXPECT_EQ(tls.at("verification_mode").as_string(), "full");
    EXPECT_EQ(json::serialize(d->doc).find(b64(client_cert().key_pem)), std::string::npos);
    // Defaults of the other client_config fields are still filled in.
    EXPECT_EQ(d->doc.at("client_config").at("max_connection").to_number<int>(), 30);
}

TEST(connector_tls, create_needs_certificate_and_key_together) {
    const cluster_settings settings;
    json::object cc{{"tls", json::object{{"certificate_data", client_cert().cert_pem}}}};
    auto d = prepare_connector_create(connector_with(cc), connector_rules{settings});
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().code, errc::illegal_argument);
    EXPECT_EQ(
        d.error().reason, "[client_config/tls] certificate_data and private_key_data must be given together"
    );
}

TEST(connector_tls, the_reserved_credential_name_is_refused) {
    const cluster_settings settings;
    auto d = prepare_connector_create(
        connector_with({}, json::object{{std::string(tls_key_credential), "x"}}), connector_rules{settings}
    );
    ASSERT_FALSE(d);
    EXPECT_EQ(
        d.error().reason,
        "Credential name [client_config.tls.private_key_data] is reserved for client_config.tls"
    );
}

// A stored connector as the service keeps it: tls without the key, the key among the credentials.
json::object stored_connector() {
    const cluster_settings settings;
    auto d = prepare_connector_create(connector_with(full_tls()), connector_rules{settings});
    json::object doc = d->doc;
    doc["credential"] =
        json::object{{"key", "<ciphertext>"}, {std::string(tls_key_credential), "<ciphertext>"}};
    return doc;
}

tls_key_action update_action(const json::object& body, std::string* reason = nullptr) {
    const cluster_settings settings;
    auto d = prepare_connector_update(stored_connector(), body, connector_rules{settings});
    if (!d) {
        if (reason != nullptr) {
            *reason = d.error().reason;
        }
        return static_cast<tls_key_action>(-1);
    }
    return d->tls_key;
}

TEST(connector_tls, update_keeps_replaces_or_drops_the_stored_key) {
    // No client_config: everything stays.
    EXPECT_EQ(update_action(json::object{{"description", "d"}}), tls_key_action::keep);
    // A new client_config without tls replaces the old one (ml-commons rule): the key goes with it.
    EXPECT_EQ(
        update_action(json::object{{"client_config", json::object{{"read_timeout", 5}}}}),
        tls_key_action::none
    );
    // The same certificate (any encoding) without a key keeps the stored key.
    json::object same{
        {"client_config",
         json::object{
             {"tls",
              json::object{
                  {"verification_mode", "certificate"}, {"certificate_data", client_cert().cert_pem}}}}}};
    EXPECT_EQ(update_action(same), tls_key_action::keep);
    // Another certificate needs its own key.
    json::object other{
        {"client_config",
         json::object{{"tls", json::object{{"certificate_data", other_client_cert().cert_pem}}}}}};
    std::string reason;
    EXPECT_EQ(update_action(other, &reason), static_cast<tls_key_action>(-1));
    EXPECT_EQ(
        reason,
        "[client_config/tls] certificate_data and private_key_data must be given together (the stored "
        "private key "
        "is kept only with the same certificate)"
    );
    json::object other_with_key{
        {"client_config",
         json::object{
             {"tls",
              json::object{
                  {"certificate_data", other_client_cert().cert_pem},
                  {"private_key_data", other_client_cert().key_pem}}}}}};
    EXPECT_EQ(update_action(other_with_key), tls_key_action::replace);
}

}  // namespace
}  // namespace modelrelay::registry
