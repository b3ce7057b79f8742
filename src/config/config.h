// Deployment configuration: one YAML file describes the gateway, the engine and the
// functions (DESIGN.md §9). Every option has a default; unknown keys and bad values are
// rejected with a message that names the key (e.g. "functions[2].max_workers: must be
// >= min_workers (4)").
// Thread rule: a loaded Config is immutable and may be read from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace nightjar::config {

inline constexpr uint64_t kDefaultMaxPayloadBytes = 16ull << 20;  // 16 MiB
// Upper bound of every duration in the config and of a call's deadline from a request
// header (24 h): larger values are refused, so ms -> ns arithmetic cannot overflow.
inline constexpr int64_t kMaxDurationMs = 24ll * 3600 * 1000;

// Python functions run under Debian's interpreter unless a function names another: the
// machine's PATH may put a different python3 first (docs/runtimes.md).
inline constexpr const char* kDefaultPythonInterpreter = "/usr/bin/python3";
inline constexpr const char* kDefaultNodeInterpreter = "/usr/bin/node";
// Worker slots one runtime process (Python, Node.js, Go) hosts by default (docs/runtimes.md,
// "Slots").
inline constexpr uint32_t kDefaultRuntimeSlots = 4;

// Resource limits of a containerized function (README "Configuration"; docs/isolation.md),
// applied to its container's cgroup. 0 = no limit.
struct ContainerLimits {
  double cpus = 0;         // CPU time per wall-clock second, e.g. 0.5; (0, 4096]
  uint64_t memory_mb = 0;  // 4 .. 2^30
  uint64_t pids = 0;       // 8 .. 4194304
};

struct FunctionConfig {
  std::string name;             // [A-Za-z0-9_.-], 1..64 chars, unique
  std::string runtime = "cpp";  // "cpp", "python", "node" or "go"
  // cpp: the shared library's path; python: "path/to/file.py:function"; node:
  // "path/to/file.js" or "path/to/file.js#export" (default export: handle); go: the
  // function's executable (built with `go build`). The path resolves against the config's
  // directory.
  std::string handler;
  std::string handler_file;  // the (resolved) file part of handler
  std::string interpreter;   // python, node: the interpreter (kDefault*Interpreter)
  // Worker slots per runtime process: 1 for cpp; python, node, go default
  // kDefaultRuntimeSlots.
  uint32_t slots_per_process = 1;
  uint32_t min_workers = 1;  // started ahead of need; 0..max_workers
  uint32_t max_workers = 8;  // 1..1024
  int64_t timeout_ms = 0;    // call deadline; 0 = engine.default_timeout_ms
  uint64_t max_payload_bytes = kDefaultMaxPayloadBytes;  // input and output, each
  // "process" (a child process of the engine's launcher) or "container" (the launcher and
  // its workers in an OCI container run by runc; docs/isolation.md). Default:
  // engine.isolation.
  std::string isolation = "process";
  std::string rootfs;      // container: root file system ("" = assembled from the host)
  ContainerLimits limits;  // container only
  // "unmanaged" (the default, by measurement: docs/concurrency.md): dispatch at once up
  // to max_workers; "managed": dispatch only while running < the target of DESIGN.md §6
  // (Little's law + the calls waiting, bounded by the cores the calls can fill).
  std::string concurrency = "unmanaged";
  double concurrency_coef = 1.0;  // target = coef x rate x running time + queued; (0, 100]
  // The gRPC service this function implements ("helloworld.Greeter"), or "": calls to
  // /<service>/<Method> reach it as the function "grpc:<service>" (src/gateway/grpc.h).
  std::string grpc;
  uint32_t id = 0;                // assigned 1.. in file order (not a YAML key)
};

