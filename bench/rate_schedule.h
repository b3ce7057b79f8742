// Offered-load schedules for the open-loop load generator (loadgen.h): a request rate as a
// function of time, and the precomputed Poisson arrival times that realize it.
//
// A scenario that needs another load shape (bursts, ramps, diurnal curves) implements
// RateSchedule, or uses PiecewiseRate. Thread rule: immutable after construction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nightjar::bench {

class RateSchedule {
 public:
  virtual ~RateSchedule() = default;
  // Offered rate (requests per second) at time t, 0 <= t < duration_s().
  virtual double RateAt(double t_s) const = 0;
  virtual double duration_s() const = 0;
  // A short description for logs and reports, e.g. "poisson 5000/s for 3 s".
  virtual std::string Describe() const = 0;
  // The expected number of requests: the integral of RateAt over [0, duration).
  double ExpectedRequests() const;
  double MeanRate() const { return ExpectedRequests() / duration_s(); }
};

class ConstantRate final : public RateSchedule {
 public:
  ConstantRate(double rate, double duration_s) : rate_(rate), duration_s_(duration_s) {}
  double RateAt(double) const override { return rate_; }
  double duration_s() const override { return duration_s_; }
  std::string Describe() const override;

 private:
  double rate_;
  double duration_s_;
};

// Piecewise-constant rate: segment k runs at rate[k] from start[k] until the next start
// (or the end). E.g. bursts: {{0, 1000}, {2, 20000}, {2.2, 1000}} over 5 s.
class PiecewiseRate final : public RateSchedule {
 public:
  struct Segment {
    double start_s;
    double rate;
  };
  // Segments must be sorted by start and the first must start at 0 (CHECKed).
  PiecewiseRate(std::vector<Segment> segments, double duration_s);
  double RateAt(double t_s) const override;
  double duration_s() const override { return duration_s_; }
  std::string Describe() const override;

 private:
  std::vector<Segment> segments_;
  double duration_s_;
};

// Arrival times (ns after the start, sorted) of a Poisson process whose intensity follows
// `schedule`, conditioned on its count being round(ExpectedRequests()): given the count, a
// Poisson process's arrivals are independent draws with density rate(t) / integral, so the
// schedule is exactly Poisson in shape while the offered load is exact (no run is judged
// against a target that its own random count missed). Deterministic for a given seed.
std::vector<int64_t> PoissonArrivals(const RateSchedule& schedule, uint64_t seed);

}  // namespace nightjar::bench
