// File: json_parse.cpp
#include "registry/json_parse.hpp"

#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_set>
#include <vector>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>
#include <boost/throw_exception.hpp>

namespace modelrelay::registry {

namespace json = boost::json;

double exact_double(std::string_view text, double approx) noexcept {
    double d = 0;
    const char* first = text.data();
    const char* last = first + text.size();
    // from_chars takes no leading '+' (JSON has none) and reads "-x" itself.
    const auto r = std::from_chars(first, last, d, std::chars_format::general);
    if (r.ec == std::errc::result_out_of_range) {
        // Overflow: Boost.JSON's ±inf (or its underflow to ±0) is already the answer.
        return approx;
    }
    if (r.ec != std::errc{} || r.ptr != last) {
        return approx;
    }
    return d;
}

namespace {

// json::detail::handler (what json::parser uses) with on_double reading the number's text. A number cut
// by a buffer boundary arrives in parts; parse_json gives the whole text at once, so the parts are
// gathered only for completeness.
class exact_handler {
public:
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    exact_handler(unsigned char* temp, std::size_t size, bool refuse_non_finite)
        : st_(json::storage_ptr(), temp, size), refuse_non_finite_(refuse_non_finite) {}

    json::value_stack& stack() { return st_; }

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }
    bool on_object_begin(boost::system::error_code&) { return true; }
    bool on_object_end(std::size_t n, boost::system::error_code&) {
        st_.push_object(n);
        return true;
    }
    bool on_array_begin(boost::system::error_code&) { return true; }
    bool on_array_end(std::size_t n, boost::system::error_code&) {
        st_.push_array(n);
        return true;
    }
    bool on_key_part(json::string_view s, std::size_t, boost::system::error_code&) {
        st_.push_chars(s);
        return true;
    }
    bool on_key(json::string_view s, std::size_t, boost::system::error_code&) {
        st_.push_key(s);
        ++keys_;
        return true;
    }
    bool on_string_part(json::string_view s, std::size_t, boost::system::error_code&) {
        st_.push_chars(s);
        return true;
    }
    bool on_string(json::string_view s, std::size_t, boost::system::error_code&) {
        st_.push_string(s);
        return true;
    }
    bool on_number_part(json::string_view s, boost::system::error_code&) {
        number_.append(s.data(), s.size());
        return true;
    }
    bool on_int64(std::int64_t i, json::string_view, boost::system::error_code&) {
        number_.clear();
        st_.push_int64(i);
        return true;
    }
    bool on_uint64(std::uint64_t u, json::string_view, boost::system::error_code&) {
        number_.clear();
        st_.push_uint64(u);
        return true;
    }
    bool on_double(double d, json::string_view s, boost::system::error_code& ec) {
        double exact = 0;
        if (number_.empty()) {
            exact = exact_double(std::string_view(s.data(), s.size()), d);
        } else {
            number_.append(s.data(), s.size());
            exact = exact_double(number_, d);
            number_.clear();
        }
        // A number beyond a double's range (`1e400`) would be written back as `Infinity`, which is not
        // JSON: an upstream or a client would get a body it cannot parse.
        if (refuse_non_finite_ && !std::isfinite(exact)) {
            ec = json::error::exponent_overflow;
            return false;
        }
        st_.push_double(exact);
        return true;
    }
    bool on_bool(bool b, boost::system::error_code&) {
        st_.push_bool(b);
        return true;
    }
    bool on_null(boost::system::error_code&) {
        st_.push_null();
        return true;
    }
    bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_comment(json::string_view, boost::system::error_code&) { return true; }

