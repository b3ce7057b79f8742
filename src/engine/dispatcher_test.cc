#include "engine/dispatcher.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "base/scratch_dir.h"

namespace nightjar::engine {
namespace {

using State = WorkerChannel::State;
using Admit = Dispatcher::AdmitResult;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kT0 = 1'000'000 * kMs;  // synthetic clock; never 0

auto AllLive() {
  return [](uint64_t) { return true; };
}

// Workers are plain WorkerChannel objects: never opened, their loop never run. Most tests
// use the unmanaged policy so the pool, not the concurrency target, decides.
class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() {
    fn_.name = "f";
    fn_.id = 1;
    fn_.min_workers = 1;
    fn_.max_workers = 2;
    fn_.concurrency = "unmanaged";
    opts_.max_queue = 10;
  }
  std::shared_ptr<WorkerChannel> NewWorker() {
    ++next_channel_;
    return std::make_shared<WorkerChannel>(nullptr, fn_.id, &loop_, next_channel_,
                                           static_cast<uint16_t>(next_channel_));
  }
  // A started worker that said hello: idle.
  std::shared_ptr<WorkerChannel> AddIdle(Dispatcher* d, int64_t now = kT0) {
    auto w = NewWorker();
    d->AddStarting(w);
    Assignment a;
    EXPECT_FALSE(d->OnWorkerFree(w, 0, now, false, AllLive(), &a));
    return w;
  }
  // Frees `w`; returns the call it must run next (0: it went idle).
  uint64_t Free(Dispatcher* d, const std::shared_ptr<WorkerChannel>& w, int64_t now = kT0) {
    Assignment a;
    if (!d->OnWorkerFree(w, w->current_call, now, true, AllLive(), &a)) return 0;
    EXPECT_EQ(a.worker, w);
    return a.call_id;
  }

