// What the libFuzzer targets (src/*/*_fuzz.cc) share: an invariant check that aborts so
// libFuzzer records the input, and a small deterministic generator (splitmix64) so that an
// input always replays the same way. Header-only; fuzz builds only (cmake/fuzz.cmake puts
// this directory on their include path).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace nightjar::fuzz {

[[noreturn]] inline void Violated(const char* file, int line, const char* what) {
  std::fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, what);
  std::abort();
}

// Sebastiano Vigna's splitmix64: tiny, fast, good enough to choose split points.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

}  // namespace nightjar::fuzz

#define FUZZ_CHECK(cond)                                                   \
  do {                                                                     \
    if (!(cond)) ::nightjar::fuzz::Violated(__FILE__, __LINE__, #cond);    \
  } while (0)
