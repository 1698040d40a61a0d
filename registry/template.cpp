// File: template.cpp
// Compilation and rendering of connector templates. The scanner below is commons-text StringSubstitutor's
// substitute() loop run once over the template text, recording what it would do instead of doing it; the
// renderer replays that record against a parameter map. Comments name the commons-text / ml-commons
// behaviour each branch reproduces; template.hpp lists the user-visible rules.
#include "registry/template.hpp"

#include <algorithm>
#include <array>
#include <optional>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "registry/ascii.hpp"
#include "registry/json_parse.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

constexpr std::string_view value_delimiter = ":-";
constexpr char escape_char = '$';

bool is_java_word_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

std::string quoted_null_occurrence(std::string_view key) {
    std::string occ;
    occ.reserve(key.size() + 24);
    occ.append("\"${parameters.").append(key).append(":-null}\"");
    return occ;
}

// Java String.replace(target, replacement): non-overlapping, left to right.
void replace_all(std::string& text, std::string_view target, std::string_view replacement) {
    std::size_t pos = 0;
    while ((pos = text.find(target, pos)) != std::string::npos) {
        text.replace(pos, target.size(), replacement);
        pos += replacement.size();
    }
}

// Java regex `.` does not match these line terminators: \n \r U+0085 U+2028 U+2029.
bool has_java_line_terminator(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '\n' || c == '\r') {
            return true;
        }
        if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x85) {
            return true;
        }
        if (c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
            (static_cast<unsigned char>(s[i + 2]) == 0xA8 || static_cast<unsigned char>(s[i + 2]) == 0xA9)) {
            return true;
        }
    }
    return false;
}

bool is_json_blank(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
    });
}

}  // namespace

// Private access to compiled_template for the free functions in this file.
struct template_access {
    using segment = compiled_template::segment;

    struct render_state {
        const param_map& params;
        const param_map* extras;
        // For the cycle message (commons-text names the whole text being substituted).
        std::string_view top_source;
        std::string_view prefix;
        // Set when the fast quoted-null path ran: the message must show the null-filled text.
        const compiled_template* null_filled_top = nullptr;
        std::vector<std::string_view> stack;   // variables being resolved (commons-text priorVariables)
        std::size_t nested_substitutions = 0;  // values expanded again (max_nested_substitutions)

        const std::string* lookup(std::string_view key) const {
            if (extras != nullptr) {
                if (const auto* v = find_param(*extras, key)) {
                    return v;
                }
            }
            return find_param(params, key);
        }
    };

    static std::string_view text(const compiled_template& t, std::size_t off, std::size_t len) {
        return std::string_view(t.source_).substr(off, len);
    }

    // ---------------------------------------------------------------------------------------------
    // Compilation

    static compiled_template compile(
        std::string_view source, std::string_view prefix, std::size_t scan_from, bool body_rules
    ) {
        compiled_template t;
        t.source_.assign(source);
        t.prefix_.assign(prefix);
        t.mentions_prefix_ = source.find(prefix) != std::string_view::npos;
        if (t.mentions_prefix_) {
            scan(t, scan_from);
        } else if (!source.empty()) {
            t.segments_.push_back(segment{0, source.size()});
            t.literal_bytes_ = source.size();
        }
        if (body_rules && prefix == parameters_prefix) {
            analyse_quoted_nulls(t);
        }
        return t;
    }