  config::FunctionConfig fn_;
  PoolOptions opts_;
  io::EventLoop loop_;
  uint64_t next_channel_ = 0;
};

TEST_F(DispatcherTest, NoWorkersQueuesUntilStartsFail) {
  Dispatcher d(fn_, opts_);
  Assignment a;
  EXPECT_EQ(d.Admit(1, kT0, &a), Admit::kQueued);  // the pool is on its way
  EXPECT_EQ(a.worker, nullptr);
  d.OnStartFailure(kT0);
  EXPECT_TRUE(d.crash_looping(kT0));
  EXPECT_EQ(d.Admit(2, kT0, &a), Admit::kCrashLooping);
  EXPECT_EQ(d.WorkersToStart(kT0), 0);  // backing off
  EXPECT_EQ(d.GetStats(kT0).backoff_ms, 100);
  EXPECT_EQ(d.WorkersToStart(kT0 + 100 * kMs), 1);
  d.OnStartFailure(kT0 + 100 * kMs);  // doubles
  EXPECT_EQ(d.GetStats(kT0 + 100 * kMs).backoff_ms, 200);
  EXPECT_EQ(d.Admit(3, kT0 + 300 * kMs, &a), Admit::kQueued);
  d.OnStarted();
  EXPECT_FALSE(d.crash_looping(kT0 + 100 * kMs));
  EXPECT_EQ(d.DrainQueue(), (std::vector<uint64_t>{1, 3}));
}

TEST_F(DispatcherTest, StartingWorkerOnlyQueues) {
  Dispatcher d(fn_, opts_);
  auto w1 = NewWorker();
  w1->state = State::kIdle;  // AddStarting resets whatever was there
  d.AddStarting(w1);
  EXPECT_EQ(w1->state, State::kStarting);
  Assignment a;
  EXPECT_EQ(d.Admit(1, kT0, &a), Admit::kQueued);
  EXPECT_EQ(a.worker, nullptr);
  Dispatcher::Stats s = d.GetStats(kT0);
  EXPECT_EQ(s.starting, 1);
  EXPECT_EQ(s.idle + s.busy, 0);
  EXPECT_EQ(s.queued, 1u);
  EXPECT_EQ(d.ready_workers(), 0);
}

TEST_F(DispatcherTest, FreeWorkerBecomesIdleAndAdmitPopsIt) {
  Dispatcher d(fn_, opts_);
  auto w1 = NewWorker();
  d.AddStarting(w1);
  EXPECT_EQ(Free(&d, w1, kT0), 0u);
  EXPECT_EQ(w1->state, State::kIdle);
  EXPECT_EQ(w1->idle_since_ns, kT0);
  EXPECT_EQ(d.GetStats(kT0).idle, 1);
  Assignment a;
  EXPECT_EQ(d.Admit(42, kT0 + 5, &a), Admit::kDispatchNow);
  EXPECT_EQ(a.worker, w1);
  EXPECT_EQ(a.call_id, 42u);
  EXPECT_EQ(w1->state, State::kBusy);
  EXPECT_EQ(w1->current_call, 42u);
  EXPECT_EQ(w1->dispatch_ns, kT0 + 5);
  Assignment none;
  EXPECT_EQ(d.Admit(43, kT0, &none), Admit::kQueued);
  EXPECT_EQ(none.worker, nullptr);
}

TEST_F(DispatcherTest, IdleWorkersAreReusedLastInFirstOut) {
  fn_.max_workers = 4;
  Dispatcher d(fn_, opts_);
  auto w1 = AddIdle(&d), w2 = AddIdle(&d), w3 = AddIdle(&d);
  Assignment a, b, c, last;
  ASSERT_EQ(d.Admit(1, kT0, &a), Admit::kDispatchNow);
  ASSERT_EQ(d.Admit(2, kT0, &b), Admit::kDispatchNow);
  EXPECT_EQ(a.worker, w3);
  EXPECT_EQ(b.worker, w2);
  // w3 finishes: it is the warmest again and beats w1, idle for longer.
  EXPECT_EQ(Free(&d, w3), 0u);
  ASSERT_EQ(d.Admit(3, kT0, &c), Admit::kDispatchNow);
  EXPECT_EQ(c.worker, w3);
  ASSERT_EQ(d.Admit(4, kT0, &last), Admit::kDispatchNow);
  EXPECT_EQ(last.worker, w1);
  EXPECT_EQ(w1->current_call, 4u);
}

TEST_F(DispatcherTest, PendingCallsRunOldestFirst) {
  Dispatcher d(fn_, opts_);
  auto w = NewWorker();
  d.AddStarting(w);
  Assignment a;
  for (uint64_t id : {10, 11, 12}) ASSERT_EQ(d.Admit(id, kT0, &a), Admit::kQueued);
  for (uint64_t id : {10, 11, 12}) {
    EXPECT_EQ(Free(&d, w), id);
    EXPECT_EQ(w->state, State::kBusy);
    EXPECT_EQ(w->current_call, id);
  }
  EXPECT_EQ(Free(&d, w), 0u);
  EXPECT_EQ(w->state, State::kIdle);
  EXPECT_EQ(w->current_call, 0u);
  EXPECT_TRUE(d.DrainQueue().empty());
}

TEST_F(DispatcherTest, IsLiveSkipsAnsweredCalls) {
  Dispatcher d(fn_, opts_);
  auto w = NewWorker();
  d.AddStarting(w);
  Assignment a;
  for (uint64_t id : {1, 2, 3, 4}) ASSERT_EQ(d.Admit(id, kT0, &a), Admit::kQueued);
  std::vector<uint64_t> asked;
  auto live = [&](uint64_t id) {
    asked.push_back(id);
    return id == 3;
  };
  ASSERT_TRUE(d.OnWorkerFree(w, 0, kT0, false, live, &a));
  EXPECT_EQ(a.call_id, 3u);
  EXPECT_EQ(asked, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(d.GetStats(kT0).queued, 1u);  // 4 still waits
  // Only answered calls left: the worker goes idle and the queue is empty.
  EXPECT_FALSE(d.OnWorkerFree(w, 3, kT0, true, [](uint64_t) { return false; }, &a));
  EXPECT_EQ(w->state, State::kIdle);
  EXPECT_EQ(d.GetStats(kT0).queued, 0u);
}

TEST_F(DispatcherTest, QueueFullAtMaxQueue) {
  opts_.max_queue = 2;
  Dispatcher d(fn_, opts_);
  d.AddStarting(NewWorker());
  Assignment a;
  EXPECT_EQ(d.Admit(1, kT0, &a), Admit::kQueued);
  EXPECT_EQ(d.Admit(2, kT0, &a), Admit::kQueued);
  EXPECT_EQ(d.Admit(3, kT0, &a), Admit::kQueueFull);
  EXPECT_EQ(d.GetStats(kT0).queued, 2u);
  EXPECT_EQ(d.DrainQueue(), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(d.GetStats(kT0).queued, 0u);
}

TEST_F(DispatcherTest, WithdrawnCallsFreeTheirQueueSlotsAtOnce) {
  // The issue #8 case: max_queue 3, one worker running a call, three queued calls whose
  // deadlines pass: their slots must be free again, not held until a worker pops them.
  opts_.max_queue = 3;
  fn_.max_workers = 1;
  Dispatcher d(fn_, opts_);
  auto w = AddIdle(&d);
  Assignment a;
  ASSERT_EQ(d.Admit(1, kT0, &a), Admit::kDispatchNow);
  for (uint64_t id = 2; id <= 4; ++id) ASSERT_EQ(d.Admit(id, kT0, &a), Admit::kQueued);
  EXPECT_EQ(d.Admit(5, kT0, &a), Admit::kQueueFull);
  EXPECT_TRUE(d.Withdraw(3));  // out of order
  EXPECT_TRUE(d.Withdraw(2));
  EXPECT_TRUE(d.Withdraw(4));
  EXPECT_FALSE(d.Withdraw(4));  // twice: nothing more
  EXPECT_FALSE(d.Withdraw(1));  // running, not queued
  EXPECT_EQ(d.GetStats(kT0).queued, 0u);
  EXPECT_EQ(d.Admit(6, kT0, &a), Admit::kQueued);
  EXPECT_EQ(Free(&d, w), 6u);  // the worker takes the one live call
}

TEST_F(DispatcherTest, AbandonedCallsDoNotFeedTheEstimate) {
  fn_.concurrency = "managed";
  Dispatcher d(fn_, opts_);
  auto w = AddIdle(&d);
  Assignment a;
  // Two normal 10 ms calls set the running time.
  for (uint64_t id = 1; id <= 2; ++id) {
    int64_t t = kT0 + static_cast<int64_t>(id) * 100 * kMs;
    ASSERT_EQ(d.Admit(id, t, &a), Admit::kDispatchNow);
    EXPECT_EQ(Free(&d, w, t + 10 * kMs), 0u);
  }
  EXPECT_NEAR(d.GetStats(kT0 + kMs).running_time_s, 0.010, 1e-9);
  // An 8 s call answered by its deadline: the worker is blocked until it returns, and
  // its running time is not a sample of the function's calls.
  const int64_t t = kT0 + 1000 * kMs;
  ASSERT_EQ(d.Admit(3, t, &a), Admit::kDispatchNow);
  d.OnCallAbandoned(w.get(), 3);
  d.OnCallAbandoned(w.get(), 3);  // twice: counted once
  EXPECT_EQ(d.GetStats(t).blocked, 1);
  d.OnChildStarted(w.get(), 3, kT0);  // the abandoned call may still make child calls
  d.OnChildFinished(w.get(), 3, kT0);
  EXPECT_EQ(d.GetStats(t).blocked, 1);
  EXPECT_EQ(Free(&d, w, t + 8000 * kMs), 0u);
  Dispatcher::Stats s = d.GetStats(t + 8000 * kMs);
  EXPECT_NEAR(s.running_time_s, 0.010, 1e-9);
  EXPECT_EQ(s.blocked, 0);
  EXPECT_EQ(s.busy, 0);
  // The same for a worker that dies while its abandoned call runs.
  ASSERT_EQ(d.Admit(4, t, &a), Admit::kDispatchNow);
  d.OnCallAbandoned(w.get(), 4);
  EXPECT_EQ(d.RemoveWorker(w.get(), t + 9000 * kMs), 4u);
  s = d.GetStats(t + 9000 * kMs);
  EXPECT_NEAR(s.running_time_s, 0.010, 1e-9);
  EXPECT_EQ(s.blocked, 0);
}

// Prefetch: a managed function with short calls (1 ms) on a 1-core machine: one call runs,
// the next waits -- and goes ahead to the worker that will run it.
class PrefetchTest : public DispatcherTest {
 protected:
  PrefetchTest() {
    fn_.concurrency = "managed";
    fn_.max_workers = 4;
    opts_.cores = 1;
    opts_.prefetch_max_ns = 2 * kMs;
  }
  // Runs and completes one 1 ms call on `w`, so the running time is known.
  void Warm(Dispatcher* d, const std::shared_ptr<WorkerChannel>& w) {
    Assignment a;
    ASSERT_EQ(d->Admit(1000, kT0, &a), Admit::kDispatchNow);
    ASSERT_EQ(a.worker, w);
    EXPECT_EQ(Free(d, w, kT0 + kMs), 0u);
  }
};

TEST_F(PrefetchTest, TheNextCallGoesAheadAndStartsAtTheCompletion) {
  Dispatcher d(fn_, opts_);
  auto w1 = AddIdle(&d), w2 = AddIdle(&d);
  Warm(&d, w2);
  const int64_t t = kT0 + 10 * kMs;
  Assignment a;
  ASSERT_EQ(d.Admit(1, t, &a), Admit::kDispatchNow);  // w2 (LIFO), the one core
  auto runner = a.worker;
  a = Assignment{};
  ASSERT_EQ(d.Admit(2, t, &a), Admit::kQueued);  // at the bound (1 core)...
  ASSERT_NE(a.worker, nullptr);                  // ...but sent ahead
  EXPECT_TRUE(a.prefetch);
  EXPECT_EQ(a.worker, runner);
  EXPECT_EQ(a.call_id, 2u);
  Dispatcher::Stats s = d.GetStats(t);
  EXPECT_EQ(s.queued, 1u);  // still waiting, as far as anyone can tell
  EXPECT_EQ(s.prefetched, 1u);
  EXPECT_EQ(s.busy, 1);
  // A third call waits in the queue: one prefetched call per worker, and w1 is idle but
  // the bound holds it back.
  a = Assignment{};
  ASSERT_EQ(d.Admit(3, t, &a), Admit::kQueued);
  EXPECT_EQ(a.worker, nullptr);
  // The runner finishes call 1: it is already on call 2 (still busy, running unchanged)
  // and gets call 3 ahead.
  CallReport report{t + kMs, kMs, 0};
  ASSERT_TRUE(d.OnWorkerFree(runner, 1, t + kMs, true, AllLive(), &a, report));
  EXPECT_TRUE(a.prefetch);
  EXPECT_EQ(a.worker, runner);
  EXPECT_EQ(a.call_id, 3u);
  EXPECT_EQ(runner->current_call, 2u);
  EXPECT_EQ(runner->state, State::kBusy);
  s = d.GetStats(t + kMs);
  EXPECT_EQ(s.busy, 1);
  EXPECT_EQ(s.queued, 1u);
  // The hand-off from 2 to 3 is measured from the worker's own stamps: 5 us here.
  report = CallReport{t + 2 * kMs, kMs - 5'000, 0};
  EXPECT_FALSE(d.OnWorkerFree(runner, 2, t + 2 * kMs, true, AllLive(), &a, report));
  report = CallReport{t + 3 * kMs, kMs - 5'000, 0};
  EXPECT_FALSE(d.OnWorkerFree(runner, 3, t + 3 * kMs, true, AllLive(), &a, report));
  s = d.GetStats(t + 3 * kMs);
  EXPECT_EQ(s.busy, 0);
  EXPECT_EQ(s.idle, 2);
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.handoffs, 2u);
  EXPECT_LE(s.handoff_p99_us, 6.0);
  (void)w1;
}

TEST_F(PrefetchTest, NotForLongCallsNorWhenDisabledNorForBlockedWorkers) {
  {
    Dispatcher d(fn_, opts_);
    auto w = AddIdle(&d);
    Assignment a;
    ASSERT_EQ(d.Admit(1000, kT0, &a), Admit::kDispatchNow);
    EXPECT_EQ(Free(&d, w, kT0 + 5 * kMs), 0u);  // 5 ms calls: over prefetch_max
    ASSERT_EQ(d.Admit(1, kT0 + 10 * kMs, &a), Admit::kDispatchNow);
    a = Assignment{};
    EXPECT_EQ(d.Admit(2, kT0 + 10 * kMs, &a), Admit::kQueued);
    EXPECT_EQ(a.worker, nullptr);
  }
  {
    opts_.prefetch_max_ns = 0;
    Dispatcher d(fn_, opts_);
    auto w = AddIdle(&d);
    Warm(&d, w);
    Assignment a;
    ASSERT_EQ(d.Admit(1, kT0 + 10 * kMs, &a), Admit::kDispatchNow);
    a = Assignment{};
    EXPECT_EQ(d.Admit(2, kT0 + 10 * kMs, &a), Admit::kQueued);
    EXPECT_EQ(a.worker, nullptr);
    opts_.prefetch_max_ns = 2 * kMs;
  }
  {
    fn_.max_workers = 1;
    Dispatcher d(fn_, opts_);
    auto w = AddIdle(&d);
    Warm(&d, w);
    Assignment a;
    ASSERT_EQ(d.Admit(1, kT0 + 10 * kMs, &a), Admit::kDispatchNow);
    d.OnChildStarted(w.get(), 1, kT0 + 10 * kMs);  // waiting on a child: no end in sight
    a = Assignment{};
    EXPECT_EQ(d.Admit(2, kT0 + 10 * kMs, &a), Admit::kQueued);
    EXPECT_EQ(a.worker, nullptr);
  }
}

TEST_F(PrefetchTest, AnsweredPrefetchedCallFreesItsSlotAndIsSkipped) {
  opts_.max_queue = 1;
  Dispatcher d(fn_, opts_);
  auto w = AddIdle(&d);
  Warm(&d, w);
  const int64_t t = kT0 + 10 * kMs;
  Assignment a;
  ASSERT_EQ(d.Admit(1, t, &a), Admit::kDispatchNow);
  a = Assignment{};
  ASSERT_EQ(d.Admit(2, t, &a), Admit::kQueued);
  ASSERT_TRUE(a.prefetch);
  EXPECT_EQ(d.Admit(3, t, &a), Admit::kQueueFull);  // the prefetched call counts
  d.OnCallAbandoned(w.get(), 2);                    // its deadline passed
  EXPECT_EQ(d.GetStats(t).queued, 0u);
  a = Assignment{};
  EXPECT_EQ(d.Admit(4, t, &a), Admit::kQueued);  // room again (not prefetched: w has one)
  EXPECT_EQ(a.worker, nullptr);
  // Call 1 ends; the worker moves to 2, which it skips (abandoned: blocked, not running,
  // no sample); then it takes 4.
  EXPECT_FALSE(d.OnWorkerFree(w, 1, t + kMs, true, AllLive(), &a));
  EXPECT_EQ(w->current_call, 2u);
  EXPECT_EQ(d.GetStats(t + kMs).blocked, 1);
  const double running = d.GetStats(t + kMs).running_time_s;
  ASSERT_TRUE(d.OnWorkerFree(w, 2, t + kMs + 100, false, AllLive(), &a));
  EXPECT_EQ(a.call_id, 4u);
  EXPECT_FALSE(a.prefetch);
  EXPECT_EQ(d.GetStats(t + kMs).running_time_s, running);
}

TEST_F(PrefetchTest, RefusedDispatchesAreForgotten) {
  Dispatcher d(fn_, opts_);
  auto w = AddIdle(&d);
  Warm(&d, w);
  const int64_t t = kT0 + 10 * kMs;
  Assignment a;
  ASSERT_EQ(d.Admit(1, t, &a), Admit::kDispatchNow);
  Assignment pre;
  ASSERT_EQ(d.Admit(2, t, &pre), Admit::kQueued);
  ASSERT_TRUE(pre.prefetch);
  ASSERT_EQ(d.Admit(3, t, &a), Admit::kQueued);
  // The prefetched call was answered before its DISPATCH left: the worker never has it.
  EXPECT_FALSE(d.OnDispatchRefused(pre, t, AllLive(), &a));
  EXPECT_EQ(w->next_call, 0u);
  EXPECT_EQ(d.GetStats(t).prefetched, 0u);
  // Call 1 ends with no prefetched call: the worker takes the head of the queue (3).
  ASSERT_TRUE(d.OnWorkerFree(w, 1, t + kMs, true, AllLive(), &a));
  EXPECT_EQ(a.call_id, 3u);
  // Call 3 turns out answered too: the worker is free again.
  EXPECT_FALSE(d.OnDispatchRefused(a, t + kMs, AllLive(), &a));
  EXPECT_EQ(w->state, State::kIdle);
  EXPECT_EQ(d.GetStats(t + kMs).busy, 0);
}

TEST_F(PrefetchTest, ADyingWorkerGivesBackItsPrefetchedCall) {
  Dispatcher d(fn_, opts_);
  auto w = AddIdle(&d);
  Warm(&d, w);
  const int64_t t = kT0 + 10 * kMs;
  Assignment a;
  ASSERT_EQ(d.Admit(1, t, &a), Admit::kDispatchNow);
  ASSERT_EQ(d.Admit(2, t, &a), Admit::kQueued);
  ASSERT_TRUE(a.prefetch);
  uint64_t prefetched = 0;
  EXPECT_EQ(d.RemoveWorker(w.get(), t, &prefetched), 1u);
  EXPECT_EQ(prefetched, 2u);
  Dispatcher::Stats s = d.GetStats(t);
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.busy, 0);
}

TEST_F(DispatcherTest, RemoveWorkerReturnsInFlightCall) {
  Dispatcher d(fn_, opts_);
  auto busy = AddIdle(&d);
  Assignment a;
  ASSERT_EQ(d.Admit(77, kT0, &a), Admit::kDispatchNow);
  ASSERT_EQ(a.worker, busy);
  EXPECT_EQ(d.RemoveWorker(busy.get(), kT0), 77u);
  EXPECT_EQ(busy->state, State::kDead);
  EXPECT_EQ(busy->current_call, 0u);
  EXPECT_EQ(d.GetStats(kT0).busy, 0);
  EXPECT_EQ(d.RemoveWorker(busy.get(), kT0), 0u);  // twice: nothing more
  // A dead worker that reports free is not made idle again.
  EXPECT_EQ(Free(&d, busy), 0u);
  EXPECT_EQ(busy->state, State::kDead);
  EXPECT_EQ(d.GetStats(kT0).idle, 0);
}

TEST_F(DispatcherTest, RemoveIdleWorkerTakesItOffTheStack) {
  fn_.max_workers = 4;
  Dispatcher d(fn_, opts_);
  auto w1 = AddIdle(&d), w2 = AddIdle(&d);
  auto starting = NewWorker();
  d.AddStarting(starting);
  EXPECT_EQ(d.RemoveWorker(w2.get(), kT0), 0u);
  EXPECT_EQ(d.RemoveWorker(starting.get(), kT0), 0u);
  Dispatcher::Stats s = d.GetStats(kT0);
  EXPECT_EQ(s.idle, 1);
  EXPECT_EQ(s.starting, 0);
  Assignment a;
  ASSERT_EQ(d.Admit(5, kT0, &a), Admit::kDispatchNow);
  EXPECT_EQ(a.worker, w1);  // not the removed w2, although it was freed last
  EXPECT_EQ(d.Admit(6, kT0, &a), Admit::kQueued);
}

TEST_F(DispatcherTest, WorkersToStartFillsThePool) {
  fn_.min_workers = 3;
  fn_.max_workers = 4;
  Dispatcher d(fn_, opts_);
  EXPECT_EQ(d.WorkersToStart(kT0), 3);
  auto w1 = NewWorker();
  d.AddStarting(w1);
  EXPECT_EQ(d.WorkersToStart(kT0), 2);
  d.AddStarting(NewWorker());
  d.AddStarting(NewWorker());
  EXPECT_EQ(d.WorkersToStart(kT0), 0);
  d.AddStarting(NewWorker());  // grown above min: never negative
  EXPECT_EQ(d.WorkersToStart(kT0), 0);
  d.RemoveWorker(w1.get(), kT0);
  EXPECT_EQ(d.WorkersToStart(kT0), 0);

  config::FunctionConfig zero = fn_;
  zero.min_workers = 0;  // the pool still keeps one worker
  Dispatcher dz(zero, opts_);
  EXPECT_EQ(dz.WorkersToStart(kT0), 1);
  auto only = NewWorker();
  dz.AddStarting(only);
  EXPECT_EQ(dz.WorkersToStart(kT0), 0);
  dz.RemoveWorker(only.get(), kT0);
  EXPECT_EQ(dz.WorkersToStart(kT0), 1);
}

TEST_F(DispatcherTest, GrowsOnlyWhenQueuedAndNothingComing) {
  Dispatcher d(fn_, opts_);  // unmanaged, max_workers 2, spawn interval 100 ms
  auto w1 = NewWorker();
  d.AddStarting(w1);
  EXPECT_EQ(d.WorkersToStart(kT0), 0);  // nothing queued
  Assignment a;
  ASSERT_EQ(d.Admit(1, kT0, &a), Admit::kQueued);
  EXPECT_EQ(d.WorkersToStart(kT0), 0);  // w1 is starting and will take it
  ASSERT_EQ(Free(&d, w1), 1u);
  EXPECT_EQ(d.WorkersToStart(kT0), 0);  // queue empty again
  ASSERT_EQ(d.Admit(2, kT0, &a), Admit::kQueued);
  EXPECT_EQ(d.WorkersToStart(kT0), 1);  // queued, w1 busy, 1 < max_workers
  EXPECT_EQ(d.WorkersToStart(kT0 + 99 * kMs), 0);   // one request per spawn interval
  EXPECT_EQ(d.WorkersToStart(kT0 + 100 * kMs), 1);  // interval passed, still nothing coming
  auto w2 = NewWorker();
  d.AddStarting(w2);
  EXPECT_EQ(d.WorkersToStart(kT0 + 300 * kMs), 0);  // w2 is on its way
  ASSERT_EQ(Free(&d, w2), 2u);
  ASSERT_EQ(d.Admit(3, kT0, &a), Admit::kQueued);
  EXPECT_EQ(d.WorkersToStart(kT0 + 500 * kMs), 0);  // at max_workers
}

TEST_F(DispatcherTest, ManagedTargetHoldsCallsBack) {
  fn_.concurrency = "managed";  // no completions yet: the target is min_workers (1)
  fn_.max_workers = 4;
  Dispatcher d(fn_, opts_);
  ASSERT_TRUE(d.managed());
  auto w1 = AddIdle(&d), w2 = AddIdle(&d);
  Assignment a;
  ASSERT_EQ(d.Admit(1, kT0, &a), Admit::kDispatchNow);
  EXPECT_EQ(a.worker, w2);
  EXPECT_EQ(d.Admit(2, kT0, &a), Admit::kQueued);  // w1 idle, but one call already runs
  EXPECT_TRUE(d.TakeDispatchable(kT0, AllLive()).empty());
  d.OnChildStarted(w2.get(), 1, kT0);  // w2 now waits on a child: it no longer counts
  EXPECT_EQ(d.GetStats(kT0).blocked, 1);
  std::vector<Assignment> ready = d.TakeDispatchable(kT0, AllLive());
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].worker, w1);
  EXPECT_EQ(ready[0].call_id, 2u);
}

TEST_F(DispatcherTest, StatsCountEveryState) {
  fn_.max_workers = 8;
  Dispatcher d(fn_, opts_);
  auto i1 = AddIdle(&d), i2 = AddIdle(&d), b1 = AddIdle(&d);
  d.AddStarting(NewWorker());
  Assignment a;
  ASSERT_EQ(d.Admit(1, kT0, &a), Admit::kDispatchNow);
  ASSERT_EQ(a.worker, b1);
  Dispatcher::Stats s = d.GetStats(kT0);
  EXPECT_EQ(s.starting, 1);
  EXPECT_EQ(s.idle, 2);
  EXPECT_EQ(s.busy, 1);
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.target, 8u);  // unmanaged: max_workers
  EXPECT_EQ(d.ready_workers(), 3);
  ASSERT_EQ(d.Admit(2, kT0, &a), Admit::kDispatchNow);
  ASSERT_EQ(d.Admit(3, kT0, &a), Admit::kDispatchNow);
  ASSERT_EQ(d.Admit(4, kT0, &a), Admit::kQueued);
  s = d.GetStats(kT0);
  EXPECT_EQ(s.idle, 0);
  EXPECT_EQ(s.busy, 3);
  EXPECT_EQ(s.queued, 1u);
  EXPECT_EQ(i1->current_call + i2->current_call, 2u + 3u);
}


