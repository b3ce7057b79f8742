// The Dispatcher's pool policy over time, driven by a synthetic clock: growth toward the
// managed target under a load step, the spawn interval, idle reaping back to min_workers,
// crash-loop back-off, and abandoned (timed-out) calls.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "engine/dispatcher.h"

namespace nightjar::engine {
namespace {

using Admit = Dispatcher::AdmitResult;
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kT0 = 1'000'000 * kMs;

auto AllLive() {
  return [](uint64_t) { return true; };
}

class PoolPolicyTest : public ::testing::Test {
 protected:
  PoolPolicyTest() {
    fn_.name = "f";
    fn_.id = 1;
    fn_.min_workers = 1;
    fn_.max_workers = 16;
    fn_.concurrency = "managed";  // the policy under test (not the default)
    opts_.spawn_interval_ms = 100;
    opts_.idle_timeout_ms = 1000;
    opts_.smoothing_ms = 300;
    opts_.max_crash_backoff_ms = 1000;
    opts_.cores = 64;  // the machine bound is not what these tests are about
  }
  std::shared_ptr<WorkerChannel> NewWorker() {
    ++next_;
    return std::make_shared<WorkerChannel>(nullptr, 1, &loop_, next_, uint16_t(next_));
  }
  // Starts what the policy asks for; new workers say hello at once.
  int StartRequested(Dispatcher* d, int64_t now) {
    int n = d->WorkersToStart(now);
    for (int i = 0; i < n; ++i) {
      auto w = NewWorker();
      d->AddStarting(w);
      Assignment a;
      if (d->OnWorkerFree(w, 0, now, false, AllLive(), &a)) running_.push_back(a);
    }
    return n;
  }
  int Pool(Dispatcher* d, int64_t now) {
    Dispatcher::Stats s = d->GetStats(now);
    return s.starting + s.idle + s.busy;
  }
  // Finishes every running call that has run `service_ms`, handing workers queued calls.
  void Complete(Dispatcher* d, int64_t now, int64_t service_ms) {
    std::vector<Assignment> still;
    for (auto& a : running_) {
      if (now - a.worker->dispatch_ns < service_ms * kMs) {
        still.push_back(a);
        continue;
      }
      Assignment next;
      if (d->OnWorkerFree(a.worker, a.call_id, now, true, AllLive(), &next)) still.push_back(next);
    }
    running_ = std::move(still);
    for (auto& a : d->TakeDispatchable(now, AllLive())) running_.push_back(a);
  }
  // Offers `rate` calls/s of `service_ms` each for `duration_ms`, in 1 ms steps.
  void Run(Dispatcher* d, int64_t* now, int rate, int64_t service_ms, int64_t duration_ms) {
    double carry = 0;
    for (int64_t step = 0; step < duration_ms; ++step, *now += kMs) {
      carry += rate / 1000.0;
      for (; carry >= 1; carry -= 1) {
        Assignment a;
        if (d->Admit(++call_, *now, &a) == Admit::kDispatchNow) running_.push_back(a);
      }
      Complete(d, *now, service_ms);
      StartRequested(d, *now);
    }
  }

