// The `nightjar` subcommands. Each Run* returns the process exit code.
#pragma once

#include <cstdint>
#include <string>

namespace nightjar::cli {

struct ServeFlags {
  std::string config_path;
  int http_port = -1;        // -1: from the config
  int engine_port = -1;      // gateway: -1 from the config
  std::string ipc_root;      // empty: from the config
  std::string gateway;       // engine: empty from the config
  // Which captured worker output lines also go to stderr (engine/log_capture.h, LogEcho):
  // "ring", "stderr-outside-calls" (default) or "all".
  std::string worker_logs = "stderr-outside-calls";
};

int RunUp(const ServeFlags& flags);       // gateway + engine in one process
int RunGateway(const ServeFlags& flags);  // split deployment: HTTP front end
int RunEngine(const ServeFlags& flags);   // split deployment: one host's engine

struct InvokeFlags {
  std::string function;
  std::string data;          // "@path" reads a file
  std::string url = "http://127.0.0.1:8080";
  int64_t timeout_ms = 0;
};
int RunInvoke(const InvokeFlags& flags);

struct StatusFlags {
  std::string url = "http://127.0.0.1:8080";
  bool json = false;
  int64_t watch_ms = 0;      // > 0: refresh every watch_ms until interrupted
};
int RunStatus(const StatusFlags& flags);

struct LogsFlags {
  std::string function;
  std::string url = "http://127.0.0.1:8080";
  uint32_t lines = 0;         // the newest N lines (0 = all the engine keeps)
  bool follow = false;        // then keep printing new lines until interrupted
  int64_t interval_ms = 250;  // --follow: how often to ask for new lines
};
// GET /logs/<function>; exit 0, 1 on an HTTP error (404: no such function), 2 when the
// gateway cannot be reached.
int RunLogs(const LogsFlags& flags);

}  // namespace nightjar::cli
