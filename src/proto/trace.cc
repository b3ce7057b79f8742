// Trace context parsing and formatting; see trace.h.
#include "proto/trace.h"

#include <charconv>
#include <random>

namespace nightjar::proto {
namespace {

// Lower-case hex only: W3C Trace Context §3.2.2 (HEXDIGLC) makes upper case invalid.
int LowerHex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool ParseHexBytes(std::string_view text, uint8_t* out) {
  for (size_t i = 0; i < text.size(); i += 2) {
    const int hi = LowerHex(text[i]);
    const int lo = LowerHex(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i / 2] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

constexpr char kHex[] = "0123456789abcdef";

void PutHex(uint64_t v, int digits, char* out) {
  for (int i = digits - 1; i >= 0; --i) {
    out[i] = kHex[v & 0xf];
    v >>= 4;
  }
}

}  // namespace

bool ParseTraceparent(std::string_view value, TraceContext* out) {
  // OWS around a field value is not part of it (RFC 9110 §5.5); the parser already strips
  // it, but a value built by hand may not be.
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.size() < kTraceparentSize) return false;
  uint8_t version = 0;
  if (!ParseHexBytes(value.substr(0, 2), &version) || version == 0xff) return false;
  // Version 00 is exactly 55 characters; a later version may append "-..." (§3.2.2.2).
  if (version == 0 && value.size() != kTraceparentSize) return false;
  if (value.size() > kTraceparentSize && value[kTraceparentSize] != '-') return false;
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') return false;
  TraceContext t;
  uint8_t parent[8];
  if (!ParseHexBytes(value.substr(3, 32), t.trace_id.data()) ||
      !ParseHexBytes(value.substr(36, 16), parent) ||
      !ParseHexBytes(value.substr(53, 2), &t.flags)) {
    return false;
  }
  for (uint8_t b : parent) t.parent_span_id = (t.parent_span_id << 8) | b;
  if (!t.has_trace() || t.parent_span_id == 0) return false;  // §3.2.2.3, §3.2.2.4
  // §3.2.2.5: only the sampled flag is defined by version 00; a later version's other
  // bits are not passed on under version 00.
  if (version != 0) t.flags &= kTraceFlagSampled;
  *out = t;
  return true;
}

void FormatTraceparent(const std::array<uint8_t, 16>& trace_id, uint64_t span_id, uint8_t flags,
                       char out[kTraceparentSize]) {
  out[0] = '0';
  out[1] = '0';
  out[2] = '-';
  for (int i = 0; i < 16; ++i) {
    out[3 + 2 * i] = kHex[trace_id[i] >> 4];
    out[4 + 2 * i] = kHex[trace_id[i] & 0xf];
  }
  out[35] = '-';
  PutHex(span_id, 16, out + 36);
  out[52] = '-';
  PutHex(flags, 2, out + 53);
}

std::array<uint8_t, 16> NewTraceId() {
  // xorshift128+ per thread, seeded once from the OS (std::random_device reads getrandom).
  thread_local uint64_t s0 = 0, s1 = 0;
  if (s0 == 0 && s1 == 0) {
    std::random_device rd;
    s0 = (uint64_t{rd()} << 32) | rd();
    s1 = (uint64_t{rd()} << 32) | rd() | 1;
  }
  auto next = [] {
    uint64_t x = s0;
    const uint64_t y = s1;
    s0 = y;
    x ^= x << 23;
    s1 = x ^ y ^ (x >> 17) ^ (y >> 26);
    return s1 + y;
  };
  std::array<uint8_t, 16> id;
  uint64_t hi = next(), lo = next();
  if (hi == 0 && lo == 0) lo = 1;
  for (int i = 0; i < 8; ++i) {
    id[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    id[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  return id;
}

std::string FormatCallId(uint64_t call_id) {
  std::string s;
  AppendCallId(call_id, &s);
  return s;
}

void AppendCallId(uint64_t call_id, std::string* out) {
  const size_t at = out->size();
  out->resize(at + 16);
  PutHex(call_id, 16, out->data() + at);
}

std::string FormatServerTiming(const CallResult& r) {
  std::string s;
  AppendServerTiming(r, &s);
  return s;
}

void AppendServerTiming(const CallResult& r, std::string* out) {
  struct Part {
    uint8_t bit;
    const char* name;
    uint32_t us;
  };
  const Part parts[] = {
      {CallResult::kTimingQueue, "queue", r.queue_us},
      {CallResult::kTimingDispatch, "dispatch", r.dispatch_us},
      {CallResult::kTimingExec, "exec", r.exec_us},
      {CallResult::kTimingChild, "child", r.child_us},
  };
  bool first = true;
  for (const Part& p : parts) {
    if ((r.known & p.bit) == 0) continue;
    if (!first) out->append(", ");
    first = false;
    out->append(p.name);
    out->append(";dur=");
    // ms with three decimals: the microseconds the engine and workers measure.
    char digits[16];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), p.us / 1000);
    out->append(digits, end);
    const uint32_t frac = p.us % 1000;
    const char tail[4] = {'.', static_cast<char>('0' + frac / 100),
                          static_cast<char>('0' + frac / 10 % 10),
                          static_cast<char>('0' + frac % 10)};
    out->append(tail, sizeof(tail));
  }
}

}  // namespace nightjar::proto
