// Backend: where the gateway sends calls. Two implementations: the in-process engine
// (`nightjar up`, wired in src/cli) and the pool of TCP engine links (split deployment,
// engine_links.h). This is the seam that lets the HTTP (and later gRPC) front ends stay
// unaware of where the engine runs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "proto/message.h"
#include "proto/trace.h"

namespace nightjar::gateway {

// (the call's result: status, call id, timing, trace; output or error text). Called exactly
// once, from any thread. A call that never reached an engine has call_id 0 and no timing.
using CallDone = std::function<void(const proto::CallResult&, std::string)>;

class Backend {
 public:
  virtual ~Backend() = default;
  // Thread rule: called on a gateway loop thread. timeout_ms <= 0 = function default.
  // `trace`: the request's traceparent, parsed (no trace id: the engine starts a trace).
  // Never fails synchronously: every outcome, including "unknown function" and "no
  // engine", arrives through `done`.
  virtual void Call(std::string_view function, std::string_view input, int64_t timeout_ms,
                    const proto::TraceContext& trace, CallDone done) = 0;

  // The checks Call() would make before running anything, made before a request body is
  // read (Expect: 100-continue, RFC 9110 §10.1.1): kOk if `function` can be called now
  // with an input of `input_bytes`; otherwise the status (kNotFound, kTooLarge,
  // kUnavailable) and, in *message, the text Call() would answer with. Cheap, never
  // blocks. Thread rule: as Call().
  virtual proto::CallStatus Precheck(std::string_view function, uint64_t input_bytes,
                                     std::string* message) = 0;

  enum class StatusFormat { kJson, kText };
  // Collects every engine's status (Engine::StatusJson/StatusText): JSON as
  // {"engines":[...]}, text as one table per engine. `done` is called exactly once, from
  // any thread. Thread rule: as Call().
  virtual void CollectStatus(StatusFormat format, std::function<void(std::string)> done) = 0;

  // Collects every engine's metrics in the Prometheus text format (Engine::MetricsText;
  // from a separate engine process also its process_* metrics), each engine's samples
  // labelled engine="<host:port of its link>" when there are links. Not yet merged: the
  // caller merges it with its own (GatewayMetrics::Page). `done` is called exactly once,
  // from any thread; an engine that does not answer is left out. Thread rule: as Call().
  virtual void CollectMetrics(std::function<void(std::string)> done) = 0;

  // A function's captured output (GET /logs/<function>; docs/operations.md, "Function
  // logs"): the lines after cursor `after` (0 = from the oldest kept), at most the newest
  // `max_lines` (0 = all kept), merged by time across engines. `done(status, body,
  // cursor)` is called exactly once, from any thread: kOk with the text lines and the
  // cursor for the next read ("" where there is none: split deployments), or kNotFound /
  // kUnavailable with a message. Thread rule: as Call().
  using LogsDone = std::function<void(proto::CallStatus, std::string, std::string)>;
  virtual void CollectLogs(std::string_view function, uint64_t after, uint32_t max_lines,
                           LogsDone done) = 0;
};

// The result of a call that failed before any engine took it.
inline proto::CallResult FailedResult(proto::CallStatus status, const proto::TraceContext& trace) {
  proto::CallResult r;
  r.status = status;
  r.trace = trace;
  return r;
}

}  // namespace nightjar::gateway
