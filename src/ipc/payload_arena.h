// PayloadArena: a persistent shared-memory file of fixed slots that carries payloads of
// 937 bytes (kInlinePayloadSize + 1) to 64 KiB between processes at the cost of one copy in and one
// copy out (docs/performance.md F4: a region file per payload costs ~25 µs in system calls and
// tmpfs inode churn; issue #16 item 3).
//
// Each native (C/C++) worker's channel, and the engine as owner 0, has one arena, created
// by the engine with the channel and written only by its owner: the owner claims a free slot with a
// CAS of the slot's tag from 0 to the message's call id, copies the payload in, and sends
// the message with kFlagPayloadInArena and an ArenaRef {owner, slot} in its inline
// payload bytes. The reader checks that the slot's tag still is the call id, copies the
// payload out, and frees the slot with a CAS of the tag back to 0. The pipe write and
// read between the two copies order them (both are system calls on the same pipe).
//
// Who frees a slot: the reader that consumes or drops the message; the engine, for a
// message it knows nobody will read (a queued call that timed out, a callee that died
// before reading its input, a late completion). A slot whose reader died without the
// engine's knowledge stays used until its owner's arena goes (the owner then falls back to
// region files once all slots are used); tags carry call ids, so a free never frees a
// slot that was reused for another call.
//
// Layout: a 4 KiB header page (magic, slot count, slot size, then one 64-bit tag per
// slot), then the slots. Pages are touched only when used: an arena costs memory for the
// payloads it has carried, not for its size.
//
// Thread rule: Claim/Release/Read are safe from any thread of any process that maps the
// arena (tags are atomics). Owned by the creator of the object; the mapping goes with it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/status.h"
#include "ipc/ipc_root.h"
#include "proto/message.h"

namespace nightjar::ipc {

// Where an arena payload is: the first bytes of the message's inline payload area.
struct ArenaRef {
  uint64_t owner;  // the owning channel; 0 = the engine
  uint32_t slot;
  uint32_t reserved;
};
static_assert(sizeof(ArenaRef) == 16);
static_assert(std::is_trivially_copyable_v<ArenaRef>);

class PayloadArena {
 public:
  static constexpr uint32_t kSlotBytes = 64 * 1024;
  static constexpr uint32_t kChannelSlots = 16;   // a worker rarely has more big payloads out
  static constexpr uint32_t kEngineSlots = 256;   // external inputs in flight

  // Creates the arena file at `path` (O_EXCL, mode 0600) with `slots` slots and maps it.
  // Fails with errno (EEXIST included).
  static Result<std::unique_ptr<PayloadArena>> Create(const std::string& path, uint32_t slots);
  // Maps an existing arena. Fails with errno, or when the file is not a well-formed arena
  // (its header is checked against its size: the file is shared with untrusted workers).
  static Result<std::unique_ptr<PayloadArena>> Map(const std::string& path);

  ~PayloadArena();
  PayloadArena(const PayloadArena&) = delete;
  PayloadArena& operator=(const PayloadArena&) = delete;

  uint32_t slots() const { return slots_; }

  // Owner only: copies `data` (at most kSlotBytes) into a free slot tagged `tag` (a call
  // id, never 0) and returns the slot; nullopt when every slot is in use.
  std::optional<uint32_t> Put(uint64_t tag, std::string_view data);
  // Copies out `size` bytes of `slot` if it is tagged `tag`, then frees it. Fails when
  // the slot or size is out of range or the tag does not match (a stale or forged
  // reference).
  Result<std::string> Take(uint32_t slot, uint64_t tag, uint32_t size);
  // Frees `slot` if it is still tagged `tag`; false otherwise. Never fails.
  bool Release(uint32_t slot, uint64_t tag);
  // Slots in use now (for tests and status).
  uint32_t Used() const;
  // The tag of `slot` now (0: free); for sweeps of slots whose reader is gone.
  uint64_t TagOf(uint32_t slot) const;

 private:
  PayloadArena(struct SharedFile file, uint32_t slots);
  std::atomic<uint64_t>* tag(uint32_t slot) const;
  char* data(uint32_t slot) const;

  void* base_;
  size_t bytes_;
  uint32_t slots_;
};

// The arenas a process reads from, mapped on first use and keyed by owner channel.
// Thread rule: any thread (one mutex; a map lookup per arena payload). Forget() drops a
// mapping (the engine, when a channel's arena file goes).
class ArenaMap {
 public:
  explicit ArenaMap(IpcRoot root, size_t max_mapped = 256)
      : root_(std::move(root)), max_mapped_(max_mapped) {}

  // The arena of `owner`, mapped if needed. Fails as PayloadArena::Map.
  Result<std::shared_ptr<PayloadArena>> Get(uint64_t owner);
  // Registers an arena this process already has (its own, or one it created).
  void Add(uint64_t owner, std::shared_ptr<PayloadArena> arena);
  void Forget(uint64_t owner);

 private:
  IpcRoot root_;
  size_t max_mapped_;
  std::mutex mu_;
  std::unordered_map<uint64_t, std::shared_ptr<PayloadArena>> arenas_;  // guarded by mu_
};

// The payload-writing side of a process: its own arena and owner id, for AttachPayload.
struct ArenaWriter {
  PayloadArena* arena = nullptr;
  uint64_t owner = 0;
};

}  // namespace nightjar::ipc
