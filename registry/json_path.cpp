// File: json_path.cpp
// Compiler and evaluator for the JsonPath subset described in json_path.hpp. Evaluation walks the
// document once, depth first, collecting pointers; nothing is copied until the caller asks for a value.
#include "registry/json_path.hpp"

#include <algorithm>
#include <charconv>

#include <boost/json/value.hpp>

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

class path_parser {
public:
    explicit path_parser(std::string_view s) : s_(s) {}

    bool at_end() const { return i_ >= s_.size(); }
    char peek() const { return at_end() ? '\0' : s_[i_]; }
    bool eat(char c) {
        if (peek() != c) {
            return false;
        }
        ++i_;
        return true;
    }
    void skip_spaces() {
        while (!at_end() && s_[i_] == ' ') {
            ++i_;
        }
    }

    // A name in dot notation: up to the next '.', '[' or the end.
    std::optional<std::string> dot_name() {
        const std::size_t begin = i_;
        while (!at_end() && s_[i_] != '.' && s_[i_] != '[') {
            if (s_[i_] == '(' || s_[i_] == ')' || s_[i_] == ' ') {
                return std::nullopt;  // functions and stray spaces are not supported
            }
            ++i_;
        }
        if (i_ == begin) {
            return std::nullopt;
        }
        return std::string(s_.substr(begin, i_ - begin));
    }

    // A quoted name inside brackets; the opening quote is the current character.
    std::optional<std::string> quoted() {
        const char q = s_[i_++];
        std::string out;
        while (!at_end()) {
            const char c = s_[i_++];
            if (c == q) {
                return out;
            }
            if (c == '\\' && !at_end()) {
                out.push_back(s_[i_++]);
                continue;
            }
            out.push_back(c);
        }
        return std::nullopt;
    }

    // Raw bracket content up to ']' (not consumed).
    std::string_view until_bracket_end() {
        const std::size_t begin = i_;
        while (!at_end() && s_[i_] != ']') {
            ++i_;
        }
        return s_.substr(begin, i_ - begin);
    }

private:
    std::string_view s_;
    std::size_t i_ = 0;
};

std::string_view trim_spaces(std::string_view s) {
    while (!s.empty() && s.front() == ' ') {
        s.remove_prefix(1);
    }
    while (!s.empty() && s.back() == ' ') {
        s.remove_suffix(1);
    }
    return s;
}

std::optional<std::int64_t> parse_int(std::string_view s) {
    s = trim_spaces(s);
    std::int64_t v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

}  // namespace

struct json_path::eval_state {
    std::vector<const json::value*> out;
    bool hard_miss = false;
};

result<json_path> json_path::compile(std::string_view path_text) {
    const auto invalid = [&] {
        return illegal_argument("Invalid JSON path: " + std::string(path_text));
    };
    std::string_view trimmed = trim_spaces(path_text);
    if (trimmed.empty()) {
        return invalid();
    }
    std::string full;
    if (trimmed.front() != '$') {
        if (trimmed.front() == '@') {
            return invalid();
        }
        full = "$.";  // Jayway prepends "$." to a path that does not start at the root
    }
    full.append(trimmed);

    json_path jp;
    jp.source_.assign(path_text);
    path_parser p(full);
    p.eat('$');
    while (!p.at_end()) {
        step st;
        if (p.eat('.')) {
            if (p.eat('.')) {
                st.deep = true;
            }
            if (p.peek() == '[') {
                if (!st.deep) {
                    return invalid();  // "$.[0]"
                }
            } else if (p.eat('*')) {
                st.kind = op::wildcard;
                jp.steps_.push_back(std::move(st));
                continue;
            } else {
                auto name = p.dot_name();
                if (!name) {
                    return invalid();
                }
                st.key = std::move(*name);
                jp.steps_.push_back(std::move(st));
                continue;
            }
        }
        if (!p.eat('[')) {
            return invalid();
        }
        p.skip_spaces();
        if (p.eat('*')) {
            st.kind = op::wildcard;
        } else if (p.peek() == '\'' || p.peek() == '"') {
            auto name = p.quoted();
            if (!name) {
                return invalid();
            }
            st.key = std::move(*name);
        } else {
            const std::string_view content = p.until_bracket_end();
            if (content.find_first_of("?()") != std::string_view::npos) {
                return invalid();
            }
            if (const auto colon = content.find(':'); colon != std::string_view::npos) {
                st.kind = op::slice;
                const auto lo = trim_spaces(content.substr(0, colon));
                const auto hi = trim_spaces(content.substr(colon + 1));
                if (!lo.empty() && !(st.from = parse_int(lo))) {
                    return invalid();
                }
                if (!hi.empty() && !(st.to = parse_int(hi))) {
                    return invalid();
                }
            } else {
                st.kind = op::indexes;
                std::string_view rest = content;
                while (true) {
                    const auto comma = rest.find(',');
                    const auto idx = parse_int(rest.substr(0, comma));
                    if (!idx) {
                        return invalid();
                    }
                    st.indexes.push_back(*idx);
                    if (comma == std::string_view::npos) {
                        break;
                    }
                    rest.remove_prefix(comma + 1);
                }
            }
        }
        p.skip_spaces();
        if (!p.eat(']')) {
            return invalid();
        }
        jp.steps_.push_back(std::move(st));
    }
    jp.definite_ =
        std::all_of(jp.steps_.begin(), jp.steps_.end(), [](const step& s) { return s.definite(); });
    return jp;
}

