// Payload arenas; see payload_arena.h for the slot protocol and who frees what.
#include "ipc/payload_arena.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "base/fd.h"

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

Result<void*> MapShared(int fd, size_t bytes, const std::string& path) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return Status::FromErrno("mmap payload arena " + path);
  return p;
}

}  // namespace

PayloadArena::PayloadArena(void* base, size_t bytes, uint32_t slots)
    : base_(base), bytes_(bytes), slots_(slots) {}

PayloadArena::~PayloadArena() { ::munmap(base_, bytes_); }

Result<std::unique_ptr<PayloadArena>> PayloadArena::Create(const std::string& path,
                                                           uint32_t slots) {
  if (slots == 0 || slots > kMaxSlots) return InvalidArgument("arena slot count out of range");
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) return Status::FromErrno("create payload arena " + path);
  const size_t bytes = ArenaBytes(slots);
  // ftruncate makes a sparse file: tmpfs allocates a page only when it is first written.
  if (::ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0) {
    Status st = Status::FromErrno("size payload arena " + path);
    ::unlink(path.c_str());
    return st;
  }
  auto p = MapShared(fd.get(), bytes, path);
  if (!p.ok()) {
    ::unlink(path.c_str());
    return p.status();
  }
  auto* h = static_cast<ArenaHeader*>(*p);
  h->slots = slots;
  h->slot_bytes = kSlotBytes;
  h->magic = kMagic;  // readers map only after a message names the arena
  return std::unique_ptr<PayloadArena>(new PayloadArena(*p, bytes, slots));
}

Result<std::unique_ptr<PayloadArena>> PayloadArena::Map(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno("open payload arena " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno("stat payload arena " + path);
  if (static_cast<size_t>(st.st_size) < kHeaderBytes) {
    return InvalidArgument("payload arena " + path + " is too small");
  }
  ArenaHeader h;
  if (::pread(fd.get(), &h, sizeof(h), 0) != static_cast<ssize_t>(sizeof(h)) ||
      h.magic != kMagic || h.slot_bytes != kSlotBytes || h.slots == 0 || h.slots > kMaxSlots ||
      static_cast<size_t>(st.st_size) != ArenaBytes(h.slots)) {
    return InvalidArgument("payload arena " + path + " has a malformed header");
  }
  auto p = MapShared(fd.get(), ArenaBytes(h.slots), path);
  if (!p.ok()) return p.status();
  return std::unique_ptr<PayloadArena>(new PayloadArena(*p, ArenaBytes(h.slots), h.slots));
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
