// The worker host: the process side of a C/C++ function (DESIGN.md §7). It loads the
// function's shared library, attaches to its two FIFOs, and serves calls one at a time:
// read DISPATCH, run nj_function_call, answer with a COMPLETE -- straight into the
// caller's input pipe for internal calls (3 hops), or to the engine for external ones.
// While a call runs, the host implements invoke/invoke_async/wait by writing INVOKE
// messages to the engine and reading completions from its own input pipe.
//
// Thread rule: single-threaded; the function's callbacks run on the serving thread.
#pragma once

#include <cstdint>
#include <string>

namespace nightjar::worker {

struct WorkerOptions {
  std::string ipc_dir;        // instance directory (IpcRoot)
  uint64_t channel = 0;       // this worker's channel id (names its FIFOs)
  uint32_t worker_id = 0;     // client id inside call ids
  std::string function;       // function name
  std::string handler;        // shared library path
  uint64_t max_payload = 0;   // output limit in bytes
};

// Serves until the input pipe fails (normally the launcher kills the worker when the
// engine stops). Returns the process exit code (0 on a clean shutdown; 2 when the library or the channel cannot be set up, with
// a log line saying why).
int RunWorker(const WorkerOptions& options);

}  // namespace nightjar::worker
