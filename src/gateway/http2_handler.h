// Http2Handler: the HTTP/2 side of a gateway connection (DESIGN.md §8). An HttpConnection
// hands its bytes here once the client has spoken HTTP/2 (the connection preface on a new
// connection, or an accepted `Upgrade: h2c`); from then on every request arrives on a
// stream of the H2Session (h2_session.h) and is answered on it:
//   - plain HTTP requests go through the same routes (http_routes.h) and get the same
//     statuses and bodies as over HTTP/1.1 (AnswerForCall);
//   - gRPC requests (content-type application/grpc) are unary calls to the function that
//     declares the service (grpc.h has the mapping of the path, the framing and statuses).
// Streams run concurrently (up to gateway.h2_max_concurrent_streams); a request that does
// not arrive whole within the head + body timeouts, or a gRPC call whose grpc-timeout
// passes unanswered, is reset (RST_STREAM CANCEL); Stop() sends GOAWAY.
//
// Thread rule: the owning connection's loop thread. Owned by its HttpConnection.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/config.h"
#include "gateway/backend.h"
#include "gateway/h2_session.h"

namespace nightjar::gateway {

class HttpConnection;
struct HttpRequest;

class Http2Handler {
 public:
  Http2Handler(HttpConnection* conn, const config::GatewayConfig& config, Backend* backend);

  // Prior knowledge: starts the session. False if nghttp2 cannot (out of memory).
  bool Start();
  // `Upgrade: h2c`: starts the session from the request's HTTP2-Settings (base64url). False
  // when they are malformed: the caller then answers in HTTP/1.1. On true the caller sends
  // "101 Switching Protocols", then ServeUpgradeRequest().
  bool StartUpgrade(const std::string& settings_base64url, bool head_request);
  // Serves the request that carried the upgrade, as stream 1 (after the 101 went out).
  void ServeUpgradeRequest(HttpRequest&& request);

  void OnData(std::string_view data);
  void OnOutputDrained() { Flush(); }
  void OnPeerClosed();
  void CheckDeadlines(int64_t now_ns);
  // GOAWAY, then closes once the output is written.
  void Stop();

 private:
  void OnRequest(H2Request&& req);
  void ServeHttp(H2Request& req);
  void ServeGrpc(H2Request& req);
  // Answers an HTTP request as http_connection.cc would (text/plain, Date, Allow, ...).
  void RespondHttp(int32_t id, int status, std::string body, std::string_view content_type,
                   std::span<const std::string> extra, bool head_only);
  // extra: more response headers (x-nightjar-call-id, server-timing).
  void RespondGrpcError(int32_t id, int code, std::string_view message,
                        std::vector<H2Header> extra = {});
  void Flush();
  void MaybeClose();

  HttpConnection* conn_;
  const config::GatewayConfig& config_;
  Backend* backend_;
  H2Session session_;
  // gRPC calls with a grpc-timeout: stream -> deadline (ns). Reset when it passes.
  std::unordered_map<int32_t, int64_t> deadlines_;
  bool feeding_ = false;  // inside session_.Feed(): answers are sent after it returns
  bool stopping_ = false;
  int64_t last_activity_ns_ = 0;
};

}  // namespace nightjar::gateway
