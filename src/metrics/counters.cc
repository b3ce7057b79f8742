// Counter and Histogram; see counters.h.
#include "metrics/counters.h"

#include <limits>

#include "base/check.h"

namespace nightjar::metrics {

std::span<const int64_t> LatencyBoundsNs() {
  static constexpr int64_t kBounds[] = {
      25'000,        50'000,        100'000,       250'000,       500'000,
      1'000'000,     2'500'000,     5'000'000,     10'000'000,    25'000'000,
      50'000'000,    100'000'000,   250'000'000,   500'000'000,   1'000'000'000,
      2'500'000'000, 5'000'000'000, 10'000'000'000};
  return kBounds;
}

Histogram::Histogram(std::span<const int64_t> bounds_ns) : bounds_(bounds_ns) {
  CHECK(bounds_.size() <= kMaxBuckets, "too many histogram buckets");
  for (size_t i = 1; i < bounds_.size(); ++i) {
    CHECK(bounds_[i - 1] < bounds_[i], "histogram bounds must increase strictly");
  }
}

uint64_t Histogram::count() const {
  uint64_t n = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) n += buckets_[i].load(std::memory_order_relaxed);
  return n;
}

prometheus::ClientMetric::Histogram Histogram::Snapshot() const {
  prometheus::ClientMetric::Histogram h;
  uint64_t cumulative = 0;
  h.bucket.reserve(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    prometheus::ClientMetric::Bucket b;
    b.cumulative_count = cumulative;
    b.upper_bound = i < bounds_.size() ? static_cast<double>(bounds_[i]) / 1e9
                                       : std::numeric_limits<double>::infinity();
    h.bucket.push_back(b);
  }
  h.sample_count = cumulative;
  h.sample_sum = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return h;
}

}  // namespace nightjar::metrics
