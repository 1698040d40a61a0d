// File: tls_identity.cpp
// Building per-connector client TLS contexts. The process-wide trust store is loaded once and shared by
// reference (SSL_CTX_set1_cert_store), so a thousand TLS connectors cost a thousand small SSL_CTXs, not a
// thousand copies of the system CA bundle.
#include "server/upstream/tls_identity.hpp"

#include <atomic>
#include <stdexcept>

#include <boost/asio/buffer.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "server/upstream/client.hpp"

namespace modelrelay::server::upstream {

namespace asio = boost::asio;
namespace ssl = asio::ssl;

namespace {

std::atomic<std::uint64_t> next_identity_id{1};

// Never prompts on a terminal for a pass phrase (keys are validated as unencrypted at create).
int no_pass_phrase(char*, int, int, void*) {
    return -1;
}

registry::error build_error(std::string_view what, const boost::system::error_code& ec) {
    ERR_clear_error();
    return registry::illegal_argument(
        "client_config.tls: cannot load " + std::string(what) + ": " + ec.message()
    );
}

}  // namespace

registry::result<std::shared_ptr<const tls_identity>> tls_identity::make(
    const registry::tls_material& m, X509_STORE* default_store
) {
    std::shared_ptr<tls_identity> out(new tls_identity());
    out->context_ = std::make_unique<ssl::context>(ssl::context::tls_client);
    SSL_CTX* native = out->context_->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_default_passwd_cb(native, no_pass_phrase);
    boost::system::error_code ec;
    if (!m.ca_pem.empty()) {
        out->context_->add_certificate_authority(asio::buffer(m.ca_pem), ec);
        if (ec) {
            return build_error("ca_data", ec);
        }
    } else if (default_store != nullptr) {
        SSL_CTX_set1_cert_store(native, default_store);
    }
    if (!m.certificate_pem.empty()) {
        out->context_->use_certificate_chain(asio::buffer(m.certificate_pem), ec);
        if (ec) {
            return build_error("certificate_data", ec);
        }
        out->context_->use_private_key(asio::buffer(m.private_key_pem), ssl::context::pem, ec);
        if (ec) {
            return build_error("private_key_data", ec);
        }
        if (SSL_CTX_check_private_key(native) != 1) {
            ERR_clear_error();
            return registry::illegal_argument(
                "client_config.tls: private_key_data does not match the certificate in certificate_data"
            );
        }
        out->client_certificate_ = true;
    }
    out->verification_ = m.verification;
    out->context_->set_verify_mode(
        m.verification == registry::tls_verification::none ? ssl::verify_none : ssl::verify_peer
    );
    out->id_ = next_identity_id.fetch_add(1);
    return std::shared_ptr<const tls_identity>(std::move(out));
}

std::shared_ptr<X509_STORE> load_trust_store(const client_config& cfg) {
    std::shared_ptr<X509_STORE> store(X509_STORE_new(), X509_STORE_free);
    if (!store) {
        throw std::runtime_error("cannot allocate an X509 store");
    }
    if (cfg.use_system_ca_store && X509_STORE_set_default_paths(store.get()) != 1) {
        ERR_clear_error();
        throw std::runtime_error("cannot load the system CA store");
    }
    if (!cfg.extra_ca_file.empty() && X509_STORE_load_file(store.get(), cfg.extra_ca_file.c_str()) != 1) {
        ERR_clear_error();
        throw std::runtime_error("cannot load CA file " + cfg.extra_ca_file);
    }
    ERR_clear_error();
    return store;
}

registry::tls_context_factory make_tls_context_factory(std::shared_future<std::shared_ptr<X509_STORE>> store
) {
    return [store = std::move(store)](const registry::tls_material& m
           ) -> registry::result<std::shared_ptr<const registry::outbound_tls_context>> {
        X509_STORE* trust = nullptr;
        try {
            trust = store.get().get();
        } catch (const std::exception& e) {
            return registry::error{registry::errc::internal, e.what()};
        }
        auto made = tls_identity::make(m, trust);
        if (!made) {
            return made.error();
        }
        return std::shared_ptr<const registry::outbound_tls_context>(std::move(*made));
    };
}

std::shared_future<std::shared_ptr<X509_STORE>> loaded_trust_store(const client_config& cfg) {
    std::promise<std::shared_ptr<X509_STORE>> loaded;
    loaded.set_value(load_trust_store(cfg));
    return loaded.get_future().share();
}

registry::tls_context_factory make_tls_context_factory(const client_config& cfg) {
    return make_tls_context_factory(loaded_trust_store(cfg));
}

}  // namespace modelrelay::server::upstream
