// Payload arenas; see payload_arena.h for the slot protocol and who frees what.
#include "ipc/payload_arena.h"

#include <cstring>

#include "ipc/shared_file.h"

namespace nightjar::ipc {
namespace {

constexpr uint64_t kMagic = 0x616e65726171796eULL;  // "nyqarena", little-endian
constexpr size_t kHeaderBytes = 4096;

struct ArenaHeader {
  uint64_t magic;
  uint32_t slots;
  uint32_t slot_bytes;
  // followed by one std::atomic<uint64_t> tag per slot
};
constexpr size_t kTagsOffset = 64;
constexpr uint32_t kMaxSlots = (kHeaderBytes - kTagsOffset) / sizeof(uint64_t);  // 504
static_assert(PayloadArena::kEngineSlots <= kMaxSlots);
static_assert(std::atomic<uint64_t>::is_always_lock_free, "tags are shared across processes");

size_t ArenaBytes(uint32_t slots) {
  return kHeaderBytes + static_cast<size_t>(slots) * PayloadArena::kSlotBytes;
}

}  // namespace

PayloadArena::PayloadArena(SharedFile file, uint32_t slots)
    : base_(file.base), bytes_(file.bytes), slots_(slots) {}

PayloadArena::~PayloadArena() { UnmapSharedFile(SharedFile{base_, bytes_}); }

Result<std::unique_ptr<PayloadArena>> PayloadArena::Create(const std::string& path,
                                                           uint32_t slots) {
  if (slots == 0 || slots > kMaxSlots) return InvalidArgument("arena slot count out of range");
  auto file = CreateSharedFile(path, ArenaBytes(slots), "payload arena");
  if (!file.ok()) return file.status();
  auto* h = static_cast<ArenaHeader*>(file->base);
  h->slots = slots;
  h->slot_bytes = kSlotBytes;
  h->magic = kMagic;  // readers map only after a message names the arena
  return std::unique_ptr<PayloadArena>(new PayloadArena(*file, slots));
}

Result<std::unique_ptr<PayloadArena>> PayloadArena::Map(const std::string& path) {
  ArenaHeader h;
  auto file = MapSharedFile(
      path, &h, sizeof(h),
      [](const void* p) {
        const auto* h = static_cast<const ArenaHeader*>(p);
        const bool ok = h->magic == kMagic && h->slot_bytes == kSlotBytes && h->slots != 0 &&
                        h->slots <= kMaxSlots;
        return ok ? ArenaBytes(h->slots) : size_t{0};
      },
      "payload arena");
  if (!file.ok()) return file.status();
  return std::unique_ptr<PayloadArena>(new PayloadArena(*file, h.slots));
}

std::atomic<uint64_t>* PayloadArena::tag(uint32_t slot) const {
  return reinterpret_cast<std::atomic<uint64_t>*>(static_cast<char*>(base_) + kTagsOffset) + slot;
}

char* PayloadArena::data(uint32_t slot) const {
  return static_cast<char*>(base_) + kHeaderBytes + static_cast<size_t>(slot) * kSlotBytes;
}

std::optional<uint32_t> PayloadArena::Put(uint64_t tag_value, std::string_view payload) {
  if (tag_value == 0 || payload.size() > kSlotBytes) return std::nullopt;
  // Lowest free slot first, so a worker keeps reusing the same few (already allocated)
  // pages. Acquire: the previous reader's copy-out happens before our copy-in.
  for (uint32_t s = 0; s < slots_; ++s) {
    uint64_t expected = 0;
    if (tag(s)->load(std::memory_order_relaxed) == 0 &&
        tag(s)->compare_exchange_strong(expected, tag_value, std::memory_order_acquire)) {
      std::memcpy(data(s), payload.data(), payload.size());
      return s;
    }
  }
  return std::nullopt;
}

Result<std::string> PayloadArena::Take(uint32_t slot, uint64_t tag_value, uint32_t size) {
  if (slot >= slots_ || size > kSlotBytes) return InvalidArgument("arena reference out of range");
  if (tag_value == 0 || tag(slot)->load(std::memory_order_acquire) != tag_value) {
    return InvalidArgument("arena slot does not hold this call's payload");
  }
  std::string out(data(slot), size);
  Release(slot, tag_value);
  return out;
}

bool PayloadArena::Release(uint32_t slot, uint64_t tag_value) {
  if (slot >= slots_ || tag_value == 0) return false;
  uint64_t expected = tag_value;
  // Release: our copy-out happens before the owner's next copy-in to this slot.
  return tag(slot)->compare_exchange_strong(expected, 0, std::memory_order_release,
                                            std::memory_order_relaxed);
}

uint32_t PayloadArena::Used() const {
  uint32_t n = 0;
  for (uint32_t s = 0; s < slots_; ++s) n += tag(s)->load(std::memory_order_relaxed) != 0;
  return n;
}

uint64_t PayloadArena::TagOf(uint32_t slot) const {
  return slot < slots_ ? tag(slot)->load(std::memory_order_relaxed) : 0;
}

Result<std::shared_ptr<PayloadArena>> ArenaMap::Get(uint64_t owner) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = arenas_.find(owner); it != arenas_.end()) return it->second;
  auto arena = PayloadArena::Map(root_.ArenaPath(owner));
  if (!arena.ok()) return arena.status();
  // Channel ids are never reused, so a mapping stays right for its owner's whole life;
  // the bound only keeps a long-lived reader from collecting the arenas of dead channels.
  if (arenas_.size() >= max_mapped_) arenas_.erase(arenas_.begin());
  std::shared_ptr<PayloadArena> shared = std::move(*arena);
  arenas_.emplace(owner, shared);
  return shared;
}

void ArenaMap::Add(uint64_t owner, std::shared_ptr<PayloadArena> arena) {
  std::lock_guard<std::mutex> lock(mu_);
  arenas_[owner] = std::move(arena);
}

void ArenaMap::Forget(uint64_t owner) {
  std::lock_guard<std::mutex> lock(mu_);
  arenas_.erase(owner);
}

}  // namespace nightjar::ipc
