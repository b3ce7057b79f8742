// Scenario "container": a function in an OCI container (isolation: container,
// docs/isolation.md) against the process-mode numbers of the same run. The standard
// deployment (context.cc) then has c-nop: nop's library and pool (16 workers), its launcher
// and workers in one container run by runc.
//   internal.nop.container        bench_caller (a process-mode function) invoking c-nop,
//                                 one at a time, timed around the invoke (as internal.nop)
//   cpu.internal.nop.container    CPU-us of the whole deployment per call, same batch (the
//                                 container's processes included, proc_stat.h)
//   external.nop.container        POST /function/c-nop on one keep-alive connection, one at
//                                 a time (as external.nop.seq), and cpu.external.nop.container
//   internal.nop.container.rate.w<k>, .max_rate, cpu.internal.nop.container.at_max_rate
//                                 bench_rate driving c-nop (as internal.nop.max_rate)
//   process.start_ms, container.start_ms
//                                 time from spawning `nightjar up` with one nop function
//                                 (min_workers 1) to its serving line, which the engine
//                                 prints once that worker is ready: the median of several
//                                 fresh deployments per mode, run alternately, with min and
//                                 max as extra fields
//   container.start_extra_ms      container.start_ms - process.start_ms
// Skipped, with a log line, when the host cannot run containers (not root, or no runc).
// The target ratio.container_internal_p50_over_process_p50 (report.cc) needs "internal".
#include <algorithm>
#include <vector>

#include "call_drivers.h"
#include "scenario.h"

namespace nightjar::bench {

namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Starts and stops one small deployment: a single nop (min_workers 1) with `isolation`.
// Returns the time to its serving line in ms. Fails when it does not come up or does not
// stop cleanly (containers left behind included).
Result<double> StartOnce(BenchContext& ctx, const std::string& isolation) {
  DeploymentSpec spec;
  spec.name = "start-" + isolation;
  spec.functions = {{.name = "nop",
                     .handler = ctx.options().examples_dir + "/libnop.so",
                     .min_workers = 1,
                     .max_workers = 1,
                     .isolation = isolation}};
  auto d = Deployment::Start(ctx.options().nightjar_bin, ctx.options().work_dir, spec);
  if (!d.ok()) return d.status();
  const double ms = static_cast<double>((*d)->start_ns()) / 1e6;
  NJ_RETURN_IF_ERROR((*d)->Stop());
  return ms;
}

Status MeasureStartTimes(BenchContext& ctx) {
  const size_t runs = ctx.Count(5, 2);
  const char* const kModes[] = {"process", "container"};
  std::vector<double> ms[2];
  // Alternating, so a drift of the machine's load lands on both modes alike.
  for (size_t i = 0; i < runs; ++i) {
    for (int mode = 0; mode < 2; ++mode) {
      auto t = StartOnce(ctx, kModes[mode]);
      if (!t.ok()) return t.status();
      ms[mode].push_back(*t);
    }
  }
  double median[2];
  for (int mode = 0; mode < 2; ++mode) {
    median[mode] = Median(ms[mode]);
    ctx.results().AddValue(
        std::string(kModes[mode]) + ".start_ms", "ms", ThreeDigits(median[mode]),
        {{"min", ThreeDigits(*std::min_element(ms[mode].begin(), ms[mode].end()))},
         {"max", ThreeDigits(*std::max_element(ms[mode].begin(), ms[mode].end()))},
         {"runs", static_cast<double>(runs)}});
  }
  ctx.results().AddValue("container.start_extra_ms", "ms", ThreeDigits(median[1] - median[0]));
  ctx.Log("start to serving, median of " + std::to_string(runs) + ": process " +
          std::to_string(median[0]) + " ms, container " + std::to_string(median[1]) + " ms");
  return Status::Ok();
}

}  // namespace

Status RunContainer(BenchContext& ctx) {
  if (Status can = CanRunContainers(); !can.ok()) {
    ctx.Log("container: skipped: " + can.message());
    return Status::Ok();
  }
  auto d = ctx.Deploy();
  if (!d.ok()) return d.status();
  auto http = HttpClient::Connect((*d)->host(), (*d)->port());
  if (!http.ok()) return http.status();
  const pid_t tree = (*d)->pid();

  // Warm-up, as the internal scenario warms up nop.
  {
    Histogram discard;
    NJ_RETURN_IF_ERROR(CallerRounds(*http, "bench_caller", "callee=c-nop", ctx.Count(20000, 3000),
                                    10000, &discard));
  }
  NJ_RETURN_IF_ERROR(MeasureCallerBatch(ctx, *http, tree, "bench_caller", "callee=c-nop",
                                        ctx.Count(200000, 20000), "internal.nop.container"));
  NJ_RETURN_IF_ERROR(MeasureSequentialHttp(ctx, **d, "c-nop", ctx.Count(5000, 1000),
                                           ctx.Count(100000, 10000), "external.nop.container",
                                           "cpu.external.nop.container"));
  auto best = MeasureMaxRate(ctx, *http, tree, "c-nop", "internal.nop.container");
  if (!best.ok()) return best.status();

  return MeasureStartTimes(ctx);
}

}  // namespace nightjar::bench
