// LauncherPool: the engine's side of the launchers -- one `nightjar launcher` process per
// function, connected over the Unix seqpacket socket in the IPC root. Asks launchers to
// start workers, hears about worker exits, and restarts a launcher that dies.
//
// A function with `isolation: container` has its launcher (and so its workers) run in an
// OCI container: the pool writes the bundle under <instance>/containers/, starts it with
// `runc run --detach`, and deletes it (`runc delete --force`) when the launcher goes or the
// engine stops; at Start() it deletes what an engine killed earlier left (docs/isolation.md).
//
// Thread rules: StartWorker() from any thread; Start()/Stop() from the engine's owning
// thread; socket events run on the loop given at construction.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "container/cgroups.h"
#include "container/runc.h"
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
  // Why a worker of the function may have died, for the error its call gets: "" or e.g.
  // ": killed by the kernel's OOM killer at the container's memory limit (64 MiB)" when the
  // function's container cgroup counted an OOM kill since the last call. Any thread.
  std::string TakeExitReason(uint32_t function_id);
  // Closes every launcher connection (launchers then kill their workers and exit) and
  // reaps them, SIGKILLing any that linger past a few seconds.
  void Stop();

  void OnEvents(uint32_t events) override;  // accept

 private:
  class Connection;
  struct Slot {
    pid_t pid = 0;             // isolation: process
    std::string container_id;  // isolation: container ("" = none running)
    std::string bundle_dir;
    int generation = 0;                  // containers started, for unique ids
    uint64_t oom_kills = 0;              // last OOM-kill count seen in its cgroup
    std::shared_ptr<Connection> conn;    // set after the launcher's hello
    std::vector<proto::Message> queued;  // start requests waiting for the launcher
  };
  Status Spawn(uint32_t function_id);
  // Writes the function's bundle and runs its launcher in a container. Fails with runc's
  // message.
  Status SpawnContainer(uint32_t function_id, std::vector<std::string> args);
  // Start-up: waits until the function's launcher connects; fails when its container
  // stops first (its process could not run) or after kContainerStartTimeoutMs.
  Status AwaitContainerLauncher(uint32_t function_id);
  // Deletes the function's container and bundle, if any. Blocks for runc (tens of ms).
  void DeleteContainer(uint32_t function_id);
  void OnHello(const std::shared_ptr<Connection>& c, const proto::Message& msg);
  void OnConnectionClosed(Connection* c);
  // Starts the function's launcher again after delay_ms (on the loop); when that fails,
  // fails the start requests waiting for it and tries again, backing off.
  void Restart(uint32_t function_id, int64_t delay_ms);
  void SendOrQueue(uint32_t function_id, proto::Message msg);

  Engine* engine_;
  const config::Config& config_;
  const ipc::IpcRoot& root_;
  std::string self_exe_;
  io::EventLoop* loop_;
  UniqueFd listen_fd_;
  std::mutex mu_;
  std::vector<Slot> slots_;                           // index = function id
  std::vector<std::shared_ptr<Connection>> pending_;  // accepted, no hello yet
  bool stopping_ = false;
  std::optional<container::Runc> runc_;  // found at Start() when a function needs it
  container::CgroupVersion cgroups_ = container::CgroupVersion::kV1;
};

}  // namespace nightjar::engine
