// What the engine reads of a container's cgroups (docs/isolation.md, "cgroup v1 and v2"):
// which hierarchy the host has, and how many times the kernel's OOM killer acted inside a
// container's memory cgroup. runc creates and removes the cgroups; Nightjar only reads.
//
// Thread rule: free functions; they read files.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace nightjar::container {

enum class CgroupVersion {
  kV1,  // per-controller hierarchies (/sys/fs/cgroup/memory/...), also "hybrid" hosts
  kV2,  // the unified hierarchy mounted at /sys/fs/cgroup with the memory controller
};

// kV2 when /sys/fs/cgroup is a unified hierarchy offering the memory controller (its
// cgroup.controllers lists "memory"); otherwise kV1. `sys_fs_cgroup` is for tests.
CgroupVersion DetectCgroupVersion(const std::string& sys_fs_cgroup = "/sys/fs/cgroup");

// OOM kills so far in the memory cgroup at `cgroups_path` (runc's linux.cgroupsPath):
// v1 memory.oom_control's "oom_kill", v2 memory.events' "oom_kill". Fails with errno when
// the file cannot be read (no such cgroup) or has no such line.
Result<uint64_t> OomKills(const std::string& cgroups_path, CgroupVersion version,
                          const std::string& sys_fs_cgroup = "/sys/fs/cgroup");

// Removes the (empty) cgroup directory `path` (e.g. "/nightjar", the parent runc created
// for the containers) in every hierarchy of `version`. Best effort; never fails.
void RemoveCgroupParent(const std::string& path, CgroupVersion version,
                        const std::string& sys_fs_cgroup = "/sys/fs/cgroup");

}  // namespace nightjar::container
