// File: json_path.cpp
// Compiler and evaluator for the JsonPath subset described in json_path.hpp. Evaluation walks the
// document once, depth first, collecting pointers; nothing is copied until the caller asks for a value.
#include "registry/json_path.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>
#include <list>
#include <variant>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <re2/re2.h>

#include "registry/json_text.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

// Quote-aware scanning: whether s[k] belongs to a quoted span ('..' or "..", backslash escapes; k is
// moved past an escaped character). Callers skip such characters when they look for brackets.
struct quote_state {
    char quote = 0;
    bool inside(std::string_view s, std::size_t& k) {
        const char c = s[k];
        if (quote != 0) {
            if (c == '\\') {
                ++k;
            } else if (c == quote) {
                quote = 0;
            }
            return true;
        }
        if (c == '\'' || c == '"') {
            quote = c;
            return true;
        }
        return false;
    }
};

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
        while (!at_end() && s_[i_] != '.' && s_[i_] != '[' && s_[i_] != '(') {
            if (s_[i_] == ')' || s_[i_] == ' ') {
                return std::nullopt;  // stray parentheses and spaces
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

    std::string_view rest() const { return s_.substr(std::min(i_, s_.size())); }
    void advance(std::size_t n) { i_ += n; }

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

// ---- Filters (`[?(...)]`): Jayway's FilterCompiler grammar and its ValueNode comparison rules ----

enum class relop {
    exists,
    eq,
    ne,
    tseq,
    tsne,
    lt,
    le,
    gt,
    ge,
    regex,
    in,
    nin,
    contains,
    subsetof,
    anyof,
    noneof,
    size,
    empty
};

struct operand {
    enum class kind { none, path, literal, regex } k = kind::none;
    std::shared_ptr<const json_path> path;
    bool relative = true;  // `@` (else `$`)
    json::value literal;
    std::shared_ptr<const re2::RE2> pattern;
};

}  // namespace

struct json_path::filter {
    enum class kind { any, all, negate, relation } k = kind::relation;
    std::vector<filter> children;
    operand left, right;
    relop op = relop::exists;
};

namespace {

using filter_node = json_path::filter;

// A value a filter operand evaluates to; `undefined` is Jayway's UNDEFINED (a path that found nothing).
struct vnode {
    bool undefined = false;
    const json::value* v = nullptr;
    const re2::RE2* pattern = nullptr;
};

bool is_jsonish(const json::value& v) {
    return v.is_array() || v.is_object();
}

std::string number_text(const json::value& v) {
    return compact_json_text(v, number_style::java);
}

double number_of(const json::value& v) {
    return v.is_double() ? v.get_double() : v.to_number<double>();
}

std::optional<double> numeric_string(std::string_view s) {
    double d = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), d);
    if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) {
        return std::nullopt;
    }
    return d;
}

// Jayway's ValueNode.equals, `left.equals(right)`: a number equals a string holding the same number, a
// string equals a number whose text it is; arrays and objects compare deeply.
bool value_equals(const json::value& l, const json::value& r) {
    if (is_jsonish(l) || is_jsonish(r)) {
        return is_jsonish(l) && is_jsonish(r) && l == r;
    }
    if (l.is_number()) {
        if (r.is_number()) {
            return number_of(l) == number_of(r);
        }
        if (r.is_string()) {
            const auto d = numeric_string(r.get_string());
            return d && *d == number_of(l);
        }
        return false;
    }
    if (l.is_string()) {
        if (r.is_string()) {
            return l.get_string() == r.get_string();
        }
        return r.is_number() && number_text(r) == std::string_view(l.get_string());
    }
    if (l.is_bool()) {
        return r.is_bool() && l.get_bool() == r.get_bool();
    }
    return l.is_null() && r.is_null();
}

bool eq(const vnode& l, const vnode& r) {
    if (l.undefined || r.undefined || l.v == nullptr || r.v == nullptr) {
        return false;
    }
    return value_equals(*l.v, *r.v);
}

// The JSON kind Jayway's ValueNode class follows (=== compares classes first).
int node_class(const json::value& v) {
    if (v.is_number()) {
        return 0;
    }
    if (v.is_string()) {
        return 1;
    }
    if (v.is_bool()) {
        return 2;
    }
    if (v.is_null()) {
        return 3;
    }
    return 4;
}

