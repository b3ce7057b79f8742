// Log frames: how a worker tells the engine which call a piece of its stdout/stderr
// belongs to (docs/operations.md, "Function logs"). A worker's fd 1 and fd 2 are pipes the
// engine reads (engine/log_capture.h); bytes written to them as they are carry no call id.
// A frame is a header line and a body written together:
//
//   "\x1eNJLOG " <call id: 16 lower-case hex digits> ' ' <worker id: decimal> ' '
//   <body length: decimal> '\n' <body: that many bytes>
//
// The body's lines are the call's; a body that does not end in '\n' ends its last line
// (a call's output ends with the call). Written by the C/C++ worker host at the end of a
// call (its stdio buffers), by the Python and Node.js runtimes per write inside a call,
// and by Go's Call.Log/Logf. Anything that does not parse as a header is plain output.
// The generated runtime modules carry LOG_FRAME_START (the first byte) and LOG_FRAME_TAG.
//
// Thread rule: constants and a pure function; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace nightjar::proto {

inline constexpr char kLogFrameStart = '\x1e';  // ASCII record separator
inline constexpr std::string_view kLogFrameTag = "NJLOG";
// "\x1eNJLOG " + 16 + ' ' + 5 + ' ' + 20 + '\n' = 51; a longer header is not a header.
inline constexpr size_t kMaxLogFrameHeader = 64;

// The header of a frame whose body is `length` bytes. Never fails.
inline std::string LogFrameHeader(uint64_t call_id, uint32_t worker_id, size_t length) {
  char buf[kMaxLogFrameHeader];
  const int n = std::snprintf(buf, sizeof(buf), "%cNJLOG %016llx %u %zu\n", kLogFrameStart,
                              static_cast<unsigned long long>(call_id), worker_id, length);
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace nightjar::proto
