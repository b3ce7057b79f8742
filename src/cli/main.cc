// nightjar: one binary, many subcommands (DESIGN.md §2). Parses the command line with
// CLI11 and hands off to the Run* functions; `launcher` and `worker` are internal
// subcommands the engine starts itself.
#include <CLI/CLI.hpp>
#include <filesystem>

#include "base/logging.h"
#include "base/memory.h"
#include "cli/commands.h"
#include "launcher/launcher.h"
#include "worker/worker_host.h"

namespace {

void AddServeFlags(CLI::App* cmd, nightjar::cli::ServeFlags* f) {
  cmd->add_option("config", f->config_path, "deployment YAML file")->required();
  cmd->add_option("--ipc-root", f->ipc_root,
                  "directory for FIFOs and shared memory (overrides engine.ipc_root)");
  cmd->add_option("--worker-logs", f->worker_logs,
                  "which captured worker output lines also go to stderr: ring (none), "
                  "stderr-outside-calls, all")
      ->check(CLI::IsMember({"ring", "stderr-outside-calls", "all"}))
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Nightjar: a FaaS runtime for latency-sensitive microservices"};
  app.require_subcommand(1);

  nightjar::cli::ServeFlags up, gw, eng;
  CLI::App* up_cmd = app.add_subcommand("up", "run gateway and engine in one process and serve");
  AddServeFlags(up_cmd, &up);
  up_cmd->add_option("--http-port", up.http_port, "HTTP port (0 = ephemeral)");

  CLI::App* gw_cmd = app.add_subcommand("gateway", "run the HTTP gateway (split deployment)");
  gw_cmd->add_option("config", gw.config_path, "deployment YAML file")->required();
  gw_cmd->add_option("--http-port", gw.http_port, "HTTP port (0 = ephemeral)");
  gw_cmd->add_option("--engine-port", gw.engine_port, "port engines connect to (0 = ephemeral)");

  CLI::App* eng_cmd = app.add_subcommand("engine", "run an engine that serves a gateway");
  AddServeFlags(eng_cmd, &eng);
  eng_cmd->add_option("--gateway", eng.gateway, "gateway engine-link address HOST:PORT");

  nightjar::cli::InvokeFlags inv;
  CLI::App* inv_cmd = app.add_subcommand("invoke", "call a function through a running gateway");
  inv_cmd->add_option("function", inv.function, "function name")->required();
  inv_cmd->add_option("--data,-d", inv.data, "input bytes, or @FILE to read a file");
  inv_cmd->add_option("--url", inv.url, "gateway base URL")->capture_default_str();
  inv_cmd->add_option("--timeout-ms", inv.timeout_ms, "call deadline override");

  nightjar::cli::StatusFlags st;
  CLI::App* st_cmd = app.add_subcommand("status", "show per-function workers, queues and targets");
  st_cmd->add_option("--url", st.url, "gateway base URL")->capture_default_str();
  st_cmd->add_flag("--json", st.json, "print the raw JSON of GET /status");
  st_cmd->add_option("--watch", st.watch_ms, "refresh every N ms");

  nightjar::cli::LogsFlags lg;
  CLI::App* lg_cmd = app.add_subcommand("logs", "show a function's captured stdout and stderr");
  lg_cmd->add_option("function", lg.function, "function name")->required();
  lg_cmd->add_option("--url,--gateway", lg.url, "gateway base URL")->capture_default_str();
  lg_cmd->add_option("--lines,-n", lg.lines, "only the newest N lines");
  lg_cmd->add_flag("--follow,-f", lg.follow, "keep printing new lines until interrupted");
  lg_cmd->add_option("--interval-ms", lg.interval_ms, "--follow: poll interval")
      ->check(CLI::Range(int64_t{10}, int64_t{60'000}))
      ->capture_default_str();

  nightjar::launcher::LauncherOptions lo;
  CLI::App* l_cmd = app.add_subcommand("launcher", "(internal) supervise a function's workers");
  l_cmd->group("");  // hidden from --help: the engine runs it
  l_cmd->add_option("--socket", lo.socket_path)->required();
  l_cmd->add_option("--ipc-root", lo.ipc_dir)->required();
  l_cmd->add_option("--function", lo.function)->required();
  l_cmd->add_option("--handler", lo.handler)->required();
  l_cmd->add_option("--max-payload", lo.max_payload)->required();
  l_cmd->add_option("--engine-pid", lo.engine_pid);
  l_cmd->add_option("--worker-nice", lo.worker_nice);
  l_cmd->add_option("--runtime", lo.runtime);
  l_cmd->add_option("--interpreter", lo.interpreter);
  l_cmd->add_option("--slots-per-process", lo.slots_per_process);

  nightjar::worker::WorkerOptions wo;
  CLI::App* w_cmd = app.add_subcommand("worker", "(internal) host one function worker");
  w_cmd->group("");
  w_cmd->add_option("--ipc-root", wo.ipc_dir)->required();
  w_cmd->add_option("--channel", wo.channel)->required();
  w_cmd->add_option("--worker-id", wo.worker_id)->required();
  w_cmd->add_option("--function", wo.function)->required();
  w_cmd->add_option("--handler", wo.handler)->required();
  w_cmd->add_option("--max-payload", wo.max_payload)->required();

  CLI11_PARSE(app, argc, argv);
  nightjar::TuneAllocatorForPayloads();

  if (up_cmd->parsed()) {
    nightjar::InitLoggingFromEnv("nightjar");
    return nightjar::cli::RunUp(up);
  }
  if (gw_cmd->parsed()) {
    nightjar::InitLoggingFromEnv("gateway");
    return nightjar::cli::RunGateway(gw);
  }
  if (eng_cmd->parsed()) {
    nightjar::InitLoggingFromEnv("engine");
    return nightjar::cli::RunEngine(eng);
  }
  if (inv_cmd->parsed()) return nightjar::cli::RunInvoke(inv);
  if (st_cmd->parsed()) return nightjar::cli::RunStatus(st);
  if (lg_cmd->parsed()) return nightjar::cli::RunLogs(lg);
  if (l_cmd->parsed()) {
    nightjar::InitLoggingFromEnv("launcher");
    char self[4096];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) return 2;
    lo.worker_exe.assign(self, static_cast<size_t>(n));
    // Runtimes live beside the binary, as the build lays them out (runtimes/CMakeLists.txt).
    lo.runtimes_dir = std::filesystem::path(lo.worker_exe).parent_path() / "runtimes";
    return nightjar::launcher::RunLauncher(lo);
  }
  if (w_cmd->parsed()) {
    nightjar::InitLoggingFromEnv("worker:" + wo.function);
    return nightjar::worker::RunWorker(wo);
  }
  return 2;
}
