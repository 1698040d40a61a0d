// File: json_text.cpp
#include "registry/json_text.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/serialize.hpp>

#include "registry/json_parse.hpp"
#include "registry/parameters.hpp"

namespace modelrelay::registry {

namespace json = boost::json;

namespace {

template <class Int>
void append_integer(std::string& out, Int n) {
    char digits[24];
    const auto r = std::to_chars(digits, digits + sizeof digits, n);
    out.append(digits, r.ptr);
}

// Whether any of the 8 bytes at p may be a control character, '"' or '\\' (false positives only
// past a true one: the caller then looks byte by byte).
inline bool may_need_escape(const char* p) {
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t highs = 0x8080808080808080ULL;
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    const auto has_zero = [](std::uint64_t x) {
        return (x - ones) & ~x & highs;
    };
    return (((v - ones * 0x20) & ~v & highs) | has_zero(v ^ (ones * '"')) | has_zero(v ^ (ones * '\\'))) != 0;
}

}  // namespace

// A JSON string exactly as json::serialize writes it (`"`, `\\` and control characters escaped, \b \t \n
// \f \r short forms, \u00xx lower-case, everything else verbatim), without the temporary string and the
// serializer set-up json::serialize costs per call: on _predict, one call per key and scalar made response
// printing the largest item in the profile.
void append_json_escaped(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    static constexpr auto needs_escape = [] {
        std::array<bool, 256> t{};
        for (int c = 0; c < 0x20; ++c) {
            t[c] = true;
        }
        t['"'] = true;
        t['\\'] = true;
        return t;
    }();
    const std::size_t n = s.size();
    std::size_t run = 0;  // start of the pending verbatim run
    std::size_t i = 0;
    while (i < n) {
        // Eight clean bytes at a time (long model output has few escapes), then the block that may
        // hold one byte by byte.
        while (i + 8 <= n && !may_need_escape(s.data() + i)) {
            i += 8;
        }
        const std::size_t stop = std::min(n, i + 8);
        while (i < stop && !needs_escape[static_cast<unsigned char>(s[i])]) {
            ++i;
        }
        if (i == stop) {
            continue;
        }
        const auto c = static_cast<unsigned char>(s[i++]);
        out.append(s.data() + run, i - 1 - run);
        run = i;
        switch (c) {
            case '"':
                out.append("\\\"");
                break;
            case '\\':
                out.append("\\\\");
                break;
            case '\b':
                out.append("\\b");
                break;
            case '\t':
                out.append("\\t");
                break;
            case '\n':
                out.append("\\n");
                break;
            case '\f':
                out.append("\\f");
                break;
            case '\r':
                out.append("\\r");
                break;
            default: {
                const char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
                out.append(u, sizeof u);
            }
        }
    }
    out.append(s.data() + run, s.size() - run);
}

void append_json_string(std::string& out, std::string_view s) {
    out.push_back('"');
    append_json_escaped(out, s);
    out.push_back('"');
}

// Scalars as Jackson writes them: doubles like Java's Double.toString (`0.5`, `1.0E-4`), not Boost.JSON's
// `5E-1`, so numbers relayed from upstream bodies read the way OpenSearch would print them.
void append_json_scalar(std::string& out, const json::value& v, number_style style) {
    switch (v.kind()) {
        case json::kind::string:
            append_json_string(out, v.get_string());
            return;
        case json::kind::int64:
            append_integer(out, v.get_int64());
            return;
        case json::kind::uint64:
            append_integer(out, v.get_uint64());
            return;
        case json::kind::bool_:
            out.append(v.get_bool() ? "true" : "false");
            return;
        case json::kind::null:
            out.append("null");
            return;
        case json::kind::double_:
            if (std::isfinite(v.get_double())) {
                out += style == number_style::plain ? plain_double_to_string(v.get_double())
                                                    : java_double_to_string(v.get_double());
                return;
            }
            break;
        default:
            break;
    }
    out += json::serialize(v);
}

void append_compact_json(std::string& out, const json::value& v, number_style style) {
    switch (v.kind()) {
        case json::kind::object: {
            out += '{';
            bool first = true;
            for (const auto& kv : v.get_object()) {
                if (!first) {
                    out += ',';
                }
                first = false;
                append_json_string(out, kv.key());
                out += ':';
                append_compact_json(out, kv.value(), style);
            }
            out += '}';
            return;
        }
        case json::kind::array: {
            out += '[';
            bool first = true;
            for (const auto& e : v.get_array()) {
                if (!first) {
                    out += ',';
                }
                first = false;
                append_compact_json(out, e, style);
            }
            out += ']';
            return;
        }
        default:
            append_json_scalar(out, v, style);
    }
}

std::string compact_json_text(const json::value& v, number_style style) {
    std::string out;
    append_compact_json(out, v, style);
    return out;
}

namespace {

// Appends to a std::string through a raw cursor. libstdc++'s std::string is an extern template, so
// push_back stays an out-of-line call of about 30 instructions; the rewriter puts out some 50 single bytes
// per `_predict` answer. The string is grown ahead (zero-filled, in doubling steps) and cut to the bytes
// written by finish().
class char_sink {
public:
    char_sink(std::string& s, std::size_t expect) : s_(s) {
        const std::size_t used = s_.size();
        s_.resize(used + expect + 64);
        p_ = s_.data() + used;
        end_ = s_.data() + s_.size();
    }

