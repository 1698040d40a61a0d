// File: openai_chunk_scan.hpp
// Whether an upstream chat.completion.chunk can go to the client of /v1/chat/completions as it came.
// chunk_relay (openai_format.hpp) rewrites an event through its JSON tree; for the usual chunk of an
// OpenAI-compatible server the rewrite changes nothing but the spelling (spaces, escapes, number forms),
// and the tree was most of a relayed event's cost. Pure: no I/O, tested without sockets.
#pragma once

#include <string_view>

namespace modelrelay::server::openai {

// True when `data` (one SSE event's data, trailing blanks removed) is valid JSON on one line whose root
// object has, each exactly once, `"object":"chat.completion.chunk"`, a string `id`, a number `created`,
// a string `model` and an array `choices`, no `error` other than null, and no `usage` member, or a null
// one when `null_usage_ok` (a client that asked for usage gets OpenAI's `"usage":null` chunks as they
// are). For such an event chunk_relay's tree path yields the same JSON value, so the text can be relayed
// unchanged. False means "let the tree decide", never "invalid".
bool chunk_passes_through(std::string_view data, bool null_usage_ok);

}  // namespace modelrelay::server::openai
