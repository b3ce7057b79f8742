// ConcurrencyEstimator implementation (see the header for the law and the smoothing rules).
#include "engine/concurrency.h"

#include <algorithm>
#include <cmath>

namespace nightjar::engine {

namespace {
constexpr double kMinCpuShare = 1.0 / 64;

// The weight of a new sample `dt_s` after the previous one (time-based smoothing).
double Weight(double dt_s, double tau_s) {
  return std::max(1.0 - std::exp(-dt_s / tau_s), 1.0 / 64);
}
}  // namespace

ConcurrencyEstimator::ConcurrencyEstimator(double coef, int64_t tau_ms, uint32_t min_target,
                                           uint32_t max_target, uint32_t cores)
    : coef_(coef),
      tau_s_(static_cast<double>(tau_ms) / 1e3),
      min_target_(std::max<uint32_t>(min_target, 1)),
      max_target_(std::max<uint32_t>(max_target, 1)),
      cores_(std::max<uint32_t>(cores, 1)) {}

void ConcurrencyEstimator::OnArrival(int64_t now_ns) {
  rate_ = Rate(now_ns) + 1.0 / tau_s_;
  last_arrival_ns_ = now_ns;
}

double ConcurrencyEstimator::Rate(int64_t now_ns) const {
  if (last_arrival_ns_ == 0) return 0;
  double dt = static_cast<double>(std::max<int64_t>(0, now_ns - last_arrival_ns_)) / 1e9;
  return rate_ * std::exp(-dt / tau_s_);
}

void ConcurrencyEstimator::OnCompletion(int64_t now_ns, int64_t running_ns, int64_t blocked_ns,
                                        int64_t off_cpu_ns) {
  double sample = static_cast<double>(std::max<int64_t>(0, running_ns)) / 1e9;
  if (!have_running_) {
    running_s_ = sample;
    have_running_ = true;
  } else {
    double dt = static_cast<double>(std::max<int64_t>(0, now_ns - last_completion_ns_)) / 1e9;
    running_s_ += Weight(dt, tau_s_) * (sample - running_s_);
  }
  last_completion_ns_ = now_ns;
  if (off_cpu_ns < 0) return;
  // Waiting on child calls is waiting, like I/O: a fan-out parent that spends most of its
  // call on its children wants a CPU for a small share of it. (Its short non-blocked
  // phases -- starting children, then finishing up -- are bookkeeping; bounding them by
  // the core count would hold whole requests behind parents that are merely finishing.)
  // Worker reports are untrusted: the off-CPU time is clamped to the running time.
  const double active = static_cast<double>(std::max<int64_t>(0, running_ns)) / 1e9;
  const double off = std::min(static_cast<double>(off_cpu_ns) / 1e9 +
                                  static_cast<double>(std::max<int64_t>(0, blocked_ns)) / 1e9,
                              active);
  if (!have_measured_) {
    active_s_ = active;
    off_cpu_s_ = off;
    have_measured_ = true;
  } else {
    double dt = static_cast<double>(std::max<int64_t>(0, now_ns - last_measured_ns_)) / 1e9;
    double w = Weight(dt, tau_s_);
    active_s_ += w * (active - active_s_);
    off_cpu_s_ += w * (off - off_cpu_s_);
  }
  last_measured_ns_ = now_ns;
}

double ConcurrencyEstimator::CpuShare() const {
  if (!have_measured_ || !(active_s_ > 0)) return 1.0;
  return std::clamp(1.0 - off_cpu_s_ / active_s_, kMinCpuShare, 1.0);
}

uint32_t ConcurrencyEstimator::CpuBound() const {
  // floor: a CPU-bound function whose share reads a hair below 1 (a page fault, a log
  // write) must not get a slot more than there are cores (2 / 0.98 stays 2); the tiny
  // slack keeps an exact quotient (2 / 0.5) at its integer despite rounding.
  double bound = std::floor(static_cast<double>(cores_) / CpuShare() + 1e-6);
  if (!(bound >= 1)) return 1;
  if (bound >= 1e6) return 1'000'000;
  return static_cast<uint32_t>(bound);
}

uint32_t ConcurrencyEstimator::Target(int64_t now_ns, size_t queued) const {
  // ceil, not round: a target below the demand (4.2 concurrent calls -> 4) means more
  // arrivals than completions and a queue that grows. The 1% slack keeps an exact demand
  // at its integer despite the sawtooth of the decaying rate counter (+-0.2% at 1000
  // calls/s, tau 300 ms).
  double want = std::ceil(coef_ * Rate(now_ns) * running_s_ + static_cast<double>(queued) - 0.01);
  const uint32_t hi = std::min(max_target_, CpuBound());
  const uint32_t lo = std::min(min_target_, hi);
  if (!(want >= lo)) return lo;  // also catches NaN
  if (want >= hi) return hi;
  return static_cast<uint32_t>(want);
}

}  // namespace nightjar::engine