    static void scan(compiled_template& t, std::size_t scan_from) {
        const std::string_view src = t.source_;
        const std::string_view prefix = t.prefix_;
        std::size_t literal_begin = 0;
        auto emit_literal = [&](std::size_t end) {
            if (end > literal_begin) {
                t.segments_.push_back(segment{literal_begin, end - literal_begin});
                t.literal_bytes_ += end - literal_begin;
            }
        };
        std::size_t pos = scan_from;
        std::size_t escape_close = 0;  // the `}` ending the last escaped placeholder
        while (true) {
            const std::size_t start = src.find(prefix, pos);
            if (start == std::string_view::npos) {
                break;
            }
            const std::size_t name_begin = start + prefix.size();
            // Substitution-in-variables is off, so the variable ends at the first suffix. Without one the
            // suffix search runs to the end of the text and the scan is over.
            const std::size_t close = src.find('}', name_begin);
            if (close == std::string_view::npos) {
                break;
            }
            if (start > 0 && src[start - 1] == escape_char) {
                // `$${...}`: delete the escape char, keep the placeholder as text, resume scanning inside it
                // (commons-text continues at startPos + 1 of the shortened buffer).
                emit_literal(start - 1);
                literal_begin = start;
                pos = start + 2;
                escape_close = close;
                continue;
            }
            emit_literal(start);
            segment v;
            v.variable = true;
            v.off = start;
            v.len = close + 1 - start;
            v.name_off = name_begin;
            v.name_len = close - name_begin;
            v.inside_escape = start < escape_close;
            const std::string_view expr = src.substr(name_begin, close - name_begin);
            const std::size_t nested = expr.find(prefix);
            const std::size_t delim = expr.find(value_delimiter);
            // A nested prefix before `:-` stops the default-value search.
            if (delim != std::string_view::npos && delim < nested) {
                v.has_default = true;
                v.name_len = delim;
                v.default_off = name_begin + delim + value_delimiter.size();
                v.default_len = expr.size() - delim - value_delimiter.size();
            }
            if (nested != std::string_view::npos) {
                v.escaped_alt = static_cast<int>(t.escaped_alts_.size());
                t.escaped_alts_.push_back(std::make_shared<const compiled_template>(
                    compile(src.substr(start, close + 1 - start), prefix, 2, false)
                ));
            }
            t.segments_.push_back(v);
            t.has_variables_ = true;
            literal_begin = pos = close + 1;
        }
        emit_literal(src.size());
    }

    // HttpConnector.fillNullParameters: regex `"\$\{parameters\.(\w+):-null}"` lists the keys; for each
    // absent key every `"${parameters.k:-null}"` (quotes included) becomes `null` before substitution.
    // When each such occurrence is exactly one compiled variable between two quote characters, the
    // replacement is folded into the segment (quoted_null); otherwise the render replays the text edit.
    static void analyse_quoted_nulls(compiled_template& t) {
        const std::string_view src = t.source_;
        constexpr std::string_view open = "\"${parameters.";
        constexpr std::string_view tail = ":-null}\"";
        std::size_t pos = 0;
        std::size_t q = 0;
        while ((q = src.find(open, pos)) != std::string_view::npos) {
            const std::size_t key_begin = q + open.size();
            std::size_t k = key_begin;
            while (k < src.size() && is_java_word_char(src[k])) {
                ++k;
            }
            if (k > key_begin && src.substr(k, tail.size()) == tail) {
                const std::string_view key = src.substr(key_begin, k - key_begin);
                if (std::find(t.null_keys_.begin(), t.null_keys_.end(), key) == t.null_keys_.end()) {
                    t.null_keys_.emplace_back(key);
                }
                pos = k + tail.size();
            } else {
                pos = q + 1;
            }
        }
        if (t.null_keys_.empty()) {
            return;
        }
        std::vector<std::size_t> marked;       // segment indexes
        std::vector<std::size_t> used_quotes;  // source offsets of quote chars already folded
        for (const auto& key : t.null_keys_) {
            const std::string occ = quoted_null_occurrence(key);
            std::size_t from = 0;
            while ((q = src.find(occ, from)) != std::string_view::npos) {
                const std::size_t close_quote = q + occ.size() - 1;
                const auto idx = variable_at(t, q + 1);
                const bool shared =
                    std::find(used_quotes.begin(), used_quotes.end(), q) != used_quotes.end() ||
                    std::find(used_quotes.begin(), used_quotes.end(), close_quote) != used_quotes.end();
                if (!idx || shared || t.segments_[*idx].inside_escape || *idx == 0 ||
                    *idx + 1 >= t.segments_.size() || t.segments_[*idx - 1].variable ||
                    t.segments_[*idx + 1].variable) {
                    t.null_slow_path_ = true;
                    return;
                }
                marked.push_back(*idx);
                used_quotes.push_back(q);
                used_quotes.push_back(close_quote);
                from = q + occ.size();
            }
        }
        for (const auto idx : marked) {
            auto& before = t.segments_[idx - 1];
            auto& after = t.segments_[idx + 1];
            t.segments_[idx].quoted_null = true;
            before.len -= 1;
            after.off += 1;
            after.len -= 1;
            t.literal_bytes_ -= 2;
        }
    }

