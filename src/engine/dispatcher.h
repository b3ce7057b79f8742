// Dispatcher: the per-function scheduler with managed concurrency (DESIGN.md §6,
// docs/concurrency.md).
//
//   * Idle workers form a LIFO stack (the warmest is reused first); pending calls a FIFO.
//   * Managed concurrency: a call is dispatched only while the number of *running* calls is
//     below the ConcurrencyEstimator's target (Little's law + one slot per waiting call,
//     bounded by the cores the calls' CPU share can fill); the rest wait here instead of
//     oversubscribing the CPUs. "Running" excludes workers blocked on their own child
//     calls (they use no CPU, and counting them would deadlock recursive call graphs such
//     as chain -> chain -> chain) and workers still busy with a call whose deadline
//     already answered it (abandoned work must not hold new calls back).
//   * Unmanaged ("concurrency: unmanaged"): dispatch whenever a worker is idle, growing the
//     pool up to max_workers -- the kill switch, for comparison.
//   * Prefetch (hides the hand-off gap): when calls must wait and the function's calls are
//     short (running time <= prefetch_max_ns), a running worker is sent the head of the
//     queue before it finishes -- at most one such call per worker, to the worker that has
//     been running longest. The worker starts it the moment it writes its completion,
//     without a round trip through the engine; the engine counts it as running from that
//     completion on. A prefetched call is still "queued" for max_queue and /status.
//   * Pool: min_workers (at least one) are started ahead of need. One more worker is
//     requested when calls wait, none is idle or starting, and the effective pool is
//     below the target (max_workers when unmanaged) -- at most one request per spawn
//     interval. Workers above min_workers that stay idle past the idle timeout are reaped.
//   * Direct dispatch (ipc/dispatch_board.h, docs/architecture.md): idle workers of a
//     function with a board are offered there while nothing is queued and the target
//     allows, so a native caller can claim one and send it the call itself. Every use of
//     an idle worker by the engine first takes its offer back; one found claimed is busy
//     with the claimant's call from then on. The engine hears of a claim from the caller
//     (OnDirectClaim) or, first, from the callee's completion (OnWorkerFree).
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
#include "ipc/dispatch_board.h"

namespace nightjar::engine {

struct PoolOptions {
  size_t max_queue = 10'000;
  int64_t smoothing_ms = 300;
  int64_t spawn_interval_ms = 100;
  int64_t idle_timeout_ms = 30'000;
  int64_t max_crash_backoff_ms = 10'000;
  uint32_t cores = 1;                   // the machine bound (engine.cpu_limit, resolved)
  int64_t prefetch_max_ns = 2'000'000;  // 0: never prefetch
  // engine.cpu_limit resolved: its value, or the CPUs this process may run on when 0.
  static PoolOptions From(const config::EngineConfig& e);
};

// A call paired with the worker that must receive it now (its DISPATCH is to be sent).
// `prefetch`: the worker is busy and will start the call when it finishes its current one.
struct Assignment {
  std::shared_ptr<WorkerChannel> worker;
  uint64_t call_id = 0;
  bool prefetch = false;
};

// What a worker's COMPLETE (or COMPLETE_NOTICE) says about the call it finished. Worker
// messages are untrusted: these only feed statistics, clamped where they are used.
struct CallReport {
  int64_t sent_ns = 0;         // when the worker wrote the COMPLETE (0: unknown)
  int64_t processing_ns = -1;  // time the call spent in the function (-1: unknown)
  int64_t off_cpu_ns = -1;     // measured voluntary off-CPU time (-1: not measured)
};

class Dispatcher {
 public:
  Dispatcher(const config::FunctionConfig& fn, PoolOptions options);

  const config::FunctionConfig& config() const { return config_; }
  // Held by whoever asks WorkersToStart() and then starts that many workers, so that two
  // threads (start-up, a launcher connecting, the tick) cannot both act on the same count.
  std::mutex& start_mutex() { return start_mu_; }
  bool managed() const { return managed_; }

