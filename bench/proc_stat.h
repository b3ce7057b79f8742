// CPU accounting from /proc: how much CPU a process tree (the `nightjar up` process, its
// launchers and workers, and the processes of its containers) has used, for
// CPU-microseconds per invocation.
// Thread rule: free functions, any thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/status.h"

namespace nightjar::bench {

// `root` and every live descendant (children of children included), root first; then, when
// `root` is an engine with `isolation: container` functions, the processes of its
// containers. runc reparents a container's first process away from the engine, so they
// are found by their cgroup instead: /nightjar/nightjar-<root>-... (docs/isolation.md).
std::vector<pid_t> ProcessTree(pid_t root);

// True when `proc_cgroup` (the text of a /proc/<pid>/cgroup file, cgroup v1 or v2) puts the
// process in a container of engine `engine_pid`.
bool InContainerOf(const std::string& proc_cgroup, pid_t engine_pid);

// Sum of utime + stime, in microseconds, of ProcessTree(root), read from
// /proc/<pid>/stat (all threads of a process are included there). Resolution is one clock
// tick (10 ms at USER_HZ = 100), so measure over batches that use seconds of CPU.
// Fails when `root` itself cannot be read (it exited). A descendant that exits between the
// scan and the read is skipped.
Result<double> ProcessTreeCpuUs(pid_t root);

}  // namespace nightjar::bench
