// EngineLinks: the gateway's side of the split deployment. Engines (`nightjar engine`)
// connect to the gateway's engine port over TCP and announce their functions; calls go
// to the connected engine with the fewest outstanding calls that serves the function
// (least-outstanding load balancing). Framing: proto/link_frame.h.
//
// Thread rules: Call() on any gateway loop thread; links live on the loops they were
// accepted onto; Start()/Stop() from the owning thread while loops run.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "gateway/backend.h"
#include "io/event_loop.h"

namespace nightjar::gateway {

class EngineLink;

class EngineLinks final : public Backend, public io::Watcher {
 public:
  explicit EngineLinks(io::LoopThreads* loops) : loops_(loops) {}
  ~EngineLinks() override;

  // Listens for engines. Fails with errno text.
  Status Start(const std::string& host, int port);
  int port() const { return port_; }
  void Stop();
  size_t connected();

  void Call(std::string_view function, std::string_view input, int64_t timeout_ms,
            const proto::TraceContext& trace, CallDone done) override;
  // kOk when a connected engine serves `function`; the size limit is the engine's to
  // check once the call arrives.
  proto::CallStatus Precheck(std::string_view function, uint64_t input_bytes,
                             std::string* message) override;
  void CollectStatus(StatusFormat format, std::function<void(std::string)> done) override;
  // Each engine's samples carry engine="<host:port of its end of the link>".
  void CollectMetrics(std::function<void(std::string)> done) override;
  // Asks every engine that serves `function` and merges their lines by time; `after` is
  // not supported across engines (each engine's cursor is its own): the cursor is "".
  void CollectLogs(std::string_view function, uint64_t after, uint32_t max_lines,
                   LogsDone done) override;
  void OnEvents(uint32_t events) override;  // accept
  void OnLinkReady(const std::shared_ptr<EngineLink>& link);
  void OnLinkClosed(EngineLink* link);

 private:
  std::shared_ptr<EngineLink> Pick(std::string_view function, proto::CallStatus* why,
                                   std::string* message);

  io::LoopThreads* loops_;
  UniqueFd listen_fd_;
  int port_ = 0;
  std::mutex mu_;
  std::vector<std::shared_ptr<EngineLink>> accepted_;  // connected, not yet hello'd
  std::vector<std::shared_ptr<EngineLink>> ready_;     // announced their functions
  bool stopping_ = false;
};

}  // namespace nightjar::gateway
