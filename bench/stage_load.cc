// Stage load: managed vs unmanaged concurrency under one offered-load schedule (see
// stage_load.h).
#include "stage_load.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/clock.h"
#include "http_client.h"
#include "proc_stat.h"

namespace nightjar::bench {
namespace {

// One function's row of GET /status?format=text.
struct Row {
  int idle = 0, running = 0, blocked = 0, queued = 0, target = 0;
};

struct TracePoint {
  double t_s;
  Row stage, spin;
};

struct CpuPoint {
  double t_s;
  double util;  // fraction of all cores, 0..1
};

struct Handoff {
  double count = 0, mean_us = 0, p50_us = 0, p99_us = 0;
};

struct ModeRun {
  LoadGenResult load;
  std::vector<TracePoint> trace;
  std::vector<CpuPoint> cpu;
  Handoff handoff;
};

bool ParseRow(const std::string& text, const std::string& name, Row* r) {
  size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) return false;
  int start = 0;
  return std::sscanf(text.c_str() + at + 1 + name.size(), " %d %d %d %d %d %d", &start, &r->idle,
                     &r->running, &r->blocked, &r->queued, &r->target) == 6;
}

bool ReadTrace(HttpClient* client, TracePoint* p) {
  auto r = client->Send("GET /status?format=text HTTP/1.1\r\nHost: bench\r\n\r\n");
  if (!r.ok() || r->status != 200) return false;
  return ParseRow(r->body, "bench_stage", &p->stage) && ParseRow(r->body, "bench_spin", &p->spin);
}

// bench_spin's "handoff" object in GET /status (JSON).
Handoff ReadHandoff(const std::string& host, int port) {
  Handoff h;
  auto client = HttpClient::Connect(host, port);
  if (!client.ok()) return h;
  auto r = client->Send("GET /status HTTP/1.1\r\nHost: bench\r\n\r\n");
  if (!r.ok() || r->status != 200) return h;
  size_t at = r->body.find("\"name\":\"bench_spin\"");
  if (at == std::string::npos) return h;
  at = r->body.find("\"handoff\":{", at);
  if (at == std::string::npos) return h;
  std::sscanf(r->body.c_str() + at,
              "\"handoff\":{\"count\":%lf,\"mean_us\":%lf,\"p50_us\":%lf,\"p99_us\":%lf", &h.count,
              &h.mean_us, &h.p50_us, &h.p99_us);
  return h;
}

std::vector<std::pair<std::string, std::string>> EngineKeysFromEnv() {
  std::vector<std::pair<std::string, std::string>> out;
  const char* env = std::getenv("NJ_CONC_ENGINE");
  if (env == nullptr) return out;
  std::stringstream in(env);
  for (std::string kv; std::getline(in, kv, ',');) {
    size_t eq = kv.find('=');
    if (eq != std::string::npos) out.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return out;
}

Result<ModeRun> RunMode(BenchContext& ctx, const std::string& shape, const std::string& mode,
                        const RateSchedule& schedule) {
  const std::string lib = ctx.options().examples_dir;
  DeploymentSpec spec;
  spec.name = shape + "-" + mode;
  spec.engine_keys = EngineKeysFromEnv();
  const char* coef_env = std::getenv("NJ_CONC_COEF");
  const double coef = coef_env ? std::atof(coef_env) : 0;
  spec.functions = {
      {"bench_stage", lib + "/libbench_stage.so", 2, 32, 0, mode, 0, coef},
      {"bench_spin", lib + "/libbench_spin.so", 2, 32, 0, mode, 0, coef},
  };
  auto d = Deployment::Start(ctx.options().nightjar_bin, ctx.options().work_dir, spec);
  if (!d.ok()) return d.status();
  Deployment* dep = d->get();

  // Warm up: reach a steady pool at half the schedule's mean rate before measuring.
  {
    ConstantRate warm(schedule.MeanRate() * 0.5, 1.0);
    LoadGenOptions o;
    o.host = dep->host();
    o.port = dep->port();
    o.path = "/function/bench_stage";
    o.body = std::to_string(kSpinUs);
    o.schedule = &warm;
    o.min_achieved_fraction = 0;
    (void)RunOpenLoop(o);
  }

  ModeRun out;
  std::atomic<bool> done{false};
  const int64_t t0 = MonotonicNowNs();
  std::thread sampler([&] {
    auto client = HttpClient::Connect(dep->host(), dep->port());
    auto last_cpu = ProcessTreeCpuUs(dep->pid());
    int64_t last_cpu_ns = MonotonicNowNs();
    const double cores = static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN));
    for (int tick = 0; !done.load(); ++tick) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      int64_t now = MonotonicNowNs();
      TracePoint p{static_cast<double>(now - t0) / 1e9, {}, {}};
      if (client.ok() && ReadTrace(&*client, &p)) out.trace.push_back(p);
      // CPU every 200 ms: /proc's clock tick is 10 ms, so shorter windows are too coarse.
      if (tick % 4 == 3 && last_cpu.ok()) {
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
  o.seed = 42;                  // the same arrivals for both modes
  o.min_achieved_fraction = 0;  // overload during bursts is the point; report it
  o.max_spin_ns = 0;            // no CPU taken from the server under test (2 vCPUs: see loadgen.h)
  auto load = RunOpenLoop(o);
  done = true;
  sampler.join();
  out.handoff = ReadHandoff(dep->host(), dep->port());
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

Status WriteTracePlot(BenchContext& ctx, const std::string& shape, const ModeRun& managed,
                      const ModeRun& unmanaged) {
  const std::string dir = ctx.options().work_dir;
  auto write = [&](const std::string& mode, const ModeRun& m) {
    std::ofstream f(dir + "/" + shape + "-" + mode + ".dat");
    f << "# t_s  stage: queued target running blocked idle  spin: queued target running "
         "blocked idle\n";
    for (auto& p : m.trace) {
      f << p.t_s << " " << p.stage.queued << " " << p.stage.target << " " << p.stage.running << " "
        << p.stage.blocked << " " << p.stage.idle << " " << p.spin.queued << " " << p.spin.target
        << " " << p.spin.running << " " << p.spin.blocked << " " << p.spin.idle << "\n";
    }
    std::ofstream c(dir + "/" + shape + "-cpu-" + mode + ".dat");
    for (auto& p : m.cpu) c << p.t_s << " " << 100 * p.util << "\n";
  };
  write("managed", managed);
  write("unmanaged", unmanaged);
  const std::string png = ctx.options().out_dir + "/" + shape + "_traces.png";
  const std::string m = dir + "/" + shape + "-managed.dat";
  const std::string u = dir + "/" + shape + "-unmanaged.dat";
  std::ofstream gp(dir + "/" + shape + ".gp");
  gp << "set terminal pngcairo noenhanced size 1200,1200 font ',10'\n"
     << "set output '" << png << "'\n"
     << "set multiplot layout 4,1 title '" << shape << " load on bench_stage -> 2 x bench_spin "
     << kSpinUs << " us (GET /status every 50 ms)'\n"
     << "set xlabel 'time (s)'\nset grid\nset key outside right\n"
     << "set title 'managed: bench_spin'\n"
     << "plot '" << m << "' u 1:7 w l t 'queued', '' u 1:8 w l t 'target', "
     << "'' u 1:9 w l t 'running', '' u 1:11 w l t 'idle'\n"
     << "set title 'managed: bench_stage (its calls wait on children: blocked)'\n"
     << "plot '" << m << "' u 1:2 w l t 'queued', '' u 1:4 w l t 'running', "
     << "'' u 1:5 w l t 'blocked', '' u 1:6 w l t 'idle'\n"
     << "set title 'unmanaged: bench_spin'\n"
     << "plot '" << u << "' u 1:7 w l t 'queued', '' u 1:9 w l t 'running', "
     << "'' u 1:11 w l t 'idle'\n"
     << "set title 'CPU utilisation of the nightjar process tree (% of all cores)'\n"
     << "set yrange [0:110]\n"
     << "plot '" << dir << "/" << shape << "-cpu-managed.dat' u 1:2 w l t 'managed', '" << dir
     << "/" << shape << "-cpu-unmanaged.dat' u 1:2 w l t 'unmanaged'\n"
     << "unset multiplot\n";
  gp.close();
  std::string cmd =
      "gnuplot " + dir + "/" + shape + ".gp > " + dir + "/" + shape + "-gnuplot.log 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    return Internal("gnuplot failed; see " + dir + "/" + shape + "-gnuplot.log");
  }
  ctx.Log("wrote " + png);
  return Status::Ok();
}

}  // namespace

Result<double> StageCapacity(BenchContext& ctx) {
  static double cached = 0;
  if (cached > 0) return cached;
  if (const char* fixed = std::getenv("NJ_CONC_CAPACITY");
      fixed != nullptr && std::atof(fixed) > 0) {
    cached = std::atof(fixed);
    ctx.Log("stage capacity fixed by NJ_CONC_CAPACITY: " + std::to_string(cached) + " calls/s");
    return cached;
  }
  const std::string lib = ctx.options().examples_dir;
  DeploymentSpec spec;
  spec.name = "stage-capacity";
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
  if (done.load() == 0) return Internal("stage load: no call succeeded while measuring capacity");
  cached = static_cast<double>(done.load()) / secs;
  ctx.Log("stage capacity ~" + std::to_string(static_cast<int>(cached)) + " calls/s");
  return cached;
}

Status RunStageShape(BenchContext& ctx, const std::string& shape, const RateSchedule& schedule) {
  const char* rep_env = std::getenv("NJ_CONC_REPEATS");
  const int repeats = std::max(1, rep_env ? std::atoi(rep_env) : 1);
  const char* names[2] = {"managed", "unmanaged"};
  ModeRun last[2];
  // Per mode, every repeat's latency histogram: the one reported is the median repeat's
  // (by p99), so one repeat wrecked by a neighbour's burst of load does not decide the
  // result on a shared machine; the spread across repeats goes beside it.
  std::vector<Histogram> runs[2];
  double completed[2] = {0, 0}, in_window[2] = {0, 0}, seconds[2] = {0, 0}, errors[2] = {0, 0};
  std::vector<double> p99s[2], cpu_means[2], cpu_spreads[2];
  Handoff handoff[2];
  for (int r = 0; r < repeats; ++r) {
    for (int i = 0; i < 2; ++i) {
      auto run = RunMode(ctx, shape, names[i], schedule);
      if (!run.ok()) return run.status();
      const LoadGenResult& l = run->load;
      runs[i].push_back(l.latency);
      completed[i] += static_cast<double>(l.completed);
      in_window[i] += l.achieved_rate * l.duration_s;
      seconds[i] += l.duration_s;
      errors[i] += static_cast<double>(l.errors + l.unanswered);
      p99s[i].push_back(static_cast<double>(l.latency.ValueAtPercentile(99)) / 1e3);
      double mean, spread;
      MeanAndSpread(run->cpu, &mean, &spread);
      cpu_means[i].push_back(mean);
      cpu_spreads[i].push_back(spread);
      handoff[i] = run->handoff;
      ctx.Log(shape + "." + names[i] + " run " + std::to_string(r + 1) + "/" +
              std::to_string(repeats) + ": p50 " +
              std::to_string(l.latency.ValueAtPercentile(50) / 1000) + " us, p99 " +
              std::to_string(l.latency.ValueAtPercentile(99) / 1000) + " us, CPU " +
              std::to_string(static_cast<int>(100 * mean)) + "%, spin hand-off mean " +
              std::to_string(run->handoff.mean_us) + " us");
      last[i] = std::move(*run);
    }
  }
  for (int i = 0; i < 2; ++i) {
    auto avg = [](const std::vector<double>& v) {
      double s = 0;
      for (double x : v) s += x;
      return v.empty() ? 0 : s / static_cast<double>(v.size());
    };
    const std::string name = shape + "." + names[i];
    std::vector<size_t> order(runs[i].size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return runs[i][a].ValueAtPercentile(99) < runs[i][b].ValueAtPercentile(99);
    });
    const Histogram& median = runs[i][order[order.size() / 2]];
    // Calls answered within the schedule's duration, per second: a mode that falls behind
    // shows here (every call is answered eventually, within the drain time).
    const double throughput = in_window[i] / seconds[i];
    ctx.results().AddLatency(name, median,
                             {{"offered_rate", schedule.MeanRate()},
                              {"errors", errors[i]},
                              {"repeats", static_cast<double>(repeats)},
                              {"p99_min_us", *std::min_element(p99s[i].begin(), p99s[i].end())},
                              {"p99_max_us", *std::max_element(p99s[i].begin(), p99s[i].end())},
                              {"cpu_util_mean", avg(cpu_means[i])},
                              {"cpu_util_stddev", avg(cpu_spreads[i])}});
    ctx.results().AddValue(
        name + ".throughput", "calls/s", throughput,
        {{"offered_rate", schedule.MeanRate()}, {"answered_rate", completed[i] / seconds[i]}});
    ctx.results().AddValue(name + ".handoff", "us", handoff[i].mean_us,
                           {{"count", handoff[i].count},
                            {"p50_us", handoff[i].p50_us},
                            {"p99_us", handoff[i].p99_us}});
    ctx.Log(name + ": throughput " + std::to_string(throughput) + "/s, CPU " +
            std::to_string(100 * avg(cpu_means[i])) + "%");
  }
  return WriteTracePlot(ctx, shape, last[0], last[1]);
}

}  // namespace nightjar::bench
