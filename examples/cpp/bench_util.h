// Helpers shared by the benchmark functions (bench_*.cc; driven by bench/, see
// docs/performance.md). Header-only: each function is its own shared library.
// Thread rule: pure functions and per-call objects, used on the handler's thread.
#pragma once

#include <time.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "example_util.h"

namespace nightjar::bench_fn {

// CLOCK_MONOTONIC in ns: the same clock the harness and the engine use.
inline int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Input of the bench functions: space-separated key=value pairs, e.g.
// "callee=nop n=10000 bytes=64". Unknown keys are ignored; values contain no spaces.
class Args {
 public:
  explicit Args(std::string_view text) : text_(text) {}

  // The value of `key`, or nullopt when absent.
  std::optional<std::string_view> Get(std::string_view key) const {
    size_t pos = 0;
    while (pos < text_.size()) {
      size_t end = text_.find(' ', pos);
      if (end == std::string_view::npos) end = text_.size();
      const std::string_view item = text_.substr(pos, end - pos);
      const size_t eq = item.find('=');
      if (eq != std::string_view::npos && item.substr(0, eq) == key) return item.substr(eq + 1);
      pos = end + 1;
    }
    return std::nullopt;
  }
  // The numeric value of `key` in [0, max]; `fallback` when absent; nullopt when malformed.
  std::optional<uint64_t> Number(std::string_view key, uint64_t fallback, uint64_t max) const {
    const auto v = Get(key);
    if (!v) return fallback;
    return examples::ParseDecimal(*v, max);
  }

 private:
  std::string_view text_;
};

// `bytes` bytes of filler, prefixed by `prefix` (the prefix counts toward the size when
// it fits).
inline std::string MakeInput(std::string_view prefix, uint64_t bytes) {
  std::string in(prefix);
  if (in.size() < bytes) in.resize(bytes, 'x');
  return in;
}

// Appends one latency sample (ns, clamped to 32 bits: ~4.29 s) in little-endian order.
inline void AppendSample(std::string* out, int64_t ns) {
  const uint32_t v = ns < 0 ? 0 : (ns > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(ns));
  char b[4];
  std::memcpy(b, &v, sizeof(v));  // x86-64 and aarch64 are little-endian
  out->append(b, sizeof(b));
}

}  // namespace nightjar::bench_fn
