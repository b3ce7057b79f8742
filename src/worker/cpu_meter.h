// CpuMeter: how a worker thread's time splits between running on a CPU, waiting for one
// (runnable, on a run queue), and being blocked by choice (I/O, sleep, a lock, waiting for
// a message). The worker reports the last of these per call (off_cpu_us in COMPLETE) so
// that the engine can tell CPU-bound functions from ones that mostly wait, and bound only
// the former by the core count (docs/concurrency.md).
//
// Source: /proc/thread-self/schedstat (Linux, CONFIG_SCHED_INFO: on-CPU ns, run-queue
// wait ns, timeslices), read with one pread(2) on a descriptor kept open (~0.65 us on the
// project's VM). Waiting for a CPU is not "blocked by choice": counting it as off-CPU time
// would let contention lower a function's CPU share and so raise the very bound meant to
// prevent contention. Without schedstat, the thread CPU clock stands in and run-queue
// waits count as blocked (the estimate then drifts toward "mostly waiting" under load).
//
// Thread rule: Open() and Read() on the thread whose time is measured (the descriptor
// names that thread).
#pragma once

#include <cstdint>

#include "base/fd.h"

namespace nightjar::worker {

class CpuMeter {
 public:
  struct Sample {
    int64_t on_cpu_ns = 0;
    int64_t run_queue_ns = 0;
  };
  // Opens the calling thread's schedstat; falls back to the thread CPU clock if it cannot.
  void Open();
  Sample Read() const;
  bool has_schedstat() const { return fd_.valid(); }

 private:
  UniqueFd fd_;
};

// A call's voluntary off-CPU time: its wall time outside child calls minus what it spent
// on a CPU or waiting for one; never negative.
int64_t OffCpuNs(int64_t wall_ns, int64_t child_wait_ns, const CpuMeter::Sample& start,
                 const CpuMeter::Sample& end);

}  // namespace nightjar::worker
