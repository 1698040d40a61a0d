// File: router.cpp
#include "server/router.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <boost/container/small_vector.hpp>
#include <boost/json/object.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/pct_string_view.hpp>

#include "registry/ascii.hpp"
#include "registry/error.hpp"
#include "registry/setting_value.hpp"
#include "registry/utf8.hpp"

namespace modelrelay::server {

namespace {

// Eight segments cover every route; longer paths spill to the heap.
using segment_list = boost::container::small_vector<std::string_view, 8>;

segment_list split_path(std::string_view path) {
    segment_list out;
    std::size_t i = 0;
    while (i < path.size()) {
        if (path[i] == '/') {
            ++i;
            continue;
        }
        const auto j = path.find('/', i);
        const auto end = j == std::string_view::npos ? path.size() : j;
        out.push_back(path.substr(i, end - i));
        i = end;
    }
    return out;
}

bool percent_decode(std::string_view in, std::string& out, bool plus_as_space);

// A path parameter's value (RestUtils.decodeComponent): escapes decoded, and bytes that are not UTF-8
// (`%FF`) replaced by U+FFFD as Java's decoder does, so an id echoed into an error stays valid JSON text.
std::string decode_segment(std::string_view raw) {
    std::string out;
    if (raw.find('%') == std::string_view::npos || !percent_decode(raw, out, false)) {
        out.assign(raw);
    }
    std::string fixed;
    if (registry::utf8::sanitize(out, fixed)) {
        return fixed;
    }
    return out;
}

// Paths an OpenAI client reaches when its base URL is wrong: anything under `/v1` (`/v1/v1/...`) and the
// OpenAI resources without the `/v1` prefix. No OpenSearch API lives there, and the SDKs expect OpenAI's
// 404 `Invalid URL` (seed 004: "omitting it (or doubling it up to /v1/v1) is a frequent cause of 404s").
bool openai_namespace(const segment_list& segs) {
    if (segs.empty()) {
        return false;
    }
    if (segs[0] == "v1") {
        return true;
    }
    if (segs[0] == "chat") {
        return segs.size() == 2 && segs[1] == "completions";
    }
    if (segs[0] == "completions" || segs[0] == "embeddings") {
        return segs.size() == 1;
    }
    return segs[0] == "models" && segs.size() <= 2;
}

bool is_param(std::string_view seg) {
    return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}

// OpenSearch lists allowed methods in RestRequest.Method enum order.
constexpr std::array<http::verb, 9> method_order{
    http::verb::get,
    http::verb::post,
    http::verb::put,
    http::verb::delete_,
    http::verb::options,
    http::verb::head,
    http::verb::patch,
    http::verb::trace,
    http::verb::connect};

// Lucene's LevenshteinDistance similarity, used by OpenSearch to suggest parameter names.
float similarity(std::string_view a, std::string_view b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        prev[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
        }
        std::swap(prev, cur);
    }
    const auto longest = std::max(a.size(), b.size());
    return longest == 0 ? 1.0F : 1.0F - static_cast<float>(prev[b.size()]) / static_cast<float>(longest);
}

// What every route consumes: the REST channel's (format, pretty, human, filter_path), RestController's
// error_trace, and the body's stand-ins.
constexpr std::array<std::string_view, 7> global_params{
    "pretty", "human", "error_trace", "filter_path", "format", "source", "source_content_type"};

std::vector<std::string_view> split_csv(std::string_view s) {
    std::vector<std::string_view> out;
    while (!s.empty()) {
        const auto c = s.find(',');
        out.push_back(s.substr(0, c));
        if (c == std::string_view::npos) {
            break;
        }
        s.remove_prefix(c + 1);
    }
    return out;
}

std::optional<std::string> unrecognized_params(const request_context& ctx, std::string_view accepted) {
    const auto accepted_list = split_csv(accepted);
    std::vector<std::string> invalid;
    for (const auto& [k, v] : ctx.query) {
        const bool known = std::find(global_params.begin(), global_params.end(), k) != global_params.end() ||
                           std::find(accepted_list.begin(), accepted_list.end(), k) != accepted_list.end();
        if (!known && std::find(invalid.begin(), invalid.end(), k) == invalid.end()) {
            invalid.push_back(k);
        }
    }
    if (invalid.empty()) {
        return std::nullopt;
    }
    std::string msg = "request [";
    msg += ctx.path;
    msg += "] contains unrecognized parameter";
    msg += invalid.size() > 1 ? "s: " : ": ";
    bool first = true;
    for (const auto& p : invalid) {
        if (!first) {
            msg += ", ";
        }
        first = false;
        msg += "[" + p + "]";
        // BaseRestHandler suggests from every consumed parameter: the route's, its path parameters and the
        // channel's.
        std::vector<std::pair<float, std::string_view>> candidates;
        const auto consider = [&](std::string_view c) {
            const float d = similarity(p, c);
            if (d > 0.7F && std::none_of(candidates.begin(), candidates.end(), [&](const auto& x) {
                    return x.second == c;
                })) {
                candidates.emplace_back(d, c);
            }
        };
        for (auto c : accepted_list) {
            consider(c);
        }
        for (const auto& [name, value] : ctx.route_params) {
            if (!name.empty()) {
                consider(name);
            }
        }
        for (auto c : {"pretty", "human", "error_trace", "filter_path", "format"}) {
            consider(c);
        }
        std::stable_sort(candidates.begin(), candidates.end(), [](auto& a, auto& b) {
            return a.first > b.first;
        });
        if (candidates.size() == 1) {
            msg += " -> did you mean [" + std::string(candidates[0].second) + "]?";
        } else if (candidates.size() > 1) {
            msg += " -> did you mean any of [";
            for (std::size_t i = 0; i < candidates.size(); ++i) {
                msg += (i ? ", " : "") + std::string(candidates[i].second);
            }
            msg += "]?";
        }
    }
    return msg;
}

}  // namespace

