// EngineMetrics, and the engine's exposition (Engine::MetricsText): the nightjar_*
// families of docs/operations.md, "Metrics".
#include "engine/engine_metrics.h"

#include "base/clock.h"
#include "engine/engine.h"
#include "metrics/exposition.h"

namespace nightjar::engine {

void CallPairCounters::Add(uint32_t caller, uint32_t callee) {
  const uint64_t key = (uint64_t{caller} << 32) | callee;
  // Fibonacci hashing spreads consecutive ids over the table.
  size_t i = static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 52) & (kCapacity - 1);
  for (size_t probe = 0; probe < kCapacity; ++probe, i = (i + 1) & (kCapacity - 1)) {
    Slot& s = slots_[i];
    uint64_t k = s.key.load(std::memory_order_relaxed);
    if (k == 0) {
      uint64_t expected = 0;
      if (s.key.compare_exchange_strong(expected, key, std::memory_order_relaxed)) k = key;
      else k = expected;
    }
    if (k == key) {
      s.count.Add();
      return;
    }
  }
  overflow_.Add();
}

std::vector<CallPairCounters::Pair> CallPairCounters::Snapshot() const {
  std::vector<Pair> out;
  for (size_t i = 0; i < kCapacity; ++i) {
    const uint64_t k = slots_[i].key.load(std::memory_order_relaxed);
    if (k == 0) continue;
    out.push_back({static_cast<uint32_t>(k >> 32), static_cast<uint32_t>(k), slots_[i].count.value()});
  }
  return out;
}

EngineMetrics::EngineMetrics(size_t function_slots) {
  functions_.resize(function_slots);
  for (auto& f : functions_) f = std::make_unique<FunctionMetrics>();
}

std::string Engine::MetricsText() {
  using prometheus::MetricType;
  if (!metrics_) return {};
  const int64_t now = MonotonicNowNs();
  auto queue = metrics::Family("nightjar_function_queue_length",
                               "Calls waiting for a worker (queued or sent ahead, not started).",
                               MetricType::Gauge);
  auto target = metrics::Family("nightjar_function_concurrency_target",
                                "Managed concurrency: how many calls may run at once now.",
                                MetricType::Gauge);
  auto workers = metrics::Family("nightjar_function_workers",
                                 "Workers by state (starting, idle, running, blocked on a child call).",
                                 MetricType::Gauge);
  auto calls = metrics::Family("nightjar_function_calls_total",
                               "Calls answered, external and internal, by outcome.",
                               MetricType::Counter);
  auto delay = metrics::Family("nightjar_function_dispatch_delay_seconds",
                               "Worker-reported time from the DISPATCH being sent to the function starting.",
                               MetricType::Histogram);
  auto exec = metrics::Family("nightjar_function_execution_seconds",
                              "Worker-reported time calls spent in the function.",
                              MetricType::Histogram);
  auto bytes = metrics::Family("nightjar_function_payload_bytes_total",
                               "Payload bytes: inputs of answered calls (in), outputs of completions (out).",
                               MetricType::Counter);
  auto starts = metrics::Family("nightjar_function_worker_starts_total",
                                "Workers started: the initial pool, growth and replacements.",
                                MetricType::Counter);
  auto crashes = metrics::Family("nightjar_function_worker_crashes_total",
                                 "Workers that exited while the engine ran (each is replaced).",
                                 MetricType::Counter);
  auto internal = metrics::Family("nightjar_internal_calls_total",
                                  "Internal calls answered, by calling and called function.",
                                  MetricType::Counter);
  auto in_flight = metrics::Family("nightjar_calls_in_flight",
                                   "Calls accepted by the engine and not yet answered.",
                                   MetricType::Gauge);
  metrics::AddGauge(&in_flight, {}, static_cast<double>(calls_.size()));
  for (size_t id = 1; id < dispatchers_.size(); ++id) {
    Dispatcher* d = dispatchers_[id].get();
    const std::string& fn = d->config().name;
    const Dispatcher::Stats s = d->GetStats(now);
    FunctionMetrics& m = metrics_->function(static_cast<uint32_t>(id));
    metrics::AddGauge(&queue, {{"function", fn}}, static_cast<double>(s.queued));
    metrics::AddGauge(&target, {{"function", fn}}, s.target);
    metrics::AddGauge(&workers, {{"function", fn}, {"state", "starting"}}, s.starting);
    metrics::AddGauge(&workers, {{"function", fn}, {"state", "idle"}}, s.idle);
    metrics::AddGauge(&workers, {{"function", fn}, {"state", "running"}}, s.busy - s.blocked);
    metrics::AddGauge(&workers, {{"function", fn}, {"state", "blocked"}}, s.blocked);
    for (size_t o = 0; o < kOutcomes; ++o) {
      const uint64_t n = m.calls[o].value();
      // ok and the common failures always, so rate() has a series from the start.
      if (n != 0 || o <= static_cast<size_t>(proto::CallStatus::kTimeout)) {
        metrics::AddCounter(&calls, {{"function", fn}, {"outcome", kOutcomeNames[o]}},
                            static_cast<double>(n));
      }
    }
    metrics::AddHistogram(&delay, {{"function", fn}}, m.dispatch_delay.Snapshot());
    metrics::AddHistogram(&exec, {{"function", fn}}, m.execution.Snapshot());
    metrics::AddCounter(&bytes, {{"function", fn}, {"direction", "in"}},
                        static_cast<double>(m.bytes_in.value()));
    metrics::AddCounter(&bytes, {{"function", fn}, {"direction", "out"}},
                        static_cast<double>(m.bytes_out.value()));
    metrics::AddCounter(&starts, {{"function", fn}}, static_cast<double>(m.worker_starts.value()));
    metrics::AddCounter(&crashes, {{"function", fn}}, static_cast<double>(m.worker_crashes.value()));
  }
  for (const auto& p : metrics_->internal_calls().Snapshot()) {
    if (p.caller == 0 || p.caller >= dispatchers_.size() || p.callee == 0 ||
        p.callee >= dispatchers_.size()) {
      continue;
    }
    metrics::AddCounter(&internal,
                        {{"caller", dispatchers_[p.caller]->config().name},
                         {"callee", dispatchers_[p.callee]->config().name}},
                        static_cast<double>(p.count));
  }
  return metrics::Serialize({in_flight, queue, target, workers, calls, delay, exec, bytes, starts,
                             crashes, internal});
}

}  // namespace nightjar::engine
