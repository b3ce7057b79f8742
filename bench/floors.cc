// Scenario "floors": the raw costs every Nightjar number is compared with, measured in the
// same run (DESIGN.md §11). Each is a 1 KB ping-pong between this process and a forked
// child that echoes, timed round trip by round trip with CLOCK_MONOTONIC:
//   floor.pipe_rtt_1k   two anonymous pipes, 1024-byte write/read each way
//   floor.tcp_rtt_1k    one TCP-loopback connection (TCP_NODELAY), 1024 bytes each way
//   floor.pipe_3hop_1k  the internal-call path with nothing in it: this process writes 1 KB
//                       to a relay that waits in epoll_wait and forwards with read/write
//                       (as the engine does), to an echo process that answers straight to
//                       this process (as a callee does): three pipe hops, no Nightjar code
//   floor.tcp_2hop_1k   the external-call path with nothing in it: 1 KB over TCP loopback
//                       to a relay that waits in epoll_wait on the socket and a pipe, and
//                       forwards to an echo process over pipes and back (one TCP round
//                       trip plus two pipe hops, as the gateway+engine and a worker do)
//   channel.rtt_1k      Nightjar's message channel: two FIFOs made with ipc::MakeFifo,
//                       one 1024-byte message each way with ipc::WriteMessage/ReadMessage
//   channel.oneway_1k   the child->parent half of the same exchange: receive time minus
//                       the send timestamp WriteMessage stamps (one clock for all processes)
// Each floor also reports cpu_us_per_rtt: CPU time of all its processes per round trip
// (getrusage), the floor for the CPU-per-invocation numbers.
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <vector>

#include "base/clock.h"
#include "io/socket.h"
#include "ipc/channel.h"
#include "scenario.h"

