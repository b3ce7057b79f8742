// StreamConnection: a non-blocking byte-stream socket on one EventLoop, with an input
// buffer handed to the subclass and an output buffer flushed on EPOLLOUT. The base for
// HTTP connections and engine links.
//
// Thread rule: every method runs on the owning loop's thread. Ownership: held by
// shared_ptr (subclasses call shared_from_this() to keep themselves alive across
// asynchronous completions); Close() is idempotent and calls OnClosed() exactly once.
#pragma once

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
  // Closes now; queued output is dropped.
  void Close();

  bool closed() const { return !fd_.valid(); }
  EventLoop* loop() const { return loop_; }
  int64_t last_activity_ns() const { return last_activity_ns_; }
  size_t pending_output() const { return out_.size() - out_off_; }

  void OnEvents(uint32_t events) final;

 protected:
  // New bytes are in *in; consume what you can (erase from the front).
  virtual void OnData(std::string* in) = 0;
  virtual void OnClosed() = 0;

 private:
  void Flush();
  void UpdateInterest();

  EventLoop* loop_;
  UniqueFd fd_;
  std::string in_;
  std::string out_;
  size_t out_off_ = 0;
  bool want_write_ = false;
  bool close_after_flush_ = false;
  int64_t last_activity_ns_ = 0;
};

}  // namespace nightjar::io
