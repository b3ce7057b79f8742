// The gateway's HTTP resources and what each method does on them (README.md, "HTTP API"):
// a pure function from a parsed request to a Route, so that the connection can decide a
// request's fate from its head alone (Expect: 100-continue) and tests can cover every
// method x path without a socket.
//
//   /function/<name>   POST calls <name> (X-Nightjar-Timeout-Ms: 1..kMaxDurationMs;
//                      traceparent: W3C Trace Context, an invalid one is ignored)
//   /healthz           GET, HEAD
//   /status            GET, HEAD (?format=text for a table)
//   /metrics           GET, HEAD (Prometheus text format; docs/operations.md)
//   /logs/<name>       GET, HEAD: the function's captured output (?after=<cursor>,
//                      ?lines=<n>; docs/operations.md, "Function logs")
//   *                  OPTIONS only (RFC 9110 §9.3.7)
// Every resource answers OPTIONS with 204 and Allow; other methods get 405 with Allow
// (RFC 9110 §15.5.6); other paths 404.
//
// Thread rule: free functions, any thread.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "gateway/http_codec.h"
#include "proto/message.h"
#include "proto/trace.h"

namespace nightjar::gateway {

struct Route {
  enum class Kind {
    kRespond,  // answer status/body/allow at once
    kCall,     // call `function` with the body as input
    kStatus,   // GET /status: gather the engines' status
    kMetrics,  // GET /metrics: gather the engines' metrics and the gateway's
    kLogs,     // GET /logs/<function>: gather the function's log lines
  };
  Kind kind = Kind::kRespond;
  int status = 200;        // kRespond
  std::string body;        // kRespond: one line ending in '\n' (or empty for 204)
  std::string allow;       // kRespond: "Allow: ..." header line, or empty
  std::string function;    // kCall: the decoded function name; kRespond: the function a
                           // 405/OPTIONS answer is about (404 instead if it does not exist)
  int64_t timeout_ms = 0;  // kCall: from X-Nightjar-Timeout-Ms; 0 = the function's own
  bool text = false;       // kStatus: ?format=text
  proto::TraceContext trace;  // kCall: the request's traceparent; no trace id if absent,
                              // invalid or repeated (a new trace then, W3C §4.3)
  uint64_t log_after = 0;  // kLogs: ?after= (a cursor from X-Nightjar-Log-Cursor; 0 = all)
  uint32_t log_lines = 0;  // kLogs: ?lines= (the newest n; 0 = all the ring holds)
};

// Where `req` goes. Never fails: errors are kRespond routes (400 bad timeout header or
// percent-encoding, 404, 405).
Route ResolveRoute(const HttpRequest& req);

// Parses an X-Nightjar-Timeout-Ms value: a decimal integer in 1..kMaxDurationMs (24 h;
// larger would overflow deadline arithmetic). False for anything else.
bool ParseTimeoutMs(std::string_view text, int64_t* ms);

}  // namespace nightjar::gateway

namespace nightjar::gateway {

// What the gateway answers for a call's outcome, over HTTP/1.1 and HTTP/2 alike: the
// status (HttpStatusFor), the body (the output, or the error text ending in '\n'), and
// extra header lines: with `timing_headers` (gateway.server_timing), X-Nightjar-Call-Id
// (16 lower-case hex digits; absent when no engine took the call) and Server-Timing (W3C
// Server Timing: the parts the result knows, in ms); "Retry-After: 1" for 503.
struct CallAnswer {
  int status = 200;
  std::string body;
  std::array<std::string, 3> extra_lines;  // "Name: value" each; the first extra_count used
  size_t extra_count = 0;

  std::span<const std::string> extra() const { return {extra_lines.data(), extra_count}; }
  void AddExtra(std::string line) { extra_lines[extra_count++] = std::move(line); }
};
CallAnswer AnswerForCall(const proto::CallResult& result, std::string out, bool timing_headers);

// The 404 body of GET /metrics when metrics are off.
inline constexpr std::string_view kMetricsOffMessage =
    "metrics are off: engine.metrics is false in the configuration\n";

// GET /logs/<function>'s answer to Backend::CollectLogs' outcome: 200 with the lines and,
// when there is a cursor, "X-Nightjar-Log-Cursor: <n>" (the next ?after=); 404 or 503
// with the message.
CallAnswer AnswerForLogs(proto::CallStatus status, std::string body, const std::string& cursor);

}  // namespace nightjar::gateway