std::string_view request_context::param(std::string_view name) const {
    for (const auto& [k, v] : route_params) {
        if (k == name) {
            return v;
        }
    }
    return {};
}

std::optional<std::string_view> request_context::query_param(std::string_view name) const {
    for (const auto& [k, v] : query) {
        if (k == name) {
            return std::string_view(v);
        }
    }
    return std::nullopt;
}

bool request_context::query_flag(std::string_view name, bool def) const {
    const auto v = query_param(name);
    if (!v) {
        return def;
    }
    return *v != "false";
}

registry::result<bool> request_context::query_bool(std::string_view name, bool def) const {
    const auto v = query_param(name);
    if (!v) {
        return def;
    }
    if (v->empty()) {
        return true;  // `?deploy`: the parameter's presence turns it on
    }
    return registry::parse_bool_value(*v);
}

router::router(std::vector<route> routes) {
    for (auto& r : routes) {
        r.action = registry::action_for_route(http::to_string(r.verb), r.pattern);
        const auto segs = split_path(r.pattern);
        routes_.push_back({r, std::vector<std::string_view>(segs.begin(), segs.end())});
        const std::size_t n = routes_.back().segments.size();
        if (by_length_.size() <= n) {
            by_length_.resize(n + 1);
        }
    }
    for (std::size_t index = 0; index < routes_.size(); ++index) {
        const auto& segments = routes_[index].segments;
        auto& slot = by_length_[segments.size()];
        std::size_t i = segments.size();
        while (i > 0 && is_param(segments[i - 1])) {
            --i;
        }
        if (i == 0) {
            slot.all_params.push_back(index);
            continue;
        }
        slot.keyed.push_back({i - 1, segments[i - 1], index});
    }
}

