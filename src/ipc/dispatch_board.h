// DispatchBoard: the shared-memory page through which a caller claims an idle worker of a
// native callee and hands it a call directly -- two pipe hops instead of three
// (docs/architecture.md, "Direct dispatch"; issue #16).
//
// One board per native function, `<root>/board-<function id>`, created by the engine and
// mapped by callers. One slot per worker the function may have:
//
//   slot.word     NONE (0), OFFERED(epoch) (1 <= epoch < 2^52), or a claim: the call id of
//                 the call the worker was given (>= 2^52: call ids carry a non-zero
//                 function id in bits 63..52, so the two ranges never meet).
//   slot.channel  the offered worker's channel.
//
// Transitions, each one compare-and-swap of `word` (so a worker is given away once):
//   engine:  NONE -> OFFERED(e)  Offer(): writes `channel` first; e is new each time (no ABA)
//            OFFERED -> NONE     Revoke(): the engine wants the worker back
//            claim -> NONE       Reset(): the engine learnt the claim ended (or never began)
//   caller:  OFFERED -> call id  Claim()
// The header also carries what a caller needs to make the call as the engine would: the
// callee's timeout and payload limit. Only the engine writes them.
//
// Thread rule: any thread of any process that maps the board; Offer/Revoke/Reset are the
// engine's (one function's Dispatcher, under its lock). Not copyable; the mapping goes
// with the object.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/status.h"

namespace nightjar::ipc {

class DispatchBoard {
 public:
  static constexpr uint32_t kMaxSlots = 4096;
  // Claims are call ids, offers are epochs below this bound.
  static constexpr uint64_t kClaimFloor = uint64_t{1} << 52;

  // Creates the board file (O_EXCL, mode 0600) with `slots` slots, all NONE. Fails with
  // errno, or kInvalidArgument when slots is 0 or above kMaxSlots.
  static Result<std::unique_ptr<DispatchBoard>> Create(const std::string& path, uint32_t slots,
                                                       int64_t timeout_ms,
                                                       uint64_t max_payload_bytes);
  // Maps an existing board. Fails with errno, or when the header does not match the
  // file's size (the file is shared with untrusted workers).
  static Result<std::unique_ptr<DispatchBoard>> Map(const std::string& path);
  ~DispatchBoard();
  DispatchBoard(const DispatchBoard&) = delete;
  DispatchBoard& operator=(const DispatchBoard&) = delete;

  uint32_t slots() const { return slots_; }
  int64_t timeout_ms() const;
  uint64_t max_payload_bytes() const;

  // --- the engine ---
  // Offers the worker on `channel` in `slot` (which must be NONE); false if it is not.
  bool Offer(uint32_t slot, uint64_t channel);
  // Takes an offer back. Returns 0 when the slot is NONE now (revoked, or nothing was
  // offered), else the call id of the claim that won the race.
  uint64_t Revoke(uint32_t slot);
  // Clears a claim the engine has dealt with; false if the slot no longer holds `claim`.
  bool Reset(uint32_t slot, uint64_t claim);
  uint64_t Word(uint32_t slot) const;

  // --- a caller ---
  struct Claimed {
    uint32_t slot;
    uint64_t channel;
  };
  // Claims an offered worker for `call_id` (>= kClaimFloor); nullopt when none is offered.
  std::optional<Claimed> Claim(uint64_t call_id);

 private:
  DispatchBoard(struct SharedFile file, uint32_t slots);
  struct Header;
  struct Slot;
  Header* header() const;
  Slot* slot(uint32_t i) const;

  void* base_;
  size_t bytes_;
  uint32_t slots_;
  uint64_t next_epoch_ = 1;  // the engine's object only
};

}  // namespace nightjar::ipc
