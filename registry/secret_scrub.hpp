// File: secret_scrub.hpp
// Keeps a connector's credentials out of what the upstream answers. ml-commons relays an upstream's body
// as it came (into `inference_results`, or into `Error from remote service: <body>`), so an upstream that
// echoes its request (a debugging proxy, an error page that quotes the Authorization header) would put the
// credential into a `_predict` answer. The outbound client replaces every occurrence of a credential value
// in an answer with `__SENSITIVE__` before any handler sees it.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace modelrelay::registry {

inline constexpr std::string_view sensitive_marker = "__SENSITIVE__";

// The texts to look for: each credential value of at least 8 characters that is not all digits (shorter or
// numeric values are placeholders such as `ollama`, or would match inside ordinary numbers and text), and
// its JSON-escaped form when that differs. Wiped when destroyed.
class secret_list {
public:
    explicit secret_list(std::vector<std::string> needles) : needles_(std::move(needles)) {}
    secret_list(const secret_list&) = delete;
    secret_list& operator=(const secret_list&) = delete;
    ~secret_list();

    const std::vector<std::string>& needles() const { return needles_; }
    std::size_t longest() const;

private:
    std::vector<std::string> needles_;
};

// Null when no value qualifies.
std::shared_ptr<const secret_list> make_secret_list(std::span<const std::string_view> values);

// Replaces every occurrence of a needle in `text`; true when something was replaced.
bool scrub_secrets(std::string& text, const secret_list& secrets);

// For text that arrives in pieces: the length of the longest suffix of `text` that is a proper prefix of a
// needle (0 almost always), which the caller holds back until the next piece shows whether it completes one.
std::size_t secret_prefix_suffix(std::string_view text, const secret_list& secrets);

}  // namespace modelrelay::registry
