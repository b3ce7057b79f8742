// Dispatcher implementation (policy described in the header).
#include "engine/dispatcher.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>

namespace nightjar::engine {

namespace {
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kFirstBackoffMs = 100;
}  // namespace

PoolOptions PoolOptions::From(const config::EngineConfig& e) {
  PoolOptions o;
  o.max_queue = e.max_queue;
  o.smoothing_ms = e.smoothing_ms;
  o.spawn_interval_ms = e.spawn_interval_ms;
  o.idle_timeout_ms = e.worker_idle_timeout_ms;
  o.max_crash_backoff_ms = e.max_crash_backoff_ms;
  o.prefetch_max_ns = e.prefetch_max_us * 1000;
  o.cores = e.cpu_limit;
  if (o.cores == 0) {
    // The CPUs this process may run on (taskset, cpuset), else those online.
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) o.cores = CPU_COUNT(&set);
    if (o.cores == 0) o.cores = static_cast<uint32_t>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  }
  return o;
}

Dispatcher::Dispatcher(const config::FunctionConfig& fn, PoolOptions options)
    : config_(fn),
      options_(options),
      managed_(fn.concurrency != "unmanaged"),
      estimator_(fn.concurrency_coef, options.smoothing_ms, fn.min_workers, fn.max_workers,
                 options.cores) {}

uint32_t Dispatcher::TargetLocked(int64_t now_ns) const {
  return managed_ ? estimator_.Target(now_ns, pending_.size()) : config_.max_workers;
}

bool Dispatcher::CanRunMoreLocked(int64_t now_ns) const {
  if (!managed_) return true;
  return static_cast<uint32_t>(busy_ - blocked_) < TargetLocked(now_ns);
}

void Dispatcher::MarkBusyLocked(WorkerChannel* w, uint64_t call_id, int64_t now_ns) {
  w->state = WorkerChannel::State::kBusy;
  w->current_call = call_id;
  w->dispatch_ns = now_ns;
  w->children = 0;
  w->children_ns = 0;
  w->abandoned = false;
  w->back_to_back = false;
  w->claim_unconfirmed = false;
  ++busy_;
}

bool Dispatcher::EndCallLocked(WorkerChannel* w, int64_t now_ns, bool completed,
                               const CallReport& report) {
  // A direct call's claim stays on the board until the call ends (no-op for others).
  if (board_ != nullptr && w->board_slot >= 0) board_->Reset(w->board_slot, w->current_call);
  // A call taken straight after the previous one: the slot's idle time in between.
  if (w->back_to_back && report.sent_ns > 0 && report.processing_ns >= 0) {
    handoff_.Record(report.sent_ns - report.processing_ns - w->prev_end_ns);
  }
  w->prev_end_ns = report.sent_ns;
  w->back_to_back = false;
  if (w->children > 0) w->children_ns += now_ns - w->children_since_ns;
  if (completed && !w->abandoned) {
    estimator_.OnCompletion(now_ns, now_ns - w->dispatch_ns, w->children_ns, report.off_cpu_ns);
  }
  if (w->children > 0 || w->abandoned) --blocked_;
  w->children = 0;
  w->children_ns = 0;
  w->abandoned = false;
  if (w->next_call == 0) {
    --busy_;
    return false;
  }
  // The worker went on to its prefetched call when it wrote this completion.
  w->current_call = w->next_call;
  w->dispatch_ns = now_ns;
  w->abandoned = w->next_abandoned;
  if (w->abandoned) {
    ++blocked_;
  } else {
    --prefetched_;
  }
  w->next_call = 0;
  w->next_abandoned = false;
  w->back_to_back = w->prev_end_ns > 0;
  return true;
}

