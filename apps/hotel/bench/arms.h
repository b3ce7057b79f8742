// The processes of the hotel benchmark (hotel_bench.cc): the stores (redis-server and
// memcached on free loopback ports), and the two arms under test, the Nightjar deployment
// (bench/deployment.h) and the RPC servers (apps/hotel/rpc/). Every child gets SIGTERM if
// the harness dies, and writes its output to a log file in the work directory.
// Thread rule: one owner thread. Stop() (or the destructor) ends what was started.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "deployment.h"

// `decl = value of expr`, or return its error status.
#define HB_CONCAT2(a, b) a##b
#define HB_CONCAT(a, b) HB_CONCAT2(a, b)
#define HB_ASSIGN_OR_RETURN(decl, expr)                       \
  auto HB_CONCAT(hb_result_, __LINE__) = (expr);              \
  if (!HB_CONCAT(hb_result_, __LINE__).ok()) {                \
    return HB_CONCAT(hb_result_, __LINE__).status();          \
  }                                                           \
  decl = std::move(HB_CONCAT(hb_result_, __LINE__)).value()

namespace hotel::bench {

using nightjar::Result;
using nightjar::Status;

// One child process. Start forks and execs argv[0] (PATH lookup) with `env` added to the
// harness's environment, stdout and stderr to log_path.
class Child {
 public:
  static Result<std::unique_ptr<Child>> Start(const std::vector<std::string>& argv,
                                              const std::vector<std::pair<std::string, std::string>>& env,
                                              const std::string& log_path);
  ~Child() { Stop(); }
  // Waits (up to 30 s) for a log line "hotel-<name>: serving 127.0.0.1:<port>"; its port.
  Result<int> WaitServing();
  void Stop();  // SIGTERM, then SIGKILL after 10 s; idempotent
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

int FreePort();

// redis-server and memcached, ready to answer.
class Stores {
 public:
  static Result<std::unique_ptr<Stores>> Start(const std::string& work_dir);
  std::string redis() const { return "127.0.0.1:" + std::to_string(redis_port_); }
  std::string memcached() const { return "127.0.0.1:" + std::to_string(memcached_port_); }
  std::vector<pid_t> pids() const { return {redis_->pid(), memcached_->pid()}; }
  Status Load();  // empties both and loads the dataset

 private:
  std::unique_ptr<Child> redis_, memcached_;
  int redis_port_ = 0, memcached_port_ = 0;
};

// An arm under test: where its frontend listens, which path it serves, its processes.
class Arm {
 public:
  virtual ~Arm() = default;
  virtual std::string name() const = 0;  // "nightjar" or "rpc"
  virtual int port() const = 0;
  virtual std::string path() const = 0;
  virtual std::vector<pid_t> roots() const = 0;  // process trees whose CPU counts
  virtual void Stop() = 0;
};

// Nightjar: `nightjar up` with the eight hotel functions from app_dir.
Result<std::unique_ptr<Arm>> StartNightjarArm(const std::string& nightjar_bin,
                                              const std::string& app_dir,
                                              const std::string& work_dir, const Stores& stores);
// RPC: the seven gRPC servers and the HTTP frontend from app_dir.
Result<std::unique_ptr<Arm>> StartRpcArm(const std::string& app_dir, const std::string& work_dir,
                                         const Stores& stores);

}  // namespace hotel::bench
