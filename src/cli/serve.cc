// `nightjar up`, `nightjar gateway`, `nightjar engine`: load the config, wire the
// objects together on the I/O loops, serve until SIGINT/SIGTERM, shut down in order
// (stop accepting, answer what is in flight, stop workers, remove the IPC root).
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "base/logging.h"
#include "cli/commands.h"
#include "config/config.h"
#include "engine/engine.h"
#include "engine/gateway_link.h"
#include "gateway/engine_links.h"
#include "gateway/gateway_metrics.h"
#include "gateway/http_server.h"
#include "io/socket.h"

namespace nightjar::cli {
namespace {

constexpr int64_t kReadyTimeoutMs = 30'000;

// The in-process hand-off of `nightjar up`: the gateway's connections run on the
// engine's own loops, so a call goes from the HTTP parser to the dispatcher with no hop.
class InProcessBackend final : public gateway::Backend {
 public:
  explicit InProcessBackend(engine::Engine* engine) : engine_(engine) {}
  void Call(std::string_view function, std::string_view input, int64_t timeout_ms,
            const proto::TraceContext& trace, gateway::CallDone done) override {
    engine_->SubmitExternal(function, input, timeout_ms, trace, std::move(done));
  }
  proto::CallStatus Precheck(std::string_view function, uint64_t input_bytes,
                             std::string* message) override {
    return engine_->Precheck(function, input_bytes, message);
  }
  void CollectStatus(StatusFormat format, std::function<void(std::string)> done) override {
    done(format == StatusFormat::kJson ? "{\"engines\":[" + engine_->StatusJson() + "]}"
                                       : engine_->StatusText());
  }
  void CollectMetrics(std::function<void(std::string)> done) override {
    done(engine_->MetricsText());  // one process: its process_* come with the gateway's
  }
  void CollectLogs(std::string_view function, uint64_t after, uint32_t max_lines,
                   LogsDone done) override {
    uint64_t cursor = 0;
    auto text = engine_->logs().Read(function, after, max_lines, &cursor);
    if (!text.ok()) {
      done(proto::CallStatus::kNotFound, text.status().message() + "\n", "");
      return;
    }
    done(proto::CallStatus::kOk, std::move(*text), std::to_string(cursor));
  }

 private:
  engine::Engine* engine_;
};

engine::LogEcho WorkerLogEcho(const ServeFlags& flags) {
  if (flags.worker_logs == "ring") return engine::LogEcho::kNone;
  if (flags.worker_logs == "all") return engine::LogEcho::kAll;
  return engine::LogEcho::kStderrOutsideCalls;
}

// A gateway holds a descriptor per client connection, and the usual soft limit (1024)
// would refuse clients long before gateway.max_connections; the hard limit is ours to take.
void RaiseDescriptorLimit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &r) != 0) {
      NJ_LOG(kWarning) << "cannot raise the open-file limit: " << std::strerror(errno);
    }
  }
}

// Blocks SIGINT/SIGTERM in every thread (call before starting any), so that
// WaitForShutdownSignal() receives them synchronously.
sigset_t BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return set;
}

int WaitForShutdownSignal(const sigset_t& set) {
  int sig = 0;
  sigwait(&set, &sig);
  NJ_LOG(kInfo) << "received " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << "; shutting down";
  return sig;
}

Result<config::Config> LoadConfig(const ServeFlags& flags) {
  auto cfg = config::LoadConfigFile(flags.config_path);
  if (!cfg.ok()) return cfg.status();
  if (flags.http_port >= 0) cfg->gateway.http_port = flags.http_port;
  if (flags.engine_port >= 0) cfg->gateway.engine_port = flags.engine_port;
  if (!flags.ipc_root.empty()) cfg->engine.ipc_root = flags.ipc_root;
  if (!flags.gateway.empty()) cfg->engine.gateway = flags.gateway;
  if (cfg->gateway.http_port > 65535 || cfg->gateway.engine_port > 65535) {
    return InvalidArgument("port out of range");
  }
  return cfg;
}

std::string SelfExe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("/proc/self/exe");
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "nightjar: %s\n", what.c_str());
  return 1;
}

