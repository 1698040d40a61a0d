// File: painless.cpp
// Tokenizer, recursive-descent parser and tree-walking evaluator for the Painless subset of painless.hpp.
//
// Failures inside the parser and the evaluator unwind as a file-local exception (`script_failure`), the
// way a Java exception unwinds a script: a run can fail at any depth of the tree, and threading a result
// through every node would double the code. Both public entry points catch it and return registry::error,
// so nothing escapes this file. Messages name the construct and its position, never a string's content
// (upstream text or a connector's values stay out of error bodies).
#include "registry/painless.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <list>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "registry/parameters.hpp"
#include "registry/setting_value.hpp"
#include "registry/utf8.hpp"

namespace modelrelay::registry::painless {

namespace json = boost::json;

namespace {

struct position {
    std::uint32_t line = 1;
    std::uint32_t column = 1;
};

std::string at_text(position p) {
    return " at " + std::to_string(p.line) + ":" + std::to_string(p.column);
}

struct script_failure {
    std::string reason;
};

[[noreturn]] void fail(std::string what, position p) {
    throw script_failure{std::move(what) + at_text(p)};
}

// ---------------------------------------------------------------------------------------------------
// Tokens

enum class tok { end, ident, integer, floating, string, punct };

struct token {
    tok kind = tok::end;
    std::string text;  // identifier, punctuation, or the decoded string literal
    std::int64_t integer = 0;
    double floating = 0;
    bool f32 = false;  // a floating literal with an f/F suffix
    position pos;
};

bool ident_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool ident_char(char c) {
    return ident_start(c) || (c >= '0' && c <= '9');
}

// Longest first, so that `>>=` wins over `>>` and `>`.
constexpr std::string_view puncts[] = {
    ">>>=", "===", "!==", "<<=", ">>=", ">>>", "==~", "?.", "?:", "::", "->", "=~", "++", "--",
    "+=",   "-=",  "*=",  "/=",  "%=",  "&=",  "|=",  "^=", "==", "!=", "<=", ">=", "&&", "||",
    "<<",   ">>",  "(",   ")",   "[",   "]",   "{",   "}",  ",",  ";",  ".",  "?",  ":",  "=",
    "+",    "-",   "*",   "/",   "%",   "!",   "~",   "<",  ">",  "&",  "|",  "^"};

class lexer {
public:
    explicit lexer(std::string_view src) : src_(src) {}

    std::vector<token> run() {
        std::vector<token> out;
        for (;;) {
            skip_blanks();
            token t;
            t.pos = pos_;
            if (i_ >= src_.size()) {
                out.push_back(std::move(t));
                return out;
            }
            const char c = src_[i_];
            if (ident_start(c)) {
                std::size_t j = i_;
                while (j < src_.size() && ident_char(src_[j])) {
                    ++j;
                }
                t.kind = tok::ident;
                t.text = std::string(src_.substr(i_, j - i_));
                advance(j - i_);
            } else if ((c >= '0' && c <= '9') || (c == '.' && i_ + 1 < src_.size() && src_[i_ + 1] >= '0' && src_[i_ + 1] <= '9')) {
                number(t);
            } else if (c == '"' || c == '\'') {
                string_literal(t, c);
            } else {
                bool found = false;
                for (std::string_view p : puncts) {
                    if (src_.substr(i_).starts_with(p)) {
                        t.kind = tok::punct;
                        t.text = std::string(p);
                        advance(p.size());
                        found = true;
                        break;
                    }
                }
                if (!found) {
                    fail("Painless script: unexpected character", pos_);
                }
            }
            out.push_back(std::move(t));
        }
    }

private:
    void advance(std::size_t n) {
        for (std::size_t k = 0; k < n; ++k, ++i_) {
            if (src_[i_] == '\n') {
                ++pos_.line;
                pos_.column = 1;
            } else if ((static_cast<unsigned char>(src_[i_]) & 0xC0) != 0x80) {
                ++pos_.column;
            }
        }
    }

    void skip_blanks() {
        while (i_ < src_.size()) {
            const char c = src_[i_];
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
                advance(1);
            } else if (src_.substr(i_).starts_with("//")) {
                while (i_ < src_.size() && src_[i_] != '\n') {
                    advance(1);
                }
            } else if (src_.substr(i_).starts_with("/*")) {
                const position start = pos_;
                const auto end = src_.find("*/", i_ + 2);
                if (end == std::string_view::npos) {
                    fail("Painless script: unterminated comment", start);
                }
                advance(end + 2 - i_);
            } else {
                return;
            }
        }
    }

    void number(token& t) {
        std::size_t j = i_;
        bool is_float = false;
        if (src_.substr(j).starts_with("0x") || src_.substr(j).starts_with("0X")) {
            j += 2;
            const std::size_t digits = j;
            while (j < src_.size() && std::isxdigit(static_cast<unsigned char>(src_[j]))) {
                ++j;
            }
            std::uint64_t v = 0;
            auto [p, ec] = std::from_chars(src_.data() + digits, src_.data() + j, v, 16);
            if (ec != std::errc() || digits == j) {
                fail("Painless script: invalid number", pos_);
            }
            (void)p;
            if (j < src_.size() && (src_[j] == 'L' || src_[j] == 'l')) {
                ++j;
            }
            t.kind = tok::integer;
            t.integer = static_cast<std::int64_t>(v);
            advance(j - i_);
            return;
        }
        while (j < src_.size() && src_[j] >= '0' && src_[j] <= '9') {
            ++j;
        }
        if (j < src_.size() && src_[j] == '.' && j + 1 < src_.size() && src_[j + 1] >= '0' &&
            src_[j + 1] <= '9') {
            is_float = true;
            ++j;
            while (j < src_.size() && src_[j] >= '0' && src_[j] <= '9') {
                ++j;
            }
        }
        if (j < src_.size() && (src_[j] == 'e' || src_[j] == 'E')) {
            std::size_t k = j + 1;
            if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) {
                ++k;
            }
            if (k < src_.size() && src_[k] >= '0' && src_[k] <= '9') {
                is_float = true;
                j = k;
                while (j < src_.size() && src_[j] >= '0' && src_[j] <= '9') {
                    ++j;
                }
            }
        }
        const std::string_view digits = src_.substr(i_, j - i_);
        if (j < src_.size() && (src_[j] == 'f' || src_[j] == 'F' || src_[j] == 'd' || src_[j] == 'D')) {
            is_float = true;
            t.f32 = src_[j] == 'f' || src_[j] == 'F';
            ++j;
        } else if (!is_float && j < src_.size() && (src_[j] == 'L' || src_[j] == 'l')) {
            ++j;
        }
        if (j < src_.size() && ident_char(src_[j])) {
            fail("Painless script: invalid number", pos_);
        }
        if (is_float) {
            t.kind = tok::floating;
            auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), t.floating);
            if (ec != std::errc()) {
                fail("Painless script: invalid number", pos_);
            }
            (void)p;
        } else {
            t.kind = tok::integer;
            auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), t.integer);
            if (ec != std::errc()) {
                fail("Painless script: integer literal out of range", pos_);
            }
            (void)p;
        }
        advance(j - i_);
    }

    // Painless string literals know two escapes only: `\\` and the quote that delimits them.
    void string_literal(token& t, char quote) {
        const position start = pos_;
        std::size_t j = i_ + 1;
        std::string text;
        for (;;) {
            if (j >= src_.size()) {
                fail("Painless script: unterminated string literal", start);
            }
            const char c = src_[j];
            if (c == quote) {
                ++j;
                break;
            }
            if (c == '\\') {
                if (j + 1 < src_.size() && (src_[j + 1] == '\\' || src_[j + 1] == quote)) {
                    text.push_back(src_[j + 1]);
                    j += 2;
                    continue;
                }
                advance(j - i_);
                fail(
                    "Painless script: unsupported escape in a string literal (only \\\\ and \\" +
                        std::string(1, quote) + " exist in Painless)",
                    pos_
                );
            }
            text.push_back(c);
            ++j;
        }
        t.kind = tok::string;
        t.text = std::move(text);
        advance(j - i_);
    }

    std::string_view src_;
    std::size_t i_ = 0;
    position pos_;
};

// ---------------------------------------------------------------------------------------------------
// Values

// The text a run holds at once (Strings it made, StringBuilders), so that a script cannot fill the
// server's memory by keeping many large strings: the step limit bounds the work, this the memory. Text
// from the upstream answer (`params`) is not counted: max_json_size bounds it.
struct text_budget {
    std::size_t live = 0;
};
inline constexpr std::size_t max_live_text = 64u << 20;

// The budget of the run on this thread (null outside a run).
thread_local std::shared_ptr<text_budget> current_text_budget;

void count_text(text_budget& b, std::size_t more) {
    b.live += more;
    if (b.live > max_live_text) {
        b.live -= more;
        throw script_failure{
            "Painless script: the strings it holds passed " + std::to_string(max_live_text) + " bytes"};
    }
}

struct map_data;
struct value;
using list_ptr = std::shared_ptr<std::vector<value>>;
using map_ptr = std::shared_ptr<map_data>;
struct builder_data {
    std::string text;
    std::shared_ptr<text_budget> budget = current_text_budget;
    std::size_t counted = 0;

    explicit builder_data(std::string t) : text(std::move(t)) { sync(); }
    builder_data(const builder_data&) = delete;
    builder_data& operator=(const builder_data&) = delete;
    ~builder_data() {
        if (budget) {
            budget->live -= counted;
        }
    }
    // After every change of `text`: the budget follows its size.
    void sync() {
        if (!budget) {
            return;
        }
        if (text.size() > counted) {
            count_text(*budget, text.size() - counted);
        } else {
            budget->live -= counted - text.size();
        }
        counted = text.size();
    }
};
using builder_ptr = std::shared_ptr<builder_data>;

// An immutable String shared by every value that holds it, as Java shares String references: putting
// one text into a list a million times costs a million pointers, not a million copies of the text.
struct shared_text {
    std::shared_ptr<const std::string> p;
    const std::string& get() const { return *p; }

    static shared_text of(std::string s) {
        auto budget = current_text_budget;
        if (!budget) {
            return {std::make_shared<const std::string>(std::move(s))};
        }
        count_text(*budget, s.size());
        return {
            std::shared_ptr<const std::string>(new std::string(std::move(s)), [budget](const std::string* t) {
                budget->live -= t->size();
                delete t;
            })};
    }
};

// Java numbers: `std::int64_t` stands for Integer/Long, `double` for Double/Float.
struct value {
    std::variant<std::monostate, bool, std::int64_t, double, shared_text, list_ptr, map_ptr, builder_ptr> v;
    // A double that is a Java float (`float` declarations and casts, `f` literals, floatValue()): it holds
    // a float-rounded value, float arithmetic keeps it one, and it prints as Float.toString does.
    bool f32 = false;

    value() = default;
    value(bool b) : v(b) {}  // NOLINT: implicit on purpose, values are built everywhere
    value(std::int64_t i) : v(i) {}
    value(double d) : v(d) {}
    value(std::string s) : v(shared_text::of(std::move(s))) {}
    value(list_ptr l) : v(std::move(l)) {}
    value(map_ptr m) : v(std::move(m)) {}
    value(builder_ptr b) : v(std::move(b)) {}
    value(const char*) = delete;  // would silently become a bool
    value(int) = delete;          // ambiguous: say std::int64_t or double

    bool is_null() const { return v.index() == 0; }
    bool is_bool() const { return v.index() == 1; }
    bool is_int() const { return v.index() == 2; }
    bool is_double() const { return v.index() == 3; }
    bool is_number() const { return is_int() || is_double(); }
    bool is_string() const { return v.index() == 4; }
    bool is_list() const { return v.index() == 5; }
    bool is_map() const { return v.index() == 6; }
    bool is_builder() const { return v.index() == 7; }
    double as_double() const { return is_int() ? static_cast<double>(std::get<2>(v)) : std::get<3>(v); }
    static value java_float(double d) {
        value out(static_cast<double>(static_cast<float>(d)));
        out.f32 = true;
        return out;
    }
};

// Insertion-ordered, as gson's LinkedTreeMap keeps an upstream object. Small maps are scanned; past
// `indexed_from` entries a hash index keeps lookups constant, so a loop filling a big map stays linear.
struct map_data {
    static constexpr std::size_t indexed_from = 16;
    std::vector<std::pair<std::string, value>> items;
    std::unordered_map<std::string, std::size_t> index;  // key → position in items; empty while small

    value* find(std::string_view k) {
        if (!index.empty()) {
            const auto it = index.find(std::string(k));
            return it == index.end() ? nullptr : &items[it->second].second;
        }
        for (auto& [key, val] : items) {
            if (key == k) {
                return &val;
            }
        }
        return nullptr;
    }
    // Map.put: replaces in place or appends.
    void put(std::string k, value v) {
        if (value* seen = find(k)) {
            *seen = std::move(v);
            return;
        }
        items.emplace_back(std::move(k), std::move(v));
        if (!index.empty()) {
            index.emplace(items.back().first, items.size() - 1);
        } else if (items.size() > indexed_from) {
            reindex();
        }
    }
    bool erase(std::string_view k, value& old) {
        for (auto it = items.begin(); it != items.end(); ++it) {
            if (it->first == k) {
                old = std::move(it->second);
                items.erase(it);
                if (!index.empty()) {
                    reindex();
                }
                return true;
            }
        }
        return false;
    }
    void clear() {
        items.clear();
        index.clear();
    }
    void reindex() {
        index.clear();
        index.reserve(items.size());
        for (std::size_t i = 0; i < items.size(); ++i) {
            index.emplace(items[i].first, i);
        }
    }
};

