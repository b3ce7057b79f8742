// Engine-link framing: the gateway <-> engine TCP link carries the same 64-byte
// MessageHeader followed by exactly header.payload_size bytes (no inline limit; large
// payloads are simply longer frames). Used by kEngineHello, kLinkCall and kLinkResult.
// For kLinkCall, header.deadline_ns holds the call's *relative* timeout in ns (the two
// hosts' monotonic clocks are unrelated) and the payload is a LinkTrace (proto/trace.h:
// the request's trace context, 32 bytes) then "<function>\0<input>". A kLinkResult's
// payload is a LinkResult (56 bytes: call id, timing, trace) then the output or error text.
// Thread rule: free functions, any thread.
#pragma once

#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "proto/message.h"
#include "proto/trace.h"

namespace nightjar::proto {

inline constexpr size_t kMaxLinkPayload = 1ull << 30;  // a bigger frame means a bad peer

// Appends one frame to *out.
inline void AppendFrame(MessageHeader header, std::string_view payload, std::string* out) {
  header.payload_size = static_cast<uint32_t>(payload.size());
  out->append(reinterpret_cast<const char*>(&header), sizeof(header));
  out->append(payload);
}

// Appends one frame whose payload is `prefix` followed by `payload`.
inline void AppendFrame(MessageHeader header, std::string_view prefix, std::string_view payload,
                        std::string* out) {
  header.payload_size = static_cast<uint32_t>(prefix.size() + payload.size());
  out->reserve(out->size() + sizeof(header) + header.payload_size);
  out->append(reinterpret_cast<const char*>(&header), sizeof(header));
  out->append(prefix);
  out->append(payload);
}

// The bytes of a fixed-width link struct.
template <typename T>
std::string_view StructBytes(const T& t) {
  static_assert(std::is_trivially_copyable_v<T>);
  return {reinterpret_cast<const char*>(&t), sizeof(T)};
}

inline LinkTrace EncodeLinkTrace(const TraceContext& t) {
  LinkTrace l{};
  std::memcpy(l.trace_id, t.trace_id.data(), 16);
  l.parent_span_id = t.parent_span_id;
  l.flags = t.flags;
  return l;
}

// Takes the LinkTrace off the front of *payload; false if it is too short.
inline bool DecodeLinkTrace(std::string_view* payload, TraceContext* t) {
  if (payload->size() < sizeof(LinkTrace)) return false;
  LinkTrace l;
  std::memcpy(&l, payload->data(), sizeof(l));
  payload->remove_prefix(sizeof(l));
  std::memcpy(t->trace_id.data(), l.trace_id, 16);
  t->parent_span_id = l.parent_span_id;
  t->flags = l.flags;
  return true;
}

inline LinkResult EncodeLinkResult(const CallResult& r) {
  LinkResult l{};
  l.call_id = r.call_id;
  l.queue_us = r.queue_us;
  l.dispatch_us = r.dispatch_us;
  l.exec_us = r.exec_us;
  l.child_us = r.child_us;
  std::memcpy(l.trace_id, r.trace.trace_id.data(), 16);
  l.span_id = r.trace.parent_span_id;
  l.flags = r.trace.flags;
  l.known = r.known;
  return l;
}

// The LinkResult at the front of `payload` into *r (status is the frame header's); false
// if the payload is too short.
inline bool DecodeLinkResult(std::string_view payload, CallResult* r) {
  if (payload.size() < sizeof(LinkResult)) return false;
  LinkResult l;
  std::memcpy(&l, payload.data(), sizeof(l));
  r->call_id = l.call_id;
  r->queue_us = l.queue_us;
  r->dispatch_us = l.dispatch_us;
  r->exec_us = l.exec_us;
  r->child_us = l.child_us;
  std::memcpy(r->trace.trace_id.data(), l.trace_id, 16);
  r->trace.parent_span_id = l.span_id;
  r->trace.flags = l.flags;
  r->known = l.known;
  return true;
}

struct Frame {
  MessageHeader header;
  std::string payload;
};

enum class FrameStatus { kFrame, kNeedMore, kBad };
// Takes one complete frame from the front of *buf.
inline FrameStatus TakeFrame(std::string* buf, size_t* offset, Frame* frame) {
  size_t avail = buf->size() - *offset;
  if (avail < sizeof(MessageHeader)) return FrameStatus::kNeedMore;
  std::memcpy(&frame->header, buf->data() + *offset, sizeof(MessageHeader));
  size_t size = frame->header.payload_size;
  if (size > kMaxLinkPayload) return FrameStatus::kBad;
  if (avail < sizeof(MessageHeader) + size) return FrameStatus::kNeedMore;
  frame->payload.assign(buf->data() + *offset + sizeof(MessageHeader), size);
  *offset += sizeof(MessageHeader) + size;
  return FrameStatus::kFrame;
}

}  // namespace nightjar::proto
