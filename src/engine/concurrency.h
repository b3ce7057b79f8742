// ConcurrencyEstimator: the per-function concurrency target of managed concurrency
// (DESIGN.md §6; the law and why it is the right one: docs/concurrency.md):
//
//   target = clamp(ceil(coef x rate x running_time + queued), 1, min(max_workers, cpu_bound))
//   cpu_bound = floor(cores / cpu_share)
//
//   * coef x rate x running_time (Little's law) is the concurrency that keeps up with
//     arrivals. It cannot see a backlog that already exists, nor queueing time;
//   * queued, the calls waiting for a slot now, is the drain term: one more slot per
//     waiting call, which drains a backlog with a time constant of one running time
//     (each slot clears one call per running time) whenever the machine has the room;
//   * cpu_bound is the machine's bound: no more calls at once than the cores can run,
//     counting each call by the share of its time it wants a CPU. `cpu_share` is
//     1 - off_cpu / running_time, where off_cpu is the time the calls spent waiting by
//     choice: blocked in I/O or sleep (the worker measures it, outside child calls, not
//     counting time waiting for a CPU: see worker/cpu_meter.h) plus waiting on their own
//     child calls (the engine sees that). A CPU-bound function gets `cores` slots; one
//     that waits 90% of its time, ten times as many. Waiting for a CPU does not lower the
//     share, so contention cannot raise the bound that should prevent it.
//   * The floor is max(min_workers, 1), itself capped by the bound.
//
// `rate` is the arrival rate of calls and `running_time` the engine-observed dispatch-to-
// completion time, both smoothed with *time-based* exponential averaging (a time constant
// tau in ms, not a per-sample alpha), so the estimate reacts to a load step within a few
// tau whatever the call rate, and one burst moves it only in proportion to its size.
//
//   rate:          each arrival adds 1/tau to a value that decays as exp(-dt/tau); for a
//                  steady rate r this converges to r, and after a step it closes 1-e^-t/tau
//                  of the gap (95% after 3 tau).
//   running time,
//   cpu share:     each sample moves the average by a weight 1 - exp(-dt/tau), dt = time
//                  since the previous sample (at least 1/64 so same-instant samples count).
//
// All inputs carry an explicit `now_ns`, so tests drive it with synthetic clocks.
// Thread rule: not synchronized; the owning Dispatcher's lock guards it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nightjar::engine {

class ConcurrencyEstimator {
 public:
  // `cores`: how many CPUs the function's calls may fill (the machine bound); >= 1.
  ConcurrencyEstimator(double coef, int64_t tau_ms, uint32_t min_target, uint32_t max_target,
                       uint32_t cores);

  void OnArrival(int64_t now_ns);
  // A call finished after `running_ns` (dispatch to completion), of which `blocked_ns`
  // waiting on its own child calls; `off_cpu_ns` is the worker's measurement of its
  // voluntary off-CPU time outside child calls, or -1 when the call was not measured
  // (then `blocked_ns` is not used either).
  void OnCompletion(int64_t now_ns, int64_t running_ns, int64_t blocked_ns = 0,
                    int64_t off_cpu_ns = -1);

  // Smoothed arrival rate in calls per second, decayed to `now_ns`.
  double Rate(int64_t now_ns) const;
  // Smoothed running time in seconds (0 before the first completion).
  double RunningTime() const { return running_s_; }
  // The share of a call's running time it wants a CPU, in [1/64, 1]; 1 (CPU-bound, the
  // cautious guess) until a measured completion arrives.
  double CpuShare() const;
  // floor(cores / CpuShare()), at least 1.
  uint32_t CpuBound() const;
  // The concurrency target at `now_ns` with `queued` calls waiting for a slot.
  uint32_t Target(int64_t now_ns, size_t queued = 0) const;

 private:
  double coef_;
  double tau_s_;
  uint32_t min_target_;
  uint32_t max_target_;
  uint32_t cores_;
  double rate_ = 0;          // calls/s at last_arrival_ns_
  int64_t last_arrival_ns_ = 0;
  double running_s_ = 0;
  int64_t last_completion_ns_ = 0;
  bool have_running_ = false;
  // Measured completions: smoothed running time and off-CPU time (seconds).
  double active_s_ = 0, off_cpu_s_ = 0;
  int64_t last_measured_ns_ = 0;
  bool have_measured_ = false;
};

}  // namespace nightjar::engine
