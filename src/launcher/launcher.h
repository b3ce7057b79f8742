// The launcher: one process per function per host (DESIGN.md §2). It connects to the
// engine's Unix seqpacket socket, starts that function's worker processes when the
// engine asks (kStartWorker), and reports every exit (kWorkerExited) with its wait
// status. When the engine goes away (socket EOF, or the engine process dies: parent
// death signal) it kills its workers and exits, so no worker outlives its engine.
//
// In container mode this process is what runs inside the function's container.
// Thread rule: single-threaded process.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace nightjar::launcher {

struct LauncherOptions {
  std::string socket_path;   // engine's launcher socket
  std::string ipc_dir;       // instance directory, passed on to workers
  std::string function;
  std::string handler;
  uint64_t max_payload = 0;
  std::string worker_exe;    // binary that implements `worker` (normally /proc/self/exe)
  pid_t engine_pid = 0;      // exit at once if the parent is already someone else
  int worker_nice = 0;       // workers run this much nicer than the launcher (0..19)
};

// Returns the process exit code: 0 after the engine closed the socket, 2 on setup failure.
int RunLauncher(const LauncherOptions& options);

}  // namespace nightjar::launcher
