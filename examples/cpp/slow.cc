// slow: sleeps, to test deadlines. Input is milliseconds in [0, 600000] (empty: 1000);
// returns "slept <ms>ms". It sleeps the full time even past its deadline, so the host must
// answer the caller with a timeout and drop the late result. Bad input: NJ_ERR_FUNCTION.
#include <chrono>
#include <nightjar/function.hpp>
#include <string>
#include <thread>

#include "example_util.h"

namespace {

constexpr uint64_t kDefaultMs = 1000;
constexpr uint64_t kMaxMs = 600'000;

nj_status Slow(nightjar::Context& ctx, std::string_view input) {
  uint64_t ms = kDefaultMs;
  if (!input.empty()) {
    const auto parsed = nightjar::examples::ParseDecimal(input, kMaxMs);
    if (!parsed) {
      ctx.SetError("slow: input must be milliseconds in [0, 600000]");
      return NJ_ERR_FUNCTION;
    }
    ms = *parsed;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ctx.Append("slept " + std::to_string(ms) + "ms");
}

}  // namespace

NIGHTJAR_FUNCTION(Slow)
