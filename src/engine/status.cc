// Engine status: a snapshot of every function's pool, queue, concurrency target,
// smoothed rate and running time, and call counters -- as JSON (GET /status) or as an
// aligned text table (`nightjar status`).
#include <cinttypes>
#include <cstdio>

#include "base/clock.h"
#include "engine/engine.h"

namespace nightjar::engine {

namespace {
std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}
}  // namespace

std::string Engine::StatusJson() {
  int64_t now = MonotonicNowNs();
  std::string out = "{\"calls_in_flight\":" + std::to_string(calls_.size()) + ",\"functions\":[";
  for (size_t id = 1; id < dispatchers_.size(); ++id) {
    Dispatcher* d = dispatchers_[id].get();
    Dispatcher::Stats s = d->GetStats(now);
    char buf[768];
    std::snprintf(buf, sizeof(buf),
                  "{\"name\":%s,\"concurrency\":\"%s\",\"workers\":{\"starting\":%d,\"idle\":%d,"
                  "\"running\":%d,\"blocked\":%d},\"queued\":%zu,\"prefetched\":%zu,\"target\":%u,"
                  "\"cpu_share\":%.3f,\"cpu_bound\":%u,\"rate_per_s\":%.3f,"
                  "\"running_time_ms\":%.3f,\"backoff_ms\":%" PRId64 ",\"offered\":%d,"
                  "\"calls\":{\"ok\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"timed_out\":%" PRIu64
                  ",\"direct\":%" PRIu64
                  "},\"handoff\":{\"count\":%" PRIu64
                  ",\"mean_us\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f}}",
                  JsonString(d->config().name).c_str(), d->managed() ? "managed" : "unmanaged",
                  s.starting, s.idle, s.busy - s.blocked, s.blocked, s.queued, s.prefetched,
                  s.target, s.cpu_share, s.cpu_bound, s.rate, s.running_time_s * 1e3, s.backoff_ms,
                  s.offered, d->calls_ok.load(), d->calls_failed.load(), d->calls_timed_out.load(),
                  d->calls_direct.load(), s.handoffs,
                  s.handoff_mean_us, s.handoff_p50_us, s.handoff_p99_us);
    if (id > 1) out += ",";
    out += buf;
  }
  return out + "]}";
}

std::string Engine::StatusText() {
  int64_t now = MonotonicNowNs();
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof(buf), "%-16s %5s %5s %5s %5s %6s %6s %10s %10s %9s %7s %7s\n",
                "FUNCTION", "START", "IDLE", "RUN", "BLOCK", "QUEUE", "TARGET", "RATE/s",
                "RUN_MS", "OK", "FAILED", "TIMEOUT");
  out += buf;
  for (size_t id = 1; id < dispatchers_.size(); ++id) {
    Dispatcher* d = dispatchers_[id].get();
    Dispatcher::Stats s = d->GetStats(now);
    std::snprintf(buf, sizeof(buf),
                  "%-16s %5d %5d %5d %5d %6zu %6u %10.1f %10.3f %9" PRIu64 " %7" PRIu64
                  " %7" PRIu64 "%s\n",
                  d->config().name.c_str(), s.starting, s.idle, s.busy - s.blocked, s.blocked,
                  s.queued, s.target, s.rate, s.running_time_s * 1e3, d->calls_ok.load(),
                  d->calls_failed.load(), d->calls_timed_out.load(),
                  s.backoff_ms > 0 ? "  (crash back-off)" : "");
    out += buf;
  }
  return out;
}

}  // namespace nightjar::engine