    static std::optional<std::size_t> variable_at(const compiled_template& t, std::size_t off) {
        const auto it = std::lower_bound(
            t.segments_.begin(),
            t.segments_.end(),
            off,
            [](const segment& s, std::size_t o) { return s.off < o; }
        );
        if (it == t.segments_.end() || it->off != off || !it->variable) {
            return std::nullopt;
        }
        return static_cast<std::size_t>(it - t.segments_.begin());
    }

    // The template text after fillNullParameters, as ml-commons substitutes it.
    static std::string null_filled_source(const compiled_template& t, const param_map& params) {
        std::string filled = t.source_;
        for (const auto& key : t.null_keys_) {
            if (find_param(params, key) == nullptr) {
                replace_all(filled, quoted_null_occurrence(key), "null");
            }
        }
        return filled;
    }

    // ---------------------------------------------------------------------------------------------
    // Rendering

    // commons-text names the buffer as it stood when the first real variable was reached: escape
    // characters before that variable are already gone, nothing after it has been touched yet.
    static std::string cycle_subject(std::string_view top_text, std::string_view prefix) {
        const compiled_template t = compile(top_text, prefix, 0, false);
        std::string subject;
        for (const auto& s : t.segments_) {
            if (s.variable) {
                subject.append(top_text.substr(s.off));
                return subject;
            }
            subject.append(text(t, s.off, s.len));
        }
        return std::string(top_text);
    }

    static error cycle_error(const render_state& st) {
        std::string msg = "Infinite loop in property interpolation of ";
        if (st.null_filled_top != nullptr) {
            msg.append(cycle_subject(null_filled_source(*st.null_filled_top, st.params), st.prefix));
        } else {
            msg.append(cycle_subject(st.top_source, st.prefix));
        }
        msg.append(": ");
        for (std::size_t i = 0; i < st.stack.size(); ++i) {
            if (i > 0) {
                msg.append("->");
            }
            msg.append(st.stack[i]);
        }
        return error(errc::illegal_state, std::move(msg));
    }

    static std::size_t estimate_size(const compiled_template& t, const render_state& st) {
        std::size_t n = t.literal_bytes_;
        for (const auto& s : t.segments_) {
            if (s.variable) {
                const auto* v = st.lookup(text(t, s.name_off, s.name_len));
                n += v != nullptr ? v->size() : s.len;
            }
        }
        return n;
    }

    static result<void> render_variable(
        const compiled_template& t, const segment& s, std::string& out, render_state& st
    ) {
        const std::string_view name = text(t, s.name_off, s.name_len);
        if (std::find(st.stack.begin(), st.stack.end(), name) != st.stack.end()) {
            return cycle_error(st);
        }
        if (st.stack.size() >= max_substitution_depth) {
            return illegal_argument("Parameter substitution is nested too deeply");
        }
        std::string_view value;
        if (const auto* v = st.lookup(name)) {
            value = *v;
        } else if (s.has_default) {
            value = text(t, s.default_off, s.default_len);
        } else {
            out.append(text(t, s.off, s.len));  // unknown variable: left untouched
            return {};
        }
        if (value.find(t.prefix_) == std::string_view::npos) {
            out.append(value);
        } else {
            // Recursive resolution of the inserted value, as its own region.
            if (++st.nested_substitutions > max_nested_substitutions) {
                return illegal_argument("Rendered template exceeds the maximum size");
            }
            st.stack.push_back(name);
            const compiled_template nested = compile(value, t.prefix_, 0, false);
            auto r = render_segments(nested, out, out.size(), st, false);
            st.stack.pop_back();
            if (!r) {
                return r;
            }
        }
        if (out.size() > max_rendered_bytes) {
            return illegal_argument("Rendered template exceeds the maximum size");
        }
        return {};
    }

    // `region_start`: where the text being substituted begins in `out`; commons-text never looks at a
    // character before it when testing for an escape.
    static result<void> render_segments(
        const compiled_template& t,
        std::string& out,
        std::size_t region_start,
        render_state& st,
        bool apply_quoted_nulls
    ) {
        for (const auto& s : t.segments_) {
            if (!s.variable) {
                out.append(text(t, s.off, s.len));
                continue;
            }
            if (s.quoted_null) {
                if (apply_quoted_nulls && find_param(st.params, text(t, s.name_off, s.name_len)) == nullptr) {
                    out.append("null");
                    continue;
                }
                out.push_back('"');
                if (auto r = render_variable(t, s, out, st); !r) {
                    return r;
                }
                out.push_back('"');
                continue;
            }
            if (out.size() > region_start && out.back() == escape_char) {
                // The previous (substituted) character is `$`: commons-text treats it as an escape.
                out.pop_back();
                if (s.escaped_alt >= 0) {
                    if (auto r =
                            render_segments(*t.escaped_alts_[s.escaped_alt], out, region_start, st, false);
                        !r) {
                        return r;
                    }
                } else {
                    out.append(text(t, s.off, s.len));
                }
                continue;
            }
            if (auto r = render_variable(t, s, out, st); !r) {
                return r;
            }
        }
        return {};
    }

