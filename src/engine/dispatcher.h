// Dispatcher: the per-function scheduler with managed concurrency (DESIGN.md §6).
//
//   * Idle workers form a LIFO stack (the warmest is reused first); pending calls a FIFO.
//   * Managed concurrency: a call is dispatched only while the number of *running* calls is
//     below the ConcurrencyEstimator's target; the rest wait here instead of
//     oversubscribing the CPUs. "Running" excludes workers blocked on their own child
//     calls (they use no CPU, and counting them would deadlock recursive call graphs such
//     as chain -> chain -> chain) and workers still busy with a call whose deadline
//     already answered it (abandoned work must not hold new calls back).
//   * Unmanaged ("concurrency: unmanaged"): dispatch whenever a worker is idle, growing the
//     pool up to max_workers -- the kill switch, for comparison.
//   * Pool: min_workers (at least one) are started ahead of need. One more worker is
//     requested when calls are queued, none is idle or starting, and the effective pool is
//     below the target (max_workers when unmanaged) -- at most one request per spawn
//     interval. Workers above min_workers that stay idle past the idle timeout are reaped.
//   * Crash loop: a worker that dies before saying hello is a start failure; consecutive
//     failures back off exponentially (100 ms doubling, capped), and while backing off
//     with no ready worker the function's calls fail fast instead of queueing.
//
// Every decision takes `now_ns` explicitly so tests can drive it with a synthetic clock.
// Thread rule: every method may be called from any thread; state is guarded by one short
// per-function lock (no engine-wide lock on the hot path). Methods never block and never
// call out while holding the lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.h"
#include "engine/concurrency.h"
#include "engine/handoff_stats.h"
#include "engine/worker_channel.h"

namespace nightjar::engine {

struct PoolOptions {
  size_t max_queue = 10'000;
  int64_t smoothing_ms = 300;
  int64_t spawn_interval_ms = 100;
  int64_t idle_timeout_ms = 30'000;
  int64_t max_crash_backoff_ms = 10'000;
  static PoolOptions From(const config::EngineConfig& e);
};

// A call paired with the worker that must run it now (already marked busy).
struct Assignment {
  std::shared_ptr<WorkerChannel> worker;
  uint64_t call_id = 0;
};

// What a worker's COMPLETE (or COMPLETE_NOTICE) says about the call it finished. Worker
// messages are untrusted: these only feed statistics, clamped where they are used.
struct CallReport {
  int64_t sent_ns = 0;         // when the worker wrote the COMPLETE (0: unknown)
  int64_t processing_ns = -1;  // time the call spent in the function (-1: unknown)
};

class Dispatcher {
 public:
  Dispatcher(const config::FunctionConfig& fn, PoolOptions options);

  const config::FunctionConfig& config() const { return config_; }
  bool managed() const { return managed_; }

  enum class AdmitResult { kDispatchNow, kQueued, kQueueFull, kCrashLooping };
  // Admits a new call: assigns it to an idle worker (*out), queues it, or refuses it.
  AdmitResult Admit(uint64_t call_id, int64_t now_ns, Assignment* out);

  // The worker finished `call_id` (completed = true: its running time feeds the
  // estimate), or was handed `call_id` after it was answered (completed = false), or just
  // said hello (call_id 0, worker starting). Anything else -- a stray or repeated
  // completion from a misbehaving worker -- is ignored. Fills *out and returns true if
  // the worker must run a queued call next; else it goes on the idle stack.
  // `is_live(call_id)` filters out queued calls already answered.
  // `report` is what the worker said about the call (hand-off statistics).
  template <typename IsLive>
  bool OnWorkerFree(const std::shared_ptr<WorkerChannel>& w, uint64_t call_id, int64_t now_ns,
                    bool completed, IsLive is_live, Assignment* out,
                    const CallReport& report = {});
  // Pairs idle workers with queued calls while the target allows (after the target rose,
  // or a running worker blocked on a child call).
  template <typename IsLive>
  std::vector<Assignment> TakeDispatchable(int64_t now_ns, IsLive is_live);

  // A busy worker of this function, running `parent_call`, started / finished waiting for
  // a child call. Ignored if the worker has moved on to another call.
  void OnChildStarted(WorkerChannel* w, uint64_t parent_call);
  void OnChildFinished(WorkerChannel* w, uint64_t parent_call);
  // The worker's call was answered without it (deadline): until the worker finishes, it
  // no longer counts as running, so new calls are not held behind abandoned work, and its
  // running time, whenever it ends, does not feed the estimate (it says nothing about the
  // function's normal calls). Ignored if the worker has moved on to another call.
  void OnCallAbandoned(WorkerChannel* w, uint64_t call);
  // A queued call was answered without running (its deadline passed): it leaves the
  // queue at once, freeing its slot under max_queue. False if it was not queued (already
  // handed to a worker, or never queued).
  bool Withdraw(uint64_t call_id);