  enum class AdmitResult { kDispatchNow, kQueued, kQueueFull, kCrashLooping };
  // Admits a new call: queues it and, if the target allows and a worker is idle, assigns
  // the head of the queue (this call, unless older ones wait) to it (kDispatchNow, *out);
  // or it stays queued (kQueued; *out may then hold a prefetch to send); or it is refused.
  AdmitResult Admit(uint64_t call_id, int64_t now_ns, Assignment* out);

  // The worker finished `call_id` (completed = true: its running time feeds the
  // estimate), or said hello (call_id 0, worker starting). Anything else -- a stray or
  // repeated completion from a misbehaving worker -- is ignored. If the worker had a
  // prefetched call, it is running that one now and stays busy. Otherwise, fills *out and
  // returns true if the worker must run a queued call next; else it goes on the idle
  // stack. `is_live(call_id)` filters out queued calls already answered.
  template <typename IsLive>
  bool OnWorkerFree(const std::shared_ptr<WorkerChannel>& w, uint64_t call_id, int64_t now_ns,
                    bool completed, IsLive is_live, Assignment* out, const CallReport& report = {});
  // The DISPATCH of `a` could not be sent (the call was answered after it was assigned):
  // the worker never gets it. Fills *out and returns true if the worker must get another
  // call instead (as OnWorkerFree).
  template <typename IsLive>
  bool OnDispatchRefused(const Assignment& a, int64_t now_ns, IsLive is_live, Assignment* out);
  // Pairs idle workers with queued calls while the target allows (after the target rose,
  // or a running worker blocked on a child call), then hands running workers their
  // prefetched call where prefetch applies.
  template <typename IsLive>
  std::vector<Assignment> TakeDispatchable(int64_t now_ns, IsLive is_live);

  // A busy worker of this function, running `parent_call`, started / finished waiting for
  // a child call. Ignored if the worker has moved on to another call.
  void OnChildStarted(WorkerChannel* w, uint64_t parent_call, int64_t now_ns);
  void OnChildFinished(WorkerChannel* w, uint64_t parent_call, int64_t now_ns);
  // The worker's call (running or prefetched) was answered without it (deadline). A
  // running one no longer counts as running until the worker finishes, so new calls are
  // not held behind abandoned work, and its running time does not feed the estimate (it
  // says nothing about the function's normal calls); a prefetched one stops counting as
  // queued (the worker skips it: its deadline has passed). Ignored for other calls.
  void OnCallAbandoned(WorkerChannel* w, uint64_t call);
  // The worker sent back the call it had been sent ahead (kDispatchReturned: it waits on
  // its own children). `live`: the call still needs an answer; it then goes back to the
  // head of the queue. False if it was not the worker's prefetched call.
  bool OnPrefetchReturned(WorkerChannel* w, uint64_t call_id, bool live);
  // A queued call was answered without running (its deadline passed): it leaves the
  // queue at once, freeing its slot under max_queue. False if it was not queued (already
  // handed to a worker, or never queued).
  bool Withdraw(uint64_t call_id);

  // Direct dispatch. SetBoard: once, before any worker starts (none: the function takes
  // no direct calls).
  void SetBoard(std::unique_ptr<ipc::DispatchBoard> board);
  bool has_board() const { return board_ != nullptr; }
  // A caller's DIRECT_NOTICE: `w` was claimed for `call_id`. Marks it busy with the call
  // unless already known. False if `w` cannot be running it (gone, or busy with another
  // call; the engine then answers the call itself).
  bool OnDirectClaim(WorkerChannel* w, uint64_t call_id, int64_t now_ns);
  // The claim `call_id` on `w` ended without the call reaching the worker (its caller
  // could not deliver it, or died first): the worker is free again; as OnWorkerFree.
  template <typename IsLive>
  bool ReleaseClaim(const std::shared_ptr<WorkerChannel>& w, uint64_t call_id, int64_t now_ns,
                    IsLive is_live, Assignment* out);
  // Whether `w` still holds the claim `call_id`: claimed while offered (the engine has not
  // heard of it), or busy with it and not abandoned. A direct completion with no record is
  // an early one only then; otherwise it is late (its call answered by its deadline).
  bool HoldsClaim(WorkerChannel* w, uint64_t call_id);
  // The workers now claimed by calls of client `worker_id` (a caller that died), with
  // each claim.
  std::vector<std::pair<std::shared_ptr<WorkerChannel>, uint64_t>> ClaimsOf(uint32_t worker_id);

