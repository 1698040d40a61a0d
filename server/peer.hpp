// File: peer.hpp
// What the transport knows about the other end of a connection: its address and, on a TLS listener, the
// client certificate it presented. Filled once per connection by the session; authentication reads it
// (client-certificate login, `authinfo`'s remote_address / principal / peer_certificates).
#pragma once

#include <string>
#include <vector>

namespace modelrelay::server {

// The subjectAltName kinds a certificate mapping can read (RFC 5280 GeneralName tags); the rest are skipped.
enum class san_type { email = 1, dns = 2, uri = 6, ip = 7 };

struct subject_alt_name {
    san_type type = san_type::email;
    std::string value;  // IA5 text as in the certificate; IP addresses in text form ("10.0.0.1", "::1")
};

struct peer_info {
    std::string remote_address;  // "ip:port" ("[v6]:port" for IPv6)
    bool tls = false;            // the connection is TLS
    // A client certificate that verified against --tls-client-ca. Unverified certificates never get here
    // (with client auth `optional` a bad certificate fails the handshake, like OpenSearch).
    bool client_cert = false;
    std::string subject_dn;  // RFC 2253 subject of the client certificate, verbatim ("" without one)
    int chain_length = 0;    // certificates the client presented (authinfo `peer_certificates`)
    std::vector<subject_alt_name> subject_alt_names;  // of the client certificate (for `san:` mappings)
};

}  // namespace modelrelay::server
