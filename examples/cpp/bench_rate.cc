// bench_rate: drives internal calls as fast as they complete, for the harness's maximum
// internal rate benchmark.
//
// Input: "callee=<name> n=<calls> [window=<k>] [bytes=<input size>]". Keeps `window` calls
// to `callee` outstanding (InvokeAsync; when all k are in flight it Waits for the oldest,
// then starts the next) until `n` calls have completed. Output (text):
// "calls=<n> ns=<elapsed>", elapsed from the first invoke to the last completion.
// Fails with NJ_ERR_FUNCTION on bad input or on the first failed child.
#include <nightjar/function.hpp>
#include <string>
#include <vector>

#include "bench_util.h"

namespace {

using nightjar::bench_fn::Args;
using nightjar::bench_fn::NowNs;

constexpr uint64_t kMaxCalls = 100'000'000;
constexpr uint64_t kMaxWindow = 64;
// Inline payloads only (proto::kInlinePayloadSize): this measures the call path.
constexpr uint64_t kMaxBytes = 936;

nj_status BenchRate(nightjar::Context& ctx, std::string_view input) {
  const Args args(input);
  const auto callee = args.Get("callee");
  const auto n = args.Number("n", 1, kMaxCalls);
  const auto window = args.Number("window", 4, kMaxWindow);
  const auto bytes = args.Number("bytes", 0, kMaxBytes);
  if (!callee || callee->empty() || !n || !window || *window == 0 || !bytes) {
    ctx.SetError("bench_rate: input must be callee=<name> n=<calls> [window=<k>] [bytes=<size>]");
    return NJ_ERR_FUNCTION;
  }
  const std::string name(*callee);
  const std::string child_input = nightjar::bench_fn::MakeInput("", *bytes);

  // Ring of outstanding handles, oldest at `head`.
  std::vector<nightjar::InvokeHandle> ring(*window);
  uint64_t started = 0, done = 0;
  const int64_t start = NowNs();
  while (done < *n) {
    while (started < *n && started - done < *window) {
      ring[started % *window] = ctx.InvokeAsync(name, child_input);
      ++started;
    }
    const nightjar::InvokeResult r = ctx.Wait(ring[done % *window]);
    ++done;
    if (!r.ok()) {
      while (done < started) (void)ctx.Wait(ring[done++ % *window]);  // leave none running
      ctx.SetError("bench_rate: call failed: " + std::string(nightjar::StatusName(r.status)));
      return NJ_ERR_FUNCTION;
    }
  }
  const int64_t elapsed = NowNs() - start;
  return ctx.Append("calls=" + std::to_string(done) + " ns=" + std::to_string(elapsed));
}

}  // namespace

NIGHTJAR_FUNCTION(BenchRate)
