// StreamConnection: a non-blocking byte-stream socket on one EventLoop, with an input
// buffer handed to the subclass and an output buffer flushed on EPOLLOUT. The base for
// HTTP connections and engine links.
//
// Besides plain reads and writes it gives subclasses what a server needs to survive its
// clients: reading can be paused (backpressure), a read-side EOF is reported separately from
// a close (a half-closed peer may still be owed responses), and a lingering close (after
// an early error answer, keep reading and discarding for a bounded time and size so that
// the peer receives the answer instead of a reset; nginx's lingering_close).
//
// Thread rule: every method runs on the owning loop's thread. Ownership: held by
// shared_ptr (subclasses call shared_from_this() to keep themselves alive across
// asynchronous completions); Close() is idempotent and calls OnClosed() exactly once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/fd.h"
#include "io/event_loop.h"

namespace nightjar::io {

class StreamConnection : public Watcher, public std::enable_shared_from_this<StreamConnection> {
 public:
  StreamConnection(EventLoop* loop, UniqueFd fd);
  ~StreamConnection() override;

  // Registers with the loop. Fails with errno from epoll.
  Status Start();
  // Queues bytes and writes as much as the socket takes now.
  void Send(std::string_view data);
  // Closes once the output buffer drains (responses still go out).
  void CloseAfterFlush();
  // Once the output buffer drains: shuts the write side down, then reads and discards
  // whatever the peer still sends until it closes, `max_discard_bytes` have been
  // discarded, or `linger_ms` pass, and closes. RFC 9112 §9.6 explains why: closing with
  // unread input makes the kernel send a reset, which can destroy the answer in flight.
  void LingeringClose(int64_t linger_ms, uint64_t max_discard_bytes);
  // Closes now; queued output is dropped.
  void Close();
  // Stops (false) or resumes (true) reading; events for writing continue either way.
  void SetReading(bool on);

  bool closed() const { return !fd_.valid(); }
  // The peer shut its write side down (read returned EOF); nothing more will be read.
  bool peer_closed() const { return peer_closed_; }
  // In CloseAfterFlush() or LingeringClose(): no new input is delivered.
  bool closing() const { return close_after_flush_ || linger_; }
  EventLoop* loop() const { return loop_; }
  // Last time bytes were read (or the connection was accepted).
  int64_t last_activity_ns() const { return last_activity_ns_; }
  // Last time the socket accepted output bytes, or output became pending after none was.
  int64_t last_write_progress_ns() const { return last_write_progress_ns_; }
  size_t pending_output() const { return out_.size() - out_off_; }

  void OnEvents(uint32_t events) final;

 protected:
  // New bytes are in *in; consume what you can (erase from the front).
  virtual void OnData(std::string* in) = 0;
  // The peer will send nothing more (after the last OnData). The default closes; a
  // subclass that still owes the peer output may keep the connection open to send it.
  virtual void OnPeerClosed() { Close(); }
  // The output buffer became empty after holding bytes the socket had refused (called from
  // the loop's write event, never from inside Send()).
  virtual void OnOutputDrained() {}
  virtual void OnClosed() = 0;

 private:
  void Flush();
  void UpdateInterest();
  void StartLinger();
  void Discard();

  EventLoop* loop_;
  UniqueFd fd_;
  std::string in_;
  std::string out_;
  size_t out_off_ = 0;
  uint32_t interest_ = 0;  // epoll mask currently registered
  bool reading_ = true;
  bool peer_closed_ = false;
  bool close_after_flush_ = false;
  bool linger_ = false;          // LingeringClose() was called
  bool linger_started_ = false;  // ... and the write side is shut down
  int64_t linger_ms_ = 0;
  uint64_t linger_budget_ = 0;  // bytes still to discard
  int64_t last_activity_ns_ = 0;
  int64_t last_write_progress_ns_ = 0;
};

}  // namespace nightjar::io
