// ConcurrencyEstimator implementation (see the header for the smoothing rules).
#include "engine/concurrency.h"

#include <algorithm>
#include <cmath>

namespace nightjar::engine {

ConcurrencyEstimator::ConcurrencyEstimator(double coef, int64_t tau_ms, uint32_t min_target,
                                           uint32_t max_target)
    : coef_(coef),
      tau_s_(static_cast<double>(tau_ms) / 1e3),
      min_target_(std::max<uint32_t>(min_target, 1)),
      max_target_(std::max(max_target, std::max<uint32_t>(min_target, 1))) {}

void ConcurrencyEstimator::OnArrival(int64_t now_ns) {
  rate_ = Rate(now_ns) + 1.0 / tau_s_;
  last_arrival_ns_ = now_ns;
}

double ConcurrencyEstimator::Rate(int64_t now_ns) const {
  if (last_arrival_ns_ == 0) return 0;
  double dt = static_cast<double>(std::max<int64_t>(0, now_ns - last_arrival_ns_)) / 1e9;
  return rate_ * std::exp(-dt / tau_s_);
}

void ConcurrencyEstimator::OnCompletion(int64_t now_ns, int64_t running_ns) {
  double sample = static_cast<double>(std::max<int64_t>(0, running_ns)) / 1e9;
  if (!have_running_) {
    running_s_ = sample;
    have_running_ = true;
  } else {
    double dt = static_cast<double>(std::max<int64_t>(0, now_ns - last_completion_ns_)) / 1e9;
    double w = std::max(1.0 - std::exp(-dt / tau_s_), 1.0 / 64);
    running_s_ += w * (sample - running_s_);
  }
  last_completion_ns_ = now_ns;
}

uint32_t ConcurrencyEstimator::Target(int64_t now_ns) const {
  // ceil, not round: a target below the demand (4.2 concurrent calls -> 4) means more
  // arrivals than completions, a queue that grows without bound, and no signal for the
  // estimator -- it sees dispatch-to-completion time, never the wait in the queue.
  // The 1% slack keeps an exact demand at its integer despite the sawtooth of the
  // decaying rate counter (+-0.2% at 1000 calls/s, tau 300 ms).
  double want = std::ceil(coef_ * Rate(now_ns) * running_s_ - 0.01);
  if (!(want >= min_target_)) return min_target_;  // also catches NaN
  if (want >= max_target_) return max_target_;
  return static_cast<uint32_t>(want);
}

}  // namespace nightjar::engine