// Every list and map a run creates, so that the run can break reference cycles (`l.add(l)`) when it
// ends; shared_ptr alone would leak them.
struct heap {
    std::vector<list_ptr> lists;
    std::vector<map_ptr> maps;

    heap() = default;
    heap(const heap&) = delete;
    heap& operator=(const heap&) = delete;
    ~heap() {
        for (auto& l : lists) {
            l->clear();
        }
        for (auto& m : maps) {
            m->clear();
        }
    }
    list_ptr list() { return lists.emplace_back(std::make_shared<std::vector<value>>()); }
    map_ptr map() { return maps.emplace_back(std::make_shared<map_data>()); }
};

// Printing and comparing recurse into containers; a container that holds itself would recurse forever
// (Java throws StackOverflowError there).
constexpr int max_value_depth = 1000;

const char* java_type(const value& x) {
    switch (x.v.index()) {
        case 0:
            return "null";
        case 1:
            return "java.lang.Boolean";
        case 2:
            return "java.lang.Integer";
        case 3:
            return "java.lang.Double";
        case 4:
            return "java.lang.String";
        case 5:
            return "java.util.ArrayList";
        case 6:
            return "java.util.HashMap";
        default:
            return "java.lang.StringBuilder";
    }
}

void append_text(std::string& out, const value& x, position p, int depth = 0);

// Java String.valueOf.
void append_text_unchecked(std::string& out, const value& x, position p, int depth) {
    if (depth > max_value_depth) {
        fail("Painless script: a value nested too deep (or containing itself) to print", p);
    }
    switch (x.v.index()) {
        case 0:
            out.append("null");
            break;
        case 1:
            out.append(std::get<bool>(x.v) ? "true" : "false");
            break;
        case 2:
            out.append(std::to_string(std::get<std::int64_t>(x.v)));
            break;
        case 3:
            out.append(
                x.f32 ? java_float_to_string(static_cast<float>(std::get<double>(x.v)))
                      : java_double_to_string(std::get<double>(x.v))
            );
            break;
        case 4:
            out.append(std::get<shared_text>(x.v).get());
            break;
        case 5: {
            out.push_back('[');
            bool first = true;
            for (const auto& e : *std::get<list_ptr>(x.v)) {
                if (!first) {
                    out.append(", ");
                }
                first = false;
                append_text(out, e, p, depth + 1);
            }
            out.push_back(']');
            break;
        }
        case 6: {
            out.push_back('{');
            bool first = true;
            for (const auto& [k, e] : std::get<map_ptr>(x.v)->items) {
                if (!first) {
                    out.append(", ");
                }
                first = false;
                out.append(k).push_back('=');
                append_text(out, e, p, depth + 1);
            }
            out.push_back('}');
            break;
        }
        default:
            out.append(std::get<builder_ptr>(x.v)->text);
            break;
    }
}

void check_text_size(const std::string& s, position p) {
    if (s.size() > max_text) {
        fail("Painless script: a string grew past " + std::to_string(max_text) + " bytes", p);
    }
}

void append_text(std::string& out, const value& x, position p, int depth) {
    append_text_unchecked(out, x, p, depth);
    check_text_size(out, p);
}

std::string to_text(const value& x, position p) {
    std::string s;
    append_text(s, x, p);
    return s;
}

bool values_equal(const value& a, const value& b, int depth = 0) {
    if (depth > max_value_depth) {
        fail("Painless script: a value nested too deep (or containing itself) to compare", position{});
    }
    if (a.is_number() && b.is_number()) {
        if (a.is_int() && b.is_int()) {
            return std::get<std::int64_t>(a.v) == std::get<std::int64_t>(b.v);
        }
        return a.as_double() == b.as_double();
    }
    if (a.v.index() != b.v.index()) {
        return false;
    }
    switch (a.v.index()) {
        case 0:
            return true;
        case 1:
            return std::get<bool>(a.v) == std::get<bool>(b.v);
        case 4:
            return std::get<shared_text>(a.v).get() == std::get<shared_text>(b.v).get();
        case 5: {
            const auto& x = *std::get<list_ptr>(a.v);
            const auto& y = *std::get<list_ptr>(b.v);
            if (x.size() != y.size()) {
                return false;
            }
            for (std::size_t i = 0; i < x.size(); ++i) {
                if (!values_equal(x[i], y[i], depth + 1)) {
                    return false;
                }
            }
            return true;
        }
        case 6: {
            auto& x = *std::get<map_ptr>(a.v);
            auto& y = *std::get<map_ptr>(b.v);
            if (x.items.size() != y.items.size()) {
                return false;
            }
            for (auto& [k, e] : x.items) {
                const value* other = y.find(k);
                if (other == nullptr || !values_equal(e, *other, depth + 1)) {
                    return false;
                }
            }
            return true;
        }
        default:  // StringBuilder: identity, as Object.equals
            return std::get<builder_ptr>(a.v) == std::get<builder_ptr>(b.v);
    }
}

// gson's reading of JSON into Object: numbers are Doubles, objects keep their order.
value from_json(const json::value& j, heap& h) {
    switch (j.kind()) {
        case json::kind::null:
            return {};
        case json::kind::bool_:
            return value(j.get_bool());
        case json::kind::int64:
            return value(static_cast<double>(j.get_int64()));
        case json::kind::uint64:
            return value(static_cast<double>(j.get_uint64()));
        case json::kind::double_:
            return value(j.get_double());
        case json::kind::string:
            return value(std::string(j.get_string()));
        case json::kind::array: {
            auto l = h.list();
            l->reserve(j.get_array().size());
            for (const auto& e : j.get_array()) {
                l->push_back(from_json(e, h));
            }
            return value(std::move(l));
        }
        case json::kind::object: {
            auto m = h.map();
            m->items.reserve(j.get_object().size());
            for (const auto& kv : j.get_object()) {
                // gson keeps the last of repeated keys, in the first one's place.
                m->put(std::string(kv.key()), from_json(kv.value(), h));
            }
            return value(std::move(m));
        }
    }
    return {};
}

// ---------------------------------------------------------------------------------------------------
// Java String operations on UTF-8 text, indexed in UTF-16 code units as Java indexes them.

bool is_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0x80) == 0;
    });
}

std::u16string to_u16(std::string_view s) {
    std::u16string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const char32_t cp = utf8::decode(s, i);
        if (cp >= 0x10000) {
            out.push_back(static_cast<char16_t>(0xD800 + ((cp - 0x10000) >> 10)));
            out.push_back(static_cast<char16_t>(0xDC00 + ((cp - 0x10000) & 0x3FF)));
        } else {
            out.push_back(static_cast<char16_t>(cp));
        }
    }
    return out;
}

void put_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

std::string from_u16(std::u16string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char32_t cp = s[i];
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < s.size() && s[i + 1] >= 0xDC00 && s[i + 1] <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (s[i + 1] - 0xDC00);
            ++i;
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            cp = utf8::replacement_char;  // a split pair, as Java's encoder writes it
        }
        put_utf8(out, cp);
    }
    return out;
}

std::int64_t u16_length(std::string_view s) {
    return is_ascii(s) ? static_cast<std::int64_t>(s.size()) : static_cast<std::int64_t>(to_u16(s).size());
}

std::string java_substring(std::string_view s, std::int64_t begin, std::int64_t end, position p) {
    const std::int64_t len = u16_length(s);
    if (begin < 0 || end > len || begin > end) {
        fail(
            "Painless script: begin " + std::to_string(begin) + ", end " + std::to_string(end) + ", length " +
                std::to_string(len) + " (StringIndexOutOfBoundsException)",
            p
        );
    }
    if (is_ascii(s)) {
        return std::string(s.substr(static_cast<std::size_t>(begin), static_cast<std::size_t>(end - begin)));
    }
    const auto u = to_u16(s);
    return from_u16(
        std::u16string_view(u).substr(static_cast<std::size_t>(begin), static_cast<std::size_t>(end - begin))
    );
}

// String.indexOf / lastIndexOf over one representation (bytes for ASCII, UTF-16 units otherwise).
template <class View>
std::int64_t find_in(View s, View needle, std::int64_t from, bool last) {
    if (last) {
        const auto at = s.rfind(needle);
        return at == View::npos ? -1 : static_cast<std::int64_t>(at);
    }
    if (from < 0) {
        from = 0;
    }
    if (static_cast<std::size_t>(from) > s.size()) {
        return -1;
    }
    const auto at = s.find(needle, static_cast<std::size_t>(from));
    return at == View::npos ? -1 : static_cast<std::int64_t>(at);
}

std::int64_t java_index_of(std::string_view s, std::string_view needle, std::int64_t from, bool last) {
    if (is_ascii(s) && is_ascii(needle)) {
        return find_in(s, needle, from, last);
    }
    const auto u = to_u16(s);
    const auto n = to_u16(needle);
    return find_in(std::u16string_view(u), std::u16string_view(n), from, last);
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to, position p) {
    std::string out;
    if (from.empty()) {
        // Java inserts `to` before every char and at the end.
        const auto u = to_u16(s);
        out.append(to);
        for (char16_t c : u) {
            out.append(from_u16(std::u16string_view(&c, 1)));
            out.append(to);
            check_text_size(out, p);
        }
        return out;
    }
    std::size_t at = 0;
    for (;;) {
        const auto hit = s.find(from, at);
        if (hit == std::string_view::npos) {
            out.append(s.substr(at));
            break;
        }
        out.append(s.substr(at, hit - at)).append(to);
        at = hit + from.size();
        check_text_size(out, p);
    }
    check_text_size(out, p);
    return out;
}

// Java String.trim: strips chars <= U+0020 at both ends.
std::string java_trim(std::string_view s) {
    std::size_t b = 0;
    std::size_t e = s.size();
    while (b < e && static_cast<unsigned char>(s[b]) <= 0x20) {
        ++b;
    }
    while (e > b && static_cast<unsigned char>(s[e - 1]) <= 0x20) {
        --e;
    }
    return std::string(s.substr(b, e - b));
}

// ---------------------------------------------------------------------------------------------------
// Syntax tree

enum class nk {
    // expressions
    lit_null,
    lit_bool,
    lit_int,
    lit_double,
    lit_string,
    list_lit,
    map_lit,
    var,
    member,
    index,
    method,
    call,
    static_call,
    new_obj,
    new_array,
    unary,
    binary,
    logical_and,
    logical_or,
    ternary,
    elvis,
    assign,
    incdec,
    cast,
    instance_of,
    // statements
    block,
    decls,
    decl,
    expr_stmt,
    if_,
    for_,
    foreach,
    while_,
    do_while,
    break_,
    continue_,
    return_,
    throw_,
    empty,
};

struct node {
    nk kind;
    position pos;
    std::string text;   // name, operator, type, string literal
    std::string type;   // declared type (decl, foreach), or "" for def
    bool flag = false;  // member/method: null-safe; incdec: prefix; lit_double: an f suffix
    std::int64_t integer = 0;
    double floating = 0;
    std::vector<std::unique_ptr<node>> kids;  // absent optional parts are null

    node(nk k, position p) : kind(k), pos(p) {}
};
using node_ptr = std::unique_ptr<node>;

struct function_def {
    std::string name;
    std::string return_type;
    std::vector<std::pair<std::string, std::string>> params;  // (type, name)
    node_ptr body;
};

}  // namespace

class script {
public:
    std::vector<function_def> functions;
    node_ptr body;  // block
};

namespace {

// Type names a declaration, cast, `new` or `instanceof` may use.
constexpr std::string_view type_names[] = {
    "def",       "var",     "String",        "int",           "long",    "double", "float",
    "boolean",   "short",   "byte",          "char",          "Object",  "List",   "Map",
    "ArrayList", "HashMap", "StringBuilder", "Integer",       "Long",    "Double", "Float",
    "Boolean",   "Number",  "Collection",    "LinkedHashMap", "Iterable"};

bool is_type_name(std::string_view s) {
    return std::find(std::begin(type_names), std::end(type_names), s) != std::end(type_names);
}

constexpr std::string_view static_classes[] = {
    "String", "Integer", "Long", "Double", "Float", "Math", "Boolean"};

bool is_static_class(std::string_view s) {
    return std::find(std::begin(static_classes), std::end(static_classes), s) != std::end(static_classes);
}

constexpr std::size_t max_nesting = 200;
// Running a script recurses once per level of its tree, and calls nest up to max_call_depth: a chain of
// 32,000 `+` (a left-deep tree the parser builds without recursing) overflowed the stack at run time.
constexpr std::size_t max_tree_depth = 256;

// The depth of the tree under `root`, without recursing (the tree may be the one that is too deep).
std::size_t tree_depth(const node& root) {
    std::size_t deepest = 0;
    std::vector<std::pair<const node*, std::size_t>> todo{{&root, 1}};
    while (!todo.empty()) {
        const auto [n, d] = todo.back();
        todo.pop_back();
        deepest = std::max(deepest, d);
        for (const auto& k : n->kids) {
            if (k) {
                todo.emplace_back(k.get(), d + 1);
            }
        }
    }
    return deepest;
}

class parser {
public:
    explicit parser(std::vector<token> toks) : t_(std::move(toks)) {}

