// runc driver. See runc.h.
#include "container/runc.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/clock.h"
#include "base/fd.h"

extern char** environ;

namespace nightjar::container {
namespace {

constexpr int64_t kRuncTimeoutMs = 30'000;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Result<std::string> RunCommand(const std::vector<std::string>& argv, int64_t timeout_ms,
                               bool capture) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return Status::FromErrno("pipe");
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (capture) {
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), 2);
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return Status::FromErrno("spawn " + argv[0], rc);
  write_end.Reset();

  // Read until EOF (the child and anything it left running closed the pipe; without
  // capture only the child had it, close-on-exec) or the deadline.
  std::string output;
  const int64_t deadline = MonotonicNowNs() + timeout_ms * 1'000'000;
  bool timed_out = false;
  for (;;) {
    const int64_t left_ms = (deadline - MonotonicNowNs()) / 1'000'000;
    if (left_ms <= 0) {
      timed_out = true;
      break;
    }
    pollfd p = {read_end.get(), POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left_ms));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    char buf[4096];
    const ssize_t got = ::read(read_end.get(), buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (output.size() < (64 << 10)) output.append(buf, static_cast<size_t>(got));
  }
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, timed_out ? 0 : WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) break;
    if (r == 0 && MonotonicNowNs() >= deadline) {
      timed_out = true;
      ::kill(pid, SIGKILL);
    } else if (r == 0) {
      ::usleep(1000);
    }
  }
  if (!timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0) return output;
  std::string what = argv[0];
  for (size_t i = 1; i < argv.size() && i < 3; ++i) what += " " + argv[i];
  std::string why = Trim(output);
  if (timed_out) {
    why = "timed out after " + std::to_string(timeout_ms) + " ms" + (why.empty() ? "" : ": " + why);
  } else if (why.empty()) {
    why = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                            : "killed by signal " + std::to_string(WTERMSIG(status));
  }
  return Internal(what + ": " + why);
}

Result<Runc> Runc::Find(const std::string& path) {
  if (!path.empty()) {
    if (::access(path.c_str(), X_OK) != 0) {
      return Status(StatusCode::kNotFound,
                    "runc " + path + " is not executable: " + std::strerror(errno));
    }
    return Runc(path);
  }
  std::string dirs = "/usr/sbin:/usr/bin:/sbin:/bin";
  if (const char* env = std::getenv("PATH"); env != nullptr) dirs = std::string(env) + ":" + dirs;
  std::stringstream ss(dirs);
  for (std::string dir; std::getline(ss, dir, ':');) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/runc";
    if (::access(candidate.c_str(), X_OK) == 0) return Runc(candidate);
  }
  return Status(StatusCode::kNotFound,
                "runc not found on PATH or in /usr/sbin (isolation: container needs it; "
                "scripts/setup.sh installs Debian's runc)");
}

Status Runc::Run(const std::string& id, const std::string& bundle) const {
  // A detached container inherits runc's stdout and stderr, so they stay the engine's
  // (the launcher's logs go where the engine's go) and runc's own log goes to a file, which
  // holds its error message when the start fails.
  const std::string log = bundle + "/runc.log";
  auto r = RunCommand(
      {path_, "--log", log, "--log-format", "json", "run", "--detach", "--bundle", bundle, id},
      kRuncTimeoutMs, /*capture=*/false);
  if (r.ok()) return Status::Ok();
  std::ifstream in(log);
  std::string last_error;
  for (std::string line; std::getline(in, line);) {
    // {"level":"error","msg":"...","time":"..."}: keep the message of the last error.
    if (line.find("\"level\":\"error\"") == std::string::npos) continue;
    const size_t at = line.find("\"msg\":\"");
    if (at == std::string::npos) continue;
    std::string msg;
    for (size_t i = at + 7; i < line.size() && line[i] != '"'; ++i) {
      if (line[i] == '\\' && i + 1 < line.size()) ++i;
      msg += line[i];
    }
    last_error = msg;
  }
  return Internal("runc run " + id + ": " +
                  (last_error.empty() ? r.status().message() : last_error));
}

Status Runc::Delete(const std::string& id) const {
  auto r = RunCommand({path_, "delete", "--force", id}, kRuncTimeoutMs);
  if (r.ok() || r.status().message().find("does not exist") != std::string::npos) {
    return Status::Ok();
  }
  return r.status();
}

Result<std::string> Runc::State(const std::string& id) const {
  auto r = RunCommand({path_, "state", id}, kRuncTimeoutMs);
  if (!r.ok()) return r.status();
  // {"ociVersion": ..., "status": "running", ...}: runc's JSON, one key per line.
  const size_t at = r->find("\"status\": \"");
  if (at == std::string::npos) return Internal("runc state " + id + ": no status in " + *r);
  const size_t begin = at + 11;
  return r->substr(begin, r->find('"', begin) - begin);
}

Result<std::vector<std::string>> Runc::List() const {
  auto r = RunCommand({path_, "list", "--quiet"}, kRuncTimeoutMs);
  if (!r.ok()) return r.status();
  std::vector<std::string> ids;
  std::stringstream ss(*r);
  for (std::string line; std::getline(ss, line);) {
    if (!line.empty()) ids.push_back(line);
  }
  return ids;
}

int Runc::SweepStale() const {
  auto ids = List();
  if (!ids.ok()) return 0;
  int deleted = 0;
  for (const std::string& id : *ids) {
    constexpr std::string_view kPrefix = "nightjar-";
    if (id.rfind(kPrefix, 0) != 0) continue;
    const pid_t pid = static_cast<pid_t>(std::atol(id.c_str() + kPrefix.size()));
    if (pid <= 0 || (::kill(pid, 0) == 0 || errno != ESRCH)) continue;  // alive (or unknown)
    if (Delete(id).ok()) ++deleted;
  }
  return deleted;
}

}  // namespace nightjar::container
