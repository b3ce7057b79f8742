// IpcRoot implementation.
#include "ipc/ipc_root.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "base/logging.h"

namespace nightjar::ipc {

int IpcRoot::SweepStale(const std::string& base) {
  int removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(base, ec)) {
    const std::string name = entry.path().filename().string();
    // "<pid>-<8 hex>" (an instance) or "<pid>-<8 hex>.containers" (its container bundles).
    unsigned pid = 0;
    char hex[9] = {};
    int consumed = 0;
    if (std::sscanf(name.c_str(), "%u-%8[0-9a-f]%n", &pid, hex, &consumed) != 2 ||
        std::strlen(hex) != 8 || pid == 0) {
      continue;
    }
    const std::string rest = name.substr(static_cast<size_t>(consumed));
    if (!rest.empty() && rest != ".containers") continue;                     // not ours
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // its engine lives
    IpcRoot(entry.path().string()).RemoveAll();
    if (rest.empty()) ++removed;
  }
  return removed;
}

Result<IpcRoot> IpcRoot::Create(const std::string& base) {
  std::error_code ec;
  std::filesystem::create_directories(base, ec);
  if (ec) return Internal("cannot create IPC root " + base + ": " + ec.message());
  std::random_device rd;
  for (int attempt = 0; attempt < 16; ++attempt) {
    char name[64];
    std::snprintf(name, sizeof(name), "/%d-%08x", ::getpid(), static_cast<unsigned>(rd()));
    std::string dir = base + name;
    if (::mkdir(dir.c_str(), 0700) != 0) {
      if (errno == EEXIST) continue;
      return Status::FromErrno("mkdir " + dir);
    }
    if (::mkdir((dir + "/shm").c_str(), 0700) != 0)
      return Status::FromErrno("mkdir " + dir + "/shm");
    return IpcRoot(dir);
  }
  return Internal("cannot find a free instance name under " + base);
}

std::string IpcRoot::FifoPath(uint64_t channel, FifoEnd end) const {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "/ch-%" PRIu64 "%s", channel,
                end == FifoEnd::kWorkerInput ? ".in" : ".out");
  return dir_ + buf;
}

std::string IpcRoot::PayloadPath(uint64_t call_id, PayloadKind kind) const {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "/shm/%016" PRIx64 "%s", call_id,
                kind == PayloadKind::kInput ? ".in" : ".out");
  return dir_ + buf;
}

std::string IpcRoot::ArenaPath(uint64_t owner) const {
  return dir_ + "/shm/arena-" + std::to_string(owner);
}

std::string IpcRoot::BoardPath(uint32_t function_id) const {
  return dir_ + "/board-" + std::to_string(function_id);
}

void IpcRoot::RemoveAll() const {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  if (ec) NJ_LOG(kWarning) << "cannot remove IPC root " << dir_ << ": " << ec.message();
}

}  // namespace nightjar::ipc
