// LogCapture: reads every worker process's stdout and stderr (docs/operations.md,
// "Function logs"). The launcher makes each worker's fd 1 and fd 2 pipes and hands the
// engine their read ends (kWorkerLogs over its socket, SCM_RIGHTS); each pipe is watched
// on one of the engine's loops and drained whenever it is readable, so a worker never
// blocks on its output for long whatever it writes. Lines go to the function's ring in
// the LogStore, tagged with function, worker, stream, and the call id of a log frame
// (proto/log_frame.h); LogEcho says which also go to the engine's own stderr.
//
// Thread rules: Adopt(), Read() and Stop() from any thread; pipe events run on their loop.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/fd.h"
#include "base/status.h"
#include "config/config.h"
#include "engine/log_store.h"
#include "io/event_loop.h"

namespace nightjar::engine {

// Which captured lines are also written to the engine's stderr (`--worker-logs`).
enum class LogEcho {
  kNone,                // `ring`: none
  kStderrOutsideCalls,  // `stderr-outside-calls` (default): stderr lines no call wrote --
                        // a worker that cannot start, a runtime's crash -- stay where an
                        // operator looks first, while what functions print stays in the ring
  kAll,                 // `all`: every line
};

class LogCapture {
 public:
  LogCapture(const config::Config& config, io::LoopThreads* loops, LogEcho echo);
  ~LogCapture();

  // Takes the read ends of a worker process's stdout and stderr pipes (either may be
  // invalid). worker_id < 0: a runtime process hosting several slots. Never fails: a pipe
  // that cannot be watched is closed (its writer then gets EPIPE, which it ignores).
  void Adopt(uint32_t function_id, int32_t worker_id, int32_t pid, UniqueFd out, UniqueFd err);

  // GET /logs/<function>: the lines after sequence number `after` (0: from the oldest
  // kept), at most the newest `max_lines` (0: all kept), each formatted by
  // LogStore::Format and ending in '\n', preceded by "# N lines dropped\n" when the ring
  // dropped lines after `after` before they could be read. *last_seq: the cursor for the
  // next read. Fails with kNotFound for an unknown function.
  Result<std::string> Read(std::string_view function, uint64_t after, size_t max_lines,
                           uint64_t* last_seq) const;

  // Stops watching every pipe and closes them. Idempotent.
  void Stop();

 private:
  class Pipe;
  void Remove(Pipe* pipe);
  void Store(uint32_t function_id, LogLine&& line);

  const config::Config& config_;
  io::LoopThreads* loops_;
  LogEcho echo_;
  LogStore store_;
  std::mutex mu_;
  std::unordered_map<Pipe*, std::unique_ptr<Pipe>> pipes_;  // guarded by mu_
  bool stopped_ = false;                                    // guarded by mu_
};

}  // namespace nightjar::engine
