// File: connector_tls.cpp
// Parsing and checking `client_config.tls` with OpenSSL's PEM readers, so a connector that was accepted
// is one the outbound layer can build a TLS context from.
#include "registry/connector_tls.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <vector>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "registry/crypto.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

struct bio_deleter {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct x509_deleter {
    void operator()(X509* x) const { X509_free(x); }
};
struct pkey_deleter {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;
using x509_ptr = std::unique_ptr<X509, x509_deleter>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

constexpr std::string_view where_tls = "[client_config/tls]";
constexpr std::array<std::string_view, 4> known_fields{
    "verification_mode", "ca_data", "certificate_data", "private_key_data"};

error at(std::string_view field, std::string_view what) {
    return illegal_argument(
        std::string("[client_config/tls/") + std::string(field) + "] " + std::string(what)
    );
}

bio_ptr memory_bio(std::string_view data) {
    return bio_ptr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// The newest OpenSSL error reason (safe to show: it never contains input bytes), clearing the queue.
std::string openssl_reason() {
    const unsigned long e = ERR_peek_last_error();
    const char* r = e != 0 ? ERR_reason_error_string(e) : nullptr;
    ERR_clear_error();
    return r != nullptr ? std::string(r) : std::string("no PEM data");
}

// PEM text as given, or decoded from base64 (Kibana's caData / certificateData / privateKeyData).
// Whitespace inside base64 is ignored (wrapped `base64` output). nullopt when it is neither.
std::optional<std::string> pem_text(std::string_view value) {
    if (value.find("-----BEGIN ") != std::string_view::npos) {
        return std::string(value);
    }
    std::string compact;
    compact.reserve(value.size());
    for (char c : value) {
        if (std::isspace(static_cast<unsigned char>(c)) == 0) {
            compact.push_back(c);
        }
    }
    auto decoded = base64_decode(compact);
    secure_wipe(compact);
    if (!decoded) {
        return std::nullopt;
    }
    if (decoded->find("-----BEGIN ") == std::string::npos) {
        secure_wipe(*decoded);
        return std::nullopt;
    }
    return decoded;
}

result<std::vector<x509_ptr>> read_certificates(std::string_view pem, std::string_view field) {
    auto bio = memory_bio(pem);
    std::vector<x509_ptr> out;
    while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
        out.emplace_back(x);
    }
    if (out.empty()) {
        return at(field, "contains no PEM certificate: " + openssl_reason());
    }
    ERR_clear_error();  // reading past the last certificate leaves "no start line" behind
    return out;
}

// Never prompts: an encrypted key is refused instead of asking a terminal for a pass phrase.
int no_pass_phrase(char*, int, int, void*) {
    return -1;
}

result<pkey_ptr> read_private_key(std::string_view pem) {
    auto bio = memory_bio(pem);
    pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_pass_phrase, nullptr));
    ERR_clear_error();
    if (!key) {
        return at("private_key_data", "is not an unencrypted PEM private key");
    }
    return key;
}

std::optional<std::string> string_member(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) {
        return std::nullopt;
    }
    return std::string(v->get_string());
}

x509_ptr leaf_of(const json::object& stored) {
    auto text = string_member(stored, "certificate_data");
    if (!text) {
        return nullptr;
    }
    auto pem = pem_text(*text);
    if (!pem) {
        return nullptr;
    }
    auto bio = memory_bio(*pem);
    x509_ptr leaf(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    ERR_clear_error();
    return leaf;
}

}  // namespace

secret_text::~secret_text() {
    secure_wipe(value);
}

tls_material::~tls_material() {
    secure_wipe(private_key_pem);
}

result<parsed_tls> parse_tls_config(const json::object& tls) {
    parsed_tls out;
    std::string mode = "full";
    std::optional<std::string> ca, certificate, key;
    for (const auto& kv : tls) {
        const std::string_view name = kv.key();
        if (std::find(known_fields.begin(), known_fields.end(), name) == known_fields.end()) {
            return illegal_argument(std::string(where_tls) + " unknown field [" + std::string(name) + "]");
        }
        if (kv.value().is_null()) {
            continue;
        }
        if (!kv.value().is_string()) {
            return at(name, "expected string");
        }
        const std::string_view v = kv.value().get_string();
        if (name == "verification_mode") {
            if (v != "full" && v != "certificate" && v != "none") {
                return at(name, "must be one of [full, certificate, none]");
            }
            mode = std::string(v);
        } else if (name == "ca_data") {
            ca = std::string(v);
        } else if (name == "certificate_data") {
            certificate = std::string(v);
        } else {
            key = std::string(v);
        }
    }
    struct wipe_on_exit {
        std::optional<std::string>& k;
        ~wipe_on_exit() {
            if (k) {
                secure_wipe(*k);
            }
        }
    } wipe_key{key};

    out.stored["verification_mode"] = mode;
    if (ca) {
        auto pem = pem_text(*ca);
        if (!pem) {
            return at("ca_data", "is not PEM or base64-encoded PEM");
        }
        if (auto certs = read_certificates(*pem, "ca_data"); !certs) {
            return certs.error();
        }
        out.stored["ca_data"] = *ca;
    }
    if (key && !certificate) {
        return illegal_argument(std::string(where_tls) + " private_key_data requires certificate_data");
    }
    if (certificate) {
        auto pem = pem_text(*certificate);
        if (!pem) {
            return at("certificate_data", "is not PEM or base64-encoded PEM");
        }
        auto certs = read_certificates(*pem, "certificate_data");
        if (!certs) {
            return certs.error();
        }
        if (key) {
            auto key_pem = pem_text(*key);
            if (!key_pem) {
                return at("private_key_data", "is not PEM or base64-encoded PEM");
            }
            auto pkey = read_private_key(*key_pem);
            if (!pkey) {
                secure_wipe(*key_pem);
                return pkey.error();
            }
            const bool match = X509_check_private_key(certs->front().get(), pkey->get()) == 1;
            ERR_clear_error();
            if (!match) {
                secure_wipe(*key_pem);
                return at("private_key_data", "does not match the certificate in certificate_data");
            }
            out.private_key = secret_text(std::move(*key_pem));
        }
        out.stored["certificate_data"] = *certificate;
        out.has_certificate = true;
    }
    return out;
}

bool same_client_certificate(const json::object& a, const json::object& b) {
    auto x = leaf_of(a);
    auto y = leaf_of(b);
    return x && y && X509_cmp(x.get(), y.get()) == 0;
}

result<tls_material> tls_material_of(const json::object& stored, std::string private_key_pem) {
    tls_material m;
    m.private_key_pem = std::move(private_key_pem);
    const auto mode = string_member(stored, "verification_mode").value_or("full");
    m.verification = mode == "none"          ? tls_verification::none
                     : mode == "certificate" ? tls_verification::certificate
                                             : tls_verification::full;
    if (auto ca = string_member(stored, "ca_data")) {
        auto pem = pem_text(*ca);
        if (!pem) {
            return at("ca_data", "is not PEM or base64-encoded PEM");
        }
        m.ca_pem = std::move(*pem);
    }
    if (auto certificate = string_member(stored, "certificate_data")) {
        auto pem = pem_text(*certificate);
        if (!pem) {
            return at("certificate_data", "is not PEM or base64-encoded PEM");
        }
        m.certificate_pem = std::move(*pem);
        if (m.private_key_pem.empty()) {
            return error{errc::internal, "the client private key of client_config.tls is missing"};
        }
    } else if (!m.private_key_pem.empty()) {
        return error{
            errc::internal, "a client private key is stored without client_config.tls.certificate_data"};
    }
    return m;
}

}  // namespace modelrelay::registry
