// StreamConnection implementation.
#include "io/stream_connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"

namespace nightjar::io {

StreamConnection::StreamConnection(EventLoop* loop, UniqueFd fd)
    : loop_(loop), fd_(std::move(fd)), last_activity_ns_(MonotonicNowNs()) {}

StreamConnection::~StreamConnection() = default;

Status StreamConnection::Start() { return loop_->Watch(fd_.get(), EPOLLIN | EPOLLRDHUP, this); }

void StreamConnection::Send(std::string_view data) {
  if (closed()) return;
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
  }
  out_.append(data);
  Flush();
}

void StreamConnection::CloseAfterFlush() {
  if (closed()) return;
  close_after_flush_ = true;
  if (pending_output() == 0) Close();
}

void StreamConnection::Close() {
  if (closed()) return;
  loop_->Unwatch(fd_.get());
  fd_.Reset();
  out_.clear();
  out_off_ = 0;
  OnClosed();
}

void StreamConnection::Flush() {
  while (out_off_ < out_.size()) {
    ssize_t n = ::send(fd_.get(), out_.data() + out_off_, out_.size() - out_off_, MSG_NOSIGNAL);
    if (n > 0) {
      out_off_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    Close();  // peer gone
    return;
  }
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
    if (close_after_flush_) {
      Close();
      return;
    }
  }
  UpdateInterest();
}

void StreamConnection::UpdateInterest() {
  bool want = out_off_ < out_.size();
  if (want == want_write_ || closed()) return;
  want_write_ = want;
  (void)loop_->Modify(fd_.get(), EPOLLIN | EPOLLRDHUP | (want ? uint32_t{EPOLLOUT} : 0u), this);
}

void StreamConnection::OnEvents(uint32_t events) {
  auto self = shared_from_this();  // callbacks below may drop the last other reference
  last_activity_ns_ = MonotonicNowNs();
  if (events & EPOLLOUT) Flush();
  if (closed()) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    char buf[64 * 1024];
    for (;;) {
      ssize_t n = ::read(fd_.get(), buf, sizeof(buf));
      if (n > 0) {
        in_.append(buf, static_cast<size_t>(n));
        if (static_cast<size_t>(n) < sizeof(buf)) break;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      // EOF or error: deliver what we have, then close.
      if (!in_.empty()) OnData(&in_);
      Close();
      return;
    }
    if (!in_.empty() && !close_after_flush_) OnData(&in_);
  }
}

}  // namespace nightjar::io
