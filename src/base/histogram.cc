// Log-linear histogram (see histogram.h for the bucket layout).
#include "base/histogram.h"

#include <algorithm>
#include <bit>

namespace nightjar {

namespace {
constexpr int kHalfBits = Histogram::kSubBucketBits - 1;  // 1024 sub-buckets per octave
// Octave index of a value: 0 for values below 2048, else log2(value) - 10.
int OctaveOf(uint64_t value) {
  return 63 - std::countl_zero(value | (Histogram::kSubBucketCount - 1)) - kHalfBits;
}
int OctaveOfIndex(size_t index) {
  return index < Histogram::kSubBucketCount ? 0 : static_cast<int>(index >> kHalfBits) - 1;
}
}  // namespace

Histogram::Histogram() : counts_(BucketCount(), 0) {}

size_t Histogram::BucketCount() {
  return static_cast<size_t>(kMaxMagnitude - kSubBucketBits + 2) << kHalfBits;
}

size_t Histogram::IndexOf(uint64_t value) {
  const int octave = OctaveOf(value);
  return (static_cast<size_t>(octave) << kHalfBits) + static_cast<size_t>(value >> octave);
}

uint64_t Histogram::LowestEquivalent(size_t index) {
  const int octave = OctaveOfIndex(index);
  const uint64_t sub = index - (static_cast<size_t>(octave) << kHalfBits);
  return sub << octave;
}

uint64_t Histogram::HighestEquivalent(size_t index) {
  const int octave = OctaveOfIndex(index);
  const uint64_t sub = index - (static_cast<size_t>(octave) << kHalfBits);
  return ((sub + 1) << octave) - 1;
}

void Histogram::Record(uint64_t value, uint64_t count) {
  if (count == 0) return;
  if (value > kMaxTrackable) {
    value = kMaxTrackable;
    overflow_ += count;
  }
  counts_[IndexOf(value)] += count;
  total_ += count;
  sum_ += static_cast<double>(value) * static_cast<double>(count);
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void Histogram::Merge(const Histogram& other) {
  if (other.total_ == 0) return;
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
  overflow_ += other.overflow_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void Histogram::Reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = overflow_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
  sum_ = 0;
}

uint64_t Histogram::ValueAtPercentile(double percentile) const {
  if (total_ == 0) return 0;
  percentile = std::clamp(percentile, 0.0, 100.0);
  // Rank of the wanted sample, 1-based; at least the first sample.
  uint64_t rank = static_cast<uint64_t>(percentile / 100.0 * static_cast<double>(total_) + 0.5);
  rank = std::clamp<uint64_t>(rank, 1, total_);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(HighestEquivalent(i), max_);
  }
  return max_;
}

std::vector<Histogram::CdfPoint> Histogram::Cdf(size_t max_points) const {
  std::vector<CdfPoint> all;
  if (total_ == 0) return all;
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0) continue;
    seen += counts_[i];
    all.push_back({std::min(HighestEquivalent(i), max_),
                   static_cast<double>(seen) / static_cast<double>(total_)});
  }
  if (max_points < 2 || all.size() <= max_points) return all;
  // Keep a point when the CDF moved by a step of the body, or when the tail (1 - fraction)
  // shrank by a quarter: plots of the body and of the tail on a log scale both stay smooth.
  std::vector<CdfPoint> thin;
  const double body_step = 1.0 / static_cast<double>(max_points / 2);
  double last_fraction = -1.0;
  for (size_t i = 0; i < all.size(); ++i) {
    const double f = all[i].fraction;
    const bool body = f - last_fraction >= body_step;
    const bool tail = (1.0 - f) <= 0.75 * (1.0 - last_fraction);
    if (body || tail || i + 1 == all.size()) {
      thin.push_back(all[i]);
      last_fraction = f;
    }
  }
  return thin;
}

}  // namespace nightjar
