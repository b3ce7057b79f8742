// Tracer implementation: the span queue and the OTLP/HTTP JSON exporter. See tracer.h.
#include "engine/tracer.h"

#include <time.h>

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/logging.h"

namespace nightjar::engine {
namespace {

std::string Hex(const uint8_t* bytes, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = kHex[bytes[i] >> 4];
    s[2 * i + 1] = kHex[bytes[i] & 0xf];
  }
  return s;
}

std::string Hex64(uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
  return Hex(b, 8);
}

int64_t MonoToUnixNs() {
  timespec real{}, mono{};
  ::clock_gettime(CLOCK_REALTIME, &real);
  ::clock_gettime(CLOCK_MONOTONIC, &mono);
  return (int64_t{real.tv_sec} - mono.tv_sec) * 1'000'000'000 + (real.tv_nsec - mono.tv_nsec);
}

nlohmann::json Attribute(const char* key, nlohmann::json value) {
  return {{"key", key}, {"value", std::move(value)}};
}

}  // namespace

Tracer::Tracer(std::string endpoint, std::string service_name,
               std::vector<std::string> function_names)
    : endpoint_(std::move(endpoint)),
      service_name_(std::move(service_name)),
      function_names_(std::move(function_names)),
      cells_(new Cell[kQueueSlots]) {
  for (size_t i = 0; i < kQueueSlots; ++i) cells_[i].seq.store(i, std::memory_order_relaxed);
}

Tracer::~Tracer() { Stop(); }

void Tracer::Start() { thread_ = std::thread([this] { Run(); }); }

void Tracer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

// Vyukov's bounded MPMC queue (www.1024cores.net, "Bounded MPMC queue"): a cell's sequence
// number says whose turn it is, so producers claim cells with one CAS and never wait.
bool Tracer::Record(const SpanRecord& span) {
  size_t pos = enqueue_pos_.load(std::memory_order_relaxed);
  for (;;) {
    Cell& cell = cells_[pos & (kQueueSlots - 1)];
    const size_t seq = cell.seq.load(std::memory_order_acquire);
    const intptr_t diff = static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos);
    if (diff == 0) {
      if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
        cell.span = span;
        cell.seq.store(pos + 1, std::memory_order_release);
        return true;
      }
    } else if (diff < 0) {
      dropped_.fetch_add(1, std::memory_order_relaxed);  // full
      return false;
    } else {
      pos = enqueue_pos_.load(std::memory_order_relaxed);
    }
  }
}

bool Tracer::Pop(SpanRecord* out) {
  size_t pos = dequeue_pos_.load(std::memory_order_relaxed);
  for (;;) {
    Cell& cell = cells_[pos & (kQueueSlots - 1)];
    const size_t seq = cell.seq.load(std::memory_order_acquire);
    const intptr_t diff = static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos + 1);
    if (diff == 0) {
      if (dequeue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
        *out = cell.span;
        cell.seq.store(pos + kQueueSlots, std::memory_order_release);
        return true;
      }
    } else if (diff < 0) {
      return false;  // empty
    } else {
      pos = dequeue_pos_.load(std::memory_order_relaxed);
    }
  }
}

void Tracer::Run() {
  std::vector<SpanRecord> batch;
  batch.reserve(kMaxBatch);
  for (;;) {
    bool stopping;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(kFlushIntervalMs), [&] { return stopping_; });
      stopping = stopping_;
    }
    // Drain everything queued now, in batches; at shutdown with short timeouts.
    for (;;) {
      batch.clear();
      SpanRecord s;
      while (batch.size() < kMaxBatch && Pop(&s)) batch.push_back(s);
      if (batch.empty()) break;
      const std::string body = ExportJson(batch, service_name_, function_names_, MonoToUnixNs());
      if (Post(body, stopping ? 500 : 2000)) {
        exported_.fetch_add(batch.size(), std::memory_order_relaxed);
      } else {
        failed_.fetch_add(batch.size(), std::memory_order_relaxed);
        if (stopping) break;
      }
      if (batch.size() < kMaxBatch) break;
    }
    if (stopping) return;
  }
}

bool Tracer::Post(const std::string& body, int timeout_ms) {
  // endpoint_ was checked at config time: "http://" host[:port] path.
  const size_t path_at = endpoint_.find('/', sizeof("http://") - 1);
  httplib::Client client(endpoint_.substr(0, path_at));
  const auto timeout = std::chrono::milliseconds(timeout_ms);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  auto res = client.Post(endpoint_.substr(path_at), body, "application/json");
  const bool ok = res && res->status >= 200 && res->status < 300;
  if (!ok && !outage_logged_) {
    NJ_LOG(kWarning) << "span export to " << endpoint_ << " failed ("
                     << (res ? "HTTP " + std::to_string(res->status) : httplib::to_string(res.error()))
                     << "); spans are dropped until it answers";
    outage_logged_ = true;
  } else if (ok && outage_logged_) {
    NJ_LOG(kInfo) << "span export to " << endpoint_ << " works again";
    outage_logged_ = false;
  }
  return ok;
}

std::string Tracer::ExportJson(const std::vector<SpanRecord>& spans,
                               const std::string& service_name,
                               const std::vector<std::string>& function_names,
                               int64_t mono_to_unix_ns) {
  using nlohmann::json;
  json out_spans = json::array();
  for (const SpanRecord& s : spans) {
    const std::string name = s.function_id < function_names.size()
                                 ? function_names[s.function_id]
                                 : "function " + std::to_string(s.function_id);
    const auto status = static_cast<proto::CallStatus>(s.status);
    json attrs = json::array({
        Attribute("faas.invocation_id", {{"stringValue", proto::FormatCallId(s.call_id)}}),
        Attribute("faas.trigger", {{"stringValue", s.external ? "http" : "other"}}),
        Attribute("nightjar.function", {{"stringValue", name}}),
        Attribute("nightjar.status", {{"stringValue", proto::CallStatusName(status)}}),
        Attribute("nightjar.status_code", {{"intValue", std::to_string(s.status)}}),
    });
    if (!s.external) {
      attrs.push_back(Attribute("nightjar.parent_call_id",
                                {{"stringValue", proto::FormatCallId(s.parent_call_id)}}));
    }
    json span = {
        {"traceId", Hex(s.trace_id.data(), 16)},
        {"spanId", Hex64(s.span_id)},
        {"name", name},
        {"kind", 2},  // SPAN_KIND_SERVER: the engine serves the call
        {"startTimeUnixNano", std::to_string(s.start_ns + mono_to_unix_ns)},
        {"endTimeUnixNano", std::to_string(s.end_ns + mono_to_unix_ns)},
        {"attributes", std::move(attrs)},
        // STATUS_CODE_OK = 1, STATUS_CODE_ERROR = 2.
        {"status", status == proto::CallStatus::kOk
                       ? json{{"code", 1}}
                       : json{{"code", 2}, {"message", proto::CallStatusName(status)}}},
    };
    if (s.parent_span_id != 0) span["parentSpanId"] = Hex64(s.parent_span_id);
    out_spans.push_back(std::move(span));
  }
  json request = {
      {"resourceSpans",
       json::array({{
           {"resource",
            {{"attributes",
              json::array({Attribute("service.name", {{"stringValue", service_name}})})}}},
           {"scopeSpans",
            json::array({{{"scope", {{"name", "nightjar.engine"}}}, {"spans", std::move(out_spans)}}})},
       }})},
  };
  return request.dump();
}

}  // namespace nightjar::engine
