// The Nightjar wire protocol: the single definition of the engine <-> worker message
// and of call ids (docs/protocol.md describes it in prose).
//
// Every message on a pipe is exactly kMessageSize (1024) bytes: a 64-byte header (one
// cache line), 936 bytes of inline payload, and a 24-byte trailer (the call's trace id and
// flags, and a completion's time in child calls). DESIGN.md §3 says 960 bytes of payload;
// protocol 4 gave 24 of them to the trailer (docs/protocol.md, "Trailer": the header was
// full). 1024 <= PIPE_BUF, so a write of one message is atomic and many writers may share
// one pipe without framing or locks.
// Payloads larger than kInlinePayloadSize travel in a shared-memory region (flag
// kFlagPayloadInShm) or, between native processes, in a slot of the sender's persistent
// payload arena (kFlagPayloadInArena); see ipc/channel.h for who creates and who deletes
// them.
//
// All fields are fixed-width little-endian integers (x86-64 and aarch64 are both
// little-endian; the static_asserts below pin the layout). No bitfields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace nightjar::proto {

inline constexpr size_t kMessageSize = 1024;
inline constexpr size_t kHeaderSize = 64;
inline constexpr size_t kTrailerSize = 24;
inline constexpr size_t kInlinePayloadSize = kMessageSize - kHeaderSize - kTrailerSize;  // 936
// 3: arenas, direct dispatch, FENCE. 4: the trailer (trace context, child time).
inline constexpr uint32_t kProtocolVersion = 4;

enum class MessageType : uint16_t {
  kInvalid = 0,
  // worker -> engine, first message on the worker's output pipe. call_id = pid,
  // reply_channel = its channel, worker_id; payload: 4-byte kProtocolVersion.
  kWorkerHello = 1,
  // engine -> worker, answer to kWorkerHello. call_id = first call-id counter value the
  // worker must use. (Function names come from the IPC root's `functions` file.)
  kWorkerWelcome = 2,
  // engine -> worker: run call `call_id` with the payload as input.
  kDispatch = 3,
  // worker -> engine: call another function (func id inside call_id).
  kInvoke = 4,
  // callee -> caller (or -> engine): the call finished; status says how.
  kComplete = 5,
  // callee -> engine: the completion already went straight to the caller's input pipe;
  // this is the engine's accounting copy (header only, no payload).
  kCompleteNotice = 6,
  // caller -> engine, after it claimed an idle callee on the function's dispatch board
  // and wrote the DISPATCH to it directly (ipc/dispatch_board.h): the DISPATCH itself,
  // with reply_channel = the callee's channel. The engine's accounting copy; with
  // kFlagUndelivered, the DISPATCH could not be written and the engine runs the call.
  kDirectNotice = 7,
  // engine -> worker: answer with kFenceAck (same call_id) once everything before this in
  // your input pipe is handled. Sent to a worker claimed by a caller that died.
  kFence = 8,
  kFenceAck = 9,  // worker -> engine
  // worker -> engine: a call sent ahead (prefetch) that arrived while the worker waits on
  // its own child calls; it cannot start until they end, which may need that very call
  // (chain -> chain), so it goes back to the function's queue. The DISPATCH itself.
  kDispatchReturned = 14,  // (10..13 are the launcher socket's)
  // launcher <-> engine, over a Unix seqpacket socket.
  kLauncherHello = 10,  // launcher -> engine. payload: function name
  kStartWorker = 11,    // engine -> launcher. worker_id, channel; payload: unused
  kWorkerExited = 12,   // launcher -> engine. reply_channel = channel; call_id = wait status
  kStopWorker = 13,     // engine -> launcher. channel
  // launcher -> engine: a worker process's captured output (proto/log_frame.h). Carries
  // two descriptors (SCM_RIGHTS): the read ends of the pipes that are the process's fd 1
  // and fd 2. call_id = pid; worker_id = the worker's id (a cpp worker), or 0 for a
  // runtime process hosting several slots.
  kWorkerLogs = 15,
  // gateway <-> engine link over TCP (header + payload_size bytes, any length).
  kEngineHello = 20,  // engine -> gateway. payload: '\n'-separated function names
  kLinkCall = 21,     // gateway -> engine. payload: function name '\0' input
  kLinkResult = 22,   // engine -> gateway. status + payload (output or error text)
  kLinkStatus = 23,   // gateway -> engine, payload "json" or "text"; engine -> gateway,
                      // payload = Engine::StatusJson() or StatusText(), same call_id
  kLinkLogs = 24,     // gateway -> engine, payload: function '\0' max lines (decimal);
                      // engine -> gateway, same call_id: status, payload = the lines
                      // (LogCapture::Read, from the oldest kept) or the error text
};

