#include "base/histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace nightjar {
namespace {

TEST(HistogramTest, EmptyReportsZeros) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
  EXPECT_EQ(h.ValueAtPercentile(50), 0u);
  EXPECT_TRUE(h.Cdf().empty());
}

TEST(HistogramTest, SmallValuesAreExact) {
  for (uint64_t v : {0ull, 1ull, 7ull, 1000ull, 2047ull}) {
    EXPECT_EQ(Histogram::LowestEquivalent(Histogram::IndexOf(v)), v);
    EXPECT_EQ(Histogram::HighestEquivalent(Histogram::IndexOf(v)), v);
  }
}

TEST(HistogramTest, BucketsAreContiguousAndIncreasing) {
  for (size_t i = 1; i < Histogram::BucketCount(); ++i) {
    ASSERT_EQ(Histogram::LowestEquivalent(i), Histogram::HighestEquivalent(i - 1) + 1) << i;
    ASSERT_EQ(Histogram::IndexOf(Histogram::LowestEquivalent(i)), i);
    ASSERT_EQ(Histogram::IndexOf(Histogram::HighestEquivalent(i)), i);
  }
  EXPECT_EQ(Histogram::IndexOf(Histogram::kMaxTrackable), Histogram::BucketCount() - 1);
}

TEST(HistogramTest, ThreeSignificantDigits) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = rng() % Histogram::kMaxTrackable;
    const size_t idx = Histogram::IndexOf(v);
    const uint64_t lo = Histogram::LowestEquivalent(idx);
    const uint64_t hi = Histogram::HighestEquivalent(idx);
    ASSERT_LE(lo, v);
    ASSERT_GE(hi, v);
    // Bucket width relative to its values: at most 1/1024 < 0.1%.
    ASSERT_LE(static_cast<double>(hi - lo), static_cast<double>(lo) / 1024.0 + 1.0) << v;
  }
}

TEST(HistogramTest, PercentilesOfUniformValues) {
  Histogram h;
  for (uint64_t v = 1; v <= 100000; ++v) h.Record(v * 1000);  // 1 us .. 100 ms in ns
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_EQ(h.max(), 100000000u);
  EXPECT_NEAR(h.mean(), 50000.5 * 1000, 1.0);
  auto near = [](uint64_t got, double want) {
    EXPECT_GE(static_cast<double>(got), want) << got;
    EXPECT_LE(static_cast<double>(got), want * 1.001) << got;
  };
  near(h.ValueAtPercentile(50), 50000e3);
  near(h.ValueAtPercentile(99), 99000e3);
  near(h.ValueAtPercentile(99.9), 99900e3);
  EXPECT_EQ(h.ValueAtPercentile(100), h.max());
  EXPECT_EQ(h.ValueAtPercentile(0), Histogram::HighestEquivalent(Histogram::IndexOf(1000)));
}

TEST(HistogramTest, PercentileNeverExceedsMax) {
  Histogram h;
  h.Record(123456789);
  EXPECT_EQ(h.ValueAtPercentile(50), 123456789u);
  EXPECT_EQ(h.ValueAtPercentile(99.99), 123456789u);
}

TEST(HistogramTest, RecordWithCountAndMerge) {
  Histogram a, b;
  a.Record(10, 3);
  b.Record(5000, 1);
  b.Record(20);
  a.Merge(b);
  EXPECT_EQ(a.count(), 5u);
  EXPECT_EQ(a.min(), 10u);
  EXPECT_EQ(a.max(), 5000u);
  EXPECT_EQ(a.ValueAtPercentile(60), 10u);
  EXPECT_EQ(a.ValueAtPercentile(80), 20u);
  EXPECT_EQ(a.ValueAtPercentile(100), 5000u);
  a.Reset();
  EXPECT_EQ(a.count(), 0u);
  EXPECT_EQ(a.ValueAtPercentile(50), 0u);
}

TEST(HistogramTest, HugeValuesClampAndCountAsOverflow) {
  Histogram h;
  h.Record(Histogram::kMaxTrackable + 12345);
  h.Record(7);
  EXPECT_EQ(h.overflow(), 1u);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.max(), Histogram::kMaxTrackable);
}

TEST(HistogramTest, CdfIsMonotonicAndEndsAtOne) {
  Histogram h;
  std::mt19937_64 rng(7);
  std::exponential_distribution<double> exp(1.0 / 20000.0);
  for (int i = 0; i < 200000; ++i) h.Record(static_cast<uint64_t>(exp(rng)));
  const auto cdf = h.Cdf(500);
  ASSERT_FALSE(cdf.empty());
  EXPECT_LT(cdf.size(), 1000u);
  EXPECT_DOUBLE_EQ(cdf.back().fraction, 1.0);
  EXPECT_EQ(cdf.back().value, h.max());
  for (size_t i = 1; i < cdf.size(); ++i) {
    EXPECT_GT(cdf[i].value, cdf[i - 1].value);
    EXPECT_GT(cdf[i].fraction, cdf[i - 1].fraction);
  }
  // The tail is kept: some point lies beyond the 99.9th percentile.
  EXPECT_GT(cdf[cdf.size() - 2].fraction, 0.999);
}

}  // namespace
}  // namespace nightjar