std::shared_ptr<WorkerChannel> Dispatcher::PrefetchTargetLocked(int64_t now_ns) {
  if (options_.prefetch_max_ns <= 0 || pending_.empty()) return nullptr;
  if (!idle_.empty() && CanRunMoreLocked(now_ns)) return nullptr;  // it can run now
  // Only short calls: a prefetched call waits for its worker's current call, however long
  // that takes, where a queued one goes to whichever worker frees first. Below a few ms
  // the hand-off gap (tens to hundreds of us) is worth that; above, it is not.
  const double running_s = estimator_.RunningTime();
  if (!(running_s > 0) || running_s * 1e9 > static_cast<double>(options_.prefetch_max_ns)) {
    return nullptr;
  }
  // The running worker that has been at its call the longest is likely to finish first.
  const std::shared_ptr<WorkerChannel>* best = nullptr;
  for (auto& w : workers_) {
    if (w->state != WorkerChannel::State::kBusy || w->next_call != 0 || w->children > 0 ||
        w->abandoned || w->claim_unconfirmed) {
      continue;
    }
    if (best == nullptr || w->dispatch_ns < (*best)->dispatch_ns) best = &w;
  }
  return best ? *best : nullptr;
}

Dispatcher::AdmitResult Dispatcher::Admit(uint64_t call_id, int64_t now_ns, Assignment* out) {
  std::lock_guard<std::mutex> lock(mu_);
  estimator_.OnArrival(now_ns);
  if (busy_ + static_cast<int>(idle_.size()) == 0 && now_ns < backoff_until_ns_) {
    return AdmitResult::kCrashLooping;
  }
  if (pending_.size() + static_cast<size_t>(prefetched_) >= options_.max_queue) {
    return AdmitResult::kQueueFull;
  }
  // Queued first, so the target's drain term counts this call among those waiting.
  pending_.push_back(call_id);
  std::shared_ptr<WorkerChannel> w;
  if (!idle_.empty() && CanRunMoreLocked(now_ns) && (w = PopIdleLocked(now_ns)) != nullptr &&
      CanRunMoreLocked(now_ns)) {
    // The head, normally this call. A head already answered is caught when its
    // DISPATCH is refused (Engine::SendDispatch).
    uint64_t id = pending_.front();
    pending_.pop_front();
    MarkBusyLocked(w.get(), id, now_ns);
    *out = Assignment{std::move(w), id, false};
    return AdmitResult::kDispatchNow;
  }
  if (w != nullptr) MakeIdleLocked(w, now_ns);  // claims on the way used up the target
  BalanceOffersLocked(now_ns);  // calls wait: direct callers may not pass them
  PrefetchLocked(
      now_ns, [](uint64_t) { return true; }, out);
  return AdmitResult::kQueued;
}

void Dispatcher::OnChildStarted(WorkerChannel* w, uint64_t parent_call, int64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  if (w->state != WorkerChannel::State::kBusy || w->current_call != parent_call) return;
  UpdateBlockedLocked(w, now_ns, [w] { ++w->children; });
}

void Dispatcher::OnChildFinished(WorkerChannel* w, uint64_t parent_call, int64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  if (w->state != WorkerChannel::State::kBusy || w->current_call != parent_call ||
      w->children == 0) {
    return;
  }
  UpdateBlockedLocked(w, now_ns, [w] { --w->children; });
}

void Dispatcher::OnCallAbandoned(WorkerChannel* w, uint64_t call) {
  std::lock_guard<std::mutex> lock(mu_);
  if (w->state != WorkerChannel::State::kBusy || call == 0) return;
  if (w->current_call == call) {
    UpdateBlockedLocked(w, 0, [w] { w->abandoned = true; });
  } else if (w->next_call == call && !w->next_abandoned) {
    w->next_abandoned = true;  // the worker skips it; its queue slot is free now
    --prefetched_;
  }
}

bool Dispatcher::OnPrefetchReturned(WorkerChannel* w, uint64_t call_id, bool live) {
  std::lock_guard<std::mutex> lock(mu_);
  if (w->state != WorkerChannel::State::kBusy || w->next_call != call_id || call_id == 0) {
    return false;
  }
  if (!w->next_abandoned) --prefetched_;
  w->next_call = 0;
  w->next_abandoned = false;
  if (live) pending_.push_front(call_id);  // it was at the head when it was sent ahead
  return true;
}

