// Stage load: the machinery of the managed-concurrency scenarios (burst.cc, steady.cc;
// docs/concurrency.md). The workload is bench_stage, which fans out to two CPU-bound
// bench_spin children (~200 us of CPU each) and waits for both, under open-loop Poisson
// load, run with `concurrency: managed` and with `concurrency: unmanaged` at the same
// offered load (same schedule, same seed).
//
// Per mode it measures latency (from the intended send time), throughput, the CPU
// utilisation of the nightjar process tree over time, a trace of both functions' queue,
// target, running, blocked and idle workers (GET /status every 50 ms), and bench_spin's
// hand-off gap (the engine's HandoffStats). Knobs (environment):
//   NJ_CONC_REPEATS   runs per mode, interleaved managed/unmanaged (default 1); the
//                     median run (by p99) is reported, with the spread of p99 beside it
//   NJ_CONC_ENGINE    extra engine config, "key=value,key=value" (e.g. prefetch_max_us=0)
//   NJ_CONC_COEF      concurrency_coef of both functions (default: the config default)
//   NJ_CONC_CAPACITY  stage calls/s to take as the capacity instead of measuring it (for
//                     comparisons across runs on a machine whose load moves)
// Thread rule: called from the harness thread; each run uses one sampler thread inside.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "loadgen.h"
#include "rate_schedule.h"
#include "scenario.h"

namespace nightjar::bench {

// Microseconds of CPU per bench_spin call.
inline constexpr int kSpinUs = 200;

// Stage calls per second the machine sustains: a closed loop of 8 clients against an
// unmanaged deployment. Measured once per harness run and reused.
Result<double> StageCapacity(BenchContext& ctx);

// Runs `schedule` against a managed and an unmanaged deployment (NJ_CONC_REPEATS times
// each, interleaved) and records, under `shape` ("burst", "steady"):
//   <shape>.managed, <shape>.unmanaged               latency (us) of the median repeat,
//                                                    with cpu_util_mean/stddev, errors,
//                                                    p99_min_us / p99_max_us over repeats
//   <shape>.managed.throughput, ....unmanaged.throughput   calls/s answered within the
//                                                    schedule's duration
//   <shape>.managed.handoff, <shape>.unmanaged.handoff     bench_spin hand-off gap, mean us
// and draws <out>/<shape>_traces.png. Fails if a deployment cannot start or a run cannot
// connect; overload is a result, not a failure.
Status RunStageShape(BenchContext& ctx, const std::string& shape, const RateSchedule& schedule);

}  // namespace nightjar::bench
