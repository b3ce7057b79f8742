// The managed-concurrency burst benchmark (issue #3, docs/concurrency.md): a stage-based
// workload -- bench_stage fans out to two CPU-bound bench_spin children (~200 us of CPU
// each) -- under bursty open-loop load that alternates between a high and a low rate, run
// with `concurrency: managed` and `concurrency: unmanaged` in the same run, at the same
// offered load (same Poisson schedule, same seed).
//
// Knobs (environment): NJ_BURST_HIGH (burst rate as a fraction of the measured capacity,
// default 0.9) and NJ_BURST_COEF (concurrency_coef of both functions, default 1.0).
//
// Reports per mode: latency p50/p99/p99.9 (from the intended send time), achieved
// throughput, CPU utilisation over time (mean and spread, from /proc every 200 ms), and
// traces of bench_spin's queue, target and running calls (GET /status every 100 ms),
// plotted to burst_traces.png. JSON: burst.managed, burst.unmanaged (latency, us),
// burst.managed.throughput, burst.unmanaged.throughput (calls/s, value).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "base/clock.h"
#include "http_client.h"
#include "loadgen.h"
#include "proc_stat.h"
#include "scenario.h"

namespace nightjar::bench {
namespace {

constexpr int kSpinUs = 200;

struct TracePoint {
  double t_s;
  int queued = 0, target = 0, running = 0;  // bench_spin
};

struct CpuPoint {
  double t_s;
  double util;  // fraction of all cores, 0..1
};

// Reads bench_spin's row of GET /status?format=text.
bool ReadSpinRow(HttpClient* client, TracePoint* p) {
  auto r = client->Send("GET /status?format=text HTTP/1.1\r\nHost: bench\r\n\r\n");
  if (!r.ok() || r->status != 200) return false;
  size_t at = r->body.find("\nbench_spin ");
  if (at == std::string::npos) return false;
  int start, idle, run, block, queue, target;
  if (std::sscanf(r->body.c_str() + at + 1, "bench_spin %d %d %d %d %d %d", &start, &idle, &run,
                  &block, &queue, &target) != 6) {
    return false;
  }
  p->queued = queue;
  p->target = target;
  p->running = run;
  return true;
}

struct ModeResult {
  LoadGenResult load;
  std::vector<TracePoint> trace;
  std::vector<CpuPoint> cpu;
};

Result<ModeResult> RunMode(BenchContext& ctx, const std::string& mode,
                           const RateSchedule& schedule) {
  const std::string lib = ctx.options().examples_dir;
  DeploymentSpec spec;
  spec.name = "burst-" + mode;
  // NJ_BURST_COEF sets both functions' concurrency_coef (default: the config default, 1.0).
  const char* coef_env = std::getenv("NJ_BURST_COEF");
  const double coef = coef_env ? std::atof(coef_env) : 0;
  spec.functions = {
      {"bench_stage", lib + "/libbench_stage.so", 2, 32, 0, mode, 0, coef},
      {"bench_spin", lib + "/libbench_spin.so", 2, 32, 0, mode, 0, coef},
  };
  auto d = Deployment::Start(ctx.options().nightjar_bin, ctx.options().work_dir, spec);
  if (!d.ok()) return d.status();
  Deployment* dep = d->get();

  // Warm up: reach a steady pool at the low rate before measuring.
  {
    ConstantRate warm(schedule.RateAt(schedule.duration_s() - 1e-3) * 0.5, 1.0);
    LoadGenOptions o;
    o.host = dep->host();
    o.port = dep->port();
    o.path = "/function/bench_stage";
    o.body = std::to_string(kSpinUs);
    o.schedule = &warm;
    o.min_achieved_fraction = 0;
    (void)RunOpenLoop(o);
  }

  ModeResult out;
  std::atomic<bool> done{false};
  const int64_t t0 = MonotonicNowNs();
  std::thread sampler([&] {
    auto client = HttpClient::Connect(dep->host(), dep->port());
    auto last_cpu = ProcessTreeCpuUs(dep->pid());
    int64_t last_cpu_ns = MonotonicNowNs();
    const double cores = static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN));
    for (int tick = 0; !done.load(); ++tick) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      int64_t now = MonotonicNowNs();
      TracePoint p{static_cast<double>(now - t0) / 1e9};
      if (client.ok() && ReadSpinRow(&*client, &p)) out.trace.push_back(p);
      if (tick % 2 == 1 && last_cpu.ok()) {
        auto cpu = ProcessTreeCpuUs(dep->pid());
        if (cpu.ok()) {
          double wall_us = static_cast<double>(now - last_cpu_ns) / 1e3;
          out.cpu.push_back({p.t_s, (*cpu - *last_cpu) / (wall_us * cores)});
          last_cpu = cpu;
          last_cpu_ns = now;
        }
      }
    }
  });
  LoadGenOptions o;
  o.host = dep->host();
  o.port = dep->port();
  o.path = "/function/bench_stage";
  o.body = std::to_string(kSpinUs);
  o.connections = 32;
  o.schedule = &schedule;
  o.seed = 42;  // the same arrivals for both modes
  o.min_achieved_fraction = 0;  // overload during bursts is the point; report it
  auto load = RunOpenLoop(o);
  done = true;
  sampler.join();
  Status stop = dep->Stop();
  if (!load.ok()) return load.status();
  if (!stop.ok()) ctx.Log("warning: " + stop.message());
  out.load = std::move(*load);
  return out;
}

