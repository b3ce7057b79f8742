// GatewayMetrics: what the gateway counts for GET /metrics (docs/operations.md,
// "Metrics"), under the names OpenFaaS users already graph:
//   gateway_function_invocation_total{function_name,code}  counter
//   gateway_functions_seconds{function_name,code}          histogram (gateway-measured)
// for calls over HTTP/1.1, HTTP/2 and gRPC alike; `code` is the HTTP status the outcome
// maps to (HttpStatusFor; a gRPC call's grpc-status is derived from the same outcome).
// Only functions in the configuration are counted, so a client calling made-up names
// cannot create series; the table is built once and then only counted into, with relaxed
// atomics: no lock and no allocation per call.
//
// Thread rule: Find() and Count() from any thread at any time; Page() from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "config/config.h"
#include "metrics/counters.h"

namespace nightjar::gateway {

class GatewayMetrics {
 public:
  // Counts the functions of `config` (each also under "grpc:<service>" when it has one).
  explicit GatewayMetrics(const config::Config& config);

  // The index of a configured function, by the name a call uses (a function name or
  // "grpc:<service>"); -1 if it is not configured. Binary search, no allocation.
  int Find(std::string_view function) const;
  // One call to function `index` (from Find; -1 is ignored) answered with HTTP status
  // `code` after `ns` nanoseconds.
  void Count(int index, int code, int64_t ns);

  // The page GET /metrics answers: the gateway's families and this process's metrics,
  // merged with `engines` (the backend's exposition, metrics::MergeExpositions).
  std::string Page(const std::string& engines) const;

  // HTTP statuses a call's outcome can map to (HttpStatusFor); others count as 500.
  static constexpr int kCodes[] = {200, 400, 404, 413, 500, 502, 503, 504};
  static constexpr size_t kNumCodes = sizeof(kCodes) / sizeof(kCodes[0]);

 private:
  struct PerCode {
    metrics::Counter calls;
    metrics::Histogram seconds;
  };
  struct PerFunction {
    std::string name;
    PerCode codes[kNumCodes];
  };
  std::vector<std::unique_ptr<PerFunction>> functions_;
  std::vector<std::pair<std::string, int>> by_name_;  // sorted by name
};

// One call being timed: made when the call is sent to the backend, Done() when its outcome
// is known. Trivially copyable, so completion callbacks capture it by value. A null
// `metrics` (metrics off) or an unconfigured function makes Done() a no-op.
struct CallTimer {
  GatewayMetrics* metrics = nullptr;
  int index = -1;
  int64_t start_ns = 0;

  static CallTimer Start(GatewayMetrics* metrics, std::string_view function) {
    CallTimer t;
    if (metrics == nullptr) return t;
    t.index = metrics->Find(function);
    if (t.index < 0) return t;
    t.metrics = metrics;
    t.start_ns = MonotonicNowNs();
    return t;
  }
  void Done(int code) const {
    if (metrics != nullptr) metrics->Count(index, code, MonotonicNowNs() - start_ns);
  }
};

}  // namespace nightjar::gateway