    std::shared_ptr<script> run() {
        auto s = std::make_shared<script>();
        // Functions come first in Painless: `Type name(Type p, ...) { ... }`.
        while (looks_like_function()) {
            s->functions.push_back(function());
        }
        auto body = std::make_unique<node>(nk::block, peek().pos);
        while (peek().kind != tok::end) {
            if (looks_like_function()) {
                fail("Painless script: functions must be declared before the first statement", peek().pos);
            }
            body->kids.push_back(statement());
        }
        s->body = std::move(body);
        for (const auto* root : roots_of(*s)) {
            if (tree_depth(*root) > max_tree_depth) {
                fail(
                    "Painless script: expression or statements nested deeper than " +
                        std::to_string(max_tree_depth) + " levels",
                    root->pos
                );
            }
        }
        std::vector<std::string> declared{"params"};
        for (const auto& f : s->functions) {
            for (const auto& prm : f.params) {
                declared.push_back(prm.second);
            }
            collect_declared(*f.body, declared);
        }
        collect_declared(*s->body, declared);
        check_names(*s, *s->body, declared);
        for (const auto& f : s->functions) {
            check_names(*s, *f.body, declared);
        }
        return s;
    }

private:
    static std::vector<const node*> roots_of(const script& s) {
        std::vector<const node*> out{s.body.get()};
        for (const auto& f : s.functions) {
            out.push_back(f.body.get());
        }
        return out;
    }

    const token& peek(std::size_t ahead = 0) const { return t_[std::min(i_ + ahead, t_.size() - 1)]; }
    bool is_punct(std::string_view p, std::size_t ahead = 0) const {
        const auto& t = peek(ahead);
        return t.kind == tok::punct && t.text == p;
    }
    bool is_ident(std::string_view name, std::size_t ahead = 0) const {
        const auto& t = peek(ahead);
        return t.kind == tok::ident && t.text == name;
    }
    token next() {
        token t = peek();
        if (i_ < t_.size() - 1) {
            ++i_;
        }
        return t;
    }
    bool accept(std::string_view p) {
        if (is_punct(p)) {
            next();
            return true;
        }
        return false;
    }
    void expect(std::string_view p) {
        if (!accept(p)) {
            unexpected("expected '" + std::string(p) + "'");
        }
    }
    [[noreturn]] void unexpected(const std::string& what) {
        const auto& t = peek();
        std::string found;
        switch (t.kind) {
            case tok::end:
                found = "end of script";
                break;
            case tok::string:
                found = "a string literal";
                break;
            case tok::integer:
            case tok::floating:
                found = "a number";
                break;
            default:
                found = "'" + t.text + "'";
        }
        fail("Painless script: " + what + ", found " + found, t.pos);
    }
    std::string ident() {
        if (peek().kind != tok::ident) {
            unexpected("expected a name");
        }
        return next().text;
    }

    struct depth_guard {
        explicit depth_guard(parser& p) : p_(p) {
            if (++p_.depth_ > max_nesting) {
                fail("Painless script: nesting deeper than " + std::to_string(max_nesting), p_.peek().pos);
            }
        }
        ~depth_guard() { --p_.depth_; }
        depth_guard(const depth_guard&) = delete;
        depth_guard& operator=(const depth_guard&) = delete;
        parser& p_;
    };

    // Type ('[' ']')* — returns the number of tokens it spans, or 0 when there is no type here.
    std::size_t type_span(std::size_t at) const {
        const auto& t = peek(at);
        if (t.kind != tok::ident || !is_type_name(t.text)) {
            return 0;
        }
        std::size_t n = 1;
        while (is_punct("[", at + n) && is_punct("]", at + n + 1)) {
            n += 2;
        }
        return n;
    }
    std::string type() {
        std::string t = ident();
        while (is_punct("[") && is_punct("]", 1)) {
            next();
            next();
            t += "[]";
        }
        return t;
    }

    bool looks_like_function() const {
        const std::size_t n = type_span(0);
        return n > 0 && peek(n).kind == tok::ident && is_punct("(", n + 1);
    }

    function_def function() {
        function_def f;
        f.return_type = type();
        f.name = ident();
        expect("(");
        if (!is_punct(")")) {
            do {
                if (type_span(0) == 0) {
                    unexpected("expected a parameter type");
                }
                std::string pt = type();
                f.params.emplace_back(std::move(pt), ident());
            } while (accept(","));
        }
        expect(")");
        if (!is_punct("{")) {
            unexpected("expected '{'");
        }
        f.body = block();
        return f;
    }

    node_ptr block() {
        depth_guard g(*this);
        auto b = std::make_unique<node>(nk::block, peek().pos);
        expect("{");
        while (!is_punct("}")) {
            if (peek().kind == tok::end) {
                unexpected("expected '}'");
            }
            b->kids.push_back(statement());
        }
        next();
        return b;
    }

    // Painless lets the last statement of a block (or the script) go without its `;`.
    void end_statement() {
        if (accept(";")) {
            return;
        }
        if (is_punct("}") || peek().kind == tok::end) {
            return;
        }
        unexpected("expected ';'");
    }

    bool looks_like_declaration() const {
        const std::size_t n = type_span(0);
        return n > 0 && peek(n).kind == tok::ident;
    }

    node_ptr declarations() {
        auto list = std::make_unique<node>(nk::decls, peek().pos);
        std::string t = type();
        do {
            auto d = std::make_unique<node>(nk::decl, peek().pos);
            d->type = t;
            d->text = ident();
            if (accept("=")) {
                d->kids.push_back(expression());
            } else {
                d->kids.push_back(nullptr);
            }
            list->kids.push_back(std::move(d));
        } while (accept(","));
        return list;
    }

    void refuse_keyword() {
        static constexpr std::string_view refused[] = {
            "try", "catch", "switch", "class", "import", "finally", "interface", "static", "this", "super"};
        const auto& t = peek();
        if (t.kind == tok::ident &&
            std::find(std::begin(refused), std::end(refused), t.text) != std::end(refused)) {
            fail("Painless script: unsupported syntax '" + t.text + "'", t.pos);
        }
    }

    // `throw new <SomeException>(<message>?)`: the blueprints' way to fail on an unusable answer. Only a
    // new exception or error, whose message becomes the failure's text; nothing can catch it here.
    node_ptr throw_statement(position p) {
        next();
        if (!is_ident("new")) {
            fail("Painless script: unsupported syntax 'throw' of anything but new <Exception>(...)", p);
        }
        next();
        std::string cls;
        for (;;) {
            if (peek().kind != tok::ident) {
                unexpected("expected an exception class");
            }
            cls = next().text;
            if (!accept(".")) {
                break;
            }
        }
        if (!(cls.ends_with("Exception") || cls.ends_with("Error"))) {
            fail("Painless script: cannot throw '" + cls + "'", p);
        }
        auto n = std::make_unique<node>(nk::throw_, p);
        n->text = std::move(cls);
        expect("(");
        n->kids.push_back(expression_unless(")"));
        expect(")");
        end_statement();
        return n;
    }

    // An expression, or null (an omitted one) when the next token is `end`.
    node_ptr expression_unless(std::string_view end) { return is_punct(end) ? nullptr : expression(); }

    node_ptr statement() {
        depth_guard g(*this);
        refuse_keyword();
        const position p = peek().pos;
        if (is_punct("{")) {
            return block();
        }
        if (accept(";")) {
            return std::make_unique<node>(nk::empty, p);
        }
        if (is_ident("if")) {
            next();
            auto n = std::make_unique<node>(nk::if_, p);
            expect("(");
            n->kids.push_back(expression());
            expect(")");
            n->kids.push_back(statement());
            if (is_ident("else")) {
                next();
                n->kids.push_back(statement());
            } else {
                n->kids.push_back(nullptr);
            }
            return n;
        }
        if (is_ident("while")) {
            next();
            auto n = std::make_unique<node>(nk::while_, p);
            expect("(");
            n->kids.push_back(expression());
            expect(")");
            n->kids.push_back(statement());
            return n;
        }
        if (is_ident("do")) {
            next();
            auto n = std::make_unique<node>(nk::do_while, p);
            n->kids.push_back(statement());
            if (!is_ident("while")) {
                unexpected("expected 'while'");
            }
            next();
            expect("(");
            n->kids.push_back(expression());
            expect(")");
            end_statement();
            return n;
        }
        if (is_ident("for")) {
            return for_statement();
        }
        if (is_ident("break") || is_ident("continue")) {
            auto n = std::make_unique<node>(next().text == "break" ? nk::break_ : nk::continue_, p);
            end_statement();
            return n;
        }
        if (is_ident("throw")) {
            return throw_statement(p);
        }
        if (is_ident("return")) {
            next();
            auto n = std::make_unique<node>(nk::return_, p);
            if (is_punct(";") || is_punct("}") || peek().kind == tok::end) {
                n->kids.push_back(nullptr);
            } else {
                n->kids.push_back(expression());
            }
            end_statement();
            return n;
        }
        if (looks_like_function()) {
            fail("Painless script: functions must be declared before the first statement", p);
        }
        if (looks_like_declaration()) {
            auto d = declarations();
            end_statement();
            return d;
        }
        auto n = std::make_unique<node>(nk::expr_stmt, p);
        n->kids.push_back(expression());
        end_statement();
        return n;
    }

    node_ptr for_statement() {
        const position p = next().pos;
        expect("(");
        // for (Type x : e) / for (x in e)
        const std::size_t n = type_span(0);
        if (n > 0 && peek(n).kind == tok::ident && is_punct(":", n + 1)) {
            auto f = std::make_unique<node>(nk::foreach, p);
            f->type = type();
            f->text = ident();
            expect(":");
            f->kids.push_back(expression());
            expect(")");
            f->kids.push_back(statement());
            return f;
        }
        if (peek().kind == tok::ident && is_ident("in", 1)) {
            auto f = std::make_unique<node>(nk::foreach, p);
            f->type = "def";
            f->text = ident();
            next();
            f->kids.push_back(expression());
            expect(")");
            f->kids.push_back(statement());
            return f;
        }
        auto f = std::make_unique<node>(nk::for_, p);
        if (accept(";")) {
            f->kids.push_back(nullptr);
        } else {
            if (looks_like_declaration()) {
                f->kids.push_back(declarations());
            } else {
                auto e = std::make_unique<node>(nk::expr_stmt, peek().pos);
                e->kids.push_back(expression());
                f->kids.push_back(std::move(e));
            }
            expect(";");
        }
        f->kids.push_back(expression_unless(";"));
        expect(";");
        if (is_punct(")")) {
            f->kids.push_back(nullptr);
        } else {
            auto e = std::make_unique<node>(nk::expr_stmt, peek().pos);
            e->kids.push_back(expression());
            f->kids.push_back(std::move(e));
        }
        expect(")");
        f->kids.push_back(statement());
        return f;
    }

    // ----- expressions, lowest precedence first

    node_ptr expression() {
        depth_guard g(*this);
        auto lhs = conditional();
        static constexpr std::string_view assign_ops[] = {
            "=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=", ">>>="};
        const auto& t = peek();
        if (t.kind == tok::punct &&
            std::find(std::begin(assign_ops), std::end(assign_ops), t.text) != std::end(assign_ops)) {
            if (lhs->kind != nk::var && lhs->kind != nk::member && lhs->kind != nk::index) {
                fail("Painless script: cannot assign to this expression", t.pos);
            }
            if (lhs->kind == nk::member && lhs->flag) {
                fail("Painless script: cannot assign through '?.'", t.pos);
            }
            auto n = std::make_unique<node>(nk::assign, t.pos);
            n->text = next().text;
            n->kids.push_back(std::move(lhs));
            n->kids.push_back(expression());  // right associative
            return n;
        }
        return lhs;
    }

    node_ptr conditional() {
        auto c = logical_or();
        if (is_punct("?")) {
            auto n = std::make_unique<node>(nk::ternary, next().pos);
            n->kids.push_back(std::move(c));
            n->kids.push_back(expression());
            expect(":");
            n->kids.push_back(expression());
            return n;
        }
        if (is_punct("?:")) {
            auto n = std::make_unique<node>(nk::elvis, next().pos);
            n->kids.push_back(std::move(c));
            n->kids.push_back(expression());
            return n;
        }
        return c;
    }

    template <class Next>
    node_ptr binary_level(std::initializer_list<std::string_view> ops, nk kind, Next next_level) {
        auto lhs = (this->*next_level)();
        for (;;) {
            const auto& t = peek();
            if (t.kind != tok::punct || std::find(ops.begin(), ops.end(), t.text) == ops.end()) {
                return lhs;
            }
            auto n = std::make_unique<node>(kind, t.pos);
            n->text = next().text;
            n->kids.push_back(std::move(lhs));
            n->kids.push_back((this->*next_level)());
            lhs = std::move(n);
        }
    }