namespace nightjar::bench {

namespace {

constexpr size_t kBytes = 1024;

bool WriteFull(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool ReadFull(int fd, char* p, size_t n) {
  while (n > 0) {
    const ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

double CpuUs(int who) {
  rusage u{};
  ::getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// Forks each of `children` (each returns, then the child _exits), runs `parent`, then reaps
// them. *cpu_us gets the CPU time of this process during `parent` plus that of the children.
Status WithChildren(const std::vector<std::function<void()>>& children,
                    const std::function<Status()>& parent, double* cpu_us) {
  std::vector<pid_t> pids;
  const double children0 = CpuUs(RUSAGE_CHILDREN);
  Status st = Status::Ok();
  for (const auto& child : children) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      st = Status::FromErrno("fork");
      break;
    }
    if (pid == 0) {
      child();
      ::_exit(0);
    }
    pids.push_back(pid);
  }
  const double self0 = CpuUs(RUSAGE_SELF);
  if (st.ok()) st = parent();
  const double self1 = CpuUs(RUSAGE_SELF);
  for (pid_t pid : pids) {
    if (!st.ok()) ::kill(pid, SIGKILL);
    int wstatus = 0;
    while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
  }
  *cpu_us = (self1 - self0) + (CpuUs(RUSAGE_CHILDREN) - children0);
  return st;
}

Status WithChild(const std::function<void()>& child, const std::function<Status()>& parent,
                 double* cpu_us) {
  return WithChildren({child}, parent, cpu_us);
}

// 1 KB round trips over (write_fd -> child -> read_fd); the child echoes on its own fds.
Status PingPongBytes(int write_fd, int read_fd, size_t warmup, size_t samples, Histogram* h) {
  char buf[kBytes];
  std::memset(buf, 'p', sizeof(buf));
  for (size_t i = 0; i < warmup + samples; ++i) {
    const int64_t t0 = MonotonicNowNs();
    if (!WriteFull(write_fd, buf, kBytes) || !ReadFull(read_fd, buf, kBytes)) {
      return Internal("ping-pong peer went away");
    }
    const int64_t t1 = MonotonicNowNs();
    if (i >= warmup) h->Record(static_cast<uint64_t>(t1 - t0));
  }
  return Status::Ok();
}

void EchoBytes(int read_fd, int write_fd, size_t rounds) {
  char buf[kBytes];
  for (size_t i = 0; i < rounds; ++i) {
    if (!ReadFull(read_fd, buf, kBytes) || !WriteFull(write_fd, buf, kBytes)) return;
  }
}

Status PipeFloor(size_t warmup, size_t samples, Histogram* h, double* cpu_us) {
  int to_child[2], to_parent[2];
  if (::pipe2(to_child, O_CLOEXEC) != 0) return Status::FromErrno("pipe2");
  if (::pipe2(to_parent, O_CLOEXEC) != 0) {
    ::close(to_child[0]);
    ::close(to_child[1]);
    return Status::FromErrno("pipe2");
  }
  UniqueFd a(to_child[0]), b(to_child[1]), c(to_parent[0]), d(to_parent[1]);
  return WithChild([&] { EchoBytes(a.get(), d.get(), warmup + samples); },
                   [&] { return PingPongBytes(b.get(), c.get(), warmup, samples, h); }, cpu_us);
}

Status TcpFloor(size_t warmup, size_t samples, Histogram* h, double* cpu_us) {
  int port = 0;
  auto listener = io::ListenTcp("127.0.0.1", 0, &port);
  if (!listener.ok()) return listener.status();
  NJ_RETURN_IF_ERROR(io::SetNonBlocking(listener->get(), false));
  return WithChild(
      [&] {
        auto conn = io::ConnectTcp("127.0.0.1", port);  // TCP_NODELAY
        if (!conn.ok() || !io::SetNonBlocking(conn->get(), false).ok()) return;
        EchoBytes(conn->get(), conn->get(), warmup + samples);
      },
      [&]() -> Status {
        UniqueFd conn(::accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn.valid()) return Status::FromErrno("accept");
        io::SetNoDelay(conn.get());
        return PingPongBytes(conn.get(), conn.get(), warmup, samples, h);
      },
      cpu_us);
}

Status ChannelFloor(size_t warmup, size_t samples, Histogram* rtt, Histogram* oneway,
                    double* cpu_us) {
  // FIFOs live on tmpfs like the engine's IPC root.
  const std::string dir = "/dev/shm/nightjar-bench-" + std::to_string(::getpid()) + "-channel";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir, ec);
  if (ec) return Internal("cannot create " + dir + ": " + ec.message());
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code e;
      std::filesystem::remove_all(dir, e);
    }
  } cleanup{dir};
  const std::string ping_path = dir + "/ping", pong_path = dir + "/pong";
  NJ_RETURN_IF_ERROR(ipc::MakeFifo(ping_path));
  NJ_RETURN_IF_ERROR(ipc::MakeFifo(pong_path));
  // O_RDWR opens never wait for a peer (as the worker opens its own input FIFO); reads
  // still block until a message arrives.
  auto ping = ipc::OpenFifo(ping_path, O_RDWR);
  if (!ping.ok()) return ping.status();
  auto pong = ipc::OpenFifo(pong_path, O_RDWR);
  if (!pong.ok()) return pong.status();
  const size_t rounds = warmup + samples;
  return WithChild(
      [&] {
        proto::Message m;
        for (size_t i = 0; i < rounds; ++i) {
          if (ipc::ReadMessage(ping->get(), &m) != ipc::ReadStatus::kMessage) return;
          m.header.type = static_cast<uint16_t>(proto::MessageType::kComplete);
          if (!ipc::WriteMessage(pong->get(), &m).ok()) return;
        }
      },
      [&]() -> Status {
        proto::Message m = proto::MakeMessage(proto::MessageType::kDispatch);
        const std::string payload(proto::kInlinePayloadSize, 'p');  // a full 1 KB message
        const ipc::IpcRoot root = ipc::IpcRoot::Attach(dir);
        NJ_RETURN_IF_ERROR(ipc::AttachPayload(root, ipc::PayloadKind::kInput, payload, &m));
        proto::Message reply;
        for (size_t i = 0; i < rounds; ++i) {
          m.header.call_id = i + 1;
          const int64_t t0 = MonotonicNowNs();
          NJ_RETURN_IF_ERROR(ipc::WriteMessage(ping->get(), &m));
          if (ipc::ReadMessage(pong->get(), &reply) != ipc::ReadStatus::kMessage) {
            return Internal("channel peer went away");
          }
          const int64_t t1 = MonotonicNowNs();
          if (reply.header.call_id != m.header.call_id) return Internal("channel reply mismatch");
          if (i >= warmup) {
            rtt->Record(static_cast<uint64_t>(t1 - t0));
            oneway->Record(
                static_cast<uint64_t>(std::max<int64_t>(0, t1 - reply.header.send_ts_ns)));
          }
        }
        return Status::Ok();
      },
      cpu_us);
}

// parent -> relay (epoll_wait + read + write, like the engine) -> echo (blocking read +
// write, like a callee) -> parent.
Status ThreeHopFloor(size_t warmup, size_t samples, Histogram* h, double* cpu_us) {
  int p[3][2];
  for (auto& fds : p) {
    if (::pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno("pipe2");
  }
  std::vector<UniqueFd> owned;
  for (auto& fds : p) {
    owned.emplace_back(fds[0]);
    owned.emplace_back(fds[1]);
  }
  const size_t rounds = warmup + samples;
  auto relay = [&] {
    const int in = p[0][0], out = p[1][1];
    UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
    epoll_event ev{};
    ev.events = EPOLLIN;
    if (!ep.valid() || ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, in, &ev) != 0) return;
    if (!io::SetNonBlocking(in, true).ok()) return;
    char buf[kBytes];
    for (size_t done = 0; done < rounds;) {
      epoll_event events[4];
      if (::epoll_wait(ep.get(), events, 4, -1) <= 0) continue;
      const ssize_t n = ::read(in, buf, kBytes);  // pipe writes of 1 KB are atomic
      if (n == static_cast<ssize_t>(kBytes)) {
        if (!WriteFull(out, buf, kBytes)) return;
        ++done;
      }
    }
  };
  auto echo = [&] { EchoBytes(p[1][0], p[2][1], rounds); };
  return WithChildren(
      {relay, echo}, [&] { return PingPongBytes(p[0][1], p[2][0], warmup, samples, h); }, cpu_us);
}

// parent -TCP-> relay (epoll on the socket and the return pipe) -pipe-> echo -pipe-> relay
// -TCP-> parent.
Status TcpTwoHopFloor(size_t warmup, size_t samples, Histogram* h, double* cpu_us) {
  int port = 0;
  auto listener = io::ListenTcp("127.0.0.1", 0, &port);
  if (!listener.ok()) return listener.status();
  NJ_RETURN_IF_ERROR(io::SetNonBlocking(listener->get(), false));
  int to_echo[2], from_echo[2];
  if (::pipe2(to_echo, O_CLOEXEC) != 0) return Status::FromErrno("pipe2");
  UniqueFd a(to_echo[0]), b(to_echo[1]);
  if (::pipe2(from_echo, O_CLOEXEC) != 0) return Status::FromErrno("pipe2");
  UniqueFd c(from_echo[0]), d(from_echo[1]);
  const size_t rounds = warmup + samples;
  auto relay = [&] {
    UniqueFd conn(::accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) return;
    io::SetNoDelay(conn.get());
    UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = conn.get();
    ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, conn.get(), &ev);
    ev.data.fd = c.get();
    ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, c.get(), &ev);
    char buf[kBytes];
    for (size_t done = 0; done < rounds;) {
      epoll_event events[4];
      const int n = ::epoll_wait(ep.get(), events, 4, -1);
      for (int i = 0; i < n; ++i) {
        if (events[i].data.fd == conn.get()) {
          if (!ReadFull(conn.get(), buf, kBytes) || !WriteFull(b.get(), buf, kBytes)) return;
        } else {
          if (!ReadFull(c.get(), buf, kBytes) || !WriteFull(conn.get(), buf, kBytes)) return;
          ++done;
        }
      }
    }
  };
  auto echo = [&] { EchoBytes(a.get(), d.get(), rounds); };
  return WithChildren(
      {relay, echo},
      [&]() -> Status {
        auto conn = io::ConnectTcp("127.0.0.1", port);  // TCP_NODELAY
        if (!conn.ok()) return conn.status();
        NJ_RETURN_IF_ERROR(io::SetNonBlocking(conn->get(), false));
        return PingPongBytes(conn->get(), conn->get(), warmup, samples, h);
      },
      cpu_us);
}

}  // namespace

