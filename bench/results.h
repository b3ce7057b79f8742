// Results: what one harness run measured, by name, in the order it was measured; and its
// JSON form (bench/results/latest.json, shape in docs/performance.md):
//   {"git": "...", "machine": "...", "mode": "full"|"quick", "results": [
//      {"name": "...", "unit": "us", "p50": x, "p99": x, "p999": x, "samples": n, ...},
//      {"name": "...", "unit": "...", "value": x}, ...]}
// Latency results keep their histogram (nanoseconds) for the CDF plots; they are reported in
// microseconds with 3 significant digits.
// Thread rule: not synchronized; the harness is single-threaded.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/histogram.h"
#include "base/status.h"

namespace nightjar::bench {

struct Measurement {
  std::string name;
  std::string unit;
  // Latency results: the histogram (ns) and the percentiles derived from it (in `unit`).
  std::optional<Histogram> histogram;
  double p50 = 0, p99 = 0, p999 = 0, mean = 0, max = 0;
  uint64_t samples = 0;
  // Value results.
  double value = 0;
  // Extra numeric fields written beside the standard ones (e.g. offered/achieved rate).
  std::map<std::string, double> extra;

  bool is_latency() const { return histogram.has_value(); }
};

class Results {
 public:
  // Records a latency distribution measured in ns; reported in microseconds. Replaces an
  // earlier result of the same name. Returns the stored result (valid until the next Add).
  Measurement& AddLatency(const std::string& name, const Histogram& ns,
                          std::map<std::string, double> extra = {});
  Measurement& AddValue(const std::string& name, const std::string& unit, double value,
                        std::map<std::string, double> extra = {});
  // nullptr when no result has that name.
  const Measurement* Find(const std::string& name) const;
  const std::vector<Measurement>& all() const { return results_; }

  // The whole run as JSON. `git`, `machine` and `mode` go in the top-level object.
  std::string ToJson(const std::string& git, const std::string& machine,
                     const std::string& mode) const;
  // Writes ToJson() to `path` (through a temporary file and rename). Fails with errno.
  Status WriteJson(const std::string& path, const std::string& git, const std::string& machine,
                   const std::string& mode) const;

 private:
  Measurement& Slot(const std::string& name);
  std::vector<Measurement> results_;
};

// Rounds to 3 significant digits (what the histogram resolves).
double ThreeDigits(double v);

}  // namespace nightjar::bench