    node_ptr logical_or() { return binary_level({"||"}, nk::logical_or, &parser::logical_and); }
    node_ptr logical_and() { return binary_level({"&&"}, nk::logical_and, &parser::bit_or); }
    node_ptr bit_or() { return binary_level({"|"}, nk::binary, &parser::bit_xor); }
    node_ptr bit_xor() { return binary_level({"^"}, nk::binary, &parser::bit_and); }
    node_ptr bit_and() { return binary_level({"&"}, nk::binary, &parser::equality); }
    node_ptr equality() { return binary_level({"==", "!=", "===", "!=="}, nk::binary, &parser::relational); }

    node_ptr relational() {
        auto lhs = shift();
        for (;;) {
            if (is_ident("instanceof")) {
                auto n = std::make_unique<node>(nk::instance_of, next().pos);
                n->kids.push_back(std::move(lhs));
                if (type_span(0) == 0) {
                    unexpected("expected a type after instanceof");
                }
                n->text = type();
                lhs = std::move(n);
                continue;
            }
            const auto& t = peek();
            if (t.kind == tok::punct &&
                (t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">=")) {
                auto n = std::make_unique<node>(nk::binary, t.pos);
                n->text = next().text;
                n->kids.push_back(std::move(lhs));
                n->kids.push_back(shift());
                lhs = std::move(n);
                continue;
            }
            if (t.kind == tok::punct && (t.text == "=~" || t.text == "==~")) {
                fail("Painless script: unsupported syntax 'regular expressions (" + t.text + ")'", t.pos);
            }
            return lhs;
        }
    }

    node_ptr shift() { return binary_level({"<<", ">>", ">>>"}, nk::binary, &parser::additive); }
    node_ptr additive() { return binary_level({"+", "-"}, nk::binary, &parser::multiplicative); }
    node_ptr multiplicative() { return binary_level({"*", "/", "%"}, nk::binary, &parser::unary); }

    node_ptr unary() {
        depth_guard g(*this);
        const auto& t = peek();
        if (t.kind == tok::punct && (t.text == "++" || t.text == "--")) {
            auto n = std::make_unique<node>(nk::incdec, t.pos);
            n->text = next().text;
            n->flag = true;
            n->kids.push_back(unary());
            check_lvalue(*n->kids[0]);
            return n;
        }
        if (t.kind == tok::punct && (t.text == "-" || t.text == "+" || t.text == "!" || t.text == "~")) {
            auto n = std::make_unique<node>(nk::unary, t.pos);
            n->text = next().text;
            // A negative literal folds now, so that -9223372036854775808 stays representable.
            n->kids.push_back(unary());
            return n;
        }
        // Cast: '(' Type ')' unary
        if (is_punct("(")) {
            const std::size_t n = type_span(1);
            if (n > 0 && is_punct(")", 1 + n)) {
                auto c = std::make_unique<node>(nk::cast, next().pos);
                c->text = type();
                expect(")");
                c->kids.push_back(unary());
                return c;
            }
        }
        return postfix();
    }

    void check_lvalue(const node& n) {
        if (n.kind != nk::var && n.kind != nk::member && n.kind != nk::index) {
            fail("Painless script: ++/-- needs a variable, field or element", n.pos);
        }
    }

    std::vector<node_ptr> arguments() {
        std::vector<node_ptr> args;
        expect("(");
        if (!is_punct(")")) {
            do {
                args.push_back(expression());
            } while (accept(","));
        }
        expect(")");
        return args;
    }

    node_ptr postfix() {
        auto e = primary();
        for (;;) {
            const auto& t = peek();
            if (t.kind != tok::punct) {
                return e;
            }
            if (t.text == "." || t.text == "?.") {
                const bool null_safe = next().text == "?.";
                const position p = peek().pos;
                std::string name = ident();
                if (is_punct("(")) {
                    auto m = std::make_unique<node>(nk::method, p);
                    m->text = std::move(name);
                    m->flag = null_safe;
                    m->kids.push_back(std::move(e));
                    for (auto& a : arguments()) {
                        m->kids.push_back(std::move(a));
                    }
                    e = std::move(m);
                } else {
                    auto m = std::make_unique<node>(nk::member, p);
                    m->text = std::move(name);
                    m->flag = null_safe;
                    m->kids.push_back(std::move(e));
                    e = std::move(m);
                }
            } else if (t.text == "[") {
                auto ix = std::make_unique<node>(nk::index, next().pos);
                ix->kids.push_back(std::move(e));
                ix->kids.push_back(expression());
                expect("]");
                e = std::move(ix);
            } else if (t.text == "++" || t.text == "--") {
                check_lvalue(*e);
                auto n = std::make_unique<node>(nk::incdec, t.pos);
                n->text = next().text;
                n->flag = false;
                n->kids.push_back(std::move(e));
                e = std::move(n);
            } else if (t.text == "->" || t.text == "::") {
                fail(
                    std::string("Painless script: unsupported syntax '") +
                        (t.text == "->" ? "lambda (->)" : "method reference (::)") + "'",
                    t.pos
                );
            } else {
                return e;
            }
        }
    }

    node_ptr primary() {
        depth_guard g(*this);
        const token& t = peek();
        const position p = t.pos;
        switch (t.kind) {
            case tok::integer: {
                auto n = std::make_unique<node>(nk::lit_int, p);
                n->integer = next().integer;
                return n;
            }
            case tok::floating: {
                auto n = std::make_unique<node>(nk::lit_double, p);
                n->flag = peek().f32;
                n->floating = next().floating;
                return n;
            }
            case tok::string: {
                auto n = std::make_unique<node>(nk::lit_string, p);
                n->text = next().text;
                return n;
            }
            case tok::end:
                unexpected("expected an expression");
            case tok::punct:
                if (t.text == "(") {
                    next();
                    auto e = expression();
                    expect(")");
                    return e;
                }
                if (t.text == "[") {
                    return collection_literal();
                }
                if (t.text == "->" || t.text == "::") {
                    fail("Painless script: unsupported syntax 'lambda (->)'", p);
                }
                unexpected("expected an expression");
            case tok::ident:
                break;
        }
        refuse_keyword();
        if (t.text == "null" || t.text == "true" || t.text == "false") {
            auto n = std::make_unique<node>(t.text == "null" ? nk::lit_null : nk::lit_bool, p);
            n->flag = t.text == "true";
            next();
            return n;
        }
        if (t.text == "new") {
            return new_expression();
        }
        if (is_punct("::", 1)) {
            fail("Painless script: unsupported syntax 'method reference (::)'", peek(1).pos);
        }
        if (is_static_class(t.text) && is_punct(".", 1)) {
            std::string cls = next().text;
            next();
            std::string name = ident();
            if (!is_punct("(")) {
                fail("Painless script: unsupported static field '" + cls + "." + name + "'", p);
            }
            static constexpr std::string_view known[] = {"String.valueOf",
                                                         "String.join",
                                                         "Integer.parseInt",
                                                         "Integer.valueOf",
                                                         "Integer.toString",
                                                         "Long.parseLong",
                                                         "Long.valueOf",
                                                         "Long.toString",
                                                         "Double.parseDouble",
                                                         "Double.valueOf",
                                                         "Double.toString",
                                                         "Float.parseFloat",
                                                         "Boolean.parseBoolean",
                                                         "Math.max",
                                                         "Math.min",
                                                         "Math.abs",
                                                         "Math.round",
                                                         "Math.floor",
                                                         "Math.ceil",
                                                         "Math.sqrt",
                                                         "Math.pow"};
            const std::string full = cls + "." + name;
            if (std::find(std::begin(known), std::end(known), full) == std::end(known)) {
                fail("Painless script: unsupported method '" + full + "'", p);
            }
            auto n = std::make_unique<node>(nk::static_call, p);
            n->text = full;
            for (auto& a : arguments()) {
                n->kids.push_back(std::move(a));
            }
            return n;
        }
        std::string name = next().text;
        if (is_punct("(")) {
            auto n = std::make_unique<node>(nk::call, p);
            n->text = std::move(name);
            for (auto& a : arguments()) {
                n->kids.push_back(std::move(a));
            }
            return n;
        }
        if (is_type_name(name) && name != "var") {
            fail("Painless script: unexpected type name '" + name + "'", p);
        }
        auto n = std::make_unique<node>(nk::var, p);
        n->text = std::move(name);
        return n;
    }

    node_ptr collection_literal() {
        const position p = next().pos;  // '['
        if (accept(":")) {
            expect("]");
            return std::make_unique<node>(nk::map_lit, p);
        }
        if (accept("]")) {
            return std::make_unique<node>(nk::list_lit, p);
        }
        auto first = expression();
        if (accept(":")) {
            auto m = std::make_unique<node>(nk::map_lit, p);
            m->kids.push_back(std::move(first));
            m->kids.push_back(expression());
            while (accept(",")) {
                m->kids.push_back(expression());
                expect(":");
                m->kids.push_back(expression());
            }
            expect("]");
            return m;
        }
        auto l = std::make_unique<node>(nk::list_lit, p);
        l->kids.push_back(std::move(first));
        while (accept(",")) {
            l->kids.push_back(expression());
        }
        expect("]");
        return l;
    }

    node_ptr new_expression() {
        const position p = next().pos;  // 'new'
        const auto& t = peek();
        if (t.kind != tok::ident) {
            unexpected("expected a type after new");
        }
        std::string name = next().text;
        if (is_punct("[")) {
            if (!is_type_name(name)) {
                fail("Painless script: unsupported type '" + name + "'", p);
            }
            auto n = std::make_unique<node>(nk::new_array, p);
            n->text = name;
            next();
            if (accept("]")) {
                // new T[] { a, b }
                expect("{");
                n->flag = true;
                if (!is_punct("}")) {
                    do {
                        n->kids.push_back(expression());
                    } while (accept(","));
                }
                expect("}");
                return n;
            }
            n->kids.push_back(expression());
            expect("]");
            if (is_punct("[")) {
                fail("Painless script: unsupported syntax 'multi-dimensional arrays'", peek().pos);
            }
            return n;
        }
        static constexpr std::string_view constructible[] = {
            "StringBuilder", "ArrayList", "HashMap", "LinkedHashMap", "String", "BigDecimal"};
        if (std::find(std::begin(constructible), std::end(constructible), name) == std::end(constructible)) {
            fail("Painless script: unsupported type 'new " + name + "'", p);
        }
        auto n = std::make_unique<node>(nk::new_obj, p);
        n->text = std::move(name);
        for (auto& a : arguments()) {
            n->kids.push_back(std::move(a));
        }
        if (n->kids.size() > 1) {
            fail("Painless script: unsupported constructor arguments for '" + n->text + "'", p);
        }
        return n;
    }

    static void collect_declared(const node& n, std::vector<std::string>& out) {
        if (n.kind == nk::decl || n.kind == nk::foreach) {
            out.push_back(n.text);
        }
        for (const auto& k : n.kids) {
            if (k) {
                collect_declared(*k, out);
            }
        }
    }

    // Every plain call must name a script function (with its arity) or the built-in escape(def), and every
    // variable must be declared somewhere (Painless refuses unknown names when it compiles; a class such as
    // `Collections.emptyList()` that is not in the subset ends up here too).
    void check_names(const script& s, const node& n, const std::vector<std::string>& declared) {
        if (n.kind == nk::var && std::find(declared.begin(), declared.end(), n.text) == declared.end()) {
            fail("Painless script: unknown variable or unsupported class '" + n.text + "'", n.pos);
        }
        if (n.kind == nk::call) {
            bool known = false;
            for (const auto& f : s.functions) {
                if (f.name == n.text) {
                    if (f.params.size() != n.kids.size()) {
                        fail(
                            "Painless script: function '" + n.text + "' takes " +
                                std::to_string(f.params.size()) + " argument(s)",
                            n.pos
                        );
                    }
                    known = true;
                }
            }
            if (!known && n.text == "escape") {
                if (n.kids.size() != 1) {
                    fail("Painless script: escape takes 1 argument", n.pos);
                }
                known = true;
            }
            if (!known) {
                fail("Painless script: unknown function '" + n.text + "'", n.pos);
            }
        }
        for (const auto& k : n.kids) {
            if (k) {
                check_names(s, *k, declared);
            }
        }
    }

