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
// {.name = "py-nop", .handler = dir + "/nop.py:handle", .runtime = "python"}).
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
};

struct DeploymentSpec {
  std::string name = "nightjar";  // names the scratch directory and the log file
  int io_threads = 1;
  int64_t max_queue = 0;  // 0 = default
  // More `engine:` keys, written as given (e.g. {"prefetch_max_us", "0"}).
  std::vector<std::pair<std::string, std::string>> engine_keys;
  std::vector<FunctionSpec> functions;
};

// The config.yaml that Deployment::Start writes for `spec` (handler paths as given).
std::string RenderConfig(const DeploymentSpec& spec);

class Deployment {
 public:
  // Writes <work_dir>/<spec.name>/config.yaml, runs `nightjar_bin up CONFIG --http-port 0
  // --ipc-root DIR` with stdout and stderr in <work_dir>/<spec.name>/nightjar.log, and
  // waits (up to 60 s) for its "nightjar: serving http://HOST:PORT" line. The child gets
  // SIGTERM if the harness dies. Fails when it exits or does not come up in time (the
  // message carries the log's tail).
  static Result<std::unique_ptr<Deployment>> Start(const std::string& nightjar_bin,
                                                   const std::string& work_dir,
                                                   const DeploymentSpec& spec);
  ~Deployment();
  Deployment(const Deployment&) = delete;
  Deployment& operator=(const Deployment&) = delete;

  // SIGTERM, then waits up to 20 s (SIGKILL after that). Fails when the exit was not clean.
  // Idempotent.
  Status Stop();

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  // The last `max_bytes` of the log, for error messages.
  std::string LogTail(size_t max_bytes = 4000) const;

 private:
  Deployment() = default;
  pid_t pid_ = -1;
  std::string host_;
  int port_ = 0;
  std::string dir_;
  std::string ipc_root_;
  std::string log_path_;
};

}  // namespace nightjar::bench
