// libFuzzer target for the gateway's handling of engines' metrics pages (exposition.h,
// AddLabel and MergeExpositions): in a split deployment they are bytes another process
// sent over its engine link. Built by the `fuzz` preset; see docs/fuzzing.md.
//
// Input: 1 configuration byte, then two pages.
//   byte 0  where the rest is cut into the gateway's own page and an engine's (as a
//           fraction of the rest, 0..255)
// Seeds in tests/fuzz/exposition/ start with one printable byte for this reason.
//
// The harness aborts (so libFuzzer keeps the input) when:
//   - AddLabel changes the number of lines, or leaves a sample line without the label
//     at the place it must be (right after the metric name's '{');
//   - MergeExpositions loses, duplicates or invents a sample line (the multiset of
//     non-comment, non-empty lines of the parts must equal the output's);
//   - the output has a line that is in no part.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "fuzz_support.h"

#include "metrics/exposition.h"

namespace nightjar::metrics {
namespace {

template <typename F>
void ForEachLine(std::string_view text, F f) {
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    f(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  }
}

std::map<std::string, int> SampleLines(std::string_view text) {
  std::map<std::string, int> lines;
  ForEachLine(text, [&](std::string_view line) {
    if (!line.empty() && line.front() != '#') ++lines[std::string(line)];
  });
  return lines;
}

size_t Lines(std::string_view text) {
  size_t n = 0;
  ForEachLine(text, [&](std::string_view) { ++n; });
  return n;
}

}  // namespace
}  // namespace nightjar::metrics

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nightjar::metrics;
  if (size < 1) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t cut = rest.size() * data[0] / 255;
  const std::string own(rest.substr(0, cut));
  const std::string engine(rest.substr(cut));

  const std::string labelled = AddLabel(engine, "engine", "127.0.0.1:1\"\\");
  FUZZ_CHECK(Lines(labelled) == Lines(engine));
  ForEachLine(labelled, [](std::string_view line) {
    if (line.empty() || line.front() == '#') return;
    const size_t brace = line.find('{');
    if (brace == std::string_view::npos || brace > line.find(' ')) return;  // left as it was
    FUZZ_CHECK(line.substr(brace + 1).starts_with("engine=\"127.0.0.1:1\\\"\\\\\""));
  });

  const std::string parts[] = {own, labelled};
  const std::string merged = MergeExpositions(parts);
  std::map<std::string, int> want = SampleLines(own);
  for (const auto& [line, n] : SampleLines(labelled)) want[line] += n;
  FUZZ_CHECK(SampleLines(merged) == want);
  ForEachLine(merged, [&](std::string_view line) {
    FUZZ_CHECK(own.find(line) != std::string::npos || labelled.find(line) != std::string::npos);
  });
  return 0;
}
