// File: peer_certificate.hpp
// What peer_info keeps of a client certificate: the subject as RFC 2253 text (X509_NAME_print_ex with
// XN_FLAG_RFC2253, kept verbatim: authinfo's `principal` and the input of the DN mapping) and the
// subjectAltNames a `san:` mapping can use. Separate from the session so it is tested on real
// certificates without a handshake.
#pragma once

#include <string>
#include <vector>

#include <openssl/types.h>

#include "server/peer.hpp"

namespace modelrelay::server {

// RFC 2253 text of a name ("" when it cannot be printed). Non-ASCII bytes appear as \XX escapes.
std::string rfc2253_name(const X509_NAME* name);

// E-mail, DNS, URI and IP subjectAltNames in certificate order (at most 64; names with an embedded NUL
// are dropped).
std::vector<subject_alt_name> subject_alt_names_of(const X509* cert);

}  // namespace modelrelay::server