  // Pool management.
  void AddStarting(std::shared_ptr<WorkerChannel> w);
  // Removes a worker that died or is being reaped; returns the call it was running (0
  // none) and, in *prefetched, the call it had been sent ahead (0 none).
  uint64_t RemoveWorker(WorkerChannel* w, int64_t now_ns, uint64_t* prefetched = nullptr);
  // The channels of the workers that have not said hello yet.
  std::vector<uint64_t> StartingChannels();
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
    size_t queued = 0;      // waiting: in the queue, or prefetched and not started
    size_t prefetched = 0;  // of which prefetched
    uint32_t target = 0;
    double rate = 0, running_time_s = 0, cpu_share = 1;
    uint32_t cpu_bound = 0;
    int64_t backoff_ms = 0;
    // Hand-off gap between back-to-back calls of one worker (HandoffStats).
    int offered = 0;  // idle workers offered for direct dispatch
    uint64_t handoffs = 0;
    double handoff_mean_us = 0, handoff_p50_us = 0, handoff_p99_us = 0;
  };
  Stats GetStats(int64_t now_ns);
  int ready_workers();

  std::atomic<uint64_t> calls_ok{0}, calls_failed{0}, calls_timed_out{0};
  std::atomic<uint64_t> calls_direct{0};  // of all calls, those a caller dispatched itself

 private:
  // Callers hold mu_.
  bool CanRunMoreLocked(int64_t now_ns) const;
  uint32_t TargetLocked(int64_t now_ns) const;
  void MarkBusyLocked(WorkerChannel* w, uint64_t call_id, int64_t now_ns);
  // The worker's current call ended (completed, or never received): accounting, and the
  // hand-off statistics. Leaves the worker busy with its prefetched call if it has one
  // (returns true), else not busy (the caller decides: next call or idle).
  bool EndCallLocked(WorkerChannel* w, int64_t now_ns, bool completed, const CallReport& report);
  template <typename IsLive>
  bool NextOrIdleLocked(const std::shared_ptr<WorkerChannel>& w, int64_t now_ns, bool took_over,
                        IsLive is_live, Assignment* out);
  // The running worker that should receive the head of the queue ahead of time, or
  // nullptr when prefetch does not apply now (disabled, nothing waits, an idle worker may
  // take the call, calls too long, no running worker without a prefetched call).
  std::shared_ptr<WorkerChannel> PrefetchTargetLocked(int64_t now_ns);
  // Sends the head of the queue ahead to the PrefetchTargetLocked() worker; false if none.
  template <typename IsLive>
  bool PrefetchLocked(int64_t now_ns, IsLive is_live, Assignment* out);
  template <typename IsLive>
  uint64_t PopLiveLocked(IsLive is_live);
  // The warmest idle worker that is the engine's to use (its offer taken back), or
  // nullptr. Idle workers found claimed on the way become busy with their claim.
  std::shared_ptr<WorkerChannel> PopIdleLocked(int64_t now_ns);
  // Takes w's offer back: 0 if w is the engine's now, else the claim that won.
  uint64_t TakeBackOfferLocked(WorkerChannel* w);
  // An idle worker found claimed: busy with the claimant's call from now on.
  void MarkClaimedLocked(WorkerChannel* w, uint64_t claim, int64_t now_ns);
  // Offers an idle worker if nothing is queued and the target leaves room.
  void OfferLocked(WorkerChannel* w, int64_t now_ns);
  // Offers and takes back offers as the target moved (managed), then offers the rest.
  void BalanceOffersLocked(int64_t now_ns);
  // Puts a worker on the idle stack (and offers it).
  void MakeIdleLocked(const std::shared_ptr<WorkerChannel>& w, int64_t now_ns);
  void FreeBoardSlotLocked(WorkerChannel* w);
  // Whether a busy worker is held back from counting as running (blocked on a child call,
  // or its call was abandoned); updates blocked_ after `change` mutates the worker.
  template <typename Change>
  void UpdateBlockedLocked(WorkerChannel* w, int64_t now_ns, Change change);

