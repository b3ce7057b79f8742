// GatewayLink: the engine's side of the split deployment. Connects to the gateway's
// engine port, announces this engine's functions (kEngineHello), serves kLinkCall frames
// through Engine::SubmitExternal and answers each with one kLinkResult. Reconnects
// (every 500 ms) whenever the link drops; calls whose link dropped are answered by the
// gateway.
//
// Thread rules: Start()/Stop() from the owning thread. Connecting (blocking) happens on
// a small connector thread, never on an I/O loop; the link itself lives on `loop`.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "io/event_loop.h"

namespace nightjar::engine {

class Engine;
class GatewayLinkConnection;

class GatewayLink {
 public:
  GatewayLink(Engine* engine, io::EventLoop* loop, std::string host, int port);
  ~GatewayLink();
  void Start();
  void Stop();
  void OnDisconnected();  // from the connection, on the loop

 private:
  void ConnectLoop();

  Engine* engine_;
  io::EventLoop* loop_;
  std::string host_;
  int port_;
  std::thread connector_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                           // guarded by mu_
  std::shared_ptr<GatewayLinkConnection> current_;  // guarded by mu_
};

}  // namespace nightjar::engine