    static result<void> render_plain(
        const compiled_template& t, std::string& out, const param_map& params, const param_map* extras
    ) {
        render_state st{params, extras, t.source_, t.prefix_, nullptr, {}};
        out.reserve(out.size() + estimate_size(t, st));
        return render_segments(t, out, out.size(), st, false);
    }

    static result<void> render_body_text(
        std::string& out, const compiled_template& body, const param_map& params, const param_map* extras
    ) {
        if (body.null_slow_path_) {
            const std::string filled = null_filled_source(body, params);
            if (filled != body.source_) {
                const compiled_template t = compile(filled, body.prefix_, 0, false);
                render_state st{params, extras, filled, t.prefix_, nullptr, {}};
                out.reserve(out.size() + estimate_size(t, st));
                return render_segments(t, out, out.size(), st, false);
            }
            return render_plain(body, out, params, extras);
        }
        render_state st{params, extras, body.source_, body.prefix_, nullptr, {}};
        if (!body.null_keys_.empty()) {
            st.null_filled_top = &body;
        }
        out.reserve(out.size() + estimate_size(body, st));
        return render_segments(body, out, out.size(), st, true);
    }
};

// -------------------------------------------------------------------------------------------------------
// compiled_template

compiled_template compiled_template::compile(std::string_view source, std::string_view prefix) {
    return template_access::compile(source, prefix, 0, true);
}

result<void> compiled_template::render_into(
    std::string& out, const param_map& params, const param_map* extras
) const {
    return template_access::render_plain(*this, out, params, extras);
}

result<std::string> compiled_template::render(const param_map& params, const param_map* extras) const {
    std::string out;
    if (auto r = render_into(out, params, extras); !r) {
        return r.error();
    }
    return out;
}

// -------------------------------------------------------------------------------------------------------
// Body

param_map to_string_extras(const param_map& params) {
    constexpr std::string_view suffix = ".toString()}";
    param_map extras;
    for (const auto& [key, value] : params) {
        const std::string_view v = value;
        std::size_t pos = 0;
        std::size_t p = 0;
        while ((p = v.find(parameters_prefix, pos)) != std::string_view::npos) {
            const std::size_t group = p + parameters_prefix.size();
            // `(.+?)`: at least one character, the shortest match, no line terminator inside.
            const std::size_t end = group < v.size() ? v.find(suffix, group + 1) : std::string_view::npos;
            if (end == std::string_view::npos || has_java_line_terminator(v.substr(group, end - group))) {
                pos = p + 1;
                continue;
            }
            const std::string_view name = v.substr(group, end - group);
            if (const auto* target = find_param(params, name)) {
                std::string escaped;
                escaped.reserve(target->size() + 8);
                append_gson_escaped(escaped, *target, true);
                extras.insert_or_assign(std::string(name) + ".toString()", std::move(escaped));
            }
            pos = end + suffix.size();
        }
    }
    return extras;
}

void make_placeholders_opaque(std::string& value) {
    constexpr std::string_view escaped = "\\u0024";
    std::size_t at = value.find(escape_char);
    if (at == std::string::npos) {
        return;
    }
    std::string out;
    out.reserve(value.size() + 16);
    std::size_t from = 0;
    for (; at != std::string::npos; at = value.find(escape_char, at + 1)) {
        const bool opens = at + 1 < value.size() && value[at + 1] == '{';
        if (opens || at + 1 == value.size()) {
            out.append(value, from, at - from);
            out.append(escaped);
            from = at + 1;
        }
    }
    if (from == 0) {
        return;
    }
    out.append(value, from, std::string::npos);
    value = std::move(out);
}

