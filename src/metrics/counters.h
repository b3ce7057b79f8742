// Lock-free counting for the call path (issue #15): a relaxed-atomic Counter and a
// fixed-bucket Histogram whose Observe() is two relaxed fetch_adds and a search over a
// handful of integer bounds. Neither allocates or locks after construction, so any number
// of engine and gateway I/O threads may count at once; a scrape reads them with relaxed
// loads and turns them into prometheus-cpp MetricFamily values (exposition.h).
//
// Why not prometheus::Counter / prometheus::Histogram: prometheus-cpp 1.0.1's
// Histogram::Observe takes a std::mutex, and its Counter::Increment is a compare-exchange
// loop on an atomic<double>; bench/metrics_bench.cc measures both against these types
// (docs/operations.md, "Cost of counting").
//
// Thread rule: every method may be called from any thread at any time. A snapshot taken
// while others count is not atomic across buckets; Snapshot() derives the count from the
// buckets so that the +Inf bucket always equals _count.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

#include "prometheus/client_metric.h"

namespace nightjar::metrics {

class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Upper bounds (inclusive, nanoseconds) of the latency buckets every Nightjar duration
// histogram uses: 25 us .. 10 s. Nightjar's calls take tens of microseconds to
// milliseconds (docs/performance.md), below the first bucket of Prometheus's defaults
// (5 ms); the upper end matches them (10 s) so OpenFaaS dashboards still read it.
std::span<const int64_t> LatencyBoundsNs();

class Histogram {
 public:
  // `bounds_ns`: strictly increasing upper bounds; the span must outlive the histogram.
  // At most kMaxBuckets bounds (CHECKed).
  explicit Histogram(std::span<const int64_t> bounds_ns = LatencyBoundsNs());

  // Records one sample of `ns` nanoseconds (negative counts as 0).
  void Observe(int64_t ns) {
    if (ns < 0) ns = 0;
    size_t i = 0;
    while (i < bounds_.size() && ns > bounds_[i]) ++i;  // <= 20 compares, no branch misses
    buckets_[i].fetch_add(1, std::memory_order_relaxed);  // i == size(): the +Inf bucket
    sum_ns_.fetch_add(static_cast<uint64_t>(ns), std::memory_order_relaxed);
  }

  // Cumulative buckets in seconds, as Prometheus exposes them (le="+Inf" last).
  prometheus::ClientMetric::Histogram Snapshot() const;
  uint64_t count() const;

  static constexpr size_t kMaxBuckets = 31;

 private:
  std::span<const int64_t> bounds_;
  std::atomic<uint64_t> buckets_[kMaxBuckets + 1] = {};
  std::atomic<uint64_t> sum_ns_{0};
};

}  // namespace nightjar::metrics
