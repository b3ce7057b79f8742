// Scenarios: the units of the benchmark harness. A scenario measures something and adds
// named results to the run (results.h); the report and the plots read them by name.
//
// Adding a scenario is one file plus one registration line:
//   1. bench/my_scenario.cc defines  Status RunMyScenario(BenchContext& ctx)  in
//      namespace nightjar::bench, using ctx to size its runs (ctx.Count / ctx.Seconds) and
//      to reach the deployment under test (ctx.Deploy), and ctx.results() for its output;
//   2. one X(...) line in NIGHTJAR_BENCH_SCENARIOS below.
// (bench/CMakeLists.txt compiles every bench/*.cc, so no build change is needed.)
//
// Thread rule: scenarios run one after another on the harness's only thread.
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "deployment.h"
#include "results.h"

namespace nightjar::bench {

struct BenchOptions {
  bool quick = false;               // fewer samples and shorter runs; same result names
  std::string out_dir;              // latest.json and the plots go here
  std::string nightjar_bin;         // the release `nightjar` binary
  std::string examples_dir;         // lib<function>.so of examples/cpp (bench_* included)
  std::string python_examples_dir;  // *.py of examples/python, in the source tree
  std::string node_examples_dir;    // *.js of examples/node, in the source tree
  std::string go_examples_dir;      // binaries of examples/go, in the build tree
  std::string grpc_bin;             // nightjar_bench_grpc ("" when gRPC was not found)
  std::string work_dir;             // scratch space (configs, IPC roots, logs)
  std::vector<std::string> only;    // scenario names to run; empty = all
  bool verbose = false;

  // Whether this run includes scenario `name` (--only).
  bool Selects(const std::string& name) const {
    return only.empty() || std::find(only.begin(), only.end(), name) != only.end();
  }
};

// The standard deployment's spec: the bench functions of every language (context.cc).
DeploymentSpec StandardSpec(const BenchOptions& o);

// What a scenario sees of the harness. Owns the deployment under test, which is started
// on first use and shared by the scenarios that follow (so workers stay warm).
class BenchContext {
 public:
  explicit BenchContext(BenchOptions options);
  ~BenchContext();

  const BenchOptions& options() const { return options_; }
  bool quick() const { return options_.quick; }
  Results& results() { return results_; }

  // Sample counts and durations: the full value, or the quick one under --quick.
  size_t Count(size_t full, size_t quick) const { return options_.quick ? quick : full; }
  double Seconds(double full, double quick) const { return options_.quick ? quick : full; }

  // The standard deployment (bench functions, see deployment.cc), started on first call.
  // Fails when `nightjar up` does not come up (its log tail is in the message).
  Result<Deployment*> Deploy();
  // Stops the standard deployment (a scenario that wants a fresh one, or the end).
  void StopDeployment();

  // Progress line on stderr ("bench: ...").
  void Log(const std::string& line) const;

 private:
  BenchOptions options_;
  Results results_;
  std::unique_ptr<Deployment> deployment_;
};

// The registry. X(name, RunFunction, "what it measures"); the list order is the run order.
#define NIGHTJAR_BENCH_SCENARIOS(X)                                                         \
  X("floors", RunFloors, "1 KB pipe, TCP-loopback and message-channel ping-pong")           \
  X("grpc", RunGrpcFloor, "gRPC C++ unary over a Unix socket, 1 KB")                        \
  X("internal", RunInternal, "internal calls: nop, chains, fan-out, payloads, CPU, rate")   \
  X("internal-3hop", RunInternal3Hop, "the same on the 3-hop path (direct_dispatch: false)") \
  X("python", RunPython, "Python nop: internal both ways, external, one process's rate")    \
  X("node", RunNode, "Node.js nop: internal both ways, external, one process's rate")       \
  X("go", RunGo, "Go nop: internal both ways, external, one process's rate")                \
  X("h2", RunH2, "nop over HTTP/2 and gRPC through the gateway vs HTTP/1.1; h2load rate")    \
  X("observability", RunObservability, "metrics, Server-Timing on vs off: nop latency, rate") \
  X("container", RunContainer, "nop in an OCI container: internal, external, start time")   \
  X("external", RunExternal, "external HTTP calls: sequential, open-loop sweep, CPU, rate") \
  X("burst", RunBurst, "managed vs unmanaged concurrency under bursty open-loop load")      \
  X("steady", RunSteady, "managed vs unmanaged concurrency at a steady 0.8 x capacity")

#define NIGHTJAR_BENCH_DECLARE(name, fn, what) Status fn(BenchContext& ctx);
NIGHTJAR_BENCH_SCENARIOS(NIGHTJAR_BENCH_DECLARE)
#undef NIGHTJAR_BENCH_DECLARE

struct Scenario {
  const char* name;
  Status (*run)(BenchContext&);
  const char* what;
};
const std::vector<Scenario>& AllScenarios();

}  // namespace nightjar::bench
