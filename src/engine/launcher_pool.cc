// LauncherPool implementation.
#include "engine/launcher_pool.h"

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "base/clock.h"
#include "base/logging.h"
#include "container/oci_bundle.h"
#include "engine/engine.h"
#include "io/socket.h"

extern char** environ;

namespace nightjar::engine {

using proto::Message;
using proto::MessageType;

// A launcher that died is restarted after this, doubling (to engine.max_crash_backoff_ms)
// while the restart itself fails.
constexpr int64_t kFirstRestartDelayMs = 100;
// How long start-up waits for a containerized launcher to connect.
constexpr int64_t kContainerStartTimeoutMs = 20'000;

class LauncherPool::Connection final : public io::Watcher,
                                       public std::enable_shared_from_this<Connection> {
 public:
  Connection(LauncherPool* pool, UniqueFd fd) : pool_(pool), fd_(std::move(fd)) {}
  void OnEvents(uint32_t) override {
    auto self = shared_from_this();
    for (;;) {
      Message msg;
      // kWorkerLogs carries two descriptors; any other message none.
      UniqueFd fds[io::kMaxPassedFds];
      const ssize_t n = io::RecvWithFds(fd_.get(), &msg, sizeof(msg), fds);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      // EOF, ECONNRESET (a launcher killed with our messages unread) or a short message.
      if (n != static_cast<ssize_t>(sizeof(msg))) {
        pool_->OnConnectionClosed(this);
        return;
      }
      if (msg.type() == MessageType::kLauncherHello) pool_->OnHello(self, msg);
      if (msg.type() == MessageType::kWorkerExited) {
        pool_->engine_->OnWorkerGone(msg.header.reply_channel);
      }
      if (msg.type() == MessageType::kWorkerLogs && function_id != 0) {
        const int32_t worker = msg.header.worker_id != 0 ? msg.header.worker_id : -1;
        pool_->engine_->OnWorkerLogs(function_id, worker, static_cast<int32_t>(msg.header.call_id),
                                     std::move(fds[0]), std::move(fds[1]));
      }
    }
  }
  bool Send(const Message& msg) {
    return ::send(fd_.get(), &msg, sizeof(msg), MSG_NOSIGNAL | MSG_DONTWAIT) ==
           static_cast<ssize_t>(sizeof(msg));
  }
  void Close(io::EventLoop* loop) {
    if (!fd_.valid()) return;
    loop->Unwatch(fd_.get());
    ::shutdown(fd_.get(), SHUT_RDWR);
    fd_.Reset();
  }
  int fd() const { return fd_.get(); }
  uint32_t function_id = 0;

 private:
  LauncherPool* pool_;
  UniqueFd fd_;
};

LauncherPool::LauncherPool(Engine* engine, const config::Config& config, const ipc::IpcRoot& root,
                           std::string self_exe, io::EventLoop* loop)
    : engine_(engine),
      config_(config),
      root_(root),
      self_exe_(std::move(self_exe)),
      loop_(loop),
      slots_(config.functions.size() + 1) {}

LauncherPool::~LauncherPool() = default;

Status LauncherPool::Start() {
  auto fd = io::ListenUnixSeqpacket(root_.LauncherSocketPath());
  if (!fd.ok()) return fd.status();
  listen_fd_ = std::move(*fd);
  NJ_RETURN_IF_ERROR(loop_->Watch(listen_fd_.get(), EPOLLIN, this));
  const bool containers = std::any_of(config_.functions.begin(), config_.functions.end(),
                                      [](const auto& f) { return f.isolation == "container"; });
  auto runc = container::Runc::Find(config_.engine.runc);
  if (containers && !runc.ok()) return runc.status();
  if (runc.ok()) {
    // Even an engine without containers deletes those a killed engine left, when it can.
    if (int n = runc->SweepStale(); n > 0) {
      NJ_LOG(kWarning) << "deleted " << n << " container(s) left by an engine that was killed";
    }
  }
  if (containers) {
    runc_.emplace(std::move(*runc));
    cgroups_ = container::DetectCgroupVersion();
  }
  for (const auto& f : config_.functions) NJ_RETURN_IF_ERROR(Spawn(f.id));
  // `runc run --detach` returns before the container's process is exec'd: a process that
  // cannot run (a rootfs without the binary or its libraries) stops the container right
  // after. Wait for each container's launcher to connect, or for its container to stop.
  for (const auto& f : config_.functions) {
    if (f.isolation == "container") NJ_RETURN_IF_ERROR(AwaitContainerLauncher(f.id));
  }
  return Status::Ok();
}

Status LauncherPool::Spawn(uint32_t function_id) {
  const config::FunctionConfig& f = config_.functions[function_id - 1];
  std::vector<std::string> args = {"nightjar-launcher",
                                   "launcher",
                                   "--socket",
                                   root_.LauncherSocketPath(),
                                   "--ipc-root",
                                   root_.dir(),
                                   "--function",
                                   f.name,
                                   "--handler",
                                   f.handler,
                                   "--max-payload",
                                   std::to_string(f.max_payload_bytes),
                                   "--engine-pid",
                                   std::to_string(::getpid()),
                                   "--worker-nice",
                                   std::to_string(config_.engine.worker_nice),
                                   "--runtime",
                                   f.runtime,
                                   "--slots-per-process",
                                   std::to_string(f.slots_per_process)};
  if (!f.interpreter.empty()) {
    args.push_back("--interpreter");
    args.push_back(f.interpreter);
  }
  if (f.isolation == "container") return SpawnContainer(function_id, std::move(args));
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, self_exe_.c_str(), nullptr, nullptr, argv.data(), environ);
  if (rc != 0) return Status::FromErrno("spawn launcher for " + f.name, rc);
  std::lock_guard<std::mutex> lock(mu_);
  slots_[function_id].pid = pid;
  return Status::Ok();
}

