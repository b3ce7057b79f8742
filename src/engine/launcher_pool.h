// LauncherPool: the engine's side of the launchers -- one `nightjar launcher` process per
// function, connected over the Unix seqpacket socket in the IPC root. Asks launchers to
// start workers, hears about worker exits, and restarts a launcher that dies.
//
// Thread rules: StartWorker() from any thread; Start()/Stop() from the engine's owning
// thread; socket events run on the loop given at construction.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <vector>

#include "config/config.h"
#include "io/event_loop.h"
#include "ipc/ipc_root.h"
#include "proto/message.h"

namespace nightjar::engine {

class Engine;

class LauncherPool final : public io::Watcher {
 public:
  LauncherPool(Engine* engine, const config::Config& config, const ipc::IpcRoot& root,
               std::string self_exe, io::EventLoop* loop);
  ~LauncherPool() override;

  // Listens on the socket and spawns one launcher per function. Fails with errno.
  Status Start();
  // Queues a start request; sent as soon as the function's launcher is connected.
  void StartWorker(uint32_t function_id, uint64_t channel, uint16_t worker_id);
  // Asks the launcher to kill a worker (idle reaping); its exit report is then ignored.
  void StopWorker(uint32_t function_id, uint64_t channel);
  // Closes every launcher connection (launchers then kill their workers and exit) and
  // reaps them, SIGKILLing any that linger past a few seconds.
  void Stop();

  void OnEvents(uint32_t events) override;  // accept

 private:
  class Connection;
  struct Slot {
    pid_t pid = 0;
    std::shared_ptr<Connection> conn;          // set after the launcher's hello
    std::vector<proto::Message> queued;        // start requests waiting for the launcher
  };
  Status Spawn(uint32_t function_id);
  void OnHello(const std::shared_ptr<Connection>& c, const proto::Message& msg);
  void OnConnectionClosed(Connection* c);
  void SendOrQueue(uint32_t function_id, proto::Message msg);

  Engine* engine_;
  const config::Config& config_;
  const ipc::IpcRoot& root_;
  std::string self_exe_;
  io::EventLoop* loop_;
  UniqueFd listen_fd_;
  std::mutex mu_;
  std::vector<Slot> slots_;                               // index = function id
  std::vector<std::shared_ptr<Connection>> pending_;      // accepted, no hello yet
  bool stopping_ = false;
};

}  // namespace nightjar::engine