    void put(char c) {
        if (p_ == end_) {
            grow(1);
        }
        *p_++ = c;
    }
    void append(const char* d, std::size_t n) {
        if (static_cast<std::size_t>(end_ - p_) < n) {
            grow(n);
        }
        std::memcpy(p_, d, n);
        p_ += n;
    }
    void append(std::string_view v) { append(v.data(), v.size()); }
    template <class Int>
    void append_integer(Int n) {
        if (end_ - p_ < 24) {
            grow(24);
        }
        p_ = std::to_chars(p_, p_ + 24, n).ptr;
    }
    // For the rare writer that needs the string itself: cut it to the bytes written, let `write` append,
    // then go on after what it wrote.
    template <class Write>
    void through_string(Write&& write) {
        finish();
        write(s_);
        const std::size_t used = s_.size();
        s_.resize(used + 64 + used / 2);
        p_ = s_.data() + used;
        end_ = s_.data() + s_.size();
    }

    std::size_t size() const { return static_cast<std::size_t>(p_ - s_.data()); }
    const char* data() const { return s_.data(); }
    void finish() { s_.resize(size()); }

private:
    void grow(std::size_t n) {
        const std::size_t used = size();
        s_.resize(std::max(s_.size() * 2, used + n + 64));
        p_ = s_.data() + used;
        end_ = s_.data() + s_.size();
    }

    std::string& s_;
    char* p_ = nullptr;
    char* end_ = nullptr;
};

// basic_parser handler that writes the compact form while parsing. It gives up (fails the parse) on
// whatever only the tree can decide: a root that is not an object, a repeated key (the tree keeps one of
// them), nesting beyond its fixed stack, a double that is not finite, more open keys than it tracks.
class compact_rewriter {
public:
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    compact_rewriter(char_sink& out, std::string_view text) : out_(out), text_(text) {}

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }

    bool on_object_begin(boost::system::error_code& ec) {
        if (!value_begin(true, ec) || depth_ == max_depth) {
            return give_up(ec);
        }
        out_.put('{');
        frames_[depth_++] = frame{keys_, true, true};
        return true;
    }
    bool on_object_end(std::size_t, boost::system::error_code&) {
        out_.put('}');
        keys_ = frames_[--depth_].keys_begin;
        return true;
    }
    bool on_array_begin(boost::system::error_code& ec) {
        if (!value_begin(false, ec) || depth_ == max_depth) {
            return give_up(ec);
        }
        out_.put('[');
        frames_[depth_++] = frame{keys_, true, false};
        return true;
    }
    bool on_array_end(std::size_t, boost::system::error_code&) {
        out_.put(']');
        --depth_;
        return true;
    }

    bool on_key_part(json::string_view s, std::size_t, boost::system::error_code&) {
        key_part(s);
        return true;
    }
    bool on_key(json::string_view s, std::size_t, boost::system::error_code& ec) {
        key_part(s);
        out_.put('"');
        in_key_ = false;
        const std::size_t len = out_.size() - key_start_;
        const char* key = out_.data() + key_start_;
        // Escaping is one-to-one, so equal escaped keys are equal keys.
        for (std::size_t k = frames_[depth_ - 1].keys_begin; k < keys_; ++k) {
            if (key_spans_[k].len == len && std::memcmp(out_.data() + key_spans_[k].off, key, len) == 0) {
                return give_up(ec);
            }
        }
        if (keys_ == max_keys) {
            return give_up(ec);
        }
        key_spans_[keys_++] = span{key_start_, len};
        out_.put(':');
        return true;
    }

