// Open-loop load generator (see loadgen.h).
#include "loadgen.h"

#include <sys/epoll.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <deque>
#include <memory>

#include "base/clock.h"
#include "base/fd.h"
#include "http_client.h"
#include "io/socket.h"

namespace nightjar::bench {

namespace {

struct Pending {
  size_t index;         // position in the schedule
  int64_t intended_ns;  // absolute CLOCK_MONOTONIC
};

struct Conn {
  UniqueFd fd;
  std::deque<Pending> pending;  // responses come back in request order
  std::string out;              // bytes not yet written
  size_t out_pos = 0;
  bool in_dirty = false;      // listed in Generator::dirty_ for the next flush
  bool watching_out = false;  // EPOLLOUT armed
  ResponseParser parser{false};
};

class Generator {
 public:
  Generator(const LoadGenOptions& o, LoadGenResult* r) : o_(o), r_(r) {}

  Status Run() {
    arrivals_ = PoissonArrivals(*o_.schedule, o_.seed);
    r_->scheduled = arrivals_.size();
    r_->duration_s = o_.schedule->duration_s();
    r_->offered_rate = static_cast<double>(arrivals_.size()) / r_->duration_s;
    if (o_.record_samples) r_->samples.assign(arrivals_.size(), LoadGenSample{0, -1, 0});
    for (size_t i = 0; i < arrivals_.size() && o_.record_samples; ++i) {
      r_->samples[i].intended_ns = arrivals_[i];
    }
    if (o_.bodies.empty()) {
      requests_.push_back(PostRequest(o_.host, o_.path, o_.body));
    } else {
      for (const auto& body : o_.bodies) requests_.push_back(PostRequest(o_.host, o_.path, body));
    }
    epoll_.Reset(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_.valid()) return Status::FromErrno("epoll_create1");
    conns_.resize(static_cast<size_t>(std::max(1, o_.connections)));
    for (size_t i = 0; i < conns_.size(); ++i) NJ_RETURN_IF_ERROR(Open(i));
    // Wake-ups as close to the schedule as the kernel allows (default slack is 50 us).
    ::prctl(PR_SET_TIMERSLACK, 1UL);

    start_ns_ = MonotonicNowNs() + 1'000'000;
    end_ns_ = start_ns_ + static_cast<int64_t>(r_->duration_s * 1e9);
    const int64_t drain_end = end_ns_ + static_cast<int64_t>(o_.drain_timeout_s * 1e9);
    size_t next = 0;
    bool stopped = false;
    epoll_event events[64];
    for (;;) {
      int64_t now = MonotonicNowNs();
      // Send everything that is due.
      while (!stopped && next < arrivals_.size() && start_ns_ + arrivals_[next] <= now) {
        if (outstanding_ >= o_.max_outstanding) {
          stopped = true;
          r_->rejected = true;
          r_->reject_reason = "overload: " + std::to_string(outstanding_) +
                              " requests outstanding; stopped sending";
          break;
        }
        Conn& c = conns_[Pick()];
        c.pending.push_back({next, start_ns_ + arrivals_[next]});
        c.out.append(requests_[PickRequest(next)]);
        ++outstanding_;
        ++r_->sent;
        r_->send_lag.Record(static_cast<uint64_t>(now - (start_ns_ + arrivals_[next])));
        ++next;
        if (!c.in_dirty) dirty_.push_back(static_cast<size_t>(&c - conns_.data()));
        c.in_dirty = true;
      }
      for (size_t i : dirty_) NJ_RETURN_IF_ERROR(Flush(i));
      dirty_.clear();

      const bool all_sent = stopped || next == arrivals_.size();
      if (all_sent && outstanding_ == 0) break;
      now = MonotonicNowNs();
      if (all_sent && now >= drain_end) break;
      // Sleep until the next send, minus the timer overshoot learned so far; whatever is
      // left after waking is spun away (polling the connections meanwhile), so requests
      // leave on time without spinning through the whole gap.
      const int64_t wake = all_sent ? drain_end : start_ns_ + arrivals_[next] - overshoot_ns_;
      const int64_t wait_ns = std::max<int64_t>(0, wake - now);
      timespec ts{static_cast<time_t>(wait_ns / 1'000'000'000),
                  static_cast<long>(wait_ns % 1'000'000'000)};
      const int n = ::epoll_pwait2(epoll_.get(), events, 64, &ts, nullptr);
      if (n < 0 && errno != EINTR) return Status::FromErrno("epoll_pwait2");
      if (n == 0 && wait_ns > 0 && !all_sent) {
        const int64_t over = std::clamp<int64_t>(MonotonicNowNs() - wake, 0, o_.max_spin_ns);
        overshoot_ns_ += (over - overshoot_ns_) / 8;  // EWMA over ~8 wake-ups
      }
      for (int k = 0; k < n; ++k) {
        const size_t i = events[k].data.u64;
        if (events[k].events & EPOLLOUT) NJ_RETURN_IF_ERROR(Flush(i));
        if (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) NJ_RETURN_IF_ERROR(Read(i));
      }
    }
    r_->unanswered = outstanding_;
    r_->achieved_rate = static_cast<double>(completed_in_window_) / r_->duration_s;
    if (!r_->rejected && r_->achieved_rate < o_.min_achieved_fraction * r_->offered_rate) {
      r_->rejected = true;
      char why[128];
      std::snprintf(why, sizeof(why), "achieved %.0f/s < %.0f%% of %.0f/s", r_->achieved_rate,
                    o_.min_achieved_fraction * 100, r_->offered_rate);
      r_->reject_reason = why;
    }
    return Status::Ok();
  }

 private:
  Status Open(size_t i) {
    auto fd = io::ConnectTcp(o_.host, o_.port);  // non-blocking, TCP_NODELAY
    if (!fd.ok()) return fd.status();
    Conn& c = conns_[i];
    c = Conn{};
    c.fd = std::move(*fd);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c.fd.get(), &ev) != 0) {
      return Status::FromErrno("epoll_ctl");
    }
    return Status::Ok();
  }

  // An idle connection if there is one, else the one with the fewest requests in flight.
  size_t Pick() {
    size_t best = 0;
    for (size_t k = 0; k < conns_.size(); ++k) {
      const size_t i = (rr_ + k) % conns_.size();
      if (conns_[i].pending.empty()) {
        rr_ = i + 1;
        return i;
      }
      if (conns_[i].pending.size() < conns_[best].pending.size()) best = i;
    }
    return best;
  }

  Status Flush(size_t i) {
    Conn& c = conns_[i];
    c.in_dirty = false;
    while (c.out_pos < c.out.size()) {
      const ssize_t n = ::write(c.fd.get(), c.out.data() + c.out_pos, c.out.size() - c.out_pos);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) return Reconnect(i);
      if (n < 0) return Status::FromErrno("load generator write");
      c.out_pos += static_cast<size_t>(n);
    }
    const bool more = c.out_pos < c.out.size();
    if (!more) {
      c.out.clear();
      c.out_pos = 0;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | (more ? EPOLLOUT : 0u);
    ev.data.u64 = i;
    if (more != c.watching_out) {
      if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev) != 0) {
        return Status::FromErrno("epoll_ctl");
      }
    }
    c.watching_out = more;
    return Status::Ok();
  }