    std::vector<token> t_;
    std::size_t i_ = 0;
    std::size_t depth_ = 0;
};

// ---------------------------------------------------------------------------------------------------
// Evaluation

enum class flow { normal, break_, continue_, return_ };

struct variable {
    std::string name;
    std::string type;  // declared type; "def" accepts anything
    value val;
};

// Conversions on store (declaration, assignment, parameter, return), as Painless casts implicitly.
// `narrowing` is set for compound assignment, which casts back to the variable's type in Java.
value coerce(const std::string& type, value v, position p, bool narrowing = false) {
    if (type.empty() || type == "def" || type == "var" || type == "Object") {
        return v;
    }
    const auto bad = [&]() -> value {
        fail(std::string("Painless script: cannot cast ") + java_type(v) + " to " + type, p);
    };
    if (type.ends_with("[]")) {
        return v.is_null() || v.is_list() ? v : bad();
    }
    if (type == "int" || type == "long" || type == "short" || type == "byte" || type == "char") {
        if (v.is_int()) {
            return v;
        }
        if (v.is_double() && narrowing) {
            const double d = std::get<double>(v.v);
            return value(
                std::isnan(d) ? std::int64_t{0} : static_cast<std::int64_t>(std::clamp(d, -9.2e18, 9.2e18))
            );
        }
        return bad();
    }
    if (type == "Integer" || type == "Long") {
        return v.is_null() || v.is_int() ? v : bad();
    }
    if (type == "double" || type == "float") {
        if (v.is_number()) {
            return type == "float" ? value::java_float(v.as_double()) : value(v.as_double());
        }
        return bad();
    }
    if (type == "Double" || type == "Float") {
        return v.is_null() || v.is_double() ? v : bad();
    }
    if (type == "Number") {
        return v.is_null() || v.is_number() ? v : bad();
    }
    if (type == "boolean") {
        return v.is_bool() ? v : bad();
    }
    if (type == "Boolean") {
        return v.is_null() || v.is_bool() ? v : bad();
    }
    if (type == "String") {
        return v.is_null() || v.is_string() ? v : bad();
    }
    if (type == "List" || type == "ArrayList" || type == "Collection" || type == "Iterable") {
        return v.is_null() || v.is_list() ? v : bad();
    }
    if (type == "Map" || type == "HashMap" || type == "LinkedHashMap") {
        return v.is_null() || v.is_map() ? v : bad();
    }
    if (type == "StringBuilder") {
        return v.is_null() || v.is_builder() ? v : bad();
    }
    return v;
}

value default_of(const std::string& type) {
    if (type == "int" || type == "long" || type == "short" || type == "byte" || type == "char") {
        return value(std::int64_t{0});
    }
    if (type == "double" || type == "float") {
        return type == "float" ? value::java_float(0.0) : value(0.0);
    }
    if (type == "boolean") {
        return value(false);
    }
    return {};
}

std::int64_t want_int(const value& v, const char* what, position p) {
    if (!v.is_int()) {
        fail(std::string("Painless script: ") + what + " must be an integer, not " + java_type(v), p);
    }
    return std::get<std::int64_t>(v.v);
}

const std::string& want_string(const value& v, const char* what, position p) {
    if (!v.is_string()) {
        if (v.is_null()) {
            fail(std::string("Painless script: null pointer: ") + what + " is null", p);
        }
        fail(std::string("Painless script: ") + what + " must be a String, not " + java_type(v), p);
    }
    return std::get<shared_text>(v.v).get();
}

bool want_bool(const value& v, position p) {
    if (!v.is_bool()) {
        fail(std::string("Painless script: cannot cast ") + java_type(v) + " to boolean", p);
    }
    return std::get<bool>(v.v);
}

// A List or StringBuilder method's index: in [0, size), or [0, size] when `end_ok` (an insert position);
// no counting from the end, unlike `a[i]`.
std::size_t method_index(const value& i, std::size_t size, bool end_ok, position p) {
    const std::int64_t k = want_int(i, "a list index", p);
    const auto n = static_cast<std::int64_t>(size);
    if (k < 0 || k > n || (k == n && !end_ok)) {
        fail(
            "Painless script: index " + std::to_string(k) + " out of bounds for length " + std::to_string(n),
            p
        );
    }
    return static_cast<std::size_t>(k);
}

std::size_t list_index(const std::vector<value>& l, const value& i, position p) {
    std::int64_t k = want_int(i, "a list index", p);
    const auto n = static_cast<std::int64_t>(l.size());
    if (k < 0) {
        k += n;  // Painless counts negative indexes from the end
    }
    if (k < 0 || k >= n) {
        fail(
            "Painless script: index " + std::to_string(want_int(i, "a list index", p)) +
                " out of bounds for length " + std::to_string(n),
            p
        );
    }
    return static_cast<std::size_t>(k);
}

void check_elements(std::size_t n, position p) {
    if (n > max_elements) {
        fail("Painless script: a list or map grew past " + std::to_string(max_elements) + " elements", p);
    }
}

std::string map_key(const value& k, position p) {
    if (k.is_string()) {
        return std::get<shared_text>(k.v).get();
    }
    fail(std::string("Painless script: map keys must be Strings, not ") + java_type(k), p);
}

class evaluator {
public:
    explicit evaluator(const script& s) : s_(s) {}

    value run(const json::value& input) {
        value params = from_json(input, heap_);
        // Counted from here: what the script makes, not the answer it reads.
        struct budget_scope {
            explicit budget_scope(std::shared_ptr<text_budget> b) { current_text_budget = std::move(b); }
            ~budget_scope() { current_text_budget.reset(); }
        } scope(std::make_shared<text_budget>());
        frames_.emplace_back();
        frames_.back().push_back({"params", "Map", std::move(params)});
        const flow f = exec_block(*s_.body, true);
        if (f == flow::return_) {
            return std::move(returned_);
        }
        return {};
    }

private:
    void step(position p) { charge(1, p); }

    // Work that grows with the data costs steps too: one per element visited or copied, one per 64 bytes
    // of text read or written. Otherwise a loop of 1,000,000 steps over a 16 MiB string would copy
    // terabytes.
    void charge(std::size_t units, position p) {
        steps_ += units;
        if (steps_ > max_steps) {
            fail("Painless script: stopped after " + std::to_string(max_steps) + " steps", p);
        }
    }
    void charge_text(std::size_t bytes, position p) { charge(bytes / 64, p); }
    static std::size_t size_of(const value& v) {
        if (v.is_list()) {
            return std::get<list_ptr>(v.v)->size();
        }
        if (v.is_map()) {
            return std::get<map_ptr>(v.v)->items.size();
        }
        if (v.is_string()) {
            return std::get<shared_text>(v.v).get().size() / 64;
        }
        if (v.is_builder()) {
            return std::get<builder_ptr>(v.v)->text.size() / 64;
        }
        return 0;
    }

    // A function sees only its own parameters and locals: the search stops at its first frame.
    variable* lookup(const std::string& name) {
        const std::size_t floor = function_floor_.empty() ? 0 : function_floor_.back();
        for (std::size_t f = frames_.size(); f-- > floor;) {
            auto& frame = frames_[f];
            for (auto v = frame.rbegin(); v != frame.rend(); ++v) {
                if (v->name == name) {
                    return &*v;
                }
            }
        }
        return nullptr;
    }

    void declare(const std::string& name, const std::string& type, value v, position p) {
        auto& frame = frames_.back();
        for (const auto& existing : frame) {
            if (existing.name == name) {
                fail("Painless script: variable '" + name + "' is already defined", p);
            }
        }
        frame.push_back({name, type, coerce(type, std::move(v), p)});
    }

    flow exec_block(const node& b, bool same_frame = false) {
        if (!same_frame) {
            frames_.emplace_back();
        }
        flow result = flow::normal;
        for (const auto& s : b.kids) {
            result = exec(*s);
            if (result != flow::normal) {
                break;
            }
        }
        if (!same_frame) {
            frames_.pop_back();
        }
        return result;
    }

    flow exec(const node& n) {
        step(n.pos);
        switch (n.kind) {
            case nk::block:
                return exec_block(n);
            case nk::empty:
                return flow::normal;
            case nk::decls:
                for (const auto& d : n.kids) {
                    value init = d->kids[0] ? eval(*d->kids[0]) : default_of(d->type);
                    declare(d->text, d->type, std::move(init), d->pos);
                }
                return flow::normal;
            case nk::expr_stmt:
                eval(*n.kids[0]);
                return flow::normal;
            case nk::if_:
                if (want_bool(eval(*n.kids[0]), n.kids[0]->pos)) {
                    return exec_scoped(*n.kids[1]);
                }
                if (n.kids[2]) {
                    return exec_scoped(*n.kids[2]);
                }
                return flow::normal;
            case nk::while_:
                while (want_bool(eval(*n.kids[0]), n.kids[0]->pos)) {
                    step(n.pos);
                    const flow f = exec_scoped(*n.kids[1]);
                    if (f == flow::break_) {
                        break;
                    }
                    if (f == flow::return_) {
                        return f;
                    }
                }
                return flow::normal;
            case nk::do_while:
                do {
                    step(n.pos);
                    const flow f = exec_scoped(*n.kids[0]);
                    if (f == flow::break_) {
                        break;
                    }
                    if (f == flow::return_) {
                        return f;
                    }
                } while (want_bool(eval(*n.kids[1]), n.kids[1]->pos));
                return flow::normal;
            case nk::for_:
                return exec_for(n);
            case nk::foreach:
                return exec_foreach(n);
            case nk::break_:
                return flow::break_;
            case nk::continue_:
                return flow::continue_;
            case nk::return_:
                returned_ = n.kids[0] ? eval(*n.kids[0]) : value();
                return flow::return_;
            case nk::throw_: {
                // The script's own words are the point of a throw: they are the failure's text.
                std::string what = "Painless script: " + n.text;
                if (n.kids[0]) {
                    what += ": ";
                    append_text(what, eval(*n.kids[0]), n.pos);
                }
                fail(std::move(what), n.pos);
            }
            default:
                eval(n);
                return flow::normal;
        }
    }

    // A statement that is not a block still gets its own scope (a declaration in it ends with it).
    flow exec_scoped(const node& n) {
        if (n.kind == nk::block) {
            return exec_block(n);
        }
        frames_.emplace_back();
        const flow f = exec(n);
        frames_.pop_back();
        return f;
    }

    flow exec_for(const node& n) {
        frames_.emplace_back();
        if (n.kids[0]) {
            exec(*n.kids[0]);
        }
        flow out = flow::normal;
        for (;;) {
            if (n.kids[1] && !want_bool(eval(*n.kids[1]), n.kids[1]->pos)) {
                break;
            }
            step(n.pos);
            const flow f = exec_scoped(*n.kids[3]);
            if (f == flow::break_) {
                break;
            }
            if (f == flow::return_) {
                out = f;
                break;
            }
            if (n.kids[2]) {
                eval(*n.kids[2]->kids[0]);
            }
        }
        frames_.pop_back();
        return out;
    }

    flow exec_foreach(const node& n) {
        value coll = eval(*n.kids[0]);
        if (coll.is_null()) {
            fail("Painless script: null pointer: cannot iterate over null", n.kids[0]->pos);
        }
        if (!coll.is_list()) {
            fail(std::string("Painless script: cannot iterate over ") + java_type(coll), n.kids[0]->pos);
        }
        // Java would throw ConcurrentModificationException on a list changed while iterated; iterating a
        // snapshot of the handle keeps us memory-safe whatever the body does.
        const list_ptr l = std::get<list_ptr>(coll.v);
        for (std::size_t i = 0; i < l->size(); ++i) {
            step(n.pos);
            frames_.emplace_back();
            declare(n.text, n.type, (*l)[i], n.pos);
            const flow f = n.kids[1]->kind == nk::block ? exec_block(*n.kids[1], true) : exec(*n.kids[1]);
            frames_.pop_back();
            if (f == flow::break_) {
                break;
            }
            if (f == flow::return_) {
                return f;
            }
        }
        return flow::normal;
    }

    // ----- expressions

    value eval(const node& n) {
        switch (n.kind) {
            case nk::lit_null:
                return {};
            case nk::lit_bool:
                return value(n.flag);
            case nk::lit_int:
                return value(n.integer);
            case nk::lit_double:
                return n.flag ? value::java_float(n.floating) : value(n.floating);
            case nk::lit_string:
                return value(n.text);
            case nk::list_lit: {
                auto l = heap_.list();
                l->reserve(n.kids.size());
                for (const auto& k : n.kids) {
                    l->push_back(eval(*k));
                }
                return value(std::move(l));
            }
            case nk::map_lit: {
                auto m = heap_.map();
                for (std::size_t i = 0; i + 1 < n.kids.size(); i += 2) {
                    std::string k = map_key(eval(*n.kids[i]), n.kids[i]->pos);
                    value v = eval(*n.kids[i + 1]);
                    map_put(*m, std::move(k), std::move(v));
                }
                return value(std::move(m));
            }
            case nk::var: {
                variable* v = lookup(n.text);
                if (v == nullptr) {
                    fail("Painless script: unknown variable '" + n.text + "'", n.pos);
                }
                return v->val;
            }
            case nk::member: {
                value obj = eval(*n.kids[0]);
                return member(obj, n);
            }
            case nk::index: {
                value obj = eval(*n.kids[0]);
                value ix = eval(*n.kids[1]);
                return index(obj, ix, n.pos);
            }
            case nk::method:
                return method(n);
            case nk::call:
                return call(n);
            case nk::static_call:
                return static_call(n);
            case nk::new_obj:
                return new_object(n);
            case nk::new_array:
                return new_array(n);
            case nk::unary:
                return unary(n);
            case nk::binary: {
                value a = eval(*n.kids[0]);
                value b = eval(*n.kids[1]);
                return binary(n.text, a, b, n.pos);
            }
            case nk::logical_and:
                return value(
                    want_bool(eval(*n.kids[0]), n.kids[0]->pos) && want_bool(eval(*n.kids[1]), n.kids[1]->pos)
                );
            case nk::logical_or:
                return value(
                    want_bool(eval(*n.kids[0]), n.kids[0]->pos) || want_bool(eval(*n.kids[1]), n.kids[1]->pos)
                );
            case nk::ternary:
                return want_bool(eval(*n.kids[0]), n.kids[0]->pos) ? eval(*n.kids[1]) : eval(*n.kids[2]);
            case nk::elvis: {
                value a = eval(*n.kids[0]);
                return a.is_null() ? eval(*n.kids[1]) : a;
            }
            case nk::assign:
                return assign(n);
            case nk::incdec:
                return incdec(n);
            case nk::cast:
                return cast(n.text, eval(*n.kids[0]), n.pos);
            case nk::instance_of:
                return value(instance_of(eval(*n.kids[0]), n.text));
            default:
                fail("Painless script: statement used as an expression", n.pos);
        }
    }