  // Pool management.
  void AddStarting(std::shared_ptr<WorkerChannel> w);
  // Removes a worker that died or is being reaped; returns the call it was running (0 none).
  uint64_t RemoveWorker(WorkerChannel* w, int64_t now_ns);
  // How many workers to start now (initial pool, replacements, growth; 0 while backing off).
  int WorkersToStart(int64_t now_ns);
  // Idle workers above min_workers idle longer than the timeout, removed from the pool.
  std::vector<std::shared_ptr<WorkerChannel>> TakeIdleToReap(int64_t now_ns);
  void OnStartFailure(int64_t now_ns);
  void OnStarted();
  // Calls still queued, removed (shutdown, or the function is crash-looping).
  std::vector<uint64_t> DrainQueue();
  bool crash_looping(int64_t now_ns);

  struct Stats {
    int starting = 0, idle = 0, busy = 0, blocked = 0;
    size_t queued = 0;
    uint32_t target = 0;
    double rate = 0, running_time_s = 0;
    int64_t backoff_ms = 0;
    // Hand-off gap between back-to-back calls of one worker (HandoffStats).
    uint64_t handoffs = 0;
    double handoff_mean_us = 0, handoff_p50_us = 0, handoff_p99_us = 0;
  };
  Stats GetStats(int64_t now_ns);
  int ready_workers();

  std::atomic<uint64_t> calls_ok{0}, calls_failed{0}, calls_timed_out{0};

 private:
  // Callers hold mu_.
  bool CanRunMoreLocked(int64_t now_ns) const;
  uint32_t TargetLocked(int64_t now_ns) const;
  void MarkBusyLocked(WorkerChannel* w, uint64_t call_id, int64_t now_ns);
  template <typename IsLive>
  uint64_t PopLiveLocked(IsLive is_live);
  // Whether a busy worker is held back from counting as running (blocked on a child call,
  // or its call was abandoned); updates blocked_ after `change` mutates the worker.
  template <typename Change>
  void UpdateBlockedLocked(WorkerChannel* w, Change change);

  const config::FunctionConfig& config_;
  const PoolOptions options_;
  const bool managed_;
  std::mutex mu_;
  ConcurrencyEstimator estimator_;
  std::vector<std::shared_ptr<WorkerChannel>> workers_;  // all live workers
  std::vector<std::shared_ptr<WorkerChannel>> idle_;     // LIFO
  std::deque<uint64_t> pending_;                          // FIFO of call ids
  int busy_ = 0;
  int blocked_ = 0;  // busy workers waiting on at least one child call
  int64_t last_spawn_request_ns_ = 0;
  int start_failures_ = 0;
  int64_t backoff_until_ns_ = 0;
  HandoffStats handoff_;
};

template <typename IsLive>
uint64_t Dispatcher::PopLiveLocked(IsLive is_live) {
  while (!pending_.empty()) {
    uint64_t id = pending_.front();
    pending_.pop_front();
    if (is_live(id)) return id;
  }
  return 0;
}

template <typename IsLive>
bool Dispatcher::OnWorkerFree(const std::shared_ptr<WorkerChannel>& w, uint64_t call_id,
                              int64_t now_ns, bool completed, IsLive is_live, Assignment* out,
                              const CallReport& report) {
  std::lock_guard<std::mutex> lock(mu_);
  const bool hello = w->state == WorkerChannel::State::kStarting && call_id == 0;
  const bool done = w->state == WorkerChannel::State::kBusy && w->current_call == call_id;
  if (!hello && !done) return false;
  if (done) {
    // A call taken straight after the previous one: the slot's idle time in between.
    if (w->back_to_back && report.sent_ns > 0 && report.processing_ns >= 0) {
      handoff_.Record(report.sent_ns - report.processing_ns - w->prev_end_ns);
    }
    w->back_to_back = false;
    w->prev_end_ns = report.sent_ns;
    --busy_;
    if (w->children > 0 || w->abandoned) --blocked_;
    w->children = 0;
    if (completed && !w->abandoned) estimator_.OnCompletion(now_ns, now_ns - w->dispatch_ns);
    w->abandoned = false;
  }
  if (CanRunMoreLocked(now_ns)) {
    if (uint64_t id = PopLiveLocked(is_live)) {
      MarkBusyLocked(w.get(), id, now_ns);
      w->back_to_back = done && w->prev_end_ns > 0;
      *out = Assignment{w, id};
      return true;
    }
  }
  w->state = WorkerChannel::State::kIdle;
  w->current_call = 0;
  w->idle_since_ns = now_ns;
  idle_.push_back(w);
  return false;
}

template <typename Change>
void Dispatcher::UpdateBlockedLocked(WorkerChannel* w, Change change) {
  const bool before = w->children > 0 || w->abandoned;
  change();
  const bool after = w->children > 0 || w->abandoned;
  blocked_ += static_cast<int>(after) - static_cast<int>(before);
}

template <typename IsLive>
std::vector<Assignment> Dispatcher::TakeDispatchable(int64_t now_ns, IsLive is_live) {
  std::vector<Assignment> out;
  std::lock_guard<std::mutex> lock(mu_);
  while (!idle_.empty() && !pending_.empty() && CanRunMoreLocked(now_ns)) {
    uint64_t id = PopLiveLocked(is_live);
    if (id == 0) break;
    std::shared_ptr<WorkerChannel> w = std::move(idle_.back());
    idle_.pop_back();
    MarkBusyLocked(w.get(), id, now_ns);
    out.push_back(Assignment{std::move(w), id});
  }
  return out;
}

}  // namespace nightjar::engine
