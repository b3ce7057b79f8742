// HttpServer: the gateway's HTTP/1.1 front end (DESIGN.md §8). Accepts connections on one
// loop and spreads them over the loops it is given; each connection parses requests
// (http_codec.h), sends calls to the Backend, and writes responses in request order
// (pipelining-safe) as completions arrive.
//
// Routes: POST /function/<name> (body = input; X-Nightjar-Timeout-Ms overrides the
// deadline), GET /healthz. Errors: 400 malformed, 404 unknown function or path, 405,
// 413 body over the limit, 431 headers over the limit, 502 function failure or worker
// death, 503 (+Retry-After) unavailable, 504 deadline. Idle connections are closed after
// gateway.idle_timeout_ms.
//
// Thread rules: Start()/Stop() from the owning thread while the loops run; everything
// else happens on loop threads.
#pragma once

#include <memory>
#include <mutex>
#include <unordered_set>

#include "config/config.h"
#include "gateway/backend.h"
#include "io/event_loop.h"

namespace nightjar::gateway {

class HttpConnection;

class HttpServer final : public io::Watcher {
 public:
  HttpServer(const config::GatewayConfig& config, io::LoopThreads* loops, Backend* backend);
  ~HttpServer() override;

  // Listens on host:port (0 = ephemeral). Fails with errno text.
  Status Start(const std::string& host, int port);
  int port() const { return port_; }
  // Stops accepting new connections; existing ones keep being served. Blocks until done.
  void StopAccepting();
  // StopAccepting(), then closes every connection once its queued responses are written
  // (answers still pending are dropped with the connection). Blocks until done.
  void Stop();

  void OnEvents(uint32_t events) override;  // accept
  void Forget(HttpConnection* c);           // a connection closed (its loop thread)

 private:
  void SweepIdle(io::EventLoop* loop);

  const config::GatewayConfig& config_;
  io::LoopThreads* loops_;
  Backend* backend_;
  UniqueFd listen_fd_;
  int port_ = 0;
  std::mutex mu_;
  std::unordered_set<std::shared_ptr<HttpConnection>> conns_;  // guarded by mu_
  bool stopping_ = false;
};

// Maps a call outcome to an HTTP status code.
int HttpStatusFor(proto::CallStatus status);

}  // namespace nightjar::gateway
