// File: regex_guard.cpp
// The ReDoS guard is a single left-to-right scan that tracks, per open group, whether something inside it
// can repeat. It is a heuristic on the pattern text (like the ml-commons validator it mirrors), not a full
// parser: escapes, `\Q..\E`, character classes and group prefixes are skipped so that their characters are
// not mistaken for quantifiers or parentheses.
#include "registry/regex_guard.hpp"

#include <atomic>
#include <cctype>
#include <cstdint>
#include <optional>
#include <utility>

#include <re2/re2.h>

namespace modelrelay::registry {

namespace {

constexpr std::size_t npos = std::string_view::npos;

// Java's String.length(): UTF-16 code units of a UTF-8 string.
std::size_t utf16_length(std::string_view s) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if ((c & 0xC0) == 0x80) {
            continue;  // continuation byte
        }
        n += (c >= 0xF0) ? 2 : 1;  // 4-byte sequences become a surrogate pair
    }
    return n;
}

// Index just past the character class that opens at `i` (which holds '['). Nested classes (Java `[a&&[^b]]`,
// POSIX `[[:alpha:]]`) are followed; an unclosed class runs to the end.
std::size_t skip_class(std::string_view p, std::size_t i) {
    std::size_t j = i + 1;
    if (j < p.size() && p[j] == '^') {
        ++j;
    }
    if (j < p.size() && p[j] == ']') {
        ++j;  // a leading ']' is a literal (RE2, POSIX)
    }
    while (j < p.size()) {
        if (p[j] == '\\') {
            j += 2;
        } else if (p[j] == '[') {
            j = skip_class(p, j);
        } else if (p[j] == ']') {
            return j + 1;
        } else {
            ++j;
        }
    }
    return p.size();
}

// Index just past the escape that starts at `i` (which holds '\\'): `\Q...\E` quoting and the braced
// forms `\p{..}`, `\P{..}`, `\x{..}`, `\N{..}` whole, anything else as two characters.
std::size_t skip_escape(std::string_view p, std::size_t i) {
    if (i + 1 >= p.size()) {
        return p.size();
    }
    const char d = p[i + 1];
    if (d == 'Q') {
        const auto end = p.find("\\E", i + 2);
        return end == npos ? p.size() : end + 2;
    }
    if ((d == 'p' || d == 'P' || d == 'x' || d == 'N') && i + 2 < p.size() && p[i + 2] == '{') {
        const auto end = p.find('}', i + 3);
        return end == npos ? p.size() : end + 1;
    }
    return i + 2;
}

// Index just past the `(?...` prefix of a group whose '(' is at `i - 1` and '?' at `i`.
std::size_t skip_group_prefix(std::string_view p, std::size_t i) {
    std::size_t j = i + 1;  // past '?'
    if (j >= p.size()) {
        return j;
    }
    const char c = p[j];
    if (c == ':' || c == '=' || c == '!' || c == '>') {
        return j + 1;
    }
    if (c == '<' && j + 1 < p.size() && (p[j + 1] == '=' || p[j + 1] == '!')) {
        return j + 2;
    }
    if (c == '<' || (c == 'P' && j + 1 < p.size() && p[j + 1] == '<')) {
        const auto end = p.find('>', j);
        return end == npos ? p.size() : end + 1;
    }
    // Inline flags: (?i) or (?i-s:...)
    while (j < p.size() && (std::isalpha(static_cast<unsigned char>(p[j])) != 0 || p[j] == '-')) {
        ++j;
    }
    if (j < p.size() && p[j] == ':') {
        ++j;
    }
    return j;
}

// A repetition bound written as digits: true for 0 or 1 (leading zeros allowed), i.e. no real repetition.
bool at_most_one(std::string_view digits) {
    const auto first = digits.find_first_not_of('0');
    return first == npos || (first == digits.size() - 1 && digits[first] == '1');
}

struct quantifier {
    std::size_t end;  // index just past the quantifier
    bool repeats;     // can match its operand more than once
};

