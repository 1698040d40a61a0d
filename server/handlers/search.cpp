// File: search.cpp
// The shared body of every ml-commons `_search` endpoint: candidate documents come from the snapshot
// (tenant- and ACL-filtered by registry::search_candidates), the DSL is evaluated by registry::run_search.
#include "registry/search.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

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

// RestRequest.parseContentType on `source_content_type`: a malformed media type is the caller's mistake
// (400); a well-formed one that is not JSON is an IllegalStateException (500), as OpenSearch answers for
// the types it has no parser for. YAML, CBOR and SMILE, which OpenSearch would parse, land there too.
registry::result<void> source_media_type(std::string_view raw) {
    constexpr auto tchar = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
               std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    };
    std::string_view media = raw.substr(0, raw.find(';'));
    while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) {
        media.remove_suffix(1);
    }
    const auto slash = media.find('/');
    auto type = media.substr(0, slash);
    auto sub = slash == std::string_view::npos ? std::string_view{} : media.substr(slash + 1);
    while (!sub.empty() && sub.front() == ' ') {
        sub.remove_prefix(1);
    }
    if (slash == std::string_view::npos || type.empty() || sub.empty() || !std::ranges::all_of(type, tchar) ||
        !std::ranges::all_of(sub, tchar)) {
        return registry::illegal_argument("invalid Content-Type header [" + std::string(raw) + "]");
    }
    if (is_json_media_type(media)) {
        return {};
    }
    return registry::error(
        registry::errc::illegal_state, "Unknown value for source_content_type [" + std::string(raw) + "]"
    );
}

}  // namespace

http_response search_resources(request_context& ctx, registry::kind k, const registry::caller& who) {
    json::value body;
    auto source = ctx.query_param("source");
    if (!ctx.req.body().empty()) {
        source.reset();  // RestRequest.contentOrSourceParam: the body wins
    }
    if (source) {
        auto type = ctx.query_param("source_content_type");
        if (!type) {
            return fail(
                ctx, {registry::errc::illegal_state, "source and source_content_type parameters are required"}
            );
        }
        if (auto known = source_media_type(*type); !known) {
            return fail(ctx, known.error());
        }
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
    // RestActionUtils.getSourceContext rebuilds the fetch context as FetchSourceContext(true, includes,
    // excludes): `_source:false` still returns the source.
    request->source.fetch = true;
    const auto snap = ctx.app.registry->current();
    if (!snap->index_created[static_cast<std::size_t>(k)]) {
        // Nothing of this kind was ever stored: ml-commons' system index does not exist, and
        // wrapListenerToHandleSearchIndexNotFound answers an empty SearchResponse (no shards, max_score 0).
        return ok(
            ctx,
            json::object{
                {"took", 0},
                {"timed_out", false},
                {"_shards", json::object{{"total", 0}, {"successful", 0}, {"skipped", 0}, {"failed", 0}}},
                {"hits",
                 json::object{
                     {"total", json::object{{"value", 0}, {"relation", "eq"}}},
                     {"max_score", 0.0},
                     {"hits", json::array{}}}}}
        );
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
    const auto access = ctx.app.registry->access_options(*snap, who);
    const auto docs = registry::search_candidates(*snap, k, who, access);
    registry::search_options opts;
    opts.index_name = registry::index_name(k);
    const auto base = k == registry::kind::model ? std::span<const std::string_view>(model_hidden_fields)
                                                 : std::span<const std::string_view>(credential_fields);
    std::vector<std::string_view> excluded(base.begin(), base.end());
    std::vector<std::string_view> unsearchable(credential_fields.begin(), credential_fields.end());
    if (!registry::owner_shown(k, access)) {
        excluded.emplace_back("owner");
        unsearchable.emplace_back("owner");
    }
    opts.always_excluded = excluded;
    opts.unsearchable = unsearchable;
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
