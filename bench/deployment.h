// Deployment: one real `nightjar up` process under test, with a generated config, on
// 127.0.0.1 and an ephemeral port, with its own IPC root (the same way tests/ start it).
// Thread rule: one owner thread. Stop() (or the destructor) stops the process tree.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace nightjar::bench {

// One `functions:` entry. C++ functions are the default; a Python one sets runtime
// "python" and a handler "file.py:function" (designated initializers read best:
// {.name = "py-nop", .handler = dir + "/nop.py:handle", .runtime = "python"}); one in an
// OCI container sets isolation "container" (needs root and runc: CanRunContainers()).
struct FunctionSpec {
  std::string name;
  // runtime cpp: absolute path of lib<name>.so; python: "/abs/path/file.py:function".
  std::string handler;
  int min_workers = 1;
  int max_workers = 8;
  int64_t timeout_ms = 0;          // 0 = engine default
  std::string concurrency{};       // "" = default (managed), or "managed" / "unmanaged"
  uint64_t max_payload_bytes = 0;  // 0 = default
  double concurrency_coef = 0;     // 0 = default
  std::string runtime{};           // "" = default (cpp), or "python"
  uint32_t slots_per_process = 0;  // python: worker slots per runtime process; 0 = default
  std::string isolation{};         // "" = engine default (process), or "process" / "container"
  std::string grpc{};              // "" = none, or the gRPC service it serves
};

struct DeploymentSpec {
  std::string name = "nightjar";  // names the scratch directory and the log file
  int io_threads = 1;
  int64_t max_queue = 0;  // 0 = default
  // More `engine:` keys, written as given (e.g. {"prefetch_max_us", "0"}).
  std::vector<std::pair<std::string, std::string>> engine_keys;
  // More `gateway:` keys, written as given (e.g. {"server_timing", "false"}).
  std::vector<std::pair<std::string, std::string>> gateway_keys;
  std::vector<FunctionSpec> functions;
};

// The config.yaml that Deployment::Start writes for `spec` (handler paths as given).
std::string RenderConfig(const DeploymentSpec& spec);

// Ok when this host can run `isolation: container` functions: the harness runs as root and
// finds runc where the engine looks for it (PATH, /usr/sbin, /usr/bin). Otherwise fails
// with the reason, for a scenario to log when it skips.
Status CanRunContainers();

class Deployment {
 public:
  // Writes <work_dir>/<spec.name>/config.yaml, runs `nightjar_bin up CONFIG --http-port 0
  // --ipc-root DIR` with stdout and stderr in <work_dir>/<spec.name>/nightjar.log, and
  // waits (up to 60 s) for its "nightjar: serving http://HOST:PORT" line, which the engine
  // prints once every function has its min_workers ready. The child gets SIGTERM if the
  // harness dies. Fails when it exits or does not come up in time (the message carries the
  // log's tail).
  static Result<std::unique_ptr<Deployment>> Start(const std::string& nightjar_bin,
                                                   const std::string& work_dir,
                                                   const DeploymentSpec& spec);
  ~Deployment();
  Deployment(const Deployment&) = delete;
  Deployment& operator=(const Deployment&) = delete;

  // SIGTERM, then waits up to 20 s (SIGKILL after that), removes the IPC root and, when the
  // deployment had containers, deletes any of them the engine left behind (`runc list`).
  // Fails when the exit was not clean or containers were left. Idempotent.
  Status Stop();

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // From the fork of `nightjar up` to its serving line (polled every millisecond), in ns.
  int64_t start_ns() const { return start_ns_; }
  const std::string& log_path() const { return log_path_; }
  // The last `max_bytes` of the log, for error messages.
  std::string LogTail(size_t max_bytes = 4000) const;

 private:
  Deployment() = default;
  pid_t pid_ = -1;
  int64_t start_ns_ = 0;
  bool has_containers_ = false;
  std::string host_;
  int port_ = 0;
  std::string dir_;
  std::string ipc_root_;
  std::string log_path_;
};

}  // namespace nightjar::bench