bool is_json_or_ndjson(std::string_view payload) {
    if (is_json_container(payload)) {
        return true;
    }
    if (payload.find('\n') == std::string_view::npos) {
        return false;
    }
    bool any = false;
    std::size_t begin = 0;
    while (begin <= payload.size()) {
        std::size_t end = payload.find('\n', begin);
        if (end == std::string_view::npos) {
            end = payload.size();
        }
        const std::string_view line = payload.substr(begin, end - begin);
        if (!is_json_blank(line)) {
            if (!is_json_container(line)) {
                return false;
            }
            any = true;
        }
        begin = end + 1;
    }
    return any;
}

result<void> check_missing_parameters(std::string_view payload, const param_map& params) {
    if (const auto* skip = find_param(params, skip_validating_missing_parameters_key);
        skip != nullptr && iequals_ascii(*skip, "true")) {
        return {};
    }
    if (payload.find("${parameters") == std::string_view::npos) {
        return {};
    }
    // Connector.validatePayload: regex `\$\{parameters\.([^}]+)}`, names joined with ", ".
    std::string names;
    std::size_t pos = 0;
    std::size_t p = 0;
    while ((p = payload.find(parameters_prefix, pos)) != std::string_view::npos) {
        const std::size_t group = p + parameters_prefix.size();
        const std::size_t close = payload.find('}', group);
        if (close == std::string_view::npos || close == group) {
            pos = p + 1;
            continue;
        }
        if (!names.empty()) {
            names.append(", ");
        }
        names.append(payload.substr(group, close - group));
        pos = close + 1;
    }
    if (names.empty()) {
        // `${parameters` without a well-formed variable: ml-commons fails inside validatePayload with
        // StringIndexOutOfBoundsException (`errorBuilder.substring(0, -2)`), an HTTP 500.
        return error(errc::exception, "begin 0, end -2, length 0");
    }
    return illegal_argument("Some parameter placeholder not filled in payload: " + names);
}

result<void> render_body_into(
    std::string& out, const compiled_template& body, const param_map& params, body_options opt
) {
    const std::size_t begin = out.size();
    const param_map extras = to_string_extras(params);
    if (auto r = template_access::render_body_text(out, body, params, extras.empty() ? nullptr : &extras);
        !r) {
        return r;
    }
    const std::string_view payload = std::string_view(out).substr(begin);
    if (!is_json_or_ndjson(payload)) {
        return illegal_argument("Invalid payload: " + std::string(payload));
    }
    if (opt.check_missing_parameters) {
        return check_missing_parameters(payload, params);
    }
    return {};
}

result<std::string> render_body(const compiled_template& body, const param_map& params, body_options opt) {
    std::string out;
    if (auto r = render_body_into(out, body, params, opt); !r) {
        return r.error();
    }
    return out;
}

namespace {

// commons-text StringEscapeUtils.unescapeJava, enough of it to compare `_llm_interface` the way
// ml-commons does: octal and \u escapes, \b \n \t \f \r, \\ \" \', and a lone backslash dropped.
std::string unescape_java(std::string_view s) {
    auto append_cp = [](std::string& out, char32_t cp) {
        if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else {
            out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
    };
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\' || i + 1 >= s.size()) {
            out.push_back(s[i]);
            continue;
        }
        const char c = s[i + 1];
        if (c >= '0' && c <= '7') {
            // up to three octal digits when the first is 0-3, else two
            const std::size_t max = c <= '3' ? 3 : 2;
            std::size_t n = 0;
            char32_t v = 0;
            while (n < max && i + 1 + n < s.size() && s[i + 1 + n] >= '0' && s[i + 1 + n] <= '7') {
                v = v * 8 + static_cast<char32_t>(s[i + 1 + n] - '0');
                ++n;
            }
            append_cp(out, v);
            i += n;
            continue;
        }
        if (c == 'u') {
            std::size_t j = i + 1;
            while (j < s.size() && s[j] == 'u') {
                ++j;
            }
            if (j < s.size() && s[j] == '+') {
                ++j;
            }
            if (j + 4 <= s.size() && hex_digit_value(s[j]) >= 0 && hex_digit_value(s[j + 1]) >= 0 &&
                hex_digit_value(s[j + 2]) >= 0 && hex_digit_value(s[j + 3]) >= 0) {
                const auto v = static_cast<char32_t>(
                    (hex_digit_value(s[j]) << 12) | (hex_digit_value(s[j + 1]) << 8) |
                    (hex_digit_value(s[j + 2]) << 4) | hex_digit_value(s[j + 3])
                );
                append_cp(out, v);
                i = j + 3;
                continue;
            }
        }
        switch (c) {
            case 'b':
                out.push_back('\b');
                ++i;
                continue;
            case 'n':
                out.push_back('\n');
                ++i;
                continue;
            case 't':
                out.push_back('\t');
                ++i;
                continue;
            case 'f':
                out.push_back('\f');
                ++i;
                continue;
            case 'r':
                out.push_back('\r');
                ++i;
                continue;
            case '\\':
            case '"':
            case '\'':
                out.push_back(c);
                ++i;
                continue;
            default:
                continue;  // a lone backslash translates to nothing
        }
    }
    return out;
}

