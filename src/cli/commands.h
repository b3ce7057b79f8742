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

}  // namespace nightjar::cli