  Status Read(size_t i) {
    Conn& c = conns_[i];
    char buf[65536];
    for (;;) {
      const ssize_t n = ::read(c.fd.get(), buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return Status::Ok();
      if (n <= 0) return Reconnect(i);  // closed by the server: fail what it still owed
      const int64_t now = MonotonicNowNs();
      responses_.clear();
      NJ_RETURN_IF_ERROR(c.parser.Feed(std::string_view(buf, static_cast<size_t>(n)), &responses_));
      for (const HttpResponse& resp : responses_) {
        if (c.pending.empty()) return Internal("response without a request");
        const Pending p = c.pending.front();
        c.pending.pop_front();
        --outstanding_;
        const int64_t latency = now - p.intended_ns;
        if (resp.status >= 200 && resp.status < 300) {
          ++r_->completed;
          r_->latency.Record(static_cast<uint64_t>(latency));
          if (now <= end_ns_) ++completed_in_window_;
        } else {
          ++r_->errors;
        }
        if (o_.record_samples) {
          r_->samples[p.index].latency_ns = latency;
          r_->samples[p.index].status = resp.status;
        }
      }
      if (static_cast<size_t>(n) < sizeof(buf)) return Status::Ok();
    }
  }

  // The server closed the connection (or reset it): what it still owed counts as errors,
  // and a fresh connection takes the slot.
  Status Reconnect(size_t i) {
    Conn& c = conns_[i];
    r_->errors += c.pending.size();
    outstanding_ -= c.pending.size();
    if (o_.record_samples) {
      for (const Pending& p : c.pending) r_->samples[p.index].status = 0;
    }
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c.fd.get(), nullptr);
    return Open(i);
  }

  const LoadGenOptions& o_;
  LoadGenResult* r_;
  std::vector<int64_t> arrivals_;
  // splitmix64 of (seed, position): which of requests_ the request at `index` sends.
  size_t PickRequest(size_t index) const {
    if (requests_.size() == 1) return 0;
    uint64_t z = o_.seed * 0x9e3779b97f4a7c15ULL + index + 1;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return static_cast<size_t>((z ^ (z >> 31)) % requests_.size());
  }

  std::vector<std::string> requests_;  // one per body of the mix (or just `body`)
  UniqueFd epoll_;
  std::vector<Conn> conns_;
  std::vector<size_t> dirty_;
  std::vector<HttpResponse> responses_;
  size_t rr_ = 0;
  size_t outstanding_ = 0;
  int64_t overshoot_ns_ = 0;  // how late timed wake-ups return, smoothed
  uint64_t completed_in_window_ = 0;
  int64_t start_ns_ = 0;
  int64_t end_ns_ = 0;
};

}  // namespace

Result<LoadGenResult> RunOpenLoop(const LoadGenOptions& o) {
  if (o.schedule == nullptr) return InvalidArgument("load generator needs a schedule");
  LoadGenResult r;
  Generator g(o, &r);
  NJ_RETURN_IF_ERROR(g.Run());
  return r;
}

}  // namespace nightjar::bench