bool Dispatcher::Withdraw(uint64_t call_id) {
  std::lock_guard<std::mutex> lock(mu_);
  // Calls usually expire in arrival order (most share their function's timeout), so the
  // one to remove is at or near the front: the search is short in practice.
  auto it = std::find(pending_.begin(), pending_.end(), call_id);
  if (it == pending_.end()) return false;
  pending_.erase(it);
  return true;
}

void Dispatcher::AddStarting(std::shared_ptr<WorkerChannel> w) {
  std::lock_guard<std::mutex> lock(mu_);
  w->state = WorkerChannel::State::kStarting;
  w->board_slot = -1;
  w->offered = false;
  for (size_t i = 0; i < board_slot_used_.size(); ++i) {
    if (!board_slot_used_[i]) {
      board_slot_used_[i] = true;
      w->board_slot = static_cast<int>(i);
      break;
    }
  }
  workers_.push_back(std::move(w));
}

uint64_t Dispatcher::RemoveWorker(WorkerChannel* w, int64_t now_ns, uint64_t* prefetched) {
  std::lock_guard<std::mutex> lock(mu_);
  if (prefetched != nullptr) *prefetched = 0;
  if (w->state == WorkerChannel::State::kDead) return 0;
  uint64_t call = 0;
  if (w->state == WorkerChannel::State::kBusy) {
    call = w->current_call;
    if (prefetched != nullptr) *prefetched = w->next_call;
    if (w->next_call != 0 && !w->next_abandoned) --prefetched_;
    w->next_call = 0;
    w->next_abandoned = false;
    --busy_;
    if (w->children > 0 || w->abandoned) --blocked_;
    if (!w->abandoned) estimator_.OnCompletion(now_ns, now_ns - w->dispatch_ns);
  }
  FreeBoardSlotLocked(w);
  w->state = WorkerChannel::State::kDead;
  w->current_call = 0;
  w->children = 0;
  w->abandoned = false;
  auto same = [w](const std::shared_ptr<WorkerChannel>& p) { return p.get() == w; };
  idle_.erase(std::remove_if(idle_.begin(), idle_.end(), same), idle_.end());
  workers_.erase(std::remove_if(workers_.begin(), workers_.end(), same), workers_.end());
  return call;
}

std::vector<uint64_t> Dispatcher::StartingChannels() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<uint64_t> out;
  for (const auto& w : workers_) {
    if (w->state == WorkerChannel::State::kStarting) out.push_back(w->channel());
  }
  return out;
}

int Dispatcher::WorkersToStart(int64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  if (now_ns < backoff_until_ns_) return 0;
  int live = static_cast<int>(workers_.size());
  int base = static_cast<int>(std::max<uint32_t>(config_.min_workers, 1));
  if (live < base) return base - live;
  // Growth: calls wait, nothing idle or starting, and the effective pool (live workers
  // not blocked on children) is below the target. The interval check lets a request
  // through once the interval *has* passed (Nightcore's released code had it inverted).
  if ((pending_.empty() && prefetched_ == 0) || !idle_.empty()) return 0;
  if (static_cast<uint32_t>(live) >= config_.max_workers) return 0;
  for (auto& w : workers_) {
    if (w->state == WorkerChannel::State::kStarting) return 0;
  }
  if (static_cast<uint32_t>(live - blocked_) >= TargetLocked(now_ns)) return 0;
  if (last_spawn_request_ns_ != 0 &&
      now_ns - last_spawn_request_ns_ < options_.spawn_interval_ms * kMs) {
    return 0;
  }
  last_spawn_request_ns_ = now_ns;
  return 1;
}

std::vector<std::shared_ptr<WorkerChannel>> Dispatcher::TakeIdleToReap(int64_t now_ns) {
  std::vector<std::shared_ptr<WorkerChannel>> out;
  std::lock_guard<std::mutex> lock(mu_);
  size_t keep = std::max<uint32_t>(config_.min_workers, 1);
  // The idle stack is LIFO, so its bottom holds the workers idle the longest.
  while (workers_.size() > keep && !idle_.empty() &&
         now_ns - idle_.front()->idle_since_ns > options_.idle_timeout_ms * kMs) {
    std::shared_ptr<WorkerChannel> w = idle_.front();
    idle_.erase(idle_.begin());
    if (uint64_t claim = TakeBackOfferLocked(w.get())) {
      MarkClaimedLocked(w.get(), claim, now_ns);  // a caller just gave it work: not idle
      continue;
    }
    FreeBoardSlotLocked(w.get());
    w->state = WorkerChannel::State::kDead;
    workers_.erase(std::remove(workers_.begin(), workers_.end(), w), workers_.end());
    out.push_back(std::move(w));
  }
  return out;
}