void MeanAndSpread(const std::vector<CpuPoint>& cpu, double* mean, double* stddev) {
  double sum = 0, sq = 0;
  for (auto& c : cpu) sum += c.util;
  *mean = cpu.empty() ? 0 : sum / static_cast<double>(cpu.size());
  for (auto& c : cpu) sq += (c.util - *mean) * (c.util - *mean);
  *stddev = cpu.empty() ? 0 : std::sqrt(sq / static_cast<double>(cpu.size()));
}

// Calibrates the rates to what the machine sustains: a closed loop of 8 clients, each
// calling the stage back to back for a short while.
Result<double> MeasureCapacity(BenchContext& ctx) {
  const std::string lib = ctx.options().examples_dir;
  DeploymentSpec spec;
  spec.name = "burst-capacity";
  spec.functions = {
      {"bench_stage", lib + "/libbench_stage.so", 8, 8, 0, "unmanaged", 0},
      {"bench_spin", lib + "/libbench_spin.so", 8, 16, 0, "unmanaged", 0},
  };
  auto d = Deployment::Start(ctx.options().nightjar_bin, ctx.options().work_dir, spec);
  if (!d.ok()) return d.status();
  const int64_t end = MonotonicNowNs() + static_cast<int64_t>(ctx.Seconds(2.0, 1.0) * 1e9);
  std::atomic<uint64_t> done{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&] {
      auto c = HttpClient::Connect((*d)->host(), (*d)->port());
      if (!c.ok()) return;
      while (MonotonicNowNs() < end) {
        auto r = c->Post("/function/bench_stage", std::to_string(kSpinUs));
        if (!r.ok() || r->status != 200) return;
        done.fetch_add(1);
      }
    });
  }
  const int64_t start = MonotonicNowNs();
  for (auto& t : clients) t.join();
  double secs = static_cast<double>(MonotonicNowNs() - start) / 1e9;
  (void)(*d)->Stop();
  if (done.load() == 0) return Internal("burst: no call succeeded while measuring capacity");
  return static_cast<double>(done.load()) / secs;
}