  config::FunctionConfig fn_;
  PoolOptions opts_;
  io::EventLoop loop_;
  uint64_t next_ = 0, call_ = 0;
  std::vector<Assignment> running_;
};

TEST_F(PoolPolicyTest, GrowsTowardTheTargetAndShrinksWhenLoadGoes) {
  Dispatcher d(fn_, opts_);
  int64_t now = kT0;
  StartRequested(&d, now);
  ASSERT_EQ(Pool(&d, now), 1);
  // 400 calls/s x 10 ms = 4 concurrent calls (Little's law).
  Run(&d, &now, 400, 10, 3000);
  Dispatcher::Stats s = d.GetStats(now);
  EXPECT_GE(s.target, 3u);
  EXPECT_LE(s.target, 5u);
  EXPECT_GE(Pool(&d, now), 3);
  EXPECT_LE(Pool(&d, now), 6);  // not one worker per queued call
  // Load stops: after the idle timeout only min_workers remain.
  Run(&d, &now, 0, 10, 200);
  int before = Pool(&d, now);
  now += 1001 * kMs;
  ASSERT_EQ(d.GetStats(now).queued, 0u) << "the pool never caught up with the load";
  auto reaped = d.TakeIdleToReap(now);
  EXPECT_EQ(static_cast<int>(reaped.size()), before - 1);
  EXPECT_EQ(Pool(&d, now), 1);
  EXPECT_TRUE(d.TakeIdleToReap(now + 10'000 * kMs).empty());  // never below min_workers
}

TEST_F(PoolPolicyTest, SpawnIntervalLimitsGrowthRate) {
  Dispatcher d(fn_, opts_);
  int64_t now = kT0;
  StartRequested(&d, now);
  // A heavy step: 2000 calls/s x 20 ms wants 40 (capped at 16). Workers may only be
  // requested once per 100 ms, so 500 ms can add at most 5.
  int started = 0;
  for (int i = 0; i < 500; ++i, now += kMs) {
    for (int k = 0; k < 2; ++k) {
      Assignment a;
      if (d.Admit(++call_, now, &a) == Admit::kDispatchNow) running_.push_back(a);
    }
    Complete(&d, now, 20);
    started += StartRequested(&d, now);
  }
  EXPECT_GE(started, 4);
  EXPECT_LE(started, 5);
}

TEST_F(PoolPolicyTest, IdleReapingTakesTheLongestIdleFirst) {
  Dispatcher d(fn_, opts_);
  fn_.min_workers = 1;
  std::vector<std::shared_ptr<WorkerChannel>> w;
  for (int i = 0; i < 3; ++i) {
    w.push_back(NewWorker());
    d.AddStarting(w.back());
    Assignment a;
    d.OnWorkerFree(w.back(), 0, kT0 + i * 500 * kMs, false, AllLive(), &a);
  }
  EXPECT_TRUE(d.TakeIdleToReap(kT0 + 1000 * kMs).empty());  // exactly the timeout: not past it
  auto r = d.TakeIdleToReap(kT0 + 1001 * kMs);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0], w[0]);
  r = d.TakeIdleToReap(kT0 + 10'000 * kMs);
  ASSERT_EQ(r.size(), 1u);  // w[2] stays: min_workers
  EXPECT_EQ(r[0], w[1]);
}

TEST_F(PoolPolicyTest, CrashLoopBacksOffExponentiallyAndResets) {
  Dispatcher d(fn_, opts_);
  int64_t now = kT0;
  int64_t expected_ms[] = {100, 200, 400, 800, 1000, 1000};  // capped at 1000
  for (int64_t backoff : expected_ms) {
    ASSERT_EQ(d.WorkersToStart(now), 1);
    auto w = NewWorker();
    d.AddStarting(w);
    d.RemoveWorker(w.get(), now);  // died before hello
    d.OnStartFailure(now);
    EXPECT_TRUE(d.crash_looping(now));
    Assignment a;
    EXPECT_EQ(d.Admit(++call_, now, &a), Admit::kCrashLooping);  // fails fast
    EXPECT_EQ(d.WorkersToStart(now + (backoff - 1) * kMs), 0);
    now += backoff * kMs;
    EXPECT_FALSE(d.crash_looping(now));
  }
  ASSERT_EQ(d.WorkersToStart(now), 1);
  auto ok = NewWorker();
  d.AddStarting(ok);
  d.OnStarted();
  Assignment a;
  d.OnWorkerFree(ok, 0, now, false, AllLive(), &a);
  EXPECT_EQ(d.Admit(++call_, now, &a), Admit::kDispatchNow);
  // The next failure starts again from the first step.
  d.RemoveWorker(ok.get(), now);
  d.OnStartFailure(now);
  EXPECT_EQ(d.GetStats(now).backoff_ms, 100);
}

TEST_F(PoolPolicyTest, AbandonedCallsDoNotHoldNewCallsBack) {
  fn_.max_workers = 2;  // managed; no completions yet, so the target is 1
  Dispatcher d(fn_, opts_);
  StartRequested(&d, kT0);
  Assignment a;
  ASSERT_EQ(d.Admit(1, kT0, &a), Admit::kDispatchNow);
  auto slow = a.worker;
  EXPECT_EQ(d.Admit(2, kT0, &a), Admit::kQueued);
  EXPECT_EQ(d.WorkersToStart(kT0), 0);  // at the target: no growth for a busy worker
  d.OnCallAbandoned(slow.get(), 1);     // call 1's deadline answered it
  EXPECT_EQ(d.WorkersToStart(kT0), 1);  // abandoned work no longer counts
  EXPECT_EQ(d.GetStats(kT0).blocked, 1);
}

}  // namespace
}  // namespace nightjar::engine
