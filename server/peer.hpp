// File: peer.hpp
// What the transport knows about the other end of a connection: its address and, on a TLS listener, the
// client certificate it presented. Filled once per connection by the session; authentication reads it
// (client-certificate login, `authinfo`'s remote_address / principal / peer_certificates).
#pragma once

#include <string>

namespace modelrelay::server {

struct peer_info {
    std::string remote_address;  // "ip:port" ("[v6]:port" for IPv6)
    bool tls = false;            // the connection is TLS
    // A client certificate that verified against --tls-client-ca. Unverified certificates never get here
    // (with client auth `optional` a bad certificate fails the handshake, like OpenSearch).
    bool client_cert = false;
    std::string subject_dn;  // RFC 2253 subject of the client certificate, verbatim ("" without one)
    int chain_length = 0;    // certificates the client presented (authinfo `peer_certificates`)
};

}  // namespace modelrelay::server
