// HttpPost implementation: see http_post.h.
#include "engine/http_post.h"

#include <llhttp.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "base/clock.h"
#include "base/fd.h"

namespace nightjar::engine {

namespace {

struct Exchange {
  bool headers_done = false;
  bool message_done = false;
};

// Waits until `fd` is ready for `events` or the deadline passes; false on timeout or error.
bool WaitFor(int fd, short events, int64_t deadline_ns) {
  for (;;) {
    const int64_t left_ms = (deadline_ns - MonotonicNowNs()) / 1'000'000;
    if (left_ms <= 0) return false;
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left_ms, 1 << 30)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

// A connected, non-blocking socket to url's host, or why not.
Result<UniqueFd> Connect(const HttpUrl& url, int64_t deadline_ns) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(url.port);
  if (int rc = ::getaddrinfo(url.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return Unavailable("cannot resolve " + url.host + ": " + ::gai_strerror(rc));
  }
  Status last = Unavailable("no address for " + url.host);
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) continue;
    if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = Unavailable("connect to " + url.host_header + ": " + std::strerror(errno));
      continue;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (!WaitFor(fd.get(), POLLOUT, deadline_ns)) {
      last = Unavailable("connect to " + url.host_header + ": timed out");
      break;
    }
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      last = Unavailable("connect to " + url.host_header + ": " + std::strerror(err));
      continue;
    }
    ::freeaddrinfo(res);
    return fd;
  }
  ::freeaddrinfo(res);
  return last;
}

}  // namespace

Result<HttpUrl> ParseHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  auto bad = [&](const char* why) {
    return InvalidArgument(std::string(why) + ": \"" + std::string(url) + "\"");
  };
  if (!url.starts_with(kScheme)) return bad("not an http:// URL");
  const std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return bad("no path in the URL");
  const std::string_view authority = rest.substr(0, slash);
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return bad("no host (or a user name) in the URL");
  }
  HttpUrl u;
  u.path = rest.substr(slash);
  u.host_header = authority;
  std::string_view host = authority, port;
  if (authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed [ in the host");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return bad("junk after the IPv6 host");
    if (!after.empty()) port = after.substr(1);
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return bad("no host in the URL");
  u.host = host;
  if (authority.find(':') != std::string_view::npos && authority.back() != ']') {
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p < 1 ||
        p > 65535) {
      return bad("the port is not 1..65535");
    }
    u.port = p;
  }
  return u;
}

Result<int> HttpPost(const HttpUrl& url, std::string_view content_type, std::string_view body,
                     int timeout_ms) {
  const int64_t deadline_ns = MonotonicNowNs() + int64_t{timeout_ms} * 1'000'000;
  auto fd = Connect(url, deadline_ns);
  if (!fd.ok()) return fd.status();

  std::string out = "POST " + url.path + " HTTP/1.1\r\nHost: " + url.host_header +
                    "\r\nContent-Type: " + std::string(content_type) +
                    "\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nConnection: close\r\n\r\n";
  out.append(body);
  for (size_t sent = 0; sent < out.size();) {
    const ssize_t n = ::send(fd->get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return Unavailable("sending to " + url.host_header + ": " + std::strerror(errno));
    } else if (!WaitFor(fd->get(), POLLOUT, deadline_ns)) {
      return Unavailable("sending to " + url.host_header + ": timed out");
    }
  }

  llhttp_settings_t settings;
  llhttp_settings_init(&settings);
  settings.on_headers_complete = [](llhttp_t* p) -> int {
    static_cast<Exchange*>(p->data)->headers_done = true;
    return 0;
  };
  settings.on_message_complete = [](llhttp_t* p) -> int {
    static_cast<Exchange*>(p->data)->message_done = true;
    return HPE_PAUSED;  // the status is all we need; what follows is ignored
  };
  llhttp_t parser;
  llhttp_init(&parser, HTTP_RESPONSE, &settings);
  Exchange exchange;
  parser.data = &exchange;
  char buf[4096];
  while (!exchange.message_done) {
    const ssize_t n = ::recv(fd->get(), buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!WaitFor(fd->get(), POLLIN, deadline_ns)) {
        return Unavailable("waiting for " + url.host_header + "'s answer: timed out");
      }
      continue;
    }
    if (n < 0) return Unavailable("reading from " + url.host_header + ": " + std::strerror(errno));
    const llhttp_errno_t e =
        n == 0 ? llhttp_finish(&parser) : llhttp_execute(&parser, buf, static_cast<size_t>(n));
    if (e != HPE_OK && e != HPE_PAUSED) {
      return Unavailable("bad HTTP answer from " + url.host_header + ": " + llhttp_errno_name(e));
    }
    if (n == 0) break;  // the server closed: the message ended with it, or was cut short
  }
  if (!exchange.headers_done) {
    return Unavailable(url.host_header + " closed the connection before answering");
  }
  return static_cast<int>(parser.status_code);
}

}  // namespace nightjar::engine
