// File: snapshot.cpp
#include "registry/snapshot.hpp"

#include <boost/json/serialize.hpp>

#include "registry/crypto.hpp"
#include "registry/json_util.hpp"
#include "registry/parameters.hpp"

namespace modelrelay::registry {

bound_api_key::~bound_api_key() {
    secure_wipe(plain);
}

std::string_view kind_name(kind k) {
    switch (k) {
        case kind::connector:
            return "connector";
        case kind::model_group:
            return "model_group";
        case kind::model:
            return "model";
        case kind::task:
            return "task";
        case kind::inference_endpoint:
            return "inference_endpoint";
        case kind::controller:
            return "controller";
    }
    return "unknown";
}

std::optional<kind> kind_from_name(std::string_view n) {
    for (auto k :
         {kind::connector,
          kind::model_group,
          kind::model,
          kind::task,
          kind::inference_endpoint,
          kind::controller}) {
        if (kind_name(k) == n) {
            return k;
        }
    }
    return std::nullopt;
}

std::string_view index_name(kind k) {
    switch (k) {
        case kind::connector:
            return ".plugins-ml-connector";
        case kind::model_group:
            return ".plugins-ml-model-group";
        case kind::model:
            return ".plugins-ml-model";
        case kind::task:
            return ".plugins-ml-task";
        case kind::inference_endpoint:
            return ".inference";
        case kind::controller:
            return ".plugins-ml-controller";
    }
    return "";
}

std::optional<std::string> scalar_text(const boost::json::value& v) {
    switch (v.kind()) {
        case boost::json::kind::string:
            return std::string(v.get_string());
        case boost::json::kind::bool_:
            return std::string(v.get_bool() ? "true" : "false");
        case boost::json::kind::int64:
        case boost::json::kind::uint64:
            return boost::json::serialize(v);
        case boost::json::kind::double_:
            // parser.text() gives the number as written; the tree kept only its value, and `10.5` is how
            // it is almost always written (Boost.JSON would print `1.05E1`).
            return plain_double_to_string(v.get_double());
        default:
            return std::nullopt;
    }
}

}  // namespace modelrelay::registry