Status LauncherPool::SpawnContainer(uint32_t function_id, std::vector<std::string> args) {
  namespace fs = std::filesystem;
  const config::FunctionConfig& f = config_.functions[function_id - 1];
  int generation = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    generation = slots_[function_id].generation++;
  }
  container::BundleSpec spec;
  // The instance directory's name starts with the engine's pid (Runc::SweepStale).
  spec.id = "nightjar-" + fs::path(root_.dir()).filename().string() + "-" +
            std::to_string(function_id) + "-" + std::to_string(generation);
  // Bundles live beside the instance directory, never inside it: the instance directory is
  // writable from every container, and the engine (root) writes the bundles.
  spec.dir = root_.dir() + ".containers/" + spec.id;
  spec.rootfs = f.rootfs;
  args[0] = self_exe_;
  // Inside its own pid namespace the launcher's parent is not the engine: it notices the
  // engine going through its socket instead.
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--engine-pid") args[i + 1] = "0";
  }
  spec.args = std::move(args);
  spec.hostname = "nightjar-" + f.name;
  std::replace(spec.hostname.begin(), spec.hostname.end(), '_', '-');
  spec.read_only_dirs = {fs::path(self_exe_).parent_path().string(),
                         fs::path(f.handler_file).parent_path().string()};
  spec.read_write_dir = root_.dir();
  spec.cgroups_path = "/nightjar/" + spec.id;
  spec.limits = {f.limits.cpus, f.limits.memory_mb, f.limits.pids};
  NJ_RETURN_IF_ERROR(container::WriteBundle(spec));
  if (Status st = runc_->Run(spec.id, spec.dir); !st.ok()) {
    (void)runc_->Delete(spec.id);
    return Internal("function " + f.name + ": its container cannot start: " + st.message());
  }
  std::lock_guard<std::mutex> lock(mu_);
  Slot& slot = slots_[function_id];
  slot.container_id = spec.id;
  slot.bundle_dir = spec.dir;
  slot.oom_kills = 0;
  return Status::Ok();
}