TEST_F(DispatcherTest, StrayCompletionsAreIgnored) {
  // A misbehaving worker repeating a completion must not land on the idle stack twice
  // (two calls would then be dispatched to one process).
  Dispatcher d(fn_, opts_);
  auto w = AddIdle(&d);
  Assignment a;
  EXPECT_FALSE(d.OnWorkerFree(w, 42, kT0, true, AllLive(), &a));  // idle: nothing to finish
  ASSERT_EQ(d.Admit(1, kT0, &a), Admit::kDispatchNow);
  EXPECT_EQ(d.Admit(2, kT0, &a), Admit::kQueued);  // the one worker is busy with call 1
  EXPECT_FALSE(d.OnWorkerFree(w, 7, kT0, true, AllLive(), &a));  // not its call
  EXPECT_EQ(d.GetStats(kT0).busy, 1);
  EXPECT_TRUE(d.OnWorkerFree(w, 1, kT0, true, AllLive(), &a));  // its call: takes call 2
  EXPECT_EQ(a.call_id, 2u);
}


// ---------------------------------------------------------------------------------------
// Direct dispatch: offers on the function's board (ipc/dispatch_board.h)

class DirectDispatchTest : public DispatcherTest {
 protected:
  void SetUp() override { ASSERT_TRUE(scratch_.ok()); }
  // A dispatcher with a board, and a second mapping of it: the callers' view.
  std::unique_ptr<Dispatcher> MakeWithBoard() {
    auto d = std::make_unique<Dispatcher>(fn_, opts_);
    auto board = ipc::DispatchBoard::Create(dir_ + "/board", fn_.max_workers, 1000, 1 << 20);
    EXPECT_TRUE(board.ok());
    d->SetBoard(std::move(*board));
    auto view = ipc::DispatchBoard::Map(dir_ + "/board");
    EXPECT_TRUE(view.ok());
    callers_ = std::move(*view);
    return d;
  }
  static uint64_t Claim(uint32_t counter) { return proto::CallId::Make(1, 0, 9, counter); }

