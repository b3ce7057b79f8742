// StreamConnection implementation.
#include "io/stream_connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"

namespace nightjar::io {
namespace {
// One read's worth: a connection gets at most this much input per readiness event.
constexpr size_t kReadBytes = 64 * 1024;
}  // namespace

StreamConnection::StreamConnection(EventLoop* loop, UniqueFd fd)
    : loop_(loop),
      fd_(std::move(fd)),
      last_activity_ns_(MonotonicNowNs()),
      last_write_progress_ns_(last_activity_ns_) {}

StreamConnection::~StreamConnection() = default;

Status StreamConnection::Start() {
  interest_ = EPOLLIN | EPOLLRDHUP;
  return loop_->Watch(fd_.get(), interest_, this);
}

void StreamConnection::Send(std::string_view data) {
  if (closed() || linger_started_) return;
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
    last_write_progress_ns_ = MonotonicNowNs();
  }
  out_.append(data);
  Flush();
}

void StreamConnection::CloseAfterFlush() {
  if (closed()) return;
  close_after_flush_ = true;
  if (pending_output() == 0) return Close();
  reading_ = false;  // input is of no use any more; leave it in the kernel
  UpdateInterest();
}

void StreamConnection::LingeringClose(int64_t linger_ms, uint64_t max_discard_bytes) {
  if (closed() || linger_) return;
  if (peer_closed_) return CloseAfterFlush();  // nothing more can arrive: no need to linger
  linger_ = true;
  linger_ms_ = linger_ms;
  linger_budget_ = max_discard_bytes;
  if (pending_output() == 0) return StartLinger();
  reading_ = false;  // until the answer is out; then StartLinger() discards
  UpdateInterest();
}

void StreamConnection::StartLinger() {
  linger_started_ = true;
  in_.clear();
  ::shutdown(fd_.get(), SHUT_WR);
  reading_ = true;
  UpdateInterest();
  std::weak_ptr<StreamConnection> weak = weak_from_this();
  loop_->RunAfterMs(linger_ms_, [weak] {
    if (auto self = weak.lock()) self->Close();
  });
}

void StreamConnection::Close() {
  if (closed()) return;
  loop_->Unwatch(fd_.get());
  fd_.Reset();
  out_.clear();
  out_off_ = 0;
  OnClosed();
}

void StreamConnection::SetReading(bool on) {
  if (reading_ == on || linger_started_) return;
  reading_ = on;
  UpdateInterest();
}

void StreamConnection::Flush() {
  while (out_off_ < out_.size()) {
    ssize_t n = ::send(fd_.get(), out_.data() + out_off_, out_.size() - out_off_, MSG_NOSIGNAL);
    if (n > 0) {
      out_off_ += static_cast<size_t>(n);
      last_write_progress_ns_ = MonotonicNowNs();
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
    if (linger_ && !linger_started_) {
      StartLinger();
      return;
    }
  }
  UpdateInterest();
}

void StreamConnection::UpdateInterest() {
  if (closed()) return;
  uint32_t want = 0;
  if (reading_ && !peer_closed_) want |= EPOLLIN | EPOLLRDHUP;
  if (out_off_ < out_.size()) want |= EPOLLOUT;
  if (want == interest_) return;
  interest_ = want;
  // A mask of 0 still reports EPOLLHUP and EPOLLERR, so a reset peer is noticed.
  (void)loop_->Modify(fd_.get(), want, this);
}

void StreamConnection::Discard() {
  char buf[kReadBytes];
  for (;;) {
    ssize_t n = ::read(fd_.get(), buf, sizeof(buf));
    if (n > 0) {
      if (static_cast<uint64_t>(n) >= linger_budget_) return Close();
      linger_budget_ -= static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    return Close();  // EOF or error: the peer has what we sent
  }
}

void StreamConnection::OnEvents(uint32_t events) {
  auto self = shared_from_this();  // callbacks below may drop the last other reference
  if (events & EPOLLOUT) {
    const bool had_output = pending_output() > 0;
    Flush();
    if (closed()) return;
    // Only here, never from inside Send(): a subclass may react by sending more.
    if (had_output && pending_output() == 0 && !closing()) OnOutputDrained();
    if (closed()) return;
  }
  if (linger_started_) {
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) Discard();
    return;
  }
  if ((events & (EPOLLHUP | EPOLLERR)) && !(events & (EPOLLIN | EPOLLRDHUP))) {
    // Reset or fully closed while we were not reading: nothing more can be delivered.
    if (!reading_ || peer_closed_) return Close();
  }
  if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) || !reading_ || peer_closed_) {
    return;
  }
  last_activity_ns_ = MonotonicNowNs();
  // One read per event: the rest stays in the kernel for the next round, so a reader paused
  // from OnData (SetReading(false)) really stops taking input, and one busy peer cannot
  // monopolise its loop.
  char buf[kReadBytes];
  ssize_t n;
  do {
    n = ::read(fd_.get(), buf, sizeof(buf));
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno != EAGAIN) return Close();  // reset: nothing can reach the peer any more
  const bool eof = n == 0;
  if (n > 0) in_.append(buf, static_cast<size_t>(n));
  if (!in_.empty() && !closing()) OnData(&in_);
  if (closed()) return;
  if (eof) {
    peer_closed_ = true;
    UpdateInterest();
    OnPeerClosed();
  }
}

}  // namespace nightjar::io
