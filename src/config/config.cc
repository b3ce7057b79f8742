// Config loading: YAML text -> a validated, immutable Config.
//
// yaml-cpp reports problems by throwing, and so does this file internally (ConfigError):
// threading a Status through every field read would bury the one thing worth reading here,
// the mapping from YAML key to struct field. Every exception is caught in ParseConfig and
// LoadConfigFile and becomes a Status, so none crosses the config boundary
// (CONVENTIONS.md, Errors 4).
//
// Errors name the key path ("functions[1].max_workers") first, so a user can grep for it,
// and end with the line in the file where yaml-cpp knows it.

#include "config/config.h"

#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/fd.h"
#include "config/yaml_read.h"

namespace nightjar::config {
namespace {

namespace fs = std::filesystem;

// Function ids live in the top 12 bits of a call id and 0 is invalid (proto/message.h,
// CallId::kFuncBits). Restated here because config sits below proto in the dependency order.
constexpr size_t kMaxFunctions = 4095;
constexpr size_t kMaxFunctionNameLength = 64;
constexpr uint32_t kMaxWorkers = 1024;
constexpr uint64_t kMaxPayloadLimit = 1ull << 30;  // 1 GiB
constexpr uint32_t kMinHeaderBytes = 1024;
constexpr uint32_t kMaxHeaderBytes = 1u << 20;  // 1 MiB
constexpr int kMaxIoThreads = 64;
constexpr int kMaxPort = 65535;
std::string ReadIsolation(const YAML::Node& node, const std::string& path) {
  std::string s = ReadString(node, path);
  if (s != "process" && s != "container") {
    Fail(path, "must be \"process\" or \"container\", got " + Quote(s), node);
  }
  return s;
}

// `limits: {cpus: 0.5, memory_mb: 256, pids: 512}` (isolation: container).
ContainerLimits ReadLimits(const YAML::Node& node, const std::string& path) {
  ContainerLimits l;
  ReadMapping(
      node, path,
      {
          {"cpus",
           [&](auto& v, auto& p) {
             l.cpus = ReadPositiveDouble(v, p, 4096.0);
             // The kernel's smallest CFS quota is 1 ms per 100 ms period.
             if (l.cpus < 0.01) Fail(p, "must be at least 0.01, got " + Quote(v.Scalar()), v);
           }},
          {"memory_mb", [&](auto& v, auto& p) { l.memory_mb = ReadU64(v, p, 4, 1ull << 30); }},
          {"pids", [&](auto& v, auto& p) { l.pids = ReadU64(v, p, 8, 4'194'304); }},
      });
  return l;
}

void ParseGateway(const YAML::Node& node, GatewayConfig& g) {
  ReadMapping(
      node, "gateway",
      {
          {"host", [&](auto& v, auto& p) { g.host = ReadNonEmptyString(v, p); }},
          {"http_port", [&](auto& v, auto& p) { g.http_port = ReadInt(v, p, 0, kMaxPort); }},
          {"engine_port", [&](auto& v, auto& p) { g.engine_port = ReadInt(v, p, 0, kMaxPort); }},
          {"max_body_bytes", [&](auto& v, auto& p) { g.max_body_bytes = ReadU64(v, p, 1); }},
          {"max_header_bytes",
           [&](auto& v, auto& p) {
             g.max_header_bytes = ReadU32(v, p, kMinHeaderBytes, kMaxHeaderBytes);
           }},
          {"max_target_bytes",
           [&](auto& v, auto& p) { g.max_target_bytes = ReadU32(v, p, 16, kMaxHeaderBytes); }},
          {"idle_timeout_ms", [&](auto& v, auto& p) { g.idle_timeout_ms = ReadMs(v, p, 1); }},
          {"header_timeout_ms", [&](auto& v, auto& p) { g.header_timeout_ms = ReadMs(v, p, 1); }},
          {"body_timeout_ms", [&](auto& v, auto& p) { g.body_timeout_ms = ReadMs(v, p, 1); }},
          {"min_body_rate", [&](auto& v, auto& p) { g.min_body_rate = ReadU64(v, p, 1); }},
          {"lingering_close_ms", [&](auto& v, auto& p) { g.lingering_close_ms = ReadMs(v, p, 0); }},
          {"lingering_close_bytes",
           [&](auto& v, auto& p) { g.lingering_close_bytes = ReadU64(v, p, 0); }},
          {"max_pipelined_calls",
           [&](auto& v, auto& p) { g.max_pipelined_calls = ReadU32(v, p, 1, 1024); }},
          {"h2_max_concurrent_streams",
           [&](auto& v, auto& p) { g.h2_max_concurrent_streams = ReadU32(v, p, 1, 10'000); }},
          {"max_unsent_output_bytes",
           [&](auto& v, auto& p) { g.max_unsent_output_bytes = ReadU64(v, p, 1024); }},
          {"max_connections", [&](auto& v, auto& p) { g.max_connections = ReadU32(v, p, 1); }},
          {"server_timing", [&](auto& v, auto& p) { g.server_timing = ReadBool(v, p); }},
      });
}

void ParseTracing(const YAML::Node& node, TracingConfig& t) {
  ReadMapping(
      node, "tracing",
      {
          {"otlp_endpoint",
           [&](auto& v, auto& p) {
             t.otlp_endpoint = ReadString(v, p);
             // The tracer's client speaks plain HTTP only (engine/http_post.h): say so at
             // startup; the engine parses the rest (host, port) when it starts.
             if (!t.otlp_endpoint.empty() && !t.otlp_endpoint.starts_with("http://")) {
               Fail(p, "must be empty or an http:// URL, got " + Quote(t.otlp_endpoint), v);
             }
             if (!t.otlp_endpoint.empty() &&
                 t.otlp_endpoint.find('/', sizeof("http://") - 1) == std::string::npos) {
               Fail(p,
                    "must name a path (e.g. http://127.0.0.1:4318/v1/traces), got " +
                        Quote(t.otlp_endpoint),
                    v);
             }
           }},
          {"service_name", [&](auto& v, auto& p) { t.service_name = ReadNonEmptyString(v, p); }},
      });
}

void ParseLogs(const YAML::Node& node, LogsConfig& l) {
  ReadMapping(node, "logs",
              {
                  {"lines_per_function",
                   [&](auto& v, auto& p) { l.lines_per_function = ReadU32(v, p, 1, 1'000'000); }},
                  {"max_line_bytes",
                   [&](auto& v, auto& p) { l.max_line_bytes = ReadU32(v, p, 64, 1u << 20); }},
              });
}

// "host:port" with a port in 1..65535; an IPv6 host must be bracketed ("[::1]:10007") or the
// last colon would be ambiguous.
void CheckHostPort(const std::string& s, const std::string& path, const YAML::Node& at) {
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos) Fail(path, "expected \"host:port\", got " + Quote(s), at);
  const std::string host = s.substr(0, colon);
  const std::string port = s.substr(colon + 1);
  const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
  if (host.empty() || (!bracketed && host.find(':') != std::string::npos)) {
    Fail(path, "expected \"host:port\" (bracket IPv6 hosts), got " + Quote(s), at);
  }
  int port_value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), port_value);
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
      ec != std::errc() || end != port.data() + port.size() || port_value < 1 ||
      port_value > kMaxPort) {
    Fail(path, "port must be between 1 and 65535, got " + Quote(s), at);
  }
}

void ParseEngine(const YAML::Node& node, EngineConfig& e) {
  ReadMapping(
      node, "engine",
      {
          {"io_threads", [&](auto& v, auto& p) { e.io_threads = ReadInt(v, p, 1, kMaxIoThreads); }},
          {"ipc_root",
           [&](auto& v, auto& p) {
             e.ipc_root = ReadNonEmptyString(v, p);
             if (e.ipc_root.front() != '/') {
               Fail(p, "must be an absolute path, got " + Quote(e.ipc_root), v);
             }
           }},
          {"default_timeout_ms", [&](auto& v, auto& p) { e.default_timeout_ms = ReadMs(v, p, 1); }},
          {"max_queue", [&](auto& v, auto& p) { e.max_queue = ReadU32(v, p, 1); }},
          {"smoothing_ms", [&](auto& v, auto& p) { e.smoothing_ms = ReadI64(v, p, 1, 60'000); }},
          {"spawn_interval_ms",
           [&](auto& v, auto& p) { e.spawn_interval_ms = ReadI64(v, p, 0, 600'000); }},
          {"worker_idle_timeout_ms",
           [&](auto& v, auto& p) { e.worker_idle_timeout_ms = ReadMs(v, p, 1); }},
          {"max_crash_backoff_ms",
           [&](auto& v, auto& p) { e.max_crash_backoff_ms = ReadI64(v, p, 1, 3'600'000); }},
          {"cpu_limit", [&](auto& v, auto& p) { e.cpu_limit = ReadU32(v, p, 0, 4096); }},
          {"prefetch_max_us",
           [&](auto& v, auto& p) { e.prefetch_max_us = ReadI64(v, p, 0, 1'000'000); }},
          {"worker_nice", [&](auto& v, auto& p) { e.worker_nice = ReadInt(v, p, 0, 19); }},
          {"direct_dispatch", [&](auto& v, auto& p) { e.direct_dispatch = ReadBool(v, p); }},
          {"metrics", [&](auto& v, auto& p) { e.metrics = ReadBool(v, p); }},
          {"isolation", [&](auto& v, auto& p) { e.isolation = ReadIsolation(v, p); }},
          {"runc",
           [&](auto& v, auto& p) {
             e.runc = ReadNonEmptyString(v, p);
             if (e.runc.front() != '/')
               Fail(p, "must be an absolute path, got " + Quote(e.runc), v);
           }},
          {"gateway",
           [&](auto& v, auto& p) {
             e.gateway = ReadNonEmptyString(v, p);
             CheckHostPort(e.gateway, p, v);
           }},
      });
}

bool IsValidFunctionName(const std::string& name) {
  if (name.empty() || name.size() > kMaxFunctionNameLength) return false;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// An ASCII identifier: [A-Za-z_][A-Za-z0-9_]* (Python's), plus '$' for JavaScript's.
bool IsIdentifier(const std::string& s, bool dollar) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || (dollar && c == '$');
    if (!ok) return false;
  }
  return true;
}

// Relative handlers resolve against the config's directory, not the process's cwd, so a
// config means the same thing wherever `nightjar` is started from.
// `hint` follows the message when the file is missing (how to make it).
std::string ResolveHandler(const std::string& handler, const fs::path& base_dir,
                           const std::string& path, const YAML::Node& at,
                           const std::string& hint = "") {
  fs::path resolved = fs::path(handler);
  if (resolved.is_relative()) resolved = base_dir / resolved;
  resolved = resolved.lexically_normal();
  std::error_code ec;
  const fs::file_status st = fs::status(resolved, ec);
  if (ec || !fs::exists(st)) {
    Fail(path,
         "handler file " + Quote(resolved.string()) + " does not exist" +
             (ec && ec != std::errc::no_such_file_or_directory ? " (" + ec.message() + ")" : "") +
             hint,
         at);
  }
  if (!fs::is_regular_file(st)) {
    Fail(path, "handler " + Quote(resolved.string()) + " is not a regular file", at);
  }
  return resolved.string();
}

// A protobuf full name: identifiers joined by dots (no leading, trailing or double dot).
bool IsValidGrpcService(const std::string& s) {
  if (s.empty() || s.size() > 200) return false;
  bool at_start = true;
  for (char c : s) {
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    if (c == '.') {
      if (at_start) return false;
      at_start = true;
    } else if (alpha || (!at_start && c >= '0' && c <= '9')) {
      at_start = false;
    } else {
      return false;
    }
  }
  return !at_start;
}

FunctionConfig ParseFunction(const YAML::Node& node, const std::string& path,
                             const fs::path& base_dir, const EngineConfig& engine) {
  FunctionConfig f;
  f.isolation = engine.isolation;
  if (!node.IsMap()) Fail(path, "expected a mapping, got " + Describe(node), node);
  YAML::Node name_node, handler_node, runtime_node, isolation_node, max_workers_node,
      min_workers_node, interpreter_node, slots_node, rootfs_node, limits_node;
  const std::set<std::string> seen = ReadMapping(
      node, path,
      {
          {"name",
           [&](auto& v, auto& p) {
             f.name = ReadString(v, p);
             name_node = v;
           }},
          {"runtime",
           [&](auto& v, auto& p) {
             f.runtime = ReadString(v, p);
             runtime_node = v;
           }},
          {"handler",
           [&](auto& v, auto& p) {
             f.handler = ReadNonEmptyString(v, p);
             handler_node = v;
           }},
          {"min_workers",
           [&](auto& v, auto& p) {
             f.min_workers = ReadU32(v, p, 0, kMaxWorkers);
             min_workers_node = v;
           }},
          {"max_workers",
           [&](auto& v, auto& p) {
             f.max_workers = ReadU32(v, p, 1, kMaxWorkers);
             max_workers_node = v;
           }},
          {"timeout_ms", [&](auto& v, auto& p) { f.timeout_ms = ReadMs(v, p, 0); }},
          {"max_payload_bytes",
           [&](auto& v, auto& p) { f.max_payload_bytes = ReadU64(v, p, 1, kMaxPayloadLimit); }},
          {"isolation",
           [&](auto& v, auto& p) {
             f.isolation = ReadIsolation(v, p);
             isolation_node = v;
           }},
          {"rootfs",
           [&](auto& v, auto& p) {
             f.rootfs = ReadNonEmptyString(v, p);
             rootfs_node = v;
           }},
          {"limits",
           [&](auto& v, auto& p) {
             f.limits = ReadLimits(v, p);
             limits_node = v;
           }},
          {"concurrency",
           [&](auto& v, auto& p) {
             f.concurrency = ReadString(v, p);
             if (f.concurrency != "managed" && f.concurrency != "unmanaged") {
               Fail(p, "must be \"managed\" or \"unmanaged\", got " + Quote(f.concurrency), v);
             }
           }},
          {"concurrency_coef",
           [&](auto& v, auto& p) { f.concurrency_coef = ReadPositiveDouble(v, p, 100.0); }},
          {"interpreter",
           [&](auto& v, auto& p) {
             f.interpreter = ReadNonEmptyString(v, p);
             interpreter_node = v;
           }},
          {"slots_per_process",
           [&](auto& v, auto& p) {
             f.slots_per_process = ReadU32(v, p, 1, kMaxWorkers);
             slots_node = v;
           }},
          {"grpc",
           [&](auto& v, auto& p) {
             f.grpc = ReadString(v, p);
             if (!IsValidGrpcService(f.grpc)) {
               Fail(p,
                    "invalid gRPC service name " + Quote(f.grpc) +
                        "; expected a full name such as helloworld.Greeter (package parts and "
                        "the service, each [A-Za-z_][A-Za-z0-9_]*, joined by dots; at most 200 "
                        "characters)",
                    v);
             }
           }},
      });

  if (!seen.count("name")) Fail(path + ".name", "required", node);
  if (!IsValidFunctionName(f.name)) {
    Fail(path + ".name",
         "invalid function name " + Quote(f.name) + "; expected 1 to 64 of [A-Za-z0-9_.-]",
         name_node);
  }
  if (f.runtime != "cpp" && f.runtime != "python" && f.runtime != "node" && f.runtime != "go") {
    Fail(path + ".runtime",
         "unsupported runtime " + Quote(f.runtime) +
             "; expected \"cpp\", \"python\", \"node\" or \"go\"",
         runtime_node);
  }
  const bool python = f.runtime == "python";
  const bool go = f.runtime == "go";       // the handler is the built binary itself
  const bool hosted = f.runtime != "cpp";  // a language runtime process hosts the workers
  if ((!hosted || go) && seen.count("interpreter")) {
    Fail(path + ".interpreter", "only runtimes \"python\" and \"node\" take an interpreter",
         interpreter_node);
  }
  if (!hosted && seen.count("slots_per_process") && f.slots_per_process != 1) {
    Fail(path + ".slots_per_process",
         "runtime \"cpp\" runs one worker per process; only runtimes \"python\", \"node\" and "
         "\"go\" host several",
         slots_node);
  }
  if (hosted) {
    if (!seen.count("slots_per_process")) f.slots_per_process = kDefaultRuntimeSlots;
  }
  if (hosted && !go) {
    if (!seen.count("interpreter")) {
      f.interpreter = python ? kDefaultPythonInterpreter : kDefaultNodeInterpreter;
    }
    if (::access(f.interpreter.c_str(), X_OK) != 0) {
      Fail(path + ".interpreter",
           "interpreter " + Quote(f.interpreter) + " is not an executable file (" +
               std::strerror(errno) + ")",
           seen.count("interpreter") ? interpreter_node : node);
    }
  }
  if (f.isolation != "container") {
    if (seen.count("rootfs")) Fail(path + ".rootfs", "needs isolation: container", rootfs_node);
    if (seen.count("limits")) Fail(path + ".limits", "needs isolation: container", limits_node);
  }
  if (!f.rootfs.empty()) {
    fs::path root = fs::path(f.rootfs);
    if (root.is_relative()) root = base_dir / root;
    f.rootfs = root.lexically_normal().string();
    std::error_code ec;
    if (!fs::is_directory(f.rootfs, ec)) {
      Fail(path + ".rootfs", "rootfs " + Quote(f.rootfs) + " is not a directory", rootfs_node);
    }
  }
  // Blame the key the user actually wrote: with max_workers left at its default, pointing at
  // it would send them looking for a line that is not in the file.
  if (f.min_workers > f.max_workers) {
    if (seen.count("max_workers")) {
      Fail(path + ".max_workers",
           "must be >= min_workers (" + std::to_string(f.min_workers) + "), got " +
               std::to_string(f.max_workers),
           max_workers_node);
    }
    Fail(path + ".min_workers",
         "must be <= max_workers (" + std::to_string(f.max_workers) + ", the default), got " +
             std::to_string(f.min_workers),
         min_workers_node);
  }
  if (f.handler.empty()) {
    Fail(path + ".handler", "required for runtime \"" + f.runtime + "\"", node);
  }
  // The handler's file resolves against the config's directory; a runtime may name a
  // function in it after a separator.
  std::string file = f.handler;
  std::string suffix;
  if (python) {
    // "path/file.py:function"
    const size_t colon = f.handler.rfind(':');
    const std::string name = colon == std::string::npos ? "" : f.handler.substr(colon + 1);
    if (colon == std::string::npos || colon == 0 || !IsIdentifier(name, false)) {
      Fail(path + ".handler",
           "expected \"path/to/file.py:function\" for runtime \"python\", got " + Quote(f.handler),
           handler_node);
    }
    file = f.handler.substr(0, colon);
    suffix = ":" + name;
  } else if (f.runtime == "node") {
    // "path/file.js" or "path/file.js#export"
    const size_t hash = f.handler.rfind('#');
    if (hash != std::string::npos) {
      const std::string name = f.handler.substr(hash + 1);
      if (hash == 0 || !IsIdentifier(name, true)) {
        Fail(path + ".handler",
             "expected \"path/to/file.js\" or \"path/to/file.js#export\" for runtime \"node\", "
             "got " +
                 Quote(f.handler),
             handler_node);
      }
      file = f.handler.substr(0, hash);
      suffix = "#" + name;
    }
  }
  f.handler_file =
      ResolveHandler(file, base_dir, path + ".handler", handler_node,
                     go ? "; runtime \"go\" takes the built binary (go build: README, \"Writing a "
                          "Go function\")"
                        : "");
  if (go && ::access(f.handler_file.c_str(), X_OK) != 0) {
    Fail(path + ".handler",
         "handler " + Quote(f.handler_file) +
             " is not executable; runtime \"go\" takes the binary `go build` made",
         handler_node);
  }
  f.handler = f.handler_file + suffix;
  return f;
}

void ParseFunctions(const YAML::Node& node, const fs::path& base_dir, const EngineConfig& engine,
                    std::vector<FunctionConfig>& out) {
  if (!node.IsNull() && !node.IsSequence()) {
    Fail("functions", "expected a sequence of functions, got " + Describe(node), node);
  }
  if (node.size() > kMaxFunctions) {
    Fail("functions",
         "too many functions (" + std::to_string(node.size()) + "); at most " +
             std::to_string(kMaxFunctions),
         node);
  }
  std::map<std::string, size_t> index_by_name;
  std::map<std::string, size_t> index_by_service;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string path = "functions[" + std::to_string(i) + "]";
    FunctionConfig f = ParseFunction(node[i], path, base_dir, engine);
    if (!f.grpc.empty()) {
      auto [it, inserted] = index_by_service.emplace(f.grpc, i);
      if (!inserted) {
        Fail(path + ".grpc",
             "gRPC service " + Quote(f.grpc) + " is already served by functions[" +
                 std::to_string(it->second) + "]; a service belongs to one function",
             node[i]["grpc"]);
      }
    }
    auto [it, inserted] = index_by_name.emplace(f.name, i);
    if (!inserted) {
      Fail(path + ".name",
           "duplicate function name " + Quote(f.name) + " (first defined at functions[" +
               std::to_string(it->second) + "])",
           node[i]["name"]);
    }
    f.id = static_cast<uint32_t>(i + 1);
    out.push_back(std::move(f));
  }
}

Config ParseDocument(const YAML::Node& root, const fs::path& base_dir) {
  Config config;
  // Functions are parsed after the sections they may depend on, whatever the file's order.
  YAML::Node functions;
  ReadMapping(root, "",
              {
                  {"gateway", [&](auto& v, auto&) { ParseGateway(v, config.gateway); }},
                  {"engine", [&](auto& v, auto&) { ParseEngine(v, config.engine); }},
                  {"tracing", [&](auto& v, auto&) { ParseTracing(v, config.tracing); }},
                  {"logs", [&](auto& v, auto&) { ParseLogs(v, config.logs); }},
                  {"functions", [&](auto& v, auto&) { functions = v; }},
              });
  if (functions.IsDefined()) ParseFunctions(functions, base_dir, config.engine, config.functions);
  if (config.functions.empty()) {
    throw ConfigError("functions: at least one function must be defined");
  }
  return config;
}

// A yaml-cpp exception as "yaml syntax error at line L, column C: <what>".
std::string YamlErrorMessage(const YAML::Exception& e) {
  std::string out = "yaml syntax error";
  if (!e.mark.is_null()) {
    out += " at line " + std::to_string(e.mark.line + 1) + ", column " +
           std::to_string(e.mark.column + 1);
  }
  return out + ": " + e.msg;
}

}  // namespace

const FunctionConfig* Config::Find(std::string_view name) const {
  constexpr std::string_view kGrpc = "grpc:";
  if (name.starts_with(kGrpc)) {
    name.remove_prefix(kGrpc.size());
    for (const FunctionConfig& f : functions) {
      if (!f.grpc.empty() && f.grpc == name) return &f;
    }
    return nullptr;
  }
  for (const FunctionConfig& f : functions) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

Result<Config> ParseConfig(std::string_view yaml, const std::string& base_dir) {
  try {
    // An empty base_dir means the current directory; absolute() makes resolved handlers
    // independent of a later chdir.
    std::error_code ec;
    fs::path base = fs::absolute(base_dir.empty() ? fs::path(".") : fs::path(base_dir), ec);
    if (ec)
      return InvalidArgument("cannot resolve config directory " + Quote(base_dir) + ": " +
                             ec.message());
    base = base.lexically_normal();

    std::vector<YAML::Node> docs;
    try {
      docs = YAML::LoadAll(std::string(yaml));
    } catch (const YAML::Exception& e) {
      return InvalidArgument(YamlErrorMessage(e));
    }
    if (docs.size() > 1) {
      return InvalidArgument("config must be a single YAML document, found " +
                             std::to_string(docs.size()));
    }
    const YAML::Node root = docs.empty() ? YAML::Node() : docs[0];
    if (!root.IsNull() && !root.IsMap()) {
      return InvalidArgument("config must be a mapping with keys gateway, engine, functions" +
                             LineOf(root));
    }
    return ParseDocument(root, base);
  } catch (const ConfigError& e) {
    return InvalidArgument(e.what());
  } catch (const YAML::Exception& e) {
    return InvalidArgument(YamlErrorMessage(e));
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("invalid config: ") + e.what());
  } catch (...) {
    return InvalidArgument("invalid config: unknown error");
  }
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::string text;
  {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      return NotFound("cannot read config file " + path + ": " + std::strerror(errno));
    }
    char buf[64 * 1024];
    for (;;) {
      const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
      if (n == 0) break;
      if (n < 0) {
        if (errno == EINTR) continue;
        // A directory opens fine and fails here with EISDIR.
        return NotFound("cannot read config file " + path + ": " + std::strerror(errno));
      }
      text.append(buf, static_cast<size_t>(n));
    }
  }
  std::string base_dir;
  try {
    base_dir = fs::path(path).parent_path().string();
  } catch (...) {
    return Internal("cannot take the directory of " + path);
  }
  Result<Config> config = ParseConfig(text, base_dir);
  if (!config.ok()) {
    return Status(config.status().code(), path + ": " + config.status().message());
  }
  return config;
}

}  // namespace nightjar::config
