// HandoffStats: how long a worker slot idles between two calls it runs back to back (the
// "hand-off gap" of docs/concurrency.md): from the moment the worker wrote the COMPLETE of
// one call to the moment it started the next, which was already waiting for it. Both ends
// are the worker's own CLOCK_MONOTONIC stamps (the COMPLETE's send_ts_ns, and the next
// COMPLETE's send_ts_ns minus its processing_us), so the engine's own delays are inside
// the gap, as they should be.
//
// A coarse log histogram (8 buckets per power of two, ~9% resolution) in 1.3 KiB: enough
// for p50/p99 of a gap, small enough for one per function.
// Thread rule: not synchronized; the owning Dispatcher's lock guards it.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

namespace nightjar::engine {

class HandoffStats {
 public:
  void Record(int64_t gap_ns) {
    if (gap_ns < 0) gap_ns = 0;
    ++count_;
    sum_ns_ += static_cast<double>(gap_ns);
    ++buckets_[Index(gap_ns)];
  }
  uint64_t count() const { return count_; }
  double mean_ns() const { return count_ == 0 ? 0 : sum_ns_ / static_cast<double>(count_); }
  // The upper edge of the bucket holding the percentile (0 when empty).
  double PercentileNs(double p) const {
    if (count_ == 0) return 0;
    const double want = p / 100.0 * static_cast<double>(count_);
    uint64_t seen = 0;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (static_cast<double>(seen) >= want) return UpperEdge(i);
    }
    return UpperEdge(buckets_.size() - 1);
  }

 private:
  static constexpr int kPerOctave = 8;
  static constexpr size_t kBuckets = 8 * 40;  // up to 2^40 ns
  // Bucket 0 holds [0, 1 us); then kPerOctave buckets per power of two above 1 us.
  static size_t Index(int64_t ns) {
    if (ns < 1000) return 0;
    double octaves = std::log2(static_cast<double>(ns) / 1000.0);
    size_t i = 1 + static_cast<size_t>(octaves * kPerOctave);
    return i < kBuckets ? i : kBuckets - 1;
  }
  static double UpperEdge(size_t i) {
    return i == 0 ? 1000.0 : 1000.0 * std::exp2(static_cast<double>(i) / kPerOctave);
  }

  uint64_t count_ = 0;
  double sum_ns_ = 0;
  std::array<uint32_t, kBuckets> buckets_{};
};

}  // namespace nightjar::engine
