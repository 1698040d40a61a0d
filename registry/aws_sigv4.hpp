// File: aws_sigv4.hpp
// AWS Signature Version 4 for `aws_sigv4` connectors (spec ml-commons.md §2.5; ml-commons signs with the
// AWS SDK's v4 signer in ConnectorUtils.signRequest). Pure: the caller passes the clock.
//
// What is signed: the method; the path, URI-encoded once more as AWS does for every service but S3; the
// query, sorted; the headers `host`, `x-amz-date`, `x-amz-security-token` and every header the connector
// sends (lower-cased, values trimmed, inner blank runs folded), except the framing and hop headers the
// outbound client owns (content-length, transfer-encoding, connection) and user-agent, which the SDK
// leaves out too; and the SHA-256 of the body. A connector header `x-amz-content-sha256` (Bedrock
// blueprints send it with the value `required`) carries that hash, as the SDK's signer does.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "registry/error.hpp"
#include "registry/parameters.hpp"

namespace modelrelay::registry {

struct aws_signing {
    std::string access_key;
    std::string secret_key;
    std::string session_token;  // empty: none (a blank token is never sent)
    std::string region;
    std::string service;
};

// AwsConnector.validate, in its order: `Missing credential` (no access_key or secret_key in the
// credential), `Missing service name`, `Missing region` (in neither the parameters nor the credential).
// The credential keys are checked by name, as ml-commons does, so empty values pass here.
result<void> check_aws_connector(
    const param_map& parameters, const std::vector<std::pair<std::string, std::string>>& credential
);

// The signing identity of a connector: region and service name from its parameters first, then from its
// credential (AwsConnector.getRegion / getServiceName).
aws_signing aws_signing_of(const param_map& parameters, const param_map& credential);

using sigv4_headers = std::vector<std::pair<std::string, std::string>>;

// Signs one request. `host` is the Host header that will be sent, `target` the request target
// (path and `?query`), `headers` the connector's headers as they will be sent. Returns the headers to
// add (`X-Amz-Date`, `X-Amz-Security-Token` when there is a token, `Authorization`) and rewrites an
// `x-amz-content-sha256` header in `headers` to the body's hash.
sigv4_headers sign_sigv4(
    const aws_signing& key,
    std::string_view method,
    std::string_view host,
    std::string_view target,
    std::vector<std::pair<std::string, std::string>>& headers,
    std::string_view body,
    std::chrono::system_clock::time_point now
);

}  // namespace modelrelay::registry