// The HTTP edge's limits and timeouts (README.md, "Limits and timeouts"; docs/http.md).
struct GatewayConfig {
  std::string host = "127.0.0.1";
  int http_port = 8080;     // 0 = ephemeral
  int engine_port = 10007;  // split deployment: engines connect here; 0 = ephemeral
  uint64_t max_body_bytes = kDefaultMaxPayloadBytes;
  uint32_t max_header_bytes = 16 * 1024;
  uint32_t max_target_bytes = 8 * 1024;  // request-target; longer gets 414
  int64_t idle_timeout_ms = 60'000;      // idle keep-alive connection, or a client not reading
  int64_t header_timeout_ms = 10'000;    // a whole request head must arrive within this (408)
  // A body gets body_timeout_ms plus 1 s per min_body_rate bytes received (408 after).
  int64_t body_timeout_ms = 10'000;
  uint64_t min_body_rate = 1024;       // bytes/s
  int64_t lingering_close_ms = 5'000;  // after an early error: discard input this long ...
  uint64_t lingering_close_bytes = 64ull << 20;   // ... or this many bytes, then close
  uint32_t max_pipelined_calls = 1;               // calls in flight per connection
  uint64_t max_unsent_output_bytes = 1ull << 20;  // stop reading/dispatching above this
  uint32_t max_connections = 10'000;
  // HTTP/2 (docs/http.md): SETTINGS_MAX_CONCURRENT_STREAMS per connection, 1..10000.
  uint32_t h2_max_concurrent_streams = 128;
  // X-Nightjar-Call-Id and Server-Timing on every call's answer (docs/operations.md,
  // "Call breakdown and tracing"); false: neither header, and none of their formatting.
  bool server_timing = true;
};

// Span export (docs/operations.md, "Call breakdown and tracing").
struct TracingConfig {
  // OTLP/HTTP JSON traces endpoint, "http://host:port/path"; "" = no export (the default).
  std::string otlp_endpoint;
  std::string service_name = "nightjar";  // the resource's service.name
};

struct EngineConfig {
  int io_threads = 1;                          // 1..64
  std::string ipc_root = "/dev/shm/nightjar";  // an instance directory is made under it
  int64_t default_timeout_ms = 30'000;
  uint32_t max_queue = 10'000;              // pending calls per function before 503
  std::string gateway = "127.0.0.1:10007";  // split deployment: where `nightjar engine` connects
  int64_t smoothing_ms = 300;               // time constant of the rate / running-time averages
  int64_t spawn_interval_ms = 100;          // at most one extra worker requested per interval
  int64_t worker_idle_timeout_ms = 30'000;  // workers above min_workers idle this long stop
  int64_t max_crash_backoff_ms = 10'000;    // cap of the crash-loop back-off
  // Managed concurrency's machine bound: how many CPUs calls may fill (0 = the CPUs this
  // process may run on). 0..4096.
  uint32_t cpu_limit = 0;
  // Prefetch: a running worker is sent its next call ahead of time when the function's
  // calls run for at most this long (0 = never). 0..1000000 us.
  int64_t prefetch_max_us = 2'000;
  // Internal calls between native (C/C++) functions go caller -> idle callee directly when
  // one is offered (2 hops, docs/architecture.md "Direct dispatch"); false: always through
  // the engine (3 hops), for comparison.
  bool direct_dispatch = true;
  // Per-call counting for GET /metrics (docs/operations.md, "Metrics"); false: nothing is
  // counted beyond what /status needs and /metrics answers 404.
  bool metrics = true;
  // Workers run this much nicer than the engine (0..19), so the engine's I/O threads win
  // the CPU when both want it (DESIGN.md §5).
  int worker_nice = 0;
  // Default isolation of functions that do not set one: "process" or "container".
  std::string isolation = "process";
  std::string runc;  // absolute path of runc; "" = found on PATH or in /usr/sbin
};

// Function logs (docs/operations.md, "Function logs"): what the engine keeps of its
// workers' stdout and stderr.
struct LogsConfig {
  uint32_t lines_per_function = 1000;  // ring size per function, 1..1000000 lines
  uint32_t max_line_bytes = 4096;      // longer lines are cut and marked; 64..1048576
};

struct Config {
  GatewayConfig gateway;
  EngineConfig engine;
  TracingConfig tracing;
  LogsConfig logs;
  std::vector<FunctionConfig> functions;

  // nullptr if there is no function with that name. "grpc:<service>" names the function
  // whose `grpc` key is <service>.
  const FunctionConfig* Find(std::string_view name) const;
  // Effective deadline of a function's calls.
  int64_t TimeoutMs(const FunctionConfig& f) const {
    return f.timeout_ms > 0 ? f.timeout_ms : engine.default_timeout_ms;
  }
};

// Parses YAML text. Relative handler paths are resolved against `base_dir`.
// Fails with kInvalidArgument naming the offending key.
Result<Config> ParseConfig(std::string_view yaml, const std::string& base_dir);

// Reads and parses a file; handler paths resolve against the file's directory.
// Fails with kNotFound if the file cannot be read, else as ParseConfig.
Result<Config> LoadConfigFile(const std::string& path);

}  // namespace nightjar::config
