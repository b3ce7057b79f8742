// libFuzzer target for the engine-link frame decoder (link_frame.h, TakeFrame): the bytes
// a gateway or an engine reads from its peer over TCP. Built by the `fuzz` preset; see
// docs/fuzzing.md.
//
// Input: 2 configuration bytes, then the byte stream of one link.
//   byte 0  how the stream is cut into reads (bits 0-1, see Splitter) and whether the
//           reader drops consumed bytes after each read, as FramedConnection does (bit 2),
//           or keeps one growing buffer and an offset
//   byte 1  seed of the piece sizes
// Seeds in tests/fuzz/link_frame/ start with 2 printable bytes for this reason.
//
// The stream is decoded in one buffer and again read piece by piece; the harness aborts
// (so libFuzzer keeps the input) when:
//   - the two decodings differ in frames, in where they stop or in why (kNeedMore/kBad);
//   - re-encoding the frames with AppendFrame does not reproduce the consumed bytes;
//   - a frame's payload differs in size from its header's payload_size or is over
//     kMaxLinkPayload; kBad moves the offset or is returned for an acceptable size;
//     kNeedMore is returned while a whole frame is buffered.
// The harness allocates only what the input holds: a header announcing up to 4 GiB must
// leave TakeFrame waiting (or refusing), never allocating.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.h"

#include "proto/link_frame.h"

namespace nightjar::proto {
namespace {

constexpr size_t kConfigBytes = 2;
constexpr uint8_t kCompactBit = 0x04;

// Sizes of the reads a stream arrives in, from a small deterministic generator so that an
// input always replays the same way.
class Splitter {
 public:
  Splitter(uint8_t mode, uint8_t seed)
      : mode_(mode & 3), random_(0x9e3779b97f4a7c15ull * (seed + 1u)) {}

  // Size of the next piece, in 1..remaining (remaining > 0).
  size_t Next(size_t remaining) {
    switch (mode_) {
      case 0:  // two pieces, cut at a random point
        if (first_) {
          first_ = false;
          return 1 + Random() % remaining;
        }
        return remaining;
      case 1:  // one byte at a time
        return 1;
      case 2:  // 1..16 bytes: headers arrive torn
        return std::min<size_t>(remaining, 1 + Random() % 16);
      default:  // 1..300 bytes
        return std::min<size_t>(remaining, 1 + Random() % 300);
    }
  }

 private:
  uint64_t Random() { return random_.Next(); }

  uint8_t mode_;
  fuzz::SplitMix64 random_;
  bool first_ = true;
};

struct Decoded {
  std::vector<Frame> frames;
  size_t consumed = 0;                        // stream bytes the frames came from
  FrameStatus last = FrameStatus::kNeedMore;  // why decoding stopped
};

// Takes frames from buf[*offset..] until TakeFrame stops, checking each answer against the
// bytes it was given. One Frame object is reused, as FramedConnection does.
FrameStatus Drain(std::string* buf, size_t* offset, Frame* frame, Decoded* out) {
  for (;;) {
    const size_t before = *offset;
    const FrameStatus st = TakeFrame(buf, offset, frame);
    const size_t avail = buf->size() - before;
    MessageHeader header{};
    if (avail >= sizeof(header)) std::memcpy(&header, buf->data() + before, sizeof(header));
    switch (st) {
      case FrameStatus::kFrame:
        FUZZ_CHECK(avail >= sizeof(header));
        FUZZ_CHECK(std::memcmp(&header, &frame->header, sizeof(header)) == 0);
        FUZZ_CHECK(frame->payload.size() == header.payload_size);
        FUZZ_CHECK(frame->payload.size() <= kMaxLinkPayload);
        FUZZ_CHECK(*offset == before + sizeof(header) + header.payload_size);
        FUZZ_CHECK(frame->payload ==
                   std::string_view(*buf).substr(before + sizeof(header), header.payload_size));
        out->frames.push_back(*frame);
        break;
      case FrameStatus::kNeedMore:
        FUZZ_CHECK(*offset == before);
        FUZZ_CHECK(avail < sizeof(header) || avail - sizeof(header) < header.payload_size);
        return st;
      case FrameStatus::kBad:
        FUZZ_CHECK(*offset == before);
        FUZZ_CHECK(avail >= sizeof(header) && header.payload_size > kMaxLinkPayload);
        return st;
    }
  }
}

Decoded DecodeWhole(std::string_view data) {
  std::string buf(data);
  size_t offset = 0;
  Frame frame;
  Decoded d;
  d.last = Drain(&buf, &offset, &frame, &d);
  d.consumed = offset;
  return d;
}

Decoded DecodeInPieces(std::string_view data, uint8_t mode, uint8_t seed) {
  Splitter splitter(mode, seed);
  const bool compact = (mode & kCompactBit) != 0;
  std::string buf;
  size_t offset = 0;
  size_t dropped = 0;  // bytes erased from the front of buf
  Frame frame;
  Decoded d;
  for (size_t pos = 0; pos < data.size();) {
    const size_t n = splitter.Next(data.size() - pos);
    buf.append(data.substr(pos, n));
    pos += n;
    d.last = Drain(&buf, &offset, &frame, &d);
    if (d.last == FrameStatus::kBad) break;  // the reader closes the link
    if (compact) {
      buf.erase(0, offset);
      dropped += offset;
      offset = 0;
    }
  }
  d.consumed = dropped + offset;
  return d;
}

bool SameFrame(const Frame& a, const Frame& b) {
  return std::memcmp(&a.header, &b.header, sizeof(a.header)) == 0 && a.payload == b.payload;
}

}  // namespace
}  // namespace nightjar::proto

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace nightjar::proto;
  if (size < kConfigBytes) return 0;
  const std::string_view data(reinterpret_cast<const char*>(bytes) + kConfigBytes,
                              size - kConfigBytes);

  const Decoded whole = DecodeWhole(data);
  const Decoded pieces = DecodeInPieces(data, bytes[0], bytes[1]);
  FUZZ_CHECK(whole.last == pieces.last);
  FUZZ_CHECK(whole.consumed == pieces.consumed);
  FUZZ_CHECK(whole.frames.size() == pieces.frames.size());
  for (size_t i = 0; i < whole.frames.size(); ++i) {
    FUZZ_CHECK(SameFrame(whole.frames[i], pieces.frames[i]));
  }

  // Re-encoding reproduces the consumed bytes exactly (AppendFrame rewrites payload_size,
  // which the decoded header already holds).
  std::string encoded;
  for (const Frame& f : whole.frames) AppendFrame(f.header, f.payload, &encoded);
  FUZZ_CHECK(encoded == data.substr(0, whole.consumed));
  return 0;
}