// The quantifier starting at `i`, if any. `{` that does not form `{n}`, `{n,}` or `{n,m}` is not one.
std::optional<quantifier> read_quantifier(std::string_view p, std::size_t i) {
    const char c = p[i];
    if (c == '*' || c == '+') {
        return quantifier{i + 1, true};
    }
    if (c == '?') {
        return quantifier{i + 1, false};
    }
    if (c != '{') {
        return std::nullopt;
    }
    std::size_t j = i + 1;
    const std::size_t min_start = j;
    while (j < p.size() && p[j] >= '0' && p[j] <= '9') {
        ++j;
    }
    if (j == min_start || j >= p.size()) {
        return std::nullopt;
    }
    if (p[j] == '}') {
        return quantifier{j + 1, !at_most_one(p.substr(min_start, j - min_start))};  // {n}
    }
    if (p[j] != ',') {
        return std::nullopt;
    }
    ++j;
    const std::size_t max_start = j;
    while (j < p.size() && p[j] >= '0' && p[j] <= '9') {
        ++j;
    }
    if (j >= p.size() || p[j] != '}') {
        return std::nullopt;
    }
    if (j == max_start) {
        return quantifier{j + 1, true};  // {n,}
    }
    return quantifier{j + 1, !at_most_one(p.substr(max_start, j - max_start))};  // {n,m}
}

}  // namespace

bool has_redos_shape(std::string_view p) {
    // One flag per open group: "something inside can repeat". Index 0 is the whole pattern.
    std::vector<bool> repeats_inside{false};
    bool last_was_group = false;      // the atom just before the current position is a ')' group
    bool last_group_repeats = false;  // ... and that group contains a repeating quantifier
    std::size_t i = 0;
    while (i < p.size()) {
        const char c = p[i];
        if (c == '\\') {
            if (i + 1 >= p.size()) {
                break;
            }
            const char d = p[i + 1];
            if (d >= '1' && d <= '9') {
                return true;  // numbered backreference
            }
            if (d == 'k' && i + 2 < p.size() && p[i + 2] == '<') {
                return true;  // named backreference
            }
            i = skip_escape(p, i);
            last_was_group = false;
            continue;
        }
        if (c == '[') {
            i = skip_class(p, i);
            last_was_group = false;
            continue;
        }
        if (c == '(') {
            repeats_inside.push_back(false);
            i = (i + 1 < p.size() && p[i + 1] == '?') ? skip_group_prefix(p, i + 1) : i + 1;
            last_was_group = false;
            continue;
        }
        if (c == ')') {
            if (repeats_inside.size() > 1) {
                const bool inner = repeats_inside.back();
                repeats_inside.pop_back();
                if (inner) {
                    repeats_inside.back() = true;  // ((a+)b)+ : the outer group contains a repeat too
                }
                last_group_repeats = inner;
            } else {
                last_group_repeats = false;  // unbalanced ')': a syntax error, reported by the compiler
            }
            last_was_group = true;
            ++i;
            continue;
        }
        if (auto q = read_quantifier(p, i)) {
            if (q->repeats && last_was_group && last_group_repeats) {
                return true;  // nested quantifier
            }
            if (q->repeats) {
                repeats_inside.back() = true;
            }
            i = q->end;
            if (i < p.size() && (p[i] == '?' || p[i] == '+')) {
                ++i;  // lazy or possessive modifier, not a second quantifier
            }
            last_was_group = false;
            continue;
        }
        last_was_group = false;
        ++i;
    }
    return false;
}

namespace {

// Java refuses an unescaped '{' outside a class that does not open `{n}`, `{n,}` or `{n,m}` ("Illegal
// repetition"); RE2 reads it as a literal. Checked so that such patterns fail as they do in ml-commons.
bool has_illegal_repetition(std::string_view p) {
    std::size_t i = 0;
    while (i < p.size()) {
        if (p[i] == '\\') {
            i = skip_escape(p, i);
        } else if (p[i] == '[') {
            i = skip_class(p, i);
        } else if (p[i] == '{') {
            if (!read_quantifier(p, i)) {
                return true;
            }
            ++i;
        } else {
            ++i;
        }
    }
    return false;
}

std::unique_ptr<const re2::RE2> compile_re2(std::string_view pattern) {
    re2::RE2::Options opts;
    opts.set_log_errors(false);
    opts.set_never_capture(true);  // only match/no-match is ever asked
    return std::make_unique<const re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), opts);
}

}  // namespace

result<void> validate_regex(std::string_view pattern) {
    if (utf16_length(pattern) > max_regex_length) {
        return illegal_argument("Regex pattern too long (max 256 chars): " + std::string(pattern));
    }
    if (has_redos_shape(pattern)) {
        return illegal_argument(
            "Regex pattern contains nested quantifiers or backreferences that may cause ReDoS: " +
            std::string(pattern)
        );
    }
    if (has_illegal_repetition(pattern) || !compile_re2(pattern)->ok()) {
        return illegal_argument("Invalid regex pattern: " + std::string(pattern));
    }
    return {};
}

result<void> validate_regex_list(const std::vector<std::string>& patterns) {
    for (const auto& p : patterns) {
        if (auto r = validate_regex(p); !r) {
            return r;
        }
    }
    return {};
}

