// Drives the `runc` command line (Debian's runc 1.1) for `isolation: container`
// (docs/isolation.md). Each call runs runc to completion (tens of ms) and returns its
// error text on failure.
//
// Container ids are "nightjar-<engine pid>-<instance>-<function id>-<n>": the engine pid
// lets a later engine find and delete what a SIGKILLed one left behind (SweepStale).
//
// Thread rule: any thread; calls are independent processes.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace nightjar::container {

class Runc {
 public:
  // `path`: the runc binary; "" finds it on PATH, then in /usr/sbin and /usr/bin.
  // Fails with kNotFound when there is none.
  static Result<Runc> Find(const std::string& path);

  const std::string& path() const { return path_; }

  // `runc run --detach --bundle <bundle> <id>`: starts the container's process and
  // returns once it runs. Fails with runc's own error message.
  Status Run(const std::string& id, const std::string& bundle) const;
  // `runc delete --force <id>`: kills whatever runs in it and removes its state and
  // cgroups. Fails with runc's message (an unknown id is not an error).
  Status Delete(const std::string& id) const;
  // The container's status ("created", "running", "stopped", ...) from `runc state <id>`.
  // Fails with runc's message (e.g. an unknown id).
  Result<std::string> State(const std::string& id) const;
  // Ids of every container runc knows (`runc list --quiet`).
  Result<std::vector<std::string>> List() const;
  // Deletes the containers whose id starts with "nightjar-<pid>-" for a pid that is not a
  // live process: the leftovers of an engine that was killed. Returns how many.
  int SweepStale() const;

 private:
  explicit Runc(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// Runs argv (argv[0] an absolute path) with stdin from /dev/null, waiting at most
// timeout_ms (then SIGKILL). With `capture`, stdout + stderr are returned (on exit status
// 0) or quoted in the error; without, they are this process's own. Fails with
// "<argv[0]> <argv[1]>: <output or the exit status>".
Result<std::string> RunCommand(const std::vector<std::string>& argv, int64_t timeout_ms,
                               bool capture = true);

}  // namespace nightjar::container
