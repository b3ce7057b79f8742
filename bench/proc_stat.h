// CPU accounting from /proc: how much CPU a process tree (the `nightjar up` process, its
// launchers and workers) has used, for CPU-microseconds per invocation.
// Thread rule: free functions, any thread.
#pragma once

#include <sys/types.h>

#include <vector>

#include "base/status.h"

namespace nightjar::bench {

// `root` and every live descendant (children of children included), root first.
std::vector<pid_t> ProcessTree(pid_t root);

// Sum of utime + stime, in microseconds, of `root` and its live descendants, read from
// /proc/<pid>/stat (all threads of a process are included there). Resolution is one clock
// tick (10 ms at USER_HZ = 100), so measure over batches that use seconds of CPU.
// Fails when `root` itself cannot be read (it exited). A descendant that exits between the
// scan and the read is skipped.
Result<double> ProcessTreeCpuUs(pid_t root);

}  // namespace nightjar::bench
