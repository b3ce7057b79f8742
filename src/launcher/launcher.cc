// Launcher implementation: poll() over the engine socket and a signalfd for SIGCHLD.
#include "launcher/launcher.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <unordered_map>
#include <vector>

#include "base/logging.h"
#include "io/socket.h"
#include "proto/message.h"

namespace nightjar::launcher {
namespace {

using proto::Message;
using proto::MessageType;

class Launcher {
 public:
  explicit Launcher(const LauncherOptions& o) : options_(o) {}
  int Run();

 private:
  void StartWorker(const Message& msg);
  void ReapChildren();
  void KillAll();
  bool Send(Message* msg) {
    return ::send(sock_.get(), msg, sizeof(*msg), MSG_NOSIGNAL) == sizeof(*msg);
  }

  const LauncherOptions& options_;
  UniqueFd sock_;
  UniqueFd sigfd_;
  std::unordered_map<pid_t, uint64_t> children_;  // pid -> channel
};

int Launcher::Run() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  sigfd_.Reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));

  auto sock = io::ConnectUnixSeqpacket(options_.socket_path);
  if (!sock.ok()) {
    NJ_LOG(kError) << "launcher for " << options_.function << ": " << sock.status().message();
    return 2;
  }
  sock_ = std::move(*sock);
  Message hello = proto::MakeMessage(MessageType::kLauncherHello);
  hello.header.call_id = static_cast<uint64_t>(::getpid());
  hello.header.payload_size = static_cast<uint32_t>(
      std::min(options_.function.size(), proto::kInlinePayloadSize));
  std::memcpy(hello.payload, options_.function.data(), hello.header.payload_size);
  if (!Send(&hello)) return 2;

  for (;;) {
    pollfd fds[2] = {{sock_.get(), POLLIN, 0}, {sigfd_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(sigfd_.get(), &si, sizeof(si)) > 0) {
      }
      ReapChildren();
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      Message msg;
      ssize_t n = ::recv(sock_.get(), &msg, sizeof(msg), 0);
      if (n <= 0) break;  // engine gone
      if (n != sizeof(msg)) continue;
      if (msg.type() == MessageType::kStartWorker) StartWorker(msg);
      if (msg.type() == MessageType::kStopWorker) {
        for (auto& [pid, channel] : children_) {
          if (channel == msg.header.reply_channel) ::kill(pid, SIGKILL);
        }
      }
    }
  }
  KillAll();
  return 0;
}

void Launcher::StartWorker(const Message& msg) {
  const uint64_t channel = msg.header.reply_channel;
  std::vector<std::string> args = {
      "nightjar-worker", "worker",
      "--ipc-root",      options_.ipc_dir,
      "--channel",       std::to_string(channel),
      "--worker-id",     std::to_string(msg.header.worker_id),
      "--function",      options_.function,
      "--handler",       options_.handler,
      "--max-payload",   std::to_string(options_.max_payload)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t self = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    // Child: die with the launcher, restore the default signal mask, become the worker.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != self) ::_exit(1);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // Below the engine's priority (engine.worker_nice): raising niceness needs no
    // privilege, and a failure only leaves the worker at the launcher's priority.
    if (options_.worker_nice > 0) (void)::nice(options_.worker_nice);
    ::execv(options_.worker_exe.c_str(), argv.data());
    ::_exit(127);
  }
  if (pid < 0) {
    NJ_LOG(kError) << "fork failed for " << options_.function << ": " << std::strerror(errno);
    Message exited = proto::MakeMessage(MessageType::kWorkerExited);
    exited.header.reply_channel = channel;
    exited.header.call_id = 127 << 8;
    Send(&exited);
    return;
  }
  children_[pid] = channel;
}

void Launcher::ReapChildren() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    auto it = children_.find(pid);
    if (it == children_.end()) continue;
    Message exited = proto::MakeMessage(MessageType::kWorkerExited);
    exited.header.reply_channel = it->second;
    exited.header.call_id = static_cast<uint64_t>(status);
    children_.erase(it);
    Send(&exited);
  }
}

void Launcher::KillAll() {
  for (auto& [pid, channel] : children_) ::kill(pid, SIGKILL);
  for (auto& [pid, channel] : children_) ::waitpid(pid, nullptr, 0);
  children_.clear();
}

}  // namespace

int RunLauncher(const LauncherOptions& options) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (options.engine_pid != 0 && ::getppid() != options.engine_pid) return 2;
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGINT, SIG_IGN);  // Ctrl-C reaches the whole process group; the engine decides
  ::signal(SIGTERM, SIG_IGN);
  Launcher launcher(options);
  return launcher.Run();
}

}  // namespace nightjar::launcher