Status LauncherPool::AwaitContainerLauncher(uint32_t function_id) {
  const config::FunctionConfig& f = config_.functions[function_id - 1];
  const int64_t deadline = MonotonicNowNs() + kContainerStartTimeoutMs * 1'000'000;
  std::string id;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (slots_[function_id].conn) return Status::Ok();
      id = slots_[function_id].container_id;
    }
    auto status = runc_->State(id);
    if (status.ok() && *status == "stopped") {
      return Internal("function " + f.name + ": its container " + id +
                      " stopped before its launcher started (runc's reason is logged above, "
                      "e.g. a rootfs without the nightjar binary's libraries)");
    }
    if (MonotonicNowNs() > deadline) {
      return Internal("function " + f.name + ": the launcher in container " + id +
                      " did not connect within " + std::to_string(kContainerStartTimeoutMs) +
                      " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void LauncherPool::DeleteContainer(uint32_t function_id) {
  std::string id, bundle;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id.swap(slots_[function_id].container_id);
    bundle.swap(slots_[function_id].bundle_dir);
  }
  if (id.empty() || !runc_) return;
  if (Status st = runc_->Delete(id); !st.ok()) NJ_LOG(kError) << st.message();
  std::error_code ec;
  std::filesystem::remove_all(bundle, ec);
}

std::string LauncherPool::TakeExitReason(uint32_t function_id) {
  const config::FunctionConfig& f = config_.functions[function_id - 1];
  if (f.isolation != "container" || f.limits.memory_mb == 0) return "";
  std::lock_guard<std::mutex> lock(mu_);
  Slot& slot = slots_[function_id];
  if (slot.container_id.empty()) return "";
  auto kills = container::OomKills("/nightjar/" + slot.container_id, cgroups_);
  if (!kills.ok() || *kills <= slot.oom_kills) return "";
  slot.oom_kills = *kills;
  return ": killed by the kernel's OOM killer at the container's memory limit (" +
         std::to_string(f.limits.memory_mb) + " MiB)";
}

void LauncherPool::OnEvents(uint32_t) {
  for (;;) {
    int fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    auto conn = std::make_shared<Connection>(this, UniqueFd(fd));
    if (!loop_->Watch(fd, EPOLLIN, conn.get()).ok()) continue;
    std::lock_guard<std::mutex> lock(mu_);
    pending_.push_back(std::move(conn));
  }
}

void LauncherPool::OnHello(const std::shared_ptr<Connection>& c, const Message& msg) {
  std::string name(reinterpret_cast<const char*>(msg.payload),
                   std::min<size_t>(msg.header.payload_size, proto::kInlinePayloadSize));
  const config::FunctionConfig* f = config_.Find(name);
  if (f == nullptr) {
    NJ_LOG(kWarning) << "launcher for unknown function \"" << name << "\" ignored";
    c->Close(loop_);
    return;
  }
  std::vector<Message> queued;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.erase(std::remove(pending_.begin(), pending_.end(), c), pending_.end());
    c->function_id = f->id;
    slots_[f->id].conn = c;
    queued.swap(slots_[f->id].queued);
  }
  for (auto& m : queued) c->Send(m);
  engine_->OnLauncherReady(f->id);
}

void LauncherPool::OnConnectionClosed(Connection* c) {
  c->Close(loop_);
  uint32_t fid = c->function_id;
  pid_t pid = 0;
  std::vector<uint64_t> queued;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (fid == 0 || slots_[fid].conn.get() != c) return;
    slots_[fid].conn.reset();
    pid = slots_[fid].pid;
    if (stopping_) return;
    for (const Message& m : slots_[fid].queued) {
      if (m.type() == MessageType::kStartWorker) queued.push_back(m.header.reply_channel);
    }
  }
  // The launcher died; its workers die with it (parent-death signal) and are replaced
  // through the engine once a new launcher connects.
  NJ_LOG(kWarning) << "launcher for " << config_.functions[fid - 1].name
                   << " exited; restarting it";
  if (pid > 0) ::waitpid(pid, nullptr, WNOHANG);
  // Found by a test that killed a launcher: a worker whose EOF came before the launcher's
  // asked the dead launcher for its replacement, which then stayed "starting" for good.
  engine_->OnLauncherGone(fid, queued);
  Restart(fid, kFirstRestartDelayMs);
}