    std::size_t keys() const { return keys_; }

private:
    json::value_stack st_;
    bool refuse_non_finite_;
    std::string number_;
    std::size_t keys_ = 0;  // as written; the tree keeps one member per distinct key
};

std::size_t member_count(const json::value& v) {
    std::size_t n = 0;
    if (const auto* o = v.if_object()) {
        n += o->size();
        for (const auto& kv : *o) {
            n += member_count(kv.value());
        }
    } else if (const auto* a = v.if_array()) {
        for (const auto& e : *a) {
            n += member_count(e);
        }
    }
    return n;
}

// Finds the first key written twice in one object (the slow path, once a duplicate is known to exist).
class duplicate_finder {
public:
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    std::optional<std::string> found;

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }
    bool on_object_begin(boost::system::error_code&) {
        open_.emplace_back();
        return true;
    }
    bool on_object_end(std::size_t, boost::system::error_code&) {
        open_.pop_back();
        return true;
    }
    bool on_array_begin(boost::system::error_code&) { return true; }
    bool on_array_end(std::size_t, boost::system::error_code&) { return true; }
    bool on_key_part(json::string_view s, std::size_t, boost::system::error_code&) {
        key_.append(s.data(), s.size());
        return true;
    }
    bool on_key(json::string_view s, std::size_t, boost::system::error_code& ec) {
        key_.append(s.data(), s.size());
        if (!open_.back().insert(key_).second) {
            found = std::move(key_);
            ec = json::error::syntax;  // stops the parse
            return false;
        }
        key_.clear();
        return true;
    }
    bool on_string_part(json::string_view, std::size_t, boost::system::error_code&) { return true; }
    bool on_string(json::string_view, std::size_t, boost::system::error_code&) { return true; }
    bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_int64(std::int64_t, json::string_view, boost::system::error_code&) { return true; }
    bool on_uint64(std::uint64_t, json::string_view, boost::system::error_code&) { return true; }
    bool on_double(double, json::string_view, boost::system::error_code&) { return true; }
    bool on_bool(bool, boost::system::error_code&) { return true; }
    bool on_null(boost::system::error_code&) { return true; }
    bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_comment(json::string_view, boost::system::error_code&) { return true; }

private:
    std::vector<std::unordered_set<std::string>> open_;
    std::string key_;
};

json::value parse_with(
    bool refuse_non_finite,
    std::string_view text,
    boost::system::error_code& ec,
    json::storage_ptr sp,
    const json::parse_options& opt,
    std::size_t* used,
    std::optional<std::string>* duplicate
) {
    // The parser's working stacks start in this buffer, as json::parse's do.
    unsigned char temp[BOOST_JSON_STACK_BUFFER_SIZE];
    json::basic_parser<exact_handler> p(opt, temp, sizeof temp, refuse_non_finite);
    p.handler().stack().reset(std::move(sp));
    ec = {};
    const std::size_t n = p.write_some(false, text.data(), text.size(), ec);
    if (!ec && n < text.size()) {
        ec = json::error::extra_data;
    }
    if (used != nullptr) {
        *used = n;
    }
    if (ec) {
        return nullptr;
    }
    json::value v = p.handler().stack().release();
    if (duplicate != nullptr && p.handler().keys() != member_count(v)) {
        json::basic_parser<duplicate_finder> finder(opt);
        boost::system::error_code ignored;
        finder.write_some(false, text.data(), text.size(), ignored);
        *duplicate = finder.handler().found.value_or(std::string());
        return nullptr;
    }
    return v;
}

}  // namespace

json::value parse_json(
    std::string_view text,
    boost::system::error_code& ec,
    json::storage_ptr sp,
    const json::parse_options& opt,
    std::size_t* used,
    std::optional<std::string>* duplicate
) {
    return parse_with(false, text, ec, std::move(sp), opt, used, duplicate);
}

json::value parse_request_json(
    std::string_view text,
    boost::system::error_code& ec,
    json::storage_ptr sp,
    const json::parse_options& opt,
    std::optional<std::string>* duplicate
) {
    return parse_with(true, text, ec, std::move(sp), opt, nullptr, duplicate);
}

json::value parse_json(std::string_view text, json::storage_ptr sp, const json::parse_options& opt) {
    boost::system::error_code ec;
    auto v = parse_json(text, ec, std::move(sp), opt);
    if (ec) {
        boost::throw_exception(boost::system::system_error(ec));
    }
    return v;
}

}  // namespace modelrelay::registry