void Dispatcher::OnStartFailure(int64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  int shift = std::min(start_failures_, 20);
  int64_t backoff = std::min<int64_t>(kFirstBackoffMs << shift, options_.max_crash_backoff_ms);
  ++start_failures_;
  backoff_until_ns_ = now_ns + backoff * kMs;
}

void Dispatcher::OnStarted() {
  std::lock_guard<std::mutex> lock(mu_);
  start_failures_ = 0;
  backoff_until_ns_ = 0;
}

bool Dispatcher::crash_looping(int64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  return start_failures_ > 0 && busy_ + static_cast<int>(idle_.size()) == 0 &&
         now_ns < backoff_until_ns_;
}

std::vector<uint64_t> Dispatcher::DrainQueue() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<uint64_t> out(pending_.begin(), pending_.end());
  pending_.clear();
  return out;
}

void Dispatcher::SetBoard(std::unique_ptr<ipc::DispatchBoard> board) {
  std::lock_guard<std::mutex> lock(mu_);
  board_slot_used_.assign(board ? board->slots() : 0, false);
  board_ = std::move(board);
}

std::shared_ptr<WorkerChannel> Dispatcher::PopIdleLocked(int64_t now_ns) {
  while (!idle_.empty()) {
    std::shared_ptr<WorkerChannel> w = std::move(idle_.back());
    idle_.pop_back();
    if (uint64_t claim = TakeBackOfferLocked(w.get())) {
      MarkClaimedLocked(w.get(), claim, now_ns);
      continue;
    }
    return w;
  }
  return nullptr;
}

uint64_t Dispatcher::TakeBackOfferLocked(WorkerChannel* w) {
  if (!w->offered) return 0;
  w->offered = false;
  --offered_;
  return board_->Revoke(static_cast<uint32_t>(w->board_slot));
}

void Dispatcher::MarkClaimedLocked(WorkerChannel* w, uint64_t claim, int64_t now_ns) {
  estimator_.OnArrival(now_ns);
  MarkBusyLocked(w, claim, now_ns);
  w->claim_unconfirmed = true;
}

void Dispatcher::OfferLocked(WorkerChannel* w, int64_t now_ns) {
  if (board_ == nullptr || w->board_slot < 0 || w->offered || !pending_.empty()) return;
  if (managed_ && static_cast<uint32_t>(busy_ - blocked_ + offered_) >= TargetLocked(now_ns)) {
    return;
  }
  if (board_->Offer(static_cast<uint32_t>(w->board_slot), w->channel())) {
    w->offered = true;
    ++offered_;
  }
}

void Dispatcher::BalanceOffersLocked(int64_t now_ns) {
  if (board_ == nullptr) return;
  // Too many offers for the target (it fell, or calls queue): take back the coldest.
  const bool queued = !pending_.empty();
  for (size_t i = 0; i < idle_.size() && offered_ > 0;) {
    const uint32_t room = TargetLocked(now_ns);
    const bool over = managed_ && static_cast<uint32_t>(busy_ - blocked_ + offered_) > room;
    if (!queued && !over) break;
    WorkerChannel* w = idle_[i].get();
    if (!w->offered) {
      ++i;
      continue;
    }
    if (uint64_t claim = TakeBackOfferLocked(w)) {
      std::shared_ptr<WorkerChannel> keep = std::move(idle_[i]);
      idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
      MarkClaimedLocked(keep.get(), claim, now_ns);
      continue;
    }
    ++i;
  }
  for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) OfferLocked(it->get(), now_ns);
}

