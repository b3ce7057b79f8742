// Small helpers shared by the harness's scenarios.
// Thread rule: free functions, any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/histogram.h"
#include "base/status.h"

namespace nightjar::bench {

// Records every little-endian uint32 in `bytes` (latency samples in ns, as the bench
// functions and nightjar_bench_grpc write them). Fails when the size is not a multiple of 4.
Status RecordSamples(std::string_view bytes, Histogram* h);

// Runs argv[0] (looked up in PATH) with its arguments, stdout and stderr appended to `log_path`,
// and waits up to `timeout_s` (then SIGKILL). Fails when it cannot start, times out or exits
// non-zero.
Status RunProcess(const std::vector<std::string>& argv, const std::string& log_path,
                  double timeout_s);

// Whole file contents ("" when unreadable).
std::string ReadWholeFile(const std::string& path);

// The commit of the source tree at `source_dir`, "<12 hex> (<branch>)", read from .git
// without running git ("unknown" outside a checkout). In a linked worktree .git is a file
// naming the worktree's git directory, whose `commondir` holds the shared refs.
std::string SourceCommit(const std::string& source_dir);

// Whether `tool` is an executable file in a directory of $PATH.
bool OnPath(const std::string& tool);

// The request rate of an h2load run (req/s) from its stdout (`text`): the "finished in 1.2s,
// 45678.90 req/s, ..." line. Fails when that line is missing or any request failed
// ("requests: ... N failed").
Result<double> ParseH2loadRate(const std::string& text);

}  // namespace nightjar::bench