  ScratchDir scratch_{"nj-dd-test"};
  const std::string& dir_ = scratch_.path();
  std::unique_ptr<ipc::DispatchBoard> callers_;
};

TEST_F(DirectDispatchTest, IdleWorkersAreOfferedAndTheEngineTakesOffersBack) {
  auto d = MakeWithBoard();
  auto w = AddIdle(d.get());
  EXPECT_TRUE(w->offered);
  EXPECT_EQ(d->GetStats(kT0).offered, 1);
  // The engine's own call takes the offer back first: a caller then finds nothing.
  Assignment a;
  EXPECT_EQ(d->Admit(1, kT0, &a), Admit::kDispatchNow);
  EXPECT_EQ(a.worker, w);
  EXPECT_FALSE(w->offered);
  EXPECT_FALSE(callers_->Claim(Claim(1)).has_value());
  EXPECT_EQ(Free(d.get(), w), 0u);  // idle again: offered again
  EXPECT_TRUE(w->offered);
  auto got = callers_->Claim(Claim(2));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->channel, w->channel());
}

TEST_F(DirectDispatchTest, AClaimFoundWhenTakingTheOfferBackMakesTheWorkerBusy) {
  opts_.prefetch_max_ns = 2 * kMs;
  auto d = MakeWithBoard();
  auto w = AddIdle(d.get());
  Assignment a;
  ASSERT_EQ(d->Admit(1000, kT0, &a), Admit::kDispatchNow);  // one 1 ms call: a running time
  ASSERT_EQ(Free(d.get(), w, kT0 + kMs), 0u);
  ASSERT_TRUE(callers_->Claim(Claim(1)).has_value());
  // The engine wants the worker for call 5: it is taken; 5 waits for the next worker.
  a = Assignment{};
  EXPECT_EQ(d->Admit(5, kT0, &a), Admit::kQueued);
  EXPECT_EQ(w->state, State::kBusy);
  EXPECT_EQ(w->current_call, Claim(1));
  // Nothing is sent ahead to it until the claimant's notice says its DISPATCH went first.
  EXPECT_EQ(a.worker, nullptr);
  EXPECT_TRUE(d->OnDirectClaim(w.get(), Claim(1), kT0));
  auto ready = d->TakeDispatchable(kT0, AllLive());
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_TRUE(ready[0].prefetch);
  EXPECT_EQ(ready[0].call_id, 5u);
  // The direct call ends: the worker moves on to 5, and the claim leaves the board.
  Assignment next;
  EXPECT_FALSE(d->OnWorkerFree(w, Claim(1), kT0, true, AllLive(), &next));
  EXPECT_EQ(w->current_call, 5u);
  EXPECT_EQ(callers_->Word(static_cast<uint32_t>(w->board_slot)), 0u);
}