void Dispatcher::MakeIdleLocked(const std::shared_ptr<WorkerChannel>& w, int64_t now_ns) {
  w->state = WorkerChannel::State::kIdle;
  w->current_call = 0;
  w->idle_since_ns = now_ns;
  idle_.push_back(w);
  OfferLocked(w.get(), now_ns);
}

void Dispatcher::FreeBoardSlotLocked(WorkerChannel* w) {
  if (board_ == nullptr || w->board_slot < 0) return;
  const auto slot = static_cast<uint32_t>(w->board_slot);
  if (w->offered) {
    w->offered = false;
    --offered_;
  }
  // Whatever the slot holds -- an offer, or a claim the engine will answer with kWorkerDied
  // when the caller's notice names this dead worker -- it is the engine's again.
  if (uint64_t claim = board_->Revoke(slot)) board_->Reset(slot, claim);
  board_slot_used_[slot] = false;
  w->board_slot = -1;
}

bool Dispatcher::OnDirectClaim(WorkerChannel* w, uint64_t call_id, int64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  if (w->state == WorkerChannel::State::kBusy && w->current_call == call_id) {
    w->claim_unconfirmed = false;  // the caller wrote its DISPATCH before this notice
    return true;
  }
  if (w->state != WorkerChannel::State::kIdle || !w->offered ||
      board_->Word(static_cast<uint32_t>(w->board_slot)) != call_id) {
    return false;
  }
  auto it = std::find_if(idle_.begin(), idle_.end(),
                         [w](const std::shared_ptr<WorkerChannel>& p) { return p.get() == w; });
  if (it == idle_.end()) return false;
  idle_.erase(it);
  w->offered = false;
  --offered_;
  estimator_.OnArrival(now_ns);
  MarkBusyLocked(w, call_id, now_ns);
  return true;
}

bool Dispatcher::HoldsClaim(WorkerChannel* w, uint64_t call_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (w->state == WorkerChannel::State::kBusy) return w->current_call == call_id && !w->abandoned;
  return w->state == WorkerChannel::State::kIdle && w->offered &&
         board_->Word(static_cast<uint32_t>(w->board_slot)) == call_id;
}

std::vector<std::pair<std::shared_ptr<WorkerChannel>, uint64_t>> Dispatcher::ClaimsOf(
    uint32_t worker_id) {
  std::vector<std::pair<std::shared_ptr<WorkerChannel>, uint64_t>> out;
  std::lock_guard<std::mutex> lock(mu_);
  if (board_ == nullptr) return out;
  for (auto& w : workers_) {
    if (w->board_slot < 0) continue;
    const uint64_t word = board_->Word(static_cast<uint32_t>(w->board_slot));
    if (word >= ipc::DispatchBoard::kClaimFloor && proto::CallId::ClientId(word) == worker_id) {
      out.emplace_back(w, word);
    }
  }
  return out;
}

Dispatcher::Stats Dispatcher::GetStats(int64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s;
  for (auto& w : workers_) {
    if (w->state == WorkerChannel::State::kStarting) ++s.starting;
  }
  s.idle = static_cast<int>(idle_.size());
  s.offered = offered_;
  s.busy = busy_;
  s.blocked = blocked_;
  s.prefetched = static_cast<size_t>(prefetched_);
  s.queued = pending_.size() + s.prefetched;
  s.target = TargetLocked(now_ns);
  s.rate = estimator_.Rate(now_ns);
  s.running_time_s = estimator_.RunningTime();
  s.cpu_share = estimator_.CpuShare();
  s.cpu_bound = estimator_.CpuBound();
  s.backoff_ms = std::max<int64_t>(0, backoff_until_ns_ - now_ns) / kMs;
  s.handoffs = handoff_.count();
  s.handoff_mean_us = handoff_.mean_ns() / 1e3;
  s.handoff_p50_us = handoff_.PercentileNs(50) / 1e3;
  s.handoff_p99_us = handoff_.PercentileNs(99) / 1e3;
  return s;
}

int Dispatcher::ready_workers() {
  std::lock_guard<std::mutex> lock(mu_);
  return busy_ + static_cast<int>(idle_.size());
}

}  // namespace nightjar::engine
