// Processes of the hotel benchmark (arms.h).
#include "arms.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <thread>

#include "dataset.h"
#include "store.h"
#include "util.h"

namespace hotel::bench {

using nightjar::Internal;

namespace {

constexpr auto kStartTimeout = std::chrono::seconds(30);

bool WaitUntil(const auto& ready) {
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (!ready()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling with a deadline
  }
  return true;
}

}  // namespace

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) ::close(fd);
  return port;
}

Result<std::unique_ptr<Child>> Child::Start(
    const std::vector<std::string>& argv,
    const std::vector<std::pair<std::string, std::string>>& env, const std::string& log_path) {
  std::vector<const char*> args;
  for (const auto& a : argv) args.push_back(a.c_str());
  args.push_back(nullptr);
  const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log < 0) return nightjar::Status::FromErrno("open " + log_path);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log);
    return nightjar::Status::FromErrno("fork");
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    ::dup2(log, 1);
    ::dup2(log, 2);
    ::execvp(args[0], const_cast<char* const*>(args.data()));
    ::_exit(127);
  }
  ::close(log);
  auto c = std::unique_ptr<Child>(new Child());
  c->pid_ = pid;
  c->log_path_ = log_path;
  return c;
}

Result<int> Child::WaitServing() {
  static const std::regex kServing(R"(hotel-[a-z]+: serving 127\.0\.0\.1:(\d+))");
  int port = 0;
  const bool ok = WaitUntil([&] {
    std::smatch m;
    const std::string log = nightjar::bench::ReadWholeFile(log_path_);
    if (std::regex_search(log, m, kServing)) port = std::stoi(m[1]);
    return port != 0 || ::waitpid(pid_, nullptr, WNOHANG) == pid_;
  });
  if (!ok || port == 0) {
    return Internal("no serving line in " + log_path_ + ": " +
                    nightjar::bench::ReadWholeFile(log_path_).substr(0, 2000));
  }
  return port;
}

void Child::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 1000; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