    static void map_put(map_data& m, std::string k, value v) { m.put(std::move(k), std::move(v)); }

    value member(const value& obj, const node& n) {
        if (obj.is_null()) {
            if (n.flag) {
                return {};
            }
            fail("Painless script: null pointer: cannot read field '" + n.text + "' of null", n.pos);
        }
        if (obj.is_map()) {
            value* v = std::get<map_ptr>(obj.v)->find(n.text);
            return v != nullptr ? *v : value();
        }
        if (obj.is_list() && (n.text == "length" || n.text == "size")) {
            // `.length` is an array's field; Painless also answers it (and the `size` getter) for a List.
            return value(static_cast<std::int64_t>(std::get<list_ptr>(obj.v)->size()));
        }
        if (obj.is_list() && n.text == "empty") {
            return value(std::get<list_ptr>(obj.v)->empty());
        }
        fail(std::string("Painless script: no field '") + n.text + "' on " + java_type(obj), n.pos);
    }

    value index(const value& obj, const value& ix, position p) {
        if (obj.is_null()) {
            fail("Painless script: null pointer: cannot index null", p);
        }
        if (obj.is_list()) {
            const auto& l = *std::get<list_ptr>(obj.v);
            return l[list_index(l, ix, p)];
        }
        if (obj.is_map()) {
            value* v = std::get<map_ptr>(obj.v)->find(map_key(ix, p));
            return v != nullptr ? *v : value();
        }
        fail(std::string("Painless script: cannot index ") + java_type(obj), p);
    }

    // Stores into a variable, field or element; returns the stored value.
    value store(const node& target, value v, bool narrowing = false) {
        switch (target.kind) {
            case nk::var: {
                variable* var = lookup(target.text);
                if (var == nullptr) {
                    fail("Painless script: unknown variable '" + target.text + "'", target.pos);
                }
                var->val = coerce(var->type, std::move(v), target.pos, narrowing);
                return var->val;
            }
            case nk::member: {
                value obj = eval(*target.kids[0]);
                if (!obj.is_map()) {
                    fail(
                        std::string("Painless script: cannot set field '") + target.text + "' on " +
                            java_type(obj),
                        target.pos
                    );
                }
                auto& m = *std::get<map_ptr>(obj.v);
                map_put(m, target.text, v);
                check_elements(m.items.size(), target.pos);
                return v;
            }
            case nk::index: {
                value obj = eval(*target.kids[0]);
                value ix = eval(*target.kids[1]);
                if (obj.is_list()) {
                    auto& l = *std::get<list_ptr>(obj.v);
                    l[list_index(l, ix, target.pos)] = v;
                    return v;
                }
                if (obj.is_map()) {
                    auto& m = *std::get<map_ptr>(obj.v);
                    map_put(m, map_key(ix, target.pos), v);
                    check_elements(m.items.size(), target.pos);
                    return v;
                }
                fail(std::string("Painless script: cannot index ") + java_type(obj), target.pos);
            }
            default:
                fail("Painless script: cannot assign to this expression", target.pos);
        }
    }

    value assign(const node& n) {
        const node& target = *n.kids[0];
        if (n.text == "=") {
            return store(target, eval(*n.kids[1]));
        }
        value current = eval(target);
        value rhs = eval(*n.kids[1]);
        const std::string op = n.text.substr(0, n.text.size() - 1);
        return store(target, binary(op, current, rhs, n.pos), true);
    }

    value incdec(const node& n) {
        const node& target = *n.kids[0];
        value current = eval(target);
        if (!current.is_number()) {
            fail(std::string("Painless script: cannot apply ") + n.text + " to " + java_type(current), n.pos);
        }
        value updated = binary(n.text == "++" ? "+" : "-", current, value(std::int64_t{1}), n.pos);
        value stored = store(target, updated, true);
        return n.flag ? stored : current;
    }

    value unary(const node& n) {
        // Fold `-<literal>` so the most negative long literal is accepted, as in Java.
        if (n.text == "-" && n.kids[0]->kind == nk::lit_int) {
            return value(static_cast<std::int64_t>(0ULL - static_cast<std::uint64_t>(n.kids[0]->integer)));
        }
        value v = eval(*n.kids[0]);
        if (n.text == "!") {
            return value(!want_bool(v, n.pos));
        }
        if (n.text == "~") {
            return value(~want_int(v, "the operand of ~", n.pos));
        }
        if (!v.is_number()) {
            fail(std::string("Painless script: cannot apply unary ") + n.text + " to " + java_type(v), n.pos);
        }
        if (n.text == "+") {
            return v;
        }
        if (v.is_int()) {
            return value(
                static_cast<std::int64_t>(0ULL - static_cast<std::uint64_t>(std::get<std::int64_t>(v.v)))
            );
        }
        value negated(-std::get<double>(v.v));
        negated.f32 = v.f32;
        return negated;
    }

    value binary(const std::string& op, const value& a, const value& b, position p) {
        if (op == "+" && (a.is_string() || b.is_string())) {
            std::string s;
            append_text(s, a, p);
            append_text(s, b, p);
            // A copy of the whole text, at a sixteenth of the rate of text built otherwise: `s += x` in a
            // loop over a 3,072-dimension embedding copies ~90 MB in all (Painless itself counts only the
            // iterations), while a runaway loop still stops within about a gigabyte of copying.
            charge_text(s.size() / 16, p);
            return value(std::move(s));
        }
        if (op == "==" || op == "!=") {
            charge(size_of(a) + size_of(b), p);  // value equality walks containers and strings
        }
        if (op == "==" || op == "===") {
            return value(op == "==" ? values_equal(a, b) : identical(a, b));
        }
        if (op == "!=" || op == "!==") {
            return value(op == "!=" ? !values_equal(a, b) : !identical(a, b));
        }
        if ((op == "&" || op == "|" || op == "^") && a.is_bool() && b.is_bool()) {
            const bool x = std::get<bool>(a.v);
            const bool y = std::get<bool>(b.v);
            return value(op == "&" ? (x && y) : op == "|" ? (x || y) : (x != y));
        }
        if (!a.is_number() || !b.is_number()) {
            if (a.is_null() || b.is_null()) {
                fail("Painless script: null pointer: operator " + op + " on null", p);
            }
            fail("Painless script: cannot apply " + op + " to " + java_type(a) + " and " + java_type(b), p);
        }
        if (op == "<" || op == "<=" || op == ">" || op == ">=") {
            if (a.is_int() && b.is_int()) {
                const auto x = std::get<std::int64_t>(a.v);
                const auto y = std::get<std::int64_t>(b.v);
                return value(op == "<" ? x < y : op == "<=" ? x <= y : op == ">" ? x > y : x >= y);
            }
            const double x = a.as_double();
            const double y = b.as_double();
            return value(op == "<" ? x < y : op == "<=" ? x <= y : op == ">" ? x > y : x >= y);
        }
        if (a.is_int() && b.is_int()) {
            const auto x = static_cast<std::uint64_t>(std::get<std::int64_t>(a.v));
            const auto y = static_cast<std::uint64_t>(std::get<std::int64_t>(b.v));
            const auto sx = std::get<std::int64_t>(a.v);
            const auto sy = std::get<std::int64_t>(b.v);
            if (op == "+") {
                return value(static_cast<std::int64_t>(x + y));
            }
            if (op == "-") {
                return value(static_cast<std::int64_t>(x - y));
            }
            if (op == "*") {
                return value(static_cast<std::int64_t>(x * y));
            }
            if (op == "/" || op == "%") {
                if (sy == 0) {
                    fail("Painless script: / by zero", p);
                }
                if (sx == std::numeric_limits<std::int64_t>::min() && sy == -1) {
                    return value(op == "/" ? sx : std::int64_t{0});
                }
                return value(op == "/" ? sx / sy : sx % sy);
            }
            if (op == "&") {
                return value(sx & sy);
            }
            if (op == "|") {
                return value(sx | sy);
            }
            if (op == "^") {
                return value(sx ^ sy);
            }
            if (op == "<<") {
                return value(static_cast<std::int64_t>(x << (y & 63)));
            }
            if (op == ">>") {
                return value(sx >> (y & 63));
            }
            if (op == ">>>") {
                return value(static_cast<std::int64_t>(x >> (y & 63)));
            }
        } else if ((a.f32 || a.is_int()) && (b.f32 || b.is_int())) {
            // Java's binary numeric promotion: float with float or an integer stays float.
            const auto x = static_cast<float>(a.as_double());
            const auto y = static_cast<float>(b.as_double());
            if (op == "+") {
                return value::java_float(x + y);
            }
            if (op == "-") {
                return value::java_float(x - y);
            }
            if (op == "*") {
                return value::java_float(x * y);
            }
            if (op == "/") {
                return value::java_float(x / y);
            }
            if (op == "%") {
                return value::java_float(std::fmod(x, y));
            }
        } else {
            const double x = a.as_double();
            const double y = b.as_double();
            if (op == "+") {
                return value(x + y);
            }
            if (op == "-") {
                return value(x - y);
            }
            if (op == "*") {
                return value(x * y);
            }
            if (op == "/") {
                return value(x / y);
            }
            if (op == "%") {
                return value(std::fmod(x, y));
            }
        }
        fail("Painless script: cannot apply " + op + " to " + java_type(a) + " and " + java_type(b), p);
    }

    static bool identical(const value& a, const value& b) {
        if (a.v.index() != b.v.index()) {
            return false;
        }
        if (a.is_list()) {
            return std::get<list_ptr>(a.v) == std::get<list_ptr>(b.v);
        }
        if (a.is_map()) {
            return std::get<map_ptr>(a.v) == std::get<map_ptr>(b.v);
        }
        return values_equal(a, b);
    }

    static value cast(const std::string& type, value v, position p) {
        if ((type == "int" || type == "long" || type == "short" || type == "byte") && v.is_double()) {
            return coerce(type, std::move(v), p, true);
        }
        if ((type == "Integer" || type == "Long") && v.is_double()) {
            fail("Painless script: cannot cast java.lang.Double to " + type, p);
        }
        return coerce(type, std::move(v), p);
    }

    static bool instance_of(const value& v, const std::string& type) {
        if (v.is_null()) {
            return false;
        }
        if (type == "def" || type == "Object") {
            return true;
        }
        if (type == "String") {
            return v.is_string();
        }
        if (type == "Number") {
            return v.is_number();
        }
        if (type == "Integer" || type == "Long" || type == "int" || type == "long") {
            return v.is_int();
        }
        if (type == "Double" || type == "Float" || type == "double" || type == "float") {
            return v.is_double();
        }
        if (type == "Boolean" || type == "boolean") {
            return v.is_bool();
        }
        if (type == "List" || type == "ArrayList" || type == "Collection" || type == "Iterable" ||
            type.ends_with("[]")) {
            return v.is_list();
        }
        if (type == "Map" || type == "HashMap" || type == "LinkedHashMap") {
            return v.is_map();
        }
        if (type == "StringBuilder") {
            return v.is_builder();
        }
        return false;
    }

    value new_object(const node& n) {
        std::vector<value> args;
        for (const auto& k : n.kids) {
            args.push_back(eval(*k));
        }
        if (n.text == "BigDecimal") {
            return big_decimal(args, n);
        }
        if (n.text == "StringBuilder" || n.text == "String") {
            std::string init;
            if (!args.empty()) {
                // new StringBuilder(int) is a capacity, not content.
                if (!(n.text == "StringBuilder" && args[0].is_int())) {
                    init = want_string(args[0], "the constructor argument", n.kids[0]->pos);
                }
            }
            if (n.text == "String") {
                return value(std::move(init));
            }
            return value(std::make_shared<builder_data>(std::move(init)));
        }
        if (n.text == "ArrayList") {
            auto l = heap_.list();
            if (!args.empty() && !args[0].is_int()) {
                if (!args[0].is_list()) {
                    fail("Painless script: new ArrayList needs a collection", n.pos);
                }
                charge(std::get<list_ptr>(args[0].v)->size(), n.pos);
                *l = *std::get<list_ptr>(args[0].v);
            }
            return value(std::move(l));
        }
        auto m = heap_.map();
        if (!args.empty() && !args[0].is_int()) {
            if (!args[0].is_map()) {
                fail("Painless script: new " + n.text + " needs a map", n.pos);
            }
            charge(std::get<map_ptr>(args[0].v)->items.size(), n.pos);
            *m = *std::get<map_ptr>(args[0].v);
        }
        return value(std::move(m));
    }