  const config::FunctionConfig& config_;
  const PoolOptions options_;
  const bool managed_;
  std::mutex mu_;
  std::mutex start_mu_;  // see start_mutex(); taken before mu_, never inside it
  ConcurrencyEstimator estimator_;
  std::vector<std::shared_ptr<WorkerChannel>> workers_;  // all live workers
  std::vector<std::shared_ptr<WorkerChannel>> idle_;     // LIFO
  std::deque<uint64_t> pending_;                          // FIFO of call ids
  int busy_ = 0;
  int blocked_ = 0;     // busy workers waiting on a child call, or running abandoned work
  int prefetched_ = 0;  // live (not abandoned) prefetched calls not yet started
  int64_t last_spawn_request_ns_ = 0;
  int start_failures_ = 0;
  int64_t backoff_until_ns_ = 0;
  HandoffStats handoff_;
  std::unique_ptr<ipc::DispatchBoard> board_;
  std::vector<bool> board_slot_used_;
  int offered_ = 0;
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

template <typename Change>
void Dispatcher::UpdateBlockedLocked(WorkerChannel* w, int64_t now_ns, Change change) {
  const bool before = w->children > 0 || w->abandoned;
  const bool waiting = w->children > 0;
  change();
  const bool after = w->children > 0 || w->abandoned;
  blocked_ += static_cast<int>(after) - static_cast<int>(before);
  // Time spent waiting on children: not part of the call's active (CPU-relevant) time.
  if (!waiting && w->children > 0) w->children_since_ns = now_ns;
  if (waiting && w->children == 0) w->children_ns += now_ns - w->children_since_ns;
}

template <typename IsLive>
bool Dispatcher::NextOrIdleLocked(const std::shared_ptr<WorkerChannel>& w, int64_t now_ns,
                                  bool took_over, IsLive is_live, Assignment* out) {
  if (CanRunMoreLocked(now_ns)) {
    if (uint64_t id = PopLiveLocked(is_live)) {
      MarkBusyLocked(w.get(), id, now_ns);
      w->back_to_back = took_over && w->prev_end_ns > 0;
      *out = Assignment{w, id, false};
      return true;
    }
  }
  MakeIdleLocked(w, now_ns);
  return false;
}

template <typename IsLive>
bool Dispatcher::OnWorkerFree(const std::shared_ptr<WorkerChannel>& w, uint64_t call_id,
                              int64_t now_ns, bool completed, IsLive is_live, Assignment* out,
                              const CallReport& report) {
  std::lock_guard<std::mutex> lock(mu_);
  const bool hello = w->state == WorkerChannel::State::kStarting && call_id == 0;
  const bool done =
      w->state == WorkerChannel::State::kBusy && w->current_call == call_id && call_id != 0;
  if (!hello && !done) {
    // A direct call that ended before its caller's notice reached the engine: the worker
    // is still on the idle stack, claimed; it is free again.
    if (w->state == WorkerChannel::State::kIdle && w->offered && call_id != 0 &&
        board_->Reset(w->board_slot, call_id)) {
      w->offered = false;
      --offered_;
      estimator_.OnArrival(now_ns);
      if (completed && report.processing_ns >= 0) {
        estimator_.OnCompletion(now_ns, report.processing_ns, 0, report.off_cpu_ns);
      }
      // Just used: the warmest again, and not idle since before the call.
      auto it = std::find(idle_.begin(), idle_.end(), w);
      if (it != idle_.end()) idle_.erase(it);
      MakeIdleLocked(w, now_ns);
    }
    return false;
  }
  if (done && EndCallLocked(w.get(), now_ns, completed, report)) {
    // It runs its prefetched call now; hand a worker the next one ahead if calls wait.
    return PrefetchLocked(now_ns, is_live, out);
  }
  return NextOrIdleLocked(w, now_ns, done, is_live, out);
}

template <typename IsLive>
bool Dispatcher::OnDispatchRefused(const Assignment& a, int64_t now_ns, IsLive is_live,
                                   Assignment* out) {
  std::lock_guard<std::mutex> lock(mu_);
  WorkerChannel* w = a.worker.get();
  if (w->state != WorkerChannel::State::kBusy) return false;
  if (w->next_call == a.call_id) {  // a prefetch that never left: forget it
    if (!w->next_abandoned) --prefetched_;
    w->next_call = 0;
    w->next_abandoned = false;
    return false;
  }
  if (w->current_call != a.call_id) return false;
  // The worker never received its current call (possibly a prefetched one promoted
  // meanwhile): it is free, unless it has a prefetched call of its own.
  if (EndCallLocked(w, now_ns, false, CallReport{})) return false;
  return NextOrIdleLocked(a.worker, now_ns, false, is_live, out);
}

template <typename IsLive>
std::vector<Assignment> Dispatcher::TakeDispatchable(int64_t now_ns, IsLive is_live) {
  std::vector<Assignment> out;
  std::lock_guard<std::mutex> lock(mu_);
  while (!idle_.empty() && !pending_.empty() && CanRunMoreLocked(now_ns)) {
    std::shared_ptr<WorkerChannel> w = PopIdleLocked(now_ns);
    if (w == nullptr) break;
    uint64_t id = PopLiveLocked(is_live);
    if (id == 0) {
      MakeIdleLocked(w, now_ns);
      break;
    }
    MarkBusyLocked(w.get(), id, now_ns);
    out.push_back(Assignment{std::move(w), id, false});
  }
  for (Assignment a; PrefetchLocked(now_ns, is_live, &a);) out.push_back(std::move(a));
  BalanceOffersLocked(now_ns);
  return out;
}

template <typename IsLive>
bool Dispatcher::ReleaseClaim(const std::shared_ptr<WorkerChannel>& w, uint64_t call_id,
                              int64_t now_ns, IsLive is_live, Assignment* out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (w->state == WorkerChannel::State::kIdle && w->offered &&
      board_->Reset(w->board_slot, call_id)) {
    w->offered = false;
    --offered_;
    OfferLocked(w.get(), now_ns);
    return false;
  }
  if (w->state != WorkerChannel::State::kBusy || w->current_call != call_id) return false;
  if (EndCallLocked(w.get(), now_ns, false, CallReport{})) return PrefetchLocked(now_ns, is_live, out);
  return NextOrIdleLocked(w, now_ns, false, is_live, out);
}

template <typename IsLive>
bool Dispatcher::PrefetchLocked(int64_t now_ns, IsLive is_live, Assignment* out) {
  std::shared_ptr<WorkerChannel> t = PrefetchTargetLocked(now_ns);
  if (t == nullptr) return false;
  uint64_t id = PopLiveLocked(is_live);
  if (id == 0) return false;
  t->next_call = id;
  t->next_abandoned = false;
  ++prefetched_;
  *out = Assignment{std::move(t), id, true};
  return true;
}

}  // namespace nightjar::engine
