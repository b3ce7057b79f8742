// The managed-concurrency steady benchmark (issue #8, docs/concurrency.md): the stage
// workload (stage_load.h) under a constant open-loop Poisson rate of NJ_STEADY_LOAD x
// (default 0.8) the capacity measured in the same run, with `concurrency: managed` and
// `concurrency: unmanaged` at the same offered load. Below capacity there is no backlog to
// drain: managing concurrency must cost (almost) nothing here.
//
// JSON: steady.managed, steady.unmanaged (latency, us), steady.*.throughput (calls/s),
// steady.*.handoff (us); plot: steady_traces.png.
#include <cstdlib>

#include "stage_load.h"

namespace nightjar::bench {

Status RunSteady(BenchContext& ctx) {
  auto capacity = StageCapacity(ctx);
  if (!capacity.ok()) return capacity.status();
  const char* load_env = std::getenv("NJ_STEADY_LOAD");
  const double rate = (load_env ? std::atof(load_env) : 0.8) * *capacity;
  ConstantRate schedule(rate, ctx.Seconds(8.0, 3.0));
  ctx.Log("steady: " + schedule.Describe());
  return RunStageShape(ctx, "steady", schedule);
}

}  // namespace nightjar::bench
