// OCI bundle writer. See oci_bundle.h; the runtime spec is
// https://github.com/opencontainers/runtime-spec/blob/v1.0.2/config.md.
#include "container/oci_bundle.h"

#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

namespace nightjar::container {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Top-level host directories with the code a function runs (merged /usr makes most of
// them symlinks into /usr, which the rootfs then mirrors).
constexpr const char* kHostCodeDirs[] = {"/usr",   "/bin",   "/sbin",  "/lib",
                                         "/lib32", "/lib64", "/libx32"};
// The files of /etc that programs read to start (the dynamic linker's cache, users, names).
constexpr const char* kHostEtcFiles[] = {"/etc/ld.so.cache", "/etc/ld.so.conf",    "/etc/passwd",
                                         "/etc/group",       "/etc/nsswitch.conf", "/etc/hosts",
                                         "/etc/localtime"};

// System calls a function never needs and a container escape often does. The filter
// allows everything else: capabilities are dropped already, so this is defence in depth
// (a kernel bug reachable through one of these needs no capability), after Docker's and
// Podman's default profiles.
constexpr const char* kDeniedSyscalls[] = {
    "acct",
    "add_key",
    "bpf",
    "clock_adjtime",
    "clock_settime",
    "create_module",
    "delete_module",
    "finit_module",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "get_kernel_syms",
    "init_module",
    "ioperm",
    "iopl",
    "kcmp",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "mount",
    "mount_setattr",
    "move_mount",
    "name_to_handle_at",
    "nfsservctl",
    "open_by_handle_at",
    "open_tree",
    "perf_event_open",
    "personality",
    "pivot_root",
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
    "query_module",
    "quotactl",
    "reboot",
    "request_key",
    "setns",
    "settimeofday",
    "swapoff",
    "swapon",
    "syslog",
    "umount",
    "umount2",
    "unshare",
    "uselib",
    "userfaultfd",
    "ustat",
    "vhangup",
};

json Bind(const std::string& path, bool read_only) {
  json options = {"rbind", "nosuid", "nodev"};
  if (read_only) options.push_back("ro");
  return {{"destination", path}, {"type", "bind"}, {"source", path}, {"options", options}};
}

json Mounts(const BundleSpec& spec, const std::string& host_root) {
  json mounts = json::array();
  mounts.push_back({{"destination", "/proc"},
                    {"type", "proc"},
                    {"source", "proc"},
                    {"options", {"nosuid", "noexec", "nodev"}}});
  mounts.push_back({{"destination", "/dev"},
                    {"type", "tmpfs"},
                    {"source", "tmpfs"},
                    {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}});
  mounts.push_back({{"destination", "/tmp"},
                    {"type", "tmpfs"},
                    {"source", "tmpfs"},
                    {"options", {"nosuid", "nodev", "mode=1777", "size=65536k"}}});
  if (spec.rootfs.empty()) {
    for (const char* dir : kHostCodeDirs) {
      const fs::path host = fs::path(host_root) / (dir + 1);
      std::error_code ec;
      if (fs::is_symlink(host, ec) || !fs::is_directory(host, ec)) continue;  // mirrored or absent
      mounts.push_back(Bind(dir, true));
      mounts.back()["source"] = host.string();
    }
    for (const char* file : kHostEtcFiles) {
      std::error_code ec;
      const fs::path host = fs::path(host_root) / (file + 1);
      if (!fs::exists(host, ec)) continue;
      json m = Bind(file, true);
      m["source"] = fs::canonical(host, ec).string();  // /etc/localtime is a symlink
      if (ec) continue;
      mounts.push_back(m);
    }
  }
  // Nested paths after their parents, whatever order they came in.
  std::set<std::string> dirs(spec.read_only_dirs.begin(), spec.read_only_dirs.end());
  for (const std::string& dir : dirs) mounts.push_back(Bind(dir, true));
  if (!spec.read_write_dir.empty()) mounts.push_back(Bind(spec.read_write_dir, false));
  return mounts;
}

json Seccomp() {
  json names = json::array();
  for (const char* name : kDeniedSyscalls) names.push_back(name);
  json rules = json::array();
  rules.push_back({{"names", names}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", EPERM}});
  // clone() with a namespace flag is unshare() by another name: refused for each flag
  // (flags are argument 0 on x86-64 and arm64). clone3() passes its flags in memory, where
  // a filter cannot look: it answers ENOSYS, so libc falls back to clone() (as Docker does).
  for (const uint64_t flag : {CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
                              CLONE_NEWNET, CLONE_NEWCGROUP}) {
    rules.push_back({{"names", {"clone"}},
                     {"action", "SCMP_ACT_ERRNO"},
                     {"errnoRet", EPERM},
                     {"args", {{{"index", 0}, {"value", flag}, {"valueTwo", flag},
                                {"op", "SCMP_CMP_MASKED_EQ"}}}}});
  }
  rules.push_back({{"names", {"clone3"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", ENOSYS}});
  return {{"defaultAction", "SCMP_ACT_ALLOW"},
          {"architectures",
           {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64",
            "SCMP_ARCH_ARM"}},
          {"syscalls", rules}};
}

json Resources(const Limits& limits) {
  json r = json::object();
  if (limits.cpus > 0) {
    constexpr int64_t kPeriodUs = 100'000;
    r["cpu"] = {{"period", kPeriodUs},
                {"quota", static_cast<int64_t>(limits.cpus * static_cast<double>(kPeriodUs))}};
  }
  if (limits.memory_mb > 0) {
    r["memory"] = {{"limit", static_cast<int64_t>(limits.memory_mb << 20)}};
  }
  if (limits.pids > 0) r["pids"] = {{"limit", static_cast<int64_t>(limits.pids)}};
  // Devices: none beyond runc's defaults (null, zero, full, random, urandom, tty).
  r["devices"] = {{{"allow", false}, {"access", "rwm"}}};
  return r;
}

}  // namespace

json OciConfig(const BundleSpec& spec, const std::string& host_root) {
  json process = {
      {"terminal", false},
      {"user", {{"uid", 0}, {"gid", 0}}},
      {"args", spec.args},
      {"env", {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"}},
      {"cwd", "/"},
      {"noNewPrivileges", true},
      {"capabilities",
       {{"bounding", json::array()},
        {"effective", json::array()},
        {"inheritable", json::array()},
        {"permitted", json::array()},
        {"ambient", json::array()}}},
  };
  json linux = {
      {"namespaces",
       {{{"type", "pid"}},
        {{"type", "mount"}},
        {{"type", "ipc"}},
        {{"type", "uts"}},
        {{"type", "network"}},
        {{"type", "cgroup"}}}},
      {"cgroupsPath", spec.cgroups_path},
      {"resources", Resources(spec.limits)},
      {"seccomp", Seccomp()},
      {"maskedPaths",
       {"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/sched_debug", "/proc/scsi", "/sys/firmware"}},
      {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
  };
  return {
      {"ociVersion", "1.0.2"},
      {"process", process},
      {"root", {{"path", spec.rootfs.empty() ? "rootfs" : spec.rootfs}, {"readonly", true}}},
      {"hostname", spec.hostname},
      {"mounts", Mounts(spec, host_root)},
      {"linux", linux},
  };
}

Status WriteBundle(const BundleSpec& spec) {
  std::error_code ec;
  fs::create_directories(spec.dir, ec);
  if (ec) return Internal("cannot create bundle " + spec.dir + ": " + ec.message());
  if (spec.rootfs.empty()) {
    const fs::path rootfs = fs::path(spec.dir) / "rootfs";
    fs::create_directories(rootfs, ec);
    if (ec) return Internal("cannot create " + rootfs.string() + ": " + ec.message());
    // Merged /usr: /lib -> usr/lib and friends, mirrored so paths resolve as on the host.
    for (const char* dir : kHostCodeDirs) {
      if (!fs::is_symlink(dir, ec)) continue;
      const fs::path target = fs::read_symlink(dir, ec);
      if (ec) continue;
      fs::create_symlink(target, rootfs / (dir + 1), ec);
      if (ec && ec != std::errc::file_exists) {
        return Internal("cannot mirror " + std::string(dir) + ": " + ec.message());
      }
    }
  }
  const std::string path = spec.dir + "/config.json";
  std::ofstream out(path);
  out << OciConfig(spec).dump(2) << "\n";
  out.close();
  if (!out) return Internal("cannot write " + path);
  return Status::Ok();
}

}  // namespace nightjar::container
