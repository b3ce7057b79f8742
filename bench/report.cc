// Report table and target ratios (see report.h). The targets come from GitHub issues #4,
// #8, #9, #12 and #15 and DESIGN.md §1; they are reported, never asserted.
#include "report.h"

#include <cmath>
#include <cstdio>
#include <functional>
#include <vector>

namespace nightjar::bench {

namespace {

struct Target {
  const char* name;   // result name of the ratio / quantity
  const char* label;  // how the table spells it out
  const char* unit;
  bool at_most;  // true: value <= bound is met; false: value >= bound
  double bound;
  std::function<double(const Results&, bool*)> compute;
};

double Get(const Results& r, const char* name, double Measurement::*field, bool* ok) {
  const Measurement* x = r.Find(name);
  if (x == nullptr) {
    *ok = false;
    return 0;
  }
  return x->*field;
}

const std::vector<Target>& Targets() {
  static const std::vector<Target> targets = {
      {"ratio.internal_p50_over_pipe_p50", "internal nop p50 / pipe RTT p50", "x", true, 1.6,
       [](const Results& r, bool* ok) {
         return Get(r, "internal.nop", &Measurement::p50, ok) /
                Get(r, "floor.pipe_rtt_1k", &Measurement::p50, ok);
       }},
      {"ratio.internal_p999_over_pipe_p999", "internal nop p99.9 / pipe RTT p99.9", "x", true, 2.0,
       [](const Results& r, bool* ok) {
         return Get(r, "internal.nop", &Measurement::p999, ok) /
                Get(r, "floor.pipe_rtt_1k", &Measurement::p999, ok);
       }},
      {"ratio.grpc_p50_over_channel_p50", "gRPC UDS RTT p50 / channel RTT p50", "x", false, 3.0,
       [](const Results& r, bool* ok) {
         return Get(r, "floor.grpc_uds_rtt_1k", &Measurement::p50, ok) /
                Get(r, "channel.rtt_1k", &Measurement::p50, ok);
       }},
      {"ratio.external_p50_over_tcp_p50", "external nop p50 / TCP RTT p50", "x", true, 2.5,
       [](const Results& r, bool* ok) {
         return Get(r, "external.nop.seq", &Measurement::p50, ok) /
                Get(r, "floor.tcp_rtt_1k", &Measurement::p50, ok);
       }},
      {"target.cpu_internal_nop", "CPU per internal nop call", "us", true, 15.0,
       [](const Results& r, bool* ok) {
         return Get(r, "cpu.internal.nop", &Measurement::value, ok);
       }},
      {"target.internal_max_rate", "internal nop calls/s", "/s", false, 50000,
       [](const Results& r, bool* ok) {
         return Get(r, "internal.nop.max_rate", &Measurement::value, ok);
       }},
      // Issue #16: direct dispatch (2 hops) against one pipe round trip and the 3-hop floor,
      // and its CPU against a round trip's.
      {"ratio.internal_p50_over_pipe_p50_direct", "internal nop p50 / pipe RTT p50 (2-hop)", "x",
       true, 1.1,
       [](const Results& r, bool* ok) {
         return Get(r, "internal.nop", &Measurement::p50, ok) /
                Get(r, "floor.pipe_rtt_1k", &Measurement::p50, ok);
       }},
      {"ratio.internal_p50_over_3hop_floor_p50_direct", "internal nop p50 / 3-hop pipe floor p50",
       "x", true, 0.8,
       [](const Results& r, bool* ok) {
         return Get(r, "internal.nop", &Measurement::p50, ok) /
                Get(r, "floor.pipe_3hop_1k", &Measurement::p50, ok);
       }},
      {"ratio.cpu_internal_nop_over_pipe_rtt_cpu", "CPU per internal nop / per pipe RTT", "x",
       true, 1.3,
       [](const Results& r, bool* ok) {
         const Measurement* pipe = r.Find("floor.pipe_rtt_1k");
         auto it = pipe ? pipe->extra.find("cpu_us_per_rtt") : decltype(pipe->extra)::const_iterator{};
         if (pipe == nullptr || it == pipe->extra.end() || it->second <= 0) {
           *ok = false;
           return 0.0;
         }
         return Get(r, "cpu.internal.nop", &Measurement::value, ok) / it->second;
       }},
      // Informational twin: the 3-hop path measured in the same run.
      {"ratio.internal_p50_3hop_over_direct", "internal nop p50: 3-hop / 2-hop", "x", false, 1.0,
       [](const Results& r, bool* ok) {
         return Get(r, "internal.nop.3hop", &Measurement::p50, ok) /
                Get(r, "internal.nop", &Measurement::p50, ok);
       }},
      // Issue #9: a Python caller's internal call costs at most half again a C++ caller's.
      {"ratio.python_internal_p50_over_cpp_internal_p50", "Python->C++ internal nop p50 / C++ p50",
       "x", true, 1.5,
       [](const Results& r, bool* ok) {
         return Get(r, "internal.nop.python", &Measurement::p50, ok) /
                Get(r, "internal.nop", &Measurement::p50, ok);
       }},
      // Issue #10: the same for a Node.js caller.
      {"ratio.node_internal_p50_over_cpp_internal_p50", "Node->C++ internal nop p50 / C++ p50",
       "x", true, 1.5,
       [](const Results& r, bool* ok) {
         return Get(r, "internal.nop.node", &Measurement::p50, ok) /
                Get(r, "internal.nop", &Measurement::p50, ok);
       }},
      // Issue #12: a container costs the call path (the same pipes) almost nothing.
      {"ratio.container_internal_p50_over_process_p50", "container / process internal nop p50", "x",
       true, 1.05,
       [](const Results& r, bool* ok) {
         return Get(r, "internal.nop.container", &Measurement::p50, ok) /
                Get(r, "internal.nop", &Measurement::p50, ok);
       }},
      // Issue #11: the same for a Go caller.
      {"ratio.go_internal_p50_over_cpp_internal_p50", "Go->C++ internal nop p50 / C++ p50", "x",
       true, 1.5,
       [](const Results& r, bool* ok) {
         return Get(r, "internal.nop.go", &Measurement::p50, ok) /
                Get(r, "internal.nop", &Measurement::p50, ok);
       }},
      // Issue #15: metrics and the per-call breakdown on cost at most 3% against off.
      {"ratio.obs_internal_p50_on_over_off", "internal nop p50: observability on / off", "x", true,
       1.03,
       [](const Results& r, bool* ok) {
         return Get(r, "obs.internal.nop.on", &Measurement::p50, ok) /
                Get(r, "obs.internal.nop.off", &Measurement::p50, ok);
       }},
      {"ratio.obs_external_rate_on_over_off", "external nop calls/s: observability on / off", "x",
       false, 0.97,
       [](const Results& r, bool* ok) {
         return Get(r, "obs.external.nop.rate.on_over_off", &Measurement::value, ok);
       }},
      // Informational twin of the rate: the CPU each external call costs, on / off.
      {"ratio.obs_external_cpu_on_over_off", "external nop CPU/call: observability on / off", "x",
       true, 1.03,
       [](const Results& r, bool* ok) {
         return Get(r, "cpu.obs.external.nop.on_over_off", &Measurement::value, ok);
       }},
      // Issue #8: managed concurrency must win bursts and cost almost nothing when steady.
      {"ratio.burst_managed_p99_over_unmanaged", "burst: managed p99 / unmanaged p99", "x", true,
       0.7,
       [](const Results& r, bool* ok) {
         return Get(r, "burst.managed", &Measurement::p99, ok) /
                Get(r, "burst.unmanaged", &Measurement::p99, ok);
       }},
      {"ratio.burst_managed_throughput_over_unmanaged", "burst: managed / unmanaged throughput",
       "x", false, 0.95,
       [](const Results& r, bool* ok) {
         return Get(r, "burst.managed.throughput", &Measurement::value, ok) /
                Get(r, "burst.unmanaged.throughput", &Measurement::value, ok);
       }},
      {"ratio.steady_managed_p99_over_unmanaged", "steady: managed p99 / unmanaged p99", "x", true,
       1.05,
       [](const Results& r, bool* ok) {
         return Get(r, "steady.managed", &Measurement::p99, ok) /
                Get(r, "steady.unmanaged", &Measurement::p99, ok);
       }},
  };
  return targets;
}

std::string Fmt(double v) {
  char buf[32];
  if (v >= 1000) {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  } else {
    std::snprintf(buf, sizeof(buf), "%.3g", v);
  }
  return buf;
}

bool IsLoadStep(const Measurement& r) { return r.name.rfind("external.nop.load.", 0) == 0; }

}  // namespace

void AddRatios(Results* results) {
  for (const Target& t : Targets()) {
    bool ok = true;
    const double v = t.compute(*results, &ok);
    if (!ok || !std::isfinite(v)) continue;
    const bool met = t.at_most ? v <= t.bound : v >= t.bound;
    results->AddValue(t.name, t.unit, std::round(v * 1000) / 1000,
                      {{t.at_most ? "target_max" : "target_min", t.bound}, {"met", met ? 1 : 0}});
  }
  // Informational: Nightjar over the floor of its own architecture (same hops, no Nightjar
  // code; bench/floors.cc). No targets.
  auto info = [&](const char* name, const char* num, const char* den) {
    const Measurement* a = results->Find(num);
    const Measurement* b = results->Find(den);
    if (a && b && b->p50 > 0) {
      results->AddValue(name, "x", std::round(a->p50 / b->p50 * 1000) / 1000);
    }
  };
  info("ratio.internal_p50_over_3hop_floor_p50", "internal.nop", "floor.pipe_3hop_1k");
  info("ratio.external_p50_over_tcp_2hop_floor_p50", "external.nop.seq", "floor.tcp_2hop_1k");
  info("ratio.3hop_floor_p50_over_pipe_p50", "floor.pipe_3hop_1k", "floor.pipe_rtt_1k");
  info("ratio.tcp_2hop_floor_p50_over_tcp_p50", "floor.tcp_2hop_1k", "floor.tcp_rtt_1k");
  // The external path of a containerized function; no target.
  info("ratio.container_external_p50_over_process_p50", "external.nop.container",
       "external.nop.seq");
  // channel / gRPC spelled the other way round too (the issue asks for "channel ÷ gRPC").
  const Measurement* ch = results->Find("channel.rtt_1k");
  const Measurement* g = results->Find("floor.grpc_uds_rtt_1k");
  if (ch && g && g->p50 > 0) {
    results->AddValue("ratio.channel_p50_over_grpc_p50", "x",
                      std::round(ch->p50 / g->p50 * 1000) / 1000, {{"target_max", 1.0 / 3}});
  }
}

void PrintReport(const Results& results, const std::string& header, std::ostream& out) {
  char line[256];
  out << "\n" << header << "\n\n";
  std::snprintf(line, sizeof(line), "%-34s %9s %9s %9s %9s %9s\n", "latency (us)", "p50", "p99",
                "p99.9", "mean", "samples");
  out << line;
  for (const Measurement& r : results.all()) {
    if (!r.is_latency() || IsLoadStep(r)) continue;
    std::snprintf(line, sizeof(line), "%-34s %9s %9s %9s %9s %9llu\n", r.name.c_str(),
                  Fmt(r.p50).c_str(), Fmt(r.p99).c_str(), Fmt(r.p999).c_str(), Fmt(r.mean).c_str(),
                  static_cast<unsigned long long>(r.samples));
    out << line;
  }

  bool any_load = false;
  for (const Measurement& r : results.all()) {
    if (!IsLoadStep(r)) continue;
    if (!any_load) {
      std::snprintf(line, sizeof(line), "\n%-34s %9s %9s %9s %9s %9s %8s %s\n",
                    "open-loop external nop", "offered/s", "achieved", "p50", "p99", "p99.9",
                    "cpu-us", "");
      out << line;
      any_load = true;
    }
    auto extra = [&](const char* k) {
      auto it = r.extra.find(k);
      return it == r.extra.end() ? 0.0 : it->second;
    };
    std::snprintf(line, sizeof(line), "%-34s %9s %9s %9s %9s %9s %8s %s\n", r.name.c_str(),
                  Fmt(extra("offered_rate")).c_str(), Fmt(extra("achieved_rate")).c_str(),
                  Fmt(r.p50).c_str(), Fmt(r.p99).c_str(), Fmt(r.p999).c_str(),
                  Fmt(extra("cpu_us_per_call")).c_str(),
                  extra("sustained") > 0 ? "" : (extra("rejected") > 0 ? "rejected" : "over SLO"));
    out << line;
  }

  out << "\n";
  std::snprintf(line, sizeof(line), "%-34s %12s %s\n", "value", "", "unit");
  out << line;
  for (const Measurement& r : results.all()) {
    if (r.is_latency() || r.name.rfind("ratio.", 0) == 0 || r.name.rfind("target.", 0) == 0) {
      continue;
    }
    std::snprintf(line, sizeof(line), "%-34s %12s %s\n", r.name.c_str(), Fmt(r.value).c_str(),
                  r.unit.c_str());
    out << line;
  }

  out << "\nTargets (same-run ratios; reported, never asserted)\n";
  std::snprintf(line, sizeof(line), "%-40s %12s %13s  %s\n", "", "measured", "target", "status");
  out << line;
  for (const Target& t : Targets()) {
    const Measurement* r = results.Find(t.name);
    std::string bound = std::string(t.at_most ? "<= " : ">= ") + Fmt(t.bound) + " " + t.unit;
    if (r == nullptr) {
      std::snprintf(line, sizeof(line), "%-40s %12s %13s  %s\n", t.label, "n/a", bound.c_str(),
                    "not measured");
    } else {
      const bool met = r->extra.count("met") && r->extra.at("met") > 0;
      std::snprintf(line, sizeof(line), "%-40s %12s %13s  %s\n", t.label,
                    (Fmt(r->value) + " " + t.unit).c_str(), bound.c_str(), met ? "met" : "MISSED");
    }
    out << line;
  }
  if (const Measurement* r = results.Find("ratio.channel_p50_over_grpc_p50")) {
    std::snprintf(line, sizeof(line), "%-40s %12s %13s  %s\n", "channel RTT p50 / gRPC RTT p50",
                  (Fmt(r->value) + " x").c_str(), "<= 0.333 x", "(same target, inverted)");
    out << line;
  }
  if (const Measurement* r = results.Find("ratio.container_external_p50_over_process_p50")) {
    std::snprintf(line, sizeof(line), "%-40s %12s %13s  %s\n",
                  "container / process external nop p50", (Fmt(r->value) + " x").c_str(), "",
                  "(informational)");
    out << line;
  }
  out << "\nArchitecture floors (informational; same hops with no Nightjar code, p50 ratios)\n";
  const struct {
    const char* name;
    const char* label;
  } infos[] = {
      {"ratio.internal_p50_over_3hop_floor_p50", "internal nop / 3-hop pipe floor"},
      {"ratio.3hop_floor_p50_over_pipe_p50", "3-hop pipe floor / pipe RTT"},
      {"ratio.external_p50_over_tcp_2hop_floor_p50", "external nop / TCP+2-pipe-hop floor"},
      {"ratio.tcp_2hop_floor_p50_over_tcp_p50", "TCP+2-pipe-hop floor / TCP RTT"},
  };
  for (const auto& i : infos) {
    if (const Measurement* r = results.Find(i.name)) {
      std::snprintf(line, sizeof(line), "%-40s %12s\n", i.label, (Fmt(r->value) + " x").c_str());
      out << line;
    }
  }
  out << "\n";
}

}  // namespace nightjar::bench
