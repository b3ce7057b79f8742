// Request routing; see http_routes.h.
#include "gateway/http_routes.h"

#include <charconv>

#include "config/config.h"
#include "gateway/http_server.h"

namespace nightjar::gateway {
namespace {

constexpr std::string_view kFunctionPrefix = "/function/";
constexpr std::string_view kLogsPrefix = "/logs/";

Route Respond(int status, std::string body, std::string allow = {}) {
  Route r;
  r.kind = Route::Kind::kRespond;
  r.status = status;
  r.body = std::move(body);
  r.allow = std::move(allow);
  return r;
}

// The route of a resource that allows `allowed` ("GET, HEAD" ...; OPTIONS is added).
Route MethodNotAllowed(std::string_view allowed, std::string_view hint) {
  return Respond(405, std::string(hint) + "\n", "Allow: " + std::string(allowed) + ", OPTIONS");
}

Route Options(std::string_view allowed) {
  return Respond(204, "", "Allow: " + std::string(allowed) + ", OPTIONS");
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 §2.1 percent-decoding of a path segment; false on a malformed escape.
bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = HexValue(in[i + 1]);
    const int lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

// True if the query string has the parameter name=value.
bool QueryHas(std::string_view target, std::string_view param) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return false;
  std::string_view query = target.substr(q + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    const size_t amp = query.find('&');
    if (query.substr(0, amp) == param) return true;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

}  // namespace

bool ParseTimeoutMs(std::string_view text, int64_t* ms) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 1 ||
      value > config::kMaxDurationMs) {
    return false;
  }
  *ms = value;
  return true;
}

namespace {

// The value of query parameter `name` ("" when absent; the first when repeated).
std::string_view QueryValue(std::string_view target, std::string_view name) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = target.substr(q + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    if (param.size() > name.size() && param.starts_with(name) && param[name.size()] == '=') {
      return param.substr(name.size() + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

// A decimal parameter in [0, max]; true when absent (*out untouched).
template <typename T>
bool QueryNumber(std::string_view target, std::string_view name, T max, T* out) {
  if (target.find('?') == std::string_view::npos) return true;
  std::string_view v = QueryValue(target, name);
  if (v.empty()) return !QueryHas(target, std::string(name) + "=");
  T value{};
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
  if (ec != std::errc() || end != v.data() + v.size() || value > max) return false;
  *out = value;
  return true;
}

Route LogsRoute(const HttpRequest& req) {
  const std::string& m = req.method;
  std::string name;
  if (!PercentDecode(std::string_view(req.path).substr(kLogsPrefix.size()), &name)) {
    return Respond(400, "malformed percent-encoding in the path\n");
  }
  if (name.empty() || name.find('/') != std::string::npos) {
    return Respond(404, "not found: use GET /logs/<function>\n");
  }
  if (m != "GET" && m != "HEAD") {
    Route r = m == "OPTIONS" ? Options("GET, HEAD")
                             : MethodNotAllowed("GET, HEAD", "use GET /logs/<function>");
    r.function = std::move(name);
    return r;
  }
  Route r;
  r.kind = Route::Kind::kLogs;
  r.function = std::move(name);
  if (!QueryNumber<uint64_t>(req.target, "after", UINT64_MAX, &r.log_after)) {
    return Respond(400, "after must be a cursor (a decimal integer) from X-Nightjar-Log-Cursor\n");
  }
  if (!QueryNumber<uint32_t>(req.target, "lines", 1'000'000, &r.log_lines)) {
    return Respond(400, "lines must be an integer from 0 to 1000000\n");
  }
  return r;
}

}  // namespace

Route ResolveRoute(const HttpRequest& req) {
  const std::string& m = req.method;
  const bool read = m == "GET" || m == "HEAD";
  if (req.path == "*") return Options("GET, HEAD, POST");  // only OPTIONS gets here
  if (req.path == "/healthz") {
    if (read) return Respond(200, "ok\n");
    if (m == "OPTIONS") return Options("GET, HEAD");
    return MethodNotAllowed("GET, HEAD", "use GET /healthz");
  }
  if (req.path == "/status") {
    if (read) {
      Route r;
      r.kind = Route::Kind::kStatus;
      r.text = QueryHas(req.target, "format=text");
      return r;
    }
    if (m == "OPTIONS") return Options("GET, HEAD");
    return MethodNotAllowed("GET, HEAD", "use GET /status");
  }
  if (req.path == "/metrics") {
    if (read) {
      Route r;
      r.kind = Route::Kind::kMetrics;
      return r;
    }
    if (m == "OPTIONS") return Options("GET, HEAD");
    return MethodNotAllowed("GET, HEAD", "use GET /metrics");
  }
  if (req.path.starts_with(kLogsPrefix)) return LogsRoute(req);
  if (!req.path.starts_with(kFunctionPrefix)) {
    return Respond(404, "not found: use POST /function/<name>\n");
  }
  std::string name;
  if (!PercentDecode(std::string_view(req.path).substr(kFunctionPrefix.size()), &name)) {
    return Respond(400, "malformed percent-encoding in the path\n");
  }
  if (name.empty() || name.find('/') != std::string::npos) {
    return Respond(404, "not found: use POST /function/<name>\n");
  }
  if (m != "POST") {
    Route r =
        m == "OPTIONS" ? Options("POST") : MethodNotAllowed("POST", "use POST to call a function");
    r.function = std::move(name);  // the connection answers 404 if there is no such function
    return r;
  }
  Route r;
  r.kind = Route::Kind::kCall;
  r.function = std::move(name);
  // Two header lines are one comma-separated list (RFC 9110 §5.3), which is no integer.
  int timeouts = 0, traceparents = 0;
  for (const auto& [name, value] : req.headers) {
    if (name == "traceparent") {
      // Two are one comma-separated list, which is no traceparent (W3C Trace Context §3.2:
      // invalid -> a new trace). tracestate is not read or passed on.
      if (++traceparents > 1 || !proto::ParseTraceparent(value, &r.trace)) {
        r.trace = proto::TraceContext{};
      }
      continue;
    }
    if (name != "x-nightjar-timeout-ms") continue;
    if (++timeouts > 1 || !ParseTimeoutMs(value, &r.timeout_ms)) {
      return Respond(400, "X-Nightjar-Timeout-Ms must be one integer from 1 to " +
                              std::to_string(config::kMaxDurationMs) + "\n");
    }
  }
  return r;
}

CallAnswer AnswerForCall(const proto::CallResult& result, std::string out, bool timing_headers) {
  const proto::CallStatus status = result.status;
  CallAnswer a;
  a.status = HttpStatusFor(status);
  if (status != proto::CallStatus::kOk) {
    if (out.empty()) out = proto::CallStatusName(status);
    if (out.back() != '\n') out.push_back('\n');
  }
  a.body = std::move(out);
  if (timing_headers && result.call_id != 0) {
    // Each line built in place, in one allocation: this runs for every answer.
    std::string id;
    id.reserve(40);
    id.append("X-Nightjar-Call-Id: ");
    proto::AppendCallId(result.call_id, &id);
    a.AddExtra(std::move(id));
    if (result.known != 0) {
      std::string timing;
      timing.reserve(96);
      timing.append("Server-Timing: ");
      proto::AppendServerTiming(result, &timing);
      a.AddExtra(std::move(timing));
    }
  }
  if (a.status == 503) a.AddExtra("Retry-After: 1");
  return a;
}

CallAnswer AnswerForLogs(proto::CallStatus status, std::string body, const std::string& cursor) {
  CallAnswer a;
  if (status != proto::CallStatus::kOk) {
    proto::CallResult failed;  // no call was made: no call id or timing headers
    failed.status = status;
    a = AnswerForCall(failed, std::move(body), /*timing_headers=*/false);
    if (a.body.empty() || a.body.back() != '\n') a.body += '\n';
    return a;
  }
  a.body = std::move(body);
  if (!cursor.empty()) a.AddExtra("X-Nightjar-Log-Cursor: " + cursor);
  return a;
}

}  // namespace nightjar::gateway
