// Dispatch boards; see dispatch_board.h for the slot states and who moves them.
#include "ipc/dispatch_board.h"

#include "ipc/shared_file.h"

namespace nightjar::ipc {

struct DispatchBoard::Header {
  uint64_t magic;
  uint32_t slots;
  uint32_t reserved;
  int64_t timeout_ms;
  uint64_t max_payload_bytes;
  std::atomic<uint32_t> offered;  // slots now OFFERED: lets a caller skip the scan
  uint32_t reserved2;
  uint64_t pad[3];
};

struct DispatchBoard::Slot {
  std::atomic<uint64_t> word;
  std::atomic<uint64_t> channel;
};

namespace {
constexpr uint64_t kMagic = 0x6472616f62796e;  // "nyboard"
static_assert(std::atomic<uint64_t>::is_always_lock_free, "words are shared across processes");

size_t BoardBytes(uint32_t slots) { return 64 + static_cast<size_t>(slots) * 16; }

bool IsOffer(uint64_t w) { return w != 0 && w < DispatchBoard::kClaimFloor; }

}  // namespace

DispatchBoard::DispatchBoard(SharedFile file, uint32_t slots)
    : base_(file.base), bytes_(file.bytes), slots_(slots) {}

DispatchBoard::~DispatchBoard() { UnmapSharedFile(SharedFile{base_, bytes_}); }

DispatchBoard::Header* DispatchBoard::header() const { return static_cast<Header*>(base_); }

DispatchBoard::Slot* DispatchBoard::slot(uint32_t i) const {
  return reinterpret_cast<Slot*>(static_cast<char*>(base_) + 64) + i;
}

Result<std::unique_ptr<DispatchBoard>> DispatchBoard::Create(const std::string& path,
                                                             uint32_t slots, int64_t timeout_ms,
                                                             uint64_t max_payload_bytes) {
  static_assert(sizeof(Header) == 64 && sizeof(Slot) == 16);
  if (slots == 0 || slots > kMaxSlots) return InvalidArgument("board slot count out of range");
  auto file = CreateSharedFile(path, BoardBytes(slots), "dispatch board");
  if (!file.ok()) return file.status();
  auto* h = static_cast<Header*>(file->base);
  h->slots = slots;
  h->timeout_ms = timeout_ms;
  h->max_payload_bytes = max_payload_bytes;
  h->magic = kMagic;  // callers map only once a worker of theirs exists, after this
  return std::unique_ptr<DispatchBoard>(new DispatchBoard(*file, slots));
}

Result<std::unique_ptr<DispatchBoard>> DispatchBoard::Map(const std::string& path) {
  Header h;
  auto file = MapSharedFile(
      path, &h, sizeof(h),
      [](const void* p) {
        const auto* h = static_cast<const Header*>(p);
        const bool ok = h->magic == kMagic && h->slots != 0 && h->slots <= kMaxSlots;
        return ok ? BoardBytes(h->slots) : size_t{0};
      },
      "dispatch board");
  if (!file.ok()) return file.status();
  return std::unique_ptr<DispatchBoard>(new DispatchBoard(*file, h.slots));
}

int64_t DispatchBoard::timeout_ms() const { return header()->timeout_ms; }
uint64_t DispatchBoard::max_payload_bytes() const { return header()->max_payload_bytes; }

bool DispatchBoard::Offer(uint32_t i, uint64_t channel) {
  if (i >= slots_) return false;
  Slot* s = slot(i);
  if (s->word.load(std::memory_order_relaxed) != 0) return false;
  s->channel.store(channel, std::memory_order_relaxed);
  const uint64_t epoch = next_epoch_++;
  if (next_epoch_ >= kClaimFloor) next_epoch_ = 1;  // after 2^52 offers; never in practice
  // Counted first, so a claim right after the CAS never takes the hint below zero.
  header()->offered.fetch_add(1, std::memory_order_release);
  // Release: a caller that claims this offer (acquire) sees `channel`.
  uint64_t expected = 0;
  if (!s->word.compare_exchange_strong(expected, epoch, std::memory_order_release,
                                       std::memory_order_relaxed)) {
    header()->offered.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

uint64_t DispatchBoard::Revoke(uint32_t i) {
  if (i >= slots_) return 0;
  Slot* s = slot(i);
  uint64_t w = s->word.load(std::memory_order_acquire);
  while (IsOffer(w)) {
    if (s->word.compare_exchange_weak(w, 0, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
      header()->offered.fetch_sub(1, std::memory_order_relaxed);
      return 0;
    }
  }
  return w;  // 0, or the claim that won
}

bool DispatchBoard::Reset(uint32_t i, uint64_t claim) {
  if (i >= slots_ || claim < kClaimFloor) return false;
  uint64_t expected = claim;
  return slot(i)->word.compare_exchange_strong(expected, 0, std::memory_order_acq_rel,
                                               std::memory_order_relaxed);
}

uint64_t DispatchBoard::Word(uint32_t i) const {
  return i < slots_ ? slot(i)->word.load(std::memory_order_acquire) : 0;
}

std::optional<DispatchBoard::Claimed> DispatchBoard::Claim(uint64_t call_id) {
  if (call_id < kClaimFloor) return std::nullopt;
  if (header()->offered.load(std::memory_order_acquire) == 0) return std::nullopt;
  for (uint32_t i = 0; i < slots_; ++i) {
    Slot* s = slot(i);
    uint64_t w = s->word.load(std::memory_order_relaxed);
    if (!IsOffer(w)) continue;
    if (s->word.compare_exchange_strong(w, call_id, std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
      header()->offered.fetch_sub(1, std::memory_order_relaxed);
      return Claimed{i, s->channel.load(std::memory_order_relaxed)};
    }
  }
  return std::nullopt;
}

}  // namespace nightjar::ipc
