// File: test_ca.hpp
// A throw-away certificate authority for TLS tests, generated at run time with the OpenSSL 3 APIs (no
// checked-in keys, no openssl CLI). The CA signs server certificates for localhost / 127.0.0.1 / ::1
// (used by fake_upstream and the HTTPS listener tests) or for any other names a test wants, e.g. to
// provoke a host-name mismatch, and client certificates with any subject DN (mTLS tests). A second,
// independent CA (construct one) issues certificates the process-wide CA's trust store does not know.
// PEM files are written to a private temporary directory that is removed when the CA is destroyed.
//
// @par Thread safety
// instance() is thread-safe (generated once); the object is immutable afterwards; issue() may be
// called concurrently.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace modelrelay::test {

// One attribute of a certificate subject, in X.509 order (most general first: C, O, OU, CN).
struct subject_part {
    std::string type;             // "CN", "OU", "UID", ...
    std::string value;            // UTF-8
    bool joins_previous = false;  // part of the previous RDN (a multi-valued RDN, `+` in RFC 2253)
};

struct issued_cert {
    std::string cert_pem;   // leaf certificate followed by the CA certificate (a full chain)
    std::string key_pem;    // PKCS#8 private key
    std::string cert_file;  // the same, as files in the CA directory
    std::string key_file;
};

class test_ca {
public:
    // The process-wide test CA.
    static const test_ca& instance();
    // Another, unrelated CA (nobody trusts it): for "untrusted server" and "wrong client CA" tests.
    static std::unique_ptr<test_ca> create_separate();

    const std::string& ca_pem() const { return ca_pem_; }
    const std::string& ca_file() const { return ca_file_; }  // PEM, for client_config::extra_ca_file
    const std::string& directory() const { return dir_; }

    // Server certificate for DNS:localhost, IP:127.0.0.1 and IP:::1.
    const issued_cert& localhost() const { return localhost_; }

    // A new server certificate for the given names, valid for one day.
    issued_cert issue(const std::vector<std::string>& dns_names, const std::vector<std::string>& ip_addresses)
        const;

    // A client certificate (extendedKeyUsage clientAuth) for `subject`, with e-mail subjectAltNames.
    // cert_pem / cert_file hold the leaf followed by the CA certificate.
    issued_cert issue_client(
        const std::vector<subject_part>& subject, const std::vector<std::string>& emails = {}
    ) const;

    // A new, independent CA (the process-wide one is instance()).
    test_ca();
    // A client certificate with subject O=modelrelay tests, CN=<common_name>, valid for one day.
    issued_cert issue_client(const std::string& common_name) const;

    ~test_ca();
    test_ca(const test_ca&) = delete;
    test_ca& operator=(const test_ca&) = delete;

private:
    issued_cert finish(void* cert, void* key, const char* kind) const;  // PEM + files of a signed cert

    void* ca_key_ = nullptr;   // EVP_PKEY*
    void* ca_cert_ = nullptr;  // X509*
    std::string dir_;
    std::string ca_pem_;
    std::string ca_file_;
    issued_cert localhost_;
};

}  // namespace modelrelay::test