    // `new BigDecimal(x)`, which the rerank blueprints use to turn a Double index into an int
    // (`new BigDecimal(outputs[i].index.toString()).intValue()`): held as a double, so intValue,
    // doubleValue and the arithmetic work; its toString is Double's (`2.0`, where BigDecimal prints `2`
    // for an input of `2`).
    value big_decimal(const std::vector<value>& args, const node& n) {
        if (args.size() != 1) {
            fail("Painless script: new BigDecimal needs one argument", n.pos);
        }
        if (args[0].is_int()) {
            return value(static_cast<double>(std::get<std::int64_t>(args[0].v)));
        }
        if (args[0].is_double()) {
            return args[0];
        }
        const std::string text = want_string(args[0], "the BigDecimal argument", n.kids[0]->pos);
        // BigDecimal(String): optional sign, digits with an optional fraction, an optional exponent.
        std::size_t i = (!text.empty() && (text[0] == '+' || text[0] == '-')) ? 1 : 0;
        std::size_t digits = 0;
        const auto run = [&] {
            while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
                ++i;
                ++digits;
            }
        };
        run();
        if (i < text.size() && text[i] == '.') {
            ++i;
            run();
        }
        bool ok = digits > 0;
        if (ok && i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
            ++i;
            if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
                ++i;
            }
            const std::size_t before = digits;
            run();
            ok = digits > before;
        }
        if (!ok || i != text.size()) {
            fail("Painless script: NumberFormatException: not a BigDecimal", n.pos);
        }
        return value(std::strtod(text.c_str(), nullptr));
    }

    value new_array(const node& n) {
        auto l = heap_.list();
        if (n.flag) {
            for (const auto& k : n.kids) {
                l->push_back(coerce(n.text, eval(*k), k->pos));
            }
            return value(std::move(l));
        }
        const std::int64_t size = want_int(eval(*n.kids[0]), "an array size", n.kids[0]->pos);
        if (size < 0) {
            fail("Painless script: negative array size", n.pos);
        }
        check_elements(static_cast<std::size_t>(size), n.pos);
        charge(static_cast<std::size_t>(size), n.pos);
        l->assign(static_cast<std::size_t>(size), default_of(n.text));
        return value(std::move(l));
    }

    value call(const node& n) {
        std::vector<value> args;
        args.reserve(n.kids.size());
        for (const auto& k : n.kids) {
            args.push_back(eval(*k));
        }
        for (const auto& f : s_.functions) {
            if (f.name == n.text && f.params.size() == args.size()) {
                return call_function(f, std::move(args), n.pos);
            }
        }
        // ml-commons injects DEFAULT_ESCAPE_FUNCTION when a script calls escape() without defining it.
        const std::string& s = want_string(args[0], "the argument of escape", n.kids[0]->pos);
        charge_text(s.size() * 7, n.pos);  // seven passes, as the injected function makes
        return value(ml_commons_escape(s));
    }

    value call_function(const function_def& f, std::vector<value> args, position p) {
        step(p);
        if (function_floor_.size() >= max_call_depth) {
            fail("Painless script: calls nested deeper than " + std::to_string(max_call_depth), p);
        }
        function_floor_.push_back(frames_.size());
        frames_.emplace_back();
        for (std::size_t i = 0; i < args.size(); ++i) {
            declare(f.params[i].second, f.params[i].first, std::move(args[i]), p);
        }
        const flow fl = exec_block(*f.body, true);
        frames_.pop_back();
        function_floor_.pop_back();
        value out = fl == flow::return_ ? std::move(returned_) : value();
        if (f.return_type == "void") {
            return {};
        }
        return coerce(f.return_type, std::move(out), p);
    }

    value static_call(const node& n) {
        std::vector<value> args;
        for (const auto& k : n.kids) {
            args.push_back(eval(*k));
        }
        const std::string& f = n.text;
        const auto arity = [&](std::size_t want) {
            if (args.size() != want) {
                fail("Painless script: " + f + " takes " + std::to_string(want) + " argument(s)", n.pos);
            }
        };
        if (f == "String.valueOf" || f == "Integer.toString" || f == "Long.toString" ||
            f == "Double.toString") {
            arity(1);
            std::string text = to_text(args[0], n.pos);
            charge_text(text.size(), n.pos);
            return value(std::move(text));
        }
        if (f == "String.join") {
            arity(2);
            const std::string& sep = want_string(args[0], "the delimiter", n.pos);
            if (!args[1].is_list()) {
                fail("Painless script: String.join needs a list", n.pos);
            }
            std::string out;
            bool first = true;
            for (const auto& e : *std::get<list_ptr>(args[1].v)) {
                if (!first) {
                    out.append(sep);
                }
                first = false;
                append_text(out, e, n.pos);
                step(n.pos);
            }
            charge_text(out.size(), n.pos);
            return value(std::move(out));
        }
        if (f == "Integer.parseInt" || f == "Integer.valueOf" || f == "Long.parseLong" ||
            f == "Long.valueOf") {
            arity(1);
            if (args[0].is_int() && f.ends_with("valueOf")) {
                return args[0];
            }
            const bool int32 = f.starts_with("Integer");
            const auto out = parse_java_integer(
                want_string(args[0], "the argument", n.pos),
                int32 ? std::numeric_limits<std::int32_t>::min() : std::numeric_limits<std::int64_t>::min(),
                int32 ? std::numeric_limits<std::int32_t>::max() : std::numeric_limits<std::int64_t>::max()
            );
            if (!out) {
                fail("Painless script: NumberFormatException in " + f, n.pos);
            }
            return value(static_cast<std::int64_t>(*out));
        }
        if (f == "Double.parseDouble" || f == "Double.valueOf" || f == "Float.parseFloat") {
            arity(1);
            if (args[0].is_number()) {
                return f == "Float.parseFloat" ? value::java_float(args[0].as_double())
                                               : value(args[0].as_double());
            }
            const auto out = parse_java_double(want_string(args[0], "the argument", n.pos));
            if (!out) {
                fail("Painless script: NumberFormatException in " + f, n.pos);
            }
            return f == "Float.parseFloat" ? value::java_float(*out) : value(*out);
        }
        if (f == "Boolean.parseBoolean") {
            arity(1);
            if (args[0].is_null()) {
                return value(false);
            }
            std::string s = want_string(args[0], "the argument", n.pos);
            std::transform(s.begin(), s.end(), s.begin(), [](char c) {
                return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            });
            return value(s == "true");
        }
        // Math
        if (f == "Math.max" || f == "Math.min") {
            arity(2);
            const value& a = args[0];
            const value& b = args[1];
            if (!a.is_number() || !b.is_number()) {
                fail("Painless script: " + f + " needs numbers", n.pos);
            }
            if (a.is_int() && b.is_int()) {
                const auto x = std::get<std::int64_t>(a.v);
                const auto y = std::get<std::int64_t>(b.v);
                return value(f == "Math.max" ? std::max(x, y) : std::min(x, y));
            }
            const double x = a.as_double();
            const double y = b.as_double();
            if (std::isnan(x) || std::isnan(y)) {
                return value(std::numeric_limits<double>::quiet_NaN());
            }
            return value(f == "Math.max" ? std::max(x, y) : std::min(x, y));
        }
        arity(f == "Math.pow" ? 2 : 1);
        for (const auto& a : args) {
            if (!a.is_number()) {
                fail("Painless script: " + f + " needs numbers", n.pos);
            }
        }
        const value& a = args[0];
        if (f == "Math.abs") {
            if (a.is_int()) {
                const auto x = std::get<std::int64_t>(a.v);
                return value(x < 0 ? static_cast<std::int64_t>(0ULL - static_cast<std::uint64_t>(x)) : x);
            }
            return value(std::fabs(a.as_double()));
        }
        if (f == "Math.round") {
            const double x = a.as_double();
            if (std::isnan(x)) {
                return value(std::int64_t{0});
            }
            return value(static_cast<std::int64_t>(std::clamp(std::floor(x + 0.5), -9.2e18, 9.2e18)));
        }
        if (f == "Math.floor") {
            return value(std::floor(a.as_double()));
        }
        if (f == "Math.ceil") {
            return value(std::ceil(a.as_double()));
        }
        if (f == "Math.sqrt") {
            return value(std::sqrt(a.as_double()));
        }
        return value(std::pow(a.as_double(), args[1].as_double()));
    }

    value method(const node& n) {
        value recv = eval(*n.kids[0]);
        if (recv.is_null()) {
            if (n.flag) {
                return {};
            }
            fail("Painless script: null pointer: cannot call " + n.text + "() on null", n.pos);
        }
        std::vector<value> args;
        args.reserve(n.kids.size() - 1);
        for (std::size_t i = 1; i < n.kids.size(); ++i) {
            args.push_back(eval(*n.kids[i]));
        }
        const std::string& m = n.text;
        const position p = n.pos;
        const auto arity = [&](std::size_t lo, std::size_t hi) {
            if (args.size() < lo || args.size() > hi) {
                fail(
                    std::string("Painless script: no method ") + m + "/" + std::to_string(args.size()) +
                        " on " + java_type(recv),
                    p
                );
            }
        };
        if (m == "toString" && args.empty()) {
            std::string text = to_text(recv, p);
            charge_text(text.size(), p);
            return value(std::move(text));
        }
        if (m == "equals") {
            arity(1, 1);
            charge(size_of(recv) + size_of(args[0]), p);
            return value(values_equal(recv, args[0]));
        }
        if (recv.is_string()) {
            charge(size_of(recv), p);  // String methods read the text (UTF-16 indexes need a scan)
        }
        if (recv.is_string()) {
            return string_method(std::get<shared_text>(recv.v).get(), m, args, p, arity);
        }
        if (recv.is_builder()) {
            auto& b = *std::get<builder_ptr>(recv.v);
            if (m == "append") {
                arity(1, 1);
                const std::size_t before = b.text.size();
                append_text(b.text, args[0], p);
                b.sync();
                charge_text(b.text.size() - before, p);
                return recv;  // chaining: sb.append(a).append(b)
            }
            if (m == "length") {
                arity(0, 0);
                return value(u16_length(b.text));
            }
            if (m == "insert") {
                arity(2, 2);
                const auto at = want_int(args[0], "the offset", p);
                std::string piece;
                append_text(piece, args[1], p);
                auto u = to_u16(b.text);
                if (at < 0 || at > static_cast<std::int64_t>(u.size())) {
                    fail("Painless script: offset " + std::to_string(at) + " out of range", p);
                }
                u.insert(static_cast<std::size_t>(at), to_u16(piece));
                b.text = from_u16(u);
                b.sync();
                charge_text(b.text.size(), p);
                check_text_size(b.text, p);
                return recv;
            }
            if (m == "deleteCharAt" || m == "reverse") {
                arity(m == "reverse" ? 0 : 1, m == "reverse" ? 0 : 1);
                auto u = to_u16(b.text);
                if (m == "reverse") {
                    std::reverse(u.begin(), u.end());
                    // A surrogate pair stays a pair, as AbstractStringBuilder.reverse keeps it.
                    for (std::size_t i = 0; i + 1 < u.size(); ++i) {
                        if (u[i] >= 0xDC00 && u[i] <= 0xDFFF && u[i + 1] >= 0xD800 && u[i + 1] <= 0xDBFF) {
                            std::swap(u[i], u[i + 1]);
                            ++i;
                        }
                    }
                } else {
                    u.erase(method_index(args[0], u.size(), false, p), 1);
                }
                b.text = from_u16(u);
                b.sync();
                charge_text(b.text.size(), p);
                return recv;
            }
            if (m == "setLength") {
                arity(1, 1);
                const auto k = want_int(args[0], "the length", p);
                if (k < 0 || k > u16_length(b.text)) {
                    fail("Painless script: setLength out of range", p);
                }
                b.text = java_substring(b.text, 0, k, p);
                b.sync();
                return {};
            }
        }
        if (recv.is_list()) {
            return list_method(std::get<list_ptr>(recv.v), m, args, p, arity);
        }
        if (recv.is_map()) {
            return map_method(*std::get<map_ptr>(recv.v), m, args, p, arity);
        }
        if (recv.is_number() && args.empty()) {
            if (m == "intValue" || m == "longValue") {
                return cast("long", recv, p);
            }
            if (m == "doubleValue") {
                return value(recv.as_double());
            }
            if (m == "floatValue") {
                return value::java_float(recv.as_double());
            }
        }
        fail(
            std::string("Painless script: no method ") + m + "/" + std::to_string(args.size()) + " on " +
                java_type(recv),
            p
        );
    }

    template <class Arity>
    value string_method(
        const std::string& s, const std::string& m, std::vector<value>& args, position p, Arity arity
    ) {
        if (m == "length") {
            arity(0, 0);
            return value(u16_length(s));
        }
        if (m == "isEmpty") {
            arity(0, 0);
            return value(s.empty());
        }
        if (m == "trim" || m == "strip") {
            arity(0, 0);
            return value(java_trim(s));
        }
        if (m == "toLowerCase" || m == "toUpperCase") {
            arity(0, 0);
            std::string out = s;
            for (auto& c : out) {
                // ASCII only: non-ASCII letters keep their case (Java would map them too).
                c = static_cast<char>(
                    m == "toLowerCase" ? std::tolower(static_cast<unsigned char>(c))
                                       : std::toupper(static_cast<unsigned char>(c))
                );
            }
            return value(std::move(out));
        }
        if (m == "contains" || m == "startsWith" || m == "endsWith" || m == "equalsIgnoreCase" ||
            m == "concat") {
            arity(1, 1);
            const std::string& x = want_string(args[0], "the argument", p);
            if (m == "contains") {
                return value(s.find(x) != std::string::npos);
            }
            if (m == "startsWith") {
                return value(s.starts_with(x));
            }
            if (m == "endsWith") {
                return value(s.ends_with(x));
            }
            if (m == "concat") {
                std::string out = s + x;
                check_text_size(out, p);
                return value(std::move(out));
            }
            if (s.size() != x.size()) {
                return value(false);
            }
            for (std::size_t i = 0; i < s.size(); ++i) {
                if (std::tolower(static_cast<unsigned char>(s[i])) !=
                    std::tolower(static_cast<unsigned char>(x[i]))) {
                    return value(false);
                }
            }
            return value(true);
        }
        if (m == "indexOf" || m == "lastIndexOf") {
            arity(1, 2);
            const std::string& x = want_string(args[0], "the argument", p);
            const std::int64_t from = args.size() == 2 ? want_int(args[1], "the start index", p) : 0;
            if (m == "lastIndexOf" && args.size() == 2) {
                fail("Painless script: lastIndexOf with a start index is not supported", p);
            }
            return value(java_index_of(s, x, from, m == "lastIndexOf"));
        }
        if (m == "substring") {
            arity(1, 2);
            const std::int64_t b = want_int(args[0], "the begin index", p);
            const std::int64_t e = args.size() == 2 ? want_int(args[1], "the end index", p) : u16_length(s);
            return value(java_substring(s, b, e, p));
        }
        if (m == "charAt") {
            arity(1, 1);
            const std::int64_t i = want_int(args[0], "the index", p);
            // A char is a one-character String here (Painless would keep a char).
            return value(java_substring(s, i, i + 1, p));
        }
        if (m == "replace") {
            arity(2, 2);
            const std::string& from = want_string(args[0], "the target", p);
            const std::string& to = want_string(args[1], "the replacement", p);
            std::string out = replace_all(s, from, to, p);
            charge_text(out.size(), p);
            return value(std::move(out));
        }
        if (m == "split") {
            arity(1, 1);
            const std::string& sep = want_string(args[0], "the separator", p);
            // Only separators without regex meaning: Java's split takes a regular expression.
            if (sep.empty() || sep.find_first_of("\\[](){}.*+?^$|") != std::string::npos) {
                fail("Painless script: split() with a regular expression is not supported", p);
            }
            auto l = heap_.list();
            std::size_t at = 0;
            for (;;) {
                const auto hit = s.find(sep, at);
                l->push_back(value(s.substr(at, hit == std::string::npos ? std::string::npos : hit - at)));
                check_elements(l->size(), p);
                if (hit == std::string::npos) {
                    break;
                }
                at = hit + sep.size();
            }
            charge(l->size(), p);
            // Java drops trailing empty strings (but keeps the single element of "".split(x)).
            while (l->size() > 1 && std::get<shared_text>(l->back().v).get().empty()) {
                l->pop_back();
            }
            if (l->size() == 1 && !s.empty() && std::get<shared_text>(l->back().v).get().empty()) {
                l->clear();
            }
            return value(std::move(l));
        }
        if (m == "hashCode" || m == "compareTo") {
            fail("Painless script: String." + m + " is not supported", p);
        }
        fail(
            "Painless script: no method " + m + "/" + std::to_string(args.size()) + " on java.lang.String", p
        );
    }

    template <class Arity>
    value list_method(
        const list_ptr& lp, const std::string& m, std::vector<value>& args, position p, Arity arity
    ) {
        auto& l = *lp;
        if (m == "size" || m == "getLength") {
            arity(0, 0);
            return value(static_cast<std::int64_t>(l.size()));
        }
        if (m == "isEmpty") {
            arity(0, 0);
            return value(l.empty());
        }
        if (m == "get") {
            arity(1, 1);
            return l[method_index(args[0], l.size(), false, p)];
        }
        if (m == "set") {
            arity(2, 2);
            const auto k = method_index(args[0], l.size(), false, p);
            value old = std::move(l[k]);
            l[k] = std::move(args[1]);
            return old;
        }
        if (m == "add") {
            arity(1, 2);
            if (args.size() == 1) {
                l.push_back(std::move(args[0]));
            } else {
                const auto k = method_index(args[0], l.size(), true, p);
                l.insert(l.begin() + static_cast<std::ptrdiff_t>(k), std::move(args[1]));
            }
            check_elements(l.size(), p);
            return args.size() == 1 ? value(true) : value();
        }
        if (m == "addAll" || m == "contains" || m == "indexOf" || m == "remove" ||
            (m == "add" && args.size() == 2)) {
            charge(l.size() + size_of(args.empty() ? value() : args[0]), p);
        }
        if (m == "addAll") {
            arity(1, 1);
            if (!args[0].is_list()) {
                fail("Painless script: addAll needs a list", p);
            }
            const auto src = *std::get<list_ptr>(args[0].v);  // a copy: the list may add itself
            l.insert(l.end(), src.begin(), src.end());
            check_elements(l.size(), p);
            return value(!src.empty());
        }
        if (m == "contains" || m == "indexOf") {
            arity(1, 1);
            for (std::size_t i = 0; i < l.size(); ++i) {
                if (values_equal(l[i], args[0])) {
                    return m == "contains" ? value(true) : value(static_cast<std::int64_t>(i));
                }
            }
            return m == "contains" ? value(false) : value(std::int64_t{-1});
        }
        if (m == "remove") {
            arity(1, 1);
            const auto k = method_index(args[0], l.size(), false, p);
            value old = std::move(l[k]);
            l.erase(l.begin() + static_cast<std::ptrdiff_t>(k));
            return old;
        }
        if (m == "clear") {
            arity(0, 0);
            l.clear();
            return {};
        }
        if (m == "subList") {
            // A copy, not a view (as keySet and values here).
            arity(2, 2);
            const auto from = want_int(args[0], "a list index", p);
            const auto to = want_int(args[1], "a list index", p);
            if (from < 0 || to > static_cast<std::int64_t>(l.size()) || from > to) {
                fail(
                    "Painless script: subList(" + std::to_string(from) + ", " + std::to_string(to) +
                        ") out of bounds for length " + std::to_string(l.size()),
                    p
                );
            }
            charge(static_cast<std::size_t>(to - from), p);
            auto out = heap_.list();
            out->assign(l.begin() + from, l.begin() + to);
            return value(std::move(out));
        }
        fail(
            "Painless script: no method " + m + "/" + std::to_string(args.size()) + " on java.util.ArrayList",
            p
        );
    }

    template <class Arity>
    value map_method(map_data& mp, const std::string& m, std::vector<value>& args, position p, Arity arity) {
        if (m == "size") {
            arity(0, 0);
            return value(static_cast<std::int64_t>(mp.items.size()));
        }
        if (m == "isEmpty") {
            arity(0, 0);
            return value(mp.items.empty());
        }
        if (m == "get" || m == "containsKey" || m == "getOrDefault") {
            arity(m == "getOrDefault" ? 2 : 1, m == "getOrDefault" ? 2 : 1);
            // A non-String key is never present in a map of String keys.
            value* v = args[0].is_string() ? mp.find(std::get<shared_text>(args[0].v).get()) : nullptr;
            if (m == "containsKey") {
                return value(v != nullptr);
            }
            if (v == nullptr) {
                return m == "get" ? value() : args[1];
            }
            return *v;
        }
        if (m == "put") {
            arity(2, 2);
            std::string k = map_key(args[0], p);
            value old;
            if (value* v = mp.find(k)) {
                old = std::move(*v);
                *v = std::move(args[1]);
            } else {
                mp.put(std::move(k), std::move(args[1]));
                check_elements(mp.items.size(), p);
            }
            return old;
        }
        if (m == "remove") {
            arity(1, 1);
            if (!args[0].is_string()) {
                return {};
            }
            charge(mp.items.size(), p);
            value old;
            mp.erase(std::get<shared_text>(args[0].v).get(), old);
            return old;
        }
        if (m == "keySet" || m == "values") {
            arity(0, 0);
            // Copies, not views: changing them does not change the map (Java's would).
            charge(mp.items.size(), p);
            auto l = heap_.list();
            l->reserve(mp.items.size());
            for (const auto& [k, v] : mp.items) {
                l->push_back(m == "keySet" ? value(k) : v);
            }
            return value(std::move(l));
        }
        if (m == "entrySet") {
            // Entries are maps {key, value}: `e.getKey()`, `e.getValue()`, `e.key` and `e.value` read them.
            arity(0, 0);
            charge(mp.items.size(), p);
            auto l = heap_.list();
            l->reserve(mp.items.size());
            for (const auto& [k, v] : mp.items) {
                auto e = heap_.map();
                e->put("key", value(k));
                e->put("value", v);
                l->push_back(value(std::move(e)));
            }
            return value(std::move(l));
        }
        if ((m == "getKey" || m == "getValue") && args.empty()) {
            value* v = mp.find(m == "getKey" ? "key" : "value");
            return v != nullptr ? *v : value();
        }
        if (m == "containsValue") {
            arity(1, 1);
            charge(mp.items.size(), p);
            for (const auto& [k, v] : mp.items) {
                if (values_equal(v, args[0])) {
                    return value(true);
                }
            }
            return value(false);
        }
        fail(
            "Painless script: no method " + m + "/" + std::to_string(args.size()) + " on java.util.HashMap", p
        );
    }

    const script& s_;
    heap heap_;  // destroyed after the frames: it breaks the cycles the run left
    std::vector<std::vector<variable>> frames_;
    std::vector<std::size_t> function_floor_;  // frames_ index where each active call's frames start
    value returned_;
    std::size_t steps_ = 0;
};

}  // namespace

