// Http2Handler implementation; see http2_handler.h.
#include "gateway/http2_handler.h"

#include <nghttp2/nghttp2.h>

#include "base/clock.h"
#include "gateway/grpc.h"
#include "gateway/http_connection.h"
#include "gateway/http_response.h"
#include "gateway/http_routes.h"

namespace nightjar::gateway {

using proto::CallStatus;

namespace {

// RFC 4648 §5 (base64url, padding optional), as HTTP2-Settings carries it. False on any
// other character.
bool DecodeBase64Url(std::string_view in, std::string* out) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '-') {
      v = 62;
    } else if (c == '_') {
      v = 63;
    } else {
      return false;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

bool IsGrpc(const H2Request& r) {
  const std::string* ct = r.Header("content-type");
  return ct != nullptr && ct->starts_with("application/grpc");
}

H2Limits LimitsOf(const config::GatewayConfig& c) {
  H2Limits l;
  l.max_concurrent_streams = c.h2_max_concurrent_streams;
  l.max_header_list_bytes = c.max_header_bytes;
  l.max_body_bytes = c.max_body_bytes;
  return l;
}

}  // namespace

Http2Handler::Http2Handler(HttpConnection* conn, const config::GatewayConfig& config,
                           Backend* backend)
    : conn_(conn),
      config_(config),
      backend_(backend),
      session_(
          LimitsOf(config), [this](H2Request&& req) { OnRequest(std::move(req)); },
          [this](int32_t id) { deadlines_.erase(id); }),
      last_activity_ns_(MonotonicNowNs()) {}

bool Http2Handler::Start() { return session_.Start(); }

bool Http2Handler::StartUpgrade(const std::string& settings_base64url, bool head_request) {
  std::string settings;
  if (!DecodeBase64Url(settings_base64url, &settings)) return false;
  return session_.Start(&settings, head_request);
}

void Http2Handler::ServeUpgradeRequest(HttpRequest&& request) {
  H2Request req;
  req.stream_id = 1;
  req.method = std::move(request.method);
  req.path = std::move(request.target);
  req.scheme = "http";
  req.headers = std::move(request.headers);
  req.body = std::move(request.body);
  if (const std::string* host = req.Header("host")) req.authority = *host;
  OnRequest(std::move(req));
  Flush();
}

void Http2Handler::OnData(std::string_view data) {
  last_activity_ns_ = MonotonicNowNs();
  feeding_ = true;
  const bool ok = session_.Feed(data);
  feeding_ = false;
  Flush();
  if (!ok && !conn_->closed()) conn_->CloseAfterFlush();  // after the GOAWAY
}

void Http2Handler::OnRequest(H2Request&& req) {
  if (IsGrpc(req)) return ServeGrpc(req);
  ServeHttp(req);
}

void Http2Handler::ServeHttp(H2Request& r) {
  const int32_t id = r.stream_id;
  const bool head_only = r.method == "HEAD";
  if (r.limit_status != 0) {
    const std::string why =
        r.limit_status == 413
            ? "request body over " + std::to_string(config_.max_body_bytes) + " bytes\n"
            : "request headers over " + std::to_string(config_.max_header_bytes) + " bytes\n";
    return RespondHttp(id, r.limit_status, why, "text/plain", {}, head_only);
  }
  // The same request as HTTP/1.1 would have produced, for the same routes.
  HttpRequest req;
  req.method = std::move(r.method);
  req.target = std::move(r.path);
  req.path = req.target == "*" ? req.target : req.target.substr(0, req.target.find_first_of("?#"));
  req.headers = std::move(r.headers);
  req.body = std::move(r.body);
  req.keep_alive = true;
  const Route route = conn_->Resolve(req);
  auto weak = std::weak_ptr<HttpConnection>(
      std::static_pointer_cast<HttpConnection>(conn_->shared_from_this()));
  io::EventLoop* home = conn_->loop();
  switch (route.kind) {
    case Route::Kind::kRespond:
      return RespondHttp(id, route.status, route.body, route.status == 204 ? "" : "text/plain",
                         route.allow.empty() ? std::span<const std::string>()
                                             : std::span<const std::string>(&route.allow, 1),
                         head_only);
    case Route::Kind::kStatus:
      backend_->CollectStatus(
          route.text ? Backend::StatusFormat::kText : Backend::StatusFormat::kJson,
          [weak, home, id, text = route.text, head_only](std::string body) {
            home->Dispatch([weak, id, text, head_only, body = std::move(body)]() mutable {
              auto self = weak.lock();
              if (!self || self->closed() || !self->h2_) return;
              self->h2_->RespondHttp(id, 200, std::move(body),
                                     text ? "text/plain" : "application/json", {}, head_only);
              self->h2_->Flush();
            });
          });
      return;
    case Route::Kind::kCall:
      backend_->Call(route.function, req.body, route.timeout_ms, route.trace,
                     [weak, home, id](const proto::CallResult& result, std::string out) {
                       home->Dispatch([weak, id, result, out = std::move(out)]() mutable {
                         auto self = weak.lock();
                         if (!self || self->closed() || !self->h2_) return;
                         CallAnswer a = AnswerForCall(result, std::move(out),
                                                      self->h2_->config_.server_timing);
                         self->h2_->RespondHttp(id, a.status, std::move(a.body), "text/plain",
                                                a.extra(), false);
                         self->h2_->Flush();
                       });
                     });
      return;
  }
}

void Http2Handler::RespondHttp(int32_t id, int status, std::string body,
                               std::string_view content_type, std::span<const std::string> extra,
                               bool head_only) {
  std::vector<H2Header> headers;
  if (!content_type.empty() && status != 204) headers.emplace_back("content-type", content_type);
  if (status != 204) headers.emplace_back("content-length", std::to_string(body.size()));
  headers.emplace_back("date", std::string(HttpDateNow()));
  for (std::string_view line : extra) {
    const size_t colon = line.find(": ");
    if (colon == std::string_view::npos) continue;
    std::string name(line.substr(0, colon));  // HTTP/2 field names are lower case (RFC 9113 §8.2)
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    headers.emplace_back(std::move(name), std::string(line.substr(colon + 2)));
  }
  if (head_only || status == 204) body.clear();
  session_.Respond(id, status, std::move(headers), std::move(body));
}

void Http2Handler::ServeGrpc(H2Request& r) {
  const int32_t id = r.stream_id;
  if (r.limit_status != 0) {
    return RespondGrpcError(id, grpc::kResourceExhausted,
                            r.limit_status == 413
                                ? "request message over " + std::to_string(config_.max_body_bytes) +
                                      " bytes"
                                : "request metadata over " +
                                      std::to_string(config_.max_header_bytes) + " bytes");
  }
  std::string_view service, method;
  if (r.method != "POST" || !grpc::ParsePath(r.path, &service, &method)) {
    return RespondGrpcError(id, grpc::kUnimplemented,
                            "not a gRPC method path: POST /<package.Service>/<Method>");
  }
  if (const std::string* enc = r.Header("grpc-encoding"); enc != nullptr && *enc != "identity") {
    return RespondGrpcError(id, grpc::kUnimplemented,
                            "grpc-encoding \"" + enc->substr(0, 64) +
                                "\" is not supported: send messages uncompressed (identity)");
  }
  int64_t timeout_ms = 0;
  if (const std::string* t = r.Header("grpc-timeout");
      t != nullptr && !grpc::ParseTimeout(*t, &timeout_ms)) {
    return RespondGrpcError(id, grpc::kInternal, "malformed grpc-timeout \"" + t->substr(0, 32) +
                                                     "\"");
  }
  std::string_view message;
  std::string error;
  if (grpc::Code c = grpc::UnwrapMessage(r.body, &message, &error); c != grpc::kOk) {
    return RespondGrpcError(id, c, error);
  }
  std::string function(grpc::kServicePrefix);
  function.append(service);
  std::string input;
  input.reserve(r.path.size() + 1 + message.size());
  input.append(r.path).push_back('\n');
  input.append(message);
  if (timeout_ms > 0) deadlines_[id] = MonotonicNowNs() + timeout_ms * 1'000'000;
  auto weak = std::weak_ptr<HttpConnection>(
      std::static_pointer_cast<HttpConnection>(conn_->shared_from_this()));
  io::EventLoop* home = conn_->loop();
  // gRPC metadata is HTTP/2 headers: a traceparent there is the W3C one (as for HTTP).
  proto::TraceContext trace;
  if (const std::string* tp = r.Header("traceparent"); tp != nullptr) {
    if (!proto::ParseTraceparent(*tp, &trace)) trace = proto::TraceContext{};
  }
  backend_->Call(function, input, timeout_ms, trace,
                 [weak, home, id, service = std::string(service)](const proto::CallResult& result,
                                                                  std::string out) {
                   home->Dispatch([weak, id, result, service, out = std::move(out)]() mutable {
                     auto self = weak.lock();
                     if (!self || self->closed() || !self->h2_) return;
                     Http2Handler* h = self->h2_.get();
                     h->deadlines_.erase(id);
                     // The call id and breakdown as response metadata, as for HTTP.
                     std::vector<H2Header> timing;
                     if (h->config_.server_timing && result.call_id != 0) {
                       timing.emplace_back("x-nightjar-call-id",
                                           proto::FormatCallId(result.call_id));
                       if (result.known != 0) {
                         timing.emplace_back("server-timing", proto::FormatServerTiming(result));
                       }
                     }
                     const CallStatus status = result.status;
                     if (status == CallStatus::kOk) {
                       std::vector<H2Header> headers = {{"content-type", "application/grpc"}};
                       headers.insert(headers.end(), timing.begin(), timing.end());
                       h->session_.Respond(id, 200, std::move(headers), grpc::WrapMessage(out),
                                           {{"grpc-status", "0"}});
                     } else if (status == CallStatus::kNotFound) {
                       h->RespondGrpcError(
                           id, grpc::kUnimplemented,
                           "unknown service " + service + " (no function declares it with grpc:)",
                           std::move(timing));
                     } else {
                       std::string message;
                       const grpc::Code code = grpc::CodeFor(status, out, &message);
                       h->RespondGrpcError(id, code, message, std::move(timing));
                     }
                     h->Flush();
                   });
                 });
}

void Http2Handler::RespondGrpcError(int32_t id, int code, std::string_view message,
                                    std::vector<H2Header> extra) {
  // Trailers-only: one HEADERS frame with END_STREAM.
  std::vector<H2Header> headers = {{"content-type", "application/grpc"},
                                   {"grpc-status", std::to_string(code)}};
  if (!message.empty()) headers.emplace_back("grpc-message", grpc::PercentEncode(message));
  headers.insert(headers.end(), std::make_move_iterator(extra.begin()),
                 std::make_move_iterator(extra.end()));
  session_.Respond(id, 200, std::move(headers), {});
  deadlines_.erase(id);
}

void Http2Handler::Flush() {
  if (feeding_ || conn_->closed()) return;
  // Frames are produced only while the client keeps up: the rest waits in nghttp2 (and its
  // flow control) until the socket drains.
  const size_t pending = conn_->pending_output();
  if (pending < config_.max_unsent_output_bytes) {
    std::string out;
    session_.TakeOutput(&out, config_.max_unsent_output_bytes - pending);
    if (!out.empty()) conn_->Send(out);
  }
  if (conn_->closed()) return;
  conn_->SetReading(!stopping_ && conn_->pending_output() < config_.max_unsent_output_bytes);
  MaybeClose();
}

void Http2Handler::MaybeClose() {
  if (conn_->closed() || conn_->closing()) return;
  if (session_.Finished() || (conn_->peer_closed() && session_.awaiting_answer() == 0) ||
      (stopping_ && session_.awaiting_answer() == 0)) {
    conn_->CloseAfterFlush();
  }
}

void Http2Handler::OnPeerClosed() {
  // Answers still owed go out (the client may have half-closed); then the connection ends.
  Flush();
}

void Http2Handler::CheckDeadlines(int64_t now_ns) {
  if (conn_->closed()) return;
  const int64_t ms = 1'000'000;
  // A stalled reader: as for HTTP/1.1.
  if (conn_->pending_output() > 0 &&
      now_ns - conn_->last_write_progress_ns() > config_.idle_timeout_ms * ms) {
    return conn_->Close();
  }
  bool changed = false;
  // A request that does not arrive whole in time is cancelled (HTTP/1.1 would answer 408).
  for (const auto& [id, start] : session_.IncompleteStreams()) {
    if (now_ns - start > (config_.header_timeout_ms + config_.body_timeout_ms) * ms) {
      session_.Reset(id, NGHTTP2_CANCEL);
      changed = true;
    }
  }
  // A gRPC call past its grpc-timeout: the engine answers DEADLINE_EXCEEDED at the
  // deadline; if that answer has not come a second later, the stream is cancelled.
  for (auto it = deadlines_.begin(); it != deadlines_.end();) {
    if (now_ns > it->second + 1000 * ms) {
      session_.Reset(it->first, NGHTTP2_CANCEL);
      it = deadlines_.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  if (session_.awaiting_answer() == 0 && session_.IncompleteStreams().empty() &&
      now_ns - last_activity_ns_ > config_.idle_timeout_ms * ms) {
    session_.Shutdown();  // GOAWAY, then close
    stopping_ = true;
    changed = true;
  }
  if (changed) Flush();
}

void Http2Handler::Stop() {
  stopping_ = true;
  session_.Shutdown();
  Flush();
  if (!conn_->closed() && !conn_->closing()) conn_->CloseAfterFlush();
}

}  // namespace nightjar::gateway
