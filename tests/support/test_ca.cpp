// File: test_ca.cpp
// Key and certificate generation for the test CA (EC P-256, SHA-256, X.509 v3 with the extensions
// OpenSSL 3 verification expects: basicConstraints, keyUsage, SKI/AKI, subjectAltName).
#include "tests/support/test_ca.hpp"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace modelrelay::test {

namespace {

struct pkey_deleter {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct x509_deleter {
    void operator()(X509* p) const { X509_free(p); }
};
struct bio_deleter {
    void operator()(BIO* p) const { BIO_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;
using x509_ptr = std::unique_ptr<X509, x509_deleter>;
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;

void check(bool ok, const char* what) {
    if (!ok) {
        throw std::runtime_error(std::string("test_ca: ") + what + " failed");
    }
}

pkey_ptr new_key() {
    pkey_ptr key(EVP_EC_gen("P-256"));
    check(key != nullptr, "EVP_EC_gen");
    return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    check(ext != nullptr, "X509V3_EXT_conf_nid");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

// `subject` empty: O=modelrelay tests, CN=<common_name>.
x509_ptr new_cert(
    EVP_PKEY* subject_key,
    const std::string& common_name,
    X509* issuer,
    EVP_PKEY* issuer_key,
    const std::vector<subject_part>& subject = {}
) {
    x509_ptr cert(X509_new());
    check(cert != nullptr, "X509_new");
    X509_set_version(cert.get(), 2);
    unsigned char serial[16];
    RAND_bytes(serial, sizeof serial);
    serial[0] &= 0x7F;
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
    X509_set_pubkey(cert.get(), subject_key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    if (subject.empty()) {
        X509_NAME_add_entry_by_txt(
            name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("modelrelay tests"), -1, -1, 0
        );
        X509_NAME_add_entry_by_txt(
            name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0
        );
    }
    for (const auto& part : subject) {
        check(
            X509_NAME_add_entry_by_txt(
                name,
                part.type.c_str(),
                MBSTRING_UTF8,
                reinterpret_cast<const unsigned char*>(part.value.c_str()),
                -1,
                -1,
                part.joins_previous ? -1 : 0
            ) == 1,
            "X509_NAME_add_entry_by_txt"
        );
    }
    X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
    X509* effective_issuer = issuer ? issuer : cert.get();
    add_ext(cert.get(), effective_issuer, NID_subject_key_identifier, "hash");
    add_ext(cert.get(), effective_issuer, NID_authority_key_identifier, "keyid:always");
    if (!issuer) {
        add_ext(cert.get(), effective_issuer, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert.get(), effective_issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    }
    (void)issuer_key;
    return cert;
}

void sign(X509* cert, EVP_PKEY* key) {
    check(X509_sign(cert, key, EVP_sha256()) > 0, "X509_sign");
}

std::string to_pem(X509* cert) {
    bio_ptr bio(BIO_new(BIO_s_mem()));
    check(PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

std::string to_pem(EVP_PKEY* key) {
    bio_ptr bio(BIO_new(BIO_s_mem()));
    check(
        PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey"
    );
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

void write_file(const std::string& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    check(static_cast<bool>(out), "writing a PEM file");
}

std::atomic<int> issued_count{0};

}  // namespace

const test_ca& test_ca::instance() {
    static const test_ca ca;
    return ca;
}

std::unique_ptr<test_ca> test_ca::create_separate() {
    return std::unique_ptr<test_ca>(new test_ca());
}

test_ca::test_ca() {
    std::string pattern = (std::filesystem::temp_directory_path() / "modelrelay-test-ca-XXXXXX").string();
    check(mkdtemp(pattern.data()) != nullptr, "mkdtemp");
    dir_ = pattern;

    pkey_ptr key = new_key();
    x509_ptr cert = new_cert(key.get(), "modelrelay test CA", nullptr, nullptr);
    sign(cert.get(), key.get());
    ca_pem_ = to_pem(cert.get());
    ca_file_ = dir_ + "/ca.pem";
    write_file(ca_file_, ca_pem_);
    ca_key_ = key.release();
    ca_cert_ = cert.release();

    localhost_ = issue({"localhost"}, {"127.0.0.1", "::1"});
}

test_ca::~test_ca() {
    EVP_PKEY_free(static_cast<EVP_PKEY*>(ca_key_));
    X509_free(static_cast<X509*>(ca_cert_));
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

issued_cert test_ca::issue(
    const std::vector<std::string>& dns_names, const std::vector<std::string>& ip_addresses
) const {
    auto* ca_cert = static_cast<X509*>(ca_cert_);
    auto* ca_key = static_cast<EVP_PKEY*>(ca_key_);
    pkey_ptr key = new_key();
    const std::string cn =
        dns_names.empty() ? (ip_addresses.empty() ? "server" : ip_addresses.front()) : dns_names.front();
    x509_ptr cert = new_cert(key.get(), cn, ca_cert, ca_key);
    add_ext(cert.get(), ca_cert, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert.get(), ca_cert, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    add_ext(cert.get(), ca_cert, NID_ext_key_usage, "serverAuth");
    std::string san;
    for (const auto& d : dns_names) {
        san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
    }
    for (const auto& ip : ip_addresses) {
        san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
    }
    if (!san.empty()) {
        add_ext(cert.get(), ca_cert, NID_subject_alt_name, san);
    }
    sign(cert.get(), ca_key);

    return finish(cert.get(), key.get(), "server");
}

issued_cert test_ca::issue_client(const std::string& common_name) const {
    auto* ca_cert = static_cast<X509*>(ca_cert_);
    auto* ca_key = static_cast<EVP_PKEY*>(ca_key_);
    pkey_ptr key = new_key();
    x509_ptr cert = new_cert(key.get(), common_name, ca_cert, ca_key);
    add_ext(cert.get(), ca_cert, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert.get(), ca_cert, NID_key_usage, "critical,digitalSignature");
    add_ext(cert.get(), ca_cert, NID_ext_key_usage, "clientAuth");
    sign(cert.get(), ca_key);
    return finish(cert.get(), key.get(), "client");
}

issued_cert test_ca::finish(void* cert, void* key, const char* kind) const {
    issued_cert out;
    out.cert_pem = to_pem(static_cast<X509*>(cert)) + ca_pem_;
    out.key_pem = to_pem(static_cast<EVP_PKEY*>(key));
    const int n = ++issued_count;
    out.cert_file = dir_ + "/" + kind + "-" + std::to_string(n) + ".pem";
    out.key_file = dir_ + "/" + kind + "-" + std::to_string(n) + ".key";
    write_file(out.cert_file, out.cert_pem);
    write_file(out.key_file, out.key_pem);
    return out;
}

issued_cert test_ca::issue_client(
    const std::vector<subject_part>& subject, const std::vector<std::string>& emails
) const {
    auto* ca_cert = static_cast<X509*>(ca_cert_);
    auto* ca_key = static_cast<EVP_PKEY*>(ca_key_);
    pkey_ptr key = new_key();
    x509_ptr cert = new_cert(
        key.get(),
        "",
        ca_cert,
        ca_key,
        subject.empty() ? std::vector<subject_part>{{"CN", "client"}} : subject
    );
    add_ext(cert.get(), ca_cert, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert.get(), ca_cert, NID_key_usage, "critical,digitalSignature");
    add_ext(cert.get(), ca_cert, NID_ext_key_usage, "clientAuth");
    std::string san;
    for (const auto& e : emails) {
        san += (san.empty() ? "" : ",") + std::string("email:") + e;
    }
    if (!san.empty()) {
        add_ext(cert.get(), ca_cert, NID_subject_alt_name, san);
    }
    sign(cert.get(), ca_key);

    issued_cert out;
    out.cert_pem = to_pem(cert.get()) + ca_pem_;
    out.key_pem = to_pem(key.get());
    const int n = ++issued_count;
    out.cert_file = dir_ + "/client-" + std::to_string(n) + ".pem";
    out.key_file = dir_ + "/client-" + std::to_string(n) + ".key";
    write_file(out.cert_file, out.cert_pem);
    write_file(out.key_file, out.key_pem);
    return out;
}

}  // namespace modelrelay::test
