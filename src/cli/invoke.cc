// `nightjar invoke`, `nightjar status` and `nightjar logs`: a minimal blocking HTTP/1.1
// client for the shell. One request per exchange, "Connection: close", response read to EOF.
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "io/socket.h"

namespace nightjar::cli {
namespace {

struct HttpReply {
  int status = 0;
  std::string head;  // status line and header lines
  std::string body;

  // The value of header `name` (lower-case), "" when absent.
  std::string Header(std::string_view name) const {
    size_t at = 0;
    while ((at = head.find("\r\n", at)) != std::string::npos) {
      at += 2;
      const size_t colon = head.find(':', at);
      const size_t end = head.find("\r\n", at);
      if (colon == std::string::npos || (end != std::string::npos && colon > end)) continue;
      std::string field = head.substr(at, colon - at);
      for (char& c : field) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (field != name) continue;
      std::string value = head.substr(colon + 1, end == std::string::npos ? end : end - colon - 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      while (!value.empty() && value.back() == ' ') value.pop_back();
      return value;
    }
    return "";
  }
};

// Sends one request to base_url (http://HOST:PORT) and reads the whole reply.
Result<HttpReply> Fetch(const std::string& base_url, const std::string& method,
                        const std::string& path, const std::string& body,
                        const std::string& extra_headers) {
  if (base_url.rfind("http://", 0) != 0) return InvalidArgument("--url must start with http://");
  std::string hostport = base_url.substr(7);
  while (!hostport.empty() && hostport.back() == '/') hostport.pop_back();
  auto hp = io::ParseHostPort(hostport);
  if (!hp.ok()) return hp.status();
  auto fd = io::ConnectTcp(hp->host, hp->port);
  if (!fd.ok()) return fd.status();
  NJ_RETURN_IF_ERROR(io::SetNonBlocking(fd->get(), false));
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + hostport +
                    "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n" + extra_headers + "\r\n" + body;
  for (size_t off = 0; off < req.size();) {
    ssize_t n = ::send(fd->get(), req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return Status::FromErrno("send");
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
  HttpReply reply;
  if (head_end == std::string::npos ||
      std::sscanf(resp.c_str(), "HTTP/1.%*d %d", &reply.status) != 1) {
    return Unavailable("malformed response from gateway");
  }
  reply.head = resp.substr(0, head_end);
  reply.body = resp.substr(head_end + 4);
  return reply;
}

int Report(const char* cmd, const Status& st) {
  std::fprintf(stderr, "nightjar %s: %s\n", cmd, st.message().c_str());
  return 2;
}

}  // namespace

int RunInvoke(const InvokeFlags& flags) {
  std::string data = flags.data;
  if (!data.empty() && data[0] == '@') {
    std::ifstream in(data.substr(1), std::ios::binary);
    if (!in) return Report("invoke", NotFound("cannot read " + data.substr(1)));
    std::stringstream ss;
    ss << in.rdbuf();
    data = ss.str();
  }
  std::string headers;
  if (flags.timeout_ms > 0) {
    headers = "X-Nightjar-Timeout-Ms: " + std::to_string(flags.timeout_ms) + "\r\n";
  }
  auto reply = Fetch(flags.url, "POST", "/function/" + flags.function, data, headers);
  if (!reply.ok()) return Report("invoke", reply.status());
  if (reply->status >= 200 && reply->status < 300) {
    std::fwrite(reply->body.data(), 1, reply->body.size(), stdout);
    return 0;
  }
  std::fprintf(stderr, "nightjar invoke: HTTP %d: %s", reply->status, reply->body.c_str());
  if (reply->body.empty() || reply->body.back() != '\n') std::fputc('\n', stderr);
  return 1;
}

int RunStatus(const StatusFlags& flags) {
  for (int round = 0;; ++round) {
    auto reply = Fetch(flags.url, "GET", flags.json ? "/status" : "/status?format=text", "", "");
    if (!reply.ok()) return Report("status", reply.status());
    if (reply->status != 200) {
      std::fprintf(stderr, "nightjar status: HTTP %d: %s\n", reply->status, reply->body.c_str());
      return 1;
    }
    if (flags.watch_ms > 0 && !flags.json) std::fputs("\033[H\033[2J", stdout);  // clear
    std::fwrite(reply->body.data(), 1, reply->body.size(), stdout);
    if (flags.json) std::fputc('\n', stdout);
    std::fflush(stdout);
    if (flags.watch_ms <= 0) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(flags.watch_ms));
  }
}

int RunLogs(const LogsFlags& flags) {
  // The function name is a path segment: escape what is not unreserved (RFC 3986 §2.3).
  std::string path = "/logs/";
  for (unsigned char c : flags.function) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      path += static_cast<char>(c);
    } else {
      char esc[4];
      std::snprintf(esc, sizeof(esc), "%%%02X", c);
      path += esc;
    }
  }
  std::string cursor;
  // Without a cursor (a split deployment merges engines), --follow prints the lines newer
  // than the newest it printed, by their time stamps (the first 27 characters).
  std::string newest;
  std::set<std::string> at_newest;
  for (bool first = true;; first = false) {
    std::string query;
    if (!cursor.empty()) {
      query = "?after=" + cursor;
    } else if (first && flags.lines > 0) {
      query = "?lines=" + std::to_string(flags.lines);
    }
    auto reply = Fetch(flags.url, "GET", path + query, "", "");
    if (!reply.ok()) return Report("logs", reply.status());
    if (reply->status != 200) {
      std::fprintf(stderr, "nightjar logs: HTTP %d: %s", reply->status, reply->body.c_str());
      if (reply->body.empty() || reply->body.back() != '\n') std::fputc('\n', stderr);
      return 1;
    }
    cursor = reply->Header("x-nightjar-log-cursor");
    std::string_view rest = reply->body;
    while (!rest.empty()) {
      const size_t nl = rest.find('\n');
      const std::string line(rest.substr(0, nl));
      rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
      if (cursor.empty() && !first && !line.starts_with("#")) {
        const std::string stamp = line.substr(0, 27);
        if (stamp < newest || (stamp == newest && at_newest.count(line) != 0)) continue;
      }
      if (!line.starts_with("#")) {
        const std::string stamp = line.substr(0, 27);
        if (stamp != newest) at_newest.clear();
        newest = std::max(newest, stamp);
        at_newest.insert(line);
      }
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fputc('\n', stdout);
    }
    // A reader that went away (`nightjar logs -f fn | head`) ends the follow.
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) return 0;
    if (!flags.follow) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(flags.interval_ms));
  }
}

}  // namespace nightjar::cli
