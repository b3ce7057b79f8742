// Dispatcher implementation.
#include "engine/dispatcher.h"

#include <algorithm>

namespace nightjar::engine {

Dispatcher::AdmitResult Dispatcher::Admit(uint64_t call_id, size_t max_queue,
                                    std::shared_ptr<WorkerChannel>* worker) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!idle_.empty()) {
    *worker = std::move(idle_.back());
    idle_.pop_back();
    (*worker)->state = WorkerChannel::State::kBusy;
    (*worker)->current_call = call_id;
    return AdmitResult::kDispatchNow;
  }
  if (workers_.empty()) return AdmitResult::kNoWorkers;
  if (pending_.size() >= max_queue) return AdmitResult::kQueueFull;
  pending_.push_back(call_id);
  return AdmitResult::kQueued;
}

void Dispatcher::AddStarting(std::shared_ptr<WorkerChannel> w) {
  std::lock_guard<std::mutex> lock(mu_);
  w->state = WorkerChannel::State::kStarting;
  workers_.push_back(std::move(w));
}

uint64_t Dispatcher::RemoveWorker(WorkerChannel* w) {
  std::lock_guard<std::mutex> lock(mu_);
  if (w->state == WorkerChannel::State::kDead) return 0;
  uint64_t call = w->state == WorkerChannel::State::kBusy ? w->current_call : 0;
  w->state = WorkerChannel::State::kDead;
  w->current_call = 0;
  auto same = [w](const std::shared_ptr<WorkerChannel>& p) { return p.get() == w; };
  idle_.erase(std::remove_if(idle_.begin(), idle_.end(), same), idle_.end());
  workers_.erase(std::remove_if(workers_.begin(), workers_.end(), same), workers_.end());
  return call;
}

int Dispatcher::WorkersToStart() {
  std::lock_guard<std::mutex> lock(mu_);
  int pool = static_cast<int>(std::max<uint32_t>(config_.min_workers, 1));
  return std::max(0, pool - static_cast<int>(workers_.size()));
}

bool Dispatcher::ShouldGrow() {
  std::lock_guard<std::mutex> lock(mu_);
  if (pending_.empty() || !idle_.empty() || workers_.size() >= config_.max_workers) return false;
  for (auto& w : workers_) {
    if (w->state == WorkerChannel::State::kStarting) return false;
  }
  return true;
}

std::vector<uint64_t> Dispatcher::DrainQueue() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<uint64_t> out(pending_.begin(), pending_.end());
  pending_.clear();
  return out;
}

Dispatcher::Stats Dispatcher::GetStats() {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s;
  for (auto& w : workers_) {
    if (w->state == WorkerChannel::State::kStarting) ++s.starting;
    if (w->state == WorkerChannel::State::kIdle) ++s.idle;
    if (w->state == WorkerChannel::State::kBusy) ++s.busy;
  }
  s.queued = pending_.size();
  return s;
}

int Dispatcher::ready_workers() {
  Stats s = GetStats();
  return s.idle + s.busy;
}

}  // namespace nightjar::engine
