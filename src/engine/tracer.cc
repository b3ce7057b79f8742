// Tracer implementation: the span queue and the OTLP/HTTP JSON exporter. See tracer.h.
#include "engine/tracer.h"

#include <time.h>

#include <chrono>
#include <cstdio>
#include <string_view>

#include "base/clock.h"
#include "base/logging.h"
#include "engine/http_post.h"

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

// A JSON string literal (RFC 8259 §7): quotes, backslashes and control characters escaped.
void AppendJsonString(std::string_view text, std::string* out) {
  out->push_back('"');
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof(esc), "\\u%04x", static_cast<unsigned>(c));
      out->append(esc);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

// {"key":"<key>","value":{"stringValue":"<value>"}}
void AppendAttribute(std::string_view key, std::string_view value, std::string* out) {
  out->append(R"({"key":)");
  AppendJsonString(key, out);
  out->append(R"(,"value":{"stringValue":)");
  AppendJsonString(value, out);
  out->append("}}");
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

void Tracer::Start() {
  thread_ = std::thread([this] { Run(); });
}

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
  auto url = ParseHttpUrl(endpoint_);  // checked at config time; cheap next to the POST
  auto res = url.ok() ? HttpPost(*url, "application/json", body, timeout_ms)
                      : Result<int>(url.status());
  const bool ok = res.ok() && *res >= 200 && *res < 300;
  if (!ok && !outage_logged_) {
    NJ_LOG(kWarning) << "span export to " << endpoint_ << " failed ("
                     << (res.ok() ? "HTTP " + std::to_string(*res) : res.status().message())
                     << "); spans are dropped until it answers";
    outage_logged_ = true;
  } else if (ok && outage_logged_) {
    NJ_LOG(kInfo) << "span export to " << endpoint_ << " works again";
    outage_logged_ = false;
  }
  return ok;
}

// Written by hand: nlohmann::json built a tree of allocations per span and cost the export
// thread ~6 us of CPU per span (docs/operations.md, "Measured cost"); this is a few appends.
std::string Tracer::ExportJson(const std::vector<SpanRecord>& spans,
                               const std::string& service_name,
                               const std::vector<std::string>& function_names,
                               int64_t mono_to_unix_ns) {
  std::string out;
  out.reserve(256 + spans.size() * 700);
  out +=
      R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":)";
  AppendJsonString(service_name, &out);
  out += R"(}}]},"scopeSpans":[{"scope":{"name":"nightjar.engine"},"spans":[)";
  std::string fallback;
  for (size_t i = 0; i < spans.size(); ++i) {
    const SpanRecord& s = spans[i];
    const std::string* name = &fallback;
    if (s.function_id < function_names.size()) {
      name = &function_names[s.function_id];
    } else {
      fallback = "function " + std::to_string(s.function_id);
    }
    const auto status = static_cast<proto::CallStatus>(s.status);
    if (i != 0) out += ',';
    out += R"({"traceId":")";
    out += Hex(s.trace_id.data(), 16);
    out += R"(","spanId":")";
    out += Hex64(s.span_id);
    if (s.parent_span_id != 0) {
      out += R"(","parentSpanId":")";
      out += Hex64(s.parent_span_id);
    }
    out += R"(","name":)";
    AppendJsonString(*name, &out);
    // SPAN_KIND_SERVER: the engine serves the call.
    out += R"(,"kind":2,"startTimeUnixNano":")";
    out += std::to_string(s.start_ns + mono_to_unix_ns);
    out += R"(","endTimeUnixNano":")";
    out += std::to_string(s.end_ns + mono_to_unix_ns);
    out += R"(","attributes":[)";
    AppendAttribute("faas.invocation_id", proto::FormatCallId(s.call_id), &out);
    out += ',';
    AppendAttribute("faas.trigger", s.external ? "http" : "other", &out);
    out += ',';
    AppendAttribute("nightjar.function", *name, &out);
    out += ',';
    AppendAttribute("nightjar.status", proto::CallStatusName(status), &out);
    out += R"(,{"key":"nightjar.status_code","value":{"intValue":")";
    out += std::to_string(s.status);
    out += R"("}})";
    if (!s.external) {
      out += ',';
      AppendAttribute("nightjar.parent_call_id", proto::FormatCallId(s.parent_call_id), &out);
    }
    // STATUS_CODE_OK = 1, STATUS_CODE_ERROR = 2.
    if (status == proto::CallStatus::kOk) {
      out += R"(],"status":{"code":1}})";
    } else {
      out += R"(],"status":{"code":2,"message":)";
      AppendJsonString(proto::CallStatusName(status), &out);
      out += "}}";
    }
  }
  out += "]}]}]}";
  return out;
}

}  // namespace nightjar::engine
