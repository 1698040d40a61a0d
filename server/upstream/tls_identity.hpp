// File: tls_identity.hpp
// One connector's TLS settings for its outbound calls (`client_config.tls`, registry/connector_tls.hpp)
// as a ready `boost::asio::ssl::context`: trust anchors, optional client certificate and key, and the
// verification mode. Built once at deploy by the factory the registry is given; the client uses it for
// every connection of that connector (send and send_streaming), and the pool never lets connections of
// different identities mix (pool_key carries id()).
//
// Trust: with `ca_data` the connector trusts exactly those CAs (Node's `ca` option, which Kibana's
// connector passes through); without it, the process-wide store (system CAs + --upstream-ca-file), shared
// by reference between contexts rather than loaded again per connector.
//
// @par Thread safety
// Immutable after construction; context() may be used to create streams from any thread at once
// (SSL_new on a configured SSL_CTX is thread-safe).
#pragma once

#include <cstdint>
#include <future>
#include <memory>

#include <boost/asio/ssl/context.hpp>
#include <openssl/x509.h>

#include "registry/connector_tls.hpp"
#include "registry/error.hpp"

namespace modelrelay::server::upstream {

struct client_config;

class tls_identity final : public registry::outbound_tls_context {
public:
    // `default_store` is used when the material has no CA bundle (shared, reference-counted).
    static registry::result<std::shared_ptr<const tls_identity>> make(
        const registry::tls_material& material, X509_STORE* default_store
    );

    boost::asio::ssl::context& context() const { return *context_; }
    registry::tls_verification verification() const { return verification_; }
    bool has_client_certificate() const { return client_certificate_; }
    // Unique for the life of the process (never reused, unlike an address): the pool key part.
    std::uint64_t id() const { return id_; }

private:
    tls_identity() = default;

    std::unique_ptr<boost::asio::ssl::context> context_;
    registry::tls_verification verification_ = registry::tls_verification::full;
    bool client_certificate_ = false;
    std::uint64_t id_ = 0;
};

// The trust store of `cfg` (system CAs when enabled, plus extra_ca_file). Throws std::runtime_error when
// it cannot be loaded (a startup error, like client's constructor).
std::shared_ptr<X509_STORE> load_trust_store(const client_config& cfg);
// The same, loaded now, as an already satisfied future (for the factories that take one).
std::shared_future<std::shared_ptr<X509_STORE>> loaded_trust_store(const client_config& cfg);

// A factory for the registry (service_options::tls_contexts) that builds identities on `store`. The store
// may not be loaded yet (the server's is deferred until first needed): the first identity built waits for
// it, and answers 500 if it failed.
registry::tls_context_factory make_tls_context_factory(std::shared_future<std::shared_ptr<X509_STORE>> store);

// Both at once: loads the store now (loaded_trust_store).
registry::tls_context_factory make_tls_context_factory(const client_config& cfg);

}  // namespace modelrelay::server::upstream
