// IpcRoot: the per-instance directory on tmpfs that holds every named FIFO and shared
// memory payload region of one engine (DESIGN.md §3). The engine creates it at start and
// removes it, with everything inside, at stop -- so nothing outlives an engine even when
// workers were killed mid-call. Workers attach to an existing root by path.
//
// Layout:
//   <dir>/ch-<channel>.in     FIFO: engine and callees -> worker (the worker's input)
//   <dir>/ch-<channel>.out    FIFO: worker -> engine
//   <dir>/shm/<call id>.in    payload region: a call's input, when over 936 bytes
//   <dir>/shm/<call id>.out   payload region: a call's output, when over 936 bytes
//   <dir>/shm/arena-<channel> payload arena of a native worker's channel; arena-0 is the
//                             engine's (ipc/payload_arena.h)
//   <dir>/board-<function id> dispatch board of a native function (ipc/dispatch_board.h)
//   <dir>/functions           function directory: one "<id> <name>" line per function
//   <dir>/launcher.sock       Unix seqpacket socket: launchers <-> engine
// Thread rule: immutable after construction; any thread.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace nightjar::ipc {

enum class FifoEnd { kWorkerInput, kWorkerOutput };
enum class PayloadKind { kInput, kOutput };

class IpcRoot {
 public:
  // Creates a fresh, uniquely named instance directory under `base` (created if missing).
  // Fails if the directories cannot be made (errno in the message).
  static Result<IpcRoot> Create(const std::string& base);
  // Removes the instance directories under `base` ("<pid>-<8 hex digits>", and their
  // "<...>.containers" bundle directories) whose engine process no longer exists: what an
  // engine killed with SIGKILL left. Returns how many instance directories went.
  // Best effort; never fails.
  static int SweepStale(const std::string& base);
  // Refers to an existing instance directory (workers, launchers). Never fails.
  static IpcRoot Attach(std::string dir) { return IpcRoot(std::move(dir)); }

  const std::string& dir() const { return dir_; }
  std::string FifoPath(uint64_t channel, FifoEnd end) const;
  std::string PayloadPath(uint64_t call_id, PayloadKind kind) const;
  // The payload arena of `owner` (a channel id; 0 = the engine's).
  std::string ArenaPath(uint64_t owner) const;
  // The dispatch board of function `function_id`.
  std::string BoardPath(uint32_t function_id) const;
  std::string FunctionDirectoryPath() const { return dir_ + "/functions"; }
  std::string LauncherSocketPath() const { return dir_ + "/launcher.sock"; }

  // Deletes the instance directory and everything in it. Best effort; logs failures.
  void RemoveAll() const;

 private:
  explicit IpcRoot(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace nightjar::ipc
