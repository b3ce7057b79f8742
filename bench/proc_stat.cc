// /proc readers (see proc_stat.h).
#include "proc_stat.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

namespace nightjar::bench {

namespace {

struct StatLine {
  pid_t ppid = 0;
  unsigned long long utime = 0, stime = 0;  // clock ticks
};

// Parses /proc/<pid>/stat. The command name (field 2) may hold spaces and parentheses, so
// fields are counted from the last ')'.
bool ReadStat(pid_t pid, StatLine* out) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream fields(line.substr(close + 2));
  // Fields 3.. : state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
  //              utime stime
  std::string state;
  unsigned long long skip;
  fields >> state >> out->ppid;
  for (int i = 0; i < 9; ++i) fields >> skip;
  fields >> out->utime >> out->stime;
  return static_cast<bool>(fields);
}

std::map<pid_t, StatLine> ReadAll() {
  std::map<pid_t, StatLine> all;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return all;
  while (const dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || pid <= 0) continue;
    StatLine s;
    if (ReadStat(static_cast<pid_t>(pid), &s)) all.emplace(static_cast<pid_t>(pid), s);
  }
  ::closedir(dir);
  return all;
}

std::string ReadCgroup(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<pid_t> TreeOf(pid_t root, const std::map<pid_t, StatLine>& all) {
  std::multimap<pid_t, pid_t> children;
  for (const auto& [pid, s] : all) children.emplace(s.ppid, pid);
  std::vector<pid_t> tree;
  if (!all.count(root)) return tree;
  tree.push_back(root);
  for (size_t i = 0; i < tree.size(); ++i) {
    auto [lo, hi] = children.equal_range(tree[i]);
    for (auto it = lo; it != hi; ++it) tree.push_back(it->second);
  }
  // Container processes are not the engine's descendants, so every other process's cgroup
  // is read (a few hundred small reads, outside any timed window). All of a container's
  // processes are in its cgroup, so no descent is needed.
  const std::set<pid_t> in_tree(tree.begin(), tree.end());
  for (const auto& [pid, s] : all) {
    if (!in_tree.count(pid) && InContainerOf(ReadCgroup(pid), root)) tree.push_back(pid);
  }
  return tree;
}

}  // namespace

bool InContainerOf(const std::string& proc_cgroup, pid_t engine_pid) {
  // Lines are "<id>:<controllers>:<path>"; the engine's containers have cgroupsPath
  // /nightjar/<container id> and their ids start with "nightjar-<engine pid>-" (runc.h).
  return proc_cgroup.find(":/nightjar/nightjar-" + std::to_string(engine_pid) + "-") !=
         std::string::npos;
}

std::vector<pid_t> ProcessTree(pid_t root) { return TreeOf(root, ReadAll()); }

Result<double> ProcessTreeCpuUs(pid_t root) {
  const auto all = ReadAll();
  const auto tree = TreeOf(root, all);
  if (tree.empty()) return NotFound("process " + std::to_string(root) + " is gone");
  unsigned long long ticks = 0;
  for (pid_t pid : tree) {
    const StatLine& s = all.at(pid);
    ticks += s.utime + s.stime;
  }
  static const long hz = ::sysconf(_SC_CLK_TCK);
  return static_cast<double>(ticks) * 1e6 / static_cast<double>(hz > 0 ? hz : 100);
}

}  // namespace nightjar::bench
