// EngineMetrics' lock-free pieces: (caller, callee) counters and outcome counting.
#include "engine/engine_metrics.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>
#include <vector>

namespace nightjar::engine {
namespace {

TEST(CallPairCountersTest, CountsEachPairApartFromManyThreads) {
  CallPairCounters c;
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < 4; ++t) {
    threads.emplace_back([&c] {
      for (int i = 0; i < 10'000; ++i) {
        c.Add(1, 2);
        c.Add(2, 1);
        c.Add(static_cast<uint32_t>(3 + i % 50), 7);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::map<std::pair<uint32_t, uint32_t>, uint64_t> got;
  for (const auto& p : c.Snapshot()) got[{p.caller, p.callee}] = p.count;
  EXPECT_EQ(got.size(), 52u);
  EXPECT_EQ((got[{1, 2}]), 40'000u);
  EXPECT_EQ((got[{2, 1}]), 40'000u);
  EXPECT_EQ((got[{3, 7}]), 800u);
  EXPECT_EQ(c.overflow(), 0u);
}

TEST(CallPairCountersTest, PairsBeyondCapacityGoToOverflow) {
  CallPairCounters c;
  const uint32_t n = 70;  // 70 x 70 = 4900 pairs > kCapacity (4096)
  for (uint32_t a = 1; a <= n; ++a) {
    for (uint32_t b = 1; b <= n; ++b) c.Add(a, b);
  }
  EXPECT_EQ(c.Snapshot().size(), CallPairCounters::kCapacity);
  EXPECT_EQ(c.overflow(), n * n - CallPairCounters::kCapacity);
}

TEST(FunctionMetricsTest, AnOutOfRangeStatusCountsAsUnknown) {
  FunctionMetrics m;
  m.CountCall(proto::CallStatus::kOk);
  m.CountCall(proto::CallStatus::kTimeout);
  m.CountCall(static_cast<proto::CallStatus>(999));  // a misbehaving worker's status
  EXPECT_EQ(m.calls[0].value(), 1u);
  EXPECT_EQ(m.calls[3].value(), 1u);
  EXPECT_EQ(m.calls[kOutcomes - 1].value(), 1u);
  EXPECT_STREQ(kOutcomeNames[kOutcomes - 1], "unknown");
}

}  // namespace
}  // namespace nightjar::engine
