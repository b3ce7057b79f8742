// `nightjar invoke`: a minimal blocking HTTP/1.1 client for calling a function from the
// shell. One request per run, "Connection: close", response read to EOF.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "io/socket.h"

namespace nightjar::cli {

int RunInvoke(const InvokeFlags& flags) {
  std::string data = flags.data;
  if (!data.empty() && data[0] == '@') {
    std::ifstream in(data.substr(1), std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "nightjar invoke: cannot read %s\n", data.c_str() + 1);
      return 2;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    data = ss.str();
  }
  std::string url = flags.url;
  if (url.rfind("http://", 0) != 0) {
    std::fprintf(stderr, "nightjar invoke: --url must start with http://\n");
    return 2;
  }
  url = url.substr(7);
  while (!url.empty() && url.back() == '/') url.pop_back();
  auto hp = io::ParseHostPort(url);
  if (!hp.ok()) {
    std::fprintf(stderr, "nightjar invoke: %s\n", hp.status().message().c_str());
    return 2;
  }
  auto fd = io::ConnectTcp(hp->host, hp->port);
  if (!fd.ok() || !io::SetNonBlocking(fd->get(), false).ok()) {
    std::fprintf(stderr, "nightjar invoke: %s\n", fd.ok() ? "socket setup failed"
                                                           : fd.status().message().c_str());
    return 2;
  }
  std::string req = "POST /function/" + flags.function + " HTTP/1.1\r\nHost: " + url +
                    "\r\nConnection: close\r\nContent-Length: " + std::to_string(data.size()) +
                    "\r\n";
  if (flags.timeout_ms > 0) req += "X-Nightjar-Timeout-Ms: " + std::to_string(flags.timeout_ms) + "\r\n";
  req += "\r\n" + data;
  for (size_t off = 0; off < req.size();) {
    ssize_t n = ::send(fd->get(), req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      std::fprintf(stderr, "nightjar invoke: send failed\n");
      return 2;
    }
    off += static_cast<size_t>(n);
  }
  std::string resp;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd->get(), buf, sizeof(buf));
    if (n <= 0) break;
    resp.append(buf, static_cast<size_t>(n));
  }
  size_t head_end = resp.find("\r\n\r\n");
  int status = 0;
  if (head_end == std::string::npos || std::sscanf(resp.c_str(), "HTTP/1.%*d %d", &status) != 1) {
    std::fprintf(stderr, "nightjar invoke: malformed response from gateway\n");
    return 2;
  }
  std::string body = resp.substr(head_end + 4);
  if (status >= 200 && status < 300) {
    std::fwrite(body.data(), 1, body.size(), stdout);
    return 0;
  }
  std::fprintf(stderr, "nightjar invoke: HTTP %d: %s", status, body.c_str());
  if (body.empty() || body.back() != '\n') std::fputc('\n', stderr);
  return 1;
}

}  // namespace nightjar::cli
