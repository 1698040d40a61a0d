// File: controller.hpp
// ml-commons' model controller (ml-commons.md §8.2): per-user rate limiters of one model, stored under the
// model's id and applied while the model is deployed, after the model-level limiter. The body shape is
// `{"user_rate_limiter":{"<user>":{"limit":"4","unit":"MINUTES"}}}`; `limit` is kept as the text it was
// given (ml-commons stores a string and only reads it when it builds the bucket), `unit` must be a Java
// TimeUnit name. Pure: parsing, merging and the buckets a deployment holds.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "registry/deployed_model.hpp"
#include "registry/error.hpp"

namespace modelrelay::registry {

struct user_rate_limit {
    std::optional<std::string> limit;
    std::optional<std::string> unit;
};
using user_rate_limits = std::map<std::string, user_rate_limit, std::less<>>;

// The request body's `user_rate_limiter` (absent: none). A user whose object has neither field is dropped,
// as in ml-commons. Errors (400 illegal_argument): `No enum constant java.util.concurrent.TimeUnit.<u>`,
// `The rate limiter of user [<u>] must be an object`, `user_rate_limiter must be an object`.
result<user_rate_limits> parse_user_rate_limiter(const boost::json::object& body);

// The stored document: {"model_id":..,"user_rate_limiter":{..}} (limits as JSON strings).
boost::json::object controller_doc(std::string_view model_id, const user_rate_limits& limits);
user_rate_limits limits_of_doc(const boost::json::object& doc);

// PUT's merge (MLRateLimiter.update): per user, each given field replaces the stored one; new users are
// added; nobody is removed. True when anything changed.
bool merge_limits(user_rate_limits& into, const user_rate_limits& update);

// Token buckets for the users whose limit and unit are both set and usable (a positive number and a
// known unit), with the model-level limiter's arithmetic; others are left out, as ml-commons skips a bucket
// it cannot build.
std::map<std::string, std::unique_ptr<token_bucket>, std::less<>> user_buckets(const user_rate_limits& limits
);

}  // namespace modelrelay::registry
