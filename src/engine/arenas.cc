// Engine: the payload arenas it creates for native workers and the sweep that frees slots
// nobody will read. See ipc/payload_arena.h and docs/protocol.md, "Payload arenas".
#include "engine/engine.h"

#include <mutex>

#include "base/clock.h"
#include "base/logging.h"

namespace nightjar::engine {

namespace {
// How often the engine's arena is swept for slots nobody will read (ReapArenas).
constexpr int64_t kArenaSweepNs = 1'000'000'000;
}  // namespace

bool Engine::ReadsArenas(uint32_t function_id) const {
  return function_id != 0 && function_id < dispatchers_.size() &&
         dispatchers_[function_id]->config().runtime == "cpp";
}

void Engine::CreateArena(uint32_t function_id, uint64_t channel) {
  if (!ReadsArenas(function_id)) return;
  auto arena =
      ipc::PayloadArena::Create(root_->ArenaPath(channel), ipc::PayloadArena::kChannelSlots);
  if (!arena.ok()) {
    // The worker then finds no arena and sends its payloads in regions.
    NJ_LOG(kWarning) << "no payload arena for channel " << channel << ": "
                     << arena.status().message();
    return;
  }
  arenas_->Add(channel, std::move(*arena));
}

void Engine::RetireArena(uint64_t channel) {
  auto arena = arenas_->Get(channel);
  if (!arena.ok()) return;  // a runtime worker's channel: it had none
  std::lock_guard<std::mutex> lock(arenas_mu_);
  retired_arenas_.push_back({channel, std::move(*arena), MonotonicNowNs() + arena_linger_ns_});
}

void Engine::ReapArenas(int64_t now_ns) {
  {
    std::lock_guard<std::mutex> lock(arenas_mu_);
    std::erase_if(retired_arenas_, [&](const RetiredArena& r) {
      if (r.arena->Used() != 0 && now_ns < r.until_ns) return false;
      ::unlink(root_->ArenaPath(r.channel).c_str());
      arenas_->Forget(r.channel);
      return true;
    });
  }
  if (now_ns < next_arena_sweep_ns_) return;
  next_arena_sweep_ns_ = now_ns + kArenaSweepNs;
  // An external input's slot is freed by the worker that reads it, or here when its call
  // was answered while the input was unread (a call sent ahead to a worker that then
  // died after the deadline). A worker checks the deadline before reading, so a slot
  // whose call was answered a sweep ago is not read any more.
  for (uint32_t s = 0; s < engine_arena_->slots(); ++s) {
    const uint64_t tag = engine_arena_->TagOf(s);
    if (tag == 0 || calls_.Contains(tag)) {
      stale_engine_tags_[s] = 0;
    } else if (stale_engine_tags_[s] != tag) {
      stale_engine_tags_[s] = tag;
    } else {
      engine_arena_->Release(s, tag);
      stale_engine_tags_[s] = 0;
    }
  }
}

}  // namespace nightjar::engine
