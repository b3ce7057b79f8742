// Scenario "observability" (issue #15): what metrics counting, the per-call time breakdown
// (X-Nightjar-Call-Id, Server-Timing) and trace-context propagation cost, measured against
// the same native functions with them switched off (engine.metrics: false,
// gateway.server_timing: false), in the same run:
//   obs.internal.nop.on / .off     internal nop latency, timed inside bench_caller as
//                                  internal.nop is (bench/internal_calls.cc)
//   obs.external.nop.rate.on / .off  closed-loop HTTP/1.1 nop calls/s through the gateway
//                                  (h2load --h1, 16 connections, one call outstanding each):
//                                  the median of the rounds, every round's rate as extra
//                                  fields
//   cpu.obs.external.nop.on / .off CPU-us of the nightjar process tree per call over those
//                                  runs (the median of the rounds)
//   obs.external.nop.rate.on_over_off, cpu.obs.external.nop.on_over_off
//                                  the median over the rounds of each round's on / off ratio
//                                  (min and max as extra fields): what the targets read, as
//                                  a round's two runs share the shared VM's regime of the
//                                  moment while successive rounds need not
// Both deployments run side by side and the rounds alternate between them (on, off, off,
// on, ...), so drift of the shared VM lands on both arms alike. OTLP export stays off in
// both (its cost when on depends on the collector); the "on" arm is scraped (GET /metrics)
// after every round, so the exposition's cost is in its numbers too.
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "call_drivers.h"
#include "proc_stat.h"
#include "scenario.h"
#include "util.h"

