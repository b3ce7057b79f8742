// Dispatcher: the per-function scheduler (DESIGN.md §6). Idle workers form a LIFO stack
// (the warmest worker is reused first), pending calls a FIFO queue; a worker that
// finishes a call takes the next pending call directly.
//
// Today the pool is fixed: `min_workers` (at least one) are started ahead of need and a
// dead worker is replaced. Managed concurrency (the Little's-law target) plugs in at
// CanDispatch().
//
// Thread rule: every method may be called from any thread; state is guarded by one
// short per-function lock (no engine-wide lock on the hot path). Methods never block
// and never call back into the Engine while holding the lock.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "config/config.h"
#include "engine/worker_channel.h"

namespace nightjar::engine {

class Dispatcher {
 public:
  explicit Dispatcher(const config::FunctionConfig& fn) : config_(fn) {}

  const config::FunctionConfig& config() const { return config_; }

  enum class AdmitResult { kDispatchNow, kQueued, kQueueFull, kNoWorkers };
  // Admits call `call_id`: either pops an idle worker (returned in *worker, now busy with
  // the call), queues the call, or refuses it.
  AdmitResult Admit(uint64_t call_id, size_t max_queue, std::shared_ptr<WorkerChannel>* worker);

  // The worker finished its call (or just said hello). Returns the next pending call it
  // must run (and marks it busy), or 0 after putting it on the idle stack.
  // `is_live(call_id)` filters out queued calls that were already answered (deadline).
  template <typename IsLive>
  uint64_t OnWorkerFree(const std::shared_ptr<WorkerChannel>& w, IsLive is_live);

  // A worker started (state kStarting) or died. Returns the call it was running (0 none).
  void AddStarting(std::shared_ptr<WorkerChannel> w);
  uint64_t RemoveWorker(WorkerChannel* w);

  // How many more workers should be started to reach the pool size.
  int WorkersToStart();
  // True when calls are queued, no worker is idle or starting, and the pool is below
  // max_workers: one more worker should be started. (Issue #3 replaces this with the
  // concurrency target and a spawn interval.)
  bool ShouldGrow();
  // Calls still queued, removed (shutdown or the pool cannot start).
  std::vector<uint64_t> DrainQueue();

  struct Stats {
    int starting = 0, idle = 0, busy = 0;
    size_t queued = 0;
  };
  Stats GetStats();
  int ready_workers();

 private:
  const config::FunctionConfig& config_;
  std::mutex mu_;
  std::vector<std::shared_ptr<WorkerChannel>> workers_;  // all live workers
  std::vector<std::shared_ptr<WorkerChannel>> idle_;     // LIFO
  std::deque<uint64_t> pending_;                          // FIFO of call ids
};

template <typename IsLive>
uint64_t Dispatcher::OnWorkerFree(const std::shared_ptr<WorkerChannel>& w, IsLive is_live) {
  std::lock_guard<std::mutex> lock(mu_);
  if (w->state == WorkerChannel::State::kDead) return 0;
  while (!pending_.empty()) {
    uint64_t id = pending_.front();
    pending_.pop_front();
    if (!is_live(id)) continue;
    w->state = WorkerChannel::State::kBusy;
    w->current_call = id;
    return id;
  }
  w->state = WorkerChannel::State::kIdle;
  w->current_call = 0;
  idle_.push_back(w);
  return 0;
}

}  // namespace nightjar::engine