// How a call ended. Values travel on the wire; never renumber.
enum class CallStatus : uint16_t {
  kOk = 0,
  kFunctionError = 1,   // the function returned failure; payload = its message
  kWorkerDied = 2,      // the worker exited mid-call
  kTimeout = 3,         // the call's deadline passed
  kUnavailable = 4,     // no worker can take the call (queue full, pool down)
  kNotFound = 5,        // unknown function
  kTooLarge = 6,        // payload over the function's limit
  kBadRequest = 7,      // malformed call
  kInternal = 8,
};

const char* CallStatusName(CallStatus s);

inline constexpr uint16_t kFlagPayloadInShm = 1 << 0;   // payload lives in a shm region
inline constexpr uint16_t kFlagOffCpuMeasured = 1 << 1;  // kComplete: off_cpu_us is valid
// The payload lives in a slot of its sender's payload arena; the inline payload bytes hold
// the ipc::ArenaRef (ipc/payload_arena.h). Only native (C/C++) workers and the engine read
// or write arenas; the engine never sends one to another runtime.
inline constexpr uint16_t kFlagPayloadInArena = 1 << 2;
// kDispatch: whoever reads this call's completion reads arenas, so the callee may answer
// with kFlagPayloadInArena. Set by the engine, or by a native caller on a direct DISPATCH.
inline constexpr uint16_t kFlagReplyArenaOk = 1 << 3;
// kDispatch sent by the caller itself (direct dispatch), and the callee's kComplete /
// kCompleteNotice of such a call: the engine may hear of it from the callee first.
inline constexpr uint16_t kFlagDirect = 1 << 4;
// kDirectNotice: the DISPATCH never reached the callee; the engine runs the call instead.
inline constexpr uint16_t kFlagUndelivered = 1 << 5;

// 64-byte header. Field order keeps every field naturally aligned.
struct MessageHeader {
  uint16_t type;             // MessageType
  uint16_t flags;            // kFlag*
  uint16_t status;           // CallStatus (kComplete, kLinkResult, kWorkerExited)
  uint16_t worker_id;        // sender or target worker slot, reused after exit
  uint32_t payload_size;     // bytes of payload (inline or in shm)
  uint32_t processing_us;    // kComplete: time the callee spent in the function
  uint64_t call_id;          // see CallId
  uint64_t parent_call_id;   // 0 for external calls
  int64_t send_ts_ns;        // CLOCK_MONOTONIC at send
  int64_t deadline_ns;       // CLOCK_MONOTONIC absolute deadline; 0 = none
  uint64_t reply_channel;    // kDispatch of an internal call: the caller's channel id
                             // (its input pipe); 0 = reply through the engine
  uint32_t dispatch_delay_us;// kComplete: DISPATCH send -> function start
  uint32_t off_cpu_us;       // kComplete: time the call spent blocked by choice (I/O, sleep),
                             // outside child calls; valid with kFlagOffCpuMeasured
};

// The last 24 bytes of every message. The trace context travels with every call: the
// engine puts it in each DISPATCH, a worker copies its running call's into every INVOKE (or
// direct DISPATCH) it sends, so a chain of calls is one trace on every path. Span ids are
// derived from call ids (proto/trace.h, SpanIdFor) and do not travel.
struct MessageTrailer {
  uint8_t trace_id[16];    // kDispatch, kInvoke, kDirectNotice: W3C trace-id (bytes in
                           // header order); all zero = none (the engine starts a trace)
  uint8_t trace_flags;     // W3C trace-flags (bit 0 sampled)
  uint8_t reserved[3];     // zero
  uint32_t child_wait_us;  // kComplete, kCompleteNotice: wall time the function spent
                           // waiting on its child calls (0 if it made none, or if its
                           // runtime does not measure it: docs/runtimes.md)
};

