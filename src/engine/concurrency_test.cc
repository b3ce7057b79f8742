// ConcurrencyEstimator under synthetic arrival traces driven by an explicit clock.
#include "engine/concurrency.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

namespace nightjar::engine {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000'000'000;

// Feeds calls at `rate` per second for `duration_ns`, each running `running_ns`.
int64_t Feed(ConcurrencyEstimator* e, int64_t start_ns, double rate, int64_t duration_ns,
             int64_t running_ns) {
  const int64_t gap = static_cast<int64_t>(1e9 / rate);
  int64_t t = start_ns;
  for (; t < start_ns + duration_ns; t += gap) {
    e->OnArrival(t);
    e->OnCompletion(t, running_ns);
  }
  return t;
}

TEST(ConcurrencyEstimatorTest, StartsAtTheMinimum) {
  ConcurrencyEstimator e(1.0, 300, 2, 16, 64);
  EXPECT_EQ(e.Target(kSec), 2u);
  EXPECT_EQ(e.Rate(kSec), 0.0);
}

TEST(ConcurrencyEstimatorTest, ConvergesToRateTimesRunningTime) {
  // 2000 calls/s x 4 ms = 8 concurrent calls (Little's law).
  ConcurrencyEstimator e(1.0, 300, 1, 64, 64);
  int64_t t = Feed(&e, kSec, 2000, 3 * kSec, 4 * kMs);
  EXPECT_NEAR(e.Rate(t), 2000, 2000 * 0.05);
  EXPECT_NEAR(e.RunningTime(), 0.004, 1e-6);
  EXPECT_EQ(e.Target(t), 8u);
}

TEST(ConcurrencyEstimatorTest, CoefficientScalesTheTarget) {
  ConcurrencyEstimator e(1.5, 300, 1, 64, 64);
  int64_t t = Feed(&e, kSec, 1000, 3 * kSec, 8 * kMs);
  EXPECT_EQ(e.Target(t), 12u);
}

TEST(ConcurrencyEstimatorTest, FollowsAStepUpWithinASecond) {
  ConcurrencyEstimator e(1.0, 300, 1, 64, 64);
  int64_t t = Feed(&e, kSec, 500, 3 * kSec, 10 * kMs);  // target 5
  EXPECT_EQ(e.Target(t), 5u);
  t = Feed(&e, t, 2000, kSec, 10 * kMs);  // step to 20
  EXPECT_GE(e.Target(t), 19u);            // 95% of the way after 1 s (tau = 300 ms)
  EXPECT_LE(e.Target(t), 20u);
}

TEST(ConcurrencyEstimatorTest, FollowsAStepDownWithinASecond) {
  ConcurrencyEstimator e(1.0, 300, 1, 64, 64);
  int64_t t = Feed(&e, kSec, 2000, 3 * kSec, 10 * kMs);  // target 20
  EXPECT_EQ(e.Target(t), 20u);
  t = Feed(&e, t, 200, kSec, 10 * kMs);  // step to 2
  EXPECT_LE(e.Target(t), 3u);
  // And with no arrivals at all the rate decays by itself.
  EXPECT_EQ(e.Target(t + 3 * kSec), 1u);
}

TEST(ConcurrencyEstimatorTest, DoesNotChaseASingleBurst) {
  ConcurrencyEstimator e(1.0, 300, 1, 64, 64);
  int64_t t = Feed(&e, kSec, 1000, 3 * kSec, 4 * kMs);  // target 4
  for (int i = 0; i < 100; ++i) e.OnArrival(t);  // 100 calls at one instant
  // The burst is 10% of a second's traffic: it moves the rate by 100 / tau (a third, not
  // ten times the load), and has faded out after a couple of seconds of normal load.
  EXPECT_LE(e.Target(t), 6u);
  t = Feed(&e, t, 1000, 2 * kSec, 4 * kMs);
  EXPECT_EQ(e.Target(t), 4u);
}

TEST(ConcurrencyEstimatorTest, TracksARamp) {
  ConcurrencyEstimator e(1.0, 300, 1, 256, 64);
  int64_t t = kSec;
  for (int rate = 100; rate <= 3000; rate += 100) t = Feed(&e, t, rate, 200 * kMs, 10 * kMs);
  // At the end of the ramp the estimate lags the 3000/s rate by about tau x slope.
  double lag = 0.3 * (100 / 0.2);
  EXPECT_NEAR(e.Rate(t), 3000 - lag, 3000 * 0.1);
}

TEST(ConcurrencyEstimatorTest, NeverTargetsBelowAFractionalDemand) {
  // 420 calls/s x 10 ms = 4.2 concurrent calls: 4 slots would let the queue grow forever.
  ConcurrencyEstimator e(1.0, 300, 1, 64, 64);
  int64_t t = Feed(&e, kSec, 420, 3 * kSec, 10 * kMs);
  EXPECT_EQ(e.Target(t), 5u);
}

TEST(ConcurrencyEstimatorTest, ClampsToMinAndMax) {
  ConcurrencyEstimator e(1.0, 300, 3, 6, 64);
  int64_t t = Feed(&e, kSec, 100, 2 * kSec, kMs);  // 0.1 concurrent
  EXPECT_EQ(e.Target(t), 3u);
  t = Feed(&e, t, 5000, 2 * kSec, 10 * kMs);  // 50 concurrent
  EXPECT_EQ(e.Target(t), 6u);
}

TEST(ConcurrencyEstimatorTest, RunningTimeFollowsAChangeInWork) {
  ConcurrencyEstimator e(1.0, 300, 1, 64, 64);
  int64_t t = Feed(&e, kSec, 1000, 2 * kSec, 2 * kMs);
  EXPECT_NEAR(e.RunningTime(), 0.002, 1e-5);
  t = Feed(&e, t, 1000, kSec, 6 * kMs);
  EXPECT_NEAR(e.RunningTime(), 0.006, 0.006 * 0.05);
}

}  // namespace
}  // namespace nightjar::engine

