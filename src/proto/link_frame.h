// Engine-link framing: the gateway <-> engine TCP link carries the same 64-byte
// MessageHeader followed by exactly header.payload_size bytes (no inline limit; large
// payloads are simply longer frames). Used by kEngineHello, kLinkCall and kLinkResult.
// For kLinkCall, header.deadline_ns holds the call's *relative* timeout in ns (the two
// hosts' monotonic clocks are unrelated) and the payload is "<function>\0<input>".
// Thread rule: free functions, any thread.
#pragma once

#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "proto/message.h"

namespace nightjar::proto {

inline constexpr size_t kMaxLinkPayload = 1ull << 30;  // a bigger frame means a bad peer

// Appends one frame to *out.
inline void AppendFrame(MessageHeader header, std::string_view payload, std::string* out) {
  header.payload_size = static_cast<uint32_t>(payload.size());
  out->append(reinterpret_cast<const char*>(&header), sizeof(header));
  out->append(payload);
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
