// Open-loop HTTP load generator. Requests leave on a precomputed Poisson schedule
// (rate_schedule.h) whatever the server does, over several keep-alive connections
// (pipelining on the least-loaded connection when none is idle), and each latency is
// measured from the request's *intended* send time, so a slow server cannot hide its
// queueing delay (no coordinated omission). The lag between intended and actual send is
// recorded too: it tells how well the generator itself kept up.
//
// A run is *rejected* when fewer than min_achieved_fraction of the offered requests were
// completed within the schedule's duration (the server, or the generator, fell behind), or
// when more than max_outstanding requests were in flight at once (overload: it stops
// sending). Rejected runs still return their measurements.
//
// One thread, epoll, no allocation per request beyond the deque slots.
// Thread rule: RunOpenLoop runs on the caller's thread and returns when done.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/histogram.h"
#include "base/status.h"
#include "rate_schedule.h"

namespace nightjar::bench {

struct LoadGenOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string path;  // every request is POST <path> with <body>
  std::string body;
  // A request mix: when not empty, each request's body is one of these instead of `body`,
  // drawn uniformly from `seed` and the request's position (so a mix is a list in which
  // each kind appears in its proportion, and a run is repeatable).
  std::vector<std::string> bodies;
  int connections = 16;
  const RateSchedule* schedule = nullptr;  // borrowed; required
  uint64_t seed = 1;
  size_t max_outstanding = 20000;
  double drain_timeout_s = 5.0;  // after the schedule, wait this long for responses
  double min_achieved_fraction = 0.99;
  bool record_samples = false;  // keep one LoadGenSample per request
  // At most this long is spun before a send to make up for late timer wake-ups. On a
  // machine with few cores, spinning competes with the server for CPU, and the more so
  // the busier the server (wake-ups run later): the stage scenarios turn it off and let a
  // request leave as late as the wake-up (its latency still counts from the intended time).
  int64_t max_spin_ns = 200'000;
};

struct LoadGenSample {
  int64_t intended_ns;  // offset from the start of the schedule
  int64_t latency_ns;   // -1 when unanswered
  int status;           // HTTP status, 0 when unanswered
};

struct LoadGenResult {
  Histogram latency;   // ns, intended send -> response complete, 2xx responses only
  Histogram send_lag;  // ns, actual send - intended send
  uint64_t scheduled = 0, sent = 0, completed = 0, errors = 0, unanswered = 0;
  double duration_s = 0;
  double offered_rate = 0;   // scheduled / duration
  double achieved_rate = 0;  // responses completed within the duration / duration
  bool rejected = false;
  std::string reject_reason;
  std::vector<LoadGenSample> samples;  // when record_samples, in schedule order
};

// Runs one schedule against host:port. Fails when it cannot connect or the server sends a
// malformed response; overload and slowness are results (rejected), not failures.
Result<LoadGenResult> RunOpenLoop(const LoadGenOptions& options);

}  // namespace nightjar::bench
