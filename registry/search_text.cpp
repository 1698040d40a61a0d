// File: search_text.cpp
// Text helpers of the `_search` evaluator; see search_text.hpp for the contracts. Each follows the named
// OpenSearch/Lucene routine closely because clients see its effects (tokens decide matches, suggestion and
// number texts end up in error reasons).
#include "registry/search_text.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <limits>
#include <utility>

namespace modelrelay::registry::search_detail {
namespace {

enum class char_class : std::uint8_t { letter, digit, extend, mid_letter, mid_num_let, mid_num, other };

char_class classify(unsigned char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80) {
        return char_class::letter;
    }
    if (c >= '0' && c <= '9') {
        return char_class::digit;
    }
    switch (c) {
        case '_':
            return char_class::extend;
        case ':':
            return char_class::mid_letter;
        case '.':
        case '\'':
            return char_class::mid_num_let;
        case ',':
        case ';':
            return char_class::mid_num;
        default:
            return char_class::other;
    }
}

bool is_word(char_class k) {
    return k == char_class::letter || k == char_class::digit || k == char_class::extend;
}

char fold(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Length of the UTF-8 sequence starting with `lead` (1 for stray continuation bytes).
std::size_t utf8_length(unsigned char lead) {
    if (lead >= 0xF0) {
        return 4;
    }
    if (lead >= 0xE0) {
        return 3;
    }
    if (lead >= 0xC0) {
        return 2;
    }
    return 1;
}

// `*`-only glob; `prefix_only` accepts when the text is exhausted (some continuation can still match).
bool star_glob(std::string_view p, std::string_view t, bool prefix_only) {
    std::size_t i = 0;
    std::size_t j = 0;
    std::size_t star = std::string_view::npos;
    std::size_t mark = 0;
    while (i < t.size()) {
        if (j < p.size() && p[j] == '*') {
            star = j++;
            mark = i;
        } else if (j < p.size() && p[j] == t[i]) {
            ++i;
            ++j;
        } else if (star != std::string_view::npos) {
            j = star + 1;
            i = ++mark;
        } else {
            return false;
        }
    }
    if (prefix_only) {
        return true;
    }
    while (j < p.size() && p[j] == '*') {
        ++j;
    }
    return j == p.size();
}

// Accepted as `p` itself or as `p.<anything>`: some prefix of `path` ending before a dot matches `p`.
bool accepts_one(std::string_view p, std::string_view path) {
    if (star_glob(p, path, false)) {
        return true;
    }
    for (std::size_t k = 0; k < path.size(); ++k) {
        if (path[k] == '.' && star_glob(p, path.substr(0, k), false)) {
            return true;
        }
    }
    return false;
}

constexpr std::int64_t ms_per_second = 1000;
constexpr std::int64_t ms_per_minute = 60 * ms_per_second;
constexpr std::int64_t ms_per_hour = 60 * ms_per_minute;
constexpr std::int64_t ms_per_day = 24 * ms_per_hour;

std::optional<int> digits(std::string_view s, std::size_t pos, std::size_t n) {
    if (pos + n > s.size()) {
        return std::nullopt;
    }
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') {
            return std::nullopt;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

std::optional<std::int64_t> civil_millis(int y, int mo, int d) {
    using namespace std::chrono;
    year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) {
        return std::nullopt;
    }
    return static_cast<std::int64_t>(sys_days{ymd}.time_since_epoch().count()) * ms_per_day;
}

// strict_date_time: yyyy-MM-dd'T'HH:mm:ss[.fraction](Z|+HH:mm|+HHmm).
std::optional<std::int64_t> parse_strict_date_time(std::string_view s) {
    auto y = digits(s, 0, 4);
    auto mo = digits(s, 5, 2);
    auto d = digits(s, 8, 2);
    auto h = digits(s, 11, 2);
    auto mi = digits(s, 14, 2);
    auto se = digits(s, 17, 2);
    if (!y || !mo || !d || !h || !mi || !se || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || *h > 23 || *mi > 59 || *se > 59) {
        return std::nullopt;
    }
    auto day = civil_millis(*y, *mo, *d);
    if (!day) {
        return std::nullopt;
    }
    std::int64_t ms = *day + *h * ms_per_hour + *mi * ms_per_minute + *se * ms_per_second;
    std::size_t pos = 19;
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
        std::size_t start = ++pos;
        int frac_ms = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            if (pos - start < 3) {
                frac_ms = frac_ms * 10 + (s[pos] - '0');
            }
            ++pos;
        }
        std::size_t n = pos - start;
        if (n == 0 || n > 9) {
            return std::nullopt;
        }
        for (std::size_t k = n; k < 3; ++k) {
            frac_ms *= 10;
        }
        ms += frac_ms;
    }
    if (pos >= s.size()) {
        return std::nullopt;  // the zone is required by strict_date_time
    }
    if (s[pos] == 'Z' && pos + 1 == s.size()) {
        return ms;
    }
    if (s[pos] != '+' && s[pos] != '-') {
        return std::nullopt;
    }
    int sign = s[pos] == '-' ? -1 : 1;
    auto oh = digits(s, pos + 1, 2);
    std::optional<int> om;
    if (pos + 6 == s.size() && s[pos + 3] == ':') {
        om = digits(s, pos + 4, 2);
    } else if (pos + 5 == s.size()) {
        om = digits(s, pos + 3, 2);
    }
    if (!oh || !om || *oh > 18 || *om > 59) {
        return std::nullopt;
    }
    return ms - sign * (*oh * ms_per_hour + *om * ms_per_minute);
}

