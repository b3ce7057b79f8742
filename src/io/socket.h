// Socket helpers: TCP listen/connect on loopback or any address, Unix seqpacket sockets.
// All returned fds are non-blocking and close-on-exec unless stated otherwise.
// Thread rule: free functions, any thread.
#pragma once

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

}  // namespace nightjar::io