namespace nightjar::engine {
namespace {

TEST(ConcurrencyLawTest, EachWaitingCallAddsASlot) {
  // 1000/s x 4 ms = 4 slots for arrivals; 3 calls waiting: 3 more, to drain them.
  ConcurrencyEstimator e(1.0, 300, 1, 64, 64);
  int64_t t = Feed(&e, kSec, 1000, 3 * kSec, 4 * kMs);
  EXPECT_EQ(e.Target(t, 0), 4u);
  EXPECT_EQ(e.Target(t, 3), 7u);
  // Before anything is known (no rate, no running time) the queue alone sets the target.
  ConcurrencyEstimator cold(1.0, 300, 1, 64, 64);
  EXPECT_EQ(cold.Target(kSec, 0), 1u);
  EXPECT_EQ(cold.Target(kSec, 5), 5u);
}

TEST(ConcurrencyLawTest, CoresBoundCpuBoundCalls) {
  // The same backlog on a 2-core and a 16-core machine: CPU-bound calls (no off-CPU time
  // measured) get at most one slot per core.
  for (uint32_t cores : {2u, 16u}) {
    ConcurrencyEstimator e(1.0, 300, 1, 64, cores);
    int64_t t = kSec;
    for (int i = 0; i < 1000; ++i, t += kMs) {
      e.OnArrival(t);
      e.OnCompletion(t, 2 * kMs, 0, 0);  // measured: never off the CPU by choice
    }
    EXPECT_DOUBLE_EQ(e.CpuShare(), 1.0);
    EXPECT_EQ(e.CpuBound(), cores);
    EXPECT_EQ(e.Target(t, 100), cores);
    EXPECT_EQ(e.Target(t, 0), 2u);  // Little's law still rules below the bound
  }
}

TEST(ConcurrencyLawTest, OffCpuTimeRaisesTheBound) {
  // Calls that spend 3/4 of their time blocked (I/O) want a CPU a quarter of the time:
  // 2 cores fit 8 of them.
  ConcurrencyEstimator e(1.0, 300, 1, 64, 2);
  int64_t t = kSec;
  for (int i = 0; i < 1000; ++i, t += kMs) e.OnCompletion(t, 4 * kMs, 0, 3 * kMs);
  EXPECT_NEAR(e.CpuShare(), 0.25, 1e-9);
  EXPECT_EQ(e.CpuBound(), 8u);
  EXPECT_EQ(e.Target(t, 100), 8u);
  // A call that only sleeps is bounded by max_workers, not by the cores.
  ConcurrencyEstimator sleeper(1.0, 300, 1, 64, 2);
  for (int i = 0; i < 100; ++i, t += kMs) sleeper.OnCompletion(t, 100 * kMs, 0, 100 * kMs);
  EXPECT_DOUBLE_EQ(sleeper.CpuShare(), 1.0 / 64);
  EXPECT_EQ(sleeper.Target(t, 1000), 64u);
}

TEST(ConcurrencyLawTest, WaitingOnChildrenIsWaiting) {
  // A fan-out parent: 10 ms in all, 9 ms of it waiting on its children, 1 ms on the CPU:
  // it wants a CPU a tenth of the time, like a call blocked 90% in I/O.
  ConcurrencyEstimator e(1.0, 300, 1, 64, 4);
  int64_t t = kSec;
  for (int i = 0; i < 100; ++i, t += kMs) e.OnCompletion(t, 10 * kMs, 9 * kMs, 0);
  EXPECT_NEAR(e.CpuShare(), 0.1, 1e-9);
  EXPECT_EQ(e.CpuBound(), 40u);
}

TEST(ConcurrencyLawTest, ContentionDoesNotRaiseTheBound) {
  // Under contention a CPU-bound call takes longer (it waits for a CPU), but the worker
  // reports no more off-CPU time: the share stays 1 and the bound stays at the cores,
  // instead of rising with the very contention it should prevent.
  ConcurrencyEstimator e(1.0, 300, 1, 64, 2);
  int64_t t = kSec;
  for (int i = 0; i < 100; ++i, t += kMs) e.OnCompletion(t, kMs, 0, 0);
  for (int i = 0; i < 100; ++i, t += kMs) e.OnCompletion(t, 4 * kMs, 0, 0);  // 4x slower
  EXPECT_DOUBLE_EQ(e.CpuShare(), 1.0);
  EXPECT_EQ(e.CpuBound(), 2u);
}

TEST(ConcurrencyLawTest, UntrustedReportsAreClamped) {
  ConcurrencyEstimator e(1.0, 300, 1, 64, 2);
  // Off-CPU time longer than the call itself (a lying worker) reads as "always off".
  e.OnCompletion(kSec, kMs, 0, 50 * kMs);
  EXPECT_DOUBLE_EQ(e.CpuShare(), 1.0 / 64);
  EXPECT_EQ(e.CpuBound(), 64u * 2);
  EXPECT_EQ(e.Target(kSec, 1'000'000), 64u);  // still max_workers at most
}

TEST(ConcurrencyLawTest, TheFloorIsMinWorkersButNeverAboveTheBound) {
  ConcurrencyEstimator e(1.0, 300, 4, 64, 2);  // min_workers 4 on 2 cores
  EXPECT_EQ(e.Target(kSec, 0), 2u);
  ConcurrencyEstimator wide(1.0, 300, 4, 64, 16);
  EXPECT_EQ(wide.Target(kSec, 0), 4u);
}

}  // namespace
}  // namespace nightjar::engine