std::optional<std::int64_t> parse_epoch_millis(std::string_view s) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || s.empty() || s[0] == '+') {
        return std::nullopt;
    }
    return v;
}

std::optional<std::int64_t> parse_plain_date(std::string_view s) {
    if (auto v = parse_strict_date_time(s)) {
        return v;
    }
    return parse_epoch_millis(s);
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    std::int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

std::optional<std::int64_t> add_calendar(std::int64_t t, int months) {
    using namespace std::chrono;
    std::int64_t day_index = floor_div(t, ms_per_day);
    std::int64_t in_day = t - day_index * ms_per_day;
    year_month_day ymd{sys_days{days{day_index}}};
    ymd += std::chrono::months{months};
    if (!ymd.ok()) {
        ymd = ymd.year() / ymd.month() / last;  // Java clamps to the month's last day
    }
    return static_cast<std::int64_t>(sys_days{ymd}.time_since_epoch().count()) * ms_per_day + in_day;
}

std::optional<std::int64_t> round_to(std::int64_t t, char unit, bool up) {
    using namespace std::chrono;
    std::int64_t start = 0;
    std::int64_t next = 0;
    std::int64_t day_index = floor_div(t, ms_per_day);
    year_month_day ymd{sys_days{days{day_index}}};
    auto to_ms = [](year_month_day d) {
        return static_cast<std::int64_t>(sys_days{d}.time_since_epoch().count()) * ms_per_day;
    };
    switch (unit) {
        case 'y':
            start = to_ms(ymd.year() / January / 1);
            next = to_ms((ymd.year() + years{1}) / January / 1);
            break;
        case 'M':
            start = to_ms(ymd.year() / ymd.month() / 1);
            next = to_ms((ymd.year() / ymd.month() / 1) + months{1});
            break;
        case 'w': {
            weekday wd{sys_days{days{day_index}}};
            std::int64_t back = (wd.c_encoding() + 6) % 7;  // days since Monday
            start = (day_index - back) * ms_per_day;
            next = start + 7 * ms_per_day;
            break;
        }
        case 'd':
            start = day_index * ms_per_day;
            next = start + ms_per_day;
            break;
        case 'h':
        case 'H':
            start = floor_div(t, ms_per_hour) * ms_per_hour;
            next = start + ms_per_hour;
            break;
        case 'm':
            start = floor_div(t, ms_per_minute) * ms_per_minute;
            next = start + ms_per_minute;
            break;
        case 's':
            start = floor_div(t, ms_per_second) * ms_per_second;
            next = start + ms_per_second;
            break;
        default:
            return std::nullopt;
    }
    return up ? next - 1 : start;
}

}  // namespace

void analyze(std::string_view text, std::vector<std::string>& out) {
    std::size_t i = 0;
    const std::size_t n = text.size();
    auto cls = [&](std::size_t k) {
        return classify(static_cast<unsigned char>(text[k]));
    };
    while (i < n) {
        if (!is_word(cls(i))) {
            ++i;
            continue;
        }
        std::size_t start = i++;
        while (i < n) {
            char_class c = cls(i);
            if (is_word(c)) {
                ++i;
                continue;
            }
            // A single separator joins two letters (WB6/7) or two digits (WB11/12).
            if (i + 1 < n) {
                char_class before = cls(i - 1);
                char_class after = cls(i + 1);
                bool letters = before == char_class::letter && after == char_class::letter &&
                               (c == char_class::mid_letter || c == char_class::mid_num_let);
                bool numbers = before == char_class::digit && after == char_class::digit &&
                               (c == char_class::mid_num || c == char_class::mid_num_let);
                if (letters || numbers) {
                    i += 2;
                    continue;
                }
            }
            break;
        }
        std::string token(text.substr(start, i - start));
        for (auto& ch : token) {
            ch = fold(ch);
        }
        out.push_back(std::move(token));
    }
}

