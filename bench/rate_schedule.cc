// Rate schedules and Poisson arrival times (see rate_schedule.h).
#include "rate_schedule.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>

#include "base/check.h"

namespace nightjar::bench {

namespace {
// Integration grid: fine enough for millisecond bursts, bounded for long schedules.
size_t GridSteps(double duration_s) {
  return static_cast<size_t>(std::clamp(duration_s * 10000.0, 1000.0, 2'000'000.0));
}
}  // namespace

double RateSchedule::ExpectedRequests() const {
  const size_t steps = GridSteps(duration_s());
  const double dt = duration_s() / static_cast<double>(steps);
  double sum = 0;
  for (size_t k = 0; k < steps; ++k) sum += RateAt((static_cast<double>(k) + 0.5) * dt) * dt;
  return sum;
}

std::string ConstantRate::Describe() const {
  std::ostringstream s;
  s << "poisson " << rate_ << "/s for " << duration_s_ << " s";
  return s.str();
}

PiecewiseRate::PiecewiseRate(std::vector<Segment> segments, double duration_s)
    : segments_(std::move(segments)), duration_s_(duration_s) {
  CHECK(!segments_.empty() && segments_.front().start_s == 0, "first segment must start at 0");
  for (size_t i = 1; i < segments_.size(); ++i) {
    CHECK(segments_[i].start_s >= segments_[i - 1].start_s, "segments must be sorted");
  }
}

double PiecewiseRate::RateAt(double t_s) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), t_s,
                             [](double t, const Segment& s) { return t < s.start_s; });
  return it == segments_.begin() ? 0.0 : std::prev(it)->rate;
}

std::string PiecewiseRate::Describe() const {
  std::ostringstream s;
  s << "poisson piecewise";
  for (const auto& seg : segments_) s << " [" << seg.start_s << " s: " << seg.rate << "/s]";
  s << " for " << duration_s_ << " s";
  return s.str();
}

std::vector<int64_t> PoissonArrivals(const RateSchedule& schedule, uint64_t seed) {
  const double duration = schedule.duration_s();
  const size_t steps = GridSteps(duration);
  const double dt = duration / static_cast<double>(steps);
  // cumulative[k] = integral of the rate over [0, k*dt).
  std::vector<double> cumulative(steps + 1, 0.0);
  for (size_t k = 0; k < steps; ++k) {
    cumulative[k + 1] = cumulative[k] + schedule.RateAt((static_cast<double>(k) + 0.5) * dt) * dt;
  }
  const double total = cumulative.back();
  const size_t n = static_cast<size_t>(std::llround(total));
  std::vector<double> u(n);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(0.0, total);
  for (double& x : u) x = uniform(rng);
  std::sort(u.begin(), u.end());
  // Invert the cumulative rate: walk the grid alongside the sorted draws.
  std::vector<int64_t> arrivals(n);
  size_t k = 0;
  for (size_t i = 0; i < n; ++i) {
    while (k + 1 < steps && cumulative[k + 1] < u[i]) ++k;
    const double span = cumulative[k + 1] - cumulative[k];
    const double frac = span > 0 ? (u[i] - cumulative[k]) / span : 0.0;
    const double t = (static_cast<double>(k) + std::clamp(frac, 0.0, 1.0)) * dt;
    arrivals[i] = static_cast<int64_t>(t * 1e9);
  }
  return arrivals;
}

}  // namespace nightjar::bench