dispatch_result router::match(request_context& ctx) const {
    const auto segs = split_path(ctx.raw_path.empty() ? ctx.path : ctx.raw_path);
    const http::verb verb = ctx.req.method();
    const compiled_route* best = nullptr;
    unsigned best_score = 0;
    boost::container::small_vector<http::verb, 8> allowed;
    unsigned best_path_score = 0;
    bool any_path = false;
    // Candidates in table order, so ties resolve as they would over the whole table.
    boost::container::small_vector<std::size_t, 8> candidates;
    if (segs.size() < by_length_.size()) {
        const auto& slot = by_length_[segs.size()];
        candidates.assign(slot.all_params.begin(), slot.all_params.end());
        for (const auto& k : slot.keyed) {
            if (segs[k.position] == k.literal) {
                candidates.push_back(k.index);
            }
        }
        std::sort(candidates.begin(), candidates.end());
    }
    for (const std::size_t index : candidates) {
        const compiled_route& cr = routes_[index];
        unsigned score = 0;
        bool ok = true;
        // Last segment first: routes of one length share their leading segments (`_plugins/_ml/...`)
        // and differ at the end, so most are rejected by the first comparison.
        for (std::size_t i = segs.size(); i-- > 0;) {
            if (is_param(cr.segments[i])) {
                // OpenSearch never binds a path parameter to an empty segment.
                continue;
            }
            if (cr.segments[i] != segs[i]) {
                ok = false;
                break;
            }
            score |= 1U << (31 - std::min<std::size_t>(i, 31));
        }
        if (!ok) {
            continue;
        }
        // A literal segment beats a parameter: `connectors/_search` wins over `connectors/{id}`.
        if (!any_path || score > best_path_score) {
            best_path_score = score;
            allowed.clear();
            any_path = true;
        }
        if (score == best_path_score) {
            allowed.push_back(cr.r.verb);
        }
        if (cr.r.verb == verb && (best == nullptr || score > best_score)) {
            best = &cr;
            best_score = score;
        }
    }
    dispatch_result out;
    if (best != nullptr && best_score == best_path_score) {
        out.handler_found = true;
        std::size_t n = 0;
        for (std::size_t i = 0; i < segs.size() && n < ctx.route_params.size(); ++i) {
            if (is_param(best->segments[i])) {
                const auto name = best->segments[i].substr(1, best->segments[i].size() - 2);
                ctx.route_params[n++] = {name, decode_segment(segs[i])};
            }
        }
        if (auto msg =
                best->r.params == any_params ? std::nullopt : unrecognized_params(ctx, best->r.params)) {
            out.early = error_response(registry::illegal_argument(std::move(*msg)), ctx.pretty);
            return out;
        }
        out.matched = &best->r;
        return out;
    }
    const std::string uri(ctx.req.target());
    const std::string method(http::to_string(verb));
    if (!any_path && openai_namespace(segs)) {
        // OpenAI's own answer to an unknown URL, in its error envelope.
        boost::json::object inner;
        inner["message"] = "Invalid URL (" + method + " " + std::string(ctx.path) + ")";
        inner["type"] = "invalid_request_error";
        inner["param"] = nullptr;
        inner["code"] = nullptr;
        boost::json::object body;
        body["error"] = std::move(inner);
        out.early = json_response(404, body, ctx.pretty, registry::number_style::plain);
        return out;
    }
    // The message lists the methods as Java prints a set ("[GET, PUT]"); the Allow header joins them with
    // a bare comma (Strings.collectionToDelimitedString).
    std::string listed;
    std::string header;
    for (auto m : method_order) {
        if (std::find(allowed.begin(), allowed.end(), m) != allowed.end()) {
            if (!header.empty()) {
                listed.append(", ");
                header.push_back(',');
            }
            listed.append(http::to_string(m));
            header.append(http::to_string(m));
        }
    }
    if (verb == http::verb::options) {
        // RestController.handleOptionsRequest: 200, an empty text body, and Allow when the path is known.
        http_response res{http::status::ok, 11};
        res.set(http::field::content_type, "text/plain; charset=UTF-8");
        if (!header.empty()) {
            res.set(http::field::allow, header);
        }
        res.prepare_payload();
        out.early = std::move(res);
        return out;
    }
    if (std::find(method_order.begin(), method_order.end(), verb) == method_order.end()) {
        // RestRequest.Method has no such constant: its IllegalArgumentException becomes a 405 that does
        // not repeat the method, known path or not.
        std::string msg = "Unexpected HTTP method";
        if (!listed.empty()) {
            msg.append(", allowed: [").append(listed).push_back(']');
        }
        out.early = simple_error_response(405, msg, ctx.pretty);
        if (!header.empty()) {
            out.early->set(http::field::allow, header);
        }
        return out;
    }
    if (!any_path) {
        // RestController.handleBadRequest prints `new URI(uri).getPath()`: the decoded path without the
        // query, or a fixed text when java.net.URI refuses the target.
        std::string text = "invalid uri has been requested";
        if (java_uri_accepts(uri)) {
            text = "no handler found for uri [";
            text.append(ctx.path).append("] and method [").append(method).push_back(']');
        }
        out.early = simple_error_response(400, text, ctx.pretty);
        return out;
    }
    out.early = simple_error_response(
        405,
        "Incorrect HTTP method for uri [" + uri + "] and method [" + method + "], allowed: [" + listed + "]",
        ctx.pretty
    );
    out.early->set(http::field::allow, header);
    return out;
}

