// OCI bundles for `isolation: container` (docs/isolation.md): the config.json that runc
// runs a function's launcher with, and the directory around it.
//
// What a container gets: new pid, mount, ipc, uts, network (loopback only) and cgroup
// namespaces; a read-only root file system, either assembled from the host (/usr and the
// top-level library and binary directories, a few files of /etc, all read-only) or the
// user's `rootfs`; a private /tmp (tmpfs) and /dev; read-only binds of the directories the
// function needs (the nightjar binary's, the handler's); the engine's IPC instance
// directory read-write, at the same path; no capabilities, no new privileges, and a
// seccomp filter that refuses the system calls a function has no use for. Limits (CPU,
// memory, pids) go to runc's cgroup settings, which runc applies through cgroup v1 or v2.
//
// Thread rule: free functions; no shared state.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"

namespace nightjar::container {

struct Limits {
  double cpus = 0;         // CPU time per wall second (0.5 = half a core); 0 = no limit
  uint64_t memory_mb = 0;  // 0 = no limit
  uint64_t pids = 0;       // 0 = no limit
};

struct BundleSpec {
  std::string id;                 // container id (runc's)
  std::string dir;                // bundle directory: config.json (+ rootfs/ if assembled)
  std::string rootfs;             // user-given root; "" = assemble one from the host
  std::vector<std::string> args;  // the process (argv[0] an absolute path inside)
  std::string hostname;
  std::vector<std::string> read_only_dirs;  // bound read-only at the same path
  std::string read_write_dir;               // the IPC instance directory
  std::string cgroups_path;                 // e.g. /nightjar/<id>
  Limits limits;
};

// The OCI runtime-spec (1.0) configuration for `spec`. Never fails. `host_root` is where
// the host's top-level directories are looked up (tests pass a fake one).
nlohmann::json OciConfig(const BundleSpec& spec, const std::string& host_root = "/");

// Creates spec.dir (and, without a user rootfs, spec.dir/rootfs with the host's top-level
// symlinks such as lib -> usr/lib), then writes config.json. Fails with errno.
Status WriteBundle(const BundleSpec& spec);

}  // namespace nightjar::container
