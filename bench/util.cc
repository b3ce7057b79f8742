// Shared helpers (see util.h).
#include "util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/clock.h"

namespace nightjar::bench {

namespace {

std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

Status RecordSamples(std::string_view bytes, Histogram* h) {
  if (bytes.size() % 4 != 0) {
    return InvalidArgument("sample buffer of " + std::to_string(bytes.size()) +
                           " bytes is not a whole number of uint32s");
  }
  for (size_t off = 0; off < bytes.size(); off += 4) {
    uint32_t v;
    std::memcpy(&v, bytes.data() + off, sizeof(v));
    h->Record(v);
  }
  return Status::Ok();
}

Status RunProcess(const std::vector<std::string>& argv, const std::string& log_path,
                  double timeout_s) {
  if (argv.empty()) return InvalidArgument("empty command");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return Status::FromErrno("fork");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log >= 0) {
      ::dup2(log, 1);
      ::dup2(log, 2);
    }
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  const int64_t deadline = MonotonicNowNs() + static_cast<int64_t>(timeout_s * 1e9);
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return Status::FromErrno("waitpid");
    if (MonotonicNowNs() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return Internal(argv[0] + " timed out after " + std::to_string(timeout_s) + " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // poll interval
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Internal(argv[0] + " failed (wait status " + std::to_string(status) + "); see " +
                    log_path);
  }
  return Status::Ok();
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Result<double> ParseH2loadRate(const std::string& text) {
  // "finished in 1.23s, 45678.90 req/s, ..." and "requests: N total, N started, N done,
  // N succeeded, M failed, ...".
  const size_t f = text.find("finished in ");
  const size_t comma = f == std::string::npos ? f : text.find(", ", f);
  if (comma == std::string::npos) {
    return Internal("cannot read h2load's output: " + text.substr(0, 500));
  }
  const size_t failed = text.find(" failed");
  if (failed != std::string::npos) {
    const size_t start = text.rfind(' ', failed - 1);
    if (std::atol(text.c_str() + start + 1) != 0) return Internal("h2load: requests failed");
  }
  return std::atof(text.c_str() + comma + 2);
}

bool OnPath(const std::string& tool) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (::access((dir + "/" + tool).c_str(), X_OK) == 0) return true;
  }
  return false;
}

std::string SourceCommit(const std::string& source_dir) {
  std::string git = source_dir + "/.git";
  std::string common = git;
  if (std::filesystem::is_regular_file(git)) {
    const std::string line = FirstLine(git);
    if (line.rfind("gitdir: ", 0) != 0) return "unknown";
    git = line.substr(8);
    if (!git.empty() && git.front() != '/') git = source_dir + "/" + git;
    const std::string rel = FirstLine(git + "/commondir");
    common = rel.empty() ? git : (rel.front() == '/' ? rel : git + "/" + rel);
  }
  std::string head = FirstLine(git + "/HEAD");
  if (head.rfind("ref: ", 0) != 0) return head.empty() ? "unknown" : head.substr(0, 12);
  const std::string ref = head.substr(5);
  std::string sha = FirstLine(git + "/" + ref);
  if (sha.empty()) sha = FirstLine(common + "/" + ref);
  if (sha.empty()) {
    std::ifstream packed(common + "/packed-refs");
    for (std::string line; std::getline(packed, line);) {
      if (line.size() > 41 && line.substr(41) == ref) sha = line.substr(0, 40);
    }
  }
  const std::string branch = ref.substr(ref.rfind('/') + 1);
  return sha.empty() ? "unknown" : sha.substr(0, 12) + " (" + branch + ")";
}

}  // namespace nightjar::bench