Status WriteTracePlot(BenchContext& ctx, const ModeResult& managed, const ModeResult& unmanaged) {
  const std::string dir = ctx.options().work_dir;
  auto write = [&](const std::string& name, const ModeResult& m) {
    std::ofstream f(dir + "/" + name);
    for (auto& p : m.trace) f << p.t_s << " " << p.queued << " " << p.target << " " << p.running << "\n";
    std::ofstream c(dir + "/cpu-" + name);
    for (auto& p : m.cpu) c << p.t_s << " " << 100 * p.util << "\n";
  };
  write("burst-managed.dat", managed);
  write("burst-unmanaged.dat", unmanaged);
  const std::string png = ctx.options().out_dir + "/burst_traces.png";
  std::ofstream gp(dir + "/burst.gp");
  gp << "set terminal pngcairo size 1200,900 font ',10'\n"
     << "set output '" << png << "'\n"
     << "set multiplot layout 3,1 title 'bursty load on bench_stage -> 2 x bench_spin "
     << kSpinUs << " us'\n"
     << "set xlabel 'time (s)'\nset grid\n"
     << "set title 'managed: bench_spin queue, target, running'\n"
     << "plot '" << dir << "/burst-managed.dat' u 1:2 w l t 'queued', '' u 1:3 w l t 'target', "
     << "'' u 1:4 w l t 'running'\n"
     << "set title 'unmanaged: bench_spin queue, running'\n"
     << "plot '" << dir << "/burst-unmanaged.dat' u 1:2 w l t 'queued', '' u 1:4 w l t 'running'\n"
     << "set title 'CPU utilisation of the nightjar process tree (% of all cores)'\n"
     << "set yrange [0:110]\n"
     << "plot '" << dir << "/cpu-burst-managed.dat' u 1:2 w l t 'managed', '"
     << dir << "/cpu-burst-unmanaged.dat' u 1:2 w l t 'unmanaged'\n"
     << "unset multiplot\n";
  gp.close();
  std::string cmd = "gnuplot " + dir + "/burst.gp > " + dir + "/burst-gnuplot.log 2>&1";
  if (std::system(cmd.c_str()) != 0) return Internal("gnuplot failed; see " + dir + "/burst-gnuplot.log");
  ctx.Log("wrote " + png);
  return Status::Ok();
}

}  // namespace

Status RunBurst(BenchContext& ctx) {
  auto capacity = MeasureCapacity(ctx);
  if (!capacity.ok()) return capacity.status();
  // Bursts above what the machine sustains, lulls well below it.
  // Bursts near what the machine sustains (NJ_BURST_HIGH x capacity, default 0.9), lulls
  // well below it (0.25 x).
  const char* high_env = std::getenv("NJ_BURST_HIGH");
  const double high = (high_env ? std::atof(high_env) : 0.9) * *capacity, low = 0.25 * *capacity;
  const double period = 1.0, burst = 0.3;
  const double duration = ctx.Seconds(12.0, 4.0);
  std::vector<PiecewiseRate::Segment> segs;
  for (double t = 0; t < duration; t += period) {
    segs.push_back({t, low});
    segs.push_back({t + period - burst, high});
  }
  PiecewiseRate schedule(segs, duration);
  ctx.Log("burst: capacity ~" + std::to_string(static_cast<int>(*capacity)) + " calls/s; " +
          schedule.Describe());

  ModeResult modes[2];
  const char* names[2] = {"managed", "unmanaged"};
  for (int i = 0; i < 2; ++i) {
    auto r = RunMode(ctx, names[i], schedule);
    if (!r.ok()) return r.status();
    modes[i] = std::move(*r);
    const LoadGenResult& l = modes[i].load;
    double mean, spread;
    MeanAndSpread(modes[i].cpu, &mean, &spread);
    double throughput = static_cast<double>(l.completed) / l.duration_s;
    std::string name = std::string("burst.") + names[i];
    ctx.results().AddLatency(name, l.latency,
                             {{"offered_rate", l.offered_rate},
                              {"errors", static_cast<double>(l.errors)},
                              {"unanswered", static_cast<double>(l.unanswered)},
                              {"cpu_util_mean", mean},
                              {"cpu_util_stddev", spread}});
    ctx.results().AddValue(name + ".throughput", "calls/s", throughput,
                           {{"offered_rate", l.offered_rate}});
    ctx.Log(name + ": throughput " + std::to_string(throughput) + "/s, CPU " +
            std::to_string(100 * mean) + "% +- " + std::to_string(100 * spread) + "%");
  }
  return WriteTracePlot(ctx, modes[0], modes[1]);
}

}  // namespace nightjar::bench
