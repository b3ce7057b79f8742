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
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "http_client.h"
#include "proc_stat.h"
#include "scenario.h"
#include "util.h"

namespace nightjar::bench {

namespace {

// Runs `total` rounds of bench_caller with `args` (without n=), `batch` rounds per HTTP
// call, into *h.
Status CallerRounds(HttpClient& http, const std::string& args, size_t total, size_t batch,
                    Histogram* h) {
  for (size_t done = 0; done < total;) {
    const size_t n = std::min(batch, total - done);
    auto r = http.Post("/function/bench_caller", args + " n=" + std::to_string(n));
    if (!r.ok()) return r.status();
    if (r->status != 200) {
      return Internal("bench_caller " + args + " answered " + std::to_string(r->status) + ": " +
                      r->body);
    }
    NJ_RETURN_IF_ERROR(RecordSamples(r->body, h));
    done += n;
  }
  return Status::Ok();
}

// Batch size keeping each worker's buffers small (outputs of one handler stay alive until
// it returns): about 4 MiB of child outputs per HTTP call.
size_t BatchFor(size_t bytes) {
  return std::clamp<size_t>((4u << 20) / std::max<size_t>(bytes, 64), 4, 10000);
}

struct RateRun {
  double calls_per_s = 0;
  double cpu_us_per_call = 0;
};

Result<RateRun> RateOnce(HttpClient& http, pid_t tree, size_t window, size_t calls) {
  auto cpu0 = ProcessTreeCpuUs(tree);
  if (!cpu0.ok()) return cpu0.status();
  auto r = http.Post("/function/bench_rate",
                     "callee=nop window=" + std::to_string(window) + " n=" + std::to_string(calls));
  if (!r.ok()) return r.status();
  auto cpu1 = ProcessTreeCpuUs(tree);
  if (!cpu1.ok()) return cpu1.status();
  if (r->status != 200) {
    return Internal("bench_rate answered " + std::to_string(r->status) + ": " + r->body);
  }
  unsigned long long got = 0, ns = 0;
  if (std::sscanf(r->body.c_str(), "calls=%llu ns=%llu", &got, &ns) != 2 || ns == 0) {
    return Internal("bench_rate answered \"" + r->body + "\"");
  }
  RateRun run;
  run.calls_per_s = static_cast<double>(got) * 1e9 / static_cast<double>(ns);
  run.cpu_us_per_call = (*cpu1 - *cpu0) / static_cast<double>(got);
  return run;
}

}  // namespace

Status RunInternal(BenchContext& ctx) {
  auto d = ctx.Deploy();
  if (!d.ok()) return d.status();
  auto http = HttpClient::Connect((*d)->host(), (*d)->port());
  if (!http.ok()) return http.status();
  Results& results = ctx.results();
  const pid_t tree = (*d)->pid();

  // Warm-up: workers, page tables, branch predictors, the engine's smoothed estimates.
  {
    Histogram discard;
    NJ_RETURN_IF_ERROR(CallerRounds(*http, "callee=nop", ctx.Count(20000, 3000), 10000, &discard));
  }

  // The nop call and its CPU cost, over one fixed batch.
  {
    const size_t calls = ctx.Count(200000, 20000);
    Histogram h;
    auto cpu0 = ProcessTreeCpuUs(tree);
    if (!cpu0.ok()) return cpu0.status();
    NJ_RETURN_IF_ERROR(CallerRounds(*http, "callee=nop", calls, 10000, &h));
    auto cpu1 = ProcessTreeCpuUs(tree);
    if (!cpu1.ok()) return cpu1.status();
    results.AddLatency("internal.nop", h);
    results.AddValue("cpu.internal.nop", "us/call", (*cpu1 - *cpu0) / static_cast<double>(calls),
                     {{"calls", static_cast<double>(calls)}});
    ctx.Log("internal.nop p50 " + std::to_string(results.Find("internal.nop")->p50) + " us");
  }

  for (int depth : {1, 2, 4}) {
    Histogram h;
    NJ_RETURN_IF_ERROR(CallerRounds(*http, "callee=bench_chain arg=" + std::to_string(depth),
                                    ctx.Count(50000, 5000), 10000, &h));
    results.AddLatency("internal.chain" + std::to_string(depth), h);
  }
  {
    Histogram h;
    NJ_RETURN_IF_ERROR(
        CallerRounds(*http, "callee=nop fanout=4", ctx.Count(50000, 5000), 10000, &h));
    results.AddLatency("internal.fanout4", h);
  }

  struct Payload {
    const char* name;
    size_t bytes;
    size_t full, quick;
  };
  for (const Payload& p : {Payload{"64b", 64, 50000, 5000}, Payload{"1k", 1024, 50000, 5000},
                           Payload{"16k", 16384, 20000, 2000}, Payload{"1m", 1 << 20, 1000, 100}}) {
    Histogram h;
    NJ_RETURN_IF_ERROR(CallerRounds(*http, "callee=echo bytes=" + std::to_string(p.bytes),
                                    ctx.Count(p.full, p.quick), BatchFor(p.bytes), &h));
    results.AddLatency(std::string("internal.echo_") + p.name, h, {{"bytes", double(p.bytes)}});
  }

  // Maximum rate: closed loop with k calls outstanding; each run lasts about `seconds`.
  const double seconds = ctx.Seconds(3.0, 1.0);
  RateRun best;
  size_t best_window = 0;
  for (size_t window :
       ctx.quick() ? std::vector<size_t>{4, 16} : std::vector<size_t>{1, 4, 8, 16}) {
    auto probe = RateOnce(*http, tree, window, 2000);
    if (!probe.ok()) return probe.status();
    const size_t calls = static_cast<size_t>(std::max(2000.0, probe->calls_per_s * seconds));
    auto run = RateOnce(*http, tree, window, calls);
    if (!run.ok()) return run.status();
    results.AddValue("internal.nop.rate.w" + std::to_string(window), "calls/s",
                     std::round(run->calls_per_s),
                     {{"cpu_us_per_call", run->cpu_us_per_call}, {"calls", double(calls)}});
    if (run->calls_per_s > best.calls_per_s) {
      best = *run;
      best_window = window;
    }
  }
  results.AddValue("internal.nop.max_rate", "calls/s", std::round(best.calls_per_s),
                   {{"window", double(best_window)}});
  results.AddValue("cpu.internal.nop.at_max_rate", "us/call", best.cpu_us_per_call,
                   {{"calls_per_s", std::round(best.calls_per_s)}});
  return Status::Ok();
}

}  // namespace nightjar::bench
