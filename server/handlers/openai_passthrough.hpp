// File: openai_passthrough.hpp
// Whether an upstream chat.completion.chunk, or a whole chat.completion, can go to the client of
// /v1/chat/completions as it came. chunk_relay and chat_completion (openai_format.hpp) rewrite the
// upstream JSON through its tree; for the usual answer of an OpenAI-compatible server the rewrite changes
// nothing but the spelling (spaces, escapes, number forms), and the tree was most of the cost. Pure: no
// I/O, tested without sockets.
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

// True when `text` (an upstream's 2xx answer, blanks around it removed) is valid JSON on one line that
// chat_completion (openai_format.hpp) would send back as it is: a root object with, each exactly once,
// `"object":"chat.completion"`, a string `id`, a number `created`, a string `model`, a `choices` array
// whose object elements each have an `index` and a `message` object with a `role`, and a `usage` object
// with integer `prompt_tokens`, `completion_tokens` and `total_tokens`. Only for a model whose connector
// has no post-process function and no response filter, where the answer is the reply's source.
bool completion_passes_through(std::string_view text);

// `text` without the JSON blanks (space, tab, CR, LF) at either end.
std::string_view trim_json_blanks(std::string_view text);

}  // namespace modelrelay::server::openai