    bool on_string_part(json::string_view s, std::size_t, boost::system::error_code& ec) {
        return string_part(s, ec);
    }
    bool on_string(json::string_view s, std::size_t, boost::system::error_code& ec) {
        if (!string_part(s, ec)) {
            return false;
        }
        out_.put('"');
        in_string_ = false;
        return true;
    }

    bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_int64(std::int64_t n, json::string_view, boost::system::error_code& ec) {
        if (!value_begin(false, ec)) {
            return false;
        }
        out_.append_integer(n);
        return true;
    }
    bool on_uint64(std::uint64_t n, json::string_view, boost::system::error_code& ec) {
        if (!value_begin(false, ec)) {
            return false;
        }
        out_.append_integer(n);
        return true;
    }
    bool on_double(double d, json::string_view s, boost::system::error_code& ec) {
        // The whole text is given at once (write_some with more=false), so `s` is the whole number.
        d = exact_double(std::string_view(s.data(), s.size()), d);
        if (!std::isfinite(d) || !value_begin(false, ec)) {
            return give_up(ec);
        }
        out_.append(java_double_to_string(d));
        return true;
    }
    bool on_bool(bool b, boost::system::error_code& ec) {
        if (!value_begin(false, ec)) {
            return false;
        }
        out_.append(b ? std::string_view("true") : std::string_view("false"));
        return true;
    }
    bool on_null(boost::system::error_code& ec) {
        if (!value_begin(false, ec)) {
            return false;
        }
        out_.append(std::string_view("null"));
        return true;
    }
    bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_comment(json::string_view, boost::system::error_code&) { return true; }

private:
    static constexpr std::size_t max_depth = 64;
    static constexpr std::size_t max_keys = 256;  // keys of the objects open at one time

    struct frame {
        std::size_t keys_begin;
        bool first;
        bool object;
    };
    struct span {
        std::size_t off;
        std::size_t len;
    };

    static bool give_up(boost::system::error_code& ec) {
        ec = boost::system::errc::make_error_code(boost::system::errc::not_supported);
        return false;
    }

    // The separator before a value; the root may only be an object.
    bool value_begin(bool object, boost::system::error_code& ec) {
        if (depth_ == 0) {
            return object || give_up(ec);
        }
        auto& f = frames_[depth_ - 1];
        if (!f.object) {
            if (!f.first) {
                out_.put(',');
            }
            f.first = false;
        }
        return true;
    }

    void key_part(json::string_view s) {
        if (!in_key_) {
            auto& f = frames_[depth_ - 1];
            if (!f.first) {
                out_.put(',');
            }
            f.first = false;
            key_start_ = out_.size();
            out_.put('"');
            in_key_ = true;
        }
        append_text(s);
    }

    // A view into the input is a run the parser found without escapes, and valid JSON has no control
    // character, '"' or '\\' there: it is already in the printed form. Other views hold unescaped text.
    void append_text(json::string_view s) {
        if (s.data() >= text_.data() && s.data() + s.size() <= text_.data() + text_.size()) {
            out_.append(s.data(), s.size());
        } else {
            out_.through_string([&](std::string& str) {
                append_json_escaped(str, std::string_view(s.data(), s.size()));
            });
        }
    }

    bool string_part(json::string_view s, boost::system::error_code& ec) {
        if (!in_string_) {
            if (!value_begin(false, ec)) {
                return false;
            }
            out_.put('"');
            in_string_ = true;
        }
        append_text(s);
        return true;
    }

    char_sink& out_;
    std::string_view text_;
    std::size_t depth_ = 0;
    std::size_t keys_ = 0;
    std::size_t key_start_ = 0;
    bool in_key_ = false;
    bool in_string_ = false;
    std::array<frame, max_depth> frames_;
    std::array<span, max_keys> key_spans_;
};

}  // namespace

bool append_compact_object_text(std::string& out, std::string_view text) {
    const std::size_t mark = out.size();
    json::parse_options opt;
    opt.max_depth = 1000;  // the upstream tree parser's limit; the rewriter gives up far earlier
    char_sink sink(out, text.size());
    json::basic_parser<compact_rewriter> parser(opt, sink, text);
    boost::system::error_code ec;
    const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
    if (ec || used != text.size() || !parser.done()) {
        out.resize(mark);
        return false;
    }
    sink.finish();
    return true;
}

}  // namespace modelrelay::registry
