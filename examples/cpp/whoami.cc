// whoami: where this worker runs, as JSON -- to see the isolation a function gets
// (docs/isolation.md). Ignores its input. Output:
//   {"pid_ns":"pid:[4026532..]","net_ns":"net:[...]","mnt_ns":"mnt:[...]",
//    "hostname":"nightjar-whoami","uid":0,"cgroup":"0::/"}
// Namespaces are the /proc/self/ns links (two processes share a namespace exactly when the
// inodes match); cgroup is /proc/self/cgroup's memory (v1) or unified (v2) line. Never fails.
#include <sys/types.h>
#include <unistd.h>

#include <fstream>
#include <nightjar/function.hpp>
#include <string>

namespace {

std::string Link(const char* path) {
  char buf[256];
  const ssize_t n = ::readlink(path, buf, sizeof(buf));
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("?");
}

// Quotes a string for JSON (the values here are short and printable; escape the rest).
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out + "\"";
}

nj_status Whoami(nightjar::Context& ctx, std::string_view) {
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  // The memory controller's line (cgroup v1) or the unified one (v2): what limits this
  // process. In a container's cgroup namespace its path reads "/".
  std::string cgroup;
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    if (line.find(":memory:") != std::string::npos || line.rfind("0::", 0) == 0) {
      cgroup = line;
      if (line.find(":memory:") != std::string::npos) break;
    }
  }
  const std::string out =
      "{\"pid_ns\":" + Quote(Link("/proc/self/ns/pid")) +
      ",\"net_ns\":" + Quote(Link("/proc/self/ns/net")) +
      ",\"mnt_ns\":" + Quote(Link("/proc/self/ns/mnt")) + ",\"hostname\":" + Quote(host) +
      ",\"uid\":" + std::to_string(::getuid()) + ",\"cgroup\":" + Quote(cgroup) + "}";
  return ctx.Append(out);
}

}  // namespace

NIGHTJAR_FUNCTION(Whoami)
