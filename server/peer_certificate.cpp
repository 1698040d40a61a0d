// File: peer_certificate.cpp
#include "server/peer_certificate.hpp"

#include <algorithm>

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace modelrelay::server {

namespace {

// A certificate may carry many names; a mapping only ever needs a few.
constexpr std::size_t max_alt_names = 64;

std::string ia5_text(const ASN1_STRING* s) {
    const auto* data = reinterpret_cast<const char*>(ASN1_STRING_get0_data(s));
    std::string v(data, static_cast<std::size_t>(ASN1_STRING_length(s)));
    // An embedded NUL is the classic name-spoofing trick; such a name maps to nothing.
    return v.find('\0') == std::string::npos ? v : std::string();
}

std::string ip_text(const ASN1_OCTET_STRING* s) {
    const unsigned char* b = ASN1_STRING_get0_data(s);
    const int len = ASN1_STRING_length(s);
    if (len == 4) {
        boost::asio::ip::address_v4::bytes_type bytes;
        std::copy_n(b, 4, bytes.begin());
        return boost::asio::ip::address_v4(bytes).to_string();
    }
    if (len == 16) {
        boost::asio::ip::address_v6::bytes_type bytes;
        std::copy_n(b, 16, bytes.begin());
        return boost::asio::ip::address_v6(bytes).to_string();
    }
    return {};
}

}  // namespace

std::string rfc2253_name(const X509_NAME* name) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (bio == nullptr) {
        return {};
    }
    std::string out;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
        char* data = nullptr;
        const long n = BIO_get_mem_data(bio, &data);
        if (n > 0) {
            out.assign(data, static_cast<std::size_t>(n));
        }
    }
    BIO_free(bio);
    return out;
}

std::vector<subject_alt_name> subject_alt_names_of(const X509* cert) {
    std::vector<subject_alt_name> out;
    auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (names == nullptr) {
        return out;
    }
    const int count = sk_GENERAL_NAME_num(names);
    for (int i = 0; i < count && out.size() < max_alt_names; ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
        subject_alt_name san;
        switch (gn->type) {
            case GEN_EMAIL:
                san = {san_type::email, ia5_text(gn->d.rfc822Name)};
                break;
            case GEN_DNS:
                san = {san_type::dns, ia5_text(gn->d.dNSName)};
                break;
            case GEN_URI:
                san = {san_type::uri, ia5_text(gn->d.uniformResourceIdentifier)};
                break;
            case GEN_IPADD:
                san = {san_type::ip, ip_text(gn->d.iPAddress)};
                break;
            default:
                continue;
        }
        if (!san.value.empty()) {
            out.push_back(std::move(san));
        }
    }
    GENERAL_NAMES_free(names);
    return out;
}

}  // namespace modelrelay::server