bool is_painless_function(std::string_view function) {
    return !function.empty() && !function.starts_with("connector.");
}

std::string with_placeholder_literals(std::string_view function) {
    constexpr std::string_view open = "${parameters.";
    std::string out;
    out.reserve(function.size());
    std::size_t at = 0;
    for (;;) {
        const auto hit = function.find(open, at);
        const auto close = hit == std::string_view::npos ? hit : function.find('}', hit + open.size());
        if (close == std::string_view::npos) {
            out.append(function.substr(at));
            return out;
        }
        out.append(function.substr(at, hit - at)).append("\"\"");
        at = close + 1;
    }
}

std::string ml_commons_escape(std::string_view input) {
    std::string s(input);
    const auto rep = [&](std::string_view from, std::string_view to) {
        if (s.find(from) != std::string::npos) {
            s = replace_all(s, from, to, position{});
        }
    };
    rep("\\", "\\\\");
    rep("\"", "\\\"");
    rep("\r", "\\r");
    rep("\\t", "\\\\\\t");
    rep("\n", "\\n");
    rep("\b", "\\b");
    rep("\f", "\\f");
    return s;
}

result<std::shared_ptr<const script>> compile(std::string_view source) {
    if (source.size() > max_source) {
        return illegal_argument("Painless script: longer than " + std::to_string(max_source) + " bytes");
    }
    try {
        auto tokens = lexer(source).run();
        return std::shared_ptr<const script>(parser(std::move(tokens)).run());
    } catch (const script_failure& f) {
        return illegal_argument(f.reason);
    }
}

result<std::shared_ptr<const script>> compile_cached(std::string_view source) {
    // Rendered scripts differ only when a request changes a `${parameters.x}` they use; a few hundred
    // entries cover every connector in practice, and a full cache just starts over.
    static std::mutex mutex;
    static std::unordered_map<std::string, std::shared_ptr<const script>> cache;
    constexpr std::size_t max_entries = 256;
    {
        std::lock_guard lock(mutex);
        if (auto it = cache.find(std::string(source)); it != cache.end()) {
            return it->second;
        }
    }
    auto compiled = compile(source);
    if (!compiled) {
        return compiled.error();
    }
    std::lock_guard lock(mutex);
    if (cache.size() >= max_entries) {
        cache.clear();
    }
    cache.emplace(std::string(source), *compiled);
    return *compiled;
}

result<std::optional<std::string>> run(const script& s, const json::value& input) {
    try {
        evaluator ev(s);
        value out = ev.run(input);
        if (out.is_null()) {
            return std::optional<std::string>();
        }
        if (!out.is_string()) {
            // TemplateScript.execute returns String: any other value is a ClassCastException in Painless.
            return illegal_argument(
                std::string("Painless script: cannot cast ") + java_type(out) +
                " to java.lang.String (the script must return a String)"
            );
        }
        return std::optional<std::string>(std::get<shared_text>(out.v).get());
    } catch (const script_failure& f) {
        return illegal_argument(f.reason);
    }
}

}  // namespace modelrelay::registry::painless
