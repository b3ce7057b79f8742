// Scenario "internal": internal calls, timed inside a calling function (bench_caller, see
// examples/cpp/bench_caller.cc), so no HTTP or gateway cost is in the numbers:
//   internal.nop                  blocking Invoke of nop, one at a time (after a warm-up)
//   cpu.internal.nop              CPU-us of the whole nightjar process tree per nop call,
//                                 over the same batch (utime+stime from /proc)
//   internal.chain1/2/4           a chain of 1, 2, 4 nested calls (bench_chain)
//   internal.fanout4              4 InvokeAsync calls to nop, then 4 Waits, per round
//   internal.echo_{64b,1k,16k,1m} Invoke of echo with that input (and output) size
//   internal.nop.rate.w<k>        nop calls/s with k calls outstanding (bench_rate)
//   internal.nop.max_rate         the best of those (calls/s)
//   cpu.internal.nop.at_max_rate  CPU-us per call during that best run
// Scenario "internal-3hop": the same calls with engine.direct_dispatch: false, so every
// internal call goes caller -> engine -> callee (docs/architecture.md): the same names with
// ".3hop" appended (internal.nop.3hop, cpu.internal.nop.3hop, internal.echo_16k.3hop ...),
// measured in the same run as the direct (2-hop) path above.
#include <algorithm>

#include "call_drivers.h"
#include "scenario.h"

namespace nightjar::bench {

namespace {

// Batch size keeping each worker's buffers small (outputs of one handler stay alive until
// it returns): about 4 MiB of child outputs per HTTP call.
size_t BatchFor(size_t bytes) {
  return std::clamp<size_t>((4u << 20) / std::max<size_t>(bytes, 64), 4, 10000);
}

// Every measurement of the scenario against deployment `d`; `suffix` is appended to the
// result names.
Status MeasureInternal(BenchContext& ctx, Deployment* d, const std::string& suffix) {
  auto http = HttpClient::Connect(d->host(), d->port());
  if (!http.ok()) return http.status();
  Results& results = ctx.results();
  const pid_t tree = d->pid();

  // Warm-up: workers, page tables, branch predictors, the engine's smoothed estimates.
  {
    Histogram discard;
    NJ_RETURN_IF_ERROR(
        CallerRounds(*http, "bench_caller", "callee=nop", ctx.Count(20000, 3000), 10000, &discard));
  }

  // The nop call and its CPU cost (cpu.internal.nop), over one fixed batch.
  NJ_RETURN_IF_ERROR(MeasureCallerBatch(ctx, *http, tree, "bench_caller", "callee=nop",
                                        ctx.Count(200000, 20000), "internal.nop" + suffix));

  for (int depth : {1, 2, 4}) {
    Histogram h;
    NJ_RETURN_IF_ERROR(CallerRounds(*http, "bench_caller",
                                    "callee=bench_chain arg=" + std::to_string(depth),
                                    ctx.Count(50000, 5000), 10000, &h));
    results.AddLatency("internal.chain" + std::to_string(depth) + suffix, h);
  }
  {
    Histogram h;
    NJ_RETURN_IF_ERROR(CallerRounds(*http, "bench_caller", "callee=nop fanout=4",
                                    ctx.Count(50000, 5000), 10000, &h));
    results.AddLatency("internal.fanout4" + suffix, h);
  }

  struct Payload {
    const char* name;
    size_t bytes;
    size_t full, quick;
  };
  for (const Payload& p : {Payload{"64b", 64, 50000, 5000}, Payload{"1k", 1024, 50000, 5000},
                           Payload{"16k", 16384, 20000, 2000}, Payload{"1m", 1 << 20, 1000, 100}}) {
    Histogram h;
    NJ_RETURN_IF_ERROR(CallerRounds(*http, "bench_caller",
                                    "callee=echo bytes=" + std::to_string(p.bytes),
                                    ctx.Count(p.full, p.quick), BatchFor(p.bytes), &h));
    results.AddLatency(std::string("internal.echo_") + p.name + suffix, h,
                       {{"bytes", double(p.bytes)}});
  }

  // Maximum rate: closed loop with k calls outstanding (internal.nop.rate.w<k>,
  // internal.nop.max_rate, cpu.internal.nop.at_max_rate).
  auto best = MeasureMaxRate(ctx, *http, tree, "nop", "internal.nop" + suffix);
  if (!best.ok()) return best.status();
  return Status::Ok();
}

}  // namespace

Status RunInternal(BenchContext& ctx) {
  auto d = ctx.Deploy();
  if (!d.ok()) return d.status();
  return MeasureInternal(ctx, *d, "");
}

Status RunInternal3Hop(BenchContext& ctx) {
  // The standard deployment's native functions, in a deployment of their own.
  DeploymentSpec spec = StandardSpec(ctx.options());
  spec.name = "internal-3hop";
  std::erase_if(spec.functions, [](const FunctionSpec& f) {
    return !f.runtime.empty() || !f.isolation.empty();
  });
  spec.engine_keys.push_back({"direct_dispatch", "false"});
  auto d = Deployment::Start(ctx.options().nightjar_bin, ctx.options().work_dir, spec);
  if (!d.ok()) return d.status();
  Status st = MeasureInternal(ctx, d->get(), ".3hop");
  if (Status stop = (*d)->Stop(); st.ok()) st = stop;
  return st;
}

}  // namespace nightjar::bench
