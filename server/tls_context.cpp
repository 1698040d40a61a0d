// File: tls_context.cpp
// Loading and checking the listener's certificate, key and client CAs with the OpenSSL 3 calls directly
// (asio's wrappers lose the reason), so each start-up error says which file is wrong and why.
#include "server/tls_context.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509err.h>

#include "server/log.hpp"

namespace modelrelay::server {

namespace ssl = boost::asio::ssl;

namespace {

// TLS 1.2 suites: ECDHE key exchange and AEAD only (Mozilla "intermediate" without DHE). TLS 1.3 keeps
// OpenSSL's defaults, which are all AEAD.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// OpenSSL's oldest queued error (the root cause), and an empty queue afterwards. Reason strings are
// fixed texts ("no start line", "key values mismatch"); they never quote file contents.
struct openssl_failure {
    unsigned long code = 0;
    std::string reason;
};

openssl_failure take_openssl_error() {
    openssl_failure out;
    while (const unsigned long e = ERR_get_error()) {
        if (out.code == 0) {
            out.code = e;
            const char* r = ERR_reason_error_string(e);
            out.reason = r != nullptr ? r : "error " + std::to_string(ERR_GET_REASON(e));
        }
    }
    if (out.reason.empty()) {
        out.reason = "unknown OpenSSL error";
    }
    return out;
}

std::string openssl_reason() {
    return take_openssl_error().reason;
}

registry::error bad_file(const char* what, const std::string& file, const std::string& reason) {
    return registry::illegal_argument(std::string("cannot use ") + what + " " + file + ": " + reason);
}

// Checked first so a missing or unreadable file gets the system's words, not a PEM decoder's.
std::string unreadable(const std::string& file) {
    std::FILE* f = std::fopen(file.c_str(), "rb");
    if (f == nullptr) {
        return std::strerror(errno);
    }
    std::fclose(f);
    return {};
}

// Without this, OpenSSL would prompt on the terminal for the passphrase of an encrypted key.
int no_passphrase(char*, int, int, void*) {
    return 0;
}

}  // namespace

registry::result<std::unique_ptr<ssl::context>> make_listener_tls_context(const tls_settings& t) {
    ERR_clear_error();
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = ctx->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1) {
        return registry::illegal_argument("cannot set the TLS cipher list: " + openssl_reason());
    }
    SSL_CTX_set_default_passwd_cb(native, no_passphrase);

    if (auto why = unreadable(t.cert_file); !why.empty()) {
        return bad_file("TLS certificate file", t.cert_file, why);
    }
    if (SSL_CTX_use_certificate_chain_file(native, t.cert_file.c_str()) != 1) {
        return bad_file(
            "TLS certificate file", t.cert_file, "no PEM certificate chain (" + openssl_reason() + ")"
        );
    }
    if (auto why = unreadable(t.key_file); !why.empty()) {
        return bad_file("TLS key file", t.key_file, why);
    }
    if (SSL_CTX_use_PrivateKey_file(native, t.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        const auto failure = take_openssl_error();
        if (ERR_GET_LIB(failure.code) == ERR_LIB_X509 &&
            ERR_GET_REASON(failure.code) == X509_R_KEY_VALUES_MISMATCH) {
            return bad_file(
                "TLS key file", t.key_file, "the key does not belong to the certificate in " + t.cert_file
            );
        }
        return bad_file(
            "TLS key file", t.key_file, "no unencrypted PEM private key (" + failure.reason + ")"
        );
    }
    if (SSL_CTX_check_private_key(native) != 1) {
        ERR_clear_error();
        return bad_file(
            "TLS key file", t.key_file, "the key does not belong to the certificate in " + t.cert_file
        );
    }
    if (X509* leaf = SSL_CTX_get0_certificate(native);
        leaf != nullptr && X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0) {
        log::warn("the TLS certificate has expired: clients will refuse it", {{"file", t.cert_file}});
    }

    if (!t.client_ca_file.empty()) {
        if (auto why = unreadable(t.client_ca_file); !why.empty()) {
            return bad_file("TLS client CA file", t.client_ca_file, why);
        }
        if (SSL_CTX_load_verify_locations(native, t.client_ca_file.c_str(), nullptr) != 1) {
            return bad_file(
                "TLS client CA file", t.client_ca_file, "no PEM CA certificate (" + openssl_reason() + ")"
            );
        }
        // The names sent in the CertificateRequest, so clients with several certificates pick the right one.
        STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(t.client_ca_file.c_str());
        if (names == nullptr) {
            return bad_file(
                "TLS client CA file", t.client_ca_file, "no PEM CA certificate (" + openssl_reason() + ")"
            );
        }
        SSL_CTX_set_client_CA_list(native, names);
    }
    switch (t.client_auth) {
        case tls_client_auth::none:
            SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
            break;
        case tls_client_auth::optional:
            SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
            break;
        case tls_client_auth::require:
            SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
            break;
    }
    SSL_CTX_set_verify_depth(native, 10);
    // Session resumption with client certificates needs a session id context, or a resumed session fails.
    static constexpr unsigned char session_context[] = "modelrelay";
    SSL_CTX_set_session_id_context(native, session_context, sizeof session_context - 1);
    ERR_clear_error();
    return ctx;
}

}  // namespace modelrelay::server
