// File: ml_stream_events.hpp
// What `_predict/stream` sends for each upstream OpenAI chat event, the way ml-commons'
// HttpStreamingHandler and RestMLPredictionStreamAction shape it: `data: ` +
// {"inference_results":[{"output":[{"name":"response","dataAsMap":{"content":"<d>","is_last":false}}]}]}
// per non-empty `choices[0].delta.content` (tool-call deltas: their JSON as content), then one with
// `"content":"","is_last":true` at `finish_reason:"stop"`, `[DONE]` or the end of the upstream body.
// Pure functions: no I/O, tested without sockets.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "server/sse_relay.hpp"

namespace modelrelay::server::handlers {

// One ml-commons stream chunk (its SSE frame, blank line included).
std::string stream_chunk(std::string_view content, bool is_last);
// RestMLPredictionStreamAction's error chunk (the space after the colon is theirs).
std::string error_chunk(std::string_view message);

// A stream's tool call as HttpStreamingHandler accumulates it from the deltas: the last id and name seen
// and the arguments joined (one call, as ml-commons keeps one).
struct tool_call_accumulator {
    std::string id;
    std::string name;
    std::string arguments;
    bool in_progress = false;
};

// One upstream OpenAI chat event (its `data`) → ml-commons chunks appended to `out`. Malformed events are
// skipped (as ml-commons does); an event with a non-null `error` member becomes an error chunk and stops
// the relay. With `calls`, tool-call deltas are also accumulated, and at `finish_reason:"tool_calls"` the
// whole call follows as HttpStreamingHandler.completeToolCall sends it: a chunk whose content is
// `{"choices":[{"message":{"tool_calls":[{"id","type":"function","function":{"name","arguments"}}]},
// "finish_reason":"tool_calls"}]}`, then the same object as the response tensor's dataAsMap.
relay_step on_openai_event(std::string_view data, std::string& out, tool_call_accumulator* calls = nullptr);
// The same from the event's tree: the reference on_openai_event must agree with, and its path for the
// shapes the scan below leaves to it.
relay_step on_openai_event_tree(
    std::string_view data, std::string& out, tool_call_accumulator* calls = nullptr
);
// An upstream that answered one JSON chat.completion instead of a stream: its message as one chunk. JSON
// that does not parse (`Invalid JSON format: ...`) or is no chat.completion (`Remote service answer is not
// a server-sent event stream`) is an error frame and relay_step::stop.
relay_step on_openai_completion(std::string_view body, std::string& out);

// What on_openai_event needs from an event, read in one pass without building a tree (the tree was most of
// a relayed event's cost). `needs_tree` for what only the tree path decides: an `error` member that is not
// null (its message may sit anywhere in it), tool calls (relayed as their JSON), and a key the event repeats
// where it matters (the tree keeps one of the values).
struct openai_event_scan {
    enum class verdict { skip, read, needs_tree };
    verdict outcome = verdict::skip;     // skip: not JSON, or not an object
    bool finish_stop = false;            // choices[0].finish_reason == "stop"
    std::optional<std::string> content;  // choices[0].delta.content, when a string
};
openai_event_scan scan_openai_event(std::string_view data);

}  // namespace modelrelay::server::handlers
