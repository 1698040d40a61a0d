// File: sse_parser.cpp
// Line splitting and field interpretation of the event-stream parser. Lines that arrive whole within
// one chunk are processed in place (no copy); only lines split across chunks go through line_.
#include "server/upstream/sse_parser.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace modelrelay::server::upstream {

std::vector<sse_event> sse_parser::feed(std::string_view bytes) {
    std::vector<sse_event> out;
    feed(bytes, [&out](const sse_event& e) { out.push_back(e); });
    return out;
}

std::optional<std::string_view> sse_parser::next_line(std::string_view& bytes) {
    if (clear_line_) {
        line_.clear();
        clear_line_ = false;
    }
    if (!bom_checked_) {
        static constexpr std::string_view bom = "\xEF\xBB\xBF";
        while (!bytes.empty() && bom_prefix_.size() < bom.size() && bytes.front() == bom[bom_prefix_.size()]
        ) {
            bom_prefix_ += bytes.front();
            bytes.remove_prefix(1);
        }
        if (bom_prefix_.size() == bom.size()) {
            bom_checked_ = true;
        } else if (bytes.empty()) {
            return std::nullopt;  // still could be a BOM split across chunks
        } else {
            bom_checked_ = true;
            line_ = bom_prefix_;  // not a BOM after all: those bytes start the first line
        }
        bom_prefix_.clear();
    }
    if (skip_lf_ && !bytes.empty()) {
        skip_lf_ = false;
        if (bytes.front() == '\n') {
            bytes.remove_prefix(1);
            return std::nullopt;
        }
    }
    // Two memchr scans instead of find_first_of, which tests every byte against the set one call at a time
    // (it was the largest item per relayed event); CR is rare, so its scan stops at the LF.
    std::size_t end = std::string_view::npos;
    if (const void* lf = std::memchr(bytes.data(), '\n', bytes.size())) {
        end = static_cast<std::size_t>(static_cast<const char*>(lf) - bytes.data());
    }
    if (const void* cr =
            std::memchr(bytes.data(), '\r', end == std::string_view::npos ? bytes.size() : end)) {
        end = static_cast<std::size_t>(static_cast<const char*>(cr) - bytes.data());
    }
    if (end == std::string_view::npos) {
        if (line_.size() + bytes.size() > max_bytes_) {
            ok_ = false;
            return std::nullopt;
        }
        line_.append(bytes);
        bytes = {};
        return std::nullopt;
    }
    const std::string_view piece = bytes.substr(0, end);
    std::size_t consumed = end + 1;
    if (bytes[end] == '\r') {
        if (end + 1 < bytes.size()) {
            consumed += bytes[end + 1] == '\n' ? 1 : 0;
        } else {
            skip_lf_ = true;  // a CR at the very end: the LF of a CRLF may start the next chunk
        }
    }
    std::string_view line;
    if (line_.empty()) {
        line = piece;
    } else {
        if (line_.size() + piece.size() > max_bytes_) {
            ok_ = false;
            return std::nullopt;
        }
        line_.append(piece);
        line = line_;
        clear_line_ = true;
    }
    bytes.remove_prefix(consumed);
    return line;
}

bool sse_parser::process_line(std::string_view line) {
    if (line.empty()) {
        if (!has_data_) {
            reset_event();
            return false;
        }
        pending_.data.pop_back();  // the "\n" appended after the last data line
        pending_.event = event_type_.empty() ? "message" : event_type_;
        pending_.id = last_id_;
        return true;
    }
    if (line.front() == ':') {
        return false;  // comment (often a keep-alive ping)
    }
    std::string_view field = line;
    std::string_view value;
    if (const auto colon = line.find(':'); colon != std::string_view::npos) {
        field = line.substr(0, colon);
        value = line.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') {
            value.remove_prefix(1);
        }
    }
    if (field == "data") {
        if (pending_.data.size() + value.size() + 1 > max_bytes_) {
            ok_ = false;
            return false;
        }
        pending_.data.append(value);
        pending_.data.push_back('\n');
        has_data_ = true;
    } else if (field == "event") {
        event_type_.assign(value);
    } else if (field == "id") {
        if (value.find('\0') == std::string_view::npos) {
            last_id_.assign(value);
        }
    } else if (field == "retry") {
        if (!value.empty() &&
            std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            long long ms = 0;
            const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
            if (ec == std::errc()) {
                retry_ = std::chrono::milliseconds(ms);
            }
        }
    }
    return false;
}

void sse_parser::reset_event() {
    pending_.data.clear();
    pending_.id.clear();
    pending_.event = "message";
    event_type_.clear();
    has_data_ = false;
}

}  // namespace modelrelay::server::upstream