std::optional<int> order(const vnode& l, const vnode& r) {
    if (l.undefined || r.undefined || l.v == nullptr || r.v == nullptr) {
        return std::nullopt;
    }
    if (l.v->is_number() && r.v->is_number()) {
        const double a = number_of(*l.v);
        const double b = number_of(*r.v);
        return a < b ? -1 : (a > b ? 1 : 0);
    }
    if (l.v->is_string() && r.v->is_string()) {
        const int c = std::string_view(l.v->get_string()).compare(r.v->get_string());
        return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    return std::nullopt;
}

bool list_contains(const json::value& list, const json::value& x) {
    return std::any_of(list.get_array().begin(), list.get_array().end(), [&](const json::value& e) {
        return value_equals(x, e);
    });
}

bool regex_matches(const vnode& value, const re2::RE2& pattern) {
    std::string input;
    if (!value.undefined && value.v != nullptr) {
        if (value.v->is_string()) {
            input = value.v->get_string();
        } else if (value.v->is_number()) {
            input = number_text(*value.v);
        } else if (value.v->is_bool()) {
            input = value.v->get_bool() ? "true" : "false";
        }
    }
    return re2::RE2::FullMatch(input, pattern);
}

bool relate(relop op, const vnode& l, const vnode& r) {
    switch (op) {
        case relop::exists:
            return false;  // handled by the caller
        case relop::eq:
            return eq(l, r);
        case relop::ne:
            return !eq(l, r);
        case relop::tseq:
            return !l.undefined && !r.undefined && l.v && r.v && node_class(*l.v) == node_class(*r.v) &&
                   eq(l, r);
        case relop::tsne:
            return !(
                !l.undefined && !r.undefined && l.v && r.v && node_class(*l.v) == node_class(*r.v) && eq(l, r)
            );
        case relop::lt:
            return order(l, r) == -1;
        case relop::le:
            return order(l, r).value_or(1) <= 0;
        case relop::gt:
            return order(l, r) == 1;
        case relop::ge:
            return order(l, r).value_or(-1) >= 0;
        case relop::regex:
            if ((l.pattern != nullptr) == (r.pattern != nullptr)) {
                return false;
            }
            return l.pattern != nullptr ? regex_matches(r, *l.pattern) : regex_matches(l, *r.pattern);
        case relop::in:
        case relop::nin: {
            const bool found =
                !l.undefined && l.v && !r.undefined && r.v && r.v->is_array() && list_contains(*r.v, *l.v);
            if (op == relop::in) {
                return found;
            }
            return !r.undefined && r.v && r.v->is_array() && !found;
        }
        case relop::contains:
            if (l.undefined || r.undefined || !l.v || !r.v) {
                return false;
            }
            if (l.v->is_string() && r.v->is_string()) {
                return std::string_view(l.v->get_string()).find(r.v->get_string()) != std::string_view::npos;
            }
            return l.v->is_array() && list_contains(*l.v, *r.v);
        case relop::subsetof:
        case relop::anyof:
        case relop::noneof: {
            if (l.undefined || r.undefined || !l.v || !r.v || !l.v->is_array() || !r.v->is_array()) {
                return false;
            }
            const auto& left = l.v->get_array();
            const auto in_right = [&](const json::value& e) {
                return list_contains(*r.v, e);
            };
            if (op == relop::subsetof) {
                return std::all_of(left.begin(), left.end(), in_right);
            }
            const bool any = std::any_of(left.begin(), left.end(), in_right);
            return op == relop::anyof ? any : !any;
        }
        case relop::size: {
            if (l.undefined || r.undefined || !l.v || !r.v || !r.v->is_number()) {
                return false;
            }
            std::optional<double> n;
            if (l.v->is_string()) {
                n = static_cast<double>(l.v->get_string().size());
            } else if (l.v->is_array()) {
                n = static_cast<double>(l.v->get_array().size());
            } else if (l.v->is_object()) {
                n = static_cast<double>(l.v->get_object().size());
            }
            return n && *n == number_of(*r.v);
        }
        case relop::empty: {
            if (l.undefined || r.undefined || !l.v || !r.v || !r.v->is_bool()) {
                return false;
            }
            std::optional<bool> is_empty;
            if (l.v->is_string()) {
                is_empty = l.v->get_string().empty();
            } else if (l.v->is_array()) {
                is_empty = l.v->get_array().empty();
            } else if (l.v->is_object()) {
                is_empty = l.v->get_object().empty();
            }
            return is_empty && *is_empty == r.v->get_bool();
        }
    }
    return false;
}

// Evaluates a path operand against the current item (`@`) or the document root (`$`). A definite path
// gives its value, an indefinite one the array of its matches; a miss is undefined.
vnode operand_value(
    const operand& o, const json::value& item, const json::value& root, std::deque<json::value>& keep
) {
    switch (o.k) {
        case operand::kind::none:
            return {true};
        case operand::kind::literal:
            return {false, &o.literal};
        case operand::kind::regex:
            return {false, nullptr, o.pattern.get()};
        case operand::kind::path: {
            auto v = o.path->evaluate(o.relative ? item : root);
            if (!v) {
                return {true};
            }
            keep.push_back(std::move(*v));
            return {false, &keep.back()};
        }
    }
    return {true};
}

bool path_exists(const operand& o, const json::value& item, const json::value& root) {
    auto v = o.path->evaluate(o.relative ? item : root);
    return v && (o.path->is_definite() || !v->get_array().empty());
}

bool accept(const filter_node& f, const json::value& item, const json::value& root) {
    switch (f.k) {
        case filter_node::kind::any:
            return std::any_of(f.children.begin(), f.children.end(), [&](const filter_node& c) {
                return accept(c, item, root);
            });
        case filter_node::kind::all:
            return std::all_of(f.children.begin(), f.children.end(), [&](const filter_node& c) {
                return accept(c, item, root);
            });
        case filter_node::kind::negate:
            return !accept(f.children.front(), item, root);
        case filter_node::kind::relation: {
            if (f.op == relop::exists) {
                return path_exists(f.left, item, root);
            }
            std::deque<json::value> keep;
            const vnode l = operand_value(f.left, item, root, keep);
            const vnode r = operand_value(f.right, item, root, keep);
            return relate(f.op, l, r);
        }
    }
    return false;
}

// How deep filter expressions nest (`!`, `(`, and filters inside a filter's paths), for this thread's
// parse. Parsing and evaluation recurse once per level: a path of 16,000 `!` overflowed the stack.
thread_local int filter_nesting = 0;
constexpr int max_filter_nesting = 100;

// Counts one level while it lives; `ok()` is false beyond max_filter_nesting.
class nesting_level {
public:
    nesting_level() { ++filter_nesting; }
    ~nesting_level() { --filter_nesting; }
    nesting_level(const nesting_level&) = delete;
    nesting_level& operator=(const nesting_level&) = delete;
    bool ok() const { return filter_nesting <= max_filter_nesting; }
};

// Recursive-descent parser over the text between `[?(` and `)]`.
class filter_parser {
public:
    explicit filter_parser(std::string_view s) : s_(s) {}

    std::optional<filter_node> parse() {
        auto f = parse_or();
        skip();
        if (!f || i_ != s_.size()) {
            return std::nullopt;
        }
        return f;
    }

private:
    void skip() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) {
            ++i_;
        }
    }
    bool eat(std::string_view t) {
        skip();
        if (s_.substr(i_, t.size()) == t) {
            i_ += t.size();
            return true;
        }
        return false;
    }

    // `a || b` and `a && b`: one level of the expression, `next` parsing its operands.
    std::optional<filter_node> parse_chain(
        filter_node::kind k, std::string_view joiner, std::optional<filter_node> (filter_parser::*next)()
    ) {
        filter_node chain;
        chain.k = k;
        do {
            auto operand = (this->*next)();
            if (!operand) {
                return std::nullopt;
            }
            chain.children.push_back(std::move(*operand));
        } while (eat(joiner));
        if (chain.children.size() == 1) {
            return std::move(chain.children.front());
        }
        return chain;
    }
    std::optional<filter_node> parse_or() {
        return parse_chain(filter_node::kind::any, "||", &filter_parser::parse_and);
    }
    std::optional<filter_node> parse_and() {
        return parse_chain(filter_node::kind::all, "&&", &filter_parser::parse_unary);
    }

    std::optional<filter_node> parse_unary() {
        const nesting_level level;
        if (!level.ok()) {
            return std::nullopt;
        }
        skip();
        if (i_ < s_.size() && s_[i_] == '!' && s_.substr(i_, 2) != "!=") {
            ++i_;
            auto inner = parse_unary();
            if (!inner) {
                return std::nullopt;
            }
            filter_node n;
            n.k = filter_node::kind::negate;
            n.children.push_back(std::move(*inner));
            return n;
        }
        if (eat("(")) {
            auto inner = parse_or();
            if (!inner || !eat(")")) {
                return std::nullopt;
            }
            return inner;
        }
        return parse_relation();
    }

    std::optional<filter_node> parse_relation() {
        filter_node n;
        auto left = parse_operand();
        if (!left) {
            return std::nullopt;
        }
        n.left = std::move(*left);
        skip();
        auto op = parse_op();
        if (!op) {
            if (n.left.k != operand::kind::path) {
                return std::nullopt;  // a lone literal is no predicate
            }
            n.op = relop::exists;
            return n;
        }
        n.op = *op;
        auto right = parse_operand();
        if (!right) {
            return std::nullopt;
        }
        n.right = std::move(*right);
        return n;
    }

    std::optional<relop> parse_op() {
        static constexpr std::pair<std::string_view, relop> symbols[] = {
            {"===", relop::tseq},
            {"!==", relop::tsne},
            {"==", relop::eq},
            {"!=", relop::ne},
            {"<=", relop::le},
            {">=", relop::ge},
            {"=~", relop::regex},
            {"<", relop::lt},
            {">", relop::gt},
        };
        for (const auto& [text, op] : symbols) {
            if (s_.substr(i_, text.size()) == text) {
                i_ += text.size();
                return op;
            }
        }
        static constexpr std::pair<std::string_view, relop> words[] = {
            {"nin", relop::nin},
            {"in", relop::in},
            {"contains", relop::contains},
            {"subsetof", relop::subsetof},
            {"anyof", relop::anyof},
            {"noneof", relop::noneof},
            {"size", relop::size},
            {"empty", relop::empty},
        };
        std::size_t end = i_;
        while (end < s_.size() && std::isalpha(static_cast<unsigned char>(s_[end])) != 0) {
            ++end;
        }
        std::string word(s_.substr(i_, end - i_));
        std::transform(word.begin(), word.end(), word.begin(), [](unsigned char c) {
            return static_cast<char>(std::tolower(c));
        });
        for (const auto& [text, op] : words) {
            if (word == text) {
                i_ = end;
                return op;
            }
        }
        return std::nullopt;
    }

    // Text of a bracketed or quoted span starting at i_ (balanced, quotes respected).
    std::optional<std::string_view> balanced(char open, char close) {
        const std::size_t begin = i_;
        int depth = 0;
        quote_state q;
        for (; i_ < s_.size(); ++i_) {
            if (q.inside(s_, i_)) {
                continue;
            }
            const char c = s_[i_];
            if (c == open) {
                ++depth;
            } else if (c == close && --depth == 0) {
                ++i_;
                return s_.substr(begin, i_ - begin);
            }
        }
        return std::nullopt;
    }

    std::optional<operand> parse_operand() {
        skip();
        if (i_ >= s_.size()) {
            return std::nullopt;
        }
        operand o;
        const char c = s_[i_];
        if (c == '@' || c == '$') {
            return parse_path_operand();
        }
        if (c == '\'' || c == '"') {
            auto text = quoted_literal();
            if (!text) {
                return std::nullopt;
            }
            o.k = operand::kind::literal;
            o.literal = json::string(*text);
            return o;
        }
        if (c == '/') {
            return parse_regex();
        }
        if (c == '[' || c == '{') {
            auto text = balanced(c, c == '[' ? ']' : '}');
            if (!text) {
                return std::nullopt;
            }
            boost::system::error_code ec;
            auto v = json::parse(single_to_double_quotes(*text), ec);
            if (ec) {
                return std::nullopt;
            }
            o.k = operand::kind::literal;
            o.literal = std::move(v);
            return o;
        }
        std::size_t end = i_;
        while (end < s_.size() && std::string_view(" \t)=!<>~&|").find(s_[end]) == std::string_view::npos) {
            ++end;
        }
        const std::string_view word = s_.substr(i_, end - i_);
        boost::system::error_code ec;
        auto v = json::parse(word, ec);
        if (ec || is_jsonish(v) || v.is_string()) {
            return std::nullopt;
        }
        i_ = end;
        o.k = operand::kind::literal;
        o.literal = std::move(v);
        return o;
    }

    std::optional<operand> parse_path_operand() {
        const std::size_t begin = i_;
        int depth = 0;
        quote_state q;
        for (; i_ < s_.size(); ++i_) {
            if (q.inside(s_, i_)) {
                continue;
            }
            const char c = s_[i_];
            if (c == '[' || c == '(') {
                ++depth;
            } else if (c == ']' || c == ')') {
                if (depth == 0) {
                    break;
                }
                --depth;
            } else if (depth == 0 && std::string_view(" \t=!<>~&|").find(c) != std::string_view::npos) {
                break;
            }
        }
        std::string text(s_.substr(begin, i_ - begin));
        operand o;
        o.k = operand::kind::path;
        o.relative = text.front() == '@';
        text.front() = '$';
        if (text.size() > 1 && text[1] != '.' && text[1] != '[') {
            return std::nullopt;
        }
        auto compiled = json_path::compile(text);
        if (!compiled) {
            return std::nullopt;
        }
        o.path = std::make_shared<const json_path>(std::move(*compiled));
        return o;
    }

    std::optional<std::string> quoted_literal() {
        const char q = s_[i_++];
        std::string out;
        while (i_ < s_.size()) {
            const char c = s_[i_++];
            if (c == q) {
                return out;
            }
            if (c == '\\' && i_ < s_.size()) {
                out.push_back(s_[i_++]);
                continue;
            }
            out.push_back(c);
        }
        return std::nullopt;
    }

    std::optional<operand> parse_regex() {
        std::size_t end = i_ + 1;
        while (end < s_.size() && s_[end] != '/') {
            end += s_[end] == '\\' ? 2 : 1;
        }
        if (end >= s_.size()) {
            return std::nullopt;
        }
        std::string pattern(s_.substr(i_ + 1, end - i_ - 1));
        i_ = end + 1;
        std::string flags;
        while (i_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[i_])) != 0) {
            const char f = s_[i_++];
            if (f != 'i' && f != 'm' && f != 's') {
                return std::nullopt;
            }
            flags.push_back(f);
        }
        if (!flags.empty()) {
            pattern = "(?" + flags + ")" + pattern;
        }
        re2::RE2::Options options;
        options.set_log_errors(false);
        auto re = std::make_shared<const re2::RE2>(pattern, options);
        if (!re->ok()) {
            return std::nullopt;
        }
        operand o;
        o.k = operand::kind::regex;
        o.pattern = std::move(re);
        return o;
    }

    // Jayway reads JSON literals leniently ('a' strings); Boost.JSON wants double quotes.
    static std::string single_to_double_quotes(std::string_view text) {
        std::string out;
        char quote = 0;
        for (std::size_t k = 0; k < text.size(); ++k) {
            const char c = text[k];
            if (quote == 0) {
                if (c == '\'' || c == '"') {
                    quote = c;
                    out.push_back('"');
                } else {
                    out.push_back(c);
                }
                continue;
            }
            if (c == '\\' && k + 1 < text.size()) {
                const char n = text[++k];
                if (n == '\'') {
                    out.push_back('\'');
                } else {
                    out.push_back('\\');
                    out.push_back(n);
                }
            } else if (c == quote) {
                quote = 0;
                out.push_back('"');
            } else if (c == '"') {
                out.append("\\\"");
            } else {
                out.push_back(c);
            }
        }
        return out;
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

// ---- Functions at the end of a path (Jayway's PathFunction family, no arguments) ----

constexpr std::string_view function_names[] = {
    "length", "size", "sum", "avg", "min", "max", "stddev", "keys"};

bool is_function_name(std::string_view name) {
    return std::find(std::begin(function_names), std::end(function_names), name) != std::end(function_names);
}

// The value of `name` applied to `model`; an error text for an aggregation over no numbers.
std::variant<json::value, std::string> invoke_function(std::string_view name, const json::value& model) {
    if (name == "length" || name == "size") {
        if (const auto* a = model.if_array()) {
            return json::value(static_cast<std::int64_t>(a->size()));
        }
        if (const auto* o = model.if_object()) {
            return json::value(static_cast<std::int64_t>(o->size()));
        }
        return json::value(nullptr);
    }
    if (name == "keys") {
        if (const auto* o = model.if_object()) {
            json::array keys;
            for (const auto& kv : *o) {
                keys.emplace_back(kv.key());
            }
            return json::value(std::move(keys));
        }
        return json::value(nullptr);
    }
    std::vector<double> numbers;
    if (const auto* a = model.if_array()) {
        for (const auto& e : *a) {
            if (e.is_number()) {
                numbers.push_back(number_of(e));
            }
        }
    }
    if (numbers.empty()) {
        return std::string("Aggregation function attempted to calculate value using empty array");
    }
    double sum = 0;
    double sum_sq = 0;
    for (const double d : numbers) {
        sum += d;
        sum_sq += d * d;
    }
    const auto n = static_cast<double>(numbers.size());
    if (name == "sum") {
        return json::value(sum);
    }
    if (name == "avg") {
        return json::value(sum / n);
    }
    if (name == "min") {
        return json::value(*std::min_element(numbers.begin(), numbers.end()));
    }
    if (name == "max") {
        return json::value(*std::max_element(numbers.begin(), numbers.end()));
    }
    return json::value(std::sqrt(sum_sq / n - (sum / n) * (sum / n)));  // stddev (population)
}

}  // namespace

