// Socket helpers implementation.
#include "io/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <charconv>
#include <cstring>

namespace nightjar::io {

Result<HostPort> ParseHostPort(const std::string& s) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) {
    return InvalidArgument("expected HOST:PORT, got \"" + s + "\"");
  }
  HostPort hp;
  hp.host = s.substr(0, colon);
  if (hp.host.size() > 2 && hp.host.front() == '[' && hp.host.back() == ']') {
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  }
  const std::string port = s.substr(colon + 1);
  int p = -1;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p < 0 || p > 65535) {
    return InvalidArgument("bad port in \"" + s + "\"");
  }
  hp.port = p;
  return hp;
}

Status SetNonBlocking(int fd, bool on) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return Status::FromErrno("fcntl F_GETFL");
  flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (::fcntl(fd, F_SETFL, flags) != 0) return Status::FromErrno("fcntl F_SETFL");
  return Status::Ok();
}

void SetNoDelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

namespace {
Result<addrinfo*> Resolve(const std::string& host, int port, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  addrinfo* res = nullptr;
  std::string port_s = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), port_s.c_str(), &hints, &res);
  if (rc != 0) return Unavailable("resolve " + host + ": " + gai_strerror(rc));
  return res;
}

int BoundPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}
}  // namespace

Result<UniqueFd> ListenTcp(const std::string& host, int port, int* bound_port) {
  auto res = Resolve(host, port, true);
  if (!res.ok()) return res.status();
  Status last = Unavailable("no address for " + host);
  for (addrinfo* ai = *res; ai != nullptr; ai = ai->ai_next) {
    UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
      last = Status::FromErrno("socket");
      continue;
    }
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd.get(), 1024) != 0) {
      last = Status::FromErrno("listen on " + host + ":" + std::to_string(port));
      continue;
    }
    if (bound_port != nullptr) *bound_port = BoundPort(fd.get());
    ::freeaddrinfo(*res);
    return fd;
  }
  ::freeaddrinfo(*res);
  return last;
}

Result<UniqueFd> ConnectTcp(const std::string& host, int port) {
  auto res = Resolve(host, port, false);
  if (!res.ok()) return res.status();
  Status last = Unavailable("no address for " + host);
  for (addrinfo* ai = *res; ai != nullptr; ai = ai->ai_next) {
    UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0));
    if (!fd.valid()) continue;
    if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      last = Status(StatusCode::kUnavailable,
                    "connect " + host + ":" + std::to_string(port) + ": " + std::strerror(errno));
      continue;
    }
    SetNoDelay(fd.get());
    Status st = SetNonBlocking(fd.get(), true);
    if (!st.ok()) return st;
    ::freeaddrinfo(*res);
    return fd;
  }
  ::freeaddrinfo(*res);
  return last;
}

namespace {
Result<sockaddr_un> UnixAddr(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return InvalidArgument("socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}
}  // namespace

Result<UniqueFd> ListenUnixSeqpacket(const std::string& path) {
  auto addr = UnixAddr(path);
  if (!addr.ok()) return addr.status();
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Status::FromErrno("socket AF_UNIX");
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof(sockaddr_un)) != 0 ||
      ::listen(fd.get(), 128) != 0) {
    return Status::FromErrno("listen on " + path);
  }
  return fd;
}

Result<UniqueFd> ConnectUnixSeqpacket(const std::string& path) {
  auto addr = UnixAddr(path);
  if (!addr.ok()) return addr.status();
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Status::FromErrno("socket AF_UNIX");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof(sockaddr_un)) != 0) {
    return Status::FromErrno("connect " + path);
  }
  return fd;
}

ssize_t SendWithFds(int sock, const void* data, size_t bytes, const int* fds, size_t nfds) {
  iovec iov{const_cast<void*>(data), bytes};
  alignas(cmsghdr) char control[CMSG_SPACE(kMaxPassedFds * sizeof(int))] = {};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (nfds > 0) {
    if (nfds > kMaxPassedFds) {
      errno = EINVAL;
      return -1;
    }
    mh.msg_control = control;
    mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    std::memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
  }
  return ::sendmsg(sock, &mh, MSG_NOSIGNAL);
}

ssize_t RecvWithFds(int sock, void* data, size_t bytes, UniqueFd fds[kMaxPassedFds]) {
  iovec iov{data, bytes};
  alignas(cmsghdr) char control[CMSG_SPACE(kMaxPassedFds * sizeof(int))] = {};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control;
  mh.msg_controllen = sizeof(control);
  const ssize_t n = ::recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  // On failure the control buffer holds nothing: reading it would take stack bytes for
  // descriptors and close them (found when a killed launcher's "fds" turned out to be a
  // client's fresh HTTP connection, test_worker_start_lost_with_its_launcher_is_asked_again).
  if (n < 0) return n;
  size_t taken = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (taken < kMaxPassedFds) {
        fds[taken++].Reset(fd);
      } else {
        ::close(fd);
      }
    }
  }
  return n;
}

}  // namespace nightjar::io