bool wildcard_match(std::string_view pattern, std::string_view text, bool case_insensitive) {
    // Greedy two-pointer glob with backtracking to the last `*`; elements are `*`, `?` or one literal byte.
    std::size_t i = 0;
    std::size_t j = 0;
    std::size_t star = std::string_view::npos;
    std::size_t mark = 0;
    auto eq = [&](char a, char b) {
        return case_insensitive ? fold(a) == fold(b) : a == b;
    };
    while (i < text.size()) {
        if (j < pattern.size() && pattern[j] == '*') {
            star = j++;
            mark = i;
            continue;
        }
        if (j < pattern.size() && pattern[j] == '?') {
            i += utf8_length(static_cast<unsigned char>(text[i]));
            ++j;
            continue;
        }
        if (j < pattern.size()) {
            std::size_t lit = pattern[j] == '\\' && j + 1 < pattern.size() ? j + 1 : j;
            if (eq(pattern[lit], text[i])) {
                ++i;
                j = lit + 1;
                continue;
            }
        }
        if (star == std::string_view::npos) {
            return false;
        }
        j = star + 1;
        mark += utf8_length(static_cast<unsigned char>(text[mark]));
        i = mark;
    }
    while (j < pattern.size() && pattern[j] == '*') {
        ++j;
    }
    return j == pattern.size();
}

bool has_prefix(std::string_view text, std::string_view prefix, bool case_insensitive) {
    if (prefix.size() > text.size()) {
        return false;
    }
    if (!case_insensitive) {
        return text.substr(0, prefix.size()) == prefix;
    }
    return std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
        return fold(a) == fold(b);
    });
}

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        c = fold(c);
    }
    return out;
}

bool path_patterns::accepts(std::string_view path) const {
    return std::any_of(patterns_.begin(), patterns_.end(), [&](std::string_view p) {
        return accepts_one(p, path);
    });
}

bool path_patterns::alive(std::string_view path) const {
    return std::any_of(patterns_.begin(), patterns_.end(), [&](std::string_view p) {
        if (star_glob(p, path, true)) {
            return true;
        }
        // `p.*` stays alive once a dot follows a full match of `p`.
        for (std::size_t k = 0; k < path.size(); ++k) {
            if (path[k] == '.' && star_glob(p, path.substr(0, k), false)) {
                return true;
            }
        }
        return false;
    });
}

float similarity(std::string_view a, std::string_view b) {
    const std::size_t n = a.size();
    const std::size_t m = b.size();
    if (n == 0 || m == 0) {
        return n == m ? 1.0F : 0.0F;
    }
    std::vector<std::size_t> prev(n + 1);
    std::vector<std::size_t> cur(n + 1);
    for (std::size_t i = 0; i <= n; ++i) {
        prev[i] = i;
    }
    for (std::size_t j = 1; j <= m; ++j) {
        cur[0] = j;
        for (std::size_t i = 1; i <= n; ++i) {
            std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            cur[i] = std::min({cur[i - 1] + 1, prev[i] + 1, prev[i - 1] + cost});
        }
        std::swap(prev, cur);
    }
    return 1.0F - static_cast<float>(prev[n]) / static_cast<float>(std::max(n, m));
}

std::string did_you_mean(std::string_view unknown, std::span<const std::string_view> candidates) {
    std::vector<std::pair<float, std::string_view>> scored;
    for (auto c : candidates) {
        float s = similarity(unknown, c);
        if (s > 0.5F) {
            scored.emplace_back(s, c);
        }
    }
    if (scored.empty()) {
        return {};
    }
    std::sort(scored.begin(), scored.end(), [](const auto& x, const auto& y) {
        return x.first != y.first ? x.first > y.first : x.second < y.second;
    });
    std::string out = " did you mean ";
    if (scored.size() == 1) {
        out.append("[").append(scored.front().second).append("]");
    } else {
        out += "any of [";
        for (std::size_t i = 0; i < scored.size(); ++i) {
            if (i > 0) {
                out += ", ";
            }
            out += scored[i].second;
        }
        out += "]";
    }
    out += "?";
    return out;
}

std::optional<std::int64_t> parse_integer(std::string_view s) {
    if (s.empty()) {
        return std::nullopt;
    }
    std::string_view body = s;
    bool negative = false;
    if (body[0] == '+' || body[0] == '-') {
        negative = body[0] == '-';
        body.remove_prefix(1);
    }
    if (body.empty()) {
        return std::nullopt;
    }
    std::int64_t v = 0;
    for (char c : body) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        v = v * 10 + (c - '0');
        if (v > static_cast<std::int64_t>(std::numeric_limits<std::int32_t>::max()) + 1) {
            return std::nullopt;
        }
    }
    v = negative ? -v : v;
    if (v > std::numeric_limits<std::int32_t>::max()) {
        return std::nullopt;
    }
    return v;
}

