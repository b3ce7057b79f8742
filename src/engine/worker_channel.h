// WorkerChannel: the engine's end of one worker's message channel -- the read end of the
// worker's output FIFO (watched on one I/O thread) and the write end of its input FIFO.
//
// Thread rules: Send() may be called from any thread (a 1024-byte pipe write is atomic;
// if the pipe is full the message waits in a small backlog, flushed in order from the
// owning loop). OnEvents runs on the owning loop. Close() must run on the owning loop.
// Scheduling state (state, current call) belongs to the Dispatcher and is guarded by
// the Dispatcher's lock. Owned by shared_ptr (Engine's channel map and its Dispatcher).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>

#include "base/fd.h"
#include "io/event_loop.h"
#include "ipc/ipc_root.h"
#include "proto/message.h"

namespace nightjar::engine {

class Engine;

class WorkerChannel final : public io::Watcher,
                            public std::enable_shared_from_this<WorkerChannel> {
 public:
  enum class State { kStarting, kIdle, kBusy, kDead };

  WorkerChannel(Engine* engine, uint32_t function_id, io::EventLoop* loop, uint64_t channel,
                uint16_t worker_id);
  ~WorkerChannel() override;

  // Makes both FIFOs and starts watching the output one. Fails with errno.
  Status Open(const ipc::IpcRoot& root);
  // Opens the input FIFO for writing; valid once the worker said hello (it has the read
  // end open, so a non-blocking open succeeds). Fails with errno.
  Status OpenInput(const ipc::IpcRoot& root);
  // Writes a message to the worker's input pipe; see the thread rule above.
  void Send(proto::Message* msg);
  // Stops watching, closes both ends and removes the FIFOs. Loop thread; idempotent.
  void Close(const ipc::IpcRoot& root);

  void OnEvents(uint32_t events) override;

  uint64_t channel() const { return channel_; }
  uint16_t worker_id() const { return worker_id_; }
  uint32_t function_id() const { return function_id_; }
  io::EventLoop* loop() const { return loop_; }
  uint32_t last_counter() const { return last_counter_.load(std::memory_order_relaxed); }
  void NoteCounter(uint32_t c) { last_counter_.store(c, std::memory_order_relaxed); }

  // Dispatcher-owned scheduling state (guarded by the Dispatcher's mutex).
  State state = State::kStarting;
  uint64_t current_call = 0;
  int64_t dispatch_ns = 0;     // when current_call was dispatched
  int64_t idle_since_ns = 0;   // when it last went idle
  int children = 0;            // child calls current_call is waiting on
  int64_t children_since_ns = 0;  // when children last went from 0 to 1
  int64_t children_ns = 0;        // time current_call has spent waiting on children
  bool abandoned = false;         // current_call was answered by its deadline
  uint64_t next_call = 0;         // prefetched: sent ahead, starts when current_call ends
  bool next_abandoned = false;    // next_call was answered by its deadline
  // Hand-off statistics: when the worker wrote its last COMPLETE (its clock), and whether
  // current_call was handed to it at that completion (no idle time in the engine).
  int64_t prev_end_ns = 0;
  bool back_to_back = false;
  // Direct dispatch: the worker's slot on its function's board (-1: none), and whether
  // the dispatcher offered it there (it is idle, and a caller may have claimed it since).
  int board_slot = -1;
  bool offered = false;
  // current_call is a claim the engine found when taking the offer back: the claimant's
  // DISPATCH may not be in the worker's pipe yet, so nothing may be sent ahead of it
  // (prefetch) until the claimant's notice says it was written.
  bool claim_unconfirmed = false;
  int pid = 0;

 private:
  void FlushBacklog();

  Engine* engine_;
  uint32_t function_id_;
  io::EventLoop* loop_;
  uint64_t channel_;
  uint16_t worker_id_;
  UniqueFd out_fd_;  // worker -> engine (read end, non-blocking)
  UniqueFd in_fd_;   // engine -> worker (write end, non-blocking)
  std::atomic<uint32_t> last_counter_{0};

  std::mutex backlog_mu_;
  std::deque<proto::Message> backlog_;  // guarded by backlog_mu_
  bool flush_scheduled_ = false;        // guarded by backlog_mu_
  bool closed_ = false;
};

}  // namespace nightjar::engine
