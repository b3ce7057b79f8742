// libFuzzer target for the worker-output parser (log_store.h, LogParser): the bytes a
// worker writes on its stdout or stderr pipe, which the engine reads as they come. Built by
// the `fuzz` preset; see docs/fuzzing.md.
//
// Input: 2 configuration bytes, then the bytes of one pipe.
//   byte 0  max_line_bytes - 1 (1..256), small so that cuts happen
//   byte 1  seed of the read sizes (1..64 bytes each)
// The stream is parsed in one Feed() and again read piece by piece; the harness aborts (so
// libFuzzer keeps the input) when:
//   - the two parses give different lines (text, call id, worker, cut) -- a line must not
//     depend on how the pipe cut the stream;
//   - a line is longer than max_line_bytes, holds a '\n', or is marked cut while shorter
//     than max_line_bytes;
//   - plain text (no frame marker byte in the input) comes out with a call id, or with
//     other bytes than the input's.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/log_store.h"
#include "fuzz_support.h"
#include "proto/log_frame.h"

namespace nightjar::engine {
namespace {

constexpr size_t kConfigBytes = 2;

std::vector<LogLine> Parse(std::string_view stream, size_t max_line, uint64_t seed) {
  std::vector<LogLine> lines;
  LogParser parser(max_line, 9, [&](LogLine&& l) { lines.push_back(std::move(l)); });
  if (seed == 0) {
    parser.Feed(stream);
  } else {
    fuzz::SplitMix64 rng(seed);
    while (!stream.empty()) {
      const size_t n = std::min<size_t>(stream.size(), 1 + rng.Next() % 64);
      parser.Feed(stream.substr(0, n));
      stream.remove_prefix(n);
    }
  }
  parser.Finish();
  return lines;
}

bool Same(const LogLine& a, const LogLine& b) {
  return a.text == b.text && a.call_id == b.call_id && a.worker_id == b.worker_id &&
         a.cut == b.cut;
}

}  // namespace
}  // namespace nightjar::engine

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nightjar::engine;
  if (size < kConfigBytes) return 0;
  const size_t max_line = 1 + data[0];
  const uint64_t seed = 1 + data[1];
  const std::string_view stream(reinterpret_cast<const char*>(data) + kConfigBytes,
                                size - kConfigBytes);
  const std::vector<LogLine> whole = Parse(stream, max_line, 0);
  const std::vector<LogLine> pieces = Parse(stream, max_line, seed);
  FUZZ_CHECK(whole.size() == pieces.size());
  for (size_t i = 0; i < whole.size(); ++i) FUZZ_CHECK(Same(whole[i], pieces[i]));
  for (const LogLine& l : whole) {
    FUZZ_CHECK(l.text.size() <= max_line);
    FUZZ_CHECK(l.text.find('\n') == std::string::npos);
    FUZZ_CHECK(!l.cut || l.text.size() == max_line);
  }
  if (stream.find(nightjar::proto::kLogFrameStart) == std::string_view::npos) {
    std::string joined;
    for (const LogLine& l : whole) {
      FUZZ_CHECK(l.call_id == 0 && l.worker_id == 9);
      if (!l.cut) joined += l.text + "\n";
    }
    // Without cuts, the lines are the input (plus a final '\n' where it had none).
    bool any_cut = false;
    for (const LogLine& l : whole) any_cut |= l.cut;
    if (!any_cut) {
      std::string want(stream);
      if (!want.empty() && want.back() != '\n') want += '\n';
      FUZZ_CHECK(joined == want);
    }
  }
  return 0;
}
