// The engine's per-call counting for GET /metrics (docs/operations.md, "Metrics"): per
// function, calls by outcome, dispatch-delay and execution-time histograms, payload bytes,
// worker starts and crashes; and internal calls by (caller, callee). Everything is
// allocated when the engine is built and counted with relaxed atomics
// (metrics/counters.h), so counting adds neither a lock nor an allocation to the call
// path. Gauges (queue, target, workers by state) are read from the dispatchers at scrape
// time (Engine::MetricsText, engine_metrics.cc). Absent when engine.metrics is false.
//
// Thread rule: any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "metrics/counters.h"
#include "proto/message.h"

namespace nightjar::engine {

// Outcome label of each proto::CallStatus (index = its value); the last is for a value
// out of range (a misbehaving worker's status).
inline constexpr const char* kOutcomeNames[] = {
    "ok",        "function_error", "worker_died", "timeout",  "unavailable",
    "not_found", "too_large",      "bad_request", "internal", "unknown"};
inline constexpr size_t kOutcomes = sizeof(kOutcomeNames) / sizeof(kOutcomeNames[0]);

struct FunctionMetrics {
  metrics::Counter calls[kOutcomes];  // answered calls by outcome (external and internal)
  metrics::Histogram dispatch_delay;  // worker-reported: DISPATCH sent -> function start
  metrics::Histogram execution;       // worker-reported: time in the function
  metrics::Counter bytes_in;          // input payload bytes of answered calls
  metrics::Counter bytes_out;         // output payload bytes of completions
  metrics::Counter worker_starts;     // workers started (initial pool, growth, replacements)
  metrics::Counter worker_crashes;    // workers that exited while the engine ran

  void CountCall(proto::CallStatus status) {
    const size_t i = static_cast<size_t>(status);
    calls[i < kOutcomes - 1 ? i : kOutcomes - 1].Add();
  }
};

// Counters keyed by a (caller, callee) pair of function ids, in a fixed open-addressing
// table: a pair's slot is claimed with one compare-exchange the first time it is seen and
// found by a probe after that. Pairs beyond the table's capacity are counted in overflow().
class CallPairCounters {
 public:
  static constexpr size_t kCapacity = 4096;  // power of two; pairs that may be told apart

  void Add(uint32_t caller, uint32_t callee);
  struct Pair {
    uint32_t caller, callee;
    uint64_t count;
  };
  std::vector<Pair> Snapshot() const;
  uint64_t overflow() const { return overflow_.value(); }

 private:
  struct Slot {
    std::atomic<uint64_t> key{0};  // caller << 32 | callee; 0 = free (ids start at 1)
    metrics::Counter count;
  };
  std::unique_ptr<Slot[]> slots_ = std::make_unique<Slot[]>(kCapacity);
  metrics::Counter overflow_;
};

class EngineMetrics {
 public:
  // Function ids 1 .. function_slots - 1.
  explicit EngineMetrics(size_t function_slots);
  FunctionMetrics& function(uint32_t id) { return *functions_[id]; }
  CallPairCounters& internal_calls() { return internal_calls_; }

 private:
  std::vector<std::unique_ptr<FunctionMetrics>> functions_;
  CallPairCounters internal_calls_;
};

}  // namespace nightjar::engine