void LauncherPool::Restart(uint32_t fid, int64_t delay_ms) {
  loop_->RunAfterMs(delay_ms, [this, fid, delay_ms] {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    DeleteContainer(fid);  // a container whose launcher is gone is of no further use
    Status st = Spawn(fid);
    if (st.ok()) return;
    const int64_t next = std::min(delay_ms * 2, config_.engine.max_crash_backoff_ms);
    NJ_LOG(kError) << st.message() << "; trying again in " << next << " ms";
    // The workers asked for meanwhile cannot start: fail them now, so that the engine backs
    // off and answers the function's calls 503 rather than letting them wait.
    std::vector<Message> queued;
    {
      std::lock_guard<std::mutex> lock(mu_);
      queued.swap(slots_[fid].queued);
    }
    for (const Message& m : queued) {
      if (m.type() == MessageType::kStartWorker) engine_->OnWorkerGone(m.header.reply_channel);
    }
    Restart(fid, next);
  });
}

void LauncherPool::SendOrQueue(uint32_t function_id, Message msg) {
  std::shared_ptr<Connection> conn;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    conn = slots_[function_id].conn;
    if (!conn) {
      auto& queued = slots_[function_id].queued;
      if (msg.type() == MessageType::kStopWorker) {
        // No launcher, so no such worker yet: forget its start request instead.
        const uint64_t channel = msg.header.reply_channel;
        queued.erase(std::remove_if(
                         queued.begin(), queued.end(),
                         [channel](const Message& m) { return m.header.reply_channel == channel; }),
                     queued.end());
        return;
      }
      queued.push_back(msg);
      return;
    }
  }
  if (!conn->Send(msg)) NJ_LOG(kWarning) << "launcher socket full; start request lost";
}

void LauncherPool::StartWorker(uint32_t function_id, uint64_t channel, uint16_t worker_id) {
  Message msg = proto::MakeMessage(MessageType::kStartWorker);
  msg.header.reply_channel = channel;
  msg.header.worker_id = worker_id;
  SendOrQueue(function_id, msg);
}

void LauncherPool::StopWorker(uint32_t function_id, uint64_t channel) {
  Message msg = proto::MakeMessage(MessageType::kStopWorker);
  msg.header.reply_channel = channel;
  SendOrQueue(function_id, msg);
}

void LauncherPool::Stop() {
  std::vector<pid_t> pids;
  std::vector<std::shared_ptr<Connection>> conns;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& s : slots_) {
      if (s.pid > 0) pids.push_back(s.pid);
      if (s.conn) conns.push_back(s.conn);
    }
    for (auto& c : pending_) conns.push_back(c);
  }
  // Closing happens on the loop that watches the sockets.
  loop_->RunAndWait([&] {
    for (auto& c : conns) c->Close(loop_);
    if (listen_fd_.valid()) loop_->Unwatch(listen_fd_.get());
  });
  // Containers: deleting kills what is left and removes the cgroups and runc's state.
  for (uint32_t fid = 1; fid < slots_.size(); ++fid) DeleteContainer(fid);
  if (runc_) {
    container::RemoveCgroupParent("/nightjar", cgroups_);
    std::error_code ec;
    std::filesystem::remove_all(root_.dir() + ".containers", ec);
  }
  // Launchers see EOF, kill their workers and exit; give them a moment, then insist.
  int64_t deadline = MonotonicNowNs() + 5'000'000'000;
  for (pid_t pid : pids) {
    for (;;) {
      pid_t r = ::waitpid(pid, nullptr, WNOHANG);
      if (r == pid || (r < 0 && errno == ECHILD)) break;
      if (MonotonicNowNs() > deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

}  // namespace nightjar::engine
