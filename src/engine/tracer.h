// Tracer: the engine's per-call tracer (DESIGN.md §2). One span per call the engine
// answers (external and internal), exported in batches as OTLP/HTTP JSON
// (https://opentelemetry.io/docs/specs/otlp/#otlphttp: POST application/json, an
// ExportTraceServiceRequest) to `tracing.otlp_endpoint` from a background thread.
//
// The call path only pushes a fixed-size SpanRecord into a bounded lock-free queue
// (Vyukov's bounded MPMC ring: one CAS, no lock, no allocation); a full queue drops the
// span and counts it, so a slow or dead receiver never delays or fails a call. The engine
// holds no Tracer at all when export is off: the call path then costs one predictable
// branch (docs/operations.md, "Call breakdown and tracing", has the measurement).
//
// Thread rules: Record() from any thread; Start()/Stop() from the owning thread.
// Spans whose trace-flags lack the sampled bit are not recorded (parent-based sampling,
// as OpenTelemetry SDKs do by default).
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proto/trace.h"

namespace nightjar::engine {

// One finished call, as the call path hands it over. Times are CLOCK_MONOTONIC ns; the
// exporter turns them into unix ns.
struct SpanRecord {
  std::array<uint8_t, 16> trace_id{};
  uint64_t span_id = 0;
  uint64_t parent_span_id = 0;  // 0 = root (no incoming traceparent)
  uint64_t call_id = 0;
  uint64_t parent_call_id = 0;  // internal calls: the caller's call id
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  uint32_t function_id = 0;
  uint16_t status = 0;  // proto::CallStatus
  bool external = false;
};
static_assert(sizeof(SpanRecord) == 72, "a span is copied on the call path: keep it small");

class Tracer {
 public:
  static constexpr size_t kQueueSlots = 8192;  // spans waiting for export; more are dropped
  static constexpr size_t kMaxBatch = 512;     // spans per POST
  static constexpr int kFlushIntervalMs = 200;

  // function_names: index = function id. endpoint: "http://host[:port]/path".
  Tracer(std::string endpoint, std::string service_name, std::vector<std::string> function_names);
  ~Tracer();
  void Start();
  // Exports what is queued (one last try, short timeouts), then stops the thread.
  void Stop();

  // Queues a span; false (and counted in dropped()) if the queue is full. Never blocks.
  bool Record(const SpanRecord& span);

  uint64_t exported() const { return exported_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }

  // The ExportTraceServiceRequest JSON for `spans` (OTLP JSON mapping: ids as lower-case
  // hex, times as decimal strings of unix ns, enums as integers). `mono_to_unix_ns` is
  // added to the records' monotonic times. Public for the unit test.
  static std::string ExportJson(const std::vector<SpanRecord>& spans,
                                const std::string& service_name,
                                const std::vector<std::string>& function_names,
                                int64_t mono_to_unix_ns);

 private:
  struct Cell {
    std::atomic<size_t> seq;
    SpanRecord span;
  };
  bool Pop(SpanRecord* out);
  void Run();
  // POSTs one batch; false on any failure (logged once per outage).
  bool Post(const std::string& body, int timeout_ms);

  const std::string endpoint_;
  const std::string service_name_;
  const std::vector<std::string> function_names_;
  std::unique_ptr<Cell[]> cells_;
  alignas(64) std::atomic<size_t> enqueue_pos_{0};
  alignas(64) std::atomic<size_t> dequeue_pos_{0};
  std::atomic<uint64_t> exported_{0}, dropped_{0}, failed_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool outage_logged_ = false;
  std::thread thread_;
};

}  // namespace nightjar::engine