TEST_F(DirectDispatchTest, ACompletionBeforeTheNoticeFreesTheWorkerAndOffersItAgain) {
  auto d = MakeWithBoard();
  auto w = AddIdle(d.get());
  ASSERT_TRUE(callers_->Claim(Claim(1)).has_value());
  Assignment a;
  EXPECT_FALSE(d->OnWorkerFree(w, Claim(1), kT0, true, AllLive(), &a));
  EXPECT_EQ(w->state, State::kIdle);
  EXPECT_TRUE(w->offered);
  EXPECT_TRUE(callers_->Claim(Claim(2)).has_value());  // offered anew
  // A completion for a call the worker was never claimed for changes nothing.
  EXPECT_FALSE(d->OnWorkerFree(w, Claim(7), kT0, true, AllLive(), &a));
  EXPECT_EQ(callers_->Word(static_cast<uint32_t>(w->board_slot)), Claim(2));
}

TEST_F(DirectDispatchTest, NoticeMarksTheClaimedWorkerBusyOnce) {
  auto d = MakeWithBoard();
  auto w = AddIdle(d.get());
  ASSERT_TRUE(callers_->Claim(Claim(1)).has_value());
  EXPECT_FALSE(d->OnDirectClaim(w.get(), Claim(2), kT0));  // not its claim
  EXPECT_TRUE(d->OnDirectClaim(w.get(), Claim(1), kT0));
  EXPECT_EQ(w->state, State::kBusy);
  EXPECT_EQ(d->GetStats(kT0).busy, 1);
  EXPECT_TRUE(d->OnDirectClaim(w.get(), Claim(1), kT0));  // again: nothing changes
  EXPECT_EQ(d->GetStats(kT0).busy, 1);
  EXPECT_EQ(Free(d.get(), w), 0u);
  EXPECT_TRUE(w->offered);
}