struct Message {
  MessageHeader header;
  uint8_t payload[kInlinePayloadSize];
  MessageTrailer trailer;

  MessageType type() const { return static_cast<MessageType>(header.type); }
  CallStatus call_status() const { return static_cast<CallStatus>(header.status); }
  bool payload_in_shm() const { return (header.flags & kFlagPayloadInShm) != 0; }
  bool payload_in_arena() const { return (header.flags & kFlagPayloadInArena) != 0; }
};

static_assert(sizeof(MessageHeader) == kHeaderSize, "header must be one cache line");
static_assert(sizeof(MessageTrailer) == kTrailerSize);
static_assert(sizeof(Message) == kMessageSize, "message must be 1024 bytes");
static_assert(offsetof(Message, trailer) == kMessageSize - kTrailerSize);
static_assert(offsetof(MessageTrailer, trace_flags) == 16);
static_assert(offsetof(MessageTrailer, child_wait_us) == 20);
static_assert(std::is_trivially_copyable_v<Message>, "wire structs are memcpy'd");
static_assert(std::is_standard_layout_v<MessageHeader>);
static_assert(offsetof(MessageHeader, payload_size) == 8);
static_assert(offsetof(MessageHeader, call_id) == 16);
static_assert(offsetof(MessageHeader, parent_call_id) == 24);
static_assert(offsetof(MessageHeader, send_ts_ns) == 32);
static_assert(offsetof(MessageHeader, deadline_ns) == 40);
static_assert(offsetof(MessageHeader, reply_channel) == 48);
static_assert(offsetof(MessageHeader, dispatch_delay_us) == 56);
static_assert(offsetof(MessageHeader, off_cpu_us) == 60);
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "wire format is little-endian");

// A message of the given type with a zeroed header and trailer (the payload is not
// cleared: only payload_size bytes of it are ever read).
inline Message MakeMessage(MessageType type) {
  Message m;
  std::memset(&m.header, 0, sizeof(m.header));
  std::memset(&m.trailer, 0, sizeof(m.trailer));
  m.header.type = static_cast<uint16_t>(type);
  return m;
}

// Call ids: 64 bits, unique among in-flight calls without coordination.
//   bits 63..52  function id  (12 bits: up to 4095 functions; 0 is invalid)
//   bits 51..46  method id    (6 bits: gRPC method index, 0 for plain functions)
//   bits 45..32  client id    (14 bits: 0 = external (gateway/engine), 1.. = worker id)
//   bits 31..0   counter      (per client, wraps)
// Worker ids are reused after a worker exits; the engine hands each new worker a counter
// start above the last counter its predecessor used (kWorkerWelcome), so calls of a dead
// worker that are still in flight never collide with the new one's. A counter wraps only
// after 2^32 calls from one client, far beyond any call's lifetime.
struct CallId {
  static constexpr int kFuncBits = 12, kMethodBits = 6, kClientBits = 14, kCounterBits = 32;
  static constexpr uint32_t kMaxFunctionId = (1u << kFuncBits) - 1;
  static constexpr uint32_t kMaxClientId = (1u << kClientBits) - 1;

  static constexpr uint64_t Make(uint32_t func_id, uint32_t method_id, uint32_t client_id,
                                 uint32_t counter) {
    return (static_cast<uint64_t>(func_id & kMaxFunctionId) << 52) |
           (static_cast<uint64_t>(method_id & 0x3f) << 46) |
           (static_cast<uint64_t>(client_id & kMaxClientId) << 32) | counter;
  }
  static constexpr uint32_t FunctionId(uint64_t id) { return static_cast<uint32_t>(id >> 52); }
  static constexpr uint32_t MethodId(uint64_t id) { return (id >> 46) & 0x3f; }
  static constexpr uint32_t ClientId(uint64_t id) {
    return static_cast<uint32_t>(id >> 32) & kMaxClientId;
  }
  static constexpr uint32_t Counter(uint64_t id) { return static_cast<uint32_t>(id); }
};

}  // namespace nightjar::proto