regex_list::regex_list() = default;
regex_list::~regex_list() = default;
// A moved-from list is empty: it must not keep the id its accepted texts are cached under.
regex_list::regex_list(regex_list&& o) noexcept
    : patterns_(std::move(o.patterns_)),
      compiled_(std::move(o.compiled_)),
      origins_(std::move(o.origins_)),
      id_(std::exchange(o.id_, 0)) {}

regex_list& regex_list::operator=(regex_list&& o) noexcept {
    patterns_ = std::move(o.patterns_);
    compiled_ = std::move(o.compiled_);
    origins_ = std::move(o.origins_);
    id_ = std::exchange(o.id_, 0);
    return *this;
}

result<regex_list> regex_list::compile(const std::vector<std::string>& patterns) {
    regex_list out;
    out.patterns_ = patterns;
    out.compiled_.reserve(patterns.size());
    for (const auto& p : patterns) {
        if (utf16_length(p) > max_regex_length || has_redos_shape(p)) {
            return validate_regex(p).error();
        }
        auto re = compile_re2(p);
        if (has_illegal_repetition(p) || !re->ok()) {
            return illegal_argument("Invalid regex pattern: " + p);
        }
        out.compiled_.push_back(std::move(re));
        std::unique_ptr<const re2::RE2> origin;
        if (const auto o = origin_part(p); !o.empty()) {
            origin = compile_re2(o);
            if (!origin->ok()) {
                origin.reset();
            }
        }
        out.origins_.push_back(std::move(origin));
    }
    static std::atomic<std::uint64_t> next_id{1};
    out.id_ = next_id.fetch_add(1, std::memory_order_relaxed);
    return out;
}

bool regex_list::full_match_any(std::string_view text) const {
    // Every _predict checks its rendered URL, nearly always the one it checked last: remember the last
    // text each thread saw accepted, per list (a list never changes; its id is never reused).
    thread_local struct {
        std::uint64_t id = 0;
        std::string text;
    } last_accepted;
    if (id_ != 0 && last_accepted.id == id_ && last_accepted.text == text) {
        return true;
    }
    const re2::StringPiece piece(text.data(), text.size());
    for (const auto& re : compiled_) {
        if (re2::RE2::FullMatch(piece, *re)) {
            last_accepted.id = id_;
            last_accepted.text.assign(text);
            return true;
        }
    }
    return false;
}

std::string regex_list::origin_part(std::string_view pattern) {
    std::size_t start = pattern.find("://");
    std::size_t skip = 3;
    if (const auto escaped = pattern.find(":\\/\\/"); escaped < start) {
        start = escaped;
        skip = 5;
    }
    if (start == std::string_view::npos) {
        return {};
    }
    int groups = 0;
    bool in_class = false;
    // Nothing before the host may branch: a top-level `|` anywhere makes the split meaningless.
    for (std::size_t i = 0; i < start; ++i) {
        if (pattern[i] == '\\') {
            ++i;
        } else if (pattern[i] == '[') {
            in_class = true;
        } else if (pattern[i] == ']') {
            in_class = false;
        } else if (!in_class && pattern[i] == '(') {
            ++groups;
        } else if (!in_class && pattern[i] == ')') {
            --groups;
        }
    }
    if (groups != 0 || in_class) {
        return {};
    }
    for (std::size_t i = start + skip; i < pattern.size(); ++i) {
        const char c = pattern[i];
        if (c == '\\') {
            if (i + 1 < pattern.size() && pattern[i + 1] == '/' && groups == 0 && !in_class) {
                return pattern.find('|') == std::string_view::npos ? std::string(pattern.substr(0, i)) : "";
            }
            ++i;
        } else if (in_class) {
            in_class = c != ']';
        } else if (c == '[') {
            in_class = true;
        } else if (c == '(') {
            ++groups;
        } else if (c == ')') {
            --groups;
        } else if (c == '/' && groups == 0) {
            return pattern.find('|') == std::string_view::npos ? std::string(pattern.substr(0, i)) : "";
        }
    }
    return {};
}

// Not cached here: cluster_settings::check_trusted_endpoint remembers what it accepted, URL shape included.
bool regex_list::full_match_any_url(std::string_view url, std::string_view origin) const {
    const re2::StringPiece whole(url.data(), url.size());
    const re2::StringPiece head(origin.data(), origin.size());
    for (std::size_t i = 0; i < compiled_.size(); ++i) {
        if (!re2::RE2::FullMatch(whole, *compiled_[i])) {
            continue;
        }
        if (origins_[i] != nullptr && !re2::RE2::FullMatch(head, *origins_[i])) {
            continue;
        }
        return true;
    }
    return false;
}

}  // namespace modelrelay::registry
