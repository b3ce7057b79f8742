// Clocks. MonotonicNowNs() is CLOCK_MONOTONIC in nanoseconds: comparable across
// processes on one host, so it is what travels in message headers.
// Clock is the injectable interface for time-dependent logic (timeouts, smoothing).
#pragma once

#include <time.h>

#include <cstdint>

namespace nightjar {

inline int64_t MonotonicNowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Thread rule: implementations must be callable from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowNs() const = 0;
};

class MonotonicClock final : public Clock {
 public:
  int64_t NowNs() const override { return MonotonicNowNs(); }
  static const MonotonicClock* Get() {
    static const MonotonicClock clock;
    return &clock;
  }
};

}  // namespace nightjar
