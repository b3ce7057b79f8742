// CallTable implementation.
#include "engine/call_table.h"

namespace nightjar::engine {

bool CallTable::Insert(std::unique_ptr<CallRecord>* rec) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t id = (*rec)->call_id;
  auto [it, inserted] = calls_.try_emplace(id);
  if (inserted) it->second = std::move(*rec);
  return inserted;
}

std::unique_ptr<CallRecord> CallTable::Take(uint64_t call_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = calls_.find(call_id);
  if (it == calls_.end()) return nullptr;
  auto rec = std::move(it->second);
  calls_.erase(it);
  return rec;
}

std::unique_ptr<CallRecord> CallTable::TakeIfCallee(uint64_t call_id, uint64_t callee_channel) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = calls_.find(call_id);
  if (it == calls_.end() || it->second->callee_channel != callee_channel) return nullptr;
  auto rec = std::move(it->second);
  calls_.erase(it);
  return rec;
}

bool CallTable::MarkDispatched(uint64_t call_id, uint64_t callee_channel, int64_t now_ns,
                               proto::Message* out) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = calls_.find(call_id);
  if (it == calls_.end()) return false;
  int64_t deadline = it->second->deadline_ns;
  if (deadline != 0 && deadline <= now_ns) return false;
  it->second->callee_channel = callee_channel;
  it->second->dispatched_ns = now_ns;
  *out = it->second->dispatch;
  return true;
}

bool CallTable::MarkReturned(uint64_t call_id, uint64_t callee_channel) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = calls_.find(call_id);
  if (it == calls_.end() || it->second->callee_channel != callee_channel) return false;
  it->second->callee_channel = 0;
  it->second->dispatched_ns = 0;  // it queues again
  return true;
}

bool CallTable::Contains(uint64_t call_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_.count(call_id) != 0;
}

std::vector<std::unique_ptr<CallRecord>> CallTable::TakeAll() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::unique_ptr<CallRecord>> out;
  for (auto& [id, rec] : calls_) out.push_back(std::move(rec));
  calls_.clear();
  return out;
}

size_t CallTable::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_.size();
}

}  // namespace nightjar::engine