result<int> min_should_match(int optional_clauses, std::string_view spec) {
    auto parse = [](std::string_view s) -> result<int> {
        if (auto v = parse_integer(s)) {
            return static_cast<int>(*v);
        }
        return error(errc::number_format, "For input string: \"" + std::string(s) + "\"");
    };
    auto is_space = [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
    };
    while (!spec.empty() && is_space(spec.front())) {
        spec.remove_prefix(1);
    }
    while (!spec.empty() && is_space(spec.back())) {
        spec.remove_suffix(1);
    }
    int result_count = optional_clauses;
    if (spec.find('<') != std::string_view::npos) {
        // Conditional specs "2<75% 5<-1": drop blanks around '<', then walk the space-separated parts.
        std::string compact;
        for (std::size_t i = 0; i < spec.size(); ++i) {
            if (is_space(spec[i])) {
                std::size_t k = i;
                while (k < spec.size() && is_space(spec[k])) {
                    ++k;
                }
                bool next_lt = k < spec.size() && spec[k] == '<';
                bool prev_lt = !compact.empty() && compact.back() == '<';
                if (!next_lt && !prev_lt) {
                    compact += ' ';
                }
                i = k - 1;
                continue;
            }
            compact += spec[i];
        }
        std::string_view rest = compact;
        while (!rest.empty()) {
            std::size_t sp = rest.find(' ');
            std::string_view part = rest.substr(0, sp);
            rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
            std::size_t lt = part.find('<');
            auto upper = parse(part.substr(0, lt));
            if (!upper) {
                return upper.error();
            }
            if (optional_clauses <= *upper) {
                return result_count;
            }
            auto inner = min_should_match(
                optional_clauses, lt == std::string_view::npos ? std::string_view{} : part.substr(lt + 1)
            );
            if (!inner) {
                return inner.error();
            }
            result_count = *inner;
        }
        return result_count;
    }
    if (spec.find('%') != std::string_view::npos) {
        auto percent = parse(spec.substr(0, spec.size() - 1));
        if (!percent) {
            return percent.error();
        }
        float calc = static_cast<float>(result_count * *percent) * (1 / 100.0F);
        result_count = calc < 0 ? result_count + static_cast<int>(calc) : static_cast<int>(calc);
    } else {
        auto calc = parse(spec);
        if (!calc) {
            return calc.error();
        }
        result_count = *calc < 0 ? result_count + *calc : *calc;
    }
    return result_count < 0 ? 0 : result_count;
}

std::optional<std::int64_t> parse_date_millis(std::string_view text, std::int64_t now_ms, bool round_up) {
    std::int64_t t = 0;
    std::string_view math;
    if (text.substr(0, 3) == "now") {
        t = now_ms;
        math = text.substr(3);
    } else {
        std::size_t bars = text.find("||");
        auto anchor = parse_plain_date(bars == std::string_view::npos ? text : text.substr(0, bars));
        if (!anchor) {
            return std::nullopt;
        }
        t = *anchor;
        if (bars == std::string_view::npos) {
            return t;
        }
        math = text.substr(bars + 2);
    }
    while (!math.empty()) {
        char op = math[0];
        if (op == '/') {
            if (math.size() < 2) {
                return std::nullopt;
            }
            auto r = round_to(t, math[1], round_up);
            if (!r) {
                return std::nullopt;
            }
            t = *r;
            math.remove_prefix(2);
            continue;
        }
        if (op != '+' && op != '-') {
            return std::nullopt;
        }
        math.remove_prefix(1);
        std::int64_t amount = 0;
        std::size_t k = 0;
        while (k < math.size() && math[k] >= '0' && math[k] <= '9') {
            amount = amount * 10 + (math[k] - '0');
            ++k;
        }
        if (k == 0) {
            amount = 1;
        }
        if (k >= math.size()) {
            return std::nullopt;
        }
        char unit = math[k];
        math.remove_prefix(k + 1);
        std::int64_t sign = op == '-' ? -1 : 1;
        std::optional<std::int64_t> next;
        switch (unit) {
            case 'y':
                next = add_calendar(t, static_cast<int>(sign * amount * 12));
                break;
            case 'M':
                next = add_calendar(t, static_cast<int>(sign * amount));
                break;
            case 'w':
                next = t + sign * amount * 7 * ms_per_day;
                break;
            case 'd':
                next = t + sign * amount * ms_per_day;
                break;
            case 'h':
            case 'H':
                next = t + sign * amount * ms_per_hour;
                break;
            case 'm':
                next = t + sign * amount * ms_per_minute;
                break;
            case 's':
                next = t + sign * amount * ms_per_second;
                break;
            default:
                return std::nullopt;
        }
        if (!next) {
            return std::nullopt;
        }
        t = *next;
    }
    return t;
}

}  // namespace modelrelay::registry::search_detail
