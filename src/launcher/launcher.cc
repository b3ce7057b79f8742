// Launcher implementation: poll() over the engine socket and a signalfd for SIGCHLD.
#include "launcher/launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
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
  // A child process: a cpp worker (one channel, no control pipe) or a runtime process
  // (its slots' channels, and the write end of its control pipe).
  struct Child {
    std::vector<uint64_t> channels;
    UniqueFd control;
  };

  void StartWorker(const Message& msg);
  void StopWorker(uint64_t channel);
  // Starts a child running argv (execv) with `control` as its fd 3 when valid, and its
  // fd 1 and fd 2 pipes whose read ends go to the engine (SendLogPipes; worker_id 0: a
  // runtime process). Returns its pid, or -1 when fork fails.
  pid_t Spawn(std::vector<std::string> args, const std::string& exe, int control,
              uint16_t worker_id);
  // Hands the read ends of a child's stdout and stderr pipes to the engine (kWorkerLogs,
  // SCM_RIGHTS). False if the socket refused them.
  bool SendLogPipes(pid_t pid, uint16_t worker_id, int out, int err);
  // A runtime process with a free slot, else a new one; -1 when none can be started.
  pid_t RuntimeWithRoom();
  void ReportExited(uint64_t channel, int wait_status);
  void ReapChildren();
  void KillAll();
  bool Send(Message* msg) {
    return ::send(sock_.get(), msg, sizeof(*msg), MSG_NOSIGNAL) == sizeof(*msg);
  }
  bool hosts_slots() const { return options_.runtime != "cpp"; }

  const LauncherOptions& options_;
  UniqueFd sock_;
  UniqueFd sigfd_;
  std::unordered_map<pid_t, Child> children_;
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
  hello.header.payload_size =
      static_cast<uint32_t>(std::min(options_.function.size(), proto::kInlinePayloadSize));
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
      if (msg.type() == MessageType::kStopWorker) StopWorker(msg.header.reply_channel);
    }
  }
  KillAll();
  return 0;
}

void Launcher::StartWorker(const Message& msg) {
  const uint64_t channel = msg.header.reply_channel;
  if (hosts_slots()) {
    // A runtime process that just died (the engine saw its FIFOs close and asks for a
    // replacement) may not be reaped yet: reap first, or the new slot would go to it and
    // count as a worker that failed to start.
    ReapChildren();
    const pid_t pid = RuntimeWithRoom();
    if (pid < 0) {
      ReportExited(channel, 127 << 8);
      return;
    }
    Child& child = children_[pid];
    Message start = msg;
    // A runtime process that is dying misses this; its exit reports the slot.
    (void)::write(child.control.get(), &start, sizeof(start));
    child.channels.push_back(channel);
    return;
  }
  const pid_t pid =
      Spawn({"nightjar-worker", "worker", "--ipc-root", options_.ipc_dir, "--channel",
             std::to_string(channel), "--worker-id", std::to_string(msg.header.worker_id),
             "--function", options_.function, "--handler", options_.handler, "--max-payload",
             std::to_string(options_.max_payload)},
            options_.worker_exe, -1, msg.header.worker_id);
  if (pid < 0) {
    ReportExited(channel, 127 << 8);
    return;
  }
  children_[pid].channels.push_back(channel);
}

// Whether the process has begun to exit (PF_EXITING in /proc/<pid>/stat's flags, set before
// the kernel closes its files) or is gone. A runtime process whose FIFOs the engine saw close
// is exiting even before it can be reaped.
bool Exiting(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return true;
  std::istringstream fields(stat.substr(paren + 1));
  std::string state, skip;
  unsigned long flags = 0;
  fields >> state >> skip >> skip >> skip >> skip >> skip >> flags;  // fields 3, 4..8, 9
  constexpr unsigned long kPfExiting = 0x4;
  return !fields || state == "Z" || state == "X" || (flags & kPfExiting) != 0;
}

pid_t Launcher::RuntimeWithRoom() {
  for (auto& [pid, child] : children_) {
    if (!child.control.valid() || child.channels.size() >= options_.slots_per_process) continue;
    if (Exiting(pid)) {
      child.control.Reset();  // never again; its exit reports the slots it holds
      continue;
    }
    return pid;
  }
  // A pipe, not a socket: every event loop (asyncio, libuv) reads one, and a write of one
  // 1024-byte message is atomic (<= PIPE_BUF), so message boundaries survive.
  int pair[2];
  if (::pipe2(pair, O_CLOEXEC) != 0) {
    NJ_LOG(kError) << "control pipe for " << options_.function << ": " << std::strerror(errno);
    return -1;
  }
  UniqueFd theirs(pair[0]);
  UniqueFd ours(pair[1]);
  // Go functions are programs (their main calls nightjar.Serve): run the binary itself.
  const bool go = options_.runtime == "go";
  const std::string exe = go ? options_.handler : options_.interpreter;
  std::vector<std::string> args = {exe};
  if (options_.runtime == "python") {
    args.insert(args.end(), {"-m", "nightjar"});
  } else if (!go) {
    args.push_back(options_.runtimes_dir + "/node/nightjar/main.js");
  }
  args.insert(args.end(), {"--ipc-root", options_.ipc_dir, "--function", options_.function,
                           "--handler", options_.handler, "--max-payload",
                           std::to_string(options_.max_payload), "--control-fd", "3"});
  const pid_t pid = Spawn(std::move(args), exe, theirs.get(), 0);
  if (pid < 0) return -1;
  children_[pid].control = std::move(ours);
  return pid;
}

