// Engine: the worker pool's lifecycle -- worker ids and their call-id counters, starting
// workers through the launchers, a worker or launcher that went away, the periodic upkeep
// (reaping idle workers, growth, arena sweeps) and retiring a worker. See engine.h.
#include <algorithm>
#include <mutex>

#include "base/clock.h"
#include "base/logging.h"
#include "engine/engine.h"
#include "engine/launcher_pool.h"
#include "ipc/channel.h"

namespace nightjar::engine {

using ipc::PayloadKind;
using proto::CallId;
using proto::CallStatus;

namespace {
constexpr int64_t kTickMs = 50;  // pool upkeep: reaping, growth, target re-checks
// Gap left between the counters of two successive users of one worker id: calls of the
// dead predecessor still in flight keep their ids unique (proto/message.h, CallId).
constexpr uint32_t kCounterGap = 1u << 20;
}  // namespace

std::shared_ptr<WorkerChannel> Engine::FindChannel(uint64_t channel) {
  std::lock_guard<std::mutex> lock(channels_mu_);
  auto it = channels_.find(channel);
  return it == channels_.end() ? nullptr : it->second;
}

uint16_t Engine::AllocateWorkerId() {
  std::lock_guard<std::mutex> lock(ids_mu_);
  if (!free_ids_.empty()) {
    uint16_t id = free_ids_.back();
    free_ids_.pop_back();
    return id;
  }
  CHECK(max_id_ < CallId::kMaxClientId, "worker id space exhausted (16383 live workers)");
  ++max_id_;
  next_counter_.resize(max_id_ + 1, 0);
  return max_id_;
}

void Engine::ReleaseWorkerId(uint16_t id, uint32_t last_counter) {
  std::lock_guard<std::mutex> lock(ids_mu_);
  next_counter_[id] = last_counter + kCounterGap;
  free_ids_.push_back(id);
}

void Engine::StartWorkers(uint32_t function_id) {
  Dispatcher* d = dispatchers_[function_id].get();
  // Found by the Python runtime's tests: start-up and a launcher's hello both saw an empty
  // pool and each started min_workers workers.
  std::lock_guard<std::mutex> lock(d->start_mutex());
  for (int n = d->WorkersToStart(MonotonicNowNs()); n > 0; --n) {
    if (!StartWorker(d)) return;
  }
}

bool Engine::StartWorker(Dispatcher* d) {
  if (stopping_.load()) return false;
  uint32_t function_id = d->config().id;
  {
    uint16_t wid = AllocateWorkerId();
    uint64_t channel = next_channel_.fetch_add(1);
    auto w = std::make_shared<WorkerChannel>(this, function_id, loops_->Next(), channel, wid);
    {
      std::lock_guard<std::mutex> lock(channels_mu_);
      channels_.emplace(channel, w);
    }
    if (Status st = w->Open(*root_); !st.ok()) {
      NJ_LOG(kError) << "cannot create channel for " << d->config().name << ": " << st.message();
      {
        std::lock_guard<std::mutex> lock(channels_mu_);
        channels_.erase(channel);
      }
      w->loop()->Post([this, w] { w->Close(*root_); });
      ReleaseWorkerId(wid, 0);
      return false;
    }
    CreateArena(function_id, channel);
    if (metrics_) metrics_->function(function_id).worker_starts.Add();
    d->AddStarting(w);
    launchers_->StartWorker(function_id, channel, wid);
  }
  return true;
}

void Engine::OnLauncherReady(uint32_t function_id) { StartWorkers(function_id); }

void Engine::OnLauncherGone(uint32_t function_id, const std::vector<uint64_t>& queued) {
  for (uint64_t channel : dispatchers_[function_id]->StartingChannels()) {
    if (std::find(queued.begin(), queued.end(), channel) == queued.end()) {
      OnWorkerGone(channel, /*start_failure=*/false);
    }
  }
}

void Engine::OnWorkerGone(uint64_t channel, bool start_failure) {
  std::shared_ptr<WorkerChannel> w;
  {
    std::lock_guard<std::mutex> lock(channels_mu_);
    auto it = channels_.find(channel);
    if (it == channels_.end()) return;  // already handled (EOF and launcher report race)
    w = it->second;
    channels_.erase(it);
  }
  Dispatcher* d = dispatchers_[w->function_id()].get();
  int64_t now = MonotonicNowNs();
  bool was_starting = w->state == WorkerChannel::State::kStarting;
  uint64_t prefetched = 0;
  uint64_t call = d->RemoveWorker(w.get(), now, &prefetched);
  w->loop()->Dispatch([this, w] { w->Close(*root_); });
  RetireArena(w->channel());
  // Before its worker id can be reused: claims made by its calls are its own.
  FenceClaimsOf(w->worker_id());
  ReleaseWorkerId(w->worker_id(), w->last_counter());
  // Usually the worker is already dead; when the engine dropped it (bad message, wrong
  // protocol) this makes sure the process goes too.
  launchers_->StopWorker(w->function_id(), w->channel());
  // Read whenever a worker goes, so an OOM kill is blamed on the call that caused it.
  const std::string reason = launchers_->TakeExitReason(w->function_id());
  if (call != 0) {
    // The input may be unread (the worker died first); freeing a slot or region that
    // was consumed is a no-op (slots are tagged with their call id).
    // An internal call's output region may already be in its caller's hands (the callee
    // answered directly, then died before its notice): leave it to the caller; a region
    // nobody takes goes with the IPC root at shutdown.
    if (CallId::ClientId(call) == 0) {
      ipc::RemovePayload(*root_, call, PayloadKind::kOutput);
    }
    FailById(call, CallStatus::kWorkerDied,
             "worker of " + d->config().name + " exited while running the call" + reason,
             /*input_unread=*/true);
  }
  if (prefetched != 0) {
    // Sent ahead and (almost surely) never started; its input is still ours to free.
    FailById(prefetched, CallStatus::kWorkerDied,
             "worker of " + d->config().name + " exited before running the call" + reason,
             /*input_unread=*/true);
  }
  if (stopping_.load()) return;
  if (metrics_) metrics_->function(w->function_id()).worker_crashes.Add();
  // A worker in a container reports its pid in the container's pid namespace.
  const bool boxed = d->config().isolation == "container";
  NJ_LOG(kWarning) << "worker " << w->worker_id() << " of " << d->config().name << " (pid "
                   << w->pid << (boxed ? " in its container" : "") << ") exited"
                   << (call ? " mid-call" : "")
                   << (was_starting ? " before it was ready" : "") << "; replacing it";
  // A worker that dies before saying hello is a start failure: the dispatcher backs off
  // (and fails calls fast while nothing runs) so a broken function cannot spin the CPU.
  if (was_starting && start_failure) d->OnStartFailure(now);
  StartWorkers(w->function_id());
  NotifyReadyChanged();
}

void Engine::Tick() {
  if (stopping_.load()) return;
  int64_t now = MonotonicNowNs();
  ReapArenas(now);
  ExpireEarlyCompletions(now);
  for (size_t id = 1; id < dispatchers_.size(); ++id) {
    Dispatcher* d = dispatchers_[id].get();
    DispatchReady(d);  // the target moves with time as the averages decay
    for (auto& w : d->TakeIdleToReap(now)) RetireWorker(w);
    if (d->crash_looping(now)) {
      for (uint64_t call : d->DrainQueue()) {
        FailById(call, CallStatus::kUnavailable,
                 "function " + d->config().name + " keeps crashing at start; retry later");
      }
    }
    StartWorkers(static_cast<uint32_t>(id));
  }
  loops_->loop(0)->RunAfterMs(kTickMs, [this] { Tick(); });
}

void Engine::RetireWorker(const std::shared_ptr<WorkerChannel>& w) {
  {
    std::lock_guard<std::mutex> lock(channels_mu_);
    channels_.erase(w->channel());
  }
  NJ_LOG(kInfo) << "stopping idle worker " << w->worker_id() << " of "
                << dispatchers_[w->function_id()]->config().name;
  w->loop()->Dispatch([this, w] { w->Close(*root_); });
  RetireArena(w->channel());
  FenceClaimsOf(w->worker_id());
  ReleaseWorkerId(w->worker_id(), w->last_counter());
  launchers_->StopWorker(w->function_id(), w->channel());
}

}  // namespace nightjar::engine