namespace nightjar::bench {

namespace {

struct Arm {
  const char* name;  // "on" / "off"
  std::unique_ptr<Deployment> deployment;
  Histogram internal;
  std::vector<double> rates;
  std::vector<double> cpu_us_per_call;
};

DeploymentSpec ArmSpec(const BenchOptions& o, bool on) {
  DeploymentSpec spec = StandardSpec(o);
  spec.name = on ? "obs-on" : "obs-off";
  std::erase_if(spec.functions,
                [](const FunctionSpec& f) { return f.name != "nop" && f.name != "bench_caller"; });
  if (!on) {
    spec.engine_keys.push_back({"metrics", "false"});
    spec.gateway_keys.push_back({"server_timing", "false"});
  }
  return spec;
}

Result<double> H2loadRate(BenchContext& ctx, Deployment& d, size_t calls) {
  const std::string out = ctx.options().work_dir + "/obs_h2load.out";
  const std::string body = ctx.options().work_dir + "/obs_h2load_body";
  std::ofstream(body) << "x";  // -d makes h2load POST (a GET gets 405)
  ::unlink(out.c_str());
  NJ_RETURN_IF_ERROR(
      RunProcess({"h2load", "--h1", "-n", std::to_string(calls), "-c", "16", "-m", "1", "-d", body,
                  "http://" + d.host() + ":" + std::to_string(d.port()) + "/function/nop"},
                 out, 300));
  return ParseH2loadRate(ReadWholeFile(out));
}

// GET /metrics on `d`; fails unless it answers 200 with a body.
Status Scrape(Deployment& d) {
  auto http = HttpClient::Connect(d.host(), d.port());
  if (!http.ok()) return http.status();
  auto r = http->Send("GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n");
  if (!r.ok()) return r.status();
  if (r->status != 200 || r->body_size == 0) {
    return Internal("GET /metrics answered " + std::to_string(r->status));
  }
  return Status::Ok();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

Status RunObservability(BenchContext& ctx) {
  const bool h2load = OnPath("h2load");
  if (!h2load) ctx.Log("observability: h2load not found (Debian: nghttp2-client): rates skipped");
  Arm arms[2] = {{"on", nullptr, {}, {}, {}}, {"off", nullptr, {}, {}, {}}};
  for (int i = 0; i < 2; ++i) {
    auto d = Deployment::Start(ctx.options().nightjar_bin, ctx.options().work_dir,
                               ArmSpec(ctx.options(), i == 0));
    if (!d.ok()) return d.status();
    arms[i].deployment = std::move(*d);
  }
  const int rounds = ctx.quick() ? 2 : 10;
  const size_t internal_calls = ctx.Count(40000, 5000);
  const size_t external_calls = ctx.Count(60000, 8000);
  Status st;
  for (int round = 0; round < rounds && st.ok(); ++round) {
    for (int k = 0; k < 2 && st.ok(); ++k) {
      Arm& arm = arms[(round + k) % 2];  // on, off, off, on, on, off, ...
      Deployment& d = *arm.deployment;
      auto http = HttpClient::Connect(d.host(), d.port());
      if (!http.ok()) {
        st = http.status();
        break;
      }
      if (round == 0) {  // warm-up: workers, caches, the engine's smoothed estimates
        Histogram discard;
        st = CallerRounds(*http, "bench_caller", "callee=nop", internal_calls / 2, 10000, &discard);
        if (!st.ok()) break;
      }
      st = CallerRounds(*http, "bench_caller", "callee=nop", internal_calls, 10000, &arm.internal);
      if (st.ok() && h2load) {
        auto cpu0 = ProcessTreeCpuUs(d.pid());
        auto rate = H2loadRate(ctx, d, external_calls);
        auto cpu1 = ProcessTreeCpuUs(d.pid());
        if (!rate.ok() || !cpu0.ok() || !cpu1.ok()) {
          st = !rate.ok() ? rate.status() : !cpu0.ok() ? cpu0.status() : cpu1.status();
        } else {
          arm.rates.push_back(*rate);
          arm.cpu_us_per_call.push_back((*cpu1 - *cpu0) / static_cast<double>(external_calls));
        }
      }
      if (st.ok() && &arm == &arms[0]) st = Scrape(d);
    }
  }
  for (Arm& arm : arms) {
    if (Status stop = arm.deployment->Stop(); st.ok()) st = stop;
  }
  NJ_RETURN_IF_ERROR(st);
  for (Arm& arm : arms) {
    const std::string suffix = std::string(".") + arm.name;
    ctx.results().AddLatency("obs.internal.nop" + suffix, arm.internal);
    ctx.Log("obs.internal.nop" + suffix + ": p50 " +
            std::to_string(arm.internal.ValueAtPercentile(50) / 1000) + " us");
    if (arm.rates.empty()) continue;
    std::map<std::string, double> extra = {{"rounds", static_cast<double>(arm.rates.size())}};
    for (size_t i = 0; i < arm.rates.size(); ++i) extra["round" + std::to_string(i)] = arm.rates[i];
    const double rate = Median(arm.rates);
    ctx.results().AddValue("obs.external.nop.rate" + suffix, "calls/s", rate, extra);
    ctx.results().AddValue("cpu.obs.external.nop" + suffix, "us/call", Median(arm.cpu_us_per_call));
    ctx.Log("obs.external.nop.rate" + suffix + ": " + std::to_string(static_cast<int64_t>(rate)) +
            "/s");
  }
  // The ratios round by round: the two runs of a round are seconds apart, so they share the
  // VM's regime of the moment, which moves the rate by up to 1.7x between rounds.
  if (arms[0].rates.size() == arms[1].rates.size() && !arms[0].rates.empty()) {
    std::vector<double> rate_ratio, cpu_ratio;
    for (size_t i = 0; i < arms[0].rates.size(); ++i) {
      rate_ratio.push_back(arms[0].rates[i] / arms[1].rates[i]);
      cpu_ratio.push_back(arms[0].cpu_us_per_call[i] / arms[1].cpu_us_per_call[i]);
    }
    ctx.results().AddValue("obs.external.nop.rate.on_over_off", "x", Median(rate_ratio),
                           {{"min", *std::min_element(rate_ratio.begin(), rate_ratio.end())},
                            {"max", *std::max_element(rate_ratio.begin(), rate_ratio.end())}});
    ctx.results().AddValue("cpu.obs.external.nop.on_over_off", "x", Median(cpu_ratio),
                           {{"min", *std::min_element(cpu_ratio.begin(), cpu_ratio.end())},
                            {"max", *std::max_element(cpu_ratio.begin(), cpu_ratio.end())}});
  }
  return Status::Ok();
}

}  // namespace nightjar::bench