std::string_view trim_java(std::string_view s) {
    while (!s.empty() && static_cast<unsigned char>(s.front()) <= 0x20) {
        s.remove_prefix(1);
    }
    while (!s.empty() && static_cast<unsigned char>(s.back()) <= 0x20) {
        s.remove_suffix(1);
    }
    return s;
}

}  // namespace

bool wants_stream_flag(const param_map& params) {
    if (find_param(params, "stream") == nullptr) {
        return false;
    }
    const auto* iface = find_param(params, "_llm_interface");
    if (iface == nullptr) {
        return false;  // ml-commons dereferences null here (NullPointerException); we simply say no
    }
    return names_openai_chat_interface(*iface);
}

bool names_openai_chat_interface(std::string_view llm_interface) {
    const std::string_view trimmed = trim_java(llm_interface);
    if (trimmed.empty()) {
        return false;
    }
    std::string lowered(trimmed);
    std::transform(lowered.begin(), lowered.end(), lowered.begin(), [](char c) {
        return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    });
    return unescape_java(lowered) == "openai/v1/chat/completions";
}

namespace {

// The rendered payload as the JSON object ml-commons' Gson reads it into, with its texts for what is not.
result<json::value> payload_object(std::string_view payload) {
    boost::system::error_code ec;
    json::value doc = parse_json(payload, ec);
    if (ec) {
        return illegal_argument("Invalid payload: " + std::string(payload));
    }
    if (!doc.is_object()) {
        return error(errc::illegal_state, "Not a JSON Object: " + std::string(payload));
    }
    return doc;
}

}  // namespace

result<std::string> add_stream_flag(std::string_view payload) {
    auto doc = payload_object(payload);
    if (!doc) {
        return doc.error();
    }
    doc->get_object()["stream"] = true;
    return to_gson_json(*doc, false, true, key_order::insertion);
}

result<std::optional<std::string>> apply_structured_output(
    std::string_view payload, const param_map& params
) {
    static constexpr std::array<std::string_view, 3> fields = {
        "response_format", "generationConfig", "toolConfig"};
    struct change {
        std::string_view field;
        const std::string* replace = nullptr;
        const std::string* additions = nullptr;
    };
    std::array<change, fields.size()> changes;
    bool any = false;
    std::string key;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        changes[i].field = fields[i];
        key.assign("_").append(fields[i]).append("_json");
        changes[i].replace = find_param(params, key);
        key.assign("_").append(fields[i]).append("_additions_json");
        changes[i].additions = find_param(params, key);
        any = any || changes[i].replace != nullptr || changes[i].additions != nullptr;
    }
    if (!any) {
        return std::optional<std::string>();
    }
    auto parsed = payload_object(payload);
    if (!parsed) {
        return parsed.error();
    }
    json::value doc = std::move(*parsed);
    const auto object_param = [](std::string_view field, std::string_view suffix, const std::string& value
                              ) -> result<json::object> {
        boost::system::error_code pec;
        json::value v = parse_json(value, pec);
        if (pec || !v.is_object()) {
            return illegal_argument(
                "Invalid JSON object in parameter _" + std::string(field) + std::string(suffix) + ": " + value
            );
        }
        return std::move(v.get_object());
    };
    auto& body = doc.get_object();
    for (const auto& c : changes) {
        if (c.replace != nullptr) {
            auto v = object_param(c.field, "_json", *c.replace);
            if (!v) {
                return v.error();
            }
            body[c.field] = std::move(*v);
        }
        if (c.additions != nullptr) {
            auto v = object_param(c.field, "_additions_json", *c.additions);
            if (!v) {
                return v.error();
            }
            auto& target = body[c.field];
            if (!target.is_object()) {
                target = std::move(*v);
                continue;
            }
            for (auto& [k, value] : *v) {
                target.get_object()[k] = std::move(value);
            }
        }
    }
    return std::optional<std::string>(to_gson_json(doc, false, true, key_order::insertion));
}

