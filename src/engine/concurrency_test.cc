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
  ConcurrencyEstimator e(1.0, 300, 2, 16);
  EXPECT_EQ(e.Target(kSec), 2u);
  EXPECT_EQ(e.Rate(kSec), 0.0);
}

TEST(ConcurrencyEstimatorTest, ConvergesToRateTimesRunningTime) {
  // 2000 calls/s x 4 ms = 8 concurrent calls (Little's law).
  ConcurrencyEstimator e(1.0, 300, 1, 64);
  int64_t t = Feed(&e, kSec, 2000, 3 * kSec, 4 * kMs);
  EXPECT_NEAR(e.Rate(t), 2000, 2000 * 0.05);
  EXPECT_NEAR(e.RunningTime(), 0.004, 1e-6);
  EXPECT_EQ(e.Target(t), 8u);
}

TEST(ConcurrencyEstimatorTest, CoefficientScalesTheTarget) {
  ConcurrencyEstimator e(1.5, 300, 1, 64);
  int64_t t = Feed(&e, kSec, 1000, 3 * kSec, 8 * kMs);
  EXPECT_EQ(e.Target(t), 12u);
}

TEST(ConcurrencyEstimatorTest, FollowsAStepUpWithinASecond) {
  ConcurrencyEstimator e(1.0, 300, 1, 64);
  int64_t t = Feed(&e, kSec, 500, 3 * kSec, 10 * kMs);  // target 5
  EXPECT_EQ(e.Target(t), 5u);
  t = Feed(&e, t, 2000, kSec, 10 * kMs);  // step to 20
  EXPECT_GE(e.Target(t), 19u);            // 95% of the way after 1 s (tau = 300 ms)
  EXPECT_LE(e.Target(t), 20u);
}

TEST(ConcurrencyEstimatorTest, FollowsAStepDownWithinASecond) {
  ConcurrencyEstimator e(1.0, 300, 1, 64);
  int64_t t = Feed(&e, kSec, 2000, 3 * kSec, 10 * kMs);  // target 20
  EXPECT_EQ(e.Target(t), 20u);
  t = Feed(&e, t, 200, kSec, 10 * kMs);  // step to 2
  EXPECT_LE(e.Target(t), 3u);
  // And with no arrivals at all the rate decays by itself.
  EXPECT_EQ(e.Target(t + 3 * kSec), 1u);
}

TEST(ConcurrencyEstimatorTest, DoesNotChaseASingleBurst) {
  ConcurrencyEstimator e(1.0, 300, 1, 64);
  int64_t t = Feed(&e, kSec, 1000, 3 * kSec, 4 * kMs);  // target 4
  for (int i = 0; i < 100; ++i) e.OnArrival(t);  // 100 calls at one instant
  // The burst is 10% of a second's traffic: it moves the rate by 100 / tau (a third, not
  // ten times the load), and has faded out after a couple of seconds of normal load.
  EXPECT_LE(e.Target(t), 6u);
  t = Feed(&e, t, 1000, 2 * kSec, 4 * kMs);
  EXPECT_EQ(e.Target(t), 4u);
}

TEST(ConcurrencyEstimatorTest, TracksARamp) {
  ConcurrencyEstimator e(1.0, 300, 1, 256);
  int64_t t = kSec;
  for (int rate = 100; rate <= 3000; rate += 100) t = Feed(&e, t, rate, 200 * kMs, 10 * kMs);
  // At the end of the ramp the estimate lags the 3000/s rate by about tau x slope.
  double lag = 0.3 * (100 / 0.2);
  EXPECT_NEAR(e.Rate(t), 3000 - lag, 3000 * 0.1);
}

TEST(ConcurrencyEstimatorTest, NeverTargetsBelowAFractionalDemand) {
  // 420 calls/s x 10 ms = 4.2 concurrent calls: 4 slots would let the queue grow forever.
  ConcurrencyEstimator e(1.0, 300, 1, 64);
  int64_t t = Feed(&e, kSec, 420, 3 * kSec, 10 * kMs);
  EXPECT_EQ(e.Target(t), 5u);
}

TEST(ConcurrencyEstimatorTest, ClampsToMinAndMax) {
  ConcurrencyEstimator e(1.0, 300, 3, 6);
  int64_t t = Feed(&e, kSec, 100, 2 * kSec, kMs);  // 0.1 concurrent
  EXPECT_EQ(e.Target(t), 3u);
  t = Feed(&e, t, 5000, 2 * kSec, 10 * kMs);  // 50 concurrent
  EXPECT_EQ(e.Target(t), 6u);
}

TEST(ConcurrencyEstimatorTest, RunningTimeFollowsAChangeInWork) {
  ConcurrencyEstimator e(1.0, 300, 1, 64);
  int64_t t = Feed(&e, kSec, 1000, 2 * kSec, 2 * kMs);
  EXPECT_NEAR(e.RunningTime(), 0.002, 1e-5);
  t = Feed(&e, t, 1000, kSec, 6 * kMs);
  EXPECT_NEAR(e.RunningTime(), 0.006, 0.006 * 0.05);
}

}  // namespace
}  // namespace nightjar::engine
