// ConcurrencyEstimator: the per-function concurrency hint of DESIGN.md §6, by Little's law:
//
//   target = clamp(ceil(coef x rate x running_time), min_workers, max_workers)
//
// (DESIGN.md writes round(); ceil is deliberate -- see Target() and docs/concurrency.md.)
//
// `rate` is the arrival rate of calls and `running_time` the engine-observed dispatch-to-
// completion time, both smoothed with *time-based* exponential averaging (a time constant
// tau in ms, not a per-sample alpha), so the estimate reacts to a load step within a few
// tau whatever the call rate, and one burst moves it only in proportion to its size.
//
//   rate:          each arrival adds 1/tau to a value that decays as exp(-dt/tau); for a
//                  steady rate r this converges to r, and after a step it closes 1-e^-t/tau
//                  of the gap (95% after 3 tau).
//   running time:  each sample moves the average by a weight 1 - exp(-dt/tau), dt = time
//                  since the previous sample (at least 1/64 so same-instant samples count).
//
// All inputs carry an explicit `now_ns`, so tests drive it with synthetic clocks.
// Thread rule: not synchronized; the owning Dispatcher's lock guards it.
#pragma once

#include <cstdint>

namespace nightjar::engine {

class ConcurrencyEstimator {
 public:
  ConcurrencyEstimator(double coef, int64_t tau_ms, uint32_t min_target, uint32_t max_target);

  void OnArrival(int64_t now_ns);
  void OnCompletion(int64_t now_ns, int64_t running_ns);

  // Smoothed arrival rate in calls per second, decayed to `now_ns`.
  double Rate(int64_t now_ns) const;
  // Smoothed running time in seconds (0 before the first completion).
  double RunningTime() const { return running_s_; }
  // The concurrency target at `now_ns`.
  uint32_t Target(int64_t now_ns) const;

 private:
  double coef_;
  double tau_s_;
  uint32_t min_target_;
  uint32_t max_target_;
  double rate_ = 0;          // calls/s at last_arrival_ns_
  int64_t last_arrival_ns_ = 0;
  double running_s_ = 0;
  int64_t last_completion_ns_ = 0;
  bool have_running_ = false;
};

}  // namespace nightjar::engine
