// File: tls_context.hpp
// The server-side TLS context for the HTTPS listener (--tls-cert / --tls-key / --tls-client-ca /
// --tls-client-auth): TLS 1.2+, forward-secret AEAD ciphers, and client-certificate verification in the
// three OpenSearch modes. Built once at start-up; a file that cannot be used is a start-up error naming
// the file (never its contents).
#pragma once

#include <memory>

#include <boost/asio/ssl/context.hpp>

#include "registry/error.hpp"
#include "server/config.hpp"

namespace modelrelay::server {

registry::result<std::unique_ptr<boost::asio::ssl::context>> make_listener_tls_context(const tls_settings& t);

}  // namespace modelrelay::server
