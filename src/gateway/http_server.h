// HttpServer: the gateway's HTTP/1.1 front end (DESIGN.md §8). Accepts connections on one
// loop and spreads them over the loops it is given; each connection (http_connection.h)
// parses, routes and answers its requests. The server enforces what spans connections:
// gateway.max_connections (503 and close above it), descriptor exhaustion (EMFILE: the
// newest connection is told 503 and closed instead of the listener spinning), and a
// periodic sweep per loop that applies every connection's deadlines.
//
// Thread rules: Start()/Stop() from the owning thread while the loops run; everything
// else happens on loop threads.
#pragma once

#include <memory>
#include <mutex>
#include <unordered_map>

#include "config/config.h"
#include "gateway/backend.h"
#include "io/event_loop.h"

namespace nightjar::gateway {

class GatewayMetrics;
class HttpConnection;

class HttpServer final : public io::Watcher {
 public:
  HttpServer(const config::GatewayConfig& config, io::LoopThreads* loops, Backend* backend);
  ~HttpServer() override;

  // Listens on host:port (0 = ephemeral). Fails with errno text.
  Status Start(const std::string& host, int port);
  int port() const { return port_; }
  // What GET /metrics reports and calls are counted into; null (the default): metrics are
  // off and /metrics answers 404. Set before Start(); not owned.
  void set_metrics(GatewayMetrics* metrics) { metrics_ = metrics; }
  GatewayMetrics* metrics() const { return metrics_; }
  // Stops accepting new connections; existing ones keep being served. Blocks until done.
  void StopAccepting();
  // StopAccepting(), then closes every connection once its queued responses are written
  // (answers still pending are dropped with the connection). Blocks until done.
  void Stop();

  void OnEvents(uint32_t events) override;  // accept
  void Forget(HttpConnection* c);           // a connection closed (its loop thread)

 private:
  void Sweep(io::EventLoop* loop);
  // Out of descriptors: accept the oldest pending connection with the spare one, answer
  // 503 and close it, so the listener does not stay readable for ever.
  void ShedOne();

  const config::GatewayConfig& config_;
  io::LoopThreads* loops_;
  Backend* backend_;
  GatewayMetrics* metrics_ = nullptr;
  UniqueFd listen_fd_;
  UniqueFd spare_fd_;  // kept open to be released when accept() fails with EMFILE
  int port_ = 0;
  std::mutex mu_;
  // Every open connection, keyed by itself; guarded by mu_.
  std::unordered_map<HttpConnection*, std::shared_ptr<HttpConnection>> conns_;
  bool stopping_ = false;
};

// Maps a call outcome to an HTTP status code.
int HttpStatusFor(proto::CallStatus status);

}  // namespace nightjar::gateway