std::string HostForUrl(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

void PrintServing(const config::Config& cfg, int port) {
  std::string base = "http://" + HostForUrl(cfg.gateway.host) + ":" + std::to_string(port);
  std::printf("nightjar: serving %s\n", base.c_str());
  std::printf("nightjar: functions:");
  for (const auto& f : cfg.functions) std::printf(" %s", f.name.c_str());
  std::printf("\nnightjar: call one with  curl -d hi %s/function/%s\n", base.c_str(),
              cfg.functions.front().name.c_str());
  std::printf("nightjar: Ctrl-C (or SIGTERM) stops\n");
  std::fflush(stdout);
}

}  // namespace

int RunUp(const ServeFlags& flags) {
  sigset_t signals = BlockShutdownSignals();
  RaiseDescriptorLimit();
  auto cfg = LoadConfig(flags);
  if (!cfg.ok()) return Fail(cfg.status().message());
  io::LoopThreads loops(cfg->engine.io_threads);
  loops.Start();
  engine::Engine engine(*cfg, {cfg->engine.ipc_root, SelfExe(), WorkerLogEcho(flags)}, &loops);
  InProcessBackend backend(&engine);
  gateway::GatewayMetrics metrics(*cfg);  // outlives the server, whose calls count into it
  gateway::HttpServer http(cfg->gateway, &loops, &backend);
  if (cfg->engine.metrics) http.set_metrics(&metrics);
  Status st = engine.Start();
  if (st.ok()) st = engine.WaitReady(kReadyTimeoutMs);
  if (st.ok()) st = http.Start(cfg->gateway.host, cfg->gateway.http_port);
  if (!st.ok()) {
    engine.Stop();
    loops.StopAndJoin();
    return Fail(st.message());
  }
  PrintServing(*cfg, http.port());
  WaitForShutdownSignal(signals);
  // Order: no new connections; every call in flight answered (503) on the connections
  // still open; then those connections closed once their answers are written.
  http.StopAccepting();
  engine.Stop();
  http.Stop();
  loops.StopAndJoin();
  return 0;
}

int RunGateway(const ServeFlags& flags) {
  sigset_t signals = BlockShutdownSignals();
  RaiseDescriptorLimit();
  auto cfg = LoadConfig(flags);
  if (!cfg.ok()) return Fail(cfg.status().message());
  io::LoopThreads loops(cfg->engine.io_threads);
  loops.Start();
  gateway::EngineLinks links(&loops);
  gateway::GatewayMetrics metrics(*cfg);  // outlives the server, whose calls count into it
  gateway::HttpServer http(cfg->gateway, &loops, &links);
  if (cfg->engine.metrics) http.set_metrics(&metrics);
  Status st = links.Start(cfg->gateway.host, cfg->gateway.engine_port);
  if (st.ok()) st = http.Start(cfg->gateway.host, cfg->gateway.http_port);
  if (!st.ok()) {
    loops.StopAndJoin();
    return Fail(st.message());
  }
  PrintServing(*cfg, http.port());
  std::printf("nightjar: engine link on %s:%d\n", HostForUrl(cfg->gateway.host).c_str(),
              links.port());
  std::fflush(stdout);
  WaitForShutdownSignal(signals);
  http.StopAccepting();
  links.Stop();  // calls still on the links are answered 503
  http.Stop();
  loops.StopAndJoin();
  return 0;
}

int RunEngine(const ServeFlags& flags) {
  sigset_t signals = BlockShutdownSignals();
  RaiseDescriptorLimit();
  auto cfg = LoadConfig(flags);
  if (!cfg.ok()) return Fail(cfg.status().message());
  auto gw = io::ParseHostPort(cfg->engine.gateway);
  if (!gw.ok()) return Fail("engine.gateway: " + gw.status().message());
  io::LoopThreads loops(cfg->engine.io_threads);
  loops.Start();
  engine::Engine engine(*cfg, {cfg->engine.ipc_root, SelfExe(), WorkerLogEcho(flags)}, &loops);
  Status st = engine.Start();
  if (st.ok()) st = engine.WaitReady(kReadyTimeoutMs);
  if (!st.ok()) {
    engine.Stop();
    loops.StopAndJoin();
    return Fail(st.message());
  }
  engine::GatewayLink link(&engine, loops.loop(0), gw->host, gw->port);
  link.Start();
  std::printf("nightjar: engine ready; serving gateway %s\n", cfg->engine.gateway.c_str());
  std::fflush(stdout);
  WaitForShutdownSignal(signals);
  link.Stop();
  engine.Stop();
  loops.StopAndJoin();
  return 0;
}

}  // namespace nightjar::cli
