// File: secret_scrub.cpp
#include "registry/secret_scrub.hpp"

#include <algorithm>
#include <cstring>

#include <openssl/crypto.h>

#include "registry/ascii.hpp"
#include "registry/utf8.hpp"

namespace modelrelay::registry {

namespace {

constexpr std::size_t min_secret_length = 8;
// `\uD83D\uDE00` quoted three levels deep (eight backslashes before each `u`) is the longest spelling of
// one code point that text arriving in pieces is held back for.
constexpr std::size_t max_spelling_per_char = 26;
// Backslashes in front of an escape beyond this are not followed (eight levels of quoting).
constexpr std::size_t max_backslash_run = 255;
// A value whose longest run of letters and digits is shorter than this is looked for everywhere.
constexpr std::size_t min_anchor_length = 4;

bool qualifies(std::string_view v) {
    return v.size() >= min_secret_length &&
           !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int hex_value(unsigned char c) {
    return hex_digit_value(static_cast<char>(c));
}

// What a match attempt found: the bytes it covered, or that the text ended before it could decide.
enum class outcome { matched, mismatch, truncated };

struct step {
    outcome result;
    std::size_t end = 0;  // one past the last byte of the match (matched only)
};

// Four hex digits at text[at]: the UTF-16 unit, or -1 (-2 when the text ends first).
long hex4(std::string_view text, std::size_t at) {
    if (at + 4 > text.size()) {
        for (std::size_t k = at; k < text.size(); ++k) {
            if (hex_value(static_cast<unsigned char>(text[k])) < 0) {
                return -1;
            }
        }
        return -2;
    }
    long v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
        const int h = hex_value(static_cast<unsigned char>(text[at + k]));
        if (h < 0) {
            return -1;
        }
        v = v * 16 + h;
    }
    return v;
}

// The run of backslashes at text[at], capped.
std::size_t backslash_run(std::string_view text, std::size_t at) {
    std::size_t n = 0;
    while (at + n < text.size() && text[at + n] == '\\' && n < max_backslash_run) {
        ++n;
    }
    return n;
}

char32_t short_escape(unsigned char c) {
    switch (c) {
        case '/':
        case '"':
        case '\'':
            return c;
        case 'b':
            return U'\b';
        case 'f':
            return U'\f';
        case 'n':
            return U'\n';
        case 'r':
            return U'\r';
        case 't':
            return U'\t';
        default:
            return 0;
    }
}

// The ways one code point can be spelled at text[at]: where each spelling ends, and whether the text ended
// before some spelling could be decided. Only a backslash of the value has more than one (`\`, `\\`,
// `\\\\`, `\\\\\\\\` for zero to three levels of quoting).
struct spellings {
    std::size_t ends[4] = {};
    std::size_t count = 0;
    bool truncated = false;