struct json_path::eval_state {
    const json::value* root = nullptr;
    std::vector<const json::value*> out;
    // Built results (merges, function values) the pointers in `out` reach. A list: stable addresses, and
    // unlike a deque no allocation while empty (the built-in post-process paths never build anything).
    std::list<json::value> owned;
    std::optional<std::string> failure;
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
                if (p.peek() == '(') {
                    // A function: only without arguments, only at the end, and not after `..` directly.
                    if (st.deep || !is_function_name(*name) || p.rest() != "()") {
                        return invalid();
                    }
                    p.advance(2);
                    st.kind = op::function;
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
            p.skip_spaces();
            while (p.eat(',')) {  // ['a','b']
                p.skip_spaces();
                if (p.peek() != '\'' && p.peek() != '"') {
                    return invalid();
                }
                auto more = p.quoted();
                if (!more) {
                    return invalid();
                }
                if (st.keys.empty()) {
                    st.keys.push_back(std::move(st.key));
                    st.kind = op::properties;
                }
                st.keys.push_back(std::move(*more));
                p.skip_spaces();
            }
        } else if (p.peek() == '?') {
            // `[?(<expression>)]`: the expression runs to the `)` that closes it before the `]`.
            const std::string_view rest = p.rest();
            if (rest.size() < 4 || rest[1] != '(') {
                return invalid();
            }
            int depth = 0;
            quote_state q;
            std::size_t close = std::string_view::npos;
            for (std::size_t k = 1; k < rest.size() && close == std::string_view::npos; ++k) {
                if (q.inside(rest, k)) {
                    continue;
                }
                const char c = rest[k];
                if (c == '(') {
                    ++depth;
                } else if (c == ')' && --depth == 0) {
                    close = k;
                }
            }
            if (close == std::string_view::npos) {
                return invalid();
            }
            const nesting_level level;
            if (!level.ok()) {
                return invalid();
            }
            auto expression = filter_parser(rest.substr(2, close - 2)).parse();
            if (!expression) {
                return invalid();
            }
            st.kind = op::filter;
            st.predicate = std::make_shared<const filter>(std::move(*expression));
            p.advance(close + 1);
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
    if (!jp.steps_.empty()) {
        jp.steps_.back().leaf = true;
    }
    // `$..x.f()` is one call of f (see run()), so one value.
    const bool inverted =
        jp.steps_.size() > 1 && jp.steps_.front().deep && jp.steps_.back().kind == op::function;
    jp.definite_ = inverted || std::all_of(jp.steps_.begin(), jp.steps_.end(), [](const step& s) {
                       return s.definite();
                   });
    jp.synthesizes_ = std::any_of(jp.steps_.begin(), jp.steps_.end(), [](const step& s) {
        return s.kind == op::function || (s.kind == op::properties && s.leaf);
    });
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
        case op::properties: {
            const auto* obj = node.if_object();
            if (obj == nullptr) {
                st.hard_miss = st.hard_miss || upstream_definite;
                return;
            }
            if (leaf) {
                // Jayway's merge: one object of the names present (absent ones are left out).
                json::object merged;
                for (const auto& k : s.keys) {
                    if (const auto* v = obj->if_contains(k)) {
                        merged.emplace(k, *v);
                    }
                }
                st.owned.emplace_back(std::move(merged));
                st.out.push_back(&st.owned.back());
                return;
            }
            for (const auto& k : s.keys) {
                if (const auto* v = obj->if_contains(k)) {
                    apply(i + 1, *v, false, st);
                }
            }
            return;
        }
        case op::filter:
            if (node.is_object()) {
                if (accept(*s.predicate, node, *st.root)) {
                    apply(i + 1, node, false, st);
                }
            } else if (const auto* arr = node.if_array()) {
                for (const auto& e : *arr) {
                    if (accept(*s.predicate, e, *st.root)) {
                        apply(i + 1, e, false, st);
                    }
                }
            } else if (upstream_definite) {
                // Jayway: "Filter: [?] can not be applied to primitives".
                st.failure = st.failure.value_or("Filter: " + source_ + " can not be applied to primitives");
            }
            return;
        case op::function: {
            auto value = invoke_function(s.key, node);
            if (auto* failure = std::get_if<std::string>(&value)) {
                st.failure = st.failure.value_or(std::move(*failure));
                return;
            }
            st.owned.push_back(std::move(std::get<json::value>(value)));
            st.out.push_back(&st.owned.back());
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

void json_path::run(const json::value& doc, eval_state& st) const {
    st.root = &doc;
    const bool inverted = steps_.size() > 1 && steps_.front().deep && steps_.back().kind == op::function;
    if (!inverted) {
        apply(0, doc, true, st);
        return;
    }
    // CompiledPath.invertScannerFunctionRelationship: `$..x.f()` is f over everything `$..x` finds.
    json_path scan = *this;
    scan.steps_.pop_back();
    scan.steps_.back().leaf = true;
    eval_state found;
    scan.run(doc, found);
    json::array all;
    for (const auto* v : found.out) {
        all.push_back(*v);
    }
    st.owned.emplace_back(std::move(all));
    apply_op(steps_.size() - 1, st.owned.back(), true, st);
}

std::optional<std::vector<const json::value*>> json_path::select(const json::value& doc) const {
    eval_state st;
    run(doc, st);
    if (st.failure || st.hard_miss || (definite_ && st.out.empty()) || synthesizes_) {
        return std::nullopt;  // synthesized results would not outlive `st`
    }
    return std::move(st.out);
}

result<std::optional<json::value>> json_path::evaluate_checked(const json::value& doc) const {
    eval_state st;
    run(doc, st);
    if (st.failure) {
        return illegal_argument(*st.failure);
    }
    if (st.hard_miss || (definite_ && st.out.empty())) {
        return std::optional<json::value>();
    }
    if (definite_) {
        return std::optional<json::value>(json::value(*st.out.back()));  // Jayway keeps the last result
    }
    json::array arr;
    arr.reserve(st.out.size());
    for (const auto* v : st.out) {
        arr.push_back(*v);
    }
    return std::optional<json::value>(json::value(std::move(arr)));
}

std::optional<json::value> json_path::evaluate(const json::value& doc) const {
    auto v = evaluate_checked(doc);
    if (!v) {
        return std::nullopt;
    }
    return std::move(*v);
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
