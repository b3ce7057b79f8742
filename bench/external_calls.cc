// Scenario "external": external calls through the HTTP gateway.
//   external.nop.seq              POST /function/nop on one keep-alive connection, one at
//                                 a time (after a warm-up)
//   cpu.external.nop              CPU-us of the nightjar process tree per call, same batch
//   external.nop.load.<rate>      open-loop Poisson load at <rate>/s (loadgen.h): latency
//                                 from the intended send time; offered and achieved rate,
//                                 send lag, errors and CPU-us per call as extra fields
//   external.nop.max_rate         the highest offered rate that was sustained: run accepted
//                                 (>= 99% achieved), no errors, p99 <= kSloP99Us; a step
//                                 that fails is run once more before it counts (a VM hiccup
//                                 in a short step can blow one p99)
//   cpu.external.nop.at_max_rate  CPU-us per call at that rate
// The sweep multiplies the rate by 1.5 from kStartRate until a step is not sustained, then
// bisects between the last sustained and the first failed rate.
#include <cmath>

#include "call_drivers.h"
#include "loadgen.h"
#include "proc_stat.h"
#include "scenario.h"

namespace nightjar::bench {

namespace {

constexpr double kStartRate = 1000;
constexpr double kGrowth = 1.5;
constexpr double kSloP99Us = 10000;
constexpr int kMaxSteps = 24;

struct Step {
  double rate = 0;
  bool sustained = false;
  double cpu_us_per_call = 0;
};

Result<Step> LoadStepOnce(BenchContext& ctx, Deployment& d, double rate) {
  const ConstantRate schedule(rate, ctx.Seconds(3.0, 0.7));
  LoadGenOptions o;
  o.host = d.host();
  o.port = d.port();
  o.path = "/function/nop";
  o.connections = 16;
  o.schedule = &schedule;
  o.seed = static_cast<uint64_t>(rate);
  auto cpu0 = ProcessTreeCpuUs(d.pid());
  if (!cpu0.ok()) return cpu0.status();
  auto r = RunOpenLoop(o);
  if (!r.ok()) return r.status();
  auto cpu1 = ProcessTreeCpuUs(d.pid());
  if (!cpu1.ok()) return cpu1.status();
  Step step;
  step.rate = rate;
  step.cpu_us_per_call = r->completed ? (*cpu1 - *cpu0) / static_cast<double>(r->completed) : 0;
  const double p99_us = static_cast<double>(r->latency.ValueAtPercentile(99)) / 1e3;
  step.sustained = !r->rejected && r->errors == 0 && r->unanswered == 0 && p99_us <= kSloP99Us;
  const std::string name = "external.nop.load." + std::to_string(static_cast<int64_t>(rate));
  ctx.results().AddLatency(
      name, r->latency,
      {{"offered_rate", std::round(r->offered_rate)},
       {"achieved_rate", std::round(r->achieved_rate)},
       {"send_lag_p50_us", static_cast<double>(r->send_lag.ValueAtPercentile(50)) / 1e3},
       {"send_lag_p99_us", static_cast<double>(r->send_lag.ValueAtPercentile(99)) / 1e3},
       {"errors", static_cast<double>(r->errors + r->unanswered)},
       {"cpu_us_per_call", step.cpu_us_per_call},
       {"rejected", r->rejected ? 1.0 : 0.0},
       {"sustained", step.sustained ? 1.0 : 0.0}});
  ctx.Log(name + ": achieved " + std::to_string(static_cast<int64_t>(r->achieved_rate)) +
          "/s, p50 " + std::to_string(r->latency.ValueAtPercentile(50) / 1000) + " us, p99 " +
          std::to_string(static_cast<int64_t>(p99_us)) + " us" +
          (r->rejected ? ", rejected: " + r->reject_reason : "") +
          (step.sustained ? "" : ", not sustained"));
  return step;
}

// A step, confirmed: a failed one is repeated once and the repeat decides.
Result<Step> LoadStep(BenchContext& ctx, Deployment& d, double rate) {
  auto step = LoadStepOnce(ctx, d, rate);
  if (!step.ok() || step->sustained) return step;
  ctx.Log("repeating the step at " + std::to_string(static_cast<int64_t>(rate)) + "/s");
  return LoadStepOnce(ctx, d, rate);
}

}  // namespace

Status RunExternal(BenchContext& ctx) {
  auto d = ctx.Deploy();
  if (!d.ok()) return d.status();
  Deployment& dep = **d;
  Results& results = ctx.results();

  // Sequential keep-alive latency and CPU per call.
  NJ_RETURN_IF_ERROR(MeasureSequentialHttp(ctx, dep, "nop", ctx.Count(5000, 1000),
                                           ctx.Count(100000, 10000), "external.nop.seq",
                                           "cpu.external.nop"));

  // Open-loop sweep to saturation.
  Step best;
  double failed_rate = 0;
  double rate = kStartRate;
  for (int i = 0; i < kMaxSteps; ++i, rate *= kGrowth) {
    auto step = LoadStep(ctx, dep, std::round(rate));
    if (!step.ok()) return step.status();
    if (!step->sustained) {
      failed_rate = step->rate;
      break;
    }
    best = *step;
  }
  for (int i = 0; i < (ctx.quick() ? 1 : 3) && failed_rate > 0 && best.rate > 0; ++i) {
    const double mid = std::round((best.rate + failed_rate) / 2);
    auto step = LoadStep(ctx, dep, mid);
    if (!step.ok()) return step.status();
    if (step->sustained) {
      best = *step;
    } else {
      failed_rate = mid;
    }
  }
  results.AddValue("external.nop.max_rate", "calls/s", best.rate,
                   {{"first_unsustained_rate", failed_rate}, {"slo_p99_us", kSloP99Us}});
  results.AddValue("cpu.external.nop.at_max_rate", "us/call", best.cpu_us_per_call,
                   {{"calls_per_s", best.rate}});
  return Status::Ok();
}

}  // namespace nightjar::bench
