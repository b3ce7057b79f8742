// Scenarios "python", "node" and "go": functions of a language runtime against the C++ numbers
// of the same run. The standard deployment (context.cc) has, per language L with prefix P
// (py, node, go), P-nop (a nop whose slots are all in one runtime process) and P-bench_caller
// (the runtime's twin of bench_caller):
//   internal.nop.L                Runtime -> C++: P-bench_caller awaiting invoke("nop"), one
//                                 at a time, timed around the invoke only
//   internal.nop.to_L             C++ -> runtime: bench_caller invoking P-nop
//   cpu.internal.nop.L, cpu.internal.nop.to_L
//                                 CPU-us of the whole process tree per call, same batches
//   external.nop.L                POST /function/P-nop on one keep-alive connection, one at a
//                                 time (as external.nop.seq), and cpu.external.nop.L
//   internal.nop.L.rate.w<k>      P-nop calls/s from bench_rate (C++) with k outstanding
//   internal.nop.L.max_rate       the best of those: the rate of ONE runtime process
//   cpu.internal.nop.L.at_max_rate
// Sample counts match the C++ scenarios, so tails compare. The targets
// ratio.L_internal_p50_over_cpp_internal_p50 (report.cc) need "internal" in the run.
#include "call_drivers.h"
#include "scenario.h"

namespace nightjar::bench {

namespace {

Status RunRuntime(BenchContext& ctx, const std::string& prefix, const std::string& language) {
  const std::string nop = prefix + "-nop";
  const std::string caller = prefix + "-bench_caller";
  auto d = ctx.Deploy();
  if (!d.ok()) return d.status();
  auto http = HttpClient::Connect((*d)->host(), (*d)->port());
  if (!http.ok()) return http.status();
  const pid_t tree = (*d)->pid();

  // Warm-up, both directions: runtime processes, their imports and caches, the engine's
  // estimates (as the internal scenario warms up nop).
  {
    Histogram discard;
    NJ_RETURN_IF_ERROR(CallerRounds(*http, caller, "callee=nop", ctx.Count(20000, 3000),
                                    10000, &discard));
    NJ_RETURN_IF_ERROR(CallerRounds(*http, "bench_caller", "callee=" + nop, ctx.Count(20000, 3000),
                                    10000, &discard));
  }

  const size_t calls = ctx.Count(200000, 20000);  // as internal.nop
  NJ_RETURN_IF_ERROR(MeasureCallerBatch(ctx, *http, tree, caller, "callee=nop", calls,
                                        "internal.nop." + language));
  NJ_RETURN_IF_ERROR(MeasureCallerBatch(ctx, *http, tree, "bench_caller", "callee=" + nop, calls,
                                        "internal.nop.to_" + language));
  NJ_RETURN_IF_ERROR(MeasureSequentialHttp(ctx, **d, nop, ctx.Count(5000, 1000),
                                           ctx.Count(100000, 10000), "external.nop." + language,
                                           "cpu.external.nop." + language));

  auto best = MeasureMaxRate(ctx, *http, tree, nop, "internal.nop." + language);
  if (!best.ok()) return best.status();
  ctx.Log("internal.nop." + language + ".max_rate " +
          std::to_string(static_cast<int64_t>(best->calls_per_s)) + " calls/s (window " +
          std::to_string(best->window) + ")");
  return Status::Ok();
}

}  // namespace

Status RunPython(BenchContext& ctx) { return RunRuntime(ctx, "py", "python"); }
Status RunNode(BenchContext& ctx) { return RunRuntime(ctx, "node", "node"); }
Status RunGo(BenchContext& ctx) { return RunRuntime(ctx, "go", "go"); }

}  // namespace nightjar::bench
