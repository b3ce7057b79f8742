// Scenario "python": Python functions (runtime: python) against the C++ numbers of the
// same run. The standard deployment (context.cc) has py-nop (examples/python/nop.py, 8
// slots in one runtime process) and py-bench_caller (examples/python/bench_caller.py, the
// Python twin of bench_caller):
//   internal.nop.python           Python -> C++: py-bench_caller awaiting ctx.invoke("nop"),
//                                 one at a time, timed around the invoke only
//   internal.nop.to_python        C++ -> Python: bench_caller invoking py-nop
//   cpu.internal.nop.python, cpu.internal.nop.to_python
//                                 CPU-us of the whole process tree per call, same batches
//   external.nop.python           POST /function/py-nop on one keep-alive connection, one at
//                                 a time (as external.nop.seq), and cpu.external.nop.python
//   internal.nop.python.rate.w<k> py-nop calls/s from bench_rate (C++) with k outstanding
//   internal.nop.python.max_rate  the best of those: the rate of ONE Python runtime process
//   cpu.internal.nop.python.at_max_rate
// Sample counts match the C++ scenarios, so tails compare. The target
// ratio.python_internal_p50_over_cpp_internal_p50 (report.cc) needs "internal" in the run.
#include "call_drivers.h"
#include "scenario.h"

namespace nightjar::bench {

Status RunPython(BenchContext& ctx) {
  auto d = ctx.Deploy();
  if (!d.ok()) return d.status();
  auto http = HttpClient::Connect((*d)->host(), (*d)->port());
  if (!http.ok()) return http.status();
  const pid_t tree = (*d)->pid();

  // Warm-up, both directions: runtime processes, their imports and caches, the engine's
  // estimates (as the internal scenario warms up nop).
  {
    Histogram discard;
    NJ_RETURN_IF_ERROR(CallerRounds(*http, "py-bench_caller", "callee=nop", ctx.Count(20000, 3000),
                                    10000, &discard));
    NJ_RETURN_IF_ERROR(CallerRounds(*http, "bench_caller", "callee=py-nop", ctx.Count(20000, 3000),
                                    10000, &discard));
  }

  const size_t calls = ctx.Count(200000, 20000);  // as internal.nop
  NJ_RETURN_IF_ERROR(MeasureCallerBatch(ctx, *http, tree, "py-bench_caller", "callee=nop", calls,
                                        "internal.nop.python"));
  NJ_RETURN_IF_ERROR(MeasureCallerBatch(ctx, *http, tree, "bench_caller", "callee=py-nop", calls,
                                        "internal.nop.to_python"));
  NJ_RETURN_IF_ERROR(MeasureSequentialHttp(ctx, **d, "py-nop", ctx.Count(5000, 1000),
                                           ctx.Count(100000, 10000), "external.nop.python",
                                           "cpu.external.nop.python"));

  auto best = MeasureMaxRate(ctx, *http, tree, "py-nop", "internal.nop.python");
  if (!best.ok()) return best.status();
  ctx.Log("internal.nop.python.max_rate " +
          std::to_string(static_cast<int64_t>(best->calls_per_s)) + " calls/s (window " +
          std::to_string(best->window) + ")");
  return Status::Ok();
}

}  // namespace nightjar::bench
