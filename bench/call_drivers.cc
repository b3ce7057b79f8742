// Shared measurement loops of the call scenarios (see call_drivers.h).
#include "call_drivers.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "base/clock.h"
#include "proc_stat.h"
#include "util.h"

namespace nightjar::bench {

Status CallerRounds(HttpClient& http, const std::string& caller, const std::string& args,
                    size_t total, size_t batch, Histogram* h) {
  for (size_t done = 0; done < total;) {
    const size_t n = std::min(batch, total - done);
    auto r = http.Post("/function/" + caller, args + " n=" + std::to_string(n));
    if (!r.ok()) return r.status();
    if (r->status != 200) {
      return Internal(caller + " " + args + " answered " + std::to_string(r->status) + ": " +
                      r->body);
    }
    NJ_RETURN_IF_ERROR(RecordSamples(r->body, h));
    done += n;
  }
  return Status::Ok();
}

Status MeasureCallerBatch(BenchContext& ctx, HttpClient& http, pid_t tree,
                          const std::string& caller, const std::string& args, size_t calls,
                          const std::string& name) {
  Histogram h;
  auto cpu0 = ProcessTreeCpuUs(tree);
  if (!cpu0.ok()) return cpu0.status();
  NJ_RETURN_IF_ERROR(CallerRounds(http, caller, args, calls, 10000, &h));
  auto cpu1 = ProcessTreeCpuUs(tree);
  if (!cpu1.ok()) return cpu1.status();
  Results& results = ctx.results();
  results.AddLatency(name, h);
  results.AddValue("cpu." + name, "us/call", (*cpu1 - *cpu0) / static_cast<double>(calls),
                   {{"calls", static_cast<double>(calls)}});
  ctx.Log(name + " p50 " + std::to_string(results.Find(name)->p50) + " us");
  return Status::Ok();
}

Status MeasureSequentialHttp(BenchContext& ctx, Deployment& d, const std::string& function,
                             size_t warmup, size_t calls, const std::string& name,
                             const std::string& cpu_name) {
  auto http = HttpClient::Connect(d.host(), d.port());
  if (!http.ok()) return http.status();
  const std::string request = PostRequest(d.host(), "/function/" + function, "");
  auto one = [&](Histogram* h) -> Status {
    const int64_t t0 = MonotonicNowNs();
    auto r = http->Send(request);
    const int64_t t1 = MonotonicNowNs();
    if (!r.ok()) return r.status();
    if (r->status != 200) return Internal(function + " answered " + std::to_string(r->status));
    if (h) h->Record(static_cast<uint64_t>(t1 - t0));
    return Status::Ok();
  };
  for (size_t i = 0; i < warmup; ++i) NJ_RETURN_IF_ERROR(one(nullptr));
  Histogram h;
  auto cpu0 = ProcessTreeCpuUs(d.pid());
  if (!cpu0.ok()) return cpu0.status();
  for (size_t i = 0; i < calls; ++i) NJ_RETURN_IF_ERROR(one(&h));
  auto cpu1 = ProcessTreeCpuUs(d.pid());
  if (!cpu1.ok()) return cpu1.status();
  ctx.results().AddLatency(name, h);
  ctx.results().AddValue(cpu_name, "us/call", (*cpu1 - *cpu0) / static_cast<double>(calls),
                         {{"calls", static_cast<double>(calls)}});
  return Status::Ok();
}

Result<RateRun> RateOnce(HttpClient& http, pid_t tree, const std::string& callee, size_t window,
                         size_t calls) {
  auto cpu0 = ProcessTreeCpuUs(tree);
  if (!cpu0.ok()) return cpu0.status();
  auto r =
      http.Post("/function/bench_rate", "callee=" + callee + " window=" + std::to_string(window) +
                                            " n=" + std::to_string(calls));
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
  run.window = window;
  return run;
}

Result<RateRun> MeasureMaxRate(BenchContext& ctx, HttpClient& http, pid_t tree,
                               const std::string& callee, const std::string& name) {
  const double seconds = ctx.Seconds(3.0, 1.0);
  Results& results = ctx.results();
  RateRun best;
  for (size_t window :
       ctx.quick() ? std::vector<size_t>{4, 16} : std::vector<size_t>{1, 4, 8, 16}) {
    auto probe = RateOnce(http, tree, callee, window, 2000);
    if (!probe.ok()) return probe.status();
    const size_t calls = static_cast<size_t>(std::max(2000.0, probe->calls_per_s * seconds));
    auto run = RateOnce(http, tree, callee, window, calls);
    if (!run.ok()) return run.status();
    results.AddValue(name + ".rate.w" + std::to_string(window), "calls/s",
                     std::round(run->calls_per_s),
                     {{"cpu_us_per_call", run->cpu_us_per_call}, {"calls", double(calls)}});
    if (run->calls_per_s > best.calls_per_s) best = *run;
  }
  results.AddValue(name + ".max_rate", "calls/s", std::round(best.calls_per_s),
                   {{"window", double(best.window)}});
  results.AddValue("cpu." + name + ".at_max_rate", "us/call", best.cpu_us_per_call,
                   {{"calls_per_s", std::round(best.calls_per_s)}});
  return best;
}

}  // namespace nightjar::bench