Status RunFloors(BenchContext& ctx) {
  const size_t warmup = ctx.Count(5000, 1000);
  const size_t samples = ctx.Count(200000, 20000);
  auto cpu_field = [&](double cpu_us) {
    return std::map<std::string, double>{
        {"cpu_us_per_rtt", std::round(cpu_us / static_cast<double>(warmup + samples) * 100) / 100}};
  };
  double cpu = 0;
  {
    Histogram h;
    NJ_RETURN_IF_ERROR(PipeFloor(warmup, samples, &h, &cpu));
    ctx.results().AddLatency("floor.pipe_rtt_1k", h, cpu_field(cpu));
  }
  {
    Histogram h;
    NJ_RETURN_IF_ERROR(TcpFloor(warmup, samples, &h, &cpu));
    ctx.results().AddLatency("floor.tcp_rtt_1k", h, cpu_field(cpu));
  }
  {
    Histogram h;
    NJ_RETURN_IF_ERROR(ThreeHopFloor(warmup, samples, &h, &cpu));
    ctx.results().AddLatency("floor.pipe_3hop_1k", h, cpu_field(cpu));
  }
  {
    Histogram h;
    NJ_RETURN_IF_ERROR(TcpTwoHopFloor(warmup, samples, &h, &cpu));
    ctx.results().AddLatency("floor.tcp_2hop_1k", h, cpu_field(cpu));
  }
  {
    Histogram rtt, oneway;
    NJ_RETURN_IF_ERROR(ChannelFloor(warmup, samples, &rtt, &oneway, &cpu));
    ctx.results().AddLatency("channel.rtt_1k", rtt, cpu_field(cpu));
    ctx.results().AddLatency("channel.oneway_1k", oneway);
  }
  return Status::Ok();
}

}  // namespace nightjar::bench