TEST_F(DirectDispatchTest, AVoidClaimIsReleased) {
  auto d = MakeWithBoard();
  auto w = AddIdle(d.get());
  ASSERT_TRUE(callers_->Claim(Claim(1)).has_value());
  Assignment a;
  EXPECT_FALSE(d->ReleaseClaim(w, Claim(1), kT0, AllLive(), &a));  // while still idle
  EXPECT_TRUE(w->offered);
  ASSERT_TRUE(callers_->Claim(Claim(2)).has_value());
  EXPECT_EQ(d->Admit(5, kT0, &a), Admit::kQueued);  // found claimed: busy with Claim(2)
  // Released while the engine counts it busy: it takes the queued call at once.
  EXPECT_TRUE(d->ReleaseClaim(w, Claim(2), kT0, AllLive(), &a));
  EXPECT_EQ(a.worker, w);
  EXPECT_EQ(a.call_id, 5u);
}

TEST_F(DirectDispatchTest, ClaimsOfADeadCallerAndOfADeadWorker) {
  fn_.max_workers = 3;
  auto d = MakeWithBoard();
  auto w1 = AddIdle(d.get());
  auto w2 = AddIdle(d.get());
  ASSERT_TRUE(callers_->Claim(Claim(1)).has_value());  // client 9
  auto claims = d->ClaimsOf(9);
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(claims[0].second, Claim(1));
  EXPECT_TRUE(d->ClaimsOf(8).empty());
  // The claimed worker dies: its slot is the engine's again, free for the next worker.
  auto dead = claims[0].first;
  const int slot = dead->board_slot;
  d->RemoveWorker(dead.get(), kT0);
  EXPECT_EQ(callers_->Word(static_cast<uint32_t>(slot)), 0u);
  auto w3 = AddIdle(d.get());
  EXPECT_EQ(w3->board_slot, slot);
  EXPECT_TRUE(w3->offered);
}

TEST_F(DirectDispatchTest, ManagedOffersStayWithinTheTarget) {
  fn_.concurrency = "managed";
  fn_.max_workers = 4;
  opts_.cores = 1;
  auto d = MakeWithBoard();
  std::vector<std::shared_ptr<WorkerChannel>> ws;
  for (int i = 0; i < 4; ++i) ws.push_back(AddIdle(d.get()));
  const auto s = d->GetStats(kT0);
  EXPECT_LE(static_cast<uint32_t>(s.busy - s.blocked + s.offered), s.target);
  EXPECT_GE(s.offered, 1);
  // Calls that wait take every offer back: queued calls go first.
  Assignment a;
  for (uint64_t id = 1; id <= 8; ++id) d->Admit(id, kT0, &a);
  d->TakeDispatchable(kT0, AllLive());
  EXPECT_EQ(d->GetStats(kT0).offered, 0);
}

}  // namespace
}  // namespace nightjar::engine
