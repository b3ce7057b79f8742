// nightjar_bench: the benchmark harness (GitHub issue #4; method in docs/performance.md).
//
//   nightjar_bench [--quick] [--out DIR] [--only a,b] [--list]
//                  [--nightjar PATH] [--examples DIR] [--python-examples DIR]
//                  [--node-examples DIR] [--go-examples DIR]
//                  [--grpc-bin PATH] [--work DIR]
//
// Runs the registered scenarios (scenario.h) in order, then prints the report table with
// the target ratios, writes DIR/latest.json and draws DIR/*.png with gnuplot. Exit code 0
// when every scenario ran (whatever the numbers say: targets are reported, not asserted),
// 1 when a scenario or an output failed, 2 on bad arguments.
#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "plots.h"
#include "report.h"
#include "scenario.h"
#include "util.h"

namespace nightjar::bench {
namespace {

std::string SelfDir() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "." : p.parent_path().string();
}

std::string Machine() {
  std::string model = "unknown CPU";
  std::ifstream cpu("/proc/cpuinfo");
  for (std::string line; std::getline(cpu, line);) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  utsname u{};
  ::uname(&u);
  std::ostringstream s;
  s << model << ", " << ::sysconf(_SC_NPROCESSORS_ONLN) << " vCPUs, "
    << (::sysconf(_SC_PHYS_PAGES) * ::sysconf(_SC_PAGESIZE) >> 30) << " GiB, Linux " << u.release;
  return s.str();
}

int Main(int argc, char** argv) {
  BenchOptions o;
  const std::string self = SelfDir();
  o.nightjar_bin = self + "/../nightjar";
  o.examples_dir = self + "/../examples/cpp";
  // Python functions are deployed from their sources, not from a build.
  o.python_examples_dir = std::string(NIGHTJAR_SOURCE_DIR) + "/examples/python";
  o.node_examples_dir = std::string(NIGHTJAR_SOURCE_DIR) + "/examples/node";
  // Go functions are binaries the build makes beside the C++ examples.
  o.go_examples_dir = self + "/../examples/go";
  o.grpc_bin = self + "/nightjar_bench_grpc";
  o.out_dir = std::string(NIGHTJAR_SOURCE_DIR) + "/bench/results";
  bool list = false;
  std::string only;

  CLI::App app{"Nightjar benchmark harness: floors, internal and external calls, CPU cost"};
  app.add_flag("--quick", o.quick, "fewer samples and shorter runs (same result names)");
  app.add_option("--out", o.out_dir, "directory for latest.json and the plots");
  app.add_option("--only", only, "comma-separated scenarios to run (default: all)");
  app.add_flag("--list", list, "list the scenarios and exit");
  app.add_option("--nightjar", o.nightjar_bin, "the nightjar binary (release build)");
  app.add_option("--examples", o.examples_dir, "directory of lib<function>.so");
  app.add_option("--python-examples", o.python_examples_dir,
                 "directory of the Python functions (nop.py, bench_caller.py)");
  app.add_option("--node-examples", o.node_examples_dir,
                 "directory of the Node.js functions (nop.js, bench_caller.js)");
  app.add_option("--go-examples", o.go_examples_dir,
                 "directory of the built Go functions (nop, bench_caller)");
  app.add_option("--grpc-bin", o.grpc_bin, "nightjar_bench_grpc (for the gRPC floor)");
  app.add_option("--work", o.work_dir, "scratch directory (default: a fresh one under /tmp)");
  app.add_flag("-v,--verbose", o.verbose, "more progress output");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (list) {
    for (const Scenario& s : AllScenarios()) std::cout << s.name << "\t" << s.what << "\n";
    return 0;
  }
  std::stringstream only_in(only);
  for (std::string name; std::getline(only_in, name, ',');) {
    if (name.empty()) continue;
    bool known = false;
    for (const Scenario& s : AllScenarios()) known |= name == s.name;
    if (!known) {
      std::cerr << "nightjar_bench: unknown scenario \"" << name << "\" (see --list)\n";
      return 2;
    }
    o.only.push_back(name);
  }
  std::error_code ec;
  // Handler paths in the generated config resolve against its directory, not ours.
  o.python_examples_dir = std::filesystem::absolute(o.python_examples_dir, ec).string();
  o.node_examples_dir = std::filesystem::absolute(o.node_examples_dir, ec).string();
  o.go_examples_dir = std::filesystem::absolute(o.go_examples_dir, ec).lexically_normal().string();
  const bool own_work_dir = o.work_dir.empty();
  if (own_work_dir) o.work_dir = "/tmp/nightjar-bench-" + std::to_string(::getpid());
  std::filesystem::create_directories(o.work_dir, ec);
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec) {
    std::cerr << "nightjar_bench: cannot create " << o.out_dir << ": " << ec.message() << "\n";
    return 1;
  }
  for (const std::string& p :
       {o.nightjar_bin, o.examples_dir + "/libbench_caller.so",
        o.python_examples_dir + "/bench_caller.py", o.node_examples_dir + "/bench_caller.js",
        o.go_examples_dir + "/bench_caller"}) {
    if (::access(p.c_str(), R_OK) != 0) {
      std::cerr << "nightjar_bench: missing " << p << " (build the release preset first)\n";
      return 1;
    }
  }

  const std::string mode = o.quick ? "quick" : "full";
  const std::string git = SourceCommit(NIGHTJAR_SOURCE_DIR);
  const std::string machine = Machine();
  const auto t0 = std::chrono::steady_clock::now();
  BenchContext ctx(o);
  bool failed = false;
  for (const Scenario& s : AllScenarios()) {
    if (!o.Selects(s.name)) continue;
    const auto s0 = std::chrono::steady_clock::now();
    ctx.Log(std::string(s.name) + ": " + s.what);
    const Status st = s.run(ctx);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
    if (!st.ok()) {
      ctx.Log(std::string(s.name) + ": FAILED after " + std::to_string(secs) +
              " s: " + st.message());
      failed = true;
    } else {
      ctx.Log(std::string(s.name) + ": done in " + std::to_string(secs) + " s");
    }
  }
  ctx.StopDeployment();

  Results& results = ctx.results();
  AddRatios(&results);
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  results.AddValue("harness.wall_time", "s", std::round(total * 10) / 10);
  const std::string header = "Nightjar benchmark (" + mode + ") -- git " + git + "\n" + machine;
  PrintReport(results, header, std::cout);

  const std::string json = o.out_dir + "/latest.json";
  if (Status st = results.WriteJson(json, git, machine, mode); !st.ok()) {
    std::cerr << "nightjar_bench: " << st.message() << "\n";
    failed = true;
  } else {
    std::cout << "wrote " << json << "\n";
  }
  auto pngs = DrawPlots(results, o.work_dir, o.out_dir, "Nightjar " + mode + " run, " + git);
  if (!pngs.ok()) {
    std::cerr << "nightjar_bench: plots: " << pngs.status().message() << "\n";
    failed = true;
  } else {
    for (const auto& p : *pngs) std::cout << "wrote " << p << "\n";
  }
  if (own_work_dir && !failed) {
    std::filesystem::remove_all(o.work_dir, ec);
  } else {
    std::cerr << "nightjar_bench: logs and scratch files kept in " << o.work_dir << "\n";
  }
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace nightjar::bench

int main(int argc, char** argv) {
  // A peer that closes a connection must surface as EPIPE, not kill the harness.
  ::signal(SIGPIPE, SIG_IGN);
  return nightjar::bench::Main(argc, argv);
}