    void add(std::size_t end) { ends[count++] = end; }
};

// The literal UTF-8 bytes of `cp` at text[at].
void literal(std::string_view text, std::size_t at, char32_t cp, spellings& out) {
    char buf[4];
    std::size_t len = 0;
    if (cp < 0x80) {
        buf[len++] = static_cast<char>(cp);
    } else if (cp < 0x800) {
        buf[len++] = static_cast<char>(0xC0 | (cp >> 6));
        buf[len++] = static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        buf[len++] = static_cast<char>(0xE0 | (cp >> 12));
        buf[len++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        buf[len++] = static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        buf[len++] = static_cast<char>(0xF0 | (cp >> 18));
        buf[len++] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        buf[len++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        buf[len++] = static_cast<char>(0x80 | (cp & 0x3F));
    }
    const std::size_t avail = std::min(len, text.size() - at);
    if (std::memcmp(text.data() + at, buf, avail) != 0) {
        return;
    }
    if (avail < len) {
        out.truncated = true;
    } else {
        out.add(at + len);
    }
}

// A `\u` escape (after any run of backslashes) at text[after] that decodes to `cp`, a surrogate pair
// included.
void unicode_escape(std::string_view text, std::size_t after, char32_t cp, spellings& out) {
    const long unit = hex4(text, after + 1);
    if (unit == -2) {
        out.truncated = true;
        return;
    }
    if (unit < 0) {
        return;
    }
    if (unit < 0xD800 || unit > 0xDBFF) {
        if (static_cast<char32_t>(unit) == cp) {
            out.add(after + 5);
        }
        return;
    }
    // A high surrogate: the low one follows, quoted the same way.
    const std::size_t low_at = after + 5;
    const std::size_t low_run = backslash_run(text, low_at);
    if (low_at + low_run >= text.size()) {
        out.truncated = true;
        return;
    }
    if (low_run == 0 || text[low_at + low_run] != 'u') {
        return;
    }
    const long low = hex4(text, low_at + low_run + 1);
    if (low == -2) {
        out.truncated = true;
        return;
    }
    if (low < 0xDC00 || low > 0xDFFF) {
        return;
    }
    const char32_t combined =
        0x10000 + ((static_cast<char32_t>(unit) - 0xD800) << 10) + (static_cast<char32_t>(low) - 0xDC00);
    if (combined == cp) {
        out.add(low_at + low_run + 5);
    }
}

spellings spell(std::string_view text, std::size_t at, char32_t cp) {
    spellings out;
    if (at >= text.size()) {
        out.truncated = true;
        return out;
    }
    const auto c = static_cast<unsigned char>(text[at]);
    if (c == '\\') {
        const std::size_t run = backslash_run(text, at);
        if (cp == U'\\') {
            // Longest first: in JSON a backslash is always doubled, and a lone one left behind would
            // escape whatever follows the marker.
            for (std::size_t n = 8; n >= 1; n /= 2) {
                if (n <= run) {
                    out.add(at + n);
                }
            }
            // The run may go on in the next piece of the text.
            out.truncated = at + run >= text.size();
            return out;
        }
        const std::size_t after = at + run;
        if (after >= text.size()) {
            out.truncated = true;
            return out;
        }
        const auto e = static_cast<unsigned char>(text[after]);
        if (e == 'u') {
            unicode_escape(text, after, cp, out);
        } else if (const char32_t decoded = short_escape(e); decoded != 0 && decoded == cp) {
            out.add(after + 1);
        }
        return out;
    }
    if (c == '%' && cp < 0x80) {
        if (at + 3 > text.size()) {
            bool hex = true;
            for (std::size_t k = at + 1; k < text.size(); ++k) {
                hex = hex && hex_value(static_cast<unsigned char>(text[k])) >= 0;
            }
            out.truncated = hex;
        } else {
            const int hi = hex_value(static_cast<unsigned char>(text[at + 1]));
            const int lo = hex_value(static_cast<unsigned char>(text[at + 2]));
            if (hi >= 0 && lo >= 0 && static_cast<char32_t>(hi * 16 + lo) == cp) {
                out.add(at + 3);
            }
        }
        // A `%` of the value itself is also spelled as is.
    }
    literal(text, at, cp, out);
    return out;
}

// Spelling alternatives multiply only at backslashes of a value; this bounds the search for a value made
// of many backslashes against a long run of them.
constexpr std::size_t match_budget = 4096;

step match_from(std::string_view text, std::size_t pos, std::u32string_view value, std::size_t& budget) {
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (budget == 0) {
            return {outcome::mismatch};
        }
        --budget;
        const spellings s = spell(text, pos, value[i]);
        if (s.count == 1 && !s.truncated) {
            pos = s.ends[0];
            continue;
        }
        bool truncated = s.truncated;
        for (std::size_t k = 0; k < s.count; ++k) {
            const step r = match_from(text, s.ends[k], value.substr(i + 1), budget);
            if (r.result == outcome::matched) {
                return r;
            }
            truncated = truncated || r.result == outcome::truncated;
        }
        return {truncated ? outcome::truncated : outcome::mismatch};
    }
    return {outcome::matched, pos};
}

// Does a spelling of `value` start at text[at]? On a match, `end` is one past it; a truncated outcome
// means the text ended while some spelling was still possible.
step match_value(std::string_view text, std::size_t at, const std::u32string& value) {
    std::size_t budget = match_budget;
    return match_from(text, at, value, budget);
}

std::u32string code_points(std::string_view v) {
    std::u32string out;
    out.reserve(v.size());
    for (std::size_t i = 0; i < v.size();) {
        out.push_back(utf8::decode(v, i));
    }
    return out;
}

}  // namespace

secret_list::secret_list(std::vector<std::u32string> values) : values_(std::move(values)) {
    for (const auto& v : values_) {
        if (v.empty()) {
            continue;
        }
        const char32_t cp = v.front();
        const auto first = static_cast<unsigned char>(
            cp < 0x80      ? cp
            : cp < 0x800   ? 0xC0 | (cp >> 6)
            : cp < 0x10000 ? 0xE0 | (cp >> 12)
                           : 0xF0 | (cp >> 18)
        );
        starts_[first] = true;
        longest_spelling_ = std::max(longest_spelling_, v.size() * max_spelling_per_char);
        // The longest run of ASCII letters and digits: no JSON encoder or URL escapes those, so every
        // spelling an echo produces contains it as is.
        std::string best;
        std::string run;
        for (const char32_t c : v) {
            const bool plain =
                (c >= U'0' && c <= U'9') || (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z');
            if (plain) {
                run.push_back(static_cast<char>(c));
                if (run.size() > best.size()) {
                    best = run;
                }
            } else {
                run.clear();
            }
        }
        if (best.size() < min_anchor_length) {
            scan_always_ = true;
        }
        anchors_.push_back(std::move(best));
        OPENSSL_cleanse(run.data(), run.size());
    }
    starts_[static_cast<unsigned char>('\\')] = true;
    starts_[static_cast<unsigned char>('%')] = true;
}

bool secret_list::may_occur_in(std::string_view text) const {
    if (scan_always_) {
        return true;
    }
    return std::any_of(anchors_.begin(), anchors_.end(), [&](const std::string& a) {
        return text.find(a) != std::string_view::npos;
    });
}

secret_list::~secret_list() {
    for (auto& v : values_) {
        OPENSSL_cleanse(v.data(), v.size() * sizeof(char32_t));
    }
    for (auto& a : anchors_) {
        OPENSSL_cleanse(a.data(), a.size());
    }
}

std::shared_ptr<const secret_list> make_secret_list(std::span<const std::string_view> values) {
    std::vector<std::u32string> kept;
    for (const auto v : values) {
        if (qualifies(v)) {
            kept.push_back(code_points(v));
        }
    }
    if (kept.empty()) {
        return nullptr;
    }
    // Longest first, so a value that contains another is replaced whole.
    std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    kept.erase(std::unique(kept.begin(), kept.end()), kept.end());
    return std::make_shared<const secret_list>(std::move(kept));
}

bool scrub_secrets(std::string& text, const secret_list& secrets) {
    if (!secrets.may_occur_in(text)) {
        return false;
    }
    bool replaced = false;
    std::string out;  // built only once something is found
    std::size_t copied = 0;
    const std::string_view view(text);
    for (std::size_t at = 0; at < view.size();) {
        if (!secrets.may_start(static_cast<unsigned char>(view[at]))) {
            ++at;
            continue;
        }
        std::size_t end = 0;
        for (const auto& v : secrets.values()) {
            if (const step s = match_value(view, at, v); s.result == outcome::matched) {
                end = s.end;
                break;
            }
        }
        if (end == 0) {
            ++at;
            continue;
        }
        if (!replaced) {
            out.reserve(text.size());
            replaced = true;
        }
        out.append(view.substr(copied, at - copied));
        out.append(sensitive_marker);
        copied = end;
        at = end;
    }
    if (replaced) {
        out.append(view.substr(copied));
        text = std::move(out);
    }
    return replaced;
}

std::size_t secret_prefix_suffix(std::string_view text, const secret_list& secrets) {
    const std::size_t window = std::min(text.size(), secrets.longest_spelling());
    for (std::size_t at = text.size() - window; at < text.size(); ++at) {
        if (!secrets.may_start(static_cast<unsigned char>(text[at]))) {
            continue;
        }
        for (const auto& v : secrets.values()) {
            if (match_value(text, at, v).result == outcome::truncated) {
                return text.size() - at;
            }
        }
    }
    return 0;
}

}  // namespace modelrelay::registry
