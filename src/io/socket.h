// Socket helpers: TCP listen/connect on loopback or any address, Unix seqpacket sockets.
// All returned fds are non-blocking and close-on-exec unless stated otherwise.
// Thread rule: free functions, any thread.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/fd.h"
#include "base/status.h"

namespace nightjar::io {

struct HostPort {
  std::string host;
  int port = 0;
};
// Parses "host:port" or "[v6]:port". Fails with kInvalidArgument.
Result<HostPort> ParseHostPort(const std::string& s);

// Listens on host:port (port 0 = ephemeral). *bound_port receives the actual port.
Result<UniqueFd> ListenTcp(const std::string& host, int port, int* bound_port);
// Blocking connect, then switched to non-blocking with TCP_NODELAY.
Result<UniqueFd> ConnectTcp(const std::string& host, int port);
void SetNoDelay(int fd);
Status SetNonBlocking(int fd, bool on);

// Unix SOCK_SEQPACKET: message boundaries preserved, EOF when the peer is gone.
Result<UniqueFd> ListenUnixSeqpacket(const std::string& path);
Result<UniqueFd> ConnectUnixSeqpacket(const std::string& path);  // blocking fd

// One datagram of `bytes` on a Unix socket with `fds` (at most kMaxPassedFds) passed along
// as SCM_RIGHTS; the descriptors stay the caller's. Returns sendmsg's result (-1 and errno
// on failure). Flags: MSG_NOSIGNAL.
inline constexpr size_t kMaxPassedFds = 2;
ssize_t SendWithFds(int sock, const void* data, size_t bytes, const int* fds, size_t nfds);
// Receives one datagram into `data` (up to `bytes`, MSG_DONTWAIT) and the descriptors passed
// with it into fds[0..kMaxPassedFds) (close-on-exec; any beyond are closed). Returns
// recvmsg's result; on failure (-1, errno set: EAGAIN, ECONNRESET of a peer killed with
// data unread, ...) no descriptor is taken -- the control buffer is not read.
ssize_t RecvWithFds(int sock, void* data, size_t bytes, UniqueFd fds[kMaxPassedFds]);

}  // namespace nightjar::io