void json_path::apply(std::size_t i, const json::value& node, bool upstream_definite, eval_state& st) const {
    if (st.hard_miss) {
        return;
    }
    if (i == steps_.size()) {
        st.out.push_back(&node);
        return;
    }
    if (steps_[i].deep) {
        scan(i, node, st);
        return;
    }
    apply_op(i, node, upstream_definite, st);
}

void json_path::apply_op(std::size_t i, const json::value& node, bool upstream_definite, eval_state& st)
    const {
    const step& s = steps_[i];
    const bool next_definite = upstream_definite && s.definite();
    const bool leaf = i + 1 == steps_.size();
    switch (s.kind) {
        case op::property: {
            const auto* obj = node.if_object();
            if (obj == nullptr) {
                // Jayway: stepping by name into a non-object fails hard only on the definite prefix.
                st.hard_miss = st.hard_miss || upstream_definite;
                return;
            }
            const auto* v = obj->if_contains(s.key);
            if (v == nullptr) {
                // A missing leaf is skipped; a missing inner name on the definite prefix is a miss.
                st.hard_miss = st.hard_miss || (!leaf && upstream_definite && !s.deep);
                return;
            }
            apply(i + 1, *v, next_definite, st);
            return;
        }
        case op::wildcard:
            if (const auto* obj = node.if_object()) {
                for (const auto& kv : *obj) {
                    apply(i + 1, kv.value(), false, st);
                }
            } else if (const auto* arr = node.if_array()) {
                for (const auto& e : *arr) {
                    apply(i + 1, e, false, st);
                }
            }
            return;
        case op::indexes: {
            const auto* arr = node.if_array();
            if (arr == nullptr) {
                st.hard_miss = st.hard_miss || upstream_definite;
                return;
            }
            const auto n = static_cast<std::int64_t>(arr->size());
            for (const auto idx : s.indexes) {
                const std::int64_t eff = idx < 0 ? n + idx : idx;
                if (eff >= 0 && eff < n) {  // out of range: no result, never an error
                    apply(i + 1, (*arr)[static_cast<std::size_t>(eff)], next_definite, st);
                }
            }
            return;
        }
        case op::slice: {
            const auto* arr = node.if_array();
            if (arr == nullptr) {
                st.hard_miss = st.hard_miss || upstream_definite;
                return;
            }
            const auto n = static_cast<std::int64_t>(arr->size());
            auto clamp = [n](std::int64_t v) {
                return std::clamp(v < 0 ? n + v : v, std::int64_t{0}, n);
            };
            const std::int64_t from = s.from ? clamp(*s.from) : 0;
            const std::int64_t to = s.to ? clamp(*s.to) : n;
            for (std::int64_t k = from; k < to; ++k) {
                apply(i + 1, (*arr)[static_cast<std::size_t>(k)], false, st);
            }
            return;
        }
    }
}

void json_path::scan(std::size_t i, const json::value& node, eval_state& st) const {
    if (st.hard_miss) {
        return;
    }
    apply_op(i, node, false, st);
    if (const auto* obj = node.if_object()) {
        for (const auto& kv : *obj) {
            scan(i, kv.value(), st);
        }
    } else if (const auto* arr = node.if_array()) {
        for (const auto& e : *arr) {
            scan(i, e, st);
        }
    }
}

std::optional<std::vector<const json::value*>> json_path::select(const json::value& doc) const {
    eval_state st;
    apply(0, doc, true, st);
    if (st.hard_miss || (definite_ && st.out.empty())) {
        return std::nullopt;
    }
    return std::move(st.out);
}

std::optional<json::value> json_path::evaluate(const json::value& doc) const {
    auto hits = select(doc);
    if (!hits) {
        return std::nullopt;
    }
    if (definite_) {
        return json::value(*hits->front());
    }
    json::array arr;
    arr.reserve(hits->size());
    for (const auto* v : *hits) {
        arr.push_back(*v);
    }
    return json::value(std::move(arr));
}

const builtin_post_process* find_builtin_post_process(std::string_view name) {
    for (const auto& f : builtin_post_process_functions) {
        if (f.name == name) {
            return &f;
        }
    }
    return nullptr;
}

}  // namespace modelrelay::registry