bool is_json_media_type(std::string_view media) {
    return media == "application/json" ||  // what nearly every client sends
           registry::iequals_ascii(media, "application/json") ||
           registry::iequals_ascii(media, "application/vnd.elasticsearch+json") ||
           registry::iequals_ascii(media, "application/x-ndjson") ||
           registry::iequals_ascii(media, "application/vnd.opensearch+json");
}

bool java_uri_accepts(std::string_view target) {
    for (std::size_t i = 0; i < target.size(); ++i) {
        const auto c = static_cast<unsigned char>(target[i]);
        if (c <= 0x20 || c == 0x7f) {
            return false;
        }
        if (c == '%') {
            if (i + 2 >= target.size() || !std::isxdigit(static_cast<unsigned char>(target[i + 1])) ||
                !std::isxdigit(static_cast<unsigned char>(target[i + 2]))) {
                return false;
            }
            continue;
        }
        if (std::string_view("\"<>\\^`{|}[]").find(static_cast<char>(c)) != std::string_view::npos) {
            return false;
        }
    }
    return true;
}

namespace {

// Percent-decodes `in` into `out` (Boost.URL checks the escapes); false on a malformed escape
// (RestUtils.decodeComponent's "invalid escape sequence").
bool percent_decode(std::string_view in, std::string& out, bool plus_as_space) {
    const auto pct = boost::urls::make_pct_string_view(in);
    if (!pct) {
        return false;
    }
    out = pct->decode(boost::urls::encoding_opts(plus_as_space));
    return true;
}

// OpenSearch decodes the target itself and takes bytes RFC 3986 keeps out of a target, so a
// `<MODEL_ID>` pasted from a walkthrough reaches the handler (and its 404) rather than failing here;
// only controls, spaces and malformed escapes are refused.
bool decode_lenient(
    std::string_view target, std::string& path, std::vector<std::pair<std::string, std::string>>& query
) {
    if (target.empty() || target.front() != '/' || std::any_of(target.begin(), target.end(), [](char c) {
            const auto u = static_cast<unsigned char>(c);
            return u <= 0x20 || u == 0x7f;
        })) {
        return false;
    }
    const auto q = target.find('?');
    if (!percent_decode(target.substr(0, q), path, false)) {
        return false;
    }
    query.clear();
    if (q == std::string_view::npos) {
        return true;
    }
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        if (pair.empty()) {
            continue;
        }
        const auto eq = pair.find('=');
        std::string key;
        std::string value;
        if (!percent_decode(pair.substr(0, eq), key, true) ||
            (eq != std::string_view::npos && !percent_decode(pair.substr(eq + 1), value, true))) {
            return false;
        }
        query.emplace_back(std::move(key), std::move(value));
    }
    return true;
}

}  // namespace

bool decode_target(
    std::string_view target, std::string& path, std::vector<std::pair<std::string, std::string>>& query
) {
    // Most targets are a plain path: no query, nothing percent-encoded. Such a target is its own decoded
    // path once every byte is one RFC 3986 allows in a path; anything else goes through Boost.URL.
    static constexpr auto plain_path_byte = [] {
        std::array<bool, 256> t{};
        for (int c = 'a'; c <= 'z'; ++c) {
            t[c] = true;
        }
        for (int c = 'A'; c <= 'Z'; ++c) {
            t[c] = true;
        }
        for (int c = '0'; c <= '9'; ++c) {
            t[c] = true;
        }
        for (unsigned char c : std::string_view("-._~!$&'()*+,;=:@/")) {
            t[c] = true;
        }
        return t;
    }();
    if (!target.empty() && target.front() == '/' && std::all_of(target.begin(), target.end(), [](char c) {
            return plain_path_byte[static_cast<unsigned char>(c)];
        })) {
        path.assign(target);
        query.clear();
        return true;
    }
    auto parsed = boost::urls::parse_origin_form(target);
    if (!parsed) {
        return decode_lenient(target, path, query);
    }
    path = parsed->path();
    query.clear();
    for (auto p : parsed->params()) {
        query.emplace_back(p.key, p.has_value ? p.value : std::string());
    }
    return true;
}

}  // namespace modelrelay::server
