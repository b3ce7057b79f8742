// BenchContext, the standard deployment and the scenario registry (see scenario.h).
#include <iostream>

#include "scenario.h"

namespace nightjar::bench {

// The functions every scenario may call. Pools are sized so that no benchmark waits for a
// worker to start: nop serves up to 16 outstanding calls (bench_rate windows), bench_chain
// holds one worker per level of a depth-4 chain plus one spare. The Python nop keeps all
// its slots in one runtime process (max_workers == slots_per_process), so its maximum rate
// is one process's (bench/runtime_calls.cc); so do the Node.js and Go nops. c-nop is nop (same
// library, same pool) in an OCI container (bench/container_calls.cc); it is there only when
// the run includes the container scenario and the host can run containers, so that other
// runs neither pay for a container nor fail where runc cannot work.
DeploymentSpec StandardSpec(const BenchOptions& o) {
  auto lib = [&](const std::string& name) { return o.examples_dir + "/lib" + name + ".so"; };
  auto py = [&](const std::string& handler) { return o.python_examples_dir + "/" + handler; };
  auto js = [&](const std::string& handler) { return o.node_examples_dir + "/" + handler; };
  auto go = [&](const std::string& binary) { return o.go_examples_dir + "/" + binary; };
  DeploymentSpec spec;
  spec.name = "standard";
  spec.io_threads = 1;
  constexpr int64_t kLong = 600000;  // drivers run many calls inside one call
  spec.functions = {
      // nop is also the gRPC service of bench/grpc/echo.proto: external.nop.grpc calls the
      // same function and pool as external.nop.* (bench/h2_calls.cc).
      {.name = "nop", .handler = lib("nop"), .min_workers = 16, .max_workers = 16,
       .grpc = "nightjar.bench.Echo"},
      {"echo", lib("echo"), 4, 8, 0, "", 0},
      {"bench_caller", lib("bench_caller"), 1, 2, kLong, "", 0},
      {"bench_chain", lib("bench_chain"), 5, 8, kLong, "", 0},
      {"bench_rate", lib("bench_rate"), 1, 2, kLong, "", 0},
      {.name = "py-nop",
       .handler = py("nop.py:handle"),
       .min_workers = 8,
       .max_workers = 8,
       .runtime = "python",
       .slots_per_process = 8},
      {.name = "py-bench_caller",
       .handler = py("bench_caller.py:handle"),
       .min_workers = 1,
       .max_workers = 2,
       .timeout_ms = kLong,
       .runtime = "python"},
      {.name = "node-nop",
       .handler = js("nop.js"),
       .min_workers = 8,
       .max_workers = 8,
       .runtime = "node",
       .slots_per_process = 8},
      {.name = "node-bench_caller",
       .handler = js("bench_caller.js"),
       .min_workers = 1,
       .max_workers = 2,
       .timeout_ms = kLong,
       .runtime = "node"},
      {.name = "go-nop",
       .handler = go("nop"),
       .min_workers = 8,
       .max_workers = 8,
       .runtime = "go",
       .slots_per_process = 8},
      {.name = "go-bench_caller",
       .handler = go("bench_caller"),
       .min_workers = 1,
       .max_workers = 2,
       .timeout_ms = kLong,
       .runtime = "go"},
  };
  if (o.Selects("container") && CanRunContainers().ok()) {
    spec.functions.push_back({.name = "c-nop",
                              .handler = lib("nop"),
                              .min_workers = 16,
                              .max_workers = 16,
                              .isolation = "container"});
  }
  return spec;
}

BenchContext::BenchContext(BenchOptions options) : options_(std::move(options)) {}

BenchContext::~BenchContext() { StopDeployment(); }

Result<Deployment*> BenchContext::Deploy() {
  if (deployment_) return deployment_.get();
  Log("starting nightjar up (" + options_.nightjar_bin + ")");
  auto d = Deployment::Start(options_.nightjar_bin, options_.work_dir, StandardSpec(options_));
  if (!d.ok()) return d.status();
  deployment_ = std::move(*d);
  Log("nightjar up serving on " + deployment_->host() + ":" + std::to_string(deployment_->port()) +
      " (pid " + std::to_string(deployment_->pid()) + ")");
  return deployment_.get();
}

void BenchContext::StopDeployment() {
  if (!deployment_) return;
  if (Status st = deployment_->Stop(); !st.ok()) Log("warning: " + st.message());
  deployment_.reset();
}

void BenchContext::Log(const std::string& line) const { std::cerr << "bench: " << line << "\n"; }

const std::vector<Scenario>& AllScenarios() {
#define NIGHTJAR_BENCH_ENTRY(name, fn, what) Scenario{name, fn, what},
  static const std::vector<Scenario> all = {NIGHTJAR_BENCH_SCENARIOS(NIGHTJAR_BENCH_ENTRY)};
#undef NIGHTJAR_BENCH_ENTRY
  return all;
}

}  // namespace nightjar::bench
