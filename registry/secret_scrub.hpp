// File: secret_scrub.hpp
// Keeps a connector's credentials out of what the upstream answers. ml-commons relays an upstream's body
// as it came (into `inference_results`, or into `Error from remote service: <body>`), so an upstream that
// echoes its request (a debugging proxy, an error page that quotes the Authorization header) would put the
// credential into a `_predict` answer. The outbound client replaces every occurrence of a credential value
// in an answer with `__SENSITIVE__` before any handler sees it.
//
// An echo is rarely byte for byte: JSON encoders write `/` as `\/` (PHP), `<`, `&` and non-ASCII as
// `\uXXXX` (Go, Python), a JSON text quoted inside another doubles the backslashes, and a URL echoes
// `%2F`. The `/v1` and `_inference` doors decode the upstream's JSON before they answer, so every such
// spelling of a value has to be found, not only the literal one: a secret matches when each of its
// characters appears literally, as a JSON escape (`\/`, `\"`, `\\`, `\n`..., `\uXXXX` in either case,
// surrogate pairs), with its escape backslash itself escaped any number of times, or, for ASCII, as a
// `%XX` URL escape.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace modelrelay::registry {

inline constexpr std::string_view sensitive_marker = "__SENSITIVE__";

// The values to look for: each credential value of at least 8 characters that is not all digits (shorter
// or numeric values are placeholders such as `ollama`, or would match inside ordinary numbers and text),
// as code points, longest first. Wiped when destroyed.
class secret_list {
public:
    explicit secret_list(std::vector<std::u32string> values);
    secret_list(const secret_list&) = delete;
    secret_list& operator=(const secret_list&) = delete;
    ~secret_list();

    const std::vector<std::u32string>& values() const { return values_; }
    // A byte that can begin a spelling of some value: its first character's first byte, `\` or `%`.
    bool may_start(unsigned char c) const { return starts_[c]; }
    // The most bytes a spelling of the longest value can take in a piece of text that ends inside it.
    std::size_t longest_spelling() const { return longest_spelling_; }
    // False when `text` cannot hold a spelling of any value: each value's longest run of ASCII letters and
    // digits (which no encoder escapes) is missing. A cheap memmem before the character-wise scan.
    bool may_occur_in(std::string_view text) const;

private:
    std::vector<std::u32string> values_;
    std::vector<std::string> anchors_;
    bool starts_[256] = {};
    bool scan_always_ = false;
    std::size_t longest_spelling_ = 0;
};

// Null when no value qualifies.
std::shared_ptr<const secret_list> make_secret_list(std::span<const std::string_view> values);

// Replaces every spelling of a value in `text`; true when something was replaced.
bool scrub_secrets(std::string& text, const secret_list& secrets);

// For text that arrives in pieces: the length of the longest suffix of `text` that could be the beginning
// of a spelling of a value (0 almost always), which the caller holds back until the next piece shows
// whether it completes one.
std::size_t secret_prefix_suffix(std::string_view text, const secret_list& secrets);

}  // namespace modelrelay::registry
