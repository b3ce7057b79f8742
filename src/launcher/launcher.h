// The launcher: one process per function per host (DESIGN.md §2). It connects to the
// engine's Unix seqpacket socket, starts that function's worker processes when the
// engine asks (kStartWorker), and reports every exit (kWorkerExited) with its wait
// status. When the engine goes away (socket EOF, or the engine process dies: parent
// death signal) it kills its workers and exits, so no worker outlives its engine.
//
// Workers come in two shapes (docs/runtimes.md, "Slots"):
//   * cpp: one `nightjar worker` process per worker, SIGKILLed to stop it;
//   * python, node, go: runtime processes that host up to slots_per_process workers
//     ("slots") each (go: the function's own binary, which links the runtime).
//     A slot goes to a running runtime process with room, else to a new one; the launcher
//     tells the process over a control pipe (its read end is fd 3 in the process) with
//     the same kStartWorker / kStopWorker messages the engine sends here. A stopped slot is
//     reported exited at once; a runtime process left with no slot is killed; when one dies,
//     every slot it held is reported exited with its wait status, so the engine fails
//     exactly the calls those slots held and starts replacements.
// In container mode this process is what runs inside the function's container.
// Thread rule: single-threaded process.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace nightjar::launcher {

struct LauncherOptions {
  std::string socket_path;  // engine's launcher socket
  std::string ipc_dir;      // instance directory, passed on to workers
  std::string function;
  std::string handler;
  uint64_t max_payload = 0;
  std::string worker_exe;          // binary that implements `worker` (normally /proc/self/exe)
  pid_t engine_pid = 0;            // exit at once if the parent is someone else; 0 = in a container
  int worker_nice = 0;             // workers run this much nicer than the launcher (0..19)
  std::string runtime = "cpp";     // "cpp", "python", "node" or "go"
  std::string interpreter;         // python, node: the interpreter to run
  uint32_t slots_per_process = 1;  // python, node, go: worker slots per runtime process
  // The build's runtimes/ directory (next to the binary): <dir>/python holds the Python
  // `nightjar` package, <dir>/node the Node.js one.
  std::string runtimes_dir;
};

// Returns the process exit code: 0 after the engine closed the socket, 2 on setup failure.
int RunLauncher(const LauncherOptions& options);

}  // namespace nightjar::launcher