Result<std::unique_ptr<Stores>> Stores::Start(const std::string& work_dir) {
  auto s = std::unique_ptr<Stores>(new Stores());
  s->redis_port_ = FreePort();
  s->memcached_port_ = FreePort();
  HB_ASSIGN_OR_RETURN(s->redis_,
                      Child::Start({"redis-server", "--port", std::to_string(s->redis_port_),
                                    "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                    "--dir", work_dir},
                                   {}, work_dir + "/redis.log"));
  std::vector<std::string> mc{"memcached", "-l", "127.0.0.1", "-p",
                              std::to_string(s->memcached_port_), "-U", "0", "-m", "256"};
  if (::geteuid() == 0) mc.insert(mc.end(), {"-u", "root"});
  HB_ASSIGN_OR_RETURN(s->memcached_, Child::Start(mc, {}, work_dir + "/memcached.log"));
  const bool up = WaitUntil([&] {
    try {
      ConnectRedis(s->redis())->Get("ping");
      ConnectMemcached(s->memcached())->Get("ping");
      return true;
    } catch (const StoreError&) {
      return false;
    }
  });
  if (!up) return Internal("redis-server or memcached did not come up (logs in " + work_dir + ")");
  return s;
}

Status Stores::Load() {
  try {
    auto db = ConnectRedis(redis());
    auto cache = ConnectMemcached(memcached());
    LoadDataset(GenerateDataset(DatasetOptions{}), *db, *cache);
    return nightjar::Status::Ok();
  } catch (const std::exception& e) {
    return Internal(std::string("loading the dataset: ") + e.what());
  }
}

namespace {

constexpr const char* kRoles[] = {"frontend", "search",         "geo",  "rate",
                                  "profile",  "recommendation", "user", "reservation"};
constexpr const char* kLeaves[] = {"geo", "rate", "profile", "recommendation", "user",
                                   "reservation"};

class NightjarArm final : public Arm {
 public:
  explicit NightjarArm(std::unique_ptr<nightjar::bench::Deployment> d) : d_(std::move(d)) {}
  std::string name() const override { return "nightjar"; }
  int port() const override { return d_->port(); }
  std::string path() const override { return "/function/hotel-frontend"; }
  std::vector<pid_t> roots() const override { return {d_->pid()}; }
  void Stop() override { (void)d_->Stop(); }

 private:
  std::unique_ptr<nightjar::bench::Deployment> d_;
};

class RpcArm final : public Arm {
 public:
  std::string name() const override { return "rpc"; }
  int port() const override { return port_; }
  std::string path() const override { return "/hotel"; }
  std::vector<pid_t> roots() const override {
    std::vector<pid_t> out;
    for (const auto& c : children_) out.push_back(c->pid());
    return out;
  }
  void Stop() override {
    for (auto it = children_.rbegin(); it != children_.rend(); ++it) (*it)->Stop();
  }
  std::vector<std::unique_ptr<Child>> children_;
  int port_ = 0;
};

}  // namespace

Result<std::unique_ptr<Arm>> StartNightjarArm(const std::string& nightjar_bin,
                                              const std::string& app_dir,
                                              const std::string& work_dir, const Stores& stores) {
  // The functions find the stores through the engine's environment, which they inherit.
  ::setenv("HOTEL_REDIS", stores.redis().c_str(), 1);
  ::setenv("HOTEL_MEMCACHED", stores.memcached().c_str(), 1);
  nightjar::bench::DeploymentSpec spec;
  spec.name = "hotel-nightjar";
  for (const char* role : kRoles) {
    nightjar::bench::FunctionSpec f;
    f.name = std::string("hotel-") + role;
    f.handler = app_dir + "/libhotel-" + role + ".so";
    f.min_workers = 2;
    f.max_workers = 8;
    spec.functions.push_back(f);
  }
  HB_ASSIGN_OR_RETURN(auto d, nightjar::bench::Deployment::Start(nightjar_bin, work_dir, spec));
  return std::unique_ptr<Arm>(new NightjarArm(std::move(d)));
}

Result<std::unique_ptr<Arm>> StartRpcArm(const std::string& app_dir, const std::string& work_dir,
                                         const Stores& stores) {
  auto arm = std::make_unique<RpcArm>();
  std::vector<std::pair<std::string, std::string>> env{{"HOTEL_REDIS", stores.redis()},
                                                       {"HOTEL_MEMCACHED", stores.memcached()}};
  const std::string server = app_dir + "/hotel_rpc_server";
  for (const char* leaf : kLeaves) {
    HB_ASSIGN_OR_RETURN(auto c, Child::Start({server, leaf, "0"}, env,
                                             work_dir + "/rpc-" + leaf + ".log"));
    arm->children_.push_back(std::move(c));
  }
  for (size_t i = 0; i < std::size(kLeaves); ++i) {
    HB_ASSIGN_OR_RETURN(int port, arm->children_[i]->WaitServing());
    std::string var = std::string("HOTEL_") + kLeaves[i];
    for (char& ch : var) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    env.emplace_back(var, "127.0.0.1:" + std::to_string(port));
  }
  HB_ASSIGN_OR_RETURN(auto search,
                      Child::Start({server, "search", "0"}, env, work_dir + "/rpc-search.log"));
  HB_ASSIGN_OR_RETURN(int search_port, search->WaitServing());
  arm->children_.push_back(std::move(search));
  env.emplace_back("HOTEL_SEARCH", "127.0.0.1:" + std::to_string(search_port));
  HB_ASSIGN_OR_RETURN(auto frontend, Child::Start({app_dir + "/hotel_rpc_frontend", "0"}, env,
                                                  work_dir + "/rpc-frontend.log"));
  HB_ASSIGN_OR_RETURN(arm->port_, frontend->WaitServing());
  arm->children_.push_back(std::move(frontend));
  return std::unique_ptr<Arm>(std::move(arm));
}

}  // namespace hotel::bench
