// File: search.cpp
// The shared body of every ml-commons `_search` endpoint: candidate documents come from the snapshot
// (tenant- and ACL-filtered by registry::search_candidates), the DSL is evaluated by registry::run_search.
#include "registry/search.hpp"

#include <array>

#include <boost/json/parse.hpp>

#include "registry/ids.hpp"
#include "registry/json_parse.hpp"
#include "server/app.hpp"
#include "server/handlers/handlers.hpp"

namespace modelrelay::server::handlers {

namespace json = boost::json;

namespace {

registry::index_mapping mapping_of(registry::kind k) {
    switch (k) {
        case registry::kind::connector:
            return registry::connector_index_mapping();
        case registry::kind::model_group:
            return registry::model_group_index_mapping();
        case registry::kind::model:
            return registry::model_index_mapping();
        case registry::kind::task:
            return registry::task_index_mapping();
        case registry::kind::inference_endpoint:
            break;  // never searched: listed by the `_inference` GETs only
        case registry::kind::controller:
            break;  // never searched: ml-commons has no controller `_search`, only GET by model id
    }
    return registry::connector_index_mapping();
}

// Credentials never leave the server, whatever `_source` asks for (spec §2.4, §1.3).
constexpr std::array<std::string_view, 2> credential_fields{"credential", "connector.credential"};
constexpr std::array<std::string_view, 5> model_hidden_fields{
    "credential", "connector.credential", "model_content", "content", "ui_metadata"};

}  // namespace

http_response search_resources(request_context& ctx, registry::kind k, const registry::caller& who) {
    json::value body;
    if (auto source = ctx.query_param("source")) {
        boost::system::error_code ec;
        body = registry::parse_json(*source, ec);
        if (ec) {
            return fail(
                ctx, {registry::errc::json_parse, "Failed to parse source parameter: " + ec.message()}
            );
        }
    } else {
        auto parsed = parse_body(ctx);
        if (!parsed) {
            return fail(ctx, parsed.error());
        }
        body = std::move(*parsed);
    }
    if (body.is_null()) {
        // OpenSearchParseException in RestRequest.contentOrSourceParam.
        return fail(ctx, {registry::errc::parse_failed, "request body or source parameter is required"});
    }
    auto request = registry::parse_search(&body);
    if (!request) {
        return fail(ctx, request.error());
    }
    if (k == registry::kind::model && request->query == registry::no_query) {
        // MLSearchHandler sends the hidden-model check as the only (filter) clause when the caller gave no
        // query: every hit scores 0.0.
        request->nodes.push_back({});
        registry::query_node zero;
        zero.kind = registry::query_kind::constant_score;
        zero.boost = 0.0F;
        zero.child = static_cast<std::uint32_t>(request->nodes.size() - 1);
        request->nodes.push_back(zero);
        request->query = static_cast<std::uint32_t>(request->nodes.size() - 1);
    }
    // Tenancy and ACL pick the candidates before the DSL runs, so hits.total counts only what the caller
    // may see (security.md §1.2 search filter, R13).
    const auto snap = ctx.app.registry->current();
    const auto docs =
        registry::search_candidates(*snap, k, who, ctx.app.registry->access_options(*snap, who));
    registry::search_options opts;
    opts.index_name = registry::index_name(k);
    opts.always_excluded = k == registry::kind::model ? std::span<const std::string_view>(model_hidden_fields)
                                                      : std::span<const std::string_view>(credential_fields);
    opts.unsearchable = credential_fields;
    opts.mapping = mapping_of(k);
    auto out = registry::run_search(*request, docs, opts);
    if (!out) {
        registry::error e = std::move(out.error());
        if (e.code == registry::errc::query_shard) {
            const std::string name(opts.index_name);
            e.index = std::make_shared<const registry::index_ref>(registry::index_ref{
                name, registry::index_uuid(ctx.app.registry->node_id(), name)});
        }
        return fail(ctx, e);
    }
    return ok(ctx, *out);
}

}  // namespace modelrelay::server::handlers
