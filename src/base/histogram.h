// Histogram: a log-linear latency histogram with 3 significant decimal digits, in the
// style of HdrHistogram. Used by the benchmark harness (bench/) and by anything that
// wants percentiles of many samples without keeping them.
//
// Layout: values 0..2047 each have their own bucket (exact). Above that, every power-of-two
// range [2^k, 2^(k+1)) is split into 1024 equal sub-buckets, so a recorded value is known to
// within 1/1024 (< 0.1%) of itself: 3 significant digits. Values above kMaxTrackable are
// clamped to it (and counted in overflow()). Memory is fixed: ~32 K counters (256 KiB),
// allocated once in the constructor; Record() never allocates.
//
// Units are the caller's (the harness records nanoseconds).
// Thread rule: not synchronized. Record from one thread, or Merge() per-thread histograms.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace nightjar {

class Histogram {
 public:
  static constexpr int kSubBucketBits = 11;  // 2048 sub-buckets
  static constexpr uint64_t kSubBucketCount = 1ull << kSubBucketBits;
  static constexpr uint64_t kSubBucketHalf = kSubBucketCount / 2;  // 1024
  static constexpr int kMaxMagnitude = 40;                         // 2^40 ns ~ 18 minutes
  static constexpr uint64_t kMaxTrackable = (1ull << kMaxMagnitude) - 1;

  Histogram();

  // Adds `count` samples of `value`. Values above kMaxTrackable are clamped. Never fails.
  void Record(uint64_t value, uint64_t count = 1);
  // Adds every sample of `other`. Never fails.
  void Merge(const Histogram& other);
  void Reset();

  uint64_t count() const { return total_; }
  uint64_t overflow() const { return overflow_; }
  // 0 when empty. min/max are exact (kept aside from the buckets).
  uint64_t min() const { return total_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const { return total_ == 0 ? 0.0 : sum_ / static_cast<double>(total_); }

  // The smallest recorded value v such that at least `percentile`% of the samples are <= v,
  // reported as the highest value equivalent to v's bucket (so within 0.1% above it), and
  // never above max(). percentile is clamped to [0, 100]. 0 when empty.
  uint64_t ValueAtPercentile(double percentile) const;

  // One point of the cumulative distribution: `fraction` of the samples are <= `value`.
  struct CdfPoint {
    uint64_t value;
    double fraction;
  };
  // The CDF at the non-empty buckets, in increasing value order. Beyond `max_points` buckets
  // it is thinned to about max_points/2 evenly spaced body points plus log-spaced tail
  // points (each shrinks 1 - fraction by a quarter); the last point (1.0) is always kept.
  std::vector<CdfPoint> Cdf(size_t max_points = 2000) const;

  // Bucket arithmetic, exposed for tests.
  static size_t IndexOf(uint64_t value);
  static uint64_t LowestEquivalent(size_t index);
  static uint64_t HighestEquivalent(size_t index);
  static size_t BucketCount();

 private:
  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
  uint64_t overflow_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  double sum_ = 0;
};

}  // namespace nightjar