void Launcher::StopWorker(uint64_t channel) {
  for (auto& [pid, child] : children_) {
    auto it = std::find(child.channels.begin(), child.channels.end(), channel);
    if (it == child.channels.end()) continue;
    if (!child.control.valid()) {
      ::kill(pid, SIGKILL);  // its exit is reported when it is reaped
      return;
    }
    Message stop = proto::MakeMessage(MessageType::kStopWorker);
    stop.header.reply_channel = channel;
    (void)::write(child.control.get(), &stop, sizeof(stop));
    child.channels.erase(it);
    ReportExited(channel, SIGKILL);
    // An empty runtime process holds memory for nothing; the next slot starts a fresh one.
    if (child.channels.empty()) ::kill(pid, SIGKILL);
    return;
  }
}

pid_t Launcher::Spawn(std::vector<std::string> args, const std::string& exe, int control,
                      uint16_t worker_id) {
  // The worker's output: a pipe per stream, read by the engine (engine/log_capture.h). A
  // larger pipe (1 MiB, the unprivileged maximum by default) absorbs a burst while the
  // engine's loop is busy; where that fails the default 64 KiB does.
  int out[2] = {-1, -1}, err[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    NJ_LOG(kError) << "output pipes for " << options_.function << ": " << std::strerror(errno);
    for (int fd : {out[0], out[1], err[0], err[1]}) {
      if (fd >= 0) ::close(fd);
    }
    return -1;
  }
  UniqueFd out_read(out[0]), out_write(out[1]), err_read(err[0]), err_write(err[1]);
  (void)::fcntl(out[1], F_SETPIPE_SZ, 1 << 20);
  (void)::fcntl(err[1], F_SETPIPE_SZ, 1 << 20);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The runtime finds its package first on its language's path, ahead of the user's.
  // (A Go binary has its runtime compiled in.)
  const char* path_var = options_.runtime == "python" ? "PYTHONPATH"
                         : options_.runtime == "node" ? "NODE_PATH"
                                                      : nullptr;
  std::string search_path = options_.runtimes_dir + "/" + options_.runtime;
  if (const char* user = path_var ? std::getenv(path_var) : nullptr;
      user != nullptr && *user != '\0') {
    search_path += std::string(":") + user;
  }
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
    if (::dup2(out_write.get(), 1) != 1 || ::dup2(err_write.get(), 2) != 2) ::_exit(127);
    if (control >= 0) {
      // dup2 leaves the new fd without close-on-exec; if it already is fd 3, clear it.
      if (control == 3 ? ::fcntl(3, F_SETFD, 0) != 0 : ::dup2(control, 3) != 3) ::_exit(127);
      if (path_var != nullptr) ::setenv(path_var, search_path.c_str(), 1);
    }
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  if (pid < 0) {
    NJ_LOG(kError) << "fork failed for " << options_.function << ": " << std::strerror(errno);
    return pid;
  }
  if (!SendLogPipes(pid, worker_id, out_read.get(), err_read.get()) && errno != EPIPE &&
      errno != ECONNRESET) {
    // The worker still runs; its writes fail with EPIPE once the read ends close here.
    // (EPIPE: the engine is gone, and so are we in a moment.)
    NJ_LOG(kWarning) << "cannot hand worker " << pid
                     << "'s output to the engine: " << std::strerror(errno);
  }
  return pid;
}

bool Launcher::SendLogPipes(pid_t pid, uint16_t worker_id, int out, int err) {
  Message msg = proto::MakeMessage(MessageType::kWorkerLogs);
  msg.header.call_id = static_cast<uint64_t>(pid);
  msg.header.worker_id = worker_id;
  const int fds[2] = {out, err};
  return io::SendWithFds(sock_.get(), &msg, sizeof(msg), fds, 2) ==
         static_cast<ssize_t>(sizeof(msg));
}

void Launcher::ReportExited(uint64_t channel, int wait_status) {
  Message exited = proto::MakeMessage(MessageType::kWorkerExited);
  exited.header.reply_channel = channel;
  exited.header.call_id = static_cast<uint64_t>(wait_status);
  Send(&exited);
}

void Launcher::ReapChildren() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    auto it = children_.find(pid);
    if (it == children_.end()) continue;
    if (it->second.control.valid() && !it->second.channels.empty()) {
      NJ_LOG(kWarning) << "runtime process " << pid << " of " << options_.function
                       << " exited (wait status " << status << ") holding "
                       << it->second.channels.size() << " worker slot(s)";
    }
    for (uint64_t channel : it->second.channels) ReportExited(channel, status);
    children_.erase(it);
  }
}

void Launcher::KillAll() {
  for (auto& [pid, child] : children_) ::kill(pid, SIGKILL);
  for (auto& [pid, child] : children_) ::waitpid(pid, nullptr, 0);
  children_.clear();
}

}  // namespace

int RunLauncher(const LauncherOptions& options) {
  // A child of the engine dies with it. In a container (engine_pid 0) the parent is the
  // `runc run` that started it, which exits at once: the engine's end of the socket going
  // away is the signal there.
  if (options.engine_pid != 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != options.engine_pid) return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGINT, SIG_IGN);  // Ctrl-C reaches the whole process group; the engine decides
  ::signal(SIGTERM, SIG_IGN);
  Launcher launcher(options);
  return launcher.Run();
}

}  // namespace nightjar::launcher
