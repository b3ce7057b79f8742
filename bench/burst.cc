// The managed-concurrency burst benchmark (issues #3 and #8, docs/concurrency.md): the stage
// workload (stage_load.h) under bursty open-loop load that alternates 0.7 s at 0.25x and
// 0.3 s at NJ_BURST_HIGH x (default 0.9) the capacity measured in the same run, with
// `concurrency: managed` and `concurrency: unmanaged` at the same offered load.
//
// JSON: burst.managed, burst.unmanaged (latency, us), burst.*.throughput (calls/s),
// burst.*.handoff (us); plot: burst_traces.png.
#include <cstdlib>

#include "stage_load.h"

namespace nightjar::bench {

Status RunBurst(BenchContext& ctx) {
  auto capacity = StageCapacity(ctx);
  if (!capacity.ok()) return capacity.status();
  // Bursts near what the machine sustains, lulls well below it (0.25 x).
  const char* high_env = std::getenv("NJ_BURST_HIGH");
  const double high = (high_env ? std::atof(high_env) : 0.9) * *capacity, low = 0.25 * *capacity;
  const double period = 1.0, burst = 0.3;
  const double duration = ctx.Seconds(12.0, 4.0);
  std::vector<PiecewiseRate::Segment> segs;
  for (double t = 0; t < duration; t += period) {
    segs.push_back({t, low});
    segs.push_back({t + period - burst, high});
  }
  PiecewiseRate schedule(segs, duration);
  ctx.Log("burst: " + schedule.Describe());
  return RunStageShape(ctx, "burst", schedule);
}

}  // namespace nightjar::bench
