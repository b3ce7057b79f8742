// Message channel primitives: named FIFOs carrying fixed 1024-byte messages, with large
// payloads in persistent payload arenas between native processes (ipc/payload_arena.h,
// which states its own rules) and in shared-memory regions otherwise (DESIGN.md §3,
// docs/protocol.md).
//
// Shared-memory region rules (who creates, who deletes):
//   * The sender of a message whose payload exceeds kInlinePayloadSize (936) bytes creates
//     the region (<call id>.in for kInvoke/kDispatch input, <call id>.out for kComplete output),
//     writes it with write(2) (no zero-fill), closes it, then sends the message.
//   * The receiver that consumes the payload deletes the region (TakePayload).
//   * A receiver that drops a message (late or duplicate completion) deletes it too
//     (DiscardPayload).
//   * When a call fails without its payload being consumed (worker died, timeout), the
//     engine deletes that call's input region, and the output region of an external call
//     (an internal call's output may already be its caller's). Whatever remains is removed
//     with the instance directory when the engine stops.
// Thread rule: free functions, safe from any thread; a message write is atomic.
#pragma once

#include <string>
#include <string_view>

#include "base/fd.h"
#include "base/status.h"
#include "ipc/ipc_root.h"
#include "ipc/payload_arena.h"
#include "proto/message.h"

namespace nightjar::ipc {

// Creates a FIFO at `path` (mode 0600). Fails with errno (EEXIST included).
Status MakeFifo(const std::string& path);
// open(2) on a FIFO with `flags` (O_CLOEXEC added). Fails with errno, e.g. ENXIO when
// opening the write end non-blocking while nobody reads.
Result<UniqueFd> OpenFifo(const std::string& path, int flags);

// Fills msg's payload: inline when it fits; else in a slot of `arena` when one is given,
// the payload fits a slot and a slot is free (kFlagPayloadInArena); else a shm region
// named after msg.header.call_id and `kind` (kFlagPayloadInShm). Sets payload_size and
// the flags. Fails when the region cannot be written (errno in the message).
Status AttachPayload(const IpcRoot& root, PayloadKind kind, std::string_view payload,
                     proto::Message* msg, ArenaWriter arena = {});

// Writes one whole message (atomic). Stamps send_ts_ns. Returns kUnavailable with
// errno EAGAIN / EPIPE / ENXIO text when the pipe is full or has no reader; retries EINTR.
Status WriteMessage(int fd, proto::Message* msg);

enum class ReadStatus { kMessage, kEof, kWouldBlock, kError };
// Reads exactly one message (blocking or not, per the fd's mode).
ReadStatus ReadMessage(int fd, proto::Message* msg);

// Returns the message's payload (inline copy, the arena slot's contents, freeing the
// slot, or the shm region's contents, deleting the region). Fails when the region or
// slot is missing, short or not this call's, or the arena cannot be mapped.
Result<std::string> TakePayload(const IpcRoot& root, PayloadKind kind, const proto::Message& msg,
                                ArenaMap* arenas);
// Frees the message's arena slot or deletes its shm region, if it has one. Never fails.
void DiscardPayload(const IpcRoot& root, PayloadKind kind, const proto::Message& msg,
                    ArenaMap* arenas);
// Deletes a call's region of the given kind, if present. Never fails.
void RemovePayload(const IpcRoot& root, uint64_t call_id, PayloadKind kind);

// Which region kind a message type carries: kInput for kInvoke/kDispatch, else kOutput.
PayloadKind PayloadKindOf(proto::MessageType type);

}  // namespace nightjar::ipc
