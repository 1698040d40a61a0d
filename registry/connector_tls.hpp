// File: connector_tls.hpp
// The modelrelay extension `client_config.tls` of a connector: per-connector TLS for its outbound calls,
// modelled on the PKI options of Kibana's OpenAI connector, provider "Other" (security.md §4):
//
//   "client_config": {"tls": {
//       "verification_mode": "full" | "certificate" | "none",   default "full"
//       "ca_data":           PEM CA bundle (base64 of the PEM, like Kibana's caData, or the PEM text)
//       "certificate_data":  client certificate chain, PEM (base64 or text), leaf first
//       "private_key_data":  client private key, PEM (base64 or text), unencrypted
//   }}
//
// Validation happens at connector create / update (PEM parsed by OpenSSL, the key must match the
// certificate, certificate and key only together). The private key never stays in `client_config`: it
// is moved into the connector's encrypted `credential` object under the reserved name
// `tls_key_credential`, so it is encrypted, rotated and hidden exactly like every other credential, and
// GET / _search never show it. At deploy the outbound layer turns the material into one TLS context per
// connector (`tls_context_factory`); after that the plaintext key exists only inside that context.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "registry/error.hpp"

namespace modelrelay::registry {

enum class tls_verification {
    full,         // chain and host name (the default)
    certificate,  // chain only: any host name the CA vouched for is accepted
    none,         // no verification at all (SNI is still sent)
};

// The credential entry that holds the encrypted client private key. Callers may not use this name.
inline constexpr std::string_view tls_key_credential = "client_config.tls.private_key_data";

// Key material in a string that is wiped (OPENSSL_cleanse) when destroyed, whatever path drops it.
struct secret_text {
    std::string value;

    secret_text() = default;
    explicit secret_text(std::string v) : value(std::move(v)) {}
    secret_text(const secret_text&) = default;
    secret_text(secret_text&&) noexcept = default;
    secret_text& operator=(const secret_text&) = default;
    secret_text& operator=(secret_text&&) noexcept = default;
    ~secret_text();
};

// What parse_tls_config makes of a request's `client_config.tls`.
struct parsed_tls {
    boost::json::object stored;              // `client_config.tls` as stored: never the private key
    std::optional<secret_text> private_key;  // plaintext PEM when the request gave one
    bool has_certificate = false;            // certificate_data given
};

// Validates a request's `client_config.tls`. Errors (illegal_argument, 400, never echo a value):
//   [client_config/tls] unknown field [x]
//   [client_config/tls/verification_mode] must be one of [full, certificate, none]
//   [client_config/tls/<field>] expected string
//   [client_config/tls/<field>] is not PEM or base64-encoded PEM
//   [client_config/tls/ca_data] contains no PEM certificate: <openssl reason>
//   [client_config/tls/certificate_data] contains no PEM certificate: <openssl reason>
//   [client_config/tls/private_key_data] is not an unencrypted PEM private key
//   [client_config/tls] private_key_data requires certificate_data
//   [client_config/tls/private_key_data] does not match the certificate in certificate_data
// A certificate without a key is accepted here (has_certificate && !private_key): the caller decides
// whether a stored key may be kept (update) or not (create).
result<parsed_tls> parse_tls_config(const boost::json::object& tls);

// True when both stored `client_config.tls` objects carry the same leaf client certificate.
bool same_client_certificate(const boost::json::object& a, const boost::json::object& b);

// Decoded material for building a TLS context. The key is wiped when the object is destroyed.
struct tls_material {
    tls_verification verification = tls_verification::full;
    std::string ca_pem;           // empty: the process-wide trust store
    std::string certificate_pem;  // empty: no client certificate
    std::string private_key_pem;  // empty exactly when certificate_pem is

    tls_material() = default;
    tls_material(const tls_material&) = default;
    tls_material(tls_material&&) noexcept = default;
    tls_material& operator=(const tls_material&) = default;
    tls_material& operator=(tls_material&&) noexcept = default;
    ~tls_material();
};

// The material of a stored `client_config.tls` plus the decrypted key (moved in, wiped on failure).
result<tls_material> tls_material_of(const boost::json::object& stored_tls, std::string private_key_pem);

// The per-connector TLS context the outbound layer builds at deploy time. Opaque to the registry.
struct outbound_tls_context {
    virtual ~outbound_tls_context() = default;
};

// Builds the context for one connector; set by the server (server/upstream/tls_identity.hpp).
using tls_context_factory =
    std::function<result<std::shared_ptr<const outbound_tls_context>>(const tls_material&)>;

}  // namespace modelrelay::registry
