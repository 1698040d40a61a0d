// File: cert_identity.hpp
// Client certificate → user, as the OpenSearch Security plugin's `clientcert` authenticator does it
// (security.md §2.5, HTTPClientCertAuthenticator): the username and backend roles come from attributes of
// the RFC 2253 subject DN (or from subjectAltNames), and a DN listed in `admin_dn` is super-admin.
// Pure functions over strings, so every rule is unit-tested without sockets; the session supplies the DN
// and SANs it read from the verified certificate (server/peer.hpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.hpp"
#include "server/peer.hpp"

namespace modelrelay::server {

// One attribute-value pair of a DN, the value unescaped (`CN=Doe\, John` → type "CN", value "Doe, John").
// A value written as `#<hex>` (BER) is kept as written, like the text Java's LdapName would not decode.
struct dn_attribute {
    std::string type;
    std::string value;
};
// A relative distinguished name: one pair, or several joined by `+` (multi-valued).
using dn_rdn = std::vector<dn_attribute>;

// Parses an RFC 2253 / RFC 4514 DN (RFC 1779 `;` separators and spaces around separators accepted), most
// specific RDN first, as written. nullopt when malformed. "" is the empty DN (no RDNs).
std::optional<std::vector<dn_rdn>> parse_dn(std::string_view dn);

// Two DNs name the same entry: same RDNs in the same order, attribute types and values compared
// case-insensitively after unescaping, `+` parts in any order (javax.naming.ldap.LdapName equality, which
// OpenSearch uses for admin_dn). False when either is malformed.
bool same_dn(std::string_view a, std::string_view b);

// Where a username or the roles come from (`username_attribute` / `roles_attribute`).
struct cert_attribute {
    enum class source {
        none,  // username: the whole DN; roles: none
        dn,    // every RDN value of type `name`, most specific first
        san,   // every subjectAltName of kind `san` matching `glob`, in certificate order
    };
    source from = source::none;
    std::string name;                // source::dn
    san_type san = san_type::email;  // source::san
    std::string glob;                // source::san: case-insensitive, `*` only; "" matches all

    static cert_attribute dn_attribute(std::string n) {
        cert_attribute a;
        a.from = source::dn;
        a.name = std::move(n);
        return a;
    }
};

// Parses a setting: "" → none; "cn" or "dn:cn" → DN attribute cn; "san:EMAIL[:glob]" → SAN. SAN kinds:
// EMAIL|rfc822Name, DNS|dNSName, URI|uniformResourceIdentifier, IP|iPAddress (case-insensitive). An
// unknown SAN kind or a malformed attribute name is an error (OpenSearch only logs and ignores it).
registry::result<cert_attribute> parse_cert_attribute(std::string_view setting);

struct cert_identity {
    std::string username;
    std::vector<std::string> backend_roles;
};

// The configured mapping (--tls-username-attribute, --tls-roles-attribute, --tls-admin-dn).
class cert_mapping {
public:
    cert_attribute username_attribute = cert_attribute::dn_attribute("cn");
    cert_attribute roles_attribute = cert_attribute::dn_attribute("ou");

    // Adds a super-admin DN; false (and nothing added) when it is not a well-formed DN.
    bool add_admin_dn(std::string_view dn);
    void clear_admin_dns();
    // As configured, verbatim.
    const std::vector<std::string>& admin_dns() const { return admin_dns_; }
    // `dn` equals one of the admin DNs (same_dn rules).
    bool is_admin_dn(std::string_view dn) const;

    // The user a verified certificate logs in as. Username: the first non-empty match of
    // username_attribute, else the whole DN verbatim. Roles: every non-empty match of roles_attribute
    // (at most 16 from SANs, as OpenSearch). nullopt when the DN is malformed or the username would be
    // empty (no credentials).
    std::optional<cert_identity> map(std::string_view subject_dn, const std::vector<subject_alt_name>& sans)
        const;
    // The same for a connection; nullopt without a verified client certificate.
    std::optional<cert_identity> map(const peer_info& peer) const;

private:
    std::vector<std::string> admin_dns_;
    std::vector<std::string> admin_keys_;  // canonical forms, parallel to admin_dns_
};

}  // namespace modelrelay::server
