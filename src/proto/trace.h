// Trace context and a call's result record: the W3C Trace Context (Level 1) header, the
// span ids Nightjar derives from call ids, and what the engine tells the gateway about a
// finished call (docs/operations.md, "Call breakdown and tracing").
//
// Span ids are not carried on the worker pipes: every call's span id is derived from its
// call id and its trace id (SpanIdFor), so a message only needs the 16-byte trace id and
// the flags byte (MessageTrailer in message.h) and every process computes the same id.
//
// Thread rule: free functions and plain structs, any thread. Nothing here allocates except
// the Format* functions that return std::string.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "proto/message.h"

namespace nightjar::proto {

// W3C Trace Context Level 1 (https://www.w3.org/TR/trace-context/), §3.2 traceparent.
struct TraceContext {
  std::array<uint8_t, 16> trace_id{};  // all zero = none
  uint64_t parent_span_id = 0;         // the caller's span (parent-id); 0 = root of the trace
  uint8_t flags = 0;                   // trace-flags; bit 0 = sampled (§3.2.2.5)

  bool has_trace() const {
    for (uint8_t b : trace_id) {
      if (b != 0) return true;
    }
    return false;
  }
};

inline constexpr uint8_t kTraceFlagSampled = 0x01;

// Parses a traceparent header value (§3.2.2): "00-<32 hex>-<16 hex>-<2 hex>", lower-case
// hex only (§3.2.2.3: upper-case is invalid), neither id all zeros (§3.2.2.3, §3.2.2.4),
// version ff invalid (§3.2.2.2). A version above 00 is parsed as 00 if the value is at
// least 55 characters and character 55, if present, is '-' (§3.2.2.2, "future versions").
// False (and *out untouched) for anything else: the caller starts a new trace (§4.3).
bool ParseTraceparent(std::string_view value, TraceContext* out);

// "00-<trace id>-<span_id>-<flags>": the header a call with span `span_id` passes on.
// Writes exactly 55 characters into out (no terminator).
inline constexpr size_t kTraceparentSize = 55;
void FormatTraceparent(const std::array<uint8_t, 16>& trace_id, uint64_t span_id, uint8_t flags,
                       char out[kTraceparentSize]);

// A random, non-zero trace id (§3.2.2.3; random per §4.2.2). Fast (a thread-local PRNG
// seeded from the OS once per thread): called once per external call without a
// traceparent.
std::array<uint8_t, 16> NewTraceId();

// The span id of call `call_id` in the trace `trace_id`: splitmix64's finalizer of
// call_id XOR the trace id's last 8 bytes (read big-endian). The finalizer is a bijection
// of 64-bit integers, so distinct call ids of one trace get distinct span ids; 0 (which
// W3C forbids, §3.2.2.4) is mapped to 1 -- one call id in 2^64 shares span 1. Every
// runtime computes the same (runtimes/*: traceparent()).
inline uint64_t SpanIdFor(uint64_t call_id, const std::array<uint8_t, 16>& trace_id) {
  uint64_t low = 0;
  for (int i = 8; i < 16; ++i) low = (low << 8) | trace_id[i];
  uint64_t z = (call_id ^ low) + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return z == 0 ? 1 : z;
}

// What the engine knows about a finished call, handed to whoever submitted it (gateway
// backends, the gateway link). Durations in microseconds; a part is meaningful only when
// its bit is in `known` (an error answered by the engine may know only the queue time).
struct CallResult {
  CallStatus status = CallStatus::kOk;
  uint64_t call_id = 0;      // the engine's call id; 0 = no call was made (e.g. not found)
  uint32_t queue_us = 0;     // engine arrival -> DISPATCH sent
  uint32_t dispatch_us = 0;  // DISPATCH sent -> function start (the worker's word)
  uint32_t exec_us = 0;      // function start -> end (includes child calls)
  uint32_t child_us = 0;     // time the function spent waiting on its child calls
  uint8_t known = 0;         // kTiming* bits
  TraceContext trace;        // trace id and flags the call ran with; parent_span_id =
                             // the call's own span id (what a response would pass on)

  static constexpr uint8_t kTimingQueue = 1, kTimingDispatch = 2, kTimingExec = 4, kTimingChild = 8;
};

// "X-Nightjar-Call-Id: %016llx" value: 16 lower-case hex digits.
std::string FormatCallId(uint64_t call_id);
// W3C Server-Timing (https://www.w3.org/TR/server-timing/) header value with the known
// parts, durations in milliseconds with microsecond resolution:
// "queue;dur=0.004, dispatch;dur=0.011, exec;dur=0.120, child;dur=0.080". Empty if no
// part is known.
std::string FormatServerTiming(const CallResult& r);
// The same two values appended to *out: the gateway writes them into every answer, where
// snprintf and the intermediate strings cost about 4% of the external nop rate (measured with
// the bench scenario `observability`; docs/operations.md, "What it costs").
void AppendCallId(uint64_t call_id, std::string* out);
void AppendServerTiming(const CallResult& r, std::string* out);

// Engine link (proto/link_frame.h): the trace context in front of a kLinkCall's payload,
// and the result in front of a kLinkResult's. Fixed-width little-endian, memcpy'd.
struct LinkTrace {
  uint8_t trace_id[16];
  uint64_t parent_span_id;
  uint8_t flags;
  uint8_t reserved[7];
};
static_assert(sizeof(LinkTrace) == 32);
struct LinkResult {
  uint64_t call_id;
  uint32_t queue_us, dispatch_us, exec_us, child_us;
  uint8_t trace_id[16];
  uint64_t span_id;
  uint8_t flags;
  uint8_t known;
  uint8_t reserved[6];
};
static_assert(sizeof(LinkResult) == 56);
static_assert(std::is_trivially_copyable_v<LinkTrace> && std::is_trivially_copyable_v<LinkResult>);

}  // namespace nightjar::proto
