// bench_spin: burns CPU for a given time, for the managed-concurrency burst benchmark
// (bench/burst.cc). Input: microseconds of work, decimal, 0..100000 (empty = 200).
// Busy-loops on CLOCK_THREAD_CPUTIME_ID, so the work is CPU time actually received: a
// worker that is preempted takes longer in wall time, as real CPU-bound code would.
#include <nightjar/function.hpp>
#include <time.h>

#include "example_util.h"

namespace {

int64_t ThreadCpuNs() {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

nj_status BenchSpin(nightjar::Context& ctx, std::string_view input) {
  const auto us = input.empty() ? std::optional<uint64_t>(200)
                                : nightjar::examples::ParseDecimal(input, 100'000);
  if (!us) {
    ctx.SetError("bench_spin: input must be microseconds in [0, 100000]");
    return NJ_ERR_FUNCTION;
  }
  const int64_t end = ThreadCpuNs() + static_cast<int64_t>(*us) * 1000;
  while (ThreadCpuNs() < end) {
  }
  return NJ_OK;
}

}  // namespace

NIGHTJAR_FUNCTION(BenchSpin)
