// nightjar_metrics_bench: the cost of counting one call (docs/operations.md, "Cost of
// counting"). Measures, per operation, prometheus-cpp 1.0.1's Counter::Increment and
// Histogram::Observe against src/metrics/counters.h's relaxed-atomic Counter and
// lock-free bucket Histogram, with 1 and with N threads updating the same metric at once
// (the engine's and gateway's I/O threads count into shared per-function metrics).
//
//   nightjar_metrics_bench [--ops N] [--threads N]    (defaults: 2000000 ops, 2 threads)
//
// Output: one line per (metric, threads): ns per operation (wall time of the slowest
// thread / its operations, best of 5 repeats), and the final count (5 x threads x ops) as a
// check that nothing was lost.
#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "metrics/counters.h"

namespace {

using Clock = std::chrono::steady_clock;

// Runs op(thread, i) for i < ops on `threads` threads started together, kRepeats times;
// ns per op of the slowest thread, best repeat (the machine is shared: the best repeat is
// the one least disturbed by other processes).
constexpr int kRepeats = 5;

template <typename Op>
double Measure(int threads, long ops, Op op) {
  double best = 1e18;
  for (int rep = 0; rep < kRepeats; ++rep) {
    std::vector<std::thread> ts;
    std::vector<double> ns(static_cast<size_t>(threads));
    std::atomic<int> ready{0};
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&, t] {
        ready.fetch_add(1);
        while (ready.load() < threads) {
        }
        const auto start = Clock::now();
        for (long i = 0; i < ops; ++i) op(t, i);
        ns[static_cast<size_t>(t)] =
            std::chrono::duration<double, std::nano>(Clock::now() - start).count() / ops;
      });
    }
    for (auto& t : ts) t.join();
    double worst = 0;
    for (double v : ns) worst = std::max(worst, v);
    best = std::min(best, worst);
  }
  return best;
}

// Sample latencies spread over the buckets (nanoseconds), as calls would be.
int64_t SampleNs(long i) { return 20'000 + (i * 7919) % 3'000'000; }

}  // namespace

int main(int argc, char** argv) {
  long ops = 2'000'000;
  int max_threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--ops") == 0) ops = std::atol(argv[i + 1]);
    if (std::strcmp(argv[i], "--threads") == 0) max_threads = std::atoi(argv[i + 1]);
  }
  prometheus::Histogram::BucketBoundaries bounds;
  for (int64_t b : nightjar::metrics::LatencyBoundsNs()) bounds.push_back(b / 1e9);
  std::printf("%-40s %8s %10s %14s\n", "operation", "threads", "ns/op", "final count");
  for (int threads = 1; threads <= max_threads; threads = threads == 1 ? max_threads : threads + 1) {
    {
      prometheus::Counter c;
      const double ns = Measure(threads, ops, [&](int, long) { c.Increment(); });
      std::printf("%-40s %8d %10.2f %14.0f\n", "prometheus::Counter::Increment", threads, ns,
                  c.Value());
    }
    {
      nightjar::metrics::Counter c;
      const double ns = Measure(threads, ops, [&](int, long) { c.Add(); });
      std::printf("%-40s %8d %10.2f %14llu\n", "nightjar::metrics::Counter::Add", threads, ns,
                  static_cast<unsigned long long>(c.value()));
    }
    {
      prometheus::Histogram h(bounds);
      const double ns = Measure(threads, ops, [&](int, long i) { h.Observe(SampleNs(i) / 1e9); });
      std::printf("%-40s %8d %10.2f %14llu\n", "prometheus::Histogram::Observe", threads, ns,
                  static_cast<unsigned long long>(h.Collect().histogram.sample_count));
    }
    {
      nightjar::metrics::Histogram h;
      const double ns = Measure(threads, ops, [&](int, long i) { h.Observe(SampleNs(i)); });
      std::printf("%-40s %8d %10.2f %14llu\n", "nightjar::metrics::Histogram::Observe", threads,
                  ns, static_cast<unsigned long long>(h.count()));
    }
    if (threads == max_threads) break;
  }
  return 0;
}