// -------------------------------------------------------------------------------------------------------
// Pre/post-process functions

result<std::string> render_process_function(std::string_view function, const param_map& params) {
    if (function.find(parameters_prefix) == std::string_view::npos) {
        return std::string(function);
    }
    param_map quoted;
    quoted.reserve(params.size());
    for (const auto& [key, value] : params) {
        std::string q;
        q.reserve(value.size() + 2);
        q.push_back('"');
        append_gson_escaped(q, value, true);
        q.push_back('"');
        quoted.emplace(key, std::move(q));
    }
    return compiled_template::compile(function).render(quoted);
}

// -------------------------------------------------------------------------------------------------------
// URL

result<std::string> render_url(
    const compiled_template& url, const param_map& params, const param_map* extras
) {
    if (params.empty() && (extras == nullptr || extras->empty())) {
        return url.source();
    }
    return url.render(params, extras);
}

// -------------------------------------------------------------------------------------------------------
// Credentials and headers

result<compiled_template> bind_credentials(
    const compiled_template& header_value, const param_map& credentials
) {
    const compiled_template with_credentials =
        compiled_template::compile(header_value.source(), credential_prefix);
    auto bound = with_credentials.render(credentials);
    if (!bound) {
        return bound.error();
    }
    return compiled_template::compile(*bound, parameters_prefix);
}

bool is_blocked_dynamic_header(std::string_view name) {
    static constexpr std::string_view blocked[] = {
        "Authorization",
        "Proxy-Authorization",
        "Cookie",
        "X-API-Key",
        "X-Auth-Token",
        "X-Auth-Header",
        "Host",
        "X-Forwarded-Host",
        "X-Forwarded-Server",
        "X-Forwarded-For",
        "Forwarded",
        "X-Real-IP",
        "X-Client-IP",
        "CF-Connecting-IP",
        "True-Client-IP",
        "X-Originating-IP",
    };
    return std::any_of(std::begin(blocked), std::end(blocked), [&](std::string_view b) {
        return iequals_ascii(b, name);
    });
}

result<void> check_header_placeholders(
    std::string_view name, std::string_view value_template, bool forbid_all
) {
    if (value_template.find(parameters_prefix) == std::string_view::npos) {
        return {};
    }
    if (forbid_all) {
        return illegal_argument(
            "Header '" + std::string(name) + "' cannot use ${parameters.*} placeholders in MCP connectors."
        );
    }
    if (is_blocked_dynamic_header(name)) {
        return illegal_argument(
            "Header '" + std::string(name) +
            "' cannot use ${parameters.*} placeholders for security reasons. Use ${credential.*} instead."
        );
    }
    return {};
}

result<std::string> render_header(
    std::string_view name, const compiled_template& value, const param_map& params, const param_map* extras
) {
    if (value.source().find(parameters_prefix) == std::string_view::npos) {
        return value.source();
    }
    result<std::string> rendered = value.prefix() == parameters_prefix
                                       ? value.render(params, extras)
                                       : compiled_template::compile(value.source()).render(params, extras);
    if (!rendered) {
        return rendered;
    }
    const std::string& v = *rendered;
    if (v.find(parameters_prefix) != std::string::npos) {
        return illegal_argument(
            "Header '" + std::string(name) +
            "' contains unresolved placeholder. Required parameter is missing."
        );
    }
    for (const char ch : v) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c < 0x20 && c != '\t') || c == 0x7F) {
            return illegal_argument("Header value contains invalid control character");
        }
    }
    if (name.size() + v.size() > max_header_bytes) {
        return illegal_argument("Header size (key + value) exceeds 8KB limit");
    }
    return rendered;
}

result<void> check_total_header_size(const header_list& headers) {
    std::size_t total = 0;
    for (const auto& [k, v] : headers) {
        total += k.size() + v.size();
    }
    if (total > max_total_header_bytes) {
        return illegal_argument("Total headers size (key + value) exceeds 64KB limit");
    }
    return {};
}

bool has_header(const header_list& headers, std::string_view name) {
    return std::any_of(headers.begin(), headers.end(), [&](const auto& h) {
        return iequals_ascii(h.first, name);
    });
}

void add_default_content_type(header_list& headers) {
    if (!has_header(headers, "Content-Type")) {
        headers.emplace_back("Content-Type", "application/json");
    }
}

}  // namespace modelrelay::registry
